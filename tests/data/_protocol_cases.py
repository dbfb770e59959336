"""Fixed tiny inputs for every reference loader, and a digest of the arrays they load.

``tests/data/test_protocols_unchanged.py`` compares the digests with values recorded from the
loaders as they were before validation splits, text ids and thresholds were added: with
validation off, every reference and synthetic protocol must load bit-identical arrays.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import scipy.sparse as sp

# user, item, rating, timestamp: ties (user 3, t=7), a repeated pair (user 2, item 14), a user
# with one row (user 9), enough items for a few negatives per user
RATINGS = [
    (1, 10, 5, 100), (1, 11, 3, 101), (1, 12, 4, 102), (1, 13, 1, 90), (1, 14, 2, 95),
    (2, 10, 2, 50), (2, 14, 1, 40), (2, 14, 5, 60), (2, 15, 4, 55), (2, 16, 3, 41),
    (3, 11, 4, 7), (3, 12, 4, 7), (3, 17, 5, 7), (3, 18, 2, 3), (3, 19, 1, 9), (3, 20, 5, 8),
    (4, 20, 3, 1), (4, 21, 4, 2), (4, 22, 5, 3), (4, 23, 2, 4), (4, 10, 1, 5), (4, 11, 4, 6),
    (9, 24, 5, 1),
] + [(5 + u % 3, 25 + k, 1 + (u * k) % 5, 10 * u + k) for u in range(3) for k in range(6)]

USERS_DAT = "".join(f"{u}::{'FM'[u % 2]}::{(1, 18, 25, 35)[u % 4]}::{u % 5}::{10000 + 37 * u:05d}\n" for u in range(1, 10))
GENRES = ("Action", "Comedy", "Drama", "Horror")
MOVIES_DAT = "".join(
    f"{m}::Movie {m} (1999)::{'|'.join(GENRES[(m + j) % 4] for j in range(1 + m % 3))}\n" for m in range(10, 31)
)


def write_ml_folder(root: Path) -> Path:
    """``ratings.dat``, ``users.dat``, ``movies.dat`` and ``u.data`` of :data:`RATINGS`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "ratings.dat").write_text("".join("::".join(map(str, r)) + "\n" for r in RATINGS))
    (root / "u.data").write_text("".join("\t".join(map(str, r)) + "\n" for r in RATINGS))
    (root / "ratings.csv").write_text("user,item,rating,timestamp\n" + "".join(",".join(map(str, r)) + "\n" for r in RATINGS))
    (root / "users.dat").write_text(USERS_DAT)
    (root / "movies.dat").write_text(MOVIES_DAT)
    return root


def write_interactions(root: Path, timestamps: bool = True) -> Path:
    """A multi-behavior log: every user views 12 items, carts 4 and buys 3 of them."""
    rows = []
    for u in range(6):
        for k in range(12):
            item = 100 + (u * 5 + k) % 20
            rows.append((u, item, "view", 10 * k))
            if k % 3 == 0:
                rows.append((u, item, "cart", 10 * k + 1))
            if k % 4 == 0:
                rows.append((u, item, "buy", 10 * k + 2 - u % 2))
    root.mkdir(parents=True, exist_ok=True)
    file = root / ("log.csv" if timestamps else "log_nt.csv")
    file.write_text("".join(",".join(map(str, r if timestamps else r[:3])) + "\n" for r in rows))
    return file


def write_mbgmn(root: Path) -> Path:
    rng = np.random.default_rng(11)
    cart = sp.csr_matrix((rng.random((8, 60)) < 0.3).astype(np.int32))
    buy = sp.csr_matrix(cart.multiply(rng.random((8, 60)) < 0.5).astype(np.int32))
    root.mkdir(parents=True, exist_ok=True)
    for name, obj in (("trn_cart", cart), ("trn_buy", buy), ("tst_int", [None, 3, 7, None, 9, 1, None, 30])):
        with open(root / name, "wb") as handle:
            pickle.dump(obj, handle, protocol=3)
    return root


def write_session_log(root: Path) -> Path:
    rng = np.random.default_rng(5)
    rows = []
    for s in range(60):
        start = 1_600_000_000 + s * 20_000
        for k in range(int(rng.integers(1, 6))):
            rows.append((f"s{s}", int(rng.integers(0, 15)), start + 30 * k))
    root.mkdir(parents=True, exist_ok=True)
    file = root / "sessions.csv"
    file.write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
    return file


# the arrays of each task data type as it was (new fields are left out)
FIELDS = {
    "ImplicitFeedback": ("num_users", "num_items", "train", "test_users", "test_items", "test_negatives", "user_ids", "item_ids"),
    "MultiBehavior": ("num_users", "num_items", "behaviors", "matrices", "test_users", "test_items", "test_negatives"),
    "SequenceData": (
        "num_users", "num_items", "maxlen", "train_users", "train_histories", "train_items", "train_negatives",
        "val_users", "val_histories", "val_items", "val_negatives", "test_users", "test_histories", "test_items",
        "test_negatives", "user_items", "user_ids", "item_ids",
    ),
    "CTRData": ("fields", "train_features", "train_labels", "test_features", "test_labels", "user_ids", "item_ids"),
    "SessionData": ("num_items", "train", "train_targets", "test", "test_targets", "all_train_seq"),
}


def _feed(h, value) -> None:
    if value is None or isinstance(value, (int, str, float)):
        h.update(repr(value).encode())
    elif isinstance(value, np.ndarray):
        h.update(f"{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif sp.issparse(value):
        value = value.tocsr()
        for part in (value.indptr, value.indices, value.data):
            _feed(h, part)
        h.update(repr(value.shape).encode())
    elif isinstance(value, dict):
        for key in sorted(value):
            h.update(key.encode())
            _feed(h, value[key])
    elif isinstance(value, (tuple, list)):
        for v in value:
            _feed(h, v)
    elif hasattr(value, "offsets"):  # SessionSequences
        _feed(h, value.values)
        _feed(h, value.offsets)
    elif hasattr(value, "as_dict"):  # CTRField
        _feed(h, value.as_dict())
    else:  # pragma: no cover
        raise TypeError(type(value))


def digest(data) -> str:
    """A SHA-1 over the dtypes, shapes and bytes of the data's (pre-existing) fields."""
    h = hashlib.sha1()
    for name in FIELDS[type(data).__name__]:
        h.update(name.encode())
        _feed(h, getattr(data, name))
    return h.hexdigest()
