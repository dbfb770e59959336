"""``tfrec reproduce``: one command that re-runs a declared suite of results and writes a report.

A suite is a tuple of :class:`Row` s -- model x dataset x protocol x epochs x seeds -- each with
the numbers it is compared with (:class:`Anchor`: a paper's table, the reference notebook re-run
on the same data) and their sources. :func:`reproduce` runs every row whose data is present
(under ``--data-root``, generated, or in or downloadable into the download cache), skips the
others with the reason, and writes ``OUT/report.json`` and ``OUT/report.md``: per row the mean
and spread of each metric over the seeds, the anchors beside it, the protocol, how the epoch was
chosen, seconds per epoch, and a PNG of the training curves. :func:`write_readme_block` puts the
report's table into a README between two marker lines.

Resuming: each seed trains into ``OUT/runs/<row>-seed<k>``. A seed whose run finished
(``metrics.json`` written) is not trained again; one that was interrupted continues from its
last completed epoch (``tfrec train --resume``, which gives the uninterrupted run's numbers); a
row whose summary is in ``OUT/rows/<row>.json`` is not re-run. A run or summary made by a
different recipe (model, data, epochs, settings) than the row's declaration is trained again.
So a killed ``reproduce`` continues where it stopped.

Suites: ``quick`` runs every model on its offline (generated) data for one or two epochs, in
minutes; ``full`` the real datasets at the references' settings (``--data-root`` holds their
folders laid out as ``../shared/data``; rows marked ``download`` also run from the download
cache without it).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tfrec.errors import DataError, UserError


@dataclass(frozen=True)
class Anchor:
    """A published or re-run number a row is compared with.

    Attributes:
        metric: the metric's name in tfrec's ``metrics.json`` (``HR@10``, ``HR@20``, ``AUC``).
        low, high: the value, or the range (``low == high`` for one number).
        source: where it comes from (table, paper, notebook run).
    """

    metric: str
    low: float
    high: float
    source: str

    def describe(self) -> str:
        value = f"{self.low:g}" if self.low == self.high else f"{self.low:g}-{self.high:g}"
        return f"{self.metric} {value} ({self.source})"


@dataclass(frozen=True)
class Row:
    """One result of a suite.

    Attributes:
        id: unique name (``neumf-ml-1m-ncf``).
        model: registry model name.
        data: registry dataset name.
        protocol: how it is evaluated, in words (sampled 99 negatives, full ranking, ...).
        epochs: training epochs.
        seeds: the seeds it is run with.
        data_folder: for real data, the folder under ``--data-root`` holding its files, laid out
            as ``../shared/data`` (``None``: generated data).
        download: the registry's download of ``data`` is this row's data, so without its folder
            under ``--data-root`` the row reads (or fills) the download cache.
        params: ``--set`` values (model, training and loader settings).
        pretrained: NeuMF rows: the ids of the GMF and the MLP row whose run of the same seed
            initialises the model (the NCF paper's pre-training); those rows run first.
        metrics: the metrics the report shows.
        anchors: the numbers it is compared with.
        note: what a reader should know about the data (partial copies and the like).
    """

    id: str
    model: str
    data: str
    protocol: str
    epochs: int
    seeds: tuple[int, ...] = (0,)
    data_folder: str | None = None
    download: bool = False
    params: dict = field(default_factory=dict)
    pretrained: tuple[str, str] | None = None
    metrics: tuple[str, ...] = ("HR@10", "NDCG@10")
    anchors: tuple[Anchor, ...] = ()
    note: str = ""

    def recipe(self) -> dict:
        """What decides a row's numbers (a finished summary made by another recipe is re-run)."""
        return json.loads(json.dumps({"model": self.model, "data": self.data, "epochs": self.epochs,
                                      "seeds": list(self.seeds), "params": self.params,
                                      "pretrained": self.pretrained}))


_SAMPLED = "leave-one-out, the held-out item ranked against 99 sampled negatives"
_NCF = _SAMPLED + " (the NCF paper's split and negatives)"
_CTR = "binary clicks; exact AUC and log loss over every test row"
_CTR_MODELS = ("fm", "afm", "deepfm", "dcn", "xdeepfm", "pnn", "wide_deep", "autoint")
_TABLE2 = "He et al. 2017, Table 2, NeuMF {} pre-training, factors 8-64"
_COTREC_PAPER = "Xia et al. 2021, Table 2 ({} {:.2f})"
_MBGMN_NOTEBOOK = "the MB-GMN notebook's code re-run on the same files, 10 epochs (docs/RESULTS.md)"
_COTREC_NOTEBOOK = "the COTREC notebook's code re-run on the same files, one epoch (docs/RESULTS.md)"

QUICK = (
    *(Row(f"{m}-synthetic", m, "synthetic", _SAMPLED, 2) for m in ("gmf", "mlp", "neumf")),
    Row("mbgmn-synthetic-mb", "mbgmn", "synthetic-mb", "target behavior, 99 sampled negatives", 2),
    Row("attrec-synthetic-seq", "attrec", "synthetic-seq", "last item, 100 sampled negatives", 2),
    Row("cotrec-synthetic-sessions", "cotrec", "synthetic-sessions", "next item, full ranking", 1,
        metrics=("HR@20", "MRR@20")),
    *(Row(f"{m}-synthetic-ctr", m, "synthetic-ctr", _CTR, 1, metrics=("AUC", "LogLoss")) for m in _CTR_MODELS),
)
"""Every model on its offline data: minutes on a laptop (the CI runs it)."""

FULL = (
    Row("neumf-ml-1m-ncf", "neumf", "ml-1m-ncf", _NCF, 20, data_folder="ml-1m-ncf", download=True, anchors=(
        Anchor("HR@10", 0.688, 0.705, _TABLE2.format("without")),
        Anchor("NDCG@10", 0.410, 0.426, _TABLE2.format("without")))),
    Row("gmf-ml-1m-ncf", "gmf", "ml-1m-ncf", _NCF, 20, data_folder="ml-1m-ncf", download=True),
    Row("mlp-ml-1m-ncf", "mlp", "ml-1m-ncf", _NCF, 20, data_folder="ml-1m-ncf", download=True),
    Row("neumf-pretrained-ml-1m-ncf", "neumf", "ml-1m-ncf", _NCF + "; GMF and MLP pre-trained, alpha 0.5", 20,
        data_folder="ml-1m-ncf", download=True, pretrained=("gmf-ml-1m-ncf", "mlp-ml-1m-ncf"), anchors=(
            Anchor("HR@10", 0.701, 0.730, _TABLE2.format("with")),
            Anchor("NDCG@10", 0.425, 0.447, _TABLE2.format("with")))),
    Row("mbgmn-beibei", "mbgmn", "beibei", "buy, 99 sampled negatives (MB-GMN's test file)", 10,
        data_folder="beibei", download=True, params={"behaviors": "cart,buy"},
        anchors=(Anchor("HR@10", 0.643, 0.644, _MBGMN_NOTEBOOK), Anchor("NDCG@10", 0.377, 0.377, _MBGMN_NOTEBOOK)),
        note="cart and buy only (the copy at hand lacks pv), as the anchor"),
    Row("attrec-ml-1m-half", "attrec", "ml-1m-seq", "last item, 100 sampled negatives", 40, data_folder="ml-1m-half",
        note="ML-1M users 1-2999, the part with timestamps at hand"),
    Row("attrec-ml-1m", "attrec", "ml-1m-seq", "last item, 100 sampled negatives", 40, data_folder="ml-1m",
        download=True, note="all of ML-1M (GroupLens' ratings.dat, with timestamps)"),
    *(Row(f"{m}-ml-1m-ctr", m, "ml-1m-ctr", _CTR + " (rating >= 4 a click, 15% of each user's ratings as test)", 1,
          seeds=(0, 1), data_folder="ml-1m", download=True, metrics=("AUC", "LogLoss")) for m in _CTR_MODELS),
    Row("cotrec-tmall-1epoch", "cotrec", "tmall", "next item, full ranking; after one epoch", 1,
        data_folder="cotrec/Tmall", download=True, metrics=("HR@20", "MRR@20", "HR@10", "MRR@10"),
        anchors=(Anchor("HR@20", 0.326, 0.326, _COTREC_NOTEBOOK), Anchor("MRR@20", 0.168, 0.168, _COTREC_NOTEBOOK),
                 Anchor("HR@10", 0.274, 0.274, _COTREC_NOTEBOOK), Anchor("MRR@10", 0.164, 0.164, _COTREC_NOTEBOOK))),
    Row("cotrec-tmall", "cotrec", "tmall", "next item, full ranking; best epoch on test, as the paper", 30,
        data_folder="cotrec/Tmall", download=True, metrics=("HR@20", "MRR@20"),
        anchors=(Anchor("HR@20", 0.3635, 0.3635, _COTREC_PAPER.format("P@20", 36.35)),
                 Anchor("MRR@20", 0.1804, 0.1804, _COTREC_PAPER.format("MRR@20", 18.04)))),
    Row("cotrec-retailrocket", "cotrec", "retailrocket", "next item, full ranking; best epoch on test, as the paper", 30,
        data_folder="cotrec/retailrocket", download=True, metrics=("HR@20", "MRR@20"),
        anchors=(Anchor("HR@20", 0.5617, 0.5617, _COTREC_PAPER.format("P@20", 56.17)),
                 Anchor("MRR@20", 0.2997, 0.2997, _COTREC_PAPER.format("MRR@20", 29.97)))),
)
"""The real datasets at the references' settings (``--data-root``, or the download cache)."""

SUITES = {"quick": QUICK, "full": FULL}


def _check_suite(rows) -> None:
    ids = [r.id for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"suite row ids must be unique; got {ids}")
    for row in rows:
        if row.pretrained and not set(row.pretrained) <= set(ids[:ids.index(row.id)]):
            raise ValueError(f"row {row.id}: its pre-training rows {row.pretrained} must come before it")


for _rows in SUITES.values():
    _check_suite(_rows)


# --------------------------------------------------------------------------------------------
def _mean_spread(values: list[float]) -> dict:
    """Mean, sample standard deviation (0 for one value), min and max of the finite values."""
    finite = np.array([v for v in values if v is not None and math.isfinite(v)], np.float64)
    if not finite.size:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    std = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    return {"mean": float(finite.mean()), "std": std, "min": float(finite.min()), "max": float(finite.max()),
            "n": int(finite.size)}


def _data_dir(row: Row, data_root: Path | None) -> tuple[Path | None, str | None]:
    """Where a row's data comes from: (folder or ``None`` for generated data / the download
    cache, the reason it cannot run or ``None``)."""
    if row.data_folder is None:
        return None, None
    if data_root is not None and (data_root / row.data_folder).is_dir():
        return data_root / row.data_folder, None
    if row.download:
        from tfrec.data.download import ensure_files
        from tfrec.data.registry import get_dataset

        try:  # present in the cache, or downloaded now (checked against its checksums)
            ensure_files(get_dataset(row.data), None, progress=False)
        except DataError as error:
            where = "no --data-root" if data_root is None else f"{data_root / row.data_folder} is not there"
            return None, f"{where}, and the download failed: {error}"
        return None, None
    if data_root is None:
        return None, f"needs --data-root holding {row.data_folder}/"
    return None, f"{data_root / row.data_folder} is not there"


def _run_matches(run_dir: Path, row: Row, seed: int) -> bool:
    """Whether the run in ``run_dir`` was made by this row's recipe and seed (its config.json)."""
    try:
        config = json.loads((run_dir / "config.json").read_text())
    except (OSError, ValueError):
        return False
    if (config.get("model"), config.get("data"), config.get("seed")) != (row.model, row.data, seed):
        return False
    if bool(config.get("pretrained")) != bool(row.pretrained):
        return False
    if config.get("training", {}).get("epochs", 0) > row.epochs:  # fewer planned: an interrupted run goes on
        return False
    recorded = {**config.get("data_options", {}), **config.get("hyperparameters", {}), **config.get("training", {})}
    wanted = json.loads(json.dumps(row.params))
    return all(key in recorded and _same(recorded[key], value) for key, value in wanted.items())


def _same(recorded, wanted) -> bool:
    """A recorded setting equals a row's ``--set`` value (given as text or as its value)."""
    if recorded == wanted:
        return True
    if isinstance(wanted, str) and isinstance(recorded, (list, tuple)):
        return [str(v) for v in recorded] == [w.strip() for w in wanted.split(",")]
    return str(recorded) == str(wanted)


def _run_seed(row: Row, seed: int, out: Path, data_dir: Path | None, device: str) -> dict:
    """Train one seed -- reuse its finished run, finish an interrupted one, or start it -- and
    return its metrics.json."""
    from tfrec.training import train

    run_dir = out / "runs" / f"{row.id}-seed{seed}"
    matches = _run_matches(run_dir, row, seed)
    if matches and (run_dir / "metrics.json").exists():
        metrics = json.loads((run_dir / "metrics.json").read_text())
        if metrics.get("epochs_run") == row.epochs:
            return metrics
    if matches and (run_dir / "state.npz").exists():  # killed after an epoch: go on from there
        train(resume=run_dir, epochs=row.epochs, device=device, verbose=0)
    else:
        pretrained = None
        if row.pretrained:
            gmf, mlp = (out / "runs" / f"{rid}-seed{seed}" for rid in row.pretrained)
            pretrained = {"gmf": gmf, "mlp": mlp}
        train(row.model, row.data, data_dir, epochs=row.epochs, seed=seed, device=device, output=run_dir,
              params=dict(row.params) or None, pretrained=pretrained, verbose=0, overwrite=True)
    return json.loads((run_dir / "metrics.json").read_text())


def _summary_of(row: Row, out: Path) -> dict | None:
    """The finished summary of ``row`` in ``out`` (made by the same recipe), with the row's
    current description and anchors; ``None`` when there is none."""
    summary_file = out / "rows" / f"{row.id}.json"
    if not summary_file.exists():
        return None
    summary = json.loads(summary_file.read_text())
    if summary.get("recipe") != row.recipe():
        return None
    return {**summary, "row": asdict(row), "anchors": [asdict(a) for a in row.anchors]}


def run_row(row: Row, out: Path, data_root: Path | None = None, device: str = "auto", *, suite=(),
            command: str = "") -> dict:
    """Run (or resume) one row; its summary, also written to ``out/rows/<id>.json``.

    A row whose data cannot be had (not under ``data_root``, not downloadable, or refused by
    its loader) is returned as ``skipped`` with the reason, and not written, so a later run
    with the data runs it. ``suite`` is the suite's rows, for the pre-training rows a row names.
    """
    from tfrec import runs

    finished = _summary_of(row, out)
    if finished is not None:
        return finished
    skipped = {"row": asdict(row), "status": "skipped"}
    data_dir, reason = _data_dir(row, data_root)
    if reason is not None:
        return {**skipped, "reason": reason}
    for rid in row.pretrained or ():
        before = run_row(next(r for r in suite if r.id == rid), out, data_root, device, suite=suite, command=command)
        if before["status"] != "ran":
            return {**skipped, "reason": f"its pre-training row {rid} did not run: {before['reason']}"}
    started = time.perf_counter()
    try:
        per_seed = [_run_seed(row, seed, out, data_dir, device) for seed in row.seeds]
    except DataError as error:  # files there but not what the loader needs (a partial copy)
        return {**skipped, "reason": str(error)}
    test = {m: _mean_spread([s["test"].get(m) for s in per_seed]) for m in row.metrics}
    best_epoch = {m: _mean_spread([(s.get("best") or {}).get(m) for s in per_seed]) for m in row.metrics}
    epoch_seconds = [x for s in per_seed for x in s.get("epoch_seconds", [])]
    best = per_seed[0].get("best") or {}
    run_dirs = [out / "runs" / f"{row.id}-seed{seed}" for seed in row.seeds]
    summary = {
        "row": asdict(row),
        "recipe": row.recipe(),
        "status": "ran",
        "command": command,
        "data_dir": None if data_dir is None else str(data_dir),
        "seeds": list(row.seeds),
        "test": test,
        "best": best_epoch,
        "best_epochs": [(s.get("best") or {}).get("epoch") for s in per_seed],
        "popularity": {m: _mean_spread([s.get("baseline_popularity", {}).get(m) for s in per_seed])
                       for m in row.metrics},
        "epoch_chosen": best.get("rule", "the last epoch"),
        "chosen_by": best.get("chosen_by"),
        "seconds_per_epoch": float(np.median(epoch_seconds)) if epoch_seconds else None,
        "epoch_seconds": _mean_spread(epoch_seconds),
        "wall_seconds": time.perf_counter() - started,
        "runs": [str(d) for d in run_dirs],
        "anchors": [asdict(a) for a in row.anchors],
    }
    try:
        from tfrec.reports import plot_runs

        curves = out / "curves" / f"{row.id}.png"
        plot_runs(summary["runs"], curves, metrics=["loss", *row.metrics])
        summary["curves"] = str(curves)
    except (ImportError, UserError) as error:  # matplotlib is optional (the plot extra)
        summary["curves"] = None
        summary["curves_error"] = str(error)
    runs.write_json(out / "rows" / f"{row.id}.json", summary)
    return summary


def _cell(stats: dict) -> str:
    if not stats or stats.get("mean") is None:
        return "-"
    if stats["n"] > 1:
        return f"{stats['mean']:.4f} ± {stats['std']:.4f}"
    return f"{stats['mean']:.4f}"


def _anchors_cell(anchors: list[dict]) -> str:
    """The anchors, those of one source together: ``HR@10 0.688-0.705, NDCG@10 0.41-0.426 (source)``."""
    by_source: dict[str, list[str]] = {}
    for anchor in anchors:
        text = Anchor(**anchor).describe()
        by_source.setdefault(anchor["source"], []).append(text[:-len(anchor["source"]) - 3])
    return "; ".join(f"{', '.join(values)} ({source})" for source, values in by_source.items()) or "-"


def results_table(rows: list[dict]) -> str:
    """The report's table (Markdown): one line per row of the suite, whatever its status."""
    lines = ["| row | model | data | protocol | epochs x seeds | last epoch | chosen epoch | popularity | "
             "anchors | epoch chosen | s / epoch |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for summary in rows:
        row = summary["row"]
        data = row["data"] + (f" ({row['note']})" if row.get("note") else "")
        if summary["status"] != "ran":
            anchors = _anchors_cell(row["anchors"])
            lines.append(f"| {row['id']} | {row['model']} | {data} | {row['protocol']} | {row['epochs']} x "
                         f"{len(row['seeds'])} | {summary['status']}: {summary['reason']} | | | {anchors} | | |")
            continue
        metrics = "; ".join(f"{m} {_cell(s)}" for m, s in summary["test"].items())
        chosen = "; ".join(f"{m} {_cell(s)}" for m, s in summary["best"].items())
        popularity = "; ".join(f"{m} {_cell(s)}" for m, s in summary["popularity"].items())
        anchors = _anchors_cell(summary["anchors"])
        seconds = "-"
        if summary["seconds_per_epoch"] is not None:
            spread = summary.get("epoch_seconds") or {}
            seconds = f"{summary['seconds_per_epoch']:.1f}"
            if spread.get("n", 0) > 1:
                seconds += f" ({spread['min']:.1f}-{spread['max']:.1f})"
        lines.append(f"| {row['id']} | {row['model']} | {data} | {row['protocol']} | {row['epochs']} x "
                     f"{len(row['seeds'])} | {metrics} | {chosen} | {popularity} | {anchors} | "
                     f"{summary['epoch_chosen']} | {seconds} |")
    return "\n".join(lines) + "\n"


_EXPLAINED = ("Metrics are means ± standard deviations over the seeds, after the last epoch and at the epoch "
              "the run chose (best.keras, by the rule in the epoch-chosen column); s / epoch is the median "
              "training epoch's wall time over every epoch of every seed, with the fastest and the slowest.")


def report_markdown(suite: str, rows: list[dict], command: str) -> str:
    commands = sorted({s["command"] for s in rows if s.get("command") and s["command"] != command})
    made = [f"Made with `{command}`" + (", from rows run by " + ", ".join(f"`{c}`" for c in commands) if commands
                                        else "") + "."]
    return "\n".join([f"# tfrec reproduce: suite {suite}", "", *made, "", _EXPLAINED, "", results_table(rows)])


README_BEGIN = "<!-- tfrec reproduce: begin -->"
README_END = "<!-- tfrec reproduce: end -->"


def write_readme_block(readme: str | Path, report: dict) -> Path:
    """Replace the lines between :data:`README_BEGIN` and :data:`README_END` in ``readme`` with
    the report's table and the command that made it (written atomically).

    Raises:
        UserError: the file is missing or lacks exactly one pair of marker lines.
    """
    from tfrec import runs

    readme = Path(readme)
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(f"--readme {readme}: cannot read it ({error.strerror or error})") from None
    lines = text.splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.strip() == README_BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == README_END]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise UserError(f"--readme {readme}: needs one line {README_BEGIN!r} and, after it, one line "
                        f"{README_END!r}, between which the results table is written")
    block = report_markdown(report["suite"], report["rows"], report["command"]).split("\n", 2)[2]
    new = "".join(lines[:begins[0] + 1]) + "\n" + block + "\n" + "".join(lines[ends[0]:])
    runs.atomic_write_text(readme, new)
    return readme


def _select(rows, only) -> set[str]:
    """The ids of the rows ``only`` names (model names or row ids; all rows when empty)."""
    if not only:
        return {r.id for r in rows}
    names = {r.model for r in rows} | {r.id for r in rows}
    for name in only:
        if name not in names:
            from tfrec.registry import did_you_mean

            raise UserError(f"--only {name}: no row of the suite runs or is called it; "
                            f"{did_you_mean(name, sorted(names))}its models are {', '.join(sorted({r.model for r in rows}))}")
    return {r.id for r in rows if r.model in only or r.id in only}


def reproduce(suite: str = "quick", out: str | Path = "reproduce", *, only=None, data_root=None, device: str = "auto",
              command: str = "tfrec reproduce", report_only: bool = False, readme: str | Path | None = None) -> dict:
    """Run a suite (or the rows ``only`` names) into ``out``; the report as a dict.

    The report lists every row of the suite: ``ran`` (this time or in an earlier run into
    ``out``), ``skipped`` (its data could not be had, with the reason) or ``not run`` (not
    selected by ``only``, or ``report_only``, and never run into ``out``).

    Args:
        suite: ``quick`` or ``full``.
        out: the folder of runs, row summaries, curves and reports.
        only: model names or row ids to run (all rows when empty).
        data_root: the folder holding the rows' ``data_folder`` s.
        device: ``auto``, ``cpu``, ``gpu`` or ``gpu:N``.
        command: the command line recorded in the report.
        report_only: run nothing; rewrite the reports from the rows already in ``out``.
        readme: also write the table into this file between its marker lines
            (:func:`write_readme_block`).

    Raises:
        UserError: an unknown suite, a name in ``only`` that is no row's model or id, ``only``
            with ``report_only``, or a ``readme`` without its markers.
    """
    from tfrec import runs

    if suite not in SUITES:
        raise UserError(f"unknown suite {suite!r}; the suites are {', '.join(SUITES)}")
    if report_only and only:
        raise UserError("--report-only runs nothing; it cannot be combined with --only")
    rows = SUITES[suite]
    selected = set() if report_only else _select(rows, list(only or ()))
    out = Path(out).expanduser().resolve()
    data_root = None if data_root is None else Path(data_root).expanduser().resolve()
    if readme is not None:
        readme = Path(readme).expanduser().resolve()
        if not readme.is_file():
            raise UserError(f"--readme {readme}: no such file")
    out.mkdir(parents=True, exist_ok=True)
    summaries = []
    for row in rows:
        if row.id in selected:
            summaries.append(run_row(row, out, data_root, device, suite=rows, command=command))
        else:
            reason = "no finished run in OUT (--report-only)" if report_only else "not selected (--only)"
            summaries.append(_summary_of(row, out) or {"row": asdict(row), "status": "not run", "reason": reason})
    report = {"suite": suite, "command": command, "rows": summaries}
    runs.write_json(out / "report.json", report)
    runs.atomic_write_text(out / "report.md", report_markdown(suite, summaries, command))
    if readme is not None:
        write_readme_block(readme, report)
    return report
