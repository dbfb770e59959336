"""MovieLens, the NCF paper's split files and users' own ratings files -> ImplicitFeedback.

Loaders (the registry calls ``loader(path, seed=seed, **options)``):

* :func:`load_ml1m` -- ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``) or, when that is
  what the folder holds, ``ratings.csv`` (``user_id,item_id,rating[,timestamp]``);
* :func:`load_ml100k` -- ``u.data`` (tab-separated ``user item rating timestamp``);
* :func:`load_ncf_split` -- the NCF paper's ``ml-1m.train.rating`` / ``.test.rating`` /
  ``.test.negative`` used as they are (its 99 negatives per user, no re-sampling);
* :func:`load_ratings` -- a user's CSV/TSV ``user,item[,rating[,timestamp]]``, header or not.

All but the NCF split go through :func:`leave_latest_out`, the NCF protocol of seed 004
(``_reindex``, ``_leave_one_out``, ``_negative_sampling``): every rating is a positive, each
user's latest interaction is the test item, 99 test negatives per user fixed by the seed.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrec.data.sampling import sample_test_negatives
from tfrec.data.types import ImplicitFeedback
from tfrec.errors import DataError, naming

COLUMNS = ("user", "item", "rating", "timestamp")


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


def read_ratings_file(path: str | Path, *, names: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Read ``user,item[,rating[,timestamp]]`` rows from a CSV / TSV / ``::`` / whitespace file.

    The delimiter is detected from the first line; a first line whose fields are not all numbers
    is a header (its names are ignored: columns are positional). Users and items may be any
    integers; ratings and timestamps must be numbers.

    Args:
        path: the file.
        names: column names to use instead of the positional ``user, item, rating, timestamp``.

    Returns:
        A DataFrame with columns ``user``, ``item`` and, when present, ``rating``, ``timestamp``.

    Raises:
        DataError: missing or empty file, a row with the wrong number of fields or a value that
            is not a number (the message names the file and the 1-based line number).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="latin-1")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder; expected a ratings file") from None
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise DataError(f"{path}: the file is empty; expected rows of user,item[,rating[,timestamp]]")
    sep = _sniff(lines[first])
    fields = re.split(sep, lines[first].strip()) if sep == r"\s+" else lines[first].strip().split(sep)
    header = not all(_is_number(f.strip().strip('"')) for f in fields)
    width = len(fields)
    if not 2 <= width <= 4:
        raise DataError(
            f"{path}, line {first + 1}: expected 2 to 4 fields (user,item[,rating[,timestamp]]); got {width}: {lines[first]!r}"
        )
    columns = list(names or COLUMNS[:width])
    if sep == "::":
        text, sep = text.replace("::", "\t"), "\t"
    skip = first + (1 if header else 0)
    engine = "c" if sep != r"\s+" else "python"
    try:  # fast path: every value numeric
        numeric = pd.read_csv(io.StringIO(text), sep=sep, header=None, names=columns, skiprows=skip, dtype=np.float64, engine=engine)
        if numeric.empty:
            raise DataError(f"{path}: no rows after the header; expected user,item[,rating[,timestamp]]")
        if not numeric.isna().to_numpy().any():
            numeric.attrs["source"] = str(path)
            return _integer_ids(numeric, path)
    except (ValueError, pd.errors.ParserError):
        pass
    _diagnose(path, text, lines, sep, skip, columns, engine)
    raise DataError(f"{path}: cannot parse as user,item[,rating[,timestamp]] rows")  # pragma: no cover


def _diagnose(path: Path, text: str, lines: list[str], sep: str, skip: int, columns: list[str], engine: str) -> None:
    """Find the first bad line of a ratings file and raise a DataError naming it."""
    width = len(columns)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, header=None, names=columns, skiprows=skip, dtype=str, engine=engine)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no rows after the header; expected user,item[,rating[,timestamp]]") from None
    except pd.errors.ParserError as error:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        if match:
            line = int(match.group(2))  # pandas counts physical lines, skipped header and blank ones too
            raise DataError(
                f"{path}, line {line}: expected {match.group(1)} fields like the first row; got {match.group(3)}: "
                f"{lines[line - 1]!r}"
            ) from None
        raise DataError(f"{path}: cannot parse ({error})") from None
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().any(axis=1).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        data_lines = [i for i in range(skip, len(lines)) if lines[i].strip()]  # pandas skips blank lines
        line = data_lines[row] + 1
        raise DataError(
            f"{path}, line {line}: expected {width} numeric fields ({','.join(columns)}); got {lines[line - 1]!r}"
        )


def _integer_ids(numeric: pd.DataFrame, path: Path) -> pd.DataFrame:
    for column in ("user", "item"):
        values = numeric[column].to_numpy()
        bad = (values != np.floor(values)) | ~(np.abs(values) < 2.0**63)  # fractions, inf, beyond int64
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{path}: {column} ids must be integers (within int64); data row {row + 1} has {values[row]!r}")
        numeric[column] = values.astype(np.int64)
    return numeric


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
) -> ImplicitFeedback:
    """Build the NCF leave-one-out task from interaction rows.

    ``shape = (num_users, num_items)`` declares the rows' ids already internal (``0..n-1``,
    generated data): they are kept as they are instead of being re-indexed.

    * Users and items are re-indexed ``0..n-1`` in order of their original ids (kept in
      ``user_ids`` / ``item_ids``).
    * Implicit feedback: every row is a positive, whatever its rating (seed 004 ``_reindex``);
      repeated (user, item) rows count once.
    * Each user's latest row (largest timestamp) is the test item; among rows sharing the
      latest timestamp the **first in the file** wins, which is what seed 004's
      ``rank(method='first', ascending=False)`` picks. The test pair is removed from training.
    * A user with a single row keeps it for training and gets no test item.
    * ``num_test_negatives`` distinct negatives per test user, never a training positive nor
      the held-out item, drawn with ``numpy.random.default_rng(seed)``.

    Raises:
        DataError: the rows have no timestamps (the split needs time order).
    """
    source = frame.attrs.get("source", "the ratings file")
    if "timestamp" not in frame.columns:
        raise DataError(
            f"{source} has no timestamps; the leave-latest-out split needs them "
            "(ratings.dat has them, the ratings.csv in shared/data/ml-1m does not)"
        )
    if shape is None:
        user_ids, users = np.unique(frame["user"].to_numpy(), return_inverse=True)
        item_ids, items = np.unique(frame["item"].to_numpy(), return_inverse=True)
    else:
        user_ids, item_ids = np.arange(shape[0]), np.arange(shape[1])
        users, items = frame["user"].to_numpy(np.int64), frame["item"].to_numpy(np.int64)
    times = frame["timestamp"].to_numpy()
    rows = np.arange(len(frame))
    # Sort by user, then latest first, then file order: the first row of each user is its test row.
    order = np.lexsort((rows, -times, users))
    first_of_user = np.ones(len(order), dtype=bool)
    first_of_user[1:] = users[order][1:] != users[order][:-1]
    counts = np.bincount(users, minlength=len(user_ids))
    test_rows = order[first_of_user & (counts[users[order]] > 1)]
    test_users = users[test_rows].astype(np.int64)
    test_items = items[test_rows].astype(np.int64)
    num_users, num_items = len(user_ids), len(item_ids)
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (users, items)), shape=(num_users, num_items))
    matrix.data[:] = 1.0  # duplicates summed by the constructor count once
    held_out = sp.csr_matrix((np.ones(len(test_rows), np.float32), (test_users, test_items)), shape=matrix.shape)
    train = (matrix - matrix.multiply(held_out)).tocsr()
    train.eliminate_zeros()
    train.sort_indices()
    with naming(source):  # too few free items for the negatives: name the file
        negatives = sample_test_negatives(train, test_users, test_items, num_test_negatives, np.random.default_rng(seed))
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
        info={"source": source, "split": "leave-latest-out", "seed": seed, **(info or {})},
    )


# --------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------
def load_ml1m(path: Path, *, seed: int = 0, num_test_negatives: int = 99) -> ImplicitFeedback:
    """MovieLens-1M (``ratings.dat`` or ``ratings.csv`` in ``path``) under the NCF protocol."""
    return leave_latest_out(read_ml1m_ratings(path), name="ml-1m", seed=seed, num_test_negatives=num_test_negatives)


def load_ml100k(path: Path, *, seed: int = 0, num_test_negatives: int = 99) -> ImplicitFeedback:
    """MovieLens-100K (``u.data`` in ``path``) under the NCF protocol."""
    frame = read_ratings_file(Path(path) / "u.data")
    return leave_latest_out(frame, name="ml-100k", seed=seed, num_test_negatives=num_test_negatives)


def load_ratings(path: Path, *, seed: int = 0, num_test_negatives: int = 99) -> ImplicitFeedback:
    """A user's ratings file (or a folder holding exactly one ``ratings.*`` file)."""
    path = Path(path)
    if path.is_dir():
        candidates = sorted(p for p in path.iterdir() if p.is_file() and p.name.startswith("ratings."))
        if len(candidates) != 1:
            found = ", ".join(p.name for p in candidates) or "none"
            raise DataError(f"{path}: expected exactly one ratings.csv / ratings.tsv / ratings.dat file; found {found}")
        path = candidates[0]
    return leave_latest_out(read_ratings_file(path), name="ratings", seed=seed, num_test_negatives=num_test_negatives)


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
