"""Reading users' and datasets' files, shared by every loader: text, tables, pickles, options.

Nothing here knows a task or a protocol; the loaders (:mod:`tfrec.data.movielens`,
:mod:`tfrec.data.multibehavior`, :mod:`tfrec.data.sequences`, :mod:`tfrec.data.sessions`,
:mod:`tfrec.data.ctr`) and the generators (:mod:`tfrec.data.synthetic`) import from here, never
from each other.

* Files: :func:`read_text` (UTF-8, else Latin-1), :func:`read_lines`, :func:`find_user_file` (the one ``<prefix>.*``
  file of a folder), :func:`sniff_delimiter` (the delimiter of a first line) and
  :func:`line_finder` (file line numbers for messages).
* Ids: :func:`id_values` and :func:`ids_of` (int64 when every id is an integer, else text).
* Options: :func:`check_flag`, :func:`check_threshold`, :func:`check_fraction` and
  :func:`apply_threshold` (``--set`` values checked with messages naming the option).
* Tables: :func:`read_table` (positional columns, header detection, errors naming the line),
  :func:`read_ratings_file` and :func:`read_ml1m_ratings`.
* Pickles: :func:`safe_unpickle`, which admits only the classes the reference datasets' pickles
  hold.
"""

from __future__ import annotations

import io
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from tfrec.errors import DataError


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
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


def read_lines(path: Path, what: str, expected: str) -> tuple[str, list[str], int]:
    """``(text, lines, first)``: the file's text (:func:`read_text`, ``what`` names the file a
    folder stands in for), its lines and the index of the first non-empty one.

    Raises:
        DataError: the file has no non-empty line ("the file is empty; expected ``expected``").
    """
    text = read_text(path, what)
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise DataError(f"{path}: the file is empty; expected {expected}")
    return text, lines, first


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


def sniff_delimiter(first_line: str, candidates: tuple[str, ...] = ("\t", ",", ";"), default: str = ",") -> str:
    r"""The first of ``candidates`` that occurs in ``first_line``, else ``default``.

    Rating tables (:func:`read_table`) try ``("::", "\t", ",", ";")`` and fall back to
    whitespace (``r"\s+"``); session logs and click files use the defaults (tab, comma,
    semicolon; comma when none occurs).
    """
    return next((sep for sep in candidates if sep in first_line), default)


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


# --------------------------------------------------------------------------------------------
# Ids
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------
def check_flag(value, option: str) -> bool:
    """A true/false option; anything else is a DataError naming ``--set option``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise DataError(f"--set {option} must be true or false; got {value!r}")


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


def check_fraction(value, option: str, *, zero: bool) -> float:
    """A fraction option: in ``[0, 1)`` with ``zero``, else in ``(0, 1)``; a DataError naming
    ``--set option`` otherwise."""
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))
    if ok:
        value = float(value)
        ok = (0.0 <= value < 1.0) if zero else (0.0 < value < 1.0)
    if not ok:
        interval = "[0, 1)" if zero else "(0, 1)"
        raise DataError(f"--set {option} must be a fraction in {interval}; got {value!r}")
    return value


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


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------
COLUMNS = ("user", "item", "rating", "timestamp")
NUMERIC = ("rating", "timestamp")
RATINGS_LAYOUTS = {2: ("user", "item"), 3: ("user", "item", "rating"), 4: COLUMNS}
TABLE_DELIMITERS = ("::", "\t", ",", ";")  # tried in this order; whitespace when none occurs

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


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _word(text: str) -> str:
    return text.strip().strip('"').strip("'").lower().replace("_", "").replace("-", "").replace(" ", "")


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
    text, lines, first = read_lines(path, f"a file of {what} rows", f"rows of {what}")
    sep = sniff_delimiter(lines[first], TABLE_DELIMITERS, r"\s+")
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
# Pickles
# --------------------------------------------------------------------------------------------
_ALLOWED = {
    ("scipy.sparse.csr", "csr_matrix"),
    ("scipy.sparse._csr", "csr_matrix"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("builtins", "list"),
    ("builtins", "tuple"),
    ("builtins", "dict"),
}


class _SafeUnpickler(pickle.Unpickler):
    def __init__(self, file, path: Path):
        super().__init__(file)
        self.path = path

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise DataError(f"{self.path}: refusing to unpickle {module}.{name} (only scipy CSR matrices and lists are expected)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return super().find_class(module, name)


def safe_unpickle(path: str | Path):
    """Unpickle ``path`` admitting only scipy CSR matrices, numpy arrays and plain lists.

    Raises:
        DataError: the file is missing, truncated or corrupt, or holds any other class.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return _SafeUnpickler(handle, path).load()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except DataError:
        raise
    except Exception as error:  # truncated or corrupt pickles raise many types
        raise DataError(f"{path}: not a readable pickle ({type(error).__name__}: {error})") from None
