"""``restoreflow generate``: sample new images with a diffusion model (issue 25).

``settings`` checks the flags against the model, ``state`` says which images a rerun may skip,
``sample`` holds the composite transforms (sample, write), ``report`` the page of samples and
``job`` the pipeline and its command.
"""
