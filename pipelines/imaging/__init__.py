"""Image files <-> arrays.

Modules, in data-flow order:

- ``deep_images``: 16-bit colour PNG and TIFF, which Pillow handles at 8 bits (tifffile,
  imagecodecs);
- ``colour_profiles``, ``metadata``: ICC conversion of CMYK; EXIF, XMP, IPTC and DPI kept;
- ``modes``: Pillow's image modes -> pixels and alpha (``images.decode`` calls it);
- ``images``: decode and encode: modes, bit depth, alpha, EXIF orientation, size limits;
- ``channels``: an image's channels to a model's and back (gray, colour, alpha).
"""
