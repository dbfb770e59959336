"""The run directory: everything one training run leaves behind, written atomically.

```
RUN_DIR/
  config.json    everything needed to rebuild the run (model, hyperparameters, data, seed, device)
  model.keras    the model after the last completed epoch
  best.keras     the model at the best evaluation so far (by ``monitor``)
  history.csv    one row per epoch: loss terms, evaluation metrics, epoch seconds
  metrics.json   {"test": {...}, "best": {...}, "epoch_seconds": [...], "eval_seconds": ...}
  state.npz      what ``tfrec train --resume RUN_DIR`` continues from: every model and optimizer
                 variable (random-generator states included) after the last completed epoch,
                 that epoch's number and the best evaluation so far
  catalogue.npz  the user's own id of every internal user / item id (and field value) and each
                 user's training items: what ``tfrec export`` serves in the user's ids
```

A run directory is never overwritten without being asked: :func:`prepare_run_dir` refuses an
existing run (``--overwrite`` replaces its files), a non-empty folder that is not a run, and a
path that is a file.

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
STATE = "state.npz"
CATALOGUE = "catalogue.npz"
RUN_FILES = (CONFIG, MODEL, BEST, HISTORY, METRICS, STATE, CATALOGUE)


def _atomic_write(path: Path, write, mode: str) -> None:
    """``write(handle)`` into a temporary file beside ``path`` (synced to disk), then rename it
    over ``path``; on any failure the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    _atomic_write(path, lambda handle: handle.write(text), "w")


def strict(obj):
    """``obj`` with every NaN or infinite float replaced by ``None`` (JSON ``null``), so that
    :func:`dumps` writes strict JSON (Python's ``json`` writes a bare ``NaN`` otherwise, which
    strict parsers reject)."""
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {key: strict(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(value) for value in obj]
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return strict(obj.item())
        if isinstance(obj, np.ndarray):
            return strict(obj.tolist())
    except ImportError:  # pragma: no cover
        pass
    return obj


def dumps(obj, **kwargs) -> str:
    """Strict JSON text of ``obj`` (non-finite floats become ``null``; numpy values and paths
    are converted): what every tfrec file and every JSON line the CLI prints is written with."""
    return json.dumps(strict(obj), allow_nan=False, default=_json_default, **kwargs)


def write_json(path: Path, obj) -> None:
    atomic_write_text(path, dumps(obj, indent=2, sort_keys=False) + "\n")


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
    except (OSError, UnicodeDecodeError) as error:  # a folder, no permission, binary garbage
        raise UserError(f"{path}: cannot read ({error})") from None


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


def prepare_run_dir(output: Path, overwrite: bool = False, option: str = "--output") -> Path:
    """Check that ``output`` may receive a new run, before anything is trained or written.

    * a path that exists and is not a folder: refused;
    * a folder holding a run (``config.json``): refused unless ``overwrite``, which removes that
      run's files (:data:`RUN_FILES`, and nothing else) so no file of the old run is left to be
      mistaken for the new one's;
    * a non-empty folder that is not a run: refused (tfrec does not mix its files with others);
    * otherwise (new or empty): fine. The folder is created when the run writes its first file.

    Raises:
        UserError: naming ``option`` and the path.
    """
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise UserError(f"{option} {output} is a file; a run directory must be a new or empty folder")
    if not output.is_dir():
        return output
    entries = [p for p in output.iterdir() if not (p.name.startswith(".") and ".tmp" in p.name)]
    if not entries:
        return output
    if not (output / CONFIG).exists():
        raise UserError(
            f"{option} {output} is a folder with other files (not a tfrec run); choose a new or empty folder"
        )
    if not overwrite:
        raise UserError(
            f"{option} {output} already holds a run (config.json); choose another folder, continue it with "
            "--resume, or pass --overwrite to replace it"
        )
    for name in RUN_FILES:
        (output / name).unlink(missing_ok=True)
    remove_partial_files(output)
    return output


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
    if not path.is_file():
        raise UserError(f"{path} is not a file")
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # truncated zip, foreign file, corrupt weights: Keras raises many kinds
        other = "best" if checkpoint == "model" else "model"
        reason = " ".join(str(error).split())[:200]
        raise UserError(
            f"{path} cannot be read as a Keras model (truncated or not a .keras file: {type(error).__name__}: "
            f"{reason}); try --checkpoint {other} or retrain"
        ) from None


def remove_partial_files(run_dir: Path) -> list[Path]:
    """Delete the temporary files (``.NAME...tmp...``) that writes interrupted by a kill leave
    behind; the files they were replacing are intact. Returns what was removed."""
    removed = [path for path in Path(run_dir).glob(".*") if path.is_file() and ".tmp" in path.name]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def read_history(path: Path) -> list[dict]:
    """The rows of a ``history.csv`` as ``[{"epoch": int, key: float, ...}]`` (empty cells left
    out); ``[]`` when the file does not exist. The one reader of the file (:func:`write_history`
    is its one writer).

    Raises:
        UserError: naming the file and line, when it is not a table of numbers with an
            ``epoch`` column.
    """
    import csv

    path = Path(path)
    if not path.exists():
        return []
    try:
        with path.open(newline="") as handle:
            lines = [row for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read ({error})") from None
    if not lines or "epoch" not in lines[0]:
        raise UserError(f"{path} is not a tfrec history file: expected a header with 'epoch' and one row per epoch")
    header, rows = lines[0], []
    for line, cells in enumerate(lines[1:], start=2):
        if len(cells) != len(header):
            raise UserError(f"{path}, line {line}: expected {len(header)} values like the header; got {len(cells)}")
        row = {}
        for name, cell in zip(header, cells):
            if not cell.strip():
                continue
            try:
                row[name] = int(cell) if name == "epoch" else float(cell)
            except ValueError:
                raise UserError(f"{path}, line {line}: {name} must be a number; got {cell!r}") from None
        if "epoch" not in row:
            raise UserError(f"{path}, line {line}: no epoch")
        rows.append(row)
    return rows


def write_history(path: Path, rows: list[dict]) -> None:
    """Write ``history.csv`` atomically: one row per epoch, a column per key any row has
    (``repr`` of floats, so :func:`read_history` gets the same numbers back)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = [",".join(columns)] + [",".join(repr(row[c]) if c in row else "" for c in columns) for row in rows]
    atomic_write_text(Path(path), "\n".join(lines) + "\n")


def save_training_state(path: Path, variables: dict[str, list], info: dict) -> None:
    """Write ``variables`` (``{group: [variables]}``, e.g. the model's and each optimizer's)
    and ``info`` (JSON: the epoch, the best evaluation) to one ``.npz`` file, atomically.

    One file holds everything, so the epoch number can never disagree with the weights: a run
    killed while writing leaves the previous state file in place.
    """
    import numpy as np

    arrays = {f"{group}/{i}": np.asarray(v.numpy()) for group, values in variables.items() for i, v in enumerate(values)}
    arrays["info"] = np.frombuffer(json.dumps(info, default=_json_default).encode(), dtype=np.uint8)
    _atomic_write(path, lambda handle: np.savez(handle, **arrays), "wb")


def load_training_state(path: Path) -> tuple[dict, dict]:
    """``(info, {group: [arrays]})`` from a state file written by :func:`save_training_state`."""
    import zipfile

    import numpy as np

    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} not found: the run has no completed epoch to resume from")
    try:
        with np.load(path, allow_pickle=False) as archive:
            info = json.loads(archive["info"].tobytes().decode())
            groups: dict[str, dict[int, np.ndarray]] = {}
            for key in archive.files:
                if key != "info":
                    group, _, index = key.rpartition("/")
                    groups.setdefault(group, {})[int(index)] = archive[key]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise UserError(f"{path} is not a readable tfrec training state ({error})") from None
    return info, {group: [values[i] for i in range(len(values))] for group, values in groups.items()}


def restore_variables(path: Path, variables: dict[str, list], saved: dict[str, list]) -> None:
    """Assign ``saved`` arrays to ``variables`` group by group, after checking that the counts
    and shapes agree (a state file from another model or configuration is an error)."""
    for group, values in variables.items():
        arrays = saved.get(group, [])
        if len(arrays) != len(values) or any(tuple(a.shape) != tuple(v.shape) for a, v in zip(arrays, values)):
            raise UserError(
                f"{path}: the saved {group} variables do not match the rebuilt run "
                f"({len(arrays)} saved, {len(values)} expected); was config.json edited?"
            )
        for variable, array in zip(values, arrays):
            variable.assign(array)
