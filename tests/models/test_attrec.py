"""AttRec (tfrec/models/attrec.py): forward scores and losses against an independent NumPy
computation of seed 001's formulas, training, save/load, export and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import tfrec
from tfrec.cli import main
from tfrec.data.synthetic import load_synthetic_sequences
from tfrec.models.attrec import AttRec

U, I, L, D = 5, 9, 3, 4


def _numpy_short_term(table, kernel, histories):
    """seed 001 SelfAttention_Layer, written out with NumPy."""
    d = table.shape[1]
    pos = np.arange(L)[:, None] / np.power(10000, (2 * (np.arange(d)[None, :] // 2)) / d)
    pe = np.where(np.arange(d)[None, :] % 2 == 0, np.sin(pos), np.cos(pos))
    x = table[histories]  # [B, L, d]
    q = np.maximum((x + pe) @ kernel, 0)
    logits = q @ q.transpose(0, 2, 1) / np.sqrt(d)
    logits = np.where((histories != 0)[:, None, :], logits, -(2.0**32) + 1)
    att = np.exp(logits - logits.max(-1, keepdims=True))
    att /= att.sum(-1, keepdims=True)
    return (att @ x).mean(axis=1)


def _clip(v):
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(norm > 1, v / norm, v)


def _numpy_scores(model, users, histories, items, mode):
    user, item, item2 = (model.user_embedding.embeddings.numpy(), model.item_embedding.embeddings.numpy(),
                         model.item2_embedding.embeddings.numpy())
    short = _numpy_short_term(item, model.attention.kernel.numpy(), histories)
    u, i, i2 = user[users], item[items], item2[items]
    if mode == "inner":
        return 0.5 * np.sum(u * i2, -1) + 0.5 * np.sum(short * i, -1)
    u, i, i2 = _clip(u), _clip(i), _clip(i2)
    return 0.5 * np.sum((u - i2) ** 2, -1) + 0.5 * np.sum((short - i) ** 2, -1)


def _model(mode):
    model = AttRec(U, I, maxlen=L, embed_dim=D, mode=mode, embed_reg=1e-2)
    model.build()
    rng = np.random.default_rng(0)
    for weight in model.weights:  # large enough that dist mode's norm clipping is exercised
        weight.assign(rng.normal(scale=0.8, size=weight.shape).astype(np.float32))
    return model


BATCH = {
    "user_id": np.array([0, 1, 4, 2], np.int32),
    "history": np.array([[0, 0, 3], [1, 2, 3], [0, 5, 5], [9, 8, 7]], np.int32),
    "pos_item": np.array([4, 6, 1, 2], np.int32),
    "neg_item": np.array([7, 2, 8, 9], np.int32),
}


@pytest.mark.parametrize("mode", ["inner", "dist"])
def test_scores_and_losses_match_numpy(mode):
    model = _model(mode)
    pos = _numpy_scores(model, BATCH["user_id"], BATCH["history"], BATCH["pos_item"], mode)
    neg = _numpy_scores(model, BATCH["user_id"], BATCH["history"], BATCH["neg_item"], mode)
    if mode == "inner":
        expected = np.mean(-np.log(1 / (1 + np.exp(-(pos - neg)))))
    else:
        expected = np.sum(np.maximum(pos - neg + 0.5, 0))
    l2 = 1e-2 * sum(np.sum(w.numpy() ** 2) for w in
                    (model.user_embedding.embeddings, model.item_embedding.embeddings, model.item2_embedding.embeddings))
    losses = model.compute_losses(BATCH)
    assert float(losses["ranking_loss"]) == pytest.approx(expected, rel=1e-4)
    assert float(losses["l2"]) == pytest.approx(l2, rel=1e-5)
    # predict returns "higher is better": the score, or the negated distance
    served = model.predict((BATCH["user_id"], BATCH["history"], BATCH["pos_item"]), verbose=0)
    np.testing.assert_allclose(served, pos if mode == "inner" else -pos, rtol=1e-4, atol=1e-5)
    # candidates per user [B, C] score like single items
    candidates = np.stack([BATCH["pos_item"], BATCH["neg_item"]], axis=1)
    both = model.score(BATCH["user_id"], BATCH["history"], candidates).numpy()
    np.testing.assert_allclose(both[:, 1], neg if mode == "inner" else -neg, rtol=1e-4, atol=1e-5)


def test_invalid_arguments_are_clear():
    with pytest.raises(ValueError, match="`mode` must be one of"):
        AttRec(3, 3, mode="cosine")
    with pytest.raises(ValueError, match="`maxlen` must be a positive integer"):
        AttRec(3, 3, maxlen=0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data = load_synthetic_sequences(seed=0, num_users=120, num_items=80, length=12)
    result = tfrec.train("attrec", dataset=data, epochs=3, seed=0, device="cpu", verbose=0,
                         params={"embed_dim": 8, "batch_size": 64, "eval_every": 1})
    return data, result


def test_fit_lowers_the_loss_and_evaluates(trained):
    data, result = trained
    assert result.history["ranking_loss"][-1] < result.history["ranking_loss"][0]
    test = result.metrics["test"]
    # the batched evaluation equals ranking predict()'s scores directly
    candidates = data.candidates()
    users = np.repeat(data.test_users, candidates.shape[1])
    histories = np.repeat(data.test_histories, candidates.shape[1], axis=0)
    scores = result.model.predict((users, histories, candidates.ravel()), batch_size=4096, verbose=0)
    ranks = (scores.reshape(candidates.shape)[:, 1:] >= scores.reshape(candidates.shape)[:, :1]).sum(axis=1)
    assert test["HR@10"] == pytest.approx(np.mean(ranks < 10))
    assert test["MRR"] == pytest.approx(np.mean(1 / (ranks + 1)), rel=1e-6)


def test_save_load_and_export(trained, tmp_path):
    import keras
    import tensorflow as tf

    data, result = trained
    inputs = (data.test_users[:5], data.test_histories[:5], data.test_items[:5])
    expected = result.model.predict(inputs, verbose=0)
    result.model.save(tmp_path / "attrec.keras")
    loaded = keras.saving.load_model(tmp_path / "attrec.keras")
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), expected, rtol=1e-6)
    tfrec.export_saved_model(result.model, tmp_path / "export")
    served = tf.saved_model.load(str(tmp_path / "export"))
    scores = served.score(user_id=tf.constant(inputs[0]), history=tf.constant(inputs[1]), item_id=tf.constant(inputs[2]))
    np.testing.assert_allclose(scores["score"].numpy(), expected, rtol=1e-5)
    top = served.recommend(user_id=tf.constant(inputs[0]), history=tf.constant(inputs[1]), k=tf.constant(3))
    assert top["item_ids"].shape == (5, 3) and int(tf.reduce_min(top["item_ids"])) >= 1


def test_cli_trains_attrec_on_the_synthetic_default(tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "train", "--model", "attrec", "--epochs", "1", "--device", "cpu", "--output", str(run), "--quiet",
        "--set", "embed_dim=8", "--set", "mode=dist",
    ])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"HR@10", "NDCG@10", "MRR"} <= set(metrics["test"])
    evaluated = CliRunner().invoke(main, ["evaluate", str(run), "--device", "cpu"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output.strip().splitlines()[-1])["test"] == pytest.approx(metrics["test"], rel=1e-4)
