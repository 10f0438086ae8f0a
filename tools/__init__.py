"""Scripts for maintainers that are not benchmarks (``python -m tools.NAME``):

- ``package_model``: packages a trained model directory as a bundled model.
- ``sheet``: a labelled sheet of before/after crops (the README's and bench/'s comparisons).
"""
