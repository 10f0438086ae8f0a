"""Image quality, in numpy (the published conventions: ``restoreflow.ssim_window``).

Modules, in data-flow order:

- ``scoring``: full-reference metrics (PSNR, SSIM) of a restored image against its reference;
- ``signals``: no-reference signals of one image (noise level, blockiness, sharpness).
"""
