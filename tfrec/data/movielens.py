"""MovieLens, the NCF paper's split files and users' own ratings files -> ImplicitFeedback.

Loaders (the registry calls ``loader(path, seed=seed, **options)``):

* :func:`load_ml1m` -- ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``) or, when that is
  what the folder holds, ``ratings.csv`` (``user_id,item_id,rating[,timestamp]``);
* :func:`load_ml100k` -- ``u.data`` (tab-separated ``user item rating timestamp``);
* :func:`load_ncf_split` -- the NCF paper's ``ml-1m.train.rating`` / ``.test.rating`` /
  ``.test.negative`` used as they are (its 99 negatives per user, no re-sampling);
* :func:`load_ratings` -- a user's CSV/TSV ``user,item[,rating[,timestamp]]``, header or not,
  ids of any text.

All but the NCF split go through :func:`tfrec.data.splits.leave_latest_out`, the NCF protocol of seed 004
(``_reindex``, ``_leave_one_out``, ``_negative_sampling``): every rating is a positive (or those
``>= threshold``), each user's latest interaction is the test item (a seeded random one without
timestamps), 99 test negatives per user fixed by the seed; optionally the second-latest item is
a validation split (on by default for a user's own data, off for the reference datasets).
The files are read by :mod:`tfrec.data.files` (:func:`~tfrec.data.files.read_ratings_file`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrec.data.files import (
    apply_threshold,
    check_flag,
    check_threshold,
    find_user_file,
    read_ml1m_ratings,
    read_ratings_file,
)
from tfrec.data.splits import leave_latest_out
from tfrec.data.types import ImplicitFeedback
from tfrec.errors import DataError


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
