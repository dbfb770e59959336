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
@click.option("--data", default=None, help="Dataset name (tfrec datasets list); default: the model's offline default, synthetic.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Load the dataset from local files instead of downloading.")
@click.option("--epochs", type=int, default=None, help="Training epochs (default: the model's).")
@click.option("--batch-size", type=int, default=None, help="Batch size (default: the model's).")
@click.option("--lr", type=float, default=None, help="Learning rate (default: the model's).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds Python, NumPy, TensorFlow and the data sampling.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, gpu or gpu:N.")
@click.option("--output", type=click.Path(path_type=Path), default=None, help="Run directory (default: runs/MODEL-DATA-TIME).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a hyperparameter (repeatable); see tfrec models show MODEL.")
@click.option("--eval-every", type=int, default=None, help="Evaluate every N epochs.")
@click.option("--patience", type=int, default=None, help="Early stopping after N evaluations without improvement.")
@click.option("--tensorboard", type=click.Path(path_type=Path), default=None, help="Write TensorBoard logs to this folder.")
@click.option("--pretrained-gmf", type=click.Path(path_type=Path), default=None, help="NeuMF: initialise from this GMF run.")
@click.option("--pretrained-mlp", type=click.Path(path_type=Path), default=None, help="NeuMF: initialise from this MLP run.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--jit/--no-jit", "jit", default=None, help="Compile the training step with XLA (default: the model's setting; tfrec models show MODEL).")
@click.option("--resume", type=click.Path(path_type=Path), default=None, help="Continue this run directory from its last completed epoch (its own settings; --epochs may raise the total).")
@click.option(
    "--precision", type=click.Choice(["float32", "mixed_float16", "mixed_bfloat16"]), default=None,
    help="Keras dtype policy: float32 (default; the references' math), or mixed_bfloat16 / mixed_float16: layers "
    "compute in 16 bits, variables, losses and scores stay float32 (mixed_float16 adds loss scaling). "
    "--resume keeps the run's own.",
)
@click.option(
    "--strategy", type=click.Choice(["default", "mirrored", "multiworker"]), default="default", show_default=True,
    help="tf.distribute strategy: default (one device), mirrored (every local GPU, each batch split across them) or "
    "multiworker (the machines in TF_CONFIG; run the same command on each; only the chief, worker 0, writes the run). "
    "Not for mbgmn or cotrec.",
)
def train(model_name, data, data_dir, epochs, batch_size, lr, seed, device, output, sets, eval_every, patience, tensorboard, pretrained_gmf, pretrained_mlp, quiet, jit, resume, precision, strategy):
    """Train a model, evaluate it every epoch and save the run."""
    if resume is not None:
        from tfrec.training import train as train_api

        if precision is not None:
            raise UserError("--precision cannot change on --resume: the run keeps the precision in its config.json")
        result = train_api(resume=resume, epochs=epochs, device=device, tensorboard=tensorboard, verbose=0 if quiet else 1, strategy=strategy)
        click.echo(json.dumps({"run_dir": str(resume), "test": result.metrics["test"]}))
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

    from tfrec.training import train as train_api

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
        params=params,
        eval_every=eval_every,
        patience=patience,
        tensorboard=tensorboard,
        pretrained=pretrained,
        jit_compile=jit,
        verbose=0 if quiet else 1,
        precision=precision or "float32",
        strategy=strategy,
    )
    click.echo(json.dumps({"run_dir": str(output), "test": result.metrics["test"]}))


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--checkpoint", type=click.Choice(["model", "best"]), default="model", show_default=True)
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help="Read the run's dataset from here.")
@click.option("--device", default="auto", show_default=True)
def evaluate(run_dir, checkpoint, data_dir, device):
    """Re-evaluate a saved run on its test protocol; prints JSON."""
    from tfrec.training import evaluate_run

    click.echo(json.dumps(evaluate_run(run_dir, checkpoint=checkpoint, data_dir=data_dir, device=device)))


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--checkpoint", type=click.Choice(["model", "best"]), default="model", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace OUT_DIR if it exists.")
def export(run_dir, out_dir, checkpoint, overwrite):
    """Export a run's model as a SavedModel with score / recommend signatures."""
    from tfrec.export import export_saved_model
    from tfrec.runs import load_run_config, load_run_model

    config = load_run_config(run_dir)
    model = load_run_model(run_dir, checkpoint)
    export_saved_model(
        model, out_dir, overwrite=overwrite, metadata={"run_dir": str(run_dir), "data": config.get("data"), "tfrec_model": config.get("model")}
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


# --------------------------------------------------------------------------------------------
@main.group()
def models():
    """List registered models and their defaults."""


@models.command("list")
def models_list():
    from tfrec.registry import list_models

    for spec in list_models():
        click.echo(f"{spec.name:<10} {spec.task:<15} {spec.description}\n{'':<27}reference: {spec.reference}")


@models.command("show")
@click.argument("name")
def models_show(name):
    from tfrec.registry import get_model_spec

    spec = get_model_spec(name)
    click.echo(f"{spec.name}: {spec.description}\nclass: {spec.builder}\ntask: {spec.task}\nreference: {spec.reference}\n")
    for title, group in (("model hyperparameters", spec.model_defaults), ("training settings", spec.train_defaults)):
        click.echo(f"{title}:")
        for key, value in group.items():
            source = spec.sources.get(key, "")
            click.echo(f"  {key:<20} {json.dumps(value):<18} {source}")
    for data_name, overrides in spec.dataset_defaults.items():
        click.echo(f"defaults for --data {data_name}: {json.dumps(overrides)}")


# --------------------------------------------------------------------------------------------
@main.group()
def datasets():
    """List, describe and download datasets."""


@datasets.command("list")
def datasets_list():
    from tfrec.data.registry import list_datasets

    specs = list_datasets()
    width = max(len(spec.name) for spec in specs)
    for spec in specs:
        click.echo(f"{spec.name:<{width}} {spec.task:<15} {spec.description}")


@datasets.command("info")
@click.argument("name")
def datasets_info(name):
    from tfrec.data.registry import get_dataset

    spec = get_dataset(name)
    click.echo(f"{spec.name}: {spec.description}\ntask: {spec.task}\nhomepage: {spec.homepage}")
    if spec.notes:
        click.echo(f"notes: {spec.notes}")
    for remote in spec.files:
        size = f"{remote.size:,} bytes" if remote.size else "size unknown"
        member = f" (member {remote.member})" if remote.member else ""
        click.echo(f"  {remote.name}: {remote.url}{member}, {size}, git-blob sha1 {remote.sha1 or 'unknown'}")


@datasets.command("download")
@click.argument("name")
def datasets_download(name):
    from tfrec.data.download import ensure_files
    from tfrec.data.registry import get_dataset

    path = ensure_files(get_dataset(name), None, progress=True)
    click.echo(f"{name}: files in {path}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
