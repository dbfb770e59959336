"""COTREC's two graph encoders (seed 002, "Model": ``ItemConv``, ``SessConv``) and the batch's
session-overlap matrix (seed 002, "Dataset": ``Data.get_overlap``), vectorised in TensorFlow.

Shapes: ``N`` items (the reference's ``n_node``), ``d`` embedding size, ``B`` sessions in a batch,
``L`` padded session length, ``M`` graph layers.

Both encoders apply, per layer, a bias-free linear map, then a propagation, then keep an L2
normalised copy; the output is the mean of layer 0 (the input, *not* normalised) and the
``M`` normalised layers. The propagated (unnormalised) tensor feeds the next layer, as in the
reference. In the reference the per-layer maps sit in a plain Python ``dict`` that PyTorch never
registers, so they are never trained and keep ``nn.Linear``'s default init, U(-1/sqrt(d),
1/sqrt(d)) -- the same distribution as every other COTREC weight. ``trainable_maps=False`` (the
default) reproduces that; ``True`` trains them.
"""

from __future__ import annotations

import math
import numbers

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.layers.sparse import csr_matmul, to_csr, transposed

# F.normalize divides by max(||x||, 1e-12); tf.math.l2_normalize by sqrt(max(||x||^2, eps)).
L2_EPSILON = 1e-24


def l2_normalize(x: tf.Tensor, axis: int = -1) -> tf.Tensor:
    """``x / max(||x||, 1e-12)`` along ``axis`` (PyTorch's ``F.normalize(x, p=2)``)."""
    return tf.math.l2_normalize(x, axis=axis, epsilon=L2_EPSILON)


def _layers(value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"`num_layers` must be a non-negative integer; got {value!r}")
    return int(value)


def uniform_init(dim: int) -> keras.initializers.Initializer:
    """COTREC's ``init_parameters``: U(-1/sqrt(d), 1/sqrt(d))."""
    bound = 1.0 / math.sqrt(dim)
    return keras.initializers.RandomUniform(-bound, bound)


class _GraphConv(keras.layers.Layer):
    """Shared part: ``num_layers`` ``[d, d]`` maps (``x @ W``; ``nn.Linear`` is ``x @ W^T``, the
    same distribution), averaged propagation."""

    def __init__(self, num_layers: int = 2, trainable_maps: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = _layers(num_layers)
        if not isinstance(trainable_maps, bool):
            raise ValueError(f"`trainable_maps` must be True or False; got {trainable_maps!r}")
        self.trainable_maps = trainable_maps

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.maps = [
            self.add_weight(
                name=f"map_{i}", shape=(dim, dim), initializer=uniform_init(dim), trainable=self.trainable_maps
            )
            for i in range(self.num_layers)
        ]
        self.built = True

    def _propagate(self, x: tf.Tensor, step) -> tf.Tensor:
        layers = [x]
        for kernel in self.maps:
            x = step(tf.matmul(x, kernel))
            layers.append(l2_normalize(x))
        return tf.add_n(layers) / float(self.num_layers + 1)

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers, "trainable_maps": self.trainable_maps}


@keras.saving.register_keras_serializable(package="tfrec")
class ItemConv(_GraphConv):
    """COTREC's item-view encoder: graph convolution over the item transition graph.

    Seed 002's ``ItemConv``::

        X_0 = E;  X_l = A @ (X_{l-1} @ W_l);  out = (X_0 + sum_l normalize(X_l)) / (M + 1)

    ``A`` is the column-normalised transition adjacency (:func:`tfrec.data.sessions.
    item_transition_graph`), a ``tf.sparse.SparseTensor`` ``[N, N]``.

    Call: ``(embeddings [N, d], adjacency SparseTensor [N, N], adjacency_t=None) -> [N, d]``.
    The products use TensorFlow's CSR kernel (``SparseMatrixMatMul``, converted once per call:
    faster than ``tf.sparse.sparse_dense_matmul`` forward and backward on a CPU), with
    the gradient taken through ``adjacency_t`` = ``A^T`` in row-major order
    (:func:`tfrec.layers.sparse.csr_matmul`: bit-reproducible, unlike the adjoint kernel); pass
    it when it is at hand (transposing here costs a sort per call). Same math.

    The layer computes in float32 under every dtype policy (its ``dtype`` is always float32):
    the CSR kernel has no 16-bit version, and the adjacency's values would lose precision if
    they were cast to the compute dtype of a mixed policy.

    Args:
        num_layers: graph layers ``M`` (0 returns the embeddings unchanged).
        trainable_maps: train the per-layer maps ``W_l`` (``False``, the reference's behaviour:
            see the module docstring).

    Example:

    >>> import numpy as np, tensorflow as tf
    >>> from tfrec.layers import ItemConv
    >>> adjacency = tf.sparse.from_dense(np.eye(6, dtype="float32"))
    >>> ItemConv(num_layers=2)(np.ones((6, 8), "float32"), adjacency).shape
    TensorShape([6, 8])

    References:
        - Xin Xia, Hongzhi Yin, Junliang Yu, Yingxia Shao, Lizhen Cui, "Self-Supervised Graph
          Co-Training for Session-based Recommendation", CIKM 2021.
        - Reference notebook: seed 002, "Training COTREC Session-based recommendation model on
          Diginetica, Tmall, and RetailRocket datasets" (PyTorch), "Model"
          (``ItemConv``).
    """

    def __init__(self, num_layers: int = 2, trainable_maps: bool = False, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(num_layers, trainable_maps, **kwargs)

    def call(self, embeddings, adjacency, adjacency_t=None):
        if not self.maps:
            return embeddings
        if adjacency_t is None:
            adjacency_t = transposed(adjacency)
        matrix, matrix_t = to_csr(adjacency, embeddings.dtype), to_csr(adjacency_t, embeddings.dtype)
        return self._propagate(embeddings, lambda x: csr_matmul(matrix, matrix_t, x))


@keras.saving.register_keras_serializable(package="tfrec")
class SessConv(_GraphConv):
    """Session-view encoder over the batch's session-overlap graph (seed 002 ``SessConv``)::

        S_0 = mean of each session's item embeddings;  S_l = (D^-1 A) @ (S_{l-1} @ W_l)
        out = (S_0 + sum_l normalize(S_l)) / (M + 1)

    Call: ``(session_means [B, d], overlap [B, B]) -> [B, d]`` with ``overlap`` = ``D^-1 A``
    from :func:`session_overlap`. (Cutting the gradient as the reference does is the model's
    choice: see ``CoTRec(session_view=...)``.)

    Args:
        num_layers: graph layers ``M`` (0 returns ``S_0`` unchanged).
        trainable_maps: train the per-layer maps ``W_l`` (``False``, the reference's behaviour:
            see the module docstring).

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import SessConv
    >>> from tfrec.layers.session_graph import session_overlap
    >>> overlap = session_overlap(np.array([[1, 2, 0], [2, 3, 0], [4, 0, 0], [1, 3, 4]]))
    >>> SessConv(num_layers=2)(np.ones((4, 8), "float32"), overlap).shape
    TensorShape([4, 8])

    References:
        - Xin Xia, Hongzhi Yin, Junliang Yu, Yingxia Shao, Lizhen Cui, "Self-Supervised Graph
          Co-Training for Session-based Recommendation", CIKM 2021.
        - Reference notebook: seed 002, "Training COTREC Session-based recommendation model on
          Diginetica, Tmall, and RetailRocket datasets" (PyTorch), "Model"
          (``SessConv``) and "Dataset" (``Data.get_overlap``).
    """

    def call(self, session_means, overlap):
        return self._propagate(session_means, lambda x: tf.matmul(overlap, x))


def session_overlap(session_items: tf.Tensor, normalize: bool = True) -> tf.Tensor:
    """The batch's session-overlap graph (seed 002 ``Data.get_overlap`` then ``D^-1 A``), vectorised.

    ``A[i, j] = |S_i & S_j| / |S_i | S_j|`` (Jaccard of the item *sets*, padding 0 excluded) for
    ``i != j`` and ``A[i, i] = 1``; with ``normalize`` the rows are divided by their sums. Built
    from a ``[B, U]`` multi-hot over the ``U`` distinct items of the batch (``tf.unique`` +
    ``tf.scatter_nd``, clipped to 0/1), intersections by one matmul. Two empty sessions have
    overlap 0 (the reference divides 0 by 0).

    Args:
        session_items: ``[B, L]`` int item ids, 0 = padding.

    Returns:
        ``[B, B]`` float32.
    """
    items = tf.cast(session_items, tf.int32)
    batch = tf.shape(items)[0]
    flat = tf.reshape(items, [-1])
    distinct, column = tf.unique(flat)
    rows = tf.repeat(tf.range(batch), tf.shape(items)[1])
    counts = tf.scatter_nd(tf.stack([rows, column], axis=1), tf.ones_like(flat, tf.float32),
                           tf.stack([batch, tf.size(distinct)]))
    is_item = tf.cast(tf.not_equal(distinct, 0), tf.float32)[None, :]
    multi_hot = tf.minimum(counts, 1.0) * is_item  # [B, U] set indicator
    inter = tf.matmul(multi_hot, multi_hot, transpose_b=True)
    sizes = tf.reduce_sum(multi_hot, axis=1)
    union = sizes[:, None] + sizes[None, :] - inter
    eye = tf.eye(batch, dtype=tf.float32)
    matrix = tf.math.divide_no_nan(inter, union) * (1.0 - eye) + eye
    if normalize:
        matrix = matrix / tf.reduce_sum(matrix, axis=1, keepdims=True)
    return matrix
