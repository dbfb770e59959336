"""The ``tfrec`` command line: a thin click layer over the Python API.

```
tfrec train --model neumf [--data synthetic] [--epochs N] [--set key=value ...] [--output RUN]
            [--precision float32|mixed_bfloat16|mixed_float16] [--strategy default|mirrored|multiworker]
tfrec evaluate RUN
tfrec export RUN OUT
tfrec compare RUN [RUN ...]
tfrec plot RUN [RUN ...] --out FILE.png [--metric NAME ...]
tfrec models list | models show NAME
tfrec datasets list | datasets info NAME | datasets download NAME
```

A mistake the user can fix (:class:`tfrec.errors.UserError`) prints one line, ``error: ...``,
and exits with code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from tfrec.errors import UserError
from tfrec.runs import dumps


class _Group(click.Group):
    """A click group that turns UserError into one line on stderr and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as error:
            click.echo(f"error: {one_line(error)}", err=True)
            ctx.exit(2)


def one_line(error: Exception) -> str:
    """The error's message on one line (messages may quote a library's multi-line error)."""
    return " ".join(line.strip() for line in str(error).strip().splitlines() if line.strip())


def _parse_sets(values: tuple[str, ...]) -> dict:
    from tfrec.registry import parse_value

    params = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects key=value; got {item!r}")
        params[key.strip()] = parse_value(value.strip())
    return params


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tfrec")
def main():
    """tfrec: recommender models on TensorFlow / Keras 3 (train, evaluate, export)."""


# --------------------------------------------------------------------------------------------
@main.command()
@click.option("--model", "model_name", default="neumf", show_default=True, help="Model name (tfrec models list).")
@click.option(
    "--data", default=None,
    help="Dataset name (tfrec datasets list). Default: the model's offline synthetic data. Your own data: "
    "ratings, interactions, sequences, ctr or sessions with --data-dir FILE.",
)
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None,
    help="A folder with the dataset's files (instead of the download cache), or for your own data the file itself.",
)
@click.option("--epochs", type=int, default=None, help="Training epochs. Default: the model's (tfrec models show MODEL).")
@click.option("--batch-size", type=int, default=None, help="Batch size. Default: the model's.")
@click.option("--lr", type=float, default=None, help="Learning rate. Default: the model's.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds Python, NumPy, TensorFlow, the data split and the sampling.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, gpu or gpu:N.")
@click.option(
    "--output", type=click.Path(path_type=Path), default=None,
    help="Run directory, new or empty. Default: runs/MODEL-DATA-TIME. An existing run is refused unless --overwrite.",
)
@click.option("--overwrite", is_flag=True, help="Replace the run already in --output.")
@click.option(
    "--set", "sets", multiple=True, metavar="KEY=VALUE",
    help="Override a hyperparameter, training setting or loader option (repeatable); see tfrec models show MODEL "
    "and tfrec datasets info DATA.",
)
@click.option(
    "--preset", default=None,
    help="A named set of the model's values other than its reference's defaults, e.g. cotrec's readme (tfrec models "
    "show MODEL lists them); --set overrides it. Default: none.",
)
@click.option("--eval-every", type=int, default=None, help="Evaluate every N epochs. Default: the model's (1 for most).")
@click.option(
    "--patience", type=int, default=None,
    help="Stop after N evaluations without improvement of the selection metric (validation when the data has a "
    "validation split, else test; see the run's metrics.json 'best') and keep the best weights. Default: off.",
)
@click.option("--tensorboard", type=click.Path(path_type=Path), default=None, help="Write TensorBoard logs to this folder. Default: none.")
@click.option("--pretrained-gmf", type=click.Path(path_type=Path), default=None, help="NeuMF: initialise from this GMF run. Default: none.")
@click.option("--pretrained-mlp", type=click.Path(path_type=Path), default=None, help="NeuMF: initialise from this MLP run. Default: none.")
@click.option("--quiet", is_flag=True, help="No progress bar or per-epoch lines.")
@click.option("--jit/--no-jit", "jit", default=None, help="Compile the training step with XLA. Default: the model's setting (tfrec models show MODEL).")
@click.option(
    "--resume", type=click.Path(path_type=Path), default=None,
    help="Continue this run directory from its last completed epoch with its own settings (only --epochs, --device, "
    "--tensorboard, --strategy and --quiet may be given with it).",
)
@click.option(
    "--precision", type=click.Choice(["float32", "mixed_float16", "mixed_bfloat16"]), default=None,
    help="Keras dtype policy: float32 (default; the references' math), or mixed_bfloat16 / mixed_float16: layers "
    "compute in 16 bits, variables, losses and scores stay float32 (mixed_float16 adds loss scaling).",
)
@click.option(
    "--strategy", type=click.Choice(["default", "mirrored", "multiworker"]), default="default", show_default=True,
    help="tf.distribute strategy: default (one device), mirrored (every local GPU, each batch split across them) or "
    "multiworker (the machines in TF_CONFIG; run the same command on each; only the chief, worker 0, writes the run). "
    "Not for mbgmn or cotrec.",
)
@click.pass_context
def train(ctx, model_name, data, data_dir, epochs, batch_size, lr, seed, device, output, overwrite, sets, preset, eval_every, patience, tensorboard, pretrained_gmf, pretrained_mlp, quiet, jit, resume, precision, strategy):
    """Train a model, evaluate it every epoch and save the run.

    Prints a data summary, one line per epoch and finally one JSON line with the run directory
    and the test metrics. The run directory holds config.json, model.keras, best.keras,
    history.csv, metrics.json, state.npz and catalogue.npz (your ids).
    """
    from tfrec.training import check_resume_conflicts, train as train_api

    if resume is not None:
        api_names = {"model_name": "model", "sets": "params", "pretrained_gmf": "pretrained",
                     "pretrained_mlp": "pretrained", "jit": "jit_compile"}
        check_resume_conflicts(**{  # the options typed, by their train() names: one rule for both
            api_names.get(name, name): value for name, value in ctx.params.items()
            if name not in ("epochs", "device", "tensorboard", "quiet", "strategy", "resume")
            and ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
        })
        result = train_api(resume=resume, epochs=epochs, device=device, tensorboard=tensorboard, verbose=0 if quiet else 1, strategy=strategy)
        click.echo(dumps({"run_dir": str(resume), "test": result.metrics["test"]}))
        return
    from tfrec.registry import get_model_spec

    spec = get_model_spec(model_name)  # validate names before the slow TensorFlow import
    params = _parse_sets(sets)
    from tfrec.data.registry import get_dataset

    data_name = spec.dataset_name(data)
    get_dataset(data_name)
    if output is None:
        output = Path("runs") / f"{spec.name}-{data_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    pretrained = None
    if pretrained_gmf or pretrained_mlp:
        pretrained = {"gmf": pretrained_gmf, "mlp": pretrained_mlp}

    result = train_api(
        spec.name,
        data_name,
        data_dir,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device=device,
        output=output,
        overwrite=overwrite,
        params=params,
        preset=preset,
        eval_every=eval_every,
        patience=patience,
        tensorboard=tensorboard,
        pretrained=pretrained,
        jit_compile=jit,
        verbose=0 if quiet else 1,
        precision=precision or "float32",
        strategy=strategy,
    )
    click.echo(dumps({"run_dir": str(output), "test": result.metrics["test"]}))


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--checkpoint", type=click.Choice(["model", "best"]), default="model", show_default=True, help="model: the last epoch; best: best.keras.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Read the run's dataset from here (a folder or file). Default: where the run read it.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, gpu or gpu:N.")
def evaluate(run_dir, checkpoint, data_dir, device):
    """Re-evaluate a saved run on its test split; prints one JSON line.

    The run's data is reloaded exactly as recorded in its config.json (name, location, loader
    options, seed); a run whose data cannot be reloaded, or whose data file has changed, is
    refused.
    """
    from tfrec.training import evaluate_run

    click.echo(dumps(evaluate_run(run_dir, checkpoint=checkpoint, data_dir=data_dir, device=device)))


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--checkpoint", type=click.Choice(["model", "best"]), default="model", show_default=True, help="model: the last epoch; best: best.keras.")
@click.option("--overwrite", is_flag=True, help="Replace OUT_DIR if it exists.")
@click.option("--include-seen", is_flag=True, help="recommend may return a user's training items. Default: they are excluded.")
def export(run_dir, out_dir, checkpoint, overwrite, include_seen):
    """Export a run's model as a SavedModel that serves your own ids.

    Signatures score(...) -> {score, known} and recommend(..., k) -> {item_ids, scores, known}
    take and return the user and item ids of your data (catalogue.npz of the run); unknown ids
    give known = false. The SavedModel needs only TensorFlow to serve.
    """
    from tfrec.data.catalogue import Catalogue
    from tfrec.export import export_saved_model
    from tfrec.runs import CATALOGUE, load_run_config, load_run_model

    config = load_run_config(run_dir)
    catalogue = Catalogue.load(Path(run_dir) / CATALOGUE) if (Path(run_dir) / CATALOGUE).exists() else None
    model = load_run_model(run_dir, checkpoint)
    export_saved_model(
        model, out_dir, overwrite=overwrite, catalogue=catalogue, include_seen=include_seen,
        metadata={"run_dir": str(run_dir), "data": config.get("data"), "tfrec_model": config.get("model")},
    )
    click.echo(f"exported {run_dir} ({checkpoint}) to {out_dir}")


@main.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
def compare(run_dirs):
    """Print a table of runs' final test metrics and timings (from metrics.json / config.json)."""
    from tfrec.reports import compare_runs

    click.echo(compare_runs(run_dirs))


@main.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The PNG file to write.")
@click.option("--metric", "metrics", multiple=True, help="Chart only this history.csv column (repeatable); default: loss and every metric.")
def plot(run_dirs, out, metrics):
    """Write PNG charts of loss and metrics per epoch (history.csv), one line per run."""
    from tfrec.reports import plot_runs

    click.echo(f"wrote {plot_runs(run_dirs, out, metrics or None)}")


@main.command()
@click.option("--suite", type=click.Choice(["quick", "full"]), default="quick", show_default=True,
              help="quick: every model on its offline data in minutes; full: the real datasets at the references' settings.")
@click.option("--only", "only", multiple=True, help="Run only the rows of this model, or this row id (repeatable).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for runs/, rows/, curves/, report.md, report.json.")
@click.option("--data-root", type=click.Path(path_type=Path), default=None,
              help="Folder holding the real datasets' folders, laid out as ../shared/data (full suite).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, gpu or gpu:N.")
@click.option("--report-only", is_flag=True, help="Run nothing: rewrite the reports from the rows already in OUT.")
@click.option("--readme", type=click.Path(path_type=Path), default=None,
              help="Also write the results table into this file, between its '<!-- tfrec reproduce: begin/end -->' lines.")
def reproduce(suite, only, out, data_root, device, report_only, readme):
    """Re-run a declared suite of results and write OUT/report.md and report.json (resumes after an interruption)."""
    import shlex

    from tfrec.reproduce import reproduce as run_suite

    words = ["tfrec", "reproduce", "--suite", suite, *(w for name in only for w in ("--only", name)),
             "--out", str(out)]
    words += ["--data-root", str(data_root)] if data_root is not None else []
    words += ["--device", device] if device != "auto" else []
    words += ["--report-only"] if report_only else []
    words += ["--readme", str(readme)] if readme is not None else []
    command = " ".join(shlex.quote(w) for w in words)  # as typed, without the shell's or a test runner's argv
    report = run_suite(suite, out, only=list(only), data_root=data_root, device=device, command=command,
                       report_only=report_only, readme=readme)
    counts = {status: sum(r["status"] == status for r in report["rows"]) for status in ("ran", "skipped", "not run")}
    click.echo(", ".join(f"{n} rows {status}" for status, n in counts.items()) + f"; wrote {Path(out) / 'report.md'}")


# --------------------------------------------------------------------------------------------
@main.group()
def models():
    """List registered models and their defaults."""


@models.command("list")
def models_list():
    """One line per model: name, task, description and the reference it ports."""
    from tfrec.registry import list_models

    for spec in list_models():
        click.echo(f"{spec.name:<10} {spec.task:<15} {spec.description}\n{'':<27}reference: {spec.reference}")


@models.command("show")
@click.argument("name")
def models_show(name):
    """Every default of model NAME, and where each comes from."""
    from tfrec.registry import get_model_spec

    spec = get_model_spec(name)
    click.echo(f"{spec.name}: {spec.description}\nclass: {spec.builder}\ntask: {spec.task}\nreference: {spec.reference}\n")
    for title, group in (("model hyperparameters", spec.model_defaults), ("training settings", spec.train_defaults)):
        click.echo(f"{title}:")
        for key, value in group.items():
            source = spec.sources.get(key, "")
            click.echo(f"  {key:<20} {json.dumps(value):<18} {source}")
    from tfrec.data.registry import loader_defaults

    options = {key: value for key, value in loader_defaults(spec.default_data).items() if key in spec.sources}
    if options:  # the loader holds these values; the registry only where they come from
        click.echo(f"loader options of --data {spec.default_data} (tfrec datasets info DATA lists each dataset's):")
        for key, value in options.items():
            click.echo(f"  {key:<20} {json.dumps(value):<18} {spec.sources[key]}")
    for data_name, overrides in spec.dataset_defaults.items():
        click.echo(f"defaults for --data {data_name}: {json.dumps(overrides)}")
    for name, preset in spec.presets.items():
        click.echo(f"preset {name} (--preset {name}): {preset.description}\n  source: {preset.source}")
        for data_name, values in preset.values.items():
            click.echo(f"  --data {data_name}: {json.dumps(values)}")


# --------------------------------------------------------------------------------------------
@main.group()
def datasets():
    """List, describe and download datasets."""


@datasets.command("list")
def datasets_list():
    """One line per dataset: name, task and description."""
    from tfrec.data.registry import list_datasets

    specs = list_datasets()
    width = max(len(spec.name) for spec in specs)
    for spec in specs:
        click.echo(f"{spec.name:<{width}} {spec.task:<15} {spec.description}")


@datasets.command("info")
@click.argument("name")
def datasets_info(name):
    """Files, checksums, notes and loader options (--set KEY=VALUE) of dataset NAME."""
    from tfrec.data.registry import get_dataset

    spec = get_dataset(name)
    click.echo(f"{spec.name}: {spec.description}\ntask: {spec.task}\nhomepage: {spec.homepage}")
    if spec.notes:
        click.echo(f"notes: {spec.notes}")
    from tfrec.data.registry import loader_defaults

    defaults = loader_defaults(name)
    if defaults:
        click.echo("loader options (--set KEY=VALUE):")
        for key, value in defaults.items():
            click.echo(f"  {key:<20} {json.dumps(value, default=str)}")
    for remote in spec.files:
        size = f"{remote.size:,} bytes" if remote.size else "size unknown"
        member = f" (member {remote.member})" if remote.member else ""
        click.echo(f"  {remote.name}: {remote.url}{member}, {size}, git-blob sha1 {remote.sha1 or 'unknown'}")


@datasets.command("download")
@click.argument("name")
def datasets_download(name):
    """Download and verify dataset NAME's files into the cache ($TFREC_HOME, default ~/.cache/tfrec)."""
    from tfrec.data.download import ensure_files
    from tfrec.data.registry import get_dataset

    path = ensure_files(get_dataset(name), None, progress=True)
    click.echo(f"{name}: files in {path}")


@datasets.command("generate")
@click.argument("kind", type=click.Choice(["criteo"]))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rows", type=click.IntRange(min=1), required=True, help="Rows to write.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every draw.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def datasets_generate(kind, out, rows, seed, overwrite):
    """Write a synthetic click log of KIND's shape to OUT (``.gz``: gzipped): Criteo's format,
    field cardinalities, skew and missing fields, with a planted click signal."""
    from tfrec.data.synthetic import write_criteo_like

    path = write_criteo_like(out, rows, seed=seed, overwrite=overwrite)
    click.echo(f"{kind}: {rows:,} rows in {path}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
