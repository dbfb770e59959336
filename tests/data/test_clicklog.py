"""Click logs: schemas, the fitted preprocessing, the shards and their streaming, checked against
pandas / NumPy computations on small generated logs."""

from __future__ import annotations

import gzip
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from tfrec.data.clicklog import (
    CRITEO_SCHEMA,
    ClickPreprocessing,
    ClickSchema,
    bucket_tokens,
    log_transform,
    prepare_click_log,
    split_of_rows,
)
from tfrec.data.registry import load_dataset
from tfrec.data.synthetic import write_criteo_like
from tfrec.errors import DataError

ROWS = 6000


@pytest.fixture(scope="module")
def criteo_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("criteo") / "train.txt"
    write_criteo_like(path, ROWS, seed=3)
    return path


@pytest.fixture(scope="module")
def criteo(criteo_file, tmp_path_factory):
    return prepare_click_log(criteo_file, CRITEO_SCHEMA, name="criteo", seed=5, min_count=3, chunk_rows=1000,
                             shards_dir=tmp_path_factory.mktemp("shards") / "criteo", num_shards=3)


def _raw(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, names=list(CRITEO_SCHEMA.columns), dtype=str,
                       keep_default_na=False, na_filter=False)


def _rows(features: dict, labels: np.ndarray, names) -> np.ndarray:
    """Every row as one float64 vector (label first), sorted: a multiset of rows."""
    columns = [labels[:, None]] + [np.asarray(features[n], np.float64).reshape(len(labels), -1) for n in names]
    rows = np.concatenate(columns, axis=1)
    return rows[np.lexsort(rows.T[::-1])]


def test_split_is_8_1_1_and_depends_on_seed_and_row_only():
    split = split_of_rows(7, 0, 200_000, 0.1, 0.1)
    shares = np.bincount(split, minlength=3) / split.size
    np.testing.assert_allclose(shares, [0.8, 0.1, 0.1], atol=0.005)
    pieces = np.concatenate([split_of_rows(7, a, min(a + 12_345, 200_000), 0.1, 0.1) for a in range(0, 200_000, 12_345)])
    np.testing.assert_array_equal(pieces, split)
    assert not np.array_equal(split_of_rows(8, 0, 200_000, 0.1, 0.1), split)


def test_vocabulary_is_fitted_on_training_rows_with_min_count(criteo, criteo_file):
    raw = _raw(criteo_file)
    train = split_of_rows(5, 0, len(raw), 0.1, 0.1) == 0
    assert criteo.num_train == train.sum()
    for column in ("C1", "C6", "C20"):
        counts = raw.loc[train, column].value_counts()
        expected = set(counts[counts >= 3].index)
        assert set(criteo.preprocessing.vocabularies[column]) == expected
        field = next(f for f in criteo.fields if f.name == column)
        assert field.vocab_size == len(expected) + 1  # id 0: out of vocabulary


def test_shards_hold_the_transformed_rows(criteo, criteo_file):
    raw = _raw(criteo_file)
    split = split_of_rows(5, 0, len(raw), 0.1, 0.1)
    names = criteo.field_names
    for index, name in enumerate(("train", "validation", "test")):
        rows = raw[split == index]
        labels = rows["label"].astype(np.float32).to_numpy()
        expected = {}
        vocab = criteo.preprocessing.vocabularies
        for column in CRITEO_SCHEMA.numeric:  # independent: the log transform written out
            x = pd.to_numeric(rows[column].replace("", np.nan)).to_numpy(np.float64)
            expected[column] = np.where(np.isnan(x), 0.0, np.sign(x) * np.log(1 + np.abs(x))).astype(np.float32)
        for column in CRITEO_SCHEMA.categorical:
            position = {value: i + 1 for i, value in enumerate(vocab[column])}
            expected[column] = np.array([position.get(v, 0) for v in rows[column]], np.int32)
        features, got_labels = criteo.shards.arrays(name)
        np.testing.assert_array_equal(_rows(features, got_labels, names), _rows(expected, labels, names))


def test_numeric_fields_and_their_transforms():
    x = np.array([np.nan, -3.0, 0.0, 1.0, 2.0, 3.0, 10.0, 2.5, 1e6])
    np.testing.assert_allclose(log_transform(x), [0, -math.log(4), 0, math.log(2), math.log(3), math.log(4),
                                                   math.log(11), math.log(3.5), math.log(1e6 + 1)], rtol=1e-6)
    tokens = [str(int(math.floor(math.log(v) ** 2))) if v > 2 else str(int(math.floor(v))) for v in x[1:]]
    assert bucket_tokens(x).tolist() == ["", *tokens]


def test_bucketised_numeric_columns_are_categorical(criteo_file, tmp_path):
    data = prepare_click_log(criteo_file, CRITEO_SCHEMA, seed=5, min_count=1, numeric_transform="bucket",
                             shards_dir=tmp_path / "b")
    fields = {f.name: f for f in data.fields}
    assert not any(f.numeric for f in data.fields)
    raw = _raw(criteo_file)
    train = split_of_rows(5, 0, len(raw), 0.1, 0.1) == 0
    values = pd.to_numeric(raw.loc[train, "I5"].replace("", np.nan)).to_numpy(np.float64)
    expected = {"" if np.isnan(v) else str(int(math.floor(math.log(v) ** 2)) if v > 2 else int(math.floor(v))) for v in values}
    assert set(data.preprocessing.vocabularies["I5"]) == {str(t) for t in expected}
    assert fields["I5"].vocab_size == len(expected) + 1


def test_streamed_epochs_visit_every_training_row_once_in_a_seeded_order(criteo):
    shards = criteo.shards
    features, labels = shards.arrays("train")
    names = criteo.field_names

    def epoch(e, seed=0):
        batches = list(shards.dataset("train", 1024, shuffle=True, seed=seed, epoch=e, shuffle_buffer=2048))
        got = {n: np.concatenate([b[0][n].numpy() for b in batches]) for n in names}
        return got, np.concatenate([b[1].numpy() for b in batches]), len(batches)

    first, first_labels, count = epoch(1)
    assert count == shards.num_batches("train", 1024)
    np.testing.assert_array_equal(_rows(first, first_labels, names), _rows(features, labels, names))
    again, _, _ = epoch(1)
    np.testing.assert_array_equal(again["C1"], first["C1"])
    other, _, _ = epoch(2)
    assert not np.array_equal(other["C1"], first["C1"])


def test_chunk_size_and_gzip_do_not_change_the_shards(criteo, criteo_file, tmp_path):
    gz = tmp_path / "train.txt.gz"
    with open(criteo_file, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    other = prepare_click_log(gz, CRITEO_SCHEMA, name="criteo", seed=5, min_count=3, chunk_rows=777,
                              shards_dir=tmp_path / "gz", num_shards=3)
    for split in ("train", "test"):
        a, b = criteo.shards.arrays(split), other.shards.arrays(split)
        names = criteo.field_names
        # the same rows with the same ids: vocabularies may number values alike only if built alike
        assert [list(criteo.preprocessing.vocabularies[c]) for c in CRITEO_SCHEMA.categorical] == [
            list(other.preprocessing.vocabularies[c]) for c in CRITEO_SCHEMA.categorical]
        np.testing.assert_array_equal(_rows(*a, names), _rows(*b, names))


def test_shards_are_reused_and_never_written_over_other_files(criteo_file, tmp_path):
    folder = tmp_path / "cache"
    first = prepare_click_log(criteo_file, CRITEO_SCHEMA, seed=1, shards_dir=folder)
    stamp = (folder / "layout.json").stat().st_mtime_ns
    prepare_click_log(criteo_file, CRITEO_SCHEMA, seed=1, shards_dir=folder)
    assert (folder / "layout.json").stat().st_mtime_ns == stamp
    assert first.num_train > 0
    with pytest.raises(DataError, match="another log or other options"):
        prepare_click_log(criteo_file, CRITEO_SCHEMA, seed=2, shards_dir=folder)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="holds other files"):
        prepare_click_log(criteo_file, CRITEO_SCHEMA, seed=1, shards_dir=busy)
    assert (busy / "notes.txt").read_text() == "mine"


def test_preprocessing_transform_maps_unseen_values_to_zero_and_round_trips(criteo, tmp_path):
    p = criteo.preprocessing
    known = p.vocabularies["C3"][2]
    frame = pd.DataFrame({c: [""] * 2 for c in CRITEO_SCHEMA.feature_columns})
    frame["C3"] = [known, "never-seen"]
    frame["I1"] = ["4", ""]
    out = p.transform(frame)
    assert out["C3"].tolist() == [3, 0]
    np.testing.assert_allclose(out["I1"], [math.log(5), 0.0], rtol=1e-6)
    p.save(tmp_path / "p.json")
    again = ClickPreprocessing.load(tmp_path / "p.json")
    assert again.as_dict() == p.as_dict()
    np.testing.assert_array_equal(again.transform(frame)["C3"], out["C3"])


# --------------------------------------------------------------------------------------------
# A user's own CSV with a schema
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def own_csv(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({
        "id": np.arange(n),
        "click": rng.integers(0, 2, n),
        "site": rng.choice(["a", "b", "c", "d"], n),
        "price": np.where(rng.random(n) < 0.2, "", rng.integers(0, 50, n).astype(str)),
        "tags": ["|".join(rng.choice(["x", "y", "z"], rng.integers(0, 3), replace=False)) for _ in range(n)],
    })
    path = tmp_path_factory.mktemp("own") / "clicks.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_own_csv_with_schema_options_and_schema_file(own_csv, tmp_path):
    path, frame = own_csv
    options = dict(label="click", categorical="site", numeric="price", multi_hot="tags", ignore="id",
                   shards_dir=str(tmp_path / "a"))
    data = load_dataset("ctr", path, **options)
    assert [(f.name, f.numeric, f.multi_hot) for f in data.fields] == [
        ("price", True, False), ("site", False, False), ("tags", False, True)]
    assert data.num_train + data.num_test + data.shards.rows("validation") == len(frame)
    assert data.info["loader"]["options"]["label"] == "click"
    features, _ = data.shards.arrays("train")
    widest = max(len(t.split("|")) if t else 0 for t in frame["tags"])
    assert features["tags"].shape[1] == widest
    schema = tmp_path / "schema.json"
    schema.write_text('{"label": "click", "categorical": ["site"], "numeric": ["price"], "multi_hot": ["tags"], "ignore": ["id"]}')
    again = load_dataset("ctr", path, schema=str(schema), shards_dir=str(tmp_path / "b"))
    np.testing.assert_array_equal(again.shards.arrays("test")[1], data.shards.arrays("test")[1])


@pytest.mark.parametrize("options, message", [
    (dict(label="click", categorical="site"), "line 1: column 'id' is not in the schema"),
    (dict(label="clik", categorical="site,price,tags", ignore="id"), "'clik' is not in the header; did you mean 'click'"),
    (dict(label="site", categorical="click,price,tags", ignore="id"), r"line 2: label column 'site' must be 0 or 1"),
    (dict(label="click", numeric="site,price", multi_hot="tags", ignore="id"), r"line 2: numeric column 'site' must hold numbers"),
    (dict(label="click", categorical="site", numeric="site,price,tags", ignore="id"), "'site' is both categorical and numeric"),
    (dict(categorical="site"), "need --set label=COLUMN"),
    (dict(schema="/no/such/schema.json"), "schema file not found"),
    (dict(schema="S", label="click"), "both describe the columns"),
    (dict(min_count=3), "applies to a click log read with a schema"),
    (dict(label="click", categorical="site,price,tags", ignore="id", numeric_transform="sqrt"), "numeric_transform must be one of"),
    (dict(label="click", categorical="site,price,tags", ignore="id", threshold=3), "threshold=3 applies to a rating column"),
])
def test_own_csv_errors_name_the_column_and_line(own_csv, options, message, tmp_path, monkeypatch):
    monkeypatch.setenv("TFREC_HOME", str(tmp_path))
    with pytest.raises(DataError, match=message):
        load_dataset("ctr", own_csv[0], **options)


def test_bad_files_are_one_line_errors(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        prepare_click_log(empty, CRITEO_SCHEMA, shards_dir=tmp_path / "e")
    wide = tmp_path / "wide.tsv"
    wide.write_text("1\t" + "\t" * 38 + "\n" + "0\t" + "\t" * 39 + "\n")
    with pytest.raises(DataError, match=r"line 2: expected 40 fields; got 41"):
        prepare_click_log(wide, CRITEO_SCHEMA, shards_dir=tmp_path / "w")
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\t" + "\t" * 38 + "\n" + "2\t" + "\t" * 38 + "\n")
    with pytest.raises(DataError, match=r"bad.tsv, line 2: label column 'label' must be 0 or 1; got '2'"):
        prepare_click_log(bad, CRITEO_SCHEMA, shards_dir=tmp_path / "b")
    header_only = tmp_path / "h.csv"
    header_only.write_text("click,site\n")
    with pytest.raises(DataError, match="no rows after the header"):
        prepare_click_log(header_only, ClickSchema("click", categorical=("site",)), shards_dir=tmp_path / "h")
    with pytest.raises(DataError, match="unknown schema key 'categorial'; did you mean 'categorical'"):
        ClickSchema.from_dict({"label": "y", "categorial": ["a"]})


def test_criteo_loader_reads_a_folder(criteo_file, tmp_path, monkeypatch):
    monkeypatch.setenv("TFREC_HOME", str(tmp_path / "home"))
    data = load_dataset("criteo", criteo_file.parent, min_count=3)
    assert data.name == "criteo" and len(data.fields) == 39
    assert sum(f.numeric for f in data.fields) == 13
    assert str(tmp_path / "home" / "clicklogs") in data.info["shards"]
    assert data.info["loader"]["path"] == str(criteo_file)


def test_avazu_loader_reads_its_csv_and_ignores_id(tmp_path, monkeypatch):
    from tfrec.data.clicklog import AVAZU_CATEGORICAL

    monkeypatch.setenv("TFREC_HOME", str(tmp_path / "home"))
    rng = np.random.default_rng(1)
    n = 500
    frame = pd.DataFrame({"id": rng.integers(0, 2**62, n).astype(str), "click": rng.integers(0, 2, n)})
    for column in AVAZU_CATEGORICAL:
        frame[column] = rng.choice([f"{column}-{i}" for i in range(12)], n)
    frame.to_csv(tmp_path / "train.csv", index=False)
    data = load_dataset("avazu", tmp_path)
    assert data.field_names == list(AVAZU_CATEGORICAL)
    train = split_of_rows(0, 0, n, 0.1, 0.1) == 0
    counts = frame.loc[train, "site_id"].value_counts()
    assert set(data.preprocessing.vocabularies["site_id"]) == set(counts[counts >= 5].index)
    _, labels = data.shards.arrays("train")
    assert labels.sum() == frame.loc[train, "click"].sum()
    frame.drop(columns=["id"]).assign(extra=1).to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(DataError, match="schema's column 'id' is not in the header"):
        load_dataset("avazu", tmp_path / "other.csv")
