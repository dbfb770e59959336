"""Shared fixtures. TensorFlow is imported once per test session (by whichever test needs it)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp


@pytest.fixture(scope="session")
def tiny_implicit():
    """A hand-made ImplicitFeedback: 12 users x 15 items, two taste groups, fixed negatives."""
    from tfrec.data.types import ImplicitFeedback

    rng = np.random.default_rng(7)
    num_users, num_items = 12, 15
    rows, cols = [], []
    for u in range(num_users):
        group = np.arange(0, 7) if u % 2 == 0 else np.arange(7, 15)
        chosen = rng.choice(group, size=5, replace=False)
        rows += [u] * 5
        cols += chosen.tolist()
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(num_users, num_items))
    test_items = np.array([cols[u * 5] for u in range(num_users)], dtype=np.int64)
    matrix[np.arange(num_users), test_items] = 0
    matrix.eliminate_zeros()
    negatives = []
    for u in range(num_users):
        free = np.setdiff1d(np.arange(num_items), np.append(matrix[u].indices, test_items[u]))
        negatives.append(rng.choice(free, size=5, replace=False))
    return ImplicitFeedback(
        name="tiny",
        num_users=num_users,
        num_items=num_items,
        train=matrix.tocsr(),
        test_users=np.arange(num_users, dtype=np.int64),
        test_items=test_items,
        test_negatives=np.array(negatives, dtype=np.int64),
    )
