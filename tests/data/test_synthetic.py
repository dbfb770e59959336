"""The synthetic dataset (tfrec/data/synthetic.py) has learnable planted structure."""

from __future__ import annotations

import numpy as np

from tfrec.data.synthetic import load_synthetic, planted_affinity


def _hr10(scores):
    ranks = (scores[:, 1:] >= scores[:, :1]).sum(axis=1)
    return float(np.mean(ranks < 10))


def test_planted_affinity_beats_popularity_by_a_wide_margin():
    data = load_synthetic(seed=0)
    candidates = data.candidates()
    affinity = planted_affinity(0, data.num_users, data.num_items, 8, 2.0, 1.0)
    oracle = _hr10(np.take_along_axis(affinity[data.test_users], candidates, axis=1))
    popularity = _hr10(data.item_popularity()[candidates].astype(float))
    assert oracle >= popularity + 0.2


def test_deterministic_and_shaped_like_the_protocol():
    a, b = load_synthetic(seed=3, num_users=50, num_items=200), load_synthetic(seed=3, num_users=50, num_items=200)
    assert (a.train != b.train).nnz == 0
    np.testing.assert_array_equal(a.test_negatives, b.test_negatives)
    assert a.num_train == 50 * 29 and len(a.test_users) == 50 and a.test_negatives.shape == (50, 99)
    c = load_synthetic(seed=4, num_users=50, num_items=200)
    assert (a.train != c.train).nnz > 0
