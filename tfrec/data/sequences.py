"""Next-item sequences for AttRec (seed 001, "Data": ``create_implicit_ml_1m_dataset``).

The reference loops over users in pandas and over positions in Python, re-drawing each
negative with ``random.randint`` until it is not one of the user's items (18 s for ML-1M).
:func:`build_sequences` does the same split with array operations:

* rows are sorted by user, then timestamp, then file order (pandas' stable multi-column sort);
* per user with ``n`` items, position ``n - 1`` is the test target, ``n - 2`` the validation
  target, ``1 .. n - 3`` the training targets; the history of position ``j`` is the ``L = maxlen``
  items before it, left-padded with 0 (Keras ``pad_sequences``' default ``padding="pre"``,
  ``truncating="pre"``);
* negatives are drawn uniformly, with replacement, among the items the user never had: one per
  training and validation example and ``num_test_negatives`` per test user, once, fixed by the
  seed (the reference also draws them once, before training).

Deliberate differences from the reference, also listed in :class:`tfrec.models.attrec.AttRec`:

* items are renumbered ``1..n`` by raw id; the reference samples negatives from every id in
  ``1..max id``, which for ML-1M includes 246 ids with no rating at all (free, untrained
  negatives). tfrec draws only real items.
* the reference's test set has ``len + 100 - (len - 1) = 101`` negatives per user (the tail of
  its negative list); tfrec keeps 101 by default (``num_test_negatives``).

With ``validation=True`` the validation examples also get ``num_test_negatives`` sampled
negatives each and become :attr:`SequenceData.validation`, a ranking split like the test one;
those negatives are drawn after every other draw, so the training and test arrays do not change.

Loaders: :func:`load_ml1m_sequences` (``ml-1m-seq``) and :func:`load_sequences` (``sequences``,
a user's own ``user,item[,rating],timestamp`` file, ids of any text).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrec.data.movielens import (
    apply_threshold,
    check_flag,
    check_threshold,
    find_user_file,
    ids_of,
    read_ml1m_ratings,
    read_ratings_file,
)
from tfrec.data.sampling import sample_negatives
from tfrec.data.types import RankingSplit, SequenceData
from tfrec.errors import DataError, naming

SEQUENCE_LAYOUTS = {2: ("user", "item"), 3: ("user", "item", "timestamp"), 4: ("user", "item", "rating", "timestamp")}


def build_sequences(
    users: np.ndarray,
    items: np.ndarray,
    times: np.ndarray,
    *,
    maxlen: int = 5,
    seed: int = 0,
    num_test_negatives: int = 101,
    name: str = "sequences",
    info: dict | None = None,
    validation: bool = False,
) -> SequenceData:
    """Cut interaction rows into AttRec's train / validation / test examples (vectorised).

    Args:
        users, items: ``[R]`` raw ids (any sortable values: int64 or numpy ``U`` text).
        times: ``[R]`` timestamps (ties keep file order).
        maxlen: history length ``L`` (seed 001 ``maxlen = 5``).
        seed: seeds the negatives (``numpy.random.default_rng(seed)``).
        num_test_negatives: negatives per test user (seed 001: 101, see the module docstring),
            and per validation example with ``validation``.
        name, info: dataset name and provenance.
        validation: also build :attr:`SequenceData.validation` from the validation examples
            (``num_test_negatives`` negatives each, drawn after every other draw); it stays
            ``None`` when no user has 3 items (``info["validation"]`` says so).

    Returns:
        :class:`SequenceData`.
    """
    if maxlen < 1:
        raise DataError(f"maxlen must be at least 1; got {maxlen}")
    if num_test_negatives < 1:
        raise DataError(f"num_test_negatives must be at least 1; got {num_test_negatives}")
    user_ids, user_index = np.unique(np.asarray(users), return_inverse=True)
    item_ids, item_index = np.unique(np.asarray(items), return_inverse=True)
    num_users, num_items = len(user_ids), len(item_ids)
    rows = np.arange(len(user_index))
    order = np.lexsort((rows, np.asarray(times), user_index))  # user, then time, then file order
    seq_users = user_index[order].astype(np.int64)
    seq_items = item_index[order].astype(np.int64) + 1  # 0 pads
    counts = np.bincount(seq_users, minlength=num_users)
    starts = np.cumsum(counts) - counts
    position = rows - starts[seq_users]
    length = counts[seq_users]

    offsets = np.arange(-maxlen, 0)
    valid = position[:, None] + offsets >= 0
    histories = np.where(valid, seq_items[np.maximum(rows[:, None] + offsets, 0)], 0).astype(np.int32)

    user_items = sp.csr_matrix(
        (np.ones(len(seq_users), np.float32), (seq_users, seq_items)), shape=(num_users, num_items + 1)
    )
    user_items.sum_duplicates()
    user_items.data[:] = 1.0
    # negatives are drawn among items 1..n: sample over columns 1..n of the user's item matrix
    # (column 0, the padding id, is excluded by sampling from the shifted matrix)
    shifted = user_items[:, 1:].tocsr()
    rng = np.random.default_rng(seed)

    def split(mask):
        index = np.flatnonzero(mask)
        return seq_users[index].astype(np.int32), histories[index], seq_items[index].astype(np.int32)

    train = split((position >= 1) & (position <= length - 3))
    val = split((position == length - 2) & (length >= 3))
    test = split((position == length - 1) & (length >= 2))
    if len(test[0]) == 0:
        raise DataError(f"{name}: no user has two or more interactions; nothing to test on")

    def negatives(for_users):
        return (sample_negatives(for_users, shifted, rng) + 1).astype(np.int32)

    train_negatives = negatives(train[0])
    val_negatives = negatives(val[0])
    test_negatives = negatives(np.repeat(test[0], num_test_negatives)).reshape(-1, num_test_negatives)
    held, extra = None, {}
    if validation and len(val[0]):  # drawn last: the arrays above are the same with or without it
        ranked = negatives(np.repeat(val[0], num_test_negatives)).reshape(-1, num_test_negatives)
        held = RankingSplit(users=val[0], items=val[2], negatives=ranked, histories=val[1])
    elif validation:
        extra["validation"] = "none: no user has 3 or more items"
    split = "per-user time order: last = test, second last = validation"
    return SequenceData(
        name=name,
        num_users=num_users,
        num_items=num_items,
        maxlen=maxlen,
        train_users=train[0], train_histories=train[1], train_items=train[2], train_negatives=train_negatives,
        val_users=val[0], val_histories=val[1], val_items=val[2], val_negatives=val_negatives,
        test_users=test[0], test_histories=test[1], test_items=test[2], test_negatives=test_negatives,
        user_items=user_items,
        user_ids=user_ids,
        item_ids=item_ids,
        info={"split": split, "seed": seed, "num_rows": len(user_index), **extra, **(info or {})},
        validation=held,
    )


def _from_frame(
    frame: pd.DataFrame, *, name: str, seed: int, maxlen: int, num_test_negatives: int, threshold, validation
) -> SequenceData:
    source = frame.attrs.get("source", "the ratings file")
    validation = check_flag(validation, "validation")
    if "timestamp" not in frame.columns:
        raise DataError(
            f"{source} has no timestamps; AttRec's sequences need each user's items in time order "
            "(rows of user,item[,rating],timestamp)"
        )
    frame = apply_threshold(frame, threshold, source)
    info = {"source": source}
    if threshold is not None:
        info.update(threshold=check_threshold(threshold), positives=f"rating >= {threshold}")
    with naming(source):  # nothing to test on, too few free items: name the file
        return build_sequences(
            ids_of(frame, "user"), ids_of(frame, "item"), frame["timestamp"].to_numpy(),
            maxlen=maxlen, seed=seed, num_test_negatives=num_test_negatives, name=name, info=info, validation=validation,
        )


def load_ml1m_sequences(
    path: Path,
    *,
    seed: int = 0,
    maxlen: int = 5,
    num_test_negatives: int = 101,
    threshold: float | None = None,
    validation: bool = False,
) -> SequenceData:
    """MovieLens-1M ``ratings.dat`` (with timestamps) as AttRec sequences.

    Every rating is an interaction (seed 001's ``trans_score = 1`` keeps ratings >= 1, i.e. all);
    ``threshold`` keeps only ratings at or above it. ``validation`` (default off, the
    reference protocol) adds the validation ranking split.
    """
    return _from_frame(read_ml1m_ratings(path), name="ml-1m", seed=seed, maxlen=maxlen,
                       num_test_negatives=num_test_negatives, threshold=threshold, validation=validation)


def load_sequences(
    path: Path,
    *,
    seed: int = 0,
    maxlen: int = 5,
    num_test_negatives: int = 101,
    threshold: float | None = None,
    validation: bool = True,
) -> SequenceData:
    """A user's own sequences: a CSV/TSV file of ``user,item,timestamp`` or
    ``user,item,rating,timestamp`` rows (header or not; a 3-field header naming a rating column
    means ``user,item,rating`` and is refused: no time order), or a folder holding exactly one
    ``sequences.*`` or ``ratings.*`` file, split as AttRec's (see :func:`build_sequences`).

    Ids may be any text (int64 when all are integers). Timestamps are numbers.

    Args:
        path: the file or folder.
        seed: seeds the negatives.
        maxlen: history length ``L`` (5).
        num_test_negatives: sampled negatives per test and validation example (101).
        threshold: keep only rows with ``rating >= threshold`` (default ``None``: every row).
        validation: add the validation ranking split (default ``True``).

    Raises:
        DataError: a malformed file (naming the file and line), no timestamps, or nothing to test on.
    """
    file = find_user_file(Path(path).expanduser(), ("sequences", "ratings"), "user,item[,rating],timestamp rows")
    return _from_frame(read_ratings_file(file, layouts=SEQUENCE_LAYOUTS), name="sequences", seed=seed, maxlen=maxlen,
                       num_test_negatives=num_test_negatives, threshold=threshold, validation=validation)


def load_synthetic_sequences(
    path=None,
    *,
    seed: int = 0,
    maxlen: int = 5,
    num_test_negatives: int = 101,
    num_users: int = 800,
    num_items: int = 500,
    length: int = 30,
    follow: float = 0.6,
    validation: bool = False,
) -> SequenceData:
    """Synthetic sequences with a short-term (previous item) and a long-term (user taste) signal.

    Items sit on a circle; each user has a favourite region. The next item is, with probability
    ``follow``, one of the 3 items after the previous one on the circle (short-term structure a
    self-attention model can learn), else drawn from the user's region (long-term taste).
    Generated offline in milliseconds; the offline default for AttRec. ``validation`` adds the
    validation ranking split (default off).
    """
    validation = check_flag(validation, "validation")
    if path is not None:
        raise DataError("synthetic-seq is generated; it takes no --data-dir")
    rng = np.random.default_rng([seed, 1729])
    centre = rng.integers(0, num_items, num_users)
    seq = np.empty((num_users, length), np.int64)
    seq[:, 0] = (centre + rng.integers(-20, 21, num_users)) % num_items
    for t in range(1, length):  # a loop over time steps only (30), vectorised over users
        step = (seq[:, t - 1] + rng.integers(1, 4, num_users)) % num_items
        taste = (centre + rng.integers(-20, 21, num_users)) % num_items
        seq[:, t] = np.where(rng.random(num_users) < follow, step, taste)
    users = np.repeat(np.arange(num_users), length)
    times = np.tile(np.arange(length), num_users)
    data = build_sequences(users, seq.ravel(), times, maxlen=maxlen, seed=seed, num_test_negatives=num_test_negatives,
                           name="synthetic-seq", info={"source": "synthetic", "generator": "circle walk", "follow": follow},
                           validation=validation)
    return data
