"""Session-based next-item data for COTREC (seed 002): loaders, graphs and a validation split.

Numpy / scipy / pandas only (no TensorFlow).

* :func:`load_cotrec` reads the reference's pickles: ``train.txt`` and ``test.txt`` as
  ``(list of item-id sequences, list of next items)`` and ``all_train_seq.txt`` (the training
  sessions before prefix augmentation); items are numbered from 1. Without ``train.txt`` the
  training pairs are derived from ``all_train_seq.txt`` by :func:`prefix_pairs` (every prefix of
  every session, its next item; :mod:`tfrec.data.splits`). Pickles are read with
  :func:`tfrec.data.files.safe_unpickle` (lists and ints only get through); still, only point
  ``--data-dir`` at files you trust.
* :func:`load_session_log` turns a raw click log ``session_id,item_id,timestamp`` into the same
  task data by the standard recipe (SR-GNN's ``preprocess.py``, which COTREC's files come from).
* :func:`item_transition_graph` is COTREC's item-view adjacency (``data_masks`` then the column
  normalisation in ``Data.__init__``); :func:`session_overlap` is its session-view matrix
  (``Data.get_overlap``, then ``D^-1 A``), both vectorised.
* :func:`split_validation` holds out whole training sessions as a validation split.

The offline default ``synthetic-sessions`` is :func:`tfrec.data.synthetic.synthetic_sessions`.
"""

from __future__ import annotations

import gc
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrec.data.files import id_values, line_finder, safe_unpickle, sniff_delimiter
from tfrec.data.splits import prefix_pairs
from tfrec.data.types import SessionData, SessionSequences
from tfrec.errors import DataError

SECONDS_PER_DAY = 86_400.0


# --------------------------------------------------------------------------------------------
# COTREC's pickles
# --------------------------------------------------------------------------------------------
def _unpickle(file: Path):
    """:func:`safe_unpickle` with the garbage collector paused: these pickles hold millions of
    small lists, and collections triggered while building them cost several times the load itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return safe_unpickle(file)
    finally:
        if enabled:
            gc.enable()


def _sequences(obj, file: Path, what: str) -> SessionSequences:
    """A pickled list of item-id lists as SessionSequences, with errors naming ``file``."""
    if not isinstance(obj, (list, tuple)):
        raise DataError(f"{file}: expected {what} as a list of item-id lists; got {type(obj).__name__}")
    if not obj:
        raise DataError(f"{file}: no sequences in {what}; expected a non-empty list of item-id lists")
    try:
        sequences = SessionSequences.from_lists(obj)
    except (TypeError, ValueError, OverflowError) as error:
        bad = next((k for k, s in enumerate(obj) if not isinstance(s, (list, tuple)) or not all(isinstance(i, (int, np.integer)) for i in s)), None)
        where = f" (entry {bad}: {obj[bad]!r:.60})" if bad is not None else ""
        raise DataError(f"{file}: {what} must be lists of integer item ids{where} ({error})") from None
    empty = np.flatnonzero(sequences.lengths == 0)
    if empty.size:
        raise DataError(f"{file}: {what} entry {int(empty[0])} is an empty sequence; every sequence needs at least one item")
    return sequences


def _targets(obj, file: Path, count: int) -> np.ndarray:
    if not isinstance(obj, (list, tuple, np.ndarray)):
        raise DataError(f"{file}: expected the next items as a list of item ids; got {type(obj).__name__}")
    if len(obj) != count:
        raise DataError(f"{file}: {count} sequences but {len(obj)} next items; expected one next item per sequence")
    try:
        return np.fromiter(obj, dtype=np.int64, count=count)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"{file}: the next items must be integer item ids") from None


def _read_pairs(file: Path) -> tuple[SessionSequences, np.ndarray]:
    obj = _unpickle(file)
    if not isinstance(obj, (list, tuple)) or len(obj) != 2:
        raise DataError(f"{file}: expected a pair (list of item-id sequences, list of next items); got {type(obj).__name__}"
                        + (f" of length {len(obj)}" if isinstance(obj, (list, tuple)) else ""))
    sequences = _sequences(obj[0], file, "the sequences")
    return sequences, _targets(obj[1], file, len(sequences))


def _check_range(file: Path, what: str, values: np.ndarray, num_items: int) -> None:
    bad = np.flatnonzero((values < 1) | (values > num_items))
    if bad.size:
        raise DataError(
            f"{file}: {what} holds item id {int(values[bad[0]])}, outside 1..{num_items} "
            "(items are numbered from 1; 0 is padding)"
        )


def load_cotrec(
    path: str | Path,
    *,
    seed: int = 0,
    name: str | None = None,
    num_items: int | None = None,
    min_prefix_len: int | None = None,
) -> SessionData:
    """COTREC's pickled session data from the folder ``path``.

    Reads ``all_train_seq.txt`` (training sessions), ``test.txt`` and, when present,
    ``train.txt``; without ``train.txt`` the training pairs are every prefix of every
    ``all_train_seq`` session labelled with its next item (:func:`prefix_pairs`), as the files
    were made. The files are used as they are: nothing is shuffled, ``seed`` is unused.

    Args:
        path: the folder holding the files.
        seed: unused (the split is in the files); accepted like every loader.
        name: dataset name; default the folder's name, lower-cased.
        num_items: the catalogue size (COTREC's ``n_node``); default the largest item id in the
            three files (which is the reference's ``n_node`` for Diginetica, Tmall, RetailRocket).
        min_prefix_len: shortest prefix when deriving training pairs; default the shortest prefix
            in ``test.txt`` (1 for Diginetica and Tmall, 2 for RetailRocket).

    Raises:
        DataError: a missing, empty, truncated or malformed file, an empty sequence, sequences and
            next items of different lengths, or an item id outside ``1..num_items``; each names
            the file.
    """
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"{path}: expected a folder holding all_train_seq.txt, test.txt and optionally train.txt")
    all_file, train_file, test_file = path / "all_train_seq.txt", path / "train.txt", path / "test.txt"
    all_train = _sequences(_unpickle(all_file), all_file, "the training sessions")
    test, test_targets = _read_pairs(test_file)
    derived = not train_file.exists()
    if derived:
        if min_prefix_len is None:
            min_prefix_len = int(test.lengths.min())
        train, train_targets = prefix_pairs(all_train, min_prefix_len=min_prefix_len)
        if len(train) == 0:
            raise DataError(f"{all_file}: no session is longer than {min_prefix_len}; no training pairs can be derived")
    else:
        train, train_targets = _read_pairs(train_file)
    largest = max(int(a.max()) for a in (all_train.values, test.values, test_targets, train.values, train_targets))
    if num_items is None:
        num_items = largest
    for file, what, values in (
        (all_file, "a session", all_train.values),
        (test_file, "a sequence", test.values),
        (test_file, "a next item", test_targets),
        (train_file if not derived else all_file, "a sequence", train.values),
        (train_file if not derived else all_file, "a next item", train_targets),
    ):
        _check_range(file, what, values, int(num_items))
    info = {
        "source": str(path),
        "format": "COTREC pickles",
        "split": "the files' test.txt (COTREC's split)",
        "train_pairs": "derived from all_train_seq.txt" if derived else "train.txt",
        "min_prefix_len": min_prefix_len,
        "num_train_sessions": len(all_train),
        "num_test_sessions": _count_chains(test),
        "num_train": len(train),
        "num_test": len(test),
    }
    return SessionData(
        name=name or path.name.lower(),
        num_items=int(num_items),
        train=train,
        train_targets=train_targets.astype(np.int32),
        test=test,
        test_targets=test_targets.astype(np.int32),
        all_train_seq=all_train,
        info=info,
    )


def session_of_pairs(prefixes: SessionSequences) -> np.ndarray:
    """``[P]`` int64 session number of each prefix of a :func:`prefix_pairs`-ordered list.

    A new session starts wherever a prefix is not its predecessor minus its last item (what
    ``test.txt`` and ``train.txt`` look like: each session's prefixes are consecutive, longest
    first). Two sessions where the second's first prefix happens to be the first's last prefix
    minus one item would be merged; that needs identical leading items and cannot be told apart.
    """
    lengths = prefixes.lengths
    n = lengths.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    cont = np.zeros(n, dtype=bool)
    cont[1:] = lengths[1:] == lengths[:-1] - 1
    # positions whose prefix must equal the predecessor's first lengths[k] items
    k = np.flatnonzero(cont)
    if k.size:
        size = lengths[k]
        within = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
        mine = prefixes.values[np.repeat(prefixes.offsets[k], size) + within]
        theirs = prefixes.values[np.repeat(prefixes.offsets[k - 1], size) + within]
        differs = np.zeros(k.size, dtype=bool)
        np.logical_or.at(differs, np.repeat(np.arange(k.size), size), mine != theirs)
        cont[k[differs]] = False
    return np.cumsum(~cont) - 1


def _count_chains(prefixes: SessionSequences) -> int:
    ids = session_of_pairs(prefixes)
    return int(ids[-1]) + 1 if ids.size else 0


# --------------------------------------------------------------------------------------------
# Graphs
# --------------------------------------------------------------------------------------------
def _as_sequences(sessions) -> SessionSequences:
    return sessions if isinstance(sessions, SessionSequences) else SessionSequences.from_lists(sessions)


def item_transition_graph(sessions, num_items: int, *, normalize: bool = True) -> sp.csr_matrix:
    """COTREC's item-view adjacency of training sessions (``data_masks`` + ``Data.__init__``).

    Row and column ``i - 1`` stand for item ``i`` (COTREC's layout: ``[n_node, n_node]``).
    Entry ``[a, b]`` counts the transitions ``a -> b`` (consecutive clicks) over all sessions,
    and every item that is the source of some transition gets a self loop ``[a, a]`` of 1 on top
    of its ``a -> a`` transitions -- except that, as in the reference's dict code, when an item's
    first transition (in session order) is ``a -> a`` itself the self loop and that transition
    count once together. Items that are never a source have no self loop. With ``normalize`` each
    column is divided by its sum (the reference's ``adj.multiply(1 / adj.sum(axis=0))``); empty
    columns stay empty. Propagation is ``A @ E``.

    Args:
        sessions: :class:`SessionSequences` or a list of item-id lists (ids ``1..num_items``).
        num_items: the number of items (COTREC's ``n_node``).
        normalize: column-normalise (default) or return the raw counts.

    Returns:
        ``[num_items, num_items]`` float32 CSR with sorted indices.
    """
    seqs = _as_sequences(sessions)
    values = seqs.values.astype(np.int64) - 1
    not_last = np.ones(values.size, dtype=bool)
    not_last[seqs.offsets[1:][seqs.lengths > 0] - 1] = False
    pos = np.flatnonzero(not_last)
    src, dst = values[pos], values[pos + 1]
    sources, first = np.unique(src, return_index=True)
    self_weight = (src[first] != dst[first]).astype(np.float64)  # 1, or 0 when the first is a -> a
    rows = np.concatenate([src, sources])
    cols = np.concatenate([dst, sources])
    data = np.concatenate([np.ones(src.size), self_weight])
    adj = sp.csr_matrix((data, (rows, cols)), shape=(num_items, num_items))
    adj.sum_duplicates()
    adj.eliminate_zeros()
    if normalize:
        colsum = np.bincount(adj.indices, weights=adj.data, minlength=num_items)
        adj.data = adj.data / colsum[adj.indices]
    adj = adj.astype(np.float32)
    adj.sort_indices()
    return adj


def session_overlap(batch_item_sets, *, normalize: bool = True) -> np.ndarray:
    """COTREC's session-view matrix of one batch (``Data.get_overlap``), vectorised.

    ``A[i, j]`` is the Jaccard overlap ``|S_i & S_j| / |S_i | S_j|`` of the item sets of sessions
    ``i != j`` (padding 0 is not an item) and ``A[i, i] = 1`` (the identity added); with
    ``normalize`` the result is ``D^-1 A`` with ``D = diag(A.sum(1))``, the product the
    reference's ``SessConv`` uses. A session with no items overlaps nothing (the reference would
    divide by zero).

    Args:
        batch_item_sets: ``[B, L]`` int array of item ids, 0-padded (COTREC's ``session_item``),
            or a list of ``B`` item-id sequences.

    Returns:
        ``[B, B]`` float64: ``D^-1 A`` (rows sum to 1), or ``A`` with ``normalize=False``.
    """
    if isinstance(batch_item_sets, np.ndarray):
        items = batch_item_sets.reshape(batch_item_sets.shape[0], -1).astype(np.int64)
    else:
        items = _as_sequences(batch_item_sets).padded()[0].astype(np.int64)
    b = items.shape[0]
    rows = np.repeat(np.arange(b), items.shape[1])
    cols = items.ravel()
    keep = cols != 0
    incidence = sp.csr_matrix(
        (np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(b, int(cols.max(initial=0)) + 1)
    )
    incidence.sum_duplicates()
    incidence.data[:] = 1.0  # item sets: repeats count once
    inter = (incidence @ incidence.T).toarray()
    size = np.diag(inter).copy()
    union = size[:, None] + size[None, :] - inter
    matrix = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    np.fill_diagonal(matrix, 1.0)
    if normalize:
        matrix = matrix / matrix.sum(axis=1, keepdims=True)
    return matrix


# --------------------------------------------------------------------------------------------
# Raw session logs
# --------------------------------------------------------------------------------------------
_LOG_FIELDS = "session_id,item_id,timestamp"


def _find_log_file(path: Path) -> Path:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.name.startswith("sessions."))
        if len(files) != 1:
            found = ", ".join(p.name for p in files) or "none"
            raise DataError(f"{path}: expected exactly one sessions.csv / sessions.tsv file ({_LOG_FIELDS}); found {found}")
        return files[0]
    return path


def _parse_times(raw: pd.Series, time_unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since the epoch per row and a mask of rows whose timestamp cannot be read.

    Numbers (``time_unit`` ``"s"`` or ``"ms"``) if the first row's is a number, else ISO 8601
    dates / date-times (read as UTC).
    """
    numeric = pd.to_numeric(raw, errors="coerce")
    if not np.isnan(numeric.iloc[0]):
        scale = {"s": 1.0, "ms": 1e-3}[time_unit]
        values = numeric.to_numpy(np.float64)
        return values * scale, ~np.isfinite(values)
    dates = pd.to_datetime(raw, errors="coerce", format="ISO8601", utc=True)
    bad = dates.isna().to_numpy()
    seconds = np.zeros(len(raw))
    epoch = pd.Timestamp(0, tz="UTC").as_unit(dates.dt.unit)  # the dates' unit: year 1 or 3000 fit in "s", not "ns"
    seconds[~bad] = (dates[~bad] - epoch).dt.total_seconds().to_numpy()
    return seconds, bad


def _looks_like_time(text: str) -> bool:
    text = text.strip().strip('"')
    try:
        float(text)
        return True
    except ValueError:
        pass
    return not pd.isna(pd.to_datetime(text, errors="coerce", format="ISO8601"))


def read_session_log(path: str | Path, *, time_unit: str = "s") -> pd.DataFrame:
    """Read ``session_id,item_id,timestamp`` rows from a CSV / TSV / ``;``-separated file.

    The delimiter is detected from the first line; a first line whose timestamp field is neither
    a number nor a date is a header (its names are ignored: columns are positional). Session and
    item ids are labels (any text, compared as strings); timestamps are numbers in
    ``time_unit`` or ISO 8601 dates.

    Returns:
        A DataFrame with ``session`` and ``item`` (str) and ``time`` (float seconds).

    Raises:
        DataError: missing or empty file, a row without exactly three fields, an empty id or an
            unreadable timestamp (naming the file and the 1-based line).
    """
    if time_unit not in ("s", "ms"):
        raise DataError(f"time_unit must be 's' or 'ms'; got {time_unit!r}")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text ({error})") from None
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise DataError(f"{path}: the file is empty; expected rows of {_LOG_FIELDS}")
    sep = sniff_delimiter(lines[first])
    fields = lines[first].split(sep)
    if len(fields) != 3:
        raise DataError(f"{path}, line {first + 1}: expected 3 fields ({_LOG_FIELDS}); got {len(fields)}: {lines[first]!r}")
    header = not _looks_like_time(fields[2])
    skip = first + int(header)
    line_of = line_finder(lines, skip)

    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, header=None, names=["session", "item", "time", "extra"], skiprows=skip,
            dtype=str, keep_default_na=False, skip_blank_lines=True, engine="c",
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no rows after the header; expected {_LOG_FIELDS}") from None
    except pd.errors.ParserError as error:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        if match:
            line = int(match.group(2))  # the C parser counts physical lines, skipped and blank ones too
            raise DataError(f"{path}, line {line}: expected 3 fields ({_LOG_FIELDS}); got {match.group(3)}: {lines[line - 1]!r}") from None
        raise DataError(f"{path}: cannot parse ({error})") from None
    if frame.empty:
        raise DataError(f"{path}: no rows after the header; expected {_LOG_FIELDS}")
    frame = frame.fillna("")  # missing trailing fields
    wrong_width = (frame["extra"] != "").to_numpy()
    frame = frame.drop(columns="extra")
    for column in ("session", "item", "time"):
        frame[column] = frame[column].str.strip()
    seconds, bad = _parse_times(frame["time"], time_unit)
    bad = bad | wrong_width | (frame["session"] == "").to_numpy() | (frame["item"] == "").to_numpy()
    if bad.any():
        line = line_of(int(np.flatnonzero(bad)[0]))
        width = len(lines[line - 1].split(sep))
        if width != 3:
            raise DataError(f"{path}, line {line}: expected 3 fields ({_LOG_FIELDS}); got {width}: {lines[line - 1]!r}")
        raise DataError(
            f"{path}, line {line}: expected {_LOG_FIELDS} (non-empty ids; the timestamp a number or an ISO 8601 date "
            f"like the first row's); got {lines[line - 1]!r}"
        )
    out = pd.DataFrame({"session": frame["session"], "item": frame["item"], "time": seconds})
    out.attrs["source"] = str(path)
    return out


def _iso(seconds: float) -> str:
    """Seconds since 1970 as ISO 8601 UTC text (``"2020-01-07T00:00:00+00:00"``), or the number
    as text outside the years datetime can hold."""
    from datetime import datetime, timedelta, timezone

    try:
        return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=float(seconds))).isoformat()
    except (OverflowError, ValueError):
        return f"{seconds:g} s"


def sessions_from_log(
    frame: pd.DataFrame,
    *,
    test_days: float = 7.0,
    min_item_count: int = 5,
    min_session_length: int = 2,
    name: str = "sessions",
    source: str = "the session log",
) -> SessionData:
    """The standard session recipe (SR-GNN's ``preprocess.py``) on ``session, item, time`` rows.

    1. Clicks of a session are ordered by time (ties: file order); sessions are numbered in
       order of their first row.
    2. Sessions with fewer than ``min_session_length`` (2) clicks are dropped; then clicks of
       items seen fewer than ``min_item_count`` (5) times among the remaining clicks are dropped,
       and again sessions left shorter than ``min_session_length``.
    3. A session's time is its last click (before item filtering). Sessions ending more than
       ``test_days`` days (any float) before the latest session end are training sessions, the
       others test sessions (SR-GNN drops the sessions ending exactly at the cut; here they
       train). Each part is ordered by session end time (ties: first appearance). A tiny test
       split is kept: ``info`` holds the counts (``num_train`` / ``num_test`` prefixes,
       ``num_train_sessions`` / ``num_test_sessions``) and the cut as ``split_date`` (ISO 8601,
       UTC) for the trainer's data summary.
    4. Items are renumbered ``1..n`` in order of first appearance in the ordered training
       sessions; test clicks of items not in training are dropped, then test sessions shorter
       than ``min_session_length``.
    5. Both parts are augmented by :func:`prefix_pairs` (every prefix, its next item).

    ``item_ids[k]`` is the raw id of item ``k + 1``: int64 when every item id of the log is an
    integer (and no two spell the same number), else numpy ``U`` text.

    Raises:
        DataError: no training or no test session is left (the message gives the counts).
    """
    session_codes, _ = pd.factorize(frame["session"], sort=False)
    item_codes, item_labels = pd.factorize(frame["item"], sort=False)
    times = frame["time"].to_numpy(np.float64)
    rows = np.arange(len(frame))
    counts = {"rows": len(frame), "sessions": int(session_codes.max(initial=-1)) + 1}
    order = np.lexsort((rows, times, session_codes))
    sess, item, time = session_codes[order], item_codes[order], times[order]
    num_sessions = counts["sessions"]
    end = np.full(num_sessions, -np.inf)
    np.maximum.at(end, sess, time)

    length = np.bincount(sess, minlength=num_sessions)
    keep = length[sess] >= min_session_length
    item_count = np.bincount(item[keep], minlength=len(item_labels))
    keep &= item_count[item] >= min_item_count
    length = np.bincount(sess[keep], minlength=num_sessions)
    keep &= length[sess] >= min_session_length
    sess, item = sess[keep], item[keep]
    counts["sessions_after_filtering"] = int(np.count_nonzero(length >= min_session_length))

    cutoff = float(end.max(initial=0.0)) - test_days * SECONDS_PER_DAY
    is_test_session = end > cutoff

    def ordered(mask_sessions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Clicks of the chosen sessions, sessions ordered by end time (stable), as (session, item)."""
        chosen = mask_sessions[sess]
        s, i = sess[chosen], item[chosen]
        rank = np.empty(num_sessions, dtype=np.int64)
        rank[np.lexsort((np.arange(num_sessions), end))] = np.arange(num_sessions)
        o = np.argsort(rank[s], kind="stable")  # clicks keep their time order within a session
        return s[o], i[o]

    train_sess, train_item = ordered(~is_test_session)
    if train_sess.size == 0:
        raise DataError(
            f"{source}: no training session is left ({counts['sessions']} sessions, "
            f"{counts['sessions_after_filtering']} after dropping short sessions and items seen fewer than "
            f"{min_item_count} times, all ending within the last {test_days} days); lower test_days or min_item_count"
        )
    seen, first_pos = np.unique(train_item, return_index=True)
    new_id = np.zeros(len(item_labels), dtype=np.int64)  # 0: not in training
    new_id[seen[np.argsort(first_pos)]] = np.arange(1, seen.size + 1)
    num_items = int(seen.size)

    test_sess, test_item = ordered(is_test_session)
    test_item = new_id[test_item]
    known = test_item > 0
    test_sess, test_item = test_sess[known], test_item[known]
    test_len = np.bincount(test_sess, minlength=num_sessions)
    long_enough = test_len[test_sess] >= min_session_length
    test_sess, test_item = test_sess[long_enough], test_item[long_enough]
    if test_sess.size == 0:
        raise DataError(
            f"{source}: no test session is left (sessions ending in the last {test_days} days, of at least "
            f"{min_session_length} clicks on items seen in training); raise test_days"
        )

    def to_sequences(s: np.ndarray, values: np.ndarray) -> SessionSequences:
        boundaries = np.flatnonzero(np.diff(s)) + 1
        offsets = np.concatenate([[0], boundaries, [s.size]]).astype(np.int64)
        return SessionSequences(values.astype(np.int32), offsets)

    all_train = to_sequences(train_sess, new_id[train_item])
    test_sessions = to_sequences(test_sess, test_item)
    train, train_targets = prefix_pairs(all_train)
    test, test_targets = prefix_pairs(test_sessions)
    labels = np.asarray(item_labels, dtype=str)[seen[np.argsort(new_id[seen])]]  # item k + 1's label at k
    cutoff_date = _iso(cutoff)
    info = {
        "source": source,
        "format": f"session log ({_LOG_FIELDS})",
        "recipe": "SR-GNN preprocess: drop short sessions, rare items, last days as test, unseen test items",
        "split": f"sessions ending after {cutoff_date} (the last {test_days:g} days) as test",
        "test_days": test_days,
        "min_item_count": min_item_count,
        "min_session_length": min_session_length,
        "split_time": cutoff,
        "split_date": cutoff_date,
        "num_rows": counts["rows"],
        "num_raw_sessions": counts["sessions"],
        "num_sessions_after_filtering": counts["sessions_after_filtering"],
        "num_train_sessions": len(all_train),
        "num_test_sessions": len(test_sessions),
        "num_train": len(train),
        "num_test": len(test),
    }
    return SessionData(
        name=name,
        num_items=num_items,
        train=train,
        train_targets=train_targets,
        test=test,
        test_targets=test_targets,
        all_train_seq=all_train,
        item_ids=id_values(labels, labels=True),
        info=info,
    )


def load_session_log(
    path: str | Path,
    *,
    seed: int = 0,
    test_days: float = 7.0,
    min_item_count: int = 5,
    min_session_length: int = 2,
    time_unit: str = "s",
) -> SessionData:
    """A user's click log (``session_id,item_id,timestamp`` CSV/TSV) by the standard recipe.

    ``path`` is the file or a folder holding exactly one ``sessions.*`` file; see
    :func:`read_session_log` for the format and :func:`sessions_from_log` for the recipe.
    Deterministic: ``seed`` is unused.

    Raises:
        DataError: a missing, empty or malformed file (naming the file and line), or no
            training / test session left after the recipe.
    """
    file = _find_log_file(Path(path).expanduser())
    frame = read_session_log(file, time_unit=time_unit)
    return sessions_from_log(
        frame, test_days=float(test_days), min_item_count=int(min_item_count),
        min_session_length=int(min_session_length), name="sessions", source=str(file),
    )


# --------------------------------------------------------------------------------------------
# Validation split
# --------------------------------------------------------------------------------------------
def split_validation(data: SessionData, fraction: float = 0.1, *, seed: int = 0) -> SessionData:
    """Hold out whole training sessions: returns data whose ``test`` is the validation pairs.

    Training pairs are grouped into sessions by :func:`session_of_pairs` (consecutive prefixes of
    one session), and a ``fraction`` of the sessions, drawn with ``default_rng(seed)``, become the
    validation split, so no prefix of a validation session is trained on. When the pairs' sessions
    line up one to one with ``all_train_seq`` (as in COTREC's Diginetica and Tmall files and in
    :func:`load_session_log`'s output: same count, each session one item longer than its longest
    prefix), the validation sessions are also removed from ``all_train_seq``, the item graph's
    input; otherwise it is kept whole. ``info["validation_graph"]`` says which.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1); got {fraction}")
    session = session_of_pairs(data.train)
    num_sessions = int(session[-1]) + 1 if session.size else 0
    held = np.random.default_rng(seed).random(num_sessions) < fraction
    is_valid = held[session]
    train_idx, valid_idx = np.flatnonzero(~is_valid), np.flatnonzero(is_valid)

    def take(idx: np.ndarray, seqs: SessionSequences = data.train) -> SessionSequences:
        lengths = seqs.lengths[idx]
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        within = np.arange(int(offsets[-1])) - np.repeat(offsets[:-1], lengths)
        return SessionSequences(seqs.values[np.repeat(seqs.offsets[idx], lengths) + within], offsets)

    first = np.flatnonzero(np.r_[True, np.diff(session) != 0]) if session.size else np.zeros(0, np.int64)
    aligned = num_sessions == len(data.all_train_seq) and np.array_equal(
        data.train.lengths[first] + 1, data.all_train_seq.lengths
    )
    graph_sessions = take(np.flatnonzero(~held), data.all_train_seq) if aligned else data.all_train_seq

    return SessionData(
        name=data.name,
        num_items=data.num_items,
        train=take(train_idx),
        train_targets=data.train_targets[train_idx],
        test=take(valid_idx),
        test_targets=data.train_targets[valid_idx],
        all_train_seq=graph_sessions,
        item_ids=data.item_ids,
        info={**data.info, "validation_fraction": fraction, "validation_seed": seed,
              "num_validation_sessions": int(held.sum()),
              "validation_graph": "training sessions only" if aligned else "all training sessions"},
    )
