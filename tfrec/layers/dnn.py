"""A stack of dense layers (the "deep" part of DeepFM, DCN, xDeepFM, PNN and Wide & Deep)."""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras

from tfrec.validation import check_units


@keras.saving.register_keras_serializable(package="tfrec")
class DNN(keras.layers.Layer):
    """A stack of dense layers: the "deep" part of the CTR models.

    ``Dense(u, activation)`` for each ``u`` in ``units`` (Keras defaults: Glorot-uniform
    kernels, zero biases, as seed 003's ``Dense`` layers)::

        h_0 = x;  h_l = act(h_{l-1} W_l + b_l);  out = h_L

    Call arguments:
        x: ``[B, D]``.

    Returns:
        ``[B, units[-1]]``.

    Args:
        units: layer widths, e.g. ``[128, 64]``.
        activation: Keras activation name (``"relu"``) or ``None`` (linear).

    Example:

    >>> import numpy as np
    >>> from tfrec.layers import DNN
    >>> layer = DNN(units=[16, 4])
    >>> layer(np.ones((4, 8), "float32")).shape
    TensorShape([4, 4])

    References:
        - The deep component of Wide & Deep (Heng-Tze Cheng et al., "Wide & Deep Learning for
          Recommender Systems", DLRS 2016, https://arxiv.org/abs/1606.07792), DeepFM, DCN,
          xDeepFM and PNN.
        - Reference notebook: seed 003, "Various models on ML-1m in Tensorflow" (TF2 Keras),
          the ``Dense`` stacks of its DeepFM, CDN, xDFM, PNN and Wide & Deep sections.
    """

    def __init__(self, units=(128, 64), activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.units = check_units("units", units)
        if activation is not None and not isinstance(activation, str):
            raise ValueError(f"`activation` must be a Keras activation name or None; got {activation!r}")
        try:
            keras.activations.get(activation)
        except ValueError:
            raise ValueError(f"`activation` {activation!r} is not a Keras activation") from None
        self.activation = activation
        self.hidden = [keras.layers.Dense(u, activation=activation, name=f"dense_{i}") for i, u in enumerate(self.units)]

    def build(self, input_shape):
        width = input_shape[-1]
        for layer in self.hidden:
            if not layer.built:
                layer.build((None, width))
            width = layer.units
        self.built = True

    def call(self, x):
        for layer in self.hidden:
            x = layer(x)
        return x

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "activation": self.activation}
