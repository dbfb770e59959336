"""tfrec.data.catalogue: the user's own ids of a model's internal indices (NumPy only)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.data.catalogue import Catalogue, as_ids, has_pad
from tfrec.data.types import CTRData, CTRField, ImplicitFeedback, MultiBehavior, SequenceData, SessionData, SessionSequences
from tfrec.errors import UserError




def csr(rows, cols, shape):
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)


def implicit(**ids):
    train = csr([0, 0, 1, 2], [1, 3, 0, 2], (3, 4))
    return ImplicitFeedback("t", 3, 4, train, np.arange(3), np.array([0, 1, 3]), np.array([[2], [2], [1]]), **ids)


def test_implicit_feedback_keeps_raw_ids_and_the_training_matrix_as_seen():
    data = implicit(user_ids=np.array([7, 42, 1001]), item_ids=np.array(["a", "b", "c", "d"], dtype=object))
    cat = Catalogue.from_data(data)
    np.testing.assert_array_equal(cat.users, [7, 42, 1001])
    assert cat.users.dtype == np.int64 and cat.items.dtype.kind == "U"  # object strings -> U
    np.testing.assert_array_equal(cat.items, ["a", "b", "c", "d"])
    assert cat.item_offset == 0 and cat.fields == {} and cat.attributes == {}
    np.testing.assert_array_equal(cat.seen.toarray(), data.train.toarray())


def test_data_without_raw_ids_gets_the_internal_ones():
    cat = Catalogue.from_data(implicit())
    np.testing.assert_array_equal(cat.users, np.arange(3))
    np.testing.assert_array_equal(cat.items, np.arange(4))


def test_multibehavior_seen_is_the_target_behavior():
    view = csr([0, 0, 1, 1, 2], [0, 1, 1, 2, 3], (3, 4))
    buy = csr([0, 2], [1, 3], (3, 4))
    data = MultiBehavior(name="mb", num_users=3, num_items=4, behaviors=("view", "buy"), matrices=(view, buy),
                test_users=np.arange(3), test_items=np.array([0, 2, 1]), test_negatives=np.array([[2], [0], [0]]),
                user_ids=np.array(["x", "y", "z"]), item_ids=np.array([10, 20, 30, 40]))
    cat = Catalogue.from_data(data)
    np.testing.assert_array_equal(cat.users, ["x", "y", "z"])
    np.testing.assert_array_equal(cat.items, [10, 20, 30, 40])
    np.testing.assert_array_equal(cat.seen.toarray(), buy.toarray())


def sequence_data(**ids):
    one = lambda *v: np.array(v, np.int32)  # noqa: E731
    user_items = csr([0, 0, 0, 1, 1, 1], [1, 2, 3, 2, 3, 4], (2, 5))
    return SequenceData(
        "s", 2, 4, 2, train_users=one(), train_histories=np.zeros((0, 2), np.int32), train_items=one(),
        train_negatives=one(), val_users=one(0, 1), val_histories=np.array([[0, 1], [0, 2]], np.int32),
        val_items=one(2, 3), val_negatives=one(4, 1), test_users=one(0, 1), test_histories=np.array([[1, 2], [2, 3]], np.int32),
        test_items=one(3, 4), test_negatives=np.array([[4], [1]], np.int32), user_items=user_items, **ids,
    )


def test_sequence_items_start_at_one_and_seen_drops_the_padding_column():
    cat = Catalogue.from_data(sequence_data())
    assert cat.item_offset == 1
    np.testing.assert_array_equal(cat.items, [1, 2, 3, 4])  # internal ids 1..n, 0 pads
    np.testing.assert_array_equal(cat.seen.toarray(), [[1, 1, 1, 0], [0, 1, 1, 1]])
    raw = Catalogue.from_data(sequence_data(user_ids=np.array([5, 9]), item_ids=np.array(["w", "x", "y", "z"])))
    np.testing.assert_array_equal(raw.item_index(["w", "z", "nope"]), [1, 4, -1])


def test_sessions_have_items_only():
    seqs = SessionSequences.from_lists([[1, 2], [2, 3]])
    data = SessionData("x", 3, seqs, np.array([3, 1], np.int32), seqs, np.array([3, 1], np.int32), seqs)
    cat = Catalogue.from_data(data)
    assert cat.users is None and cat.seen is None and cat.item_offset == 1
    np.testing.assert_array_equal(cat.items, [1, 2, 3])
    named = Catalogue.from_data(dataclasses.replace(data, item_ids=np.array([900, 5, 31])))
    np.testing.assert_array_equal(named.item_index([[5, 0], [31, 900]]), [[2, -1], [3, 1]])
    with pytest.raises(KeyError):
        named.user_index([1])


# ------------------------------------------------------------------------------------------
GENDER = np.array([1, 0, 1, 0])  # of each user
GENRES = [[2, 0], [1], [0, 1, 2], [3]]  # of each item (rows below list them in varying order)


def ctr_data():
    rows_u = np.array([0, 0, 1, 1, 2, 2, 3, 3, 0, 2])
    rows_i = np.array([0, 1, 2, 3, 0, 3, 1, 2, 2, 1])
    hours = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])  # context: varies within users and items
    genres = np.full((rows_u.size, 3), -1, np.int32)
    for r, i in enumerate(rows_i):
        g = GENRES[i][::-1] if r % 2 else GENRES[i]  # the same set, written in another order
        genres[r, : len(g)] = g
    labels = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0], np.float32)

    def part(rows):
        return {"user_id": rows_u[rows], "item_id": rows_i[rows], "gender": GENDER[rows_u[rows]], "hour": hours[rows],
                "genres": genres[rows]}

    train, test = np.arange(8), np.arange(8, 10)
    fields = (CTRField("user_id", 4), CTRField("item_id", 4), CTRField("gender", 2), CTRField("hour", 3),
              CTRField("genres", 4, multi_hot=True))
    return CTRData(name="c", fields=fields, train_features=part(train), train_labels=labels[train],
                test_features=part(test), test_labels=labels[test], user_ids=np.array(["u1", "u2", "u3", "u4"]),
                item_ids=np.array([193609, 1, 50, 7]),
                vocabularies={"gender": np.array(["F", "M"]), "hour": np.array([6, 12, 18]),
                              "genres": np.array(["Action", "Comedy", "Drama", "Horror"])})


def test_ctr_catalogue_fields_seen_and_attributes():
    data = ctr_data()
    cat = Catalogue.from_data(data)
    np.testing.assert_array_equal(cat.users, ["u1", "u2", "u3", "u4"])
    np.testing.assert_array_equal(cat.items, [193609, 1, 50, 7])
    assert set(cat.fields) == {"gender", "hour", "genres"}
    np.testing.assert_array_equal(cat.fields["genres"], ["Action", "Comedy", "Drama", "Horror"])
    # seen: the clicked training rows, counted with a plain loop
    expected = np.zeros((4, 4))
    for u, i, y in zip(data.train_features["user_id"], data.train_features["item_id"], data.train_labels):
        expected[u, i] = max(expected[u, i], y)
    np.testing.assert_array_equal(cat.seen.toarray(), expected)
    # attributes: gender is the user's, genres the item's (as a set), the hour of day neither
    assert set(cat.attributes) == {"gender", "genres"}
    owner, table = cat.attributes["gender"]
    assert owner == "user" and table.dtype == np.int32
    np.testing.assert_array_equal(table, GENDER)
    owner, table = cat.attributes["genres"]
    assert owner == "item" and table.shape == (4, 3)
    for item, genres in enumerate(GENRES):
        assert sorted(v for v in table[item] if v >= 0) == sorted(genres)
    for features in (data.train_features, data.test_features):  # every row agrees with the table
        for i, row in zip(features["item_id"], features["genres"]):
            assert sorted(row[row >= 0]) == sorted(table[i][table[i] >= 0])


def test_a_field_that_varies_for_a_user_and_an_item_is_no_attribute():
    data = ctr_data()
    features = dict(data.train_features, gender=data.train_features["gender"].copy())
    features["gender"][0] = 1 - features["gender"][0]  # user 0 now has both genders, item 0 too
    cat = Catalogue.from_data(dataclasses.replace(data, train_features=features))
    assert "gender" not in cat.attributes and "genres" in cat.attributes


@pytest.mark.parametrize("kind", ["int", "str"])
def test_save_load_round_trip_is_atomic_and_pickle_free(tmp_path, kind):
    cat = Catalogue.from_data(ctr_data() if kind == "str" else implicit(user_ids=np.array([7, 42, 1001]),
                                                                       item_ids=np.array([5, 6, 8, 13])))
    path = cat.save(tmp_path / "sub" / "catalogue.npz")
    assert sorted(p.name for p in path.parent.iterdir()) == ["catalogue.npz"]  # no temporary file left
    with np.load(path, allow_pickle=False) as npz:  # readable without pickles
        assert all(npz[k].dtype != object for k in npz.files)
    back = Catalogue.load(path)
    np.testing.assert_array_equal(back.users, cat.users)
    np.testing.assert_array_equal(back.items, cat.items)
    assert back.users.dtype.kind == cat.users.dtype.kind and back.item_offset == cat.item_offset
    assert back.fields.keys() == cat.fields.keys()
    for name in cat.fields:
        np.testing.assert_array_equal(back.fields[name], cat.fields[name])
    np.testing.assert_array_equal(back.seen.toarray(), cat.seen.toarray())
    assert back.attributes.keys() == cat.attributes.keys()
    for name, (owner, table) in cat.attributes.items():
        assert back.attributes[name][0] == owner
        np.testing.assert_array_equal(back.attributes[name][1], table)


def test_sessions_round_trip_without_users_or_seen(tmp_path):
    cat = Catalogue(None, np.array(["a", "b"]), item_offset=1)
    back = Catalogue.load(cat.save(tmp_path / "c.npz"))
    assert back.users is None and back.seen is None and back.item_offset == 1
    np.testing.assert_array_equal(back.items, ["a", "b"])


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = Catalogue(np.array([1]), np.array([2])).save(tmp_path / "c.npz")
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        Catalogue(np.array([3]), np.array([4])).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


def test_load_names_a_missing_or_unreadable_file(tmp_path):
    with pytest.raises(UserError, match="missing.npz"):
        Catalogue.load(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(UserError, match="bad.npz"):
        Catalogue.load(bad)
    np.savez(tmp_path / "other.npz", x=np.arange(3))
    with pytest.raises(UserError, match="other.npz"):
        Catalogue.load(tmp_path / "other.npz")


def test_unknown_ids_map_to_minus_one_in_any_shape():
    cat = Catalogue(np.array([7, 42, 1001]), np.array(["tt1", "tt2"]))
    np.testing.assert_array_equal(cat.user_index([1001, 7, 8, -1]), [2, 0, -1, -1])
    np.testing.assert_array_equal(cat.item_index([["tt2", ""], ["x", "tt1"]]), [[1, -1], [-1, 0]])
    with pytest.raises(TypeError, match="string ids"):
        cat.item_index([1, 2])
    with pytest.raises(TypeError, match="integer ids"):
        cat.user_index(["7"])


def test_ids_are_checked():
    with pytest.raises(ValueError, match="unique"):
        Catalogue(np.array([1, 1]), np.array([0]))
    assert has_pad(Catalogue(None, np.array([3, -1])).items)  # stored; an export refuses it
    assert has_pad(Catalogue(None, np.array(["a", ""])).items) and not has_pad(np.array(["a"]))
    with pytest.raises(ValueError, match="seen"):
        Catalogue(np.array([1]), np.array([1, 2]), seen=sp.csr_matrix((2, 2)))
    with pytest.raises(TypeError):
        as_ids(np.array([1.5, 2.0]))
    with pytest.raises(TypeError):
        as_ids(np.array([1, "a"], dtype=object))
    np.testing.assert_array_equal(as_ids(np.array([3.0, 4.0])), [3, 4])
    assert as_ids(np.array([b"a", b"b"])).dtype.kind == "U"


def test_the_module_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, tfrec.data.catalogue; assert 'tensorflow' not in sys.modules, 'tensorflow imported'"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-1000:]


def test_same_ids_compares_users_items_and_fields_in_order():
    a = Catalogue.identity(3, 4, fields={"genre": 2})
    assert a.same_ids(Catalogue.identity(3, 4, fields={"genre": 2}))
    assert not a.same_ids(Catalogue.identity(3, 5, fields={"genre": 2}))  # another item
    assert not a.same_ids(Catalogue.identity(3, 4))  # a field missing
    assert not a.same_ids(Catalogue.identity(None, 4, fields={"genre": 2}))  # no users


def click_preprocessing(vocabulary=("a", "", "b")):
    from tfrec.data.clicklog import ClickPreprocessing, ClickSchema

    schema = ClickSchema(label="y", categorical=("site",), numeric=("price",), multi_hot=("tags",))
    return ClickPreprocessing(schema, "log", 2, {"site": np.array(vocabulary, object), "tags": np.array(["x"], object)},
                              {"tags": 3})


def test_a_click_log_catalogue_keeps_its_preprocessing_through_save_and_load(tmp_path):
    from tfrec.data.types import ClickLogData

    prep = click_preprocessing()
    data = ClickLogData(name="log", fields=prep.fields(), shards=None, preprocessing=prep)
    cat = Catalogue.from_data(data)
    assert cat.users is None and cat.num_items == 0 and cat.items.dtype == np.int64 and cat.fields == {}
    assert cat.preprocessing == prep.as_dict()
    path = cat.save(tmp_path / "catalogue.npz")
    with np.load(path, allow_pickle=False) as npz:  # JSON text as bytes: no pickle, no object array
        assert npz["preprocessing_json"].dtype == np.uint8
    loaded = Catalogue.load(path)
    assert loaded.preprocessing == prep.as_dict() and loaded.same_ids(cat)
    assert not loaded.same_ids(Catalogue.from_data(ClickLogData("log", (), None, click_preprocessing(("a", "b")))))
    assert not loaded.same_ids(Catalogue(None, np.zeros(0, np.int64)))


def test_a_catalogue_without_preprocessing_is_saved_as_before(tmp_path):
    path = Catalogue(np.array([1]), np.array([2])).save(tmp_path / "c.npz")
    with np.load(path, allow_pickle=False) as npz:
        assert "preprocessing_json" not in npz
    assert Catalogue.load(path).preprocessing is None


def test_a_preprocessing_must_be_a_json_object(tmp_path):
    with pytest.raises(TypeError, match="preprocessing must be a dict"):
        Catalogue(None, np.zeros(0, np.int64), preprocessing=["not", "a", "dict"])
    with pytest.raises(TypeError):
        Catalogue(None, np.zeros(0, np.int64), preprocessing={"x": object()})
    path = Catalogue(None, np.zeros(0, np.int64), preprocessing={"x": 1}).save(tmp_path / "c.npz")
    with np.load(path, allow_pickle=False) as npz:
        arrays = dict(npz)
    arrays["preprocessing_json"] = np.frombuffer(b"{not json", np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(UserError, match="c.npz is not a readable tfrec catalogue"):
        Catalogue.load(path)
