"""Reusable Keras layers: meta networks, graph propagation, attention, feature interactions."""

from tfrec.layers.afm import AttentionalPairPooling
from tfrec.layers.attention import LightSelfAttention
from tfrec.layers.autoint import InteractingLayer
from tfrec.layers.cin import CIN
from tfrec.layers.cross import CrossNetwork
from tfrec.layers.dnn import DNN
from tfrec.layers.fields import FieldEmbedding
from tfrec.layers.fm import FactorizationMachine, FMInteraction
from tfrec.layers.meta import MetaPredictor, MetaSpecializer
from tfrec.layers.product import InnerProduct, OuterProduct
from tfrec.layers.sequence_attention import SequenceSelfAttention
from tfrec.layers.session_attention import SessionSoftAttention
from tfrec.layers.session_graph import ItemConv, SessConv

__all__ = [
    "CIN", "DNN", "AttentionalPairPooling", "CrossNetwork", "FMInteraction", "FactorizationMachine", "FieldEmbedding",
    "InnerProduct", "InteractingLayer", "ItemConv", "LightSelfAttention", "MetaPredictor", "MetaSpecializer", "OuterProduct",
    "SequenceSelfAttention", "SessConv", "SessionSoftAttention",
]
