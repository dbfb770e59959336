"""Session-based next-item data (COTREC, seed 002): shuffled prefix batches for training; every
test prefix's next item ranked among **all** items, with the item view propagated once per
evaluation (the model's ``scoring_context``).

Metrics, K in 5, 10, 20: ``HR@K`` (the hit rate), ``MRR@K`` and ``NDCG@K``
(:mod:`tfrec.evaluation`). The COTREC paper and seed 002 report the hit rate under the label
``P@K`` (seed 002's ``hit``, the paper's "Precision"): tfrec's ``HR@20`` is their ``P@20``. (A
list's precision would be HR@K / K with one relevant item.)

Settings: ``last_batch`` (``partial``, or ``reference``: seed 002 drops nothing but batches
as its ``generate_batch`` does), ``validation`` (a fraction of the training sessions held out,
evaluated as ``val_`` metrics; the run then reports the test metrics at the epoch with the best
validation ``HR@20``, ``at_best_validation_epoch``).

Strategies (``--strategy mirrored`` / ``multiworker``): each global batch of ``B`` prefixes is split
into consecutive shares, one per replica, and COTREC builds its session-overlap graph over each
replica's share only: an overlap edge between sessions on different replicas is lost (and the
row normalisation of a session that had one counts only its own replica's neighbours). That is
where the split changes the math (the session view, and through it the mining, the session-view
contrastive and KL terms and ``adv_sess``: :mod:`tfrec.models.cotrec`); the losses are divided
so that the replicas' summed gradients are otherwise one device's. Evaluation runs outside
``fit`` on every worker's copy of the model and is unchanged.

Evaluation scores at most ``eval_scores`` entries per call (``eval_batch_size`` rows, fewer for
a catalogue over ``eval_scores / eval_batch_size`` items), so a million-item catalogue ranks a
few dozen prefixes per call instead of a ``[500, 10^6]`` matrix; the ranks do not depend on it.
"""

from __future__ import annotations

import dataclasses
import weakref

import numpy as np

from tfrec import _backend  # noqa: F401
import tensorflow as tf

from tfrec import evaluation
from tfrec.data.types import SessionData
from tfrec.errors import UserError
from tfrec.tasks.base import Task

LAST_BATCH = ("reference", "partial")
METRICS = ("HR", "MRR", "NDCG")


class SessionTask(Task):
    """Session data: models provide ``ranking_scores({"session_items": [B, L]}, None, context)
    -> [B, num_items]`` (column ``j`` is item ``j + 1``) and ``scoring_context()``.

    Distributable: under a strategy each replica trains on its consecutive share of every
    global batch, and COTREC's session-overlap graph covers that share only -- overlap edges
    between sessions on different replicas are lost, the one change to the math (module
    docstring; :mod:`tfrec.models.cotrec` for what it reaches)."""

    kind = "sessions"
    data_type = SessionData
    monitor = "HR@20"
    ks = (5, 10, 20)
    eval_batch_size = 500
    eval_scores = 1 << 25  # entries of the [rows, num_items] score matrix per call (128 MiB of float32)
    _fns: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @classmethod
    def check_settings(cls, settings) -> None:
        last = settings.get("last_batch", "partial")
        if last not in LAST_BATCH:
            raise UserError(f"--set last_batch must be 'reference' or 'partial'; got {last!r}")
        fraction = settings.get("validation") or 0.0
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 <= fraction < 1.0:
            raise UserError(f"--set validation must be a fraction in [0, 1); got {fraction!r}")

    @classmethod
    def has_validation(cls, data) -> bool:
        return "validation_pairs" in data.info

    @classmethod
    def prepare(cls, data, settings, seed: int):
        """The data to train on: ``data``, or with ``validation`` > 0 its training part, the
        held-out validation pairs kept in ``info["validation_pairs"]`` (the test split unchanged)."""
        from tfrec.data.sessions import split_validation

        fraction = settings.get("validation") or 0.0
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

        return session_training_data(
            data, batch_size=settings["batch_size"], seed=seed, first_epoch=first_epoch,
            last_batch=settings.get("last_batch", "partial"), max_len=settings.get("max_len"),
        )

    @classmethod
    def _functions(cls, model):
        """``(context, ranks)``: the model's ``scoring_context`` and ``ranks(items [B, L], targets
        [B], context) -> [B]`` zero-based full ranks, both traced once per model (``ranks`` with
        the first context's signature)."""
        fns = cls._fns.get(model)
        if fns is None:
            context_fn = tf.function(model.scoring_context)
            ranks_of = tf.function(evaluation.full_ranks, jit_compile=True)  # XLA fuses the counting passes

            def ranks(items, targets, context):
                return ranks_of(model.ranking_scores({"session_items": items}, None, context), targets)

            spec = [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32),
                    tf.nest.map_structure(tf.TensorSpec.from_tensor, context_fn())]
            fns = cls._fns[model] = (context_fn, tf.function(ranks, input_signature=spec))
        return fns

    @classmethod
    def evaluate(cls, model, data, settings, split: str = "test") -> dict[str, float]:
        context_fn, rank = cls._functions(model)
        context = context_fn()  # the item graph does not change while evaluating: propagate once
        sequences, next_items = data.info["validation_pairs"] if split == "validation" else (data.test, data.test_targets)
        items, _ = sequences.padded()
        targets = next_items.astype(np.int32) - 1
        batch = cls.eval_rows(data.num_items)
        ranks = np.concatenate([
            rank(items[i : i + batch], targets[i : i + batch], context).numpy() for i in range(0, len(targets), batch)
        ])
        return cls._metrics(ranks)

    @classmethod
    def eval_rows(cls, num_items: int) -> int:
        """Test prefixes ranked per call: ``eval_batch_size``, bounded so that a call scores at
        most ``eval_scores`` entries (at least one row)."""
        return max(1, min(cls.eval_batch_size, cls.eval_scores // max(1, int(num_items))))

    @classmethod
    def _metrics(cls, ranks: np.ndarray) -> dict[str, float]:
        out = evaluation.ranking_metrics(ranks, cls.ks)
        return {f"{name}@{k}": out[f"{name}@{k}"] for k in cls.ks for name in METRICS}

    @classmethod
    def popularity_baseline(cls, data, settings) -> dict[str, float]:
        counts = np.bincount(data.train_targets - 1, minlength=data.num_items).astype(np.float32)
        return cls._metrics(evaluation.ranks_under(counts, data.test_targets.astype(np.int64) - 1))

    @classmethod
    def summarize(cls, history: dict) -> dict:
        """The reference's report: each metric's best value over the epochs' test evaluations
        (and the epoch, 1-based), labelled as such -- it picks epochs on the test set."""
        best = {}
        for key, values in history.items():
            if key.split("@")[0] in METRICS and values:
                epoch = int(np.argmax(values))
                best[key] = float(values[epoch])
                best[f"{key}_epoch"] = epoch + 1
        out = {"best_over_epochs_on_test": best} if best else {}
        chosen = history.get(f"val_{cls.monitor}")
        if chosen:  # the honest report: test metrics at the epoch chosen on the validation split
            epoch = int(np.argmax(chosen))
            out["at_best_validation_epoch"] = {
                "epoch": epoch + 1,
                **{k: float(v[epoch]) for k, v in history.items() if k.split("@")[0] in METRICS},
                **{k: float(v[epoch]) for k, v in history.items() if k.startswith("val_")},
            }
        return out

    @classmethod
    def sizes(cls, data):
        valid = len(data.info["validation_pairs"][1]) if cls.has_validation(data) else 0
        return (f"{data.num_items:,} items, {data.num_train:,} training prefixes, "
                f"{len(data.all_train_seq):,} training sessions", data.num_test, "test prefixes", valid)
