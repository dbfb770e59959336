"""MovieLens / NCF split / generic ratings loaders (tfrec/data/movielens.py) on tiny fixtures."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tfrec.data.files import check_threshold, id_values, read_ratings_file
from tfrec.data.movielens import load_ml100k, load_ml1m, load_ncf_split, load_ratings
from tfrec.errors import DataError

# user 10: items 5 (t=3), 7 (t=9, latest), 8 (t=1); user 20: items 5 (t=4), 6 (t=4 tie), 9 (t=2)
ROWS = [(10, 5, 4, 3), (10, 7, 5, 9), (20, 5, 3, 4), (10, 8, 1, 1), (20, 6, 2, 4), (20, 9, 5, 2)]


def _write(path, sep, header=None, rows=ROWS):
    lines = ([header] if header else []) + [sep.join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _catalogue_plus():
    """ROWS plus a third user (items 100-103), so every user has free items for negatives."""
    return ROWS + [(30, 100 + i, 3, i) for i in range(4)]


def test_ml1m_dat_split_reindex_and_ties(tmp_path):
    _write(tmp_path / "ratings.dat", "::", rows=_catalogue_plus())
    data = load_ml1m(tmp_path, seed=0, num_test_negatives=4)
    assert data.user_ids.tolist() == [10, 20, 30]
    assert data.num_items == 5 + 4
    test = dict(zip(data.user_ids[data.test_users], data.item_ids[data.test_items]))
    assert test[10] == 7  # latest timestamp
    assert test[20] == 5  # tie at t=4: the first row in the file, as seed 004's rank(method='first')
    assert test[30] == 103
    dense = data.train.toarray()
    user10 = list(data.user_ids).index(10)
    assert sorted(data.item_ids[np.flatnonzero(dense[user10])]) == [5, 8]
    for row, user in enumerate(data.test_users):  # negatives avoid train positives and the test item
        assert not dense[user, data.test_negatives[row]].any()
        assert data.test_items[row] not in data.test_negatives[row]


@pytest.mark.parametrize(
    "name,sep,header",
    [("ratings.csv", ",", "user_id,item_id,rating,timestamp"), ("ratings.csv", ",", None), ("r.tsv", "\t", None), ("r.txt", " ", None)],
)
def test_generic_reader_formats(tmp_path, name, sep, header):
    frame = read_ratings_file(_write(tmp_path / name, sep, header))
    assert list(frame.columns) == ["user", "item", "rating", "timestamp"]
    assert frame["user"].tolist() == [r[0] for r in ROWS] and frame["timestamp"].tolist() == [r[3] for r in ROWS]


def test_ratings_loader_takes_a_file_or_a_folder(tmp_path):
    path = _write(tmp_path / "ratings.csv", ",", "u,i,r,t", rows=_catalogue_plus())
    a = load_ratings(path, seed=1, num_test_negatives=3)
    b = load_ratings(tmp_path, seed=1, num_test_negatives=3)
    np.testing.assert_array_equal(a.test_negatives, b.test_negatives)


def test_malformed_line_names_file_and_line(tmp_path):
    bad = tmp_path / "ratings.csv"
    bad.write_text("user,item,rating,timestamp\n1,2,3,4\n1,x,y,5\n")  # ids may be text; ratings may not
    with pytest.raises(DataError, match=r"ratings.csv, line 3: rating must be a finite number; got 'y' in '1,x,y,5'"):
        read_ratings_file(bad)
    bad.write_text("1,2,3,4\n\n1,2,3,inf\n")
    with pytest.raises(DataError, match=r"ratings.csv, line 3: timestamp must be a finite number"):
        read_ratings_file(bad)
    bad.write_text("u,i,r,t\n1,2,3,4,9\n")  # the first data row wider than the header
    with pytest.raises(DataError, match=r"ratings.csv, line 2: expected 4 fields"):
        read_ratings_file(bad)
    bad.write_text("1,2,3,4\n1,2,3,4,9\n")
    with pytest.raises(DataError, match=r"ratings.csv, line 2: expected 4 fields"):
        read_ratings_file(bad)
    bad.write_text("1,2,3,4\n1,2\n")
    with pytest.raises(DataError, match=r"line 2"):
        read_ratings_file(bad)
    bad.write_text("")
    with pytest.raises(DataError, match="empty"):
        read_ratings_file(bad)


def test_missing_files_are_clear(tmp_path):
    with pytest.raises(DataError, match="expected ratings.dat"):
        load_ml1m(tmp_path / "nowhere", seed=0)
    with pytest.raises(DataError, match="expected exactly one ratings.csv.*found none"):
        load_ratings(tmp_path, seed=0)


def test_ml100k_u_data(tmp_path):
    _write(tmp_path / "u.data", "\t", rows=_catalogue_plus())
    assert load_ml100k(tmp_path, seed=0, num_test_negatives=2).num_users == 3


def test_ncf_split_files_are_used_as_given(tmp_path):
    (tmp_path / "ml-1m.train.rating").write_text("0\t0\t5\t1\n0\t1\t4\t2\n1\t2\t3\t3\n")
    (tmp_path / "ml-1m.test.rating").write_text("0\t3\t5\t9\n1\t0\t4\t9\n")
    (tmp_path / "ml-1m.test.negative").write_text("(0,3)\t2\t4\n(1,0)\t1\t4\n")
    data = load_ncf_split(tmp_path, seed=123)
    assert (data.num_users, data.num_items) == (2, 5)
    assert data.candidates().tolist() == [[3, 2, 4], [0, 1, 4]]
    assert data.train.toarray().tolist() == [[1, 1, 0, 0, 0], [0, 0, 1, 0, 0]]
    (tmp_path / "ml-1m.test.negative").write_text("(0,3)\t2\t4\n(1,0)\tx\t4\n")
    with pytest.raises(DataError, match=r"ml-1m.test.negative, line 2"):
        load_ncf_split(tmp_path)


# --------------------------------------------------------------------------------------------
# Text ids
# --------------------------------------------------------------------------------------------
def test_id_values_int64_or_text_never_object():
    assert id_values(np.array(["7", "007", "-3", "7.0"])).tolist() == [7, 7, -3, 7]
    assert id_values(np.array(["7", "007", "-3", "7.0"])).dtype == np.int64
    mixed = id_values(np.array(["10", "9", "u1"]))
    assert mixed.dtype.kind == "U" and mixed.tolist() == ["10", "9", "u1"]
    for text in (["1.5", "2"], ["1e30", "1"], ["9" * 25, "1"], ["nan", "1"], ["inf", "2"]):
        assert id_values(np.array(text)).dtype.kind == "U", text
    # labels compared as text (session logs): "7" and "007" are two items, so they stay text
    assert id_values(np.array(["7", "007"]), labels=True).tolist() == ["7", "007"]
    assert id_values(np.array(["7", "8"]), labels=True).dtype == np.int64


def test_text_ids_are_read_sorted_and_savable(tmp_path):
    rows = [("bob", "m2", 4, 5), ("alice", "m10", 5, 1), ("bob", "m9", 3, 2), ("alice", "m2", 2, 7), ("carol", "m1", 1, 3),
            ("carol", "m9", 4, 4), ("carol", "m10", 5, 9)]
    path = _write(tmp_path / "ratings.csv", ",", None, rows=rows)  # no header: "bob,m2,4,5" is data (rating, time numeric)
    frame = read_ratings_file(path)
    assert len(frame) == 7 and frame["rating"].tolist() == [4, 5, 3, 2, 1, 4, 5]
    data = load_ratings(path, seed=0, num_test_negatives=1, validation=False)
    assert data.user_ids.dtype.kind == "U" and data.user_ids.tolist() == ["alice", "bob", "carol"]
    assert data.item_ids.tolist() == ["m1", "m10", "m2", "m9"]  # text order
    test = dict(zip(data.user_ids[data.test_users], data.item_ids[data.test_items]))
    assert test == {"alice": "m2", "bob": "m2", "carol": "m10"}  # latest timestamps
    np.savez(tmp_path / "ids.npz", users=data.user_ids, items=data.item_ids, allow_pickle=False)
    # a column of integers stays int64 even when the other is text
    mixed = _write(tmp_path / "mixed.csv", "\t", "user\titem\trating\ttimestamp", rows=[(u, i, r, t) for (u, i, r, t) in
                   [(3, "x", 1, 1), (10, "y", 2, 2), (3, "z", 3, 3)]])
    frame = read_ratings_file(mixed)
    assert frame["user"].dtype == np.int64 and frame["user"].tolist() == [3, 10, 3]


def test_header_rules_with_text_ids(tmp_path):
    two = tmp_path / "two.csv"
    two.write_text("user_id,item_id\nu1,i1\nu2,i1\n")  # usual names: a header
    assert read_ratings_file(two)["user"].tolist() == ["u1", "u2"]
    two.write_text("who,what\n1,5\n2,5\n")  # text over integer ids: a header
    assert read_ratings_file(two)["user"].tolist() == [1, 2]
    two.write_text("a,b\nc,d\n")  # text everywhere: both rows are data
    assert read_ratings_file(two)["user"].tolist() == ["a", "c"]
    three = tmp_path / "three.csv"
    three.write_text("user,item,timestamp\n1,5,100\n1,6,50\n")  # a header naming the time column
    assert list(read_ratings_file(three).columns) == ["user", "item", "timestamp"]
    three.write_text("user,item,stars\n1,5,4\n")
    assert list(read_ratings_file(three).columns) == ["user", "item", "rating"]


# --------------------------------------------------------------------------------------------
# No timestamps: a seeded random leave-one-out
# --------------------------------------------------------------------------------------------
def _expected_random_split(rows, seed):
    """Per user the row with the smallest ``default_rng(seed).random(n)`` key is the test row,
    the next smallest with another item the validation row (plain Python over a tiny case)."""
    keys = np.random.default_rng(seed).random(len(rows))
    test, val = {}, {}
    for user in sorted({r[0] for r in rows}):
        mine = sorted((keys[k], k) for k, r in enumerate(rows) if r[0] == user)
        items = [rows[k][1] for _, k in mine]
        if len(items) > 1:
            test[user] = items[0]
            others = [i for i in items if i != items[0]]
            if len(set(items)) >= 3:
                val[user] = others[0]
    return test, val


def test_without_timestamps_the_held_out_items_are_seeded_random_draws(tmp_path):
    rows = [(u, 100 + (u * 7 + k) % 13, 3) for u in range(1, 7) for k in range(1 + u % 5)] + [(2, 100, 1), (2, 100, 2)]
    path = _write(tmp_path / "ratings.csv", ",", "user,item,rating", rows=rows)
    for seed in (0, 1):
        data = load_ratings(path, seed=seed, num_test_negatives=2)
        assert data.info["split"].startswith("random leave-one-out (no timestamps)")
        test, val = _expected_random_split(rows, seed)
        got_test = dict(zip(data.user_ids[data.test_users].tolist(), data.item_ids[data.test_items].tolist()))
        got_val = dict(zip(data.user_ids[data.validation.users].tolist(), data.item_ids[data.validation.items].tolist()))
        assert got_test == test and got_val == val
    other = load_ratings(path, seed=1, num_test_negatives=2)
    same = load_ratings(path, seed=1, num_test_negatives=2)
    np.testing.assert_array_equal(other.test_items, same.test_items)


def test_no_user_with_two_rows_is_a_clear_error(tmp_path):
    path = _write(tmp_path / "ratings.csv", ",", None, rows=[(1, 2, 5, 1), (2, 3, 5, 1)])
    with pytest.raises(DataError, match="ratings.csv: no user has two or more interactions"):
        load_ratings(path)


# --------------------------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------------------------
def test_threshold_keeps_ratings_at_or_above_it(tmp_path):
    _write(tmp_path / "ratings.dat", "::", rows=_catalogue_plus())
    data = load_ml1m(tmp_path, seed=0, num_test_negatives=1, threshold=3)
    kept = [r for r in _catalogue_plus() if r[2] >= 3]  # (10,5),(10,7),(20,5),(20,9),(30,*)
    assert data.user_ids.tolist() == [10, 20, 30] and data.item_ids.tolist() == sorted({r[1] for r in kept})
    test = dict(zip(data.user_ids[data.test_users], data.item_ids[data.test_items]))
    assert test == {10: 7, 20: 5, 30: 103}  # user 20's rating-2 tie (item 6) was dropped before the split
    assert data.num_train == len(kept) - 3 and data.info["threshold"] == 3.0
    every = load_ml1m(tmp_path, seed=0, num_test_negatives=1)
    assert every.num_train == len(_catalogue_plus()) - 3  # default: every row is a positive


@pytest.mark.parametrize("bad", ["abc", True, float("nan"), [4]])
def test_non_numeric_threshold(tmp_path, bad):
    _write(tmp_path / "ratings.dat", "::", rows=_catalogue_plus())
    with pytest.raises(DataError, match=r"^--set threshold must be a number; got " + re.escape(repr(bad)) + "$"):
        load_ml1m(tmp_path, threshold=bad)
    assert check_threshold("4.5") == 4.5 and check_threshold(None) is None


def test_threshold_leaving_nothing_or_without_ratings(tmp_path):
    _write(tmp_path / "ratings.dat", "::", rows=_catalogue_plus())
    with pytest.raises(DataError, match=r"ratings.dat: --set threshold=6 leaves no rows \(ratings range 1..5\)"):
        load_ml1m(tmp_path, threshold=6)
    two = _write(tmp_path / "two.csv", ",", None, rows=[(1, 2), (1, 3)])
    with pytest.raises(DataError, match="two.csv has no rating column"):
        load_ratings(two, threshold=3)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
# user 1: items 1..5 at times 1..5, plus item 5 again at time 0 (a repeat of the test item);
# user 2: items 1, 2 (too few for a validation row); user 3: items 3, 6, 7, 8 (times 4, 3, 2, 1)
VAL_ROWS = [(1, i, 4, i) for i in range(1, 6)] + [(1, 5, 4, 0), (2, 1, 4, 1), (2, 2, 4, 2)] + [
    (3, 3, 4, 4), (3, 6, 4, 3), (3, 7, 4, 2), (3, 8, 4, 1)] + [(4, i, 1, i) for i in range(9, 20)]


def test_validation_holds_out_the_second_latest_item(tmp_path):
    path = _write(tmp_path / "ratings.csv", ",", None, rows=VAL_ROWS)
    data = load_ratings(path, seed=3, num_test_negatives=4)  # validation on by default for your own data
    raw = lambda users, items: dict(zip(data.user_ids[users].tolist(), data.item_ids[items].tolist()))  # noqa: E731
    assert raw(data.test_users, data.test_items) == {1: 5, 2: 2, 3: 3, 4: 19}
    held = data.validation
    assert raw(held.users, held.items) == {1: 4, 3: 6, 4: 18}  # user 2 has 2 items: no validation row
    assert held.users.dtype == np.int64 and held.negatives.shape == (3, 4)
    np.testing.assert_array_equal(held.candidates()[:, 0], held.items)
    np.testing.assert_array_equal(held.candidates()[:, 1:], held.negatives)
    train = data.train.toarray()
    user1 = list(data.user_ids).index(1)
    assert sorted(data.item_ids[np.flatnonzero(train[user1])].tolist()) == [1, 2, 3]
    test_of = dict(zip(data.test_users, data.test_items))
    val_of = dict(zip(held.users, held.items))
    for row, user in enumerate(held.users):  # never a training positive, the validation or the test item
        negatives = held.negatives[row]
        assert not train[user, negatives].any() and len(set(negatives)) == 4
        assert val_of[user] not in negatives and test_of[user] not in negatives
    for row, user in enumerate(data.test_users):
        assert val_of.get(user) not in data.test_negatives[row] and not train[user, data.test_negatives[row]].any()
    assert "validation" in data.info["split"]


def test_validation_off_is_the_plain_protocol(tmp_path):
    path = _write(tmp_path / "ratings.csv", ",", None, rows=VAL_ROWS)
    off = load_ratings(path, seed=3, num_test_negatives=4, validation=False)
    on = load_ratings(path, seed=3, num_test_negatives=4)
    assert off.validation is None
    np.testing.assert_array_equal(off.test_items, on.test_items)
    assert off.num_train == on.num_train + len(on.validation.users)
    with pytest.raises(DataError, match="--set validation must be true or false; got 'yes'"):
        load_ratings(path, validation="yes")
