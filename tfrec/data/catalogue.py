"""The user's own ids of a model's internal indices, and what each user has already seen.

Loaders number users and items from 0 (items from 1 where 0 pads: AttRec, COTREC); a
:class:`Catalogue` keeps the way back, so that a run directory (``catalogue.npz``) and an
exported SavedModel (:func:`tfrec.export.export_saved_model`) take and return the ids of the
user's data, ints or strings, as they came. NumPy / SciPy only: building one never imports
TensorFlow.

```python
from tfrec.data.catalogue import Catalogue
cat = Catalogue.from_data(data)          # any task data; synthetic data: raw ids = internal ids
cat.save("runs/neumf/catalogue.npz")     # one .npz, written atomically, no pickles
cat = Catalogue.load("runs/neumf/catalogue.npz")
cat.item_index([193609, 5])              # -> internal item ids, -1 for an id it does not know
```

A preprocessed click log (:class:`~tfrec.data.types.ClickLogData`) has no ids to translate: its
catalogue holds no users, items or fields but the log's fitted preprocessing
(``ClickPreprocessing.as_dict()``), from which an export builds a SavedModel that takes the raw
columns (:mod:`tfrec.export`, "Raw features").

Ids are int64 or NumPy unicode (``U``) arrays. The value ``-1`` (integer ids) or ``""`` (string
ids) is the **pad value** of an export: it pads histories, sessions and multi-hot fields in its
inputs and marks an unknown item in its outputs, so an export refuses a catalogue that has it as
an id (:func:`has_pad`); the catalogue itself stores any ids.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from tfrec.errors import UserError

FORMAT_VERSION = 1
OWNERS = ("user", "item")


def as_ids(values, what: str = "ids") -> np.ndarray:
    """``values`` as a 1-D int64 or NumPy unicode (``U``) array.

    Integers (any width), integral floats and bools become int64; ``str`` / ``bytes`` (also in
    object arrays, as pandas gives them) become ``U``. Anything else (fractional floats, a mix
    of numbers and strings) raises ``TypeError``.
    """
    array = np.asarray(values)
    if array.ndim != 1:
        array = array.reshape(-1)
    if array.dtype.kind in "iub":
        return array.astype(np.int64)
    if array.dtype.kind == "U":
        return array
    if array.dtype.kind == "S":
        return np.char.decode(array, "utf-8")
    if array.dtype.kind == "f":
        if array.size and not np.all(np.isfinite(array) & (array == np.round(array))):
            raise TypeError(f"{what}: float ids must be whole numbers")
        return array.astype(np.int64)
    if array.dtype.kind == "O":
        if all(isinstance(v, str) for v in array):
            return array.astype(str) if array.size else np.zeros(0, dtype="U1")
        if all(isinstance(v, bytes) for v in array):
            return np.char.decode(array.astype(bytes), "utf-8")
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in array):
            return array.astype(np.int64)
    raise TypeError(f"{what}: ids must be all integers or all strings; got dtype {array.dtype}")


def pad_value(ids: np.ndarray):
    """The pad value of an id array: ``-1`` for integer ids, ``""`` for string ids."""
    return "" if ids.dtype.kind == "U" else -1


def has_pad(ids: np.ndarray) -> bool:
    """Whether the pad value (:func:`pad_value`) is one of ``ids``."""
    return bool(ids.size) and bool(np.any(ids == pad_value(ids)))


def _lookup(vocabulary: np.ndarray, raw, what: str) -> np.ndarray:
    """Position of each of ``raw`` in ``vocabulary`` (unique ids), ``-1`` where absent."""
    raw = np.asarray(raw)
    shape = raw.shape
    query = as_ids(raw.reshape(-1), what)
    if query.dtype.kind != vocabulary.dtype.kind:
        kinds = {"i": "integer", "U": "string"}
        raise TypeError(f"{what}: the catalogue has {kinds[vocabulary.dtype.kind]} ids; got {kinds[query.dtype.kind]} ids")
    if vocabulary.size == 0:
        return np.full(shape, -1, dtype=np.int64)
    order = np.argsort(vocabulary, kind="stable")
    ordered = vocabulary[order]
    at = np.clip(np.searchsorted(ordered, query), 0, ordered.size - 1)
    found = ordered[at] == query
    return np.where(found, order[at], -1).astype(np.int64).reshape(shape)


@dataclass(frozen=True)
class Catalogue:
    """The raw (user's own) ids of a model's internal users, items and field values.

    Attributes:
        users: ``[num_users]`` raw id of internal user ``u`` at index ``u`` (int64 or ``U``), or
            ``None`` for session data (COTREC has no users).
        items: ``[num_items]`` raw id of internal item ``item_offset + i`` at index ``i``.
        item_offset: ``0`` for NCF, MB-GMN and CTR item spaces; ``1`` for AttRec and COTREC,
            whose internal item ``0`` pads.
        fields: CTR only: ``{field name: [vocab_size] raw value of each id}`` for every field
            other than ``user_id`` and ``item_id``.
        seen: ``[num_users, num_items]`` binary CSR of each user's training items (an export's
            ``recommend`` leaves them out), or ``None`` (sessions; an identity catalogue).
        attributes: CTR only: ``{field: (owner, table)}`` for each non-id field that is a
            function of the user (``owner == "user"``) or of the item (``"item"``) over every
            training and test row; ``table`` is ``[num_owners]`` int32 (single-hot) or
            ``[num_owners, M]`` int32 padded with ``-1`` (multi-hot) internal field ids. Fields
            that are neither (context fields) are absent. Training, validation and test rows
            all count.
        preprocessing: click logs only (:class:`~tfrec.data.types.ClickLogData`): the fitted
            preprocessing as ``ClickPreprocessing.as_dict()`` (a JSON-able dict: schema,
            numeric transform, ``min_count``, vocabularies, multi-hot widths), from which an
            export puts the vocabularies and transforms inside the SavedModel; ``None``
            otherwise. Stored as given after a JSON round trip (so a loaded catalogue compares
            equal to a fresh one).

    Every id array holds unique ids.
    """

    users: np.ndarray | None
    items: np.ndarray
    item_offset: int = 0
    fields: dict = field(default_factory=dict)
    seen: sp.csr_matrix | None = None
    attributes: dict = field(default_factory=dict)
    preprocessing: dict | None = None

    def __post_init__(self) -> None:
        fix = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        if self.users is not None:
            fix("users", as_ids(self.users, "users"))
        fix("items", as_ids(self.items, "items"))
        fix("item_offset", int(self.item_offset))
        if self.item_offset not in (0, 1):
            raise ValueError(f"item_offset must be 0 or 1; got {self.item_offset}")
        fix("fields", {str(k): as_ids(v, f"field {k!r}") for k, v in self.fields.items()})
        for name, ids in (("users", self.users), ("items", self.items), *self.fields.items()):
            if ids is None:
                continue
            if np.unique(ids).size != ids.size:
                raise ValueError(f"{name}: ids must be unique")
        if self.seen is not None:
            seen = sp.csr_matrix(self.seen, dtype=np.float32)
            seen.sum_duplicates()
            seen.sort_indices()
            expected = (0 if self.users is None else self.users.size, self.items.size)
            if seen.shape != expected:
                raise ValueError(f"seen has shape {seen.shape}; expected [num_users, num_items] = {expected}")
            fix("seen", seen)
        attributes = {}
        for name, (owner, table) in self.attributes.items():
            owners = {"user": self.users, "item": self.items}.get(owner)
            table = np.asarray(table, dtype=np.int32)
            if owner not in OWNERS or owners is None:
                raise ValueError(f"attribute {name!r}: owner must be 'user' or 'item' (and present); got {owner!r}")
            if table.ndim not in (1, 2) or table.shape[0] != owners.size:
                raise ValueError(f"attribute {name!r}: table must be [{owners.size}] or [{owners.size}, M]; got {table.shape}")
            attributes[str(name)] = (owner, table)
        fix("attributes", attributes)
        if self.preprocessing is not None:
            if not isinstance(self.preprocessing, dict):
                raise TypeError(f"preprocessing must be a dict (ClickPreprocessing.as_dict()); got {type(self.preprocessing).__name__}")
            fix("preprocessing", json.loads(json.dumps(self.preprocessing)))  # JSON-able; lists, not tuples

    # ----------------------------------------------------------------------------------------
    @property
    def num_users(self) -> int | None:
        return None if self.users is None else int(self.users.size)

    @property
    def num_items(self) -> int:
        return int(self.items.size)

    def same_ids(self, other: "Catalogue") -> bool:
        """Whether ``other`` has exactly these users, items and field values, in the same order
        (the internal ids mean the same raw ids), and the same click-log preprocessing (or
        neither has one)."""
        def same(a, b):
            return (a is None) == (b is None) and (a is None or (len(a) == len(b) and np.array_equal(a, b)))

        return same(self.users, other.users) and same(self.items, other.items) and all(
            same(self.fields.get(k), other.fields.get(k)) for k in {*self.fields, *other.fields}
        ) and self.preprocessing == other.preprocessing

    def vocabulary(self, name: str) -> np.ndarray:
        """The raw ids of an input: ``"user_id"`` -> users, ``"item_id"`` -> items, a CTR field
        name -> its values."""
        if name == "user_id":
            if self.users is None:
                raise KeyError("this catalogue has no users (session data)")
            return self.users
        if name == "item_id":
            return self.items
        return self.fields[name]

    def user_index(self, raw) -> np.ndarray:
        """Internal user id of each raw user id (any shape), ``-1`` for an unknown one."""
        return _lookup(self.vocabulary("user_id"), raw, "user ids")

    def item_index(self, raw) -> np.ndarray:
        """Internal item id (``item_offset`` included: AttRec's and COTREC's items start at 1)
        of each raw item id (any shape), ``-1`` for an unknown one."""
        index = _lookup(self.items, raw, "item ids")
        return np.where(index >= 0, index + self.item_offset, -1)

    def field_index(self, name: str, raw) -> np.ndarray:
        """Internal id of each raw value of CTR field ``name``, ``-1`` for an unknown one."""
        return _lookup(self.vocabulary(name), raw, f"field {name!r}")

    # ----------------------------------------------------------------------------------------
    @classmethod
    def identity(cls, num_users: int | None, num_items: int, item_offset: int = 0, fields: dict | None = None) -> "Catalogue":
        """Raw ids equal to the internal ones: users ``0..U-1``, items ``item_offset..`` and
        field values ``0..V-1`` (``fields``: ``{name: vocab_size}``); nothing seen."""
        return cls(
            users=None if num_users is None else np.arange(num_users, dtype=np.int64),
            items=np.arange(item_offset, item_offset + num_items, dtype=np.int64),
            item_offset=item_offset,
            fields={name: np.arange(size, dtype=np.int64) for name, size in (fields or {}).items()},
        )

    @classmethod
    def from_data(cls, data) -> "Catalogue":
        """The catalogue of task data: :class:`~tfrec.data.types.ImplicitFeedback`,
        ``MultiBehavior``, ``SequenceData``, ``SessionData``, ``CTRData`` or ``ClickLogData``.

        Raw ids come from the data's ``user_ids`` / ``item_ids`` (CTR: also ``vocabularies``);
        where the data carries none (synthetic data, pre-numbered pickles) the raw ids are the
        internal ones, offset included (AttRec / COTREC items ``1..n``). ``seen``: NCF the
        training matrix, MB-GMN the target behavior's training matrix (both with the validation
        items, which are the user's interactions too), AttRec
        ``user_items[:, 1:]``, CTR the clicked (label 1) training (user, item) rows, sessions
        ``None``. A click log (``ClickLogData``): no users, no items, no fields, nothing seen,
        and ``preprocessing = data.preprocessing.as_dict()``.
        """
        from tfrec.data import types

        def raw(name, size, start=0):
            values = getattr(data, name, None)
            if values is None:
                return np.arange(start, start + size, dtype=np.int64)
            values = as_ids(values, name)
            if values.size != size:
                raise ValueError(f"{name} has {values.size} entries; expected {size}")
            return values

        if isinstance(data, (types.ImplicitFeedback, types.MultiBehavior)):
            seen = data.train
            held = getattr(data, "validation", None)
            if held is not None:  # the validation item is one of the user's interactions too
                extra = sp.csr_matrix((np.ones(len(held.users), np.float32), (held.users, held.items)), shape=seen.shape)
                seen = ((seen + extra) > 0).astype(np.float32).tocsr()
            return cls(raw("user_ids", data.num_users), raw("item_ids", data.num_items), 0, seen=seen)
        if isinstance(data, types.SequenceData):
            return cls(raw("user_ids", data.num_users), raw("item_ids", data.num_items, 1), 1,
                       seen=sp.csr_matrix(data.user_items)[:, 1:])
        if isinstance(data, types.SessionData):
            return cls(None, raw("item_ids", data.num_items, 1), 1)
        if isinstance(data, types.CTRData):
            return cls._from_ctr(data)
        if isinstance(data, types.ClickLogData):
            return cls(None, np.zeros(0, dtype=np.int64), 0, preprocessing=data.preprocessing.as_dict())
        raise TypeError(f"no catalogue for {type(data).__name__}; expected one of tfrec.data.types' task data")

    @classmethod
    def _from_ctr(cls, data) -> "Catalogue":
        vocabularies = dict(getattr(data, "vocabularies", None) or {})
        sizes = {f.name: int(f.vocab_size) for f in data.fields}

        def raw(name, attribute=None):
            values = getattr(data, attribute, None) if attribute else None
            values = vocabularies.get(name) if values is None else values
            if values is None:
                return np.arange(sizes[name], dtype=np.int64)
            values = as_ids(values, f"field {name!r}")
            if values.size != sizes[name]:
                raise ValueError(f"field {name!r}: {values.size} raw values for a vocabulary of {sizes[name]}")
            return values

        users = raw("user_id", "user_ids") if "user_id" in sizes else None
        items = raw("item_id", "item_ids") if "item_id" in sizes else np.zeros(0, dtype=np.int64)
        others = [f for f in data.fields if f.name not in ("user_id", "item_id")]
        seen = None
        if users is not None and "item_id" in sizes:
            clicked = np.asarray(data.train_labels) > 0.5
            rows = np.asarray(data.train_features["user_id"])[clicked]
            cols = np.asarray(data.train_features["item_id"])[clicked]
            seen = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(users.size, items.size))
            seen.data[:] = 1.0  # duplicates summed: binary again
        owners = {"user": users, "item": items if "item_id" in sizes else None}
        attributes = {}
        for f in others:
            found = _attribute(data, f, {o: (None if ids is None else ids.size) for o, ids in owners.items()})
            if found is not None:
                attributes[f.name] = found
        return cls(users, items, 0, fields={f.name: raw(f.name) for f in others}, seen=seen, attributes=attributes)

    # ----------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write one ``.npz`` (no pickles) through a temporary file renamed into place; a
        preprocessing is stored as its UTF-8 JSON text (``preprocessing_json``, uint8)."""
        path = Path(path)
        arrays = {"format": np.array(FORMAT_VERSION), "items": self.items, "item_offset": np.array(self.item_offset)}
        if self.users is not None:
            arrays["users"] = self.users
        names = list(self.fields)
        arrays["field_names"] = np.array(names, dtype=str) if names else np.zeros(0, dtype="U1")
        for k, name in enumerate(names):
            arrays[f"field_{k}"] = self.fields[name]
        if self.seen is not None:
            arrays.update(seen_indptr=self.seen.indptr.astype(np.int64), seen_indices=self.seen.indices.astype(np.int64),
                          seen_shape=np.array(self.seen.shape, dtype=np.int64))
        attributes = list(self.attributes)
        arrays["attribute_names"] = np.array(attributes, dtype=str) if attributes else np.zeros(0, dtype="U1")
        arrays["attribute_owners"] = np.array([self.attributes[a][0] for a in attributes], dtype="U4")
        for k, name in enumerate(attributes):
            arrays[f"attribute_{k}"] = self.attributes[name][1]
        if self.preprocessing is not None:
            arrays["preprocessing_json"] = np.frombuffer(json.dumps(self.preprocessing).encode("utf-8"), dtype=np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, allow_pickle=False, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Catalogue":
        """Read a file written by :meth:`save` (files written before catalogues had a
        preprocessing load with ``preprocessing=None``); a missing or unreadable file is a
        ``UserError``."""
        path = Path(path)
        if not path.is_file():
            raise UserError(f"catalogue file {path} does not exist")
        try:
            with np.load(path, allow_pickle=False) as npz:
                if int(npz["format"]) != FORMAT_VERSION:
                    raise ValueError(f"format {int(npz['format'])}, expected {FORMAT_VERSION}")
                seen = preprocessing = None
                if "preprocessing_json" in npz:
                    preprocessing = json.loads(npz["preprocessing_json"].tobytes().decode("utf-8"))
                if "seen_indptr" in npz:
                    indices, indptr = npz["seen_indices"], npz["seen_indptr"]
                    seen = sp.csr_matrix((np.ones(indices.size, np.float32), indices, indptr),
                                         shape=tuple(int(n) for n in npz["seen_shape"]))
                return cls(
                    users=npz["users"] if "users" in npz else None,
                    items=npz["items"],
                    item_offset=int(npz["item_offset"]),
                    fields={str(name): npz[f"field_{k}"] for k, name in enumerate(npz["field_names"])},
                    seen=seen,
                    attributes={str(name): (str(owner), npz[f"attribute_{k}"])
                                for k, (name, owner) in enumerate(zip(npz["attribute_names"], npz["attribute_owners"]))},
                    preprocessing=preprocessing,
                )
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
            raise UserError(f"{path} is not a readable tfrec catalogue: {error}") from None


def _attribute(data, spec, owner_sizes: dict) -> tuple[str, np.ndarray] | None:
    """``(owner, table)`` when CTR field ``spec`` is a function of the user or of the item over
    every train, validation (where the data has one) and test row, else ``None``.

    A field is a function of an owner when all rows of each owner carry the same value (the
    same padded id row for a multi-hot field). When both hold, the owner with more rows per
    distinct owner (the stronger evidence) wins, the item on a tie. Owners without any row get
    id 0 (single-hot) or an empty row (multi-hot).
    """
    splits = [data.train_features, data.test_features]
    validation = getattr(data, "validation", None)
    if validation is not None:
        splits.append(validation.features)
    values = [np.asarray(features[spec.name]) for features in splits]
    if spec.multi_hot:
        width = max((v.shape[1] for v in values), default=0)
        values = [np.pad(v, ((0, 0), (0, width - v.shape[1])), constant_values=-1) for v in values]
        # one order per row: sorted ids, padding last (a set of genres in any order is one value)
        values = [np.sort(np.where(v < 0, np.iinfo(np.int32).max, v), axis=1) for v in values]
        values = [np.where(v == np.iinfo(np.int32).max, -1, v) for v in values]
    values = np.concatenate(values).astype(np.int32) if values else np.zeros(0, np.int32)
    best = None
    for owner, key in (("item", "item_id"), ("user", "user_id")):
        size = owner_sizes.get(owner)
        if size is None:
            continue
        ids = np.concatenate([np.asarray(features[key]) for features in splits]).astype(np.int64)
        table = np.full((size, *values.shape[1:]), -1 if spec.multi_hot else 0, dtype=np.int32)
        table[ids] = values  # the last row of each owner; then every row must agree with it
        if not np.array_equal(table[ids], values):
            continue
        evidence = ids.size / max(np.unique(ids).size, 1)
        if best is None or evidence > best[0]:
            best = (evidence, owner, table)
    return None if best is None else (best[1], best[2])
