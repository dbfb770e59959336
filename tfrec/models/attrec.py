"""AttRec: self-attentive sequential recommendation (Zhang et al., AAAI 2018).

Ports seed 001 ("AttRec on MovieLens-1M", sections "Model": ``SelfAttention_Layer``, ``AttRec``;
"Evaluate": ``evaluate_model``). Shapes: ``B`` examples, ``L`` history length (``maxlen``),
``d = embed_dim``, ``C`` candidates.

A (user, history, item) is scored from a long-term and a short-term part, weighted by ``w``::

    s = SequenceSelfAttention(E_item[history], history != 0)          # [B, d] short-term interest
    inner mode:  score = w * <E_user[u], E_item2[i]> + (1 - w) * <s, E_item[i]>
    dist  mode:  dist  = w * |clip(E_user[u]) - clip(E_item2[i])|^2 + (1 - w) * |s - clip(E_item[i])|^2

with ``clip`` = ``tf.clip_by_norm(., 1)`` per row. ``E_item`` (history and short-term target
side) and ``E_item2`` (long-term side) are separate tables, as in the reference. Training takes
``(user, history, positive, negative)``:

* ``inner``: ``mean(-log sigmoid(score_pos - score_neg))`` (computed as ``softplus``: same
  value, no ``log(0)`` when the sigmoid underflows);
* ``dist``: ``sum(relu(dist_pos - dist_neg + gamma))`` -- a **sum** over the batch, as the
  reference writes it (so the effective learning rate scales with the batch size);

plus ``embed_reg * sum of squares`` of each whole embedding table (Keras'
``embeddings_regularizer=l2(embed_reg)`` in the reference). ``call``/``predict`` return a
ranking score where higher is better: the inner-mode score, or the negated distance.

Initialisation as the reference: embeddings N(0, 0.05^2) (Keras ``random_normal``), attention
``W`` U(-0.05, 0.05). Defaults: ``embed_dim=100, w=0.5, gamma=0.5, embed_reg=1e-6``, mode
``inner``; ``L = 5``, lr 1e-3, batch 1024, 40 epochs are training settings (registry).

Deliberate choices (see also :mod:`tfrec.data.sequences`):

* NDCG is reported with log2 (the standard); the reference's ``getNDCG`` uses the natural log,
  ``1/ln(r+2)``, which is the standard value divided by ``ln 2`` (1.443 times larger).
* The reference's MRR has no cut-off; tfrec reports both ``MRR@K`` and the uncut ``MRR``.
* Ranking ties count against the positive, as the reference's ``pos <= neg`` does.

Mixed precision: the embeddings and the self-attention compute in the policy's 16-bit dtype,
the scores (the final products) and losses in float32. Under a ``tf.distribute`` strategy the
``inner`` loss is each replica's share of the global batch mean, ``dist``'s sum needs no
scaling, and the L2 term is divided by the number of replicas (:mod:`tfrec.distribute`).
"""

from __future__ import annotations


from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.distribute import batch_mean, replica_share
from tfrec.layers.sequence_attention import SequenceSelfAttention
from tfrec.models.base import Recommender, as_float32
from tfrec.validation import check_positive_int

MODES = ("inner", "dist")


@keras.saving.register_keras_serializable(package="tfrec")
class AttRec(Recommender):
    """AttRec with ``inner`` (BPR-style) and ``dist`` (metric, hinge) modes.

    A long-term user-item part and a short-term part (self-attention over the latest ``L``
    items), weighted by ``w`` (see the module docstring)::

        s = SequenceSelfAttention(E_item[history], history != 0)                   [B, d]
        inner: score = w <E_user[u], E_item2[i]> + (1 - w) <s, E_item[i]>
        dist:  score = -(w |E_user[u] - E_item2[i]|^2 + (1 - w) |s - E_item[i]|^2)

    where ``dist`` clips each embedding row (not ``s``) to norm 1.

    Trained on ``(user, history, positive, negative)`` with ``mean(-log sigmoid(pos - neg))``
    (``inner``) or ``sum(relu(dist_pos - dist_neg + gamma))`` (``dist``), plus ``embed_reg``
    times the squared norm of every embedding table.

    Input shape:
        ``call``: ``(user_ids [B], histories [B, L], item_ids [B])`` int, or a dict with keys
        ``"user_id"``, ``"history"``, ``"item_id"``; 0 pads histories (the training ones on the left).
        :meth:`compute_losses`: ``{"user_id" [B], "history" [B, L], "pos_item" [B],
        "neg_item" [B]}``.

    Output shape:
        ``call``: ``[B]`` ranking scores, higher is better (not probabilities);
        :meth:`ranking_scores`: ``[B, C]`` for ``candidates [B, C]``, else ``[B, num_items]``
        (column ``j`` is item ``j + 1``).

    Args:
        num_users: users ``0 .. num_users - 1``.
        num_items: items ``1 .. num_items`` (``0`` pads histories).
        maxlen: history length ``L`` the model is served with (seed 001: 5).
        embed_dim: ``d`` (seed 001: 100).
        mode: ``"inner"`` or ``"dist"``.
        w: weight of the long-term part (seed 001: 0.5).
        gamma: hinge margin in ``dist`` mode (seed 001: 0.5).
        embed_reg: L2 weight on every embedding table (seed 001: 1e-6).

    Example:
        >>> import numpy as np
        >>> from tfrec.models import AttRec
        >>> model = AttRec(num_users=10, num_items=20, maxlen=3, embed_dim=8)
        >>> users, histories = np.array([0, 1]), np.array([[0, 1, 2], [3, 4, 5]])
        >>> model((users, histories, np.array([6, 7]))).shape  # higher = better
        TensorShape([2])
        >>> model.ranking_scores({"user_id": users, "history": histories}).shape
        TensorShape([2, 20])
        >>> sorted(model.compute_losses({"user_id": users, "history": histories,
        ...                              "pos_item": np.array([6, 7]), "neg_item": np.array([8, 9])}))
        ['l2', 'loss', 'ranking_loss']

    References:
        - Shuai Zhang, Yi Tay, Lina Yao, Aixin Sun, "Next Item Recommendation with
          Self-Attention" (2018).
        - Seed 001 ("AttRec on MovieLens-1M"): ``SelfAttention_Layer``, ``AttRec``,
          ``evaluate_model``.
    """

    def __init__(self, num_users: int, num_items: int, maxlen: int = 5, embed_dim: int = 100, mode: str = "inner",
                 w: float = 0.5, gamma: float = 0.5, embed_reg: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.num_users = check_positive_int("num_users", num_users)
        self.num_items = check_positive_int("num_items", num_items)
        self.maxlen = check_positive_int("maxlen", maxlen)
        self.embed_dim = check_positive_int("embed_dim", embed_dim)
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}; got {mode!r}")
        if not 0.0 <= float(w) <= 1.0:
            raise ValueError(f"`w` must be in [0, 1]; got {w!r}")
        if float(embed_reg) < 0 or float(gamma) < 0:
            raise ValueError(f"`embed_reg` and `gamma` must be >= 0; got {embed_reg!r}, {gamma!r}")
        self.mode, self.w, self.gamma, self.embed_reg = mode, float(w), float(gamma), float(embed_reg)
        init = keras.initializers.RandomNormal(stddev=0.05)
        self.user_embedding = keras.layers.Embedding(self.num_users, self.embed_dim, embeddings_initializer=init, name="user_embedding")
        self.item_embedding = keras.layers.Embedding(self.num_items + 1, self.embed_dim, embeddings_initializer=init, name="item_embedding")
        self.item2_embedding = keras.layers.Embedding(self.num_items + 1, self.embed_dim, embeddings_initializer=init, name="item2_embedding")
        self.attention = SequenceSelfAttention(name="self_attention")
        self.make_loss_trackers("loss", "ranking_loss", "l2")

    @classmethod
    def from_data(cls, data, **hyperparameters) -> "AttRec":
        """Build for :class:`~tfrec.data.types.SequenceData` (its sizes and ``maxlen``)."""
        model = cls(num_users=data.num_users, num_items=data.num_items, maxlen=data.maxlen, **hyperparameters)
        model.build()
        return model

    def build(self, input_shape=None):
        if self.built:
            return
        for table in (self.user_embedding, self.item_embedding, self.item2_embedding):
            table.build((None,))
        self.attention.build((None, None, self.embed_dim))
        self.built = True

    # ----------------------------------------------------------------------------------------
    def short_term(self, histories) -> tf.Tensor:
        """``histories`` ``[B, L]`` item ids (0 = padding) -> ``[B, d]`` short-term interest."""
        histories = tf.cast(histories, tf.int32)
        return self.attention(self.item_embedding(histories), tf.not_equal(histories, 0))

    def _parts(self, users, items):
        user, item, item2 = self.user_embedding(users), self.item_embedding(items), self.item2_embedding(items)
        if self.mode == "dist":
            user, item, item2 = (tf.clip_by_norm(t, 1.0, axes=[-1]) for t in (user, item, item2))
        return user, item, item2

    def raw_scores(self, users, short, items) -> tf.Tensor:
        """Inner-mode scores or dist-mode distances of ``items`` ``[B]`` or ``[B, C]``, float32
        (under a mixed policy the embeddings and the attention are computed in the compute
        dtype and the final products in float32)."""
        users, items = tf.cast(users, tf.int32), tf.cast(items, tf.int32)
        user, item, item2 = (as_float32(t) for t in self._parts(users, items))
        short = as_float32(short)
        if items.shape.rank == 2:  # candidates per user: broadcast the user-side vectors
            user, short = user[:, None, :], short[:, None, :]
        if self.mode == "inner":
            return self.w * tf.reduce_sum(user * item2, -1) + (1.0 - self.w) * tf.reduce_sum(short * item, -1)
        return self.w * tf.reduce_sum(tf.square(user - item2), -1) + (1.0 - self.w) * tf.reduce_sum(tf.square(short - item), -1)

    def score(self, users, histories, items) -> tf.Tensor:
        """Ranking scores (higher = better) of ``items`` ``[B]`` or ``[B, C]`` for each user."""
        raw = self.raw_scores(users, self.short_term(histories), items)
        return raw if self.mode == "inner" else -raw

    def call(self, inputs, training=False):
        """``(user_ids [B], histories [B, L], item_ids [B])`` (or a dict with those keys) -> ``[B]``."""
        if isinstance(inputs, dict):
            inputs = (inputs["user_id"], inputs["history"], inputs["item_id"])
        users, histories, items = inputs
        return self.score(tf.reshape(users, [-1]), histories, tf.reshape(items, [-1]))

    # ----------------------------------------------------------------------------------------
    def ranking_scores(self, inputs: dict, candidates=None, context=None) -> tf.Tensor:
        """:meth:`score` of ``inputs`` ``{"user_id": [B], "history": [B, L]}`` against
        ``candidates [B, C]``, or every item (``[B, num_items]``, column ``j`` is item ``j + 1``)."""
        users = inputs["user_id"]
        if candidates is None:
            candidates = tf.tile(tf.range(1, self.num_items + 1)[None, :], [tf.shape(users)[0], 1])
        return self.score(users, inputs["history"], candidates)

    def compute_losses(self, batch, training: bool = True) -> dict[str, tf.Tensor]:
        """``{"loss", "ranking_loss", "l2"}`` for ``{"user_id", "history", "pos_item", "neg_item"}``."""
        short = self.short_term(batch["history"])
        positive = self.raw_scores(batch["user_id"], short, batch["pos_item"])
        negative = self.raw_scores(batch["user_id"], short, batch["neg_item"])
        if self.mode == "inner":
            ranking = batch_mean(tf.nn.softplus(negative - positive))  # = -log sigmoid(pos - neg)
        else:  # a sum over the batch: each replica's part of it adds up across replicas as it is
            ranking = tf.reduce_sum(tf.nn.relu(positive - negative + self.gamma))
        l2 = replica_share(self.embed_reg * tf.add_n([
            tf.reduce_sum(tf.square(table.embeddings))
            for table in (self.user_embedding, self.item_embedding, self.item2_embedding)
        ]))
        return {"loss": ranking + l2, "ranking_loss": ranking, "l2": l2}

    # ----------------------------------------------------------------------------------------
    def serving_history(self, history) -> tf.Tensor:
        """A served history ``[B, L']`` int (0 = padding, anywhere; any ``L'``) as the model's
        ``[B, maxlen]``: the items in their order, moved to the right and left-padded with 0,
        as the training histories are. More than ``maxlen`` items in a row fails with a
        ``tf.debugging`` error naming ``maxlen``."""
        history = tf.cast(history, tf.int32)
        count = tf.reduce_sum(tf.cast(tf.not_equal(history, 0), tf.int32), axis=1)
        check = tf.debugging.assert_less_equal(
            count, self.maxlen, message=f"history has more than maxlen={self.maxlen} items; pass the latest {self.maxlen}"
        )
        with tf.control_dependencies([check]):
            padded = tf.concat([tf.zeros([tf.shape(history)[0], self.maxlen], tf.int32), history], axis=1)
        order = tf.argsort(tf.cast(tf.not_equal(padded, 0), tf.int32), axis=1, stable=True)  # padding first
        return tf.reshape(tf.gather(padded, order, batch_dims=1)[:, -self.maxlen:], [-1, self.maxlen])

    def serving_endpoints(self):
        """Functions of internal ids that :func:`tfrec.export.export_saved_model` serves in raw
        ids: ``score(user_id [B], history [B, L'], item_id [B]) -> [B]`` and
        ``score_all(user_id [B], history [B, L']) -> [B, num_items]`` (column ``j`` is item
        ``j + 1``); histories as :meth:`serving_history` takes them."""
        from tfrec.models.base import ServingFunctions

        users = tf.TensorSpec([None], tf.int32, name="user_id")
        history = tf.TensorSpec([None, None], tf.int32, name="history")

        @tf.function(input_signature=[users, history, tf.TensorSpec([None], tf.int32, name="item_id")], autograph=False)
        def score(user_id, history, item_id):
            return self.score(user_id, self.serving_history(history), item_id)

        @tf.function(input_signature=[users, history], autograph=False)
        def score_all(user_id, history):
            candidates = tf.tile(tf.range(1, self.num_items + 1)[None, :], [tf.shape(user_id)[0], 1])
            return self.score(user_id, self.serving_history(history), candidates)

        meaning = "ranking score, higher is better: " + (
            "w * <user, item2> + (1 - w) * <short-term, item> (inner mode)" if self.mode == "inner"
            else "the negated weighted squared distance (dist mode)"
        ) + "; not a probability"
        return ServingFunctions(score=score, score_all=score_all, score_meaning=meaning, item_offset=1)

    def get_config(self):
        return {
            **super().get_config(),
            "num_users": self.num_users,
            "num_items": self.num_items,
            "maxlen": self.maxlen,
            "embed_dim": self.embed_dim,
            "mode": self.mode,
            "w": self.w,
            "gamma": self.gamma,
            "embed_reg": self.embed_reg,
        }
