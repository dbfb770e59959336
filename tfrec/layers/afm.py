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
    """Attention-based pooling of pairwise field interactions (AFM).

    Every pair of field embeddings is multiplied element-wise; a one-hidden-layer attention
    network scores each pair, the scores are soft-maxed over the pairs and the products are
    summed with those weights (see the module docstring for the math)::

        z_ij = e_i * e_j;  a_ij = softmax_ij(h^T relu(W z_ij + b) + c);  out = sum_ij a_ij z_ij

    Call arguments:
        inputs: ``[B, F, d]`` field embeddings, ``F >= 2``.

    Returns:
        ``[B, d]``: the attention-weighted sum of the ``F (F - 1) / 2`` pairwise products.

    Args:
        attention_dim: hidden size of the attention network (seed 003: ``att_dim = 8``).

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import AttentionalPairPooling
    >>> layer = AttentionalPairPooling(attention_dim=4)
    >>> layer(np.ones((4, 3, 8), "float32")).shape
    TensorShape([4, 8])

    References:
        - Jun Xiao, Hao Ye, Xiangnan He, Hanwang Zhang, Fei Wu, Tat-Seng Chua, "Attentional
          Factorization Machines: Learning the Weight of Feature Interactions via Attention
          Networks", IJCAI 2017 (https://www.ijcai.org/proceedings/2017/0435.pdf).
        - Reference notebook: seed 003, "Various models on ML-1m in Tensorflow" (TF2 Keras),
          section "AFM" (``AFM_layer``).
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
