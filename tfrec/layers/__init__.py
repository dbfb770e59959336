"""Reusable Keras layers: meta networks, graph propagation, attention, feature interactions."""

from tfrec.layers.attention import LightSelfAttention
from tfrec.layers.meta import MetaPredictor, MetaSpecializer, leaky_relu

__all__ = ["LightSelfAttention", "MetaPredictor", "MetaSpecializer", "leaky_relu"]
