"""MB-GMN at the scale of its paper: full graph and sub-graph sampling on synthetic multi-behavior
data of BeiBei's, Tmall's and IJCAI's sizes (``--data synthetic-mb --set size=...``). One JSON line
per case: seconds per training epoch (``trn_num`` users, the reference's epoch) and per test pass,
peak RSS, and where the memory goes (the data's CSR matrices, the model's stored graph, its
embedding tables).

    python benchmarks/bench_mbgmn_scale.py                       # every case
    python benchmarks/bench_mbgmn_scale.py --cases tmall-full ijcai-sampled --max-rss-gb 20

Each case runs ``tfrec.train(..., epochs=1)`` -- what ``tfrec train --model mbgmn --data synthetic-mb
--set size=S [--set graph_sample=40000] --epochs 1`` does -- in a child process that the parent
watches: a case whose resident memory passes ``--max-rss-gb`` is stopped and reported as such
(``"status": "over memory"``), so one case cannot take the machine down. The sampled cases use
akaxlh/MB-GMN's IJCAI setting, ``graph_sample=40000`` over blocks of 10,000 users, and ``rank=2``
as the MB-GMN README does for Tmall and IJCAI.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CASES = {
    "beibei-full": ("beibei", 0),
    "beibei-sampled": ("beibei", 40000),
    "tmall-full": ("tmall", 0),
    "tmall-sampled": ("tmall", 40000),
    "ijcai-full": ("ijcai", 0),
    "ijcai-sampled": ("ijcai", 40000),
}

CHILD = r"""
import json, resource, sys, time
import numpy as np
import tensorflow as tf
import tfrec
from tfrec.data.synthetic import load_synthetic_mb

size, graph_sample = sys.argv[1], int(sys.argv[2])
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # GiB
start = time.perf_counter()
data = load_synthetic_mb(seed=0, size=size)
generated = time.perf_counter() - start
csr_bytes = sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in data.matrices)
after_data = rss()
params = {"graph_sample": graph_sample, "rank": 2 if size != "beibei" else 4}
result = tfrec.train("mbgmn", dataset=data, epochs=1, seed=0, device="cpu", verbose=0, params=params)
settings = result.config["training"]
from tfrec.tasks.multi_behavior import MultiBehaviorTask
steps = MultiBehaviorTask.training_data(data, settings, 0).steps_per_epoch
model = result.model
graph_bytes = sum(v.numpy().nbytes for state in model.graph for v in state.values())
tables = sum(v.numpy().nbytes for v in (model.user_embedding, model.item_embedding))
print(json.dumps({
    "users": data.num_users, "items": data.num_items,
    "interactions": {b: int(m.nnz) for b, m in zip(data.behaviors, data.matrices)},
    "generate_seconds": round(generated, 1),
    "epoch_seconds": round(result.history["epoch_seconds"][0], 1),
    "steps": int(steps),
    "test_seconds": round(result.history["eval_seconds"][0], 1),
    "test_users": int(len(data.test_users)),
    "HR@10": round(result.metrics["test"]["HR@10"], 4), "NDCG@10": round(result.metrics["test"]["NDCG@10"], 4),
    "popularity_HR@10": round(result.metrics["baseline_popularity"]["HR@10"], 4),
    "memory_gb": {"data_csr": round(csr_bytes / 2**30, 3), "model_graph": round(graph_bytes / 2**30, 3),
                  "embedding_tables": round(tables / 2**30, 3), "rss_after_data": round(after_data, 2),
                  "peak_rss": round(rss(), 2)},
}))
"""


def run_case(name: str, max_rss_gb: float, timeout: float) -> dict:
    size, graph_sample = CASES[name]
    record = {"case": name, "size": size, "graph_sample": graph_sample}
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    process = subprocess.Popen([sys.executable, "-c", CHILD, size, str(graph_sample)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started, peak = time.perf_counter(), 0.0
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            peak = max(peak, int(next(l for l in status.splitlines() if l.startswith("VmRSS")).split()[1]) / 2**20)
        except (OSError, StopIteration):
            pass
        if peak > max_rss_gb or time.perf_counter() - started > timeout:
            process.kill()
            process.communicate()
            why = "over memory" if peak > max_rss_gb else "over time"
            return {**record, "status": why, "watched_peak_rss_gb": round(peak, 2), "limit_gb": max_rss_gb,
                    "seconds_before_stop": round(time.perf_counter() - started, 1)}
        time.sleep(0.5)
    out, err = process.communicate()
    if process.returncode != 0:
        return {**record, "status": f"failed (exit {process.returncode})", "error": err.strip().splitlines()[-1:]}
    return {**record, "status": "ok", **json.loads(out.strip().splitlines()[-1]),
            "wall_seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--max-rss-gb", type=float, default=20.0, help="stop a case above this resident memory")
    parser.add_argument("--timeout", type=float, default=3600.0, help="stop a case after this many seconds")
    args = parser.parse_args()
    for name in args.cases:
        print(json.dumps({"benchmark": "mbgmn_scale", **run_case(name, args.max_rss_gb, args.timeout)}), flush=True)


if __name__ == "__main__":
    main()
