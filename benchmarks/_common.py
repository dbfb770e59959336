"""What every benchmark script reports the same way (imported as ``_common``: the scripts run as
``python benchmarks/bench_NAME.py``, which puts this folder on the import path)."""

from __future__ import annotations

import json
import re
import resource
from pathlib import Path


def rounded(metrics: dict, digits: int = 4) -> dict:
    """``{name: value}`` with every value rounded to ``digits``."""
    return {k: round(float(v), digits) for k, v in metrics.items()}


def run_metrics(result) -> dict:
    """A :class:`tfrec.training.TrainResult`'s seconds per epoch, test metrics and popularity baseline."""
    return {
        "epoch_seconds": [round(s, 2) for s in result.metrics["epoch_seconds"]],
        **rounded(result.metrics["test"]),
        "popularity": rounded(result.metrics["baseline_popularity"]),
    }


def peak_rss_mb() -> float:
    """The process's peak resident memory in MiB (Linux ``ru_maxrss`` is in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def emit(record: dict) -> dict:
    """Print ``record`` as the benchmark's one JSON line (with the peak memory) and return it."""
    record = {**record, "peak_rss_mb": peak_rss_mb()}
    print(json.dumps(record), flush=True)
    return record


def code_cells(seed_file: Path) -> list[str]:
    """The notebook's Python cells, without Colab magics, shell escapes and the ``__main__`` cell."""
    text = seed_file.read_text()
    cells = re.findall(r"```python[^\n]*\n(.*?)```", text, flags=re.S)
    kept = []
    for cell in cells:
        if cell.lstrip().startswith("if __name__"):
            continue
        kept.append("\n".join(line for line in cell.splitlines() if not line.lstrip().startswith(("%", "!"))))
    return kept
