"""Run the COTREC reference notebook (seed 002, PyTorch) on a data folder on the CPU, timing its
training steps, a whole epoch and its test pass. Prints one JSON line.

    pip install torch==2.13.0 numba      # not tfrec dependencies: only this script needs them
    python benchmarks/run_reference_cotrec.py --seed-file ../shared/seeds/002_4ce10767306afc96.txt \
        --data-dir ../shared/data/cotrec/Tmall --dataset tmall --steps 60
    # one whole epoch, then the test pass with its P@K / MRR@K:
    python benchmarks/run_reference_cotrec.py ... --full-epoch

Nothing of the reference is copied into tfrec: this script reads the notebook's code cells at run
time and executes them with three edits. One is the issue's "edited only to run on CPU":
``torch.cuda.FloatTensor(`` becomes ``torch.FloatTensor(``. Two do by hand what the NumPy the
notebook was written for did by itself, which NumPy 2 refuses: ``Data`` keeps its ragged sessions
as ``np.asarray(data[0], dtype=object)``, and ``ItemConv`` sums its list of layer tensors as
``functools.reduce(operator.add, final)`` (old NumPy's object-array ``np.sum(final, 0)``: the same
additions). The cells that ask for input and clone
the data are skipped; the data come from ``--data-dir``; NumPy and PyTorch are seeded (the
reference is not). The notebook's own ``train_test`` runs the steps and the test pass; this script
only chooses which batches it sees and reads the time at each optimizer step.
"""

from __future__ import annotations

import argparse
import functools
import json
import operator
import pickle
import sys
import time
from pathlib import Path

from _common import code_cells


def patched(source: str) -> str:
    source = source.replace("torch.cuda.FloatTensor(", "torch.FloatTensor(")
    # NumPy >= 1.24 no longer builds an object array from ragged lists by itself
    source = source.replace("self.raw = np.asarray(data[0])", "self.raw = np.asarray(data[0], dtype=object)")
    # ... nor sums a list of tensors as an object array (t0 + t1 + t2); NumPy 2 calls __array__
    return source.replace("np.sum(final, 0)", "functools.reduce(operator.add, final)")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-file", required=True, type=Path, help="shared/seeds/002_*.txt")
    parser.add_argument("--data-dir", required=True, type=Path, help="folder with train.txt, test.txt, all_train_seq.txt")
    parser.add_argument("--dataset", default="tmall", choices=["tmall", "diginetica", "retailrocket"],
                        help="the notebook's opt.dataset ('tmall' runs with positions, as the notebook does)")
    parser.add_argument("--steps", type=int, default=60, help="timed training steps (after one warm-up step)")
    parser.add_argument("--full-epoch", action="store_true", help="train one whole epoch, then run the test pass")
    parser.add_argument("--test", action="store_true", help="also time one test pass of the untrained model")
    parser.add_argument("--profile", action="store_true", help="add the top operators of the timed steps (torch.profiler)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    namespace: dict = {"__name__": "cotrec_reference", "functools": functools, "operator": operator}
    for cell in code_cells(args.seed_file):
        if "input(" in cell or "git clone" in cell or cell.lstrip().startswith("if opt.dataset"):
            continue
        exec(compile(patched(cell), str(args.seed_file), "exec"), namespace)
    torch, np = namespace["torch"], namespace["np"]
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    opt = namespace["Args"](args.dataset)
    load = lambda name: pickle.load(open(args.data_dir / name, "rb"))  # noqa: E731
    start = time.perf_counter()
    all_train = load("all_train_seq.txt")
    train_data = namespace["Data"](load("train.txt"), all_train, shuffle=True, n_node=opt.n_node)
    test_data = namespace["Data"](load("test.txt"), all_train, shuffle=True, n_node=opt.n_node)
    load_seconds = time.perf_counter() - start
    model = namespace["COTREC"](
        adjacency=train_data.adjacency, n_node=opt.n_node, lr=opt.lr, l2=opt.l2, beta=opt.beta, lam=opt.lam,
        eps=opt.eps, layers=opt.layer, emb_size=opt.embSize, batch_size=opt.batchSize, dataset=opt.dataset,
    )
    stamps: list[float] = []
    step = model.optimizer.step
    model.optimizer.step = lambda *a, **k: (step(*a, **k), stamps.append(time.perf_counter()))[0]

    def limited(data, count):
        full = data.generate_batch
        data.generate_batch = lambda batch_size: full(batch_size)[:count]

    train_test = namespace["train_test"]
    record = {"benchmark": "cotrec_reference", "dataset": args.dataset, "items": opt.n_node,
              "train_prefixes": int(train_data.length), "test_prefixes": int(test_data.length),
              "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
              "load_seconds": round(load_seconds, 1)}
    if args.test:
        limited(train_data, 0)
        start = time.perf_counter()
        train_test(model, train_data, test_data, 0)
        record["test_seconds_untrained"] = round(time.perf_counter() - start, 1)
        del train_data.generate_batch  # back to the class's method
    model.train()
    if args.full_epoch:
        start = time.perf_counter()
        metrics, total_loss = train_test(model, train_data, test_data, 0)
        end = time.perf_counter()
        record["epoch_seconds"] = round(stamps[-1] - start, 1)
        record["test_seconds"] = round(end - stamps[-1], 1)
        record["train_loss"] = round(float(total_loss), 2)
        record["test"] = {f"{'P' if name.startswith('hit') else 'MRR'}@{name[3:]}": round(float(np.mean(v)), 4)
                          for name, v in metrics.items()}
    else:
        limited(train_data, args.steps + 1)
        limited(test_data, 0)
        if args.profile:
            with torch.profiler.profile() as profiler:
                train_test(model, train_data, test_data, 0)
            events = sorted(profiler.key_averages(), key=lambda e: -e.self_cpu_time_total)[:15]
            record["profile_self_ms_per_step"] = {
                e.key: round(e.self_cpu_time_total / 1000 / (args.steps + 1), 1) for e in events
            }
        else:
            train_test(model, train_data, test_data, 0)
    times = np.diff(stamps)  # between optimizer steps: the first step is not timed (warm-up)
    record["steps_timed"] = int(len(times))
    record["step_seconds_mean"] = round(float(np.mean(times)), 4)
    record["step_seconds_median"] = round(float(np.median(times)), 4)
    record["steps_per_epoch"] = int(-(-train_data.length // opt.batchSize))
    record["epoch_seconds_extrapolated"] = round(float(np.mean(times)) * record["steps_per_epoch"], 1)
    print(json.dumps(record), flush=True)
    return record


if __name__ == "__main__":
    main(sys.argv[1:])
