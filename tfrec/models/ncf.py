"""Neural Collaborative Filtering: GMF, MLP and NeuMF (He et al., WWW 2017).

Ports seed 004 ("Neural Matrix Factorization from scratch in PyTorch", sections "Defining Model
Architectures" and "Setting Arguments"); seed 003's Keras versions (section "NeuMF") are the same
architectures with other sizes.

Shapes: inputs are ``(user_ids [B], item_ids [B])`` int; ``logits`` returns ``[B]``;
``call``/``predict`` return ``[B]`` probabilities. Under a mixed precision policy the embeddings
and the MLP tower compute in 16 bits and the output layer in float32 (float32 logits).

Decisions where the reference is quirky (all documented, none silent):

* **Initialisation.** Seed 004's NeuMF draws embeddings from N(0, 0.01^2), Glorot-uniform for
  every linear kernel, zero biases; its GMF and MLP classes keep PyTorch's defaults (N(0, 1)
  embeddings). We use the NeuMF/NCF-paper scheme for all three models so GMF and MLP can
  pre-train NeuMF on the same scale.
* **Dropout.** Seed 004 declares ``--dropout 0.2`` but never applies it; the faithful default
  here is therefore ``dropout=0.0``, and ``dropout > 0`` applies it after each hidden layer.
* **Loss.** ``BCELoss(sigmoid(x))`` is computed as ``sigmoid_cross_entropy_with_logits(x)``
  (same value, numerically stable).
* **Optimizer.** Seed 004 steps ``torch.optim.Adam`` (lr 1e-3, epsilon 1e-8 inside the bias
  correction): ``tfrec train`` compiles with :class:`tfrec.optimizers.TorchAdam`, the same step
  (training setting ``optimizer=torch_adam``; ``adam`` is Keras' form).
* **Pre-training.** :func:`neumf_from_pretrained` initialises NeuMF from trained GMF and MLP as in
  the NCF paper (alpha = 0.5 weighting of the two output layers).
"""

from __future__ import annotations

from collections.abc import Sequence

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.models.base import PointwiseModel, float32_outputs, split_user_item
from tfrec.validation import check_positive_int


def _check_layers(layers: Sequence[int]) -> tuple[int, ...]:
    layers = tuple(layers)
    if len(layers) < 1 or any(isinstance(u, bool) or not isinstance(u, int) or u <= 0 for u in layers):
        raise ValueError(f"`layers` must be a non-empty list of positive integers; got {list(layers)!r}")
    if layers[0] % 2:
        raise ValueError(
            f"`layers[0]` is the concatenated user+item embedding size and must be even; got {layers[0]}"
        )
    return layers


def _check_dropout(dropout: float) -> float:
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1); got {dropout!r}")
    return float(dropout)


def _embedding(rows: int, dim: int, name: str) -> keras.layers.Embedding:
    return keras.layers.Embedding(
        rows, dim, embeddings_initializer=keras.initializers.RandomNormal(stddev=0.01), name=name
    )


def _build(layer: keras.layers.Layer, shape) -> None:
    """Build a sub-layer once (``fit`` may already have built it by calling it)."""
    if not layer.built:
        layer.build(shape)


def _dense(units: int, name: str, activation=None) -> keras.layers.Dense:
    return keras.layers.Dense(
        units, activation=activation, kernel_initializer="glorot_uniform", bias_initializer="zeros", name=name
    )


class _MLPTower(keras.layers.Layer):
    """The NCF MLP tower: ``layers[1:]`` ReLU dense layers on ``[B, layers[0]]`` inputs.

    Seed 004 ``fc_layers``: ``Linear(layers[i], layers[i+1]) + ReLU`` for each consecutive pair;
    optional dropout after each (see the module docstring).
    """

    def __init__(self, layers: Sequence[int], dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.layer_sizes = tuple(layers)
        self.dropout_rate = dropout
        self.hidden = [_dense(u, f"hidden_{i}", "relu") for i, u in enumerate(self.layer_sizes[1:])]
        self.dropout = keras.layers.Dropout(dropout) if dropout > 0 else None

    def build(self, input_shape):
        width = self.layer_sizes[0]
        for layer in self.hidden:
            _build(layer, (None, width))
            width = layer.units
        self.built = True

    def call(self, x, training=False):
        for layer in self.hidden:
            x = layer(x)
            if self.dropout is not None:
                x = self.dropout(x, training=training)
        return x

    def get_config(self):
        return {**super().get_config(), "layers": list(self.layer_sizes), "dropout": self.dropout_rate}


@keras.saving.register_keras_serializable(package="tfrec")
class GMF(PointwiseModel):
    """Generalized Matrix Factorization: ``logit = h^T (p_u * q_i) + b``.

    Args:
        num_users: number of users (embedding rows).
        num_items: number of items (embedding rows).
        factor_num: latent size of ``p_u`` and ``q_i`` (seed 004 ``--factor_num 32``).

    Example:

    >>> import numpy as np
    >>> from tfrec.models import GMF
    >>> model = GMF(num_users=10, num_items=20)
    >>> model((np.array([0, 1]), np.array([3, 4]))).shape   # click probabilities
    TensorShape([2])

    References:
        Seed 004, ``Generalized_Matrix_Factorization``; He et al. 2017, eq. (9).
    """

    def __init__(self, num_users: int, num_items: int, factor_num: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.num_users = check_positive_int("num_users", num_users)
        self.num_items = check_positive_int("num_items", num_items)
        self.factor_num = check_positive_int("factor_num", factor_num)
        self.user_embedding = _embedding(self.num_users, self.factor_num, "user_embedding")
        self.item_embedding = _embedding(self.num_items, self.factor_num, "item_embedding")
        self.output_layer = _dense(1, "output")

    def build(self, input_shape=None):
        _build(self.user_embedding, (None,))
        _build(self.item_embedding, (None,))
        float32_outputs(self)  # mixed precision: the logits in float32
        _build(self.output_layer, (None, self.factor_num))
        self.built = True

    def logits(self, inputs, training=False):
        users, items = split_user_item(inputs)
        product = self.user_embedding(users) * self.item_embedding(items)
        return tf.squeeze(self.output_layer(product), axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "num_users": self.num_users,
            "num_items": self.num_items,
            "factor_num": self.factor_num,
        }


@keras.saving.register_keras_serializable(package="tfrec")
class MLP(PointwiseModel):
    """Multi-layer perceptron over concatenated user and item embeddings.

    ``logit = h^T relu(W_L ... relu(W_1 [p_u ; q_i] + b_1) ... + b_L) + b``

    Args:
        num_users, num_items: embedding rows.
        layers: tower widths; ``layers[0]`` is the concatenated embedding size, so each
            embedding has ``layers[0] // 2`` dimensions (seed 004 ``--layers 64 32 16 8``).
        dropout: dropout after each hidden layer (seed 004 declares 0.2 but never applies it;
            default 0.0 reproduces the reference's math).

    References:
        Seed 004, ``Multi_Layer_Perceptron``; He et al. 2017, eq. (10).
    """

    def __init__(self, num_users: int, num_items: int, layers: Sequence[int] = (64, 32, 16, 8), dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_users = check_positive_int("num_users", num_users)
        self.num_items = check_positive_int("num_items", num_items)
        self.layer_sizes = _check_layers(layers)
        self.dropout_rate = _check_dropout(dropout)
        half = self.layer_sizes[0] // 2
        self.user_embedding = _embedding(self.num_users, half, "user_embedding")
        self.item_embedding = _embedding(self.num_items, half, "item_embedding")
        self.tower = _MLPTower(self.layer_sizes, self.dropout_rate, name="tower")
        self.output_layer = _dense(1, "output")

    def build(self, input_shape=None):
        _build(self.user_embedding, (None,))
        _build(self.item_embedding, (None,))
        _build(self.tower, (None, self.layer_sizes[0]))
        float32_outputs(self)  # mixed precision: the logits in float32
        _build(self.output_layer, (None, self.layer_sizes[-1]))
        self.built = True

    def logits(self, inputs, training=False):
        users, items = split_user_item(inputs)
        x = tf.concat([self.user_embedding(users), self.item_embedding(items)], axis=-1)
        return tf.squeeze(self.output_layer(self.tower(x, training=training)), axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "num_users": self.num_users,
            "num_items": self.num_items,
            "layers": list(self.layer_sizes),
            "dropout": self.dropout_rate,
        }


@keras.saving.register_keras_serializable(package="tfrec")
class NeuMF(PointwiseModel):
    """Neural Matrix Factorization: GMF and MLP branches fused by one output layer.

    ``logit = h^T [MLP(p^M_u, q^M_i) ; p^G_u * q^G_i] + b`` (MLP part first, as seed 004
    concatenates ``[mlp_vector, mf_vector]``).

    Args:
        num_users, num_items: embedding rows.
        factor_num: GMF latent size (seed 004: 32).
        layers: MLP tower widths; MLP embeddings have ``layers[0] // 2`` dims (seed 004: 64-32-16-8).
        dropout: see :class:`MLP` (default 0.0, as seed 004 effectively runs).

    References:
        Seed 004, ``NeuMF`` and ``init_weight``; He et al. 2017, eq. (11)-(12).
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        factor_num: int = 32,
        layers: Sequence[int] = (64, 32, 16, 8),
        dropout: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_users = check_positive_int("num_users", num_users)
        self.num_items = check_positive_int("num_items", num_items)
        self.factor_num = check_positive_int("factor_num", factor_num)
        self.layer_sizes = _check_layers(layers)
        self.dropout_rate = _check_dropout(dropout)
        half = self.layer_sizes[0] // 2
        self.user_embedding_mlp = _embedding(self.num_users, half, "user_embedding_mlp")
        self.item_embedding_mlp = _embedding(self.num_items, half, "item_embedding_mlp")
        self.user_embedding_mf = _embedding(self.num_users, self.factor_num, "user_embedding_mf")
        self.item_embedding_mf = _embedding(self.num_items, self.factor_num, "item_embedding_mf")
        self.tower = _MLPTower(self.layer_sizes, self.dropout_rate, name="tower")
        self.output_layer = _dense(1, "output")

    def build(self, input_shape=None):
        for layer in (self.user_embedding_mlp, self.item_embedding_mlp, self.user_embedding_mf, self.item_embedding_mf):
            _build(layer, (None,))
        _build(self.tower, (None, self.layer_sizes[0]))
        float32_outputs(self)  # mixed precision: the logits in float32
        _build(self.output_layer, (None, self.layer_sizes[-1] + self.factor_num))
        self.built = True

    def logits(self, inputs, training=False):
        users, items = split_user_item(inputs)
        mlp_in = tf.concat([self.user_embedding_mlp(users), self.item_embedding_mlp(items)], axis=-1)
        mf = self.user_embedding_mf(users) * self.item_embedding_mf(items)
        fused = tf.concat([self.tower(mlp_in, training=training), mf], axis=-1)
        return tf.squeeze(self.output_layer(fused), axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "num_users": self.num_users,
            "num_items": self.num_items,
            "factor_num": self.factor_num,
            "layers": list(self.layer_sizes),
            "dropout": self.dropout_rate,
        }


def neumf_from_pretrained(gmf: GMF, mlp: MLP, alpha: float = 0.5, dropout: float | None = None) -> NeuMF:
    """Build a NeuMF initialised from trained GMF and MLP models (NCF paper, section 3.4.1).

    Embeddings and the MLP tower are copied; the output layer is
    ``h = [(1 - alpha) h_MLP ; alpha h_GMF]`` and ``b = (1 - alpha) b_MLP + alpha b_GMF``.

    Args:
        gmf: a trained :class:`GMF`.
        mlp: a trained :class:`MLP` with the same users and items.
        alpha: trade-off between the two pre-trained models (paper: 0.5).
        dropout: NeuMF dropout; defaults to the MLP's.

    Raises:
        ValueError: when the two models disagree on users or items.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"`alpha` must be in [0, 1]; got {alpha!r}")
    if (gmf.num_users, gmf.num_items) != (mlp.num_users, mlp.num_items):
        raise ValueError(
            "GMF and MLP were trained on different catalogues: "
            f"GMF {gmf.num_users} users x {gmf.num_items} items, MLP {mlp.num_users} x {mlp.num_items}"
        )
    model = NeuMF(
        gmf.num_users,
        gmf.num_items,
        factor_num=gmf.factor_num,
        layers=mlp.layer_sizes,
        dropout=mlp.dropout_rate if dropout is None else dropout,
    )
    model.build()
    model.user_embedding_mf.embeddings.assign(gmf.user_embedding.embeddings)
    model.item_embedding_mf.embeddings.assign(gmf.item_embedding.embeddings)
    model.user_embedding_mlp.embeddings.assign(mlp.user_embedding.embeddings)
    model.item_embedding_mlp.embeddings.assign(mlp.item_embedding.embeddings)
    for target, source in zip(model.tower.hidden, mlp.tower.hidden):
        target.kernel.assign(source.kernel)
        target.bias.assign(source.bias)
    kernel = tf.concat([(1.0 - alpha) * mlp.output_layer.kernel, alpha * gmf.output_layer.kernel], axis=0)
    model.output_layer.kernel.assign(kernel)
    model.output_layer.bias.assign((1.0 - alpha) * mlp.output_layer.bias + alpha * gmf.output_layer.bias)
    return model
