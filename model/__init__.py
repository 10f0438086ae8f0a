"""Everything TensorFlow/Keras: architectures, training, export, tiling.

Importing this package imports :mod:`model.layers`, which registers the custom layers with
Keras (package ``restoreflow``), so that ``keras.saving.load_model("model.keras")`` works
after a plain ``import model``.
"""

from restoreflow import quiet_tf

quiet_tf.install()  # before TensorFlow loads: its C++ start-up lines are noise (see quiet_tf)

from model import layers  # noqa: E402, F401  - registers the custom layers with Keras
