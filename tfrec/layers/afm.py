"""AFM's attention-based pooling of pairwise interactions (seed 003, section "AFM": ``AFM_layer``).

For field embeddings ``e [B, F, d]`` and the ``P = F (F - 1) / 2`` pairs ``(i, j)``, ``i < j``:

    z_ij = e_i * e_j                                   [B, P, d]  (element-wise)
    a_ij = softmax_over_pairs(h^T relu(W z_ij + b) + c) [B, P, 1]
    out  = sum_ij a_ij z_ij                              [B, d]

``W [d, attention_dim]``, ``b`` and ``h [attention_dim, 1]``, ``c`` are seed 003's
``att_dense1 = Dense(att_dim)`` and ``att_dense2 = Dense(1)``. With two fields (ids only) there
is one pair and its weight is 1.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.validation import check_positive_int
from tfrec.layers.pairs import pair_indices


@keras.saving.register_keras_serializable(package="tfrec")
class AttentionalPairPooling(keras.layers.Layer):
    """``[B, F, d]`` field embeddings -> ``[B, d]`` attention-weighted sum of pairwise products.

    Args:
        attention_dim: hidden size of the attention network (seed 003: ``att_dim = 8``).
    """

    def __init__(self, attention_dim: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.attention_dim = check_positive_int("attention_dim", attention_dim)
        self.hidden = keras.layers.Dense(self.attention_dim, name="attention_hidden")
        self.score = keras.layers.Dense(1, name="attention_score")

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[1] is None or input_shape[1] < 2:
            raise ValueError(f"AttentionalPairPooling expects [batch, fields >= 2, dim] inputs; got {tuple(input_shape)}")
        self.rows, self.cols = pair_indices(int(input_shape[1]))
        dim = int(input_shape[-1])
        if not self.hidden.built:
            self.hidden.build((None, None, dim))
        if not self.score.built:
            self.score.build((None, None, self.attention_dim))
        self.built = True

    def pairwise(self, inputs):
        """``[B, P, d]`` element-wise products of every field pair."""
        return tf.gather(inputs, self.rows, axis=1) * tf.gather(inputs, self.cols, axis=1)

    def call(self, inputs):
        pairwise = self.pairwise(inputs)
        weights = tf.nn.softmax(self.score(tf.nn.relu(self.hidden(pairwise))), axis=1)
        return tf.reduce_sum(weights * pairwise, axis=1)

    def get_config(self):
        return {**super().get_config(), "attention_dim": self.attention_dim}
