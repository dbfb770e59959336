"""Implicit feedback (GMF, MLP, NeuMF): binary cross-entropy on sampled negatives for training;
leave-one-out sampled ranking (the held-out item against ``N`` negatives per user) for testing.

Metrics (:mod:`tfrec.evaluation`): ``HR@K``, ``NDCG@K``, ``MRR@K`` with ``K`` the ``top_k``
setting (seed 004's ``--top_k 10``).
"""

from __future__ import annotations

import weakref

import numpy as np

from tfrec import _backend  # noqa: F401
import tensorflow as tf

from tfrec import evaluation
from tfrec.data.types import ImplicitFeedback
from tfrec.tasks.base import Task, ranking_split


class ImplicitTask(Task):
    """Implicit feedback, pointwise models: BCE on sampled negatives, leave-one-out sampled
    ranking (1 held-out item + N negatives per user).

    Models provide ``ranking_scores({"user_id": [B]}, candidates [B, C], context) -> [B, C]``
    and ``scoring_context()`` (:class:`tfrec.models.base.Recommender`)."""

    kind = "implicit"
    data_type = ImplicitFeedback
    _fns: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @classmethod
    def training_data(cls, data, settings, seed: int, first_epoch: int = 0):
        from tfrec.data.pipelines import implicit_training_data

        return implicit_training_data(
            data, num_negatives=settings["num_negatives"], batch_size=settings["batch_size"], seed=seed,
            first_epoch=first_epoch,
        )

    @classmethod
    def scorer(cls, model):
        """``(context_fn, score_fn)``: the model's hooks as ``tf.function`` s, traced once per model."""
        fns = cls._fns.get(model)
        if fns is None:
            fns = cls._fns[model] = (tf.function(model.scoring_context),
                                     tf.function(model.ranking_scores, reduce_retracing=True))
        return fns

    @classmethod
    def candidates(cls, data, settings, split: str, candidates: np.ndarray) -> np.ndarray:
        """The ``[T, 1 + N]`` candidates ranked (the split's own, by default)."""
        return candidates

    @classmethod
    def evaluate(cls, model, data, settings, split: str = "test") -> dict[str, float]:
        context_fn, score = cls.scorer(model)
        context = context_fn()  # e.g. a graph model's propagation: once per evaluation
        users, candidates, _ = ranking_split(data, split)
        candidates = cls.candidates(data, settings, split, candidates)
        return evaluation.evaluate_sampled(
            lambda users, items: score({"user_id": users}, items, context), users, candidates,
            ks=(cls.top_k(settings),), batch_size=cls.eval_batch_size,
        )

    @classmethod
    def popularity_baseline(cls, data, settings) -> dict[str, float]:
        scores = data.item_popularity().astype(np.float32)[data.candidates()]
        return evaluation.ranking_metrics(evaluation.sampled_ranks(scores).numpy(), ks=(cls.top_k(settings),))
