"""Shared model plumbing: a pointwise user-item scorer trained with binary cross-entropy.

Every model in tfrec is a ``keras.Model`` with its own ``train_step``. This base class holds
what GMF, MLP and NeuMF (and later the CTR models) have in common:

* ``logits(inputs, training)`` -- the subclass' forward pass, ``[B]`` logits;
* ``call(inputs)`` -- probabilities ``sigmoid(logits)``, so ``predict((user_ids, item_ids))``
  returns click / interaction probabilities as the references' ``nn.Sigmoid`` outputs do;
* ``train_step`` / ``test_step`` -- binary cross-entropy computed from logits (the same value as
  ``BCELoss(sigmoid(logits))`` in seed 004, without its float32 saturation) plus any
  regularisation losses, with one named entry per loss term in the logs.

Mixed precision and distribution (:mod:`tfrec.distribute`): logits, probabilities, scores and
losses are float32 whatever the layers compute in; ``train_step`` scales the loss with
``optimizer.scale_loss`` (a ``LossScaleOptimizer`` for ``mixed_float16``; the identity
otherwise) and ``optimizer.apply`` unscales the gradients; under a strategy with several
replicas each replica's loss is its share of the global batch mean (:func:`~tfrec.distribute.batch_mean`).
A model saved under a mixed policy is rebuilt under it (:class:`PolicyFromConfig`).
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.distribute import batch_mean, dense_gradients, precision_scope, replica_share, replica_total


def _policy_of(config: dict):
    """The global dtype policy set to the one recorded in a layer ``config`` (its ``dtype``)
    while the block runs: sub-layers created in ``__init__`` take the model's precision."""
    dtype = config.get("dtype") if isinstance(config, dict) else None
    return precision_scope(None if dtype is None else keras.dtype_policies.get(dtype))


class PolicyFromConfig:
    """``from_config`` builds the model under the dtype policy it was saved with (Keras gives
    only the outer model the saved ``dtype``; the layers a model creates in ``__init__`` take
    the global policy). Put it before ``keras.Model`` in the bases."""

    @classmethod
    def from_config(cls, config, *args, **kwargs):
        with _policy_of(config):
            return super().from_config(config, *args, **kwargs)


def as_float32(x: tf.Tensor) -> tf.Tensor:
    """``x`` as float32 (a no-op for float32): final logits, scores and losses are float32
    under every precision policy."""
    return x if x.dtype == tf.float32 else tf.cast(x, tf.float32)


def float32_outputs(model: keras.layers.Layer) -> None:
    """Give the model's output layers -- its ``Dense(1)`` attributes, whose outputs are the
    logits -- the float32 policy before they are built (a no-op under float32): under a mixed
    policy the last layer then reads its weights and computes in float32 (the Keras mixed
    precision recipe), so the logits keep float32 resolution and rankings get no extra ties."""
    if model.dtype_policy.compute_dtype == "float32":
        return
    for value in vars(model).values():
        if isinstance(value, keras.layers.Dense) and value.units == 1 and not value.built:
            value.dtype_policy = "float32"


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


class LossTracking(PolicyFromConfig):
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


class PointwiseModel(PolicyFromConfig, keras.Model):
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
        """``[B]`` float32 probabilities ``sigmoid(logits)``."""
        return tf.sigmoid(as_float32(self.logits(inputs, training=training)))

    def score(self, user_ids: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        """Ranking scores (logits) for ``user_ids [B]`` against ``item_ids [B, C]`` -> ``[B, C]``.

        Logits rank exactly like probabilities but do not saturate to ties in float32.
        """
        item_ids = tf.convert_to_tensor(item_ids)
        shape = tf.shape(item_ids)
        users = tf.repeat(tf.cast(user_ids, tf.int32), shape[1])
        flat = as_float32(self.logits((users, tf.reshape(item_ids, [-1])), training=False))
        return tf.reshape(flat, shape)

    def compute_bce(self, labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        """Mean BCE of ``[B]`` float32 logits (this replica's share of the global batch mean
        under a strategy with several replicas)."""
        logits = as_float32(logits)
        labels = tf.cast(tf.reshape(labels, [-1]), logits.dtype)
        return batch_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))

    def total_loss(self, inputs, labels, training: bool = True) -> tf.Tensor:
        """BCE plus the regularisation losses (each replica's share of them)."""
        loss = self.compute_bce(labels, self.logits(inputs, training=training))
        if self.losses:
            loss = loss + replica_share(tf.add_n([as_float32(term) for term in self.losses]))
        return loss

    def train_step(self, data):
        inputs, labels = data
        with tf.GradientTape() as tape:
            loss = self.total_loss(inputs, labels)
            scaled = self.optimizer.scale_loss(loss)  # on the tape; mixed_float16: times the loss scale
        gradients = dense_gradients(tape.gradient(scaled, self.trainable_variables))
        self.optimizer.apply(gradients, self.trainable_variables)
        self.loss_tracker.update_state(replica_total(loss))
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        inputs, labels = data
        loss = self.compute_bce(labels, self.logits(inputs, training=False))
        self.loss_tracker.update_state(replica_total(loss))
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        return [self.loss_tracker]
