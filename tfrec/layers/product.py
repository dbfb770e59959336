"""PNN's product layers (seed 003, section "PNN": ``InnerProduct``, ``OuterProduct``).

For field embeddings ``e [B, F, k]`` and the ``P = F (F - 1) / 2`` pairs ``(i, j)``, ``i < j``
(``p = e_i``, ``q = e_j``):

* :class:`InnerProduct` -- seed 003 computes ``p * q`` and leaves the sum over ``k`` commented
  out (``# out = tf.reduce_sum(out, axis=2)``), then ``tf.squeeze(out, 1)``, which only works
  with two fields (``P = 1``): its "inner product" is the ``[B, k]`` element-wise product.
  ``reduce=False`` (default) keeps that and generalises it to ``[B, P k]`` (flattened);
  ``reduce=True`` gives the paper's inner products ``<e_i, e_j>``, ``[B, P]``.
* :class:`OuterProduct` -- the kernel product of the notebook: ``kernel_type="mat"``
  (its default): ``out_ij = sum_{a,c} q_a K[a, ij, c] p_c`` with ``K [k, P, k]``;
  ``kernel_type="vec"``: ``out_ij = sum_c p_c q_c K[ij, c]`` with ``K [P, k]``. Both ``[B, P]``;
  ``K`` starts at zero, as in the notebook.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.layers.pairs import pair_indices


def _check_fields(name: str, input_shape) -> int:
    if len(input_shape) != 3 or input_shape[1] is None or input_shape[1] < 2 or input_shape[2] is None:
        raise ValueError(f"{name} expects [batch, fields >= 2, dim] inputs; got shape {tuple(input_shape)}")
    return int(input_shape[1])


@keras.saving.register_keras_serializable(package="tfrec")
class InnerProduct(keras.layers.Layer):
    """PNN's inner-product layer over every pair of field embeddings.

    For the ``P = F (F - 1) / 2`` pairs ``(i, j)``, ``i < j``::

        reduce=False (seed 003):  out = flatten_ij(e_i * e_j)     [B, P k]
        reduce=True  (the paper): out_ij = <e_i, e_j>              [B, P]

    Call arguments:
        inputs: ``[B, F, k]`` field embeddings, ``F >= 2``.

    Returns:
        ``[B, P k]`` element-wise pair products, or ``[B, P]`` inner products with
        ``reduce=True``.

    Args:
        reduce: sum each pair's product over ``k`` (the paper's inner product) or not (seed 003).

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import InnerProduct
    >>> x = np.ones((4, 3, 8), "float32")
    >>> InnerProduct()(x).shape, InnerProduct(reduce=True)(x).shape
    (TensorShape([4, 24]), TensorShape([4, 3]))

    References:
        - Yanru Qu, Han Cai, Kan Ren, Weinan Zhang, Yong Yu, Ying Wen, Jun Wang, "Product-based
          Neural Networks for User Response Prediction", ICDM 2016
          (https://arxiv.org/abs/1611.00144).
        - Reference notebook: seed 003, "Various models on ML-1m in Tensorflow" (TF2 Keras),
          section "PNN" (``InnerProduct``).
    """

    def __init__(self, reduce: bool = False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(reduce, bool):
            raise ValueError(f"`reduce` must be true or false; got {reduce!r}")
        self.reduce = reduce

    def build(self, input_shape):
        fields = _check_fields("InnerProduct", input_shape)
        self.rows, self.cols = pair_indices(fields)
        self.dim = int(input_shape[2])
        self.built = True

    def call(self, inputs):
        out = tf.gather(inputs, self.rows, axis=1) * tf.gather(inputs, self.cols, axis=1)  # [B, P, k]
        if self.reduce:
            return tf.reduce_sum(out, axis=-1)
        return tf.reshape(out, [-1, len(self.rows) * self.dim])

    def get_config(self):
        return {**super().get_config(), "reduce": self.reduce}


@keras.saving.register_keras_serializable(package="tfrec")
class OuterProduct(keras.layers.Layer):
    """PNN's outer-product (kernel product) layer over every pair of field embeddings.

    For the ``P = F (F - 1) / 2`` pairs ``(i, j)``, ``i < j``, with ``p = e_i``, ``q = e_j`` and a
    zero-initialised kernel ``K``::

        kernel_type="mat":  out_ij = sum_{a,c} q_a K[a, ij, c] p_c     K [k, P, k]
        kernel_type="vec":  out_ij = sum_c p_c q_c K[ij, c]             K [P, k]

    Call arguments:
        inputs: ``[B, F, k]`` field embeddings, ``F >= 2``.

    Returns:
        ``[B, P]``.

    Args:
        kernel_type: ``"mat"`` (seed 003's default, ``K [k, P, k]``) or ``"vec"`` (``K [P, k]``).

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import OuterProduct
    >>> layer = OuterProduct(kernel_type="mat")
    >>> layer(np.ones((4, 3, 8), "float32")).shape
    TensorShape([4, 3])

    References:
        - Yanru Qu, Han Cai, Kan Ren, Weinan Zhang, Yong Yu, Ying Wen, Jun Wang, "Product-based
          Neural Networks for User Response Prediction", ICDM 2016
          (https://arxiv.org/abs/1611.00144).
        - Reference notebook: seed 003, "Various models on ML-1m in Tensorflow" (TF2 Keras),
          section "PNN" (``OuterProduct``).
    """

    def __init__(self, kernel_type: str = "mat", **kwargs):
        super().__init__(**kwargs)
        if kernel_type not in ("mat", "vec"):
            raise ValueError(f"`kernel_type` must be 'mat' or 'vec'; got {kernel_type!r}")
        self.kernel_type = kernel_type

    def build(self, input_shape):
        fields = _check_fields("OuterProduct", input_shape)
        self.rows, self.cols = pair_indices(fields)
        k, pairs = int(input_shape[2]), len(self.rows)
        shape = (k, pairs, k) if self.kernel_type == "mat" else (pairs, k)
        self.kernel = self.add_weight(shape=shape, initializer="zeros", name="kernel")
        self.built = True

    def call(self, inputs):
        p = tf.gather(inputs, self.rows, axis=1)  # [B, P, k]
        q = tf.gather(inputs, self.cols, axis=1)
        if self.kernel_type == "mat":
            kp = tf.einsum("bpc,apc->bpa", p, self.kernel)  # (K_p p)_a = sum_c K[a, p, c] p_c
            return tf.reduce_sum(kp * q, axis=-1)
        return tf.reduce_sum(p * q * self.kernel[None], axis=-1)

    def get_config(self):
        return {**super().get_config(), "kernel_type": self.kernel_type}
