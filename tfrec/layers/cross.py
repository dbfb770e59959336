"""DCN's cross network (seed 003, section "CDN": ``CrossNetwork``).

For the flattened embeddings ``x_0 [B, D]`` and ``L`` layers with ``w_l, b_l [D]``:

    x_{l+1} = x_0 * (x_l . w_l) + b_l            (seed 003, ``residual=False``)
    x_{l+1} = x_0 * (x_l . w_l) + b_l + x_l      (Wang et al. 2017, ``residual=True``)

Seed 003 leaves out the paper's ``+ x_l``: its output is ``x_0`` scaled by one scalar per row
plus ``b_L``. The default reproduces the notebook; ``residual=True`` is the paper's layer.
``w_l`` and ``b_l`` are drawn from N(0, 0.05^2) as ``tf.random_normal_initializer()`` does.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.validation import check_positive_int


@keras.saving.register_keras_serializable(package="tfrec")
class CrossNetwork(keras.layers.Layer):
    """DCN's cross network: ``num_layers`` explicit feature-crossing layers.

    With ``w_l, b_l [D]``::

        x_{l+1} = x_0 * (x_l . w_l) + b_l  [+ x_l  with residual=True, the paper's layer]

    Call arguments:
        inputs: ``[B, D]``, the flattened embeddings ``x_0``.

    Returns:
        ``[B, D]``, the last layer's ``x_L``.

    Args:
        num_layers: number of cross layers (seed 003: ``n_cross_layers = 2``).
        residual: add ``x_l`` to each layer's output (the paper); seed 003 does not.

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import CrossNetwork
    >>> layer = CrossNetwork(num_layers=2)
    >>> layer(np.ones((4, 8), "float32")).shape
    TensorShape([4, 8])

    References:
        - Ruoxi Wang, Bin Fu, Gang Fu, Mingliang Wang, "Deep & Cross Network for Ad Click
          Predictions", ADKDD 2017 (https://arxiv.org/abs/1708.05123).
        - Reference notebook: seed 003, "Various models on ML-1m in Tensorflow" (TF2 Keras),
          section "CDN" (``CrossNetwork``).
    """

    def __init__(self, num_layers: int = 2, residual: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = check_positive_int("num_layers", num_layers)
        if not isinstance(residual, bool):
            raise ValueError(f"`residual` must be true or false; got {residual!r}")
        self.residual = residual

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"CrossNetwork expects [batch, features] inputs; got shape {tuple(input_shape)}")
        dim = int(input_shape[-1])
        normal = keras.initializers.RandomNormal(stddev=0.05)
        self.kernels = [self.add_weight(shape=(dim, 1), initializer=normal, name=f"cross_weight_{i}") for i in range(self.num_layers)]
        self.biases = [self.add_weight(shape=(dim,), initializer=normal, name=f"cross_bias_{i}") for i in range(self.num_layers)]
        self.built = True

    def call(self, inputs):
        x0 = inputs
        x = x0
        for kernel, bias in zip(self.kernels, self.biases):
            out = x0 * tf.matmul(x, kernel) + bias  # matmul: [B, 1] = x_l . w_l
            x = out + x if self.residual else out
        return x

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers, "residual": self.residual}
