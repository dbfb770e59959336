"""tfrec/data/graphs.py: row_normalized, restricted_adjacencies and SubgraphSampler (MB-GMN's
``DataHandler.sampleLargeGraph``), each against an independent computation: dense NumPy, or a
plain-Python loop transcription of the reference's ``sample`` / ``updateBdgt`` below."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import scipy.sparse as sp

import tfrec.data.graphs as graphs
from tfrec.data.graphs import SubgraphSampler, restricted_adjacencies, row_normalized


# --------------------------------------------------------------------------------------------
# The reference, transcribed as loops over Python lists (akaxlh/MB-GMN DataHandler.py:
# prepareGlobalData, sampleLargeGraph). `choice(n, k, p)` stands for np.random.choice(n, k,
# replace=False, p=p); `uniform(n)` for the zero-budget np.random.choice(n, 1).


class NeedsRandomness(Exception):
    """Raised by the deterministic stubs: this case would have drawn at random."""


def no_choice(n, k, p):
    # np.random.choice(replace=False) of k nodes when exactly k have p > 0 takes them all
    positive = [j for j in range(n) if p[j] != 0]
    if k == 0:
        return []
    if len(positive) != k:
        raise NeedsRandomness
    return positive


def no_uniform(n):
    raise NeedsRandomness


def loop_reference(matrices, users, items, sample_n, depth, choice, uniform, zero_budget="reference"):
    num_users, num_items = matrices[0].shape
    edges = {(u, i) for m in matrices for u, i, v in zip(*sp.find(m)) if v != 0}  # the binary union
    user_nbrs = [[i for i in range(num_items) if (u, i) in edges] for u in range(num_users)]
    item_nbrs = [[u for u in range(num_users) if (u, i) in edges] for i in range(num_items)]

    def update_bdgt(nbrs, nodes, size):  # sum of the rows of the row-normalised matrix
        ret = [0.0] * size
        for n in nodes:
            for j in nbrs[n]:
                ret[j] += 1.0 / len(nbrs[n])
        return ret

    def sample(budget, mask, k):
        score = [(mask[j] * budget[j]) ** 2 for j in range(len(budget))]
        norm = sum(score)
        if norm == 0:
            if zero_budget == "reference":
                return [uniform(len(score))], k - 1
            return [], k
        positive = [j for j in range(len(score)) if score[j] != 0]
        if len(positive) < k:
            return positive, max(k - len(positive), 0)
        return list(choice(len(score), k, [s / norm for s in score])), max(k - len(positive), 0)

    usr_mask = [1.0] * num_users
    itm_mask = [1.0] * num_items
    for u in users:
        usr_mask[u] = 0.0
    itm_bdgt = update_bdgt(user_nbrs, users, num_items)
    if items is None:
        items, _ = sample(itm_bdgt, itm_mask, len(users))
    for i in items:
        itm_mask[i] = 0.0
    usr_bdgt = update_bdgt(item_nbrs, items, num_users)
    u_res = i_res = 0
    for d in range(depth + 1):
        u_ask = u_res + (sample_n if d < depth else 0)
        i_ask = i_res + (sample_n if d < depth else 0)
        new_users, u_res = sample(usr_bdgt, usr_mask, u_ask)
        for u in new_users:
            usr_mask[u] = 0.0
        new_items, i_res = sample(itm_bdgt, itm_mask, i_ask)
        for i in new_items:
            itm_mask[i] = 0.0
        if d == depth:
            break
        usr_bdgt = [a + b for a, b in zip(usr_bdgt, update_bdgt(item_nbrs, new_items, num_users))]
        itm_bdgt = [a + b for a, b in zip(itm_bdgt, update_bdgt(user_nbrs, new_users, num_items))]
    return [u for u in range(num_users) if usr_mask[u] == 0], [i for i in range(num_items) if itm_mask[i] == 0]


def random_behaviors(rng, users=12, items=15, density=0.12, behaviors=2):
    return [sp.csr_matrix((rng.random((users, items)) < density).astype(np.float32)) for _ in range(behaviors)]


def chain(length=8):
    """User k clicks items k and k + 1 (a path u0 - i0/i1 - u1 - ...), so budgets stay
    positive for several depths; the second behavior repeats a few of those edges."""
    clicks = np.zeros((length, length + 1), dtype=np.float32)
    clicks[np.arange(length), np.arange(length)] = 1
    clicks[np.arange(length), np.arange(length) + 1] = 1
    buys = clicks * (np.arange(length)[:, None] % 3 == 0)
    return [sp.csr_matrix(clicks), sp.csr_matrix(buys)]


def assert_well_formed(out_users, out_items, users, items=None):
    for out, seeds in ((out_users, users), (out_items, items)):
        assert out.dtype == np.int64 and out.ndim == 1
        assert np.all(np.diff(out) > 0)  # sorted, no node twice
        if seeds is not None:
            assert set(np.asarray(seeds).tolist()) <= set(out.tolist())


# --------------------------------------------------------------------------------------------
# 1. deterministic cases: everything with a positive budget fits


def test_chain_matches_the_loop_reference_exactly_without_the_quirk():
    matrices = chain()
    users, items = [0], [5]
    # the loop never hits the zero-budget quirk nor a random draw here: fully deterministic
    expected = loop_reference(matrices, users, items, 100, 2, no_choice, no_uniform)
    got = SubgraphSampler(matrices, 100).sample(users, np.random.default_rng(0), items=items)
    assert_well_formed(*got, users, items)
    assert [g.tolist() for g in got] == [list(e) for e in expected]
    assert expected == ([0, 1, 3, 4, 5, 6], [0, 1, 2, 4, 5, 6])  # the walk by hand


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_random_graphs_match_the_loop_reference_when_everything_fits(depth):
    rng = np.random.default_rng(depth)
    compared = {"skip": 0, "reference": 0}
    for trial in range(30):
        matrices = random_behaviors(rng)
        users = np.sort(rng.choice(12, size=int(rng.integers(1, 5)), replace=False))
        items = None if trial % 2 else np.sort(rng.choice(15, size=int(rng.integers(0, 4)), replace=False))
        for zero_budget in compared:
            try:
                expected = loop_reference(matrices, users.tolist(), None if items is None else items.tolist(),
                                          50, depth, no_choice, no_uniform, zero_budget)
            except NeedsRandomness:
                continue
            sampler = SubgraphSampler(matrices, 50, depth, zero_budget=zero_budget)
            got = sampler.sample(users, np.random.default_rng(trial), items=items)
            assert_well_formed(*got, users, items)
            assert [g.tolist() for g in got] == [list(e) for e in expected], (trial, zero_budget)
            compared[zero_budget] += 1
    # the reference mode almost always ends in the quirk once a tiny component is covered (the
    # chain test above is its deterministic case); "skip" is compared on most trials
    assert compared["skip"] >= 10, compared


def test_repeated_seed_users_count_twice_as_in_the_reference():
    # the first item draw asks len(users) items, repeats included (the reference's len(pckUsrs))
    a = sp.csr_matrix(np.array([[1, 1, 1], [0, 0, 0]], dtype=np.float32))
    sampler = SubgraphSampler([a], 5, depth=0, zero_budget="skip")
    for seed in range(5):
        assert len(sampler.sample([0], np.random.default_rng(seed))[1]) == 1
        assert len(sampler.sample([0, 0], np.random.default_rng(seed))[1]) == 2
        assert sampler.sample([0, 0, 0], np.random.default_rng(seed))[1].tolist() == [0, 1, 2]
    assert loop_reference([a], [0, 0, 0], None, 5, 0, no_choice, no_uniform, "skip") == ([0], [0, 1, 2])


# --------------------------------------------------------------------------------------------
# 2. distribution: inclusion frequencies against the loop driven by np.random.choice


def inclusion(draws, num_users, num_items):
    users, items = np.zeros(num_users), np.zeros(num_items)
    for u, i in draws:
        users[list(u)] += 1
        items[list(i)] += 1
    return np.concatenate([users, items]) / len(draws)


def skewed_graph():
    """Budgets differ a lot: user 0 holds item 0 alone (budget 1), user 1 spreads over items
    1..6 (1/6 each); items 7..9 and users 2..7 hang off those, with hubs."""
    a = np.zeros((8, 10), dtype=np.float32)
    a[0, [0]] = 1
    a[1, 1:7] = 1
    a[2, [0, 7]] = 1
    a[3, [0, 1, 8]] = 1
    a[4, [2, 3, 4, 5, 6, 9]] = 1
    a[5, [0, 9]] = 1
    a[6, [7, 8, 9]] = 1
    a[7, [6]] = 1
    buys = np.zeros_like(a)
    buys[5, 0] = buys[6, 9] = 1
    return [sp.csr_matrix(a), sp.csr_matrix(buys)]


def test_inclusion_frequencies_match_numpy_choice_and_not_uniform_sampling():
    matrices, users, draws = skewed_graph(), [0, 1], 2000
    sampler = SubgraphSampler(matrices, 2, depth=2)
    rng = np.random.default_rng(123)
    ours = inclusion([sampler.sample(users, rng) for _ in range(draws)], 8, 10)

    legacy = np.random.RandomState(7)  # the reference's own np.random.choice

    def choice(n, k, p):
        return legacy.choice(n, k, replace=False, p=p)

    def uniform(n):
        return int(legacy.choice(n, 1)[0])

    def uniform_choice(n, k, p):  # the same, ignoring the weights: what must fail
        support = np.asarray(p) > 0
        return legacy.choice(n, k, replace=False, p=support / support.sum())

    reference = inclusion([loop_reference(matrices, users, None, 2, 2, choice, uniform) for _ in range(draws)], 8, 10)
    flat = inclusion([loop_reference(matrices, users, None, 2, 2, uniform_choice, uniform) for _ in range(1000)], 8, 10)
    # two estimates of one probability from 2000 draws each: sd <= sqrt(2 * 0.25 / 2000) = 0.016;
    # uniform sampling is off by about 0.23 on some node
    assert np.max(np.abs(ours - reference)) < 0.06, np.round(ours - reference, 3)
    assert np.max(np.abs(flat - reference)) > 0.15, np.round(flat - reference, 3)
    assert np.max(np.abs(ours - flat)) > 0.15


def test_a_single_weighted_draw_has_numpy_choice_probabilities():
    # depth 0, both users seeds: the only random step is the first draw of len(users) = 2 of
    # the 4 items, budgets (1/2 + 1/3, 1/2, 1/3, 1/3), successive draws proportional to budget^2
    a = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 1, 1]], dtype=np.float32))
    sampler = SubgraphSampler([a], 1, depth=0, zero_budget="skip")
    rng = np.random.default_rng(5)
    counts = np.zeros(4)
    for _ in range(4000):
        counts[sampler.sample([0, 1], rng)[1]] += 1
    budget = np.array([1 / 2 + 1 / 3, 1 / 2, 1 / 3, 1 / 3])
    p1 = budget**2 / np.sum(budget**2)
    # inclusion in 2 successive draws without replacement
    p2 = p1 + np.array([sum(p1[j] * p1[i] / (1 - p1[j]) for j in range(4) if j != i) for i in range(4)])
    np.testing.assert_allclose(counts / 4000, p2, atol=0.03)


# --------------------------------------------------------------------------------------------
# 3. the zero-budget quirk


def test_zero_budget_quirk_picks_one_uniform_node_per_draw_possibly_a_picked_one():
    empty = [sp.csr_matrix((12, 15), dtype=np.float32)] * 2
    sampler = SubgraphSampler(empty, 4, depth=2)  # zero_budget="reference" by default
    rng = np.random.default_rng(0)
    draws = [sampler.sample([0, 3], rng) for _ in range(2000)]
    for users, items in draws:
        assert_well_formed(users, items, [0, 3])
    # every budget is 0: each of the 3 depths adds one uniform user among all 12 (seeds
    # included), the first draw and the 3 depths one uniform item among all 15
    sizes_u = np.array([len(u) for u, _ in draws])
    sizes_i = np.array([len(i) for _, i in draws])
    assert sizes_u.min() >= 2 and sizes_u.max() == 5 and np.any(sizes_u < 5)
    assert sizes_i.min() >= 1 and sizes_i.max() == 4 and np.any(sizes_i < 4)
    freq = inclusion(draws, 12, 15)
    non_seed = np.delete(freq[:12], [0, 3])
    np.testing.assert_allclose(non_seed, 1 - (11 / 12) ** 3, atol=0.04)
    np.testing.assert_allclose(freq[12:], 1 - (14 / 15) ** 4, atol=0.04)
    # and against the loop reference driven by numpy's choice
    legacy = np.random.RandomState(1)
    loop = inclusion([loop_reference(empty, [0, 3], None, 4, 2, None, lambda n: int(legacy.choice(n, 1)[0]))
                      for _ in range(1000)], 12, 15)
    assert np.max(np.abs(freq - loop)) < 0.06


def test_the_quirk_fires_even_when_nothing_is_asked():
    # depth 0 asks 0 per side; with every budget 0 the reference still adds one node a side
    empty = [sp.csr_matrix((6, 7), dtype=np.float32)]
    rng = np.random.default_rng(3)
    seen_new_user = False
    for _ in range(50):
        users, items = SubgraphSampler(empty, 3, depth=0).sample([2], rng)
        assert 1 <= len(users) <= 2 and 2 in users.tolist() and 1 <= len(items) <= 2
        seen_new_user |= len(users) == 2
    assert seen_new_user


def test_zero_budget_skip_picks_nothing_and_carries_the_ask():
    empty = [sp.csr_matrix((12, 15), dtype=np.float32)] * 2
    users, items = SubgraphSampler(empty, 4, zero_budget="skip").sample([0, 3], np.random.default_rng(0))
    assert users.tolist() == [0, 3] and items.tolist() == []
    users, items = SubgraphSampler(empty, 4, zero_budget="skip").sample([5], np.random.default_rng(0), items=[2, 9])
    assert users.tolist() == [5] and items.tolist() == [2, 9]
    # carried ask: on the chain, depth 0's unused item ask is spent at the last depth
    got = SubgraphSampler(chain(), 1, depth=1, zero_budget="skip").sample([0], np.random.default_rng(0), items=[0, 1])
    expected = loop_reference(chain(), [0], [0, 1], 1, 1, no_choice, no_uniform, "skip")
    assert [g.tolist() for g in got] == [list(e) for e in expected] == [[0, 1], [0, 1, 2]]


def test_an_isolated_seed_under_the_quirk_reaches_a_random_item():
    matrices = chain()
    matrices = [sp.vstack([m, sp.csr_matrix((1, m.shape[1]))]).tocsr() for m in matrices]  # user 8 isolated
    skip = SubgraphSampler(matrices, 3, zero_budget="skip").sample([8], np.random.default_rng(0))
    assert skip[0].tolist() == [8] and skip[1].tolist() == []
    users, items = SubgraphSampler(matrices, 3).sample([8], np.random.default_rng(0))
    assert len(items) >= 1 and 8 in users.tolist()


# --------------------------------------------------------------------------------------------
# general properties with small samples


def test_results_are_sorted_unique_and_bounded():
    rng = np.random.default_rng(11)
    for trial in range(20):
        matrices = random_behaviors(rng, 30, 40, 0.1, 3)
        users = rng.choice(30, size=5, replace=False)
        items = None if trial % 2 else rng.choice(40, size=3, replace=False)
        got_u, got_i = SubgraphSampler(matrices, 3, 2).sample(users, np.random.default_rng(trial), items=items)
        assert_well_formed(got_u, got_i, users, items)
        assert len(got_u) <= 5 + 2 * 3 + 1
        assert len(got_i) <= (5 if items is None else 3) + 2 * 3 + 1
    # the same generator state gives the same sample
    sampler = SubgraphSampler(matrices, 3)
    a = sampler.sample(users, np.random.default_rng(42))
    b = sampler.sample(users, np.random.default_rng(42))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_adjacencies_are_the_row_normalised_union():
    rng = np.random.default_rng(4)
    matrices = random_behaviors(rng, 9, 11, 0.3, 3)
    matrices[1] = matrices[1] * 3.0  # weights do not matter: any stored non-zero is an edge
    sampler = SubgraphSampler(matrices, 2)
    union = (sum(np.abs(m.toarray()) for m in matrices) != 0).astype(np.float64)
    deg_u, deg_i = union.sum(1, keepdims=True), union.sum(0, keepdims=True)
    np.testing.assert_allclose(sampler.adj.toarray(), np.divide(union, deg_u, out=np.zeros_like(union), where=deg_u > 0), rtol=1e-6)
    np.testing.assert_allclose(sampler.tpadj.toarray(), np.divide(union, deg_i, out=np.zeros_like(union), where=deg_i > 0).T, rtol=1e-6)


# --------------------------------------------------------------------------------------------
# 4. row_normalized, restricted_adjacencies


def test_row_normalized_against_dense_numpy():
    rng = np.random.default_rng(0)
    dense = rng.random((7, 9)) * (rng.random((7, 9)) < 0.4)
    dense[2] = 0  # a row of degree 0 stays 0
    out = row_normalized(sp.csr_matrix(dense))
    sums = dense.sum(axis=1, keepdims=True)
    expected = np.divide(dense, sums, out=np.zeros_like(dense), where=sums > 0)
    assert isinstance(out, sp.csr_matrix) and out.dtype == np.float32 and out.has_sorted_indices
    np.testing.assert_allclose(out.toarray(), expected, rtol=1e-6)
    assert out[2].nnz == 0
    binary = (dense != 0).astype(np.float32)
    exact = binary / np.maximum(binary.sum(axis=1, keepdims=True), 1).astype(np.float32)
    np.testing.assert_array_equal(row_normalized(sp.csr_matrix(binary)).toarray(), exact)  # float32 1/deg exactly


def test_restricted_adjacencies_against_dense_indexing():
    rng = np.random.default_rng(1)
    matrices = random_behaviors(rng, 12, 15, 0.3, 3)
    users, items = np.array([1, 4, 5, 11]), np.array([0, 2, 3, 9, 14])
    out = restricted_adjacencies(matrices, users, items)
    assert len(out) == 3
    for sub, matrix in zip(out, matrices):
        assert isinstance(sub, sp.csr_matrix) and sub.shape == (4, 5)
        np.testing.assert_array_equal(sub.toarray(), matrix.toarray()[np.ix_(users, items)])
    empty = restricted_adjacencies(matrices, [], items)
    assert [m.shape for m in empty] == [(0, 5)] * 3


def test_restricted_adjacencies_of_a_sample_hold_the_sampled_graph():
    matrices = chain()
    users, items = SubgraphSampler(matrices, 100).sample([0], np.random.default_rng(0), items=[5])
    sub = restricted_adjacencies(matrices, users, items)[0].toarray()
    np.testing.assert_array_equal(sub, matrices[0].toarray()[np.ix_(users, items)])


# --------------------------------------------------------------------------------------------
# 5. errors, and the docstring example


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3", None])
def test_graph_sample_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="graph_sample"):
        SubgraphSampler(chain(), bad)


def test_bad_arguments():
    with pytest.raises(ValueError, match="depth"):
        SubgraphSampler(chain(), 3, depth=-1)
    with pytest.raises(ValueError, match="zero_budget"):
        SubgraphSampler(chain(), 3, zero_budget="random")
    with pytest.raises(ValueError, match="shape"):
        SubgraphSampler([sp.csr_matrix((3, 4)), sp.csr_matrix((3, 5))], 3)
    with pytest.raises(ValueError, match="at least one"):
        SubgraphSampler([], 3)
    with pytest.raises(ValueError, match="single matrix"):
        SubgraphSampler(chain()[0], 3)
    with pytest.raises(TypeError, match="Generator"):
        SubgraphSampler(chain(), 3).sample([0], 0)


def test_ids_out_of_range_are_named():
    sampler = SubgraphSampler(chain(8), 3)  # 8 users, 9 items
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"`users` holds id 8, outside \[0, 8\)"):
        sampler.sample([1, 8], rng)
    with pytest.raises(ValueError, match="id -1"):
        sampler.sample([-1], rng)
    with pytest.raises(ValueError, match=r"`items` holds id 9"):
        sampler.sample([0], rng, items=[9])
    with pytest.raises(ValueError, match="integer ids"):
        sampler.sample([0.5], rng)
    with pytest.raises(ValueError, match="`items` holds id 20"):
        restricted_adjacencies(chain(8), [0], [20])
    with pytest.raises(ValueError, match="`users` holds id 8"):
        restricted_adjacencies(chain(8), [8], [0])


def test_docstring_examples():
    result = doctest.testmod(graphs, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0 and result.attempted > 0
    assert "References:" in SubgraphSampler.__doc__ and "Example:" in SubgraphSampler.__doc__
