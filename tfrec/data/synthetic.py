"""Every synthetic dataset: generated task data with planted structure, the offline defaults.

Each generator is deterministic given ``seed`` (every draw comes from a numpy generator seeded
from it), needs no download and takes no ``--data-dir``; each goes through the protocol of the
real data it stands in for (:mod:`tfrec.data.splits`):

* :func:`load_synthetic` (``synthetic``, implicit feedback, NCF) -- planted latent factors;
* :func:`load_synthetic_mb` (``synthetic-mb``, MB-GMN) -- nested behaviors view >= cart >= buy;
* :func:`load_synthetic_sequences` (``synthetic-seq``, AttRec) -- walks on a circle of items;
* :func:`synthetic_sessions` (``synthetic-sessions``, COTREC) -- a planted item-transition chain;
* :func:`make_synthetic_ctr` / :func:`load_synthetic_ctr` (``synthetic-ctr``, CTR models) --
  clicks from latent tastes, popularity and a group x genre affinity.

The implicit-feedback data: users and items get random latent factors (:func:`planted_affinity`);
an item's appeal to a user is

    affinity[u, i] = sharpness * <p_u, q_i> / sqrt(latent_dim) + popularity_weight * b_i

with ``b_i ~ N(0, 1)`` a popularity term. Each user interacts with ``interactions_per_user``
distinct items drawn without replacement with probabilities ``softmax(affinity[u])`` (the
Gumbel-top-k trick, vectorised over all users), in random order; the last one is the test item
(through :func:`tfrec.data.splits.leave_latest_out`, so the protocol is exactly ML-1M's).

Because the interactions depend mostly on the latent factors, a model that learns them ranks
the held-out item far better than item popularity; ``tests/data/test_synthetic.py`` checks
that the planted affinity itself beats popularity by a wide margin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrec.data.files import check_flag, check_fraction
from tfrec.data.sampling import held_out_negatives, pair_matrix
from tfrec.data.splits import build_sequences, leave_latest_out, prefix_pairs, stratified_split, validation_rule
from tfrec.data.types import (
    CTRData,
    CTRField,
    ImplicitFeedback,
    MultiBehavior,
    RankingSplit,
    SequenceData,
    SessionData,
    SessionSequences,
)
from tfrec.errors import DataError, UserError


# --------------------------------------------------------------------------------------------
# Implicit feedback
# --------------------------------------------------------------------------------------------
def planted_affinity(seed: int, num_users: int, num_items: int, latent_dim: int, sharpness: float, popularity_weight: float) -> np.ndarray:
    """The ``[num_users, num_items]`` affinity the interactions are drawn from (the "oracle")."""
    rng = np.random.default_rng([seed, 1])
    users = rng.normal(size=(num_users, latent_dim))
    items = rng.normal(size=(num_items, latent_dim))
    popularity = rng.normal(size=num_items)
    return sharpness * users @ items.T / np.sqrt(latent_dim) + popularity_weight * popularity


def load_synthetic(
    path: Path | None = None,
    *,
    seed: int = 0,
    num_users: int = 1000,
    num_items: int = 500,
    latent_dim: int = 8,
    interactions_per_user: int = 30,
    sharpness: float = 2.0,
    popularity_weight: float = 1.0,
    num_test_negatives: int = 99,
    validation: bool = False,
) -> ImplicitFeedback:
    """Generate the dataset (deterministic given ``seed``); ``path`` is ignored.

    Args:
        seed: seeds the planted factors, the interactions and the test negatives.
        num_users, num_items: catalogue size.
        latent_dim: size of the planted factors.
        interactions_per_user: distinct items per user (one becomes the test item).
        sharpness: scale of the latent term; larger makes users more predictable.
        popularity_weight: scale of the item-popularity term.
        num_test_negatives: sampled test negatives per user.
        validation: also hold out each user's second-latest item as a validation split
            (default off: the arrays are those of earlier versions for the same seed).
    """
    validation = check_flag(validation, "validation")
    if interactions_per_user < 2 or interactions_per_user + num_test_negatives > num_items:
        raise UserError(
            "synthetic data needs 2 <= interactions_per_user and interactions_per_user + num_test_negatives <= "
            f"num_items; got {interactions_per_user}, {num_test_negatives}, {num_items}"
        )
    affinity = planted_affinity(seed, num_users, num_items, latent_dim, sharpness, popularity_weight)
    rng = np.random.default_rng([seed, 2])
    gumbel = affinity + rng.gumbel(size=affinity.shape)
    chosen = np.argpartition(-gumbel, interactions_per_user - 1, axis=1)[:, :interactions_per_user]
    timestamps = rng.permuted(np.tile(np.arange(interactions_per_user), (num_users, 1)), axis=1)
    frame = pd.DataFrame(
        {
            "user": np.repeat(np.arange(num_users), interactions_per_user),
            "item": chosen.ravel(),
            "rating": np.ones(chosen.size),
            "timestamp": timestamps.ravel(),
        }
    )
    frame.attrs["source"] = "synthetic"
    return leave_latest_out(
        frame, name="synthetic", seed=seed, num_test_negatives=num_test_negatives, shape=(num_users, num_items),
        validation=validation,
    )


# --------------------------------------------------------------------------------------------
# Multi-behavior
# --------------------------------------------------------------------------------------------
def load_synthetic_mb(
    path: Path | None = None,
    *,
    seed: int = 0,
    num_users: int = 3000,
    num_items: int = 800,
    views_per_user: int = 20,
    carts_per_user: int = 8,
    buys_per_user: int = 4,
    latent_dim: int = 8,
    sharpness: float = 2.0,
    num_test_negatives: int = 99,
    validation: bool = False,
) -> MultiBehavior:
    """Nested synthetic behaviors ``pv >= cart >= buy`` with planted latent structure.

    Each user views ``views_per_user`` items drawn by ``softmax(affinity)`` (Gumbel-top-k),
    carts the ``carts_per_user`` viewed items of highest (noisy) affinity and buys the
    ``buys_per_user`` carted ones of highest affinity; one random buy per user is held out.
    ``validation`` (default off) holds out a second random buy per user as the validation
    split (drawn from its own generator, so the test buys stay the same; needs 3 buys per user).
    """
    validation = check_flag(validation, "validation")
    if validation and buys_per_user < 3:
        raise DataError(f"synthetic-mb: validation needs buys_per_user >= 3 (one test, one validation, one to train); got {buys_per_user}")

    affinity = planted_affinity(seed, num_users, num_items, latent_dim, sharpness, 1.0)
    rng = np.random.default_rng([seed, 3])
    views = np.argpartition(-(affinity + rng.gumbel(size=affinity.shape)), views_per_user - 1, axis=1)[:, :views_per_user]
    noisy = np.take_along_axis(affinity, views, axis=1) + rng.gumbel(size=views.shape)
    carts = np.take_along_axis(views, np.argsort(-noisy, axis=1)[:, :carts_per_user], axis=1)
    buys = carts[:, :buys_per_user]  # carts are sorted by noisy affinity: the best ones are bought
    held_at = rng.integers(0, buys_per_user, num_users)
    test_items = buys[np.arange(num_users), held_at]

    def matrix(items):
        rows = np.repeat(np.arange(num_users), items.shape[1])
        return sp.csr_matrix((np.ones(rows.size, np.float32), (rows, items.ravel())), shape=(num_users, num_items))

    buy = matrix(buys)
    buy[np.arange(num_users), test_items] = 0
    test_users = np.arange(num_users, dtype=np.int64)
    held = None
    if validation:  # another of the user's buys, from a generator of its own
        other = (held_at + np.random.default_rng([seed, 4]).integers(1, buys_per_user, num_users)) % buys_per_user
        held = (test_users, buys[np.arange(num_users), other].astype(np.int64))
        buy = (buy - buy.multiply(pair_matrix(*held, buy.shape))).tocsr()
    buy.eliminate_zeros()
    negatives, val_negatives = held_out_negatives(
        buy, (test_users, test_items), held, num_test_negatives, np.random.default_rng(seed)
    )
    return MultiBehavior(
        name="synthetic-mb",
        num_users=num_users,
        num_items=num_items,
        behaviors=("pv", "cart", "buy"),
        matrices=(matrix(views), matrix(carts), buy.tocsr()),
        test_users=test_users,
        test_items=test_items.astype(np.int64),
        test_negatives=negatives,
        info={"source": "synthetic", "seed": seed,
              "split": "one random buy per user held out" + (", a second one as validation" if validation else "")},
        validation=RankingSplit(*held, val_negatives) if validation else None,
    )


# --------------------------------------------------------------------------------------------
# Sequences
# --------------------------------------------------------------------------------------------
def load_synthetic_sequences(
    path=None,
    *,
    seed: int = 0,
    maxlen: int = 5,
    num_test_negatives: int = 101,
    num_users: int = 800,
    num_items: int = 500,
    length: int = 30,
    follow: float = 0.6,
    validation: bool = False,
) -> SequenceData:
    """Synthetic sequences with a short-term (previous item) and a long-term (user taste) signal.

    Items sit on a circle; each user has a favourite region. The next item is, with probability
    ``follow``, one of the 3 items after the previous one on the circle (short-term structure a
    self-attention model can learn), else drawn from the user's region (long-term taste).
    Generated offline, vectorised over users; the offline default for AttRec. ``validation`` adds the
    validation ranking split (default off).
    """
    validation = check_flag(validation, "validation")
    if path is not None:
        raise DataError("synthetic-seq is generated; it takes no --data-dir")
    rng = np.random.default_rng([seed, 1729])
    centre = rng.integers(0, num_items, num_users)
    seq = np.empty((num_users, length), np.int64)
    seq[:, 0] = (centre + rng.integers(-20, 21, num_users)) % num_items
    for t in range(1, length):  # a loop over time steps only (30), vectorised over users
        step = (seq[:, t - 1] + rng.integers(1, 4, num_users)) % num_items
        taste = (centre + rng.integers(-20, 21, num_users)) % num_items
        seq[:, t] = np.where(rng.random(num_users) < follow, step, taste)
    users = np.repeat(np.arange(num_users), length)
    times = np.tile(np.arange(length), num_users)
    data = build_sequences(users, seq.ravel(), times, maxlen=maxlen, seed=seed, num_test_negatives=num_test_negatives,
                           name="synthetic-seq", info={"source": "synthetic", "generator": "circle walk", "follow": follow},
                           validation=validation)
    return data


# --------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------
def synthetic_sessions(
    path: Path | None = None,
    *,
    seed: int = 0,
    num_items: int = 200,
    num_train_sessions: int = 800,
    num_test_sessions: int = 200,
    min_length: int = 2,
    max_length: int = 8,
    successors: int = 3,
    noise: float = 0.1,
) -> SessionData:
    """Session-based data from a planted item-transition structure (the offline COTREC default).

    Every item ``i`` gets ``successors`` fixed next items drawn at random; a session starts at
    a random item and then, at each click, moves to one of the current item's successors
    (uniformly) or, with probability ``noise``, to any item. Session lengths are uniform in
    ``[min_length, max_length]``. Training and test sessions come from the same chain, so a model
    of the transitions predicts the next item far better than popularity. Both parts are
    prefix-augmented like COTREC's files (:func:`tfrec.data.splits.prefix_pairs`); items are
    ``1 .. num_items``. Vectorised over sessions; deterministic given ``seed``; ``path`` is ignored.
    """
    if num_items < 2 or successors < 1 or not 2 <= min_length <= max_length or not 0.0 <= noise <= 1.0:
        raise UserError(
            "synthetic sessions need num_items >= 2, successors >= 1, 2 <= min_length <= max_length and "
            f"0 <= noise <= 1; got {num_items}, {successors}, {min_length}, {max_length}, {noise}"
        )
    rng = np.random.default_rng([seed, 3])
    chain = rng.integers(0, num_items, size=(num_items, successors))

    def sessions(count: int) -> SessionSequences:
        lengths = rng.integers(min_length, max_length + 1, size=count)
        walk = np.zeros((count, max_length), dtype=np.int64)
        walk[:, 0] = rng.integers(0, num_items, size=count)
        for t in range(1, max_length):  # one step for all sessions at once
            follow = chain[walk[:, t - 1], rng.integers(0, successors, size=count)]
            jump = rng.integers(0, num_items, size=count)
            walk[:, t] = np.where(rng.random(count) < noise, jump, follow)
        keep = np.arange(max_length)[None, :] < lengths[:, None]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return SessionSequences((walk[keep] + 1).astype(np.int32), offsets)

    train_sessions, test_sessions = sessions(num_train_sessions), sessions(num_test_sessions)
    train, train_targets = prefix_pairs(train_sessions)
    test, test_targets = prefix_pairs(test_sessions)
    return SessionData(
        name="synthetic-sessions",
        num_items=num_items,
        train=train,
        train_targets=train_targets,
        test=test,
        test_targets=test_targets,
        all_train_seq=train_sessions,
        info={"source": "synthetic", "successors": successors, "noise": noise,
              "split": "separately generated test sessions", "num_train": len(train), "num_test": len(test)},
    )


# --------------------------------------------------------------------------------------------
# CTR
# --------------------------------------------------------------------------------------------
def make_synthetic_ctr(
    *,
    seed: int = 0,
    num_users: int = 300,
    num_items: int = 200,
    rows_per_user: int = 40,
    num_groups: int = 3,
    num_genres: int = 6,
    max_genres: int = 3,
    side_features: bool = True,
    test_size: float = 0.15,
    validation: float = 0.0,
) -> CTRData:
    """Generated clicks with planted structure that an interaction model must learn.

    Each user has a latent taste ``p_u`` (4 dims) and a group ``g_u``; each item a latent
    ``q_i``, a popularity bias ``b_i`` and 1..``max_genres`` genres. A shown (user, item) pair is
    clicked with probability ``sigmoid(2 <p_u, q_i> + b_i + A[g_u, genres_i].mean())``, where
    ``A`` is a random group x genre affinity. The item's click rate (the baseline) captures
    ``b_i`` only; the user-item and group-genre terms need feature interactions.

    Fields: ``user_id``, ``item_id`` and, with ``side_features``, ``group`` (single-hot) and
    ``genres`` (multi-hot, ``-1``-padded). ``validation`` holds out that fraction of each user's
    training rows (default 0: none).
    """
    rng = np.random.default_rng([seed, 3003])
    p = rng.normal(size=(num_users, 4)) / 2.0
    q = rng.normal(size=(num_items, 4)) / 2.0
    bias = rng.normal(scale=1.0, size=num_items)
    groups = rng.integers(0, num_groups, size=num_users)
    affinity = rng.normal(scale=1.5, size=(num_groups, num_genres))
    counts = rng.integers(1, max_genres + 1, size=num_items)
    genre_keys = rng.random((num_items, num_genres)).argsort(axis=1)[:, :max_genres]
    genres = np.where(np.arange(max_genres)[None, :] < counts[:, None], genre_keys, -1).astype(np.int32)
    users = np.repeat(np.arange(num_users), rows_per_user)
    items = rng.integers(0, num_items, size=len(users))
    mask = genres[items] >= 0
    genre_term = (affinity[groups[users][:, None], np.maximum(genres[items], 0)] * mask).sum(1) / mask.sum(1)
    logit = 2.0 * (p[users] * q[items]).sum(1) + bias[items] + genre_term
    labels = (rng.random(len(users)) < 1.0 / (1.0 + np.exp(-logit))).astype(np.float32)
    features = {"user_id": users.astype(np.int32), "item_id": items.astype(np.int32)}
    fields = [CTRField("user_id", num_users), CTRField("item_id", num_items)]
    if side_features:
        features["group"] = groups[users].astype(np.int32)
        features["genres"] = genres[items]
        fields += [CTRField("group", num_groups), CTRField("genres", num_genres, multi_hot=True)]
    train_f, train_y, test_f, test_y, held = stratified_split(features, labels, users, test_size, rng, validation)
    split = f"random {test_size:g} of each user's rows" + validation_rule(validation, held, "each user's")
    return CTRData(
        name="synthetic-ctr",
        fields=tuple(fields),
        train_features=train_f,
        train_labels=train_y,
        test_features=test_f,
        test_labels=test_y,
        info={"source": "synthetic", "generator": "tfrec.data.synthetic.make_synthetic_ctr", "seed": seed,
              "side_features": side_features, "split": split},
        validation=held,
    )


def load_synthetic_ctr(
    path: Path | None = None, *, seed: int = 0, side_features: bool = True, test_size: float = 0.15, validation: float = 0.0
) -> CTRData:
    """The registry's ``synthetic-ctr`` loader (``path`` is always ``None``); ``validation``: a
    fraction of each user's training rows held out (default 0)."""
    if not isinstance(side_features, bool):
        raise DataError(f"--set side_features must be true or false; got {side_features!r}")
    test_size = check_fraction(test_size, "test_size", zero=False)
    validation = check_fraction(validation, "validation", zero=True)
    return make_synthetic_ctr(seed=seed, side_features=side_features, test_size=test_size, validation=validation)
