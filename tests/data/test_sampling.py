"""Vectorised negative sampling (tfrec/data/sampling.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.data.sampling import sample_test_negatives, training_instances
from tfrec.errors import UserError


def _random_csr(rng, users=30, items=40, density=0.3):
    mask = rng.random((users, items)) < density
    mask[:, 0] = False  # every user has at least one free item
    mask[np.arange(users), rng.integers(1, items, users)] = True  # and at least one positive
    return sp.csr_matrix(mask.astype(np.float32))


def test_training_instances_never_return_a_positive_and_count_right():
    rng = np.random.default_rng(0)
    train = _random_csr(rng)
    users, items, labels = training_instances(train, 4, np.random.default_rng(1))
    assert len(users) == train.nnz * 5 and users.dtype == np.int32 and labels.dtype == np.float32
    dense = train.toarray()
    assert np.all(dense[users[labels == 1], items[labels == 1]] == 1)
    assert np.all(dense[users[labels == 0], items[labels == 0]] == 0)
    # four negatives per positive: each user's negative count is 4x its positive count
    np.testing.assert_array_equal(np.bincount(users[labels == 0], minlength=30), 4 * np.diff(train.indptr))


def test_negatives_cover_the_catalogue():
    rng = np.random.default_rng(2)
    train = _random_csr(rng, users=5, items=20, density=0.2)
    seen = np.zeros(train.shape, dtype=bool)
    for epoch in range(200):
        users, items, labels = training_instances(train, 4, np.random.default_rng(epoch))
        seen[users[labels == 0], items[labels == 0]] = True
    free = train.toarray() == 0
    assert np.array_equal(seen, free)  # every non-positive (user, item) pair was drawn at some point


def test_same_rng_same_samples_and_error_for_a_full_user():
    train = _random_csr(np.random.default_rng(3))
    a = training_instances(train, 2, np.random.default_rng(9))
    b = training_instances(train, 2, np.random.default_rng(9))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    full = sp.csr_matrix(np.array([[1, 1, 1], [1, 0, 0]], dtype=np.float32))
    with pytest.raises(UserError, match="user 0"):
        training_instances(full, 1, np.random.default_rng(0))


def test_test_negatives_are_distinct_and_exclude_positives_and_held_out():
    rng = np.random.default_rng(4)
    train = _random_csr(rng, users=50, items=60, density=0.2)
    test_users = np.arange(50)
    test_items = np.zeros(50, dtype=np.int64)  # column 0 is free in train
    negatives = sample_test_negatives(train, test_users, test_items, 30, np.random.default_rng(5))
    assert negatives.shape == (50, 30)
    dense = train.toarray()
    assert np.all(dense[test_users[:, None], negatives] == 0)
    assert not np.any(negatives == 0)
    assert all(len(set(row)) == 30 for row in negatives)
    again = sample_test_negatives(train, test_users, test_items, 30, np.random.default_rng(5))
    np.testing.assert_array_equal(negatives, again)


def test_test_negatives_error_when_a_user_has_too_few_free_items():
    train = sp.csr_matrix(np.array([[1, 1, 0, 0, 0]], dtype=np.float32))
    with pytest.raises(UserError, match="user 0 has only 2"):
        sample_test_negatives(train, np.array([0]), np.array([2]), 3, np.random.default_rng(0))


def test_leave_one_out_rows_against_a_loop_over_users():
    from tfrec.data.sampling import leave_one_out_rows

    rng = np.random.default_rng(3)
    users = rng.integers(0, 12, 200)
    items = rng.integers(0, 6, 200)  # many repeats of (user, item)
    order = np.lexsort((np.arange(200), rng.random(200), users))
    test_rows, val_rows = leave_one_out_rows(users, items, order, 13, validation=True)
    expected_test, expected_val = [], []
    for user in range(13):  # the rule, one user at a time
        mine = [r for r in order if users[r] == user]
        if len(mine) > 1:
            expected_test.append(mine[0])
            others = [r for r in mine if items[r] != items[mine[0]]]
            if len(set(items[mine])) >= 3:
                expected_val.append(others[0])
    assert test_rows.tolist() == expected_test and val_rows.tolist() == expected_val
    plain, none = leave_one_out_rows(users, items, order, 13)
    assert plain.tolist() == expected_test and none.size == 0


def test_held_out_negatives_keep_both_held_out_items_apart():
    from tfrec.data.sampling import held_out_negatives, sample_test_negatives

    train = sp.csr_matrix(np.array([[1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0, 0]], np.float32))
    test = (np.array([0, 1]), np.array([2, 3]))
    val = (np.array([0, 1]), np.array([3, 4]))
    plain, none = held_out_negatives(train, test, None, 3, np.random.default_rng(5))
    np.testing.assert_array_equal(plain, sample_test_negatives(train, *test, 3, np.random.default_rng(5)))
    assert none is None
    for seed in range(20):
        t, v = held_out_negatives(train, test, val, 4, np.random.default_rng(seed))
        assert not set(t[0]) & {0, 1, 2, 3} and not set(t[1]) & {2, 3, 4}  # train, test and validation items
        assert not set(v[0]) & {0, 1, 2, 3} and not set(v[1]) & {2, 3, 4}
