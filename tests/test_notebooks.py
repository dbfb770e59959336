"""Every notebook in notebooks/ runs top to bottom on the synthetic data (a smoke test).

Each notebook's code cells are executed in order in one namespace, in this process (so
TensorFlow is imported once for the whole suite, not once per notebook kernel). The notebooks
use no IPython magics, so this is what a Jupyter kernel would run. Plots go to matplotlib's
non-interactive Agg backend.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def code_cells(path: Path) -> list[str]:
    book = json.loads(path.read_text())
    return ["".join(cell["source"]) for cell in book["cells"] if cell["cell_type"] == "code"]


def test_there_is_a_notebook_per_family():
    assert {p.stem for p in NOTEBOOKS} >= {"ncf", "mbgmn", "cotrec", "attrec", "ctr"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    import matplotlib

    matplotlib.use("Agg")
    namespace: dict = {"__name__": "__main__"}
    for number, source in enumerate(code_cells(path), start=1):
        assert not any(line.lstrip().startswith(("%", "!")) for line in source.splitlines()), "no IPython magics"
        try:
            exec(compile(source, f"{path.name}[cell {number}]", "exec"), namespace)
        except Exception as error:  # name the cell that failed
            raise AssertionError(f"{path.name}, code cell {number} failed: {error!r}") from error
    import matplotlib.pyplot as plt

    assert plt.get_fignums(), "the last cell draws the training curves"
    assert len(namespace["curves"]) == namespace["EPOCHS"]  # one evaluation per epoch
    plt.close("all")
