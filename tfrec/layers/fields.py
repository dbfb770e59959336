"""The one embedding-and-fields layer every CTR model shares: :class:`FieldEmbedding`.

Seed 003 embeds every field in a single table of ``sum(x_dims) + 1`` rows and shifts each
field's ids by the field's offset, ``inputs + tf.constant((0, *np.cumsum(x_dims)))[:-1]`` (the
"cumsum trick"), in every model's ``call``. Here the offsets are computed once, when the layer
is made, and the layer also supports multi-hot fields (a movie's genres), numeric fields (a
price, a count) and the first-order ("linear") weights that FM, AFM, xDeepFM and Wide & Deep put
on the one-hot input.

Inputs: ``{field name: values}``; a single-hot field is ``[B]`` int, a multi-hot field
``[B, M]`` int right-padded with ``-1``, a numeric field ``[B]`` float (already transformed,
missing values filled). A multi-hot field's vector is the mean (``pooling="mean"``) or sum of
its ids' rows; a row with no ids gets a zero vector. A numeric field owns one row ``v_f`` of the
table (its ``vocab_size`` is 1) and its vector is ``x_f v_f``, as in the DeepFM, AutoInt and
DCN papers; the models' deep and cross parts take the raw ``x_f`` instead
(:meth:`FieldEmbedding.deep_input`, DeepCTR's ``dense_value_list``). The notebook's extra
``+1`` row is never indexed and is not created.
"""

from __future__ import annotations

import numbers

import numpy as np

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.validation import check_non_negative, check_positive_int

FIELD_KEYS = ("name", "vocab_size", "multi_hot", "numeric")


def normalize_fields(fields) -> list[dict]:
    """``fields`` (``CTRField`` objects, ``(name, vocab_size[, multi_hot[, numeric]])`` tuples or
    dicts) -> a list of ``{"name", "vocab_size", "multi_hot", "numeric"}`` dicts; raises
    ``ValueError`` when invalid. A missing ``multi_hot`` / ``numeric`` means ``False`` (configs
    saved before numeric fields existed load unchanged); a numeric field has ``vocab_size`` 1
    and is not multi-hot."""
    out = []
    try:
        items = list(fields)
    except TypeError:
        raise ValueError(f"`fields` must be a list of fields; got {fields!r}") from None
    for f in items:
        if hasattr(f, "as_dict"):
            f = f.as_dict()
        elif isinstance(f, (tuple, list)):
            if len(f) > len(FIELD_KEYS):
                raise ValueError(f"a field tuple is (name, vocab_size[, multi_hot[, numeric]]); got {f!r}")
            f = dict(zip(FIELD_KEYS, f))
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not f["name"]:
            raise ValueError(f"each field needs a non-empty string name; got {f!r}")
        size = f.get("vocab_size")
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size <= 0:
            raise ValueError(f"field {f['name']!r}: `vocab_size` must be a positive integer; got {size!r}")
        multi = f.get("multi_hot", False)
        if not isinstance(multi, (bool, np.bool_)):
            raise ValueError(f"field {f['name']!r}: `multi_hot` must be true or false; got {multi!r}")
        numeric = f.get("numeric", False)
        if not isinstance(numeric, (bool, np.bool_)):
            raise ValueError(f"field {f['name']!r}: `numeric` must be true or false; got {numeric!r}")
        if numeric and (multi or size != 1):
            raise ValueError(
                f"numeric field {f['name']!r} must have vocab_size 1 and not be multi-hot; "
                f"got vocab_size={size!r}, multi_hot={bool(multi)}"
            )
        out.append({"name": f["name"], "vocab_size": int(size), "multi_hot": bool(multi), "numeric": bool(numeric)})
    names = [f["name"] for f in out]
    if not out or len(set(names)) != len(names):
        raise ValueError(f"`fields` must be a non-empty list of uniquely named fields; got {names}")
    return out


class FieldEmbedding(keras.layers.Layer):
    """Per-field embeddings from one shared table, plus optional first-order weights.

    Field ``f``'s ids live in rows ``offset_f .. offset_f + vocab_f - 1`` of the one table
    ``V [sum(vocab), d]`` (and of ``w [sum(vocab), 1]``). With ``x_f`` a numeric field's value::

        e_f = V[offset_f + id_f]                      single-hot field
        e_f = pool_{i in ids_f} V[offset_f + i]        multi-hot field (mean or sum)
        e_f = x_f V[offset_f]                          numeric field (its one row)
        linear = w_0 + sum_categorical w[offset_f + id_f] + sum_numeric x_f w[offset_f]
        deep = [flatten(e_f for categorical f) ; x_f for numeric f]    width n_cat d + n_num

    Args:
        fields: the input fields (see :func:`normalize_fields`).
        embedding_dim: ``d``, the embedding size (seed 003: ``latent_dim = 8``).
        embeddings_l2: L2 factor on the whole table (seed 003: ``l2(1e-4)``), added to the
            model's losses.
        embeddings_initializer: Keras initializer (seed 003: ``Embedding``'s ``uniform``,
            U(-0.05, 0.05); FM's ``V`` is ``RandomNormal(stddev=0.05)``).
        linear: also create first-order weights ``w [sum(vocab), 1]`` and a bias ``w_0``, i.e.
            seed 003's ``Dense(1)`` over the concatenated one-hot vectors (and the numeric values).
        linear_l2: L2 factor on ``w`` (FM: 1e-4; the ``Dense(1)`` of the others: 0).
        linear_initializer: initializer of ``w`` (``Dense``: ``glorot_uniform`` over
            ``[sum(vocab), 1]``; FM: ``RandomNormal(stddev=0.05)``).
        pooling: ``"mean"`` or ``"sum"`` over a multi-hot field's ids.

    Call:
        ``layer(features)`` -> ``[B, F, d]`` field embeddings ``e_f``, fields in the order given
        (numeric fields included, as ``x_f V[offset_f]``); ``layer(features, linear=True)`` ->
        ``([B, F, d], [B] first-order logit)``, the ``linear`` line above.
        :meth:`numeric_values` -> ``[B, num_numeric]`` raw numeric values;
        :meth:`deep_input` -> ``[B, deep_input_dim]``, the ``deep`` line above (with no numeric
        field: exactly ``reshape(layer(features), [B, F d])``).

    Under a mixed precision policy the embeddings, numeric values and deep input are returned
    in the compute dtype and the first-order logit is summed in float32.

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import FieldEmbedding
    >>> layer = FieldEmbedding([("user", 10), ("item", 20), ("genres", 5, True), ("price", 1, False, True)],
    ...                        embedding_dim=8, linear=True)
    >>> features = {"user": np.array([0, 1]), "item": np.array([5, 6]), "genres": np.array([[0, 2], [1, -1]]),
    ...             "price": np.array([0.5, -1.2], "float32")}
    >>> [t.shape for t in layer(features, linear=True)]
    [TensorShape([2, 4, 8]), TensorShape([2])]
    >>> layer.num_numeric, layer.deep_input_dim, layer.deep_input(features).shape  # 3 * 8 + 1
    (1, 25, TensorShape([2, 25]))

    References:
        - Reference notebook: seed 003, "Various models on ML-1m in Tensorflow" (TF2 Keras):
          the single ``Embedding`` table with per-field offsets (the "cumsum trick") that its
          CTR sections share, and the first-order ``Dense(1)`` over the one-hot input.
        - Numeric fields: Huifeng Guo et al., "DeepFM", IJCAI 2017, and Weiping Song et al.,
          "AutoInt", CIKM 2019 (a numeric field's embedding is its value times one learned
          vector); Ruoxi Wang et al., "Deep & Cross Network", ADKDD 2017 (the dense features
          join the embeddings in ``x_0``).
    """

    def __init__(
        self,
        fields,
        embedding_dim: int = 8,
        embeddings_l2: float = 1e-4,
        embeddings_initializer="uniform",
        linear: bool = False,
        linear_l2: float = 0.0,
        linear_initializer="glorot_uniform",
        pooling: str = "mean",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.fields = normalize_fields(fields)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.embeddings_l2 = check_non_negative("embeddings_l2", embeddings_l2)
        self.linear_l2 = check_non_negative("linear_l2", linear_l2)
        if not isinstance(linear, bool):
            raise ValueError(f"`linear` must be true or false; got {linear!r}")
        self.use_linear = linear
        if pooling not in ("mean", "sum"):
            raise ValueError(f"`pooling` must be 'mean' or 'sum'; got {pooling!r}")
        self.pooling = pooling
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.linear_initializer = keras.initializers.get(linear_initializer)
        sizes = [f["vocab_size"] for f in self.fields]
        # The cumsum trick, once: field f's ids live in rows offsets[f] .. offsets[f] + vocab_f - 1.
        self.offsets = [int(o) for o in np.concatenate([[0], np.cumsum(sizes)[:-1]])]
        self.total_rows = int(sum(sizes))
        self._numeric = [i for i, f in enumerate(self.fields) if f["numeric"]]
        self._single = [i for i, f in enumerate(self.fields) if not f["multi_hot"] and not f["numeric"]]
        self._multi = [i for i, f in enumerate(self.fields) if f["multi_hot"]]
        self._categorical = [i for i, f in enumerate(self.fields) if not f["numeric"]]
        # field order of the [single..., multi..., numeric...] stack: position of each field in it
        stacked = self._single + self._multi + self._numeric
        self._order = [stacked.index(i) for i in range(len(self.fields))]

    @property
    def num_fields(self) -> int:
        return len(self.fields)

    @property
    def field_names(self) -> list[str]:
        return [f["name"] for f in self.fields]

    @property
    def num_numeric(self) -> int:
        """Number of numeric fields."""
        return len(self._numeric)

    @property
    def num_categorical(self) -> int:
        """Number of categorical (single- or multi-hot) fields."""
        return len(self._categorical)

    @property
    def numeric_names(self) -> list[str]:
        return [self.fields[i]["name"] for i in self._numeric]

    @property
    def deep_input_dim(self) -> int:
        """Width of :meth:`deep_input`: ``num_categorical * d + num_numeric``."""
        return self.num_categorical * self.embedding_dim + self.num_numeric

    def build(self, input_shape=None):
        regularizer = keras.regularizers.L2(self.embeddings_l2) if self.embeddings_l2 else None
        self.embeddings = self.add_weight(
            shape=(self.total_rows, self.embedding_dim),
            initializer=self.embeddings_initializer,
            regularizer=regularizer,
            name="embeddings",
        )
        if self.use_linear:
            self.linear_weights = self.add_weight(
                shape=(self.total_rows, 1),
                initializer=self.linear_initializer,
                regularizer=keras.regularizers.L2(self.linear_l2) if self.linear_l2 else None,
                name="linear_weights",
            )
            self.linear_bias = self.add_weight(shape=(1,), initializer="zeros", name="linear_bias")
        self.built = True

    def _numeric_float32(self, features) -> tf.Tensor:
        """``[B, num_numeric]`` float32 numeric values (needs at least one numeric field)."""
        names = self.field_names
        return tf.stack([tf.reshape(tf.cast(features[names[i]], tf.float32), [-1]) for i in self._numeric], axis=1)

    def _lookup(self, features, tables):
        """``[B, F, width]`` rows of each table in ``tables`` (pooled for multi-hot fields,
        scaled by the value for numeric fields)."""
        names = self.field_names
        outs = [[] for _ in tables]
        if self._single:
            ids = tf.stack([tf.reshape(tf.cast(features[names[i]], tf.int32), [-1]) for i in self._single], axis=1)
            ids = ids + tf.constant([self.offsets[i] for i in self._single], tf.int32)
            for out, table in zip(outs, tables):
                out.append(tf.gather(table, ids))  # [B, S, width]
        for i in self._multi:
            ids = tf.cast(features[names[i]], tf.int32)  # [B, M], -1 = padding
            mask = tf.cast(ids >= 0, self.compute_dtype)[..., None]
            rows = tf.maximum(ids, 0) + self.offsets[i]
            count = tf.reduce_sum(mask, axis=1)
            for out, table in zip(outs, tables):
                pooled = tf.reduce_sum(tf.gather(table, rows) * mask, axis=1)  # [B, width]
                if self.pooling == "mean":
                    pooled = tf.math.divide_no_nan(pooled, count)
                out.append(pooled[:, None, :])
        if self._numeric:
            values = self._numeric_float32(features)  # [B, N]
            rows = tf.constant([self.offsets[i] for i in self._numeric], tf.int32)
            for out, table in zip(outs, tables):
                own = tf.gather(table, rows)  # [N, width]: each numeric field's one row
                out.append(tf.cast(values, own.dtype)[:, :, None] * own[None])  # [B, N, width]
        results = []
        for out in outs:
            stacked = tf.concat(out, axis=1) if len(out) > 1 else out[0]
            if self._order != list(range(len(self._order))):
                stacked = tf.gather(stacked, self._order, axis=1)
            results.append(stacked)
        return results

    def call(self, features, linear: bool = False):
        if linear and not self.use_linear:
            raise ValueError("this FieldEmbedding was made with linear=False; it has no first-order weights")
        if not linear:
            return self._compute(self._lookup(features, [self.embeddings])[0])
        emb, lin = self._lookup(features, [self.embeddings, self.linear_weights])
        lin = tf.cast(lin[..., 0], tf.float32)  # the first-order logit: summed in float32
        return self._compute(emb), tf.reduce_sum(lin, axis=1) + tf.cast(self.linear_bias[0], tf.float32)

    def numeric_values(self, features) -> tf.Tensor:
        """``[B, num_numeric]`` raw numeric values in field order, in the compute dtype
        (``[B, 0]`` when there is no numeric field)."""
        if self._numeric:
            return self._compute(self._numeric_float32(features))
        first = tf.convert_to_tensor(features[self.field_names[0]])
        return tf.zeros([tf.shape(first)[0], 0], self.compute_dtype)

    def categorical_embeddings(self, embeddings: tf.Tensor) -> tf.Tensor:
        """``[B, num_categorical, d]``: the categorical fields' columns of ``embeddings``
        ``[B, F, d]`` (``layer(features)``), in field order; ``embeddings`` itself when every
        field is categorical."""
        return embeddings if not self._numeric else tf.gather(embeddings, tf.constant(self._categorical, tf.int32), axis=1)

    def deep_input(self, features, embeddings: tf.Tensor | None = None) -> tf.Tensor:
        """``[B, deep_input_dim]`` input of the models' deep and cross parts:
        ``concat(flatten(categorical embeddings), numeric values)``.

        ``embeddings``: ``layer(features)`` when already computed (else it is computed). With no
        numeric field this is exactly ``reshape(embeddings, [B, F d])``."""
        if embeddings is None:
            embeddings = self(features)
        embeddings = self._compute(embeddings)
        width = self.num_categorical * self.embedding_dim
        if not self._numeric:
            return tf.reshape(embeddings, [-1, width])
        categorical = self.categorical_embeddings(embeddings)
        flat = tf.reshape(categorical, [tf.shape(categorical)[0], width])  # also for width 0
        return tf.concat([flat, tf.cast(self._numeric_float32(features), flat.dtype)], axis=1)

    def _compute(self, x: tf.Tensor) -> tf.Tensor:
        """``x`` in the compute dtype (a no-op under float32)."""
        return x if x.dtype == self.compute_dtype else tf.cast(x, self.compute_dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "fields": [dict(f) for f in self.fields],
            "embedding_dim": self.embedding_dim,
            "embeddings_l2": self.embeddings_l2,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
            "linear": self.use_linear,
            "linear_l2": self.linear_l2,
            "linear_initializer": keras.initializers.serialize(self.linear_initializer),
            "pooling": self.pooling,
        }
