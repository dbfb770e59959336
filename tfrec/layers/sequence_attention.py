"""AttRec's short-term self-attention (seed 001, "Model": ``SelfAttention_Layer``)."""

from __future__ import annotations

import numpy as np

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

_MASKED = -(2.0**32) + 1.0  # the reference's padding logit
_FLOAT16_MASKED = -65504.0  # float16's most negative finite value (mixed_float16)


def sinusoidal_positions(length: int, dim: int) -> np.ndarray:
    """``[length, dim]`` float32 Transformer position encoding (seed 001 ``positional_encoding``):
    angle ``pos / 10000^(2 * (i // 2) / dim)``, sine on even ``i``, cosine on odd ``i``."""
    angles = np.arange(length)[:, None] / np.power(10000.0, (2 * (np.arange(dim)[None, :] // 2)) / np.float32(dim))
    angles[:, 0::2] = np.sin(angles[:, 0::2])
    angles[:, 1::2] = np.cos(angles[:, 1::2])
    return angles.astype(np.float32)


@keras.saving.register_keras_serializable(package="tfrec")
class SequenceSelfAttention(keras.layers.Layer):
    """AttRec's short-term interest: self-attention over a user's last ``L`` items, averaged.

    For item embeddings ``x`` ``[B, L, d]`` and a padding mask ``m`` ``[B, L]`` (1 = real item)::

        q = k = relu((x + P) @ W)                      # P: sinusoidal positions [L, d]; W [d, d]
        a = softmax_j(q_i . k_j / sqrt(d)),  a[:, :, j] masked where m_j = 0
        out = mean_i (a @ x)_i                          # values: x without positions; [B, d]

    As the reference, queries and keys share ``W``; the mean runs over all ``L`` query
    positions, padded ones included (their queries carry the position encoding and attend
    only to real items).

    Call arguments:
        x: ``[B, L, d]`` float item embeddings of the last ``L`` items.
        mask: ``[B, L]``, nonzero for a real item, 0 for padding.

    Returns:
        ``[B, d]``, the short-term interest vector.

    Args:
        initializer: initialiser of ``W`` (the reference uses Keras' ``random_uniform``,
            U(-0.05, 0.05)).

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import SequenceSelfAttention
    >>> mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    >>> SequenceSelfAttention()(np.ones((2, 5, 8), "float32"), mask).shape
    TensorShape([2, 8])

    References:
        - Shuai Zhang, Yi Tay, Lina Yao, Aixin Sun, "Next Item Recommendation with
          Self-Attention", 2018 (https://arxiv.org/abs/1808.06414).
        - Reference notebook: seed 001, the AttRec notebook on MovieLens-1M (TF2 Keras),
          "Model" (``SelfAttention_Layer``).
    """

    def __init__(self, initializer="random_uniform", **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(dim, dim), initializer=self.initializer)
        self.built = True

    def call(self, x, mask):
        """``x`` ``[B, L, d]`` float, ``mask`` ``[B, L]`` (nonzero = real item) -> ``[B, d]``."""
        length, dim = x.shape[-2], x.shape[-1]
        positions = tf.constant(sinusoidal_positions(length, dim), dtype=x.dtype)
        # one [B * L, d] x [d, d] product: a broadcast batched matmul would make the kernel's
        # gradient a sum of B per-example products (slower)
        projected = tf.nn.relu(tf.reshape(tf.reshape(x + positions, [-1, dim]) @ self.kernel, tf.shape(x)))
        logits = tf.einsum("bid,bjd->bij", projected, projected) / tf.sqrt(tf.cast(dim, x.dtype))
        keys = tf.cast(mask, tf.bool)[:, None, :]
        # float16 cannot hold -2^32: its most negative value instead (a row of padding only
        # still gets uniform weights, as in float32)
        masked = _FLOAT16_MASKED if x.dtype == tf.float16 else _MASKED
        logits = tf.where(keys, logits, tf.constant(masked, x.dtype))
        # mean_i sum_j a_ij x_j = sum_j (mean_i a_ij) x_j: average the weights, then one product
        weights = tf.reduce_mean(tf.nn.softmax(logits, axis=-1), axis=1)
        return tf.einsum("bj,bjd->bd", weights, x)

    def get_config(self):
        return {**super().get_config(), "initializer": keras.initializers.serialize(self.initializer)}
