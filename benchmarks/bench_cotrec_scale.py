"""Benchmark COTREC on a synthetic million-item catalogue: seconds per training step (median and
range over ``--steps`` timed steps after warm-up), peak memory, a check that the top-``C``
negative mining (C = 5000) is exact, and the full test ranking (every test prefix ranked among
all items, a bounded number of rows per call: ``SessionTask.eval_scores``). Prints one JSON line.

    taskset -c 1 python benchmarks/bench_cotrec_scale.py                 # 1,000,000 items
    python benchmarks/bench_cotrec_scale.py --items 200000 --steps 3     # smaller

Sessions: :func:`tfrec.data.synthetic.synthetic_sessions` with ``zipf``, a vectorised random walk over the catalogue whose item popularity is Zipf
(``p(rank r) ~ r^-zipf``, ranks a random permutation of the items): each item has ``successors``
fixed next items drawn by popularity, a session starts at an item drawn by popularity and, at
each click, follows one of the current item's successors or, with probability ``noise``, jumps
to an item drawn by popularity; prefix-augmented as COTREC's files. The model is the registry's
COTREC (seed 002's defaults: d = 100, batch 100 = d, the reference's ``predict_product``).

Mining check: for one training batch, the rankings both views mine from (the item view's
``(X @ S_I)^T`` and the session view's, as :meth:`CoTRec._ranking_logits` builds them) are
computed once; the model's top-``C`` (:func:`tfrec.models.cotrec.top_candidates`, the method the
model uses) is compared, as a set per row, with numpy's ``argpartition`` of the same scores, a
row that differs only among items tied at the ``C``-th score counting as exact.

Memory: ``peak_rss_mb`` (the whole run's peak: the largest stage peak) and ``stage_peak_mb``, the peak
resident memory during each stage (``VmHWM`` of ``/proc/self/status``, reset to the resident
set before each stage by writing 5 to ``/proc/self/clear_refs``; Linux): what earlier stages
left resident (the model, the allocator's cached blocks) counts in every later stage. ``--eval-scores`` overrides
``SessionTask.eval_scores`` (e.g. ``1e12``: the unbounded 500 rows per call) to compare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from _common import peak_rss_mb


def vm_hwm_mb() -> float | None:
    """``VmHWM`` (peak resident set since the last :func:`reset_peak`) of ``/proc/self/status``
    in MiB, or ``None`` off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


_PEAK = [0.0]  # the run's peak over the stages (clear_refs also resets ru_maxrss)


def reset_peak() -> None:
    """Reset ``VmHWM`` to the current resident set (Linux ``clear_refs`` 5; a no-op elsewhere),
    keeping the peak so far in ``_PEAK``."""
    _PEAK[0] = max(_PEAK[0], vm_hwm_mb() or 0.0)
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def mining_check(model, batch, depth: int) -> dict:
    """The model's top-``depth`` of one batch's two rankings against numpy's ``argpartition``."""
    import numpy as np
    import tensorflow as tf

    from tfrec.layers.session_graph import l2_normalize
    from tfrec.models.cotrec import top_candidates

    @tf.function
    def rankings(b):
        view = model.item_view()
        x_n = l2_normalize(view)
        x_t = tf.transpose(x_n)
        s_item = model.item_session_embedding(view, b["items"], b["lengths"])
        s_sess = model.session_view(b["items"], b["lengths"])
        scores = tf.matmul(s_item, x_t)
        return (model._ranking_logits(x_n, s_item, scores, x_t),
                model._ranking_logits(model.item_embeddings, s_sess, None))

    out = {}
    for name, ranking in zip(("item_view", "session_view"), rankings(batch)):
        start = time.perf_counter()
        mined = top_candidates(ranking, depth, model.options["topk_method"]).numpy()
        model_seconds = time.perf_counter() - start
        scores = ranking.numpy()
        start = time.perf_counter()
        reference = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
        numpy_seconds = time.perf_counter() - start
        exact = tie_only = 0
        for row in range(scores.shape[0]):
            ours, theirs = set(mined[row].tolist()), set(reference[row].tolist())
            if ours == theirs:
                exact += 1
                continue
            kth = np.sort(scores[row])[::-1][depth - 1]  # the C-th largest score
            if all(scores[row, i] == kth for i in ours ^ theirs):
                tie_only += 1
        descending = bool(np.all(np.diff(np.take_along_axis(scores, mined, axis=1), axis=1) <= 0))
        out[name] = {
            "rows": int(scores.shape[0]), "rows_same_set": exact, "rows_differing_only_in_ties": tie_only,
            "exact": exact + tie_only == scores.shape[0] and descending, "sorted_descending": descending,
            "model_topk_seconds": round(model_seconds, 3), "numpy_argpartition_seconds": round(numpy_seconds, 3),
        }
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--train-sessions", type=int, default=3000)
    parser.add_argument("--test-sessions", type=int, default=300)
    parser.add_argument("--zipf", type=float, default=1.1)
    parser.add_argument("--steps", type=int, default=5, help="timed training steps (after --warmup)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (the first traces)")
    parser.add_argument("--no-eval", action="store_true", help="skip the full test ranking")
    parser.add_argument("--eval-scores", type=float, default=None,
                        help="score entries per evaluation call (default: SessionTask.eval_scores)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="model or training option, e.g. predict_product=corrected")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from tfrec.cli import _parse_sets
    from tfrec.data.pipelines import session_training_data
    from tfrec.data.synthetic import synthetic_sessions
    from tfrec.models.cotrec import CoTRec
    from tfrec.optimizers import build_optimizer
    from tfrec.registry import get_model_spec, resolve_hparams
    from tfrec.tasks.sessions import SessionTask

    memory = {}
    reset_peak()
    start = time.perf_counter()
    data = synthetic_sessions(seed=args.seed, num_items=args.items, num_train_sessions=args.train_sessions,
                              num_test_sessions=args.test_sessions, zipf=args.zipf)
    data_seconds = time.perf_counter() - start
    spec = get_model_spec("cotrec")
    model_kwargs, settings = resolve_hparams(spec, _parse_sets(tuple(args.sets)), "synthetic-sessions")
    if model_kwargs.get("seed") is None:
        model_kwargs["seed"] = args.seed
    keras.utils.set_random_seed(args.seed)
    start = time.perf_counter()
    model = CoTRec.from_data(data, **model_kwargs)
    build_seconds = time.perf_counter() - start
    model.check_training(settings, data)
    model.compile(optimizer=build_optimizer(settings["optimizer"], settings["lr"], settings["adam_epsilon"]),
                  jit_compile=False)
    memory["data_and_build"] = vm_hwm_mb()

    training = session_training_data(data, batch_size=settings["batch_size"], seed=args.seed,
                                     last_batch=settings["last_batch"])
    iterator = iter(training.dataset)
    batches = [next(iterator) for _ in range(args.warmup + args.steps)]
    signature = [{"items": tf.TensorSpec([None, None], tf.int32), "lengths": tf.TensorSpec([None], tf.int32),
                  "targets": tf.TensorSpec([None], tf.int32)}]
    step = tf.function(model.train_step, input_signature=signature)
    reset_peak()
    seconds = []
    for i, batch in enumerate(batches):
        start = time.perf_counter()
        logs = step(batch)
        float(logs["loss"])  # wait for the step
        if i == 0:
            first_step_seconds = time.perf_counter() - start
        if i >= args.warmup:
            seconds.append(time.perf_counter() - start)
    memory["training_steps"] = vm_hwm_mb()

    reset_peak()
    mining = mining_check(model, batches[-1], model.mining_depth)
    memory["mining_check_with_numpy_copies"] = vm_hwm_mb()

    record = {
        "benchmark": "cotrec_scale",
        "items": data.num_items,
        "zipf": args.zipf,
        "train_sessions": args.train_sessions,
        "train_prefixes": data.num_train,
        "test_prefixes": data.num_test,
        "item_graph_edges": model.num_edges,
        "batch_size": settings["batch_size"],
        "options": {k: v for k, v in model.get_config().items() if k in model.options},
        "num_candidates": model.mining_depth,
        "data_seconds": round(data_seconds, 2),
        "build_seconds": round(build_seconds, 2),
        "first_step_seconds_with_tracing": round(first_step_seconds, 2),
        "step_seconds_median": round(statistics.median(seconds), 3),
        "step_seconds_min": round(min(seconds), 3),
        "step_seconds_max": round(max(seconds), 3),
        "timed_steps": len(seconds),
        "last_loss": round(float(logs["loss"]), 4),
        "mining_exact": all(view["exact"] for view in mining.values()),
        "mining": mining,
    }
    if not args.no_eval:
        if args.eval_scores is not None:
            SessionTask.eval_scores = int(args.eval_scores)
        reset_peak()
        start = time.perf_counter()
        test = SessionTask.evaluate(model, data, settings)
        record["eval_seconds"] = round(time.perf_counter() - start, 2)
        record["eval_scores_per_call"] = SessionTask.eval_scores
        record["eval_rows_per_call"] = SessionTask.eval_rows(data.num_items)
        record["test_after_steps"] = {k: round(v, 4) for k, v in test.items() if k.startswith(("HR", "MRR"))}
        memory["evaluation"] = vm_hwm_mb()
    record["stage_peak_mb"] = memory
    record["tensorflow"] = tf.__version__
    record["numpy"] = np.__version__
    reset_peak()
    record["peak_rss_mb"] = _PEAK[0] if _PEAK[0] else peak_rss_mb()  # ru_maxrss is reset with VmHWM on Linux
    print(json.dumps(record), flush=True)
    return record


if __name__ == "__main__":
    main(sys.argv[1:])
