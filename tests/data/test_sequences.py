"""AttRec sequences (tfrec/data/sequences.py) against hand-worked tiny cases."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec.data.registry import load_dataset
from tfrec.data.sequences import load_ml1m_sequences, load_sequences
from tfrec.data.splits import build_sequences
from tfrec.data.synthetic import load_synthetic_sequences
from tfrec.errors import DataError


def test_split_histories_and_padding_follow_the_reference():
    # user "a": items 10, 20, 30, 40, 50 in time order (rows given shuffled); user "b": 20, 60
    users = np.array(["a", "b", "a", "a", "b", "a", "a"])
    items = np.array([30, 60, 10, 50, 20, 20, 40])
    times = np.array([3, 9, 1, 5, 8, 2, 4])
    data = build_sequences(users, items, times, maxlen=3, seed=0, num_test_negatives=4)
    # items renumbered 1.. by raw id: 10->1, 20->2, 30->3, 40->4, 50->5, 60->6
    assert data.num_items == 6 and data.item_ids.tolist() == [10, 20, 30, 40, 50, 60]
    # user a (id 0): positions 1..n-3 = 1, 2 train; 3 validation; 4 test
    assert data.train_users.tolist() == [0, 0]
    assert data.train_items.tolist() == [2, 3]
    assert data.train_histories.tolist() == [[0, 0, 1], [0, 1, 2]]  # left-padded ("pre")
    assert data.val_items.tolist() == [4] and data.val_histories.tolist() == [[1, 2, 3]]
    # test rows: user a (last 3 items before 50, truncated "pre") and user b (2 items: test only)
    assert data.test_users.tolist() == [0, 1]
    assert data.test_items.tolist() == [5, 6]
    assert data.test_histories.tolist() == [[2, 3, 4], [0, 0, 2]]
    assert data.test_negatives.shape == (2, 4)
    owned = data.user_items.toarray()
    for users_, negatives in ((data.train_users, data.train_negatives), (data.val_users, data.val_negatives)):
        assert np.all(owned[users_, negatives] == 0) and np.all(negatives >= 1)
    assert np.all(owned[data.test_users[:, None], data.test_negatives] == 0)
    assert data.candidates()[:, 0].tolist() == [5, 6]


def test_equal_timestamps_keep_file_order_and_seed_fixes_negatives():
    # user 0: 7, 3, 9 at t=1 and 5 at t=2; user 1 brings more items so negatives exist
    users, items, times = np.array([0, 0, 0, 0, 1, 1]), np.array([7, 3, 9, 5, 1, 2]), np.array([1, 1, 1, 2, 1, 2])
    data = build_sequences(users, items, times, maxlen=2, seed=5, num_test_negatives=2)
    # order 7, 3, 9 (file order at t=1), then 5: test item 5 with history [3, 9]
    assert data.item_ids[data.test_items - 1].tolist() == [5, 2]
    assert data.item_ids[data.test_histories[0] - 1].tolist() == [3, 9]
    with pytest.raises(DataError, match="user 0 has interacted with every item"):
        build_sequences(users[:4], items[:4], times[:4], maxlen=2)
    again = build_sequences(users, items, times, maxlen=2, seed=5, num_test_negatives=2)
    np.testing.assert_array_equal(data.train_negatives, again.train_negatives)


def test_ml1m_loader_reads_ratings_dat_and_refuses_missing_timestamps(tmp_path):
    (tmp_path / "ratings.dat").write_text(
        "1::10::5::100\n1::11::3::101\n1::12::4::102\n2::10::2::50\n2::12::1::40\n2::13::4::60\n"
    )
    data = load_ml1m_sequences(tmp_path, maxlen=2, num_test_negatives=1)
    assert data.num_users == 2 and data.test_items.tolist() == [3, 4]  # items 10, 11, 12, 13 -> 1..4
    assert data.test_histories.tolist() == [[1, 2], [3, 1]]  # user 2 in time order: 12, 10, then 13
    rated = load_ml1m_sequences(tmp_path, maxlen=2, num_test_negatives=1, threshold=3)
    assert rated.test_users.tolist() == [0]  # user 2 keeps a single rating >= 3: nothing to test
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "ratings.csv").write_text("user_id,item_id,rating\n1,2,5\n1,3,4\n")
    with pytest.raises(DataError, match="ratings.csv has no timestamps; AttRec's sequences need") as error:
        load_ml1m_sequences(folder)
    assert "shared" not in str(error.value)  # no path of this project in a user's message


def test_synthetic_sequences_have_short_term_structure():
    data = load_synthetic_sequences(seed=0, num_users=200, num_items=100)
    step = (data.train_items - data.train_histories[:, -1]) % data.num_items
    assert np.mean((step >= 1) & (step <= 3)) > 0.5  # most next items follow the previous one
    assert data.test_negatives.shape == (200, 101)


# --------------------------------------------------------------------------------------------
# Validation split
# --------------------------------------------------------------------------------------------
def _rows():
    """6 users with 2..7 items each (time order = listing order), items 1..12."""
    users, items, times = [], [], []
    for u in range(6):
        for k in range(2 + u):
            users.append(u), items.append(1 + (3 * u + 2 * k) % 12), times.append(k)
    return np.array(users), np.array(items), np.array(times)


def test_validation_split_is_the_second_last_item_with_ranked_negatives():
    users, items, times = _rows()
    off = build_sequences(users, items, times, maxlen=3, seed=4, num_test_negatives=5)
    on = build_sequences(users, items, times, maxlen=3, seed=4, num_test_negatives=5, validation=True)
    assert off.validation is None
    for name in ("train_negatives", "val_negatives", "test_negatives", "train_histories", "test_items"):
        np.testing.assert_array_equal(getattr(off, name), getattr(on, name))  # drawn last: nothing else moves
    held = on.validation
    np.testing.assert_array_equal(held.users, on.val_users)
    np.testing.assert_array_equal(held.items, on.val_items)
    np.testing.assert_array_equal(held.histories, on.val_histories)
    assert held.negatives.shape == (len(on.val_users), 5) and held.negatives.dtype == np.int32
    # by hand: users with 3+ items have a validation row, the item before their last
    expected = {u: items[users == u][-2] for u in range(6) if (users == u).sum() >= 3}
    got = dict(zip(held.users.tolist(), on.item_ids[held.items - 1].tolist()))
    assert got == expected
    owned = on.user_items.toarray()
    assert np.all(owned[held.users[:, None], held.negatives] == 0) and held.negatives.min() >= 1
    np.testing.assert_array_equal(held.candidates()[:, 0], held.items)


# --------------------------------------------------------------------------------------------
# The `sequences` dataset: a user's own file
# --------------------------------------------------------------------------------------------
def test_own_sequences_with_text_ids_and_a_threshold(tmp_path):
    path = tmp_path / "clicks.tsv"
    rows = ["ann\tb\t5\t3", "ann\ta\t4\t1", "ann\tc\t1\t2", "ann\td\t5\t4", "ann\te\t4\t5", "ben\ta\t5\t9", "ben\tz\t4\t8"]
    path.write_text("user\titem\trating\ttime\n" + "\n".join(rows) + "\n")
    data = load_sequences(path, maxlen=2, num_test_negatives=1)
    assert data.user_ids.tolist() == ["ann", "ben"] and data.item_ids.tolist() == ["a", "b", "c", "d", "e", "z"]
    assert data.item_ids.dtype.kind == "U"
    # ann in time order: a, c, b, d, e -> test e, validation d; ben: z, a -> test a
    assert data.item_ids[data.test_items - 1].tolist() == ["e", "a"]
    assert data.item_ids[data.validation.items - 1].tolist() == ["d"]  # validation on by default
    rated = load_sequences(path, maxlen=2, num_test_negatives=1, threshold=4)  # ann loses c
    assert rated.item_ids[rated.test_histories[0] - 1].tolist() == ["b", "d"]
    assert rated.num_items == 5
    with pytest.raises(DataError, match="--set threshold must be a number; got 'high'"):
        load_sequences(path, threshold="high")


def test_own_sequences_layouts_and_folder(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "sequences.csv").write_text("1,10,3\n1,11,1\n1,12,2\n2,10,1\n2,13,2\n")  # user,item,timestamp
    data = load_dataset("sequences", folder, maxlen=2, num_test_negatives=1, progress=False)
    assert data.name == "sequences" and data.item_ids[data.test_items - 1].tolist() == [10, 13]
    assert data.item_ids.dtype == np.int64
    (folder / "sequences.csv").write_text("user,item,rating\n1,10,3\n1,11,1\n")  # a rating, no time
    with pytest.raises(DataError, match="sequences.csv has no timestamps"):
        load_sequences(folder)
    (folder / "sequences.csv").write_text("1,10\n1,11\n")
    with pytest.raises(DataError, match="no timestamps"):
        load_sequences(folder)
    (folder / "ratings.csv").write_text("1,10,3\n")
    with pytest.raises(DataError, match="expected exactly one sequences.csv / ratings.csv.*found ratings.csv, sequences.csv"):
        load_sequences(folder)
