"""Task data: the typed, in-memory form every loader and synthetic generator produces.

One small frozen dataclass per task kind (see the README's design section). They hold numpy /
scipy arrays only, so building them never imports TensorFlow; ``tfrec.data.pipelines`` turns
them into ``tf.data.Dataset`` objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class ImplicitFeedback:
    """Implicit-feedback ranking data with a leave-one-out test set (the NCF protocol).

    Attributes:
        name: dataset name (for logs and run directories).
        num_users: number of users; internal user ids are ``0 .. num_users - 1``.
        num_items: number of items; internal item ids are ``0 .. num_items - 1``.
        train: ``[num_users, num_items]`` binary ``scipy.sparse.csr_matrix`` (float32 ones,
            sorted indices, no duplicates) of training interactions.
        test_users: ``[T]`` int64 internal ids of the users that have a held-out item.
        test_items: ``[T]`` int64 held-out (positive) item of each test user.
        test_negatives: ``[T, N]`` int64 sampled negatives of each test user (never a training
            positive of that user nor the held-out item), fixed by the seed.
        user_ids: ``[num_users]`` original (raw) user id of each internal id, or ``None``.
        item_ids: ``[num_items]`` original (raw) item id of each internal id, or ``None``.
        info: free-form provenance (source files, split rule, ...), saved with a run.
    """

    name: str
    num_users: int
    num_items: int
    train: sp.csr_matrix
    test_users: np.ndarray
    test_items: np.ndarray
    test_negatives: np.ndarray
    user_ids: np.ndarray | None = None
    item_ids: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.train.shape != (self.num_users, self.num_items):
            raise ValueError(
                f"train matrix shape {self.train.shape} != (num_users, num_items) = "
                f"({self.num_users}, {self.num_items})"
            )
        t = len(self.test_users)
        if len(self.test_items) != t or self.test_negatives.shape[0] != t:
            raise ValueError(
                "test_users, test_items and test_negatives must have the same length; got "
                f"{t}, {len(self.test_items)}, {self.test_negatives.shape[0]}"
            )

    @property
    def num_train(self) -> int:
        """Number of training interactions (positives)."""
        return int(self.train.nnz)

    def candidates(self) -> np.ndarray:
        """``[T, 1 + N]`` test candidates per test user: the held-out item first, then negatives."""
        return np.concatenate([self.test_items[:, None], self.test_negatives], axis=1)

    def item_popularity(self) -> np.ndarray:
        """``[num_items]`` number of training users per item (the popularity baseline's score)."""
        return np.asarray(self.train.sum(axis=0)).ravel()


@dataclass(frozen=True)
class MultiBehavior:
    """Multi-behavior implicit feedback (MB-GMN's task): one user x item matrix per behavior.

    Attributes:
        name: dataset name.
        num_users, num_items: catalogue size; every matrix is ``[num_users, num_items]``.
        behaviors: behavior names in order; the **last is the target** (e.g. ``("pv", "cart", "buy")``).
        matrices: one binary float32 ``scipy.sparse.csr_matrix`` per behavior (training
            interactions), in the order of ``behaviors``.
        test_users: ``[T]`` int64 users with a held-out target interaction.
        test_items: ``[T]`` int64 their held-out target item.
        test_negatives: ``[T, N]`` int64 sampled negatives per test user (items without a
            training target interaction, never the held-out item), fixed by the seed.
        info: provenance.
    """

    name: str
    num_users: int
    num_items: int
    behaviors: tuple
    matrices: tuple
    test_users: np.ndarray
    test_items: np.ndarray
    test_negatives: np.ndarray
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.behaviors) != len(self.matrices) or not self.behaviors:
            raise ValueError(f"need one matrix per behavior; got {len(self.behaviors)} names, {len(self.matrices)} matrices")
        for name, matrix in zip(self.behaviors, self.matrices):
            if matrix.shape != (self.num_users, self.num_items):
                raise ValueError(f"behavior {name!r} matrix shape {matrix.shape} != ({self.num_users}, {self.num_items})")

    @property
    def target(self) -> str:
        return self.behaviors[-1]

    @property
    def train(self) -> sp.csr_matrix:
        """The target behavior's training matrix."""
        return self.matrices[-1]

    def candidates(self) -> np.ndarray:
        """``[T, 1 + N]``: the held-out item first, then the negatives."""
        return np.concatenate([self.test_items[:, None], self.test_negatives], axis=1)

    def item_popularity(self) -> np.ndarray:
        """``[num_items]`` training target interactions per item (the popularity baseline)."""
        return np.asarray(self.train.sum(axis=0)).ravel()
