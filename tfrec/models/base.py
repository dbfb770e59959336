"""Shared model plumbing: a pointwise user-item scorer trained with binary cross-entropy.

Every model in tfrec is a ``keras.Model`` with its own ``train_step``. This base class holds
what GMF, MLP and NeuMF (and later the CTR models) have in common:

* ``logits(inputs, training)`` -- the subclass' forward pass, ``[B]`` logits;
* ``call(inputs)`` -- probabilities ``sigmoid(logits)``, so ``predict((user_ids, item_ids))``
  returns click / interaction probabilities as the references' ``nn.Sigmoid`` outputs do;
* ``train_step`` / ``test_step`` -- binary cross-entropy computed from logits (the same value as
  ``BCELoss(sigmoid(logits))`` in seed 004, without its float32 saturation) plus any
  regularisation losses, with one named entry per loss term in the logs.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf


def split_user_item(inputs) -> tuple[tf.Tensor, tf.Tensor]:
    """Accept ``(user_ids, item_ids)``, ``[user_ids, item_ids]`` or ``{"user_id", "item_id"}``.

    Returns ``user_ids``, ``item_ids`` as flat int32 tensors of shape ``[B]``.
    """
    if isinstance(inputs, dict):
        users, items = inputs["user_id"], inputs["item_id"]
    else:
        users, items = inputs
    users = tf.reshape(tf.cast(users, tf.int32), [-1])
    items = tf.reshape(tf.cast(items, tf.int32), [-1])
    return users, items


class LossTracking:
    """For a ``keras.Model`` whose ``compute_losses`` returns several named terms: one
    ``keras.metrics.Mean`` per term in ``self.loss_trackers`` (made in ``__init__`` with
    :meth:`make_loss_trackers`), :meth:`track` to update them from a step, and ``metrics`` so
    that ``fit`` resets them every epoch. Put it before ``keras.Model`` in the bases."""

    def make_loss_trackers(self, *names: str) -> None:
        self.loss_trackers = {name: keras.metrics.Mean(name=name) for name in names}

    def track(self, losses: dict) -> dict:
        """Update the trackers with a step's ``{name: value}`` and return their running means."""
        for name, value in losses.items():
            self.loss_trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.loss_trackers.items()}

    @property
    def metrics(self):
        return list(self.loss_trackers.values())


class PointwiseModel(keras.Model):
    """Base for models that score one (user, item) pair and train on binary labels.

    Subclasses implement ``logits(inputs, training=False) -> [B]`` and ``get_config``.
    Batches are ``(inputs, labels)`` with ``labels`` ``[B]`` float in {0, 1}.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def logits(self, inputs, training: bool = False) -> tf.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def call(self, inputs, training: bool = False) -> tf.Tensor:
        """``[B]`` probabilities ``sigmoid(logits)``."""
        return tf.sigmoid(self.logits(inputs, training=training))

    def score(self, user_ids: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        """Ranking scores (logits) for ``user_ids [B]`` against ``item_ids [B, C]`` -> ``[B, C]``.

        Logits rank exactly like probabilities but do not saturate to ties in float32.
        """
        item_ids = tf.convert_to_tensor(item_ids)
        shape = tf.shape(item_ids)
        users = tf.repeat(tf.cast(user_ids, tf.int32), shape[1])
        flat = self.logits((users, tf.reshape(item_ids, [-1])), training=False)
        return tf.reshape(flat, shape)

    def compute_bce(self, labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        labels = tf.cast(tf.reshape(labels, [-1]), logits.dtype)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))

    def train_step(self, data):
        inputs, labels = data
        with tf.GradientTape() as tape:
            loss = self.compute_bce(labels, self.logits(inputs, training=True))
            if self.losses:
                loss = loss + tf.add_n(self.losses)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        inputs, labels = data
        loss = self.compute_bce(labels, self.logits(inputs, training=False))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        return [self.loss_tracker]
