"""Image quality, in numpy (the published conventions: ``restoreflow.ssim_window``).

Modules, in data-flow order:

- ``planes``: image planes (every channel, or the luma) read in strips, which bounds memory;
- ``scoring``: full-reference metrics (PSNR, SSIM) of a restored image against its reference;
- ``niqe``: the NIQE naturalness score and its shipped model (``niqe_model.json``);
- ``signals``: no-reference signals of one image (noise level, blockiness, sharpness, NIQE).
"""
