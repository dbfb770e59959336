"""The dataset registry: entries, lookup, lazy loader import (no network, no TensorFlow)."""

from __future__ import annotations

import re
import subprocess
import dataclasses
import sys
import types

import numpy as np
import pytest

from tfrec.data import registry
from tfrec.data.registry import DatasetSpec, get_dataset, list_datasets, load_dataset
from tfrec.errors import DataError, UserError
from tfrec.tasks import KINDS

EXPECTED = {"synthetic", "ml-1m", "ml-100k", "ml-1m-ncf", "ratings", "synthetic-mb", "beibei", "tmall-mb", "diginetica", "tmall",
            "retailrocket", "sequences", "ctr", "interactions", "sessions"}


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("TFREC_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_registered_names():
    names = [s.name for s in list_datasets()]
    assert len(names) == len(set(names))
    assert EXPECTED <= set(names)


def test_entries_are_well_formed():
    for spec in list_datasets():
        assert spec.task in KINDS
        assert re.fullmatch(r"[\w.]+:\w+", spec.loader), spec.loader
        assert spec.description
        names = [f.name for f in spec.files]
        assert len(names) == len(set(names)), spec.name
        for f in spec.files:
            assert f.url.startswith("https://"), f.url
            assert f.sha1 is None or re.fullmatch(r"[0-9a-f]{40}", f.sha1), f
            assert f.size is None or f.size > 0
            if f.member:
                assert f.url.endswith(".zip") and f.member.endswith(f.name)
            else:
                assert f.url.startswith("https://github.com/") and "/raw/" in f.url
        if spec.files:
            # every required group can be satisfied by a downloaded file
            for group in spec.required:
                assert set(group.split("|")) & set(names), (spec.name, group)


def test_ml1m_entry():
    spec = get_dataset("ml-1m")
    ratings = next(f for f in spec.files if f.name == "ratings.dat")
    assert ratings.url == "https://files.grouplens.org/datasets/movielens/ml-1m.zip"
    assert ratings.member == "ml-1m/ratings.dat"
    assert ratings.sha1 == "77a7c4b150f588c23bb9e1f068aa996c0b413695" and ratings.size is None
    assert spec.required == ("ratings.dat|ratings.csv",)
    assert spec.loader == "tfrec.data.movielens:load_ml1m"


def test_ncf_and_session_urls():
    ncf = get_dataset("ml-1m-ncf")
    assert {f.url for f in ncf.files} == {
        f"https://github.com/hexiangnan/neural_collaborative_filtering/raw/master/Data/ml-1m.{s}"
        for s in ("train.rating", "test.rating", "test.negative")
    }
    beibei = get_dataset("beibei")
    assert beibei.task == "multi_behavior" and beibei.loader == "tfrec.data.multibehavior:load_beibei"
    assert "https://github.com/akaxlh/MB-GMN/raw/main/Datasets/beibei/trn_buy" in {f.url for f in beibei.files}
    for name in ("diginetica", "tmall", "retailrocket"):
        spec = get_dataset(name)
        assert spec.task == "sessions" and spec.loader == "tfrec.data.sessions:load_cotrec"
        assert {f.name for f in spec.files} == {"all_train_seq.txt", "train.txt", "test.txt"}


def test_unknown_name_lists_valid_names():
    with pytest.raises(UserError) as e:
        get_dataset("ml-2m")
    msg = str(e.value)
    assert "'ml-2m'" in msg
    for name in EXPECTED:
        assert name in msg


def test_invalid_spec_rejected():
    with pytest.raises(ValueError, match="task"):
        DatasetSpec("x", "graphs", "d", (), (), "m:f")
    with pytest.raises(ValueError, match="loader"):
        DatasetSpec("x", "implicit", "d", (), (), "m.f")


def test_registry_import_is_light():
    code = (
        "import sys, tfrec.data.registry as r; r.list_datasets(); r.get_dataset('ml-1m');"
        "bad = [m for m in ('tensorflow', 'keras', 'tfrec.data.movielens', 'pandas') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------------
# load_dataset
# --------------------------------------------------------------------------------------------
def test_every_registered_loader_exists():
    for spec in list_datasets():
        assert callable(registry._import_loader(spec)), spec.loader


def test_a_loader_module_that_fails_to_import_raises_before_downloading(home, monkeypatch):
    spec = dataclasses.replace(registry.get_dataset("diginetica"), name="broken", loader="tfrec.data._not_written:load")
    monkeypatch.setattr(registry, "_REGISTRY", {**registry._REGISTRY, "broken": spec})
    with pytest.raises(ModuleNotFoundError, match="tfrec.data._not_written"):
        load_dataset("broken", progress=False)
    assert not (home / "datasets" / "broken").exists()  # failed before downloading anything


@pytest.fixture
def fake_loader(monkeypatch):
    """A loader module `_tfrec_fake_loader` that records its calls, and specs using it."""
    calls = []
    module = types.ModuleType("_tfrec_fake_loader")

    def load(path, *, seed, **options):
        calls.append((path, seed, options))
        return "task-data"

    module.load = load

    def load_named(path, *, seed, name="?"):
        calls.append((path, seed, {"name": name}))
        return "named-data"

    module.load_named = load_named
    monkeypatch.setitem(sys.modules, "_tfrec_fake_loader", module)
    specs = {
        "gen": DatasetSpec("gen", "implicit", "generated", (), (), "_tfrec_fake_loader:load"),
        "local": DatasetSpec("local", "implicit", "needs a.txt", (), ("a.txt",), "_tfrec_fake_loader:load",
                             user_data=True),
        "nofunc": DatasetSpec("nofunc", "implicit", "x", (), (), "_tfrec_fake_loader:missing"),
        "named": DatasetSpec("named", "sessions", "x", (), (), "_tfrec_fake_loader:load_named"),
        "brokendep": DatasetSpec("brokendep", "implicit", "x", (), (), "_tfrec_broken_loader:load"),
    }
    monkeypatch.setattr(registry, "_REGISTRY", {**registry._REGISTRY, **specs})
    return calls


def test_load_generated_passes_none_seed_and_options(fake_loader):
    assert load_dataset("gen", seed=3, num_users=5) == "task-data"
    assert fake_loader == [(None, 3, {"num_users": 5})]
    with pytest.raises(UserError, match="takes no --data-dir"):
        load_dataset("gen", "/somewhere")


def test_load_local_folder_and_file(fake_loader, tmp_path):
    with pytest.raises(UserError, match="--data-dir"):
        load_dataset("local")
    with pytest.raises(DataError, match=r"a\.txt"):
        load_dataset("local", tmp_path)
    (tmp_path / "a.txt").write_text("x")
    load_dataset("local", tmp_path, seed=1)
    load_dataset("local", tmp_path / "a.txt", seed=2)
    assert fake_loader == [(tmp_path, 1, {}), (tmp_path / "a.txt", 2, {})]


def test_loader_function_missing(fake_loader):
    with pytest.raises(AttributeError, match="missing"):
        load_dataset("nofunc")


def test_broken_dependency_in_loader_propagates(fake_loader, tmp_path, monkeypatch):
    (tmp_path / "_tfrec_broken_loader.py").write_text("import _tfrec_no_such_package\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="_tfrec_no_such_package"):
        load_dataset("brokendep")


def test_ratings_requires_data_dir():
    with pytest.raises(UserError, match="--data-dir"):
        load_dataset("ratings")


def test_a_loader_shared_by_datasets_learns_the_dataset_name(fake_loader):
    assert load_dataset("named", seed=1) == "named-data"
    assert fake_loader == [(None, 1, {"name": "named"})]



# --------------------------------------------------------------------------------------------
# Options, names and provenance
# --------------------------------------------------------------------------------------------
def test_user_data_datasets_are_registered_with_their_tasks():
    for name, task in (("ratings", "implicit"), ("interactions", "multi_behavior"), ("sequences", "sequences"),
                       ("ctr", "ctr"), ("sessions", "sessions")):
        spec = get_dataset(name)
        assert spec.task == task and spec.user_data, name
    for spec in list_datasets():
        assert "shared/" not in spec.notes + spec.description, spec.name  # no path of this project


def test_loader_defaults_and_validation_defaults():
    assert registry.loader_defaults("ratings") == {"num_test_negatives": 99, "threshold": None, "validation": True}
    assert registry.loader_defaults("ctr") == {
        "test_size": 0.15, "threshold": None, "validation": 0.1, "schema": None, "label": None, "categorical": None,
        "numeric": None, "multi_hot": None, "ignore": None, "min_count": 1, "numeric_transform": "log", "shards_dir": None}
    assert registry.loader_defaults("criteo")["min_count"] == 10 and registry.loader_defaults("avazu")["min_count"] == 5
    assert registry.loader_defaults("sessions")["test_days"] == 7.0
    assert "name" not in registry.loader_defaults("diginetica")
    own = {"ratings": True, "interactions": True, "sequences": True, "ctr": 0.1}
    reference = {"ml-1m": False, "ml-100k": False, "ml-1m-seq": False, "ml-1m-ctr": 0.0, "synthetic": False,
                 "synthetic-seq": False, "synthetic-mb": False, "synthetic-ctr": 0.0}
    for name, expected in {**own, **reference}.items():
        assert registry.loader_defaults(name)["validation"] == expected, name


def test_misspelled_option_and_dataset_suggest_the_closest(tmp_path):
    (tmp_path / "sessions.csv").write_text("1,a,1\n")
    with pytest.raises(UserError, match=r"^unknown option 'test_dayz' for dataset 'sessions'; did you mean 'test_days'\? "
                                        r"valid options: min_item_count, min_session_length, test_days, time_unit$"):
        load_dataset("sessions", tmp_path, test_dayz=3)
    with pytest.raises(UserError, match=r"unknown option 'bogus' for dataset 'synthetic'; valid options: "):
        load_dataset("synthetic", bogus=1)
    with pytest.raises(UserError, match=r"unknown dataset 'ml1m'; did you mean 'ml-1m'\? valid names: "):
        get_dataset("ml1m")


def _ratings_file(folder):
    folder.mkdir(parents=True, exist_ok=True)
    rows = [(u, i, 1 + (u + i) % 5, 10 * u + i) for u in range(4) for i in range(8) if (u + i) % 3]
    path = folder / "ratings.csv"
    path.write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_info_records_how_to_reload_exactly_this_data(tmp_path):
    path = _ratings_file(tmp_path / "mine")
    data = load_dataset("ratings", tmp_path / "mine", seed=7, num_test_negatives=2, progress=False)
    assert data.info["loader"] == {
        "name": "ratings", "path": str(path.resolve()), "seed": 7,
        "options": {"num_test_negatives": 2, "threshold": None, "validation": True},
    }
    import json

    json.dumps(data.info)  # JSON-able as a whole
    loader = data.info["loader"]
    again = load_dataset(loader["name"], loader["path"], seed=loader["seed"], progress=False, **loader["options"])
    np.testing.assert_array_equal(again.test_negatives, data.test_negatives)
    generated = load_dataset("synthetic-ctr", seed=1)
    assert generated.info["loader"] == {"name": "synthetic-ctr", "path": None, "seed": 1,
                                        "options": {"side_features": True, "test_size": 0.15, "validation": 0.0}}


def assert_same(a, b, where="data"):
    """Every field equal: arrays with their dtypes, sparse matrices, nested dataclasses and dicts."""
    import dataclasses

    import scipy.sparse as sp

    assert type(a) is type(b), where
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.dtype != object and np.array_equal(a, b), where
    elif sp.issparse(a):
        assert a.shape == b.shape and (a != b).nnz == 0 and a.dtype == b.dtype, where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{k}]")
    else:
        assert a == b, (where, a, b)


USER_FILES = {
    "sessions": ("sessions.csv", "".join(f"s{s},i{(s * 3 + k) % 7},{1_600_000_000 + 40_000 * s + k}\n"
                                         for s in range(30) for k in range(2 + s % 3))),
    "ratings": ("ratings.csv", "".join(f"u{u},m{(u * 5 + k) % 13},{1 + k % 5},{k}\n" for u in range(6) for k in range(6))),
    "sequences": ("sequences.csv", "".join(f"u{u},m{(u * 5 + k) % 13},{k}\n" for u in range(6) for k in range(6))),
    "interactions": ("interactions.csv", "".join(f"u{u},m{(u * 5 + k) % 13},{'buy' if k % 2 else 'view'},{k}\n"
                                                 for u in range(6) for k in range(8))),
    "ctr": ("clicks.csv", "user,item,label\n" + "".join(f"u{u},m{(u * 5 + k) % 13},{(u + k) % 2}\n"
                                                        for u in range(6) for k in range(8))),
}
USER_OPTIONS = {"sessions": {"min_item_count": 1, "test_days": 1}, "ratings": {"num_test_negatives": 3},
                "sequences": {"num_test_negatives": 3}, "interactions": {"target": "buy", "num_test_negatives": 3}, "ctr": {}}


@pytest.mark.parametrize("name", sorted(USER_FILES))
def test_the_loaded_data_does_not_depend_on_how_the_path_is_spelled(name, tmp_path, monkeypatch):
    """The issue's item 8: a file, its folder, relative, absolute, with ~ or .. all load equal objects."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "mine"
    folder.mkdir()
    file_name, text = USER_FILES[name]
    (folder / file_name).write_text(text)
    spellings = [folder / file_name, folder, "mine", f"mine/{file_name}", "./mine/", f"~/mine/{file_name}", "~/mine",
                 tmp_path / "mine" / ".." / "mine" / file_name, "mine/../mine"]
    loaded = [load_dataset(name, spelling, seed=3, progress=False, **USER_OPTIONS[name]) for spelling in spellings]
    for spelling, data in zip(spellings[1:], loaded[1:]):
        assert_same(loaded[0], data, f"{name} via {spelling}")
    assert loaded[0].info["source"] == str(folder / file_name) == loaded[0].info["loader"]["path"]
    assert loaded[0].info["split"]


def test_a_reference_folder_is_resolved_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _ratings_file(tmp_path / "ml")
    a = load_dataset("ml-1m", "ml", seed=1, num_test_negatives=2, progress=False)
    b = load_dataset("ml-1m", tmp_path / "ml" / ".." / "ml", seed=1, num_test_negatives=2, progress=False)
    assert_same(a, b)
    assert a.info["loader"]["path"] == str(tmp_path / "ml")


GENERATED = {"synthetic": {"num_users": 30, "num_items": 60, "interactions_per_user": 5, "num_test_negatives": 5},
             "synthetic-seq": {"num_users": 20, "num_items": 30, "length": 6},
             "synthetic-mb": {"users": 30, "items": 60, "num_test_negatives": 5},
             "synthetic-sessions": {"num_train_sessions": 30, "num_test_sessions": 10}, "synthetic-ctr": {}}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_every_generated_dataset_says_its_source_and_split(name):
    data = load_dataset(name, seed=2, **GENERATED[name])
    assert data.info["source"] == "synthetic" and data.info["split"], data.info
    assert data.info["loader"]["options"] == {**registry.loader_defaults(name), **GENERATED[name]}
