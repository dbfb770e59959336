"""Meta networks of MB-GMN (seed 000, "Model": ``metaForSpecialize``/``specialize`` and
``metaForPredict``/``_predict``): layers whose outputs are the *weights* of another transform.

Initialisation and regularisation follow the reference's ``FC``/``Bias`` calls exactly:
kernels are Xavier-uniform and L2-regularised (``reg=True``); biases are zeros and not
regularised, except where the reference passes ``biasInitializer='xavier', biasReg=True`` (the
weight-generating layers), whose biases are Xavier-uniform (``limit = sqrt(3 / n)`` for a vector
of length ``n``) and regularised. ``regularized_weights`` lists what enters the L2 term.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf


class _MetaLayer(keras.layers.Layer):
    """Shared helpers: weights created with the reference's initialisers, L2 bookkeeping."""

    def __init__(self, leaky: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= leaky < 1.0:
            raise ValueError(f"`leaky` must be in [0, 1); got {leaky!r}")
        self.leaky = float(leaky)
        self.regularized_weights: list = []

    def _kernel(self, name: str, shape) -> tf.Variable:
        weight = self.add_weight(name=name, shape=shape, initializer="glorot_uniform", autocast=False)
        self.regularized_weights.append(weight)
        return weight

    def _bias(self, name: str, size: int, generator: bool) -> tf.Variable:
        """A zero, unregularised bias; or, for weight generators, Xavier and regularised."""
        weight = self.add_weight(name=name, shape=(size,), initializer="glorot_uniform" if generator else "zeros", autocast=False)
        if generator:
            self.regularized_weights.append(weight)
        return weight


class MetaSpecializer(_MetaLayer):
    """MB-GMN's meta-knowledge learner: behavior-specific low-rank transforms of the embeddings.

    The reference's ``metaForSpecialize`` + ``specialize``.

    For each node (user or item) with base embedding ``e`` (``[h]``), neighbour sum ``n`` and
    behavior embedding ``b``::

        m  = leaky([b ; e ; n] @ W1 + c1)               # [h]   (W1 shared by users and items)
        T1 = reshape(m @ W_1 + c_1, [h, rank])           # generated, separate for users / items
        T2 = reshape(m @ W_2 + c_2, [rank, h])
        out = [e @ T1 @ T2 ; e]                          # [2h]

    One instance is shared by every behavior (the reference reuses ``specMeta_FC1..5``).

    Call arguments:
        user_embeddings: ``[U, h]`` base user embeddings ``e``.
        item_embeddings: ``[I, h]`` base item embeddings.
        behavior_embedding: ``[h]``, the behavior's embedding ``b``.
        user_neighbors: ``[U, h]`` neighbour sums ``n`` of the users.
        item_neighbors: ``[I, h]`` neighbour sums of the items.

    Returns:
        ``(users [U, 2h], items [I, 2h])``.

    Args:
        half_dim: ``h = latdim // 2``, the base embedding size.
        rank: rank of the generated transforms (seed 000: 4; 2 for Tmall).
        leaky: leaky-ReLU slope (0.1).

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import MetaSpecializer
    >>> users, items, behavior = np.ones((5, 8), "float32"), np.ones((6, 8), "float32"), np.ones(8, "float32")
    >>> [t.shape for t in MetaSpecializer(half_dim=8, rank=4)(users, items, behavior, users, items)]
    [TensorShape([5, 16]), TensorShape([6, 16])]

    References:
        - Lianghao Xia et al., "Graph Meta Network for Multi-Behavior Recommendation",
          SIGIR 2021 (https://arxiv.org/abs/2110.03969).
        - Reference notebook: seed 000, "MB-GMN on BeiBei" (TensorFlow 1.x graph code),
          "Model" (``metaForSpecialize``, ``specialize``).
    """

    def __init__(self, half_dim: int, rank: int = 4, leaky: float = 0.1, **kwargs):
        super().__init__(leaky=leaky, **kwargs)
        if half_dim <= 0 or rank <= 0:
            raise ValueError(f"`half_dim` and `rank` must be positive; got {half_dim}, {rank}")
        self.half_dim, self.rank = int(half_dim), int(rank)

    def build(self, input_shape=None):
        h, r = self.half_dim, self.rank
        self.meta_kernel = self._kernel("meta_kernel", (3 * h, h))
        self.meta_bias = self._bias("meta_bias", h, generator=False)
        self.generators = {}
        for name in ("user_w1", "user_w2", "item_w1", "item_w2"):
            self.generators[name] = (self._kernel(f"{name}_kernel", (h, r * h)), self._bias(f"{name}_bias", r * h, generator=True))
        self.built = True

    def _transform(self, embeddings, meta, first: str, second: str):
        h, r = self.half_dim, self.rank
        w1 = tf.reshape(meta @ self.generators[first][0] + self.generators[first][1], [-1, h, r])
        w2 = tf.reshape(meta @ self.generators[second][0] + self.generators[second][1], [-1, r, h])
        low = tf.einsum("nh,nhr->nr", embeddings, w1)
        return tf.concat([tf.einsum("nr,nrh->nh", low, w2), embeddings], axis=-1)

    def call(self, user_embeddings, item_embeddings, behavior_embedding, user_neighbors, item_neighbors):
        """Args: ``[U, h]``, ``[I, h]``, ``[h]``, ``[U, h]``, ``[I, h]``. Returns ``[U, 2h]``, ``[I, 2h]``."""

        def meta(embeddings, neighbors):
            behavior = tf.broadcast_to(behavior_embedding, tf.shape(embeddings))
            features = tf.concat([behavior, embeddings, neighbors], axis=-1)
            return tf.nn.leaky_relu(features @ self.meta_kernel + self.meta_bias, alpha=self.leaky)

        users = self._transform(user_embeddings, meta(user_embeddings, user_neighbors), "user_w1", "user_w2")
        items = self._transform(item_embeddings, meta(item_embeddings, item_neighbors), "item_w1", "item_w2")
        return users, items

    def get_config(self):
        return {**super().get_config(), "half_dim": self.half_dim, "rank": self.rank, "leaky": self.leaky}


def _bucket_size(n: tf.Tensor) -> tf.Tensor:
    """The smallest multiple of ``2 ** (floor(log2 n) - 4)`` that is at least ``n`` (``n >= 1``):
    at most 1/16 padding, 16 sizes per octave."""
    n = tf.maximum(n, 1)
    exponent = tf.cast(tf.math.floor(tf.math.log(tf.cast(n, tf.float64)) / tf.math.log(tf.constant(2.0, tf.float64))), tf.int32)
    step = tf.bitwise.left_shift(1, tf.maximum(exponent - 4, 0))
    return (n + step - 1) // step * step


class MetaPredictor(_MetaLayer):
    """MB-GMN's meta prediction network: a scoring network generated for each (user, item) pair.

    The reference's ``metaForPredict`` + ``_predict``.

    For a (user, item) pair with source-behavior representations ``(u_s, i_s)`` and
    target-behavior representations ``(u_t, i_t)`` (each ``[d]``)::

        x   = [u_s * i_s ; u_s ; i_s]                                  # [3d]
        s   = leaky(x @ P1 + c1);  t = leaky([u_t * i_t ; u_t ; i_t] @ P1 + c1)   # [d] each
        m   = leaky([s * t ; s ; t] @ P2 + c2)                         # [3d]
        W1  = reshape(m @ P3 + c3, [3d, d]);  b1 = m @ P4 + c4;  w2 = m @ P5 + c5
        score = mult * (leaky(x @ W1 + b1) . w2)

    The generated ``W1`` is materialised per pair (``[N, 3d * d]``) and applied with a batched
    product: on a CPU this is faster than one ``einsum`` that avoids materialising it
    (``benchmarks/bench_mbgmn.py``), for the same math. Computed in three parts:
    :meth:`_meta` (everything but ``W1``, ``[N, 3d]``-sized), :meth:`_generated` (``W1`` and
    ``x @ W1``: the ``[N, 3d * d]`` products, most of the cost) and :meth:`_output`.

    Args:
        dim: ``d = latdim``, the size of the propagated representations.
        mult: score multiplier (seed 000 ``--mult 100``).
        leaky: leaky-ReLU slope.
        jit_compile: run the network (forward and gradient) through XLA, which fuses the
            element-wise passes over the ``[N, 3d * d]`` generated weights (faster BeiBei-size steps
            on a CPU, ``benchmarks/bench_mbgmn.py``). Same math up to float rounding. Under a
            mixed policy the bfloat16 products stay outside XLA (XLA's CPU products do not use
            the CPU's bfloat16 instructions, TensorFlow's oneDNN kernels do) and
            XLA compiles the float32 parts around them.
        dtype: a Keras dtype policy. Under ``"mixed_bfloat16"`` the two generated-weight
            products (``m @ P3`` and ``x @ W1``, and their gradients) run in bfloat16; every
            other operation, the weights, the inputs and the returned scores stay float32. On a
            CPU with AVX-512 BF16 this takes a BeiBei-size training epoch from 231 s to 156 s on
            one core. Not the reference's arithmetic: see the README for its effect on HR/NDCG.

    Call arguments:
        source_users, source_items: ``[N, d]`` source-behavior representations of the pairs.
        target_users, target_items: ``[N, d]`` target-behavior representations.

    Returns:
        ``[N]`` float32 scores (already multiplied by ``mult``).

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import MetaPredictor
    >>> x = np.ones((5, 8), "float32")
    >>> MetaPredictor(dim=8)(x, x, x, x).shape
    TensorShape([5])

    References:
        - Lianghao Xia et al., "Graph Meta Network for Multi-Behavior Recommendation",
          SIGIR 2021 (https://arxiv.org/abs/2110.03969).
        - Reference notebook: seed 000, "MB-GMN on BeiBei" (TensorFlow 1.x graph code),
          "Model" (``metaForPredict``, ``_predict``).
    """

    def __init__(self, dim: int, mult: float = 100.0, leaky: float = 0.1, jit_compile: bool = False, **kwargs):
        kwargs.setdefault("autocast", False)  # inputs and weights stay float32; see `_generated`
        super().__init__(leaky=leaky, **kwargs)
        if dim <= 0:
            raise ValueError(f"`dim` must be positive; got {dim}")
        self.dim, self.mult, self.jit_compile = int(dim), float(mult), bool(jit_compile)
        self._compiled = self._compiled_meta = self._compiled_output = None
        if self.jit_compile and self.compute_dtype == "float32":
            self._compiled = tf.function(self._scores, jit_compile=True)
        elif self.jit_compile:
            self._compiled_meta = tf.function(self._meta, jit_compile=True)
            self._compiled_output = tf.function(self._output, jit_compile=True)

    def build(self, input_shape=None):
        d = self.dim
        self.pair_kernel = self._kernel("pair_kernel", (3 * d, d))
        self.pair_bias = self._bias("pair_bias", d, generator=False)
        self.meta_kernel = self._kernel("meta_kernel", (3 * d, 3 * d))
        self.meta_bias = self._bias("meta_bias", 3 * d, generator=False)
        self.w1_kernel = self._kernel("w1_kernel", (3 * d, 3 * d * d))
        self.w1_bias = self._bias("w1_bias", 3 * d * d, generator=True)
        self.b1_kernel = self._kernel("b1_kernel", (3 * d, d))
        self.b1_bias = self._bias("b1_bias", d, generator=False)
        self.w2_kernel = self._kernel("w2_kernel", (3 * d, d))
        self.w2_bias = self._bias("w2_bias", d, generator=True)
        self.built = True

    def call(self, source_users, source_items, target_users, target_items):
        """Args: four ``[N, d]`` tensors. Returns ``[N]`` float32 scores (already times ``mult``)."""
        inputs = [tf.cast(t, tf.float32) for t in (source_users, source_items, target_users, target_items)]
        if not self.jit_compile:
            return self._scores(*inputs)
        # XLA compiles once per input shape: pad the number of pairs up to one of 16 sizes per
        # power of two (at most 6.25% padding) so a training run compiles a handful of programs
        # rather than one per step. Padded rows are zeros and are sliced off (no gradient).
        n = tf.shape(inputs[0])[0]
        bucket = _bucket_size(n)
        padded = [tf.pad(t, [[0, bucket - n], [0, 0]]) for t in inputs]
        if self._compiled is not None:
            return self._compiled(*padded)[:n]
        x, meta, bias, w2 = self._compiled_meta(*padded)
        return self._compiled_output(self._generated(x, meta), bias, w2)[:n]

    def _scores(self, source_users, source_items, target_users, target_items):
        x, meta, bias, w2 = self._meta(source_users, source_items, target_users, target_items)
        return self._output(self._generated(x, meta), bias, w2)

    def _meta(self, source_users, source_items, target_users, target_items):
        """``x [N, 3d]``, ``m [N, 3d]``, the hidden layer's bias ``[N, d]`` and ``w2 [N, d]``."""
        d = self.dim
        x = tf.concat([source_users * source_items, source_users, source_items], axis=-1)
        y = tf.concat([target_users * target_items, target_users, target_items], axis=-1)
        s = tf.nn.leaky_relu(x @ self.pair_kernel + self.pair_bias, alpha=self.leaky)
        t = tf.nn.leaky_relu(y @ self.pair_kernel + self.pair_bias, alpha=self.leaky)
        meta = tf.nn.leaky_relu(tf.concat([s * t, s, t], axis=-1) @ self.meta_kernel + self.meta_bias, alpha=self.leaky)
        # x @ reshape(m @ P3 + c3) = x @ reshape(m @ P3) + x @ reshape(c3): the generated bias is
        # applied by one small [N, 3d] x [3d, d] product instead of an add over the [N, 3d * d]
        # generated weights (one pass less over them forward and backward)
        bias = meta @ self.b1_kernel + self.b1_bias + x @ tf.reshape(self.w1_bias, [3 * d, d])
        w2 = meta @ self.w2_kernel + self.w2_bias
        return x, meta, bias, w2

    def _generated(self, x, meta):
        """``x @ reshape(m @ P3, [3d, d])`` per pair: ``[N, d]`` float32, computed in the
        policy's compute dtype."""
        d, dtype = self.dim, self.compute_dtype
        w1 = tf.reshape(tf.cast(meta, dtype) @ tf.cast(self.w1_kernel, dtype), [-1, 3 * d, d])
        return tf.cast(tf.squeeze(tf.matmul(tf.cast(x, dtype)[:, None, :], w1), axis=1), tf.float32)

    def _output(self, generated, bias, w2):
        return tf.reduce_sum(tf.nn.leaky_relu(generated + bias, alpha=self.leaky) * w2, axis=-1) * self.mult

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "mult": self.mult, "leaky": self.leaky, "jit_compile": self.jit_compile}
