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
    """
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
        frame, name="synthetic", seed=seed, num_test_negatives=num_test_negatives, shape=(num_users, num_items)
    )
