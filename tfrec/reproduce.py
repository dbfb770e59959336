"""``tfrec reproduce``: one command that re-runs a declared suite of results and writes a report.

A suite is a tuple of :class:`Row` s -- model x dataset x protocol x epochs x seeds -- each with
the numbers it is compared with (:class:`Anchor`: a paper's table, the reference notebook re-run
on the same data) and their sources. :func:`reproduce` runs every row whose data is present (or
generated), skips the others with the reason, and writes ``OUT/report.json`` and
``OUT/report.md``: per row the mean and spread of each metric over the seeds, the anchors beside
it, the protocol, how the epoch was chosen, seconds per epoch, and a PNG of the training curves.

Resuming: each seed trains into ``OUT/runs/<row>-seed<k>``; a seed whose run finished
(``metrics.json`` written) is not trained again, and a row whose summary is in
``OUT/rows/<row>.json`` is not re-run, so a killed ``reproduce`` continues where it stopped.

Suites: ``quick`` runs every model on its offline (generated) data for one or two epochs, in
minutes; ``full`` the real datasets at the references' settings (``--data-root`` holds their
folders, as ``../shared/data`` does).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tfrec.errors import UserError


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
        data_folder: for real data, the folder under ``--data-root`` holding its files
            (``None``: generated data).
        params: ``--set`` values (model, training and loader settings).
        metrics: the metrics the report shows.
        anchors: the numbers it is compared with.
    """

    id: str
    model: str
    data: str
    protocol: str
    epochs: int
    seeds: tuple[int, ...] = (0,)
    data_folder: str | None = None
    params: dict = field(default_factory=dict)
    metrics: tuple[str, ...] = ("HR@10", "NDCG@10")
    anchors: tuple[Anchor, ...] = ()


_SAMPLED = "leave-one-out, the held-out item ranked against 99 sampled negatives"
_CTR = "binary clicks; exact AUC and log loss over every test row"
_CTR_MODELS = ("fm", "afm", "deepfm", "dcn", "xdeepfm", "pnn", "wide_deep", "autoint")

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
    Row("neumf-ml-1m-ncf", "neumf", "ml-1m-ncf", _SAMPLED + " (the NCF paper's split and negatives)", 20,
        data_folder="ml-1m-ncf", anchors=(
            Anchor("HR@10", 0.688, 0.705, "He et al. 2017, Table 2, NeuMF without pre-training, factors 8-64"),
            Anchor("NDCG@10", 0.410, 0.426, "He et al. 2017, Table 2, NeuMF without pre-training, factors 8-64"))),
    Row("gmf-ml-1m-ncf", "gmf", "ml-1m-ncf", _SAMPLED + " (the NCF paper's split and negatives)", 20,
        data_folder="ml-1m-ncf"),
    Row("mlp-ml-1m-ncf", "mlp", "ml-1m-ncf", _SAMPLED + " (the NCF paper's split and negatives)", 20,
        data_folder="ml-1m-ncf"),
    Row("mbgmn-beibei", "mbgmn", "beibei", "buy, 99 sampled negatives (MB-GMN's test file)", 10, data_folder="beibei",
        anchors=(Anchor("HR@10", 0.643, 0.644, "the MB-GMN reference re-run on this data (README)"),)),
    Row("cotrec-tmall", "cotrec", "tmall", "next item, full ranking; best epoch on test, as the paper", 30,
        data_folder="tmall", metrics=("HR@20", "MRR@20"),
        anchors=(Anchor("HR@20", 36.35 / 100, 36.35 / 100, "Xia et al. 2021, Table 2 (P@20 36.35)"),
                 Anchor("MRR@20", 18.04 / 100, 18.04 / 100, "Xia et al. 2021, Table 2"))),
    Row("attrec-ml-1m", "attrec", "ml-1m-seq", "last item, 100 sampled negatives", 40, data_folder="ml-1m"),
    *(Row(f"{m}-ml-1m-ctr", m, "ml-1m-ctr", _CTR + " (rating >= 4 a click)", 1, data_folder="ml-1m",
          metrics=("AUC", "LogLoss")) for m in _CTR_MODELS),
)
"""The real datasets at the references' settings (``--data-root``)."""

SUITES = {"quick": QUICK, "full": FULL}


def _check_suite(rows) -> None:
    ids = [r.id for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"suite row ids must be unique; got {ids}")


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


def _why_skipped(row: Row, data_root: Path | None) -> str | None:
    if row.data_folder is None:
        return None
    if data_root is None:
        return f"needs --data-root holding {row.data_folder}/"
    if not (data_root / row.data_folder).is_dir():
        return f"{data_root / row.data_folder} is not there"
    return None


def _run_seed(row: Row, seed: int, run_dir: Path, data_root: Path | None, device: str) -> dict:
    """Train one seed (or reuse its finished run) and return its metrics.json."""
    from tfrec.training import train

    metrics_file = run_dir / "metrics.json"
    if not metrics_file.exists():
        data_dir = None if row.data_folder is None else data_root / row.data_folder
        train(row.model, row.data, data_dir, epochs=row.epochs, seed=seed, device=device, output=run_dir,
              params=dict(row.params) or None, verbose=0, overwrite=True)
    return json.loads(metrics_file.read_text())


def run_row(row: Row, out: Path, data_root: Path | None = None, device: str = "auto") -> dict:
    """Run (or resume) one row; its summary, also written to ``out/rows/<id>.json``."""
    from tfrec import runs

    summary_file = out / "rows" / f"{row.id}.json"
    if summary_file.exists():
        return json.loads(summary_file.read_text())
    skipped = _why_skipped(row, data_root)
    summary = {"row": asdict(row)}
    if skipped is not None:
        summary.update(status="skipped", reason=skipped)
        return summary  # not written: a later run with the data runs it
    started = time.perf_counter()
    per_seed = []
    for seed in row.seeds:
        metrics = _run_seed(row, seed, out / "runs" / f"{row.id}-seed{seed}", data_root, device)
        per_seed.append(metrics)
    test = {m: _mean_spread([s["test"].get(m) for s in per_seed]) for m in row.metrics}
    best_epoch = {m: _mean_spread([(s.get("best") or {}).get(m) for s in per_seed]) for m in row.metrics}
    epoch_seconds = [x for s in per_seed for x in s.get("epoch_seconds", [])]
    best = per_seed[0].get("best") or {}
    summary.update(
        status="ran",
        seeds=list(row.seeds),
        test=test,
        best=best_epoch,
        best_epochs=[(s.get("best") or {}).get("epoch") for s in per_seed],
        popularity={m: _mean_spread([s.get("baseline_popularity", {}).get(m) for s in per_seed]) for m in row.metrics},
        epoch_chosen=best.get("rule", "the last epoch"),
        chosen_by=best.get("chosen_by"),
        seconds_per_epoch=sum(epoch_seconds) / len(epoch_seconds) if epoch_seconds else None,
        wall_seconds=time.perf_counter() - started,
        runs=[str(out / "runs" / f"{row.id}-seed{seed}") for seed in row.seeds],
        anchors=[asdict(a) for a in row.anchors],
    )
    try:
        from tfrec.reports import plot_runs

        curves = out / "curves" / f"{row.id}.png"
        curves.parent.mkdir(parents=True, exist_ok=True)
        plot_runs(summary["runs"], curves, metrics=["loss", *row.metrics])
        summary["curves"] = str(curves)
    except (ImportError, UserError) as error:  # matplotlib is optional (the plot extra)
        summary["curves"] = None
        summary["curves_error"] = str(error)
    summary_file.parent.mkdir(parents=True, exist_ok=True)
    runs.write_json(summary_file, summary)
    return summary


def _earlier(row: Row, out: Path) -> dict:
    """A row not selected this time: its summary from an earlier run into ``out``, if any."""
    summary_file = out / "rows" / f"{row.id}.json"
    if summary_file.exists():
        return json.loads(summary_file.read_text())
    return {"row": asdict(row), "status": "not run", "reason": "not selected (--only)"}


def _cell(stats: dict) -> str:
    if not stats or stats.get("mean") is None:
        return "-"
    if stats["n"] > 1:
        return f"{stats['mean']:.4f} ± {stats['std']:.4f}"
    return f"{stats['mean']:.4f}"


def report_markdown(suite: str, rows: list[dict], command: str) -> str:
    lines = [f"# tfrec reproduce: suite {suite}", "", f"Made with `{command}`.", "",
             "Metrics are means ± standard deviations over the seeds, after the last epoch and at the epoch "
             "the run chose (best.keras, by the rule in the last column).", "",
             "| row | model | data | protocol | epochs x seeds | last epoch | chosen epoch | popularity | "
             "anchors | epoch chosen | s / epoch |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for summary in rows:
        row = summary["row"]
        if summary["status"] != "ran":
            lines.append(f"| {row['id']} | {row['model']} | {row['data']} | {row['protocol']} | - | {summary['status']}: "
                         f"{summary['reason']} | | | | | |")
            continue
        metrics = "; ".join(f"{m} {_cell(s)}" for m, s in summary["test"].items())
        chosen = "; ".join(f"{m} {_cell(s)}" for m, s in summary["best"].items())
        popularity = "; ".join(f"{m} {_cell(s)}" for m, s in summary["popularity"].items())
        anchors = "; ".join(Anchor(**a).describe() for a in summary["anchors"]) or "-"
        seconds = "-" if summary["seconds_per_epoch"] is None else f"{summary['seconds_per_epoch']:.1f}"
        lines.append(f"| {row['id']} | {row['model']} | {row['data']} | {row['protocol']} | {row['epochs']} x "
                     f"{len(row['seeds'])} | {metrics} | {chosen} | {popularity} | {anchors} | {summary['epoch_chosen']} | {seconds} |")
    return "\n".join(lines) + "\n"


def reproduce(suite: str = "quick", out: str | Path = "reproduce", *, only=None, data_root=None, device: str = "auto",
              command: str = "tfrec reproduce") -> dict:
    """Run a suite (or the rows of the models in ``only``) into ``out``; the report as a dict.

    The report lists every row of the suite: ``ran`` (this time or in an earlier run into
    ``out``), ``skipped`` (its data is not there, with the reason) or ``not run`` (not selected
    by ``only`` and never run into ``out``).

    Raises:
        UserError: an unknown suite or a model in ``only`` that no row of the suite has.
    """
    from tfrec import runs

    if suite not in SUITES:
        raise UserError(f"unknown suite {suite!r}; the suites are {', '.join(SUITES)}")
    rows = SUITES[suite]
    if only:
        models = {r.model for r in rows}
        unknown = sorted(set(only) - models)
        if unknown:
            raise UserError(f"--only {unknown[0]}: no row of suite {suite!r} runs it; its models are "
                            f"{', '.join(sorted(models))}")
    selected = {r.id for r in rows if not only or r.model in set(only)}
    out = Path(out).expanduser().resolve()
    data_root = None if data_root is None else Path(data_root).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    summaries = [run_row(row, out, data_root, device) if row.id in selected else _earlier(row, out) for row in rows]
    report = {"suite": suite, "command": command, "rows": summaries}
    runs.write_json(out / "report.json", report)
    runs.atomic_write_text(out / "report.md", report_markdown(suite, summaries, command))
    return report
