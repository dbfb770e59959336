"""CTR data (tfrec/data/ctr.py): ML-1M files -> CTRData, the stratified split, the generator."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec.data.ctr import load_ml1m_ctr
from tfrec.data.registry import get_dataset, load_dataset
from tfrec.data.splits import stratified_test_mask
from tfrec.data.synthetic import load_synthetic_ctr, make_synthetic_ctr
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
    (ml_dir / "ratings.dat").write_text("1::10::5::1\n1::11::x::2\n")  # ids may be text, ratings not
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


# --------------------------------------------------------------------------------------------
# Vocabularies, thresholds and validation of ml-1m-ctr
# --------------------------------------------------------------------------------------------
def test_vocabularies_hold_the_raw_value_of_every_id(ml_dir):
    data = load_ml1m_ctr(ml_dir, seed=1, side_features=True)
    vocab = data.vocabularies
    assert set(vocab) == set(data.field_names)
    users = {1: ("F", 1, 10, "480"), 2: ("M", 56, 16, "700"), 3: ("M", 25, 15, "551")}
    f = data.train_features
    for row in range(data.num_train):
        user = int(vocab["user_id"][f["user_id"][row]])
        raw = tuple(vocab[c][f[c][row]].item() for c in ("gender", "age", "occupation", "zip"))
        assert raw == users[user]
    assert vocab["age"].dtype == np.int64 and vocab["zip"].dtype.kind == "U" and vocab["genres"].dtype.kind == "U"
    np.testing.assert_array_equal(vocab["item_id"], data.item_ids)
    for c, values in vocab.items():  # savable without pickles
        np.save(ml_dir / f"{c}.npy", values, allow_pickle=False)
    assert set(load_ml1m_ctr(ml_dir, seed=1).vocabularies) == {"user_id", "item_id"}


@pytest.mark.parametrize("threshold, label", [(10, 0), (0, 1)])
def test_a_threshold_that_leaves_one_class_is_refused(ml_dir, threshold, label):
    with pytest.raises(DataError, match=rf"ratings.dat: --set threshold={threshold} makes every label {label} "
                                        r"\(ratings range 1..5\); AUC is undefined"):
        load_ml1m_ctr(ml_dir, threshold=threshold)
    with pytest.raises(DataError, match=r"^--set threshold must be a number; got 'abc'$"):
        load_ml1m_ctr(ml_dir, threshold="abc")


def test_validation_rows_come_from_training_and_leave_the_test_rows_alone(ml_dir):
    plain = load_ml1m_ctr(ml_dir, seed=4)
    held = load_ml1m_ctr(ml_dir, seed=4, validation=0.2)
    assert plain.validation is None
    for name in plain.field_names:
        np.testing.assert_array_equal(plain.test_features[name], held.test_features[name])
    # per user: round(0.2 * training rows) validation rows; train + validation = the plain training rows
    per_user = np.bincount(plain.train_features["user_id"])
    np.testing.assert_array_equal(np.bincount(held.validation.features["user_id"]), np.floor(per_user * 0.2 + 0.5))
    combined = np.concatenate([held.train_features["user_id"] * 100 + held.train_features["item_id"],
                               held.validation.features["user_id"] * 100 + held.validation.features["item_id"]])
    np.testing.assert_array_equal(np.sort(combined), np.sort(plain.train_features["user_id"] * 100 + plain.train_features["item_id"]))
    assert len(held.validation) == len(held.validation.labels) and "validation" in held.info["split"]
    for bad in (1.0, -0.1, True, "x"):
        with pytest.raises(DataError, match="--set validation must be a fraction in"):
            load_ml1m_ctr(ml_dir, validation=bad)


# --------------------------------------------------------------------------------------------
# The `ctr` dataset: a user's own click file
# --------------------------------------------------------------------------------------------
CLICKS = """user,item,city,tags,size,label
ann,m1,Oslo,a|b,10,1
ann,m2,Oslo,b,9,0
ann,m3,Oslo,,10,1
ben,m1,Rome,c|a|a,2,0
ben,m2,Rome,a,10,1
ben,m3,Rome,b|c,9,1
cat,m1,Oslo,a,2,0
cat,m2,Oslo,c,10,1
"""


def test_own_click_file_fields_vocabularies_and_split(tmp_path):
    from tfrec.data.ctr import load_ctr

    path = tmp_path / "clicks.csv"
    path.write_text(CLICKS)
    data = load_ctr(path, seed=0, test_size=0.34, validation=0.0)
    assert data.field_names == ["user_id", "item_id", "city", "tags", "size"]
    kinds = {f.name: (f.vocab_size, f.multi_hot) for f in data.fields}
    assert kinds == {"user_id": (3, False), "item_id": (3, False), "city": (2, False), "tags": (3, True), "size": (3, False)}
    vocab = data.vocabularies
    assert vocab["user_id"].tolist() == ["ann", "ben", "cat"] and vocab["size"].tolist() == [2, 9, 10]  # numeric order
    assert vocab["size"].dtype == np.int64 and vocab["tags"].tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(data.user_ids, vocab["user_id"])
    # every row, train or test, decodes back to its line of the file
    lines = [line.split(",") for line in CLICKS.splitlines()[1:]]
    decoded = []
    for features, labels in ((data.train_features, data.train_labels), (data.test_features, data.test_labels)):
        for r in range(len(labels)):
            tags = "|".join(vocab["tags"][t] for t in features["tags"][r] if t >= 0)
            decoded.append([vocab["user_id"][features["user_id"][r]], vocab["item_id"][features["item_id"][r]],
                            vocab["city"][features["city"][r]], tags, str(vocab["size"][features["size"][r]]), str(int(labels[r]))])
    expected = [[u, i, c, "|".join(sorted(set(t.split("|")) - {""})), s, lab] for u, i, c, t, s, lab in lines]
    assert sorted(decoded) == sorted(expected)
    assert data.train_features["tags"].shape[1] == 2  # the most tags of a row, repeats once
    np.testing.assert_array_equal(np.bincount(data.test_features["user_id"]), [1, 1, 1])  # round(0.34 * 3) each
    again = load_dataset("ctr", tmp_path, seed=0, test_size=0.34, validation=0.0, progress=False)  # folder: clicks.*
    np.testing.assert_array_equal(again.test_labels, data.test_labels)
    with pytest.raises(DataError, match="clicks.csv: --set test_size=0.15 holds out no row"):  # round(0.15 * 3) = 0
        load_ctr(path, seed=0)
    bigger = tmp_path / "more" / "clicks.csv"
    bigger.parent.mkdir()
    bigger.write_text("user,item,label\n" + "".join(f"u{k % 2},i{k % 7},{k % 3 == 0:d}\n" for k in range(40)))
    default = load_ctr(bigger, seed=0)  # 20 rows per user: 3 test rows, then 2 validation rows each
    assert np.bincount(default.validation.features["user_id"]).tolist() == [2, 2]
    assert default.num_test == 6 and default.info["split"].endswith("as validation")


def test_own_click_file_with_ratings_and_without_users(tmp_path):
    from tfrec.data.ctr import load_ctr

    path = tmp_path / "clicks.tsv"
    path.write_text("item\tcolour\trating\n" + "".join(f"i{k % 4}\t{'rgb'[k % 3]}\t{1 + k % 5}\n" for k in range(20)))
    data = load_ctr(path, threshold=4, test_size=0.25, validation=0.0)
    assert data.field_names == ["item_id", "colour"] and data.num_test == 5 and data.user_ids is None
    ratings = np.array([1 + k % 5 for k in range(20)])
    assert data.train_labels.sum() + data.test_labels.sum() == (ratings >= 4).sum()
    with pytest.raises(DataError, match="has a rating column and no label column: --set threshold=N"):
        load_ctr(path)
    with pytest.raises(DataError, match="--set threshold=9 makes every label 0 \\(ratings range 1..5\\)"):
        load_ctr(path, threshold=9)


@pytest.mark.parametrize(
    "text, message",
    [
        ("user,item,label\nu,i,1\nu,j,2\n", r"clicks.csv, line 3: column 'label' must be 0 or 1; got '2'"),
        ("user,item,label\nu,,1\nu,j,0\n", r"clicks.csv, line 2: column 'item_id' has an empty value"),
        ("user,item,label\nu,i,1,9\n", r"clicks.csv, line 2: expected 3 fields like the header"),
        ("1,5,1\n2,6,0\n", r"clicks.csv, line 1: column name '1' .*header row"),
        ("user,user_id,label\nu,v,1\n", r"column 'user_id' appears more than once"),
        ("user,item,label,rating\nu,i,1,5\n", r"both a label and a rating column"),
        ("user,item\nu,i\n", r"expected a label column \(0/1\) or a rating column"),
        ("label\n1\n0\n", r"no field column besides 'label'"),
        ("user,item,label\nu,i,1\nu,j,1\nu,k,1\n", r"clicks.csv: every label is 1; AUC is undefined"),
        ("user,item,label\n", r"no rows after the header"),
    ],
)
def test_bad_click_files_name_the_file_and_line_or_column(tmp_path, text, message):
    from tfrec.data.ctr import load_ctr

    path = tmp_path / "clicks.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        load_ctr(path, test_size=0.34, validation=0.0)
