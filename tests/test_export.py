"""SavedModel export (tfrec/export.py): served scores equal the Keras model's, in a fresh
process that never imports tfrec."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tfrec.errors import UserError
from tfrec.export import export_saved_model
from tfrec.models.ncf import NeuMF


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = NeuMF(num_users=9, num_items=13, factor_num=4, layers=[8, 4])
    model.build()
    rng = np.random.default_rng(0)
    for variable in model.weights:
        variable.assign(rng.normal(scale=0.5, size=variable.shape).astype(np.float32))
    out = tmp_path_factory.mktemp("export") / "neumf"
    export_saved_model(model, out)
    return model, out


def test_served_scores_equal_keras_in_a_process_without_tfrec(exported, tmp_path):
    model, out = exported
    users = np.array([0, 4, 8, 8], dtype=np.int32)
    items = np.array([3, 0, 12, 5], dtype=np.int32)
    script = textwrap.dedent(
        f"""
        import json, sys
        import tensorflow as tf
        served = tf.saved_model.load({str(out)!r})
        probs = served.score(user_id=tf.constant({users.tolist()}), item_id=tf.constant({items.tolist()}))["probability"]
        sig = served.signatures["score"](user_id=tf.constant({users.tolist()}), item_id=tf.constant({items.tolist()}))
        rec = served.recommend(user_id=tf.constant([4]), k=tf.constant(5))
        print(json.dumps({{
            "probability": probs.numpy().tolist(),
            "signature": sig["probability"].numpy().tolist(),
            "item_ids": rec["item_ids"].numpy().tolist(),
            "scores": rec["scores"].numpy().tolist(),
            "tfrec_imported": any(m == "tfrec" or m.startswith("tfrec.") for m in sys.modules),
        }}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    assert served["tfrec_imported"] is False
    expected = model.predict((users, items), verbose=0)
    np.testing.assert_allclose(served["probability"], expected, rtol=1e-5)
    np.testing.assert_allclose(served["signature"], expected, rtol=1e-5)
    all_items = np.arange(13)
    every = model.predict((np.full(13, 4), all_items), verbose=0)
    np.testing.assert_array_equal(served["item_ids"][0], np.argsort(-every, kind="stable")[:5])
    np.testing.assert_allclose(served["scores"][0], np.sort(every)[::-1][:5], rtol=1e-5)


def test_export_refuses_to_overwrite_and_leaves_no_temp(exported):
    model, out = exported
    with pytest.raises(UserError, match="already exists"):
        export_saved_model(model, out)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]
    assert json.loads((out / "tfrec_export.json").read_text())["num_items"] == 13
