"""MovieLens / NCF split / generic ratings loaders (tfrec/data/movielens.py) on tiny fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec.data.movielens import load_ml100k, load_ml1m, load_ncf_split, load_ratings, read_ratings_file
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
    bad.write_text("user,item,rating,timestamp\n1,2,3,4\n1,x,3,5\n")
    with pytest.raises(DataError, match=r"ratings.csv, line 3.*'1,x,3,5'"):
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


def test_missing_timestamps_and_missing_files_are_clear(tmp_path):
    _write(tmp_path / "ratings.csv", ",", "user_id,item_id,rating", rows=[r[:3] for r in ROWS])
    with pytest.raises(DataError, match="ratings.csv has no timestamps"):
        load_ml1m(tmp_path, seed=0)
    with pytest.raises(DataError, match="expected ratings.dat"):
        load_ml1m(tmp_path / "nowhere", seed=0)


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
