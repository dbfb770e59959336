"""Shared plumbing of the CTR models (seed 003's FM, AFM, DeepFM, DCN, xDeepFM, PNN, Wide & Deep,
AutoInt): :class:`CTRModel`.

A CTR model scores one example made of categorical and numeric fields and trains with binary
cross-entropy from logits (:class:`~tfrec.models.base.PointwiseModel`'s ``train_step``; the
regularisation losses -- seed 003's ``l2(1e-4)`` on the embedding table -- are added to it).

Inputs, any of:

* ``{field name: values}`` -- single-hot ``[B]`` int, multi-hot ``[B, M]`` int padded with
  ``-1``, numeric ``[B]`` float32 (already transformed, missing values filled);
* a tuple / list with one array per field, in field order (``(user_ids, item_ids)``);
* one ``[B, F]`` int matrix when every field is single-hot and categorical (the notebook's ``tr_X``).

A numeric field ``x_f`` enters the models' interaction parts as ``x_f v_f`` (its one embedding
row), their first-order parts as ``x_f w_f`` and their deep and cross parts as the raw value,
next to the flattened categorical embeddings (:class:`~tfrec.layers.fields.FieldEmbedding`).

``call`` / ``predict`` return ``[B]`` click probabilities; ``logits`` returns ``[B]`` logits.
Every model embeds its fields with the one shared :class:`~tfrec.layers.fields.FieldEmbedding`.

Under a mixed precision policy (``tfrec train --precision mixed_bfloat16``) the field embeddings
and the hidden layers compute in 16 bits, while the terms that make the logit -- the first-order
term, FM interactions and every ``Dense(1)`` output layer -- compute in float32, as do the loss
and the probabilities.
"""

from __future__ import annotations

import inspect

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.layers.fields import normalize_fields
from tfrec.models.base import PointwiseModel, float32_outputs


class CTRModel(PointwiseModel):
    """Base of the CTR models: field handling, building from data, serving signature.

    Subclasses set ``self.embedding`` (a ``FieldEmbedding``), implement ``logits`` and
    ``build_layers`` (builds their own sub-layers once the embedding is built) and extend
    ``get_config``.

    Input shape:
        ``{field name: values}`` (single-hot ``[B]`` int, multi-hot ``[B, M]`` int padded with
        ``-1``, numeric ``[B]`` float32), a tuple / list with one array per field in field
        order, or one ``[B, F]`` int matrix when every field is single-hot and categorical
        (:meth:`features` normalises them to a dict).

    Output shape:
        ``call`` / ``predict``: ``[B]`` click probabilities; ``logits``: ``[B]`` logits;
        :meth:`embed`: ``[B, F, d]`` field embeddings (numeric fields: ``x_f v_f``), and on
        request the ``[B]`` first-order logit and the ``[B, deep_input_dim]`` deep input
        (flattened categorical embeddings, then the raw numeric values).

    Args:
        fields: the input fields: ``CTRField`` objects, ``(name, vocab_size[, multi_hot[,
            numeric]])`` tuples or ``{"name", "vocab_size", "multi_hot"[, "numeric"]}`` dicts
            (a numeric field has ``vocab_size`` 1).
        pooling: ``"mean"`` or ``"sum"`` over a multi-hot field's ids.

    Example:
        The three input formats, on a concrete subclass (:class:`~tfrec.models.FM`):

        >>> import numpy as np
        >>> from tfrec.models import FM
        >>> model = FM(fields=[("user_id", 10), ("item_id", 20), ("genres", 5, True)], embedding_dim=4)
        >>> model({"user_id": np.array([1, 2]), "item_id": np.array([3, 4]),
        ...        "genres": np.array([[0, 2], [3, -1]])}).shape  # genres: multi-hot, -1 pads
        TensorShape([2])
        >>> single = FM(fields=[("user_id", 10), ("item_id", 20)], embedding_dim=4)
        >>> single((np.array([1, 2]), np.array([3, 4]))).shape, single(np.array([[1, 3], [2, 4]])).shape
        (TensorShape([2]), TensorShape([2]))
        >>> mixed = FM(fields=[("user_id", 10), {"name": "age", "vocab_size": 1, "numeric": True}], embedding_dim=4)
        >>> mixed({"user_id": np.array([1, 2]), "age": np.array([0.3, -1.1], "float32")}).shape
        TensorShape([2])

    References:
        Seed 003 ("Various models on ML-1m in Tensorflow"): its CTR sections (FM, AFM,
        AutoInt, CDN, DeepFM, PNN, W&D, xDFM) each embed the one-hot user and item ids and
        train with binary cross-entropy; this class is their shared input handling.
    """

    def __init__(self, fields, pooling: str = "mean", **kwargs):
        super().__init__(**kwargs)
        self.field_specs = normalize_fields(fields)
        if pooling not in ("mean", "sum"):
            raise ValueError(f"`pooling` must be 'mean' or 'sum'; got {pooling!r}")
        self.pooling = pooling

    # ------------------------------------------------------------------------------------
    @classmethod
    def from_data(cls, data, **hyperparameters):
        """Build for :class:`~tfrec.data.types.CTRData` (its fields) and build the weights."""
        if "fields" in hyperparameters:
            raise ValueError("`fields` come from the dataset; they cannot be set")
        model = cls(fields=[f.as_dict() for f in data.fields], **hyperparameters)
        model.build()
        return model

    @property
    def field_names(self) -> list[str]:
        return [f["name"] for f in self.field_specs]

    @property
    def num_fields(self) -> int:
        return len(self.field_specs)

    @property
    def num_numeric(self) -> int:
        return sum(f["numeric"] for f in self.field_specs)

    @property
    def deep_input_dim(self) -> int:
        """Width of the deep input: ``num_categorical * d + num_numeric``."""
        return self.embedding.deep_input_dim

    @property
    def num_users(self) -> int | None:
        return next((f["vocab_size"] for f in self.field_specs if f["name"] == "user_id"), None)

    @property
    def num_items(self) -> int | None:
        return next((f["vocab_size"] for f in self.field_specs if f["name"] == "item_id"), None)

    def features(self, inputs) -> dict:
        """Normalise ``inputs`` (dict, tuple of per-field arrays or ``[B, F]`` matrix of
        single-hot categorical ids) to a dict."""
        names = self.field_names
        if isinstance(inputs, dict):
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"missing input fields {missing}; the model's fields are {names}")
            return {n: inputs[n] for n in names}
        if isinstance(inputs, (tuple, list)):
            if len(inputs) != len(names):
                raise ValueError(f"expected {len(names)} inputs (one per field: {names}); got {len(inputs)}")
            return dict(zip(names, inputs))
        if any(f["multi_hot"] for f in self.field_specs):
            raise ValueError(f"a model with multi-hot fields takes a dict of fields {names}, not one matrix")
        numeric = [f["name"] for f in self.field_specs if f["numeric"]]
        if numeric:
            raise ValueError(
                f"a model with numeric fields ({numeric}) takes a dict or tuple of fields {names}, not one matrix"
            )
        matrix = tf.convert_to_tensor(inputs)
        return {n: matrix[:, i] for i, n in enumerate(names)}

    def input_signature(self) -> dict:
        """``{field: tf.TensorSpec}``: int32 ``[None]`` per single-hot, int32 ``[None, None]``
        per multi-hot and float32 ``[None]`` per numeric field (the serving signature's arguments)."""
        def spec(f):
            if f["numeric"]:
                return tf.TensorSpec([None], tf.float32, name=f["name"])
            return tf.TensorSpec([None, None] if f["multi_hot"] else [None], tf.int32, name=f["name"])

        return {f["name"]: spec(f) for f in self.field_specs}

    def serving_endpoints(self):
        """Functions of internal ids that :func:`tfrec.export.export_saved_model` serves in raw
        ids: ``score(<one argument per field>) -> [B]`` click probabilities (single-hot fields
        ``[B]``, multi-hot ``[B, M]`` padded with ``-1``, numeric ``[B]`` float32 values).
        ``recommend`` is built by the export from the catalogue's user and item attributes."""
        from tfrec.models.base import ServingFunctions

        signature = self.input_signature()
        names = list(signature)

        def score(*tensors):
            return self(dict(zip(names, tensors)), training=False)

        # named parameters, so the traced function's inputs carry the field names
        score.__signature__ = inspect.Signature(
            [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
        )
        return ServingFunctions(
            score=tf.function(score, input_signature=list(signature.values()), autograph=False),
            score_meaning="click probability (the sigmoid of the model's logit)",
        )

    # ------------------------------------------------------------------------------------
    def build(self, input_shape=None):
        if self.built:
            return
        if not self.embedding.built:
            self.embedding.build(None)
        float32_outputs(self)  # mixed precision: the Dense(1) output layers compute in float32
        self.build_layers()
        self.built = True

    def build_layers(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, inputs, linear: bool = False, deep: bool = False):
        """``[B, F, d]`` field embeddings (numeric fields: ``x_f v_f``); with ``linear`` also the
        ``[B]`` first-order logit, with ``deep`` also the ``[B, deep_input_dim]`` deep input
        (:meth:`~tfrec.layers.fields.FieldEmbedding.deep_input`), in that order: ``emb``,
        ``(emb, linear)``, ``(emb, deep)`` or ``(emb, linear, deep)``."""
        features = self.features(inputs)
        out = self.embedding(features, linear=linear)
        if not deep:
            return out
        emb = out[0] if linear else out
        deep_input = self.embedding.deep_input(features, emb)
        return (*out, deep_input) if linear else (emb, deep_input)

    def get_config(self):
        return {**super().get_config(), "fields": [dict(f) for f in self.field_specs], "pooling": self.pooling}


def build_once(layer: keras.layers.Layer, shape) -> None:
    """Build a sub-layer once (``fit`` may already have built it by calling it)."""
    if not layer.built:
        layer.build(shape)
