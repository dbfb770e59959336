"""Benchmark MB-GMN at BeiBei's real size: seconds per training epoch (``trn_num / batch``
steps), the share spent sampling, seconds per full test pass, and the meta prediction network's
throughput. Prints one JSON line.

    python benchmarks/bench_mbgmn.py --data-dir ../shared/data/beibei --synthetic-pv 2410000 --epochs 2
    python benchmarks/bench_mbgmn.py --data-dir ../shared/data/beibei --epochs 1 --predictor-dtype mixed_bfloat16

The reference's own code on the same data: ``benchmarks/run_reference_mbgmn.py``.

BeiBei's page-view behavior could not be obtained (see shared/data/README.md), so
``--synthetic-pv N`` adds a synthetic ``pv`` matrix of about N interactions containing every cart
and buy (views sampled in proportion to user and item cart activity), giving the reference's
three behaviors at their real sizes (21,716 x 7,977; about 2.41M / 0.64M / 0.28M interactions).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import scipy.sparse as sp

from _common import emit, run_metrics


def synthetic_views(cart: sp.csr_matrix, buy: sp.csr_matrix, target_nnz: int, seed: int) -> sp.csr_matrix:
    """A view matrix with every cart and buy plus random views up to ``target_nnz`` interactions."""
    rng = np.random.default_rng(seed)
    base = ((cart + buy) > 0).astype(np.float32)
    user_weight = np.asarray(base.sum(axis=1)).ravel() + 1.0
    item_weight = np.asarray(base.sum(axis=0)).ravel() + 1.0
    extra = int(max(0, target_nnz - base.nnz) * 1.05)
    users = rng.choice(base.shape[0], size=extra, p=user_weight / user_weight.sum())
    items = rng.choice(base.shape[1], size=extra, p=item_weight / item_weight.sum())
    views = base + sp.csr_matrix((np.ones(extra, np.float32), (users, items)), shape=base.shape)
    views = (views > 0).astype(np.float32).tocsr()
    views.sort_indices()
    return views


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder with BeiBei's trn_cart, trn_buy, tst_int")
    parser.add_argument("--synthetic-pv", type=int, default=2_410_000, help="size of the synthetic pv behavior (0: none)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--predictor-dtype", default=None, help="e.g. mixed_bfloat16 (default: float32, the reference's arithmetic)")
    args = parser.parse_args(argv)

    import tfrec
    from tfrec.data.multibehavior import load_beibei
    from tfrec.data.pipelines import multibehavior_training_data
    from tfrec.data.types import MultiBehavior

    start = time.perf_counter()
    data = load_beibei(args.data_dir, seed=args.seed)
    if args.synthetic_pv:
        views = synthetic_views(data.matrices[0], data.matrices[-1], args.synthetic_pv, args.seed)
        data = MultiBehavior(
            name="beibei+synthetic-pv", num_users=data.num_users, num_items=data.num_items,
            behaviors=("pv",) + data.behaviors, matrices=(views,) + data.matrices,
            test_users=data.test_users, test_items=data.test_items, test_negatives=data.test_negatives,
        )
    load_seconds = time.perf_counter() - start

    training = multibehavior_training_data(data, batch_size=256, samp_num=40, trn_num=10000, seed=args.seed)
    start = time.perf_counter()
    batches = training.sampler.sample(0)
    sample_seconds = time.perf_counter() - start
    pairs_per_step = np.mean([sum(len(v) for k, v in b.items() if k.startswith("users")) for b in batches])
    scored_per_step = pairs_per_step * (len(data.behaviors) + 1)

    params = {"predictor_dtype": args.predictor_dtype} if args.predictor_dtype else None
    result = tfrec.train("mbgmn", dataset=data, data="beibei", epochs=args.epochs, seed=args.seed, device="cpu", verbose=0, params=params)
    from tfrec.tasks.multi_behavior import MultiBehaviorTask

    start = time.perf_counter()
    MultiBehaviorTask.evaluate(result.model, data, result.config["training"])
    eval_seconds = time.perf_counter() - start
    d = result.model.latdim
    # the predictor's matrix products per scored pair, forward; a training step also runs the
    # backward pass, two products of the same size per forward product: 3x in all
    flop_per_pair = 2 * (3 * d * d * 2 + 3 * d * 3 * d + 3 * d * 3 * d * d + 2 * 3 * d * d + 3 * d * d)
    steps = result.metrics["steps_per_epoch"]
    best_epoch = min(result.metrics["epoch_seconds"])
    record = {
        "benchmark": "mbgmn",
        "dataset": data.name,
        "behaviors": list(data.behaviors),
        "interactions": [int(m.nnz) for m in data.matrices],
        "users": data.num_users,
        "items": data.num_items,
        "steps_per_epoch": steps,
        "predictor_dtype": result.model.predictor.dtype_policy.name,
        **run_metrics(result),
        "sample_seconds_per_epoch": round(sample_seconds, 3),
        "scored_pairs_per_step": int(scored_per_step),
        "predictor_mflop_per_scored_pair": round(flop_per_pair / 1e6, 3),
        # the whole epoch's time in the denominator: a lower bound on the predictor's own rate
        "epoch_gflops_per_s_forward_backward": round(3 * scored_per_step * flop_per_pair * steps / best_epoch / 1e9, 1),
        "eval_seconds_first": round(result.metrics["eval_seconds"], 2),
        "eval_seconds": round(eval_seconds, 2),
        "test_users": int(len(data.test_users)),
        "eval_pair_gflops_per_s": round(len(data.test_users) * 100 * flop_per_pair / eval_seconds / 1e9, 1),
    }
    return emit(record)


if __name__ == "__main__":
    main(sys.argv[1:])
