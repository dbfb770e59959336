"""Acceptance: a CTR model trained on a click log exports a SavedModel that takes the raw columns
(strings and numbers as logged, missing values allowed) with the vocabularies and transforms
inside the graph; in a fresh process that never imports tfrec its ``score`` equals the Keras
model on ``ClickPreprocessing.transform`` of the same rows -- rows not in the log, with unseen
categories, empty values, NaN numbers and multi-hot values with unseen and empty parts.

Three logs: a Criteo-like log (log transform, DeepFM), the same log bucketised (DCN; every field
categorical) and a CSV of our own with a multi-hot column and the ``none`` transform (DeepFM)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import keras

from tfrec.data.catalogue import Catalogue
from tfrec.data.clicklog import CRITEO_SCHEMA, ClickSchema, prepare_click_log
from tfrec.data.synthetic import write_criteo_like
from tfrec.errors import UserError
from tfrec.export import RawFeatures, _argument_name, export_saved_model
from tfrec.models import DCN, GMF, DeepFM

# "app-id" is not a Python identifier: score's argument is app_id
OWN_SCHEMA = ClickSchema(label="click", categorical=("site", "app-id"), numeric=("price",), multi_hot=("tags",))
TAGS = [f"t{i}" for i in range(6)]


def write_own_csv(path, rows: int = 800, seed: int = 1):
    """A header CSV: click, site, app-id, price, tags ("|"-separated, sometimes empty)."""
    rng = np.random.default_rng(seed)
    site = rng.integers(0, 12, rows)
    app = rng.integers(0, 6, rows)
    price = np.round(rng.gamma(2.0, 3.0, rows), 2)
    tags = ["|".join(rng.choice(TAGS, size=rng.integers(0, 4), replace=False)) for _ in range(rows)]
    click = (rng.random(rows) < 1 / (1 + np.exp(-(site % 3 - 1 + 0.1 * price - 1)))).astype(int)
    frame = pd.DataFrame({"click": click, "site": [f"s{v}" for v in site], "app-id": [f"a{v}" for v in app],
                          "price": [("" if rng.random() < 0.1 else f"{p:g}") for p in price], "tags": tags})
    frame.loc[rng.random(rows) < 0.1, "app-id"] = ""  # missing categorical values
    frame.to_csv(path, index=False)
    return path


def raw_rows(data, rows: int, seed: int) -> pd.DataFrame:
    """Raw rows not in the log: each categorical cell a kept value, a never-seen value or empty;
    each number a value (some <= 2, negatives, fractions, large), or NaN. Row 0 is all kept
    values, row 1 all unseen, row 2 all missing; a kept value is sometimes padded with spaces."""
    rng = np.random.default_rng(seed)
    prep = data.preprocessing
    schema = prep.schema
    frame = {}
    for column in schema.numeric:
        values = rng.choice([-3.0, -0.5, 0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 7.0, 42.0, 1000.0, 123456.0], rows)
        values[rng.random(rows) < 0.25] = np.nan
        values[2] = np.nan
        values[0] = 5.0
        frame[column] = values
    for column in schema.categorical:
        vocabulary = [v for v in prep.vocabularies[column] if v != ""]
        cells = []
        for r in range(rows):
            draw = 0.0 if r == 0 else 0.5 if r == 1 else 0.99 if r == 2 else rng.random()
            if draw < 0.45 and vocabulary:
                value = str(rng.choice(vocabulary))
                cells.append(f" {value} " if rng.random() < 0.2 else value)
            elif draw < 0.8:
                cells.append(f"never-seen-{column}-{r}")
            else:
                cells.append("")
        frame[column] = cells
    for column in schema.multi_hot:
        kept = list(prep.vocabularies[column])
        width = prep.widths[column]
        cells = ["|".join(kept[:2]), "unseen-a|unseen-b", "", f" {kept[0]} || unseen-c |{kept[-1]}",
                 "|".join([*kept, *kept])[: 1000], "|"]  # the fifth is wider than the log's widest row: cut
        assert len(kept) * 2 > width
        frame[column] = [cells[r % len(cells)] for r in range(rows)]
    return pd.DataFrame(frame)


SERVE = textwrap.dedent(
    """
    import json, math, sys
    sys.modules["tfrec"] = None  # serving must not need tfrec
    import numpy as np
    import tensorflow as tf

    cases = json.loads(sys.stdin.read())
    out = {}
    for name, case in cases.items():
        served = tf.saved_model.load(case["path"])
        rows = case["rows"]
        got = served.score(**rows)                                  # Python lists, as a user passes them
        signature = served.signatures["score"]                      # what TF Serving calls
        dtypes = {k: v.dtype for k, v in signature.structured_input_signature[1].items()}
        via_signature = signature(**{k: tf.constant(rows[a], dtypes[k]) for k, a in case["signature_names"].items()})
        out[name] = {
            "score": got["score"].numpy().tolist(), "known": got["known"].numpy().tolist(),
            "signature_score": via_signature["score"].numpy().tolist(),
            "score_dtype": got["score"].dtype.name,
            "inputs": {k: d.name for k, d in dtypes.items()},
            "endpoints": sorted(served.signatures.keys()), "has_recommend": hasattr(served, "recommend"),
        }
    out["tfrec_imported"] = any(m == "tfrec" or m.startswith("tfrec.") for m in sys.modules if sys.modules[m] is not None)
    print(json.dumps(out))
    """
)


def json_rows(frame: pd.DataFrame, schema: ClickSchema, key=lambda c: c) -> dict:
    """The rows as the served signature takes them: strings for text columns, floats (NaN) for
    numbers; ``{key(column): values}``."""
    return {key(c): [float(v) for v in frame[c]] if c in schema.numeric else [str(v) for v in frame[c]]
            for c in schema.feature_columns}


CASES = {
    "criteo_log_deepfm": dict(log="criteo", numeric_transform="log", model=DeepFM,
                              hyper=dict(embedding_dim=4, hidden_units=[8], fm_factors=4)),
    "criteo_bucket_dcn": dict(log="criteo", numeric_transform="bucket", model=DCN,
                              hyper=dict(embedding_dim=4, num_cross_layers=1, hidden_units=[8])),
    "own_none_deepfm": dict(log="own", numeric_transform="none", model=DeepFM,
                            hyper=dict(embedding_dim=4, hidden_units=[8], fm_factors=4)),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw-features")
    logs = {"criteo": (write_criteo_like(root / "criteo.txt", rows=3000, seed=11), CRITEO_SCHEMA),
            "own": (write_own_csv(root / "own.csv"), OWN_SCHEMA)}
    built, requests = {}, {}
    for seed, (name, case) in enumerate(CASES.items()):
        path, schema = logs[case["log"]]
        data = prepare_click_log(path, schema, shards_dir=root / f"{name}-shards", min_count=2,
                                 numeric_transform=case["numeric_transform"], num_shards=2)
        keras.utils.set_random_seed(seed)
        model = case["model"].from_data(data, **case["hyper"])
        model.compile(optimizer=keras.optimizers.Adam(0.01), jit_compile=False)
        model.fit(data.shards.dataset("train", 256).take(2), verbose=0)
        frame = raw_rows(data, 12, seed)
        expected = np.asarray(model(data.preprocessing.transform(frame), training=False))
        # the run's path (catalogue.npz) for one case, the task data itself for the others
        catalogue = data
        if name == "criteo_bucket_dcn":
            catalogue = Catalogue.load(Catalogue.from_data(data).save(root / "catalogue.npz"))
        export_saved_model(model, root / name, catalogue=catalogue)
        inputs = json.loads((root / name / "tfrec_export.json").read_text())["inputs"]
        arguments = {i["name"]: i["argument"] for i in inputs}
        requests[name] = {"path": str(root / name), "rows": json_rows(frame, schema, arguments.get),
                          "signature_names": {i["signature_name"]: i["argument"] for i in inputs}}
        built[name] = {"data": data, "model": model, "frame": frame, "expected": expected}
    proc = subprocess.run([sys.executable, "-c", SERVE], input=json.dumps(requests), capture_output=True, text=True,
                          cwd=root, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), built, root


def test_serving_process_never_imports_tfrec(served):
    assert served[0]["tfrec_imported"] is False


@pytest.mark.parametrize("name", list(CASES))
def test_raw_score_equals_the_keras_model_on_the_numpy_transform(served, name):
    got, built, _ = served
    got, expected = got[name], built[name]["expected"]
    assert got["score_dtype"] == "float32"
    np.testing.assert_allclose(got["score"], expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(got["signature_score"], expected, rtol=0, atol=1e-5)
    assert got["known"] == [True] * len(expected)  # unseen values are scored with the out-of-vocabulary id
    assert np.all((np.array(got["score"]) > 0) & (np.array(got["score"]) < 1))


@pytest.mark.parametrize("name", list(CASES))
def test_the_rows_hold_unseen_and_missing_values(served, name):
    """The scored rows exercise what they claim: out-of-vocabulary ids, NaN numbers, multi-hot
    rows with id 0, empty rows and rows cut at the width."""
    _, built, _ = served
    data, frame = built[name]["data"], built[name]["frame"]
    features = data.preprocessing.transform(frame)
    schema = data.preprocessing.schema
    looked_up = [c for c in schema.feature_columns if features[c].dtype == np.int32]
    assert any((features[c] == 0).any() for c in looked_up)
    assert all((features[c] > 0).any() for c in schema.categorical)
    assert all(frame[c].isna().any() for c in schema.numeric)
    assert all((frame[c] == "").any() for c in schema.categorical)
    for column in schema.multi_hot:
        ids = features[column]
        assert (ids == 0).any() and (ids == -1).all(axis=1).any() and (ids[:, -1] >= 0).any()


@pytest.mark.parametrize("name", list(CASES))
def test_raw_features_layer_equals_the_numpy_transform(served, name):
    _, built, _ = served
    data, frame = built[name]["data"], built[name]["frame"]
    schema = data.preprocessing.schema
    layer = RawFeatures(data.preprocessing.as_dict())
    again = RawFeatures.from_config(layer.get_config())
    rows = json_rows(frame, schema)
    inputs = {c: np.asarray(v, np.float32 if c in schema.numeric else object) for c, v in rows.items()}
    expected = data.preprocessing.transform(frame)
    for out in (layer(inputs), again(inputs)):
        assert set(out) == set(expected)
        for column, values in expected.items():
            got = np.asarray(out[column])
            assert got.dtype == values.dtype and got.shape == values.shape, column
            if values.dtype == np.float32:
                np.testing.assert_allclose(got, values, rtol=1e-6, atol=1e-6, err_msg=column)
            else:
                np.testing.assert_array_equal(got, values, err_msg=column)


@pytest.mark.parametrize("name", list(CASES))
def test_signature_takes_one_input_per_column_strings_and_float32(served, name):
    got, built, root = served
    schema = built[name]["data"].preprocessing.schema
    keys = [_argument_name(c).lower() for c in schema.feature_columns]  # TF Serving's keys are lowercase
    wanted = {k: "float32" if c in schema.numeric else "string" for k, c in zip(keys, schema.feature_columns)}
    assert got[name]["inputs"] == wanted
    assert "score" in got[name]["endpoints"] and "recommend" not in got[name]["endpoints"]
    assert got[name]["has_recommend"] is False
    info = json.loads((root / name / "tfrec_export.json").read_text())
    assert info["signatures"]["score"]["outputs"] == {"score": {"dtype": "float32", "shape": [None]},
                                                      "known": {"dtype": "bool", "shape": [None]}}
    assert list(info["signatures"]["score"]["inputs"]) == keys
    assert [i["signature_name"] for i in info["inputs"]] == keys
    assert [i["argument"] for i in info["inputs"]] == [_argument_name(c) for c in schema.feature_columns]


@pytest.mark.parametrize("name", list(CASES))
def test_metadata_lists_each_input_its_transform_and_vocabulary(served, name):
    _, built, root = served
    prep = built[name]["data"].preprocessing
    info = json.loads((root / name / "tfrec_export.json").read_text())
    assert [i["name"] for i in info["inputs"]] == list(prep.schema.feature_columns)
    for entry in info["inputs"]:
        column = entry["name"]
        if column in prep.schema.numeric:
            assert (entry["dtype"], entry["kind"], entry["transform"]) == ("float32", "numeric", prep.numeric_transform)
        else:
            kind = "multi_hot" if column in prep.schema.multi_hot else "categorical"
            assert (entry["dtype"], entry["kind"], entry["transform"]) == ("string", kind, kind)
        if column in prep.vocabularies:
            assert entry["vocabulary_size"] == len(prep.vocabularies[column])
            assert entry["min_count"] == prep.min_count
        else:
            assert entry["vocabulary_size"] is None and entry["min_count"] is None
        if column in prep.schema.multi_hot:
            assert entry["width"] == prep.widths[column]
    assert info["recommend"].startswith("not exported")
    assert "known is always true" in info["unknown_values"]
    assert info["numeric_transform"] == prep.numeric_transform
    assert not [p.name for p in root.iterdir() if p.name.endswith(".tmp")]  # written atomically


def test_catalogue_of_a_click_log_round_trips_its_preprocessing(served, tmp_path):
    _, built, _ = served
    data = built["own_none_deepfm"]["data"]
    cat = Catalogue.from_data(data)
    assert cat.users is None and cat.num_items == 0 and cat.items.dtype == np.int64
    assert cat.fields == {} and cat.seen is None and cat.attributes == {}
    assert cat.preprocessing == json.loads(json.dumps(data.preprocessing.as_dict()))
    loaded = Catalogue.load(cat.save(tmp_path / "catalogue.npz"))
    assert loaded.preprocessing == cat.preprocessing and loaded.same_ids(cat)
    other = Catalogue.from_data(built["criteo_log_deepfm"]["data"])
    assert not loaded.same_ids(other)
    assert not loaded.same_ids(Catalogue(None, np.zeros(0, np.int64)))


def test_catalogue_of_another_log_is_refused_naming_the_field(served, tmp_path):
    _, built, _ = served
    model = built["criteo_log_deepfm"]["model"]
    with pytest.raises(UserError, match=r"the model's field 'I1' is not a column of the preprocessing") as error:
        export_saved_model(model, tmp_path / "out", catalogue=built["own_none_deepfm"]["data"])
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def test_a_vocabulary_of_another_size_is_refused_naming_the_field(served, tmp_path):
    _, built, _ = served
    data, model = built["criteo_log_deepfm"]["data"], built["criteo_log_deepfm"]["model"]
    prep = data.preprocessing.as_dict()
    column = next(c for c in CRITEO_SCHEMA.categorical if len(prep["vocabularies"][c]) > 1)
    size = len(prep["vocabularies"][column]) + 1
    prep["vocabularies"][column] = prep["vocabularies"][column][:-1]
    with pytest.raises(UserError, match=rf"field '{column}' has {size - 1} ids in the preprocessing, the model {size}"):
        export_saved_model(model, tmp_path / "out", catalogue=Catalogue(None, np.zeros(0, np.int64), preprocessing=prep))


def test_a_bucketised_log_is_refused_for_a_model_of_log_values(served, tmp_path):
    _, built, _ = served
    with pytest.raises(UserError, match=r"field 'I1' is categorical in the preprocessing, numeric in the model"):
        export_saved_model(built["criteo_log_deepfm"]["model"], tmp_path / "out",
                           catalogue=built["criteo_bucket_dcn"]["data"])


def test_a_preprocessing_needs_a_ctr_model(served, tmp_path):
    _, built, _ = served
    model = GMF(num_users=3, num_items=4, factor_num=2)
    model.build()
    with pytest.raises(UserError, match=r"only a CTR model can serve; got GMF"):
        export_saved_model(model, tmp_path / "out", catalogue=built["own_none_deepfm"]["data"])


def test_a_malformed_preprocessing_is_one_user_error(served, tmp_path):
    _, built, _ = served
    bad = Catalogue(None, np.zeros(0, np.int64), preprocessing={"schema": {"label": "y"}})
    with pytest.raises(UserError, match=r"is not a click-log preprocessing") as error:
        export_saved_model(built["own_none_deepfm"]["model"], tmp_path / "out", catalogue=bad)
    assert "\n" not in str(error.value)


def test_nan_and_infinite_numbers_are_missing_in_the_graph():
    """NaN (and an infinite number, which the log refuses) transform as the reference's missing value."""
    from tfrec.data.clicklog import ClickPreprocessing

    schema = ClickSchema(label="y", numeric=("x",))
    for transform, vocabulary in (("log", {}), ("none", {}), ("bucket", {"x": np.array(["", "1", "4"], object)})):
        prep = ClickPreprocessing(schema, transform, 1, vocabulary, {})
        out = np.asarray(RawFeatures(prep.as_dict())({"x": np.array([np.nan, np.inf, -np.inf], np.float32)})["x"])
        missing = prep.transform(pd.DataFrame({"x": [math.nan]}))["x"][0]
        assert (out == missing).all(), (transform, out, missing)


def test_column_names_that_are_not_identifiers_become_arguments():
    assert [_argument_name(c) for c in ("I1", "app-id", "1st", "class", "price usd", "_x")] == [
        "I1", "app_id", "x_1st", "class_", "price_usd", "_x"]


def test_columns_that_would_share_an_input_are_refused(tmp_path):
    from tfrec.data.clicklog import ClickPreprocessing

    prep = ClickPreprocessing(ClickSchema(label="y", categorical=("C1", "c1")), "log", 1,
                              {"C1": np.array(["a"], object), "c1": np.array(["b"], object)}, {})
    model = DeepFM(fields=prep.fields(), embedding_dim=2, hidden_units=[2], fm_factors=2)
    model.build()
    catalogue = Catalogue(None, np.zeros(0, np.int64), preprocessing=prep.as_dict())
    with pytest.raises(UserError, match=r"columns 'C1' and 'c1' would share the SavedModel input 'c1'"):
        export_saved_model(model, tmp_path / "out", catalogue=catalogue)
    assert not (tmp_path / "out").exists()


def test_numeric_fields_without_a_click_log_catalogue_are_one_user_error(tmp_path):
    from tfrec.errors import UserError
    from tfrec.export import export_saved_model
    from tfrec.models import DeepFM

    model = DeepFM([("site", 4), ("price", 1, False, True)], embedding_dim=4, hidden_units=[4])
    model.build()
    with pytest.raises(UserError, match=r"fields \['price'\] are numeric"):
        export_saved_model(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()
