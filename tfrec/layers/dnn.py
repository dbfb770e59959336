"""A stack of dense layers (the "deep" part of DeepFM, DCN, xDeepFM, PNN and Wide & Deep)."""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras

from tfrec.validation import check_units


@keras.saving.register_keras_serializable(package="tfrec")
class DNN(keras.layers.Layer):
    """``[B, D]`` -> ``[B, units[-1]]``: ``Dense(u, activation)`` for each ``u`` in ``units``
    (Keras defaults: Glorot-uniform kernels, zero biases, as seed 003's ``Dense`` layers).

    Args:
        units: layer widths, e.g. ``[128, 64]``.
        activation: Keras activation name (``"relu"``) or ``None`` (linear).
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
