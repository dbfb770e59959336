"""SavedModel export (tfrec/export.py): served scores equal the Keras model's, in a fresh
process that never imports tfrec; one output name per signature kind; unknown ids answered
explicitly; seen items left out of ``recommend``; AttRec histories of any length up to maxlen."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tfrec.data.catalogue import Catalogue
from tfrec.errors import UserError
from tfrec.export import export_saved_model
from tfrec.models.attrec import AttRec
from tfrec.models.deepfm import DeepFM
from tfrec.models.ncf import NeuMF


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for variable in model.trainable_weights:
        variable.assign(rng.normal(scale=0.5, size=variable.shape).astype(np.float32))
    return model


@pytest.fixture(scope="module")
def neumf():
    model = NeuMF(num_users=12, num_items=15, factor_num=4, layers=[8, 4])
    model.build()
    return randomize(model)


@pytest.fixture(scope="module")
def exported(neumf, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "neumf"
    export_saved_model(neumf, out)  # no catalogue: the README's call, raw ids = internal ids
    return neumf, out


def all_scores(model, users, num_items):
    """``[len(users), num_items]`` probabilities of every item (NumPy side of the comparison)."""
    return np.stack([model.predict((np.full(num_items, u), np.arange(num_items)), verbose=0) for u in users])


def test_served_scores_equal_keras_in_a_process_without_tfrec(exported, tmp_path):
    model, out = exported
    users = np.array([0, 4, 11, 11, 12], dtype=np.int64)  # 12: not a user of the model
    items = np.array([3, 0, 14, 5, 1], dtype=np.int64)
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.modules["tfrec"] = None
        import tensorflow as tf
        served = tf.saved_model.load({str(out)!r})
        users, items = tf.constant({users.tolist()}, tf.int64), tf.constant({items.tolist()}, tf.int64)
        scored = served.score(user_id=users, item_id=items)
        sig = served.signatures["score"](user_id=users, item_id=items)
        small = served.score(user_id=tf.constant([4]), item_id=tf.constant([0]))      # int32 from Python
        rec = served.recommend(user_id=tf.constant([4, -7], tf.int64), k=tf.constant(5))
        nan = lambda t: [None if v != v else v for v in t.numpy().ravel().tolist()]
        print(json.dumps({{
            "score": nan(scored["score"]), "known": scored["known"].numpy().tolist(),
            "signature": nan(sig["score"]), "int32": nan(small["score"]),
            "item_ids": rec["item_ids"].numpy().tolist(), "scores": nan(rec["scores"]),
            "rec_known": rec["known"].numpy().tolist(),
        }}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = model.predict((users[:4], items[:4]), verbose=0)
    assert served["known"] == [True, True, True, True, False]
    np.testing.assert_allclose(served["score"][:4], expected, rtol=1e-5)
    np.testing.assert_allclose(served["signature"][:4], expected, rtol=1e-5)
    assert served["score"][4] is None and served["signature"][4] is None  # NaN for the unknown user
    np.testing.assert_allclose(served["int32"], expected[1:2], rtol=1e-5)
    every = all_scores(model, [4], 15)[0]
    assert served["rec_known"] == [True, False]
    np.testing.assert_array_equal(served["item_ids"][0], np.argsort(-every, kind="stable")[:5])
    np.testing.assert_allclose(served["scores"][:5], np.sort(every)[::-1][:5], rtol=1e-5)
    assert served["item_ids"][1] == [-1] * 5 and served["scores"][5:] == [None] * 5


def test_export_refuses_to_overwrite_and_leaves_no_temp(exported):
    model, out = exported
    with pytest.raises(UserError, match="already exists"):
        export_saved_model(model, out)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]
    info = json.loads((out / "tfrec_export.json").read_text())
    assert info["num_items"] == 15
    assert info["ids"]["user_id"] == {"dtype": "int64", "pad": -1, "count": 12}
    assert info["item_offset"] == 0 and info["include_seen"] is False and info["seen_items_excluded"] is False
    assert "probability" in info["score_meaning"] and "NaN" in info["unknown_ids"]
    assert set(info["signatures"]) == {"score", "recommend"}
    assert set(info["signatures"]["recommend"]["outputs"]) == {"item_ids", "scores", "known"}


@pytest.fixture(scope="module")
def with_seen(neumf, tiny_implicit, tmp_path_factory):
    root = tmp_path_factory.mktemp("seen")
    default = export_saved_model(neumf, root / "default", catalogue=tiny_implicit)  # task data: its catalogue
    kept = export_saved_model(neumf, root / "kept", catalogue=Catalogue.from_data(tiny_implicit), include_seen=True)
    return tf.saved_model.load(str(default)), tf.saved_model.load(str(kept)), root


def test_recommend_leaves_seen_items_out_by_default(neumf, tiny_implicit, with_seen):
    default, kept, root = with_seen
    users = np.arange(12)
    every = all_scores(neumf, users, 15)
    k = 15 - max(tiny_implicit.train[u].nnz for u in users)  # enough unseen items for every user
    top = default.recommend(user_id=tf.constant(users, tf.int64), k=tf.constant(k))
    for u in users:
        seen = tiny_implicit.train[u].indices
        assert not set(top["item_ids"][u].numpy()) & set(seen)
        masked = every[u].copy()
        masked[seen] = -np.inf
        np.testing.assert_array_equal(top["item_ids"][u].numpy(), np.argsort(-masked, kind="stable")[:k])
    assert json.loads((root / "default" / "tfrec_export.json").read_text())["seen_items_excluded"] is True


def test_include_seen_ranks_every_item_and_k_is_clipped(neumf, with_seen):
    _, kept, root = with_seen
    top = kept.recommend(user_id=tf.constant([0, 1], tf.int64), k=tf.constant(100))
    assert top["item_ids"].shape == (2, 15)
    every = all_scores(neumf, [0, 1], 15)
    np.testing.assert_array_equal(top["item_ids"].numpy(), np.argsort(-every, axis=1, kind="stable"))
    info = json.loads((root / "kept" / "tfrec_export.json").read_text())
    assert info["include_seen"] is True and info["seen_items_excluded"] is False


def test_unknown_ids_are_known_false_and_nan(with_seen):
    default, _, _ = with_seen
    scored = default.score(user_id=tf.constant([0, 99, -1, 3], tf.int64), item_id=tf.constant([1, 2, 3, 15], tf.int64))
    np.testing.assert_array_equal(scored["known"].numpy(), [True, False, False, False])
    assert np.isfinite(scored["score"].numpy()[0]) and np.isnan(scored["score"].numpy()[1:]).all()


def test_a_catalogue_that_does_not_match_the_model_is_refused(neumf, tmp_path):
    small = Catalogue(np.arange(12), np.arange(14))
    with pytest.raises(UserError, match="14 items, the model 15"):
        export_saved_model(neumf, tmp_path / "x", catalogue=small)
    padded = Catalogue(np.arange(12), np.arange(-1, 14))  # item id -1: the pad value
    with pytest.raises(UserError, match="item_id: -1 is one of the data's ids"):
        export_saved_model(neumf, tmp_path / "x", catalogue=padded)
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def attrec(tmp_path_factory):
    model = AttRec(num_users=3, num_items=6, maxlen=5, embed_dim=4)
    model.build()
    randomize(model, seed=1)
    out = export_saved_model(model, tmp_path_factory.mktemp("attrec") / "attrec")
    return model, tf.saved_model.load(str(out))


def test_attrec_short_history_is_left_padded_as_the_training_histories(attrec):
    model, served = attrec
    users, items = np.array([0, 2, 1], np.int32), np.array([4, 1, 6], np.int32)
    histories = [[2, 3, -1], [5, -1, -1], [-1, 1, 6]]  # -1 pads anywhere
    padded = np.array([[0, 0, 0, 2, 3], [0, 0, 0, 0, 5], [0, 0, 0, 1, 6]], np.int32)
    expected = model.predict((users, padded, items), verbose=0)
    scored = served.score(user_id=tf.constant(users, tf.int64), history=tf.constant(histories, tf.int64),
                          item_id=tf.constant(items, tf.int64))
    np.testing.assert_allclose(scored["score"].numpy(), expected, rtol=1e-5)
    assert scored["known"].numpy().all()
    # wider than maxlen is fine while at most maxlen items are known (0 is no item here: padding)
    wide = served.score(user_id=tf.constant([0], tf.int64), history=tf.constant([[-1, 2, 3, 0, 4, 5, 6]], tf.int64),
                        item_id=tf.constant([1], tf.int64))
    np.testing.assert_allclose(wide["score"].numpy(),
                               model.predict((users[:1], np.array([[2, 3, 4, 5, 6]], np.int32), np.array([1])), verbose=0),
                               rtol=1e-5)
    top = served.recommend(user_id=tf.constant(users, tf.int64), history=tf.constant(histories, tf.int64), k=tf.constant(6))
    every = np.asarray(model.score(users, padded, np.tile(np.arange(1, 7, dtype=np.int32), (3, 1))))
    np.testing.assert_array_equal(top["item_ids"].numpy(), np.argsort(-every, axis=1, kind="stable") + 1)


def test_attrec_history_longer_than_maxlen_is_a_clear_error(attrec):
    _, served = attrec
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"history has more than maxlen=5 items; pass the latest 5"):
        served.score(user_id=tf.constant([0], tf.int64), history=tf.constant([[1, 2, 3, 4, 5, 6]], tf.int64),
                     item_id=tf.constant([1], tf.int64))


def test_ctr_with_a_context_field_exports_score_only(tmp_path):
    from tfrec.data.types import CTRData, CTRField

    users, items, hours = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([0, 1, 1, 0])
    features = {"user_id": users, "item_id": items, "hour": hours}
    fields = (CTRField("user_id", 2), CTRField("item_id", 2), CTRField("hour", 2))
    data = CTRData("c", fields, features, np.array([1, 0, 1, 0], np.float32), features, np.zeros(4, np.float32))
    model = randomize(DeepFM.from_data(data, embedding_dim=2, hidden_units=[4], fm_factors=2))
    out = export_saved_model(model, tmp_path / "ctr", catalogue=data)
    served = tf.saved_model.load(str(out))
    assert not hasattr(served, "recommend") and set(served.signatures) == {"score", "serving_default"}
    scored = served.score(user_id=tf.constant([1, 5], tf.int64), item_id=tf.constant([0, 0], tf.int64),
                          hour=tf.constant([1, 1], tf.int64))
    expected = model.predict({"user_id": np.array([1]), "item_id": np.array([0]), "hour": np.array([1])}, verbose=0)
    np.testing.assert_allclose(scored["score"].numpy()[:1], expected, rtol=1e-5)
    np.testing.assert_array_equal(scored["known"].numpy(), [True, False])
    info = json.loads((out / "tfrec_export.json").read_text())
    assert "hour" in info["recommend"] and info["recommend"].startswith("not exported")
