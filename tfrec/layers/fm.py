"""Factorization-machine interactions (seed 003, sections "FM" and "DeepFM": ``FM_layer``).

* :class:`FMInteraction` -- the second-order term over field vectors ``v [B, N, k]``:
  ``0.5 * sum_k ((sum_n v_nk)^2 - sum_n v_nk^2) = sum_{n < m} <v_n, v_m>`` (Rendle's O(Nk)
  identity), no weights.
* :class:`FactorizationMachine` -- seed 003's ``FM_layer`` on a real-valued vector
  ``x [B, D]``: ``w_0 + x w + 0.5 * sum_k ((x V)_k^2 - (x^2)(V^2)_k)`` with ``w [D, 1]``,
  ``V [D, k]`` drawn from N(0, 0.05^2) (``tf.random_normal_initializer``) and L2 on ``w`` and
  ``V``. DeepFM in the notebook applies it to the flattened field embeddings.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.validation import check_non_negative, check_positive_int


@keras.saving.register_keras_serializable(package="tfrec")
class FMInteraction(keras.layers.Layer):
    """The factorization machine's second-order term over field vectors, without weights.

    Rendle's O(N k) identity::

        out = sum_{n < m} <v_n, v_m> = 0.5 * sum_k ((sum_n v_nk)^2 - sum_n v_nk^2)

    Call arguments:
        inputs: ``[B, N, k]`` field vectors.

    Returns:
        ``[B]`` float32 (also under a mixed precision policy).

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import FMInteraction
    >>> layer = FMInteraction()
    >>> layer(np.ones((4, 3, 8), "float32")).shape
    TensorShape([4])

    References:
        - Steffen Rendle, "Factorization Machines", ICDM 2010.
        - Huifeng Guo, Ruiming Tang, Yunming Ye, Zhenguo Li, Xiuqiang He, "DeepFM: A
          Factorization-Machine based Neural Network for CTR Prediction", IJCAI 2017
          (https://arxiv.org/abs/1703.04247).
        - Reference notebook: seed 003, "Various models on ML-1m in Tensorflow" (TF2 Keras),
          sections "FM" and "DeepFM" (``FM_layer``).
    """

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"FMInteraction expects [batch, fields, dim] inputs; got shape {tuple(input_shape)}")
        self.built = True

    def call(self, inputs):
        if inputs.dtype != tf.float32:  # a logit term: float32 under a mixed policy too
            inputs = tf.cast(inputs, tf.float32)
        square_of_sum = tf.square(tf.reduce_sum(inputs, axis=1))
        sum_of_squares = tf.reduce_sum(tf.square(inputs), axis=1)
        return 0.5 * tf.reduce_sum(square_of_sum - sum_of_squares, axis=-1)


@keras.saving.register_keras_serializable(package="tfrec")
class FactorizationMachine(keras.layers.Layer):
    """A full second-order factorization machine on a real-valued vector (seed 003's ``FM_layer``).

    With ``w [D, 1]`` and ``V [D, k]`` drawn from N(0, 0.05^2) and a zero-initialised ``w_0``::

        out = w_0 + x w + 0.5 * sum_k ((x V)_k^2 - (x^2)(V^2)_k)

    Call arguments:
        inputs: ``[B, D]`` real-valued features.

    Returns:
        ``[B]`` logits (computed in float32 under a mixed precision policy too).

    Args:
        factors: ``k``, the latent size of ``V`` (seed 003: ``latent_dim = 8``).
        w_l2, v_l2: L2 factors on ``w`` and ``V`` (seed 003: 1e-4 each).

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import FactorizationMachine
    >>> layer = FactorizationMachine(factors=4)
    >>> layer(np.ones((4, 8), "float32")).shape
    TensorShape([4])

    References:
        - Steffen Rendle, "Factorization Machines", ICDM 2010.
        - Reference notebook: seed 003, "Various models on ML-1m in Tensorflow" (TF2 Keras),
          sections "FM" and "DeepFM" (``FM_layer``).
    """

    def __init__(self, factors: int = 8, w_l2: float = 1e-4, v_l2: float = 1e-4, **kwargs):
        super().__init__(**kwargs)
        self.factors = check_positive_int("factors", factors)
        self.w_l2 = check_non_negative("w_l2", w_l2)
        self.v_l2 = check_non_negative("v_l2", v_l2)

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"FactorizationMachine expects [batch, features] inputs; got shape {tuple(input_shape)}")
        dim = int(input_shape[-1])
        normal = keras.initializers.RandomNormal(stddev=0.05)
        self.w0 = self.add_weight(shape=(1,), initializer="zeros", name="w0")
        self.w = self.add_weight(
            shape=(dim, 1), initializer=normal, regularizer=keras.regularizers.L2(self.w_l2) if self.w_l2 else None, name="w"
        )
        self.V = self.add_weight(
            shape=(dim, self.factors), initializer=normal,
            regularizer=keras.regularizers.L2(self.v_l2) if self.v_l2 else None, name="V",
        )
        self.built = True

    def call(self, inputs):
        if self.compute_dtype != "float32":  # a logit: float32 arithmetic under a mixed policy too
            return self._fm(*(tf.cast(t, tf.float32) for t in (inputs, self.w0, self.w, self.V)))
        return self._fm(inputs, self.w0, self.w, self.V)

    @staticmethod
    def _fm(inputs, w0, w, v):
        linear = tf.reduce_sum(tf.matmul(inputs, w), axis=1)
        interactions = 0.5 * tf.reduce_sum(
            tf.square(tf.matmul(inputs, v)) - tf.matmul(tf.square(inputs), tf.square(v)), axis=1
        )
        return w0[0] + linear + interactions

    def get_config(self):
        return {**super().get_config(), "factors": self.factors, "w_l2": self.w_l2, "v_l2": self.v_l2}
