"""Factorization Machine (Rendle 2010) on categorical fields.

Ports seed 003, section "FM" (``FM_layer`` + ``FM``). The notebook one-hot encodes user and item
(``to_categorical``) into ``x [B, n]`` and computes

    logit = w_0 + x w + 0.5 * sum_k ((x V)_k^2 - (x^2)(V^2)_k)

with ``w [n, 1]``, ``V [n, k]`` ~ N(0, 0.05^2), ``w_0 = 0`` and L2 1e-4 on ``w`` and ``V``. For
one-hot fields ``x V`` is the sum of the fields' rows of ``V``, so tfrec computes the same
logit from the shared field embeddings without materialising ``x``:

    logit = w_0 + sum_f w[id_f] + sum_{f < g} <V[id_f], V[id_g]>

A numeric field is Rendle's real-valued ``x_f`` with its own ``w_f`` and ``v_f``: it adds
``x_f w_f`` to the first-order term and ``e_f = x_f v_f`` to the pairwise products.

Shapes: inputs ``{field: [B]}`` (multi-hot ``[B, M]``); ``logits`` ``[B]``; ``predict`` ``[B]``
probabilities (the notebook's ``FM.call`` applies the sigmoid itself and trains with
``binary_crossentropy``: the same loss as BCE from logits).

Decisions: a multi-hot field (genres) enters as one pooled vector (mean of its rows), so
interactions are between fields, not among one field's own ids (the one-hot formula would add
genre-genre terms with weights ``1/M^2``). Defaults from the notebook: ``latent_dim = 8``,
``w_reg = v_reg = 1e-4``, ``optimizer='adam'`` (lr 1e-3), 10 epochs, Keras' default batch 32.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras

from tfrec.layers.fields import FieldEmbedding
from tfrec.validation import check_non_negative
from tfrec.layers.fm import FMInteraction
from tfrec.models.ctr import CTRModel, build_once


@keras.saving.register_keras_serializable(package="tfrec")
class FM(CTRModel):
    """Factorization machine over field embeddings: ``[B]`` logits.

    A first-order term plus every pairwise inner product of the field factors (the one-hot
    formula of the notebook, computed from the field rows; see the module docstring)::

        logit = w_0 + sum_f w[id_f] + sum_{f < g} <V[id_f], V[id_g]>

    A numeric field ``x_f`` enters both terms as in Rendle's FM: ``x_f w_f`` in the first-order
    term and ``e_f = x_f v_f`` (its one row of ``V``) in the pairwise products.

    Input shape:
        ``{field: [B]}`` int ids (multi-hot fields ``[B, M]`` padded with ``-1``, numeric fields
        ``[B]`` float32), a tuple of per-field arrays, or one ``[B, F]`` matrix (see
        :class:`~tfrec.models.ctr.CTRModel`).

    Output shape:
        ``call`` / ``predict``: ``[B]`` click probabilities; ``logits``: ``[B]``.

    Args:
        fields: the input fields (see :class:`~tfrec.models.ctr.CTRModel`).
        embedding_dim: ``k``, rows of ``V`` (seed 003: 8).
        l2: L2 factor on ``w`` and ``V`` (seed 003: ``w_reg = v_reg = 1e-4``).
        pooling: multi-hot pooling, ``"mean"`` or ``"sum"``.

    Example:
        >>> import numpy as np
        >>> from tfrec.models import FM
        >>> model = FM(fields=[("user_id", 10), ("item_id", 20)], embedding_dim=4)
        >>> inputs = {"user_id": np.array([1, 2]), "item_id": np.array([3, 4])}
        >>> model(inputs).shape
        TensorShape([2])
        >>> model.logits(inputs).shape
        TensorShape([2])

    References:
        - Steffen Rendle, "Factorization Machines", ICDM 2010.
        - Seed 003 ("Various models on ML-1m in Tensorflow"), section "FM" (``FM_layer``,
          ``FM``). The section's abstract links "Factorization Machines for Data with Implicit
          Feedback" (arXiv:1812.08254); the model it implements is Rendle's FM above.
    """

    def __init__(self, fields, embedding_dim: int = 8, l2: float = 1e-4, pooling: str = "mean", **kwargs):
        super().__init__(fields, pooling, **kwargs)
        self.l2 = check_non_negative("l2", l2)
        normal = keras.initializers.RandomNormal(stddev=0.05)  # tf.random_normal_initializer()
        self.embedding = FieldEmbedding(
            self.field_specs, embedding_dim, embeddings_l2=self.l2, embeddings_initializer=normal,
            linear=True, linear_l2=self.l2, linear_initializer=normal, pooling=pooling, name="fields",
        )
        self.embedding_dim = self.embedding.embedding_dim
        self.interaction = FMInteraction(name="fm")

    def build_layers(self):
        build_once(self.interaction, (None, self.num_fields, self.embedding_dim))

    def logits(self, inputs, training=False):
        emb, linear = self.embed(inputs, linear=True)
        return linear + self.interaction(emb)

    def get_config(self):
        return {**super().get_config(), "embedding_dim": self.embedding_dim, "l2": self.l2}
