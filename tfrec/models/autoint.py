"""AutoInt (Song et al., CIKM 2019), on ``keras.layers.MultiHeadAttention`` (no tensorflow-addons).

Ports seed 003, section "AutoInt" (``MHA`` + ``AutoInt``):

    x^0 = E[offset_f + id_f]                         [B, F, d]      (shared table, L2 1e-4)
    x^l = InteractingLayer_l(x^{l-1})                [B, F, H_l h_l] (see tfrec.layers.autoint)
    logit = Dense(1)(flatten(x^L))

The notebook stacks two layers of 2 heads x 8 (``att_sizes=[8, 8]``, ``att_heads=[2, 2]``),
each with a residual projection and ReLU, and trains with Adam(2e-4). tfa's attention has no
biases on its per-head q/k/v projections, Keras' has (``use_bias=True``); the notebook's own
``W_q, W_k, W_v`` in front have biases, so every map stays affine either way.
Numeric fields ``x_f`` are attention tokens like the others, ``x^0_f = x_f E[offset_f]`` (the
paper's numerical-feature embedding); AutoInt has no DNN, so no raw-value input.
Shapes: inputs ``{field: [B]}``; ``logits`` ``[B]``. Defaults: ``latent_dim = 8``,
``l2_emb = 1e-4``, lr 2e-4, 10 epochs, batch 32.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.layers.autoint import InteractingLayer
from tfrec.layers.fields import FieldEmbedding
from tfrec.validation import check_non_negative, check_units
from tfrec.models.ctr import CTRModel, build_once


@keras.saving.register_keras_serializable(package="tfrec")
class AutoInt(CTRModel):
    """AutoInt: stacked multi-head self-attention over fields -> ``[B]`` logits.

    Each field embedding attends to every other field, layer after layer (see the module
    docstring and :mod:`tfrec.layers.autoint`)::

        x^0 = E[id_f]                                  [B, F, d]
        x^l = InteractingLayer_l(x^{l-1})              [B, F, H_l h_l]
        logit = Dense(1)(flatten(x^L))

    A numeric field ``x_f`` is the token ``x^0_f = x_f v_f`` (its one embedding row, scaled).

    Input shape:
        ``{field: [B]}`` int ids (multi-hot ``[B, M]`` padded with ``-1``, numeric ``[B]``
        float32), a tuple of per-field arrays, or one ``[B, F]`` matrix.

    Output shape:
        ``call`` / ``predict``: ``[B]`` click probabilities; ``logits``: ``[B]``.

    Args:
        fields: the input fields.
        embedding_dim: ``d`` (seed 003: 8).
        attention_dims: size per head of each layer (seed 003: ``[8, 8]``).
        attention_heads: heads of each layer (seed 003: ``[2, 2]``).
        residual: residual projection in each layer (seed 003: ``use_resid=True``).
        l2: L2 on the embedding table (seed 003: 1e-4).
        pooling: multi-hot pooling.

    Example:
        >>> import numpy as np
        >>> from tfrec.models import AutoInt
        >>> model = AutoInt(fields=[("user_id", 10), ("item_id", 20)], embedding_dim=4,
        ...                 attention_dims=[4], attention_heads=[2])
        >>> model({"user_id": np.array([1, 2]), "item_id": np.array([3, 4])}).shape
        TensorShape([2])

    References:
        - Weiping Song, Chence Shi, Zhiping Xiao, Zhijian Duan, Yewen Xu, Ming Zhang, Jian Tang,
          "AutoInt: Automatic Feature Interaction Learning via Self-Attentive Neural Networks",
          CIKM 2019 (arXiv:1810.11921).
        - Seed 003 ("Various models on ML-1m in Tensorflow"), section "AutoInt" (``MHA``,
          ``AutoInt``).
    """

    def __init__(
        self,
        fields,
        embedding_dim: int = 8,
        attention_dims=(8, 8),
        attention_heads=(2, 2),
        residual: bool = True,
        l2: float = 1e-4,
        pooling: str = "mean",
        **kwargs,
    ):
        super().__init__(fields, pooling, **kwargs)
        self.attention_dims = check_units("attention_dims", attention_dims)
        self.attention_heads = check_units("attention_heads", attention_heads)
        if len(self.attention_dims) != len(self.attention_heads):
            raise ValueError(
                f"`attention_dims` and `attention_heads` need one entry per layer; got {list(self.attention_dims)} "
                f"and {list(self.attention_heads)}"
            )
        self.l2 = check_non_negative("l2", l2)
        self.embedding = FieldEmbedding(self.field_specs, embedding_dim, embeddings_l2=self.l2, pooling=pooling, name="fields")
        self.embedding_dim = self.embedding.embedding_dim
        self.interacting = [
            InteractingLayer(a, h, residual=residual, name=f"interacting_{i}")
            for i, (a, h) in enumerate(zip(self.attention_dims, self.attention_heads))
        ]
        self.residual = residual
        self.output_layer = keras.layers.Dense(1, name="output")

    def build_layers(self):
        width = self.embedding_dim
        for layer in self.interacting:
            build_once(layer, (None, self.num_fields, width))
            width = layer.units
        build_once(self.output_layer, (None, self.num_fields * width))

    def logits(self, inputs, training=False):
        x = self.embed(inputs)
        for layer in self.interacting:
            x = layer(x)
        return tf.squeeze(self.output_layer(tf.reshape(x, [-1, self.num_fields * self.interacting[-1].units])), -1)

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "attention_dims": list(self.attention_dims),
            "attention_heads": list(self.attention_heads),
            "residual": self.residual,
            "l2": self.l2,
        }
