"""MovieLens, the NCF paper's split files and users' own ratings files -> ImplicitFeedback.

Loaders (the registry calls ``loader(path, seed=seed, **options)``):

* :func:`load_ml1m` -- ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``) or, when that is
  what the folder holds, ``ratings.csv`` (``user_id,item_id,rating[,timestamp]``);
* :func:`load_ml100k` -- ``u.data`` (tab-separated ``user item rating timestamp``);
* :func:`load_ncf_split` -- the NCF paper's ``ml-1m.train.rating`` / ``.test.rating`` /
  ``.test.negative`` used as they are (its 99 negatives per user, no re-sampling);
* :func:`load_ratings` -- a user's CSV/TSV ``user,item[,rating[,timestamp]]``, header or not,
  ids of any text.

All but the NCF split go through :func:`leave_latest_out`, the NCF protocol of seed 004
(``_reindex``, ``_leave_one_out``, ``_negative_sampling``): every rating is a positive (or those
``>= threshold``), each user's latest interaction is the test item (a seeded random one without
timestamps), 99 test negatives per user fixed by the seed; optionally the second-latest item is
a validation split (on by default for a user's own data, off for the reference datasets).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrec.data.sampling import held_out_negatives, leave_one_out_rows
from tfrec.data.types import ImplicitFeedback, RankingSplit
from tfrec.errors import DataError, naming

COLUMNS = ("user", "item", "rating", "timestamp")
NUMERIC = ("rating", "timestamp")
RATINGS_LAYOUTS = {2: ("user", "item"), 3: ("user", "item", "rating"), 4: COLUMNS}

# Normalised header names (lower case, no "_", "-", " "): a first line made only of these is a
# header even where its fields could be text ids.
_HEADER_WORDS = {
    "user", "users", "userid", "uid", "item", "items", "itemid", "iid", "movie", "movieid", "product", "productid",
    "rating", "ratings", "score", "timestamp", "time", "ts", "date", "datetime", "behavior", "behaviour", "event",
    "action", "type", "u", "i", "r", "t", "customer", "customerid", "client", "clientid", "visitor", "visitorid",
    "account", "sku", "article", "articleid", "song", "track", "video", "book", "session", "sessionid", "eventtype",
    "behaviortype", "actiontype", "label", "click", "stars",
}
_EXTRA = "\0more"  # a column catching fields beyond the first row's: a wider row is an error
_TIME_WORDS = {"timestamp", "time", "ts", "t", "date", "datetime", "unixtime"}
_RATING_WORDS = {"rating", "ratings", "score", "r", "stars", "value"}


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------
def _sniff(first_line: str) -> str:
    for sep in ("::", "\t", ",", ";"):
        if sep in first_line:
            return sep
    return r"\s+"


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _word(text: str) -> str:
    return text.strip().strip('"').strip("'").lower().replace("_", "").replace("-", "").replace(" ", "")


def read_text(path: Path, what: str) -> str:
    """A text file as UTF-8 (a byte-order mark dropped), else Latin-1 (MovieLens' encoding)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder; expected {what}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def find_user_file(path: str | Path, prefixes: tuple[str, ...], what: str) -> Path:
    """``path`` itself when it is a file; in a folder, the one file named ``<prefix>.*``.

    Raises:
        DataError: the folder holds none or several such files (the message lists them).
    """
    path = Path(path)
    if not path.is_dir():
        return path
    found = sorted(p for p in path.iterdir() if p.is_file() and p.name.split(".")[0] in prefixes and "." in p.name)
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        wanted = " / ".join(f"{prefix}.csv" for prefix in prefixes)
        raise DataError(f"{path}: expected exactly one {wanted} (or .tsv, .dat) file with {what}; found {names}")
    return found[0]


def id_values(values, *, labels: bool = False) -> np.ndarray:
    """Raw ids as an array: int64 when every value is an integer, else numpy ``U`` text.

    ``values`` are strings (or numbers). "Integer" means a number with no fraction within
    int64 (``"7"``, ``"007"``, ``"7.0"``, ``"-3"``); any other value (``"u7"``, ``"1.5"``,
    ``"1e30"``) makes the whole column text, so ids are never object arrays and can be saved
    with ``numpy.savez(allow_pickle=False)``.

    Args:
        values: ``[N]`` raw ids (a numpy array or a pandas Series).
        labels: the values are distinct labels compared as text (session logs): they become
            int64 only when no two of them are the same integer (``"7"`` and ``"007"`` stay text).
    """
    array = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if array.dtype.kind in "iu" and (array.dtype.kind == "i" or array.size == 0 or array.max() < 2**63):
        return array.astype(np.int64)
    text = np.asarray(array, dtype=str)
    if text.size == 0:
        return np.zeros(0, dtype=np.int64)
    try:  # fails at the first value Python cannot read as a number: text ids cost next to nothing
        text.astype(np.float64)
    except (ValueError, OverflowError):
        return text
    numbers = pd.to_numeric(pd.Series(text), errors="coerce")  # every value looks numeric: decide exactly
    if numbers.dtype.kind == "i":
        ints = numbers.to_numpy(np.int64)
    elif numbers.dtype.kind == "f":
        floats = numbers.to_numpy(np.float64)
        if not np.all((np.abs(floats) < 2.0**53) & (floats == np.floor(floats))):  # nan, inf, 1.5, inexact
            return text
        ints = floats.astype(np.int64)
    else:  # beyond int64 (uint64 or object)
        return text
    if labels and np.unique(ints).size != np.unique(text).size:
        return text
    return ints


def ids_of(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The raw ids of ``frame[column]`` (as :func:`read_ratings_file` returns them): int64 or ``U``."""
    array = frame[column].to_numpy()
    return array.astype(np.int64) if array.dtype.kind in "iu" else frame[column].to_numpy(dtype=str)


def check_threshold(threshold, option: str = "threshold") -> float | None:
    """``threshold`` as a float (``None`` stays ``None``).

    Raises:
        DataError: a bool, NaN or anything that is not a number:
            ``--set threshold must be a number; got 'abc'``.
    """
    if threshold is None:
        return None
    value = None
    if not isinstance(threshold, bool):
        try:
            value = float(threshold)
        except (TypeError, ValueError):
            value = None
    if value is None or np.isnan(value):
        raise DataError(f"--set {option} must be a number; got {threshold!r}")
    return value


def check_flag(value, option: str) -> bool:
    """A true/false option; anything else is a DataError naming ``--set option``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise DataError(f"--set {option} must be true or false; got {value!r}")


def apply_threshold(frame: pd.DataFrame, threshold, source: str) -> pd.DataFrame:
    """The rows with ``rating >= threshold`` (all rows when ``threshold`` is ``None``).

    Raises:
        DataError: a non-numeric threshold, rows without a rating column, or a threshold that
            leaves no row (the message gives the ratings' range).
    """
    value = check_threshold(threshold)
    if value is None:
        return frame
    if "rating" not in frame.columns:
        raise DataError(f"{source} has no rating column; --set threshold={threshold} needs user,item,rating[,timestamp] rows")
    ratings = frame["rating"].to_numpy()
    keep = ratings >= value
    if not keep.any():
        raise DataError(
            f"{source}: --set threshold={threshold} leaves no rows (ratings range {ratings.min():g}..{ratings.max():g})"
        )
    out = frame[keep].reset_index(drop=True)
    out.attrs.update(frame.attrs)
    return out


def line_finder(lines: list[str], skip: int):
    """``line_of(row)``: the 1-based file line of data row ``row`` (0-based) of a file whose
    first ``skip`` lines are not data and whose blank lines pandas skips; the line list is built
    on first use (only an error needs it)."""
    data_lines: list[int] = []

    def line_of(row: int) -> int:
        if not data_lines:
            data_lines.extend(i for i in range(skip, len(lines)) if lines[i].strip())
        return data_lines[row] + 1

    return line_of


def read_table(
    path: str | Path,
    layouts: dict[int, tuple[str, ...]],
    *,
    numeric: tuple[str, ...] = NUMERIC,
    what: str = "user,item[,rating[,timestamp]]",
) -> pd.DataFrame:
    """Rows of a CSV / TSV / ``;`` / ``::`` / whitespace-separated file, columns by position.

    The delimiter is detected from the first line; ``layouts`` maps the first line's number of
    fields to the column names. ``user`` and ``item`` columns are ids (any text, see
    :func:`id_values`), the ``numeric`` columns must be finite numbers, other columns are text.
    The first line is a header (its names are ignored, except that a 3-field header naming a
    time or a rating column picks ``user,item,timestamp`` or ``user,item,rating``) when a field
    of a numeric column is not a number, when every field is a usual column name (``user_id``,
    ``item``, ``rating``, ...), or, for a file without numeric columns, when its ids are text
    while every later row's are integers.

    Returns:
        A DataFrame with the layout's columns; ids and text as pandas strings or int64, numbers
        as int64 / float64. ``attrs["source"]`` is the file.

    Raises:
        DataError: missing or empty file, a row with the wrong number of fields, an empty field
            or a numeric field that is not a finite number (naming the file and 1-based line).
    """
    path = Path(path)
    text = read_text(path, f"a file of {what} rows")
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise DataError(f"{path}: the file is empty; expected rows of {what}")
    sep = _sniff(lines[first])
    fields = re.split(sep, lines[first].strip()) if sep == r"\s+" else lines[first].strip().split(sep)
    width = len(fields)
    if width not in layouts:
        widths = sorted(layouts)
        raise DataError(
            f"{path}, line {first + 1}: expected {widths[0]} to {widths[-1]} fields ({what}); got {width}: {lines[first]!r}"
        )
    columns = list(layouts[width])
    numeric_at = [k for k, c in enumerate(columns) if c in numeric]
    words = [_word(f) for f in fields]
    header = any(not _is_number(fields[k].strip().strip('"')) for k in numeric_at) or all(w in _HEADER_WORDS for w in words)
    if header and width == 3 and {"rating", "timestamp"} & set(columns):  # a header says which
        if words[2] in _TIME_WORDS:
            columns[2] = "timestamp"
        elif words[2] in _RATING_WORDS:
            columns[2] = "rating"
        numeric_at = [k for k, c in enumerate(columns) if c in numeric]
    if sep == "::":
        text, sep = text.replace("::", "\t"), "\t"
    skip = first + (1 if header else 0)
    engine = "c" if sep != r"\s+" else "python"
    options = dict(sep=sep, header=None, names=[*columns, _EXTRA], skiprows=skip, engine=engine, keep_default_na=False,
                   na_filter=False, index_col=False)
    if engine == "c":
        options["low_memory"] = False
    line_of = line_finder(lines, skip)

    try:  # fast path: integer ids and numbers (MovieLens), no text kept
        frame = pd.read_csv(io.StringIO(text), **options)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no rows after the header; expected {what}") from None
    except pd.errors.ParserError as error:
        _raise_parser_error(path, lines, error, what, width)
    if frame.empty:
        raise DataError(f"{path}: no rows after the header; expected {what}")
    extra = frame.pop(_EXTRA)
    wide = ~(extra.isna() | (extra.astype(str) == "")).to_numpy()  # the python engine fills None
    if wide.any():
        line = line_of(int(np.flatnonzero(wide)[0]))
        raise DataError(f"{path}, line {line}: expected {width} fields ({what}) like the first row; got more: {lines[line - 1]!r}")
    frame = _checked(path, text, frame, options, line_of, lines, columns, numeric, what)
    ids = [c for c in columns if c in ("user", "item")]
    if not numeric_at and not header and len(frame) > 1:  # a header of text ids over integer rows?
        if all(id_values(frame[c].iloc[1:]).dtype.kind == "i" for c in ids) and any(
            id_values(frame[c].iloc[:1]).dtype.kind == "U" for c in ids
        ):
            frame = frame.iloc[1:].reset_index(drop=True)
    for c in ids:
        if frame[c].dtype.kind != "i":
            frame[c] = id_values(frame[c])
    frame.attrs["source"] = str(path)
    return frame


def _raise_parser_error(path: Path, lines: list[str], error: Exception, what: str, width: int):
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
    if match:
        line = int(match.group(2))  # pandas counts physical lines, skipped header and blank ones too
        raise DataError(
            f"{path}, line {line}: expected {width} fields ({what}) like the first row; got {match.group(3)}: "
            f"{lines[line - 1]!r}"
        ) from None
    raise DataError(f"{path}: cannot parse as {what} rows ({error})") from None


def _checked(path, text, frame, options, line_of, lines, columns, numeric, what) -> pd.DataFrame:
    """The parsed columns checked: ids and text stripped (ids the C parser read as floats or bools
    read again as text, to keep their spelling), no empty field, numeric columns finite numbers;
    a bad field raises naming its line."""
    out = {}
    empty = np.zeros(len(frame), dtype=bool)
    for c in columns:
        column = frame[c]
        if c not in numeric and column.dtype.kind in "fb":  # "5.0", "True": the spelling is the id
            column = pd.read_csv(io.StringIO(text), usecols=[c], dtype=str, **options)[c]
        if column.dtype.kind not in "iuf":
            column = column.fillna("").astype(str).str.strip()  # the python engine fills missing fields with None
            empty |= (column == "").to_numpy()
        out[c] = column
    if empty.any():
        line = line_of(int(np.flatnonzero(empty)[0]))
        raise DataError(f"{path}, line {line}: expected {len(columns)} non-empty fields ({what}); got {lines[line - 1]!r}")
    for c in columns:
        if c in numeric:
            values = pd.to_numeric(out[c], errors="coerce").to_numpy(np.float64)
            bad = ~np.isfinite(values)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                line = line_of(row)
                raise DataError(
                    f"{path}, line {line}: {c} must be a finite number; got {str(out[c].iloc[row])!r} in {lines[line - 1]!r}"
                )
            if out[c].dtype.kind not in "iuf":  # numbers that came as text (spaces around them, ...)
                integral = np.all(values == np.floor(values)) and np.abs(values).max() < 2**53
                out[c] = values.astype(np.int64) if integral else values
    return pd.DataFrame(out)


def read_ratings_file(
    path: str | Path, *, names: tuple[str, ...] | None = None, layouts: dict[int, tuple[str, ...]] | None = None
) -> pd.DataFrame:
    """Read ``user,item[,rating[,timestamp]]`` rows from a CSV / TSV / ``::`` / whitespace file.

    See :func:`read_table` for the delimiter and header rules. User and item ids may be any
    text: when every user (resp. item) id is an integer the column is int64, otherwise numpy
    ``U`` text (:func:`id_values`); ratings and timestamps must be finite numbers.

    Args:
        path: the file.
        names: column names for the file's width instead of the positional ``user, item,
            rating, timestamp``.
        layouts: ``{number of fields: column names}`` (default 2 to 4 fields as above).

    Returns:
        A DataFrame with columns ``user``, ``item`` and, when present, ``rating``,
        ``timestamp``; ``attrs["source"]`` names the file.

    Raises:
        DataError: missing or empty file, a row with the wrong number of fields, an empty field
            or a rating / timestamp that is not a number (naming the file and the 1-based line).
    """
    if names is not None:
        layouts = {len(names): tuple(names)}
    return read_table(path, layouts or RATINGS_LAYOUTS)


def read_ml1m_ratings(folder: str | Path) -> pd.DataFrame:
    """ML-1M ratings from ``folder/ratings.dat`` or, failing that, ``folder/ratings.csv``."""
    folder = Path(folder)
    for name in ("ratings.dat", "ratings.csv"):
        if (folder / name).exists():
            return read_ratings_file(folder / name)
    raise DataError(f"{folder}: expected ratings.dat (UserID::MovieID::Rating::Timestamp) or ratings.csv")


# --------------------------------------------------------------------------------------------
# The NCF protocol
# --------------------------------------------------------------------------------------------
def leave_latest_out(
    frame: pd.DataFrame,
    *,
    name: str,
    seed: int,
    num_test_negatives: int = 99,
    info: dict | None = None,
    shape: tuple[int, int] | None = None,
    validation: bool = False,
) -> ImplicitFeedback:
    """Build the NCF leave-one-out task from interaction rows.

    ``shape = (num_users, num_items)`` declares the rows' ids already internal (``0..n-1``,
    generated data): they are kept as they are instead of being re-indexed.

    * Users and items are re-indexed ``0..n-1`` in sorted order of their original ids (kept in
      ``user_ids`` / ``item_ids``: int64, or numpy ``U`` text ids).
    * Implicit feedback: every row is a positive, whatever its rating (seed 004 ``_reindex``);
      repeated (user, item) rows count once.
    * Each user's latest row (largest timestamp) is the test item; among rows sharing the
      latest timestamp the **first in the file** wins, which is what seed 004's
      ``rank(method='first', ascending=False)`` picks. The test pair is removed from training.
      **Without timestamps** the test row is drawn at random per user (a seeded random
      leave-one-out, ``info["split"]`` says so).
    * A user with a single row keeps it for training and gets no test item.
    * ``validation``: each user's second-latest item (without timestamps: a second random
      draw; never the test item) is held out too and becomes ``validation``; users with fewer
      than 3 distinct items keep theirs for training and have no validation row (when no user
      has 3, ``validation`` is ``None`` and ``info["validation"]`` says why).
    * ``num_test_negatives`` distinct negatives per test (and validation) user, never a
      training positive nor a held-out item of the user.

    Every draw comes from one ``numpy.random.default_rng(seed)``: the random hold-out (without
    timestamps), the test negatives, then the validation negatives. With ``validation=False``
    the arrays are the NCF protocol's as before the option existed.

    Raises:
        DataError: no user has two rows (nothing to test on), or too few items for the negatives.
    """
    source = frame.attrs.get("source", "the ratings file")
    if shape is None:
        user_ids, users = np.unique(ids_of(frame, "user"), return_inverse=True)
        item_ids, items = np.unique(ids_of(frame, "item"), return_inverse=True)
    else:
        user_ids, item_ids = np.arange(shape[0]), np.arange(shape[1])
        users, items = frame["user"].to_numpy(np.int64), frame["item"].to_numpy(np.int64)
    rng = np.random.default_rng(seed)
    rows = np.arange(len(frame))
    timed = "timestamp" in frame.columns
    # Sort by user, then latest first (or a random draw), then file order: the first row of
    # each user is its test row, the next one with another item its validation row.
    preference = -frame["timestamp"].to_numpy() if timed else rng.random(len(frame))
    order = np.lexsort((rows, preference, users))
    num_users, num_items = len(user_ids), len(item_ids)
    test_rows, val_rows = leave_one_out_rows(users, items, order, num_users, validation=validation)
    if test_rows.size == 0:
        raise DataError(f"{source}: no user has two or more interactions; nothing to test on")
    test_users = users[test_rows].astype(np.int64)
    test_items = items[test_rows].astype(np.int64)
    val_users, val_items = users[val_rows].astype(np.int64), items[val_rows].astype(np.int64)
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (users, items)), shape=(num_users, num_items))
    matrix.data[:] = 1.0  # duplicates summed by the constructor count once
    held = np.concatenate([test_rows, val_rows])
    held_out = sp.csr_matrix((np.ones(len(held), np.float32), (users[held], items[held])), shape=matrix.shape)
    train = (matrix - matrix.multiply(held_out)).tocsr()
    train.eliminate_zeros()
    train.sort_indices()
    with naming(source):  # too few free items for the negatives: name the file
        negatives, val_negatives = held_out_negatives(
            train, (test_users, test_items), (val_users, val_items) if validation else None, num_test_negatives, rng
        )
    split = "leave-latest-out" if timed else "random leave-one-out (no timestamps)"
    extra = {}
    if validation and val_rows.size:
        split += ", the second-latest item validation" if timed else ", a second random item validation"
    elif validation:  # an empty split would make every validation metric undefined
        extra["validation"] = "none: no user has 3 or more distinct items"
    return ImplicitFeedback(
        name=name,
        num_users=num_users,
        num_items=num_items,
        train=train,
        test_users=test_users,
        test_items=test_items,
        test_negatives=negatives,
        user_ids=user_ids,
        item_ids=item_ids,
        info={"source": source, "split": split, "seed": seed, "num_rows": len(frame), **extra, **(info or {})},
        validation=RankingSplit(val_users, val_items, val_negatives) if validation and val_rows.size else None,
    )


# --------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------
def _implicit(frame: pd.DataFrame, name: str, seed: int, num_test_negatives: int, threshold, validation) -> ImplicitFeedback:
    source = frame.attrs.get("source", "the ratings file")
    validation = check_flag(validation, "validation")
    frame = apply_threshold(frame, threshold, source)
    info = {} if threshold is None else {"threshold": check_threshold(threshold), "positives": f"rating >= {threshold}"}
    return leave_latest_out(frame, name=name, seed=seed, num_test_negatives=num_test_negatives, info=info, validation=validation)


def load_ml1m(
    path: Path, *, seed: int = 0, num_test_negatives: int = 99, threshold: float | None = None, validation: bool = False
) -> ImplicitFeedback:
    """MovieLens-1M (``ratings.dat`` or ``ratings.csv`` in ``path``) under the NCF protocol.

    ``threshold``: only ratings ``>= threshold`` are positives (default ``None``: every rating,
    the reference); ``validation``: also hold out each user's second-latest item (default off,
    the reference protocol).
    """
    return _implicit(read_ml1m_ratings(path), "ml-1m", seed, num_test_negatives, threshold, validation)


def load_ml100k(
    path: Path, *, seed: int = 0, num_test_negatives: int = 99, threshold: float | None = None, validation: bool = False
) -> ImplicitFeedback:
    """MovieLens-100K (``u.data`` in ``path``) under the NCF protocol (options as :func:`load_ml1m`)."""
    return _implicit(read_ratings_file(Path(path) / "u.data"), "ml-100k", seed, num_test_negatives, threshold, validation)


def load_ratings(
    path: Path, *, seed: int = 0, num_test_negatives: int = 99, threshold: float | None = None, validation: bool = True
) -> ImplicitFeedback:
    """A user's ratings file ``user,item[,rating[,timestamp]]`` (or a folder holding exactly one
    ``ratings.*`` file) under the NCF protocol.

    Ids may be any text. Without timestamps the test item is a seeded random one per user.

    Args:
        path: the file or folder.
        seed: seeds the random hold-out (without timestamps) and the negatives.
        num_test_negatives: sampled negatives per test / validation user (99).
        threshold: only rows with ``rating >= threshold`` are positives, the others are dropped
            before the split (default ``None``: every row).
        validation: also hold out each user's second-latest item as a validation split (default
            ``True``: model selection never looks at the test set).
    """
    file = find_user_file(Path(path).expanduser(), ("ratings",), "user,item[,rating[,timestamp]] rows")
    return _implicit(read_ratings_file(file), "ratings", seed, num_test_negatives, threshold, validation)


def load_ncf_split(path: Path, *, seed: int = 0, num_test_negatives: int = 99) -> ImplicitFeedback:
    """The NCF paper's ML-1M split files, used as they are (ids from 0, 99 given negatives).

    ``seed`` does not change the split or the negatives (they are in the files).
    """
    path = Path(path)
    train = _read_numeric(path / "ml-1m.train.rating", 4)
    test = _read_numeric(path / "ml-1m.test.rating", 4)
    negatives_file = path / "ml-1m.test.negative"
    try:
        raw = pd.read_csv(negatives_file, sep="\t", header=None, dtype=str)
    except FileNotFoundError:
        raise DataError(f"{negatives_file}: file not found") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(f"{negatives_file}: expected lines of '(user,item)' then tab-separated negatives ({error})") from None
    if raw.shape[1] < 2:
        raise DataError(f"{negatives_file}: expected '(user,item)' then tab-separated negatives; the file has no negatives")
    first = raw.iloc[:, 0].str.extract(r"^\((\d+),(\d+)\)$")
    if first.isna().any().any():
        line = int(np.flatnonzero(first.isna().any(axis=1).to_numpy())[0]) + 1
        raise DataError(f"{negatives_file}, line {line}: expected '(user,item)' then tab-separated negatives")
    negatives = raw.iloc[:, 1:].dropna(axis=1, how="all").apply(pd.to_numeric, errors="coerce")
    if negatives.isna().any().any():
        line = int(np.flatnonzero(negatives.isna().any(axis=1).to_numpy())[0]) + 1
        raise DataError(f"{negatives_file}, line {line}: negatives must be integers, the same number on every line")
    if ((negatives < 0) | (negatives >= 2**31) | (negatives != np.floor(negatives))).any().any():
        line = int(np.flatnonzero(((negatives < 0) | (negatives >= 2**31) | (negatives != np.floor(negatives))).any(axis=1).to_numpy())[0]) + 1
        raise DataError(f"{negatives_file}, line {line}: negatives must be item ids from 0 (integers below 2**31)")
    negatives = negatives.to_numpy(np.int64)
    if len(negatives) != len(test) or not np.array_equal(first.to_numpy(np.int64), test[:, :2]):
        raise DataError(f"{negatives_file}: its (user,item) pairs do not match ml-1m.test.rating line for line")
    num_users = int(max(train[:, 0].max(), test[:, 0].max())) + 1
    num_items = int(max(train[:, 1].max(), test[:, 1].max(), negatives.max())) + 1
    matrix = sp.csr_matrix(
        (np.ones(len(train), np.float32), (train[:, 0], train[:, 1])), shape=(num_users, num_items)
    )
    matrix.data[:] = 1.0
    matrix.sort_indices()
    return ImplicitFeedback(
        name="ml-1m-ncf",
        num_users=num_users,
        num_items=num_items,
        train=matrix,
        test_users=test[:, 0].astype(np.int64),
        test_items=test[:, 1].astype(np.int64),
        test_negatives=negatives[:, :num_test_negatives] if num_test_negatives < negatives.shape[1] else negatives,
        info={"source": str(path), "split": "NCF paper files"},
    )


def _read_numeric(file: Path, width: int) -> np.ndarray:
    """A tab-separated all-integer file as an ``[N, width]`` int64 array, with clear errors."""
    try:
        frame = pd.read_csv(file, sep="\t", header=None, dtype=str)
    except FileNotFoundError:
        raise DataError(f"{file}: file not found") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{file}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(f"{file}: expected {width} tab-separated fields per line ({error})") from None
    if frame.shape[1] != width:
        raise DataError(f"{file}: expected {width} tab-separated fields per line; got {frame.shape[1]}")
    values = frame.apply(pd.to_numeric, errors="coerce")
    ids = values[[0, 1]]
    bad = values.isna().any(axis=1) | ((ids < 0) | (ids >= 2**31) | (ids != np.floor(ids))).any(axis=1)  # ids from 0
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise DataError(f"{file}, line {line}: expected {width} integers, user and item ids from 0 (below 2**31)")
    return values.to_numpy(np.int64)
