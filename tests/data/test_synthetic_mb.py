"""``synthetic-mb`` at any size (tfrec/data/synthetic.py::load_synthetic_mb): the planted and
the powerlaw generators, the paper-sized presets and the option checks. Tiny sizes only: the
presets' full sizes are measured by hand (see the loader's docstring), never generated here."""

from __future__ import annotations

import doctest
import time

import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.data import synthetic
from tfrec.data.registry import load_dataset
from tfrec.data.synthetic import load_synthetic_mb
from tfrec.errors import DataError, UserError

SMALL = {"users": 120, "items": 400, "views_per_user": 15, "carts_per_user": 6, "buys_per_user": 3, "num_test_negatives": 30}


def _powerlaw(seed=0, **options):
    return load_synthetic_mb(seed=seed, generator="powerlaw", **{**SMALL, **options})


def _assert_well_formed(data):
    """Nested binary CSR matrices without duplicates, the held-out buy and its negatives."""
    matrices = dict(zip(data.behaviors, data.matrices))
    for name, m in matrices.items():
        assert sp.isspmatrix_csr(m) and m.dtype == np.float32 and m.indices.dtype == np.int32, name
        assert m.shape == (data.num_users, data.num_items), name
        canonical = m.copy()
        canonical.sum_duplicates()
        canonical.sort_indices()
        np.testing.assert_array_equal(canonical.indptr, m.indptr, err_msg=name)  # no duplicate (user, item)
        np.testing.assert_array_equal(canonical.indices, m.indices, err_msg=name)  # sorted within rows
        assert np.all(m.data == 1), name
    pv, cart, buy = matrices["pv"], matrices["cart"], matrices["buy"]
    assert (buy > cart).nnz == 0 and (cart > pv).nnz == 0  # buy in cart in pv
    if "fav" in matrices:
        assert (matrices["fav"] > pv).nnz == 0  # fav in pv
    users, items = data.test_users, data.test_items
    np.testing.assert_array_equal(users, np.arange(data.num_users))
    assert np.all(np.asarray(buy[users, items]).ravel() == 0)  # held out of the training buys
    assert np.all(np.asarray(cart[users, items]).ravel() == 1)  # ... but it was carted and viewed
    assert np.all(np.diff(buy.indptr) >= 1)  # at least one buy left to train on
    negatives = data.test_negatives
    assert negatives.shape[0] == data.num_users and negatives.dtype == np.int64
    assert not np.any(negatives == items[:, None])
    if negatives.size:
        assert np.all(np.asarray(buy[np.repeat(users, negatives.shape[1]), negatives.ravel()]).ravel() == 0)
    assert all(len(set(row)) == len(row) for row in negatives.tolist())


@pytest.mark.parametrize("generator", ["planted", "powerlaw"])
@pytest.mark.parametrize("fav", [False, True])
def test_nested_distinct_and_held_out(generator, fav):
    data = load_synthetic_mb(seed=3, generator=generator, fav=fav, **SMALL)
    assert data.behaviors == (("pv", "fav", "cart", "buy") if fav else ("pv", "cart", "buy"))
    assert data.info["generator"] == generator
    _assert_well_formed(data)


def test_planted_counts_are_exact_and_fav_leaves_the_other_behaviors_alone():
    data = load_synthetic_mb(seed=1, generator="planted", favs_per_user=4, **SMALL)  # favs_per_user: fav on
    pv, fav, cart, buy = data.matrices
    assert set(np.diff(pv.indptr)) == {15} and set(np.diff(fav.indptr)) == {4} and set(np.diff(cart.indptr)) == {6}
    assert set(np.diff(buy.indptr)) == {2}
    plain = load_synthetic_mb(seed=1, generator="planted", **SMALL)
    for a, b in zip(plain.matrices, (pv, cart, buy)):
        assert (a != b).nnz == 0
    np.testing.assert_array_equal(plain.test_negatives, data.test_negatives)


def test_powerlaw_every_user_keeps_a_buy_and_validation_is_another():
    data = _powerlaw(seed=2, buys_per_user=2, carts_per_user=2, views_per_user=3)  # the minimum: 2 buys each
    assert np.all(np.diff(data.train.indptr) >= 1)
    on = _powerlaw(seed=2, validation=True)
    _assert_well_formed(on)
    users, val = on.validation.users, on.validation.items
    assert not np.any(val == on.test_items)
    assert np.all(np.asarray(on.train[users, val]).ravel() == 0)  # held out of training too
    assert np.all(np.asarray(on.matrices[1][users, val]).ravel() == 1)  # a carted (bought) item
    assert np.all(np.diff(on.train.indptr) >= 1)
    assert not np.any(on.validation.negatives == val[:, None]) and not np.any(on.test_negatives == val[:, None])


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = _powerlaw(seed=5, fav=True), _powerlaw(seed=5, fav=True), _powerlaw(seed=6, fav=True)
    for x, y in zip(a.matrices, b.matrices):
        assert (x != y).nnz == 0
    np.testing.assert_array_equal(a.test_items, b.test_items)
    np.testing.assert_array_equal(a.test_negatives, b.test_negatives)
    assert any((x != z).nnz for x, z in zip(a.matrices, c.matrices))
    assert not np.array_equal(a.test_negatives, c.test_negatives)


def test_auto_picks_by_size(monkeypatch):
    assert synthetic._PLANTED_LIMIT == 50_000_000
    assert load_synthetic_mb(**SMALL).info["generator"] == "planted"
    monkeypatch.setattr(synthetic, "_PLANTED_LIMIT", 400 * 120)
    assert load_synthetic_mb(**SMALL).info["generator"] == "planted"  # at the limit: still dense
    assert load_synthetic_mb(**{**SMALL, "users": 121}).info["generator"] == "powerlaw"


def test_presets_are_the_papers_sizes():
    sizes = synthetic._MB_SIZES
    assert {k: (v["users"], v["items"], v["fav"]) for k, v in sizes.items()} == {
        "beibei": (21_716, 7_977, False), "tmall": (147_894, 99_037, True), "ijcai": (423_423, 874_328, True)
    }
    papers = {"beibei": 3_338_068, "tmall": 7_658_926, "ijcai": 36_203_512}  # MB-GMN Table 1, every behavior
    for name, spec in sizes.items():
        behaviors = ("views_per_user", "carts_per_user", "buys_per_user") + (("favs_per_user",) if spec["fav"] else ())
        mean_total = spec["users"] * sum(spec[b] for b in behaviors)
        assert 0.8 < mean_total / papers[name] < 1.25, name  # (the drawn total is measured in the docstring)
        assert spec["buys_per_user"] <= spec["carts_per_user"] <= spec["views_per_user"] <= spec["items"]


@pytest.mark.parametrize("size", ["tmall", "IJCAI", "beibei"])
def test_a_preset_shaped_call_with_small_users_and_items(size):
    data = load_synthetic_mb(seed=0, size=size, users=150, items=900, generator="powerlaw", num_test_negatives=30)
    assert (data.num_users, data.num_items) == (150, 900)
    assert data.info["size"] == size.lower()
    fav = size.lower() != "beibei"
    assert data.behaviors == (("pv", "fav", "cart", "buy") if fav else ("pv", "cart", "buy"))
    _assert_well_formed(data)
    views = synthetic._MB_SIZES[size.lower()]["views_per_user"]
    assert 0.5 * views < data.matrices[0].nnz / 150 < 1.5 * views  # the preset's per-user counts apply
    no_fav = load_synthetic_mb(seed=0, size=size, users=150, items=900, fav=False, num_test_negatives=30)
    assert no_fav.behaviors == ("pv", "cart", "buy")


def test_degrees_are_heavy_tailed():
    data = load_synthetic_mb(seed=0, users=3000, items=4000, generator="powerlaw", num_test_negatives=20)
    views = np.sort(np.asarray(data.matrices[0].sum(axis=0)).ravel())[::-1]
    assert views[: len(views) // 100].sum() / views.sum() > 0.08  # uniform items: about 0.015
    activity = np.sort(np.diff(data.matrices[0].indptr))[::-1]
    assert activity[: len(activity) // 100].sum() / activity.sum() > 0.04  # equal users: 0.01
    assert activity.max() > 5 * np.median(activity)


def test_powerlaw_beats_popularity():
    """The planted user-cluster preference is learnable: a co-occurrence score (views x buys)
    ranks the held-out buy far better than popularity."""
    data = load_synthetic_mb(seed=0, users=1500, items=2000, generator="powerlaw")
    candidates = data.candidates()
    pv, buy = data.matrices[0], data.train

    def hr10(scores):
        return float(np.mean((scores[:, 1:] >= scores[:, :1]).sum(axis=1) < 10))

    cooc = (pv @ (pv.T @ buy)).toarray()
    assert hr10(np.take_along_axis(cooc, candidates, axis=1)) > hr10(data.item_popularity()[candidates]) + 0.15


def test_powerlaw_at_a_moderate_size_is_fast():
    start = time.perf_counter()
    data = load_synthetic_mb(seed=0, users=20_000, items=30_000, generator="powerlaw", fav=True)
    assert time.perf_counter() - start < 6.0  # about 1 s on 2 cores
    assert data.matrices[0].nnz > 300_000 and data.test_negatives.shape == (20_000, 99)


def test_the_default_is_the_small_planted_data():
    data = load_synthetic_mb(seed=1, num_test_negatives=10)
    assert (data.num_users, data.num_items, data.behaviors) == (3000, 800, ("pv", "cart", "buy"))
    assert data.info["generator"] == "planted" and data.info["size"] is None


@pytest.mark.parametrize(
    "options, message",
    [
        ({"users": 0}, r"^synthetic-mb: --set users must be a positive integer; got 0$"),
        ({"items": -3}, r"^synthetic-mb: --set items must be a positive integer; got -3$"),
        ({"users": 2.5}, r"^synthetic-mb: --set users must be a positive integer; got 2.5$"),
        ({"size": "tmal"}, r"^synthetic-mb: unknown --set size 'tmal'; did you mean 'tmall'\? valid sizes: beibei, "
                           r"tmall, ijcai \(or none\)$"),
        ({"generator": "zipf"}, r"^synthetic-mb: unknown --set generator 'zipf'; valid generators: auto, planted, powerlaw$"),
        ({"buys_per_user": 9}, r"^synthetic-mb: buys_per_user \(9\) > carts_per_user \(8\); the behaviors are nested"),
        ({"carts_per_user": 30}, r"^synthetic-mb: carts_per_user \(30\) > views_per_user \(20\)"),
        ({"fav": True, "favs_per_user": 21}, r"^synthetic-mb: favs_per_user \(21\) > views_per_user \(20\)"),
        ({"favs_per_user": 3, "fav": False}, r"^synthetic-mb: --set favs_per_user needs the fav behavior, but fav is false$"),
        ({"buys_per_user": 1}, r"^synthetic-mb: --set buys_per_user must be an integer >= 2; got 1$"),
        ({"validation": True, "buys_per_user": 2}, r"^synthetic-mb: validation needs buys_per_user >= 3"),
        ({"items": 15}, r"^synthetic-mb: views_per_user \(20\) > items \(15\)$"),
        ({"items": 50, "num_test_negatives": 47}, r"^synthetic-mb: buys_per_user \(4\) \+ num_test_negatives \(47\) > "
                                                  r"items \(50\)"),
        ({"size": "ijcai", "generator": "planted"}, r"^synthetic-mb: generator 'planted' builds a dense users x items "
                                                    r"affinity; 423423 x 874328 is over its limit"),
        ({"fav": "yes"}, r"^--set fav must be true or false; got 'yes'$"),
        ({"sharpness": -1}, r"^synthetic-mb: --set sharpness must be a number >= 0; got -1$"),
    ],
)
def test_option_errors_are_one_line_naming_the_option(options, message):
    with pytest.raises(DataError, match=message) as error:
        load_synthetic_mb(**options)
    assert "\n" not in str(error.value)


def test_registry_options_and_the_old_names():
    data = load_dataset("synthetic-mb", seed=1, size="tmall", users=40, items=120, num_test_negatives=5)
    assert data.behaviors == ("pv", "fav", "cart", "buy") and data.matrices[0].shape == (40, 120)
    assert data.info["loader"]["options"]["size"] == "tmall"
    again = load_dataset("synthetic-mb", seed=1, **data.info["loader"]["options"])  # how a run reloads it
    for x, y in zip(data.matrices, again.matrices):
        assert (x != y).nnz == 0
    with pytest.raises(UserError, match=r"^unknown option 'num_users' for dataset 'synthetic-mb'; did you mean 'users'\?"):
        load_dataset("synthetic-mb", num_users=40)


@pytest.mark.parametrize("rows_count", [1, 7, 300])
def test_rank_in_rows_is_a_per_row_argsort(rows_count):
    rng = np.random.default_rng(rows_count)
    have = rng.integers(1, 40, rows_count)
    rows = np.repeat(np.arange(rows_count), have)
    key = rng.gumbel(size=rows.size) + 3 * (rng.random(rows.size) < 0.3)
    order = np.lexsort((key, rows))
    expected = np.empty(rows.size, np.int64)
    expected[order] = np.arange(rows.size) - np.repeat(np.cumsum(have) - have, have)
    np.testing.assert_array_equal(synthetic._rank_in_rows(rows, have, key), expected)


def test_docstring_example_runs():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    (test,) = [t for t in finder.find(synthetic) if t.name.endswith(".load_synthetic_mb")]
    assert test.examples
    result = runner.run(test, out=lambda _: None)
    assert result.failed == 0
