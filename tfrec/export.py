"""SavedModel export in the user's own ids, with the same signatures in every family; the export
serves without tfrec installed.

```python
import tensorflow as tf
served = tf.saved_model.load("export/neumf")
out = served.score(user_id=tf.constant([1, 2], tf.int64), item_id=tf.constant([193609, 5], tf.int64))
out["score"], out["known"]                              # float32 [2], bool [2]
top = served.recommend(user_id=tf.constant([1], tf.int64), k=tf.constant(10))
top["item_ids"], top["scores"], top["known"]            # raw ids [1, 10], float32 [1, 10], bool [1]
served.signatures["score"], served.signatures["recommend"]          # for TF Serving
```

**Ids.** Every id input and output is an id of the user's data, as the loader read it: int64 for
integer ids, ``tf.string`` for string ids (each input's dtype is its vocabulary's, so users may be
integers and items strings). Integer inputs are also accepted as int32 from Python (the
``signatures`` for TF Serving take int64). The translation lives here, once for every family:
each model's ``serving_endpoints()`` gives functions of its internal ids
(:class:`ServingFunctions`), and the export wraps them with Keras lookup layers
(``IntegerLookup`` / ``StringLookup``, one out-of-vocabulary index) built from a
:class:`~tfrec.data.catalogue.Catalogue`, and turns the ``item_ids`` it returns back into raw ids
(the inverse lookup). Without a catalogue the raw ids are the internal ones (users ``0..U-1``,
items ``0..N-1``, AttRec's and COTREC's items ``1..N``), and nothing is known about the items
users have seen.

**Pad value.** ``-1`` for integer ids, ``""`` for string ids: it pads ``history``,
``session_items`` and multi-hot fields (``[B, M]``), and it is the ``item_ids`` of a row that
has no answer. Data that has it as an id is refused with a ``UserError`` naming the input.

**Unknown ids.** An id the catalogue does not know (a user or item not in the training data, or
the pad value) never raises: ``known`` is False for that row and ``score`` is NaN; ``recommend``
gives that row NaN ``scores`` and pad ``item_ids``. In ``history``, ``session_items`` and
multi-hot fields an unknown id counts as padding; a COTREC session with no known item is
unknown. Which inputs make a row unknown:

* ``score``: any unknown single id (``user_id``, ``item_id``, a single-hot CTR field), or
  (COTREC) a session without a known item;
* ``recommend``: an unknown ``user_id`` (COTREC: a session without a known item).

**Signatures** (``B`` rows; ``L`` any history / session length):

* NCF (GMF, MLP, NeuMF) and MB-GMN: ``score(user_id [B], item_id [B])``,
  ``recommend(user_id [B], k [] int32)``;
* AttRec: ``score(user_id [B], history [B, L], item_id [B])``, ``recommend(user_id [B],
  history [B, L], k)``; the history is the user's latest items, oldest first, any length up to
  ``maxlen`` (left-padded inside the export as AttRec's training histories; more than
  ``maxlen`` known items is an error naming ``maxlen``);
* COTREC: ``score(session_items [B, L], item_id [B])``, ``recommend(session_items [B, L], k)``;
  clicks oldest first, the pad anywhere;
* CTR models: ``score(<one argument per field>)`` (single-hot ``[B]``, multi-hot ``[B, M]``
  padded with the pad value) and ``recommend(user_id [B], k)`` -- the latter only when every
  field besides ``user_id`` and ``item_id`` is an attribute of the user or of the item
  (``Catalogue.attributes``: a candidate item's genres, the user's gender); with a context
  field (one that is neither) ``recommend`` is not exported and ``tfrec_export.json`` says why.

Outputs, the same names in every family: ``score -> {"score": float32 [B], "known": bool [B]}``
and ``recommend -> {"item_ids": [B, k] raw ids, "scores": float32 [B, k], "known": bool [B]}``.
What "score" means (a probability for NCF and CTR models, a ranking score for the others) is in
``tfrec_export.json``. ``recommend`` ranks every item of the catalogue; ``k`` larger than the
catalogue is clipped to it. By default it leaves out each user's training items
(``Catalogue.seen``: their score is ``-inf`` before the top-``k``, so they are never returned
while enough unseen items exist); ``include_seen=True`` keeps them. COTREC has no users and
an export without a catalogue no seen items: nothing is left out there.

``tfrec_export.json`` beside the SavedModel records the model, each input's id dtype and pad
value, ``item_offset``, ``include_seen``, the meaning of "score", the unknown-id rule and the
signatures. The folder is written under a temporary name next to ``OUT_DIR`` and renamed into
place, so an interrupted export never leaves a half-written SavedModel.

**Raw features** (a CTR model trained on a click log: the catalogue carries the log's fitted
preprocessing, :class:`~tfrec.data.types.ClickLogData` / ``Catalogue.preprocessing``). The
SavedModel takes the columns as they are logged, one keyword argument per feature column of the
log's ``ClickSchema`` (``feature_columns`` order: numeric, categorical, multi-hot): categorical
and multi-hot columns ``tf.string [B]`` (``""`` missing; a multi-hot value ``"a|b"``), numeric
columns ``float32 [B]`` (NaN missing). The vocabularies and transforms live in the graph
(:class:`RawFeatures`, Keras ``StringLookup`` layers) and equal
``ClickPreprocessing.transform``: categorical values stripped and looked up (a value not kept by
the fit -- unseen or rarer than ``min_count`` -- gets the out-of-vocabulary id 0); numeric values
``log`` (``sign(x) * log1p(|x|)``) or ``none``, missing -> 0, or ``bucket`` (the token
``floor(log(x)^2)`` for ``x > 2``, ``floor(x)`` otherwise, ``""`` when missing, looked up);
multi-hot values split on the schema's separator, parts stripped, empty parts dropped, each
looked up, right-padded with ``-1`` to the log's widest row (longer rows cut). An infinite
number, which the log itself refuses, counts as missing.

```python
served = tf.saved_model.load("export/deepfm-criteo")
out = served.score(I1=[3.0, float("nan")], ..., C1=["68fd1e64", ""], ..., C26=["", "zzz"])
out["score"], out["known"]                              # click probabilities float32 [2], bool [2] (all true)
```

A column whose name is not a Python identifier is the argument with every other character
``_`` (``app-id`` -> ``app_id``); the TF Serving signature's input keys are TF's lowercase
names (``I1`` -> ``i1``). ``tfrec_export.json`` gives both for each column (``argument``,
``signature_name``); two columns that would share one are refused.

Every row is scored: an unseen value is the out-of-vocabulary id, so ``known`` is always true.
There is no ``recommend``: a click log has no user and item catalogue to rank (the reason is in
``tfrec_export.json``, which lists each input's name, dtype, kind, transform, ``min_count`` and
vocabulary size).
"""

from __future__ import annotations

import inspect
import json
import keyword
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.data.catalogue import Catalogue, has_pad, pad_value
from tfrec.errors import UserError
from tfrec.models.base import Recommender, ServingFunctions  # noqa: F401  (ServingFunctions: the models' serving contract)

METADATA = "tfrec_export.json"
ITEM_INPUTS = ("item_id", "history", "session_items")  # inputs whose ids are items
UNKNOWN_RULE = (
    "an id the catalogue does not know (or the pad value) never raises: known is false for that row and its "
    "score NaN (recommend: scores NaN and item_ids the pad value). score: any unknown single id (user_id, "
    "item_id, a single-hot field) makes the row unknown; in history, session_items and multi-hot fields unknown "
    "ids count as padding; a session without a known item is unknown. recommend: an unknown user_id (or a "
    "session without a known item) makes the row unknown."
)


def export_saved_model(
    model: keras.Model,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    metadata: dict | None = None,
    catalogue=None,
    include_seen: bool = False,
) -> Path:
    """Export ``model`` as a TensorFlow SavedModel with ``score`` and ``recommend`` signatures
    in the user's own ids (see the module docstring for the inputs and outputs), or -- a CTR
    model of a click log -- a ``score`` of the raw columns with the preprocessing inside
    (module docstring, "Raw features": unseen values get the out-of-vocabulary id, so
    ``known`` is always true; no ``recommend``).

    Args:
        model: a trained tfrec model (a :class:`tfrec.models.base.Recommender`: its
            ``serving_endpoints()`` and ``serving_scope()``).
        out_dir: destination folder; must not exist unless ``overwrite``.
        overwrite: replace an existing export.
        metadata: extra facts stored in ``tfrec_export.json`` beside the SavedModel.
        catalogue: a :class:`~tfrec.data.catalogue.Catalogue` (a run's ``catalogue.npz``), the
            task data the model was trained on (its catalogue is taken), or ``None``: raw ids
            are then the internal ids and ``recommend`` cannot leave seen items out. A
            catalogue with a ``preprocessing`` (that of a ``ClickLogData``) makes a raw-feature
            export.
        include_seen: ``recommend`` may return items the user has in the training data
            (ignored by a raw-feature export, which has no ``recommend``).

    Returns:
        ``out_dir`` as a Path.

    Raises:
        UserError: ``out_dir`` exists, the model has no serving signature, or the catalogue
            does not match the model's users, items or fields (a preprocessing: the model is
            not a CTR model, or its fields are not the preprocessing's columns).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise UserError(f"{out_dir} already exists; choose another folder or pass --overwrite")
    if catalogue is not None and not isinstance(catalogue, Catalogue) and getattr(catalogue, "preprocessing", None) is not None:
        catalogue = Catalogue.from_data(catalogue)  # ClickLogData
    if isinstance(catalogue, Catalogue) and catalogue.preprocessing is not None:
        return _export_raw_features(model, catalogue.preprocessing, out_dir, metadata)
    functions = _serving_functions(model)
    source = "identity: no catalogue was given, raw ids are the model's internal ids" if catalogue is None else (
        "the catalogue of the data the model was trained on")
    catalogue = _catalogue_for(model, functions, catalogue)
    # models that cache derived tensors for speed (MB-GMN's CSR graph) trace from their variables
    with model.serving_scope():
        ids = RawIds(catalogue, functions, name="raw_ids")
        endpoints, info = _raw_id_endpoints(functions, ids, catalogue, include_seen)
        return _write_archive(model, ids, endpoints, out_dir, {"raw_ids": source, **info, **(metadata or {})})


# --------------------------------------------------------------------------------------------
def _serving_functions(model) -> ServingFunctions:
    if not isinstance(model, Recommender):
        raise UserError(f"model {type(model).__name__} is not a tfrec model: it has no serving signature to export")
    try:
        functions = model.serving_endpoints()
    except NotImplementedError:
        raise UserError(f"model {type(model).__name__} has no serving signature to export") from None
    if not isinstance(functions, ServingFunctions):
        raise TypeError(f"{type(model).__name__}.serving_endpoints() must return tfrec.export.ServingFunctions")
    return functions


def _vocabulary_name(input_name: str) -> str:
    """Which of the catalogue's id lists an input's ids come from."""
    return "item_id" if input_name in ITEM_INPUTS else input_name


def _catalogue_for(model, functions: ServingFunctions, catalogue) -> Catalogue:
    """The given catalogue (or task data's), checked against the model; or the identity one."""
    names = functions.input_names
    numeric = [f["name"] for f in model.field_specs if f.get("numeric")]
    if numeric:
        raise UserError(
            f"fields {numeric} are numeric: a model with numeric fields is exported with the preprocessing of the click "
            "log it was trained on (the run's catalogue.npz, or catalogue=the ClickLogData), which takes raw columns"
        )
    field_sizes = {f["name"]: int(f["vocab_size"]) for f in model.field_specs}
    num_items = model.num_items
    if num_items is None:
        num_items = field_sizes.get("item_id", 0)
    if catalogue is None:
        catalogue = Catalogue.identity(
            int(model.num_users) if "user_id" in names else None,
            int(num_items),
            functions.item_offset,
            {n: field_sizes[n] for n in names if n not in ("user_id", *ITEM_INPUTS)},
        )
    elif not isinstance(catalogue, Catalogue):
        catalogue = Catalogue.from_data(catalogue)
    problems = []
    if catalogue.item_offset != functions.item_offset:
        problems.append(f"its items start at internal id {catalogue.item_offset}, the model's at {functions.item_offset}")
    if catalogue.num_items != int(num_items):
        problems.append(f"it has {catalogue.num_items} items, the model {int(num_items)}")
    if "user_id" in names:
        num_users = model.num_users
        if catalogue.users is None:
            problems.append("it has no users and the model takes user_id")
        elif num_users is not None and catalogue.num_users != int(num_users):
            problems.append(f"it has {catalogue.num_users} users, the model {int(num_users)}")
    for name in names:
        if name in ("user_id", *ITEM_INPUTS):
            continue
        if name not in catalogue.fields:
            problems.append(f"it has no values of field {name!r}")
        elif name in field_sizes and catalogue.fields[name].size != field_sizes[name]:
            problems.append(f"field {name!r} has {catalogue.fields[name].size} values, the model {field_sizes[name]}")
    if problems:
        raise UserError("the catalogue does not match the model: " + "; ".join(problems) + " (was it trained on this data?)")
    for name in sorted({_vocabulary_name(n) for n in names} | {"item_id"}):
        ids = catalogue.vocabulary(name)
        if has_pad(ids):
            raise UserError(
                f"{name}: {pad_value(ids)!r} is one of the data's ids, but an export uses it as the pad value (in "
                "histories, sessions and multi-hot fields, and for a recommend row without an answer); give that "
                "value another id in the data"
            )
    return catalogue


class RawIds(keras.layers.Layer):
    """The export's id translation: raw ids -> internal ids and back, seen items, attributes.

    One ``IntegerLookup`` / ``StringLookup`` per id list the signatures use (``user_id``,
    ``item_id``, CTR fields), with one out-of-vocabulary index (0) whose token is the pad value,
    the inverse lookup of the items, the ``seen`` CSR matrix (``[U + 1]`` row splits and
    ``[nnz]`` columns) and the CTR attribute tables, as non-trainable weights. Built once, in
    ``__init__``, eagerly.
    """

    def __init__(self, catalogue: Catalogue, functions: ServingFunctions, **kwargs):
        super().__init__(**kwargs)
        self.item_offset = catalogue.item_offset
        self.dtypes_of = {}
        self.lookups = {}
        vocabularies = {_vocabulary_name(n) for n in functions.input_names}
        if functions.score_all is not None:
            vocabularies.update(_vocabulary_name(s.name) for s in functions.score_all.input_signature)
        vocabularies.add("item_id")  # recommend's outputs
        for name in sorted(vocabularies):
            if name == "item_id" and catalogue.num_items == 0:
                continue
            ids = catalogue.vocabulary(name)
            self.lookups[name] = _lookup_layer(ids, name=f"lookup_{name}")
            self.dtypes_of[name] = tf.string if ids.dtype.kind == "U" else tf.int64
        self.items_to_raw = (
            _lookup_layer(catalogue.items, invert=True, name="item_id_to_raw") if catalogue.num_items else None
        )
        self.has_seen = catalogue.seen is not None
        if self.has_seen:
            seen = catalogue.seen
            self.seen_splits = self._constant("seen_row_splits", seen.indptr.astype(np.int64))
            self.seen_items = self._constant("seen_items", seen.indices.astype(np.int32))
        self.attribute_owner = {}
        self.attribute_tables = {}
        for name, (owner, table) in catalogue.attributes.items():
            self.attribute_owner[name] = owner
            self.attribute_tables[name] = self._constant(f"attribute_{name}", table.astype(np.int32))
        self.built = True

    def _constant(self, name: str, value: np.ndarray):
        weight = self.add_weight(name=name, shape=value.shape, dtype=str(value.dtype), initializer="zeros", trainable=False)
        weight.assign(value)
        return weight

    def to_internal(self, name: str, raw: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``(internal int32 ids, known bool)`` of input ``name``'s raw ids (any shape);
        unknown ids become the model's padding ``offset - 1`` (``-1`` or item ``0``)."""
        vocabulary = _vocabulary_name(name)
        if raw.dtype.is_integer:
            raw = tf.cast(raw, tf.int64)
        index = self.lookups[vocabulary](raw)  # 0: out of vocabulary, i + 1: the vocabulary's i
        offset = self.item_offset if vocabulary == "item_id" else 0
        return tf.cast(index, tf.int32) - 1 + offset, index > 0

    def raw_items(self, columns: tf.Tensor, known: tf.Tensor) -> tf.Tensor:
        """Raw ids of catalogue columns ``[B, k]`` (item ``item_offset + column``); the pad value
        in rows that are not ``known`` ``[B]``."""
        index = tf.where(known[:, None], tf.cast(columns, tf.int64) + 1, tf.zeros_like(columns, tf.int64))
        return self.items_to_raw(index)

    def without_seen(self, scores: tf.Tensor, users: tf.Tensor) -> tf.Tensor:
        """``scores`` ``[B, N]`` with ``-inf`` at each user's (``[B]`` internal ids) seen items."""
        rows = tf.gather(tf.RaggedTensor.from_row_splits(self.seen_items.value, self.seen_splits.value, validate=False), users)
        coordinates = tf.stack([tf.cast(rows.value_rowids(), tf.int32), rows.flat_values], axis=1)
        fill = tf.fill(tf.shape(rows.flat_values), tf.constant(-np.inf, scores.dtype))
        return tf.tensor_scatter_nd_update(scores, coordinates, fill)

    def attribute(self, name: str, owners: tf.Tensor) -> tf.Tensor:
        """Internal ids of CTR attribute ``name`` for internal ``owners`` (users or items)."""
        return tf.gather(self.attribute_tables[name].value, owners)


def _lookup_layer(ids: np.ndarray, invert: bool = False, name: str | None = None):
    """A Keras lookup layer: raw ``ids`` -> ``1..n`` (0 for anything else), or the inverse."""
    kind = keras.layers.StringLookup if ids.dtype.kind == "U" else keras.layers.IntegerLookup
    return kind(vocabulary=ids, num_oov_indices=1, mask_token=None, oov_token=pad_value(ids), invert=invert, name=name)


# --------------------------------------------------------------------------------------------
def _named(fn: Callable, names: list[str]) -> Callable:
    """``fn(*tensors)`` with a signature naming its parameters, so the loaded function also
    takes keyword arguments (``score(user_id=..., item_id=...)``)."""
    fn.__signature__ = inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])
    return fn


def _nan_where_unknown(values: tf.Tensor, known: tf.Tensor) -> tf.Tensor:
    values = tf.cast(values, tf.float32)
    mask = tf.reshape(known, tf.concat([tf.shape(known), tf.ones([tf.rank(values) - 1], tf.int32)], axis=0))
    return tf.where(mask, values, tf.constant(np.nan, tf.float32))


def _translate(ids: RawIds, names: list[str], ranks: list[int], raw: tuple, needs_items: tuple):
    """Internal ids of each input (unknown single ids replaced by a valid 0) and ``known [B]``."""
    internal, known = [], None
    for name, rank, tensor in zip(names, ranks, raw):
        values, found = ids.to_internal(name, tensor)
        if rank == 1:
            values = tf.maximum(values, 0)
            row_known = found
        elif name in needs_items:
            row_known = tf.reduce_any(found, axis=1)
        else:
            row_known = None
        if row_known is not None:
            known = row_known if known is None else tf.logical_and(known, row_known)
        internal.append(values)
    if known is None:
        known = tf.ones(tf.shape(raw[0])[:1], tf.bool)
    return internal, known


def _score_all_from_score(functions: ServingFunctions, ids: RawIds, catalogue: Catalogue):
    """``(score_all, its input specs, None)`` built from ``score`` over every item (user-item
    and CTR models: ``score_all(user_id)``), or ``(None, [], why not)``."""
    specs = list(functions.score.input_signature)
    names = [s.name for s in specs]
    if "user_id" not in names or "item_id" not in names:
        return None, [], "recommend needs a user_id and an item_id input"
    others = [n for n in names if n not in ("user_id", "item_id")]
    context = [n for n in others if n not in catalogue.attributes]
    if context:
        return None, [], (
            f"fields {context} are neither a user nor an item attribute (context fields), so recommend cannot "
            "fill them in for a candidate item; score takes every field"
        )
    num_items, offset = catalogue.num_items, functions.item_offset

    def score_all(user_id):
        batch = tf.shape(user_id)[0]
        items = tf.range(offset, offset + num_items, dtype=tf.int32)
        inputs = {"user_id": tf.repeat(user_id, num_items), "item_id": tf.tile(items, [batch])}
        for name in others:  # each other field from the user's or the candidate item's attribute table
            if ids.attribute_owner[name] == "user":
                inputs[name] = tf.repeat(ids.attribute(name, user_id), num_items, axis=0)
            else:
                table = ids.attribute(name, items)
                inputs[name] = tf.tile(table, tf.concat([[batch], tf.ones([tf.rank(table) - 1], tf.int32)], axis=0))
        scores = functions.score(*[inputs[n] for n in names])
        return tf.reshape(scores, [batch, num_items])

    return score_all, [specs[names.index("user_id")]], None


def _raw_id_endpoints(functions: ServingFunctions, ids: RawIds, catalogue: Catalogue, include_seen: bool):
    """``({"score": tf.function, "recommend": tf.function}, facts for tfrec_export.json)``,
    each function traced for the catalogue's dtypes (and int32 for integer ids)."""
    score_specs = list(functions.score.input_signature)
    names, ranks = [s.name for s in score_specs], [s.shape.rank for s in score_specs]

    def score(*raw):
        internal, known = _translate(ids, names, ranks, raw, functions.needs_items)
        return {"score": _nan_where_unknown(functions.score(*internal), known), "known": known}

    traced = {"score": _trace(_named(score, names), score_specs, ids)}
    info = {"recommend": None, "seen_items_excluded": False}
    if functions.score_all is not None:
        score_all, context_specs = functions.score_all, list(functions.score_all.input_signature)
    else:
        score_all, context_specs, why_not = _score_all_from_score(functions, ids, catalogue)
        if score_all is None:
            info["recommend"] = f"not exported: {why_not}"
    if score_all is not None and catalogue.num_items:
        context, context_ranks = [s.name for s in context_specs], [s.shape.rank for s in context_specs]
        exclude_seen = ids.has_seen and not include_seen and "user_id" in context

        def recommend(*args):
            *raw, k = args
            internal, known = _translate(ids, context, context_ranks, raw, functions.needs_items)
            scores = tf.cast(score_all(*internal), tf.float32)
            if exclude_seen:
                scores = ids.without_seen(scores, internal[context.index("user_id")])
            top = tf.math.top_k(scores, k=tf.minimum(k, catalogue.num_items))
            return {"item_ids": ids.raw_items(top.indices, known), "scores": _nan_where_unknown(top.values, known),
                    "known": known}

        traced["recommend"] = _trace(
            _named(recommend, [*context, "k"]), [*context_specs, tf.TensorSpec([], tf.int32, name="k")], ids
        )
        if exclude_seen:
            seen_rule = "without the user's training items (include_seen=false)"
        elif include_seen:
            seen_rule = "training items included (include_seen=true)"
        elif "user_id" not in context:
            seen_rule = "nothing left out (no users)"
        else:
            seen_rule = "nothing left out (the catalogue has no seen items: exported without the training data)"
        info.update(recommend=f"the top k items of the whole catalogue by score, {seen_rule}", seen_items_excluded=exclude_seen)
    info.update(
        score_meaning=functions.score_meaning,
        item_offset=catalogue.item_offset,
        include_seen=bool(include_seen),
        unknown_ids=UNKNOWN_RULE,
        ids={
            name: {"dtype": ids.dtypes_of[name].name, "pad": pad_value(catalogue.vocabulary(name)),
                   "count": int(catalogue.vocabulary(name).size)}
            for name in sorted(ids.dtypes_of)
        },
        signatures={name: _describe(main) for name, (_, main) in traced.items()},
    )
    return {name: function for name, (function, _) in traced.items()}, info


def _raw_spec(spec: tf.TensorSpec, ids: RawIds, integers) -> tf.TensorSpec:
    """The raw-id spec of an internal int32 spec: the vocabulary's dtype, any list length."""
    if spec.name == "k":
        return spec
    dtype = ids.dtypes_of[_vocabulary_name(spec.name)]
    shape = [None] * spec.shape.rank
    return tf.TensorSpec(shape, integers if dtype == tf.int64 else dtype, name=spec.name)


def _trace(fn: Callable, specs: list, ids: RawIds):
    """``(tf.function(fn), its main concrete function)``: traced for the raw dtypes first (the
    trace TF Serving's signature gets) and, when any input is an integer id, once more with
    int32 integer ids (for Python callers' ``tf.constant([1, 2])``)."""
    function = tf.function(fn, autograph=False)
    raw = [_raw_spec(s, ids, tf.int64) for s in specs]
    main = function.get_concrete_function(*raw)
    if any(s.dtype == tf.int64 for s in raw):
        function.get_concrete_function(*[_raw_spec(s, ids, tf.int32) for s in specs])
    return function, main


def _describe(concrete) -> dict:
    inputs = concrete.structured_input_signature[0]
    outputs = concrete.structured_outputs
    spec = lambda s: {"dtype": s.dtype.name, "shape": [None if d is None else int(d) for d in s.shape]}  # noqa: E731
    return {
        "inputs": {s.name: spec(s) for s in inputs},
        "outputs": {name: {"dtype": t.dtype.name, "shape": [None if d is None else int(d) for d in t.shape]}
                    for name, t in outputs.items()},
    }


def _write_archive(model, ids: keras.layers.Layer, endpoints: dict, out_dir: Path, info: dict) -> Path:
    """Write the SavedModel (``model`` and the translation layer ``ids`` -- :class:`RawIds` or
    :class:`RawFeatures` -- tracked) and ``tfrec_export.json`` atomically into ``out_dir``."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(ids)
    for name, fn in endpoints.items():
        archive.add_endpoint(name, fn)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        # serving needs no gradients: custom gradients (tfrec.layers.sparse's CSR products) stay out
        archive.write_out(str(tmp), options=tf.saved_model.SaveOptions(experimental_custom_gradients=False), verbose=False)
        info = {
            "model": type(model).__name__,
            "num_users": None if model.num_users is None else int(model.num_users),
            "num_items": None if model.num_items is None else int(model.num_items),
            # CTR models: every field is an argument of score (tfrec.models.ctr.CTRModel)
            **({"fields": [dict(f) for f in model.field_specs]} if model.field_specs else {}),
            **info,
        }
        (tmp / METADATA).write_text(json.dumps(info, indent=2) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


# --------------------------------------------------------------------------------------------
# Raw features: a click log's preprocessing inside the SavedModel
# --------------------------------------------------------------------------------------------
RAW_FEATURES_UNKNOWN_RULE = (
    "every row is scored and known is always true: a categorical, bucketised or multi-hot value the "
    "preprocessing did not keep (never seen in training, or seen fewer than min_count times) gets the "
    "out-of-vocabulary id 0, a missing value is the empty string (looked up like any other value) or a NaN "
    "number (0 after log / none; the empty token for bucket); an infinite number counts as missing"
)
RAW_SCORE_MEANING = "click probability (the sigmoid of the model's logit)"
NO_RECOMMEND_RAW = (
    "not exported: a click log has no user and item catalogue to rank; score takes every column of the log"
)
_TRANSFORMS = {
    "categorical": "strip, then look up: a value kept by the fit has its id, anything else the out-of-vocabulary id 0",
    "log": "sign(x) * log1p(|x|); missing (NaN) -> 0",
    "none": "x; missing (NaN) -> 0",
    "bucket": ("the token str(floor(log(x)^2)) for x > 2, str(floor(x)) otherwise, '' when missing (NaN); then "
               "looked up (out-of-vocabulary id 0)"),
    "multi_hot": ("split on {sep!r}, parts stripped, empty parts dropped, each looked up (out-of-vocabulary id 0), "
                  "right-padded with -1 to width {width} (longer rows cut)"),
}


def _raw_columns(preprocessing: dict) -> list[dict]:
    """One description per raw input, in ``ClickSchema.feature_columns`` order: ``name``,
    ``dtype``, ``kind`` (the input's: ``categorical`` / ``multi_hot`` / ``numeric``),
    ``transform`` (``categorical``, ``multi_hot``, ``log``, ``none`` or ``bucket``), and for
    looked-up columns the ``vocabulary`` and, multi-hot, the ``width``."""
    try:
        schema = preprocessing["schema"]
        numeric_transform = preprocessing["numeric_transform"]
        int(preprocessing["min_count"])
        vocabularies, widths = preprocessing["vocabularies"], preprocessing.get("widths", {})
        numeric, categorical, multi_hot = list(schema.get("numeric", ())), list(schema.get("categorical", ())), list(
            schema.get("multi_hot", ()))
        separator = schema.get("multi_hot_separator", "|")
        out = []
        for name in numeric:
            if numeric_transform == "bucket":
                out.append({"name": name, "dtype": "float32", "kind": "numeric", "transform": "bucket",
                            "vocabulary": [str(v) for v in vocabularies[name]]})
            elif numeric_transform in ("log", "none"):
                out.append({"name": name, "dtype": "float32", "kind": "numeric", "transform": numeric_transform})
            else:
                raise ValueError(f"unknown numeric_transform {numeric_transform!r}")
        for name in categorical:
            out.append({"name": name, "dtype": "string", "kind": "categorical", "transform": "categorical",
                        "vocabulary": [str(v) for v in vocabularies[name]]})
        for name in multi_hot:
            out.append({"name": name, "dtype": "string", "kind": "multi_hot", "transform": "multi_hot",
                        "vocabulary": [str(v) for v in vocabularies[name]], "width": max(1, int(widths[name])),
                        "separator": str(separator)})
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise UserError(f"the catalogue's preprocessing is not a click-log preprocessing (ClickPreprocessing.as_dict()): "
                        f"{type(error).__name__} {error}") from None
    for column in out:
        column["argument"] = _argument_name(column["name"])
    return out


def _argument_name(column: str) -> str:
    """The keyword argument of ``score`` for a column: its name when that is a Python identifier
    (not a keyword), else the name with every other character ``_`` (``x_`` before a leading
    digit, ``_`` after a keyword): ``"app-id"`` -> ``app_id``."""
    name = re.sub(r"\W", "_", column)
    if not (name[:1].isalpha() or name[:1] == "_"):
        name = "x_" + name
    return name + "_" if keyword.iskeyword(name) else name


class RawFeatures(keras.layers.Layer):
    """A click log's fitted preprocessing as a Keras layer: raw columns -> the CTR model's
    features, equal to ``tfrec.data.clicklog.ClickPreprocessing.transform``.

    Input shape:
        ``{column: [B]}``: ``tf.string`` for categorical and multi-hot columns (``""``
        missing), float32 for numeric columns (NaN missing).

    Output shape:
        ``{column: ids [B] int32 | [B, M] int32 padded with -1 | values [B] float32}``.

    Each looked-up column (categorical, multi-hot, ``bucket`` numeric) has a ``StringLookup``
    (its vocabulary: value ``i`` has id ``i + 1``; one out-of-vocabulary index, 0, whose token is
    chosen outside the vocabulary, so ``""`` may be a token); a column whose vocabulary is empty
    maps everything to 0. ``log`` / ``none`` / ``bucket`` compute in float64 like the NumPy
    reference. Built eagerly in ``__init__``.

    Args:
        preprocessing: ``ClickPreprocessing.as_dict()`` (``Catalogue.preprocessing``).
    """

    def __init__(self, preprocessing: dict, **kwargs):
        kwargs.setdefault("dtype", "float32")  # never autocast the numeric inputs (mixed precision)
        super().__init__(**kwargs)
        columns = _raw_columns(preprocessing)
        # plain JSON text: Keras / TF tracking would wrap (and walk) the nested vocabulary lists
        self._preprocessing_json = json.dumps(preprocessing)
        self._columns_json = json.dumps([{k: v for k, v in c.items() if k != "vocabulary"} for c in columns])
        self.lookups = {}
        for column in columns:
            vocabulary = column.get("vocabulary")
            if vocabulary:
                oov = "[UNK]"
                while oov in vocabulary:  # Keras drops a leading vocabulary token equal to the OOV token
                    oov += "#"
                self.lookups[column["name"]] = keras.layers.StringLookup(
                    vocabulary=vocabulary, num_oov_indices=1, mask_token=None, oov_token=oov,
                    name=f"lookup_{column['name']}")
        self.built = True

    @property
    def columns(self) -> list[dict]:
        """The inputs, in ``feature_columns`` order (as :func:`_raw_columns`, no vocabularies)."""
        return json.loads(self._columns_json)

    def _look_up(self, name: str, tokens: tf.Tensor) -> tf.Tensor:
        if name not in self.lookups:
            return tf.zeros(tf.shape(tokens), tf.int32)
        return tf.cast(self.lookups[name](tokens), tf.int32)

    def call(self, inputs):
        out = {}
        for column in self.columns:
            name, transform = column["name"], column["transform"]
            x = inputs[name]
            if column["kind"] == "numeric":
                x = tf.cast(x, tf.float64)
                missing = tf.logical_not(tf.math.is_finite(x))
                x = tf.where(missing, tf.zeros_like(x), x)
                if transform == "log":
                    out[name] = tf.cast(tf.sign(x) * tf.math.log1p(tf.abs(x)), tf.float32)
                elif transform == "none":
                    out[name] = tf.cast(x, tf.float32)
                else:  # bucket
                    big = x > 2
                    bucket = tf.where(big, tf.floor(tf.square(tf.math.log(tf.where(big, x, tf.ones_like(x) * 3)))),
                                      tf.floor(x))
                    tokens = tf.where(missing, tf.constant("", tf.string), tf.strings.as_string(tf.cast(bucket, tf.int64)))
                    out[name] = self._look_up(name, tokens)
            elif column["kind"] == "categorical":
                out[name] = self._look_up(name, tf.strings.strip(x))
            else:  # multi-hot
                parts = tf.strings.strip(tf.strings.split(x, column["separator"]))
                parts = tf.ragged.boolean_mask(parts, tf.not_equal(parts, ""))
                ids = parts.with_flat_values(self._look_up(name, parts.flat_values))
                out[name] = ids.to_tensor(default_value=-1, shape=[None, column["width"]])
        return out

    def get_config(self):
        return {**super().get_config(), "preprocessing": json.loads(self._preprocessing_json)}


def _check_unique(keys: list[str], columns: list[str]) -> None:
    """A UserError when two columns would get the same input name of the SavedModel."""
    first = {}
    for key, column in zip(keys, columns):
        if key in first:
            raise UserError(f"columns {first[key]!r} and {column!r} would share the SavedModel input {key!r} (input "
                            "names are lowercase, other characters than letters, digits and _ become _); rename one")
        first[key] = column


def _check_raw_fields(model, columns: list[dict]) -> None:
    """A UserError naming the first field where the model and the preprocessing disagree."""
    from tfrec.models.ctr import CTRModel

    if not isinstance(model, CTRModel):
        raise UserError(f"the catalogue holds a click log's preprocessing, which only a CTR model can serve; got "
                        f"{type(model).__name__}")
    expected = {}
    for column in columns:
        name = column["name"]
        if column["transform"] in ("log", "none"):
            expected[name] = ("numeric", 1)
        else:
            size = len(column["vocabulary"]) + 1
            expected[name] = ("multi-hot" if column["kind"] == "multi_hot" else "categorical", size)
    problems = []
    for spec in model.field_specs:
        name = spec["name"]
        kind = "numeric" if spec.get("numeric") else "multi-hot" if spec["multi_hot"] else "categorical"
        if name not in expected:
            problems.append(f"the model's field {name!r} is not a column of the preprocessing")
        elif expected[name][0] != kind:
            problems.append(f"field {name!r} is {expected[name][0]} in the preprocessing, {kind} in the model")
        elif expected[name][1] != int(spec["vocab_size"]):
            problems.append(f"field {name!r} has {expected[name][1]} ids in the preprocessing, the model "
                            f"{int(spec['vocab_size'])}")
    fields = set(model.field_names)
    problems += [f"column {n!r} of the preprocessing is not a field of the model" for n in expected if n not in fields]
    if problems:
        raise UserError("the catalogue's preprocessing does not match the model: " + "; ".join(problems)
                        + " (was it trained on this click log?)")


def _export_raw_features(model, preprocessing: dict, out_dir: Path, metadata) -> Path:
    """The raw-feature SavedModel: ``score(<raw columns>) -> {"score", "known"}``. The model is
    called on the features by name (a CTR model's ``call``: click probabilities), so any column
    name works, also one that is not a Python identifier."""
    _check_raw_fields(model, _raw_columns(preprocessing))
    with model.serving_scope():
        layer = RawFeatures(preprocessing, name="raw_features")
        columns = layer.columns
        names, arguments = [c["name"] for c in columns], [c["argument"] for c in columns]
        _check_unique([a.lower() for a in arguments], names)  # TF's signature keys are lowercase
        fields = model.field_names

        def score(*raw):
            features = layer(dict(zip(names, raw)))
            probabilities = tf.cast(model({n: features[n] for n in fields}, training=False), tf.float32)
            return {"score": probabilities, "known": tf.ones(tf.shape(probabilities), tf.bool)}

        specs = [tf.TensorSpec([None], tf.string if c["dtype"] == "string" else tf.float32, name=c["argument"])
                 for c in columns]
        function = tf.function(_named(score, arguments), autograph=False)
        main = function.get_concrete_function(*specs)
        described = _describe(main)
        signature_names = list(described["inputs"])  # as TF names them: lowercase, positional order
        _check_unique(signature_names, names)
        min_count = int(preprocessing["min_count"])
        inputs = []
        for column, signature_name in zip(columns, signature_names):
            looked_up = column["transform"] not in ("log", "none")
            transform = _TRANSFORMS[column["transform"]]
            if column["kind"] == "multi_hot":
                transform = transform.format(sep=column["separator"], width=column["width"])
            entry = {"name": column["name"], "argument": column["argument"], "signature_name": signature_name,
                     "dtype": column["dtype"], "kind": column["kind"],
                     "transform": column["transform"], "rule": transform,
                     "min_count": min_count if looked_up else None,
                     "vocabulary_size": len(preprocessing["vocabularies"][column["name"]]) if looked_up else None}
            if column["kind"] == "multi_hot":
                entry.update(width=column["width"], separator=column["separator"])
            inputs.append(entry)
        info = {
            "raw_features": "the click log's fitted preprocessing (vocabularies and transforms) is inside the graph; "
                            "score takes the raw columns",
            "recommend": NO_RECOMMEND_RAW,
            "score_meaning": RAW_SCORE_MEANING,
            "unknown_values": RAW_FEATURES_UNKNOWN_RULE,
            "numeric_transform": preprocessing["numeric_transform"],
            "schema": preprocessing["schema"],
            "inputs": inputs,
            "signatures": {"score": described},
            **(metadata or {}),
        }
        return _write_archive(model, layer, {"score": function}, out_dir, info)
