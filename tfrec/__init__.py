"""tfrec: TensorFlow 2 / Keras 3 recommender models with a CLI, evaluation and SavedModel export.

The public API is imported lazily so that ``import tfrec`` (and ``tfrec datasets list``) stays
fast; TensorFlow loads on first use of a function that needs it.
"""

from __future__ import annotations

import os as _os

_os.environ["KERAS_BACKEND"] = "tensorflow"  # pinned; tfrec._backend checks and imports TensorFlow

__version__ = "0.1.0"

_LAZY = {
    "train": "tfrec.training",
    "evaluate_run": "tfrec.training",
    "evaluate": "tfrec.training",
    "training_data": "tfrec.training",
    "load_run_model": "tfrec.runs",
    "export_saved_model": "tfrec.export",
    "load_dataset": "tfrec.data.registry",
    "list_datasets": "tfrec.data.registry",
    "list_models": "tfrec.registry",
    "get_model_spec": "tfrec.registry",
    "build_model": "tfrec.registry",
    "UserError": "tfrec.errors",
    "Catalogue": "tfrec.data.catalogue",
    "TorchAdam": "tfrec.optimizers",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tfrec' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API (lazily imported names included), for completion in notebooks."""
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})
