"""Acceptance: a model trained on data with the user's own ids -- sparse, non-zero-based ints for
some, strings for others -- exports a SavedModel whose ``score`` and ``recommend`` take and return
those ids, in a fresh process that cannot import tfrec, equal to the Keras model (one model per
family: NeuMF, MB-GMN, AttRec, COTREC, DeepFM with a multi-hot field)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp

import tfrec
from tfrec.data.catalogue import Catalogue
from tfrec.data.types import CTRData, CTRField, ImplicitFeedback, MultiBehavior, SequenceData, SessionData, SessionSequences
from tfrec.export import export_saved_model

K = 3




def csr(rows, cols, shape):
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    matrix.data[:] = 1.0
    return matrix


def neumf_data():
    """6 users with sparse int ids, 8 items with string ids."""
    users = np.array([7, 42, 1001, 193609, 5, 88], dtype=np.int64)
    items = np.array([f"tt{n:07d}" for n in (114709, 113497, 113228, 114885, 113041, 113277, 114319, 112302)])
    rows = [0, 0, 1, 1, 1, 2, 3, 3, 4, 5, 5]
    cols = [0, 3, 1, 2, 7, 4, 0, 5, 6, 2, 3]
    test_items = np.array([1, 0, 3, 2, 0, 4], dtype=np.int64)
    return ImplicitFeedback(
        name="own-ncf", num_users=6, num_items=8, train=csr(rows, cols, (6, 8)), test_users=np.arange(6, dtype=np.int64),
        test_items=test_items, test_negatives=np.array([[5], [6], [6], [7], [7], [7]], dtype=np.int64),
        user_ids=users, item_ids=items,
    )


def mbgmn_data():
    """6 users with string ids, 9 items with sparse int ids, behaviors cart >= buy."""
    cart = csr([0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5], [0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 4, 2, 6], (6, 9))
    buy = csr([0, 1, 2, 3, 4, 5], [1, 3, 5, 7, 0, 6], (6, 9))
    return MultiBehavior(
        name="own-mb", num_users=6, num_items=9, behaviors=("cart", "buy"), matrices=(cart, buy),
        test_users=np.arange(6, dtype=np.int64), test_items=np.array([2, 4, 6, 8, 4, 2], dtype=np.int64),
        test_negatives=np.array([[8], [8], [8], [0], [8], [8]], dtype=np.int64),
        user_ids=np.array(["ann", "bob", "cy", "dee", "eve", "fay"]),
        item_ids=np.array([1000, 1002, 1010, 2000, 2001, 3999, 4000, 12, 77], dtype=np.int64),
    )


def attrec_data():
    """5 users with sparse int ids, 7 items (internal 1..7) with string ids, maxlen 3."""
    sequences = [[1, 2, 3, 4, 5], [2, 4, 6, 7], [7, 1, 3, 5, 2], [3, 6, 1, 4], [5, 7, 2, 6]]
    maxlen = 3

    def left_padded(history):
        history = history[-maxlen:]
        return [0] * (maxlen - len(history)) + history

    splits = {"train": ([], [], [], []), "val": ([], [], [], []), "test": ([], [], [], [])}
    for u, seq in enumerate(sequences):
        n = len(seq)
        for position, split in [*((p, "train") for p in range(1, n - 2)), (n - 2, "val"), (n - 1, "test")]:
            users, histories, targets, negatives = splits[split]
            users.append(u)
            histories.append(left_padded(seq[:position]))
            targets.append(seq[position])
            negatives.append(next(i for i in range(1, 8) if i not in seq) if len(seq) < 7 else 1)
    arrays = {}
    for split, (users, histories, targets, negatives) in splits.items():
        arrays[f"{split}_users"] = np.array(users, np.int32)
        arrays[f"{split}_histories"] = np.array(histories, np.int32).reshape(-1, maxlen)
        arrays[f"{split}_items"] = np.array(targets, np.int32)
        arrays[f"{split}_negatives"] = np.array(negatives, np.int32) if split != "test" else np.array(negatives, np.int32)[:, None]
    rows = np.repeat(np.arange(5), [len(s) for s in sequences])
    user_items = csr(rows, np.concatenate(sequences), (5, 8))
    return SequenceData(
        name="own-seq", num_users=5, num_items=7, maxlen=maxlen, user_items=user_items,
        user_ids=np.array([3, 99, 1000, 12, 77], dtype=np.int64),
        item_ids=np.array(["i-a", "i-b", "i-c", "i-d", "i-e", "i-f", "i-g"]), **arrays,
    )


def cotrec_data():
    """Sessions over 8 items (internal 1..8) with sparse int ids."""
    sessions = [[1, 2, 3], [2, 3, 4, 5], [5, 6, 7], [7, 8, 1], [3, 4, 6], [8, 2, 5, 1]]
    prefixes, targets = [], []
    for s in sessions:
        for end in range(1, len(s)):
            prefixes.append(s[:end])
            targets.append(s[end])
    return SessionData(
        name="own-sessions", num_items=8, train=SessionSequences.from_lists(prefixes), train_targets=np.array(targets, np.int32),
        test=SessionSequences.from_lists([[1, 2], [6]]), test_targets=np.array([3, 7], np.int32),
        all_train_seq=SessionSequences.from_lists(sessions),
        item_ids=np.array([214536, 10, 77, 500, 9999, 31, 4, 1234], dtype=np.int64),
    )


GENDER = np.array([0, 1, 1, 0, 1])  # internal gender of each user: a user attribute
GENRES = np.array([[0, 2], [1, -1], [2, 3], [0, -1], [1, 3], [3, -1]])  # each item's genres: an item attribute


def deepfm_data():
    """CTR rows over string users, sparse int items, a user field (gender) and a multi-hot item
    field (genres), both with string values."""
    rng = np.random.default_rng(5)
    users = np.repeat(np.arange(5), 4)
    items = np.concatenate([rng.choice(6, size=4, replace=False) for _ in range(5)])
    labels = (rng.random(users.size) < 0.5).astype(np.float32)

    def features(rows):
        return {"user_id": users[rows].astype(np.int32), "item_id": items[rows].astype(np.int32),
                "gender": GENDER[users[rows]].astype(np.int32), "genres": GENRES[items[rows]].astype(np.int32)}

    train, test = np.arange(16), np.arange(16, 20)
    fields = (CTRField("user_id", 5), CTRField("item_id", 6), CTRField("gender", 2), CTRField("genres", 4, multi_hot=True))
    return CTRData(
        name="own-ctr", fields=fields, train_features=features(train), train_labels=labels[train],
        test_features=features(test), test_labels=labels[test],
        user_ids=np.array(["u-ann", "u-bob", "u-cy", "u-dee", "u-eve"]),
        item_ids=np.array([193609, 1, 50, 1000, 7, 2], dtype=np.int64),
        vocabularies={"gender": np.array(["F", "M"]), "genres": np.array(["Action", "Comedy", "Drama", "Horror"])},
    )


SMALL = {
    "neumf": {"factor_num": 4, "layers": [8, 4]},
    "mbgmn": {"latdim": 8, "jit_predictor": False},
    "attrec": {"embed_dim": 8},
    "cotrec": {"embed_dim": 8, "num_positives": 2, "max_len": 10},
    "deepfm": {"embedding_dim": 4, "hidden_units": [8], "fm_factors": 4},
}
BUILDERS = {"neumf": neumf_data, "mbgmn": mbgmn_data, "attrec": attrec_data, "cotrec": cotrec_data, "deepfm": deepfm_data}


def randomized(name, data, seed):
    """The registry's model for ``data`` with random trainable weights (distinct scores)."""
    model = tfrec.build_model(name, data, **SMALL[name])
    rng = np.random.default_rng(seed)
    for variable in model.trainable_weights:
        variable.assign(rng.normal(scale=0.5, size=variable.shape).astype(np.float32))
    return model


def top_k(scores, seen_rows, k):
    """Column indices of the ``k`` best scores per row, ``seen_rows[b]`` left out (NumPy)."""
    scores = np.array(scores, dtype=np.float64)
    for b, seen in enumerate(seen_rows):
        scores[b, list(seen)] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def cases(model, data, name):
    """``(score kwargs, recommend kwargs, expected scores, expected known, expected top item
    ids, expected recommend known)`` in raw ids, from the Keras model on internal ids."""
    cat = Catalogue.from_data(data)
    users, items = cat.users, cat.items
    seen = lambda us: [cat.seen[u].indices for u in us]  # noqa: E731
    if name in ("neumf", "mbgmn"):
        u, i = np.array([0, 3, 5, 1]), np.array([2, 7, 0, 4])
        expected = np.asarray(model((u.astype(np.int32), i.astype(np.int32)), training=False))
        rec_users = np.array([3, 0])
        every = np.stack([np.asarray(model((np.full(cat.num_items, r, np.int32), np.arange(cat.num_items, dtype=np.int32)),
                                           training=False)) for r in rec_users])
        unknown_user = "zed" if users.dtype.kind == "U" else 123456789
        unknown_item = "tt9999999" if items.dtype.kind == "U" else -5
        score_args = {"user_id": [*users[u].tolist(), unknown_user, users[0].item()],
                      "item_id": [*items[i].tolist(), items[0].item(), unknown_item]}
        return (score_args, {"user_id": [*users[rec_users].tolist(), unknown_user]}, expected.tolist(),
                [True] * 4 + [False, False], items[top_k(every, seen(rec_users), K)].tolist(), [True, True, False])
    if name == "attrec":
        u = np.array([0, 2, 4])
        short = [[3, 4], [1], [6, 2, 7]]  # internal histories, up to maxlen = 3
        padded = np.array([[0] * (3 - len(h)) + h for h in short], np.int32)
        i = np.array([5, 2, 1])
        expected = np.asarray(model((u.astype(np.int32), padded, i.astype(np.int32)), training=False))
        candidates = np.tile(np.arange(1, 8, dtype=np.int32), (3, 1))
        every = np.asarray(model.score(u.astype(np.int32), padded, candidates))
        raw_history = [[items[j - 1].item() for j in h] for h in short]
        raw_history = [h + [""] * (3 - len(h)) for h in raw_history]  # ragged rows padded with the pad value ""
        raw_history[1] = ["i-unknown", items[0].item(), ""]  # an unknown id counts as padding
        score_args = {"user_id": users[u].tolist() + [555], "history": raw_history + [["i-a", "", ""]],
                      "item_id": items[i - 1].tolist() + ["i-a"]}
        rec_args = {"user_id": users[u].tolist(), "history": raw_history}
        return (score_args, rec_args, expected.tolist(), [True, True, True, False],
                items[top_k(every, seen(u), K)].tolist(), [True, True, True])
    if name == "cotrec":
        sessions = np.array([[1, 2, 0, 0], [5, 6, 7, 8], [3, 0, 0, 0]], np.int32)
        every = np.asarray(model(sessions, training=False))
        targets = np.array([3, 1, 8])
        expected = every[np.arange(3), targets - 1]
        raw = [[items[j - 1].item() if j else -1 for j in row] for row in sessions]
        raw[2] = [-1, items[2].item(), 31337, -1]  # the pad anywhere, an unknown click dropped
        score_args = {"session_items": raw + [[31337, -1, -1, -1]], "item_id": items[targets - 1].tolist() + [items[0].item()]}
        return (score_args, {"session_items": raw + [[-1, -1, -1, -1]]}, expected.tolist(), [True, True, True, False],
                items[top_k(every, [[], [], []], K)].tolist() + [[-1] * K], [True, True, True, False])
    # deepfm: genres are given as raw strings, padded with ""
    genre_names, gender_names = cat.fields["genres"], cat.fields["gender"]
    u, i = np.array([0, 1, 4, 2]), np.array([5, 0, 2, 3])
    features = {"user_id": u, "item_id": i, "gender": GENDER[u], "genres": GENRES[i]}
    expected = np.asarray(model({k: v.astype(np.int32) for k, v in features.items()}, training=False))
    raw_genres = [[genre_names[g] if g >= 0 else "" for g in row] for row in GENRES[i]]
    score_args = {"user_id": [*users[u].tolist(), "u-nobody"], "item_id": [*items[i].tolist(), items[0].item()],
                  "gender": [*gender_names[GENDER[u]].tolist(), "F"], "genres": raw_genres + [["Drama", ""]]}
    rec_users = np.array([1, 3])
    every = []
    for r in rec_users:
        all_items = np.arange(6)
        every.append(np.asarray(model({"user_id": np.full(6, r, np.int32), "item_id": all_items.astype(np.int32),
                                       "gender": np.full(6, GENDER[r], np.int32), "genres": GENRES.astype(np.int32)},
                                      training=False)))
    return (score_args, {"user_id": users[rec_users].tolist() + ["u-nobody"]}, expected.tolist(), [True] * 4 + [False],
            items[top_k(np.stack(every), seen(rec_users), K)].tolist(), [True, True, False])


SERVE = textwrap.dedent(
    """
    import json, sys
    sys.modules["tfrec"] = None  # serving must not need tfrec
    import numpy as np
    import tensorflow as tf

    def plain(x):
        x = x.numpy()
        if x.dtype == object:
            return [[v.decode() for v in row] if np.ndim(row) else row.decode() for row in x]
        return np.where(np.isnan(x), None, x).tolist() if x.dtype.kind == "f" else x.tolist()

    cases = json.loads(sys.stdin.read())
    out = {}
    for name, case in cases.items():
        served = tf.saved_model.load(case["path"])
        scored = served.score(**case["score"])                       # Python lists: the signature's dtypes
        recommended = served.recommend(**case["recommend"], k=tf.constant(case["k"]))
        out[name] = {
            "score": plain(scored["score"]), "known": plain(scored["known"]),
            "item_ids": plain(recommended["item_ids"]), "scores": plain(recommended["scores"]),
            "rec_known": plain(recommended["known"]),
            "signature": {k: v.dtype.name for k, v in served.signatures["score"].structured_input_signature[1].items()},
        }
    out["tfrec_imported"] = any(m == "tfrec" or m.startswith("tfrec.") for m in sys.modules if sys.modules[m] is not None)
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("own-ids")
    expected, requests = {}, {}
    for seed, (name, build) in enumerate(BUILDERS.items()):
        data = build()
        model = randomized(name, data, seed)
        score_args, rec_args, scores, known, top, rec_known = cases(model, data, name)
        export_saved_model(model, root / name, catalogue=Catalogue.from_data(data))
        requests[name] = {"path": str(root / name), "score": score_args, "recommend": rec_args, "k": K}
        expected[name] = {"score": scores, "known": known, "item_ids": top, "rec_known": rec_known}
    proc = subprocess.run([sys.executable, "-c", SERVE], input=json.dumps(requests), capture_output=True, text=True,
                          cwd=root, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), expected, root


def test_serving_process_never_imports_tfrec(served):
    assert served[0]["tfrec_imported"] is False


@pytest.mark.parametrize("name", list(BUILDERS))
def test_score_in_own_ids_equals_the_keras_model(served, name):
    got, expected, _ = served
    got, expected = got[name], expected[name]
    assert got["known"] == expected["known"]
    known = np.array(expected["known"])
    scores = np.array([np.nan if s is None else s for s in got["score"]], dtype=np.float64)
    np.testing.assert_allclose(scores[known], expected["score"], rtol=1e-5, atol=1e-7)
    assert np.isnan(scores[~known]).all()


@pytest.mark.parametrize("name", list(BUILDERS))
def test_recommend_returns_own_ids_of_the_best_unseen_items(served, name):
    got, expected, _ = served
    got, expected = got[name], expected[name]
    assert got["rec_known"] == expected["rec_known"]
    known = np.array(expected["rec_known"])
    assert [row for row, k in zip(got["item_ids"], known) if k] == [row for row, k in zip(expected["item_ids"], known) if k]
    pad = "" if isinstance(expected["item_ids"][0][0], str) else -1
    assert all(row == [pad] * K for row, k in zip(got["item_ids"], known) if not k)
    assert all(v is None for row, k in zip(got["scores"], known) if not k for v in row)


def test_signatures_take_the_data_s_id_dtypes(served):
    got, _, root = served
    assert got["neumf"]["signature"] == {"user_id": "int64", "item_id": "string"}
    assert got["mbgmn"]["signature"] == {"user_id": "string", "item_id": "int64"}
    assert got["attrec"]["signature"] == {"user_id": "int64", "history": "string", "item_id": "string"}
    assert got["cotrec"]["signature"] == {"session_items": "int64", "item_id": "int64"}
    assert got["deepfm"]["signature"] == {"user_id": "string", "item_id": "int64", "gender": "string", "genres": "string"}
    info = json.loads((root / "deepfm" / "tfrec_export.json").read_text())
    assert info["ids"]["genres"] == {"dtype": "string", "pad": "", "count": 4}
    assert info["include_seen"] is False and info["seen_items_excluded"] is True
    assert json.loads((root / "attrec" / "tfrec_export.json").read_text())["item_offset"] == 1
