"""Task data -> ``tf.data.Dataset``: one builder per task kind.

Implicit feedback (NCF): every epoch draws fresh negatives (``num_negatives`` per positive,
vectorised in :func:`tfrec.data.sampling.training_instances`), shuffles the instances with a
permutation and yields batches ``((user_ids [B], item_ids [B]), labels [B])``.

```python
training = implicit_training_data(data, num_negatives=4, batch_size=256, seed=0)
model.fit(training.dataset, epochs=20, callbacks=[training.callback])
```

* Epoch ``e`` is sampled with ``numpy.random.default_rng([seed, e])``: its instances depend only
  on the seed and the epoch number (reproducible, and resumable from any epoch through
  ``fit(initial_epoch=e)``). ``training.callback`` tells the sampler which epoch ``fit`` is in;
  without it, each pass over the dataset simply takes the next epoch number.
* The dataset holds exactly one epoch (its cardinality is known), so Keras ends each epoch at
  the right batch whatever ``steps_per_execution`` is, and a fresh iterator starts the next.
* While epoch ``e`` trains, a background thread already samples epoch ``e + 1``.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.data.multibehavior import behavior_pair_grid, epoch_users
from tfrec.data.sampling import sample_negatives, training_instances
from tfrec.data.types import CTRData, ImplicitFeedback, MultiBehavior


def implicit_steps_per_epoch(data: ImplicitFeedback, num_negatives: int, batch_size: int) -> int:
    """Number of batches in one epoch: ``ceil(positives * (1 + num_negatives) / batch_size)``."""
    return math.ceil(data.num_train * (1 + num_negatives) / batch_size)


class EpochSampler:
    """Samples each epoch's training data, one epoch ahead in a background thread.

    Args:
        sample: ``sample(epoch) -> epoch data``; must depend only on ``epoch`` (and the seed it
            closes over), e.g. by drawing from ``default_rng([seed, epoch])``.
        first_epoch: the epoch the next pass over the dataset samples.
    """

    def __init__(self, sample, first_epoch: int = 0):
        self.sample = sample
        self.next_epoch = first_epoch
        self._pending: dict[int, Future] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tfrec-sampler")

    def _prefetch(self, epoch: int) -> Future:
        if epoch not in self._pending:
            self._pending[epoch] = self._pool.submit(self.sample, epoch)
        return self._pending[epoch]

    def start_epoch(self, epoch: int) -> None:
        """Make the next pass over the dataset sample ``epoch`` (called by the callback)."""
        with self._lock:
            self.next_epoch = epoch
            for stale in [e for e in self._pending if e < epoch]:
                self._pending.pop(stale).cancel()

    def take(self):
        """The data of the next epoch; starts sampling the one after it."""
        with self._lock:
            epoch = self.next_epoch
            self.next_epoch += 1
            current = self._prefetch(epoch)
            self._prefetch(epoch + 1)
        arrays = current.result()
        with self._lock:
            self._pending.pop(epoch, None)
        return arrays


class _SamplerCallback(keras.callbacks.Callback):
    """Keeps the sampler on ``fit``'s epoch number (so ``initial_epoch`` resumes exactly)."""

    def __init__(self, sampler: EpochSampler):
        super().__init__()
        self.sampler = sampler

    def on_epoch_begin(self, epoch, logs=None):
        self.sampler.start_epoch(epoch)


@dataclass
class TrainingData:
    """A one-epoch ``tf.data.Dataset`` plus the callback that keeps it on ``fit``'s epoch."""

    dataset: tf.data.Dataset
    callback: keras.callbacks.Callback
    steps_per_epoch: int
    sampler: EpochSampler


def _whole_batches(rows, batch_size: int, num_rows: int | None = None) -> tf.data.Dataset:
    """One epoch's rows as a dataset of batches in row order: whole batches, then the rest.

    Whole batches are sliced out of ``[steps, batch_size, ...]`` views of the tensors instead of
    batching element by element: tf.data's per-element cost would otherwise dominate an ML-1M
    epoch (5M instances). The last batch holds the remaining rows (fewer than ``batch_size``)
    and is left out when there are none.

    Args:
        rows: a nest (tuple / dict) of tensors with the same number of rows (first dimension);
            every batch has this structure. A tensor of unknown rank (what ``tf.numpy_function``
            returns) is a vector of rows.
        batch_size: rows per batch.
        num_rows: the number of rows when the tensors' shapes are set to it: the parts are then
            chosen here, without a run-time filter, and the batches keep static shapes.
            ``None``: the number is read at run time.
    """
    if num_rows is None:
        full = tf.shape(tf.nest.flatten(rows)[0])[0] // batch_size * batch_size
    else:
        full = num_rows // batch_size * batch_size

    def head(tensor):
        inner = tensor.shape[1:].as_list() if tensor.shape.rank is not None else []
        return tf.reshape(tensor[:full], [-1, batch_size, *inner])

    heads = tf.data.Dataset.from_tensor_slices(tf.nest.map_structure(head, rows))
    tail = tf.data.Dataset.from_tensors(tf.nest.map_structure(lambda tensor: tensor[full:], rows))
    if num_rows is None:
        return heads.concatenate(tail.filter(lambda *batch: tf.shape(tf.nest.flatten(batch)[0])[0] > 0))
    if full == 0:
        return tail
    return heads if full == num_rows else heads.concatenate(tail)


def _training_data(dataset: tf.data.Dataset, sampler: EpochSampler, steps: int, prefetch: int) -> TrainingData:
    """``dataset`` (one epoch of ``steps`` batches) with its cardinality declared, prefetched."""
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(prefetch)
    return TrainingData(dataset=dataset, callback=_SamplerCallback(sampler), steps_per_epoch=steps, sampler=sampler)


def _sliced_training_data(
    sampler: EpochSampler, dtypes, as_rows, *, batch_size: int, steps: int, num_rows: int | None = None
) -> TrainingData:
    """Batches of each epoch's arrays: ``sampler.take()`` (through ``tf.numpy_function``, with
    ``dtypes``), ``as_rows(tensors)`` the nest of row tensors a batch is made of, then
    :func:`_whole_batches`."""

    def epoch_batches(_):
        return _whole_batches(as_rows(tf.numpy_function(sampler.take, [], dtypes)), batch_size, num_rows)

    dataset = tf.data.Dataset.from_tensors(0).flat_map(epoch_batches)
    return _training_data(dataset, sampler, steps, tf.data.AUTOTUNE)


def _generated_training_data(sampler: EpochSampler, spec, steps: int) -> TrainingData:
    """Batches built in numpy by the sampler (a list per epoch), yielded as ``spec``."""

    def generate():
        yield from sampler.take()

    return _training_data(tf.data.Dataset.from_generator(generate, output_signature=spec), sampler, steps, 2)


def implicit_training_data(
    data: ImplicitFeedback,
    *,
    num_negatives: int,
    batch_size: int,
    seed: int,
    first_epoch: int = 0,
) -> TrainingData:
    """Training batches for pointwise implicit-feedback models, re-sampled every epoch.

    Args:
        data: the task data (its ``train`` CSR supplies positives and the exclusion set).
        num_negatives: negatives per positive (seed 004: 4).
        batch_size: instances per batch; each epoch's last batch may be smaller.
        seed: base seed; epoch ``e`` uses ``default_rng([seed, e])``.
        first_epoch: the epoch the first pass samples (for resuming without the callback).

    Returns:
        :class:`TrainingData` whose dataset yields
        ``((user_ids int32 [B], item_ids int32 [B]), labels float32 [B])``.
    """
    def sample(epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng([seed, epoch])
        users, items, labels = training_instances(data.train, num_negatives, rng)
        order = rng.permutation(len(users))
        return users[order], items[order], labels[order]

    def as_rows(arrays):
        users, items, labels = arrays
        return (users, items), labels

    return _sliced_training_data(
        EpochSampler(sample, first_epoch), (tf.int32, tf.int32, tf.float32), as_rows,
        batch_size=batch_size, steps=implicit_steps_per_epoch(data, num_negatives, batch_size),
    )


def multibehavior_training_data(
    data: MultiBehavior,
    *,
    batch_size: int,
    samp_num: int,
    trn_num: int,
    seed: int,
    first_epoch: int = 0,
    graph_sample: int = 0,
    sample_block: int = 10000,
) -> TrainingData:
    """MB-GMN training batches (seed 000 ``trainEpoch`` / ``sampleTrainBatch``), vectorised.

    Each epoch takes ``trn_num`` random users (``permutation(num_users)[:trn_num]``) in batches of
    ``batch_size``. A batch holds the users and, for every behavior ``k``, a grid of their pairs
    (:func:`tfrec.data.multibehavior.behavior_pair_grid`): up to ``samp_num`` positives per user
    drawn with replacement and as many negatives, in the first slots of the user's row.

    ``graph_sample > 0`` is akaxlh/MB-GMN's ``labcode_samp.py``: the epoch's users are taken in
    blocks of ``sample_block`` (``--divSize``); for each block
    :class:`tfrec.data.graphs.SubgraphSampler` draws a sub-graph of about ``graph_sample`` nodes
    per side and depth around the block's users (``--graphSampleN``, ``sampleLargeGraph``), and
    the block's ``floor(len(block) / batch_size)`` steps (the reference's ``num // batch``: the
    rest of a block is not trained on) train on that sub-graph, adjacencies renormalised. Pairs
    are drawn inside the sub-graph (positives among its items, negatives among its items the
    user has not interacted with), as the reference does, and a batch then also carries the
    sub-graph (:func:`subgraph_arrays`). Sub-graphs are drawn from their own generator,
    ``default_rng([seed, epoch, 1])``, and epochs are built block by block as they are consumed,
    so that memory holds one block's graph at a time.

    Returns:
        :class:`TrainingData` whose dataset yields ``{"users": int32 [B], "pos_k", "neg_k":
        int32 [B, S], "mask_k": int8 [B, S]}`` (1 on valid slots) (plus ``"graph_*"`` when sampling), ``S =
        samp_num``.
    """
    num_users, behaviors = data.num_users, range(len(data.behaviors))
    spec = {"users": tf.TensorSpec([None], tf.int32)}
    for k in behaviors:
        spec.update({f"pos_{k}": tf.TensorSpec([None, samp_num], tf.int32), f"neg_{k}": tf.TensorSpec([None, samp_num], tf.int32),
                     f"mask_{k}": tf.TensorSpec([None, samp_num], tf.int8)})

    def batch_of(matrices, users, rng) -> dict:
        batch = {"users": users.astype(np.int32)}
        for k, matrix in enumerate(matrices):
            batch[f"pos_{k}"], batch[f"neg_{k}"], mask = behavior_pair_grid(matrix, users, samp_num, rng)
            batch[f"mask_{k}"] = mask.astype(np.int8)  # not bool: tf.distribute cannot split bool tensors
        return batch

    if not graph_sample:
        steps = math.ceil(min(trn_num, num_users) / batch_size)

        def sample(epoch: int) -> list[dict]:
            rng = np.random.default_rng([seed, epoch])
            users = epoch_users(num_users, trn_num, rng)
            return [batch_of(data.matrices, users[start : start + batch_size], rng) for start in range(0, len(users), batch_size)]

        return _generated_training_data(EpochSampler(sample, first_epoch), spec, steps)

    from tfrec.data.graphs import SubgraphSampler

    sampler = SubgraphSampler(data.matrices, graph_sample)
    epoch_size = min(trn_num, num_users)
    steps = sum(min(sample_block, epoch_size - start) // batch_size for start in range(0, epoch_size, sample_block))
    if steps == 0:
        raise ValueError(
            f"sample_block={sample_block} with batch_size={batch_size}: no block of the epoch's {epoch_size} users "
            "holds a whole batch, so no step would train (the reference trains floor(block / batch) steps per block)"
        )
    spec.update(subgraph_spec(len(data.behaviors)))

    def sample_lazily(epoch: int):
        rng, graph_rng = np.random.default_rng([seed, epoch]), np.random.default_rng([seed, epoch, 1])
        users = epoch_users(num_users, trn_num, rng)
        for start in range(0, len(users), sample_block):
            block = users[start : start + sample_block]
            if len(block) < batch_size:
                continue
            graph_users, graph_items = sampler.sample(block, graph_rng)
            graph = subgraph_arrays(data.matrices, graph_users, graph_items)
            matrices, local = graph.pop("matrices"), np.searchsorted(graph_users, block)
            for step in range(len(block) // batch_size):
                yield {**batch_of(matrices, local[step * batch_size : (step + 1) * batch_size], rng), **graph}

    return _generated_training_data(EpochSampler(sample_lazily, first_epoch), spec, steps)


def subgraph_spec(num_behaviors: int) -> dict:
    """The ``tf.TensorSpec`` of each part of :func:`subgraph_arrays` (but ``matrices``)."""
    spec = {"graph_users": tf.TensorSpec([None], tf.int32), "graph_items": tf.TensorSpec([None], tf.int32)}
    for k in range(num_behaviors):
        for prefix in ("", "t_"):
            spec.update({f"graph_{k}_{prefix}rows": tf.TensorSpec([None], tf.int32),
                         f"graph_{k}_{prefix}cols": tf.TensorSpec([None], tf.int32),
                         f"graph_{k}_{prefix}values": tf.TensorSpec([None], tf.float32)})
    return spec


def subgraph_arrays(matrices, users: np.ndarray, items: np.ndarray) -> dict:
    """The sub-graph of ``users`` x ``items`` (sorted global ids) as a batch carries it.

    Returns:
        ``{"graph_users": [N_u], "graph_items": [N_i], "graph_k_rows" / "_cols" / "_values"}``:
        behavior ``k``'s ``[N_u, N_i]`` sub-matrix symmetric-normalised over the sub-graph (the
        reference's ``transToLsts(..., norm=True)`` of ``sampleLargeGraph``'s matrices) as
        row-major coordinates in local ids, ``"graph_k_t_*"`` its transpose; and ``"matrices"``,
        the binary sub-matrices (for drawing pairs in local ids).
    """
    from tfrec.data.graphs import coo_arrays, restricted_adjacencies, symmetric_normalized

    out = {"graph_users": users.astype(np.int32), "graph_items": items.astype(np.int32), "matrices": []}
    for k, matrix in enumerate(restricted_adjacencies(matrices, users, items)):
        matrix = sp.csr_matrix(matrix)
        matrix.sort_indices()
        out["matrices"].append(matrix)
        normalized = symmetric_normalized(matrix)
        for prefix, part in (("", normalized), ("t_", normalized.T)):
            out[f"graph_{k}_{prefix}rows"], out[f"graph_{k}_{prefix}cols"], out[f"graph_{k}_{prefix}values"] = coo_arrays(part)
    return out


def sequence_training_data(
    data,
    *,
    batch_size: int,
    seed: int,
    first_epoch: int = 0,
    resample_negatives: bool = False,
) -> TrainingData:
    """AttRec training batches (seed 001: ``model.fit(train_X, batch_size=1024)``, shuffled).

    Every epoch is a fresh permutation of the training examples (``fit``'s ``shuffle=True``);
    the negatives are the ones drawn once when the data was built, as the reference's, unless
    ``resample_negatives`` draws new ones every epoch (from ``default_rng([seed, epoch])``).

    Returns:
        :class:`TrainingData` whose dataset yields ``{"user_id" [B], "history" [B, L],
        "pos_item" [B], "neg_item" [B]}`` int32.
    """
    shifted = data.user_items[:, 1:].tocsr() if resample_negatives else None
    steps = math.ceil(data.num_train / batch_size)

    def sample(epoch: int):
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(data.num_train)
        negatives = data.train_negatives
        if resample_negatives:
            negatives = (sample_negatives(data.train_users, shifted, rng) + 1).astype(np.int32)
        return data.train_users[order], data.train_histories[order], data.train_items[order], negatives[order]

    def as_rows(arrays):
        users, histories, positives, negatives = arrays
        histories = tf.reshape(histories, [-1, data.maxlen])
        return {"user_id": users, "history": histories, "pos_item": positives, "neg_item": negatives}

    return _sliced_training_data(
        EpochSampler(sample, first_epoch), (tf.int32,) * 4, as_rows, batch_size=batch_size, steps=steps
    )


def ctr_training_data(data: CTRData, *, batch_size: int, seed: int, first_epoch: int = 0) -> TrainingData:
    """Training batches of CTR data: ``({field: ids [B] / [B, M]}, labels float32 [B])``.

    Epoch ``e`` visits every training row once in the order ``default_rng([seed, e]).permutation``
    (seed 003's ``fit(shuffle=True)``, made reproducible); whole batches are sliced out of
    ``[steps, batch]`` views (:func:`_whole_batches`, no per-element tf.data cost),
    and the next epoch is permuted in a background thread while this one trains.
    """
    names = data.field_names
    n = data.num_train
    widths = {f.name: data.train_features[f.name].shape[1] for f in data.fields if f.multi_hot}
    steps = max(1, -(-n // batch_size))

    def sample(epoch: int) -> list:
        order = np.random.default_rng([seed, epoch]).permutation(n)
        arrays = [np.ascontiguousarray(data.train_features[k][order], dtype=np.int32) for k in names]
        return arrays + [np.ascontiguousarray(data.train_labels[order], dtype=np.float32)]

    def as_rows(arrays):
        features = {}
        for name, array in zip(names, arrays[:-1]):
            array.set_shape([n, widths[name]] if name in widths else [n])
            features[name] = array
        labels = arrays[-1]
        labels.set_shape([n])
        return features, labels

    return _sliced_training_data(
        EpochSampler(sample, first_epoch), [tf.int32] * len(names) + [tf.float32], as_rows,
        batch_size=batch_size, steps=steps, num_rows=n,
    )


def clicklog_training_data(data, *, batch_size: int, seed: int, first_epoch: int = 0,
                           shuffle_buffer: int = 1 << 17) -> TrainingData:
    """Training batches streamed from a preprocessed click log's shards
    (:class:`~tfrec.data.types.ClickLogData`): ``({field: [B] ids / values}, labels [B])``.

    Epoch ``e`` reads the training shards in an order and through a shuffle buffer seeded by
    ``(seed, e)`` (:meth:`tfrec.data.clicklog.ClickShards.dataset`); memory holds the buffer
    (``shuffle_buffer`` rows), not the split. A batch holds ``batch_size // 256`` blocks of 256
    rows, fewer where a shard ends.
    """
    shards = data.shards
    steps = shards.num_batches("train", batch_size)
    sampler = EpochSampler(lambda epoch: np.int64(epoch), first_epoch)

    def epoch_batches(_):
        epoch = tf.numpy_function(sampler.take, [], tf.int64)
        return shards.dataset("train", batch_size, shuffle=True, seed=seed, epoch=epoch, shuffle_buffer=shuffle_buffer)

    dataset = tf.data.Dataset.from_tensors(0).flat_map(epoch_batches)
    return _training_data(dataset, sampler, steps, tf.data.AUTOTUNE)


def session_training_data(
    data,
    *,
    batch_size: int,
    seed: int,
    first_epoch: int = 0,
    last_batch: str = "reference",
    max_len: int | None = None,
) -> TrainingData:
    """COTREC training batches (seed 002 ``Data.generate_batch`` / ``get_slice``), one epoch at a time.

    Epoch ``e`` visits the training prefixes in the order ``default_rng([seed, e]).permutation``
    (the reference shuffles with ``np.random.shuffle`` every epoch), ``ceil(n / batch_size)``
    batches. The last batch is, with ``last_batch="reference"``, the **last** ``batch_size``
    prefixes of that order (so it repeats some of the previous batch's, as ``generate_batch``
    does: every batch is full, which the reference's mode needs), or, with ``"partial"``, the
    remaining prefixes only. Each batch is padded to its own longest session; sessions longer
    than ``max_len`` keep their latest ``max_len`` clicks (the reference would fail on them).
    Batches are built vectorised per batch (no per-row Python) in a background thread.

    Returns:
        :class:`TrainingData` whose dataset yields ``{"items" [B, L], "lengths" [B],
        "targets" [B]}`` int32 (items oldest first, 0-padded on the right; targets 1-based).
    """
    if last_batch not in ("reference", "partial"):
        raise ValueError(f"last_batch must be 'reference' or 'partial'; got {last_batch!r}")
    n = data.num_train
    steps = max(1, math.ceil(n / batch_size))

    def sample(epoch: int) -> list:
        order = np.random.default_rng([seed, epoch]).permutation(n)
        batches = []
        for step in range(steps):
            if last_batch == "reference" and step == steps - 1 and n >= batch_size:
                rows = order[n - batch_size:]
            else:
                rows = order[step * batch_size:(step + 1) * batch_size]
            items, lengths = data.train.padded(rows)
            if max_len is not None and items.shape[1] > max_len:
                items, lengths = data.train.padded(rows, max_len=max_len)
            batches.append({"items": items, "lengths": lengths, "targets": data.train_targets[rows].astype(np.int32)})
        return batches

    spec = {
        "items": tf.TensorSpec([None, None], tf.int32),
        "lengths": tf.TensorSpec([None], tf.int32),
        "targets": tf.TensorSpec([None], tf.int32),
    }
    return _generated_training_data(EpochSampler(sample, first_epoch), spec, steps)
