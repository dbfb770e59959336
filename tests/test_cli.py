"""Every CLI command through click's runner (tfrec/cli.py)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tfrec.cli import main


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One short GMF run on the synthetic default, shared by the evaluate/export tests."""
    run_dir = tmp_path_factory.mktemp("runs") / "gmf"
    result = CliRunner().invoke(
        main, ["train", "--model", "gmf", "--epochs", "2", "--seed", "3", "--device", "cpu", "--output", str(run_dir), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    return run_dir, result


def test_models_list_and_show(runner):
    listed = runner.invoke(main, ["models", "list"])
    assert listed.exit_code == 0
    from tfrec.registry import list_models

    for spec in list_models():  # every registered model, each with the reference it ports
        assert f"{spec.name} " in listed.output and f"reference: {spec.reference}" in listed.output
    shown = runner.invoke(main, ["models", "show", "neumf"])
    assert shown.exit_code == 0
    assert "factor_num" in shown.output and "seed 004" in shown.output and "num_negatives" in shown.output


def test_models_show_cotrec_gives_the_notebooks_beta_its_optimizer_and_the_readme_preset(runner):
    shown = runner.invoke(main, ["models", "show", "cotrec"])
    assert shown.exit_code == 0, shown.output
    lines = {line.split()[0]: line for line in shown.output.splitlines() if line.startswith("  ") and line.split()}
    assert lines["beta"].split()[1] == "0.005" and "seed 002 Args.beta = 0.005" in lines["beta"]
    assert lines["optimizer"].split()[1] == '"torch_adam"' and "torch.optim.Adam" in lines["optimizer"]
    assert "preset readme (--preset readme)" in shown.output and "xiaxin1998/COTREC README.md" in shown.output
    assert '--data diginetica: {"beta": 0.001, "lam": 0.005, "eps": 0.5}' in shown.output


def test_a_preset_without_values_for_the_data_is_one_line(runner, tmp_path):
    result = runner.invoke(main, ["train", "--model", "cotrec", "--preset", "readme", "--output", str(tmp_path / "r")])
    _one_line_error(result, "--preset readme", "not for 'synthetic-sessions'")
    assert not (tmp_path / "r").exists()


def test_unknown_model_is_one_line_exit_2(runner):
    result = runner.invoke(main, ["models", "show", "nope"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "unknown model 'nope'" in result.output and "neumf" in result.output


def test_datasets_list_and_info(runner):
    listed = runner.invoke(main, ["datasets", "list"])
    assert listed.exit_code == 0
    for name in ("synthetic", "ml-1m", "ml-1m-ncf", "ml-100k", "ratings"):
        assert name in listed.output
    info = runner.invoke(main, ["datasets", "info", "ml-1m-ncf"])
    assert info.exit_code == 0 and "ml-1m.test.negative" in info.output
    unknown = runner.invoke(main, ["datasets", "info", "nope"])
    assert unknown.exit_code == 2 and "synthetic" in unknown.output


def test_train_rejects_unknown_set_key_listing_valid_ones(runner, tmp_path):
    result = runner.invoke(main, ["train", "--model", "neumf", "--set", "bogus=1", "--output", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "unknown --set key 'bogus'" in result.output
    assert "factor_num" in result.output and "num_negatives" in result.output


def test_train_rejects_unknown_dataset_and_malformed_set(runner):
    result = runner.invoke(main, ["train", "--data", "nope"])
    assert result.exit_code == 2 and "nope" in result.output
    result = runner.invoke(main, ["train", "--set", "novalue"])
    assert result.exit_code == 2 and "key=value" in result.output


def test_train_reports_missing_local_files(runner, tmp_path):
    result = runner.invoke(main, ["train", "--data", "ml-1m", "--data-dir", str(tmp_path), "--quiet"])
    assert result.exit_code == 2
    assert str(tmp_path) in result.output and "ratings" in result.output


def test_train_reports_malformed_ratings_line(runner, tmp_path):
    bad = tmp_path / "ratings.csv"
    bad.write_text("1,10,5,100\n2,11,4,101\n3,12,oops,102\n")  # ids may be text; ratings are numbers
    result = runner.invoke(main, ["train", "--data", "ratings", "--data-dir", str(bad), "--quiet"])
    assert result.exit_code == 2
    assert "ratings.csv" in result.output and "3" in result.output


def test_train_writes_a_complete_run_directory(trained_run):
    run_dir, result = trained_run
    for name in ("config.json", "model.keras", "best.keras", "history.csv", "metrics.json"):
        assert (run_dir / name).exists(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["test"]) >= {"HR@10", "NDCG@10"}
    assert len(metrics["epoch_seconds"]) == 2 and metrics["eval_seconds"] > 0
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "gmf" and config["seed"] == 3 and config["device"].startswith("/device:CPU")
    assert json.loads(result.output.strip().splitlines()[-1])["test"] == metrics["test"]
    header = (run_dir / "history.csv").read_text().splitlines()[0]
    assert "loss" in header and "HR@10" in header


def test_evaluate_reproduces_the_runs_metrics(runner, trained_run):
    run_dir, _ = trained_run
    result = runner.invoke(main, ["evaluate", str(run_dir), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    evaluated = json.loads(result.output.strip().splitlines()[-1])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert evaluated["test"] == pytest.approx(metrics["test"])


def test_export_command(runner, trained_run, tmp_path):
    run_dir, _ = trained_run
    out = tmp_path / "exported"
    result = runner.invoke(main, ["export", str(run_dir), str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "saved_model.pb").exists()
    again = runner.invoke(main, ["export", str(run_dir), str(out)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_evaluate_missing_run_dir(runner, tmp_path):
    result = runner.invoke(main, ["evaluate", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_asking_for_a_missing_gpu_is_an_error(runner):
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    result = runner.invoke(main, ["train", "--device", "gpu:0", "--quiet"])
    assert result.exit_code == 2 and "GPU" in result.output
    result = runner.invoke(main, ["train", "--device", "tpu"])
    assert result.exit_code == 2 and "--device" in result.output


def test_datasets_download_verifies_into_the_cache(runner, tmp_path, monkeypatch):
    import dataclasses
    import subprocess

    import tfrec.data.registry as registry

    source = tmp_path / "src" / "ratings.dat"
    source.parent.mkdir()
    source.write_text("1::10::5::100\n")
    sha = subprocess.run(["git", "hash-object", str(source)], capture_output=True, text=True, check=True).stdout.strip()
    remote = registry.RemoteFile("ratings.dat", source.as_uri(), sha, source.stat().st_size)
    spec = dataclasses.replace(registry.get_dataset("ml-1m"), files=(remote,))
    monkeypatch.setitem(registry._REGISTRY, "ml-1m", spec)
    monkeypatch.setenv("TFREC_HOME", str(tmp_path / "home"))
    result = runner.invoke(main, ["datasets", "download", "ml-1m"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "home" / "datasets" / "ml-1m" / "ratings.dat").read_text() == source.read_text()

    corrupt = dataclasses.replace(spec, files=(dataclasses.replace(remote, sha1="0" * 40),))
    monkeypatch.setitem(registry._REGISTRY, "ml-1m", corrupt)
    monkeypatch.setenv("TFREC_HOME", str(tmp_path / "home2"))
    result = runner.invoke(main, ["datasets", "download", "ml-1m"])
    assert result.exit_code == 2 and "ratings.dat" in result.output and "verification" in result.output
    folder = tmp_path / "home2" / "datasets" / "ml-1m"
    assert not folder.exists() or not any(folder.iterdir())  # the corrupt file is not kept

    nothing = runner.invoke(main, ["datasets", "download", "synthetic"])
    assert nothing.exit_code == 2 and "no files to download" in nothing.output


def test_nan_loss_is_one_line_exit_2_and_keeps_the_checkpoint(runner, tmp_path, monkeypatch):
    """Weights poisoned after epoch 1's checkpoint: epoch 2's loss is NaN from its first step."""
    import numpy as np

    from tfrec import callbacks
    from tfrec.runs import load_run_model

    original = callbacks.AtomicCheckpoint.on_epoch_end

    def poison_after_first(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 0:
            for variable in self.model.trainable_variables:
                variable.assign(variable.numpy() * np.nan)

    monkeypatch.setattr(callbacks.AtomicCheckpoint, "on_epoch_end", poison_after_first)
    run_dir = tmp_path / "run"
    result = runner.invoke(
        main, ["train", "--model", "gmf", "--epochs", "3", "--device", "cpu", "--output", str(run_dir), "--quiet"]
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip().count("\n") == 0
    assert result.output.startswith("error: training stopped: the loss became non-finite (loss=nan) in epoch 2 by step")
    assert f"kept in {run_dir / 'model.keras'}" in result.output
    assert all(np.isfinite(w).all() for w in load_run_model(run_dir).get_weights())


def test_jit_flag(runner, tmp_path):
    off = runner.invoke(main, ["train", "--model", "gmf", "--epochs", "1", "--no-jit", "--quiet", "--output", str(tmp_path / "run")])
    assert off.exit_code == 0, off.output
    assert json.loads((tmp_path / "run" / "config.json").read_text())["jit_compile"] is False
    refused = runner.invoke(main, ["train", "--model", "mbgmn", "--jit", "--output", str(tmp_path / "mb")])
    assert refused.exit_code == 2 and refused.output.strip().count("\n") == 0
    assert "--jit" in refused.output and "sparse" in refused.output


def test_precision_and_strategy_flags(runner, trained_run, tmp_path):
    helped = runner.invoke(main, ["train", "--help"])
    assert helped.exit_code == 0
    text = " ".join(helped.output.split())
    assert "--precision [float32|mixed_float16|mixed_bfloat16]" in text and "loss scaling" in text
    assert "--strategy [default|mirrored|multiworker]" in text and "TF_CONFIG" in text
    config = json.loads((trained_run[0] / "config.json").read_text())
    assert (config["precision"], config["strategy"], config["replicas"]) == ("float32", "default", 1)
    bad = runner.invoke(main, ["train", "--model", "gmf", "--precision", "half", "--output", str(tmp_path / "r")])
    assert bad.exit_code == 2 and "half" in bad.output
    refused = runner.invoke(main, ["train", "--model", "gmf", "--strategy", "mirrored", "--jit", "--output", str(tmp_path / "c")])
    assert refused.exit_code == 2 and refused.output.strip().count("\n") == 0
    assert refused.output.startswith("error: --jit cannot be combined with --strategy mirrored")
    changed = runner.invoke(main, ["train", "--resume", str(trained_run[0]), "--precision", "mixed_bfloat16"])
    assert changed.exit_code == 2 and "--precision cannot be combined with it" in changed.output


# --------------------------------------------------------------------------------------------
# A user's first hour: nothing overwritten, nothing silently wrong, one line per mistake
# --------------------------------------------------------------------------------------------
def _one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert line.count("\n") == 0 and line.startswith("error: "), result.output
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def test_train_refuses_an_existing_run_unless_overwrite(runner, trained_run, tmp_path):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(trained_run[0], run_dir)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    refused = runner.invoke(main, ["train", "--model", "mlp", "--epochs", "1", "--quiet", "--output", str(run_dir)])
    _one_line_error(refused, str(run_dir), "already holds a run", "--overwrite")
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before  # untouched
    replaced = runner.invoke(main, ["train", "--model", "mlp", "--epochs", "1", "--quiet", "--output", str(run_dir), "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert json.loads((run_dir / "config.json").read_text())["model"] == "mlp"
    assert len(json.loads((run_dir / "metrics.json").read_text())["epoch_seconds"]) == 1
    assert not (run_dir / "best.keras").read_bytes() == before["best.keras"]


def test_output_that_is_a_file_or_a_foreign_folder_is_refused(runner, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    _one_line_error(runner.invoke(main, ["train", "--model", "gmf", "--output", str(a_file)]), "--output", "is a file")
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_text("meow")
    _one_line_error(
        runner.invoke(main, ["train", "--model", "gmf", "--output", str(folder), "--overwrite"]), "not a tfrec run"
    )
    assert (folder / "cat.jpg").read_text() == "meow" and a_file.read_text() == "mine"


def test_tensorboard_pointing_at_a_file_is_one_line(runner, tmp_path):
    a_file = tmp_path / "tb"
    a_file.write_text("x")
    _one_line_error(
        runner.invoke(main, ["train", "--model", "gmf", "--tensorboard", str(a_file), "--output", str(tmp_path / "r")]),
        "--tensorboard", "is a file",
    )
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--set", "top_k=0"], ["--set top_k", "positive integer"]),
        (["--set", "num_negatives=0"], ["--set num_negatives", "positive integer"]),
        (["--patience", "0"], ["--patience", "positive integer"]),
        (["--lr", "inf"], ["--lr", "finite"]),
        (["--epochs", "0"], ["--epochs", "positive integer"]),
    ],
)
def test_meaningless_values_are_refused_before_any_run_folder(runner, tmp_path, args, needles):
    out = tmp_path / "r"
    _one_line_error(runner.invoke(main, ["train", "--model", "gmf", "--quiet", "--output", str(out), *args]), *needles)
    assert not out.exists()


def test_resume_with_conflicting_options_is_refused(runner, trained_run):
    line = _one_line_error(
        runner.invoke(main, ["train", "--resume", str(trained_run[0]), "--model", "deepfm"]), "--model", "--resume"
    )
    assert "cannot be combined" in line
    _one_line_error(runner.invoke(main, ["train", "--resume", str(trained_run[0]), "--set", "factor_num=8"]), "--set")


def test_truncated_checkpoint_is_one_line(runner, trained_run, tmp_path):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(trained_run[0], run_dir)
    data = (run_dir / "model.keras").read_bytes()
    (run_dir / "model.keras").write_bytes(data[: len(data) // 2])
    _one_line_error(runner.invoke(main, ["evaluate", str(run_dir)]), "model.keras", "cannot be read", "--checkpoint best")
    _one_line_error(runner.invoke(main, ["export", str(run_dir), str(tmp_path / "e")]), "model.keras")


def test_mistyped_names_suggest_the_closest(runner):
    _one_line_error(runner.invoke(main, ["train", "--model", "nuemf"]), "did you mean 'neumf'")
    _one_line_error(runner.invoke(main, ["models", "show", "deep_fm"]), "did you mean 'deepfm'")
    _one_line_error(runner.invoke(main, ["train", "--model", "gmf", "--set", "factor_nun=8"]), "did you mean 'factor_num'")


def test_every_command_has_a_description_and_options_say_their_defaults(runner):
    for path in (["train"], ["evaluate"], ["export"], ["compare"], ["plot"], ["models", "list"], ["models", "show"],
                 ["datasets", "list"], ["datasets", "info"], ["datasets", "download"]):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0
        usage, _, rest = result.output.partition("\n\n")
        description = rest.split("Options:")[0].strip()
        assert description, f"tfrec {' '.join(path)} has no description"
    text = " ".join(runner.invoke(main, ["train", "--help"]).output.split())
    assert "may be a file" in text or "the file itself" in text  # --data-dir
    assert "selection metric" in text and "Default: off" in text  # --patience: what it watches, its default
    for option in ("--epochs", "--batch-size", "--lr", "--eval-every", "--output", "--seed", "--device"):
        chunk = text.split(option, 1)[1][:400]
        assert "default" in chunk.lower(), option


def test_strict_json_everywhere():
    from tfrec.runs import dumps

    text = dumps({"AUC": float("nan"), "x": [1.0, float("inf")], "n": __import__("numpy").float32(0.5)})
    assert json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name}")) == {"AUC": None, "x": [1.0, None], "n": 0.5}


def test_dir_lists_the_public_api():
    import tfrec

    names = dir(tfrec)
    for name in ("train", "evaluate", "load_dataset", "build_model", "export_saved_model", "Catalogue", "UserError"):
        assert name in names


@pytest.fixture(scope="module")
def criteo_run(tmp_path_factory):
    """One short DeepFM run on a generated Criteo-format log, streamed from its shards."""
    from tfrec.data.synthetic import write_criteo_like

    root = tmp_path_factory.mktemp("criteo")
    (root / "logs").mkdir()
    write_criteo_like(root / "logs" / "train.txt", 4000, seed=2)
    run_dir = root / "run"
    env = {"TFREC_HOME": str(root / "home")}
    result = CliRunner(env=env).invoke(main, [
        "train", "--model", "deepfm", "--data", "criteo", "--data-dir", str(root / "logs"), "--epochs", "1",
        "--set", "batch_size=512", "--set", "min_count=2", "--device", "cpu", "--output", str(run_dir), "--quiet",
    ])
    assert result.exit_code == 0, result.output
    return root, run_dir, env


def test_train_on_a_criteo_log_evaluates_and_exports_raw_features(criteo_run):
    root, run_dir, env = criteo_run
    runner = CliRunner(env=env)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["test"]["AUC"] <= 1.0 and metrics["test"]["LogLoss"] > 0
    config = json.loads((run_dir / "config.json").read_text())
    assert config["data"] == "criteo" and config["data_options"]["min_count"] == 2
    assert [f.get("numeric", False) for f in config["model_config"]["fields"]].count(True) == 13
    evaluated = runner.invoke(main, ["evaluate", str(run_dir), "--device", "cpu"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output.strip().splitlines()[-1])["test"] == pytest.approx(metrics["test"])
    out = root / "exported"
    exported = runner.invoke(main, ["export", str(run_dir), str(out)])
    assert exported.exit_code == 0, exported.output
    inputs = {i["name"]: i for i in json.loads((out / "tfrec_export.json").read_text())["inputs"]}
    assert inputs["C1"]["dtype"] == "string" and inputs["I1"]["dtype"] == "float32" and len(inputs) == 39


def test_train_on_own_csv_with_a_schema_file(runner, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    rows = ["click,site,price,tags"] + [
        f"{int(rng.random() < 0.3 + 0.4 * (i % 3 == 0))},s{i % 7},{'' if i % 5 == 0 else i % 40},t{i % 3}|t{i % 4}"
        for i in range(600)
    ]
    (tmp_path / "clicks.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "schema.json").write_text(json.dumps({"label": "click", "categorical": ["site"], "numeric": ["price"],
                                                       "multi_hot": ["tags"]}))
    result = CliRunner(env={"TFREC_HOME": str(tmp_path / "home")}).invoke(main, [
        "train", "--model", "dcn", "--data", "ctr", "--data-dir", str(tmp_path / "clicks.csv"),
        "--set", f"schema={tmp_path / 'schema.json'}", "--epochs", "1", "--device", "cpu",
        "--output", str(tmp_path / "run"), "--quiet",
    ])
    assert result.exit_code == 0, result.output
    fields = json.loads((tmp_path / "run" / "config.json").read_text())["model_config"]["fields"]
    assert [(f["name"], f.get("numeric", False), f["multi_hot"]) for f in fields] == [
        ("price", True, False), ("site", False, False), ("tags", False, True)]
    bad = CliRunner(env={"TFREC_HOME": str(tmp_path / "home")}).invoke(main, [
        "train", "--model", "dcn", "--data", "ctr", "--data-dir", str(tmp_path / "clicks.csv"),
        "--set", "label=click", "--set", "categorical=site,tags", "--epochs", "1"])
    assert bad.exit_code == 2 and "column 'price' is not in the schema" in bad.output
    assert "Traceback" not in bad.output and len(bad.output.strip().splitlines()) == 1
