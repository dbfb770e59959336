"""tfrec reproduce: the declared suites, a quick subset run, resuming, the report."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tfrec.cli import main
from tfrec.errors import DataError, UserError
from tfrec.registry import list_models
from tfrec.reproduce import FULL, QUICK, README_BEGIN, README_END, SUITES, Row, reproduce, run_row
from tfrec.training import train


def test_the_quick_suite_runs_every_registered_model_on_offline_data():
    assert {r.model for r in QUICK} == {spec.name for spec in list_models()}
    assert all(r.data_folder is None for r in QUICK)
    assert all(r.data_folder for r in FULL)
    assert {r.model for r in FULL} == {spec.name for spec in list_models()}
    ncf = next(r for r in FULL if r.id == "neumf-ml-1m-ncf")
    assert {a.metric for a in ncf.anchors} == {"HR@10", "NDCG@10"}
    pretrained = next(r for r in FULL if r.pretrained)
    assert pretrained.pretrained == ("gmf-ml-1m-ncf", "mlp-ml-1m-ncf")


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


def test_an_interrupted_seed_continues_from_its_last_epoch(quick_report, tmp_path):
    out = tmp_path / "out"
    run = out / "runs" / "gmf-synthetic-seed0"
    train("gmf", "synthetic", epochs=1, seed=0, output=run, verbose=0, device="cpu")  # killed after epoch 1
    report = reproduce("quick", out, only=["gmf-synthetic"], device="cpu")
    assert report["rows"][0]["status"] == "ran"
    assert len((run / "history.csv").read_text().splitlines()) == 1 + 2  # header, epoch 1, epoch 2
    resumed = json.loads((run / "metrics.json").read_text())["test"]
    whole = json.loads((quick_report / "runs" / "gmf-synthetic-seed0" / "metrics.json").read_text())["test"]
    assert resumed == pytest.approx(whole)  # the uninterrupted run's numbers


def test_a_summary_or_run_of_another_recipe_is_made_again(tmp_path):
    out = tmp_path / "out"
    run = out / "runs" / "fm-synthetic-ctr-seed0"
    train("fm", "synthetic-ctr", epochs=1, seed=1, output=run, verbose=0, device="cpu")  # another seed
    report = reproduce("quick", out, only=["fm-synthetic-ctr"], device="cpu")
    fm = next(r for r in report["rows"] if r["row"]["id"] == "fm-synthetic-ctr")
    assert json.loads((run / "config.json").read_text())["seed"] == 0 and fm["status"] == "ran"
    summary_file = out / "rows" / "fm-synthetic-ctr.json"
    summary = json.loads(summary_file.read_text())
    summary["recipe"]["epochs"] = 5
    summary_file.write_text(json.dumps(summary))
    stamp = (run / "metrics.json").stat().st_mtime_ns
    reproduce("quick", out, only=["fm"], device="cpu")
    assert json.loads(summary_file.read_text())["recipe"]["epochs"] == 1  # summarised again,
    assert (run / "metrics.json").stat().st_mtime_ns == stamp  # from the same finished run


def test_a_pretrained_row_runs_its_gmf_and_mlp_rows_first(tmp_path):
    suite = (Row("g", "gmf", "synthetic", "p", 1), Row("m", "mlp", "synthetic", "p", 1),
             Row("n", "neumf", "synthetic", "p", 1, pretrained=("g", "m")))
    summary = run_row(suite[2], tmp_path, device="cpu", suite=suite)
    assert summary["status"] == "ran"
    assert {p.name for p in (tmp_path / "rows").iterdir()} == {"g.json", "m.json", "n.json"}
    pretrained = json.loads((tmp_path / "runs" / "n-seed0" / "config.json").read_text())["pretrained"]
    assert pretrained == {"gmf": str(tmp_path / "runs" / "g-seed0"), "mlp": str(tmp_path / "runs" / "m-seed0")}


def test_full_rows_without_their_data_are_skipped_with_the_reason(tmp_path, monkeypatch):
    import tfrec.data.download

    real = tfrec.data.download.ensure_files

    def offline(spec, data_dir=None, progress=True):
        if data_dir is None:
            raise DataError(f"cannot download {spec.name}: offline")
        return real(spec, data_dir, progress)

    monkeypatch.setattr(tfrec.data.download, "ensure_files", offline)
    (tmp_path / "ml-1m-half").mkdir()  # there, but without ratings.dat
    report = reproduce("full", tmp_path / "out", only=["neumf-ml-1m-ncf", "attrec"], data_root=tmp_path)
    rows = {r["row"]["id"]: r for r in report["rows"]}
    assert rows["neumf-ml-1m-ncf"]["status"] == "skipped"
    assert "ml-1m-ncf is not there, and the download failed: cannot download ml-1m-ncf" in rows["neumf-ml-1m-ncf"]["reason"]
    assert rows["attrec-ml-1m-half"]["status"] == "skipped" and "ratings.dat" in rows["attrec-ml-1m-half"]["reason"]
    assert rows["gmf-ml-1m-ncf"]["status"] == "not run"
    assert not (tmp_path / "out" / "rows").exists()  # a skipped row is run once its data is there
    assert "skipped" in (tmp_path / "out" / "report.md").read_text()
    report = reproduce("full", tmp_path / "out2", only=["attrec-ml-1m-half"])
    half = next(r for r in report["rows"] if r["row"]["id"] == "attrec-ml-1m-half")
    assert half["reason"] == "needs --data-root holding ml-1m-half/"


def test_the_readme_block_is_written_from_the_report(quick_report, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{README_BEGIN}\nold table\n{README_END}\nafter\n")
    result = CliRunner().invoke(main, ["reproduce", "--suite", "quick", "--out", str(quick_report),
                                       "--report-only", "--readme", str(readme)])
    assert result.exit_code == 0, result.output
    text = readme.read_text()
    assert text.startswith(f"# title\n\nbefore\n{README_BEGIN}\n") and text.endswith(f"{README_END}\nafter\n")
    assert "old table" not in text and "Made with `tfrec reproduce" in text and "--report-only" in text
    report = json.loads((quick_report / "report.json").read_text())
    for row in report["rows"]:
        assert f"| {row['row']['id']} |" in text
    gmf = next(r for r in report["rows"] if r["row"]["id"] == "gmf-synthetic")
    assert f"HR@10 {gmf['test']['HR@10']['mean']:.4f}" in text


def test_the_project_readme_has_one_results_block():
    from pathlib import Path

    lines = [line.strip() for line in (Path(__file__).parents[1] / "README.md").read_text().splitlines()]
    assert lines.count(README_BEGIN) == 1 and lines.count(README_END) == 1
    assert lines.index(README_BEGIN) < lines.index(README_END)


def test_bad_options_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="unknown suite 'huge'"):
        reproduce("huge", tmp_path)
    with pytest.raises(UserError, match="--only nope: no row of the suite runs or is called it"):
        reproduce("quick", tmp_path, only=["nope"])
    with pytest.raises(UserError, match="did you mean 'gmf-synthetic'"):
        reproduce("quick", tmp_path, only=["gmf-synthetc"])
    with pytest.raises(UserError, match="--report-only runs nothing"):
        reproduce("quick", tmp_path, only=["gmf"], report_only=True)
    (tmp_path / "plain.md").write_text("no markers\n")
    with pytest.raises(UserError, match="plain.md: needs one line '<!-- tfrec reproduce: begin -->'"):
        reproduce("quick", tmp_path / "out", report_only=True, readme=tmp_path / "plain.md")
    with pytest.raises(UserError, match="--readme .*missing.md: no such file"):
        reproduce("quick", tmp_path / "out", report_only=True, readme=tmp_path / "missing.md")
    result = CliRunner().invoke(main, ["reproduce", "--out", str(tmp_path), "--only", "nope"])
    assert result.exit_code != 0 and "Traceback" not in result.output and "--only nope" in result.output
    assert set(SUITES) == {"quick", "full"}
