"""Click-through-rate data (seed 003's CTR models): binary cross-entropy on labelled rows;
AUC, log loss, accuracy, precision and recall over the whole test set (batched predictions,
exact AUC, :func:`tfrec.evaluation.ctr_metrics`). The popularity baseline scores each test row
with its item's smoothed training click rate (the overall click rate without an item field).
"""

from __future__ import annotations

import weakref

import numpy as np

from tfrec import _backend  # noqa: F401
import tensorflow as tf

from tfrec import evaluation
from tfrec.data.types import ClickLogData, CTRData
from tfrec.tasks.base import Task


class CTRTask(Task):
    """CTR data: models are called on ``{field: [B] / [B, M]}`` features and return ``[B]``
    click probabilities, with ``input_signature()`` the features' specs
    (:class:`tfrec.models.ctr.CTRModel`)."""

    kind = "ctr"
    data_type = (CTRData, ClickLogData)  # in memory, or a click log streamed from its shards
    monitor = "AUC"
    eval_batch_size = 16384
    _predict_fns: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @classmethod
    def training_data(cls, data, settings, seed: int, first_epoch: int = 0):
        from tfrec.data.pipelines import clicklog_training_data, ctr_training_data

        if isinstance(data, ClickLogData):
            return clicklog_training_data(data, batch_size=settings["batch_size"], seed=seed, first_epoch=first_epoch)
        return ctr_training_data(data, batch_size=settings["batch_size"], seed=seed, first_epoch=first_epoch)

    @classmethod
    def _predict_fn(cls, model):
        fn = cls._predict_fns.get(model)
        if fn is None:  # traced once per model: one input signature for every batch size
            fn = cls._predict_fns[model] = tf.function(lambda f: model(f, training=False), input_signature=[model.input_signature()])
        return fn

    @classmethod
    def predict(cls, model, features: dict, batch_size: int | None = None) -> np.ndarray:
        """``[T]`` click probabilities of ``features`` (``{field: [T] / [T, M]}``), batched."""
        batch_size = batch_size or cls.eval_batch_size
        fn = cls._predict_fn(model)
        signature = model.input_signature()
        names = list(signature)
        total = len(features[names[0]])
        out = [
            fn({k: np.asarray(features[k][start : start + batch_size], dtype=signature[k].dtype.as_numpy_dtype)
                for k in names}).numpy()
            for start in range(0, total, batch_size)
        ]
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    @classmethod
    def predict_split(cls, model, data: ClickLogData, split: str) -> tuple[np.ndarray, np.ndarray]:
        """``(labels [T], click probabilities [T])`` of a click log's split, streamed from its
        shards in file order (memory: two floats per row)."""
        fn = cls._predict_fn(model)
        labels, scores = [], []
        for features, y in data.shards.dataset(split, cls.eval_batch_size).prefetch(2):
            labels.append(y.numpy())
            scores.append(fn(features).numpy())
        if not labels:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        return np.concatenate(labels), np.concatenate(scores)

    @classmethod
    def has_validation(cls, data) -> bool:
        if isinstance(data, ClickLogData):
            return data.has_validation
        return super().has_validation(data)

    @classmethod
    def evaluate(cls, model, data, settings, split: str = "test") -> dict[str, float]:
        if isinstance(data, ClickLogData):
            return evaluation.ctr_metrics(*cls.predict_split(model, data, split))
        if split == "validation":
            return evaluation.ctr_metrics(data.validation.labels, cls.predict(model, data.validation.features))
        return evaluation.ctr_metrics(data.test_labels, cls.predict(model, data.test_features))

    @classmethod
    def popularity_baseline(cls, data, settings) -> dict[str, float]:
        if isinstance(data, ClickLogData):  # the training click rate for every row
            labels = np.concatenate([y.numpy() for _, y in data.shards.dataset("test", cls.eval_batch_size)])
            return evaluation.ctr_metrics(labels, np.full(len(labels), data.train_click_rate))
        if "item_id" in data.test_features:
            scores = data.item_click_rate()[data.test_features["item_id"]]
        else:
            scores = np.full(data.num_test, float(data.train_labels.mean()))
        return evaluation.ctr_metrics(data.test_labels, scores)

    @classmethod
    def sizes(cls, data):
        if isinstance(data, ClickLogData):
            return (f"{data.num_train:,} training rows ({data.train_click_rate:.1%} clicks, streamed from "
                    f"{data.info['shards']}), fields {', '.join(data.field_names)}", data.num_test, "test rows",
                    data.num_validation)
        click_rate = float(data.train_labels.mean()) if data.num_train else 0.0
        validated = len(data.validation.labels) if cls.has_validation(data) else 0
        return (f"{data.num_train:,} training rows ({click_rate:.1%} clicks), fields {', '.join(data.field_names)}",
                data.num_test, "test rows", validated)
