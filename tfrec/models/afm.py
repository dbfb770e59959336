"""Attentional Factorization Machine (Xiao et al., IJCAI 2017).

Ports seed 003, section "AFM" (``AFM_layer``):

    e_f = E[offset_f + id_f]                                   [B, F, d]
    z_ij = e_i * e_j,  a_ij = softmax_ij(h^T relu(W z_ij + b) + c)
    logit = p^T (sum_{i<j} a_ij z_ij) + p_0  +  w_0 + sum_f w[offset_f + id_f]

``E`` is the shared embedding table (Keras ``Embedding``: U(-0.05, 0.05), L2 1e-4); the
first-order term is the notebook's ``Dense(1)`` over the concatenated one-hot vectors
(Glorot-uniform ``w``, zero ``w_0``, no L2); ``p, p_0`` its ``final_dense = Dense(1)``.

A numeric field ``x_f`` interacts through ``e_f = x_f E[offset_f]`` (every pair ``z_ij``) and
adds ``x_f w[offset_f]`` to the first-order term.

Shapes: inputs ``{field: [B]}``; ``logits`` ``[B]``. Note: with ids only (two fields) there is
one pair, so the attention weight is always 1; it only matters with side features.
Defaults: ``latent_dim = 8``, ``att_dim = 8``, ``l2_emb = 1e-4``, Adam lr 1e-3, 10 epochs,
batch 32 (Keras' default; the notebook passes none).
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.layers.afm import AttentionalPairPooling
from tfrec.layers.fields import FieldEmbedding
from tfrec.validation import check_non_negative
from tfrec.models.ctr import CTRModel, build_once


@keras.saving.register_keras_serializable(package="tfrec")
class AFM(CTRModel):
    """AFM: first-order term + attention-pooled pairwise interactions -> ``[B]`` logits.

    Each pair of field embeddings interacts by element-wise product; an attention network
    weights the pairs (see the module docstring)::

        z_ij = e_i * e_j,  a_ij = softmax_ij(h^T relu(W z_ij + b) + c)
        logit = p^T (sum_{i<j} a_ij z_ij) + p_0 + w_0 + sum_f w[id_f]

    A numeric field ``x_f`` enters the pairs as ``e_f = x_f v_f`` and the first-order term as
    ``x_f w_f``.

    Input shape:
        ``{field: [B]}`` int ids (multi-hot ``[B, M]`` padded with ``-1``, numeric ``[B]``
        float32), a tuple of per-field arrays, or one ``[B, F]`` matrix; at least two fields.

    Output shape:
        ``call`` / ``predict``: ``[B]`` click probabilities; ``logits``: ``[B]``.

    Args:
        fields: the input fields (at least two).
        embedding_dim: ``d`` (seed 003: 8).
        attention_dim: attention network size (seed 003: ``att_dim = 8``).
        l2: L2 on the embedding table (seed 003: ``l2_emb = 1e-4``).
        pooling: multi-hot pooling.

    Example:
        >>> import numpy as np
        >>> from tfrec.models import AFM
        >>> model = AFM(fields=[("user_id", 10), ("item_id", 20)], embedding_dim=4, attention_dim=4)
        >>> model({"user_id": np.array([1, 2]), "item_id": np.array([3, 4])}).shape
        TensorShape([2])

    References:
        - Jun Xiao, Hao Ye, Xiangnan He, Hanwang Zhang, Fei Wu, Tat-Seng Chua, "Attentional
          Factorization Machines: Learning the Weight of Feature Interactions via Attention
          Networks", IJCAI 2017 (https://www.ijcai.org/proceedings/2017/0435.pdf).
        - Seed 003 ("Various models on ML-1m in Tensorflow"), section "AFM" (``AFM_layer``,
          ``AFM``).
    """

    def __init__(self, fields, embedding_dim: int = 8, attention_dim: int = 8, l2: float = 1e-4, pooling: str = "mean", **kwargs):
        super().__init__(fields, pooling, **kwargs)
        if self.num_fields < 2:
            raise ValueError(f"AFM needs at least two fields; got {self.field_names}")
        self.l2 = check_non_negative("l2", l2)
        self.embedding = FieldEmbedding(self.field_specs, embedding_dim, embeddings_l2=self.l2, linear=True, pooling=pooling, name="fields")
        self.embedding_dim = self.embedding.embedding_dim
        self.attention = AttentionalPairPooling(attention_dim, name="attention")
        self.attention_dim = self.attention.attention_dim
        self.output_layer = keras.layers.Dense(1, name="output")

    def build_layers(self):
        build_once(self.attention, (None, self.num_fields, self.embedding_dim))
        build_once(self.output_layer, (None, self.embedding_dim))

    def logits(self, inputs, training=False):
        emb, linear = self.embed(inputs, linear=True)
        return tf.squeeze(self.output_layer(self.attention(emb)), -1) + linear

    def get_config(self):
        return {**super().get_config(), "embedding_dim": self.embedding_dim, "attention_dim": self.attention_dim, "l2": self.l2}
