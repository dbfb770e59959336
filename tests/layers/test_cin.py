"""CIN (tfrec/layers/cin.py) against a loop over every index of the formula."""

from __future__ import annotations

import numpy as np
import pytest

from ctr_reference import cin, w
from tfrec.layers.cin import CIN


@pytest.mark.parametrize("activation, include_input", [("relu", True), (None, False)])
def test_cin_matches_numpy(activation, include_input):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    layer = CIN([2, 3], activation=activation, include_input=include_input)
    layer.build(x.shape)
    for v in layer.weights:
        v.assign(rng.normal(size=v.shape).astype(np.float32))
    out = layer(x)
    assert out.shape == (2, layer.output_dim) and layer.output_dim == 5 + (3 if include_input else 0)
    expected = cin(x.astype(np.float64), [w(k) for k in layer.kernels], [w(b) for b in layer.biases], activation, include_input)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    assert CIN.from_config(layer.get_config()).get_config() == layer.get_config()


def test_invalid_arguments():
    with pytest.raises(ValueError, match="layer_sizes"):
        CIN([])
    with pytest.raises(ValueError, match="activation"):
        CIN([2], activation="nope")
