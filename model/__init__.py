"""Everything TensorFlow/Keras: architectures, training, export, tiling.

Importing this package imports :mod:`model.layers`, which registers the custom layers with
Keras (package ``restoreflow``), so that ``keras.saving.load_model("model.keras")`` works
after a plain ``import model``.
"""

from model import layers  # noqa: F401  - registers the custom layers with Keras
