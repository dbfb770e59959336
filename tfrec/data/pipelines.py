"""Task data -> ``tf.data.Dataset``: one function per task kind.

Implicit feedback (NCF): every epoch draws fresh negatives (``num_negatives`` per positive,
vectorised in :func:`tfrec.data.sampling.training_instances`), shuffles the instances with a
permutation and yields batches ``((user_ids [B], item_ids [B]), labels [B])``.

The dataset spans all epochs: element ``e`` of ``tf.data.Dataset.range`` is sampled with
``numpy.random.default_rng([seed, e])``, so epoch ``e``'s instances depend only on the seed and
the epoch number (reproducible, and resumable from any epoch), and ``prefetch`` draws epoch
``e + 1`` while the model still trains on epoch ``e``. Pass ``steps_per_epoch`` to ``fit``.
"""

from __future__ import annotations

import math

import numpy as np

from tfrec import _backend  # noqa: F401
import tensorflow as tf

from tfrec.data.sampling import training_instances
from tfrec.data.types import ImplicitFeedback


def implicit_steps_per_epoch(data: ImplicitFeedback, num_negatives: int, batch_size: int) -> int:
    """Number of batches in one epoch: ``ceil(positives * (1 + num_negatives) / batch_size)``."""
    return math.ceil(data.num_train * (1 + num_negatives) / batch_size)


def implicit_training_dataset(
    data: ImplicitFeedback,
    *,
    num_negatives: int,
    batch_size: int,
    seed: int,
    first_epoch: int = 0,
    num_epochs: int | None = None,
) -> tf.data.Dataset:
    """Training batches for pointwise implicit-feedback models, re-sampled every epoch.

    Args:
        data: the task data (its ``train`` CSR supplies positives and the exclusion set).
        num_negatives: negatives per positive (seed 004: 4).
        batch_size: instances per batch; each epoch's last batch may be smaller.
        seed: base seed; epoch ``e`` uses ``default_rng([seed, e])``.
        first_epoch: epoch number to start from (for resuming).
        num_epochs: how many epochs the dataset holds (``None``: unbounded).

    Returns:
        A dataset of ``((user_ids int32 [B], item_ids int32 [B]), labels float32 [B])``.
    """
    train = data.train

    def sample_epoch(epoch):
        rng = np.random.default_rng([seed, int(epoch)])
        users, items, labels = training_instances(train, num_negatives, rng)
        order = rng.permutation(len(users))
        return users[order].astype(np.int32), items[order].astype(np.int32), labels[order].astype(np.float32)

    def epoch_batches(epoch):
        users, items, labels = tf.numpy_function(sample_epoch, [epoch], (tf.int32, tf.int32, tf.float32), stateful=False)
        # Slice whole batches out of [steps, batch] views instead of batching element by element:
        # tf.data's per-element cost would otherwise dominate an ML-1M epoch (5M instances).
        full = tf.size(labels) // batch_size * batch_size

        def batches(tensor):
            return tf.reshape(tensor[:full], [-1, batch_size])

        head = tf.data.Dataset.from_tensor_slices(((batches(users), batches(items)), batches(labels)))
        tail = tf.data.Dataset.from_tensors(((users[full:], items[full:]), labels[full:]))
        tail = tail.filter(lambda inputs, label: tf.size(label) > 0)
        return head.concatenate(tail)

    stop = None if num_epochs is None else first_epoch + num_epochs
    epochs = tf.data.Dataset.range(first_epoch, stop if stop is not None else np.iinfo(np.int64).max)
    return epochs.flat_map(epoch_batches).prefetch(tf.data.AUTOTUNE)
