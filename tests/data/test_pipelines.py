"""tf.data pipelines (tfrec/data/pipelines.py) and epoch alignment of training."""

from __future__ import annotations

import numpy as np

from tfrec.data.pipelines import implicit_steps_per_epoch, implicit_training_dataset
from tfrec.training import aligned_steps_per_execution


def _epoch(ds, steps):
    batches = list(ds.take(steps).as_numpy_iterator())
    users = np.concatenate([b[0][0] for b in batches])
    items = np.concatenate([b[0][1] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    return users, items, labels


def test_each_epoch_is_every_positive_plus_fresh_negatives(tiny_implicit):
    steps = implicit_steps_per_epoch(tiny_implicit, 3, 16)
    ds = implicit_training_dataset(tiny_implicit, num_negatives=3, batch_size=16, seed=4)
    stream = list(ds.take(2 * steps).as_numpy_iterator())
    first = _epoch(ds, steps)
    positives = set(zip(*tiny_implicit.train.nonzero()))
    got = list(zip(first[0][first[2] == 1], first[1][first[2] == 1]))
    assert sorted(got) == sorted(positives)  # every positive exactly once per epoch
    assert not positives & set(zip(first[0][first[2] == 0], first[1][first[2] == 0]))  # negatives are negatives
    assert (first[2] == 0).sum() == 3 * tiny_implicit.num_train
    # Epoch 1 of a dataset started at epoch 1 equals the second epoch of the full stream: resumable.
    resumed = _epoch(implicit_training_dataset(tiny_implicit, num_negatives=3, batch_size=16, seed=4, first_epoch=1), steps)
    second = [np.concatenate(parts) for parts in zip(*[(b[0][0], b[0][1], b[1]) for b in stream[steps:]])]
    for a, b in zip(resumed, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], second[1])  # negatives and order are re-drawn


def test_steps_per_execution_divides_the_epoch():
    assert aligned_steps_per_execution(567, 32) == 63
    assert aligned_steps_per_execution(19418, 32) == 38
    assert aligned_steps_per_execution(64, 32) == 32
    assert aligned_steps_per_execution(13, 32) == 13
    assert aligned_steps_per_execution(17, 5) == 17
    assert aligned_steps_per_execution(17, 4) == 1
    assert aligned_steps_per_execution(2 * 211, 32) == 2  # no divisor in [32, 128]: the largest below
