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
class RankingSplit:
    """A held-out ranking split (validation, for model selection without the test set).

    One row per user with a held-out item: the model ranks the held-out item among the
    row's sampled negatives, exactly as the test split is ranked.

    Attributes:
        users: ``[V]`` internal user ids (int64; AttRec: int32).
        items: ``[V]`` the held-out (positive) item of each row.
        negatives: ``[V, N]`` sampled negatives of each row: never a training positive of the
            user, never the held-out item, fixed by the seed.
        histories: ``[V, L]`` the items before the held-out one (AttRec, left-padded with 0), or
            ``None``.
    """

    users: np.ndarray
    items: np.ndarray
    negatives: np.ndarray
    histories: np.ndarray | None = None

    def __post_init__(self) -> None:
        v = len(self.users)
        if len(self.items) != v or self.negatives.ndim != 2 or self.negatives.shape[0] != v:
            raise ValueError(
                f"validation users [V], items [V] and negatives [V, N] must agree; got {len(self.users)}, "
                f"{len(self.items)}, {self.negatives.shape}"
            )
        if self.histories is not None and (self.histories.ndim != 2 or self.histories.shape[0] != v):
            raise ValueError(f"validation histories must be [V={v}, L]; got {self.histories.shape}")

    def __len__(self) -> int:
        return len(self.users)

    def candidates(self) -> np.ndarray:
        """``[V, 1 + N]`` candidates per row: the held-out item first, then the negatives."""
        return np.concatenate([np.asarray(self.items)[:, None].astype(self.negatives.dtype), self.negatives], axis=1)


@dataclass(frozen=True)
class ClickSplit:
    """A held-out CTR split (validation): ``features`` like ``CTRData.train_features``
    (``{field name: [V] int32}`` or ``[V, M]`` for multi-hot fields) and ``labels`` ``[V]``
    float32 in {0, 1}."""

    features: dict
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


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
            Raw ids are int64 when every id of the file is an integer, else text (numpy ``U``).
        info: free-form provenance (source files, split rule, ...), saved with a run.
        validation: a held-out :class:`RankingSplit` (each user's second-latest item, removed
            from ``train``), or ``None`` (the reference protocols have none).
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
    validation: RankingSplit | None = None

    def __post_init__(self) -> None:
        _check_ids(self.user_ids, self.num_users, "user_ids")
        _check_ids(self.item_ids, self.num_items, "item_ids")
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
        user_ids, item_ids: ``[num_users]`` / ``[num_items]`` raw id of each internal id (int64,
            or numpy ``U`` text), or ``None`` (pickled and generated data).
        validation: a held-out :class:`RankingSplit` of the target behavior (each user's
            second-latest target item, removed from the target matrix), or ``None``.
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
    user_ids: np.ndarray | None = None
    item_ids: np.ndarray | None = None
    validation: RankingSplit | None = None

    def __post_init__(self) -> None:
        _check_ids(self.user_ids, self.num_users, "user_ids")
        _check_ids(self.item_ids, self.num_items, "item_ids")
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


@dataclass(frozen=True)
class SessionSequences:
    """Variable-length item-id sequences stored flat (a ragged array, numpy only).

    Sequence ``k`` is ``values[offsets[k]:offsets[k + 1]]``, oldest click first.

    Attributes:
        values: ``[total]`` int32 item ids of all sequences, concatenated.
        offsets: ``[N + 1]`` int64, non-decreasing, ``offsets[0] == 0`` and
            ``offsets[-1] == total``.
    """

    values: np.ndarray
    offsets: np.ndarray

    def __post_init__(self) -> None:
        offsets = self.offsets
        if offsets.ndim != 1 or offsets.size == 0 or offsets[0] != 0 or offsets[-1] != self.values.size:
            raise ValueError(f"offsets must run from 0 to len(values) = {self.values.size}")
        if np.any(np.diff(offsets) < 0):
            raise ValueError("offsets must be non-decreasing")

    @classmethod
    def from_lists(cls, sequences) -> "SessionSequences":
        """Build from an iterable of int sequences (e.g. ``[[1, 2], [3]]``)."""
        from itertools import chain

        sequences = list(sequences)
        lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
        offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = list(chain.from_iterable(sequences))
        values = np.asarray(flat) if flat else np.zeros(0, dtype=np.int64)
        if values.dtype.kind not in "iu" or values.ndim != 1:  # floats, strings, bools, nested lists
            raise TypeError(f"item ids must be integers; got values of dtype {values.dtype}")
        if values.size and (values.min() < np.iinfo(np.int32).min or values.max() > np.iinfo(np.int32).max):
            raise ValueError("item ids must fit in int32")
        return cls(values.astype(np.int32), offsets)

    def __len__(self) -> int:
        return self.offsets.size - 1

    def __getitem__(self, k: int) -> np.ndarray:
        return self.values[self.offsets[k] : self.offsets[k + 1]]

    @property
    def lengths(self) -> np.ndarray:
        """``[N]`` int64 length of each sequence."""
        return np.diff(self.offsets)

    def to_lists(self) -> list[list[int]]:
        """The sequences as Python lists (for tests and small data)."""
        return [v.tolist() for v in np.split(self.values, self.offsets[1:-1])] if len(self) else []

    def padded(self, indices=None, *, max_len: int | None = None, reverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Right-padded ``[B, L]`` int32 array of sequences and their ``[B]`` int32 lengths.

        Vectorised (no loop over sequences). Padding is 0, as in COTREC's ``Data.get_slice``.

        Args:
            indices: which sequences (``[B]`` ints), default all, in that order.
            max_len: ``L``; default the longest selected sequence. Longer sequences keep their
                **last** (most recent) ``max_len`` items and their length is clipped to it.
            reverse: put each sequence's items in reverse order (most recent first), still
                left-aligned and right-padded: COTREC's ``reversed_sess_item``.

        Returns:
            ``(items [B, L] int32, lengths [B] int32)``.
        """
        idx = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64).reshape(-1)
        ends = self.offsets[idx + 1]
        lengths = ends - self.offsets[idx]
        width = int(lengths.max(initial=0)) if max_len is None else int(max_len)
        lengths = np.minimum(lengths, width)
        total = int(lengths.sum())
        rows = np.repeat(np.arange(idx.size), lengths)
        cols = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        if reverse:
            source = np.repeat(ends - 1, lengths) - cols
        else:
            source = np.repeat(ends - lengths, lengths) + cols
        out = np.zeros((idx.size, width), dtype=np.int32)
        out[rows, cols] = self.values[source]
        return out, lengths.astype(np.int32)


@dataclass(frozen=True)
class SessionData:
    """Session-based next-item data (COTREC's task): prefixes labelled with their next item.

    Item ids are ``1 .. num_items`` as in COTREC's files; 0 is padding. A model with a
    ``[num_items, d]`` item table (COTREC's ``n_node`` rows) uses row ``id - 1`` for item ``id``,
    and the logit index of a target is ``target - 1`` (the reference's ``tar = targets - 1``).

    Attributes:
        name: dataset name.
        num_items: number of items (the largest id; COTREC's ``n_node``).
        train: training prefixes (after prefix augmentation), oldest click first.
        train_targets: ``[N]`` int32 the next item of each training prefix.
        test: test prefixes.
        test_targets: ``[T]`` int32 the next item of each test prefix.
        all_train_seq: the training sessions before augmentation (COTREC's ``all_train_seq.txt``),
            from which the item transition graph is built.
        item_ids: ``[num_items]`` original id of each item (``item_ids[i - 1]`` for item ``i``):
            int64 when every item id of the log is an integer, else text (numpy ``U``); ``None``
            when the files are already numbered (COTREC pickles).
        info: provenance and counts.
    """

    name: str
    num_items: int
    train: SessionSequences
    train_targets: np.ndarray
    test: SessionSequences
    test_targets: np.ndarray
    all_train_seq: SessionSequences
    item_ids: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            n, t = len(getattr(self, split)), len(getattr(self, f"{split}_targets"))
            if n != t:
                raise ValueError(f"{split}: {n} sequences but {t} targets")
        for label, arr in (
            ("train", self.train.values), ("train_targets", self.train_targets), ("test", self.test.values),
            ("test_targets", self.test_targets), ("all_train_seq", self.all_train_seq.values),
        ):
            if arr.size and (arr.min() < 1 or arr.max() > self.num_items):
                raise ValueError(f"{label}: item ids must be in 1..{self.num_items}; got {arr.min()}..{arr.max()}")
        if self.item_ids is not None and len(self.item_ids) != self.num_items:
            raise ValueError(f"item_ids has {len(self.item_ids)} entries; expected num_items = {self.num_items}")

    @property
    def num_train(self) -> int:
        """Number of training (prefix, next item) pairs."""
        return len(self.train)

    @property
    def num_test(self) -> int:
        """Number of test (prefix, next item) pairs."""
        return len(self.test)

    def targets(self, split: str = "train") -> np.ndarray:
        """``[N]`` int32 next items of ``split`` (``"train"`` or ``"test"``)."""
        return self._split(split)[1]

    def padded(
        self, split: str = "train", indices=None, *, max_len: int | None = None, reverse: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(items [B, L] int32, lengths [B] int32)`` of ``split``'s prefixes, 0-padded on the right.

        ``split`` is ``"train"``, ``"test"`` or ``"all_train_seq"``; see
        :meth:`SessionSequences.padded` for ``indices``, ``max_len`` and ``reverse``.
        """
        sequences = self.all_train_seq if split == "all_train_seq" else self._split(split)[0]
        return sequences.padded(indices, max_len=max_len, reverse=reverse)

    def _split(self, split: str) -> tuple[SessionSequences, np.ndarray]:
        if split == "train":
            return self.train, self.train_targets
        if split == "test":
            return self.test, self.test_targets
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")


@dataclass(frozen=True)
class SequenceData:
    """Next-item data for sequential recommenders (AttRec, seed 001): each user's items in
    time order, cut into examples ``(user, last L items, next item, one sampled negative)``.

    Items are numbered ``1 .. num_items`` (``0`` pads histories); users ``0 .. num_users - 1``.
    Per user with ``n`` items, the item at position ``n - 1`` is the test target, ``n - 2`` the
    validation target and positions ``1 .. n - 3`` are training targets (seed 001
    ``create_implicit_ml_1m_dataset``).

    Attributes:
        name, num_users, num_items, maxlen: sizes; ``maxlen`` is ``L``.
        train_users, train_items, train_negatives: ``[N]`` int32 examples' user, next item and
            negative; ``train_histories`` ``[N, L]`` int32, the previous ``L`` items
            left-padded with 0 (Keras ``pad_sequences``' default, as the reference).
        val_users, val_histories, val_items, val_negatives: the same for validation ``[V]``.
        test_users, test_histories, test_items: ``[T]`` / ``[T, L]`` test examples;
            ``test_negatives`` ``[T, M]`` int32 sampled negatives (with replacement, never an
            item of the user), fixed by the seed.
        user_items: ``[num_users, num_items + 1]`` binary CSR of every item each user has.
        user_ids, item_ids: raw ids of internal users ``0..`` and items ``1..`` (``item_ids[k]``
            is item ``k + 1``), or ``None``.
        info: provenance.
        validation: the validation examples as a :class:`RankingSplit` (``val_users``,
            ``val_items``, ``val_histories`` with ``num_test_negatives`` sampled negatives each),
            or ``None`` (the reference protocol has none).
    """

    name: str
    num_users: int
    num_items: int
    maxlen: int
    train_users: np.ndarray
    train_histories: np.ndarray
    train_items: np.ndarray
    train_negatives: np.ndarray
    val_users: np.ndarray
    val_histories: np.ndarray
    val_items: np.ndarray
    val_negatives: np.ndarray
    test_users: np.ndarray
    test_histories: np.ndarray
    test_items: np.ndarray
    test_negatives: np.ndarray
    user_items: sp.csr_matrix
    user_ids: np.ndarray | None = None
    item_ids: np.ndarray | None = None
    info: dict = field(default_factory=dict)
    validation: RankingSplit | None = None

    def __post_init__(self) -> None:
        _check_ids(self.user_ids, self.num_users, "user_ids")
        _check_ids(self.item_ids, self.num_items, "item_ids")
        for split in ("train", "val", "test"):
            n = len(getattr(self, f"{split}_users"))
            if getattr(self, f"{split}_histories").shape != (n, self.maxlen) or len(getattr(self, f"{split}_items")) != n:
                raise ValueError(f"{split}: users, histories [N, maxlen={self.maxlen}] and items must agree in length")
        if self.user_items.shape != (self.num_users, self.num_items + 1):
            raise ValueError(f"user_items shape {self.user_items.shape} != ({self.num_users}, {self.num_items + 1})")

    @property
    def num_train(self) -> int:
        return len(self.train_users)

    def candidates(self) -> np.ndarray:
        """``[T, 1 + M]`` test candidates: the next item first, then the negatives."""
        return np.concatenate([self.test_items[:, None], self.test_negatives], axis=1)

    def item_popularity(self) -> np.ndarray:
        """``[num_items + 1]`` how often each item is a training target (popularity baseline)."""
        return np.bincount(self.train_items, minlength=self.num_items + 1)



@dataclass(frozen=True)
class CTRField:
    """One input field of a CTR model: categorical (single- or multi-hot) or numeric.

    Attributes:
        name: the field's name, also its key in feature dicts and its argument name in an
            exported ``score`` signature (``user_id``, ``item_id``, ``gender``, ``genres``, ``I1``...).
        vocab_size: number of values; ids are ``0 .. vocab_size - 1``. A numeric field has 1
            (its one learned embedding row).
        multi_hot: ``False``: one id per example, ``[N]`` int32. ``True``: several ids per
            example, ``[N, M]`` int32 right-padded with ``-1`` (e.g. a movie's genres).
        numeric: a real value per example, ``[N]`` float32 (already transformed, e.g.
            log-scaled; missing values filled): the models multiply it by the field's learned
            embedding in their interaction parts and feed it directly to their deep and cross
            parts (:class:`tfrec.layers.fields.FieldEmbedding`).
    """

    name: str
    vocab_size: int
    multi_hot: bool = False
    numeric: bool = False

    def __post_init__(self) -> None:
        if self.numeric and (self.multi_hot or self.vocab_size != 1):
            raise ValueError(f"numeric field {self.name!r} must have vocab_size 1 and not be multi-hot")

    def as_dict(self) -> dict:
        out = {"name": self.name, "vocab_size": int(self.vocab_size), "multi_hot": bool(self.multi_hot)}
        if self.numeric:
            out["numeric"] = True
        return out


@dataclass(frozen=True)
class CTRData:
    """Click-through-rate data (seed 003's CTR models): categorical fields and binary labels.

    Attributes:
        name: dataset name.
        fields: the input fields, in model order (the first two are ``user_id`` and ``item_id``
            for MovieLens).
        train_features: ``{field name: [N] int32}`` (single-hot) or ``[N, M] int32`` padded with
            ``-1`` (multi-hot).
        train_labels: ``[N]`` float32 in {0, 1}.
        test_features, test_labels: the same for the ``[T]`` test rows.
        user_ids, item_ids: raw id of each internal user / item id, or ``None``.
        info: provenance (files, threshold, split, ...).
        vocabularies: ``{field name: [vocab_size] array}``, the raw value of each id (int64 or
            numpy ``U`` text) of every field whose raw values are known; empty by default.
        validation: a held-out :class:`ClickSplit` (drawn from the training rows), or ``None``.
    """

    name: str
    fields: tuple
    train_features: dict
    train_labels: np.ndarray
    test_features: dict
    test_labels: np.ndarray
    user_ids: np.ndarray | None = None
    item_ids: np.ndarray | None = None
    info: dict = field(default_factory=dict)
    vocabularies: dict = field(default_factory=dict)
    validation: ClickSplit | None = None

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"field names must be unique and non-empty; got {names}")
        sizes = {f.name: f.vocab_size for f in self.fields}
        for name, values in self.vocabularies.items():
            if name not in sizes or len(values) != sizes[name]:
                raise ValueError(f"vocabulary {name!r}: expected a field of that name with {len(values)} values")
        splits = [("train", self.train_features, self.train_labels), ("test", self.test_features, self.test_labels)]
        if self.validation is not None:
            splits.append(("validation", self.validation.features, self.validation.labels))
        for split, features, labels in splits:
            if set(features) != set(names):
                raise ValueError(f"{split}_features has keys {sorted(features)}; expected {sorted(names)}")
            for f in self.fields:
                values = features[f.name]
                if f.numeric:
                    if values.ndim != 1 or len(values) != len(labels) or values.dtype.kind != "f":
                        raise ValueError(f"{split} numeric field {f.name!r}: expected [N] floats with N = {len(labels)}")
                    continue
                if values.ndim != (2 if f.multi_hot else 1) or len(values) != len(labels):
                    raise ValueError(
                        f"{split} field {f.name!r}: expected {'[N, M]' if f.multi_hot else '[N]'} with N = "
                        f"{len(labels)} rows; got shape {values.shape}"
                    )
                if values.size and (values.max() >= f.vocab_size or values.min() < (-1 if f.multi_hot else 0)):
                    raise ValueError(f"{split} field {f.name!r}: ids must be in 0..{f.vocab_size - 1}")

    @property
    def num_train(self) -> int:
        return len(self.train_labels)

    @property
    def num_test(self) -> int:
        return len(self.test_labels)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def num_users(self) -> int | None:
        """Vocabulary of the ``user_id`` field, or ``None`` when there is none."""
        return next((f.vocab_size for f in self.fields if f.name == "user_id"), None)

    @property
    def num_items(self) -> int | None:
        """Vocabulary of the ``item_id`` field, or ``None`` when there is none."""
        return next((f.vocab_size for f in self.fields if f.name == "item_id"), None)

    def item_click_rate(self, prior_strength: float = 1.0) -> np.ndarray:
        """``[num_items]`` smoothed training click rate per item (the CTR baseline's score):
        ``(clicks + m * global_rate) / (shows + m)`` with ``m = prior_strength``, so an item never
        shown in training scores the global click rate."""
        items = self.train_features["item_id"]
        shows = np.bincount(items, minlength=self.num_items).astype(np.float64)
        clicks = np.bincount(items, weights=self.train_labels, minlength=self.num_items)
        rate = float(self.train_labels.mean()) if self.num_train else 0.5
        return (clicks + prior_strength * rate) / (shows + prior_strength)


@dataclass(frozen=True)
class ClickLogData:
    """A click log preprocessed into sharded binary files (Criteo, Avazu, a user's CSV with a
    schema): the CTR task's data when it does not fit in memory.

    Built by :func:`tfrec.data.clicklog.prepare_click_log`; the rows stay on disk and
    ``tf.data`` streams them (:meth:`tfrec.data.clicklog.ClickShards.dataset`).

    Attributes:
        name: dataset name.
        fields: the model's fields (numeric fields have ``numeric=True``).
        shards: the :class:`~tfrec.data.clicklog.ClickShards` (``train``, ``validation``,
            ``test`` splits).
        preprocessing: the fitted :class:`~tfrec.data.clicklog.ClickPreprocessing` (raw
            columns -> features), which an export puts inside the SavedModel.
        info: provenance (file, schema, split, options, shard folder).
        has_validation: whether the validation split holds rows and is evaluated.
    """

    name: str
    fields: tuple
    shards: object = field(repr=False)
    preprocessing: object = field(repr=False)
    info: dict = field(default_factory=dict, repr=False)
    has_validation: bool = False

    @property
    def num_train(self) -> int:
        return self.shards.rows("train")

    @property
    def num_test(self) -> int:
        return self.shards.rows("test")

    @property
    def num_validation(self) -> int:
        return self.shards.rows("validation") if self.has_validation else 0

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def train_click_rate(self) -> float:
        return self.shards.clicks("train") / max(1, self.num_train)

    num_users = None
    num_items = None


def _check_ids(ids, count: int, what: str) -> None:
    if ids is not None and len(ids) != count:
        raise ValueError(f"{what} has {len(ids)} entries; expected {count}")
