"""Benchmark the CTR models: seconds per training epoch and seconds to evaluate the whole test
set (AUC, log loss, accuracy, precision, recall), per model. Prints one JSON line.

    python benchmarks/bench_ctr.py --data ml-1m --data-dir ../shared/data/ml-1m --epochs 1
    python benchmarks/bench_ctr.py --models fm,deepfm --data ml-1m --data-dir DIR --side-features

Each model trains through ``tfrec.train`` on one loaded dataset (loaded once, timed apart); the
epoch time is measured around ``fit``'s epoch, the evaluation time around the batched
prediction of every test row plus the exact AUC. Seed 003 evaluates with ``model.predict`` and
scikit-learn; its per-user ranking evaluation takes about 22 minutes for ML-1M on this machine.
"""

from __future__ import annotations

import argparse
import time

MODELS = ("fm", "afm", "deepfm", "dcn", "xdeepfm", "pnn", "wide_deep", "autoint")

from _common import emit, rounded


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated registry names")
    parser.add_argument("--data", default="synthetic", help="ml-1m or synthetic (the CTR datasets)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--side-features", action="store_true", help="ML-1M: add users.dat / movies.dat fields")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=None, help="default: each model's (seed 003: 32)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    import tfrec
    from tfrec.data.registry import load_dataset
    from tfrec.registry import get_model_spec

    names = [m.strip() for m in args.models.split(",") if m.strip()]
    data_name = get_model_spec(names[0]).dataset_name(args.data)
    options = {"side_features": True} if args.side_features else {}
    start = time.perf_counter()
    data = load_dataset(data_name, args.data_dir, seed=args.seed, progress=False, **options)
    load_seconds = time.perf_counter() - start

    results = {}
    for name in names:
        result = tfrec.train(
            name, dataset=data, data=args.data, epochs=args.epochs, batch_size=args.batch_size,
            seed=args.seed, device=args.device, verbose=0,
        )
        results[name] = {
            "epoch_seconds": [round(s, 2) for s in result.metrics["epoch_seconds"]],
            "eval_seconds": round(result.metrics["eval_seconds"], 3),
            "steps_per_epoch": result.metrics["steps_per_epoch"],
            **rounded(result.metrics["test"]),
        }
    record = {
        "benchmark": "ctr",
        "dataset": data_name,
        "fields": data.field_names,
        "train_rows": data.num_train,
        "test_rows": data.num_test,
        "positive_rate": round(float(data.train_labels.mean()), 4),
        "load_seconds": round(load_seconds, 3),
        "baseline_item_click_rate": rounded(result.metrics["baseline_popularity"]),
        "models": results,
        "device": result.metrics["device"],
    }
    return emit(record)


if __name__ == "__main__":
    main()
