"""Benchmark COTREC: seconds per training step (batch 100) and per epoch (extrapolated from
``--steps`` timed steps, or measured with ``--full-epoch``), seconds for the full test
evaluation (every test prefix ranked among all items), and where a step's time goes.
Prints one JSON line.

    taskset -c 1 python benchmarks/bench_cotrec.py --data tmall --data-dir ../shared/data/cotrec/Tmall
    taskset -c 1 python benchmarks/bench_cotrec.py --data diginetica --data-dir ../shared/data/cotrec/diginetica

Seed 002 (PyTorch, edited only to run on CPU), as the issue measured it on 2 CPU cores: 0.43 s
per batch of 100 (1,526 s per Tmall epoch, 3,232 s per Diginetica epoch), 19 s / 50 s for the
full test ranking. Its profile: dense products over all items 31%, the two ``topk(5000)`` 14%,
the linear maps over the item table 11%, Adam and elementwise work 22%. This machine's speed
drifts from day to day, so compare with the reference run the same day on the same cores:
``python benchmarks/run_reference_cotrec.py --seed-file ../shared/seeds/002_*.txt --data-dir DIR``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time


def _timed(fn, batches, repeat: int = 1) -> float:
    """Mean seconds of ``fn(batch)`` over ``batches`` (after one warm-up call)."""
    fn(batches[0])
    start = time.perf_counter()
    for _ in range(repeat):
        for batch in batches:
            out = fn(batch)
    _ = [t.numpy() for t in (out if isinstance(out, (list, tuple)) else [out])]
    return (time.perf_counter() - start) / (repeat * len(batches))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="tmall")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--steps", type=int, default=30, help="timed training steps (after warm-up)")
    parser.add_argument("--full-epoch", action="store_true", help="also time one whole epoch with tfrec.train")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="model option, e.g. use_positions=false or topk_method=top_k")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--precision", default="float32", help="float32 (the reference's arithmetic), mixed_bfloat16 or mixed_float16")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    import tfrec
    from tfrec.cli import _parse_sets
    from tfrec.data.pipelines import session_training_data
    from tfrec.data.registry import load_dataset
    from tfrec.layers.session_graph import l2_normalize
    from tfrec.models.cotrec import CoTRec
    from tfrec.registry import get_model_spec, resolve_hparams
    from tfrec.tasks.sessions import SessionTask

    spec = get_model_spec("cotrec")
    data_name = spec.dataset_name(args.data)
    start = time.perf_counter()
    data = load_dataset(data_name, args.data_dir, seed=args.seed, progress=False)
    load_seconds = time.perf_counter() - start
    model_kwargs, settings = resolve_hparams(spec, _parse_sets(tuple(args.sets)), data_name)
    keras.utils.set_random_seed(args.seed)
    start = time.perf_counter()
    from tfrec.distribute import check_precision, make_optimizer, precision_scope
    from tfrec.optimizers import build_optimizer

    with precision_scope(check_precision(args.precision)):
        model = CoTRec.from_data(data, **model_kwargs)
    build_seconds = time.perf_counter() - start
    # the registry's optimizer (torch_adam, as tfrec train steps COTREC)
    optimizer = make_optimizer(build_optimizer(settings["optimizer"], settings["lr"], settings["adam_epsilon"]), args.precision)
    model.compile(optimizer=optimizer, jit_compile=False)

    training = session_training_data(data, batch_size=settings["batch_size"], seed=args.seed,
                                     last_batch=settings["last_batch"])
    iterator = iter(training.dataset)
    batches = [next(iterator) for _ in range(args.steps + 1)]
    signature = [{"items": tf.TensorSpec([None, None], tf.int32), "lengths": tf.TensorSpec([None], tf.int32),
                  "targets": tf.TensorSpec([None], tf.int32)}]
    step = tf.function(model.train_step, input_signature=signature)
    step(batches[0])  # trace
    step_seconds = _timed(lambda b: step(b)["loss"], batches[1:])

    record = {
        "benchmark": "cotrec",
        "dataset": data_name,
        "precision": args.precision,
        "items": data.num_items,
        "train_prefixes": data.num_train,
        "test_prefixes": data.num_test,
        "options": {k: v for k, v in model.get_config().items() if k in model.options or k == "use_positions"},
        "load_seconds": round(load_seconds, 2),
        "build_seconds": round(build_seconds, 2),
        "step_seconds": round(step_seconds, 4),
        "steps_per_epoch": training.steps_per_epoch,
        "epoch_seconds_extrapolated": round(step_seconds * training.steps_per_epoch, 1),
    }

    if not args.no_profile:  # forward pieces of one step, each timed alone (traced once)
        def fn(f):
            return tf.function(f, input_signature=signature)

        def view_fwd_bwd(b):
            with tf.GradientTape() as tape:
                v = model.item_view()
            return tape.gradient(v, model.item_embeddings, output_gradients=tf.ones_like(v))

        def ranking(b):
            view = l2_normalize(model.item_view())
            s = model.item_session_embedding(view, b["items"], b["lengths"])
            return model._ranking_logits(view, s, None)

        def mining(b):
            scores = ranking(b)
            ranks = model.negative_ranks(tf.shape(scores)[0])
            return model._mine(scores, lambda idx: tf.gather(model.item_embeddings, idx), ranks)[0]

        def ce_fwd_bwd(b):
            with tf.GradientTape() as tape:
                loss = model.compute_losses(b, training=False)["loss"]
            return tape.gradient(loss, model.item_embeddings)

        pieces = {
            "forward_all_terms": lambda b: model.compute_losses(b, training=True)["loss"],
            "item_view_forward": lambda b: model.item_view(),
            "item_view_forward_backward": view_fwd_bwd,
            "cross_entropy_only_forward_backward": ce_fwd_bwd,
            "item_view+attention+ranking_product": ranking,
            "same+one_top5000_mining": mining,
            "session_view": lambda b: model.session_view(b["items"], b["lengths"]),
        }
        profile = {name: round(_timed(fn(f), batches[1:6]), 4) for name, f in pieces.items()}
        profile["one_mining_(difference)"] = round(
            profile["same+one_top5000_mining"] - profile["item_view+attention+ranking_product"], 4
        )
        record["profile_seconds"] = profile

    start = time.perf_counter()
    test = SessionTask.evaluate(model, data, settings)
    record["eval_seconds_first"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    SessionTask.evaluate(model, data, settings)
    record["eval_seconds"] = round(time.perf_counter() - start, 2)
    record["untrained_test"] = {k: round(v, 4) for k, v in test.items() if k.split("@")[0] in ("HR", "MRR")}

    if args.full_epoch:
        result = tfrec.train("cotrec", dataset=data, data=data_name, epochs=1, seed=args.seed, device="cpu",
                             params=_parse_sets(tuple(args.sets)), verbose=0)
        record["epoch_seconds"] = [round(s, 1) for s in result.metrics["epoch_seconds"]]
        record["test_after_1_epoch"] = {k: round(v, 4) for k, v in result.metrics["test"].items()}
    record["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    record["tensorflow"] = tf.__version__
    record["numpy"] = np.__version__
    print(json.dumps(record), flush=True)
    return record


if __name__ == "__main__":
    main(sys.argv[1:])
