"""Light self-attention across behaviors (seed 000, "NN Layers": ``lightSelfAttention``)."""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf


class LightSelfAttention(keras.layers.Layer):
    """MB-GMN's light multi-head self-attention across the ``K`` behaviors of each node.

    Queries and keys share one projection ``Q`` (``[d, d]``, Xavier, L2-regularised); values are
    the unprojected representations; the output adds a residual::

        p = x @ Q                                   # x: [N, K, d], split into H heads of d / H
        a[n, i, j, h] = softmax_j( <p[n, i, h], p[n, j, h]> / sqrt(d / H) )
        out[n, i, h] = sum_j a[n, i, j, h] * x[n, j, h]  + x[n, i, h]

    The reference creates a new ``Q`` at every call site (per GNN layer, separately for users
    and items); so does tfrec: one layer instance per call site.

    Call arguments:
        x: ``[N, K, d]``, the ``K`` behavior-specific representations of each of ``N`` nodes.

    Returns:
        ``[N, K, d]``, the attended representations plus the residual ``x``.

    Args:
        num_heads: attention heads ``H`` (seed 000 ``--att_head 2``); must divide ``d``.

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import LightSelfAttention
    >>> layer = LightSelfAttention(num_heads=2)
    >>> layer(np.ones((5, 3, 8), "float32")).shape
    TensorShape([5, 3, 8])

    References:
        - Lianghao Xia et al., "Graph Meta Network for Multi-Behavior Recommendation",
          SIGIR 2021 (https://arxiv.org/abs/2110.03969).
        - Reference notebook: seed 000, "MB-GMN on BeiBei" (TensorFlow 1.x graph code),
          "NN Layers" (``lightSelfAttention``).
    """

    def __init__(self, num_heads: int = 2, **kwargs):
        super().__init__(**kwargs)
        if num_heads <= 0:
            raise ValueError(f"`num_heads` must be positive; got {num_heads}")
        self.num_heads = int(num_heads)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        if dim % self.num_heads:
            raise ValueError(f"representation size {dim} is not divisible by num_heads={self.num_heads}")
        self.query = self.add_weight(name="query", shape=(dim, dim), initializer="glorot_uniform")
        self.built = True

    @property
    def regularized_weights(self):
        return [self.query]

    def call(self, x):
        """``x``: ``[N, K, d]`` -> ``[N, K, d]``."""
        n, k, dim = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]
        heads, size = self.num_heads, dim // self.num_heads
        # one [N * K, d] x [d, d] product (a broadcast batched matmul's kernel gradient would
        # sum N per-node products)
        projected = tf.reshape(tf.reshape(x, [-1, dim]) @ self.query, [n, k, heads, size])
        values = tf.reshape(x, [n, k, heads, size])
        logits = tf.einsum("nihs,njhs->nijh", projected, projected) / tf.sqrt(float(size))
        weights = tf.nn.softmax(logits, axis=2)
        attended = tf.einsum("nijh,njhs->nihs", weights, values)
        return tf.reshape(attended, [n, k, dim]) + x

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads}
