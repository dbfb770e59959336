"""COTREC: self-supervised graph co-training for session-based recommendation (Xia et al., CIKM 2021).

Ports seed 002 ("Model": ``ItemConv``, ``SessConv``, ``COTREC``; "Dataset": ``Data``;
"Experiment" ``Args``). Shapes: ``N`` items (``n_node``; item ``i`` is row ``i - 1``), ``d``
embedding size, ``B`` sessions in a batch, ``L`` padded session length, ``K`` mined positives
(10), ``C`` mining candidates (5000). A batch is ``{"items" [B, L] int32 (clicks oldest first,
0-padded on the right), "lengths" [B] int32, "targets" [B] int32 (1-based next items)}``.

One training step (``COTREC.forward(train=True)`` then ``loss.backward()``)::

    E          = item table [N, d]                                   (the only embedding table)
    X          = ItemConv(E, A)          [N, d]   item view, A = column-normalised transition graph
    S_I        = w_k * normalize(attention(X[reversed session]))    [B, d]   (w_k = 10)
    X_n        = normalize(X)                                        [N, d]
    scores     = S_I @ X_n^T             [B, N]   -> loss_item = mean cross-entropy
    S_S        = SessConv(mean_t E[session], D^-1 A_overlap)         [B, d]   session view
    scores_s   = S_S @ X_n^T             [B, N]
    mining     : each view ranks items, its top C give K positives (ranks 0..K-1) and K negatives
                 (random ranks K..C-1) for the *other* view; contrastive loss (temperature 0.2)
                 of anchor normalize(last item + session) against normalize(item + session)
    adversarial: adv = eps * normalize_rows(d CE(S @ (X_n + adv_prev)^T) / d adv) for each view,
                 kept as state; KL(softmax(scores) || softmax(scores with X_n + adv)) at the mask
    loss       = loss_item + beta * contrastive + lam * KL

Evaluation and serving score ``S_I @ X_n^T`` with ``X`` propagated once (:meth:`CoTRec.item_view`).

**The reference's quirks** -- each reproduced by default, each behind a named option whose
other value is the corrected version (``../shared/seeds/README.md``):

* ``session_view="detached"``: ``SessConv`` round-trips through numpy, so no gradient reaches the
  session view (``tf.stop_gradient`` here); ``"differentiable"`` lets the gradient through to
  the item table (and the maps when trained).
* ``graph_maps="fixed"``: the per-layer ``nn.Linear`` maps of ``ItemConv`` and ``SessConv`` live
  in a plain ``dict`` PyTorch never registers: never trained, never re-initialised (default
  Linear init, U(-1/sqrt(d), 1/sqrt(d)), the same law as the other weights); ``"trained"``
  trains them.
* ``diff_mask="target_only"``: ``diff_mask.long()`` truncates the fill 1/(N-1) to 0, so the KL
  term sees each session's target item only; ``"weighted"`` uses the float mask the reference
  builds (1 at the target, 1/(N-1) elsewhere).
* ``predict_product="reference"``: ``example_predicting`` computes ``softmax(X_n @ S, dim=0)``
  with ``X_n`` ``[N, d]`` and ``S`` ``[B, d]``: it contracts the embedding axis with the batch
  axis, so it runs only when ``B == d`` (both 100) and column ``j`` ranks items by embedding
  coordinate ``j`` across the batch; ``"corrected"`` ranks by ``X_n @ S^T`` (column ``b`` is
  session ``b``), for any batch size. (The softmax over items does not change a column's order:
  the top-``C`` is taken from the logits.)
* ``negative_draw="shared"``: one draw of ``K`` ranks in ``[K, C)`` per step for the whole
  batch, shared by both views (``topk_func_random``'s one ``torch.randint(K, num, (K,))`` indexes
  both rankings); ``"per_session"`` draws ``K`` ranks per session (one draw per step too,
  shared by the two views of a session).
* ``ssl_layout="reshape"``: ``SSL_topk`` turns the ``[K, B, d]`` mined embeddings into
  ``[B, K, d]`` with ``reshape`` (mixing sessions); ``"transpose"`` keeps session ``b``'s own.
* ``ssl_reduction="sum"``: the contrastive loss is a sum over the batch; ``"mean"`` averages.
* ``adversarial_pairing="crossed"``: ``adv_item`` is computed with the item view's ``S_I`` but
  applied to the session view's scores (and ``adv_sess`` the other way round); ``"matched"``
  applies each perturbation to the view it was computed with.
* ``mining="crossed"``: each view's positives/negatives come from the *other* view's ranking.
  This is the paper's co-training design, not a bug; ``"own"`` (each view mines for itself) is
  an ablation, not a correction.
* Batch filling (``Data.get_slice``'s hard-coded 100 rows, ``generate_batch``'s last batch taken
  as the last ``B`` rows of the shuffled order) is the training setting ``last_batch``
  (``"reference"`` / ``"partial"``) of :func:`tfrec.data.pipelines.session_training_data`.
* Tmall and positions: the notebook asks for ``tmall`` but tests ``dataset == 'Tmall'``, so as it
  runs Tmall uses the position-aware attention (``use_positions=True``, the default); the
  original repository uses ``use_positions=False`` for Tmall.
* Optimizer: ``torch.optim.Adam`` (lr 1e-3, epsilon 1e-8 inside the bias correction);
  ``tfrec train`` compiles with :class:`tfrec.optimizers.TorchAdam`, the same step (training
  setting ``optimizer=torch_adam``; ``adam`` is Keras' form, which differs for small gradients).
* Not reproduced because they have no effect: ``w_i`` / ``w_s`` (defined, never used) and the
  ``l2`` argument (never passed to Adam): no weight decay here either.

Other choices: ``F.normalize``'s ``max(||x||, 1e-12)`` is matched exactly; the adversarial
gradient is computed in closed form, ``(softmax(logits) - onehot)^T @ S / B`` (the gradient of
the mean cross-entropy with respect to the perturbation; the NumPy test checks it against
central differences), and the perturbation state ``adv_item`` / ``adv_sess`` is stored
transposed, ``[d, N]`` (faster products); ties in the top-``C`` order are broken by item index
(``torch.topk`` leaves them unspecified); the top-``C`` is exact (:func:`top_candidates`).
Three rewrites change no math, only the work: each target's score ``S[b] . X_n[target_b]`` is a
dot product (so the cross-entropy and the KL term need no dense ``[B, N]`` gradient of a
lookup), the cross-entropy and the KL term share one ``logsumexp`` per row, and every row lookup
of a table goes through one ``tf.identity`` so that its sparse gradients are added before they
are made dense (once per table, not once per lookup).
The reference's evaluation pads its last test batch with earlier rows (counting some twice);
here each test prefix is ranked once (:class:`tfrec.training.SessionTask`). Sessions longer
than ``max_len`` keep their latest ``max_len`` clicks (the reference would fail on them).

Mixed precision (``--precision mixed_bfloat16``): the soft attention and ``SessConv`` compute in
the 16-bit dtype; ``ItemConv`` (TensorFlow's CSR kernel is float32-only), the session and item
vectors that are scored, every score product, the top-``C`` mining and every loss stay float32,
so the speed-up is small.

**Under a ``tf.distribute`` strategy** (``--strategy mirrored`` / ``multiworker``, ``R`` replicas,
each given a consecutive share ``B_r`` of the global batch ``B`` by Keras) every replica builds
the session-overlap graph ``A_overlap`` over **its own** ``B_r`` sessions: an overlap edge between
two sessions on different replicas is lost, and the row normalisation ``D^-1`` of a session that
had one counts only its neighbours on its own replica. That is the one place where the split
changes the math. A session's ``S_S`` can differ from the one-device value only when it, or a
session within ``num_layers - 1`` overlap hops of it on its own replica, overlaps a session on
another replica (``SessConv`` layer ``l`` mixes ``l`` hops); through ``S_S`` the difference
reaches the session view's scores (its KL term), its ranking (the item view's mined positives
and negatives; the session view's own with ``mining="own"``), the session-view contrastive
term, ``adv_sess`` and, with ``session_view="differentiable"``, the gradients through
``SessConv``, and from the first such step on the parameters. With ``num_layers=0``, or when
no overlap edge crosses replicas, a step is one device's up to rounding (the replicas' partial
sums add in another order). COTREC amplifies rounding over steps -- Adam's ``m / sqrt(v)`` on
near-zero gradient entries, near-tied items at the top-``C`` boundaries, ``normalize`` of a
nearly cancelling adversarial column -- so two long runs of equal math agree step by step, not
over the whole run. Everything else is one device's math:

* the cross-entropy is each replica's share of the mean over the global batch
  (:func:`tfrec.distribute.batch_mean`), the contrastive and KL sums are each replica's part of
  the sum (``ssl_reduction="mean"`` uses ``batch_mean``), so the replicas' summed gradients are
  the global loss's and the logged terms (:func:`tfrec.distribute.replica_total`) the global
  batch's; there is no whole-table regulariser;
* mining: each replica ranks its share of the rows of the one-device ranking (its own sessions;
  with ``predict_product="reference"`` rows ``start .. stop`` of ``(X @ S)^T``, from ``S``
  all-gathered over the replicas), takes their exact top ``C`` and all-gathers the mined item
  ids, so ``ssl_layout="reshape"`` mixes the rows of the *global* batch as one device does;
  every replica draws the same negative ranks (one draw of the global shape from the model's
  seed generator, whose state advances once per step on every replica; ``"per_session"``
  keeps its rows of the ``[B, K]`` draw);
* the adversarial gradient ``S^T (softmax - onehot) / B`` is all-reduced (summed over the
  replicas, divided by the global ``B``), so every replica perturbs by the same direction;
  ``adv_item`` / ``adv_sess`` are non-trainable variables with aggregation
  ``ONLY_FIRST_REPLICA`` (the replicas' values are identical);
* every replica propagates the whole item graph (``ItemConv``) itself.

No batch size is refused: the shares may be uneven or empty (the last ``partial`` batch); with
``predict_product="reference"`` the global batch must still equal ``embed_dim``
(:meth:`CoTRec.check_training`). Per step, besides the gradients' all-reduce, the split costs
an all-reduce of ``2 d N`` floats (the adversarial gradients), an all-gather of ``[B, 4K]``
mined ids and, with the reference product, of ``[B, 2d]`` session embeddings.
"""

from __future__ import annotations

import numbers
import random

import numpy as np

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.distribute import batch_mean, global_sum, num_replicas
from tfrec.layers.session_attention import SessionSoftAttention
from tfrec.layers.session_graph import ItemConv, SessConv, l2_normalize, session_overlap, uniform_init
from tfrec.models.base import Recommender, as_float32
from tfrec.validation import check_non_negative, check_positive_int

OPTIONS = {
    "session_view": ("detached", "differentiable"),
    "graph_maps": ("fixed", "trained"),
    "diff_mask": ("target_only", "weighted"),
    "predict_product": ("reference", "corrected"),
    "negative_draw": ("shared", "per_session"),
    "ssl_layout": ("reshape", "transpose"),
    "ssl_reduction": ("sum", "mean"),
    "adversarial_pairing": ("crossed", "matched"),
    "mining": ("crossed", "own"),
    "topk_method": ("nth_element", "top_k"),
}
CORRECTED = {name: values[1] for name, values in OPTIONS.items() if name not in ("mining", "topk_method")}


_STRIDE = 8


def top_candidates(scores: tf.Tensor, k: int, method: str = "nth_element") -> tf.Tensor:
    """``[R, k]`` int32 indices of each row's ``k`` largest scores, largest first (exact).

    ``"top_k"`` is ``tf.math.top_k``. ``"nth_element"`` finds a threshold with
    ``tf.raw_ops.NthElement`` -- on every 8th column, checked to leave at least ``k`` entries per
    row, else the exact ``k``-th largest value -- keeps the entries at or above it (about 1.15 k
    per row) and sorts only those: the same indices (``top_k`` breaks ties by lower index, and so
    does the sort of the kept entries, which keep their column order), about 2x cheaper for ``k``
    in the thousands. The kept entries are sorted whole (``top_k`` with ``k`` = their width), which
    TensorFlow does faster than a partial ``top_k``.
    """
    if method == "top_k":
        return tf.math.top_k(scores, k=k, sorted=True).indices
    width = scores.shape[-1]
    exact = lambda: scores >= tf.raw_ops.NthElement(input=scores, n=k - 1, reverse=True)[:, None]  # noqa: E731
    if width is not None and 4 * k <= width:
        sample = scores[:, ::_STRIDE]
        rank = min(int(sample.shape[-1]) - 1, -(-k * 115 // (100 * _STRIDE)))
        above = scores >= tf.raw_ops.NthElement(input=sample, n=rank, reverse=True)[:, None]
        enough = tf.reduce_all(tf.reduce_sum(tf.cast(above, tf.int32), axis=1) >= k)
        kept = tf.cond(enough, lambda: above, exact)
    else:
        kept = exact()
    hits = tf.where(kept)  # [M, 2] row-major; at least k per row
    rows = tf.shape(scores, out_type=tf.int64)[0]
    padded = lambda values, fill: tf.RaggedTensor.from_value_rowids(  # noqa: E731
        values, hits[:, 0], nrows=rows).to_tensor(default_value=fill)
    values = padded(tf.gather_nd(scores, hits), tf.constant(-np.inf, scores.dtype))  # [R, W >= k]
    columns = padded(tf.cast(hits[:, 1], tf.int32), 0)
    order = tf.math.top_k(values, k=tf.shape(values)[1], sorted=True).indices[:, :k]
    return tf.gather(columns, order, batch_dims=1)


class ReplicaRows:
    """This replica's rows ``start .. stop`` of the global batch (``total`` rows) under a strategy
    with several replicas: Keras gives each replica a consecutive share, in replica order, so
    the concatenation of the shares (:meth:`gather`) is the one-device batch."""

    def __init__(self, rows: tf.Tensor):
        self.context = tf.distribute.get_replica_context()
        sizes = self.context.all_gather(tf.reshape(tf.cast(rows, tf.int32), [1]), axis=0)  # [R]
        replica = tf.cast(self.context.replica_id_in_sync_group, tf.int32)
        self.start = tf.reduce_sum(sizes[:replica])
        self.stop = self.start + tf.cast(rows, tf.int32)
        self.total = tf.reduce_sum(sizes)

    @staticmethod
    def split() -> bool:
        """Whether the batch is split: several replicas, inside a replica context."""
        return num_replicas() > 1 and tf.distribute.in_cross_replica_context() is False

    def gather(self, local: tf.Tensor) -> tf.Tensor:
        """The replicas' ``local`` ``[B_r, ...]`` concatenated: ``[B, ...]`` (sizes may differ)."""
        return self.context.all_gather(local, axis=0)


def clicked_rows(table: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
    """``[B, L, d]`` rows of ``table`` ``[N, d]`` for ``items`` ``[B, L]`` (item ``i`` is row
    ``i - 1``), zero where ``items`` is the padding 0 (what the reference's prepended zero row
    gives, without copying the table)."""
    rows = tf.gather(table, tf.maximum(items - 1, 0))
    return rows * tf.cast(tf.not_equal(items, 0), rows.dtype)[..., None]


@keras.saving.register_keras_serializable(package="tfrec")
class CoTRec(Recommender):
    """COTREC with every reference quirk as a named option (see the module docstring).

    Two graph encoders of one item table ``E`` ``[N, d]`` -- the item view over the item
    transition graph and the session view over the batch's session-overlap graph -- mine
    positives and negatives for each other; training minimises (module docstring for each
    term)::

        S_I = w_k * normalize(attention(ItemConv(E, A)[reversed session]))      [B, d]
        scores = S_I @ normalize(ItemConv(E, A))^T                              [B, N]
        loss = cross_entropy(scores, target) + beta * contrastive + lam * KL

    Under a ``tf.distribute`` strategy each replica builds the session-overlap graph over its own
    share of the batch: overlap edges between sessions on different replicas are lost (and the
    ``D^-1`` row normalisation of their sessions counts only same-replica neighbours), which
    changes the session view ``S_S`` and what it reaches (its scores' KL term, its ranking, hence
    the mined positives / negatives, the session-view contrastive term, ``adv_sess``). The rest is
    one device's math: per-session means over the global batch, sums split by replica, mined ids
    all-gathered and arranged for the global batch, the same negative draw on every replica, and
    the adversarial gradient all-reduced (module docstring). With ``num_layers=0``, or a batch
    whose sessions overlap only sessions on their own replica, a step is one device's (up to
    rounding).

    Input shape:
        ``call``: ``session_items`` ``[B, L]`` int, clicks oldest first, 0 = padding;
        :meth:`ranking_scores`: ``{"session_items": [B, L]}`` (and ``candidates [B, C]``,
        1-based); :meth:`compute_losses`: ``{"items" [B, L], "lengths" [B], "targets" [B]}``
        (0-padded on the right, 1-based targets).

    Output shape:
        ``call`` / :meth:`ranking_scores`: ``[B, N]`` item-view scores (logits of the softmax
        over all items; column ``j`` is item ``j + 1``), or ``[B, C]`` for candidates;
        :meth:`recommend`: ``([B, k] item ids, [B, k] scores)``.

    Args:
        num_items: items ``1 .. num_items`` (``n_node``); ``0`` pads sessions.
        num_edges: stored entries of the item transition graph (set by :meth:`from_data`; the
            graph itself is model state, so a saved model scores without the data).
        embed_dim: ``d`` (seed 002: 100).
        num_layers: graph-convolution layers of both views (seed 002: 2).
        beta: weight of the contrastive co-training loss.
        lam: weight of the KL "difference" loss.
        eps: norm of the adversarial perturbations.
        use_positions: position-aware attention (``generate_sess_emb``) or not (``_npos``).
        max_len: position-table rows (200; 300 for RetailRocket).
        w_k: scale of the normalised item-view session embedding (10).
        num_positives: ``K`` (10).
        num_candidates: ``C``, the ranking depth negatives are drawn from (5000; clipped to
            ``num_items``).
        temperature: contrastive temperature (0.2).
        seed: seed of the negative-rank draws (``tfrec train`` passes its ``--seed``); ``None``
            takes one from Python's ``random``, which ``keras.utils.set_random_seed`` seeds.
        session_view, graph_maps, diff_mask, predict_product, negative_draw, ssl_layout,
        ssl_reduction, adversarial_pairing, mining: the quirk options (module docstring);
            the first value of each is the reference's.
        topk_method: ``"nth_element"`` or ``"top_k"`` for the top-``C`` (same result).

    Example:
        :meth:`from_data` builds the model and stores the item graph of a
        :class:`~tfrec.data.types.SessionData`; by hand, with two training sessions:

        >>> import numpy as np
        >>> from tfrec.data.sessions import item_transition_graph
        >>> from tfrec.models import CoTRec
        >>> graph = item_transition_graph([[1, 2, 3], [2, 4]], 30)
        >>> model = CoTRec(num_items=30, num_edges=graph.nnz, embed_dim=8, num_candidates=20, seed=0)
        >>> model.build(); model.set_item_graph(graph)
        >>> model(np.array([[1, 2, 3], [2, 4, 0]])).shape
        TensorShape([2, 30])
        >>> sorted(model.compute_losses({"items": np.array([[1, 2, 3], [2, 4, 0]]),
        ...                              "lengths": np.array([3, 2]), "targets": np.array([4, 5])}, training=False))
        ['contrastive', 'cross_entropy', 'difference', 'loss']

    References:
        - Xin Xia, Hongzhi Yin, Junliang Yu, Yingxia Shao, Lizhen Cui, "Self-Supervised Graph
          Co-Training for Session-based Recommendation", CIKM 2021.
        - Seed 002 ("Training COTREC Session-based recommendation model on Diginetica, Tmall,
          and RetailRocket datasets"): ``ItemConv``, ``SessConv``, ``COTREC``, ``Data``,
          ``Args``.
    """

    def __init__(
        self,
        num_items: int,
        num_edges: int = 0,
        embed_dim: int = 100,
        num_layers: int = 2,
        beta: float = 0.005,
        lam: float = 0.005,
        eps: float = 0.2,
        use_positions: bool = True,
        max_len: int = 200,
        w_k: float = 10.0,
        num_positives: int = 10,
        num_candidates: int = 5000,
        temperature: float = 0.2,
        seed: int | None = None,
        session_view: str = "detached",
        graph_maps: str = "fixed",
        diff_mask: str = "target_only",
        predict_product: str = "reference",
        negative_draw: str = "shared",
        ssl_layout: str = "reshape",
        ssl_reduction: str = "sum",
        adversarial_pairing: str = "crossed",
        mining: str = "crossed",
        topk_method: str = "nth_element",
        **kwargs,
    ):
        kwargs.setdefault("name", "cotrec")
        super().__init__(**kwargs)
        self.num_items = check_positive_int("num_items", num_items)
        if isinstance(num_edges, bool) or not isinstance(num_edges, numbers.Integral) or num_edges < 0:
            raise ValueError(f"`num_edges` must be a non-negative integer; got {num_edges!r}")
        self.num_edges = int(num_edges)
        self.embed_dim = check_positive_int("embed_dim", embed_dim)
        if isinstance(num_layers, bool) or not isinstance(num_layers, numbers.Integral) or num_layers < 0:
            raise ValueError(f"`num_layers` must be a non-negative integer; got {num_layers!r}")
        self.num_layers = int(num_layers)
        self.beta, self.lam, self.eps = (check_non_negative(n, v) for n, v in (("beta", beta), ("lam", lam), ("eps", eps)))
        self.w_k = check_non_negative("w_k", w_k)
        self.temperature = check_non_negative("temperature", temperature)
        if self.temperature == 0:
            raise ValueError("`temperature` must be positive; got 0")
        if not isinstance(use_positions, bool):
            raise ValueError(f"`use_positions` must be True or False; got {use_positions!r}")
        self.use_positions = use_positions
        self.max_len = check_positive_int("max_len", max_len)
        self.num_positives = check_positive_int("num_positives", num_positives)
        self.num_candidates = check_positive_int("num_candidates", num_candidates)
        if self.mining_depth <= self.num_positives:
            raise ValueError(
                f"`num_candidates` (clipped to num_items = {self.num_items}) must exceed `num_positives` = "
                f"{self.num_positives}: negatives are drawn from ranks num_positives .. num_candidates - 1"
            )
        if seed is None:  # as Keras' own layers: from the global seed (keras.utils.set_random_seed)
            seed = random.randint(0, 2**31 - 1)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"`seed` must be a non-negative integer; got {seed!r}")
        self.seed = int(seed)
        self.options = {}
        for name, value in (
            ("session_view", session_view), ("graph_maps", graph_maps), ("diff_mask", diff_mask),
            ("predict_product", predict_product), ("negative_draw", negative_draw), ("ssl_layout", ssl_layout),
            ("ssl_reduction", ssl_reduction), ("adversarial_pairing", adversarial_pairing), ("mining", mining),
            ("topk_method", topk_method),
        ):
            if value not in OPTIONS[name]:
                raise ValueError(f"`{name}` must be one of {OPTIONS[name]}; got {value!r}")
            self.options[name] = value
        trained_maps = self.options["graph_maps"] == "trained"
        self.item_conv = ItemConv(self.num_layers, trainable_maps=trained_maps, name="item_conv")
        self.sess_conv = SessConv(self.num_layers, trainable_maps=trained_maps, name="sess_conv")
        self.attention = SessionSoftAttention(use_positions=use_positions, max_len=self.max_len, name="attention")
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="negative_draws")
        self.make_loss_trackers("loss", "cross_entropy", "contrastive", "difference")

    # ----------------------------------------------------------------------------------------
    @classmethod
    def from_data(cls, data, **hyperparameters) -> "CoTRec":
        """Build for :class:`~tfrec.data.types.SessionData`: its catalogue and the item transition
        graph of ``data.all_train_seq`` (the reference's ``Data(...).adjacency``)."""
        from tfrec.data.sessions import item_transition_graph

        adjacency = item_transition_graph(data.all_train_seq, data.num_items)
        model = cls(num_items=data.num_items, num_edges=int(adjacency.nnz), **hyperparameters)
        model.build()
        model.set_item_graph(adjacency)
        return model

    def build(self, input_shape=None):
        if self.built:
            return
        n, d = self.num_items, self.embed_dim
        self.item_embeddings = self.add_weight(name="item_embeddings", shape=(n, d), initializer=uniform_init(d))
        # the perturbations are kept transposed, [d, N]: the products S @ adv^T run faster so
        # set in the training step to the same all-reduced value on every replica: keep the first's
        self.adv_item = self.add_weight(name="adv_item", shape=(d, n), initializer="zeros", trainable=False,
                                        aggregation="only_first_replica")
        self.adv_sess = self.add_weight(name="adv_sess", shape=(d, n), initializer="zeros", trainable=False,
                                        aggregation="only_first_replica")
        self.graph_indices = self.add_weight(name="graph_indices", shape=(self.num_edges, 2), dtype="int64",
                                             initializer="zeros", trainable=False)
        self.graph_values = self.add_weight(name="graph_values", shape=(self.num_edges,), initializer="zeros",
                                            trainable=False)
        # the entries of A^T in row-major order, for ItemConv's deterministic gradient (tfrec.layers.sparse)
        self.graph_transpose_order = self.add_weight(name="graph_transpose_order", shape=(self.num_edges,),
                                                     dtype="int64", initializer="zeros", trainable=False)
        self.item_conv.build((n, d))
        self.sess_conv.build((None, d))
        self.attention.build((None, None, d))
        self.built = True

    def set_item_graph(self, adjacency) -> None:
        """Store the ``[N, N]`` item graph (scipy sparse, propagation ``A @ X``) in the model."""
        coo = adjacency.tocsr()
        coo.sort_indices()
        coo = coo.tocoo()
        if coo.shape != (self.num_items, self.num_items) or coo.nnz != self.num_edges:
            raise ValueError(
                f"adjacency must be [{self.num_items}, {self.num_items}] with {self.num_edges} entries; "
                f"got {coo.shape} with {coo.nnz}"
            )
        self.graph_indices.assign(np.stack([coo.row, coo.col], axis=1).astype(np.int64))
        self.graph_values.assign(coo.data.astype(np.float32))
        self.graph_transpose_order.assign(np.lexsort((coo.row, coo.col)).astype(np.int64))

    def item_graph(self) -> tf.sparse.SparseTensor:
        """The stored item graph as a ``tf.sparse.SparseTensor`` ``[N, N]`` (row-major order)."""
        return tf.sparse.SparseTensor(self.graph_indices, self.graph_values, [self.num_items, self.num_items])

    def item_graph_transposed(self) -> tf.sparse.SparseTensor:
        """``A^T`` ``[N, N]`` in row-major order, gathered from the stored graph (no sort per step)."""
        order = self.graph_transpose_order
        indices = tf.reverse(tf.gather(self.graph_indices, order), axis=[1])
        return tf.sparse.SparseTensor(indices, tf.gather(self.graph_values, order), [self.num_items, self.num_items])

    # ----------------------------------------------------------------------------------------
    # The two views
    # ----------------------------------------------------------------------------------------
    def item_view(self) -> tf.Tensor:
        """``[N, d]`` item-view embeddings ``X = ItemConv(E, A)`` (not normalised)."""
        return self.item_conv(self.item_embeddings, self.item_graph(), self.item_graph_transposed())

    def item_session_embedding(self, item_view, items, lengths) -> tf.Tensor:
        """``S_I`` ``[B, d]``: attention over the reversed session of ``X``, normalised, times ``w_k``."""
        items = tf.cast(items, tf.int32)
        lengths = tf.cast(lengths, tf.int32)
        reversed_items = tf.reverse_sequence(items, lengths, seq_axis=1, batch_axis=0)
        if self.use_positions:  # the position table has max_len rows: keep the latest max_len clicks
            reversed_items = reversed_items[:, : self.max_len]
            lengths = tf.minimum(lengths, self.max_len)
        sequence = clicked_rows(item_view, reversed_items)  # [B, L, d]
        attended = self.attention(sequence, tf.not_equal(reversed_items, 0), tf.maximum(lengths, 1))
        return self.w_k * l2_normalize(as_float32(attended))  # float32 under a mixed policy

    def session_view(self, items, lengths, table=None) -> tf.Tensor:
        """``S_S`` ``[B, d]``: ``SessConv`` over the batch's overlap graph from the item table
        (``table``: the item table's value when already read)."""
        items = tf.cast(items, tf.int32)
        table = self.item_embeddings if table is None else table
        if self.options["session_view"] == "detached":
            table = tf.stop_gradient(table)
        summed = tf.reduce_sum(clicked_rows(table, items), axis=1)
        means = summed / tf.cast(tf.maximum(lengths, 1), table.dtype)[:, None]
        out = as_float32(self.sess_conv(means, session_overlap(items)))  # float32 under a mixed policy
        return tf.stop_gradient(out) if self.options["session_view"] == "detached" else out

    # ----------------------------------------------------------------------------------------
    # Scoring and serving
    # ----------------------------------------------------------------------------------------
    @staticmethod
    def compact(session_items):
        """Move padding to the right (keeping the clicks' order): ``([B, L] items, [B] lengths)``."""
        items = tf.cast(session_items, tf.int32)
        order = tf.argsort(tf.cast(tf.equal(items, 0), tf.int32), axis=1, stable=True)
        items = tf.gather(items, order, batch_dims=1)
        return items, tf.reduce_sum(tf.cast(tf.not_equal(items, 0), tf.int32), axis=1)

    @staticmethod
    def scoring_table(item_view) -> tf.Tensor:
        """``normalize(X)^T`` ``[d, N]``: the right operand of every score product (a plain
        ``[B, d] @ [d, N]`` product is faster on a CPU than one with ``transpose_b``)."""
        return tf.transpose(l2_normalize(item_view))

    def score_items(self, item_view, items, lengths, table_t=None) -> tf.Tensor:
        """``[B, N]`` scores ``S_I @ normalize(X)^T`` of every item (logit ``i - 1`` = item ``i``);
        ``table_t`` is :meth:`scoring_table` of ``item_view`` when already computed."""
        sessions = self.item_session_embedding(item_view, items, lengths)
        return tf.matmul(sessions, self.scoring_table(item_view) if table_t is None else table_t)

    def call(self, session_items, training=False):
        """``session_items`` ``[B, L]`` int (0 = padding, clicks oldest first) -> ``[B, N]`` scores."""
        items, lengths = self.compact(session_items)
        return self.score_items(self.item_view(), items, lengths)

    def scoring_context(self):
        """``(item_view, scoring_table(item_view))``: the item graph propagated once per evaluation."""
        view = self.item_view()
        return view, self.scoring_table(view)

    def latest_clicks(self, items, lengths):
        """Each compacted session's latest ``max_len`` clicks (what the model trains on), the
        all-padding columns dropped: ``([B, L'] items, [B] lengths)``."""
        start = tf.maximum(lengths - self.max_len, 0)[:, None]
        positions = start + tf.range(self.max_len)[None, :]
        width = tf.shape(items)[1]
        kept = tf.gather(items, tf.minimum(positions, width - 1), batch_dims=1)
        lengths = tf.minimum(lengths, self.max_len)
        kept = tf.where(tf.range(self.max_len)[None, :] < lengths[:, None], kept, 0)
        return kept[:, : tf.maximum(tf.reduce_max(lengths), 1)], lengths

    def ranking_scores(self, inputs: dict, candidates=None, context=None) -> tf.Tensor:
        """Item-view scores of ``inputs["session_items"]`` ``[B, L]`` (clicks oldest first, 0 =
        padding anywhere; each session's latest ``max_len`` clicks count): ``[B, num_items]``
        (column ``j`` is item ``j + 1``) or, for ``candidates [B, C]`` (1-based item ids), their
        columns. ``context`` is :meth:`scoring_context`'s."""
        view, table_t = self.scoring_context() if context is None else context
        items, lengths = self.latest_clicks(*self.compact(inputs["session_items"]))
        scores = self.score_items(view, items, lengths, table_t)
        if candidates is None:
            return scores
        return tf.gather(scores, tf.cast(candidates, tf.int32) - 1, batch_dims=1)

    def check_training(self, settings: dict, data) -> None:
        """The reference's ``example_predicting`` needs every batch to hold exactly ``embed_dim``
        sessions: a clear error instead of a shape failure mid-epoch."""
        if self.options["predict_product"] != "reference":
            return
        batch = settings["batch_size"]
        if batch != self.embed_dim or settings.get("last_batch") != "reference" or data.num_train < batch:
            raise ValueError(
                f"predict_product='reference' (the reference's example_predicting) needs --batch-size == embed_dim "
                f"(got {batch} and {self.embed_dim}), --set last_batch=reference and at least that many training "
                "prefixes; or --set predict_product=corrected for any batch size"
            )

    def recommend(self, session_items, k: int, item_view=None):
        """Top-``k`` items of each session: ``(item_ids [B, k] int32, 1-based; scores [B, k])``."""
        items, lengths = self.compact(session_items)
        view = self.item_view() if item_view is None else item_view
        top = tf.math.top_k(self.score_items(view, items, lengths), k=tf.minimum(k, self.num_items))
        return top.indices + 1, top.values

    # ----------------------------------------------------------------------------------------
    # Losses
    # ----------------------------------------------------------------------------------------
    def _ranking_logits(self, table, sessions, scores, table_t=None):
        """``[C', N]`` logits whose rows are ranked (``example_predicting`` before its softmax)."""
        if self.options["predict_product"] == "reference":
            tf.debugging.assert_equal(
                tf.shape(sessions)[0], self.embed_dim,
                message="predict_product='reference' needs batch size == embed_dim (the reference's 100 == 100); "
                "use predict_product='corrected' for other batch sizes",
            )
            # (X @ S)^T with S [B, d] read as [d', B']: contracts X's embedding axis with S's batch axis
            if table_t is not None:
                return tf.matmul(sessions, table_t, transpose_a=True)
            return tf.matmul(sessions, table, transpose_a=True, transpose_b=True)
        if scores is not None:
            return tf.stop_gradient(scores)
        return tf.matmul(sessions, table, transpose_b=True)

    @property
    def mining_depth(self) -> int:
        """``C``: the ranking depth the negatives are drawn from, ``num_candidates`` clipped to ``num_items``."""
        return min(self.num_candidates, self.num_items)

    def negative_ranks(self, rows) -> tf.Tensor:
        """This step's draw of negative ranks in ``[K, C)``, used by both views: ``[K]``
        (``negative_draw="shared"``) or ``[rows, K]`` (``"per_session"``)."""
        k = self.num_positives
        shape = (k,) if self.options["negative_draw"] == "shared" else (rows, k)
        return keras.random.randint(shape, k, self.mining_depth, seed=self.seed_generator, dtype="int32")

    def _mined_ids(self, ranking, ranks):
        """Item indices ``([C', K] positives (ranks ``0..K-1``), [C', K] negatives (at ``ranks``,
        from :meth:`negative_ranks`))`` of the rows of ``ranking``, each row's exact top ``C``."""
        k = self.num_positives
        top = top_candidates(tf.stop_gradient(ranking), self.mining_depth, self.options["topk_method"])  # [C', C]
        if self.options["negative_draw"] == "shared":
            negatives = tf.gather(top, ranks, axis=1)
        else:
            negatives = tf.gather(top, ranks, batch_dims=1)
        return top[:, :k], negatives

    def _mine(self, ranking, rows, ranks):
        """Positives ``[K, C', d]`` and negatives (:meth:`_mined_ids`) for the rows of ``ranking``;
        ``rows(indices)`` looks up the embeddings of items."""
        positives, negatives = self._mined_ids(ranking, ranks)
        pick = lambda idx: rows(tf.transpose(idx))  # [K, C', d], as the reference's loop  # noqa: E731
        return pick(positives), pick(negatives)

    def _arrange(self, mined):
        """``SSL_topk``'s ``[K, B, d]`` -> ``[B, K, d]`` (``ssl_layout``: a reshape or a transpose)."""
        if self.options["ssl_layout"] == "reshape":
            return tf.reshape(mined, [-1, self.num_positives, self.embed_dim])
        return tf.transpose(mined, [1, 0, 2])

    def _contrastive(self, anchor, sessions, positives, negatives, arranged=False):
        """``SSL_topk``: anchor ``[B, d]``, sessions ``[B, d]``, mined ``[K, B, d]`` (or already
        ``[B, K, d]`` with ``arranged``) -> scalar (under a strategy this replica's part)."""
        if not arranged:
            positives, negatives = self._arrange(positives), self._arrange(negatives)
        anchor = l2_normalize(anchor + sessions)[:, None, :]
        pos = l2_normalize(positives + sessions[:, None, :])
        neg = l2_normalize(negatives + sessions[:, None, :])
        pos_score = tf.reduce_sum(tf.exp(tf.reduce_sum(anchor * pos, -1) / self.temperature), 1)
        neg_score = tf.reduce_sum(tf.exp(tf.reduce_sum(anchor * neg, -1) / self.temperature), 1)
        terms = -tf.math.log(pos_score / (pos_score + neg_score))
        return tf.reduce_sum(terms) if self.options["ssl_reduction"] == "sum" else batch_mean(terms)

    def _mined_split(self, share, s_item, s_sess, scores, x_t, normalized_rows, raw_rows):
        """Under a strategy: ``(pos_item, neg_item, pos_sess, neg_sess)`` ``[B_r, K, d]``, this
        replica's rows of what one device mines and arranges for the global batch.

        Each replica ranks its share ``start .. stop`` of the rows of the one-device ranking
        (its own sessions; for ``predict_product="reference"`` rows of ``(X @ S)^T`` with ``S``
        all-gathered), mines their exact top ``C`` with the negative ranks every replica draws
        alike, all-gathers the mined ids (``[B, 4K]`` int32) and arranges them for the global
        batch before keeping its rows (``ssl_layout="reshape"`` mixes sessions across replicas).
        """
        k, d = self.num_positives, self.embed_dim
        start, stop = share.start, share.stop
        if self.options["predict_product"] == "reference":
            tf.debugging.assert_equal(
                share.total, self.embed_dim,
                message="predict_product='reference' needs the global batch size == embed_dim (the reference's "
                "100 == 100); use predict_product='corrected' for other batch sizes",
            )
            sessions = share.gather(tf.stop_gradient(tf.concat([s_item, s_sess], axis=1)))  # [B, 2d], B == d
            rank_item = tf.matmul(sessions[:, start:stop], x_t, transpose_a=True)  # rows start..stop of [d, N]
            rank_sess = tf.matmul(sessions[:, d + start:d + stop], self.item_embeddings, transpose_a=True,
                                  transpose_b=True)
        else:
            rank_item = scores
            rank_sess = tf.matmul(s_sess, self.item_embeddings, transpose_b=True)
        ranks = self.negative_ranks(share.total)  # the one-device draw, on every replica
        if self.options["negative_draw"] != "shared":
            ranks = ranks[start:stop]
        mine_for_item, mine_for_sess = (rank_sess, rank_item) if self.options["mining"] == "crossed" else (rank_item, rank_sess)
        ids = [tf.reshape(x, [-1, k]) for x in (*self._mined_ids(mine_for_item, ranks), *self._mined_ids(mine_for_sess, ranks))]
        ids = share.gather(tf.concat(ids, axis=1))  # [B, 4K]: the one-device rows

        def arranged(part, rows):  # [B, K] ids of the global batch -> this replica's [B_r, K, d]
            if self.options["ssl_layout"] == "reshape":  # ids of rows(ids^T) [K, B, d] reshaped to [B, K, d]
                part = tf.reshape(tf.transpose(part), [-1, k])
            return rows(part[start:stop])

        return (arranged(ids[:, :k], normalized_rows), arranged(ids[:, k:2 * k], normalized_rows),
                arranged(ids[:, 2 * k:3 * k], raw_rows), arranged(ids[:, 3 * k:], raw_rows))

    def _adversarial_sum(self, sessions, scores, adv_t, targets):
        """``S^T (softmax(S @ (X_n + adv)^T) - onehot)`` ``[d, N]``: the batch's sum of the
        gradients of the cross-entropy with respect to the perturbation (no gradient flows)."""
        sessions, scores = tf.stop_gradient(sessions), tf.stop_gradient(scores)
        logits = scores + tf.matmul(sessions, adv_t)
        rows = tf.range(tf.shape(targets)[0])
        error = tf.tensor_scatter_nd_sub(  # softmax - onehot, without a dense one-hot pass
            tf.nn.softmax(logits), tf.stack([rows, targets], axis=1), tf.ones_like(targets, logits.dtype)
        )
        return tf.matmul(sessions, error, transpose_a=True)

    def _adversarial(self, sessions, scores, adv_t, targets):
        """``eps * normalize_rows(d CE(S @ (X_n + adv)^T) / d adv)``, the reference's
        ``adversarial_item`` / ``_sess`` (no gradient flows through it); ``adv_t`` and the
        result are transposed, ``[d, N]``."""
        grad_t = self._adversarial_sum(sessions, scores, adv_t, targets) / tf.cast(tf.shape(sessions)[0], scores.dtype)
        return self.eps * l2_normalize(grad_t, axis=0)  # each item's row of the gradient

    def _difference(self, logits, adv_logits, targets, at_target, adv_at_target, logits_lse):
        """``diff``: ``sum p * log(1e-8 + (p + 1e-8) / (q + 1e-8))`` of masked softmaxes.

        ``logits``/``adv_logits`` ``[B, N]``; ``at_target``/``adv_at_target`` ``[B]``: their values
        at the targets (computed as dot products, so that no ``[B, N]`` gradient of a lookup
        is needed); ``logits_lse`` ``[B]``: ``logsumexp(logits)`` per row.
        """
        if self.options["diff_mask"] == "target_only":
            p = tf.exp(at_target - logits_lse)
            q = tf.exp(adv_at_target - tf.reduce_logsumexp(adv_logits, axis=1))
        else:
            fill = 1.0 / (self.num_items - 1) if self.num_items > 1 else 0.0
            mask = tf.one_hot(targets, self.num_items, on_value=1.0, off_value=fill, dtype=logits.dtype)
            p, q = tf.nn.softmax(logits) * mask, tf.nn.softmax(adv_logits) * mask
        return tf.reduce_sum(p * tf.math.log(1e-8 + (p + 1e-8) / (q + 1e-8)))

    def compute_losses(self, batch, training: bool = True) -> dict[str, tf.Tensor]:
        """``{"loss", "cross_entropy", "contrastive", "difference"}`` of one batch.

        With ``training`` (``COTREC.forward(train=True)``) the adversarial perturbations are
        updated in place (``adv_item`` / ``adv_sess`` state) and all terms computed; without, only
        the cross-entropy (the other two are 0, as the reference's evaluation returns them).
        ``contrastive`` and ``difference`` are unweighted; ``loss`` weights them by ``beta``/``lam``.
        Under a strategy with several replicas every term is this replica's share (the replicas'
        shares add up to the global batch's value) and the session view is this replica's graph.
        """
        items = tf.cast(batch["items"], tf.int32)
        lengths = tf.cast(batch["lengths"], tf.int32)
        targets = tf.cast(batch["targets"], tf.int32) - 1
        view = self.item_view()
        # Every row lookup of a table reads it through one identity, so that TensorFlow adds the
        # lookups' sparse gradients by concatenation and turns them dense once per table (not
        # once per lookup: each costs a pass over [N, d]).
        view_rows = tf.identity(view)
        s_item = self.item_session_embedding(view_rows, items, lengths)
        x_n = l2_normalize(view)
        x_t = tf.transpose(x_n)  # [d, N]
        scores = tf.matmul(s_item, x_t)
        scores_lse = tf.reduce_logsumexp(scores, axis=1)  # shared by the cross-entropy and the KL term
        # scores[b, target_b] as a dot product: its gradient is a row lookup, not a dense [B, N] pass
        target_rows = l2_normalize(tf.gather(view_rows, targets))  # [B, d] rows of x_n
        target_item = tf.reduce_sum(s_item * target_rows, axis=1)
        cross_entropy = batch_mean(scores_lse - target_item)  # under a strategy: this replica's share
        zero = tf.zeros([], scores.dtype)
        if not training:
            return {"loss": cross_entropy, "cross_entropy": cross_entropy, "contrastive": zero, "difference": zero}

        table = self.item_embeddings
        table_rows = tf.identity(table)
        normalized_rows = lambda idx: l2_normalize(tf.gather(view_rows, idx))  # rows of x_n  # noqa: E731
        raw_rows = lambda idx: tf.gather(table_rows, idx)  # noqa: E731
        # under a strategy: the session-overlap graph of this replica's sessions only (module docstring)
        s_sess = self.session_view(items, lengths, table_rows)
        scores_sess = tf.matmul(s_sess, x_t)
        share = ReplicaRows(tf.shape(items)[0]) if ReplicaRows.split() else None
        last = tf.gather(items, tf.maximum(lengths - 1, 0), batch_dims=1) - 1
        if share is None:
            # example_predicting + topk_func_random
            rank_item = self._ranking_logits(x_n, s_item, scores, x_t)
            rank_sess = self._ranking_logits(table, s_sess, None)
            ranks = self.negative_ranks(tf.shape(rank_item)[0])  # one draw for both views, as topk_func_random
            if self.options["mining"] == "crossed":
                pos_item, neg_item = self._mine(rank_sess, normalized_rows, ranks)  # the item view learns from the session view's ranking
                pos_sess, neg_sess = self._mine(rank_item, raw_rows, ranks)
            else:
                pos_item, neg_item = self._mine(rank_item, normalized_rows, ranks)
                pos_sess, neg_sess = self._mine(rank_sess, raw_rows, ranks)
            contrastive = self._contrastive(normalized_rows(last), s_item, pos_item, neg_item)
            contrastive += self._contrastive(raw_rows(last), s_sess, pos_sess, neg_sess)
            # adversarial_item / adversarial_sess: from the previous step's perturbations, kept as state
            adv_item = self._adversarial(s_item, scores, self.adv_item, targets)
            adv_sess = self._adversarial(s_sess, scores_sess, self.adv_sess, targets)
        else:
            pos_item, neg_item, pos_sess, neg_sess = self._mined_split(
                share, s_item, s_sess, scores, x_t, normalized_rows, raw_rows)
            contrastive = self._contrastive(normalized_rows(last), s_item, pos_item, neg_item, arranged=True)
            contrastive += self._contrastive(raw_rows(last), s_sess, pos_sess, neg_sess, arranged=True)
            # the global batch's gradient w.r.t. each perturbation: summed over the replicas (one all-reduce)
            grads = global_sum(tf.concat([self._adversarial_sum(s_item, scores, self.adv_item, targets),
                                          self._adversarial_sum(s_sess, scores_sess, self.adv_sess, targets)], axis=0))
            grads = grads / tf.cast(share.total, grads.dtype)
            adv_item = self.eps * l2_normalize(grads[: self.embed_dim], axis=0)
            adv_sess = self.eps * l2_normalize(grads[self.embed_dim:], axis=0)
        self.adv_item.assign(adv_item)
        self.adv_sess.assign(adv_sess)
        if self.options["adversarial_pairing"] == "crossed":
            applied_to_sess, applied_to_item = adv_item, adv_sess
        else:
            applied_to_sess, applied_to_item = adv_sess, adv_item
        # S @ (X_n + adv)^T written as S @ X_n^T + S @ adv^T: one backward product per view
        score_adv1 = scores_sess + tf.matmul(s_sess, applied_to_sess)
        score_adv2 = scores + tf.matmul(s_item, applied_to_item)
        at_target = lambda sessions, adv_t: tf.reduce_sum(  # noqa: E731
            sessions * tf.transpose(tf.gather(adv_t, targets, axis=1)), axis=1)  # (S @ adv^T)[b, target_b]
        target_sess = tf.reduce_sum(s_sess * target_rows, axis=1)
        difference = self._difference(scores, score_adv2, targets, target_item,
                                      target_item + at_target(s_item, applied_to_item), scores_lse)
        difference += self._difference(scores_sess, score_adv1, targets, target_sess,
                                       target_sess + at_target(s_sess, applied_to_sess),
                                       tf.reduce_logsumexp(scores_sess, axis=1))
        loss = cross_entropy + self.beta * contrastive + self.lam * difference
        return {"loss": loss, "cross_entropy": cross_entropy, "contrastive": contrastive, "difference": difference}

    # ----------------------------------------------------------------------------------------
    def serving_endpoints(self):
        """Functions of internal ids that :func:`tfrec.export.export_saved_model` serves in raw
        ids: ``score_all(session_items [B, L]) -> [B, N]`` (column ``j`` is item ``j + 1``)
        and ``score(session_items [B, L], item_id [B]) -> [B]``, its column of each row;
        ``session_items`` are clicks oldest first, 0 = padding (anywhere)."""
        from tfrec.models.base import ServingFunctions

        sessions = tf.TensorSpec([None, None], tf.int32, name="session_items")

        @tf.function(input_signature=[sessions], autograph=False)
        def score_all(session_items):
            return self(session_items, training=False)

        @tf.function(input_signature=[sessions, tf.TensorSpec([None], tf.int32, name="item_id")], autograph=False)
        def score(session_items, item_id):
            return tf.gather(self(session_items, training=False), tf.maximum(item_id - 1, 0), batch_dims=1)

        return ServingFunctions(
            score=score, score_all=score_all, item_offset=1, needs_items=("session_items",),
            score_meaning="the item-view score S_I . normalize(X_item): w_k times a cosine similarity, the logit of "
            "the softmax over all items; not a probability",
        )

    def get_config(self):
        return {
            **super().get_config(),
            "num_items": self.num_items,
            "num_edges": self.num_edges,
            "embed_dim": self.embed_dim,
            "num_layers": self.num_layers,
            "beta": self.beta,
            "lam": self.lam,
            "eps": self.eps,
            "use_positions": self.use_positions,
            "max_len": self.max_len,
            "w_k": self.w_k,
            "num_positives": self.num_positives,
            "num_candidates": self.num_candidates,
            "temperature": self.temperature,
            "seed": self.seed,
            **self.options,
        }
