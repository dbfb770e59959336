"""The one training entry point shared by the CLI and notebooks: :func:`train`.

```python
import tfrec
result = tfrec.train("neumf", data="synthetic", epochs=5, seed=1, output="runs/neumf")
result.metrics["test"]["HR@10"]
result.model.predict((user_ids, item_ids))
```

The path every model takes: dataset (:mod:`tfrec.data.registry`) -> task data -> the task's
``tf.data`` pipeline (:mod:`tfrec.tasks`; per-epoch negatives) -> ``model.fit`` with the shared
:meth:`tfrec.models.base.Recommender.train_step` -> callbacks (:mod:`tfrec.callbacks`: the task's
evaluation every N epochs, atomic checkpoints, early stopping, ``history.csv``, TensorBoard) ->
run directory (:mod:`tfrec.runs`).

This module holds that loop and the public API (:func:`train`, :func:`evaluate_run`,
:func:`training_data`, :func:`evaluate`) and checks the settings every task shares; each task's
rules live in :mod:`tfrec.tasks`, each model's in :mod:`tfrec.models`.

``precision`` (a Keras dtype policy) and ``strategy`` (``tf.distribute``) wrap that path from
building the model to the last evaluation: see :mod:`tfrec.distribute`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec import distribute as scale
from tfrec import runs
from tfrec.callbacks import (
    AtomicCheckpoint, EpochTimer, HistoryCSV, NonFiniteLossGuard, RankingEvaluation, ResumedRun, fit_guarded,
)
from tfrec.data.catalogue import Catalogue
from tfrec.data.registry import is_registered, load_dataset
from tfrec.devices import configure_device
from tfrec.errors import UserError
from tfrec.optimizers import OPTIMIZERS, build_optimizer
from tfrec.registry import ModelSpec, check_task_data, did_you_mean, get_model_spec, resolve_hparams
from tfrec.tasks import get_task


# --------------------------------------------------------------------------------------------
# The API
# --------------------------------------------------------------------------------------------
@dataclass
class RunResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained ``keras.Model`` (last epoch, or best weights with early stopping).
        data: the task data it was trained and evaluated on.
        history: ``{key: [value per epoch]}`` (loss terms, metrics, timings).
        metrics: the content of ``metrics.json``.
        config: the content of ``config.json``.
        run_dir: the run directory, or ``None`` when ``output`` was not given.
    """

    model: keras.Model
    data: object
    history: dict
    metrics: dict
    config: dict
    run_dir: Path | None = None


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (``keras.utils.set_random_seed``) from one integer."""
    if not isinstance(seed, int) or seed < 0:
        raise UserError(f"--seed must be a non-negative integer; got {seed!r}")
    keras.utils.set_random_seed(seed)


def _loader_settings(data_name: str, settings: dict) -> dict:
    """The training settings that are options of the dataset's loader (``num_test_negatives``,
    ``behaviors``, ...), left out when unset (``None``)."""
    from tfrec.data.registry import loader_options

    accepted = loader_options(data_name)
    return {k: v for k, v in settings.items() if k in accepted and v is not None}


_FLAGS = {"epochs": "--epochs", "batch_size": "--batch-size", "lr": "--lr", "eval_every": "--eval-every"}


def _merge_settings(
    spec: ModelSpec, params: dict | None, explicit: dict, data_name: str | None = None, loader_keys=(),
    preset: str | None = None,
) -> tuple[dict, dict]:
    """``(model_kwargs, settings)``: the registry's defaults, the dataset's, the preset's,
    ``params`` (``--set``) and ``explicit`` (``--epochs`` and the other flags), every value
    checked once."""
    model_kwargs, settings = resolve_hparams(spec, params, data_name, loader_keys, preset)
    settings.update({k: v for k, v in explicit.items() if v is not None})
    _check_settings(settings, explicit)
    get_task(spec.task).check_settings(settings)  # the task's own (sessions' last_batch, ...)
    return model_kwargs, settings


def _check_settings(settings: dict, explicit: dict) -> None:
    """The training settings every task shares, checked once; the message names the option the
    user typed (``--epochs`` for the flag, ``--set epochs`` for a --set value)."""
    def option(key):
        return _FLAGS[key] if explicit.get(key) is not None else f"--set {key}"

    for key in ("epochs", "batch_size", "eval_every", "num_negatives", "top_k"):
        value = settings.get(key)
        if key in settings and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise UserError(f"{option(key)} must be a positive integer; got {value!r}")
    if "lr" in settings:
        value = settings["lr"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
            raise UserError(f"{option('lr')} must be a positive finite number; got {value!r}")
    if "optimizer" in settings and settings["optimizer"] not in OPTIMIZERS:
        name = settings["optimizer"]
        raise UserError(
            f"--set optimizer: unknown optimizer {name!r}; {did_you_mean(name, OPTIMIZERS)}valid: "
            + "; ".join(f"{key} ({what})" for key, (_, what) in OPTIMIZERS.items())
        )


def _build(spec: ModelSpec, data, model_kwargs: dict, pretrained: dict | None):
    """The model to train: ``spec``'s built for ``data`` (:meth:`ModelSpec.build`), or NeuMF
    from pre-trained GMF and MLP runs."""
    if not pretrained:
        return spec.build(data, model_kwargs)
    if spec.name != "neumf":
        raise UserError("pre-training (--pretrained-gmf / --pretrained-mlp) applies to --model neumf only")
    if not (pretrained.get("gmf") and pretrained.get("mlp")):
        raise UserError("NeuMF pre-training needs both --pretrained-gmf RUN_DIR and --pretrained-mlp RUN_DIR")
    from tfrec.models.ncf import GMF, MLP, neumf_from_pretrained

    gmf = runs.load_run_model(pretrained["gmf"])
    mlp = runs.load_run_model(pretrained["mlp"])
    if not isinstance(gmf, GMF) or not isinstance(mlp, MLP):
        raise UserError("--pretrained-gmf must be a GMF run and --pretrained-mlp an MLP run")
    if (gmf.num_users, gmf.num_items) != (data.num_users, data.num_items):
        raise UserError("the pre-trained models were trained on another dataset (user/item counts differ)")
    try:
        return neumf_from_pretrained(gmf, mlp, alpha=float(pretrained.get("alpha", 0.5)))
    except ValueError as error:
        raise UserError(str(error)) from None


def train(
    model: str | None = None,
    data: str | None = None,
    data_dir: str | Path | None = None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int | None = None,
    device: str = "auto",
    output: str | Path | None = None,
    params: dict | None = None,
    eval_every: int | None = None,
    patience: int | None = None,
    tensorboard: str | Path | None = None,
    steps_per_execution: int | None = None,
    jit_compile: bool | None = None,
    pretrained: dict | None = None,
    dataset=None,
    verbose: int = 1,
    resume: str | Path | None = None,
    precision: str = "float32",
    strategy: str = "default",
    overwrite: bool = False,
    preset: str | None = None,
) -> RunResult:
    """Train a registered model on a registered dataset and evaluate it.

    Args:
        model: registry name (``tfrec models list``).
        data: dataset name (``tfrec datasets list``); defaults to the model's offline default
            (``synthetic``).
        data_dir: load the dataset from these local files instead of the download cache.
        epochs, batch_size, lr, eval_every: override the model's training defaults.
        seed: seeds Python, NumPy and TensorFlow, the data split's test negatives, every
            epoch's training negatives and the model's own draws (COTREC's negative ranks,
            unless ``params`` sets the model's ``seed``).
        device: ``auto``, ``cpu``, ``gpu`` or ``gpu:N`` (:mod:`tfrec.devices`).
        output: run directory to write (``config.json``, checkpoints, ``history.csv``,
            ``metrics.json``); nothing is written when ``None``.
        params: hyperparameter overrides (``--set key=value``), checked against the model.
        preset: a named set of values of the model (``tfrec models show NAME`` lists them, e.g.
            COTREC's ``readme``), applied over the defaults and under ``params``.
        patience: stop after this many evaluations without improvement of the monitored metric
            (HR@K) and restore the best weights; ``None`` trains all epochs.
        tensorboard: folder for TensorBoard logs.
        steps_per_execution: training steps run per ``tf.function`` call (amortises Keras'
            per-step Python overhead; the math is unchanged; an epoch's last execution runs
            only the steps that remain). Default: the model's setting, else 32.
        jit_compile: compile the training step with XLA, which fuses the optimizer's
            element-wise updates (faster small steps on a CPU; same math; see docs/RESULTS.md).
            Default: the model's setting, else True (MB-GMN's sparse products stay outside XLA).
        pretrained: NeuMF only: ``{"gmf": RUN_DIR, "mlp": RUN_DIR, "alpha": 0.5}``.
        dataset: an already loaded task-data object to use instead of ``data``/``data_dir``.
        verbose: 0 silent, 1 progress bar and per-epoch metrics.
        resume: continue the run in this directory from its last completed epoch (its
            ``state.npz``): model, optimizer state, random-generator states and the epoch;
            every setting comes from its ``config.json`` (``epochs`` may raise the total).
            The result equals an uninterrupted run's with the same seed.
        precision: ``float32`` (default: the references' math), ``mixed_bfloat16`` or
            ``mixed_float16`` (layers compute in 16 bits, variables, losses and scores stay
            float32; ``mixed_float16`` adds dynamic loss scaling). Set while the model is built
            and restored afterwards; recorded in ``config.json``; a resumed run keeps its own.
        strategy: ``default`` (one device), ``mirrored`` (every local GPU, or the CPU) or
            ``multiworker`` (the machines of ``TF_CONFIG``; only the chief writes ``output``):
            the model is built, compiled, trained and evaluated in the strategy's scope, each
            global batch split across the replicas (:mod:`tfrec.distribute`; MB-GMN's
            ``graph_sample`` trains on one device only). Under a strategy steps run one per call without
            XLA (``steps_per_execution=1``, ``jit_compile=False``: Keras' multi-step loop and
            XLA both fail under ``tf.distribute``, see :mod:`tfrec.distribute`). Like ``device``, not taken from a resumed run.

    Returns:
        A :class:`RunResult`.
    """
    past = None
    if resume is not None:  # everything from the run's own config, except device, strategy and logging
        check_resume_conflicts(
            model=model, data=data, data_dir=data_dir, batch_size=batch_size, lr=lr, seed=seed, output=output,
            params=params, eval_every=eval_every, patience=patience, steps_per_execution=steps_per_execution,
            jit_compile=jit_compile, pretrained=pretrained, precision=precision, overwrite=overwrite, preset=preset,
        )
        past = ResumedRun.read(resume)
        model, data_dir, seed, output = past.config["model"], past.config["data_dir"], past.config["seed"], resume
        data = past.config["data"]
        steps_per_execution, jit_compile, pretrained = past.config["steps_per_execution"], past.config["jit_compile"], None
        patience = past.config.get("patience")
        precision = past.config.get("precision", "float32")
        if past.config.get("data_reloadable") is False and dataset is None:
            raise UserError(f"{resume}: {_NOT_RELOADABLE}; resume it from Python with tfrec.train(resume=..., dataset=data)")
        if dataset is not None:  # the same data as the run's, or an error
            _check_same_ids(Path(resume), dataset)
    model = "neumf" if model is None else model
    seed = 0 if seed is None else seed
    scale.check_precision(precision)
    scale.check_strategy(strategy)
    spec = get_model_spec(model)
    provenance = _provenance(dataset) if dataset is not None else None
    if dataset is not None and past is None:
        if data_dir is not None:
            raise UserError("pass either dataset= (already loaded data) or data_dir= (files to load), not both")
        if data is not None and provenance and spec.dataset_name(data) != spec.dataset_name(provenance["name"]):
            raise UserError(
                f"data={data!r} conflicts with dataset=, which was loaded as {provenance['name']!r}; leave out data="
            )
    if dataset is not None and past is not None:
        data = None
    # data built by hand may be named by data= (whose per-dataset defaults then apply)
    data_name = spec.dataset_name(provenance["name"] if provenance else (data or getattr(dataset, "name", None)))
    # a loaded dataset's loader options are known keys too (refused below with a clear message)
    loader_keys = _loader_keys(data_name) if dataset is None or is_registered(data_name) else set()
    if past is not None:
        model_kwargs, settings = dict(past.config["hyperparameters"]), dict(past.config["training"])
        settings["epochs"] = epochs or settings["epochs"]
        _check_settings(settings, {"epochs": epochs})
    else:
        model_kwargs, settings = _merge_settings(
            spec, params, {"epochs": epochs, "batch_size": batch_size, "lr": lr, "eval_every": eval_every}, data_name,
            loader_keys, preset,
        )
        if model_kwargs.get("seed", 0) is None:  # the model's own draws follow --seed
            model_kwargs["seed"] = seed
        if dataset is not None:
            _check_no_loader_params(params, data_name)
    _check_patience(patience)
    task = get_task(spec.task)
    if strategy != "default":
        if past is None and jit_compile:
            raise UserError(
                f"--jit cannot be combined with --strategy {strategy}: XLA cannot compile a step whose variables "
                "live on several devices; use --no-jit"
            )
        if past is None and steps_per_execution not in (None, 1):
            raise UserError(
                f"steps_per_execution={steps_per_execution} cannot be combined with --strategy {strategy} "
                "(Keras' multi-step loop fails under tf.distribute); use 1"
            )
        steps_per_execution, jit_compile = 1, False  # see tfrec.distribute: both fail under a strategy
    if tensorboard is not None and Path(tensorboard).exists() and not Path(tensorboard).is_dir():
        raise UserError(f"--tensorboard {tensorboard} is a file; TensorBoard writes its logs into a folder")
    if output is not None and past is None:
        runs.prepare_run_dir(Path(output), overwrite)  # refuse to replace a run before anything is trained
    device_name = configure_device(device)
    distribution = scale.make_strategy(strategy)  # multi-worker: before TensorFlow's first operation
    set_seed(seed)

    if dataset is None:
        options = _loader_settings(data_name, settings)
        if past is not None and "data_options" in past.config:  # exactly the options the run was loaded with
            options = dict(past.config["data_options"])
        dataset = load_dataset(
            data_name, data_dir, seed=past.config.get("data_seed", seed) if past else seed, progress=verbose > 0,
            **options,
        )
        provenance = _provenance(dataset, fallback={"name": data_name, "path": data_dir, "seed": seed, "options": options})
    task.check_data(spec.name, dataset)
    dataset = task.prepare(dataset, settings, seed)  # e.g. sessions: hold out a validation split
    with scale.precision_scope(precision), distribution.scope(), scale.worker_output(output, distribution) as output:
        plan = _Plan(
            spec, task, dataset, model_kwargs, settings, past, provenance, seed, device_name, output, patience,
            tensorboard, steps_per_execution, jit_compile, pretrained, verbose, precision, strategy, preset,
        )
        return _train_in_scope(plan, distribution)


_NOT_RELOADABLE = (
    "the run was trained on data passed from Python (dataset=) that records no loader, so tfrec cannot "
    "reload exactly its data"
)


def _provenance(dataset, fallback: dict | None = None) -> dict | None:
    """How to reload ``dataset`` exactly: ``{"name", "path", "seed", "options"}`` as
    :func:`tfrec.data.registry.load_dataset` records it in ``info["loader"]``; ``fallback`` when
    the loader did not record it; ``None`` for data built by hand (it cannot be reloaded)."""
    recorded = getattr(dataset, "info", {}).get("loader")
    if recorded:
        return dict(recorded)
    if fallback is None:
        return None
    path = fallback.get("path")
    return {**fallback, "path": str(Path(path).expanduser().resolve()) if path is not None else None}


def _loader_keys(data_name: str) -> set[str]:
    from tfrec.data.registry import get_dataset, loader_options

    get_dataset(data_name)  # an unknown name: one line suggesting the closest
    return loader_options(data_name)


def _check_no_loader_params(params: dict | None, data_name: str) -> None:
    """With ``dataset=`` the data is already loaded: a loader option in ``params`` could not apply."""
    from tfrec.data.registry import loader_options

    if not is_registered(data_name):  # data built by hand: no loader
        return
    given = sorted(set(params or {}) & loader_options(data_name))
    if given:
        raise UserError(
            f"{', '.join(given)}: option(s) of dataset {data_name!r}'s loader, but the data is already loaded "
            f"(dataset=); pass them to tfrec.load_dataset({data_name!r}, ..., {given[0]}=...) instead"
        )


_RESUME_KEEPS = {
    "model": "--model", "data": "--data", "data_dir": "--data-dir", "batch_size": "--batch-size", "lr": "--lr",
    "seed": "--seed", "output": "--output", "params": "--set", "eval_every": "--eval-every", "patience": "--patience",
    "steps_per_execution": "steps_per_execution", "jit_compile": "--jit/--no-jit", "pretrained": "--pretrained-gmf/--pretrained-mlp",
    "precision": "--precision", "overwrite": "--overwrite", "preset": "--preset",
}


def check_resume_conflicts(**given) -> None:
    """``--resume`` continues a run with its own settings: any other setting given with it (from
    Python, or typed on the command line: ``tfrec train`` passes what was typed) is a conflict
    (a UserError naming it), except ``--epochs``, ``--device``, ``--tensorboard``,
    ``--strategy`` and logging."""
    defaults = {"precision": "float32", "overwrite": False}
    clashing = [
        _RESUME_KEEPS[key] for key, value in given.items()
        if value is not None and value != defaults.get(key, None) and not (key == "params" and not value)
    ]
    if clashing:
        raise UserError(
            f"--resume continues the run with its own settings; {', '.join(clashing)} cannot be combined with it "
            "(only --epochs, --device, --tensorboard, --strategy and --quiet can)"
        )


def _check_patience(patience) -> None:
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int) or patience <= 0):
        raise UserError(f"--patience must be a positive integer (evaluations without improvement); got {patience!r}")


@dataclass(frozen=True)
class _Plan:
    """What :func:`train` settles before the model is built: the model, its task and data, the
    merged and checked settings, a resumed run's state, where the data came from and the run's
    execution options (``output`` is this process' run directory: a temporary one on a non-chief
    worker)."""

    spec: ModelSpec
    task: type
    dataset: object
    model_kwargs: dict
    settings: dict
    past: ResumedRun | None
    provenance: dict | None
    seed: int
    device_name: str
    output: str | Path | None
    patience: int | None
    tensorboard: str | Path | None
    steps_per_execution: int | None
    jit_compile: bool | None
    pretrained: dict | None
    verbose: int
    precision: str
    strategy: str
    preset: str | None


def _train_in_scope(plan: _Plan, distribution) -> RunResult:
    """:func:`train` from building the model on, inside the precision policy and the strategy's
    scope."""
    spec, task, dataset, settings, past, seed = plan.spec, plan.task, plan.dataset, plan.settings, plan.past, plan.seed
    model_kwargs, provenance, device_name, output = plan.model_kwargs, plan.provenance, plan.device_name, plan.output
    patience, verbose, precision, strategy = plan.patience, plan.verbose, plan.precision, plan.strategy
    steps_per_execution, jit_compile, pretrained = plan.steps_per_execution, plan.jit_compile, plan.pretrained
    tensorboard, preset = plan.tensorboard, plan.preset
    net = _build(spec, dataset, model_kwargs, pretrained)
    task.check_model(net, dataset, settings)  # the model's constraints on the settings
    initial_epoch = past.epoch if past is not None else 0
    training = task.training_data(dataset, settings, seed, first_epoch=initial_epoch)
    if steps_per_execution is None:
        steps_per_execution = int(settings.get("steps_per_execution", 32))
    if jit_compile is None:
        jit_compile = bool(settings.get("jit_compile", True))
    if jit_compile and net.xla_unsupported:  # e.g. sparse graph products
        raise UserError(f"--jit: model {spec.name!r} cannot be compiled whole with XLA: {net.xla_unsupported}")
    learning_rate = settings["lr"]
    if "lr_decay" in settings:  # staircase exponential decay every trn_num // batch steps (seed 000)
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            settings["lr"], max(1, settings["trn_num"] // settings["batch_size"]), settings["lr_decay"], staircase=True
        )
    # a run recorded before the setting existed trained with Keras' Adam
    optimizer = build_optimizer(settings.get("optimizer", "adam"), learning_rate, settings["adam_epsilon"])
    net.compile(
        optimizer=scale.make_optimizer(optimizer, precision),
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )
    scale.prepare_model(net, distribution)

    run_dir = Path(output) if output is not None else None
    config = {
        "model": spec.name,
        "model_config": net.get_config(),
        "hyperparameters": model_kwargs,
        "training": settings,
        "preset": past.config.get("preset") if past is not None else preset,
        # how to reload exactly this data (tfrec evaluate, --resume); data built by hand cannot be
        "data": provenance["name"] if provenance else dataset.name,
        "data_dir": provenance.get("path") if provenance else None,
        "data_options": provenance.get("options", {}) if provenance else None,
        "data_seed": provenance.get("seed", seed) if provenance else None,
        "data_reloadable": provenance is not None,
        "seed": seed,
        "device": device_name,
        "steps_per_execution": steps_per_execution,
        "jit_compile": jit_compile,
        "patience": patience,
        "pretrained": {k: str(v) for k, v in (pretrained or {}).items()} or None,
        "precision": precision,
        "strategy": strategy,
        "replicas": int(distribution.num_replicas_in_sync),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    if past is not None:
        past.restore(net)
        config = {**past.config, "training": settings, "precision": precision, "strategy": strategy,
                  "replicas": int(distribution.num_replicas_in_sync)}
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        if past is None or not (run_dir / runs.CATALOGUE).exists():  # the user's own ids, for export
            Catalogue.from_data(dataset).save(run_dir / runs.CATALOGUE)
        runs.write_json(run_dir / runs.CONFIG, config)

    monitor, selection = task.selection_monitor(dataset, settings)
    if verbose:
        print(task.describe(dataset, provenance), flush=True)
        print(f"best.keras{' and early stopping' if patience else ''}: {selection}", flush=True)
    timer = EpochTimer(past.column("epoch_seconds") if past is not None else None)
    evaluator = RankingEvaluation(lambda m: task.evaluate_splits(m, dataset, settings), settings["eval_every"], verbose)
    guard = NonFiniteLossGuard(training.steps_per_epoch, steps_per_execution)  # first: stops before the others
    callbacks: list[keras.callbacks.Callback] = [guard, training.callback, timer, evaluator]
    checkpoint = None
    if run_dir is not None:
        checkpoint = AtomicCheckpoint(run_dir, monitor, past.best if past is not None else None)
        # history first: a state file always has its epochs' rows in history.csv beside it
        callbacks += [HistoryCSV(run_dir / runs.HISTORY, past.rows if past is not None else None), checkpoint]
    if patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor=monitor, mode="max", patience=patience, restore_best_weights=True)
        )
    if tensorboard is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(tensorboard)))

    history = fit_guarded(
        net,
        run_dir,
        scale.distributable(training.dataset, distribution),
        epochs=settings["epochs"],
        callbacks=callbacks,
        shuffle=False,  # the pipeline shuffles each epoch itself
        verbose=1 if verbose else 0,
        initial_epoch=initial_epoch,
    )

    if patience is None and evaluator.last_epoch == settings["epochs"] - 1:
        # the final model is the one evaluated after the last epoch: its test metrics stand
        test = {key: value for key, value in evaluator.last.items() if not key.startswith("val_")}
        eval_seconds = evaluator.seconds[-1]
    else:
        start = time.perf_counter()
        test = task.evaluate(net, dataset, settings)
        eval_seconds = time.perf_counter() - start
    hist = {key: [float(v) for v in values] for key, values in history.history.items()}
    if past is not None:  # the epochs before the interruption come first
        hist = {key: past.column(key) + hist.get(key, []) for key in dict.fromkeys([*past.keys(), *hist])}
    best_epoch = best = None
    if monitor in hist:
        best = int(np.argmax(hist[monitor]))  # an index into the evaluations, which with eval_every > 1
        every = settings["eval_every"] if len(hist[monitor]) < len(timer.seconds) else 1  # are epochs k, 2k, ...
        best_epoch = (best + 1) * every
    metrics = {
        "test": test,
        "best": {
            "epoch": best_epoch,
            "chosen_by": monitor,
            "rule": selection,
            **({key: hist[key][best] for key in hist if (key in test or key.startswith("val_"))
                and len(hist[key]) > best} if best is not None else {}),
        },
        "baseline_popularity": task.popularity_baseline(dataset, settings),
        "epochs_run": len(timer.seconds),
        "epoch_seconds": timer.seconds,
        "eval_seconds": eval_seconds,
        "steps_per_epoch": training.steps_per_epoch,
        "device": device_name,
        "precision": precision,
        "strategy": strategy,
    }
    metrics.update(task.summarize(hist))  # e.g. sessions: the best value over epochs (the reference's report)
    if run_dir is not None:
        if patience is not None:  # early stopping restored the best weights: that is the final model
            runs.atomic_save_model(net, run_dir / runs.MODEL)
        runs.write_json(run_dir / runs.METRICS, metrics)
    if verbose:
        shown = "  ".join(f"{k}={v:.4f}" for k, v in test.items())
        base = "  ".join(f"{k}={v:.4f}" for k, v in metrics["baseline_popularity"].items())
        print(f"test: {shown}\npopularity baseline: {base}", flush=True)
    return RunResult(model=net, data=dataset, history=hist, metrics=metrics, config=config, run_dir=run_dir)


def evaluate_run(run_dir: str | Path, checkpoint: str = "model", data_dir: str | Path | None = None, device: str = "auto") -> dict:
    """Re-evaluate a saved run on its test protocol.

    Rebuilds the run's dataset from ``config.json`` (same seed, so the same test negatives),
    loads ``model.keras`` (or ``best.keras``) and returns ``{"test": metrics, "checkpoint": ...}``.
    ``data_dir`` overrides where the data is read from.
    """
    run_dir = Path(run_dir)
    config = runs.load_run_config(run_dir)
    if config.get("data_reloadable") is False:
        raise UserError(
            f"{run_dir}: {_NOT_RELOADABLE}; evaluate it in Python with tfrec.evaluate(model, data) on that data"
        )
    configure_device(device)
    spec = get_model_spec(config["model"])
    task = get_task(spec.task)
    settings = config["training"]
    options = config.get("data_options")
    if options is None:  # runs written before data_options was recorded
        options = _loader_settings(config["data"], settings)
    dataset = load_dataset(
        config["data"], data_dir or config.get("data_dir"), seed=config.get("data_seed", config["seed"]), progress=False,
        **options,
    )
    dataset = task.prepare(dataset, settings, config["seed"])  # the same training / validation split as the run
    _check_same_ids(run_dir, dataset)
    model = runs.load_run_model(run_dir, checkpoint)
    return {"test": task.evaluate(model, dataset, settings), "checkpoint": checkpoint, "run_dir": str(run_dir)}


# --------------------------------------------------------------------------------------------
# The pieces of train() for notebooks: the pipeline fit consumes, and evaluation
# --------------------------------------------------------------------------------------------
def _check_same_ids(run_dir: Path, dataset) -> None:
    """A UserError when the reloaded data no longer has the run's ids (the file changed since
    training), so a run is never evaluated on other data under its name."""
    path = run_dir / runs.CATALOGUE
    if path.exists() and not Catalogue.load(path).same_ids(Catalogue.from_data(dataset)):  # older runs: no file
        raise UserError(
            f"{run_dir}: the reloaded data ({getattr(dataset, 'info', {}).get('source', dataset.name)}) does not have "
            f"the users and items the run was trained on ({path}); was the file changed since training?"
        )


def _spec_of(model) -> ModelSpec:
    from tfrec.registry import list_models

    for spec in list_models():
        if type(model) is spec.model_class():
            return spec
    raise UserError(f"{type(model).__name__} is not a registered tfrec model")


def training_data(model: str, data, *, seed: int = 0, first_epoch: int = 0, **settings):
    """The ``tf.data`` pipeline :func:`train` feeds ``model.fit``, for a notebook's own ``fit``.

    ```python
    data = tfrec.load_dataset("synthetic")
    model = tfrec.build_model("neumf", data)
    model.compile(optimizer="adam")
    pipeline = tfrec.training_data("neumf", data, seed=0)
    model.fit(pipeline.dataset, epochs=3, callbacks=[pipeline.callback])
    ```

    Args:
        model: registry name (its training defaults apply: batch size, negatives, ...).
        data: task data of the model's kind.
        seed: seeds every epoch's sampling (epoch ``e`` draws from ``[seed, e]``).
        first_epoch: the epoch ``fit`` starts at (``initial_epoch``).
        **settings: training settings to override (``batch_size=512``).

    Returns:
        :class:`tfrec.data.pipelines.TrainingData`: ``dataset`` (one epoch; ``fit`` repeats it),
        ``callback`` (keeps the sampling on ``fit``'s epoch: pass it to ``fit``) and
        ``steps_per_epoch``.
    """
    spec = get_model_spec(model)
    check_task_data(spec, data)
    _, merged = _merge_settings(spec, settings, {}, spec.dataset_name(getattr(data, "name", None)))
    return get_task(spec.task).training_data(data, merged, seed, first_epoch=first_epoch)


def evaluate(model, data, split: str = "test", **settings) -> dict[str, float]:
    """The metrics :func:`train` reports, for any registered model and its task data (ranking
    metrics, or AUC / log loss for CTR models), on the ``test`` split or, where the data has
    one, the ``validation`` split; ``settings`` override the model's evaluation settings
    (``top_k=20``)."""
    spec = _spec_of(model)
    check_task_data(spec, data)
    if split not in ("test", "validation"):
        raise UserError(f"split must be 'test' or 'validation'; got {split!r}")
    task = get_task(spec.task)
    if split == "validation" and not task.has_validation(data):
        raise UserError(f"{data.name}: the data has no validation split (load it with validation=True)")
    _, merged = _merge_settings(spec, settings, {}, spec.dataset_name(getattr(data, "name", None)))
    return task.evaluate(model, data, merged, split=split)
