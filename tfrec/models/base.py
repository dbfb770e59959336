"""The model contract (:class:`Recommender`) and the pointwise base of NCF and the CTR models.

Every model in tfrec is a :class:`Recommender`: a ``keras.Model`` that states what it provides
instead of being probed (in the spirit of TensorFlow Recommenders' ``compute_loss`` and RecBole's
``calculate_loss`` / ``predict`` / ``full_sort_predict``):

* ``compute_losses(batch, training) -> {"loss": total, term: value, ...}``, the named loss terms
  the reference logs; one shared ``train_step`` / ``test_step`` step and log them;
* ``ranking_scores(inputs, candidates, context)`` and ``scoring_context()``, the scoring hooks
  the tasks (:mod:`tfrec.tasks`) evaluate with;
* ``serving_endpoints()`` and ``serving_scope()``, what :mod:`tfrec.export` serves;
* ``check_training(settings, data)``, ``stepped_optimizers()`` and ``xla_unsupported``, what
  :mod:`tfrec.training` needs to know.

:class:`PointwiseModel` holds what GMF, MLP and NeuMF and the CTR models have in common:

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

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.distribute import batch_mean, dense_gradients, precision_scope, replica_share, replica_total, step_logs


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


@dataclass(frozen=True)
class ServingFunctions:
    """What a model's ``serving_endpoints()`` gives :mod:`tfrec.export`: functions of internal ids.

    Attributes:
        score: a ``tf.function`` with an ``input_signature`` of int32 ``tf.TensorSpec``s named
            after its inputs (``user_id`` / ``item_id`` ``[B]``; ``history`` /
            ``session_items`` ``[B, L]`` whose padding is internal item ``item_offset - 1``,
            anywhere; CTR fields ``[B]`` or ``[B, M]`` padded with ``-1``) returning ``[B]``
            float scores. Ids are always valid (unknown ones are replaced before the call).
        score_all: optional ``tf.function`` of the non-item inputs (``user_id``, ``history``,
            ``session_items``) returning ``[B, N]`` scores of every item: column ``j`` is
            internal item ``item_offset + j``. Without it the export builds it from ``score``
            (user and item ids, CTR attributes), or exports no ``recommend``.
        score_meaning: what the score is (recorded in ``tfrec_export.json``).
        item_offset: the model's first item id: ``0``, or ``1`` where item ``0`` pads.
        needs_items: list inputs (``session_items``) that make a row unknown when they hold
            no known id.
    """

    score: Callable
    score_meaning: str
    score_all: Callable | None = None
    item_offset: int = 0
    needs_items: tuple = ()

    @property
    def input_names(self) -> list[str]:
        return [spec.name for spec in self.score.input_signature]


class Recommender(LossTracking, keras.Model):
    """Base of every tfrec model: the contract tasks, training and export rely on.

    A subclass implements :meth:`compute_losses` (and makes its trackers with
    :meth:`make_loss_trackers`, one per term it returns), the scoring hooks its task uses and
    :meth:`serving_endpoints`; everything else has a default here.

    Class attributes:
        num_users, num_items: the model's shape (``None`` when it has no users, e.g. COTREC);
            subclasses set them in ``__init__``.
        field_specs: a CTR model's input fields (``[]`` for the others).
        xla_unsupported: why ``--jit`` cannot compile the model's step, or ``None``.
    """

    num_users: ClassVar[int | None] = None
    num_items: ClassVar[int | None] = None
    field_specs: ClassVar[tuple] = ()
    xla_unsupported: ClassVar[str | None] = None

    @classmethod
    def from_data(cls, data, **hyperparameters):
        """The model for task data ``data`` (its ``num_users`` and ``num_items``), built; models
        whose shape needs more of the data (a graph, fields, ``maxlen``) override this."""
        model = cls(num_users=data.num_users, num_items=data.num_items, **hyperparameters)
        model.build()
        return model

    # ---------------------------------------------------------------------------------------
    # Training
    # ---------------------------------------------------------------------------------------
    def compute_losses(self, batch, training: bool = True) -> dict[str, tf.Tensor]:  # pragma: no cover - abstract
        """``{"loss": the total minimised, name: term, ...}`` float32 scalars for one batch
        (under a strategy each replica's share, :mod:`tfrec.distribute`)."""
        raise NotImplementedError

    def train_step(self, batch):
        """One optimizer step on ``compute_losses(batch)["loss"]``; logs every term.

        The loss is scaled by the optimizer (a ``LossScaleOptimizer`` under ``mixed_float16``,
        the identity otherwise) on the tape, and ``apply`` unscales the gradients; logged values
        are the one-device values under a strategy (:func:`~tfrec.distribute.replica_total`).
        A model overrides this only when it truly steps differently (Wide & Deep's two optimizers).
        """
        with tf.GradientTape() as tape:
            losses = self.compute_losses(batch, training=True)
            scaled = self.optimizer.scale_loss(losses["loss"])  # on the tape
        gradients = dense_gradients(tape.gradient(scaled, self.trainable_variables))
        self.optimizer.apply(gradients, self.trainable_variables)
        return step_logs(self.track({name: replica_total(value) for name, value in losses.items()}))

    def test_step(self, batch):
        """The terms of :meth:`compute_losses` with ``training=False``, logged as in training."""
        losses = self.compute_losses(batch, training=False)
        return self.track({name: replica_total(value) for name, value in losses.items()})

    def stepped_optimizers(self) -> list:
        """Every optimizer :meth:`train_step` steps (``model.optimizer``; Wide & Deep adds its
        deep part's): their variables are saved with the run's state for ``--resume``."""
        return [self.optimizer]

    def check_training(self, settings: dict, data) -> None:
        """Raise ``ValueError`` when the training ``settings`` cannot train this model on
        ``data`` (e.g. COTREC's ``predict_product=reference`` needs ``batch_size == embed_dim``);
        the task reports it as a one-line error."""

    # ---------------------------------------------------------------------------------------
    # Scoring (tasks) and serving (export)
    # ---------------------------------------------------------------------------------------
    def scoring_context(self):
        """Tensors computed once per evaluation and passed to every :meth:`ranking_scores` call
        (a graph model's propagation); ``None`` by default."""
        return None

    def ranking_scores(self, inputs: dict, candidates=None, context=None) -> tf.Tensor:  # pragma: no cover - abstract
        """Ranking scores, higher is better, float32.

        Args:
            inputs: the query, by serving name: ``{"user_id": [B]}``, ``{"user_id", "history"}``
                or ``{"session_items": [B, L]}``.
            candidates: ``[B, C]`` item ids to score, or ``None`` for every item.
            context: :meth:`scoring_context`'s value, or ``None`` to compute it.

        Returns:
            ``[B, C]`` scores, or ``[B, num_items]`` for ``candidates=None``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not rank items")

    def serving_endpoints(self):  # pragma: no cover - abstract
        """A :class:`ServingFunctions` of internal ids, served by the export in raw ids."""
        raise NotImplementedError(f"{type(self).__name__} has no serving signature")

    def serving_scope(self):
        """A context in which the export traces :meth:`serving_endpoints` (MB-GMN: from its
        stored graph variables, not its cached CSR matrices); a no-op by default."""
        return contextlib.nullcontext()


class PointwiseModel(Recommender):
    """Base for models that score one (user, item) pair and train on binary labels.

    Subclasses implement ``logits(inputs, training=False) -> [B]`` and ``get_config``.
    Batches are ``(inputs, labels)`` with ``labels`` ``[B]`` float in {0, 1};
    :meth:`compute_losses` is ``{"loss": BCE + regularisation}``.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.make_loss_trackers("loss")

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

    def ranking_scores(self, inputs: dict, candidates=None, context=None) -> tf.Tensor:
        """:meth:`score` of ``inputs["user_id"]`` against ``candidates`` (every item when ``None``)."""
        users = inputs["user_id"]
        if candidates is None:
            candidates = tf.tile(tf.range(self.num_items)[None, :], [tf.shape(users)[0], 1])
        return self.score(users, candidates)

    def serving_endpoints(self):
        """``score(user_id [B], item_id [B]) -> [B]`` probabilities; the export builds
        ``recommend`` by scoring each user against every item."""
        spec = lambda name: tf.TensorSpec([None], tf.int32, name=name)  # noqa: E731

        @tf.function(input_signature=[spec("user_id"), spec("item_id")], autograph=False)
        def score(user_id, item_id):
            return self((user_id, item_id), training=False)

        return ServingFunctions(
            score=score, score_meaning="probability that the user interacts with the item (the sigmoid of the model's logit)"
        )

    def compute_bce(self, labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
        """Mean BCE of ``[B]`` float32 logits (this replica's share of the global batch mean
        under a strategy with several replicas)."""
        logits = as_float32(logits)
        labels = tf.cast(tf.reshape(labels, [-1]), logits.dtype)
        return batch_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))

    def compute_losses(self, batch, training: bool = True) -> dict[str, tf.Tensor]:
        """``{"loss": BCE + the regularisation losses}`` (each replica's share of them) for a
        batch ``(inputs, labels)``."""
        inputs, labels = batch
        loss = self.compute_bce(labels, self.logits(inputs, training=training))
        if self.losses:
            loss = loss + replica_share(tf.add_n([as_float32(term) for term in self.losses]))
        return {"loss": loss}
