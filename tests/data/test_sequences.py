"""AttRec sequences (tfrec/data/sequences.py) against hand-worked tiny cases."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec.data.sequences import build_sequences, load_ml1m_sequences, load_synthetic_sequences
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
    rated = load_ml1m_sequences(tmp_path, maxlen=2, num_test_negatives=1, min_rating=3)
    assert rated.test_users.tolist() == [0]  # user 2 keeps a single rating >= 3: nothing to test
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "ratings.csv").write_text("user_id,item_id,rating\n1,2,5\n1,3,4\n")
    with pytest.raises(DataError, match="ratings.csv has no timestamps"):
        load_ml1m_sequences(folder)


def test_synthetic_sequences_have_short_term_structure():
    data = load_synthetic_sequences(seed=0, num_users=200, num_items=100)
    step = (data.train_items - data.train_histories[:, -1]) % data.num_items
    assert np.mean((step >= 1) & (step <= 3)) > 0.5  # most next items follow the previous one
    assert data.test_negatives.shape == (200, 101)
