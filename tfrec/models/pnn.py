"""Product-based Neural Network (Qu et al., ICDM 2016), inner and outer product kernels.

Ports seed 003, section "PNN" (``InnerProduct``, ``OuterProduct``, ``PNN``):

    e = E[offset_f + id_f]                              [B, F, k]   (shared table, L2 1e-4)
    l_z = flatten(Dense(k)(e))                          [B, F k]    (the same Dense on every field)
    l_p = product(e)                                    see tfrec.layers.product
    logit = Dense(1)(relu(Dense(32)(relu(Dense(64)([l_z ; l_p])))))

``product="inner"`` (``ipnn``): the notebook's "inner product" is the element-wise product
``e_i * e_j`` (its ``reduce_sum`` is commented out, and its ``squeeze`` only works for two
fields); kept by default and flattened for more fields, ``inner_reduce=True`` sums it to the
paper's inner product. ``product="outer"`` (``opnn``): the notebook's kernel product with
``kernel_type="mat"`` (``K [k, P, k]``, zero-initialised) or ``"vec"``.
Numeric fields ``x_f``: the products take ``e_f = x_f E[offset_f]``; the linear signal takes
the deep input, ``l_z = [flatten(Dense(k)(categorical e)) ; x_num]`` ``[B, n_cat k + n_num]``.
Shapes: inputs ``{field: [B]}``; ``logits`` ``[B]``. Defaults: ``latent_dim = 8``, DNN
``[64, 32]``, ``l2_emb = 1e-4``, Adam lr 1e-3, 10 epochs, batch 32.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.layers.dnn import DNN
from tfrec.layers.fields import FieldEmbedding
from tfrec.validation import check_non_negative
from tfrec.layers.product import InnerProduct, OuterProduct
from tfrec.models.ctr import CTRModel, build_once


@keras.saving.register_keras_serializable(package="tfrec")
class PNN(CTRModel):
    """PNN with an inner- or outer-product layer -> ``[B]`` logits.

    With ``e`` the ``[B, F, k]`` field embeddings (see the module docstring and
    :mod:`tfrec.layers.product`)::

        l_z = flatten(Dense(k)(e))                    [B, F k]
        l_p = product(e)                              inner or outer product signal
        logit = Dense(1)(DNN([l_z ; l_p]))

    A numeric field ``x_f`` enters the products as ``e_f = x_f v_f`` and the linear signal raw:
    ``l_z = [flatten(Dense(k)(categorical e)) ; x_num]`` ``[B, n_cat k + n_num]``.

    Input shape:
        ``{field: [B]}`` int ids (multi-hot ``[B, M]`` padded with ``-1``, numeric ``[B]``
        float32), a tuple of per-field arrays, or one ``[B, F]`` matrix; at least two fields.

    Output shape:
        ``call`` / ``predict``: ``[B]`` click probabilities; ``logits``: ``[B]``.

    Args:
        fields: the input fields (at least two).
        embedding_dim: ``k`` (seed 003: 8), also the width of the per-field linear signal.
        hidden_units: DNN widths (seed 003: ``[64, 32]``).
        product: ``"inner"`` (seed 003's default ``model_type``) or ``"outer"``.
        kernel_type: outer-product kernel, ``"mat"`` (seed 003) or ``"vec"``.
        inner_reduce: sum the inner products over ``k`` (the paper); seed 003 does not.
        l2: L2 on the embedding table (seed 003: 1e-4).
        pooling: multi-hot pooling.

    Example:
        >>> import numpy as np
        >>> from tfrec.models import PNN
        >>> fields = [("user_id", 10), ("item_id", 20)]
        >>> inputs = {"user_id": np.array([1, 2]), "item_id": np.array([3, 4])}
        >>> PNN(fields, embedding_dim=4, hidden_units=[16, 8])(inputs).shape
        TensorShape([2])
        >>> PNN(fields, embedding_dim=4, product="outer", kernel_type="vec")(inputs).shape
        TensorShape([2])

    References:
        - Yanru Qu, Han Cai, Kan Ren, Weinan Zhang, Yong Yu, Ying Wen, Jun Wang,
          "Product-based Neural Networks for User Response Prediction", ICDM 2016
          (arXiv:1611.00144).
        - Seed 003 ("Various models on ML-1m in Tensorflow"), section "PNN" (``InnerProduct``,
          ``OuterProduct``, ``PNN``).
    """

    def __init__(
        self,
        fields,
        embedding_dim: int = 8,
        hidden_units=(64, 32),
        product: str = "inner",
        kernel_type: str = "mat",
        inner_reduce: bool = False,
        l2: float = 1e-4,
        pooling: str = "mean",
        **kwargs,
    ):
        super().__init__(fields, pooling, **kwargs)
        if self.num_fields < 2:
            raise ValueError(f"PNN needs at least two fields; got {self.field_names}")
        if product not in ("inner", "outer"):
            raise ValueError(f"`product` must be 'inner' or 'outer'; got {product!r}")
        self.product, self.kernel_type = product, kernel_type
        self.l2 = check_non_negative("l2", l2)
        self.embedding = FieldEmbedding(self.field_specs, embedding_dim, embeddings_l2=self.l2, pooling=pooling, name="fields")
        self.embedding_dim = self.embedding.embedding_dim
        self.linear = keras.layers.Dense(self.embedding_dim, name="linear")
        inner = InnerProduct(reduce=inner_reduce, name="product")
        outer = OuterProduct(kernel_type=kernel_type, name="product")  # validates kernel_type
        self.inner_reduce = inner.reduce
        self.product_layer = inner if product == "inner" else outer
        self.dnn = DNN(hidden_units, "relu", name="dnn")
        self.hidden_units = self.dnn.units
        self.output_layer = keras.layers.Dense(1, name="output")

    def _product_width(self) -> int:
        pairs = self.num_fields * (self.num_fields - 1) // 2
        if self.product == "inner" and not self.inner_reduce:
            return pairs * self.embedding_dim
        return pairs

    def build_layers(self):
        shape = (None, self.num_fields, self.embedding_dim)
        build_once(self.linear, shape)
        build_once(self.product_layer, shape)
        build_once(self.dnn, (None, self.deep_input_dim + self._product_width()))
        build_once(self.output_layer, (None, self.hidden_units[-1]))

    def logits(self, inputs, training=False):
        features = self.features(inputs)
        emb = self.embedding(features)
        categorical = self.embedding.categorical_embeddings(emb)  # emb itself without numeric fields
        linear = tf.reshape(self.linear(categorical), [-1, self.embedding.num_categorical * self.embedding_dim])
        signals = [linear, self.product_layer(emb)]
        if self.embedding.num_numeric:
            signals.insert(1, self.embedding.numeric_values(features))  # l_z = [Dense(k)(e_cat) ; x_num]
        out = self.dnn(tf.concat(signals, axis=-1))
        return tf.squeeze(self.output_layer(out), -1)

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "hidden_units": list(self.hidden_units),
            "product": self.product,
            "kernel_type": self.kernel_type,
            "inner_reduce": self.inner_reduce,
            "l2": self.l2,
        }
