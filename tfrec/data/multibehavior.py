"""Multi-behavior data for MB-GMN (seed 000, "Dataset": ``DataHandler``, ``sampleTrainBatch``).

* :func:`load_mbgmn` reads the reference's format: per behavior a pickled scipy CSR user x item
  matrix ``trn_<behavior>`` and ``tst_int`` (per user the held-out target item, or ``None``).
  Pickles are loaded with :func:`tfrec.data.files.safe_unpickle`, which only admits the classes
  these files contain; and only files whose checksum matched the registry (downloads) or that
  the user named with ``--data-dir`` are read at all. Loading a pickle can run code: do not
  point ``--data-dir`` at files you do not trust.
* :func:`load_interactions` reads a user's own log ``user,item,behavior[,timestamp]``.
* The offline default, nested synthetic behaviors (view >= cart >= buy), is
  :func:`tfrec.data.synthetic.load_synthetic_mb`.
* :func:`behavior_pair_grid` is the reference's per-user training sampler, vectorised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from tfrec.data.files import check_flag, find_user_file, ids_of, read_table, safe_unpickle
from tfrec.data.sampling import held_out_negatives, leave_one_out_rows, sample_negatives, sample_test_negatives
from tfrec.data.types import MultiBehavior, RankingSplit
from tfrec.errors import DataError, naming


def _binary_csr(matrix, path: Path) -> sp.csr_matrix:
    if not sp.issparse(matrix):
        raise DataError(f"{path}: expected a pickled scipy sparse matrix; got {type(matrix).__name__}")
    binary = (sp.csr_matrix(matrix) != 0).astype(np.float32).tocsr()
    binary.sort_indices()
    return binary


def _parse_behaviors(behaviors, source) -> list[str] | None:
    """``behaviors`` (``"cart,buy"`` or a list) as a list; ``None`` stays ``None`` (the default).

    Raises:
        DataError: no behavior named, or one named twice.
    """
    if behaviors is None:
        return None
    if isinstance(behaviors, str):
        behaviors = behaviors.split(",")
    if not isinstance(behaviors, (list, tuple)) or not all(isinstance(b, str) for b in behaviors):
        raise DataError(f"{source}: --set behaviors must be names like cart,buy; got {behaviors!r}")
    names = [b.strip() for b in behaviors if b.strip()]
    if not names:
        raise DataError(f"{source}: --set behaviors={','.join(behaviors)!s} names no behavior")
    repeated = sorted({b for b in names if names.count(b) > 1})
    if repeated:
        raise DataError(f"{source}: --set behaviors names {', '.join(repeated)} more than once")
    return names


def load_mbgmn(
    path: Path,
    *,
    seed: int = 0,
    behaviors=None,
    all_behaviors=("pv", "cart", "buy"),
    num_test_negatives: int = 99,
    name: str = "beibei",
) -> MultiBehavior:
    """Load MB-GMN's pickled files from ``path``.

    Args:
        path: folder with ``trn_<behavior>`` files and ``tst_int``.
        seed: seeds the test negatives.
        behaviors: behaviors to use, in order, target last (list or ``"cart,buy"``); default:
            those of ``all_behaviors`` whose file exists, in that order.
        all_behaviors: the dataset's behaviors in the reference's order.
        num_test_negatives: sampled negatives per test user (items the user has no training
            target interaction with, never the held-out item).
        name: dataset name.

    Raises:
        DataError: unknown or missing behavior, shapes that disagree, an empty behavior, a
            ``tst_int`` of the wrong length or with an item out of range; each names the file.
    """
    path = Path(path)
    present = [b for b in all_behaviors if (path / f"trn_{b}").exists()]
    chosen = _parse_behaviors(behaviors, path)
    if chosen is None:
        if not present:
            raise DataError(f"{path}: no trn_<behavior> files found; expected some of {', '.join('trn_' + b for b in all_behaviors)}")
        if all_behaviors[-1] not in present:  # tst_int holds held-out items of the target behavior
            raise DataError(
                f"{path / ('trn_' + all_behaviors[-1])}: the target behavior {all_behaviors[-1]!r} is missing (tst_int "
                f"holds its held-out items); present: {', '.join(present)}. To train on these anyway, name them "
                f"with --set behaviors=..., the last one as the target"
            )
        chosen = present
    others = sorted(p.name[4:] for p in path.glob("trn_*") if p.is_file() and p.name[4:] not in all_behaviors)
    for behavior in chosen:
        if not (path / f"trn_{behavior}").exists():
            raise DataError(
                f"{path / ('trn_' + behavior)}: behavior {behavior!r} not found; behaviors present: "
                f"{', '.join(present + others) or 'none'}"
            )
    matrices = []
    for behavior in chosen:
        file = path / f"trn_{behavior}"
        matrix = _binary_csr(safe_unpickle(file), file)
        if matrices and matrix.shape != matrices[0].shape:
            raise DataError(f"{file}: shape {matrix.shape} differs from trn_{chosen[0]}'s {matrices[0].shape}")
        if matrix.nnz == 0:
            raise DataError(f"{file}: behavior {behavior!r} has no interactions")
        matrices.append(matrix)
    num_users, num_items = matrices[0].shape
    test_file = path / "tst_int"
    tests = safe_unpickle(test_file)
    one_dimensional = not isinstance(tests, np.ndarray) or tests.ndim == 1
    if not isinstance(tests, (list, tuple, np.ndarray)) or not one_dimensional or len(tests) != num_users:
        raise DataError(f"{test_file}: expected a list of {num_users} entries (an item id or None per user)")
    test_users = np.array([u for u, item in enumerate(tests) if item is not None], dtype=np.int64)
    try:
        test_items = np.array([tests[u] for u in test_users], dtype=np.int64)
    except (TypeError, ValueError, OverflowError):  # text, lists of different lengths, nan, inf, > int64
        test_items = None
    if test_items is None or test_items.ndim != 1:
        raise DataError(f"{test_file}: test items must be integers or None")
    bad = (test_items < 0) | (test_items >= num_items)
    if bad.any():
        u = int(test_users[np.flatnonzero(bad)[0]])
        raise DataError(f"{test_file}: user {u}'s test item {tests[u]} is outside 0..{num_items - 1}")
    with naming(test_file):  # too few free items for the negatives: name the file
        negatives = sample_test_negatives(matrices[-1], test_users, test_items, num_test_negatives, np.random.default_rng(seed))
    return MultiBehavior(
        name=name,
        num_users=num_users,
        num_items=num_items,
        behaviors=tuple(chosen),
        matrices=tuple(matrices),
        test_users=test_users,
        test_items=test_items,
        test_negatives=negatives,
        info={"source": str(path), "behaviors": chosen, "split": "the MB-GMN files' tst_int (one held-out target item per user)"},
    )


def load_beibei(path: Path, *, seed: int = 0, behaviors=None, num_test_negatives: int = 99) -> MultiBehavior:
    """BeiBei (behaviors ``pv, cart, buy``; those present are used)."""
    return load_mbgmn(
        path, seed=seed, behaviors=behaviors, all_behaviors=("pv", "cart", "buy"), num_test_negatives=num_test_negatives, name="beibei"
    )


def load_tmall_mb(path: Path, *, seed: int = 0, behaviors=None, num_test_negatives: int = 99) -> MultiBehavior:
    """Tmall in MB-GMN's preprocessing (behaviors ``pv, fav, cart, buy``)."""
    return load_mbgmn(
        path, seed=seed, behaviors=behaviors, all_behaviors=("pv", "fav", "cart", "buy"),
        num_test_negatives=num_test_negatives, name="tmall-mb",
    )


INTERACTION_LAYOUTS = {3: ("user", "item", "behavior"), 4: ("user", "item", "behavior", "timestamp")}


def load_interactions(
    path: Path,
    *,
    seed: int = 0,
    target: str | None = None,
    behaviors=None,
    num_test_negatives: int = 99,
    validation: bool = True,
) -> MultiBehavior:
    """A user's interaction log: CSV/TSV rows ``user,item,behavior[,timestamp]`` (header or not).

    Users and items may be any text ids (int64 when all are integers) and are re-indexed in
    sorted order of their ids (kept in ``user_ids`` / ``item_ids``). Behaviors are ``behaviors``
    in that order (target last) if given, else in order of first appearance with ``target``
    moved last. Each user's latest ``target`` interaction (largest timestamp; the last such row
    in the file without timestamps; the first row among equal timestamps) is held out from the
    target matrix only; a user with a single target interaction keeps it and has no test item.
    With ``validation`` (default on) the user's second-latest target item is held out too and
    becomes ``validation`` (users with fewer than 3 distinct target items keep theirs; ``None``
    when no user has 3).

    Args:
        path: the file, or a folder holding exactly one ``interactions.*`` file.
        seed: seeds the negatives (test first, then validation).
        target: the target behavior (``--set target=buy``), required.
        behaviors: behaviors to use (list or ``"view,cart,buy"``), default all of the file's.
        num_test_negatives: sampled negatives per test / validation user (99).
        validation: hold out a validation split (default ``True``).

    Raises:
        DataError: a malformed row (file and line), a missing ``--set target=...``, or a target or
            behavior that does not occur in the file (the message lists those present).
    """
    validation = check_flag(validation, "validation")
    path = find_user_file(Path(path).expanduser(), ("interactions",), "user,item,behavior[,timestamp] rows")
    frame = read_table(path, INTERACTION_LAYOUTS, numeric=("timestamp",), what="user,item,behavior[,timestamp]")
    behavior = frame["behavior"].to_numpy(dtype=str)
    found = list(dict.fromkeys(behavior.tolist()))
    if target is None:
        raise DataError(f"{path}: name the target behavior with --set target=NAME (behaviors in the file: {', '.join(found)})")
    if target not in found:
        raise DataError(f"{path}: target behavior {target!r} does not occur; behaviors in the file: {', '.join(found)}")
    chosen = _parse_behaviors(behaviors, path)
    chosen = [b for b in found if b != target] + [target] if chosen is None else chosen
    if chosen[-1] != target:
        chosen = [b for b in chosen if b != target] + [target]
    for name in chosen:
        if name not in found:
            raise DataError(f"{path}: behavior {name!r} does not occur; behaviors in the file: {', '.join(found)}")
    user_ids, users = np.unique(ids_of(frame, "user"), return_inverse=True)
    item_ids, items = np.unique(ids_of(frame, "item"), return_inverse=True)
    times = frame["timestamp"].to_numpy() if "timestamp" in frame.columns else np.arange(len(frame), dtype=np.float64)
    rows = np.flatnonzero(behavior == target)
    order = np.lexsort((rows, -times[rows], users[rows]))  # per user: latest first, then file order
    shape = (len(user_ids), len(item_ids))
    test_at, val_at = leave_one_out_rows(users[rows], items[rows], order, shape[0], validation=validation)
    held, held_val = rows[test_at], rows[val_at]
    keep = np.ones(len(frame), dtype=bool)
    keep[held] = False
    keep[held_val] = False
    matrices = []
    for name in chosen:
        mask = (behavior == name) & keep
        matrix = sp.csr_matrix((np.ones(mask.sum(), np.float32), (users[mask], items[mask])), shape=shape)
        matrix.data[:] = 1.0
        matrices.append(matrix)
    test_users, test_items = users[held].astype(np.int64), items[held].astype(np.int64)
    val_users, val_items = users[held_val].astype(np.int64), items[held_val].astype(np.int64)
    removed = np.concatenate([held, held_val])
    train_target = matrices[-1] - matrices[-1].multiply(
        sp.csr_matrix((np.ones(removed.size, np.float32), (users[removed], items[removed])), shape=shape)
    )
    train_target.eliminate_zeros()
    matrices[-1] = train_target.tocsr()
    with naming(path):  # too few free items for the negatives: name the file
        negatives, val_negatives = held_out_negatives(
            matrices[-1], (test_users, test_items), (val_users, val_items) if validation else None,
            num_test_negatives, np.random.default_rng(seed),
        )
    split = "leave-latest-target-out" + (", the second-latest target item validation" if validation and held_val.size else "")
    extra = {"validation": "none: no user has 3 or more distinct target items"} if validation and not held_val.size else {}
    return MultiBehavior(
        name="interactions",
        num_users=shape[0],
        num_items=shape[1],
        behaviors=tuple(chosen),
        matrices=tuple(matrices),
        test_users=test_users,
        test_items=test_items,
        test_negatives=negatives,
        info={"source": str(path), "target": target, "split": split, "num_rows": len(frame),
              "timestamps": "timestamp" in frame.columns, **extra},
        user_ids=user_ids,
        item_ids=item_ids,
        validation=RankingSplit(val_users, val_items, val_negatives) if validation and held_val.size else None,
    )


def epoch_users(num_users: int, trn_num: int, rng: np.random.Generator) -> np.ndarray:
    """The users of one training epoch: ``permutation(num_users)[:trn_num]`` (seed 000 ``trainEpoch``)."""
    return rng.permutation(num_users)[:trn_num]


def behavior_pair_grid(
    matrix: sp.csr_matrix, users: np.ndarray, samp_num: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seed 000 ``sampleTrainBatch`` for one behavior, vectorised over the batch, as a grid.

    Per user ``c = min(samp_num, degree)`` positives drawn with replacement from the user's row
    and ``c`` negatives drawn uniformly from the items the user has not interacted with in this
    behavior. A user with no interaction in the behavior contributes no pair: the reference
    draws a placeholder item for it but its copy loop runs ``min(sampNum, 0) = 0`` times, so
    nothing reaches the loss (seed 000 ``sampleTrainBatch``).

    The pairs are laid out per user -- row ``b`` holds user ``users[b]``'s pairs in its first
    ``c_b`` slots -- so that a ``tf.distribute`` split of the batch along its first axis keeps
    every positive beside its negative. Read row by row, the valid slots are the reference's
    pair order (user after user), and the draws are the same as for a flat list.

    Returns:
        ``(positives [B, S], negatives [B, S], mask [B, S])``: int32 item ids (0 where the
        mask is ``False``) and the bool mask of the valid slots, ``S = samp_num``.
    """
    users = np.asarray(users, dtype=np.int64)
    degree = np.diff(matrix.indptr)[users]
    counts = np.minimum(samp_num, degree)
    pair_users = np.repeat(users, counts)
    pair_degree = np.repeat(degree, counts)
    offsets = np.minimum(np.floor(rng.random(pair_users.size) * pair_degree).astype(np.int64), pair_degree - 1)
    positives = matrix.indices[matrix.indptr[pair_users] + offsets]
    negatives = sample_negatives(pair_users, matrix, rng)
    mask = np.arange(samp_num)[None, :] < counts[:, None]
    grid_pos = np.zeros(mask.shape, np.int32)
    grid_neg = np.zeros(mask.shape, np.int32)
    grid_pos[mask], grid_neg[mask] = positives, negatives  # row-major: user after user, as drawn
    return grid_pos, grid_neg, mask
