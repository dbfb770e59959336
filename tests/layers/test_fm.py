"""FM layers (tfrec/layers/fm.py) against the explicit double sums."""

from __future__ import annotations

import numpy as np
import pytest

from ctr_reference import pairwise_sum, w
from tfrec.layers.fm import FactorizationMachine, FMInteraction


def test_pairwise_term_equals_the_explicit_double_sum():
    e = np.random.default_rng(0).normal(size=(4, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(FMInteraction()(e), pairwise_sum(e.astype(np.float64)), rtol=1e-5, atol=1e-5)


def test_factorization_machine_on_real_inputs_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 6)).astype(np.float32)
    layer = FactorizationMachine(factors=4, w_l2=0.1, v_l2=0.2)
    layer.build(x.shape)
    for v in layer.weights:
        v.assign(rng.normal(size=v.shape).astype(np.float32))
    W, V, w0 = w(layer.w), w(layer.V), w(layer.w0)[0]
    expected = np.array([
        w0 + xr @ W[:, 0] + sum(xr[i] * xr[j] * V[i] @ V[j] for i in range(6) for j in range(i + 1, 6)) for xr in x.astype(np.float64)
    ])
    np.testing.assert_allclose(layer(x), expected, rtol=1e-4, atol=1e-4)
    assert float(sum(layer.losses)) == pytest.approx(0.1 * (W**2).sum() + 0.2 * (V**2).sum(), rel=1e-5)
    assert FactorizationMachine.from_config(layer.get_config()).get_config() == layer.get_config()


def test_invalid_arguments():
    with pytest.raises(ValueError, match="factors"):
        FactorizationMachine(factors=0)
    with pytest.raises(ValueError, match="v_l2"):
        FactorizationMachine(v_l2=-1)
    with pytest.raises(ValueError, match="batch, fields, dim"):
        FMInteraction()(np.zeros((2, 3), np.float32))
