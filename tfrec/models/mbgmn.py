"""MB-GMN: Graph Meta Network for multi-behavior recommendation (Xia et al., SIGIR 2021).

Ports seed 000 ("MB-GMN on BeiBei", section "Model": ``defineModel``, ``metaForSpecialize``,
``specialize``, ``messagePropagate``, ``lightSelfAttention``, ``metaForPredict``, ``_predict``,
``prepareModel``). Shapes: ``U`` users, ``I`` items, ``K`` behaviors (target last),
``h = latdim // 2``, ``d = latdim``.

Forward pass (:meth:`MBGMN.propagate`, the whole graph at once):

1. base embeddings ``E_u [U, h]``, ``E_i [I, h]`` and behavior embeddings ``[K + 1, h]``;
2. per behavior ``k``: :class:`~tfrec.layers.MetaSpecializer` turns the base embeddings into
   behavior-specific ``[U, d]`` / ``[I, d]`` (neighbour sums over ``A_k``), then ``gnn_layer``
   propagation layers ``u <- leaky(A_k @ i) + u``, ``i <- leaky(A_k^T @ u) + i`` over the
   symmetric-normalised adjacency ``A_k = D_u^-1/2 A D_i^-1/2``; the representation is the sum
   over layers (layer 0 included);
3. the all-behavior branch: specialised with the last behavior embedding and the neighbours
   summed over behaviors; per layer, every behavior's propagation, light self-attention across
   behaviors (a new ``Q`` per layer and side), summed -- **without** the residual of step 2,
   as in the reference; summed over layers.

Scores (:class:`~tfrec.layers.MetaPredictor`): for a (source, target) behavior pair the meta
prediction network generates per-pair weights; scores are multiplied by ``mult`` (100).

Loss (:meth:`MBGMN.compute_losses`): ``sum over source in behaviors + [all], target in
behaviors of mean(max(0, 1 - (pos - neg)))`` plus ``reg * sum of squares`` of every weight the reference
regularises (base embeddings, every meta and attention kernel, the generator biases; not the
behavior embeddings nor the plain biases). Adam (epsilon 1e-8, TF1's form, which Keras 3's Adam
also uses) with staircase exponential decay 0.96 every ``trnNum // batch`` steps.

Quirks of the reference and what tfrec does (see also ``tfrec.data.multibehavior``):

* a user with no positives in a behavior contributes no pair to that behavior's hinge mean (the
  reference draws an (item, same item) placeholder but copies ``min(sampNum, 0) = 0`` pairs of
  it). Reproduced. A batch in which no user has the behavior adds 0 to the loss, where the
  reference's mean of nothing would be NaN.
* training positives are drawn with replacement. Reproduced.
* the all-behavior branch has no residual between layers. Reproduced.
* the graph products use TensorFlow's CSR kernels (``SparseMatrixMatMul``) rather than the
  reference's ``sparse_dense_matmul``: the same sums, several times faster on a CPU (docs/RESULTS.md).
* test negatives: the reference redraws 99 unseeded negatives at every evaluation from the items
  the user did not buy, which can include the held-out item. tfrec fixes them by the seed and
  excludes the held-out item (the data loader's job); scoring and ranking are otherwise identical.

Batches hold users ``[B]`` and, per behavior, their pairs as ``[B, S]`` grids with a mask (see
:meth:`MBGMN.compute_losses`), so that ``tf.distribute`` can split a batch by user: each replica
propagates the whole graph and divides its pairs' hinge by the global pair count, so the
replicas' summed gradients are one device's (up to float rounding; the math is the same).

Sub-graph training (akaxlh/MB-GMN ``labcode_samp.py``, ``--set graph_sample``): a batch then
also carries its block's sampled sub-graph and :meth:`MBGMN.subgraph_propagate` propagates the
base embeddings of its nodes over its renormalised edges; the L2 term stays on the whole tables,
as the reference's. One device only (:meth:`MBGMN.check_training`).

The normalised adjacencies are model state (non-trainable int32 / float32 variables built once
by :meth:`set_graph`), so a saved ``.keras`` model reloads without the dataset.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence


from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.data.graphs import coo_arrays, symmetric_normalized
from tfrec.distribute import global_sum, num_replicas, replica_share
from tfrec.layers.attention import LightSelfAttention
from tfrec.layers.meta import MetaPredictor, MetaSpecializer
from tfrec.layers.sparse import csr_matmul, to_csr
from tfrec.models.base import Recommender, split_user_item
from tfrec.validation import check_positive_int

try:  # CSR products: faster than tf.sparse.sparse_dense_matmul on CPU, identical results
    from tensorflow.python.ops.linalg.sparse import sparse_csr_matrix_ops as _csr
except ImportError:  # pragma: no cover - older or trimmed TensorFlow builds
    _csr = None


def _sparse_matmul(adjacency, adjacency_t, dense: tf.Tensor) -> tf.Tensor:
    """``adjacency @ dense`` for a CSR matrix (or a ``tf.SparseTensor`` when CSR is unavailable),
    its gradient through ``adjacency_t`` (:func:`tfrec.layers.sparse.csr_matmul`: bit-reproducible)."""
    if isinstance(adjacency, tf.SparseTensor):
        return tf.sparse.sparse_dense_matmul(adjacency, dense)
    return csr_matmul(adjacency, adjacency_t, dense)


def _csr_pair(parts, prefix: str, shape):
    """The ``[U, I]`` adjacency and its ``[I, U]`` transpose from row-major coordinates
    ``parts[prefix + "rows" / "cols" / "values"]`` and ``parts[prefix + "t_rows" / ...]``, as CSR
    matrices (``tf.SparseTensor`` when the CSR kernels are unavailable)."""

    def sparse(name, dense_shape):
        indices = tf.cast(tf.stack([parts[name + "rows"], parts[name + "cols"]], axis=1), tf.int64)
        matrix = tf.SparseTensor(indices, parts[name + "values"], tf.cast(dense_shape, tf.int64))
        return matrix if _csr is None else to_csr(matrix)

    return sparse(prefix, shape), sparse(prefix + "t_", shape[::-1])


@keras.saving.register_keras_serializable(package="tfrec")
class MBGMN(Recommender):
    """Multi-behavior graph meta network.

    Args:
        num_users, num_items: catalogue size.
        num_behaviors: ``K``; the last behavior is the target.
        adjacency_nnz: interactions per behavior (sizes of the stored graph).
        latdim: ``d``; base embeddings have ``d // 2`` (seed 000 ``--latdim 32``).
        rank: rank of the meta-generated transforms (``--rank 4``; 2 for Tmall).
        gnn_layer: propagation layers (``--gnn_layer 2``).
        att_head: heads of the behavior self-attention (``--att_head 2``).
        reg: L2 weight (``--reg 1e-2``).
        mult: score multiplier (``--mult 100``).
        leaky: leaky-ReLU slope (0.1).
        jit_predictor: compile the meta prediction network with XLA (the sparse graph products
            stay outside XLA); an execution setting, not part of the math.
        predictor_dtype: dtype policy of the meta prediction network, default the global Keras
            policy (``--precision``). Only the predictor -- about 80% of a training step --
            follows a mixed policy: the graph propagation, the meta specializer and the
            attention always compute in float32 (TensorFlow's CSR sparse products are
            float32-only), and scores and losses are float32. ``"mixed_bfloat16"`` is not the
            reference's arithmetic: see the README for its measured effect on speed and HR/NDCG.

    Example:

    >>> import numpy as np
    >>> from tfrec.data.synthetic import load_synthetic_mb
    >>> from tfrec.models import MBGMN
    >>> data = load_synthetic_mb(users=40, items=150, views_per_user=6, carts_per_user=4, buys_per_user=2)
    >>> model = MBGMN.from_data(data, latdim=8)  # builds the weights and loads the graph
    >>> model((np.array([0, 1]), np.array([3, 4]))).shape  # target-behavior scores
    TensorShape([2])

    References:
        Seed 000; Xia et al., "Graph Meta Network for Multi-Behavior Recommendation", SIGIR 2021;
        github.com/akaxlh/MB-GMN.
    """

    # XLA cannot compile tf.sparse products: the training step runs outside XLA and the meta
    # prediction network inside it (``jit_predictor``)
    xla_unsupported = "its sparse graph products have no XLA kernel; the meta predictor is XLA-compiled already (jit_predictor)"

    def __init__(
        self,
        num_users: int,
        num_items: int,
        num_behaviors: int,
        adjacency_nnz: Sequence[int],
        latdim: int = 32,
        rank: int = 4,
        gnn_layer: int = 2,
        att_head: int = 2,
        reg: float = 1e-2,
        mult: float = 100.0,
        leaky: float = 0.1,
        jit_predictor: bool = True,
        predictor_dtype: str | None = None,
        **kwargs,
    ):
        # the model itself (embeddings, graph) is always float32; a mixed policy, given as
        # ``dtype`` or set globally, applies to the meta predictor alone
        dtype = kwargs.pop("dtype", None)
        policy = keras.dtype_policies.get(predictor_dtype or dtype or keras.config.dtype_policy())
        super().__init__(dtype="float32", **kwargs)
        for name, value in (("num_users", num_users), ("num_items", num_items), ("num_behaviors", num_behaviors),
                            ("latdim", latdim), ("rank", rank), ("gnn_layer", gnn_layer), ("att_head", att_head)):
            check_positive_int(name, value)
        if latdim % 2 or latdim % att_head:
            raise ValueError(f"`latdim` ({latdim}) must be even and divisible by `att_head` ({att_head})")
        if len(adjacency_nnz) != num_behaviors:
            raise ValueError(f"`adjacency_nnz` needs one size per behavior ({num_behaviors}); got {list(adjacency_nnz)}")
        if reg < 0:
            raise ValueError(f"`reg` must be >= 0; got {reg!r}")
        self.num_users, self.num_items, self.num_behaviors = int(num_users), int(num_items), int(num_behaviors)
        self.adjacency_nnz = [int(n) for n in adjacency_nnz]
        self.latdim, self.rank, self.gnn_layer, self.att_head = int(latdim), int(rank), int(gnn_layer), int(att_head)
        self.reg, self.mult, self.leaky = float(reg), float(mult), float(leaky)
        self.jit_predictor = bool(jit_predictor)
        self.specializer = MetaSpecializer(self.latdim // 2, self.rank, self.leaky, name="meta_specializer", dtype="float32")
        self.predictor = MetaPredictor(
            self.latdim, self.mult, self.leaky, jit_compile=self.jit_predictor, name="meta_predictor", dtype=policy
        )
        self.user_attention = [
            LightSelfAttention(self.att_head, name=f"user_attention_{l}", dtype="float32") for l in range(self.gnn_layer)
        ]
        self.item_attention = [
            LightSelfAttention(self.att_head, name=f"item_attention_{l}", dtype="float32") for l in range(self.gnn_layer)
        ]
        self.make_loss_trackers("loss", "hinge", "l2")

    # ----------------------------------------------------------------------------------------
    @classmethod
    def from_data(cls, data, **hyperparameters) -> "MBGMN":
        """Build for :class:`~tfrec.data.types.MultiBehavior` data and load its graph."""
        model = cls(
            num_users=data.num_users,
            num_items=data.num_items,
            num_behaviors=len(data.behaviors),
            adjacency_nnz=[m.nnz for m in data.matrices],
            **hyperparameters,
        )
        model.build()
        model.set_graph(data.matrices)
        model.cache_graph()
        return model

    def build(self, input_shape=None):
        if self.built:
            return
        h, d, k = self.latdim // 2, self.latdim, self.num_behaviors
        self.user_embedding = self.add_weight(name="user_embedding", shape=(self.num_users, h), initializer="glorot_uniform")
        self.item_embedding = self.add_weight(name="item_embedding", shape=(self.num_items, h), initializer="glorot_uniform")
        self.behavior_embedding = self.add_weight(name="behavior_embedding", shape=(k + 1, h), initializer="glorot_uniform")
        self.graph = []
        for b, nnz in enumerate(self.adjacency_nnz):
            state = {}
            for name, dtype in (("rows", "int32"), ("cols", "int32"), ("values", "float32"),
                                ("t_rows", "int32"), ("t_cols", "int32"), ("t_values", "float32")):
                state[name] = self.add_weight(name=f"graph_{b}_{name}", shape=(nnz,), dtype=dtype, initializer="zeros", trainable=False)
            self.graph.append(state)
        self.specializer.build()
        self.predictor.build()
        for layer in self.user_attention + self.item_attention:
            layer.build((None, k, d))
        self.built = True

    def set_graph(self, matrices) -> None:
        """Store the symmetric-normalised adjacency of each behavior (``[U, I]`` CSR matrices)."""
        object.__setattr__(self, "_csr_cache", None)
        if len(matrices) != self.num_behaviors:
            raise ValueError(f"expected {self.num_behaviors} behavior matrices; got {len(matrices)}")
        for b, (matrix, state) in enumerate(zip(matrices, self.graph)):
            if matrix.shape != (self.num_users, self.num_items) or matrix.nnz != self.adjacency_nnz[b]:
                raise ValueError(
                    f"behavior {b}: matrix {matrix.shape} with {matrix.nnz} interactions does not match the model "
                    f"({self.num_users}, {self.num_items}) with {self.adjacency_nnz[b]}"
                )
            normalized = symmetric_normalized(matrix)
            for prefix, part in (("", normalized), ("t_", normalized.T)):
                rows, cols, values = coo_arrays(part)
                state[prefix + "rows"].assign(rows)
                state[prefix + "cols"].assign(cols)
                state[prefix + "values"].assign(values)

    def cache_graph(self) -> None:
        """Build the CSR adjacencies once, now, and reuse them in every later (traced) step.

        Without the cache every ``propagate`` converts the stored coordinates to CSR again
        (a pass over every stored coordinate, per behavior and direction). The cached
        matrices are eager tensors captured by the functions traced afterwards, so call this
        after the graph is final (:meth:`set_graph` drops the cache). Training and evaluation
        call it; an exported SavedModel builds its matrices from the stored variables instead.
        """
        with tf.init_scope():
            matrices = tuple(self._adjacency(b, cached=False) for b in range(self.num_behaviors))
        object.__setattr__(self, "_csr_cache", matrices)

    def serving_scope(self):
        """The export traces from the stored graph variables (:meth:`without_graph_cache`)."""
        return self.without_graph_cache()

    @contextlib.contextmanager
    def without_graph_cache(self):
        """Trace from the stored variables inside this block (what a SavedModel must capture)."""
        cache = getattr(self, "_csr_cache", None)
        object.__setattr__(self, "_csr_cache", None)
        try:
            yield self
        finally:
            object.__setattr__(self, "_csr_cache", cache)

    def _adjacency(self, b: int, cached: bool = True):
        """Behavior ``b``'s normalised ``[U, I]`` adjacency and its ``[I, U]`` transpose, as CSR
        matrices built from the stored (row-major) coordinates."""
        cache = getattr(self, "_csr_cache", None)
        if cached and cache is not None:
            return cache[b]
        state = self.graph[b]
        return _csr_pair(state, "", (self.num_users, self.num_items))

    # ----------------------------------------------------------------------------------------
    def propagate(self) -> tuple[tf.Tensor, tf.Tensor]:
        """Representations of every user and item for each behavior and for all behaviors.

        Returns:
            ``user_reps [K + 1, U, d]`` and ``item_reps [K + 1, I, d]``; index ``K`` is the
            all-behavior branch.
        """
        graphs = [self._adjacency(b) for b in range(self.num_behaviors)]
        return self._propagate(self.user_embedding, self.item_embedding, graphs)

    def subgraph_propagate(self, graph: dict) -> tuple[tf.Tensor, tf.Tensor]:
        """:meth:`propagate` on a sampled sub-graph (akaxlh/MB-GMN ``labcode_samp.py``).

        Args:
            graph: ``{"graph_users": [N_u], "graph_items": [N_i]}`` global ids and each behavior's
                renormalised sub-adjacency as row-major coordinates in local ids,
                ``"graph_k_rows" / "_cols" / "_values"`` and the transpose's ``"graph_k_t_*"``
                (:func:`tfrec.data.pipelines.subgraph_arrays`).

        Returns:
            ``user_reps [K + 1, N_u, d]`` and ``item_reps [K + 1, N_i, d]`` in local ids: the
            base embeddings of the sub-graph's nodes propagated over its edges only.
        """
        users, items = tf.cast(graph["graph_users"], tf.int32), tf.cast(graph["graph_items"], tf.int32)
        shape = (tf.shape(users, out_type=tf.int64)[0], tf.shape(items, out_type=tf.int64)[0])
        graphs = [_csr_pair(graph, f"graph_{b}_", shape) for b in range(self.num_behaviors)]
        return self._propagate(tf.gather(self.user_embedding, users), tf.gather(self.item_embedding, items), graphs)

    def _propagate(self, users0, items0, graphs) -> tuple[tf.Tensor, tf.Tensor]:
        """Steps 2 and 3 of the forward pass from base embeddings ``users0 [U, h]`` and
        ``items0 [I, h]`` over ``graphs`` (per behavior the ``[U, I]`` and ``[I, U]`` CSR pair)."""
        matmul = _sparse_matmul
        user_neighbors = [matmul(a, at, items0) for a, at in graphs]
        item_neighbors = [matmul(at, a, users0) for a, at in graphs]
        user_reps, item_reps = [], []
        for b, (a, at) in enumerate(graphs):
            users, items = self.specializer(users0, items0, self.behavior_embedding[b], user_neighbors[b], item_neighbors[b])
            user_layers, item_layers = [users], [items]
            for _ in range(self.gnn_layer):
                new_users = tf.nn.leaky_relu(matmul(a, at, item_layers[-1]), alpha=self.leaky) + user_layers[-1]
                new_items = tf.nn.leaky_relu(matmul(at, a, user_layers[-1]), alpha=self.leaky) + item_layers[-1]
                user_layers.append(new_users)
                item_layers.append(new_items)
            user_reps.append(tf.add_n(user_layers))
            item_reps.append(tf.add_n(item_layers))
        users, items = self.specializer(
            users0, items0, self.behavior_embedding[self.num_behaviors], tf.add_n(user_neighbors), tf.add_n(item_neighbors)
        )
        user_layers, item_layers = [users], [items]
        for layer in range(self.gnn_layer):
            per_user = tf.stack([tf.nn.leaky_relu(matmul(a, at, item_layers[-1]), alpha=self.leaky) for a, at in graphs], axis=1)
            per_item = tf.stack([tf.nn.leaky_relu(matmul(at, a, user_layers[-1]), alpha=self.leaky) for a, at in graphs], axis=1)
            user_layers.append(tf.reduce_sum(self.user_attention[layer](per_user), axis=1))
            item_layers.append(tf.reduce_sum(self.item_attention[layer](per_item), axis=1))
        user_reps.append(tf.add_n(user_layers))
        item_reps.append(tf.add_n(item_layers))
        return tf.stack(user_reps), tf.stack(item_reps)

    def _predictor_inputs(self, user_reps, item_reps, users, items, target: int, sources: list[int]):
        """The meta predictor's four ``[S * N, d]`` inputs (source user/item, target user/item)
        for ``N`` pairs scored from each of the ``S`` sources, source-major."""
        source_users = tf.gather(tf.gather(user_reps, sources), users, axis=1)  # [S, N, d]
        source_items = tf.gather(tf.gather(item_reps, sources), items, axis=1)
        target_users = tf.gather(user_reps[target], users)  # [N, d]
        target_items = tf.gather(item_reps[target], items)
        s, d = len(sources), self.latdim
        return (
            tf.reshape(source_users, [-1, d]),
            tf.reshape(source_items, [-1, d]),
            tf.tile(target_users, [s, 1]),
            tf.tile(target_items, [s, 1]),
        )

    def pair_scores(self, user_reps, item_reps, users, items, target: int, sources=None) -> tf.Tensor:
        """Scores of (user, item) pairs for behavior ``target`` from each source behavior.

        Args:
            user_reps, item_reps: from :meth:`propagate`.
            users, items: ``[N]`` ids.
            target: target behavior index.
            sources: source indices (default: every behavior and the all-behavior branch).

        Returns:
            ``[S, N]`` scores, one row per source.
        """
        sources = list(range(self.num_behaviors + 1)) if sources is None else list(sources)
        scores = self.predictor(*self._predictor_inputs(user_reps, item_reps, users, items, target, sources))
        return tf.reshape(scores, [len(sources), -1])

    def _deduplicated_pair_scores(self, user_reps, item_reps, users, items, target: int) -> tf.Tensor:
        """:meth:`pair_scores` computed once per distinct (user, item) pair and gathered back.

        Positives are drawn with replacement, so about 13% of a BeiBei-size batch's pairs repeat;
        their scores (and, through the gather, their summed gradients) are the same numbers, so
        the loss is unchanged while the meta predictor -- most of a training step -- does less.
        """
        keys = tf.cast(users, tf.int64) * self.num_items + tf.cast(items, tf.int64)
        distinct, index = tf.unique(keys)
        scores = self.pair_scores(
            user_reps, item_reps,
            tf.cast(distinct // self.num_items, tf.int32), tf.cast(distinct % self.num_items, tf.int32), target,
        )
        return tf.gather(scores, index, axis=1)

    def target_scores(self, user_reps, item_reps, users, items) -> tf.Tensor:
        """``[N]`` scores for the target behavior from the all-behavior branch (what the
        reference evaluates: ``targetPreds``)."""
        return self.pair_scores(user_reps, item_reps, users, items, self.num_behaviors - 1, [self.num_behaviors])[0]

    def call(self, inputs, training=False):
        """``(user_ids [B], item_ids [B])`` -> target-behavior scores ``[B]`` (propagates the graph)."""
        users, items = split_user_item(inputs)
        user_reps, item_reps = self.propagate()
        return self.target_scores(user_reps, item_reps, users, items)

    def score(self, user_ids, item_ids, reps=None):
        """Ranking scores for ``user_ids [B]`` against ``item_ids [B, C]`` -> ``[B, C]``.

        Pass ``reps = model.propagate()`` to score many batches against one propagation.
        """
        user_reps, item_reps = self.propagate() if reps is None else reps
        item_ids = tf.cast(item_ids, tf.int32)
        shape = tf.shape(item_ids)
        users = tf.repeat(tf.cast(user_ids, tf.int32), shape[1])
        return tf.reshape(self.target_scores(user_reps, item_reps, users, tf.reshape(item_ids, [-1])), shape)

    def scoring_context(self):
        """``propagate()``, once per evaluation, from the cached CSR graph (:meth:`cache_graph`)."""
        if getattr(self, "_csr_cache", None) is None:
            self.cache_graph()
        return self.propagate()

    def ranking_scores(self, inputs: dict, candidates=None, context=None) -> tf.Tensor:
        """:meth:`score` of ``inputs["user_id"]`` against ``candidates`` (every item when ``None``),
        ``context`` the propagation of :meth:`scoring_context`."""
        users = inputs["user_id"]
        if candidates is None:
            candidates = tf.tile(tf.range(self.num_items)[None, :], [tf.shape(users)[0], 1])
        return self.score(users, candidates, context)

    def serving_endpoints(self):
        """Functions of internal ids that :func:`tfrec.export.export_saved_model` serves in raw
        ids: ``score(user_id [B], item_id [B]) -> [B]`` and ``score_all(user_id [B]) ->
        [B, num_items]`` target-behavior scores (one graph propagation per call)."""
        from tfrec.models.base import ServingFunctions

        spec = lambda name: tf.TensorSpec([None], tf.int32, name=name)  # noqa: E731

        @tf.function(input_signature=[spec("user_id"), spec("item_id")], autograph=False)
        def score(user_id, item_id):
            return self((user_id, item_id), training=False)

        @tf.function(input_signature=[spec("user_id")], autograph=False)
        def score_all(user_id):
            return self.score(user_id, tf.tile(tf.range(self.num_items)[None, :], [tf.shape(user_id)[0], 1]))

        return ServingFunctions(
            score=score, score_all=score_all,
            score_meaning="the target behavior's ranking score from the all-behavior branch (unbounded, higher is "
            "better; trained with a hinge loss): not a probability",
        )

    # ----------------------------------------------------------------------------------------
    def regularized_weights(self) -> list:
        """Every weight the reference adds to its L2 term (``reg=True`` / ``biasReg=True``)."""
        weights = [self.user_embedding, self.item_embedding]
        weights += self.specializer.regularized_weights + self.predictor.regularized_weights
        for layer in self.user_attention + self.item_attention:
            weights += layer.regularized_weights
        return weights

    def check_training(self, settings: dict, data) -> None:
        """Sub-graph sampling (``graph_sample``) trains on one device only: a batch carries its
        block's sub-graph, which a per-replica split would cut apart."""
        if settings.get("graph_sample") and num_replicas() > 1:
            raise ValueError(
                f"--set graph_sample trains on one device: each batch carries its block's sub-graph, which a split "
                f"across {num_replicas()} replicas would cut apart (use --strategy default, or graph_sample=0)"
            )

    def compute_losses(self, batch, training: bool = True) -> dict[str, tf.Tensor]:
        """``{"loss", "hinge", "l2"}`` of a batch of users and their pairs per behavior.

        Args:
            batch: ``{"users": [B], "pos_k": [B, S], "neg_k": [B, S], "mask_k": [B, S]}`` for
                each behavior ``k`` (:func:`tfrec.data.pipelines.multibehavior_training_data`):
                row ``b`` holds user ``b``'s positive / negative items in its valid slots. With
                ``"graph_users"`` and the other parts of a sampled sub-graph the ids are local to
                it and the representations come from :meth:`subgraph_propagate`.

        The hinge of behavior ``k`` is the mean over every valid pair of the *global* batch:
        each replica divides its pairs' sum by the pair count summed over the replicas
        (:func:`tfrec.distribute.global_sum`), and the L2 term, computed whole on each replica,
        counts ``1 / R`` (:func:`tfrec.distribute.replica_share`), so the replicas' summed
        gradients are one device's. Each replica propagates the whole graph itself: the math of
        a split batch is the math of the whole batch.
        """
        if "graph_users" in batch:
            user_reps, item_reps = self.subgraph_propagate(batch)
        else:
            user_reps, item_reps = self.propagate()
        batch_users = tf.cast(batch["users"], tf.int32)
        hinge = 0.0
        for target in range(self.num_behaviors):
            # the valid pairs, row by row: the reference's pair order
            mask = tf.cast(batch[f"mask_{target}"], tf.bool)
            users = tf.boolean_mask(tf.broadcast_to(batch_users[:, None], tf.shape(mask)), mask)
            positives = tf.boolean_mask(tf.cast(batch[f"pos_{target}"], tf.int32), mask)
            negatives = tf.boolean_mask(tf.cast(batch[f"neg_{target}"], tf.int32), mask)
            # one predictor call per target behavior: faster on CPU than one call over every
            # target's pairs concatenated
            scores = self._deduplicated_pair_scores(
                user_reps, item_reps, tf.concat([users, users], 0), tf.concat([positives, negatives], 0), target
            )  # [K + 1, 2n]
            half = tf.shape(users)[0]
            margins = scores[:, :half] - scores[:, half:]
            # mean over the global batch's pairs; a batch where no user has this behavior adds 0
            # (the reference would take the mean of nothing, NaN).
            pair_count = global_sum(tf.cast(half, scores.dtype))
            hinge += tf.reduce_sum(tf.math.divide_no_nan(tf.reduce_sum(tf.nn.relu(1.0 - margins), axis=1), pair_count))
        l2 = replica_share(self.reg * tf.add_n([tf.reduce_sum(tf.square(w)) for w in self.regularized_weights()]))
        return {"loss": hinge + l2, "hinge": hinge, "l2": l2}

    def get_config(self):
        return {
            **super().get_config(),
            "num_users": self.num_users,
            "num_items": self.num_items,
            "num_behaviors": self.num_behaviors,
            "adjacency_nnz": self.adjacency_nnz,
            "latdim": self.latdim,
            "rank": self.rank,
            "gnn_layer": self.gnn_layer,
            "att_head": self.att_head,
            "reg": self.reg,
            "mult": self.mult,
            "leaky": self.leaky,
            "jit_predictor": self.jit_predictor,
            "predictor_dtype": self.predictor.dtype_policy.name,
        }
