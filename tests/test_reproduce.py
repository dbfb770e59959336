"""tfrec reproduce: the declared suites, a quick subset run, resuming, the report."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tfrec.cli import main
from tfrec.errors import UserError
from tfrec.registry import list_models
from tfrec.reproduce import FULL, QUICK, SUITES, reproduce


def test_the_quick_suite_runs_every_registered_model_on_offline_data():
    assert {r.model for r in QUICK} == {spec.name for spec in list_models()}
    assert all(r.data_folder is None for r in QUICK)
    assert all(r.data_folder for r in FULL)
    ncf = next(r for r in FULL if r.id == "neumf-ml-1m-ncf")
    assert {a.metric for a in ncf.anchors} == {"HR@10", "NDCG@10"}


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    result = CliRunner().invoke(main, ["reproduce", "--suite", "quick", "--only", "gmf", "--only", "fm",
                                       "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    return out


def test_quick_subset_writes_both_reports_with_every_row(quick_report):
    report = json.loads((quick_report / "report.json").read_text())
    assert [r["row"]["id"] for r in report["rows"]] == [r.id for r in QUICK]  # every row is listed
    assert {r["row"]["model"] for r in report["rows"]} == {spec.name for spec in list_models()}
    ran = [r for r in report["rows"] if r["status"] == "ran"]
    assert [r["row"]["id"] for r in ran] == ["gmf-synthetic", "fm-synthetic-ctr"]
    assert {r["status"] for r in report["rows"]} == {"ran", "not run"}
    for row in ran:
        assert row["status"] == "ran" and row["seconds_per_epoch"] > 0
        run = json.loads((quick_report / "runs" / f"{row['row']['id']}-seed0" / "metrics.json").read_text())
        for metric, stats in row["test"].items():
            assert stats["mean"] == pytest.approx(run["test"][metric]) and stats["n"] == 1
        assert (quick_report / "curves" / f"{row['row']['id']}.png").stat().st_size > 0
    markdown = (quick_report / "report.md").read_text()
    assert "gmf-synthetic" in markdown and "fm-synthetic-ctr" in markdown and "AUC" in markdown


def test_a_finished_row_or_seed_is_not_run_again(quick_report):
    metrics = quick_report / "runs" / "gmf-synthetic-seed0" / "metrics.json"
    stamp = metrics.stat().st_mtime_ns
    reproduce("quick", quick_report, only=["gmf"], device="cpu")
    assert metrics.stat().st_mtime_ns == stamp
    (quick_report / "rows" / "gmf-synthetic.json").unlink()  # killed after the run, before its summary
    again = reproduce("quick", quick_report, only=["gmf"], device="cpu")
    assert metrics.stat().st_mtime_ns == stamp and again["rows"][0]["status"] == "ran"
    assert (quick_report / "rows" / "gmf-synthetic.json").exists()
    fm = next(r for r in again["rows"] if r["row"]["id"] == "fm-synthetic-ctr")
    assert fm["status"] == "ran"  # run earlier into the same folder: still reported


def test_full_rows_without_their_data_are_skipped_with_the_reason(tmp_path):
    report = reproduce("full", tmp_path / "out", only=["neumf"], data_root=tmp_path)
    neumf = next(r for r in report["rows"] if r["row"]["id"] == "neumf-ml-1m-ncf")
    assert neumf["status"] == "skipped" and "ml-1m-ncf is not there" in neumf["reason"]
    assert "skipped" in (tmp_path / "out" / "report.md").read_text()


def test_bad_options_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="unknown suite 'huge'"):
        reproduce("huge", tmp_path)
    with pytest.raises(UserError, match="--only nope: no row of suite 'quick' runs it"):
        reproduce("quick", tmp_path, only=["nope"])
    assert set(SUITES) == {"quick", "full"}
