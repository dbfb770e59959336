"""Next-item sequences (AttRec, seed 001): ``(user, history, next item, negative)`` examples for
training; each test user's next item against its sampled negatives, scored with its history.

Metrics: ``HR@K``, ``NDCG@K``, ``MRR@K`` and seed 001's ``MRR`` (the mean reciprocal rank over
all candidates, no cut-off), all from :mod:`tfrec.evaluation`.
"""

from __future__ import annotations

import numpy as np

from tfrec import _backend  # noqa: F401
import tensorflow as tf

from tfrec import evaluation
from tfrec.data.types import SequenceData
from tfrec.tasks.base import ranking_split
from tfrec.tasks.implicit import ImplicitTask


class SequenceTask(ImplicitTask):
    """Next-item sequences: models provide ``ranking_scores({"user_id": [B], "history": [B, L]},
    candidates [B, C], context) -> [B, C]``."""

    kind = "sequences"
    data_type = SequenceData

    @classmethod
    def training_data(cls, data, settings, seed: int, first_epoch: int = 0):
        from tfrec.data.pipelines import sequence_training_data

        return sequence_training_data(
            data, batch_size=settings["batch_size"], seed=seed, first_epoch=first_epoch,
            resample_negatives=bool(settings.get("resample_negatives", False)),
        )

    @classmethod
    def evaluate(cls, model, data, settings, split: str = "test") -> dict[str, float]:
        context_fn, score = cls.scorer(model)
        context = context_fn()
        split_users, candidates, split_histories = ranking_split(data, split)
        users = tf.constant(split_users)
        histories = tf.constant(split_histories)

        def score_rows(rows, items):  # sampled_ranks_of passes row numbers as the "users"
            inputs = {"user_id": tf.gather(users, rows), "history": tf.gather(histories, rows)}
            return score(inputs, items, context)

        rows = np.arange(len(split_users), dtype=np.int32)
        ranks = evaluation.sampled_ranks_of(score_rows, rows, candidates, batch_size=cls.eval_batch_size)
        return cls._metrics(ranks, settings)

    @classmethod
    def popularity_baseline(cls, data, settings) -> dict[str, float]:
        scores = data.item_popularity().astype(np.float32)[data.candidates()]
        return cls._metrics(evaluation.sampled_ranks(scores).numpy(), settings)

    @classmethod
    def _metrics(cls, ranks: np.ndarray, settings) -> dict[str, float]:
        return {**evaluation.ranking_metrics(ranks, ks=(cls.top_k(settings),)), "MRR": evaluation.mean_reciprocal_rank(ranks)}

    @classmethod
    def sizes(cls, data):
        validated = len(data.validation.users) if cls.has_validation(data) else 0
        return (f"{data.num_users:,} users, {data.num_items:,} items, {data.num_train:,} training examples",
                len(data.test_users), "test users", validated)
