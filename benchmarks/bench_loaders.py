"""Benchmark the loaders of a user's own data: seconds to read and split a ratings file of
``--rows`` rows (``user,item,rating,timestamp``, ML-20M-like skew: Zipf item popularity, a
long tail of light users) with integer ids and with text ids, with and without the
validation split, and a session log through the session recipe. Prints one JSON line.

    python benchmarks/bench_loaders.py --rows 1000000

The files are generated in a temporary folder (numpy, seeded), written once and read by
``tfrec.load_dataset`` as a user's CLI run would (``--data ratings --data-dir FILE``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import emit


def _ratings_file(folder: Path, rows: int, text_ids: bool, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    num_users, num_items = max(2, rows // 150), max(200, rows // 80)
    user_weight = 1.0 / (np.arange(num_users) + 20.0) ** 0.8  # a few heavy users, a long tail
    item_weight = 1.0 / (np.arange(num_items) + 1.0)  # Zipf popularity
    users = rng.choice(num_users, rows, p=user_weight / user_weight.sum())
    items = rng.choice(num_items, rows, p=item_weight / item_weight.sum())
    ratings = rng.integers(1, 6, rows)
    times = 1_000_000_000 + rng.integers(0, 10**8, rows)
    if text_ids:
        user_col = np.char.add("user-", users.astype(str))
        item_col = np.char.add("tt", (1_000_000 + 7 * items).astype(str))
    else:
        user_col, item_col = (users * 13 + 5).astype(str), (items * 7 + 100_000).astype(str)
    path = folder / f"ratings-{'text' if text_ids else 'int'}.csv"
    lines = np.char.add(np.char.add(np.char.add(np.char.add(user_col, ","), item_col), ","), ratings.astype(str))
    lines = np.char.add(np.char.add(lines, ","), times.astype(str))
    path.write_text("user,item,rating,timestamp\n" + "\n".join(lines.tolist()) + "\n")
    return path


def _sessions_file(folder: Path, rows: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    sessions = np.sort(rng.integers(0, rows // 4, rows))
    weight = 1.0 / (np.arange(max(200, rows // 50)) + 1.0)
    items = rng.choice(weight.size, rows, p=weight / weight.sum())
    times = 1_600_000_000 + sessions * 60 + rng.integers(0, 600, rows)
    lines = [f"s{s},{i},{t}" for s, i, t in zip(sessions.tolist(), items.tolist(), times.tolist())]
    path = folder / "sessions.csv"
    path.write_text("session_id,item_id,timestamp\n" + "\n".join(lines) + "\n")
    return path


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return round(time.perf_counter() - start, 3), out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import tfrec

    record = {"benchmark": "loaders", "rows": args.rows}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for text_ids in (False, True):
            path = _ratings_file(folder, args.rows, text_ids, args.seed)
            kind = "text_ids" if text_ids else "int_ids"
            for validation in (False, True):
                seconds, data = _timed(lambda: tfrec.load_dataset("ratings", path, validation=validation, progress=False))
                record[f"ratings_{kind}{'_validation' if validation else ''}_seconds"] = seconds
            record[f"ratings_{kind}_users_items"] = [data.num_users, data.num_items]
        path = _sessions_file(folder, args.rows, args.seed)
        seconds, data = _timed(lambda: tfrec.load_dataset("sessions", path, test_days=1, progress=False))
        record["sessions_seconds"] = seconds
        record["sessions_train_test_prefixes"] = [data.num_train, data.num_test]
    return emit(record)


if __name__ == "__main__":
    main()
