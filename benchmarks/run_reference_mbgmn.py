"""Run the MB-GMN reference notebook (seed 000, TensorFlow 1 graph code) on a data folder, under
TensorFlow 2's ``tf.compat.v1``, timing each training epoch and test pass. Prints one JSON line.

    python benchmarks/run_reference_mbgmn.py --seed-file ../shared/seeds/000_76a3f6ad6994fa3c.txt \
        --data-dir ../shared/data/beibei --behaviors cart,buy --epochs 10

    # BeiBei at its real size, with the same synthetic view behavior bench_mbgmn.py uses:
    python benchmarks/run_reference_mbgmn.py --seed-file ... --data-dir ../shared/data/beibei \
        --synthetic-pv 2410000 --epochs 1

Nothing of the reference is copied into tfrec: this script reads the notebook's code cells at run
time and executes them with the minimum of edits to run outside Colab on TensorFlow 2:
``tensorflow.compat.v1`` with v2 behavior off, ``xavier_initializer`` from ``tf.contrib`` replaced
by ``glorot_uniform_initializer`` (the same distribution), the notebook progress bar removed, the
data folder and behaviors set, NumPy and TensorFlow seeded (the reference itself is unseeded), and
the test pass run after every epoch (``--tstEpoch 1``) so that curves can be compared with
tfrec's. The reference's model, sampling and evaluation code run unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import code_cells


def patched(source: str) -> str:
    replacements = {
        "import tensorflow as tf": "import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()",
        "from tensorflow.contrib.layers import xavier_initializer":
            "xavier_initializer = lambda dtype=tf.float32: tf.glorot_uniform_initializer(dtype=dtype)",
        "from tqdm.notebook import tqdm": "tqdm = lambda iterable: iterable",
    }
    return "\n".join(replacements.get(line.strip(), line) for line in source.splitlines())


def write_dataset(args) -> Path:
    """The data folder the reference reads: ``trn_<behavior>`` pickles and ``tst_int``."""
    if not args.synthetic_pv:
        return Path(args.data_dir)
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_mbgmn import synthetic_views

    with open(Path(args.data_dir) / "trn_cart", "rb") as f:
        cart = pickle.load(f)
    with open(Path(args.data_dir) / "trn_buy", "rb") as f:
        buy = pickle.load(f)
    folder = Path(tempfile.mkdtemp(prefix="mbgmn-ref-"))
    views = synthetic_views((cart != 0).astype("float32").tocsr(), (buy != 0).astype("float32").tocsr(), args.synthetic_pv, args.seed)
    for name, matrix in (("pv", views), ("cart", cart), ("buy", buy)):
        with open(folder / f"trn_{name}", "wb") as f:
            pickle.dump(matrix, f)
    shutil.copy(Path(args.data_dir) / "tst_int", folder / "tst_int")
    return folder


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-file", required=True, type=Path, help="shared/seeds/000_*.txt")
    parser.add_argument("--data-dir", required=True, help="folder with trn_<behavior> pickles and tst_int")
    parser.add_argument("--behaviors", default=None, help="comma-separated, target last (default: pv,cart,buy with --synthetic-pv, else cart,buy)")
    parser.add_argument("--synthetic-pv", type=int, default=0, help="add bench_mbgmn.py's synthetic pv behavior of about N interactions")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-test", action="store_true", help="time training epochs only")
    args = parser.parse_args(argv)
    args.seed_file, args.data_dir = args.seed_file.resolve(), str(Path(args.data_dir).resolve())
    behaviors = (args.behaviors or ("pv,cart,buy" if args.synthetic_pv else "cart,buy")).split(",")
    data_dir = write_dataset(args)

    namespace: dict = {"__name__": "mbgmn_reference"}
    workdir = Path(tempfile.mkdtemp(prefix="mbgmn-ref-run-"))
    os.chdir(workdir)  # the reference writes History/ and Models/ into the working directory
    for cell in code_cells(args.seed_file):
        exec(compile(patched(cell), str(args.seed_file), "exec"), namespace)
    ns_args, tf, np = namespace["args"], namespace["tf"], namespace["np"]
    ns_args.epoch, ns_args.tstEpoch = args.epochs, 1
    np.random.seed(args.seed)
    tf.set_random_seed(args.seed)

    handler = namespace["DataHandler"]()
    handler.predir, handler.behs = str(data_dir) + "/", behaviors
    handler.trnfile, handler.tstfile = handler.predir + "trn_", handler.predir + "tst_"
    start = time.perf_counter()
    handler.LoadData()
    load_seconds = time.perf_counter() - start

    recommender_class = namespace["Recommender"]
    timings = {"train": [], "test": [], "sample": []}
    train_epoch, test_epoch, sample_batch = recommender_class.trainEpoch, recommender_class.testEpoch, recommender_class.sampleTrainBatch

    def timed(name, fn):
        def wrapper(self, *a, **k):
            t = time.perf_counter()
            out = fn(self, *a, **k)
            timings[name].append(time.perf_counter() - t)
            return out
        return wrapper

    recommender_class.trainEpoch = timed("train", train_epoch)
    recommender_class.testEpoch = (lambda self: {"HR": float("nan"), "NDCG": float("nan")}) if args.no_test else timed("test", test_epoch)
    recommender_class.sampleTrainBatch = timed("sample", sample_batch)
    with tf.Session(config=tf.ConfigProto()) as sess:
        recommender = recommender_class(sess, handler)
        recommender.run()
    steps = max(1, len(timings["sample"]) // (len(behaviors) * max(1, len(timings["train"]))))
    record = {
        "benchmark": "mbgmn_reference",
        "behaviors": behaviors,
        "epochs": args.epochs,
        "seed": args.seed,
        "load_seconds": round(load_seconds, 1),
        "epoch_seconds": [round(t, 1) for t in timings["train"]],
        "sample_seconds_per_epoch": round(sum(timings["sample"]) / max(1, len(timings["train"])), 2),
        "steps_per_epoch": steps,
        "test_seconds": [round(t, 1) for t in timings["test"]],
        "train_hinge": [round(float(v), 4) for v in recommender.metrics["TrainpreLoss"]],
        "test_HR": [round(float(v), 4) for v in recommender.metrics["TestHR"]],
        "test_NDCG": [round(float(v), 4) for v in recommender.metrics["TestNDCG"]],
    }
    print(json.dumps(record), flush=True)
    return record


if __name__ == "__main__":
    main(sys.argv[1:])
