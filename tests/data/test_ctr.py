"""CTR data (tfrec/data/ctr.py): ML-1M files -> CTRData, the stratified split, the generator."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec.data.ctr import load_ml1m_ctr, load_synthetic_ctr, make_synthetic_ctr, stratified_test_mask
from tfrec.data.registry import get_dataset, load_dataset
from tfrec.errors import DataError

USERS = "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n"
MOVIES = "10::Toy Story (1995)::Animation|Children's|Comedy\n20::Heat (1995)::Action|Crime|Thriller\n30::Casino, The (1995)::Drama\n"


def _ratings(n_per_user=20, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for user in (1, 2, 3):
        for _ in range(n_per_user):
            rows.append(f"{user}::{rng.choice([10, 20, 30])}::{rng.integers(1, 6)}::{rng.integers(10**9)}")
    return "\n".join(rows) + "\n"


@pytest.fixture
def ml_dir(tmp_path):
    (tmp_path / "ratings.dat").write_text(_ratings())
    (tmp_path / "users.dat").write_text(USERS)
    (tmp_path / "movies.dat").write_text(MOVIES)
    return tmp_path


def test_ids_only_labels_and_split(ml_dir):
    data = load_ml1m_ctr(ml_dir, seed=0)
    assert data.field_names == ["user_id", "item_id"]
    assert data.num_train + data.num_test == 60
    assert data.num_test == 9  # round(0.15 * 20) = 3 per user
    lines = [line.split("::") for line in _ratings().splitlines()]
    ratings = np.array([int(r[2]) for r in lines])
    assert data.train_labels.sum() + data.test_labels.sum() == (ratings >= 4).sum()
    np.testing.assert_array_equal(np.bincount(data.test_features["user_id"]), [3, 3, 3])
    np.testing.assert_array_equal(data.item_ids, [10, 20, 30])
    strict = load_ml1m_ctr(ml_dir, seed=0, threshold=5)
    assert strict.train_labels.sum() + strict.test_labels.sum() == (ratings >= 5).sum()


def test_side_features(ml_dir):
    data = load_ml1m_ctr(ml_dir, seed=1, side_features=True)
    assert data.field_names == ["user_id", "item_id", "gender", "age", "occupation", "zip", "genres"]
    genres = {f.name: f for f in data.fields}["genres"]
    assert genres.multi_hot and genres.vocab_size == 7
    names = data.info["genres"]
    f = data.train_features
    for row in range(data.num_train):
        item = data.item_ids[f["item_id"][row]]
        movie_genres = MOVIES.splitlines()[[10, 20, 30].index(item)].split("::")[2].split("|")
        assert sorted(names[g] for g in f["genres"][row] if g >= 0) == sorted(movie_genres)
        user = data.user_ids[f["user_id"][row]]
        assert f["gender"][row] == (0 if user == 1 else 1)
    assert f["genres"].shape[1] == 3


def test_registry_loads_from_a_local_folder_and_ratings_csv(tmp_path):
    (tmp_path / "ratings.csv").write_text("user_id,item_id,rating\n" + "".join(f"{u},{i},{(u + i) % 5 + 1}\n" for u in range(8) for i in range(7)))
    data = load_dataset("ml-1m-ctr", tmp_path, seed=0, progress=False)
    assert data.num_train + data.num_test == 56
    assert get_dataset("ml-1m-ctr").task == "ctr" and get_dataset("synthetic-ctr").task == "ctr"


@pytest.mark.parametrize(
    "file, text, message",
    [
        ("users.dat", USERS + "4::X::1::10::48067\n", r"users.dat, line 4: field 'Gender'"),
        ("users.dat", USERS + "4::M::1::10\n", r"users.dat, line 4: expected 5 fields"),
        ("users.dat", USERS + "5::M::old::10::48067\n", r"users.dat, line 4: field 'Age'"),
        ("movies.dat", MOVIES + "40::Broken\n", r"movies.dat, line 4: expected 3 fields"),
        ("users.dat", USERS.splitlines()[0] + "\n", r"users.dat: user 2 of the ratings has no row"),
    ],
)
def test_bad_side_files_are_data_errors_naming_file_and_line(ml_dir, file, text, message):
    (ml_dir / file).write_text(text)
    with pytest.raises(DataError, match=message):
        load_ml1m_ctr(ml_dir, side_features=True)


def test_bad_ratings_and_options(ml_dir, tmp_path):
    (ml_dir / "ratings.dat").write_text("1::10::5::1\n1::x::4::2\n")
    with pytest.raises(DataError, match=r"ratings.dat, line 2"):
        load_ml1m_ctr(ml_dir)
    (ml_dir / "ratings.dat").write_text("1::10\n2::20\n")
    with pytest.raises(DataError, match="rating column"):
        load_ml1m_ctr(ml_dir)
    with pytest.raises(DataError, match="users.dat: file not found"):
        (ml_dir / "ratings.dat").write_text(_ratings())
        (ml_dir / "users.dat").unlink()
        load_ml1m_ctr(ml_dir, side_features=True)
    with pytest.raises(DataError, match="test_size"):
        load_synthetic_ctr(test_size=1.5)


def test_stratified_mask_takes_the_rounded_share_of_each_group():
    groups = np.repeat([0, 1, 2, 3], [1, 7, 20, 40])
    mask = stratified_test_mask(groups, 0.15, np.random.default_rng(0))
    np.testing.assert_array_equal(np.bincount(groups[mask], minlength=4), [0, 1, 3, 6])
    other = stratified_test_mask(groups, 0.15, np.random.default_rng(1))
    assert not np.array_equal(mask, other)  # the seed picks the rows


def test_synthetic_is_seeded_and_has_learnable_structure():
    a, b = make_synthetic_ctr(seed=3), make_synthetic_ctr(seed=3)
    np.testing.assert_array_equal(a.train_labels, b.train_labels)
    assert 0.3 < a.train_labels.mean() < 0.7
    ids_only = load_synthetic_ctr(seed=3, side_features=False)
    assert ids_only.field_names == ["user_id", "item_id"]
    # the item click rate is an informative (but not perfect) baseline
    from tfrec.evaluation import auc

    rate = a.item_click_rate()[a.test_features["item_id"]]
    assert 0.6 < float(auc(a.test_labels, rate)) < 0.85
