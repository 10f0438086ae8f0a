"""Everything TensorFlow/Keras: architectures, training, export, tiling.

Importing this package loads no TensorFlow, so its numpy-only modules (``model.tiling``,
``model.warm_start``'s helpers) import in milliseconds. The custom layers are registered with
Keras by ``import model.layers`` (``model.architectures`` and ``model.export.load_model`` do
it): load a ``model.keras`` with ``model.export.load_model``, or after ``import model.layers``.
"""

from restoreflow import quiet_tf

quiet_tf.install()  # before TensorFlow loads: its C++ start-up lines are noise (see quiet_tf)
