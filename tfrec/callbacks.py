"""Callbacks of a training run and its resume state, beside :mod:`tfrec.runs` (the files).

``fit`` gets, in this order: :class:`NonFiniteLossGuard` (stops before any other callback sees a
broken epoch), the pipeline's epoch callback, :class:`EpochTimer`, :class:`RankingEvaluation`
(the task's metrics into the logs), :class:`HistoryCSV` and :class:`AtomicCheckpoint` (the run
directory). :class:`ResumedRun` reads back what those wrote, for ``--resume``.

``history.csv`` is written and read by :func:`tfrec.runs.write_history` and
:func:`tfrec.runs.read_history` only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfrec import _backend  # noqa: F401
import keras

from tfrec import runs
from tfrec.errors import NonFiniteLoss


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` (training time of the epoch, before evaluation) to the logs."""

    def __init__(self, seconds: list[float] | None = None):
        super().__init__()
        self.seconds: list[float] = list(seconds or [])  # a resumed run's earlier epochs first

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        if logs is not None:
            logs["epoch_seconds"] = self.seconds[-1]


class RankingEvaluation(keras.callbacks.Callback):
    """Evaluates on the test protocol every ``every`` epochs and puts the metrics in the logs,
    so ``history.csv``, early stopping and the best-model checkpoint all see them.

    Must come after :class:`EpochTimer` and before checkpoint / early-stopping callbacks.
    """

    def __init__(self, evaluate_fn, every: int = 1, verbose: int = 1):
        super().__init__()
        self.evaluate_fn = evaluate_fn
        self.every = max(1, int(every))
        self.verbose = verbose
        self.seconds: list[float] = []
        self.last: dict[str, float] = {}
        self.last_epoch: int | None = None  # the (0-based) epoch ``last`` was computed after

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        start = time.perf_counter()
        self.last = self.evaluate_fn(self.model)
        self.last_epoch = epoch
        self.seconds.append(time.perf_counter() - start)
        if logs is not None:
            logs.update(self.last)
            logs["eval_seconds"] = self.seconds[-1]
        if self.verbose:
            shown = "  ".join(f"{k}={v:.4f}" for k, v in self.last.items())
            print(f"epoch {epoch + 1}: {shown}  ({self.seconds[-1]:.2f}s)", flush=True)


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops training at the first NaN or infinite loss, naming the epoch and step.

    Keras' ``TerminateOnNaN`` only sets ``stop_training``: the epoch's ``on_epoch_end`` callbacks
    still run, and the checkpoint would overwrite the last good ``model.keras`` with the broken
    model. This guard raises :class:`NonFiniteLoss` out of ``fit`` instead, so no callback sees
    the broken epoch; :func:`train` adds where the last good checkpoint is. The loss is checked
    after every ``steps_per_execution`` steps (each ``tf.function`` call), so the step named is the
    last of the call in which it happened.
    """

    def __init__(self, steps_per_epoch: int | None = None, steps_per_execution: int = 1):
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.steps_per_execution = max(1, int(steps_per_execution))
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        bad = {}
        for key, value in (logs or {}).items():
            if "loss" in key and np.ndim(value) == 0 and not np.isfinite(float(value)):
                bad[key] = float(value)
        if bad:
            self.model.stop_training = True
            error = NonFiniteLoss(self.describe(batch + 1, bad))
            error.epoch = self.epoch
            raise error

    def describe(self, step: int, bad: dict) -> str:
        values = ", ".join(f"{key}={value}" for key, value in bad.items())
        every = self.steps_per_execution
        if self.steps_per_epoch:  # an epoch's last call runs only the steps that remain
            step, every = min(step, self.steps_per_epoch), min(every, self.steps_per_epoch)
        of = f" of {self.steps_per_epoch}" if self.steps_per_epoch else ""
        when = "at step" if every == 1 else "by step"
        checked = f", checked every {every} steps" if every > 1 else ""
        return f"training stopped: the loss became non-finite ({values}) in epoch {self.epoch} {when} {step}{of}{checked}"


def fit_guarded(net, run_dir: Path | None, *args, **kwargs):
    """``net.fit(*args, **kwargs)``; a :class:`NonFiniteLoss` from :class:`NonFiniteLossGuard`
    is re-raised with where the last good checkpoint is (the broken epoch never reached it)."""
    try:
        return net.fit(*args, **kwargs)
    except NonFiniteLoss as error:
        epoch = getattr(error, "epoch", 0)
        if run_dir is None:
            kept = "nothing was saved (no --output run directory)"
        elif (run_dir / runs.MODEL).exists() and epoch > 1:
            kept = f"the checkpoint of the last good epoch ({epoch - 1}) is kept in {run_dir / runs.MODEL}"
        else:
            kept = f"no epoch finished, so {run_dir} holds no checkpoint"
        raise NonFiniteLoss(f"{error}; {kept}; try a lower --lr") from None


class HistoryCSV(keras.callbacks.Callback):
    """``history.csv``: one row per epoch (1-based) with every logged value, rewritten atomically
    after each epoch so the file is always complete. (Keras' ``CSVLogger`` appends in place and
    adds empty ``val_*`` columns when there is no validation data.)"""

    def __init__(self, path: Path, rows: list[dict] | None = None):
        super().__init__()
        self.path = Path(path)
        self.rows: list[dict] = list(rows or [])  # a resumed run's earlier epochs

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}})
        runs.write_history(self.path, self.rows)


class AtomicCheckpoint(keras.callbacks.Callback):
    """After every epoch: ``best.keras`` when ``monitor`` improves (higher is better),
    ``model.keras``, then the training state (``state.npz``, what ``--resume`` continues from),
    each through a temporary file and a rename. A run killed between two of these writes resumes
    from the previous state and redoes the epoch, which rewrites the same files (same seed, same
    numbers).

    ``best`` restores a resumed run's ``{"value", "epoch", "logs"}``."""

    def __init__(self, run_dir: Path, monitor: str, best: dict | None = None):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.monitor = monitor
        best = best or {}
        self.best = float(best["value"]) if best.get("value") is not None else -np.inf
        self.best_epoch: int | None = best.get("epoch")
        self.best_logs: dict = dict(best.get("logs") or {})

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is not None and value > self.best:
            self.best, self.best_epoch = float(value), epoch + 1
            self.best_logs = {k: float(v) for k, v in logs.items()}
            runs.atomic_save_model(self.model, self.run_dir / runs.BEST)
        best = {"value": None if self.best == -np.inf else self.best, "epoch": self.best_epoch, "logs": self.best_logs}
        runs.atomic_save_model(self.model, self.run_dir / runs.MODEL)
        # last: a state file means every file of its epoch is written
        runs.save_training_state(self.run_dir / runs.STATE, state_variables(self.model), {"epoch": epoch + 1, "best": best})


def optimizers_of(model) -> list:
    """Every optimizer ``model`` steps (its :meth:`~tfrec.models.base.Recommender.stepped_optimizers`)."""
    return list(model.stepped_optimizers())


def state_variables(model) -> dict[str, list]:
    """Everything a resumed run needs, by group: the model's variables (random-generator states
    and stateful parts such as COTREC's perturbations included) and each optimizer's (step count,
    moments)."""
    groups = {"model": list(model.variables)}
    for i, optimizer in enumerate(optimizers_of(model)):
        groups[f"optimizer_{i}"] = list(optimizer.variables)
    return groups


@dataclass
class ResumedRun:
    """What ``train(resume=RUN_DIR)`` picks up: the run's config, its last state and the
    ``history.csv`` rows of the epochs that state includes."""

    run_dir: Path
    config: dict
    info: dict
    saved: dict
    rows: list

    @classmethod
    def read(cls, run_dir) -> "ResumedRun":
        run_dir = Path(run_dir)
        config = runs.load_run_config(run_dir)
        info, saved = runs.load_training_state(run_dir / runs.STATE)
        runs.remove_partial_files(run_dir)  # temporary files of a killed run's unfinished writes
        rows = [row for row in runs.read_history(run_dir / runs.HISTORY) if row["epoch"] <= info["epoch"]]
        return cls(run_dir, config, info, saved, rows)

    @property
    def epoch(self) -> int:
        return int(self.info["epoch"])

    @property
    def best(self) -> dict:
        return self.info.get("best") or {}

    def keys(self) -> list[str]:
        return [key for key in dict.fromkeys(k for row in self.rows for k in row) if key != "epoch"]

    def column(self, key: str) -> list[float]:
        return [float(row[key]) for row in self.rows if key in row]

    def restore(self, net) -> None:
        """Assign the saved variables to a freshly built and compiled ``net``."""
        for optimizer in optimizers_of(net):
            if not optimizer.built:
                optimizer.build(net.trainable_variables)
        runs.restore_variables(self.run_dir / runs.STATE, state_variables(net), self.saved)
