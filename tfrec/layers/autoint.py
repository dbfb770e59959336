"""AutoInt's interacting layer (seed 003, section "AutoInt": ``MHA``), on Keras'
``MultiHeadAttention`` instead of tensorflow-addons'.

For field vectors ``x [B, F, d_in]`` and ``U = head_dim * num_heads``:

    q, k, v = x W_q + b_q, x W_k + b_k, x W_v + b_v                  [B, F, U]
    a = MultiHeadAttention(num_heads, key_dim=head_dim)(q, v, k)     [B, F, U]
    out = relu(a + x W_res + b_res)                                  [B, F, U]

Inside the attention each head projects ``q, k, v`` again (``[U, head_dim]`` with bias), takes
``softmax(q_h k_h^T / sqrt(head_dim)) v_h`` over the fields and the heads are projected back to
``U``: exactly ``tfa.layers.MultiHeadAttention(head_size, num_heads)([q, k, v])``, so the
notebook's extra ``W_q, W_k, W_v`` in front of it are kept as it has them.
``residual=False`` drops ``x W_res``.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.validation import check_positive_int


@keras.saving.register_keras_serializable(package="tfrec")
class InteractingLayer(keras.layers.Layer):
    """AutoInt's interacting layer: multi-head self-attention over the fields.

    With ``U = head_dim * num_heads`` (see the module docstring for the attention's inner
    projections)::

        q, k, v = x W_q + b_q, x W_k + b_k, x W_v + b_v                  [B, F, U]
        out = relu(MultiHeadAttention(num_heads, head_dim)(q, v, k) + x W_res + b_res)

    Call arguments:
        inputs: ``[B, F, d_in]`` field vectors.

    Returns:
        ``[B, F, head_dim * num_heads]``.

    Args:
        head_dim: size per head (seed 003 ``att_sizes = [8, 8]``).
        num_heads: heads (seed 003 ``att_heads = [2, 2]``).
        residual: add the projected input (seed 003 ``use_resid=True``).

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import InteractingLayer
    >>> layer = InteractingLayer(head_dim=4, num_heads=2)
    >>> layer(np.ones((4, 3, 16), "float32")).shape
    TensorShape([4, 3, 8])

    References:
        - Weiping Song, Chence Shi, Zhiping Xiao, Zhijian Duan, Yewen Xu, Ming Zhang, Jian Tang,
          "AutoInt: Automatic Feature Interaction Learning via Self-Attentive Neural Networks",
          CIKM 2019 (https://arxiv.org/abs/1810.11921).
        - Reference notebook: seed 003, "Various models on ML-1m in Tensorflow" (TF2 Keras),
          section "AutoInt" (``MHA``).
    """

    def __init__(self, head_dim: int = 8, num_heads: int = 2, residual: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.head_dim = check_positive_int("head_dim", head_dim)
        self.num_heads = check_positive_int("num_heads", num_heads)
        if not isinstance(residual, bool):
            raise ValueError(f"`residual` must be true or false; got {residual!r}")
        self.residual = residual
        units = self.head_dim * self.num_heads
        self.units = units
        self.query = keras.layers.Dense(units, name="query")
        self.key = keras.layers.Dense(units, name="key")
        self.value = keras.layers.Dense(units, name="value")
        self.attention = keras.layers.MultiHeadAttention(self.num_heads, self.head_dim, name="attention")
        self.res = keras.layers.Dense(units, name="residual") if residual else None

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"InteractingLayer expects [batch, fields, dim] inputs; got shape {tuple(input_shape)}")
        shape = (None, input_shape[1], input_shape[-1])
        projected = (None, input_shape[1], self.units)
        for layer in (self.query, self.key, self.value) + ((self.res,) if self.res is not None else ()):
            if not layer.built:
                layer.build(shape)
        if not self.attention.built:
            self.attention.build(projected, projected, projected)
        self.built = True

    def call(self, inputs):
        q, k, v = self.query(inputs), self.key(inputs), self.value(inputs)
        out = self.attention(query=q, value=v, key=k)
        if self.res is not None:
            out = out + self.res(inputs)
        return tf.nn.relu(out)

    def get_config(self):
        return {**super().get_config(), "head_dim": self.head_dim, "num_heads": self.num_heads, "residual": self.residual}
