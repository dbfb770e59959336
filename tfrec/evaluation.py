"""Evaluation: ranking and CTR metrics, batched and vectorised on TensorFlow.

One module, used by every model. Three protocols:

* **Sampled ranking** (NCF, MB-GMN, AttRec): each test user has one positive and ``N`` sampled
  negatives; the model scores the ``1 + N`` candidates and the metrics depend only on the
  *rank* of the positive among them.
* **Full ranking** (COTREC and any "score every item" evaluation): the target is ranked against
  the whole catalogue. The rank is obtained by *counting* the items scored above the target, a
  single vectorised comparison per row; nothing is sorted.
* **CTR** (FM, DeepFM, ...): AUC, log loss, accuracy, precision and recall of probabilities
  against binary labels.

Ranks are zero-based: rank 0 means the positive is scored first.

**Ties are broken pessimistically**: a candidate whose score *equals* the positive's score counts
as ranked above it. A model that scores everything the same therefore gets HR@K = 0 rather than
a lucky 1, and constant or collapsed models can never look good. (The references use
``torch.topk`` / ``heapq.nlargest``, whose tie order is an implementation detail.)

Metric definitions, for one positive at zero-based rank ``r``:

* ``HR@K``  = 1 if r < K else 0 (hit ratio; equals Recall@K with one relevant item)
* ``NDCG@K`` = 1 / log2(r + 2) if r < K else 0 (log base 2, as NCF; AttRec's reference uses the
  natural log, see ``tfrec.models.attrec``)
* ``MRR@K`` = 1 / (r + 1) if r < K else 0
* ``MRR`` (no cut-off) = 1 / (r + 1) over all candidates (AttRec's seed 001)

There is no ``P@K``: the precision of a K-item list holding one relevant item would be HR@K / K,
and the COTREC paper's "P@K" is the hit rate, reported here as ``HR@K`` (see
:mod:`tfrec.tasks.sessions`).

Each is averaged over test rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tfrec import _backend  # noqa: F401  (pins the TensorFlow backend)
import tensorflow as tf

ScoreFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
"""``score_fn(user_ids [B], item_ids [B, C]) -> scores [B, C]``; larger means more relevant."""


# --------------------------------------------------------------------------------------------
# Ranks
# --------------------------------------------------------------------------------------------
@tf.function(reduce_retracing=True)
def sampled_ranks(scores: tf.Tensor, candidates: tf.Tensor | None = None) -> tf.Tensor:
    """Zero-based rank of the positive among sampled candidates.

    Args:
        scores: ``[B, 1 + N]`` float scores; column 0 is the positive, the rest negatives.
        candidates: optional ``[B, 1 + N]`` item ids the scores belong to. A "negative" that is
            the positive item itself is then not counted against it: the NCF paper's
            ``ml-1m.test.negative`` lists the held-out item among the negatives for 156 users,
            and NCF's own evaluation (a dict keyed by item) counts such an item once.

    Returns:
        ``[B]`` int32: how many negatives score **greater than or equal to** the positive
        (ties pessimistic).
    """
    scores = tf.convert_to_tensor(scores)
    beats = scores[:, 1:] >= scores[:, :1]
    if candidates is not None:
        candidates = tf.convert_to_tensor(candidates)
        beats = tf.logical_and(beats, tf.not_equal(candidates[:, 1:], candidates[:, :1]))
    return tf.reduce_sum(tf.cast(beats, tf.int32), axis=1)


@tf.function(reduce_retracing=True)
def full_ranks(scores: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Zero-based rank of each target item among all items, by counting (no sort).

    Args:
        scores: ``[B, num_items]`` float scores of every item.
        targets: ``[B]`` int target item per row.

    Returns:
        ``[B]`` int32: the number of other items scoring **greater than or equal
        to** the target (ties pessimistic).
    """
    scores = tf.convert_to_tensor(scores)
    targets = tf.cast(targets, tf.int32)
    target_scores = tf.gather(scores, targets, axis=1, batch_dims=1)[:, None]
    competing = scores >= target_scores
    is_target = tf.one_hot(targets, tf.shape(scores)[1], on_value=True, off_value=False)
    competing = tf.logical_and(competing, tf.logical_not(is_target))
    return tf.reduce_sum(tf.cast(competing, tf.int32), axis=1)


# --------------------------------------------------------------------------------------------
# Metrics from ranks
# --------------------------------------------------------------------------------------------
def ranking_metrics(ranks: np.ndarray, ks: Sequence[int] = (10,)) -> dict[str, float]:
    """HR@K, NDCG@K and MRR@K averaged over rows, from zero-based ranks.

    Args:
        ranks: ``[T]`` zero-based ranks of the positive (from :func:`sampled_ranks` or
            :func:`full_ranks`).
        ks: cut-offs.

    Returns:
        ``{"HR@10": ..., "NDCG@10": ..., "MRR@10": ...}`` as Python floats.
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        raise ValueError("ranking_metrics needs at least one test row; got none")
    out: dict[str, float] = {}
    for k in ks:
        hit = ranks < k
        out[f"HR@{k}"] = float(hit.mean())
        out[f"NDCG@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean())
        out[f"MRR@{k}"] = float(np.where(hit, 1.0 / (ranks + 1.0), 0.0).mean())
    return out


def mean_reciprocal_rank(ranks: np.ndarray) -> float:
    """``MRR`` without a cut-off: the mean of ``1 / (r + 1)`` over rows (seed 001's AttRec
    ``MRR``, over all of a row's candidates)."""
    return float(np.mean(1.0 / (np.asarray(ranks, dtype=np.float64) + 1.0)))


def ranks_under(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``[T]`` zero-based pessimistic full ranks of ``targets`` when every row has the same
    ``[num_items]`` score vector ``scores`` (a popularity ranking): :func:`full_ranks` of one
    score row, by binary search."""
    order = np.sort(scores)
    return (scores.size - np.searchsorted(order, scores[targets], side="left") - 1).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Batched drivers
# --------------------------------------------------------------------------------------------
def evaluate_sampled(
    score_fn: ScoreFn,
    users: np.ndarray,
    candidates: np.ndarray,
    ks: Sequence[int] = (10,),
    batch_size: int = 1024,
) -> dict[str, float]:
    """Sampled-ranking metrics of a model over a whole test set.

    Args:
        score_fn: ``score_fn(user_ids [B], item_ids [B, C]) -> [B, C]`` scores.
        users: ``[T]`` test user ids.
        candidates: ``[T, 1 + N]`` candidate items per user; column 0 is the positive.
        ks: cut-offs for HR / NDCG / MRR.
        batch_size: users scored per call (``batch_size * (1 + N)`` pairs).

    Returns:
        Metric dict, see :func:`ranking_metrics`.
    """
    users = np.asarray(users)
    candidates = np.asarray(candidates)
    if candidates.ndim != 2 or len(users) != len(candidates):
        raise ValueError(
            f"candidates must be [T, 1 + N] with T = len(users) = {len(users)}; got {candidates.shape}"
        )
    return ranking_metrics(sampled_ranks_of(score_fn, users, candidates, batch_size=batch_size), ks)


def sampled_ranks_of(score_fn: ScoreFn, users: np.ndarray, candidates: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """``[T]`` zero-based ranks of column 0 of ``candidates`` (see :func:`evaluate_sampled`)."""
    users = np.asarray(users)
    candidates = np.asarray(candidates)
    ranks = [
        sampled_ranks(
            score_fn(tf.constant(users[i : i + batch_size]), tf.constant(candidates[i : i + batch_size])),
            candidates[i : i + batch_size],
        ).numpy()
        for i in range(0, len(users), batch_size)
    ]
    return np.concatenate(ranks)


def full_ranks_chunked(
    score_fn: ScoreFn,
    users: np.ndarray,
    targets: np.ndarray,
    num_items: int,
    exclude=None,
    pairs_per_call: int = 1 << 14,
) -> np.ndarray:
    """``[T]`` zero-based full ranks of ``targets`` (:func:`full_ranks`' rule: other items scored
    ``>=`` the target count against it), computed over item chunks: each ``score_fn`` call
    scores at most ``pairs_per_call`` (user, item) pairs, so memory beyond the model does not
    grow with the catalogue.

    Args:
        score_fn: ``score_fn(user_ids [B], item_ids [B, C]) -> [B, C]``.
        users, targets: ``[T]`` test users and their held-out items.
        num_items: the catalogue size.
        exclude: optional ``[num_users, num_items]`` scipy CSR of items not ranked for a user
            (its training interactions, the usual "full ranking" protocol); never the target.
        pairs_per_call: the bound on scored pairs per call.
    """
    users, targets = np.asarray(users, np.int32), np.asarray(targets, np.int32)
    chunk = max(1, min(num_items, pairs_per_call))
    rows = max(1, pairs_per_call // chunk)
    ranks = np.zeros(len(users), np.int64)
    for i in range(0, len(users), rows):
        batch, target = users[i : i + rows], targets[i : i + rows]
        target_scores = np.asarray(score_fn(tf.constant(batch), tf.constant(target[:, None])))[:, :1]
        excluded = exclude[batch] if exclude is not None else None
        for start in range(0, num_items, chunk):
            items = np.arange(start, min(start + chunk, num_items), dtype=np.int32)
            grid = np.broadcast_to(items, (len(batch), len(items)))
            beats = np.asarray(score_fn(tf.constant(batch), tf.constant(grid))) >= target_scores
            beats &= grid != target[:, None]
            if excluded is not None:
                beats &= excluded[:, start : start + len(items)].toarray() == 0
            ranks[i : i + rows] += beats.sum(axis=1)
    return ranks


# --------------------------------------------------------------------------------------------
# CTR metrics
# --------------------------------------------------------------------------------------------
def auc(labels: tf.Tensor, scores: tf.Tensor) -> tf.Tensor:
    """Exact ROC AUC (Mann-Whitney U), ties between scores counted as one half.

    Unlike ``keras.metrics.AUC`` (a thresholded approximation) this is exact: it ranks all
    scores once (average ranks within ties) and applies
    ``AUC = (sum of positive ranks - P (P + 1) / 2) / (P * N)``.

    Args:
        labels: ``[T]`` binary labels.
        scores: ``[T]`` scores or probabilities.

    Returns:
        Scalar float64 AUC; NaN when only one class is present.
    """
    labels = tf.cast(tf.reshape(labels, [-1]), tf.float64)
    scores = tf.cast(tf.reshape(scores, [-1]), tf.float64)
    order = tf.argsort(scores, stable=True)
    sorted_scores = tf.gather(scores, order)
    # Average 1-based rank of each group of tied scores.
    _, group = tf.unique(sorted_scores)
    positions = tf.cast(tf.range(1, tf.size(scores) + 1), tf.float64)
    num_groups = tf.reduce_max(group) + 1
    mean_rank = tf.math.unsorted_segment_mean(positions, group, num_groups)
    ranks_sorted = tf.gather(mean_rank, group)
    ranks = tf.scatter_nd(order[:, None], ranks_sorted, tf.shape(scores, out_type=tf.int32))
    num_pos = tf.reduce_sum(labels)
    num_neg = tf.cast(tf.size(labels), tf.float64) - num_pos
    u = tf.reduce_sum(ranks * labels) - num_pos * (num_pos + 1.0) / 2.0
    return u / (num_pos * num_neg)


def ctr_metrics(labels: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """AUC, log loss, accuracy, precision and recall of click probabilities.

    Args:
        labels: ``[T]`` binary labels.
        probabilities: ``[T]`` predicted click probabilities in [0, 1].
        threshold: probability at or above which a prediction counts as a click.

    Returns:
        ``{"AUC", "LogLoss", "Accuracy", "Precision", "Recall"}`` as floats; log loss clips
        probabilities to ``[1e-7, 1 - 1e-7]`` (Keras' epsilon); precision is 0 when nothing is
        predicted positive.
    """
    y = tf.cast(tf.reshape(labels, [-1]), tf.float64)
    p = tf.cast(tf.reshape(probabilities, [-1]), tf.float64)
    eps = 1e-7
    pc = tf.clip_by_value(p, eps, 1.0 - eps)
    logloss = -tf.reduce_mean(y * tf.math.log(pc) + (1.0 - y) * tf.math.log(1.0 - pc))
    predicted = tf.cast(p >= threshold, tf.float64)
    tp = tf.reduce_sum(predicted * y)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(predicted, y), tf.float64))
    precision = tf.math.divide_no_nan(tp, tf.reduce_sum(predicted))
    recall = tf.math.divide_no_nan(tp, tf.reduce_sum(y))
    return {
        "AUC": float(auc(y, p)),
        "LogLoss": float(logloss),
        "Accuracy": float(accuracy),
        "Precision": float(precision),
        "Recall": float(recall),
    }
