"""xDeepFM (Lian et al., KDD 2018); the notebook's section is titled "xDFM".

Ports seed 003, section "xDFM" (``CIN`` + ``xDFM``):

    X^0 = E[offset_f + id_f]                                   [B, m, d]  (shared table, L2 1e-4)
    linear = w_0 + sum_f w[offset_f + id_f]                    (Dense(1) over one-hot)
    dnn = Dense(1)(relu(Dense(64)(relu(Dense(128)(flatten(X^0))))))
    cin = Dense(1)(CIN_[32, 32], relu(X^0))                     (see tfrec.layers.cin)
    logit = linear + dnn + cin

Quirk, kept by default: the notebook's CIN sum-pools ``X^0`` into its output as well
(``cin_include_input=True``); the paper pools only the CIN layers. The notebook trains only 5
epochs ("easily overfitting, reduce epochs"); that is the registry default.
Numeric fields ``x_f``: the CIN takes ``x_f E[offset_f]`` as their rows of ``X^0``, the linear
term adds ``x_f w[offset_f]``, and the DNN's input is ``[flatten(categorical rows) ; x_num]``.
Shapes: inputs ``{field: [B]}``; ``logits`` ``[B]``. Defaults: ``latent_dim = 8``, CIN
``[32, 32]``, DNN ``[128, 64]``, activation ``'relu'`` (CIN and DNN), ``l2_emb = 1e-4``, Adam
lr 1e-3, batch 32.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.layers.cin import CIN
from tfrec.layers.dnn import DNN
from tfrec.layers.fields import FieldEmbedding
from tfrec.validation import check_non_negative
from tfrec.models.ctr import CTRModel, build_once


@keras.saving.register_keras_serializable(package="tfrec")
class XDeepFM(CTRModel):
    """xDeepFM: linear + CIN + DNN -> ``[B]`` logits.

    With ``X^0`` the ``[B, F, d]`` field embeddings (see the module docstring and
    :mod:`tfrec.layers.cin`)::

        logit = w_0 + sum_f w[id_f] + Dense(1)(DNN(flatten(X^0))) + Dense(1)(CIN(X^0))

    A numeric field ``x_f`` is the row ``x_f v_f`` of ``X^0`` in the CIN, adds ``x_f w_f`` to the
    linear term, and the DNN takes ``[flatten(categorical rows of X^0) ; x_num]`` instead.

    Input shape:
        ``{field: [B]}`` int ids (multi-hot ``[B, M]`` padded with ``-1``, numeric ``[B]``
        float32), a tuple of per-field arrays, or one ``[B, F]`` matrix.

    Output shape:
        ``call`` / ``predict``: ``[B]`` click probabilities; ``logits``: ``[B]``.

    Args:
        fields: the input fields.
        embedding_dim: ``d`` (seed 003: 8).
        cin_layers: CIN layer sizes (seed 003: ``[32, 32]``).
        hidden_units: DNN widths (seed 003: ``[128, 64]``).
        activation: activation of the CIN and DNN layers (seed 003: ``'relu'``).
        l2: L2 on the embedding table (seed 003: 1e-4).
        cin_include_input: sum-pool ``X^0`` into the CIN output (seed 003) or not (paper).
        pooling: multi-hot pooling.

    Example:
        >>> import numpy as np
        >>> from tfrec.models import XDeepFM
        >>> model = XDeepFM(fields=[("user_id", 10), ("item_id", 20)], embedding_dim=4,
        ...                 cin_layers=[4, 4], hidden_units=[16, 8])
        >>> model({"user_id": np.array([1, 2]), "item_id": np.array([3, 4])}).shape
        TensorShape([2])

    References:
        - Jianxun Lian, Xiaohuan Zhou, Fuzheng Zhang, Zhongxia Chen, Xing Xie, Guangzhong Sun,
          "xDeepFM: Combining Explicit and Implicit Feature Interactions for Recommender
          Systems", KDD 2018 (arXiv:1803.05170).
        - Seed 003 ("Various models on ML-1m in Tensorflow"), section "xDFM" (``CIN``,
          ``xDFM``).
    """

    def __init__(
        self,
        fields,
        embedding_dim: int = 8,
        cin_layers=(32, 32),
        hidden_units=(128, 64),
        activation: str | None = "relu",
        l2: float = 1e-4,
        cin_include_input: bool = True,
        pooling: str = "mean",
        **kwargs,
    ):
        super().__init__(fields, pooling, **kwargs)
        self.l2 = check_non_negative("l2", l2)
        self.embedding = FieldEmbedding(self.field_specs, embedding_dim, embeddings_l2=self.l2, linear=True, pooling=pooling, name="fields")
        self.embedding_dim = self.embedding.embedding_dim
        self.dnn = DNN(hidden_units, activation, name="dnn")
        self.activation = activation
        self.hidden_units = self.dnn.units
        self.dnn_output = keras.layers.Dense(1, name="dnn_output")
        self.cin = CIN(cin_layers, activation=activation, include_input=cin_include_input, name="cin")
        self.cin_output = keras.layers.Dense(1, name="cin_output")

    def build_layers(self):
        build_once(self.dnn, (None, self.deep_input_dim))
        build_once(self.dnn_output, (None, self.hidden_units[-1]))
        build_once(self.cin, (None, self.num_fields, self.embedding_dim))
        build_once(self.cin_output, (None, self.cin.output_dim))

    def logits(self, inputs, training=False):
        emb, linear, flat = self.embed(inputs, linear=True, deep=True)
        dnn = self.dnn_output(self.dnn(flat))
        cin = self.cin_output(self.cin(emb))
        return linear + tf.squeeze(dnn + cin, -1)

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "cin_layers": list(self.cin.layer_sizes),
            "hidden_units": list(self.hidden_units),
            "activation": self.activation,
            "l2": self.l2,
            "cin_include_input": self.cin.include_input,
        }
