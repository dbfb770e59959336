"""The dataset registry: entries, lookup, lazy loader import (no network, no TensorFlow)."""

from __future__ import annotations

import re
import subprocess
import dataclasses
import sys
import types

import pytest

from tfrec.data import registry
from tfrec.data.registry import DatasetSpec, get_dataset, list_datasets, load_dataset
from tfrec.errors import DataError, UserError

EXPECTED = {"synthetic", "ml-1m", "ml-100k", "ml-1m-ncf", "ratings", "synthetic-mb", "beibei", "tmall-mb", "diginetica", "tmall", "retailrocket"}


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
        assert spec.task in registry.TASKS
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
def test_unimplemented_loader(home, monkeypatch):
    spec = dataclasses.replace(registry.get_dataset("diginetica"), name="future", loader="tfrec.data._not_written:load")
    monkeypatch.setattr(registry, "_REGISTRY", {**registry._REGISTRY, "future": spec})
    with pytest.raises(UserError, match="dataset 'future' is registered but its loader is not implemented yet"):
        load_dataset("future", progress=False)
    assert not (home / "datasets" / "future").exists()  # failed before downloading anything


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
    with pytest.raises(UserError, match="not implemented yet"):
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

