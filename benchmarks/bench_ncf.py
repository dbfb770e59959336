"""Benchmark NCF models: seconds per training epoch (negative re-sampling included), seconds for
the full test evaluation, HR@10 / NDCG@10 and peak memory. Prints one JSON line.

    python benchmarks/bench_ncf.py --model neumf --data ml-1m-ncf --data-dir ../shared/data/ml-1m-ncf --epochs 2

The epoch time is measured by ``tfrec.train`` around ``fit`` (the tf.data pipeline draws the
next epoch's negatives while the current one trains); ``sample_seconds`` times one epoch's
vectorised sampling alone, to show how much of the epoch it would cost if not overlapped.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from _common import emit, run_metrics


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="neumf")
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps-per-execution", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    import tfrec
    from tfrec.data.registry import load_dataset
    from tfrec.data.sampling import training_instances

    start = time.perf_counter()
    data = load_dataset(args.data, args.data_dir, seed=args.seed, progress=False)
    load_seconds = time.perf_counter() - start

    start = time.perf_counter()
    users, items, labels = training_instances(data.train, 4, np.random.default_rng(args.seed))
    np.random.default_rng(args.seed).permutation(len(users))
    sample_seconds = time.perf_counter() - start

    result = tfrec.train(
        args.model,
        dataset=data,
        data=args.data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
        steps_per_execution=args.steps_per_execution,
        verbose=0,
    )
    record = {
        "benchmark": "ncf",
        "dataset": args.data,
        "model": args.model,
        "users": data.num_users,
        "items": data.num_items,
        "train_instances_per_epoch": int(len(users)),
        "batch_size": args.batch_size,
        "steps_per_execution": result.config["steps_per_execution"],
        "device": result.metrics["device"],
        "load_seconds": round(load_seconds, 3),
        "sample_seconds": round(sample_seconds, 3),
        **run_metrics(result),
        "eval_seconds": round(result.metrics["eval_seconds"], 3),
        "test_users": int(len(data.test_users)),
        "candidates_per_user": int(data.candidates().shape[1]),
    }
    return emit(record)


if __name__ == "__main__":
    main(sys.argv[1:])
