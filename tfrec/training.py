"""The one training entry point shared by the CLI and notebooks: :func:`train`.

```python
import tfrec
result = tfrec.train("neumf", data="synthetic", epochs=5, seed=1, output="runs/neumf")
result.metrics["test"]["HR@10"]
result.model.predict((user_ids, item_ids))
```

The path every model takes: dataset (registry) -> task data -> ``tf.data`` pipeline (per-epoch
negatives) -> ``model.fit`` with the model's own ``train_step`` -> callbacks (ranking evaluation
every N epochs, atomic checkpoints, early stopping, CSV / TensorBoard logs) -> run directory.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec import evaluation, runs
from tfrec.data.registry import load_dataset
from tfrec.data.types import CTRData, ImplicitFeedback, MultiBehavior, SequenceData
from tfrec.devices import configure_device
from tfrec.errors import UserError
from tfrec.registry import ModelSpec, get_model_spec, resolve_hparams


# --------------------------------------------------------------------------------------------
# Task handlers: how a task kind is batched and evaluated
# --------------------------------------------------------------------------------------------
class ImplicitTask:
    """Implicit feedback, pointwise models (GMF, MLP, NeuMF): BCE on sampled negatives,
    leave-one-out sampled ranking (1 held-out item + N negatives per user)."""

    kind = "implicit"
    data_type = ImplicitFeedback

    @staticmethod
    def training_data(data, settings, seed: int, first_epoch: int = 0):
        from tfrec.data.pipelines import implicit_training_data

        return implicit_training_data(
            data,
            num_negatives=settings["num_negatives"],
            batch_size=settings["batch_size"],
            seed=seed,
            first_epoch=first_epoch,
        )

    _score_fns: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @classmethod
    def evaluate(cls, model, data, settings, batch_size: int = 1024) -> dict[str, float]:
        score = cls._score_fns.get(model)
        if score is None:  # trace the scoring function once per model, not once per evaluation
            score = cls._score_fns[model] = tf.function(model.score, reduce_retracing=True)
        k = int(settings.get("top_k", 10))
        return evaluation.evaluate_sampled(score, data.test_users, data.candidates(), ks=(k,), batch_size=batch_size)

    @staticmethod
    def popularity_baseline(data, settings) -> dict[str, float]:
        popularity = data.item_popularity().astype(np.float32)
        scores = popularity[data.candidates()]
        k = int(settings.get("top_k", 10))
        return evaluation.ranking_metrics(evaluation.sampled_ranks(scores).numpy(), ks=(k,))


class MultiBehaviorTask(ImplicitTask):
    """Multi-behavior data (MB-GMN): per-behavior hinge pairs for training; the held-out target
    item against 99 negatives for evaluation, scored from one graph propagation per evaluation."""

    kind = "multi_behavior"
    data_type = MultiBehavior
    _propagate_fns: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @staticmethod
    def training_data(data, settings, seed: int, first_epoch: int = 0):
        from tfrec.data.pipelines import multibehavior_training_data

        if settings.get("test_negatives", "fixed") not in ("fixed", "reference"):
            raise UserError(f"--set test_negatives must be 'fixed' or 'reference'; got {settings['test_negatives']!r}")
        return multibehavior_training_data(
            data,
            batch_size=settings["batch_size"],
            samp_num=settings["samp_num"],
            trn_num=settings["trn_num"],
            seed=seed,
            first_epoch=first_epoch,
        )

    @classmethod
    def evaluate(cls, model, data, settings, batch_size: int = 1024) -> dict[str, float]:
        if model not in cls._score_fns:
            model.cache_graph()  # CSR adjacencies built once, captured by the functions below
            cls._propagate_fns[model] = tf.function(model.propagate)
            cls._score_fns[model] = tf.function(model.score, reduce_retracing=True)
        reps = cls._propagate_fns[model]()  # the graph does not change while evaluating: once
        score = cls._score_fns[model]
        k = int(settings.get("top_k", 10))
        candidates = data.candidates()
        if settings.get("test_negatives") == "reference":  # seed 000: unseeded, redrawn every time
            from tfrec.data.sampling import sample_test_negatives

            negatives = sample_test_negatives(
                data.train, data.test_users, data.test_items, data.test_negatives.shape[1], np.random.default_rng(),
                exclude_held_out=False,
            )
            candidates = np.concatenate([data.test_items[:, None], negatives], axis=1)
        return evaluation.evaluate_sampled(
            lambda users, items: score(users, items, reps), data.test_users, candidates, ks=(k,), batch_size=batch_size
        )


class SequenceTask:
    """Next-item sequences (AttRec): (user, history, next item, negative) examples for training;
    each test user's next item against its sampled negatives, scored with its history."""

    kind = "sequences"
    data_type = SequenceData
    _score_fns: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @staticmethod
    def training_data(data, settings, seed: int, first_epoch: int = 0):
        from tfrec.data.pipelines import sequence_training_data

        return sequence_training_data(
            data, batch_size=settings["batch_size"], seed=seed, first_epoch=first_epoch,
            resample_negatives=bool(settings.get("resample_negatives", False)),
        )

    @classmethod
    def evaluate(cls, model, data, settings, batch_size: int = 1024) -> dict[str, float]:
        score = cls._score_fns.get(model)
        if score is None:
            score = cls._score_fns[model] = tf.function(model.score, reduce_retracing=True)
        users = tf.constant(data.test_users)
        histories = tf.constant(data.test_histories)

        def score_rows(rows, items):  # evaluate_sampled passes row numbers as the "users"
            return score(tf.gather(users, rows), tf.gather(histories, rows), items)

        k = int(settings.get("top_k", 10))
        rows = np.arange(len(data.test_users), dtype=np.int32)
        ranks = evaluation.sampled_ranks_of(score_rows, rows, data.candidates(), batch_size=batch_size)
        return {**evaluation.ranking_metrics(ranks, ks=(k,)), "MRR": float(np.mean(1.0 / (ranks + 1.0)))}

    @staticmethod
    def popularity_baseline(data, settings) -> dict[str, float]:
        scores = data.item_popularity().astype(np.float32)[data.candidates()]
        ranks = evaluation.sampled_ranks(scores).numpy()
        k = int(settings.get("top_k", 10))
        return {**evaluation.ranking_metrics(ranks, ks=(k,)), "MRR": float(np.mean(1.0 / (ranks + 1.0)))}


class CTRTask:
    """Click-through-rate data (seed 003's CTR models): BCE on labelled rows; AUC, log loss,
    accuracy, precision and recall over the whole test set (batched predictions, exact AUC).
    The baseline scores each test row with its item's smoothed training click rate."""

    kind = "ctr"
    data_type = CTRData
    monitor = "AUC"
    _predict_fns: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @staticmethod
    def training_data(data, settings, seed: int, first_epoch: int = 0):
        from tfrec.data.pipelines import ctr_training_data

        return ctr_training_data(data, batch_size=settings["batch_size"], seed=seed, first_epoch=first_epoch)

    @classmethod
    def predict(cls, model, features: dict, batch_size: int = 16384) -> np.ndarray:
        """``[T]`` click probabilities of ``features`` (``{field: [T] / [T, M]}``), batched."""
        fn = cls._predict_fns.get(model)
        if fn is None:  # traced once per model: one input signature for every batch size
            fn = cls._predict_fns[model] = tf.function(
                lambda f: model(f, training=False), input_signature=[model.input_signature()]
            )
        names = model.field_names
        total = len(features[names[0]])
        out = [
            fn({k: np.asarray(features[k][start : start + batch_size], dtype=np.int32) for k in names}).numpy()
            for start in range(0, total, batch_size)
        ]
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    @classmethod
    def evaluate(cls, model, data, settings, batch_size: int = 16384) -> dict[str, float]:
        return evaluation.ctr_metrics(data.test_labels, cls.predict(model, data.test_features, batch_size))

    @staticmethod
    def popularity_baseline(data, settings) -> dict[str, float]:
        if "item_id" in data.test_features:
            scores = data.item_click_rate()[data.test_features["item_id"]]
        else:
            scores = np.full(data.num_test, float(data.train_labels.mean()))
        return evaluation.ctr_metrics(data.test_labels, scores)


TASKS = {task.kind: task for task in (ImplicitTask, MultiBehaviorTask, SequenceTask, CTRTask)}


def _task(kind: str):
    try:
        return TASKS[kind]
    except KeyError:
        raise UserError(f"task kind {kind!r} has no training support yet") from None


# --------------------------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------------------------
class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` (training time of the epoch, before evaluation) to the logs."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

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

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        start = time.perf_counter()
        self.last = self.evaluate_fn(self.model)
        self.seconds.append(time.perf_counter() - start)
        if logs is not None:
            logs.update(self.last)
            logs["eval_seconds"] = self.seconds[-1]
        if self.verbose:
            shown = "  ".join(f"{k}={v:.4f}" for k, v in self.last.items())
            print(f"epoch {epoch + 1}: {shown}  ({self.seconds[-1]:.2f}s)", flush=True)


class HistoryCSV(keras.callbacks.Callback):
    """``history.csv``: one row per epoch (1-based) with every logged value, rewritten atomically
    after each epoch so the file is always complete. (Keras' ``CSVLogger`` appends in place and
    adds empty ``val_*`` columns when there is no validation data.)"""

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
        self.rows: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}})
        columns = list(dict.fromkeys(key for row in self.rows for key in row))
        lines = [",".join(columns)] + [",".join(repr(row.get(c, "")) if c in row else "" for c in columns) for row in self.rows]
        runs.atomic_write_text(self.path, "\n".join(lines) + "\n")


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves ``model.keras`` after every epoch and ``best.keras`` whenever ``monitor`` improves
    (higher is better), each through a temporary file and a rename."""

    def __init__(self, run_dir: Path, monitor: str):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.monitor = monitor
        self.best = -np.inf
        self.best_epoch: int | None = None
        self.best_logs: dict = {}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        runs.atomic_save_model(self.model, self.run_dir / runs.MODEL)
        value = logs.get(self.monitor)
        if value is not None and value > self.best:
            self.best, self.best_epoch = float(value), epoch + 1
            self.best_logs = {k: float(v) for k, v in logs.items()}
            runs.atomic_save_model(self.model, self.run_dir / runs.BEST)


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
    extras: dict = field(default_factory=dict)


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


def _merge_settings(spec: ModelSpec, params: dict | None, explicit: dict, data_name: str | None = None) -> tuple[dict, dict]:
    model_kwargs, settings = resolve_hparams(spec, params, data_name)
    settings.update({k: v for k, v in explicit.items() if v is not None})
    for key in ("epochs", "batch_size", "eval_every", "num_negatives"):
        if key in settings and (not isinstance(settings[key], int) or settings[key] <= 0):
            raise UserError(f"--{key.replace('_', '-')} must be a positive integer; got {settings[key]!r}")
    if "lr" in settings and not (isinstance(settings["lr"], (int, float)) and settings["lr"] > 0):
        raise UserError(f"--lr must be a positive number; got {settings['lr']!r}")
    return model_kwargs, settings


def _build(spec: ModelSpec, data, model_kwargs: dict, pretrained: dict | None):
    shape_args = {"num_users": data.num_users, "num_items": data.num_items}
    if pretrained:
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
    cls = spec.model_class()
    try:
        if hasattr(cls, "from_data"):
            return cls.from_data(data, **model_kwargs)
        model = cls(**shape_args, **model_kwargs)
    except (ValueError, TypeError) as error:
        raise UserError(f"invalid hyperparameter for model {spec.name!r}: {error}") from None
    model.build()
    return model


def train(
    model: str = "neumf",
    data: str | None = None,
    data_dir: str | Path | None = None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    seed: int = 0,
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
) -> RunResult:
    """Train a registered model on a registered dataset and evaluate it.

    Args:
        model: registry name (``tfrec models list``).
        data: dataset name (``tfrec datasets list``); defaults to the model's offline default
            (``synthetic``).
        data_dir: load the dataset from these local files instead of the download cache.
        epochs, batch_size, lr, eval_every: override the model's training defaults.
        seed: seeds Python, NumPy and TensorFlow, the data split's test negatives and every
            epoch's training negatives.
        device: ``auto``, ``cpu``, ``gpu`` or ``gpu:N`` (:mod:`tfrec.devices`).
        output: run directory to write (``config.json``, checkpoints, ``history.csv``,
            ``metrics.json``); nothing is written when ``None``.
        params: hyperparameter overrides (``--set key=value``), checked against the model.
        patience: stop after this many evaluations without improvement of the monitored metric
            (HR@K) and restore the best weights; ``None`` trains all epochs.
        tensorboard: folder for TensorBoard logs.
        steps_per_execution: training steps run per ``tf.function`` call (amortises Keras'
            per-step Python overhead; the math is unchanged; an epoch's last execution runs
            only the steps that remain). Default: the model's setting, else 32.
        jit_compile: compile the training step with XLA, which fuses the optimizer's
            element-wise updates (about 1.7x faster NeuMF steps on a 2-core CPU; same math).
            Default: the model's setting, else True (MB-GMN's sparse products stay outside XLA).
        pretrained: NeuMF only: ``{"gmf": RUN_DIR, "mlp": RUN_DIR, "alpha": 0.5}``.
        dataset: an already loaded task-data object to use instead of ``data``/``data_dir``.
        verbose: 0 silent, 1 progress bar and per-epoch metrics.

    Returns:
        A :class:`RunResult`.
    """
    spec = get_model_spec(model)
    data_name = spec.dataset_name(data)
    model_kwargs, settings = _merge_settings(
        spec, params, {"epochs": epochs, "batch_size": batch_size, "lr": lr, "eval_every": eval_every}, data_name
    )
    device_name = configure_device(device)
    set_seed(seed)
    task = _task(spec.task)

    if dataset is None:
        dataset = load_dataset(data_name, data_dir, seed=seed, progress=verbose > 0, **_loader_settings(data_name, settings))
    if not isinstance(dataset, task.data_type):
        raise UserError(
            f"model {spec.name!r} trains on {task.kind!r} data; dataset {data_name!r} gives "
            f"{type(dataset).__name__}"
        )

    net = _build(spec, dataset, model_kwargs, pretrained)
    training = task.training_data(dataset, settings, seed)
    if steps_per_execution is None:
        steps_per_execution = int(settings.get("steps_per_execution", 32))
    if jit_compile is None:
        jit_compile = bool(settings.get("jit_compile", True))
    learning_rate = settings["lr"]
    if "lr_decay" in settings:  # staircase exponential decay every trn_num // batch steps (seed 000)
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            settings["lr"], max(1, settings["trn_num"] // settings["batch_size"]), settings["lr_decay"], staircase=True
        )
    net.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, epsilon=settings["adam_epsilon"]),
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )

    run_dir = Path(output) if output is not None else None
    config = {
        "model": spec.name,
        "model_config": net.get_config(),
        "hyperparameters": model_kwargs,
        "training": settings,
        "data": data_name,
        "data_dir": str(Path(data_dir).resolve()) if data_dir is not None else None,
        "seed": seed,
        "device": device_name,
        "steps_per_execution": steps_per_execution,
        "jit_compile": jit_compile,
        "pretrained": {k: str(v) for k, v in (pretrained or {}).items()} or None,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        runs.write_json(run_dir / runs.CONFIG, config)

    k = int(settings.get("top_k", 10))
    monitor = getattr(task, "monitor", f"HR@{k}")  # CTR: AUC
    timer = EpochTimer()
    evaluator = RankingEvaluation(lambda m: task.evaluate(m, dataset, settings), settings["eval_every"], verbose)
    callbacks: list[keras.callbacks.Callback] = [training.callback, timer, evaluator]
    checkpoint = None
    if run_dir is not None:
        checkpoint = AtomicCheckpoint(run_dir, monitor)
        callbacks += [checkpoint, HistoryCSV(run_dir / runs.HISTORY)]
    if patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor=monitor, mode="max", patience=patience, restore_best_weights=True)
        )
    if tensorboard is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(tensorboard)))

    history = net.fit(
        training.dataset,
        epochs=settings["epochs"],
        callbacks=callbacks,
        shuffle=False,  # the pipeline shuffles each epoch itself
        verbose=1 if verbose else 0,
    )

    start = time.perf_counter()
    test = task.evaluate(net, dataset, settings)
    eval_seconds = time.perf_counter() - start
    hist = {key: [float(v) for v in values] for key, values in history.history.items()}
    best_epoch = None
    if monitor in hist:
        best_epoch = int(np.argmax(hist[monitor])) + 1
    metrics = {
        "test": test,
        "best": {
            "epoch": best_epoch,
            **({key: hist[key][best_epoch - 1] for key in test if key in hist} if best_epoch else {}),
        },
        "baseline_popularity": task.popularity_baseline(dataset, settings),
        "epochs_run": len(timer.seconds),
        "epoch_seconds": timer.seconds,
        "eval_seconds": eval_seconds,
        "steps_per_epoch": training.steps_per_epoch,
        "device": device_name,
    }
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
    configure_device(device)
    spec = get_model_spec(config["model"])
    task = _task(spec.task)
    settings = config["training"]
    dataset = load_dataset(
        config["data"], data_dir or config.get("data_dir"), seed=config["seed"], **_loader_settings(config["data"], settings)
    )
    model = runs.load_run_model(run_dir, checkpoint)
    return {"test": task.evaluate(model, dataset, settings), "checkpoint": checkpoint, "run_dir": str(run_dir)}
