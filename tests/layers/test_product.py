"""PNN product layers (tfrec/layers/product.py) against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from ctr_reference import inner_product, outer_product, w
from tfrec.layers.product import InnerProduct, OuterProduct

E = np.random.default_rng(4).normal(size=(3, 4, 2)).astype(np.float32)


@pytest.mark.parametrize("reduce", [False, True])
def test_inner_product(reduce):
    out = InnerProduct(reduce=reduce)(E)
    assert out.shape == ((3, 6) if reduce else (3, 12))
    np.testing.assert_allclose(out, inner_product(E.astype(np.float64), reduce), rtol=1e-5, atol=1e-6)


def test_inner_product_of_two_fields_is_the_notebooks_elementwise_product():
    two = E[:, :2]
    np.testing.assert_allclose(InnerProduct()(two), two[:, 0] * two[:, 1], rtol=1e-6)


@pytest.mark.parametrize("kernel_type", ["mat", "vec"])
def test_outer_product(kernel_type):
    layer = OuterProduct(kernel_type)
    layer.build(E.shape)
    assert not np.any(w(layer.kernel))  # zero-initialised, as the notebook
    layer.kernel.assign(np.random.default_rng(5).normal(size=layer.kernel.shape).astype(np.float32))
    expected = outer_product(E.astype(np.float64), w(layer.kernel), kernel_type)
    np.testing.assert_allclose(layer(E), expected, rtol=1e-4, atol=1e-5)
    assert OuterProduct.from_config(layer.get_config()).get_config() == layer.get_config()


def test_invalid_arguments():
    with pytest.raises(ValueError, match="kernel_type"):
        OuterProduct("tensor")
    with pytest.raises(ValueError, match="reduce"):
        InnerProduct(reduce=1)
    with pytest.raises(ValueError, match="fields >= 2"):
        InnerProduct()(E[:, :1])
