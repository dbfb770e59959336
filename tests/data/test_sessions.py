"""Session data for COTREC (tfrec/data/sessions.py, SessionData): tiny hand-made fixtures only."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.data.registry import get_dataset, load_dataset
from tfrec.data.sessions import (
    item_transition_graph,
    load_cotrec,
    load_session_log,
    prefix_pairs,
    session_of_pairs,
    session_overlap,
    split_validation,
)
from tfrec.data.types import SessionData, SessionSequences
from tfrec.errors import DataError

DAY = 86_400


def _dump(path, obj):
    with open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=3)


def _pairs(sessions, min_len=1):
    """The rule COTREC's train.txt / test.txt were made by, written out plainly."""
    seqs, labels = [], []
    for s in sessions:
        for i in range(1, len(s)):
            if len(s) - i >= min_len:
                seqs.append(s[:-i])
                labels.append(s[-i])
    return seqs, labels


SESSIONS = [[1, 2, 3, 2], [4, 4, 1], [5, 3], [2, 6, 6, 6, 1]]
TEST = [[3, 1, 2], [6, 5]]


@pytest.fixture()
def cotrec_dir(tmp_path):
    _dump(tmp_path / "all_train_seq.txt", SESSIONS)
    _dump(tmp_path / "train.txt", _pairs(SESSIONS))
    _dump(tmp_path / "test.txt", _pairs(TEST))
    return tmp_path


# --------------------------------------------------------------------------------------------
# SessionSequences / SessionData
# --------------------------------------------------------------------------------------------
def test_padded_right_reversed_and_truncated():
    seqs = SessionSequences.from_lists([[1, 2, 3], [4], [5, 6]])
    items, lengths = seqs.padded()
    assert items.dtype == np.int32 and lengths.tolist() == [3, 1, 2]
    assert items.tolist() == [[1, 2, 3], [4, 0, 0], [5, 6, 0]]
    items, lengths = seqs.padded([2, 0], reverse=True)
    assert items.tolist() == [[6, 5, 0], [3, 2, 1]] and lengths.tolist() == [2, 3]
    items, lengths = seqs.padded(max_len=2)  # the most recent items are kept
    assert items.tolist() == [[2, 3], [4, 0], [5, 6]] and lengths.tolist() == [2, 1, 2]
    items, _ = seqs.padded(max_len=2, reverse=True)
    assert items.tolist() == [[3, 2], [4, 0], [6, 5]]
    assert seqs.to_lists() == [[1, 2, 3], [4], [5, 6]] and seqs[2].tolist() == [5, 6]


def test_session_data_checks_ids_and_lengths():
    seqs = SessionSequences.from_lists([[1, 2]])
    with pytest.raises(ValueError, match="1..2"):
        SessionData("x", 2, seqs, np.array([3], np.int32), seqs, np.array([1], np.int32), seqs)
    with pytest.raises(ValueError, match="targets"):
        SessionData("x", 3, seqs, np.array([3, 1], np.int32), seqs, np.array([1], np.int32), seqs)


# --------------------------------------------------------------------------------------------
# Prefix augmentation and COTREC pickles
# --------------------------------------------------------------------------------------------
def test_prefix_pairs_exact():
    prefixes, targets = prefix_pairs(SessionSequences.from_lists([[1, 2, 3], [4, 5], [7]]))
    assert prefixes.to_lists() == [[1, 2], [1], [4]] and targets.tolist() == [3, 2, 5]
    prefixes, targets = prefix_pairs(SessionSequences.from_lists([[1, 2, 3, 4], [5, 6]]), min_prefix_len=2)
    assert prefixes.to_lists() == [[1, 2, 3], [1, 2]] and targets.tolist() == [4, 3]
    expected = _pairs(SESSIONS)
    prefixes, targets = prefix_pairs(SessionSequences.from_lists(SESSIONS))
    assert prefixes.to_lists() == expected[0] and targets.tolist() == expected[1]


def test_load_cotrec_round_trip(cotrec_dir):
    data = load_cotrec(cotrec_dir)
    train, train_labels = _pairs(SESSIONS)
    test, test_labels = _pairs(TEST)
    assert data.num_items == 6 and data.name == cotrec_dir.name.lower()
    assert data.train.to_lists() == train and data.train_targets.tolist() == train_labels
    assert data.test.to_lists() == test and data.test_targets.tolist() == test_labels
    assert data.all_train_seq.to_lists() == SESSIONS
    assert data.info["num_train_sessions"] == 4 and data.info["num_test_sessions"] == 2
    assert data.train_targets.dtype == np.int32 and data.train.values.dtype == np.int32
    items, lengths = data.padded("test")
    assert items.tolist() == [[3, 1], [3, 0], [6, 0]] and lengths.tolist() == [2, 1, 1]
    assert load_cotrec(cotrec_dir, num_items=10, name="tmall").num_items == 10


def test_train_pairs_derived_without_train_txt(tmp_path):
    _dump(tmp_path / "all_train_seq.txt", SESSIONS)
    _dump(tmp_path / "test.txt", _pairs(TEST))
    data = load_cotrec(tmp_path)
    assert (data.train.to_lists(), data.train_targets.tolist()) == _pairs(SESSIONS)
    assert data.info["train_pairs"].startswith("derived")
    # RetailRocket's files keep prefixes of length >= 2: the rule follows test.txt
    _dump(tmp_path / "test.txt", _pairs(TEST, min_len=2))
    data = load_cotrec(tmp_path)
    assert data.info["min_prefix_len"] == 2
    assert (data.train.to_lists(), data.train_targets.tolist()) == _pairs(SESSIONS, min_len=2)


def test_registry_entries_for_session_data(cotrec_dir, tmp_path):
    for name in ("diginetica", "tmall", "retailrocket"):
        spec = get_dataset(name)
        assert set(spec.required) <= {f.name for f in spec.files}
        assert "train.txt" not in spec.required  # derived when absent
    (cotrec_dir / "train.txt").unlink()
    assert load_dataset("tmall", cotrec_dir, progress=False).num_train == len(_pairs(SESSIONS)[0])
    spec = get_dataset("sessions")
    assert spec.user_data and spec.task == "sessions" and spec.loader == "tfrec.data.sessions:load_session_log"


@pytest.mark.parametrize(
    "file, content, message",
    [
        ("test.txt", ([[1, 2], [3]], [3]), "test.txt: 2 sequences but 1 next items"),
        ("test.txt", ([[1, 0]], [3]), r"test.txt: a sequence holds item id 0, outside 1..6"),
        ("test.txt", ([[1, 2]], [7]), r"test.txt: a next item holds item id 7, outside 1..6"),
        ("train.txt", ([[1, 2], []], [3, 4]), "train.txt: the sequences entry 1 is an empty sequence"),
        ("train.txt", ([[1, "a"]], [3]), "train.txt: the sequences must be lists of integer item ids"),
        ("test.txt", ([[1, 2.5]], [3]), r"test.txt: the sequences must be lists of integer item ids \(entry 0"),
        ("train.txt", [[1, 2]], "train.txt: expected a pair"),
        ("all_train_seq.txt", [], "all_train_seq.txt: no sequences in the training sessions"),
        ("all_train_seq.txt", [[1, 2], [3, -4]], "all_train_seq.txt: a session holds item id -4"),
    ],
)
def test_bad_pickles_name_the_file(cotrec_dir, file, content, message):
    _dump(cotrec_dir / file, content)
    with pytest.raises(DataError, match=message):
        load_cotrec(cotrec_dir, num_items=6)


def test_missing_and_truncated_files(cotrec_dir):
    blob = (cotrec_dir / "train.txt").read_bytes()
    (cotrec_dir / "train.txt").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match=r"train\.txt: not a readable pickle"):
        load_cotrec(cotrec_dir)
    (cotrec_dir / "all_train_seq.txt").unlink()
    with pytest.raises(DataError, match=r"all_train_seq\.txt: file not found"):
        load_cotrec(cotrec_dir)
    with pytest.raises(DataError, match="expected a folder"):
        load_cotrec(cotrec_dir / "nowhere")


def test_out_of_range_against_given_catalogue(cotrec_dir):
    with pytest.raises(DataError, match=r"all_train_seq\.txt: a session holds item id 6, outside 1..5"):
        load_cotrec(cotrec_dir, num_items=5)


def test_sessions_of_pairs_and_validation_split(cotrec_dir):
    data = load_cotrec(cotrec_dir)
    assert session_of_pairs(data.train).tolist() == [0, 0, 0, 1, 1, 2, 3, 3, 3, 3]
    assert session_of_pairs(data.test).tolist() == [0, 0, 1]
    split = split_validation(data, 0.5, seed=1)
    held = {tuple(s) for s in SESSIONS} - {tuple(s) for s in split.all_train_seq.to_lists()}
    assert split.num_train + split.num_test == data.num_train and 0 < split.num_test < data.num_train
    assert split.info["validation_graph"] == "training sessions only"
    # the validation pairs are exactly the pairs of the sessions dropped from the graph's input
    expected = _pairs([list(s) for s in SESSIONS if tuple(s) in held])
    assert (split.test.to_lists(), split.test_targets.tolist()) == expected


# --------------------------------------------------------------------------------------------
# Graphs against the reference's loops
# --------------------------------------------------------------------------------------------
def _reference_data_masks(all_sessions, n_node):
    """seed 002 ``data_masks``, as written there."""
    adj = dict()
    for sess in all_sessions:
        for i, item in enumerate(sess):
            if i == len(sess) - 1:
                break
            else:
                if sess[i] - 1 not in adj.keys():
                    adj[sess[i] - 1] = dict()
                    adj[sess[i] - 1][sess[i] - 1] = 1
                    adj[sess[i] - 1][sess[i + 1] - 1] = 1
                else:
                    if sess[i + 1] - 1 not in adj[sess[i] - 1].keys():
                        adj[sess[i] - 1][sess[i + 1] - 1] = 1
                    else:
                        adj[sess[i] - 1][sess[i + 1] - 1] += 1
    dense = np.zeros((n_node, n_node))
    for i, row in adj.items():
        for j, value in row.items():
            dense[i, j] = value
    return dense


def test_item_transition_graph_matches_reference_loop():
    rng = np.random.default_rng(0)
    sessions = [list(rng.integers(1, 9, size=rng.integers(1, 7))) for _ in range(40)]
    sessions += [[9, 9, 3], [3, 9], [10]]  # first transition from 9 is 9 -> 9; 10 is never a source
    n = 11
    counts = _reference_data_masks(sessions, n)
    raw = item_transition_graph(sessions, n, normalize=False)
    assert isinstance(raw, sp.csr_matrix) and raw.dtype == np.float32 and raw.shape == (n, n)
    np.testing.assert_array_equal(raw.toarray(), counts)
    assert counts[8, 8] == 1 and counts[9, 9] == 0
    colsum = counts.sum(axis=0)
    expected = np.divide(counts, colsum[None, :], out=np.zeros_like(counts), where=colsum[None, :] > 0)
    graph = item_transition_graph(SessionSequences.from_lists(sessions), n)
    np.testing.assert_allclose(graph.toarray(), expected, rtol=1e-6)
    assert graph.has_sorted_indices and not np.isnan(graph.data).any()


def _reference_overlap(sessions):
    """seed 002 ``Data.get_overlap`` followed by ``D @ A``."""
    matrix = np.zeros((len(sessions), len(sessions)))
    for i in range(len(sessions)):
        seq_a = set(sessions[i])
        seq_a.discard(0)
        for j in range(i + 1, len(sessions)):
            seq_b = set(sessions[j])
            seq_b.discard(0)
            overlap = seq_a.intersection(seq_b)
            ab_set = seq_a | seq_b
            matrix[i][j] = float(len(overlap)) / float(len(ab_set))
            matrix[j][i] = matrix[i][j]
    matrix = matrix + np.diag([1.0] * len(sessions))
    degree = np.diag(1.0 / np.sum(matrix, 1))
    return degree @ matrix, matrix


def test_session_overlap_matches_reference_loop():
    rng = np.random.default_rng(1)
    lists = [list(rng.integers(1, 12, size=rng.integers(1, 6))) for _ in range(17)]
    lists[3] = lists[5][:]  # identical sessions overlap fully
    items = SessionSequences.from_lists(lists).padded()[0]
    expected, raw = _reference_overlap(items.tolist())
    np.testing.assert_allclose(session_overlap(items), expected, rtol=1e-12)
    np.testing.assert_allclose(session_overlap(items, normalize=False), raw, rtol=1e-12)
    np.testing.assert_allclose(session_overlap(lists), expected, rtol=1e-12)
    assert session_overlap(items).shape == (17, 17)
    # an all-padding row overlaps nothing (the reference divides by zero)
    out = session_overlap(np.array([[1, 2], [0, 0]]))
    np.testing.assert_array_equal(out, np.eye(2))


# --------------------------------------------------------------------------------------------
# Raw session logs
# --------------------------------------------------------------------------------------------
T = 10 * DAY
LOG = f"""session_id,item_id,timestamp
1,10,100
2,20,1000
1,20,200
2,10,900
3,40,50
4,10,2000
4,30,2100
4,50,2200
1,30,300
5,60,3000
5,60,3100
6,10,{9 * DAY + 400}
6,30,{9 * DAY + 500}
7,30,{T + 100}
7,20,{T + 200}
7,70,{T + 300}
8,70,{T + 400}
8,10,{T + 500}
9,20,{T + 50}
"""


def test_session_log_recipe_by_hand(tmp_path):
    file = tmp_path / "clicks.csv"
    file.write_text(LOG)
    data = load_session_log(file, test_days=1, min_item_count=2)
    # dropped: session 3 (one click), item 50 (one click left), session 9 (one click); item 70 is
    # unseen in training so session 8 shrinks to one click and goes; session 6 ends exactly at
    # the cut (latest end - 1 day) and trains. Items renumbered 10->1, 20->2, 30->3, 60->4.
    assert data.num_items == 4 and data.item_ids.tolist() == [10, 20, 30, 60]  # integer ids stay int64
    assert data.item_ids.dtype == np.int64
    assert data.all_train_seq.to_lists() == [[1, 2, 3], [1, 2], [1, 3], [4, 4], [1, 3]]
    assert data.train.to_lists() == [[1, 2], [1], [1], [1], [4], [1]]
    assert data.train_targets.tolist() == [3, 2, 2, 3, 4, 3]
    assert data.test.to_lists() == [[3]] and data.test_targets.tolist() == [2]
    assert data.info["num_raw_sessions"] == 9 and data.info["num_test_sessions"] == 1
    assert data.info["split_time"] == T + 500 - DAY
    from datetime import datetime, timezone

    assert data.info["split_date"] == datetime.fromtimestamp(T + 500 - DAY, tz=timezone.utc).isoformat()
    assert (data.info["num_train"], data.info["num_test"]) == (6, 1) and data.info["num_train_sessions"] == 5
    assert data.info["split"].startswith("sessions ending after " + data.info["split_date"])
    # the same log as TSV without a header, in a folder, with ISO dates
    folder = tmp_path / "mine"
    folder.mkdir()
    rows = [line.split(",") for line in LOG.splitlines()[1:]]
    iso = [f"{s}\t{i}\t{np.datetime64(int(t), 's')}" for s, i, t in rows]
    (folder / "sessions.tsv").write_text("\n".join(iso) + "\n")
    again = load_dataset("sessions", folder, test_days=1, min_item_count=2, progress=False)
    assert again.all_train_seq.to_lists() == data.all_train_seq.to_lists()
    assert again.test.to_lists() == [[3]]


def test_session_log_default_thresholds(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for s in range(60):
        start = s * DAY / 4
        for k, item in enumerate(rng.integers(0, 8, size=rng.integers(1, 6))):
            rows.append(f"s{s},{item},{start + k}")
    rows.append(f"s99,999,{60 * DAY / 4}")  # a rare item in a one-click session
    file = tmp_path / "sessions.csv"
    file.write_text("\n".join(rows))
    data = load_session_log(file)  # 5 clicks per item, last 7 days as test
    assert "999" not in set(data.item_ids) and data.num_test > 0 and data.num_train > 0
    assert (data.all_train_seq.lengths >= 2).all()
    assert data.info["num_train_sessions"] + data.info["num_test_sessions"] <= 60


@pytest.mark.parametrize(
    "text, message",
    [
        ("session_id,item_id,timestamp\n1,2,3\n1,2\n", r"bad\.csv, line 3: expected 3 fields"),
        ("1,2,3\n1,2,3,4\n", r"bad\.csv, line 2: expected 3 fields"),
        ("\nsession,item,time\n1,2,3\n\n1,2,3,4,5\n", r"bad\.csv, line 5: expected 3 fields \(session_id,item_id,timestamp\); got 5"),
        ("1,2,3\n\n1,5,x\n", r"bad\.csv, line 3: expected session_id,item_id,timestamp"),
        ("1,2,3\n2,,4\n", r"bad\.csv, line 2"),
        ("", r"bad\.csv: the file is empty"),
        ("session,item,time\n", r"bad\.csv: no rows after the header"),
        ("a;b\n", r"bad\.csv, line 1: expected 3 fields"),
    ],
)
def test_malformed_session_logs_name_file_and_line(tmp_path, text, message):
    file = tmp_path / "bad.csv"
    file.write_text(text)
    with pytest.raises(DataError, match=message):
        load_session_log(file)


def test_session_log_missing_file_and_nothing_left(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        load_session_log(tmp_path / "nope.csv")
    file = tmp_path / "few.csv"
    file.write_text(LOG)
    with pytest.raises(DataError, match=r"few\.csv: no training session is left"):
        load_session_log(file, test_days=100, min_item_count=2)
    with pytest.raises(DataError, match=r"few\.csv: no test session is left"):
        load_session_log(file, test_days=0, min_item_count=2)


def test_session_item_ids_are_text_or_int64_never_object(tmp_path):
    file = tmp_path / "sessions.csv"
    rows = [(s, item, 100 * s + k) for s in range(6) for k, item in enumerate(("b7", "a1", "b7"))]
    file.write_text("".join(f"{s},{i},{t}\n" for s, i, t in rows))
    data = load_session_log(file, min_item_count=1, test_days=100 / 86_400)
    assert data.item_ids.dtype.kind == "U" and data.item_ids.tolist() == ["b7", "a1"]  # first appearance
    np.save(tmp_path / "items.npy", data.item_ids, allow_pickle=False)
    file.write_text("".join(f"{s},{i},{t}\n" for s, i, t in [(1, "7", 1), (1, "007", 2), (2, "7", 3), (2, "007", 4)]))
    data = load_session_log(file, min_item_count=1, test_days=0.5 / 86_400)
    assert data.item_ids.tolist() == ["7", "007"]  # two labels that spell the same number stay text


def test_zipf_sessions_are_skewed_like_click_logs():
    """``zipf > 0``: the most popular 1% of items take far more of the clicks than under the
    uniform chain (``zipf=0``, the default, pinned by tests/data/test_protocols_unchanged.py)."""
    from tfrec.data.synthetic import synthetic_sessions

    def top_share(data):
        counts = np.sort(np.bincount(data.train_targets, minlength=data.num_items + 1))[::-1]
        return counts[: data.num_items // 100].sum() / counts.sum()

    uniform = synthetic_sessions(seed=0, num_items=2000, num_train_sessions=2000)
    skewed = synthetic_sessions(seed=0, num_items=2000, num_train_sessions=2000, zipf=1.1)
    assert top_share(skewed) > 0.25 > 0.05 > top_share(uniform)
    from tfrec.errors import UserError

    with pytest.raises(UserError, match="zipf >= 0"):
        synthetic_sessions(zipf=-1.0)
