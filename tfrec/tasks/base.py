"""The task contract: what a task kind decides, written once for every kind.

A *task* holds the rules of one family of task data (:mod:`tfrec.tasks` lists them). It never
looks inside a model: models provide the hooks of :class:`tfrec.models.base.Recommender`
(``ranking_scores``, ``scoring_context``, ``check_training``, ...), and tasks call only those.

:func:`tfrec.train` walks a task through a run in this order::

    check_settings(settings)             # the task's own settings, once, with the option's name
    data = prepare(data, settings, seed)  # e.g. sessions: hold out a validation split
    check_model(model, data, settings)    # the model's constraints on the settings
    training_data(data, settings, seed)   # the epoch's batches (tfrec.data.pipelines)
    evaluate(model, data, settings)       # metrics, from tfrec.evaluation only
    popularity_baseline(data, settings)   # the same metrics of a most-popular ranking
    summarize(history)                    # extra reports in metrics.json

Tasks are used as classes (their methods are class methods); per-model traced functions are
cached in weak dictionaries so a model is traced once however often it is evaluated.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from tfrec.errors import UserError


class Task:
    """Base of the task kinds: the written contract (see the module docstring).

    Class attributes:
        kind: the task's name (a key of :data:`tfrec.tasks.KINDS`, ``ModelSpec.task``).
        data_type: the task-data class it trains on (:mod:`tfrec.data.types`), or a tuple of them.
        monitor: the metric that picks ``best.keras`` and drives early stopping; ``None``
            means ``HR@{top_k}``.
        eval_batch_size: test rows scored per call.
        ks: the cut-offs reported, or ``None`` for the setting ``top_k``.
    """

    kind: ClassVar[str] = ""
    data_type: ClassVar[type] = object
    monitor: ClassVar[str | None] = None
    eval_batch_size: ClassVar[int] = 1024
    ks: ClassVar[tuple[int, ...] | None] = None

    # ---------------------------------------------------------------------------------------
    # Settings, data and model checks
    # ---------------------------------------------------------------------------------------
    @classmethod
    def check_settings(cls, settings: dict) -> None:
        """Raise a :class:`UserError` naming the ``--set`` option when one of the task's own
        settings is invalid (the shared ones, ``epochs`` / ``lr`` / ..., are checked by
        :mod:`tfrec.training`)."""

    @classmethod
    def check_data(cls, model_name: str, data) -> None:
        """A UserError when ``data`` is not this task's data (e.g. sequences given to a CTR
        model), naming the model, what it takes and what it got."""
        if not isinstance(data, cls.data_type):
            name = getattr(data, "name", None)
            got = f"{type(data).__name__}" + (f" (dataset {name!r})" if name else "")
            types = cls.data_type if isinstance(cls.data_type, tuple) else (cls.data_type,)
            raise UserError(
                f"model {model_name!r} trains on {cls.kind!r} data ({' or '.join(t.__name__ for t in types)}); got {got}; "
                f"tfrec datasets list shows each dataset's task"
            )

    @classmethod
    def prepare(cls, data, settings: dict, seed: int):
        """The data to train and evaluate on (by default ``data`` itself)."""
        return data

    @classmethod
    def check_model(cls, model, data, settings: dict) -> None:
        """The model's own constraints on the settings (:meth:`Recommender.check_training`),
        as a :class:`UserError`."""
        try:
            model.check_training(settings, data)
        except ValueError as error:
            raise UserError(str(error)) from None

    # ---------------------------------------------------------------------------------------
    # Training, evaluation, reports
    # ---------------------------------------------------------------------------------------
    @classmethod
    def training_data(cls, data, settings: dict, seed: int, first_epoch: int = 0):
        """The :class:`tfrec.data.pipelines.TrainingData` ``fit`` consumes (epoch ``e`` draws from
        ``[seed, e]``)."""
        raise NotImplementedError

    @classmethod
    def evaluate(cls, model, data, settings: dict, split: str = "test") -> dict[str, float]:
        """The task's metrics of ``model`` on the ``test`` or ``validation`` split."""
        raise NotImplementedError

    @classmethod
    def popularity_baseline(cls, data, settings: dict) -> dict[str, float]:
        """The metrics of :meth:`evaluate` for a model that ranks by training popularity."""
        raise NotImplementedError

    @classmethod
    def summarize(cls, history: dict) -> dict:
        """Extra entries for ``metrics.json`` from ``{key: [value per epoch]}`` (none by default)."""
        return {}

    @classmethod
    def has_validation(cls, data) -> bool:
        """Whether the task data carries a validation split (the loaders' ``validation`` option)."""
        return getattr(data, "validation", None) is not None

    @classmethod
    def evaluate_splits(cls, model, data, settings: dict) -> dict[str, float]:
        """The test metrics, and with a validation split its metrics too, prefixed ``val_``."""
        out = dict(cls.evaluate(model, data, settings))
        if cls.has_validation(data):
            out.update({f"val_{k}": v for k, v in cls.evaluate(model, data, settings, split="validation").items()})
        return out

    @classmethod
    def selection_monitor(cls, data, settings: dict) -> tuple[str, str]:
        """``(monitor, rule)``: the logged metric that picks ``best.keras`` and drives early
        stopping, and a sentence saying how. With a validation split it is the validation
        metric (a user's own data by default); without one the reference protocol: the test metric."""
        metric = cls.monitor or f"HR@{cls.top_k(settings)}"
        if cls.has_validation(data):
            return f"val_{metric}", f"the epoch with the best validation {metric}"
        return metric, f"the epoch with the best test {metric} (the reference protocol: there is no validation split)"

    @staticmethod
    def top_k(settings: dict) -> int:
        return int(settings.get("top_k", 10))

    @classmethod
    def sizes(cls, data) -> tuple[str, int, str, int]:
        """``(sizes, tested, unit, validated)`` for the data summary :func:`describe` prints."""
        interactions = int(data.train.nnz)
        validated = len(data.validation.users) if cls.has_validation(data) else 0
        return (f"{data.num_users:,} users, {data.num_items:,} items, {interactions:,} training interactions",
                len(data.test_users), "test users", validated)

    @classmethod
    def describe(cls, data, provenance: dict | None = None) -> str:
        """A few lines saying what is trained and tested on: sizes, split rule and source
        (printed at the start of training), with a warning when the test split is too small."""
        info = getattr(data, "info", {}) or {}
        where = (provenance or {}).get("path") or info.get("source") or "generated"
        split = info.get("split") or info.get("recipe") or "see tfrec datasets info"
        sizes, tested, unit, valid = cls.sizes(data)
        lines = [
            f"data: {data.name} ({where}): {sizes}",
            f"  test: {tested:,} {unit}; validation: {f'{valid:,}' if valid else 'none'}; split: {split}",
        ]
        if tested < 100:
            lines.append(
                f"  warning: only {tested} {unit}: test metrics will be noisy; check the split options "
                f"(tfrec datasets info {data.name})"
            )
        return "\n".join(lines)


def ranking_split(data, split: str = "test") -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(users [T], candidates [T, 1 + N] (held-out item first), histories [T, L] or None)`` of
    the ``test`` or ``validation`` split of sampled-ranking task data."""
    if split == "test":
        return data.test_users, data.candidates(), getattr(data, "test_histories", None)
    if split != "validation" or getattr(data, "validation", None) is None:
        raise ValueError(f"{data.name}: no {split!r} split")
    held = data.validation
    return held.users, held.candidates(), held.histories
