"""SavedModel export with named serving signatures; the export serves without tfrec installed.

```python
import tensorflow as tf
served = tf.saved_model.load("export/neumf")
served.score(user_id=tf.constant([0, 1]), item_id=tf.constant([5, 7]))["probability"]   # [2]
served.recommend(user_id=tf.constant([0]), k=tf.constant(10))                           # ids, scores
served.signatures["score"], served.signatures["recommend"]                              # for TF Serving
```

Signatures of a user-item model (GMF, MLP, NeuMF):

* ``score(user_id int32 [B], item_id int32 [B]) -> {"probability": float32 [B]}`` (MB-GMN,
  whose scores are not probabilities: ``{"score": ...}``)
* ``recommend(user_id int32 [B], k int32 []) -> {"item_ids": int32 [B, k], "scores": float32 [B, k]}``
  -- the top ``k`` of all items by probability (items the user has already seen are not
  removed: the export carries no interaction data).

The folder is written under a temporary name next to ``OUT_DIR`` and renamed into place, so an
interrupted export never leaves a half-written SavedModel.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.errors import UserError

METADATA = "tfrec_export.json"


def _user_item_endpoints(model) -> dict:
    num_items = int(model.num_items)
    output = getattr(model, "output_name", "probability")
    user_spec = tf.TensorSpec([None], tf.int32, name="user_id")

    @tf.function(input_signature=[user_spec, tf.TensorSpec([None], tf.int32, name="item_id")])
    def score(user_id, item_id):
        return {output: model((user_id, item_id), training=False)}

    @tf.function(input_signature=[user_spec, tf.TensorSpec([], tf.int32, name="k")])
    def recommend(user_id, k):
        batch = tf.shape(user_id)[0]
        items = tf.range(num_items, dtype=tf.int32)
        probabilities = model((tf.repeat(user_id, num_items), tf.tile(items, [batch])), training=False)
        top = tf.math.top_k(tf.reshape(probabilities, [batch, num_items]), k=tf.minimum(k, num_items))
        return {"item_ids": top.indices, "scores": top.values}

    return {"score": score, "recommend": recommend}


def export_saved_model(model: keras.Model, out_dir: str | Path, *, overwrite: bool = False, metadata: dict | None = None) -> Path:
    """Export ``model`` as a TensorFlow SavedModel with ``score`` and ``recommend`` signatures.

    Args:
        model: a trained tfrec user-item model (has ``num_users``/``num_items``).
        out_dir: destination folder; must not exist unless ``overwrite``.
        overwrite: replace an existing export.
        metadata: extra facts stored in ``tfrec_export.json`` beside the SavedModel.

    Returns:
        ``out_dir`` as a Path.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise UserError(f"{out_dir} already exists; choose another folder or pass --overwrite")
    if not hasattr(model, "num_items") and not hasattr(model, "serving_endpoints"):
        raise UserError(f"model {type(model).__name__} has no user-item serving signature to export")
    # models with other inputs than (user, item) -- AttRec's history -- bring their own signatures
    endpoints = model.serving_endpoints() if hasattr(model, "serving_endpoints") else _user_item_endpoints(model)
    # models that cache derived tensors for speed (MB-GMN's CSR graph) trace from their variables
    with getattr(model, "without_graph_cache", contextlib.nullcontext)():
        return _write_archive(model, endpoints, out_dir, metadata)


def _write_archive(model, endpoints: dict, out_dir: Path, metadata: dict | None) -> Path:
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, fn in endpoints.items():
        archive.add_endpoint(name, fn)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        archive.write_out(str(tmp), verbose=False)
        info = {
            "model": type(model).__name__,
            "num_users": None if getattr(model, "num_users", None) is None else int(model.num_users),
            "num_items": None if getattr(model, "num_items", None) is None else int(model.num_items),
            # CTR models: every field is an argument of score (tfrec.models.ctr.CTRModel)
            **({"fields": [dict(f) for f in model.field_specs]} if hasattr(model, "field_specs") else {}),
            "signatures": sorted(endpoints),
            **(metadata or {}),
        }
        (tmp / METADATA).write_text(json.dumps(info, indent=2) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
