"""Resuming a run: ``tfrec.train(resume=RUN_DIR)`` and ``tfrec train --resume RUN_DIR``
(tfrec/training.py, tfrec/runs.py). A resumed run must end with the numbers of an uninterrupted
run with the same seed, and a run killed mid-epoch must leave nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tfrec
from tfrec import runs
from tfrec.errors import UserError

TIMING = {"epoch_seconds", "eval_seconds"}


def _train(run_dir, model="neumf", data=None, epochs=3, **kwargs):
    return tfrec.train(model, data, epochs=epochs, seed=3, device="cpu", verbose=0, output=run_dir, **kwargs)


def _resume(run_dir, epochs, dataset):
    return tfrec.train(resume=run_dir, epochs=epochs, device="cpu", verbose=0, dataset=dataset)


@pytest.fixture(scope="module")
def tiny_ctr():
    from tfrec.data.synthetic import make_synthetic_ctr

    return make_synthetic_ctr(seed=1, num_users=40, num_items=30)


def _history(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIMING} for row in runs.read_history(run_dir / runs.HISTORY)]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """NeuMF on the synthetic default, 3 epochs straight through (what the killed CLI run does)."""
    run_dir = tmp_path_factory.mktemp("runs") / "straight"
    _train(run_dir)
    return run_dir


def test_a_resumed_run_ends_as_the_uninterrupted_run(tiny_implicit, tmp_path):
    tiny = dict(dataset=tiny_implicit, params={"batch_size": 16}, jit_compile=False)
    _train(tmp_path / "straight", **tiny)
    _train(tmp_path / "run", epochs=1, **tiny)
    assert runs.load_training_state(tmp_path / "run" / runs.STATE)[0]["epoch"] == 1
    result = _resume(tmp_path / "run", 3, tiny_implicit)

    assert _history(tmp_path / "run") == _history(tmp_path / "straight")  # every epoch's loss and metrics
    straight = runs.read_json(tmp_path / "straight" / runs.METRICS)
    resumed = runs.read_json(tmp_path / "run" / runs.METRICS)
    assert resumed["test"] == straight["test"]
    assert resumed["best"] == straight["best"]
    assert resumed["epochs_run"] == 3 and len(resumed["epoch_seconds"]) == 3
    assert int(result.model.optimizer.iterations.numpy()) == 3 * result.metrics["steps_per_epoch"]
    assert runs.read_json(tmp_path / "run" / runs.CONFIG)["training"]["epochs"] == 3


def test_two_optimizers_and_dropout_state_resume_exactly(tiny_ctr, tmp_path):
    # Wide & Deep steps two Adam optimizers and draws dropout masks from a seed generator:
    # both must come back for the second epoch to repeat itself
    tiny = dict(dataset=tiny_ctr, params={"batch_size": 64}, jit_compile=False)
    _train(tmp_path / "straight", "wide_deep", epochs=2, **tiny)
    _train(tmp_path / "run", "wide_deep", epochs=1, **tiny)
    _resume(tmp_path / "run", 2, tiny_ctr)
    assert _history(tmp_path / "run") == _history(tmp_path / "straight")


def test_resume_needs_a_run_with_a_completed_epoch(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        tfrec.train(resume=tmp_path / "nowhere", verbose=0)
    (tmp_path / "fresh").mkdir()
    runs.write_json(tmp_path / "fresh" / runs.CONFIG, {"model": "neumf"})
    with pytest.raises(UserError, match="no completed epoch"):
        tfrec.train(resume=tmp_path / "fresh", verbose=0)


def test_a_state_from_another_configuration_is_refused(tiny_implicit, tmp_path):
    _train(tmp_path / "run", epochs=1, dataset=tiny_implicit, jit_compile=False)
    config = runs.read_json(tmp_path / "run" / runs.CONFIG)
    config["hyperparameters"]["factor_num"] = 4  # other embedding sizes than the saved state's
    runs.write_json(tmp_path / "run" / runs.CONFIG, config)
    with pytest.raises(UserError, match="do not match"):
        _resume(tmp_path / "run", 2, tiny_implicit)


def test_a_run_killed_mid_epoch_resumes_to_the_same_numbers(uninterrupted, tmp_path):
    run_dir = tmp_path / "killed"
    command = [sys.executable, "-m", "tfrec.cli", "train", "--model", "neumf", "--epochs", "3", "--seed", "3",
               "--device", "cpu", "--output", str(run_dir), "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if (run_dir / runs.STATE).exists():  # epoch 1 is saved: epoch 2 is running
                break
            time.sleep(0.02)
        assert process.poll() is None, "the run finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)

    # every file a later command reads is whole
    assert runs.load_training_state(run_dir / runs.STATE)[0]["epoch"] >= 1
    json.loads((run_dir / runs.CONFIG).read_text())
    assert runs.read_history(run_dir / runs.HISTORY)
    runs.load_run_model(run_dir)

    resumed = subprocess.run(
        [sys.executable, "-m", "tfrec.cli", "train", "--resume", str(run_dir), "--device", "cpu", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert not [p.name for p in run_dir.iterdir() if ".tmp" in p.name]
    assert _history(run_dir) == _history(uninterrupted)
    assert runs.read_json(run_dir / runs.METRICS)["test"] == runs.read_json(uninterrupted / runs.METRICS)["test"]
    assert np.isfinite(runs.read_json(run_dir / runs.METRICS)["test"]["HR@10"])
