"""Reports over finished runs: ``tfrec compare`` (a table) and ``tfrec plot`` (PNG charts).

Both read only what a run directory holds (see :mod:`tfrec.runs`): ``config.json`` (model, data,
seed), ``metrics.json`` (final test metrics, epoch and evaluation timings) and ``history.csv``
(one row per epoch). Nothing is imported from TensorFlow, so both commands start fast.

```python
from tfrec.reports import compare_runs, plot_runs
print(compare_runs(["runs/gmf", "runs/neumf"]))
plot_runs(["runs/gmf", "runs/neumf"], "curves.png")
```

Plotting needs matplotlib, an optional extra: ``pip install tfrec[plot]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from tfrec import runs
from tfrec.errors import UserError

TIMING_COLUMNS = ("epoch_seconds", "eval_seconds")


# --------------------------------------------------------------------------------------------
# Reading runs
# --------------------------------------------------------------------------------------------
@dataclass
class RunSummary:
    """What ``tfrec compare`` shows of one run."""

    path: Path
    model: str
    data: str
    test: dict[str, float]
    best_epoch: int | None
    epochs_run: int
    train_seconds: float
    eval_seconds: float | None


def _run_dir(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"run directory {path} does not exist" if not path.exists() else f"{path} is not a run directory (a file)")
    return path


def _numbers(obj, file: Path, what: str) -> dict[str, float]:
    """The numeric entries of a JSON object (non-numeric ones, e.g. nested reports, are skipped)."""
    if not isinstance(obj, dict):
        raise UserError(f"{file}: expected {what} as an object of metric values; got {type(obj).__name__}")
    return {k: float(v) for k, v in obj.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def load_summary(path: str | Path) -> RunSummary:
    """Read a run's ``config.json`` and ``metrics.json``.

    Raises:
        UserError: the folder does not exist, a file is missing (the run did not finish) or is
            not valid JSON of the expected shape; the message names the file.
    """
    path = _run_dir(path)
    config = runs.read_json(path / runs.CONFIG)
    metrics_file = path / runs.METRICS
    if not metrics_file.exists():
        raise UserError(f"{metrics_file} not found: the run in {path} has not finished (no final metrics)")
    metrics = runs.read_json(metrics_file)
    if not isinstance(config, dict) or not isinstance(metrics, dict):
        raise UserError(f"{path}: config.json and metrics.json must each hold a JSON object")
    seconds = metrics.get("epoch_seconds", [])
    if not isinstance(seconds, list) or not all(isinstance(s, (int, float)) for s in seconds):
        raise UserError(f"{metrics_file}: 'epoch_seconds' must be a list of numbers")
    best = metrics.get("best") if isinstance(metrics.get("best"), dict) else {}
    eval_seconds = metrics.get("eval_seconds")
    return RunSummary(
        path=path,
        model=str(config.get("model", "?")),
        data=str(config.get("data", "?")),
        test=_numbers(metrics.get("test", {}), metrics_file, "'test'"),
        best_epoch=best.get("epoch") if isinstance(best.get("epoch"), int) else None,
        epochs_run=int(metrics.get("epochs_run", len(seconds))),
        train_seconds=float(sum(seconds)),
        eval_seconds=float(eval_seconds) if isinstance(eval_seconds, (int, float)) else None,
    )


def read_history(path: str | Path) -> dict[str, list[float]]:
    """A run's ``history.csv`` as ``{column: [value per epoch]}`` (an empty cell is NaN).

    Raises:
        UserError: the folder or file is missing, or the file is not a table of numbers.
    """
    file = _run_dir(path) / runs.HISTORY
    if not file.exists():
        raise UserError(f"{file} not found: is {file.parent} a tfrec run directory that finished an epoch?")
    rows = runs.read_history(file)
    if not rows:
        raise UserError(f"{file}: expected a header with 'epoch' and one row per epoch")
    names = dict.fromkeys(key for row in rows for key in row)
    return {name: [float(row[name]) if name in row else math.nan for row in rows] for name in names}


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------
def _cell(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def comparison_table(summaries: list[RunSummary]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: run, model, data, epochs, every test metric (in order of first
    appearance over the runs; ``-`` where a run lacks it), best epoch and timings."""
    metric_names = list(dict.fromkeys(name for s in summaries for name in s.test))
    header = ["run", "model", "data", "epochs", *metric_names, "best epoch", "train s", "s/epoch", "eval s"]
    rows = []
    for s in summaries:
        per_epoch = s.train_seconds / s.epochs_run if s.epochs_run else None
        rows.append([
            str(s.path), s.model, s.data, str(s.epochs_run), *(_cell(s.test.get(name)) for name in metric_names),
            _cell(s.best_epoch), _cell(s.train_seconds, 1), _cell(per_epoch, 2), _cell(s.eval_seconds, 2),
        ])
    return header, rows


def format_table(header: list[str], rows: list[list[str]]) -> str:
    """Left-aligned text columns (numbers right-aligned) separated by two spaces."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    numeric = [all(_is_number(r[i]) for r in rows) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return text == "-"


def compare_runs(paths) -> str:
    """The ``tfrec compare`` table of the runs in ``paths`` (UserError on a bad run dir)."""
    if not paths:
        raise UserError("name at least one run directory")
    return format_table(*comparison_table([load_summary(p) for p in paths]))


# --------------------------------------------------------------------------------------------
# The figure
# --------------------------------------------------------------------------------------------
def _figure_class():
    """matplotlib's Figure, its Agg canvas (no display needed) and MaxNLocator, or a UserError."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise UserError("tfrec plot needs matplotlib: pip install tfrec[plot]") from None
    return Figure, FigureCanvasAgg, MaxNLocator


def plot_columns(histories: dict[str, dict[str, list[float]]], metrics=None) -> list[str]:
    """The columns to chart: ``metrics`` if given (each must exist in some run), else every
    column of any run except ``epoch`` and the timings, in order of first appearance."""
    available = list(dict.fromkeys(c for h in histories.values() for c in h if c != "epoch"))
    if metrics:
        missing = [m for m in metrics if m not in available]
        if missing:
            raise UserError(f"--metric {missing[0]!r} is in no run's history.csv; available: {', '.join(available)}")
        return list(metrics)
    return [c for c in available if c not in TIMING_COLUMNS]


def plot_runs(paths, out: str | Path, metrics=None, *, dpi: int = 100) -> Path:
    """Write one PNG with a chart per loss / metric column, one line per run, against epoch.

    Args:
        paths: run directories (each needs ``history.csv``).
        out: the PNG file to write (its folder is created).
        metrics: the columns to chart (default: every loss and metric column).
        dpi: resolution.

    Raises:
        UserError: no run, a bad run directory or history file, an unknown ``metrics`` column,
            ``out`` not ending in ``.png``, or matplotlib not installed.
    """
    if not paths:
        raise UserError("name at least one run directory")
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise UserError(f"--out {out}: expected a .png file name")
    histories = {str(p): read_history(p) for p in paths}
    columns = plot_columns(histories, metrics)
    if not columns:
        raise UserError(f"no loss or metric columns to plot in {', '.join(histories)}")
    Figure, Canvas, MaxNLocator = _figure_class()
    ncols = min(3, len(columns))
    nrows = math.ceil(len(columns) / ncols)
    figure = Figure(figsize=(4.5 * ncols, 3.2 * nrows + 0.4), layout="constrained")
    Canvas(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    colors = {label: f"C{k % 10}" for k, label in enumerate(histories)}  # a run keeps its colour in every chart
    handles = {}
    for ax, column in zip(axes, columns):
        for label, history in histories.items():
            if column in history:
                (handles[label],) = ax.plot(history["epoch"], history[column], marker="o", markersize=3, color=colors[label])
        ax.set_title(column)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in axes[len(columns):]:
        ax.set_visible(False)
    labels = [label for label in histories if label in handles]
    figure.legend([handles[label] for label in labels], labels, loc="outside upper center", ncols=min(3, len(labels)), fontsize="small")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.png")
    try:  # written whole, then renamed, like every run file
        figure.savefig(tmp, dpi=dpi, format="png")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
