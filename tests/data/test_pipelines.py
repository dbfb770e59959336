"""tf.data pipelines (tfrec/data/pipelines.py): per-epoch re-sampling, resumability."""

from __future__ import annotations

import numpy as np

from tfrec.data.pipelines import implicit_steps_per_epoch, implicit_training_data


def _one_pass(dataset):
    batches = list(dataset.as_numpy_iterator())
    users = np.concatenate([b[0][0] for b in batches])
    items = np.concatenate([b[0][1] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    return len(batches), users, items, labels


def test_each_pass_is_one_epoch_of_every_positive_plus_fresh_negatives(tiny_implicit):
    training = implicit_training_data(tiny_implicit, num_negatives=3, batch_size=16, seed=4)
    steps = implicit_steps_per_epoch(tiny_implicit, 3, 16)
    assert training.steps_per_epoch == steps
    assert int(training.dataset.cardinality()) == steps
    n, users, items, labels = _one_pass(training.dataset)
    assert n == steps and len(labels) == tiny_implicit.num_train * 4
    positives = set(zip(*tiny_implicit.train.nonzero()))
    assert sorted(zip(users[labels == 1], items[labels == 1])) == sorted(positives)  # each positive once
    assert not positives & set(zip(users[labels == 0], items[labels == 0]))  # negatives are negatives
    _, _, items_2, _ = _one_pass(training.dataset)  # the next pass is the next epoch
    assert not np.array_equal(items, items_2)


def test_epochs_depend_only_on_seed_and_epoch_number(tiny_implicit):
    a = implicit_training_data(tiny_implicit, num_negatives=2, batch_size=8, seed=1)
    _one_pass(a.dataset)
    second = _one_pass(a.dataset)
    b = implicit_training_data(tiny_implicit, num_negatives=2, batch_size=8, seed=1, first_epoch=1)
    resumed = _one_pass(b.dataset)
    c = implicit_training_data(tiny_implicit, num_negatives=2, batch_size=8, seed=1)
    c.callback.on_epoch_begin(1)  # what fit(initial_epoch=1) does
    via_callback = _one_pass(c.dataset)
    for x, y, z in zip(second[1:], resumed[1:], via_callback[1:]):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, z)
