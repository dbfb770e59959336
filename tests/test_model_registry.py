"""tfrec/registry.py (the model registry; tests/data/test_registry.py has the datasets'): presets over the defaults, per dataset, and under --set."""

from __future__ import annotations

import pytest

from tfrec.errors import UserError
from tfrec.registry import get_model_spec, resolve_hparams


def test_cotrec_defaults_are_the_notebooks_and_the_readme_values_are_a_preset():
    spec = get_model_spec("cotrec")
    defaults, _ = resolve_hparams(spec, None, "tmall")
    assert (defaults["beta"], defaults["lam"], defaults["eps"]) == (0.005, 0.005, 0.2)  # seed 002's Args
    assert resolve_hparams(spec, None, "diginetica")[0]["eps"] == 0.5  # Args: eps 0.5 for diginetica
    tmall, _ = resolve_hparams(spec, None, "tmall", preset="readme")
    digi, _ = resolve_hparams(spec, None, "diginetica", preset="readme")
    assert (tmall["beta"], tmall["eps"]) == (0.01, 0.2) and (digi["beta"], digi["eps"]) == (0.001, 0.5)
    assert resolve_hparams(spec, {"beta": 0.2}, "tmall", preset="readme")[0]["beta"] == 0.2  # --set wins


def test_a_preset_is_refused_where_it_has_no_values_and_a_misspelt_one_is_named():
    spec = get_model_spec("cotrec")
    with pytest.raises(UserError, match=r"--preset readme of model 'cotrec' has values for --data tmall, retailrocket, "
                                         r"diginetica only .* not for 'sessions'"):
        resolve_hparams(spec, None, "sessions", preset="readme")
    with pytest.raises(UserError, match=r"unknown --preset 'readm' for model 'cotrec'; did you mean 'readme'\?"):
        resolve_hparams(spec, None, "tmall", preset="readm")
    with pytest.raises(UserError, match=r"unknown --preset 'readme' for model 'neumf'; it has none"):
        resolve_hparams(get_model_spec("neumf"), None, "ml-1m", preset="readme")


def test_each_default_is_written_once():
    """The registry's model defaults are the constructor's (one value, two views); loader
    options are the loader's (the registry holds only their sources); every source names a key."""
    import inspect

    from tfrec.data.registry import list_datasets, loader_options
    from tfrec.registry import list_models

    def plain(value):
        return list(value) if isinstance(value, (tuple, list)) else value

    for spec in list_models():
        parameters = inspect.signature(spec.model_class().__init__).parameters
        for key, value in spec.model_defaults.items():
            assert key in parameters, (spec.name, key)
            assert plain(parameters[key].default) == plain(value), (spec.name, key, parameters[key].default, value)
        loader_keys = set().union(*(loader_options(d.name) for d in list_datasets() if d.task == spec.task))
        assert not set(spec.train_defaults) & loader_keys, (spec.name, set(spec.train_defaults) & loader_keys)
        known = set(spec.model_defaults) | set(spec.train_defaults) | loader_keys
        assert set(spec.sources) <= known, (spec.name, set(spec.sources) - known)
