"""CTR task data (seed 003's CTR models): MovieLens-1M as clicks, and a user's own click file.

Loaders (the registry calls ``loader(path, seed=seed, **options)``):

* :func:`load_ml1m_ctr` -- ``ratings.dat`` or ``ratings.csv`` (read by
  :func:`tfrec.data.files.read_ml1m_ratings`), optionally ``users.dat`` / ``movies.dat``
  for side features;
* :func:`load_ctr` -- a user's own click file (CSV/TSV with a header row: a ``label`` or
  ``rating`` column, every other column a categorical field, ``a|b`` values multi-hot).

The offline default ``synthetic-ctr``, generated clicks with planted structure, is
:func:`tfrec.data.synthetic.load_synthetic_ctr` (:func:`~tfrec.data.synthetic.make_synthetic_ctr`).

Decisions (seed 003, every CTR section's "Load data" / "Preprocessing"):

* **Labels.** The notebook calls ``load_data('ratings.dat')`` with ``threshold=0``, which sets
  every label to 1: nothing can be learned. tfrec uses explicit feedback as the click signal:
  ``label = rating >= threshold`` (default 4, ``--set threshold=...``). The notebook's own rule
  for ``threshold > 0`` is ``rating > threshold`` (strict); ``>=`` makes ``threshold=4`` mean
  "4 or 5 stars" (57.5% positives on ML-1M).
* **Split.** ``train_test_split(df, test_size=0.15, stratify=userId)``: a random 15% of each
  user's ratings is the test set. tfrec draws it per user, vectorised:
  ``round(test_size * n_u)`` of user ``u``'s ``n_u`` rows, chosen by the seed (sklearn rounds the
  per-user counts slightly differently and uses ``random_state=42``; the distribution is the
  same). The notebook's ``validation_split=0.1`` (the last 10% of train, used only to print
  ``val_loss``) is not kept by default; ``--set validation=F`` holds out a random ``F`` of each
  user's training rows (drawn after the test rows, which stay the same) as ``CTRData.validation``.
  Both are :func:`tfrec.data.splits.stratified_split`.
* **Fields.** The notebook feeds ``user_id`` and ``item_id`` only (ids re-indexed in sorted
  order, as ``astype('category').cat.codes``). ``side_features=True`` adds ``gender`` (2),
  ``age`` (7 groups), ``occupation`` (21), ``zip`` (the first 3 characters of the zip code) from
  ``users.dat`` and ``genres`` (18, multi-hot, padded with ``-1``) from ``movies.dat``.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from tfrec.data.files import (
    check_fraction,
    check_threshold,
    find_user_file,
    id_values,
    ids_of,
    line_finder,
    read_ml1m_ratings,
    read_lines,
    sniff_delimiter,
)
from tfrec.data.splits import stratified_split, validation_rule
from tfrec.data.types import CTRData, CTRField
from tfrec.errors import DataError

ZIP_PREFIX = 3


# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------
def _check_labels(labels: np.ndarray, train_labels: np.ndarray, source: str, rule: str | None, detail: str = "") -> None:
    """Both classes must occur, overall and in training: otherwise AUC is undefined.

    The message reads ``<source>: <rule> makes every label 0 <detail>; AUC is undefined`` (without
    a rule: ``<source>: every label is 0; ...``)."""
    for where, values in (("", labels), ("training ", train_labels)):
        if values.size and values.min() == values.max():
            if rule is None:
                raise DataError(f"{source}: every {where}label is {int(values[0])}; AUC is undefined")
            raise DataError(f"{source}: {rule} makes every {where}label {int(values[0])}{detail}; AUC is undefined")


# --------------------------------------------------------------------------------------------
# MovieLens side files
# --------------------------------------------------------------------------------------------
def _read_dat(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """``::``-separated rows of ``len(columns)`` text fields; a bad line is a DataError naming it."""
    try:
        text = path.read_text(encoding="latin-1")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    lines = pd.Series(text.splitlines())
    keep = lines.str.strip() != ""
    numbers = np.flatnonzero(keep.to_numpy()) + 1
    parts = lines[keep].str.split("::", regex=False)
    widths = parts.str.len().to_numpy()
    bad = np.flatnonzero(widths != len(columns))
    if len(numbers) == 0:
        raise DataError(f"{path}: the file is empty; expected {'::'.join(columns)} rows")
    if bad.size:
        line = int(numbers[bad[0]])
        raise DataError(
            f"{path}, line {line}: expected {len(columns)} fields {'::'.join(columns)}; got {int(widths[bad[0]])}: "
            f"{lines[line - 1]!r}"
        )
    frame = pd.DataFrame(parts.tolist(), columns=list(columns))
    frame.attrs["lines"] = numbers
    return frame


def _int_column(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce").to_numpy()
    bad = np.flatnonzero(~(np.abs(values) < 2.0**63) | (values != np.floor(values)))  # nan, inf, 1.5, beyond int64
    if bad.size:
        line = int(frame.attrs["lines"][bad[0]])
        raise DataError(f"{path}, line {line}: field {column!r} must be an integer; got {frame[column].iloc[bad[0]]!r}")
    return values.astype(np.int64)


def read_users_dat(path: str | Path) -> pd.DataFrame:
    """``users.dat`` (``UserID::Gender::Age::Occupation::Zip-code``) -> columns ``user, gender,
    age, occupation, zip`` with gender / age / occupation / zip prefix as category codes.

    ``attrs["vocabularies"]`` holds the raw value of each code: ``gender`` ``["F", "M"]``,
    ``age`` and ``occupation`` the sorted int64 values, ``zip`` the sorted prefixes (text)."""
    path = Path(path)
    frame = _read_dat(path, ("UserID", "Gender", "Age", "Occupation", "Zip"))
    gender = frame["Gender"].str.strip().to_numpy()
    bad = np.flatnonzero(~np.isin(gender, ["M", "F"]))
    if bad.size:
        line = int(frame.attrs["lines"][bad[0]])
        raise DataError(f"{path}, line {line}: field 'Gender' must be M or F; got {gender[bad[0]]!r}")
    out = pd.DataFrame({"user": _int_column(frame, "UserID", path)})
    out["gender"] = (gender == "M").astype(np.int32)  # F = 0, M = 1
    vocabularies = {"gender": np.array(["F", "M"])[: int(out["gender"].max()) + 1]}
    for column, values in (
        ("age", _int_column(frame, "Age", path)),
        ("occupation", _int_column(frame, "Occupation", path)),
        ("zip", frame["Zip"].str.strip().str[:ZIP_PREFIX].to_numpy(dtype=str)),
    ):
        vocabularies[column], codes = np.unique(values, return_inverse=True)
        out[column] = codes.astype(np.int32)
    duplicated = np.flatnonzero(out["user"].duplicated().to_numpy())
    if duplicated.size:
        line = int(frame.attrs["lines"][duplicated[0]])
        raise DataError(f"{path}, line {line}: user {out['user'].iloc[duplicated[0]]} is listed twice")
    out.attrs["vocabularies"] = vocabularies
    return out


def read_movies_dat(path: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``movies.dat`` (``MovieID::Title::Genres``, genres ``|``-separated).

    Returns:
        ``(movie_ids [n], genres [n, M] int32 padded with -1, genre names)``.
    """
    path = Path(path)
    frame = _read_dat(path, ("MovieID", "Title", "Genres"))
    movie_ids = _int_column(frame, "MovieID", path)
    duplicated = np.flatnonzero(pd.Series(movie_ids).duplicated().to_numpy())
    if duplicated.size:
        line = int(frame.attrs["lines"][duplicated[0]])
        raise DataError(f"{path}, line {line}: movie {movie_ids[duplicated[0]]} is listed twice")
    lists = frame["Genres"].str.strip().str.split("|", regex=False)
    lengths = lists.str.len().to_numpy()
    flat = lists.explode().to_numpy(dtype=object)  # one entry per (movie, genre), movie order kept
    if (flat == "").any():
        row = int(np.repeat(np.arange(len(lists)), lengths)[np.flatnonzero(flat == "")[0]])
        raise DataError(f"{path}, line {int(frame.attrs['lines'][row])}: empty genre in {frame['Genres'].iloc[row]!r}")
    names, codes = np.unique(flat.astype(str), return_inverse=True)
    width = int(lengths.max(initial=1))
    genres = np.full((len(lists), width), -1, dtype=np.int32)
    rows = np.repeat(np.arange(len(lists)), lengths)
    cols = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    genres[rows, cols] = codes
    return movie_ids, genres, [str(n) for n in names]


def _lookup(keys: np.ndarray, table_keys: np.ndarray, what: str, path: Path) -> np.ndarray:
    """Row of each key in ``table_keys``; a key missing from the table is a DataError."""
    order = np.argsort(table_keys)
    pos = np.searchsorted(table_keys, keys, sorter=order)
    pos = np.minimum(pos, len(table_keys) - 1)
    rows = order[pos]
    missing = table_keys[rows] != keys
    if missing.any():
        raise DataError(f"{path}: {what} {int(keys[np.flatnonzero(missing)[0]])} of the ratings has no row in this file")
    return rows


# --------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------
def load_ml1m_ctr(
    path: Path,
    *,
    seed: int = 0,
    threshold: float = 4,
    side_features: bool = False,
    test_size: float = 0.15,
    validation: float = 0.0,
) -> CTRData:
    """MovieLens-1M ratings as CTR data (see the module docstring for every decision).

    Args:
        path: folder with ``ratings.dat`` or ``ratings.csv``; with ``side_features`` also
            ``users.dat`` and ``movies.dat``.
        seed: picks the test rows (then the validation rows).
        threshold: ``label = rating >= threshold`` (4).
        side_features: add gender, age, occupation, zip prefix and genres (multi-hot).
        test_size: fraction of each user's ratings held out (seed 003: 0.15).
        validation: fraction of each user's training rows held out as ``validation`` (default
            0: the reference protocol, no validation split).

    Returns:
        :class:`CTRData` whose ``vocabularies`` hold the raw value of every id: user and movie
        ids, and with side features the genders, ages, occupations, zip prefixes and genre names.

    Raises:
        DataError: missing or malformed files (the message names the file and line), ratings
            without a rating column, ids missing from the side files, a non-numeric threshold or
            one that makes every (training) label the same.
    """
    path = Path(path)
    value = check_threshold(threshold)
    if not isinstance(side_features, bool):
        raise DataError(f"--set side_features must be true or false; got {side_features!r}")
    validation = check_fraction(validation, "validation", zero=True)
    frame = read_ml1m_ratings(path)
    source = frame.attrs.get("source", str(path))
    if "rating" not in frame.columns:
        raise DataError(f"{source}: CTR labels need a rating column (user,item,rating[,timestamp])")
    user_ids, users = np.unique(ids_of(frame, "user"), return_inverse=True)
    item_ids, items = np.unique(ids_of(frame, "item"), return_inverse=True)
    ratings = frame["rating"].to_numpy()
    labels = (ratings >= value).astype(np.float32)
    rule, detail = f"--set threshold={threshold}", f" (ratings range {ratings.min():g}..{ratings.max():g})"
    features = {"user_id": users.astype(np.int32), "item_id": items.astype(np.int32)}
    fields = [CTRField("user_id", len(user_ids)), CTRField("item_id", len(item_ids))]
    vocabularies = {"user_id": user_ids, "item_id": item_ids}
    info = {"source": source, "threshold": threshold, "label": f"rating >= {threshold}", "side_features": side_features}
    if side_features:
        users_file, movies_file = path / "users.dat", path / "movies.dat"
        profile = read_users_dat(users_file)
        rows = _lookup(user_ids, profile["user"].to_numpy(), "user", users_file)[users]
        for column in ("gender", "age", "occupation", "zip"):
            values = profile[column].to_numpy()
            features[column] = values[rows].astype(np.int32)
            fields.append(CTRField(column, int(values.max()) + 1))
            vocabularies[column] = profile.attrs["vocabularies"][column]
        movie_ids, genres, names = read_movies_dat(movies_file)
        rows = _lookup(item_ids, movie_ids, "movie", movies_file)
        item_genres = genres[rows]
        item_genres = item_genres[:, : max(1, int((item_genres >= 0).sum(axis=1).max(initial=1)))]
        features["genres"] = item_genres[items]
        fields.append(CTRField("genres", len(names), multi_hot=True))
        vocabularies["genres"] = np.array(names, dtype=str)
        info["genres"] = names
        info["side_files"] = [str(users_file), str(movies_file)]
    rng = np.random.default_rng(seed)
    train_f, train_y, test_f, test_y, held = stratified_split(features, labels, users, test_size, rng, validation)
    _check_labels(labels, train_y, source, rule, detail)
    split = f"random {test_size:g} of each user's ratings" + validation_rule(validation, held, "each user's")
    return CTRData(
        name="ml-1m-ctr",
        fields=tuple(fields),
        train_features=train_f,
        train_labels=train_y,
        test_features=test_f,
        test_labels=test_y,
        user_ids=user_ids,
        item_ids=item_ids,
        info={**info, "split": split, "seed": seed, "num_rows": len(frame)},
        vocabularies=vocabularies,
        validation=held,
    )


# --------------------------------------------------------------------------------------------
# A user's own click file
# --------------------------------------------------------------------------------------------
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RENAMED = {"user": "user_id", "user_id": "user_id", "item": "item_id", "item_id": "item_id"}
_CLICKS = "a header row, a label (0/1) or rating column and categorical field columns"


def read_click_file(path: str | Path) -> tuple[pd.DataFrame, callable]:
    """The rows of a CSV / TSV / ``;`` file with a header row, every field as stripped text.

    Returns:
        ``(frame, line_of)``: the columns named as in the header and ``line_of(row)``, the
        1-based line of a data row (for messages).

    Raises:
        DataError: missing or empty file, a header with an empty, repeated or non-identifier
            name (``zip-code``: use ``zip_code``), or a row with more or fewer fields than the
            header (naming the line).
    """
    path = Path(path)
    text, lines, first = read_lines(path, f"a click file ({_CLICKS})", _CLICKS)
    sep = sniff_delimiter(lines[first])
    names = [n.strip() for n in next(csv.reader([lines[first]], delimiter=sep))]
    for name in names:
        if not _NAME.fullmatch(name):
            raise DataError(
                f"{path}, line {first + 1}: column name {name!r} is not a name of letters, digits and _ "
                f"(the first line must be a header row naming the columns: {_CLICKS})"
            )
    mapped = [_RENAMED.get(n.lower(), n) for n in names]
    repeated = sorted({n for n in mapped if mapped.count(n) > 1})
    if repeated:
        raise DataError(f"{path}, line {first + 1}: column {repeated[0]!r} appears more than once in the header")
    skip = first + 1
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, header=None, names=[*mapped, "\0more"], skiprows=skip, dtype=str,
            keep_default_na=False, na_filter=False, index_col=False, low_memory=False,
        )
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    except pd.errors.ParserError as error:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        if match:
            line = int(match.group(2))
            raise DataError(f"{path}, line {line}: expected {len(names)} fields like the header; got {match.group(3)}") from None
        raise DataError(f"{path}: cannot parse ({error})") from None
    if frame.empty:
        raise DataError(f"{path}: no rows after the header; expected {_CLICKS}")
    line_of = line_finder(lines, skip)

    wide = (frame.pop("\0more") != "").to_numpy()
    if wide.any():
        raise DataError(f"{path}, line {line_of(int(np.flatnonzero(wide)[0]))}: expected {len(names)} fields like the header; got more")
    frame = frame.apply(lambda column: column.str.strip())
    frame.attrs["source"] = str(path)
    return frame, line_of


def _numbers(frame: pd.DataFrame, column: str, path: Path, line_of, allowed: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values) if allowed == "a finite number" else ~np.isin(values, (0.0, 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}, line {line_of(row)}: column {column!r} must be {allowed}; got {frame[column].iloc[row]!r}")
    return values


def categorical_field(values: pd.Series, name: str, path: Path, line_of) -> tuple[CTRField, np.ndarray, np.ndarray]:
    """One column as a CTR field: ``(field, ids, vocabulary)``.

    Ids number the distinct values ``0..V-1`` in sorted order of the values (numeric order when
    every value is an integer, see :func:`tfrec.data.files.id_values`); ``vocabulary[id]``
    is the raw value. A column with a ``|`` in some value is multi-hot: each value is split on
    ``|`` (empty parts ignored, repeats counted once), the ids of a row sorted and right-padded
    with ``-1`` to ``[N, M]``, ``M`` the most values of any row; a row may be empty.

    Raises:
        DataError: an empty value in a single-hot column (naming the line and column), or a
            multi-hot column without any value.
    """
    if values.str.contains("|", regex=False).any():
        parts = values.str.split("|", regex=False).explode()
        rows = parts.index.to_numpy(np.int64)
        tokens = parts.str.strip().to_numpy(dtype=str)
        keep = tokens != ""
        rows, tokens = rows[keep], tokens[keep]
        if tokens.size == 0:
            raise DataError(f"{path}: multi-hot column {name!r} holds no value (only '|' separators)")
        vocabulary, codes = np.unique(id_values(tokens), return_inverse=True)
        width = len(vocabulary)
        pairs = np.unique(rows * width + codes)  # sorted by row, then id; repeats once
        rows, codes = pairs // width, pairs % width
        counts = np.bincount(rows, minlength=len(values))
        cols = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
        ids = np.full((len(values), max(1, int(counts.max()))), -1, dtype=np.int32)
        ids[rows, cols] = codes
        return CTRField(name, width, multi_hot=True), ids, vocabulary
    empty = (values == "").to_numpy()
    if empty.any():
        raise DataError(f"{path}, line {line_of(int(np.flatnonzero(empty)[0]))}: column {name!r} has an empty value")
    vocabulary, codes = np.unique(id_values(values), return_inverse=True)
    return CTRField(name, len(vocabulary)), codes.astype(np.int32), vocabulary


def load_ctr(
    path: Path,
    *,
    seed: int = 0,
    test_size: float = 0.15,
    threshold: float | None = None,
    validation: float = 0.1,
    schema: str | None = None,
    label: str | None = None,
    categorical: list | str | None = None,
    numeric: list | str | None = None,
    multi_hot: list | str | None = None,
    ignore: list | str | None = None,
    min_count: int = 1,
    numeric_transform: str = "log",
    shards_dir: str | None = None,
) -> CTRData:
    """A user's own click data: a CSV/TSV file (``.gz`` too) with a header row, or a folder
    holding exactly one ``clicks.*`` file.

    **With a schema** -- ``schema=FILE.json`` (the keys of
    :class:`tfrec.data.clicklog.ClickSchema`) or the columns named one by one (``label=``,
    ``categorical=``, ``numeric=``, ``multi_hot=``, ``ignore=``) -- the file is a click log of any
    size: it is preprocessed once into shards and streamed
    (:func:`tfrec.data.clicklog.prepare_click_log`; numeric columns transformed by
    ``numeric_transform``, values seen fewer than ``min_count`` times in training out of
    vocabulary, a random ``test_size`` / ``validation`` share of the rows held out), and the
    result is :class:`~tfrec.data.types.ClickLogData`. Every column of the header must be named.

    **Without a schema** the file is read into memory as below (every column but the label a
    categorical field):

    * Labels: a ``label`` column of 0/1 values, or a ``rating`` column with ``--set
      threshold=N`` (``label = rating >= N``).
    * Every other column is a categorical field whose values may be any text or integers, its
      vocabulary built from all rows (:func:`categorical_field`; ``a|b`` values make it
      multi-hot); columns named ``user_id`` / ``user`` and ``item_id`` / ``item`` become the
      ``user_id`` and ``item_id`` fields and come first. ``vocabularies`` holds every field's
      raw values.
    * Split: a random ``test_size`` of each user's rows (of all rows without a user column) is
      the test set; then a random ``validation`` share of each user's training rows is the
      validation set; both drawn with ``numpy.random.default_rng(seed)``.

    Args:
        path: the file or folder.
        seed: picks the test and validation rows.
        test_size: fraction of each user's rows held out for test (0.15).
        threshold: the click rule for a ``rating`` column (default ``None``: needs a ``label``).
        validation: fraction of each user's training rows held out for validation (0.1; 0 for none).

    Raises:
        DataError: a malformed file (naming the file and the line or column), no or both label
            columns, a label that is not 0/1, a threshold that is not a number or makes every
            (training) label the same, or a ``test_size`` that holds out no row.
    """
    value = check_threshold(threshold)
    test_size = check_fraction(test_size, "test_size", zero=False)
    validation = check_fraction(validation, "validation", zero=True)
    file = find_user_file(Path(path).expanduser(), ("clicks",), _CLICKS)
    columns_named = {"label": label, "categorical": categorical, "numeric": numeric, "multi_hot": multi_hot,
                     "ignore": ignore}
    if schema is not None or any(v is not None for v in columns_named.values()):
        return _load_with_schema(file, schema, columns_named, seed=seed, test_size=test_size, validation=validation,
                                 threshold=threshold, min_count=min_count, numeric_transform=numeric_transform,
                                 shards_dir=shards_dir)
    for option, given, default in (("min_count", min_count, 1), ("numeric_transform", numeric_transform, "log"),
                                   ("shards_dir", shards_dir, None)):
        if given != default:
            raise DataError(f"--set {option} applies to a click log read with a schema (--set schema=FILE.json or "
                            "--set label=... categorical=... numeric=...); this file is read without one")
    frame, line_of = read_click_file(file)
    columns = list(frame.columns)
    lower = {c.lower(): c for c in columns}
    if "label" in lower and "rating" in lower:
        raise DataError(f"{file}: has both a label and a rating column; keep one (label: 0/1 clicks, rating: with --set threshold=N)")
    if "label" in lower:
        if value is not None:
            raise DataError(f"{file}: --set threshold={threshold} applies to a rating column; this file has a label column")
        label_column = lower["label"]
        labels = _numbers(frame, label_column, file, line_of, "0 or 1").astype(np.float32)
        rule, detail, label_rule = None, "", "the label column"
    elif "rating" in lower:
        label_column = lower["rating"]
        if value is None:
            raise DataError(f"{file}: has a rating column and no label column: --set threshold=N makes rating >= N a click")
        ratings = _numbers(frame, label_column, file, line_of, "a finite number")
        labels = (ratings >= value).astype(np.float32)
        rule, detail = f"--set threshold={threshold}", f" (ratings range {ratings.min():g}..{ratings.max():g})"
        label_rule = f"rating >= {threshold}"
    else:
        raise DataError(f"{file}: expected a label column (0/1) or a rating column (with --set threshold=N); columns: {', '.join(columns)}")
    names = [c for c in ("user_id", "item_id") if c in columns] + [c for c in columns if c not in ("user_id", "item_id", label_column)]
    if not names:
        raise DataError(f"{file}: no field column besides {label_column!r}; expected categorical columns such as user_id, item_id")
    fields, features, vocabularies = [], {}, {}
    for name in names:
        field_, ids, vocabulary = categorical_field(frame[name], name, file, line_of)
        fields.append(field_)
        features[name] = ids
        vocabularies[name] = vocabulary
    groups = features["user_id"] if "user_id" in features and not fields[0].multi_hot else np.zeros(len(frame), np.int64)
    rng = np.random.default_rng(seed)
    train_f, train_y, test_f, test_y, held = stratified_split(features, labels, groups, test_size, rng, validation)
    if len(test_y) == 0:
        raise DataError(
            f"{file}: --set test_size={test_size:g} holds out no row ({len(labels)} rows; round(test_size * rows) of "
            "each user's rows are test rows); raise it"
        )
    _check_labels(labels, train_y, str(file), rule, detail)
    per = "each user's" if "user_id" in features else "all"
    split = f"random {test_size:g} of {per} rows as test" + validation_rule(validation, held, per)
    return CTRData(
        name="ctr",
        fields=tuple(fields),
        train_features=train_f,
        train_labels=train_y,
        test_features=test_f,
        test_labels=test_y,
        user_ids=vocabularies.get("user_id"),
        item_ids=vocabularies.get("item_id"),
        info={"source": str(file), "label": label_rule, "threshold": value, "split": split, "seed": seed,
              "num_rows": len(frame), "multi_hot": [f.name for f in fields if f.multi_hot]},
        vocabularies=vocabularies,
        validation=held,
    )




def _load_with_schema(file: Path, schema, columns_named: dict, *, seed, test_size, validation, threshold, min_count,
                      numeric_transform, shards_dir):
    """``load_ctr`` with a schema: the streamed click-log path."""
    from tfrec.data.clicklog import ClickSchema, prepare_click_log

    if threshold is not None:
        raise DataError(f"--set threshold={threshold} applies to a rating column without a schema; a schema's label "
                        "column holds 0/1 clicks")
    given = {k: v for k, v in columns_named.items() if v is not None}
    if schema is not None:
        if given:
            raise DataError(f"--set schema={schema} and --set {next(iter(given))}=... both describe the columns; "
                            "use one of them")
        parsed = ClickSchema.load(schema)
    else:
        if "label" not in given:
            raise DataError("--set categorical / numeric / multi_hot / ignore need --set label=COLUMN (the 0/1 click column)")
        parsed = ClickSchema.from_dict(given, "--set")
    return prepare_click_log(file, parsed, name="ctr", seed=seed, validation=validation, test_size=test_size,
                             min_count=min_count, numeric_transform=numeric_transform, shards_dir=shards_dir)
