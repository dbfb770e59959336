"""Metrics against hand-computed examples, ties included (tfrec/evaluation.py)."""

import math

import numpy as np
import pytest

import tensorflow as tf

from tfrec import evaluation


def test_sampled_ranks_counts_negatives_at_or_above_positive():
    scores = np.array(
        [
            [0.9, 0.1, 0.2, 0.3],  # positive first -> rank 0
            [0.5, 0.6, 0.7, 0.1],  # two negatives above -> rank 2
            [0.5, 0.5, 0.1, 0.1],  # one tie -> pessimistic rank 1
            [0.2, 0.2, 0.2, 0.2],  # all tied -> rank 3
        ],
        dtype=np.float32,
    )
    assert evaluation.sampled_ranks(scores).numpy().tolist() == [0, 2, 1, 3]


def test_the_positive_listed_again_among_negatives_is_not_its_own_competitor():
    # NCF's ml-1m.test.negative repeats the held-out item for some users: that copy scores
    # exactly as the positive, and with ids given it must not push the positive down a rank
    candidates = np.array([[7, 7, 3, 4], [7, 1, 3, 4]])
    scores = np.array([[0.5, 0.5, 0.6, 0.1], [0.5, 0.5, 0.6, 0.1]], dtype=np.float32)
    assert evaluation.sampled_ranks(scores).numpy().tolist() == [2, 2]
    assert evaluation.sampled_ranks(scores, candidates).numpy().tolist() == [1, 2]

    def score_fn(users, items):  # item id / 10 as the score: item 7 beats items 3 and 4
        return tf.cast(items, tf.float32) / 10.0

    ranks = evaluation.sampled_ranks_of(score_fn, np.array([0, 1]), candidates)
    assert ranks.tolist() == [0, 0]  # item 1 ties nothing; the repeated 7 is skipped


def test_ranking_metrics_hand_computed():
    ranks = np.array([0, 2, 1, 3, 12])
    m = evaluation.ranking_metrics(ranks, ks=(2, 10))
    assert m["HR@2"] == pytest.approx(2 / 5)
    assert m["HR@10"] == pytest.approx(4 / 5)
    ndcg10 = (1 / math.log2(2) + 1 / math.log2(4) + 1 / math.log2(3) + 1 / math.log2(5)) / 5
    assert m["NDCG@10"] == pytest.approx(ndcg10)
    assert m["NDCG@2"] == pytest.approx((1 + 1 / math.log2(3)) / 5)
    assert m["MRR@10"] == pytest.approx((1 + 1 / 3 + 1 / 2 + 1 / 4) / 5)
    assert "P@10" not in m


def test_full_ranks_counts_without_sorting_and_ties_pessimistic():
    scores = np.array([[0.1, 0.9, 0.5, 0.5, 0.2], [3.0, 1.0, 2.0, 1.0, 0.0]], dtype=np.float32)
    targets = np.array([2, 1])
    # row 0: target 0.5; 0.9 above, the other 0.5 ties -> rank 2
    # row 1: target 1.0; 3.0 and 2.0 above, item 3 ties -> rank 3
    assert evaluation.full_ranks(scores, targets).numpy().tolist() == [2, 3]


def test_full_ranks_match_a_numpy_count():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(7, 11)).astype(np.float32)
    targets = rng.integers(0, 11, size=7)
    expected = [(np.delete(row, t) >= row[t]).sum() for row, t in zip(table, targets)]
    assert evaluation.full_ranks(table, targets).numpy().tolist() == expected


def test_ranks_under_one_score_vector_equal_full_ranks():
    rng = np.random.default_rng(2)
    counts = rng.integers(0, 5, size=30).astype(np.float32)  # many ties
    targets = rng.integers(0, 30, size=40)
    expected = [(np.delete(counts, t) >= counts[t]).sum() for t in targets]
    assert evaluation.ranks_under(counts, targets).tolist() == expected


def test_mean_reciprocal_rank_has_no_cut_off():
    assert evaluation.mean_reciprocal_rank(np.array([0, 1, 99])) == pytest.approx((1 + 1 / 2 + 1 / 100) / 3)


def test_evaluate_sampled_batched_matches_unbatched():
    rng = np.random.default_rng(1)
    users = np.arange(10)
    candidates = rng.integers(0, 50, size=(10, 6))
    table = rng.normal(size=(10, 50)).astype(np.float32)

    def score(u, items):
        return np.take_along_axis(table[u.numpy()], items.numpy(), axis=1)

    a = evaluation.evaluate_sampled(score, users, candidates, ks=(3,), batch_size=4)
    b = evaluation.evaluate_sampled(score, users, candidates, ks=(3,), batch_size=100)
    # a candidate that is the positive item itself does not count against it
    ranks = [((row[c[1:]] >= row[c[0]]) & (c[1:] != c[0])).sum() for row, c in zip(table, candidates)]
    assert any((c[1:] == c[0]).any() for c in candidates)  # the case is exercised
    assert a == b == evaluation.ranking_metrics(np.array(ranks), ks=(3,))


def test_auc_exact_with_ties():
    labels = np.array([1, 0, 1, 0, 1, 0])
    scores = np.array([0.9, 0.9, 0.4, 0.3, 0.3, 0.1])
    # pairs (pos, neg): 9 in total; count wins + 0.5 * ties by hand:
    # pos 0.9: beats 0.3, 0.1, ties 0.9 -> 2.5; pos 0.4: beats 0.3, 0.1 -> 2; pos 0.3: beats 0.1, ties 0.3 -> 1.5
    assert float(evaluation.auc(labels, scores)) == pytest.approx(6 / 9)


def test_ctr_metrics_hand_computed():
    labels = np.array([1, 0, 1, 0])
    probs = np.array([0.8, 0.6, 0.3, 0.1])
    m = evaluation.ctr_metrics(labels, probs)
    assert m["AUC"] == pytest.approx(3 / 4)
    expected_ll = -np.mean([math.log(0.8), math.log(0.4), math.log(0.3), math.log(0.9)])
    assert m["LogLoss"] == pytest.approx(expected_ll)
    assert m["Accuracy"] == pytest.approx(2 / 4)
    assert m["Precision"] == pytest.approx(1 / 2)
    assert m["Recall"] == pytest.approx(1 / 2)


@pytest.mark.parametrize("pairs_per_call", [1, 7, 64, 10_000])
def test_full_ranks_chunked_equal_a_whole_row_count(pairs_per_call):
    """Over item chunks of any size, with excluded training items: the rank is the number of
    other, non-excluded items scored >= the target (ties pessimistic), as a whole-row count."""
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    table = np.round(rng.normal(size=(9, 23)), 1)  # rounded: ties happen
    users, targets = np.array([0, 3, 3, 8, 5]), np.array([4, 0, 22, 7, 7])
    exclude = sp.random(9, 23, density=0.3, random_state=1, format="csr")
    exclude[users, targets] = 0
    exclude.eliminate_zeros()
    calls = []

    def score(u, items):
        calls.append(int(np.prod(items.shape)))
        return table[u.numpy()[:, None], items.numpy()]

    ranks = evaluation.full_ranks_chunked(score, users, targets, 23, exclude=exclude, pairs_per_call=pairs_per_call)
    dense = exclude.toarray() > 0
    expected = [
        sum(table[u, j] >= table[u, t] for j in range(23) if j != t and not dense[u, j]) for u, t in zip(users, targets)
    ]
    np.testing.assert_array_equal(ranks, expected)
    assert max(calls) <= max(pairs_per_call, 1)
    plain = evaluation.full_ranks_chunked(score, users, targets, 23, pairs_per_call=pairs_per_call)
    np.testing.assert_array_equal(plain, evaluation.full_ranks(table[users], targets).numpy())
