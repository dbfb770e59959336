"""AutoInt's interacting layer (tfrec/layers/autoint.py) against a NumPy multi-head attention."""

from __future__ import annotations

import numpy as np
import pytest

from ctr_reference import interacting
from tfrec.layers.autoint import InteractingLayer


@pytest.mark.parametrize("residual", [True, False])
def test_interacting_layer_matches_numpy(residual):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    layer = InteractingLayer(head_dim=3, num_heads=2, residual=residual)
    layer.build(x.shape)
    for v in layer.weights:
        v.assign(rng.normal(scale=0.5, size=v.shape).astype(np.float32))
    out = layer(x)
    assert out.shape == (2, 3, 6)
    np.testing.assert_allclose(out, interacting(layer, x.astype(np.float64)), rtol=1e-4, atol=1e-5)
    assert InteractingLayer.from_config(layer.get_config()).get_config() == layer.get_config()


def test_invalid_arguments():
    with pytest.raises(ValueError, match="num_heads"):
        InteractingLayer(head_dim=2, num_heads=0)
