"""Wide & Deep (Cheng et al., DLRS 2016) with one optimizer per part, as the notebook trains it.

Ports seed 003, section "W&D" (``WideAndDeep``):

    wide = w_0 + sum_f w[offset_f + id_f]              (Dense(1) over the one-hot user and item)
    deep = Dense(1)(Dropout(0.2)(relu(Dense(64)(relu(Dense(128)(relu(Dense(256)(flatten(e)))))))))
    logit = 0.5 (wide + deep)

``e`` are 4-dim field embeddings (the notebook's separate user and item ``Embedding(dim, 4)``
tables are rows of the one shared table here: the same initialisation, U(-0.05, 0.05), no L2).
``train_step`` computes one BCE-from-logits loss and steps the wide part's variables (``w``,
``w_0``) with ``self.optimizer`` and every other variable with ``self.deep_optimizer``, as the
notebook's two ``GradientTape``s and two ``Adam(1e-3)``. ``compile(optimizer=...,
deep_optimizer=None)`` clones the first optimizer's configuration when the second is not given
(a ``LossScaleOptimizer`` under ``mixed_float16``: each part then has its own loss scale).
Numeric fields ``x_f``: the wide part adds ``x_f w[offset_f]``; the deep tower's input is
``[flatten(categorical e) ; x_num]`` ``[B, n_cat d + n_num]``.
Shapes: inputs ``{field: [B]}``; ``logits`` ``[B]``. Defaults: embeddings 4, deep 256-128-64,
dropout 0.2, Adam 1e-3 twice, 10 epochs, batch 32.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.distribute import dense_gradients, replica_total, step_logs
from tfrec.layers.dnn import DNN
from tfrec.layers.fields import FieldEmbedding
from tfrec.models.base import as_float32
from tfrec.models.ctr import CTRModel, build_once


@keras.saving.register_keras_serializable(package="tfrec")
class WideDeep(CTRModel):
    """Wide & Deep: ``0.5 (wide + deep)`` logits ``[B]``, two optimizers.

    A linear model over the one-hot fields and a DNN over their embeddings ``e``, averaged
    (see the module docstring)::

        wide = w_0 + sum_f w[id_f]
        deep = Dense(1)(Dropout(DNN(flatten(e))))
        logit = 0.5 (wide + deep)

    A numeric field ``x_f`` adds ``x_f w_f`` to ``wide`` and joins the deep tower raw:
    ``DNN([flatten(categorical e) ; x_num])``.

    ``train_step`` steps ``wide_variables`` with ``optimizer`` and ``deep_variables`` with
    ``deep_optimizer`` (``compile(optimizer, deep_optimizer=None)``: by default a copy of the
    first optimizer's configuration), from one BCE-from-logits loss.

    Input shape:
        ``{field: [B]}`` int ids (multi-hot ``[B, M]`` padded with ``-1``, numeric ``[B]``
        float32), a tuple of per-field arrays, or one ``[B, F]`` matrix.

    Output shape:
        ``call`` / ``predict``: ``[B]`` click probabilities; ``logits`` and ``wide_logits``:
        ``[B]``.

    Args:
        fields: the input fields.
        embedding_dim: deep embeddings (seed 003: ``u_emb_dim = i_emb_dim = 4``).
        hidden_units: deep widths, ReLU (seed 003: ``[256, 128, 64]``).
        dropout: dropout after the last hidden layer (seed 003: 0.2).
        pooling: multi-hot pooling.

    Example:
        >>> import numpy as np
        >>> from tfrec.models import WideDeep
        >>> model = WideDeep(fields=[("user_id", 10), ("item_id", 20)], embedding_dim=4, hidden_units=[16, 8])
        >>> model({"user_id": np.array([1, 2]), "item_id": np.array([3, 4])}).shape
        TensorShape([2])
        >>> model.compile(optimizer="adam")  # the deep part gets its own Adam
        >>> len(model.wide_variables), model.deep_optimizer is model.optimizer
        (2, False)

    References:
        - Heng-Tze Cheng, Levent Koc, Jeremiah Harmsen, Tal Shaked, Tushar Chandra, et al.,
          "Wide & Deep Learning for Recommender Systems", DLRS 2016 (arXiv:1606.07792).
        - Seed 003 ("Various models on ML-1m in Tensorflow"), section "W&D"
          (``WideAndDeep``, its custom ``train_step`` with two optimizers).
    """

    def __init__(self, fields, embedding_dim: int = 4, hidden_units=(256, 128, 64), dropout: float = 0.2, pooling: str = "mean", **kwargs):
        super().__init__(fields, pooling, **kwargs)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1); got {dropout!r}")
        self.dropout_rate = float(dropout)
        self.embedding = FieldEmbedding(self.field_specs, embedding_dim, embeddings_l2=0.0, linear=True, pooling=pooling, name="fields")
        self.embedding_dim = self.embedding.embedding_dim
        self.dnn = DNN(hidden_units, "relu", name="deep")
        self.hidden_units = self.dnn.units
        self.dropout = keras.layers.Dropout(self.dropout_rate)
        self.output_layer = keras.layers.Dense(1, name="deep_output")
        self.deep_optimizer = None

    def build_layers(self):
        build_once(self.dnn, (None, self.deep_input_dim))
        build_once(self.output_layer, (None, self.hidden_units[-1]))

    # ------------------------------------------------------------------------------------
    @property
    def wide_variables(self) -> list:
        """``w`` and ``w_0``: the wide part, stepped by ``self.optimizer``."""
        return [self.embedding.linear_weights, self.embedding.linear_bias]

    @property
    def deep_variables(self) -> list:
        """Every other trainable variable, stepped by ``self.deep_optimizer``."""
        wide = {id(v) for v in self.wide_variables}
        return [v for v in self.trainable_variables if id(v) not in wide]

    def compile(self, optimizer="adam", deep_optimizer=None, **kwargs):
        """``optimizer`` steps the wide part; ``deep_optimizer`` (default: a fresh optimizer with
        ``optimizer``'s configuration) the deep part."""
        super().compile(optimizer=optimizer, **kwargs)
        if deep_optimizer is None:
            deep_optimizer = self.optimizer.__class__.from_config(self.optimizer.get_config())
        self.deep_optimizer = keras.optimizers.get(deep_optimizer)
        self.build()
        if not self.optimizer.built:
            self.optimizer.build(self.wide_variables)
        if not self.deep_optimizer.built:
            self.deep_optimizer.build(self.deep_variables)

    def compile_from_config(self, config):
        """Re-compile when a ``.keras`` file is loaded (the wide optimizer's saved state covers
        the wide variables only, so it is built on them, not on every variable)."""
        self.compile(**keras.saving.deserialize_keras_object(config))

    def wide_logits(self, inputs) -> tf.Tensor:
        return self.embed(inputs, linear=True)[1]

    def logits(self, inputs, training=False):
        _, wide, flat = self.embed(inputs, linear=True, deep=True)
        hidden = self.dropout(self.dnn(flat), training=training)
        deep = tf.squeeze(as_float32(self.output_layer(hidden)), -1)
        return 0.5 * (as_float32(wide) + deep)

    def train_step(self, data):
        """One step of both optimizers on one loss. With loss scaling (``mixed_float16``) each
        optimizer has its own dynamic scale, so each part's gradients come from the loss scaled
        by its own optimizer's scale (``apply`` unscales by the same one)."""
        wide_vars, deep_vars = self.wide_variables, self.deep_variables
        scaling = any(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in (self.optimizer, self.deep_optimizer))
        with tf.GradientTape(persistent=scaling) as tape:
            loss = self.compute_losses(data)["loss"]
            if scaling:  # on the tape
                wide_scaled, deep_scaled = self.optimizer.scale_loss(loss), self.deep_optimizer.scale_loss(loss)
        if scaling:
            wide_gradients = tape.gradient(wide_scaled, wide_vars)
            deep_gradients = tape.gradient(deep_scaled, deep_vars)
            del tape
        else:  # one backward pass for both parts
            gradients = tape.gradient(loss, wide_vars + deep_vars)
            wide_gradients, deep_gradients = gradients[: len(wide_vars)], gradients[len(wide_vars):]
        self.optimizer.apply(dense_gradients(wide_gradients), wide_vars)
        self.deep_optimizer.apply(dense_gradients(deep_gradients), deep_vars)
        return step_logs(self.track({"loss": replica_total(loss)}))

    def stepped_optimizers(self) -> list:
        return [self.optimizer, self.deep_optimizer]

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "hidden_units": list(self.hidden_units),
            "dropout": self.dropout_rate,
        }
