"""What the jobs read, and where job 3 writes each input's result.

Modules, in data-flow order:

- ``local_files``: local paths opened without following symbolic links;
- ``archives``: ``.tar``, ``.tar.gz`` and ``.zip`` members as inputs;
- ``outputs``: an input's output path under OUT (format kept or changed, names that collide);
- ``sources``: listing folders, globs, buckets and archives; ``ReadImages``, the Beam source
  of image bytes with their ``image_id``.
"""
