"""Multi-behavior loaders and sampler (tfrec/data/multibehavior.py) on tiny pickled fixtures."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.data.files import safe_unpickle
from tfrec.data.multibehavior import behavior_pair_grid, load_interactions, load_mbgmn
from tfrec.data.synthetic import load_synthetic_mb
from tfrec.errors import DataError


def _dump(path, obj):
    with open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=3)


@pytest.fixture()
def mb_dir(tmp_path):
    rng = np.random.default_rng(0)
    cart = sp.csr_matrix((rng.random((6, 150)) < 0.3).astype(np.int32))
    buy = sp.csr_matrix(cart.multiply(rng.random((6, 150)) < 0.5).astype(np.int32))
    buy[0, 0] = 1
    _dump(tmp_path / "trn_cart", cart)
    _dump(tmp_path / "trn_buy", buy)
    tests = [None] * 6
    tests[1], tests[4] = 7, 9
    _dump(tmp_path / "tst_int", tests)
    return tmp_path


def test_loads_present_behaviors_in_order_with_fixed_negatives(mb_dir):
    data = load_mbgmn(mb_dir, seed=3)
    assert data.behaviors == ("cart", "buy") and data.target == "buy"
    assert data.test_users.tolist() == [1, 4] and data.test_items.tolist() == [7, 9]
    buy = data.matrices[-1].toarray()
    for row, user in enumerate(data.test_users):
        assert not buy[user, data.test_negatives[row]].any()
        assert data.test_items[row] not in data.test_negatives[row]
    np.testing.assert_array_equal(data.test_negatives, load_mbgmn(mb_dir, seed=3).test_negatives)
    assert load_mbgmn(mb_dir, behaviors="buy").behaviors == ("buy",)


def test_bad_inputs_name_the_file(mb_dir):
    with pytest.raises(DataError, match="trn_pv.*not found.*cart, buy"):
        load_mbgmn(mb_dir, behaviors="pv,buy")
    _dump(mb_dir / "trn_cart", sp.csr_matrix(np.ones((5, 150), np.int32)))
    with pytest.raises(DataError, match="trn_buy: shape"):
        load_mbgmn(mb_dir)
    _dump(mb_dir / "trn_cart", sp.csr_matrix((6, 150), dtype=np.int32))
    with pytest.raises(DataError, match="trn_cart: behavior 'cart' has no interactions"):
        load_mbgmn(mb_dir)
    (mb_dir / "trn_buy").unlink()  # without the target, behaviors must be named explicitly
    with pytest.raises(DataError, match="trn_buy: the target behavior 'buy' is missing.*--set behaviors="):
        load_mbgmn(mb_dir)


def test_test_item_out_of_range(mb_dir):
    _dump(mb_dir / "tst_int", [None, 999, None, None, None, None])
    with pytest.raises(DataError, match="tst_int: user 1's test item 999"):
        load_mbgmn(mb_dir)


def test_unsafe_or_truncated_pickles_are_refused(tmp_path):
    _dump(tmp_path / "evil", os.system)
    with pytest.raises(DataError, match="refusing to unpickle"):
        safe_unpickle(tmp_path / "evil")
    _dump(tmp_path / "ok", sp.csr_matrix(np.eye(3)))
    (tmp_path / "cut").write_bytes((tmp_path / "ok").read_bytes()[:40])
    with pytest.raises(DataError, match="cut: not a readable pickle"):
        safe_unpickle(tmp_path / "cut")


def test_sampler_follows_the_reference_rules():
    matrix = sp.csr_matrix(np.array([[1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0]], np.float32))
    positives, negatives, mask = behavior_pair_grid(matrix, np.array([0, 1, 2]), 3, np.random.default_rng(0))
    assert positives.shape == negatives.shape == mask.shape == (3, 3)
    # min(samp_num, degree) pairs per user, in the first slots: the user without interactions adds none
    assert mask.tolist() == [[True, True, False], [False, False, False], [True, True, True]]
    dense = matrix.toarray()
    users = np.broadcast_to(np.array([0, 1, 2])[:, None], mask.shape)[mask]
    assert np.all(dense[users, positives[mask]] == 1)  # positives are positives
    assert np.all(dense[users, negatives[mask]] == 0)  # negatives are not
    assert not positives[~mask].any() and not negatives[~mask].any()
    again = behavior_pair_grid(matrix, np.array([0, 1, 2]), 3, np.random.default_rng(0))
    np.testing.assert_array_equal(positives, again[0])
    np.testing.assert_array_equal(negatives, again[1])
    positives, negatives, mask = behavior_pair_grid(matrix, np.array([1, 1]), 3, np.random.default_rng(0))
    assert mask.shape == (2, 3) and not mask.any()


def test_grid_draws_are_the_flat_reference_order():
    """Row by row, the grid's valid slots are a flat draw's pairs: positives ``indices[indptr[u]
    + floor(r * degree)]`` user after user, then one negative per pair, from the same stream."""
    from tfrec.data.sampling import sample_negatives

    matrix = sp.random(9, 30, density=0.3, format="csr", random_state=1, dtype=np.float32)
    matrix.data[:] = 1
    users = np.array([3, 0, 8, 3, 5])
    positives, negatives, mask = behavior_pair_grid(matrix, users, 4, np.random.default_rng(7))
    draw = np.random.default_rng(7)
    degree = np.diff(matrix.indptr)[users]
    counts = np.minimum(4, degree)
    flat_users = np.repeat(users, counts)
    offsets = np.floor(draw.random(flat_users.size) * np.repeat(degree, counts)).astype(int)
    expected = [matrix.indices[matrix.indptr[u] + o] for u, o in zip(flat_users, offsets)]
    np.testing.assert_array_equal(positives[mask], expected)
    np.testing.assert_array_equal(negatives[mask], sample_negatives(flat_users, matrix, draw))


def test_synthetic_behaviors_are_nested():
    data = load_synthetic_mb(seed=1, users=50, items=120)
    pv, cart, buy = (m.toarray() > 0 for m in data.matrices)
    assert np.all(pv >= cart) and np.all(cart >= buy)
    assert len(data.test_users) == 50 and data.test_negatives.shape == (50, 99)


def test_interaction_log_holds_out_the_latest_target(tmp_path):
    from tfrec.data.multibehavior import load_interactions

    rows = ["user,item,behavior,timestamp"]
    for user in (10, 20, 30):
        for item in range(40):
            rows.append(f"{user},{100 + item},view,{item}")
        rows += [f"{user},{100 + user // 10},buy,5", f"{user},{110 + user // 10},buy,9", f"{user},{120},cart,3"]
    path = tmp_path / "log.csv"
    path.write_text("\n".join(rows) + "\n")
    data = load_interactions(path, seed=0, target="buy", num_test_negatives=5)
    assert data.behaviors == ("view", "cart", "buy") and all(type(b) is str for b in data.behaviors)
    assert data.user_ids.tolist() == [10, 20, 30] and data.item_ids.tolist() == list(range(100, 140))
    assert data.validation is None and "no user has 3" in data.info["validation"]  # 2 buys per user: no validation row
    assert data.test_users.tolist() == [0, 1, 2]
    assert data.test_items.tolist() == [11, 12, 13]  # items 111, 112, 113 (ids from 100 = 0)
    buy = data.matrices[-1].toarray()
    assert buy[0, 1] == 1 and buy[0, 11] == 0  # the earlier buy stays in training, the latest is held out
    with pytest.raises(DataError, match="target behavior 'click' does not occur; behaviors in the file: view, buy, cart"):
        load_interactions(path, target="click")
    path.write_text("user,item,behavior,timestamp\n1,2,buy,1\n1,x,buy,soon\n")  # ids may be text, times not
    with pytest.raises(DataError, match=r"log.csv, line 3: timestamp must be a finite number; got 'soon'"):
        load_interactions(path, target="buy")


def _log(tmp_path, timestamps=True):
    """Users "u1".."u4"; "u1" buys a, b, c, d at times 1..4 (and b again at 5); "u2" buys a, e;
    everyone views items v0..v9."""
    rows = [("u1", "a", "buy", 1), ("u1", "b", "buy", 2), ("u1", "c", "buy", 3), ("u1", "d", "buy", 4), ("u1", "b", "buy", 0),
            ("u2", "a", "buy", 7), ("u2", "e", "buy", 8), ("u3", "c", "cart", 1), ("u4", "d", "buy", 2)]
    rows += [(f"u{u}", f"v{k}", "view", k) for u in range(1, 5) for k in range(10)]
    path = tmp_path / "log.tsv"
    path.write_text("".join("\t".join(map(str, r if timestamps else r[:3])) + "\n" for r in rows))
    return path


def test_text_ids_and_a_validation_split(tmp_path):
    data = load_interactions(_log(tmp_path), seed=2, target="buy", num_test_negatives=3)
    assert data.user_ids.tolist() == ["u1", "u2", "u3", "u4"] and data.user_ids.dtype.kind == "U"
    assert data.item_ids.tolist() == ["a", "b", "c", "d", "e"] + [f"v{k}" for k in range(10)]
    raw = lambda users, items: dict(zip(data.user_ids[users].tolist(), data.item_ids[items].tolist()))  # noqa: E731
    assert raw(data.test_users, data.test_items) == {"u1": "d", "u2": "e"}
    assert raw(data.validation.users, data.validation.items) == {"u1": "c"}  # u2 has 2 buys: none
    buy = data.matrices[-1].toarray()
    assert sorted(data.item_ids[np.flatnonzero(buy[0])].tolist()) == ["a", "b"]
    assert data.behaviors == ("cart", "view", "buy")  # first appearance, the target last
    assert data.matrices[1].toarray()[0].sum() == 10  # other behaviors keep every row
    for split_users, negatives, held in ((data.test_users, data.test_negatives, "c"),
                                         (data.validation.users, data.validation.negatives, "d")):
        for row, user in enumerate(split_users):
            assert not buy[user, negatives[row]].any()
            if user == 0:  # u1's other held-out item is never its negative
                assert data.item_ids.tolist().index(held) not in negatives[row]
    off = load_interactions(_log(tmp_path), seed=2, target="buy", num_test_negatives=3, validation=False)
    assert off.validation is None and off.user_ids is not None and off.matrices[-1].toarray()[0].sum() == 3


def test_without_timestamps_the_last_rows_are_held_out(tmp_path):
    data = load_interactions(_log(tmp_path, timestamps=False), seed=0, target="buy", num_test_negatives=1)
    raw = dict(zip(data.user_ids[data.validation.users].tolist(), data.item_ids[data.validation.items].tolist()))
    # file order for u1: a, b, c, d, b -> test b (last row), validation d
    assert dict(zip(data.user_ids[data.test_users].tolist(), data.item_ids[data.test_items].tolist()))["u1"] == "b"
    assert raw == {"u1": "d"}


def test_behaviors_that_do_not_exist_are_named(tmp_path, mb_dir):
    path = _log(tmp_path)
    with pytest.raises(DataError, match="behavior 'purchase' does not occur; behaviors in the file: buy, cart, view"):
        load_interactions(path, target="buy", behaviors="cart,purchase")
    with pytest.raises(DataError, match="names cart more than once"):
        load_interactions(path, target="buy", behaviors="cart,cart")
    with pytest.raises(DataError, match="trn_purchase: behavior 'purchase' not found; behaviors present: cart, buy"):
        load_mbgmn(mb_dir, behaviors="cart,purchase")
    with pytest.raises(DataError, match="names buy more than once"):
        load_mbgmn(mb_dir, behaviors=["buy", "buy"])
    with pytest.raises(DataError, match="names no behavior"):
        load_mbgmn(mb_dir, behaviors=",")
    assert load_mbgmn(mb_dir).user_ids is None  # pickles carry no raw ids


def test_synthetic_validation_is_a_second_buy():
    off = load_synthetic_mb(seed=1, users=30, items=100, num_test_negatives=10)
    on = load_synthetic_mb(seed=1, users=30, items=100, num_test_negatives=10, validation=True)
    np.testing.assert_array_equal(off.test_items, on.test_items)
    assert not np.any(on.validation.items == on.test_items)
    bought = off.matrices[-1].toarray()
    assert np.all(bought[on.validation.users, on.validation.items] == 1)  # a training buy of the plain split
    assert np.all(on.matrices[-1].toarray()[on.validation.users, on.validation.items] == 0)
