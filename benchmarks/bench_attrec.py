"""Benchmark AttRec: seconds to build the sequence data, per training epoch and per full test
evaluation (every test user's next item against its 101 negatives), with HR@10 / NDCG@10 / MRR.
Prints one JSON line.

    python benchmarks/bench_attrec.py --data ml-1m --data-dir ../shared/data/ml-1m-half --epochs 2

Seed 001 builds its data with a pandas loop over users (18 s), trains an epoch in 12 s and
evaluates user by user with pandas ``groupby.apply`` (13 s), measured on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import emit, run_metrics


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synthetic-seq")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--mode", default="inner", choices=["inner", "dist"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    import tfrec
    from tfrec.data.registry import load_dataset
    from tfrec.registry import get_model_spec
    from tfrec.tasks.sequences import SequenceTask

    data_name = get_model_spec("attrec").dataset_name(args.data)
    start = time.perf_counter()
    data = load_dataset(data_name, args.data_dir, seed=args.seed, progress=False)
    build_seconds = time.perf_counter() - start

    result = tfrec.train(
        "attrec", dataset=data, data=data_name, epochs=args.epochs, seed=args.seed, device=args.device,
        params={"mode": args.mode, "eval_every": args.epochs}, verbose=0,
    )
    start = time.perf_counter()
    SequenceTask.evaluate(result.model, data, result.config["training"])
    eval_seconds = time.perf_counter() - start
    record = {
        "benchmark": "attrec",
        "dataset": data_name,
        "mode": args.mode,
        "users": data.num_users,
        "items": data.num_items,
        "train_examples": data.num_train,
        "build_seconds": round(build_seconds, 3),
        **run_metrics(result),
        "eval_seconds_first": round(result.metrics["eval_seconds"], 3),
        "eval_seconds": round(eval_seconds, 3),
        "test_users": int(len(data.test_users)),
    }
    return emit(record)


if __name__ == "__main__":
    main(sys.argv[1:])
