"""Deep & Cross Network (Wang et al., ADKDD 2017); the notebook's section is titled "CDN".

Ports seed 003, section "CDN" (``CrossNetwork``, ``DeepNetwork``, ``DCN``):

    x_0 = flatten(E[offset_f + id_f])                 [B, F d]   (shared table, L2 1e-4)
    x_{l+1} = x_0 (x_l . w_l) + b_l,  l < 2           [B, F d]   (cross network)
    h = relu(Dense(64)(relu(Dense(128)(x_0))))        [B, 64]    (deep network)
    logit = Dense(1)([x_2 ; h])

Quirk, kept by default: the notebook's cross layer has no residual ``+ x_l`` (the paper's
``x_{l+1} = x_0 x_l^T w_l + b_l + x_l``); ``cross_residual=True`` adds it. ``w_l, b_l`` are
N(0, 0.05^2) as the notebook draws them. Defaults: ``latent_dim = 8``, 2 cross layers, deep
128-64, ``l2_emb = 1e-4``, ``optimizer='adam'`` (lr 1e-3), 10 epochs, batch 32.
Numeric fields ``x_f`` join ``x_0`` raw, as the paper's dense features:
``x_0 = [flatten(categorical embeddings) ; x_num]`` ``[B, n_cat d + n_num]``, the input of both
the cross and the deep network.
Shapes: inputs ``{field: [B]}``; ``logits`` ``[B]``.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.layers.cross import CrossNetwork
from tfrec.layers.dnn import DNN
from tfrec.layers.fields import FieldEmbedding
from tfrec.validation import check_non_negative
from tfrec.models.ctr import CTRModel, build_once


@keras.saving.register_keras_serializable(package="tfrec")
class DCN(CTRModel):
    """DCN: cross network and DNN side by side on the flattened embeddings -> ``[B]`` logits.

    With ``x_0 = flatten(field embeddings)`` ``[B, F d]`` (see the module docstring)::

        x_{l+1} = x_0 (x_l . w_l) + b_l  [+ x_l if cross_residual]      cross network
        h = DNN(x_0)                                                    deep network
        logit = Dense(1)([x_L ; h])

    Numeric fields ``x_f`` are stacked raw after the categorical embeddings:
    ``x_0 = [flatten(categorical embeddings) ; x_num]`` ``[B, n_cat d + n_num]``.

    Input shape:
        ``{field: [B]}`` int ids (multi-hot ``[B, M]`` padded with ``-1``, numeric ``[B]``
        float32), a tuple of per-field arrays, or one ``[B, F]`` matrix.

    Output shape:
        ``call`` / ``predict``: ``[B]`` click probabilities; ``logits``: ``[B]``.

    Args:
        fields: the input fields.
        embedding_dim: ``d`` (seed 003: 8).
        num_cross_layers: cross layers (seed 003: ``n_cross_layers = 2``).
        hidden_units: deep network widths, ReLU (seed 003: ``[128, 64]``).
        l2: L2 on the embedding table (seed 003: 1e-4).
        cross_residual: the paper's ``+ x_l`` in each cross layer (seed 003: no).
        pooling: multi-hot pooling.

    Example:
        >>> import numpy as np
        >>> from tfrec.models import DCN
        >>> model = DCN(fields=[("user_id", 10), ("item_id", 20)], embedding_dim=4,
        ...             hidden_units=[16, 8], cross_residual=True)
        >>> model(np.array([[1, 3], [2, 4]])).shape  # one [B, F] matrix of single-hot ids
        TensorShape([2])

    References:
        - Ruoxi Wang, Bin Fu, Gang Fu, Mingliang Wang, "Deep & Cross Network for Ad Click
          Predictions", ADKDD 2017.
        - Seed 003 ("Various models on ML-1m in Tensorflow"), section "CDN"
          (``CrossNetwork``, ``DeepNetwork``, ``DCN``). The section's abstract links
          github.com/lucashu1/CDN-RecSys, not the DCN paper; the code is the DCN above.
    """

    def __init__(
        self,
        fields,
        embedding_dim: int = 8,
        num_cross_layers: int = 2,
        hidden_units=(128, 64),
        l2: float = 1e-4,
        cross_residual: bool = False,
        pooling: str = "mean",
        **kwargs,
    ):
        super().__init__(fields, pooling, **kwargs)
        self.l2 = check_non_negative("l2", l2)
        self.embedding = FieldEmbedding(self.field_specs, embedding_dim, embeddings_l2=self.l2, pooling=pooling, name="fields")
        self.embedding_dim = self.embedding.embedding_dim
        self.cross = CrossNetwork(num_cross_layers, residual=cross_residual, name="cross")
        self.dnn = DNN(hidden_units, "relu", name="dnn")
        self.hidden_units = self.dnn.units
        self.output_layer = keras.layers.Dense(1, name="output")

    def build_layers(self):
        flat = self.deep_input_dim  # num_fields * embedding_dim without numeric fields
        build_once(self.cross, (None, flat))
        build_once(self.dnn, (None, flat))
        build_once(self.output_layer, (None, flat + self.hidden_units[-1]))

    def logits(self, inputs, training=False):
        _, flat = self.embed(inputs, deep=True)
        out = tf.concat([self.cross(flat), self.dnn(flat)], axis=1)
        return tf.squeeze(self.output_layer(out), -1)

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "num_cross_layers": self.cross.num_layers,
            "hidden_units": list(self.hidden_units),
            "l2": self.l2,
            "cross_residual": self.cross.residual,
        }
