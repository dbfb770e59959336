"""Click logs of any size: a schema, preprocessing fitted on the training split, sharded binary files.

A click log is a CSV / TSV file (gzipped too) with one impression per row: a 0/1 label and
categorical, multi-hot and numeric columns (Criteo's display-advertising challenge: label,
``I1-I13``, ``C1-C26``; Avazu: ``click`` and 22 categorical columns). :func:`prepare_click_log`
turns one into :class:`~tfrec.data.types.ClickLogData` in two streaming passes over the text,
so memory holds a chunk of rows and the vocabularies, never the whole log:

1. **Fit** (training rows only): the count of every categorical value (and of every bucket of
   a numeric column with ``numeric_transform="bucket"``); values seen fewer than ``min_count``
   times share one out-of-vocabulary id.
2. **Encode**: every row is mapped to ids and transformed values and appended, as one
   fixed-length binary record, to the shards of its split, read back by ``tf.data``
   (:meth:`ClickShards.dataset`) in parallel with a shuffle buffer.

Decisions (each where the CTR literature sets it):

* **Split**: each row is a training, validation or test row with probabilities
  ``1 - validation - test_size``, ``validation``, ``test_size`` (Criteo and Avazu: 8:1:1, as
  the AutoInt / FuxiCTR ``x1`` benchmarks), from draws that depend on ``(seed, row number)``
  only: :func:`split_of_rows`.
* **Categorical ids**: id 0 is out of vocabulary (a value below ``min_count`` in training, or
  never seen there); the kept values get ids ``1..V``. The empty string (a missing value) is a
  value like any other. AutoInt (Song et al., CIKM 2019, section 5.1.1) maps values seen fewer
  than 10 (Criteo) / 5 (Avazu) times to one "<unknown>" feature.
* **Numeric values**: ``"log"``: ``sign(x) * log(1 + |x|)`` -- the log transform DCN (Wang et al.,
  ADKDD 2017, section 4.1) applies to Criteo's integer features; a missing value becomes 0.
  ``"none"``: the value itself (missing: 0). ``"bucket"``: the column becomes categorical, each
  value ``x`` the token ``floor(log(x)^2)`` for ``x > 2`` and ``floor(x)`` otherwise (AutoInt's
  and FuxiCTR's Criteo rule), a missing value the empty token.
* **Multi-hot** columns hold ``|``-separated values, each looked up as a categorical value;
  rows are right-padded with ``-1`` to the widest row of the log.
* **Hashes**: the fit counts values by their 64-bit pandas hash (``pandas.util.hash_array``);
  two distinct values with the same hash (probability about ``n^2 / 2^65``) would share an id.

Rows with fewer fields than the header read as empty (missing) trailing values; rows with more
are an error naming the line.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import math
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tfrec.data.files import check_fraction
from tfrec.errors import DataError

if TYPE_CHECKING:
    from tfrec.data.types import ClickLogData

FORMAT_VERSION = 1
CHUNK_ROWS = 1 << 18  # rows parsed at a time (memory: one chunk of text)
SPLIT_BLOCK = 1 << 16  # the split's draws come in blocks of this many rows: default_rng([seed, 3, block])
BLOCK_ROWS = 256  # rows per tf.data element; shards are padded to whole blocks (label -1 rows)
NUMERIC_TRANSFORMS = ("log", "none", "bucket")
LAYOUT = "layout.json"
PREPROCESSING = "preprocessing.json"
_ROLES = ("categorical", "numeric", "multi_hot")


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClickSchema:
    """Which column of a click log is what.

    Attributes:
        label: the 0/1 click column.
        categorical: columns of categorical values (any text; ints are read as text).
        numeric: columns of numbers (empty: missing).
        multi_hot: columns of ``multi_hot_separator``-separated categorical values.
        ignore: columns of the file that are not used (e.g. Avazu's ``id``); any other column
            the schema does not name is an error, so a typo is never silently dropped.
        columns: the file's column names in order when it has **no header row** (Criteo);
            ``None``: the first line is a header row naming the columns.
        separator: the field separator; ``None`` sniffs tab, comma or semicolon from the first
            line.
        multi_hot_separator: separator inside a multi-hot value (``|``).

    The model's fields are the numeric, then the categorical, then the multi-hot columns, each
    in the order given.

    Example:
        >>> schema = ClickSchema(label="click", categorical=("site", "app"), numeric=("price",))
        >>> schema.feature_columns
        ('price', 'site', 'app')
    """

    label: str
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    multi_hot: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    columns: tuple[str, ...] | None = None
    separator: str | None = None
    multi_hot_separator: str = "|"

    def __post_init__(self) -> None:
        for name in ("categorical", "numeric", "multi_hot", "ignore", "columns"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, str):
                value = tuple(v.strip() for v in value.split(",") if v.strip())
            try:
                value = tuple(value)
            except TypeError:
                raise DataError(f"schema {name!r} must be a list of column names; got {value!r}") from None
            if not all(isinstance(v, str) and v for v in value):
                raise DataError(f"schema {name!r} must be a list of column names; got {list(value)!r}")
            object.__setattr__(self, name, value)
        if not isinstance(self.label, str) or not self.label:
            raise DataError(f"schema 'label' must name the 0/1 click column; got {self.label!r}")
        seen: dict[str, str] = {self.label: "label"}
        for role in (*_ROLES, "ignore"):
            for column in getattr(self, role):
                if column in seen:
                    raise DataError(f"schema: column {column!r} is both {seen[column]} and {role}")
                seen[column] = role
        if not self.feature_columns:
            raise DataError("schema: no feature column; name categorical, numeric or multi_hot columns")
        if self.columns is not None:
            if len(set(self.columns)) != len(self.columns):
                raise DataError(f"schema 'columns' repeats a name: {list(self.columns)}")
            missing = [c for c in seen if c not in self.columns]
            if missing:
                raise DataError(f"schema names column {missing[0]!r}, which is not one of its 'columns' {list(self.columns)}")
        for name in ("separator", "multi_hot_separator"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or len(value) != 1):
                raise DataError(f"schema {name!r} must be one character; got {value!r}")

    @property
    def feature_columns(self) -> tuple[str, ...]:
        return (*self.numeric, *self.categorical, *self.multi_hot)

    def as_dict(self) -> dict:
        out = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items()}

    @classmethod
    def from_dict(cls, values: dict, source: str = "schema") -> "ClickSchema":
        if not isinstance(values, dict):
            raise DataError(f"{source}: a schema is a JSON object with label, categorical, numeric, multi_hot, ...")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(values) - known)
        if unknown:
            from tfrec.registry import did_you_mean

            raise DataError(f"{source}: unknown schema key {unknown[0]!r}; {did_you_mean(unknown[0], sorted(known))}"
                            f"valid keys: {', '.join(sorted(known))}")
        if "label" not in values:
            raise DataError(f"{source}: the schema needs a 'label' (the 0/1 click column)")
        try:
            return cls(**values)
        except DataError as error:
            raise DataError(f"{source}: {error}") from None

    @classmethod
    def load(cls, path: str | Path) -> "ClickSchema":
        """A schema from a JSON file (the keys of :class:`ClickSchema`)."""
        path = Path(path).expanduser()
        try:
            values = json.loads(path.read_text())
        except FileNotFoundError:
            raise DataError(f"{path}: schema file not found") from None
        except (ValueError, UnicodeDecodeError) as error:
            raise DataError(f"{path}: the schema is not valid JSON ({error})") from None
        return cls.from_dict(values, str(path))


CRITEO_SCHEMA = ClickSchema(
    label="label",
    numeric=tuple(f"I{i}" for i in range(1, 14)),
    categorical=tuple(f"C{i}" for i in range(1, 27)),
    columns=("label", *(f"I{i}" for i in range(1, 14)), *(f"C{i}" for i in range(1, 27))),
    separator="\t",
)
"""Criteo display-advertising challenge ``train.txt``: no header; label, 13 integer and 26
hashed categorical columns, tab-separated, empty fields for missing values."""

AVAZU_CATEGORICAL = (
    "hour", "C1", "banner_pos", "site_id", "site_domain", "site_category", "app_id", "app_domain",
    "app_category", "device_id", "device_ip", "device_model", "device_type", "device_conn_type",
    "C14", "C15", "C16", "C17", "C18", "C19", "C20", "C21",
)
AVAZU_SCHEMA = ClickSchema(label="click", categorical=AVAZU_CATEGORICAL, ignore=("id",), separator=",")
"""Avazu CTR prediction ``train`` (CSV with a header): ``id`` (ignored), ``click``, and 22
categorical columns, ``hour`` (YYMMDDHH) among them."""


# --------------------------------------------------------------------------------------------
# Transforms (NumPy; the SavedModel's in-graph versions are tfrec.export's and must agree)
# --------------------------------------------------------------------------------------------
def log_transform(values: np.ndarray) -> np.ndarray:
    """``sign(x) * log(1 + |x|)`` as float32; NaN (missing) -> 0."""
    values = np.asarray(values, np.float64)
    out = np.sign(values) * np.log1p(np.abs(values))
    return np.where(np.isnan(values), 0.0, out).astype(np.float32)


def bucket_tokens(values: np.ndarray) -> np.ndarray:
    """AutoInt's Criteo buckets as text tokens: ``floor(log(x)^2)`` for ``x > 2``, ``floor(x)``
    otherwise, ``""`` for NaN (missing)."""
    values = np.asarray(values, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        bucket = np.where(values > 2, np.floor(np.log(np.where(values > 2, values, 3.0)) ** 2), np.floor(values))
    out = np.full(values.shape, "", dtype=object)
    known = ~np.isnan(values)
    out[known] = bucket[known].astype(np.int64).astype(str)
    return out


def hash_values(values) -> np.ndarray:
    """The uint64 pandas hash of each text value (the fit's counting key)."""
    return pd.util.hash_array(np.asarray(values, dtype=object), categorize=True)


def split_of_rows(seed: int, start: int, stop: int, validation: float, test_size: float) -> np.ndarray:
    """``[stop - start]`` int8 split of rows ``start..stop-1`` of a log: 0 train, 1 validation,
    2 test, from ``u ~ default_rng([seed, 3, block]).random(SPLIT_BLOCK)`` per block of
    :data:`SPLIT_BLOCK` rows (so the split depends on the seed and the row number only):
    test when ``u >= 1 - test_size``, validation when ``1 - test_size - validation <= u < 1 - test_size``."""
    if stop <= start:
        return np.zeros(0, np.int8)
    first, last = start // SPLIT_BLOCK, (stop - 1) // SPLIT_BLOCK
    u = np.concatenate([np.random.default_rng([seed, 3, b]).random(SPLIT_BLOCK) for b in range(first, last + 1)])
    u = u[start - first * SPLIT_BLOCK: stop - first * SPLIT_BLOCK]
    out = np.zeros(len(u), np.int8)
    out[u >= 1 - test_size - validation] = 1
    out[u >= 1 - test_size] = 2
    return out


# --------------------------------------------------------------------------------------------
# Reading a log in chunks
# --------------------------------------------------------------------------------------------
def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8", newline="") if path.suffix == ".gz" else open(path, encoding="utf-8", newline="")


def _first_line(path: Path) -> str:
    try:
        with _open_text(path) as handle:
            return handle.readline().rstrip("\r\n")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read it as text ({error})") from None


@dataclass(frozen=True)
class _Reader:
    """How to read one log: its separator, its columns, whether it has a header row."""

    path: Path
    schema: ClickSchema
    separator: str
    names: tuple[str, ...]
    header: bool

    @classmethod
    def open(cls, path: Path, schema: ClickSchema) -> "_Reader":
        first = _first_line(path)
        if not first.strip():
            raise DataError(f"{path}: the file is empty (or its first line is blank); expected a click log")
        separator = schema.separator or next((s for s in ("\t", ",", ";") if s in first), ",")
        if schema.columns is not None:
            return cls(path, schema, separator, schema.columns, False)
        names = tuple(n.strip() for n in next(csv.reader([first], delimiter=separator)))
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise DataError(f"{path}, line 1: column {repeated[0]!r} appears more than once in the header")
        wanted = (schema.label, *schema.feature_columns, *schema.ignore)
        for column in wanted:
            if column not in names:
                from tfrec.registry import did_you_mean

                raise DataError(f"{path}, line 1: the schema's column {column!r} is not in the header; "
                                f"{did_you_mean(column, list(names))}columns: {', '.join(names)}")
        extra = [n for n in names if n not in wanted]
        if extra:
            raise DataError(f"{path}, line 1: column {extra[0]!r} is not in the schema; name it as categorical, "
                            "numeric or multi_hot, or list it under ignore")
        return cls(path, schema, separator, names, True)

    def line(self, row: int) -> int:
        """1-based line of data row ``row`` (0-based)."""
        return row + 1 + int(self.header)

    def chunks(self, chunk_rows: int):
        """``(first row, frame of text)`` per chunk; a row with too many fields is a DataError."""
        try:
            reader = pd.read_csv(
                self.path, sep=self.separator, header=None, names=list(self.names), skiprows=int(self.header),
                dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False, chunksize=chunk_rows,
                compression="infer", index_col=False, engine="c", quoting=csv.QUOTE_MINIMAL,
            )
            start = 0
            for frame in reader:
                if len(frame):
                    yield start, frame
                start += len(frame)
        except pd.errors.ParserError as error:
            import re

            match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
            if match:
                line = int(match.group(2)) + int(self.header)
                raise DataError(f"{self.path}, line {line}: expected {len(self.names)} fields; got {match.group(3)}") from None
            raise DataError(f"{self.path}: cannot parse ({error})") from None
        except (UnicodeDecodeError, EOFError, OSError) as error:
            raise DataError(f"{self.path}: cannot read it as text ({error})") from None

    def labels(self, frame: pd.DataFrame, start: int) -> np.ndarray:
        text = frame[self.schema.label].str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
        bad = ~np.isin(values, (0.0, 1.0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{self.path}, line {self.line(start + row)}: label column {self.schema.label!r} must be "
                            f"0 or 1; got {text.iloc[row]!r}")
        return values.astype(np.float32)

    def numbers(self, frame: pd.DataFrame, column: str, start: int) -> np.ndarray:
        text = frame[column].str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
        bad = (np.isnan(values) & (text != "").to_numpy()) | np.isinf(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{self.path}, line {self.line(start + row)}: numeric column {column!r} must hold numbers "
                            f"(or nothing, for a missing value); got {text.iloc[row]!r}")
        return values


def _tokens(reader: _Reader, frame: pd.DataFrame, column: str, start: int):
    """The categorical tokens of a looked-up column: ``[N]`` text (single-hot; a numeric column:
    its bucket tokens), or, for a multi-hot column, ``(rows, tokens)`` pairs of every non-empty part."""
    if column in reader.schema.multi_hot:
        parts = frame[column].str.split(reader.schema.multi_hot_separator, regex=False).explode().str.strip()
        rows = parts.index.to_numpy(np.int64) - frame.index[0]
        keep = (parts != "").to_numpy()
        return rows[keep], parts.to_numpy(dtype=object)[keep]
    if column in reader.schema.numeric:  # bucketised
        return bucket_tokens(reader.numbers(frame, column, start))
    return frame[column].str.strip().to_numpy(dtype=object)


def _categorical_columns(schema: ClickSchema, numeric_transform: str) -> tuple[str, ...]:
    """Columns looked up in a vocabulary: bucketised numeric, categorical, multi-hot."""
    bucketed = schema.numeric if numeric_transform == "bucket" else ()
    return (*bucketed, *schema.categorical, *schema.multi_hot)


# --------------------------------------------------------------------------------------------
# Fitted preprocessing
# --------------------------------------------------------------------------------------------
@dataclass
class ClickPreprocessing:
    """The preprocessing fitted on a log's training rows: raw columns -> model features.

    Attributes:
        schema: the log's :class:`ClickSchema`.
        numeric_transform: ``"log"``, ``"none"`` or ``"bucket"`` (module docstring).
        min_count: training count a value needs to get its own id.
        vocabularies: ``{column: [V] text}`` -- the kept values of each looked-up column;
            value ``vocabularies[c][i]`` has id ``i + 1``, anything else id 0.
        widths: ``{multi-hot column: M}``, the widest row (ids are ``[N, M]`` padded with -1).

    Example:
        >>> import pandas as pd
        >>> p = ClickPreprocessing(ClickSchema("y", categorical=("site",), numeric=("price",)), "log", 1,
        ...                        {"site": np.array(["a", "b"])}, {})
        >>> p.transform(pd.DataFrame({"site": ["b", "zzz"], "price": ["0", ""]}))["site"].tolist()
        [2, 0]
    """

    schema: ClickSchema
    numeric_transform: str
    min_count: int
    vocabularies: dict
    widths: dict = field(default_factory=dict)

    def fields(self):
        """The model's :class:`~tfrec.data.types.CTRField` s, in :attr:`ClickSchema.feature_columns` order."""
        from tfrec.data.types import CTRField

        out = []
        for column in self.schema.feature_columns:
            if column in self.schema.numeric and self.numeric_transform != "bucket":
                out.append(CTRField(column, 1, numeric=True))
            else:
                out.append(CTRField(column, len(self.vocabularies[column]) + 1, multi_hot=column in self.schema.multi_hot))
        return tuple(out)

    def transform(self, frame: pd.DataFrame, *, source: str = "rows", first_line: int = 1) -> dict:
        """Features of raw rows: ``{column: [N] int32 ids | [N, M] int32 | [N] float32}``.

        ``frame`` holds the raw columns as text (``""`` missing) or numbers (NaN missing); a
        multi-hot row with more values than the log's widest row keeps its first ``M``."""
        reader = _Reader(Path(source), self.schema, ",", tuple(frame.columns), False)
        frame = frame.reset_index(drop=True)
        text = pd.DataFrame({c: frame[c].map(_as_text) if frame[c].dtype.kind != "O" else frame[c].fillna("").astype(str)
                             for c in self.schema.feature_columns if c in frame.columns})
        missing = [c for c in self.schema.feature_columns if c not in text.columns]
        if missing:
            raise DataError(f"{source}: column {missing[0]!r} is missing")
        out = {}
        for column in self.schema.feature_columns:
            if column in self.schema.numeric and self.numeric_transform != "bucket":
                values = reader.numbers(text, column, first_line - 1)
                out[column] = log_transform(values) if self.numeric_transform == "log" else np.nan_to_num(values).astype(np.float32)
                continue
            vocabulary = pd.Index(self.vocabularies[column])
            tokens = _tokens(reader, text, column, first_line - 1)
            if column in self.schema.multi_hot:
                rows, parts = tokens
                ids = vocabulary.get_indexer(parts) + 1
                out[column] = _pad_multi_hot(rows, ids.astype(np.int32), len(text), self.widths[column])
            else:
                out[column] = (vocabulary.get_indexer(tokens) + 1).astype(np.int32)
        return out

    def as_dict(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "schema": self.schema.as_dict(),
            "numeric_transform": self.numeric_transform,
            "min_count": self.min_count,
            "widths": dict(self.widths),
            "vocabularies": {c: [str(v) for v in values] for c, values in self.vocabularies.items()},
        }

    @classmethod
    def from_dict(cls, values: dict) -> "ClickPreprocessing":
        return cls(
            ClickSchema.from_dict(values["schema"]),
            values["numeric_transform"],
            int(values["min_count"]),
            {c: np.asarray(v, dtype=object) for c, v in values["vocabularies"].items()},
            {c: int(w) for c, w in values.get("widths", {}).items()},
        )

    def save(self, path: str | Path) -> Path:
        return _write_json(Path(path), self.as_dict())

    @classmethod
    def load(cls, path: str | Path) -> "ClickPreprocessing":
        return cls.from_dict(json.loads(Path(path).read_text()))


def _as_text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _pad_multi_hot(rows: np.ndarray, ids: np.ndarray, num_rows: int, width: int) -> np.ndarray:
    """``[num_rows, width]`` int32: row r's ids in order, right-padded with -1 (cut at ``width``)."""
    out = np.full((num_rows, max(width, 1)), -1, np.int32)
    if rows.size:
        counts = np.bincount(rows, minlength=num_rows)
        cols = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
        keep = cols < out.shape[1]
        out[rows[keep], cols[keep]] = ids[keep]
    return out


def _write_json(path: Path, values) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(values) + "\n")
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------------------------
# Shards
# --------------------------------------------------------------------------------------------
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class ClickShards:
    """Fixed-length binary records of a preprocessed log, one folder.

    A record is ``1 + C + sum(M) + N`` little-endian 4-byte words: the label (int32 0/1; -1 for
    the padding rows that complete a shard's last block), the ids of the ``C`` single-hot
    columns, the ``[M]`` ids of each multi-hot column, the float32 bits of the ``N`` numeric
    values; columns in the fields' order. ``layout.json`` lists the shards of each split with
    their row counts.
    """

    folder: Path
    layout: dict

    @classmethod
    def open(cls, folder: str | Path) -> "ClickShards":
        folder = Path(folder)
        return cls(folder, json.loads((folder / LAYOUT).read_text()))

    @property
    def record_words(self) -> int:
        return int(self.layout["record_words"])

    def rows(self, split: str) -> int:
        return int(sum(s["rows"] for s in self.layout["splits"][split]))

    def clicks(self, split: str) -> int:
        return int(sum(s["clicks"] for s in self.layout["splits"][split]))

    def files(self, split: str) -> list[str]:
        return [str(self.folder / s["file"]) for s in self.layout["splits"][split] if s["rows"]]

    def num_batches(self, split: str, batch_size: int) -> int:
        """Batches of one pass over ``split``: ``ceil(blocks / (batch_size / BLOCK_ROWS))``."""
        blocks = sum(-(-s["rows"] // BLOCK_ROWS) for s in self.layout["splits"][split])
        return max(1, -(-blocks // self.blocks_per_batch(batch_size)))

    @staticmethod
    def blocks_per_batch(batch_size: int) -> int:
        return max(1, batch_size // BLOCK_ROWS)

    def _columns(self, words, bitcast):
        """``{column: its slice of words [R, record_words]}`` (numeric columns through ``bitcast``,
        the float32 view of their words): the record layout, walked once for both decoders."""
        features, at = {}, 1
        for column in self.layout["columns"]:
            width = int(column["width"])
            if column["kind"] == "numeric":
                features[column["name"]] = bitcast(words[:, at])
            elif column["kind"] == "multi_hot":
                features[column["name"]] = words[:, at:at + width]
            else:
                features[column["name"]] = words[:, at]
            at += width
        return features

    def decode(self, records):
        """``[R] string`` records of ``BLOCK_ROWS`` rows -> ``(features, labels)`` without padding rows."""
        import tensorflow as tf

        words = tf.reshape(tf.io.decode_raw(records, tf.int32, little_endian=True), [-1, self.record_words])
        labels = words[:, 0]
        words = tf.boolean_mask(words, labels >= 0)
        return self._columns(words, lambda w: tf.bitcast(w, tf.float32)), tf.cast(words[:, 0], tf.float32)

    def dataset(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0, epoch=0,
                shuffle_buffer: int = 1 << 17, parallel_reads: int = 4):
        """A ``tf.data.Dataset`` of ``({column: ids / values}, labels [B] float32)`` batches of
        about ``batch_size`` rows (whole blocks of :data:`BLOCK_ROWS`; the padding rows of a
        shard's last block are dropped, so a few batches are smaller).

        With ``shuffle`` (``epoch`` may be a scalar tensor) the shards are read in an order
        drawn from ``(seed, epoch)``, ``parallel_reads`` at a time, interleaved block by block;
        the blocks are permuted within windows of ``shuffle_buffer`` rows (the shuffle buffer),
        and the rows within each batch -- every draw stateless, seeded by ``(seed, epoch)`` and
        the window's / batch's number, so a resumed run reads what an uninterrupted one does.
        Rows were already shuffled within each preprocessing chunk when written. Memory holds
        one window, never the split. Without ``shuffle``: the shards in order, rows in file order."""
        import tensorflow as tf

        names = self.files(split)
        files = tf.constant(names)
        block_bytes = BLOCK_ROWS * self.record_words * 4
        read = lambda f: tf.data.FixedLengthRecordDataset(f, block_bytes, buffer_size=1 << 22)  # noqa: E731
        per_batch = self.blocks_per_batch(batch_size)
        if not shuffle:
            blocks = tf.data.Dataset.from_tensor_slices(files).flat_map(read)
            return blocks.batch(per_batch).map(self.decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        key = tf.stack([tf.constant(seed, tf.int64), tf.cast(tf.reshape(epoch, []), tf.int64)])
        order = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(files)[0]), seed=key)
        shards = tf.data.Dataset.from_tensor_slices(tf.gather(files, order))
        blocks = shards.interleave(read, cycle_length=max(1, min(parallel_reads, len(names))), block_length=1,
                                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        # The shuffle buffer, stateless (seeded by tensors, so each epoch has its own order and a
        # resumed run the same as an uninterrupted one): windows of shuffle_buffer rows, each
        # window's blocks permuted.
        window = max(1, shuffle_buffer // BLOCK_ROWS)

        def permuted(index, group):
            rows = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(group)[0]), seed=key * 7919 + [index, 1])
            return tf.gather(group, rows)

        blocks = blocks.batch(window).enumerate().map(permuted).unbatch()

        def decode_shuffled(index, records):
            features, labels = self.decode(records)
            rows = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(labels)[0]), seed=key * 7919 + [index, 2])
            return {k: tf.gather(v, rows) for k, v in features.items()}, tf.gather(labels, rows)

        return blocks.batch(per_batch).enumerate().map(decode_shuffled, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def arrays(self, split: str) -> tuple[dict, np.ndarray]:
        """The whole split in memory, ``({column: array}, labels)`` in file order (for small
        logs, tests and notebooks)."""
        words = [np.fromfile(f, dtype="<i4").reshape(-1, self.record_words) for f in self.files(split)]
        words = np.concatenate(words) if words else np.zeros((0, self.record_words), "<i4")
        words = words[words[:, 0] >= 0].astype(np.int32)  # native-endian int32, a copy
        return self._columns(words, lambda w: w.view(np.float32)), words[:, 0].astype(np.float32)


class _ShardWriter:
    """Appends records to ``num_shards`` files per split (chunk ``k`` of a split goes to shard
    ``k % num_shards``) and pads each file to whole blocks when closed."""

    def __init__(self, folder: Path, record_words: int, num_shards: dict):
        self.folder, self.record_words = folder, record_words
        self.entries = {s: [{"file": f"{s}-{i:05d}.bin", "rows": 0, "clicks": 0} for i in range(num_shards[s])] for s in SPLITS}
        self.handles = {s: [open(folder / e["file"], "wb") for e in self.entries[s]] for s in SPLITS}
        self.chunks = {s: 0 for s in SPLITS}

    def write(self, split: str, records: np.ndarray) -> None:
        if not len(records):
            return
        k = self.chunks[split] % len(self.handles[split])
        self.chunks[split] += 1
        self.handles[split][k].write(np.ascontiguousarray(records, dtype="<i4").tobytes())
        self.entries[split][k]["rows"] += len(records)
        self.entries[split][k]["clicks"] += int((records[:, 0] == 1).sum())

    def close(self) -> dict:
        for split in SPLITS:
            for entry, handle in zip(self.entries[split], self.handles[split]):
                pad = -entry["rows"] % BLOCK_ROWS
                if pad:
                    padding = np.zeros((pad, self.record_words), "<i4")
                    padding[:, 0] = -1
                    handle.write(padding.tobytes())
                handle.close()
        return {s: self.entries[s] for s in SPLITS}


# --------------------------------------------------------------------------------------------
# The two passes
# --------------------------------------------------------------------------------------------
def _merge_counts(parts: list) -> tuple[np.ndarray, np.ndarray]:
    keys = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts])
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse, weights=counts, minlength=len(unique)).astype(np.int64)


def _fit(reader: _Reader, *, seed, validation, test_size, numeric_transform, min_count, chunk_rows):
    """Pass 1: ``(kept sorted hashes per looked-up column, multi-hot widths, rows)``."""
    looked_up = _categorical_columns(reader.schema, numeric_transform)
    parts = {c: [] for c in looked_up}
    widths = {c: 0 for c in reader.schema.multi_hot}
    rows = 0
    for start, frame in reader.chunks(chunk_rows):
        reader.labels(frame, start)
        for column in reader.schema.numeric:
            if column not in parts:  # bucketised columns are parsed (and checked) by _tokens
                reader.numbers(frame, column, start)
        train = split_of_rows(seed, start, start + len(frame), validation, test_size) == 0
        for column in looked_up:
            tokens = _tokens(reader, frame, column, start)
            if column in widths:
                token_rows, tokens = tokens
                if token_rows.size:
                    widths[column] = max(widths[column], int(np.bincount(token_rows).max()))
                tokens = tokens[train[token_rows]]
            else:
                tokens = tokens[train]
            keys, counts = np.unique(hash_values(tokens), return_counts=True)
            parts[column].append((keys, counts))
            if len(parts[column]) >= 16:
                parts[column] = [_merge_counts(parts[column])]
        rows += len(frame)
    if rows == 0:
        raise DataError(f"{reader.path}: no rows" + (" after the header" if reader.header else "") + "; expected a click log")
    kept = {}
    for column in looked_up:
        keys, counts = _merge_counts(parts[column]) if parts[column] else (np.zeros(0, np.uint64), np.zeros(0, np.int64))
        kept[column] = keys[counts >= min_count]
    return kept, widths, rows


def _encode(reader: _Reader, out: Path, kept: dict, widths: dict, *, seed, validation, test_size,
            numeric_transform, chunk_rows, num_shards) -> tuple[dict, dict, list, int]:
    """Pass 2: write the shards; ``(vocabularies, shard entries, column layout, record words)``."""
    schema = reader.schema
    columns = []
    for column in schema.feature_columns:
        if column in schema.numeric and numeric_transform != "bucket":
            columns.append({"name": column, "kind": "numeric", "width": 1})
        elif column in schema.multi_hot:
            columns.append({"name": column, "kind": "multi_hot", "width": max(1, widths[column])})
        else:
            columns.append({"name": column, "kind": "categorical", "width": 1})
    record_words = 1 + sum(c["width"] for c in columns)
    names = {c: np.full(len(kept[c]), None, dtype=object) for c in kept}
    writer = _ShardWriter(out, record_words, num_shards)
    try:
        for chunk, (start, frame) in enumerate(reader.chunks(chunk_rows)):
            n = len(frame)
            records = np.empty((n, record_words), "<i4")
            records[:, 0] = reader.labels(frame, start).astype(np.int32)
            at = 1
            for spec in columns:
                column = spec["name"]
                if spec["kind"] == "numeric":
                    values = reader.numbers(frame, column, start)
                    values = log_transform(values) if numeric_transform == "log" else np.nan_to_num(values).astype(np.float32)
                    records[:, at] = values.view("<i4")
                else:
                    tokens = _tokens(reader, frame, column, start)
                    token_rows, tokens = tokens if spec["kind"] == "multi_hot" else (None, tokens)
                    keys = hash_values(tokens)
                    position = np.searchsorted(kept[column], keys)
                    position = np.minimum(position, max(len(kept[column]) - 1, 0))
                    found = kept[column][position] == keys if len(kept[column]) else np.zeros(len(keys), bool)
                    ids = np.where(found, position + 1, 0).astype(np.int32)
                    if found.any():
                        first, index = np.unique(position[found], return_index=True)
                        unnamed = names[column][first] == None  # noqa: E711 (object array)
                        names[column][first[unnamed]] = tokens[np.flatnonzero(found)[index[unnamed]]]
                    if spec["kind"] == "multi_hot":
                        records[:, at:at + spec["width"]] = _pad_multi_hot(token_rows, ids, n, spec["width"])
                    else:
                        records[:, at] = ids
                at += spec["width"]
            split = split_of_rows(seed, start, start + n, validation, test_size)
            rng = np.random.default_rng([seed, 4, chunk])
            for s, name in enumerate(SPLITS):
                rows = np.flatnonzero(split == s)
                writer.write(name, records[rng.permutation(rows)])
    finally:
        entries = writer.close()
    vocabularies = {c: names[c] for c in kept}
    return vocabularies, entries, columns, record_words


def _cache_key(path: Path, options: dict) -> str:
    stat = path.stat()
    identity = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "format": FORMAT_VERSION, **options}
    return hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def prepare_click_log(
    path: str | Path,
    schema: ClickSchema,
    *,
    name: str = "ctr",
    seed: int = 0,
    validation: float = 0.1,
    test_size: float = 0.1,
    min_count: int = 1,
    numeric_transform: str = "log",
    shards_dir: str | Path | None = None,
    num_shards: int = 8,
    chunk_rows: int = CHUNK_ROWS,
):
    """Preprocess a click log into shards (or reuse them) and describe it as task data.

    Args:
        path: the CSV / TSV file (``.gz`` too).
        schema: its :class:`ClickSchema`.
        name: the dataset's name (``criteo``, ``avazu``, ``ctr``).
        seed: draws the split (:func:`split_of_rows`) and the order rows are written in.
        validation, test_size: the split's fractions.
        min_count: training count a categorical value needs for its own id (else id 0).
        numeric_transform: ``"log"``, ``"none"`` or ``"bucket"``.
        shards_dir: where the shards go; ``None``:
            ``$TFREC_HOME/clicklogs/<name>-<key>``, ``key`` a hash of the file (path, size,
            modification time) and every option above, so a second run reuses them. An existing
            complete folder for the same key is reused; the folder is written under a temporary
            name and renamed into place.
        num_shards: training shard files (validation and test: half as many, at least 1).
        chunk_rows: rows parsed at a time (does not change the result).

    Returns:
        :class:`~tfrec.data.types.ClickLogData`.

    Raises:
        DataError: a missing or empty file, a column the schema names that the header lacks, a
            header column the schema does not name, a label other than 0/1 or a non-numeric
            value in a numeric column (naming the line and column), a row with too many fields.
    """
    from tfrec.data.download import cache_root
    from tfrec.data.types import ClickLogData

    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise DataError(f"{path}: file not found" if not path.exists() else f"{path}: not a file")
    if numeric_transform not in NUMERIC_TRANSFORMS:
        raise DataError(f"--set numeric_transform must be one of {', '.join(NUMERIC_TRANSFORMS)}; got {numeric_transform!r}")
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise DataError(f"--set min_count must be a positive integer; got {min_count!r}")
    validation = check_fraction(validation, "validation", zero=True)
    test_size = check_fraction(test_size, "test_size", zero=False)
    if validation + test_size >= 1:
        raise DataError(f"--set validation={validation} and test_size={test_size} leave no training rows")
    if isinstance(num_shards, bool) or not isinstance(num_shards, int) or num_shards < 1:
        raise DataError(f"--set num_shards must be a positive integer; got {num_shards!r}")
    options = {"schema": schema.as_dict(), "seed": seed, "validation": validation, "test_size": test_size,
               "min_count": min_count, "numeric_transform": numeric_transform, "num_shards": num_shards}
    reader = _Reader.open(path, schema)
    key = _cache_key(path, options)
    folder = Path(shards_dir).expanduser().resolve() if shards_dir is not None else cache_root() / "clicklogs" / f"{name}-{key}"
    if not (folder / LAYOUT).exists() or json.loads((folder / LAYOUT).read_text()).get("key") != key:
        if folder.exists() and any(folder.iterdir()):
            if not (folder / LAYOUT).exists():
                raise DataError(f"{folder}: --set shards_dir names a folder that holds other files; choose an empty "
                                "or new folder")
            raise DataError(f"{folder}: holds the shards of another log or other options; choose another --set shards_dir")
        _build(reader, folder, key, options, chunk_rows)
    shards = ClickShards.open(folder)
    preprocessing = ClickPreprocessing.load(folder / PREPROCESSING)
    fields = preprocessing.fields()
    if shards.rows("train") == 0 or shards.clicks("train") in (0, shards.rows("train")):
        raise DataError(f"{path}: the training rows hold a single label ({shards.rows('train')} rows, "
                        f"{shards.clicks('train')} clicks); AUC is undefined")
    if shards.rows("test") == 0:
        raise DataError(f"{path}: --set test_size={test_size} holds out no row of {shards.layout['rows']}; raise it")
    info = {
        "source": str(path),
        "schema": schema.as_dict(),
        "split": f"random rows: {1 - validation - test_size:g} train, {validation:g} validation, {test_size:g} test "
                 f"(seed {seed})",
        "seed": seed,
        "num_rows": int(shards.layout["rows"]),
        "min_count": min_count,
        "numeric_transform": numeric_transform,
        "shards": str(folder),
        "vocabulary_sizes": {f.name: f.vocab_size for f in fields if not f.numeric},
    }
    return ClickLogData(name=name, fields=fields, shards=shards, preprocessing=preprocessing, info=info,
                        has_validation=validation > 0 and shards.rows("validation") > 0)


def _build(reader: _Reader, folder: Path, key: str, options: dict, chunk_rows: int) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        common = {k: options[k] for k in ("seed", "validation", "test_size", "numeric_transform")}
        kept, widths, rows = _fit(reader, min_count=options["min_count"], chunk_rows=chunk_rows, **common)
        shards = options["num_shards"]
        vocabularies, entries, columns, record_words = _encode(
            reader, tmp, kept, widths, chunk_rows=chunk_rows,
            num_shards={"train": shards, "validation": max(1, shards // 2), "test": max(1, shards // 2)}, **common,
        )
        preprocessing = ClickPreprocessing(reader.schema, options["numeric_transform"], options["min_count"],
                                           vocabularies, {c: max(1, w) for c, w in widths.items()})
        preprocessing.save(tmp / PREPROCESSING)
        layout = {"format": FORMAT_VERSION, "key": key, "source": str(reader.path), "options": options, "rows": rows,
                  "record_words": record_words, "block_rows": BLOCK_ROWS, "columns": columns,
                  "splits": entries}
        _write_json(tmp / LAYOUT, layout)
        if folder.exists():
            folder.rmdir()  # empty (checked by the caller)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------------------
# Loaders (the registry calls loader(path, seed=seed, **options))
# --------------------------------------------------------------------------------------------
def _log_file(path: Path, names: tuple[str, ...], what: str) -> Path:
    """``path`` itself when it is a file, else the one ``<name>`` (or ``<name>.gz``) in it."""
    path = Path(path)
    if not path.is_dir():
        return path
    found = [path / n for n in names if (path / n).is_file()]
    if len(found) != 1:
        listed = ", ".join(p.name for p in found) or "none"
        raise DataError(f"{path}: expected exactly one of {', '.join(names)} ({what}); found {listed}")
    return found[0]


def load_criteo(
    path: Path,
    *,
    seed: int = 0,
    min_count: int = 10,
    numeric_transform: str = "log",
    validation: float = 0.1,
    test_size: float = 0.1,
    shards_dir: str | None = None,
    num_shards: int = 8,
) -> "ClickLogData":
    """The Criteo display-advertising challenge log (``train.txt``: label, ``I1-I13``,
    ``C1-C26``, tab-separated, no header, empty fields missing), or any file in that format
    (``tfrec datasets generate criteo``).

    Preprocessing fitted on the training rows (module docstring): numeric values
    log-transformed (``--set numeric_transform=bucket`` for AutoInt's buckets), categorical
    values seen fewer than ``min_count`` = 10 times (AutoInt's Criteo threshold) out of
    vocabulary; a seeded 8:1:1 split.

    Args:
        path: ``train.txt`` (``.gz`` too) or the folder holding it.
        seed, min_count, numeric_transform, validation, test_size, shards_dir, num_shards:
            see :func:`prepare_click_log`.
    """
    file = _log_file(path, ("train.txt", "train.txt.gz", "criteo.txt", "criteo.txt.gz"), "the Criteo log")
    return prepare_click_log(file, CRITEO_SCHEMA, name="criteo", seed=seed, validation=validation, test_size=test_size,
                             min_count=min_count, numeric_transform=numeric_transform, shards_dir=shards_dir,
                             num_shards=num_shards)


def load_avazu(
    path: Path,
    *,
    seed: int = 0,
    min_count: int = 5,
    validation: float = 0.1,
    test_size: float = 0.1,
    shards_dir: str | None = None,
    num_shards: int = 8,
) -> "ClickLogData":
    """The Avazu CTR-prediction log (``train`` CSV with a header: ``id``, ``click``, 22
    categorical columns); ``id`` is ignored, values seen fewer than ``min_count`` = 5 times
    (AutoInt's Avazu threshold) share the out-of-vocabulary id; a seeded 8:1:1 split.

    Args:
        path: ``train`` / ``train.csv`` (``.gz`` too) or the folder holding it.
        seed, min_count, validation, test_size, shards_dir, num_shards: see :func:`prepare_click_log`.
    """
    file = _log_file(path, ("train", "train.csv", "train.gz", "train.csv.gz"), "the Avazu log")
    return prepare_click_log(file, AVAZU_SCHEMA, name="avazu", seed=seed, validation=validation, test_size=test_size,
                             min_count=min_count, numeric_transform="none", shards_dir=shards_dir, num_shards=num_shards)
