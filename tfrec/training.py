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

``precision`` (a Keras dtype policy) and ``strategy`` (``tf.distribute``) wrap that path from
building the model to the last evaluation: see :mod:`tfrec.distribute`.
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

from tfrec import distribute as scale
from tfrec import evaluation, runs
from tfrec.data.catalogue import Catalogue
from tfrec.data.registry import load_dataset
from tfrec.data.types import CTRData, ImplicitFeedback, MultiBehavior, SequenceData, SessionData
from tfrec.devices import configure_device
from tfrec.errors import NonFiniteLoss, UserError
from tfrec.optimizers import OPTIMIZERS, build_optimizer
from tfrec.registry import ModelSpec, did_you_mean, get_model_spec, resolve_hparams


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
    def evaluate(cls, model, data, settings, batch_size: int = 1024, split: str = "test") -> dict[str, float]:
        score = cls._score_fns.get(model)
        if score is None:  # trace the scoring function once per model, not once per evaluation
            score = cls._score_fns[model] = tf.function(model.score, reduce_retracing=True)
        users, candidates, _ = ranking_split(data, split)
        k = int(settings.get("top_k", 10))
        return evaluation.evaluate_sampled(score, users, candidates, ks=(k,), batch_size=batch_size)

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
    not_distributable = (
        "its batches hold each behavior's positives then negatives as two halves of one vector, "
        "which a per-replica split would mispair"
    )
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
    def evaluate(cls, model, data, settings, batch_size: int = 1024, split: str = "test") -> dict[str, float]:
        if model not in cls._score_fns:
            model.cache_graph()  # CSR adjacencies built once, captured by the functions below
            cls._propagate_fns[model] = tf.function(model.propagate)
            cls._score_fns[model] = tf.function(model.score, reduce_retracing=True)
        reps = cls._propagate_fns[model]()  # the graph does not change while evaluating: once
        score = cls._score_fns[model]
        k = int(settings.get("top_k", 10))
        users, candidates, _ = ranking_split(data, split)
        if split == "test" and settings.get("test_negatives") == "reference":  # seed 000: unseeded, redrawn every time
            from tfrec.data.sampling import sample_test_negatives

            negatives = sample_test_negatives(
                data.train, data.test_users, data.test_items, data.test_negatives.shape[1], np.random.default_rng(),
                exclude_held_out=False,
            )
            candidates = np.concatenate([data.test_items[:, None], negatives], axis=1)
        return evaluation.evaluate_sampled(
            lambda users, items: score(users, items, reps), users, candidates, ks=(k,), batch_size=batch_size
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
    def evaluate(cls, model, data, settings, batch_size: int = 1024, split: str = "test") -> dict[str, float]:
        score = cls._score_fns.get(model)
        if score is None:
            score = cls._score_fns[model] = tf.function(model.score, reduce_retracing=True)
        split_users, candidates, split_histories = ranking_split(data, split)
        users = tf.constant(split_users)
        histories = tf.constant(split_histories)

        def score_rows(rows, items):  # evaluate_sampled passes row numbers as the "users"
            return score(tf.gather(users, rows), tf.gather(histories, rows), items)

        k = int(settings.get("top_k", 10))
        rows = np.arange(len(split_users), dtype=np.int32)
        ranks = evaluation.sampled_ranks_of(score_rows, rows, candidates, batch_size=batch_size)
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
    def evaluate(cls, model, data, settings, batch_size: int = 16384, split: str = "test") -> dict[str, float]:
        if split == "validation":
            return evaluation.ctr_metrics(data.validation.labels, cls.predict(model, data.validation.features, batch_size))
        return evaluation.ctr_metrics(data.test_labels, cls.predict(model, data.test_features, batch_size))

    @staticmethod
    def popularity_baseline(data, settings) -> dict[str, float]:
        if "item_id" in data.test_features:
            scores = data.item_click_rate()[data.test_features["item_id"]]
        else:
            scores = np.full(data.num_test, float(data.train_labels.mean()))
        return evaluation.ctr_metrics(data.test_labels, scores)


class SessionTask:
    """Session-based next-item data (COTREC, seed 002): shuffled prefix batches for training;
    every test prefix's next item ranked among **all** items (P@K = hit rate, as the COTREC
    paper and seed 002's ``hit`` define it, MRR@K, K in 5, 10, 20), with the item view
    propagated once per evaluation. With ``--set validation=F`` a fraction ``F`` of the training
    sessions is held out (:func:`tfrec.data.sessions.split_validation`) and evaluated too
    (``val_`` metrics), and the run reports the test metrics at the epoch with the best
    validation P@20 (``at_best_validation_epoch``)."""

    kind = "sessions"
    data_type = SessionData
    not_distributable = (
        "its session view is one graph over the whole batch (and predict_product=reference needs "
        "batch == embed_dim), which a per-replica split would change"
    )
    monitor = "P@20"
    ks = (5, 10, 20)
    _fns: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @staticmethod
    def _check(settings) -> None:
        last = settings.get("last_batch", "partial")
        if last not in ("reference", "partial"):
            raise UserError(f"--set last_batch must be 'reference' or 'partial'; got {last!r}")

    @staticmethod
    def prepare(data, settings, seed: int):
        """The data to train on: ``data``, or with ``validation`` > 0 its training part, the
        held-out validation pairs kept in ``info["validation_pairs"]`` (the test split unchanged)."""
        import dataclasses

        from tfrec.data.sessions import split_validation

        fraction = settings.get("validation") or 0.0
        if not isinstance(fraction, (int, float)) or not 0.0 <= fraction < 1.0:
            raise UserError(f"--set validation must be a fraction in [0, 1); got {fraction!r}")
        if fraction == 0.0:
            return data
        split = split_validation(data, float(fraction), seed=seed)
        if split.num_test == 0 or split.num_train == 0:
            raise UserError(
                f"--set validation={fraction} leaves no validation or no training pairs; change the fraction"
            )
        return dataclasses.replace(
            split, test=data.test, test_targets=data.test_targets,
            info={**split.info, "validation_pairs": (split.test, split.test_targets)},
        )

    @classmethod
    def training_data(cls, data, settings, seed: int, first_epoch: int = 0):
        from tfrec.data.pipelines import session_training_data

        cls._check(settings)
        return session_training_data(
            data, batch_size=settings["batch_size"], seed=seed, first_epoch=first_epoch,
            last_batch=settings.get("last_batch", "partial"), max_len=settings.get("max_len"),
        )

    @staticmethod
    def check_model(model, data, settings) -> None:
        """The reference's ``example_predicting`` needs every batch to hold exactly ``embed_dim``
        sessions: a clear error instead of a shape failure mid-epoch."""
        if getattr(model, "options", {}).get("predict_product") != "reference":
            return
        batch = settings["batch_size"]
        if batch != model.embed_dim or settings.get("last_batch") != "reference" or data.num_train < batch:
            raise UserError(
                f"predict_product='reference' (the reference's example_predicting) needs --batch-size == embed_dim "
                f"(got {batch} and {model.embed_dim}), --set last_batch=reference and at least that many training "
                "prefixes; or --set predict_product=corrected for any batch size"
            )

    @classmethod
    def evaluate(cls, model, data, settings, batch_size: int = 500, split: str = "test") -> dict[str, float]:
        fns = cls._fns.get(model)
        if fns is None:  # traced once per model
            ranks_of = tf.function(evaluation.full_ranks, jit_compile=True)  # XLA fuses the counting passes
            spec = [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32),
                    tf.TensorSpec([model.num_items, model.embed_dim], tf.float32)]

            def ranks(items, targets, view, table_t):
                items, lengths = model.compact(items)
                items = items[:, : tf.maximum(tf.reduce_max(lengths), 1)]  # drop all-padding columns
                return ranks_of(model.score_items(view, items, lengths, table_t), targets)

            def propagate():
                view = model.item_view()
                return view, model.scoring_table(view)

            spec.append(tf.TensorSpec([model.embed_dim, model.num_items], tf.float32))
            fns = cls._fns[model] = (tf.function(propagate), tf.function(ranks, input_signature=spec))
        view, table_t = fns[0]()  # the item graph does not change while evaluating: propagate once

        def metrics_of(sequences, next_items):
            items, _ = sequences.padded()
            if items.shape[1] > model.max_len:  # keep each session's latest max_len clicks
                items, _ = sequences.padded(max_len=model.max_len)
            targets = next_items.astype(np.int32) - 1
            ranks = np.concatenate([
                fns[1](items[i : i + batch_size], targets[i : i + batch_size], view, table_t).numpy()
                for i in range(0, len(targets), batch_size)
            ])
            return cls._session_metrics(evaluation.ranking_metrics(ranks, cls.ks, precision=True))

        if split == "validation":
            return metrics_of(*data.info["validation_pairs"])
        return metrics_of(data.test, data.test_targets)

    @classmethod
    def _session_metrics(cls, out: dict) -> dict[str, float]:
        metrics = {}
        for k in cls.ks:
            metrics[f"P@{k}"] = out[f"HR@{k}"]  # COTREC's P@K / Recall@K is the hit rate
            metrics[f"MRR@{k}"] = out[f"MRR@{k}"]
            metrics[f"NDCG@{k}"] = out[f"NDCG@{k}"]
        return metrics

    @classmethod
    def popularity_baseline(cls, data, settings) -> dict[str, float]:
        counts = np.bincount(data.train_targets - 1, minlength=data.num_items).astype(np.float32)
        ranks = _popularity_ranks(counts, data.test_targets.astype(np.int64) - 1)  # = full_ranks, one score row
        return cls._session_metrics(evaluation.ranking_metrics(ranks, cls.ks, precision=True))

    @classmethod
    def summarize(cls, history: dict) -> dict:
        """The reference's report: each metric's best value over the epochs' test evaluations
        (and the epoch, 1-based), labelled as such -- it picks epochs on the test set."""
        best = {}
        for key, values in history.items():
            if key.split("@")[0] in ("P", "MRR", "NDCG") and values:
                epoch = int(np.argmax(values))
                best[key] = float(values[epoch])
                best[f"{key}_epoch"] = epoch + 1
        out = {"best_over_epochs_on_test": best} if best else {}
        chosen = history.get(f"val_{cls.monitor}")
        if chosen:  # the honest report: test metrics at the epoch chosen on the validation split
            epoch = int(np.argmax(chosen))
            out["at_best_validation_epoch"] = {
                "epoch": epoch + 1,
                **{k: float(v[epoch]) for k, v in history.items() if k.split("@")[0] in ("P", "MRR", "NDCG")},
                **{k: float(v[epoch]) for k, v in history.items() if k.startswith("val_")},
            }
        return out


def _popularity_ranks(counts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Zero-based pessimistic full ranks of ``targets`` under one score vector ``counts``."""
    order = np.sort(counts)
    return (counts.size - np.searchsorted(order, counts[targets], side="left") - 1).astype(np.int64)


TASKS = {task.kind: task for task in (ImplicitTask, MultiBehaviorTask, SequenceTask, CTRTask, SessionTask)}


def _task(kind: str):
    try:
        return TASKS[kind]
    except KeyError:
        raise UserError(f"task kind {kind!r} has no training support yet") from None


def check_task_data(spec: ModelSpec, data) -> None:
    """A UserError when ``data`` is not the task data model ``spec`` trains on (e.g. sequences
    given to a CTR model), naming the model, what it takes and what it got."""
    task = _task(spec.task)
    if not isinstance(data, task.data_type):
        name = getattr(data, "name", None)
        got = f"{type(data).__name__}" + (f" (dataset {name!r})" if name else "")
        raise UserError(
            f"model {spec.name!r} trains on {task.kind!r} data ({task.data_type.__name__}); got {got}; "
            f"tfrec datasets list shows each dataset's task"
        )


def ranking_split(data, split: str = "test") -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(users [T], candidates [T, 1 + N] (held-out item first), histories [T, L] or None)`` of
    the ``test`` or ``validation`` split of sampled-ranking task data."""
    if split == "test":
        return data.test_users, data.candidates(), getattr(data, "test_histories", None)
    if split != "validation" or getattr(data, "validation", None) is None:
        raise ValueError(f"{data.name}: no {split!r} split")
    held = data.validation
    return held.users, held.candidates(), held.histories


def has_validation(data) -> bool:
    """Whether task data carries a validation split (loaders' ``validation`` option; sessions:
    ``--set validation=F``)."""
    if isinstance(data, SessionData):
        return "validation_pairs" in data.info
    return getattr(data, "validation", None) is not None


def evaluate_splits(task, model, data, settings) -> dict[str, float]:
    """The test metrics, and with a validation split its metrics too, prefixed ``val_``."""
    out = dict(task.evaluate(model, data, settings))
    if has_validation(data):
        out.update({f"val_{k}": v for k, v in task.evaluate(model, data, settings, split="validation").items()})
    return out


def selection_monitor(task, data, settings) -> tuple[str, str]:
    """``(monitor, rule)``: the logged metric that picks ``best.keras`` and drives early stopping,
    and a sentence saying how. With a validation split it is the validation metric (a user's own
    data by default); without one the reference protocol: the test metric."""
    k = int(settings.get("top_k", 10))
    metric = getattr(task, "monitor", f"HR@{k}")  # CTR: AUC, sessions: P@20
    if has_validation(data):
        return f"val_{metric}", f"the epoch with the best validation {metric}"
    return metric, f"the epoch with the best test {metric} (the reference protocol: there is no validation split)"


# --------------------------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------------------------
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


def _fit_guarded(net, run_dir: Path | None, *args, **kwargs):
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
        columns = list(dict.fromkeys(key for row in self.rows for key in row))
        lines = [",".join(columns)] + [",".join(repr(row.get(c, "")) if c in row else "" for c in columns) for row in self.rows]
        runs.atomic_write_text(self.path, "\n".join(lines) + "\n")


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


def _optimizers(model) -> list:
    """``model.optimizer`` and any other optimizer the model steps (Wide & Deep's deep part)."""
    found = [model.optimizer]
    for value in vars(model).values():
        if isinstance(value, keras.optimizers.Optimizer) and all(value is not o for o in found):
            found.append(value)
    return found


def state_variables(model) -> dict[str, list]:
    """Everything a resumed run needs, by group: the model's variables (random-generator states
    and stateful parts such as COTREC's perturbations included) and each optimizer's (step count,
    moments)."""
    groups = {"model": list(model.variables)}
    for i, optimizer in enumerate(_optimizers(model)):
        groups[f"optimizer_{i}"] = list(optimizer.variables)
    return groups


@dataclass
class _ResumedRun:
    """What ``train(resume=RUN_DIR)`` picks up: the run's config, its last state and the
    ``history.csv`` rows of the epochs that state includes."""

    run_dir: Path
    config: dict
    info: dict
    saved: dict
    rows: list

    @classmethod
    def read(cls, run_dir) -> "_ResumedRun":
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
        for optimizer in _optimizers(net):
            if not optimizer.built:
                optimizer.build(net.trainable_variables)
        runs.restore_variables(self.run_dir / runs.STATE, state_variables(net), self.saved)


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
    shape_args = {"num_users": getattr(data, "num_users", None), "num_items": data.num_items}  # sessions: no users
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
            element-wise updates (about 1.7x faster NeuMF steps on a 2-core CPU; same math).
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
            global batch split across the replicas (:mod:`tfrec.distribute`). MB-GMN and COTREC
            train on the default strategy only. Under a strategy steps run one per call without
            XLA (``steps_per_execution=1``, ``jit_compile=False``: Keras 3.15's multi-step loop
            and XLA both fail under ``tf.distribute``). Like ``device``, not taken from a resumed run.

    Returns:
        A :class:`RunResult`.
    """
    past = None
    if resume is not None:  # everything from the run's own config, except device, strategy and logging
        _check_resume_conflicts(
            model=model, data=data, data_dir=data_dir, batch_size=batch_size, lr=lr, seed=seed, output=output,
            params=params, eval_every=eval_every, patience=patience, steps_per_execution=steps_per_execution,
            jit_compile=jit_compile, pretrained=pretrained, precision=precision, overwrite=overwrite, preset=preset,
        )
        past = _ResumedRun.read(resume)
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
    from tfrec.data.registry import _REGISTRY

    # a loaded dataset's loader options are known keys too (refused below with a clear message)
    loader_keys = _loader_keys(data_name) if dataset is None or data_name in _REGISTRY else set()
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
    task = _task(spec.task)
    if strategy != "default":
        if getattr(task, "not_distributable", None):
            raise UserError(
                f"--strategy {strategy}: model {spec.name!r} trains on the default strategy only: {task.not_distributable}"
            )
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
    check_task_data(spec, dataset)
    if hasattr(task, "prepare"):  # e.g. sessions: hold out a validation split from training
        dataset = task.prepare(dataset, settings, seed)
    with scale.precision_scope(precision), distribution.scope(), scale.worker_output(output, distribution) as output:
        return _train_in_scope(
            spec, task, dataset, model_kwargs, settings, past, distribution,
            provenance=provenance, seed=seed, device_name=device_name, output=output,
            patience=patience, tensorboard=tensorboard, steps_per_execution=steps_per_execution,
            jit_compile=jit_compile, pretrained=pretrained, verbose=verbose, precision=precision, strategy=strategy,
            preset=preset,
        )


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
    from tfrec.data.registry import _REGISTRY, loader_options

    if data_name not in _REGISTRY:  # data built by hand: no loader
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


def _check_resume_conflicts(**given) -> None:
    """``--resume`` continues a run with its own settings: any other setting given with it is a
    conflict (a UserError naming it), except ``--epochs``, ``--device``, ``--tensorboard``,
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


def describe_data(data, provenance: dict | None = None) -> str:
    """A few lines saying what is trained and tested on: sizes, split rule and source (printed
    at the start of training), with a warning when the test split is too small to say much."""
    info = getattr(data, "info", {}) or {}
    where = (provenance or {}).get("path") or info.get("source") or "generated"
    split = info.get("split") or info.get("recipe") or "see tfrec datasets info"
    if isinstance(data, SessionData):
        sizes = f"{data.num_items:,} items, {data.num_train:,} training prefixes, {len(data.all_train_seq):,} training sessions"
        tested, unit = data.num_test, "test prefixes"
        valid = len(data.info["validation_pairs"][1]) if "validation_pairs" in data.info else 0
    elif isinstance(data, CTRData):
        click_rate = float(data.train_labels.mean()) if data.num_train else 0.0
        sizes = f"{data.num_train:,} training rows ({click_rate:.1%} clicks), fields {', '.join(data.field_names)}"
        tested, unit = data.num_test, "test rows"
        valid = len(data.validation.labels) if getattr(data, "validation", None) is not None else 0
    else:
        interactions = data.num_train if isinstance(data, SequenceData) else int(data.train.nnz)
        what = "training examples" if isinstance(data, SequenceData) else "training interactions"
        if isinstance(data, MultiBehavior):
            what = f"{data.target!r} training interactions (behaviors {', '.join(map(str, data.behaviors))})"
        sizes = f"{data.num_users:,} users, {data.num_items:,} items, {interactions:,} {what}"
        tested, unit = len(data.test_users), "test users"
        valid = len(data.validation.users) if getattr(data, "validation", None) is not None else 0
    lines = [
        f"data: {data.name} ({where}): {sizes}",
        f"  test: {tested:,} {unit}; validation: {f'{valid:,}' if valid else 'none'}; split: {split}",
    ]
    if tested < 100:
        lines.append(f"  warning: only {tested} {unit}: test metrics will be noisy; check the split options (tfrec datasets info {data.name})")
    return "\n".join(lines)


def _train_in_scope(spec, task, dataset, model_kwargs, settings, past, distribution, *, provenance, seed,
                    device_name, output, patience, tensorboard, steps_per_execution, jit_compile, pretrained,
                    verbose, precision, strategy, preset=None) -> RunResult:
    """:func:`train` from building the model on, inside the precision policy and the strategy's
    scope (``output`` is this process' run directory: a temporary one on a non-chief worker)."""
    net = _build(spec, dataset, model_kwargs, pretrained)
    if hasattr(task, "check_model"):  # task-specific constraints on model and settings
        task.check_model(net, dataset, settings)
    initial_epoch = past.epoch if past is not None else 0
    training = task.training_data(dataset, settings, seed, first_epoch=initial_epoch)
    if steps_per_execution is None:
        steps_per_execution = int(settings.get("steps_per_execution", 32))
    if jit_compile is None:
        jit_compile = bool(settings.get("jit_compile", True))
    if jit_compile and getattr(net, "xla_unsupported", None):  # e.g. sparse graph products
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

    monitor, selection = selection_monitor(task, dataset, settings)
    if verbose:
        print(describe_data(dataset, provenance), flush=True)
        print(f"best.keras{' and early stopping' if patience else ''}: {selection}", flush=True)
    timer = EpochTimer(past.column("epoch_seconds") if past is not None else None)
    evaluator = RankingEvaluation(lambda m: evaluate_splits(task, m, dataset, settings), settings["eval_every"], verbose)
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

    history = _fit_guarded(
        net,
        run_dir,
        scale.distributable(training.dataset, distribution),
        epochs=settings["epochs"],
        callbacks=callbacks,
        shuffle=False,  # the pipeline shuffles each epoch itself
        verbose=1 if verbose else 0,
        initial_epoch=initial_epoch,
    )

    start = time.perf_counter()
    test = task.evaluate(net, dataset, settings)
    eval_seconds = time.perf_counter() - start
    hist = {key: [float(v) for v in values] for key, values in history.history.items()}
    if past is not None:  # the epochs before the interruption come first
        hist = {key: past.column(key) + hist.get(key, []) for key in dict.fromkeys([*past.keys(), *hist])}
    best_epoch = None
    if monitor in hist:
        best_epoch = int(np.argmax(hist[monitor])) + 1
    metrics = {
        "test": test,
        "best": {
            "epoch": best_epoch,
            "chosen_by": monitor,
            "rule": selection,
            **({key: hist[key][best_epoch - 1] for key in hist if (key in test or key.startswith("val_"))
                and len(hist[key]) >= best_epoch} if best_epoch else {}),
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
    if hasattr(task, "summarize"):  # e.g. sessions: the best value over epochs (the reference's report)
        metrics.update(task.summarize(hist))
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
    task = _task(spec.task)
    settings = config["training"]
    options = config.get("data_options")
    if options is None:  # runs written before data_options was recorded
        options = _loader_settings(config["data"], settings)
    dataset = load_dataset(
        config["data"], data_dir or config.get("data_dir"), seed=config.get("data_seed", config["seed"]), progress=False,
        **options,
    )
    if hasattr(task, "prepare"):  # the same training / validation split as the run
        dataset = task.prepare(dataset, settings, config["seed"])
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
    if not path.exists():  # runs written before catalogue.npz
        return
    saved, now = Catalogue.load(path), Catalogue.from_data(dataset)
    same = all(
        (a is None) == (b is None) and (a is None or (len(a) == len(b) and np.array_equal(np.asarray(a), np.asarray(b))))
        for a, b in [(saved.users, now.users), (saved.items, now.items),
                     *((saved.fields.get(k), now.fields.get(k)) for k in {*saved.fields, *now.fields})]
    )
    if not same:
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
    return _task(spec.task).training_data(data, merged, seed, first_epoch=first_epoch)


def evaluate(model, data, split: str = "test", **settings) -> dict[str, float]:
    """The metrics :func:`train` reports, for any registered model and its task data (ranking
    metrics, or AUC / log loss for CTR models), on the ``test`` split or, where the data has
    one, the ``validation`` split; ``settings`` override the model's evaluation settings
    (``top_k=20``)."""
    spec = _spec_of(model)
    check_task_data(spec, data)
    if split not in ("test", "validation"):
        raise UserError(f"split must be 'test' or 'validation'; got {split!r}")
    if split == "validation" and not has_validation(data):
        raise UserError(f"{data.name}: the data has no validation split (load it with validation=True)")
    _, merged = _merge_settings(spec, settings, {}, spec.dataset_name(getattr(data, "name", None)))
    return _task(spec.task).evaluate(model, data, merged, split=split)
