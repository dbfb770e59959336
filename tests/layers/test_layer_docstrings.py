"""The ``Example:`` doctests in the docstrings of ``tfrec.layers`` run and pass."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import tfrec.layers

MODULES = sorted(f"tfrec.layers.{info.name}" for info in pkgutil.iter_modules(tfrec.layers.__path__))

# modules whose layer classes carry an `Example:` doctest (pairs and sparse hold no layer)
WITH_EXAMPLES = {
    f"tfrec.layers.{name}"
    for name in (
        "afm", "attention", "autoint", "cin", "cross", "dnn", "fields", "fm", "meta", "product",
        "sequence_attention", "session_attention", "session_graph",
    )
}


def test_every_module_is_covered():
    assert WITH_EXAMPLES <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {name}"
    if name in WITH_EXAMPLES:
        assert result.attempted > 0, f"no doctest examples found in {name}"


def test_every_exported_layer_has_an_example():
    missing = [
        name for name in tfrec.layers.__all__
        if ">>> " not in (getattr(tfrec.layers, name).__doc__ or "")
        or "References:" not in getattr(tfrec.layers, name).__doc__
    ]
    assert not missing, f"layers without an Example or References section: {missing}"
