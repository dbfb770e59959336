"""AFM's attention pooling (tfrec/layers/afm.py) against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from ctr_reference import afm_pooling
from tfrec.layers.afm import AttentionalPairPooling


def test_attention_pooling_matches_numpy():
    rng = np.random.default_rng(6)
    e = rng.normal(size=(3, 4, 5)).astype(np.float32)
    layer = AttentionalPairPooling(attention_dim=3)
    layer.build(e.shape)
    for v in layer.weights:
        v.assign(rng.normal(size=v.shape).astype(np.float32))
    np.testing.assert_allclose(layer(e), afm_pooling(e.astype(np.float64), layer.hidden, layer.score), rtol=1e-4, atol=1e-5)
    assert AttentionalPairPooling.from_config(layer.get_config()).get_config() == layer.get_config()


def test_invalid_arguments():
    with pytest.raises(ValueError, match="attention_dim"):
        AttentionalPairPooling(attention_dim=-2)
