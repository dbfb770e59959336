"""DeepFM (Guo et al., IJCAI 2017).

Ports seed 003, section "DeepFM" (``FM_layer`` + ``DeepFM``). The notebook's model:

    e = flatten(E[offset_f + id_f])                    [B, F d]  (shared table, L2 1e-4)
    fm = w_0 + e w + 0.5 sum_k ((e V)_k^2 - (e^2)(V^2)_k)        (FM_layer on e: w [F d, 1], V [F d, 8])
    deep = Dense(1)(relu(Dense(64)(relu(Dense(128)(e)))))
    logit = fm + deep

Quirk, kept by default (``fm_input="flat"``): the notebook's FM part treats the ``F d``
embedding coordinates as real-valued features with their own factors ``V`` -- it is not the
paper's DeepFM, whose FM part is a first-order term over the one-hot ids plus the pairwise
inner products of the *shared* field embeddings. ``fm_input="fields"`` gives the paper's
version: ``fm = w_0 + sum_f w[id_f] + sum_{f<g} <e_f, e_g>``.

Numeric fields ``x_f`` (the paper's continuous fields): ``e`` above is the deep input
``[flatten(categorical embeddings) ; x_num]`` ``[B, n_cat d + n_num]`` (the DNN's input, and the
``"flat"`` FM's); with ``fm_input="fields"`` the FM part takes ``x_f w_f`` and ``e_f = x_f v_f``.

Shapes: inputs ``{field: [B]}``; ``logits`` ``[B]``. Defaults: ``latent_dim = 8``, DNN
128-64, FM ``w_reg = v_reg = 1e-4``, ``l2_emb = 1e-4``, Adam lr 1e-3, 10 epochs, batch 32.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.layers.dnn import DNN
from tfrec.layers.fields import FieldEmbedding
from tfrec.validation import check_non_negative
from tfrec.layers.fm import FactorizationMachine, FMInteraction
from tfrec.models.ctr import CTRModel, build_once


@keras.saving.register_keras_serializable(package="tfrec")
class DeepFM(CTRModel):
    """DeepFM: FM part + DNN over the flattened field embeddings -> ``[B]`` logits.

    ``logit = fm + deep`` with ``e = flatten(field embeddings)`` ``[B, F d]`` and
    ``deep = Dense(1)(DNN(e))``; the FM part depends on ``fm_input`` (module docstring)::

        "flat":   fm = w_0 + e w + 0.5 sum_k ((e V)_k^2 - (e^2)(V^2)_k)     (seed 003)
        "fields": fm = w_0 + sum_f w[id_f] + sum_{f<g} <e_f, e_g>          (the paper)

    Numeric fields ``x_f``: ``e = [flatten(categorical embeddings) ; x_num]`` (the deep input,
    for the DNN and the ``"flat"`` FM); the ``"fields"`` FM takes ``x_f w_f`` and ``e_f = x_f v_f``.

    Input shape:
        ``{field: [B]}`` int ids (multi-hot ``[B, M]`` padded with ``-1``, numeric ``[B]``
        float32), a tuple of per-field arrays, or one ``[B, F]`` matrix.

    Output shape:
        ``call`` / ``predict``: ``[B]`` click probabilities; ``logits``: ``[B]``.

    Args:
        fields: the input fields.
        embedding_dim: ``d`` (seed 003: 8).
        hidden_units: DNN widths (seed 003: ``[128, 64]``, ReLU, then ``Dense(1)``).
        l2: L2 on the embedding table (seed 003: ``l2_emb = 1e-4``).
        fm_factors: latent size of the notebook's ``FM_layer`` (seed 003: ``latent_dim = 8``).
        fm_l2: L2 on ``FM_layer``'s ``w`` and ``V`` (seed 003: 1e-4).
        fm_input: ``"flat"`` (seed 003) or ``"fields"`` (the paper), see the module docstring.
        pooling: multi-hot pooling.

    Example:
        >>> import numpy as np
        >>> from tfrec.models import DeepFM
        >>> fields = [("user_id", 10), ("item_id", 20)]
        >>> inputs = {"user_id": np.array([1, 2]), "item_id": np.array([3, 4])}
        >>> DeepFM(fields, embedding_dim=4, hidden_units=[16, 8])(inputs).shape
        TensorShape([2])
        >>> DeepFM(fields, embedding_dim=4, fm_input="fields").logits(inputs).shape
        TensorShape([2])

    References:
        - Huifeng Guo, Ruiming Tang, Yunming Ye, Zhenguo Li, Xiuqiang He, "DeepFM: A
          Factorization-Machine based Neural Network for CTR Prediction", IJCAI 2017
          (arXiv:1703.04247).
        - Seed 003 ("Various models on ML-1m in Tensorflow"), section "DeepFM" (``FM_layer``,
          ``DeepFM``).
    """

    def __init__(
        self,
        fields,
        embedding_dim: int = 8,
        hidden_units=(128, 64),
        l2: float = 1e-4,
        fm_factors: int = 8,
        fm_l2: float = 1e-4,
        fm_input: str = "flat",
        pooling: str = "mean",
        **kwargs,
    ):
        super().__init__(fields, pooling, **kwargs)
        if fm_input not in ("flat", "fields"):
            raise ValueError(f"`fm_input` must be 'flat' (seed 003) or 'fields' (the paper); got {fm_input!r}")
        self.fm_input = fm_input
        self.l2 = check_non_negative("l2", l2)
        self.embedding = FieldEmbedding(
            self.field_specs, embedding_dim, embeddings_l2=self.l2, linear=fm_input == "fields", pooling=pooling, name="fields"
        )
        self.embedding_dim = self.embedding.embedding_dim
        if fm_input == "flat":
            self.fm = FactorizationMachine(fm_factors, w_l2=fm_l2, v_l2=fm_l2, name="fm")
            self.fm_factors, self.fm_l2 = self.fm.factors, self.fm.w_l2
        else:
            self.fm = FMInteraction(name="fm")
            self.fm_factors, self.fm_l2 = fm_factors, check_non_negative("fm_l2", fm_l2)
        self.dnn = DNN(hidden_units, "relu", name="dnn")
        self.hidden_units = self.dnn.units
        self.output_layer = keras.layers.Dense(1, name="dnn_output")

    def build_layers(self):
        flat = self.deep_input_dim  # num_fields * embedding_dim without numeric fields
        build_once(self.fm, (None, flat) if self.fm_input == "flat" else (None, self.num_fields, self.embedding_dim))
        build_once(self.dnn, (None, flat))
        build_once(self.output_layer, (None, self.hidden_units[-1]))

    def logits(self, inputs, training=False):
        if self.fm_input == "flat":
            _, flat = self.embed(inputs, deep=True)
            fm = self.fm(flat)
        else:
            emb, linear, flat = self.embed(inputs, linear=True, deep=True)
            fm = linear + self.fm(emb)
        return fm + tf.squeeze(self.output_layer(self.dnn(flat)), -1)

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "hidden_units": list(self.hidden_units),
            "l2": self.l2,
            "fm_factors": self.fm_factors,
            "fm_l2": self.fm_l2,
            "fm_input": self.fm_input,
        }
