"""A synthetic implicit-feedback dataset with planted latent structure (the offline default).

Users and items get random latent factors; an item's appeal to a user is

    affinity[u, i] = sharpness * <p_u, q_i> / sqrt(latent_dim) + popularity_weight * b_i

with ``b_i ~ N(0, 1)`` a popularity term. Each user interacts with ``interactions_per_user``
distinct items drawn without replacement with probabilities ``softmax(affinity[u])`` (the
Gumbel-top-k trick, vectorised over all users), in random order; the last one is the test item
(through :func:`tfrec.data.movielens.leave_latest_out`, so the protocol is exactly ML-1M's).

Because the interactions depend mostly on the latent factors, a model that learns them ranks
the held-out item far better than item popularity; ``tests/data/test_synthetic.py`` checks
that the planted affinity itself beats popularity by a wide margin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfrec.data.movielens import leave_latest_out
from tfrec.data.types import ImplicitFeedback
from tfrec.errors import UserError


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
    from tfrec.data.movielens import check_flag

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
):
    """Session-based data from a planted item-transition structure (the offline COTREC default).

    Every item ``i`` gets ``successors`` fixed next items drawn at random; a session starts at
    a random item and then, at each click, moves to one of the current item's successors
    (uniformly) or, with probability ``noise``, to any item. Session lengths are uniform in
    ``[min_length, max_length]``. Training and test sessions come from the same chain, so a model
    of the transitions predicts the next item far better than popularity. Both parts are
    prefix-augmented like COTREC's files (:func:`tfrec.data.sessions.prefix_pairs`); items are
    ``1 .. num_items``. Vectorised over sessions; deterministic given ``seed``; ``path`` is ignored.
    """
    from tfrec.data.sessions import prefix_pairs
    from tfrec.data.types import SessionData, SessionSequences

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
