"""COTREC's soft attention readout of a session (seed 002, "Model": ``COTREC.generate_sess_emb``
and ``generate_sess_emb_npos``).

Input: the session's item embeddings in **reverse** order (most recent first, the reference's
``reversed_sess_item``), left-aligned and 0-padded: ``x`` ``[B, L, d]``, ``mask`` ``[B, L]``,
``lengths`` ``[B]``. With positions (``use_positions=True``, ``generate_sess_emb``)::

    s   = sum_t x_t / length                                   # [B, d]
    h_t = tanh([p_t ; x_t] @ W_1)                              # p_t: position t embedding; W_1 [2d, d]
    g_t = sigmoid(h_t @ G_1 + b_1 + s @ G_2)                   # glu1 (with bias), glu2 (without)
    a_t = (g_t @ w_2) * mask_t                                 # w_2 [d, 1]; no softmax
    out = sum_t a_t x_t                                        # [B, d]

Without positions (``generate_sess_emb_npos``, the original repository's Tmall variant)
``g_t = sigmoid(x_t @ G_1 + b_1 + s @ G_2)`` (no ``W_1``, no ``tanh``, no position table).
Position 0 is the most recent click. Every weight starts U(-1/sqrt(d), 1/sqrt(d)) (the
reference's ``init_parameters``). ``max_len`` is the position table's size (200; 300 for
RetailRocket); sessions must be at most that long (the pipeline keeps the latest ``max_len``).
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.layers.session_graph import uniform_init
from tfrec.validation import check_positive_int


@keras.saving.register_keras_serializable(package="tfrec")
class SessionSoftAttention(keras.layers.Layer):
    """COTREC's position-aware (or position-free) soft attention readout of a session.

    With positions (see the module docstring for the position-free variant)::

        s = sum_t x_t / length;  h_t = tanh([p_t ; x_t] @ W_1)
        a_t = (sigmoid(h_t @ G_1 + b_1 + s @ G_2) @ w_2) * mask_t;  out = sum_t a_t x_t

    Call arguments:
        x: ``[B, L, d]`` item embeddings of each session, most recent first, 0-padded;
            ``L <= max_len``.
        mask: ``[B, L]``, 1 for a real item, 0 for padding.
        lengths: ``[B]`` session lengths.

    Returns:
        ``[B, d]`` session embeddings.

    Args:
        use_positions: ``True`` for ``generate_sess_emb``, ``False`` for ``generate_sess_emb_npos``.
        max_len: rows of the position table (seed 002: 200, RetailRocket 300).

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import SessionSoftAttention
    >>> mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    >>> SessionSoftAttention(max_len=10)(np.ones((2, 5, 8), "float32"), mask, mask.sum(axis=1)).shape
    TensorShape([2, 8])

    References:
        - Xin Xia, Hongzhi Yin, Junliang Yu, Yingxia Shao, Lizhen Cui, "Self-Supervised Graph
          Co-Training for Session-based Recommendation", CIKM 2021.
        - Reference notebook: seed 002, "Training COTREC Session-based recommendation model on
          Diginetica, Tmall, and RetailRocket datasets" (PyTorch), "Model"
          (``COTREC.generate_sess_emb``, ``generate_sess_emb_npos``).
    """

    def __init__(self, use_positions: bool = True, max_len: int = 200, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(use_positions, bool):
            raise ValueError(f"`use_positions` must be True or False; got {use_positions!r}")
        self.use_positions = use_positions
        self.max_len = check_positive_int("max_len", max_len)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        init = uniform_init(dim)
        if self.use_positions:
            self.positions = self.add_weight(name="positions", shape=(self.max_len, dim), initializer=init)
            self.w_1 = self.add_weight(name="w_1", shape=(2 * dim, dim), initializer=init)
        self.glu1_kernel = self.add_weight(name="glu1_kernel", shape=(dim, dim), initializer=init)
        self.glu1_bias = self.add_weight(name="glu1_bias", shape=(dim,), initializer=init)
        self.glu2_kernel = self.add_weight(name="glu2_kernel", shape=(dim, dim), initializer=init)
        self.w_2 = self.add_weight(name="w_2", shape=(dim, 1), initializer=init)
        self.built = True

    def call(self, x, mask, lengths):
        """``x`` ``[B, L, d]`` reversed item embeddings, ``mask`` ``[B, L]``, ``lengths`` ``[B]`` -> ``[B, d]``."""
        dim = x.shape[-1]
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        mask = tf.cast(mask, x.dtype)[:, :, None]
        mean = tf.reduce_sum(x, axis=1) / tf.cast(tf.reshape(lengths, [-1, 1]), x.dtype)  # [B, d]
        flat = tf.reshape(x, [-1, dim])
        if self.use_positions:
            # [p_t ; x_t] @ W_1 = p_t @ W_1[:d] + x_t @ W_1[d:]: the position half once per position
            pos = tf.matmul(self.positions[:length], self.w_1[:dim])  # [L, d]
            hidden = tf.tanh(tf.reshape(tf.matmul(flat, self.w_1[dim:]), [batch, length, dim]) + pos[None])
            hidden = tf.reshape(hidden, [-1, dim])
        else:
            hidden = flat
        gate = tf.reshape(tf.matmul(hidden, self.glu1_kernel) + self.glu1_bias, [batch, length, dim])
        gate = tf.sigmoid(gate + tf.matmul(mean, self.glu2_kernel)[:, None, :])
        beta = tf.reshape(tf.matmul(tf.reshape(gate, [-1, dim]), self.w_2), [batch, length, 1]) * mask
        return tf.reduce_sum(beta * x, axis=1)

    def get_config(self):
        return {**super().get_config(), "use_positions": self.use_positions, "max_len": self.max_len}
