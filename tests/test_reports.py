"""``tfrec compare`` / ``tfrec plot`` (tfrec/reports.py) on hand-made run directories (no training)."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from tfrec.cli import main
from tfrec.errors import UserError
from tfrec.reports import compare_runs, plot_columns, plot_runs, read_history


def fake_run(folder, *, model, data="synthetic", test, epoch_seconds, history, eval_seconds=0.25, best_epoch=None):
    """A run directory as :func:`tfrec.train` leaves it, minus the checkpoints."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model": model, "data": data, "seed": 0, "training": {}}))
    (folder / "metrics.json").write_text(json.dumps({
        "test": test, "best": {"epoch": best_epoch, **test}, "baseline_popularity": {"HR@10": 0.1},
        "epochs_run": len(epoch_seconds), "epoch_seconds": epoch_seconds, "eval_seconds": eval_seconds,
        "best_over_epochs_on_test": {"P@20": 0.5},  # nested reports are not metric columns
    }))
    columns = list(history)
    rows = [",".join(columns)] + [",".join(repr(history[c][i]) for c in columns) for i in range(len(history[columns[0]]))]
    (folder / "history.csv").write_text("\n".join(rows) + "\n")
    return folder


@pytest.fixture
def two_runs(tmp_path):
    gmf = fake_run(
        tmp_path / "gmf", model="gmf", test={"HR@10": 0.61234, "NDCG@10": 0.35}, epoch_seconds=[2.0, 3.0, 4.0], best_epoch=3,
        history={"epoch": [1, 2, 3], "loss": [0.7, 0.5, 0.4], "epoch_seconds": [2.0, 3.0, 4.0], "HR@10": [0.4, 0.55, 0.61234]},
    )
    ctr = fake_run(
        tmp_path / "fm", model="fm", data="synthetic-ctr", test={"AUC": 0.75}, epoch_seconds=[10.0], eval_seconds=1.5, best_epoch=1,
        history={"epoch": [1], "loss": [0.6], "AUC": [0.75], "eval_seconds": [1.5]},
    )
    return gmf, ctr


def table_rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()]


# --------------------------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------------------------
def test_compare_table_has_each_runs_metrics_and_timings(two_runs):
    gmf, ctr = two_runs
    lines = table_rows(compare_runs([gmf, ctr]))
    header = lines[0]
    assert header[:4] == ["run", "model", "data", "epochs"]
    assert set(lines[1]) == {"-" * len(c) for c in lines[1]}  # the rule under the header
    by_run = {row[0]: row for row in lines[2:]}
    assert set(by_run) == {str(gmf), str(ctr)}
    gmf_row, ctr_row = by_run[str(gmf)], by_run[str(ctr)]
    # columns: run model data epochs HR@10 NDCG@10 AUC best-epoch train-s s/epoch eval-s
    assert gmf_row == [str(gmf), "gmf", "synthetic", "3", "0.6123", "0.3500", "-", "3", "9.0", "3.00", "0.25"]
    assert ctr_row == [str(ctr), "fm", "synthetic-ctr", "1", "-", "-", "0.7500", "1", "10.0", "10.00", "1.50"]
    assert header[4:7] == ["HR@10", "NDCG@10", "AUC"]  # union of the runs' metrics; nested reports (P@20) left out


def test_compare_through_the_cli(two_runs):
    gmf, ctr = two_runs
    result = CliRunner().invoke(main, ["compare", str(gmf), str(ctr)])
    assert result.exit_code == 0, result.output
    assert result.output == compare_runs([gmf, ctr]) + "\n"


@pytest.mark.parametrize("breakage, expected", [
    ("missing", "does not exist"),
    ("no_metrics", "metrics.json not found"),
    ("bad_json", "metrics.json is not valid JSON"),
    ("not_object", "'test'"),
    ("binary", "config.json: cannot read"),
])
def test_compare_bad_run_dir_is_one_line_exit_2(two_runs, tmp_path, breakage, expected):
    gmf, _ = two_runs
    bad = tmp_path / "bad"
    if breakage != "missing":
        fake_run(bad, model="gmf", test={"HR@10": 0.5}, epoch_seconds=[1.0], history={"epoch": [1], "loss": [0.5]})
    if breakage == "no_metrics":
        (bad / "metrics.json").unlink()
    elif breakage == "bad_json":
        (bad / "metrics.json").write_text('{"test": ')
    elif breakage == "not_object":
        (bad / "metrics.json").write_text('{"test": [1, 2], "epoch_seconds": []}')
    elif breakage == "binary":
        (bad / "config.json").write_bytes(b"\xff\xfe\x00")
    result = CliRunner().invoke(main, ["compare", str(gmf), str(bad)])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and result.output.startswith("error: ")
    assert expected in result.output and "bad" in result.output


def test_compare_needs_a_run_dir():
    result = CliRunner().invoke(main, ["compare"])
    assert result.exit_code == 2 and "RUN_DIRS" in result.output


# --------------------------------------------------------------------------------------------
# plot
# --------------------------------------------------------------------------------------------
def test_history_is_read_as_columns(two_runs):
    gmf, ctr = two_runs
    history = read_history(gmf)
    assert history["epoch"] == [1.0, 2.0, 3.0] and history["HR@10"][-1] == 0.61234
    histories = {str(gmf): history, str(ctr): read_history(ctr)}
    assert plot_columns(histories) == ["loss", "HR@10", "AUC"]  # timings left out, union over runs
    assert plot_columns(histories, ["AUC", "epoch_seconds"]) == ["AUC", "epoch_seconds"]
    with pytest.raises(UserError, match="--metric 'MRR' is in no run's history.csv; available: loss"):
        plot_columns(histories, ["MRR"])


def test_plot_writes_a_png_comparing_runs(two_runs, tmp_path):
    pytest.importorskip("matplotlib")
    gmf, ctr = two_runs
    out = tmp_path / "charts" / "curves.png"
    result = CliRunner().invoke(main, ["plot", str(gmf), str(ctr), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {out}"
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert [p.name for p in out.parent.iterdir()] == ["curves.png"]  # no temporary file left
    from matplotlib.image import imread

    height, width = imread(out).shape[:2]
    assert width > height  # three charts side by side (loss, HR@10, AUC)
    single = plot_runs([gmf], tmp_path / "one.png", ["loss"])
    assert imread(single).shape[1] < width


def test_plot_errors_are_one_line(two_runs, tmp_path):
    gmf, _ = two_runs
    runner = CliRunner()
    wrong_suffix = runner.invoke(main, ["plot", str(gmf), "--out", str(tmp_path / "x.jpg")])
    assert wrong_suffix.exit_code == 2 and "expected a .png file name" in wrong_suffix.output
    missing = runner.invoke(main, ["plot", str(tmp_path / "nope"), "--out", str(tmp_path / "x.png")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    (gmf / "history.csv").write_text("epoch,loss\n1,abc\n")
    bad = runner.invoke(main, ["plot", str(gmf), "--out", str(tmp_path / "x.png")])
    assert bad.exit_code == 2 and "history.csv, line 2: loss must be a number" in bad.output
    for result in (wrong_suffix, missing, bad):
        assert result.output.strip().count("\n") == 0
    assert not (tmp_path / "x.png").exists()


def test_plot_without_matplotlib_says_how_to_install(two_runs, tmp_path, monkeypatch):
    gmf, _ = two_runs
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    result = CliRunner().invoke(main, ["plot", str(gmf), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert result.output.strip() == "error: tfrec plot needs matplotlib: pip install tfrec[plot]"
