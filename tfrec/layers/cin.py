"""xDeepFM's Compressed Interaction Network (seed 003, section "xDFM": ``CIN``).

For field embeddings ``X^0 [B, m, D]`` and layer sizes ``H_1 .. H_L``:

    Z^k[b, i*m + j, e] = X^{k-1}[b, i, e] * X^0[b, j, e]         [B, H_{k-1} m, D]
    X^k[b, h, e] = act(sum_r W^k[r, h] Z^k[b, r, e] + c^k[h])     [B, H_k, D]
    out = sum_e concat(X^0, X^1, ..., X^L)[b, :, e]               [B, m + sum H_k]

``W^k [H_{k-1} m, H_k]`` and ``c^k`` are the notebook's ``Conv1D(H_k, 1,
data_format='channels_first')`` (Glorot-uniform kernel, zero bias). Seed 003 sum-pools
``X^0`` too (``tf.concat(xs, axis=1)`` with ``xs = [inputs, ...]``), which the paper does not;
``include_input=True`` (default) keeps the notebook's output, ``False`` pools only ``X^1..X^L``.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.validation import check_units


@keras.saving.register_keras_serializable(package="tfrec")
class CIN(keras.layers.Layer):
    """xDeepFM's Compressed Interaction Network: explicit vector-wise field interactions.

    Each layer takes the outer products of its input's rows with the field embeddings ``X^0``
    along the embedding axis and compresses them to ``H_k`` feature maps; every layer's maps are
    sum-pooled over the embedding axis and concatenated::

        X^k[b, h, e] = act(sum_{i, j} W^k[i*m + j, h] X^{k-1}[b, i, e] X^0[b, j, e] + c^k[h])
        out = sum_e concat(X^0, X^1, ..., X^L)[b, :, e]

    Call arguments:
        inputs: ``[B, m, D]`` field embeddings.

    Returns:
        ``[B, m + sum(layer_sizes)]`` with ``include_input=True``, else ``[B, sum(layer_sizes)]``
        (the size is :attr:`output_dim` once the layer is built).

    Args:
        layer_sizes: ``H_1 .. H_L`` (seed 003: ``[32, 32]``).
        activation: Keras activation after each layer, or ``None`` (seed 003 passes ``'relu'``).
        include_input: sum-pool ``X^0`` into the output too (seed 003) or not (the paper).

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import CIN
    >>> x = np.ones((4, 3, 8), "float32")
    >>> CIN(layer_sizes=[16, 8])(x).shape, CIN(layer_sizes=[16, 8], include_input=False)(x).shape
    (TensorShape([4, 27]), TensorShape([4, 24]))

    References:
        - Jianxun Lian, Xiaohuan Zhou, Fuzheng Zhang, Zhongxia Chen, Xing Xie, Guangzhong Sun,
          "xDeepFM: Combining Explicit and Implicit Feature Interactions for Recommender
          Systems", KDD 2018 (https://arxiv.org/abs/1803.05170).
        - Reference notebook: seed 003, "Various models on ML-1m in Tensorflow" (TF2 Keras),
          section "xDFM" (``CIN``).
    """

    def __init__(self, layer_sizes=(32, 32), activation=None, include_input: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.layer_sizes = check_units("layer_sizes", layer_sizes)
        try:
            self.activation = keras.activations.get(activation)
        except (ValueError, TypeError):
            raise ValueError(f"`activation` must be a Keras activation name or None; got {activation!r}") from None
        self.activation_name = activation if isinstance(activation, str) or activation is None else keras.activations.serialize(activation)
        if not isinstance(include_input, bool):
            raise ValueError(f"`include_input` must be true or false; got {include_input!r}")
        self.include_input = include_input

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[1] is None:
            raise ValueError(f"CIN expects [batch, fields, dim] inputs; got shape {tuple(input_shape)}")
        self.num_fields = int(input_shape[1])
        self.kernels, self.biases = [], []
        previous = self.num_fields
        for k, size in enumerate(self.layer_sizes):
            self.kernels.append(self.add_weight(shape=(previous * self.num_fields, size), initializer="glorot_uniform", name=f"kernel_{k}"))
            self.biases.append(self.add_weight(shape=(size,), initializer="zeros", name=f"bias_{k}"))
            previous = size
        self.built = True

    def call(self, inputs):
        x0 = inputs
        xs = [x0]
        dim = tf.shape(x0)[-1]
        for kernel, bias in zip(self.kernels, self.biases):
            z = tf.einsum("bie,bje->bije", xs[-1], x0)
            z = tf.reshape(z, [-1, kernel.shape[0], dim])  # [B, H_{k-1} m, D], row i*m + j
            x = tf.einsum("bre,rh->bhe", z, kernel) + bias[None, :, None]
            xs.append(self.activation(x))
        pooled = xs if self.include_input else xs[1:]
        return tf.reduce_sum(tf.concat(pooled, axis=1), axis=-1)

    @property
    def output_dim(self) -> int:
        return sum(self.layer_sizes) + (self.num_fields if self.include_input else 0)

    def get_config(self):
        return {
            **super().get_config(),
            "layer_sizes": list(self.layer_sizes),
            "activation": self.activation_name,
            "include_input": self.include_input,
        }
