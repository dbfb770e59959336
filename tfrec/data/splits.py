"""The evaluation protocols: how interaction rows become training, validation and test data.

Shared by the loaders of real data and the generators of :mod:`tfrec.data.synthetic`, so a
generated dataset goes through exactly the protocol of the real one it stands in for:

* :func:`leave_latest_out` -- the NCF protocol (seed 004): each user's latest item is the test
  item, with sampled test negatives (:mod:`tfrec.data.movielens`, ``synthetic``);
* :func:`build_sequences` -- AttRec's per-user time-ordered examples (seed 001;
  :mod:`tfrec.data.sequences`, ``synthetic-seq``);
* :func:`prefix_pairs` -- SR-GNN / COTREC's prefix augmentation of sessions (seed 002;
  :mod:`tfrec.data.sessions`, ``synthetic-sessions``);
* :func:`stratified_test_mask` and :func:`stratified_split` -- the CTR split, a random share of
  each user's rows (seed 003; :mod:`tfrec.data.ctr`, ``synthetic-ctr``).

Numpy / scipy / pandas only (no TensorFlow).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrec.data.files import ids_of
from tfrec.data.sampling import held_out_negatives, leave_one_out_rows, sample_negatives
from tfrec.data.types import ClickSplit, ImplicitFeedback, RankingSplit, SequenceData, SessionSequences
from tfrec.errors import DataError, naming


# --------------------------------------------------------------------------------------------
# Implicit feedback: the NCF protocol
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
# Sequences: AttRec's examples
# --------------------------------------------------------------------------------------------
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
        num_test_negatives: negatives per test user (seed 001: 101, see :mod:`tfrec.data.sequences`),
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


# --------------------------------------------------------------------------------------------
# Sessions: prefix augmentation
# --------------------------------------------------------------------------------------------
def prefix_pairs(sessions: SessionSequences, *, min_prefix_len: int = 1) -> tuple[SessionSequences, np.ndarray]:
    """Every prefix of every session labelled with its next item (SR-GNN's ``process_seqs``).

    For a session ``s`` of length ``L`` the pairs are ``(s[:-1], s[-1]), (s[:-2], s[-2]), ...``,
    longest prefix first, down to prefixes of length ``min_prefix_len``; sessions in their order.
    This is the order of COTREC's ``train.txt`` and ``test.txt`` (RetailRocket's files use
    ``min_prefix_len=2``). Vectorised.

    Returns:
        ``(prefixes, targets [P] int32)``.
    """
    lengths = sessions.lengths
    starts = sessions.offsets[:-1]
    pairs_per_session = np.maximum(lengths - min_prefix_len, 0)
    num_pairs = int(pairs_per_session.sum())
    session_of_pair = np.repeat(np.arange(len(sessions)), pairs_per_session)
    # rank within the session: 0 for the longest prefix
    rank = np.arange(num_pairs) - np.repeat(np.cumsum(pairs_per_session) - pairs_per_session, pairs_per_session)
    prefix_len = lengths[session_of_pair] - 1 - rank
    pair_start = starts[session_of_pair]
    offsets = np.zeros(num_pairs + 1, dtype=np.int64)
    np.cumsum(prefix_len, out=offsets[1:])
    within = np.arange(int(offsets[-1])) - np.repeat(offsets[:-1], prefix_len)
    values = sessions.values[np.repeat(pair_start, prefix_len) + within]
    targets = sessions.values[pair_start + prefix_len]
    return SessionSequences(values.astype(np.int32), offsets), targets.astype(np.int32)


# --------------------------------------------------------------------------------------------
# CTR: a random share of each user's rows
# --------------------------------------------------------------------------------------------
def stratified_test_mask(groups: np.ndarray, test_size: float, rng: np.random.Generator) -> np.ndarray:
    """``[N]`` bool: a random ``round(test_size * n_g)`` rows of each group ``g`` (vectorised).

    Args:
        groups: ``[N]`` non-negative int group (user) of each row.
        test_size: fraction in (0, 1).
        rng: the generator that picks the rows.
    """
    if not 0.0 < float(test_size) < 1.0:
        raise DataError(f"test_size must be in (0, 1); got {test_size!r}")
    groups = np.asarray(groups, dtype=np.int64)
    n = len(groups)
    order = np.lexsort((rng.random(n), groups))  # by group, random within a group
    counts = np.bincount(groups)
    starts = np.cumsum(counts) - counts
    sorted_groups = groups[order]
    rank = np.arange(n) - starts[sorted_groups]
    take = np.floor(counts * float(test_size) + 0.5).astype(np.int64)
    mask = np.zeros(n, dtype=bool)
    mask[order[rank < take[sorted_groups]]] = True
    return mask


def stratified_split(
    features: dict, labels: np.ndarray, groups: np.ndarray, test_size: float, rng, validation: float = 0.0
) -> tuple:
    """``(train features, train labels, test features, test labels, validation ClickSplit or None)``.

    The test rows are a random ``test_size`` of each group's rows; then, with ``validation``, a
    random ``validation`` share of each group's remaining (training) rows is held out as the
    validation split, drawn after the test rows so those do not depend on ``validation``
    (``None`` when the rounding leaves it no row).
    """
    test = stratified_test_mask(groups, test_size, rng)
    train_rows, test_rows = np.flatnonzero(~test), np.flatnonzero(test)
    held = None
    if validation:
        in_val = stratified_test_mask(groups[train_rows], validation, rng)
        val_rows, train_rows = train_rows[in_val], train_rows[~in_val]
        if val_rows.size:  # else None: an empty split has no metrics (the loaders' info says so)
            held = ClickSplit({k: np.ascontiguousarray(v[val_rows]) for k, v in features.items()}, labels[val_rows])
    train_f = {k: np.ascontiguousarray(v[train_rows]) for k, v in features.items()}
    test_f = {k: np.ascontiguousarray(v[test_rows]) for k, v in features.items()}
    return train_f, labels[train_rows], test_f, labels[test_rows], held


def validation_rule(validation: float, held, per: str) -> str:
    """The validation part of a CTR split's ``info["split"]`` text (``""`` without validation);
    ``held`` is :func:`stratified_split`'s validation split, ``per`` whose rows (``"each user's"``)."""
    if not validation:
        return ""
    if held is None:
        return f"; no validation rows ({per} training rows are too few for --set validation={validation:g})"
    return f", then {validation:g} of {per} training rows as validation"
