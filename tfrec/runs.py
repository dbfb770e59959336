"""The run directory: everything one training run leaves behind, written atomically.

```
RUN_DIR/
  config.json    everything needed to rebuild the run (model, hyperparameters, data, seed, device)
  model.keras    the model after the last completed epoch
  best.keras     the model at the best evaluation so far (by ``monitor``)
  history.csv    one row per epoch: loss terms, evaluation metrics, epoch seconds
  metrics.json   {"test": {...}, "best": {...}, "epoch_seconds": [...], "eval_seconds": ...}
```

Every file is written to a temporary name in the same folder and then renamed
(``os.replace``), so an interrupted run never leaves a half-written checkpoint or JSON file
where a later command would trust it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from tfrec.errors import UserError

CONFIG = "config.json"
MODEL = "model.keras"
BEST = "best.keras"
HISTORY = "history.csv"
METRICS = "metrics.json"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def read_json(path: Path) -> dict:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path} not found: is {path.parent} a tfrec run directory?") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON ({error})") from None


def atomic_save_model(model, path: Path) -> None:
    """``model.save`` to a temporary ``.keras`` file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_run_config(run_dir: Path) -> dict:
    """The ``config.json`` of a run directory (UserError when missing)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} does not exist")
    return read_json(run_dir / CONFIG)


def load_run_model(run_dir: Path, checkpoint: str = "model"):
    """Load a run's model (``checkpoint`` ``model`` = last epoch, ``best`` = best evaluation)."""
    from tfrec import _backend  # noqa: F401
    import keras

    import tfrec.models  # noqa: F401  (registers the model classes for deserialisation)

    names = {"model": MODEL, "best": BEST}
    if checkpoint not in names:
        raise UserError(f"unknown checkpoint {checkpoint!r}; expected one of: {', '.join(names)}")
    path = Path(run_dir) / names[checkpoint]
    if not path.exists():
        raise UserError(f"{path} not found: the run has no {checkpoint!r} checkpoint (did training finish an epoch?)")
    return keras.saving.load_model(path)
