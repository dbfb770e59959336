"""Vectorised negative sampling over a sparse user x item matrix (numpy only).

No Python loop over users or rows: candidates are drawn for every row at once and checked
against the positives through sorted ``user * num_items + item`` keys and ``np.searchsorted``;
only rejected draws are drawn again (a loop over *rejection rounds*, each one vectorised).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tfrec.errors import DataError, UserError


def _positive_keys(train: sp.csr_matrix) -> np.ndarray:
    """Sorted int64 keys ``user * num_items + item`` of the matrix' non-zeros."""
    coo = train.tocoo()
    keys = coo.row.astype(np.int64) * train.shape[1] + coo.col.astype(np.int64)
    keys.sort()
    return keys


def _is_member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if sorted_keys.size == 0:
        return np.zeros(keys.shape, dtype=bool)
    pos = np.searchsorted(sorted_keys, keys)
    pos[pos == sorted_keys.size] = 0
    return sorted_keys[pos] == keys


def _check_free_items(counts: np.ndarray, num_items: int, needed: int, users: np.ndarray | None = None) -> None:
    full = np.flatnonzero(num_items - counts < needed)
    if full.size:
        user = int(full[0] if users is None else users[full[0]])
        raise UserError(
            f"user {user} has only {num_items - int(counts[full[0]])} item(s) without an interaction; "
            f"{needed} negative(s) are needed per draw (lower the number of negatives)"
        )


def sample_negatives(
    users: np.ndarray,
    train: sp.csr_matrix,
    rng: np.random.Generator,
    exclude_keys: np.ndarray | None = None,
) -> np.ndarray:
    """One uniformly drawn negative item per entry of ``users``.

    Args:
        users: ``[M]`` user ids (repeats allowed).
        train: ``[num_users, num_items]`` CSR of positives; a negative is never one of them.
        rng: the random generator.
        exclude_keys: sorted keys ``user * num_items + item`` to exclude (defaults to ``train``'s).

    Returns:
        ``[M]`` int64 items, each not a positive of its user; draws are independent (with
        replacement), as in NCF.
    """
    num_items = train.shape[1]
    keys = _positive_keys(train) if exclude_keys is None else exclude_keys
    users = np.asarray(users, dtype=np.int64)
    full = np.flatnonzero(np.diff(train.indptr)[users] >= num_items) if users.size else users
    if full.size:  # rejection sampling would never end
        raise DataError(f"user {int(users[full[0]])} has interacted with every item ({num_items}); no negative item can be drawn")
    items = rng.integers(0, num_items, size=users.size, dtype=np.int64)
    todo = np.flatnonzero(_is_member(users * num_items + items, keys))
    while todo.size:
        items[todo] = rng.integers(0, num_items, size=todo.size, dtype=np.int64)
        todo = todo[_is_member(users[todo] * num_items + items[todo], keys)]
    return items


def training_instances(
    train: sp.csr_matrix, num_negatives: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every training positive plus ``num_negatives`` sampled negatives per positive.

    Args:
        train: ``[num_users, num_items]`` binary CSR of training interactions.
        num_negatives: negatives drawn per positive, uniformly from the user's non-interacted
            items (seed 004 ``--num_ng 4``).
        rng: the random generator (the pipeline passes ``default_rng([seed, epoch])``).

    Returns:
        ``(users, items, labels)``: int32, int32, float32 arrays of length
        ``nnz * (1 + num_negatives)``; positives first (label 1), then the negatives (label 0)
        in blocks of one draw per positive. Not shuffled.

    Raises:
        UserError: a user with positives has interacted with every item.
    """
    if num_negatives < 0:
        raise UserError(f"num_negatives must be >= 0; got {num_negatives}")
    train = train.tocsr()
    counts = np.diff(train.indptr)
    if num_negatives:
        _check_free_items(counts[counts > 0], train.shape[1], 1, np.flatnonzero(counts > 0))
    pos_users = np.repeat(np.arange(train.shape[0], dtype=np.int64), counts)
    pos_items = train.indices.astype(np.int64)
    neg_users = np.tile(pos_users, num_negatives)
    neg_items = sample_negatives(neg_users, train, rng) if num_negatives else np.empty(0, np.int64)
    users = np.concatenate([pos_users, neg_users]).astype(np.int32)
    items = np.concatenate([pos_items, neg_items]).astype(np.int32)
    labels = np.concatenate([np.ones(pos_users.size, np.float32), np.zeros(neg_users.size, np.float32)])
    return users, items, labels


def sample_test_negatives(
    train: sp.csr_matrix,
    test_users: np.ndarray,
    test_items: np.ndarray,
    num_negatives: int,
    rng: np.random.Generator,
    exclude_held_out: bool = True,
) -> np.ndarray:
    """Distinct negatives per test user: neither a training positive nor the held-out item.

    With ``exclude_held_out=False`` the held-out item may be drawn too (MB-GMN's reference
    protocol draws from every item the user did not interact with in training).

    Args:
        train: ``[num_users, num_items]`` CSR of training positives.
        test_users: ``[T]`` test users.
        test_items: ``[T]`` their held-out items.
        num_negatives: negatives per user (NCF: 99).
        rng: the random generator.

    Returns:
        ``[T, num_negatives]`` int64, each row without repeats.

    Raises:
        UserError: a user has fewer than ``num_negatives`` candidate items.
    """
    test_users = np.asarray(test_users, dtype=np.int64)
    test_items = np.asarray(test_items, dtype=np.int64)
    num_items = train.shape[1]
    if test_users.size == 0:
        return np.empty((0, num_negatives), dtype=np.int64)
    held_out = sp.csr_matrix(
        (np.ones(test_users.size, np.float32), (test_users, test_items)), shape=train.shape
    )
    excluded = (train != 0).astype(np.float32)
    excluded = (excluded + held_out if exclude_held_out else excluded).tocsr()
    counts = np.diff(excluded.indptr)[test_users]
    _check_free_items(counts, num_items, num_negatives, test_users)
    keys = _positive_keys(excluded)
    t = test_users.size
    out = np.empty((t, num_negatives), dtype=np.int64)
    rows = np.repeat(test_users, num_negatives)
    out[:] = sample_negatives(rows, excluded, rng, keys).reshape(t, num_negatives)
    # Replace within-row duplicates (draw again, still avoiding positives) until none remain.
    while True:
        order = np.argsort(out, axis=1, kind="stable")
        sorted_rows = np.take_along_axis(out, order, axis=1)
        dup_sorted = np.zeros_like(sorted_rows, dtype=bool)
        dup_sorted[:, 1:] = sorted_rows[:, 1:] == sorted_rows[:, :-1]
        if not dup_sorted.any():
            return out
        r, c = np.nonzero(dup_sorted)
        cols = order[r, c]
        out[r, cols] = sample_negatives(test_users[r], excluded, rng, keys)


def leave_one_out_rows(
    users: np.ndarray, items: np.ndarray, order: np.ndarray, num_users: int, *, validation: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The held-out rows of a leave-one-out split (vectorised, no loop over users).

    ``order`` lists the row indices sorted by user, then by preference for holding out (latest
    first, or a random draw): per user the first row in ``order`` is the test row, provided the
    user has two rows or more (a user with one row keeps it for training; repeated rows count).
    With ``validation``, the user's first row in ``order`` whose item is not the test item is
    the validation row, provided the user has at least three distinct items (so one stays for
    training); the rule of seed 004's split, extended by one step.

    Args:
        users: ``[R]`` int internal user of each row (``0 .. num_users - 1``).
        items: ``[R]`` int internal item of each row.
        order: ``[R]`` permutation of ``0 .. R - 1`` as described.
        num_users: number of users.
        validation: also pick the validation rows.

    Returns:
        ``(test_rows [T], validation_rows [V])`` int64 row indices, each in increasing user order
        (``validation_rows`` is empty without ``validation``).
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    sorted_users = users[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = sorted_users[1:] != sorted_users[:-1]
    counts = np.bincount(users, minlength=num_users)
    test_rows = order[first & (counts[sorted_users] > 1)].astype(np.int64)
    if not validation:
        return test_rows, np.zeros(0, dtype=np.int64)
    test_item = np.full(num_users, -1, dtype=np.int64)
    test_item[users[test_rows]] = items[test_rows]
    rest = order[items[order] != test_item[sorted_users]]  # every row of the test pair dropped
    rest_users = users[rest]
    first_rest = np.ones(rest.size, dtype=bool)
    first_rest[1:] = rest_users[1:] != rest_users[:-1]
    pairs = np.unique(users * (int(items.max(initial=0)) + 1) + items)
    distinct = np.bincount(pairs // (int(items.max(initial=0)) + 1), minlength=num_users)
    validation_rows = rest[first_rest & (distinct[rest_users] >= 3)].astype(np.int64)
    return test_rows, validation_rows


def pair_matrix(users: np.ndarray, items: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Binary float32 ``[num_users, num_items]`` CSR of (user, item) pairs (repeats count once),
    with sorted indices."""
    matrix = sp.csr_matrix((np.ones(len(users), np.float32), (users, items)), shape=shape)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    matrix.sort_indices()
    return matrix


def held_out_negatives(
    train: sp.csr_matrix,
    test: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    num_negatives: int,
    rng: np.random.Generator,
    exclude_held_out: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Test negatives, then validation negatives, both from ``rng`` in that order.

    Without ``validation`` this is exactly :func:`sample_test_negatives` of the test pairs
    (the reference protocols). With it, a user's test negatives also avoid the user's
    validation item and the validation negatives avoid the test item: neither held-out
    positive is ever drawn as a negative of the other split.

    Args:
        train: ``[num_users, num_items]`` CSR of training positives.
        test: ``(users [T], items [T])`` test pairs.
        validation: ``(users [V], items [V])`` validation pairs, or ``None``.
        num_negatives: negatives per row (distinct within a row).
        rng: the generator.
        exclude_held_out: as in :func:`sample_test_negatives`.

    Returns:
        ``(test negatives [T, N], validation negatives [V, N] or None)`` int64.
    """
    if validation is None:
        return sample_test_negatives(train, *test, num_negatives, rng, exclude_held_out), None
    held_test = pair_matrix(*test, train.shape)
    held_val = pair_matrix(*validation, train.shape)
    binary = (train != 0).astype(np.float32)
    test_negatives = sample_test_negatives((binary + held_val).tocsr(), *test, num_negatives, rng, exclude_held_out)
    val_negatives = sample_test_negatives((binary + held_test).tocsr(), *validation, num_negatives, rng, exclude_held_out)
    return test_negatives, val_negatives
