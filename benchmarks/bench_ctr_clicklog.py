"""CTR models streamed from shards of Criteo-shaped click logs (1M, 10M rows), beside DeepCTR.

Preprocessing, training and evaluation rows per second and peak RSS, and per-epoch time and AUC
beside DeepCTR's DeepFM, DCN, xDeepFM and AutoInt on the same file. One JSON line per case (strict
JSON: no NaN).

    python benchmarks/bench_ctr_clicklog.py                                   # 1M and 10M rows, every model, DeepCTR on 1M
    python benchmarks/bench_ctr_clicklog.py --rows 1000000 --models deepfm,dcn --no-deepctr
    python benchmarks/bench_ctr_clicklog.py --rows 50000 --deepctr-rows 50000 --models deepfm --numeric-transform bucket
    python benchmarks/bench_ctr_clicklog.py --rows 10000000 --max-rss-gb 8 --workdir /data/clicklog

For each ``--rows`` size, in ``--workdir`` (default ``benchmarks/.clicklog``: the repository's
``.gitignore`` does not cover a folder under ``benchmarks/``):

1. ``"stage": "generate"`` -- ``tfrec.data.synthetic.write_criteo_like`` writes ``criteo-<rows>.txt``
   once (what ``tfrec datasets generate criteo OUT --rows N`` does); a sidecar ``criteo-<rows>.json``
   records its rows, seed and size, and a later run with the same rows reuses the file
   (``"reused": true``, the generation seconds of the run that wrote it).
2. ``"stage": "preprocess"`` -- ``load_criteo`` (``min_count=10``, ``--numeric-transform``, 8:1:1
   seeded split, 8 shards) into a fresh ``shards-<rows>-<transform>`` folder (``--reuse-shards``
   keeps a complete one: ``"reused": true``, and its seconds are a reload's): seconds, rows per
   second over the whole file, peak RSS; the text file's bytes and the encoded data's bytes in
   memory (``rows x record_words x 4``: label, 26 ids and 13 numbers as 4-byte words), so the
   peak RSS of every stage can be held against the size of the data.
3. ``"stage": "train", "framework": "tfrec"`` -- per model, ``tfrec.train(model, data="criteo",
   data_dir=FILE, params={"numeric_transform": T, "shards_dir": SHARDS}, epochs=1,
   batch_size=4096, device="cpu")``, streaming from the shards of stage 2 (reused, not rebuilt:
   ``"shards_reused"``): training rows per second (train rows / epoch seconds), evaluation rows
   per second (validation + test rows / ``eval_seconds``: the end-of-epoch evaluation scores both
   splits), test AUC and LogLoss, peak RSS, and the RSS of the bare process after importing
   TensorFlow and tfrec (``rss_after_import_mb``: what any TensorFlow process holds before data;
   ``rss_above_import_mb`` = peak - that: the data pipeline, the model and its optimizer state).
4. On the ``--deepctr-rows`` sizes (default 1M only: DeepCTR fits NumPy arrays held in memory):
   ``"stage": "train", "framework": "deepctr"`` per model and then ``"stage": "compare"``, one line
   per model with both frameworks' epoch seconds, rows per second, AUC, LogLoss and peak RSS side
   by side and ``tfrec_speedup`` = DeepCTR epoch seconds / tfrec epoch seconds (> 1: tfrec faster;
   means over the epochs; with ``--epochs 2`` or more also ``tfrec_speedup_last_epoch``, the last,
   warm epochs' ratio, since a first epoch includes tracing and XLA compilation).

Every stage runs in its own child process, so each peak RSS (``ru_maxrss`` read in the child) is that
stage's alone; the parent watches the child's resident memory and stops it above ``--max-rss-gb``
(``"status": "over memory"``) or after ``--timeout`` seconds.

DeepCTR (``deepctr==0.9.4`` with ``tf_keras==2.21.0``, ``TF_USE_LEGACY_KERAS=1``) is installed by this
script only, never by the test suite: into ``<workdir>/venv-deepctr``, a ``--system-site-packages``
venv (so it runs on this TensorFlow 2.21), created once. Its child imports only
``tfrec.data.clicklog`` from tfrec (NumPy and pandas; it checks that no TensorFlow or Keras module was
loaded by it) to read the shards.

What is the same on both sides: the same file, the same preprocessed split and values (DeepCTR's
arrays are ``ClickShards.arrays("train")`` / ``("test")`` of the shards tfrec trained on: the same ids,
``min_count`` 10, the same log-transformed numbers), the same batch size and epochs, the same test
rows for AUC / LogLoss (exact rank AUC; LogLoss clipped at 1e-7 on both), and, where DeepCTR has the
knob, tfrec's registry defaults (``tfrec models show NAME``): embedding 8 per field, DNN 128-64 ReLU,
L2 1e-4 on the embedding tables, Adam (lr 1e-3; AutoInt 2e-4; epsilon 1e-7); DCN 2 cross layers
(vector), no linear term, no L2 on the cross layers; xDeepFM CIN 32-32 ReLU without split-half,
linear term without L2; AutoInt 2 interacting layers of 2 heads x 8 with residual, no DNN; DeepFM's
first-order term with L2 1e-4 (tfrec's ``fm_l2``); no dropout, no batch normalisation.

What differs: DeepCTR fits the whole training split as NumPy arrays in memory (Keras shuffles all rows
each epoch) and predicts the test arrays; tfrec streams both from the binary shards through
``tf.data`` (a windowed shuffle buffer), runs 64 steps per ``tf.function`` call with XLA
(``steps_per_execution``, ``jit_compile``: tfrec's defaults) and scores validation and test at the end
of the epoch. The first epoch of each includes tracing / compilation. The models agree only as far
as DeepCTR allows: DeepFM (tfrec's default ``fm_input="flat"`` FM over the flattened embeddings vs
DeepCTR's field-wise FM over ids and embeddings), DCN (DeepCTR's cross layer always adds the
residual ``+ x_l``; tfrec's default has none), xDeepFM (tfrec's CIN also pools ``X^0`` and takes
numeric fields as rows; DeepCTR's CIN takes the categorical embeddings only), AutoInt (tfrec's numeric
fields are attention tokens; DeepCTR's attention takes the categorical embeddings only, so the
numbers enter through a linear term over the dense features); initialisers differ (DeepCTR:
N(0, 1e-4) embeddings). Both run on the CPU with TensorFlow's default thread pools (``--device``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("deepfm", "dcn", "xdeepfm", "autoint")
DEEPCTR_PINS = ("deepctr==0.9.4", "tf_keras==2.21.0")
EVAL_BATCH = 16384  # tfrec's CTRTask.eval_batch_size, used for DeepCTR's predict too


def strict(value):
    """``value`` with every non-finite float as ``None`` (so ``json.dumps`` writes strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    return value


def emit(record: dict) -> dict:
    print(json.dumps(strict({"benchmark": "ctr_clicklog", **record}), allow_nan=False), flush=True)
    return record


# ---------------------------------------------------------------------------------------------
# Child processes (each prints one JSON line last; peak RSS from its own ru_maxrss)
# ---------------------------------------------------------------------------------------------
PRELUDE = r"""
import json, math, os, resource, sys, time
from pathlib import Path
args = json.loads(sys.argv[1])
rss_mb = lambda: round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
def done(record):
    fix = lambda v: (v if math.isfinite(v) else None) if isinstance(v, float) else (
        {k: fix(x) for k, x in v.items()} if isinstance(v, dict) else [fix(x) for x in v] if isinstance(v, list) else v)
    print(json.dumps(fix({**record, "peak_rss_mb": rss_mb()}), allow_nan=False), flush=True)
"""

GENERATE = PRELUDE + r"""
from tfrec.data.synthetic import write_criteo_like
start = time.perf_counter()
write_criteo_like(args["path"], args["rows"], seed=args["seed"], overwrite=True)
done({"generate_seconds": round(time.perf_counter() - start, 2), "file_bytes": Path(args["path"]).stat().st_size})
"""

PREPROCESS = PRELUDE + r"""
from tfrec.data.clicklog import load_criteo
start = time.perf_counter()
data = load_criteo(Path(args["path"]), seed=args["seed"], numeric_transform=args["numeric_transform"],
                   shards_dir=args["shards"])
seconds = time.perf_counter() - start
shards = data.shards
done({"seconds": round(seconds, 2), "rows": int(shards.layout["rows"]),
      "split_rows": {s: shards.rows(s) for s in ("train", "validation", "test")},
      "record_words": shards.record_words, "fields": len(data.fields),
      "numeric_fields": sum(1 for f in data.fields if f.numeric),
      "vocabulary_total": int(sum(f.vocab_size for f in data.fields if not f.numeric)),
      "tensorflow_imported": "tensorflow" in sys.modules})
"""

TRAIN = PRELUDE + r"""
from tfrec.data.clicklog import ClickShards
layout = Path(args["shards"]) / "layout.json"
before = layout.stat().st_mtime_ns
import tensorflow as tf
import tfrec, tfrec.training
after_import = rss_mb()
result = tfrec.train(model=args["model"], data="criteo", data_dir=args["path"],
                     params={"numeric_transform": args["numeric_transform"], "shards_dir": args["shards"]},
                     epochs=args["epochs"], batch_size=args["batch_size"], seed=args["seed"], device=args["device"],
                     verbose=0)
shards = ClickShards.open(args["shards"])
m = result.metrics
train_rows, eval_rows = shards.rows("train"), shards.rows("validation") + shards.rows("test")
epoch = sum(m["epoch_seconds"]) / len(m["epoch_seconds"])
done({"epoch_seconds": [round(s, 2) for s in m["epoch_seconds"]], "steps_per_epoch": int(m["steps_per_epoch"]),
      "train_rows": train_rows, "train_rows_per_second": round(train_rows / epoch, 1),
      "eval_rows": eval_rows, "eval_seconds": round(m["eval_seconds"], 2),
      "eval_rows_per_second": round(eval_rows / m["eval_seconds"], 1),
      "AUC": round(m["test"]["AUC"], 4), "LogLoss": round(m["test"]["LogLoss"], 4),
      "popularity_AUC": round(m["baseline_popularity"]["AUC"], 4),
      "popularity_LogLoss": round(m["baseline_popularity"]["LogLoss"], 4),
      "lr": result.config["training"]["lr"], "jit_compile": result.config.get("jit_compile"),
      "steps_per_execution": result.config.get("steps_per_execution"),
      "shards_reused": layout.stat().st_mtime_ns == before, "rss_after_import_mb": after_import})
"""

DEEPCTR = PRELUDE + r"""
import numpy as np
from tfrec.data.clicklog import PREPROCESSING, ClickPreprocessing, ClickShards
clash = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
assert not clash, f"importing tfrec.data.clicklog loaded {clash[:3]}"
folder = Path(args["shards"])
shards = ClickShards.open(folder)
fields = ClickPreprocessing.load(folder / PREPROCESSING).fields()
assert not any(f.multi_hot for f in fields)
start = time.perf_counter()
x_train, y_train = shards.arrays("train")
x_test, y_test = shards.arrays("test")
load_seconds, after_arrays = time.perf_counter() - start, rss_mb()
array_bytes = sum(v.nbytes for v in (*x_train.values(), *x_test.values(), y_train, y_test))

import tensorflow as tf
assert tf.keras.__name__.startswith("tf_keras"), f"tf.keras is {tf.keras.__name__}; set TF_USE_LEGACY_KERAS=1"
import deepctr
from deepctr.feature_column import DenseFeat, SparseFeat
from deepctr.models import DCN, AutoInt, DeepFM, xDeepFM

tf.keras.utils.set_random_seed(args["seed"])
hp, name, seed = args["hyperparameters"], args["model"], args["seed"]
dim = hp["embedding_dim"]
dense = [DenseFeat(f.name, 1) for f in fields if f.numeric]
sparse = [SparseFeat(f.name, vocabulary_size=f.vocab_size, embedding_dim=dim) for f in fields if not f.numeric]
columns = dense + sparse
common = dict(l2_reg_embedding=hp["l2"], l2_reg_dnn=0, seed=seed, task="binary")
if name == "deepfm":
    model = DeepFM(columns, columns, dnn_hidden_units=tuple(hp["hidden_units"]), l2_reg_linear=hp["fm_l2"], **common)
elif name == "dcn":
    model = DCN([], columns, cross_num=hp["num_cross_layers"], cross_parameterization="vector",
                dnn_hidden_units=tuple(hp["hidden_units"]), l2_reg_linear=0, l2_reg_cross=0, **common)
elif name == "xdeepfm":
    model = xDeepFM(columns, columns, dnn_hidden_units=tuple(hp["hidden_units"]), cin_layer_size=tuple(hp["cin_layers"]),
                    cin_split_half=False, cin_activation=hp["activation"], dnn_activation=hp["activation"],
                    l2_reg_linear=0, l2_reg_cin=0, **common)
elif name == "autoint":
    dims, heads = set(hp["attention_dims"]), set(hp["attention_heads"])
    assert len(dims) == len(heads) == 1, "DeepCTR's AutoInt has one size and head count for every layer"
    model = AutoInt(dense, columns, att_layer_num=len(hp["attention_dims"]), att_embedding_size=dims.pop(),
                    att_head_num=heads.pop(), att_res=hp["residual"], dnn_hidden_units=(), l2_reg_linear=0, **common)
else:
    raise SystemExit(f"no DeepCTR counterpart for {name!r}")
model.compile(tf.keras.optimizers.Adam(learning_rate=args["lr"], epsilon=args["adam_epsilon"]), "binary_crossentropy")

class EpochTimer(tf.keras.callbacks.Callback):
    seconds = []
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)

names = [f.name for f in fields]
timer = EpochTimer()
start = time.perf_counter()
history = model.fit({n: x_train[n] for n in names}, y_train, batch_size=args["batch_size"], epochs=args["epochs"],
                    shuffle=True, verbose=0, callbacks=[timer])
fit_seconds = time.perf_counter() - start
start = time.perf_counter()
p = model.predict({n: x_test[n] for n in names}, batch_size=args["eval_batch_size"], verbose=0)
p = np.asarray(p, np.float64).reshape(-1)
eval_seconds = time.perf_counter() - start

y = y_test.astype(np.float64)
try:
    from sklearn.metrics import roc_auc_score
    auc, auc_by = float(roc_auc_score(y, p)), "sklearn"
except ImportError:  # exact rank AUC (Mann-Whitney U, ties as one half), as tfrec.evaluation.auc
    values, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    positives = y.sum(); negatives = len(y) - positives
    u = ranks[y == 1].sum() - positives * (positives + 1) / 2
    auc = float(u / (positives * negatives)) if positives and negatives else float("nan")
    auc_by = "numpy rank formula"
pc = np.clip(p, 1e-7, 1 - 1e-7)
logloss = float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc)))
epoch = sum(timer.seconds) / len(timer.seconds)
done({"deepctr_version": deepctr.__version__, "tensorflow_version": tf.__version__,
      "epoch_seconds": [round(s, 2) for s in timer.seconds], "fit_seconds": round(fit_seconds, 2),
      "train_rows": int(len(y_train)), "train_rows_per_second": round(len(y_train) / epoch, 1),
      "eval_rows": int(len(y_test)), "eval_seconds": round(eval_seconds, 2),
      "eval_rows_per_second": round(len(y_test) / eval_seconds, 1), "AUC": round(auc, 4), "LogLoss": round(logloss, 4),
      "auc_by": auc_by, "loss_last": round(float(history.history["loss"][-1]), 4), "lr": args["lr"],
      "params": int(model.count_params()), "array_load_seconds": round(load_seconds, 2),
      "array_mb": round(array_bytes / 2**20, 1), "rss_after_arrays_mb": after_arrays})
"""


def run_child(script: str, args: dict, *, python: str = sys.executable, env: dict | None = None,
              max_rss_gb: float, timeout: float) -> dict:
    """Run ``script`` in a child watched for resident memory and time: its last JSON line, or a status."""
    process = subprocess.Popen([python, "-c", script, json.dumps(args)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    started, peak = time.perf_counter(), 0.0
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            peak = max(peak, int(next(l for l in status.splitlines() if l.startswith("VmRSS")).split()[1]) / 2**20)
        except (OSError, StopIteration, ValueError):
            pass
        if peak > max_rss_gb or time.perf_counter() - started > timeout:
            process.kill()
            process.communicate()
            why = "over memory" if peak > max_rss_gb else "over time"
            return {"status": why, "watched_peak_rss_gb": round(peak, 2), "limit_gb": max_rss_gb,
                    "seconds_before_stop": round(time.perf_counter() - started, 1)}
        time.sleep(0.2)
    out, err = process.communicate()
    lines = [l for l in out.strip().splitlines() if l.startswith("{")]
    if process.returncode != 0 or not lines:
        tail = [l for l in err.strip().splitlines() if l.strip()][-3:]
        return {"status": f"failed (exit {process.returncode})", "error": tail}
    return {"status": "ok", **json.loads(lines[-1]), "wall_seconds": round(time.perf_counter() - started, 1)}


def child_env(device: str, legacy_keras: bool = False) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    if legacy_keras:
        env["TF_USE_LEGACY_KERAS"] = "1"
    return env


# ---------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------
def generated_file(workdir: Path, rows: int, seed: int, watch: dict) -> tuple[Path, dict]:
    path, sidecar = workdir / f"criteo-{rows}.txt", workdir / f"criteo-{rows}.json"
    if path.is_file() and sidecar.is_file():
        recorded = json.loads(sidecar.read_text())
        if recorded.get("rows") == rows and recorded.get("seed") == seed and recorded.get("file_bytes") == path.stat().st_size:
            return path, {"status": "ok", **recorded, "reused": True}
    record = run_child(GENERATE, {"path": str(path), "rows": rows, "seed": seed}, env=child_env("cpu"), **watch)
    if record["status"] == "ok":
        sidecar.write_text(json.dumps({"rows": rows, "seed": seed, "file_bytes": record["file_bytes"],
                                       "generate_seconds": record["generate_seconds"],
                                       "peak_rss_mb": record["peak_rss_mb"]}) + "\n")
    return path, {**record, "rows": rows, "seed": seed, "reused": False}


def deepctr_python(workdir: Path) -> tuple[str | None, dict]:
    """The venv's python with DeepCTR (created and installed once), and how it was got."""
    venv = workdir / "venv-deepctr"
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import importlib.metadata as m; print(m.version('deepctr'), m.version('tf_keras'))"]
    if python.exists():
        probe = subprocess.run(check, capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.split() == [p.split("==")[1] for p in DEEPCTR_PINS]:
            return str(python), {"venv": str(venv), "installed": False, "versions": probe.stdout.split()}
    start = time.perf_counter()
    steps = [[sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
             [str(python), "-m", "pip", "install", "--quiet", *DEEPCTR_PINS]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            tail = [l for l in (done.stderr or done.stdout).strip().splitlines() if l.strip()][-3:]
            return None, {"venv": str(venv), "failed": " ".join(step[-3:]), "error": tail}
    probe = subprocess.run(check, capture_output=True, text=True)
    return str(python), {"venv": str(venv), "installed": True, "install_seconds": round(time.perf_counter() - start, 1),
                         "versions": probe.stdout.split()}


def model_settings(name: str) -> dict:
    """tfrec's registry defaults for ``name`` (model hyperparameters, lr, Adam epsilon)."""
    from tfrec.registry import get_model_spec  # no TensorFlow import

    spec = get_model_spec(name)
    return {"hyperparameters": dict(spec.model_defaults), "lr": spec.train_defaults["lr"],
            "adam_epsilon": spec.train_defaults.get("adam_epsilon", 1e-7)}


SIDE = ("epoch_seconds", "train_rows_per_second", "eval_rows_per_second", "AUC", "LogLoss", "peak_rss_mb")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ",".join(MODELS))
    parser.add_argument("--workdir", default="benchmarks/.clicklog", help="files, shards and the DeepCTR venv")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--numeric-transform", default="log", choices=("log", "none", "bucket"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="tfrec.train's device; 'cpu' also hides GPUs from DeepCTR")
    parser.add_argument("--deepctr", action=argparse.BooleanOptionalAction, default=True,
                        help="also train DeepCTR's models on the --deepctr-rows files")
    parser.add_argument("--deepctr-rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--reuse-shards", action="store_true", help="keep complete shards of an earlier run")
    parser.add_argument("--max-rss-gb", type=float, default=32.0, help="stop a child above this resident memory")
    parser.add_argument("--timeout", type=float, default=4 * 3600.0, help="stop a child after this many seconds")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"--models: no DeepCTR counterpart for {unknown[0]!r}; choose from {','.join(MODELS)}")
    workdir = Path(args.workdir).expanduser().resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TFREC_HOME", str(workdir / "home"))
    watch = {"max_rss_gb": args.max_rss_gb, "timeout": args.timeout}
    deepctr = None

    for rows in args.rows:
        path, generated = generated_file(workdir, rows, args.seed, watch)
        emit({"stage": "generate", "file": str(path), **generated})
        if generated["status"] != "ok":
            continue
        file_bytes = path.stat().st_size
        shards = workdir / f"shards-{rows}-{args.numeric_transform}"
        common = {"path": str(path), "shards": str(shards), "seed": args.seed, "numeric_transform": args.numeric_transform}
        base = {"rows": rows, "numeric_transform": args.numeric_transform, "file_bytes": file_bytes}
        reused = args.reuse_shards and (shards / "layout.json").exists()
        if not reused:
            shutil.rmtree(shards, ignore_errors=True)
        pre = run_child(PREPROCESS, common, env=child_env("cpu"), **watch)
        if pre["status"] != "ok":
            emit({"stage": "preprocess", **base, **pre})
            continue
        encoded = pre["rows"] * pre["record_words"] * 4
        memory = {"record_bytes": pre["record_words"] * 4, "encoded_bytes": encoded, "encoded_mb": round(encoded / 2**20, 1)}
        emit({"stage": "preprocess", **base, "reused": reused, **pre, **memory, "rows_per_second": round(pre["rows"] / pre["seconds"], 1),
              "peak_rss_over_encoded": round(pre["peak_rss_mb"] / memory["encoded_mb"], 3)})

        results = {}
        for model in models:
            record = run_child(TRAIN, {**common, "model": model, "epochs": args.epochs, "batch_size": args.batch_size,
                                       "device": args.device}, env=child_env(args.device), **watch)
            if record["status"] == "ok":
                record["peak_rss_over_encoded"] = round(record["peak_rss_mb"] / memory["encoded_mb"], 3)
                record["rss_above_import_mb"] = round(record["peak_rss_mb"] - record["rss_after_import_mb"], 1)
                results[model] = record
            emit({"stage": "train", "framework": "tfrec", "model": model, **base, "batch_size": args.batch_size,
                  "epochs": args.epochs, "encoded_mb": memory["encoded_mb"], **record})

        if not args.deepctr or rows not in args.deepctr_rows:
            continue
        if deepctr is None:
            deepctr = deepctr_python(workdir)
            emit({"stage": "deepctr-venv", "pins": list(DEEPCTR_PINS), **deepctr[1]})
        python = deepctr[0]
        if python is None:
            continue
        for model in models:
            settings = model_settings(model)
            record = run_child(DEEPCTR, {**common, "model": model, "epochs": args.epochs, "batch_size": args.batch_size,
                                         "eval_batch_size": EVAL_BATCH, **settings},
                               python=python, env=child_env(args.device, legacy_keras=True), **watch)
            if record["status"] == "ok":
                record["peak_rss_over_encoded"] = round(record["peak_rss_mb"] / memory["encoded_mb"], 3)
            emit({"stage": "train", "framework": "deepctr", "model": model, **base, "batch_size": args.batch_size,
                  "epochs": args.epochs, "encoded_mb": memory["encoded_mb"], **record})
            tfrec_run = results.get(model)
            if record["status"] != "ok" or tfrec_run is None:
                continue
            ours, theirs = (sum(r["epoch_seconds"]) / len(r["epoch_seconds"]) for r in (tfrec_run, record))
            emit({"stage": "compare", "model": model, "rows": rows, "batch_size": args.batch_size, "epochs": args.epochs,
                  "numeric_transform": args.numeric_transform, "train_rows": tfrec_run["train_rows"],
                  "test_rows": record["eval_rows"],
                  "tfrec": {k: tfrec_run[k] for k in SIDE}, "deepctr": {k: record[k] for k in SIDE},
                  "tfrec_speedup": round(theirs / ours, 3),
                  **({"tfrec_speedup_last_epoch": round(record["epoch_seconds"][-1] / tfrec_run["epoch_seconds"][-1], 3)}
                     if args.epochs > 1 else {})})


if __name__ == "__main__":
    main()
