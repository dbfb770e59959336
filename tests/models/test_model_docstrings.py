"""The ``Example:`` sections of the model docstrings run as doctests (small models, shapes only)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "tfrec.models.afm",
    "tfrec.models.attrec",
    "tfrec.models.autoint",
    "tfrec.models.cotrec",
    "tfrec.models.ctr",
    "tfrec.models.dcn",
    "tfrec.models.deepfm",
    "tfrec.models.fm",
    "tfrec.models.mbgmn",
    "tfrec.models.ncf",
    "tfrec.models.pnn",
    "tfrec.models.wide_deep",
    "tfrec.models.xdeepfm",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no doctest examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples of {name} failed"
