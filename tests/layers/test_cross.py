"""CrossNetwork (tfrec/layers/cross.py) against NumPy, with and without the paper's residual."""

from __future__ import annotations

import numpy as np
import pytest

from ctr_reference import cross_network, w
from tfrec.layers.cross import CrossNetwork


@pytest.mark.parametrize("residual", [False, True])
def test_cross_network_matches_numpy(residual):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 5)).astype(np.float32)
    layer = CrossNetwork(num_layers=3, residual=residual)
    layer.build(x.shape)
    for v in layer.weights:
        v.assign(rng.normal(size=v.shape).astype(np.float32))
    expected = cross_network(x.astype(np.float64), [w(k) for k in layer.kernels], [w(b) for b in layer.biases], residual)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-4, atol=1e-4)
    assert CrossNetwork.from_config(layer.get_config()).get_config() == layer.get_config()


def test_invalid_arguments():
    with pytest.raises(ValueError, match="num_layers"):
        CrossNetwork(num_layers=0)
    with pytest.raises(ValueError, match="residual"):
        CrossNetwork(residual="no")
