"""COTREC (tfrec/models/cotrec.py): both views, the attention, the scores and every loss term
against an independent NumPy computation of seed 002's formulas on a tiny graph with fixed
weights (the reference's mode and the all-corrected mode), the state kept between steps,
training, evaluation, save/load, export, the CLI and bad input."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from click.testing import CliRunner
from cotrec_reference import reference_adjacency

import tfrec
from tfrec.cli import main
from tfrec.data.synthetic import synthetic_sessions
from tfrec.models.cotrec import CORRECTED, CoTRec, top_candidates

N, D, K = 7, 4, 2  # items, embedding size = batch size (the reference's example_predicting needs B == d)
GRAPH_SESSIONS = [[1, 2, 3, 4], [2, 3, 4], [4, 5, 6, 2, 7], [7, 1, 3], [5, 5, 6], [6, 3, 1]]
BATCH = {
    "items": np.array([[1, 2, 3, 0], [2, 3, 0, 0], [4, 5, 6, 2], [7, 1, 0, 0]], np.int32),
    "lengths": np.array([3, 2, 4, 2], np.int32),
    "targets": np.array([4, 4, 7, 3], np.int32),
}
BETA, LAM, EPS = 0.3, 0.7, 0.5


# --------------------------------------------------------------------------------------------
# The reference's formulas, written out with NumPy (float64)
# --------------------------------------------------------------------------------------------
def normalize(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def adjacency_dense():
    return reference_adjacency(GRAPH_SESSIONS, N)  # data_masks + column normalisation


def cross_entropy(scores, tar):
    return float(np.mean(-np.log(softmax(scores)[np.arange(len(tar)), tar])))


def oracle(w, opts, adv_item, adv_sess):
    """``COTREC.forward(train=True)`` for BATCH with weights ``w`` (numpy) and options ``opts``."""
    items, lengths, tar = BATCH["items"], BATCH["lengths"], BATCH["targets"] - 1
    b = len(tar)
    emb = w["E"]
    # ItemConv
    x, layers = emb, [emb]
    for m in w["item_maps"]:
        x = adjacency_dense() @ (x @ m)
        layers.append(normalize(x))
    item_view = sum(layers) / len(layers)
    # generate_sess_emb on reversed sessions
    rev = np.zeros_like(items)
    for i in range(b):
        rev[i, : lengths[i]] = items[i, : lengths[i]][::-1]
    table = np.vstack([np.zeros((1, D)), item_view])
    seq = table[rev]
    mask = (rev != 0)[:, :, None]
    hs = seq.sum(1) / lengths[:, None]
    length = seq.shape[1]
    pos = np.repeat(w["positions"][None, :length], b, axis=0)
    nh = np.tanh(np.concatenate([pos, seq], -1) @ w["w_1"])
    nh = 1 / (1 + np.exp(-(nh @ w["glu1"] + w["glu1_b"] + (hs @ w["glu2"])[:, None, :])))
    attention = ((nh @ w["w_2"]) * mask * seq).sum(1)
    s_i = 10 * normalize(attention)
    x_n = normalize(item_view)
    scores_item = s_i @ x_n.T
    loss_item = cross_entropy(scores_item, tar)
    # SessConv with get_overlap's loops
    overlap = np.zeros((b, b))
    for i in range(b):
        sa = set(items[i].tolist()) - {0}
        for j in range(i + 1, b):
            sb = set(items[j].tolist()) - {0}
            overlap[i, j] = overlap[j, i] = len(sa & sb) / len(sa | sb)
    overlap += np.eye(b)
    da = np.diag(1 / overlap.sum(1)) @ overlap
    s = np.vstack([np.zeros((1, D)), emb])[items].sum(1) / lengths[:, None]
    layers = [s]
    for m in w["sess_maps"]:
        s = da @ (s @ m)
        layers.append(normalize(s))
    s_s = sum(layers) / len(layers)
    scores_sess = s_s @ x_n.T
    # example_predicting + topk_func_random (num = K + 1: the negatives' rank is K)
    if opts["predict_product"] == "reference":
        prob_i, prob_s = softmax(x_n @ s_i, 0), softmax(emb @ s_s, 0)  # [N, d] @ [B, d]: needs B == d
    else:
        prob_i, prob_s = softmax(x_n @ s_i.T, 0), softmax(emb @ s_s.T, 0)
    top_i = np.argsort(-prob_i, axis=0, kind="stable")[: K + 1]
    top_s = np.argsort(-prob_s, axis=0, kind="stable")[: K + 1]
    if opts["mining"] == "crossed":
        pos_s, pos_i = emb[top_i[:K]], x_n[top_s[:K]]  # [K, B, d]
        neg_s, neg_i = np.stack([emb[top_i[K]]] * K), np.stack([x_n[top_s[K]]] * K)
    else:
        pos_s, pos_i = emb[top_s[:K]], x_n[top_i[:K]]
        neg_s, neg_i = np.stack([emb[top_s[K]]] * K), np.stack([x_n[top_i[K]]] * K)

    def ssl(anchor, sess, pos, neg):
        anchor = normalize(anchor + sess)
        if opts["ssl_layout"] == "reshape":
            pos, neg = pos.reshape(b, K, D), neg.reshape(b, K, D)
        else:
            pos, neg = pos.transpose(1, 0, 2), neg.transpose(1, 0, 2)
        pos = normalize(pos + sess[:, None])
        neg = normalize(neg + sess[:, None])
        ps = np.exp((anchor[:, None] * pos).sum(-1) / 0.2).sum(1)
        ns = np.exp((anchor[:, None] * neg).sum(-1) / 0.2).sum(1)
        terms = -np.log(ps / (ps + ns))
        return terms.sum() if opts["ssl_reduction"] == "sum" else terms.mean()

    last = items[np.arange(b), lengths - 1] - 1
    con = ssl(x_n[last], s_i, pos_i, neg_i) + ssl(emb[last], s_s, pos_s, neg_s)

    # adversarial_item / _sess: d mean-CE / d adv by the chain rule, checked against central
    # differences (absolute error: rows of rare items have gradients near 1e-8)
    def adv_update(sess, adv):
        error = softmax(sess @ (x_n + adv).T)
        error[np.arange(b), tar] -= 1
        grad = error.T @ sess / b
        h = 1e-6
        for idx in [(0, 0), (tar[0], 1), (N - 1, D - 1)]:
            up, down = adv.copy(), adv.copy()
            up[idx] += h
            down[idx] -= h
            numeric = (cross_entropy(sess @ (x_n + up).T, tar) - cross_entropy(sess @ (x_n + down).T, tar)) / (2 * h)
            assert abs(numeric - grad[idx]) < 1e-7
        return normalize(grad) * EPS

    new_item, new_sess = adv_update(s_i, adv_item), adv_update(s_s, adv_sess)
    if opts["adversarial_pairing"] == "crossed":
        adv1, adv2 = s_s @ (x_n + new_item).T, s_i @ (x_n + new_sess).T
    else:
        adv1, adv2 = s_s @ (x_n + new_sess).T, s_i @ (x_n + new_item).T
    mask = np.zeros((b, N)) if opts["diff_mask"] == "target_only" else np.full((b, N), 1 / (N - 1))
    mask[np.arange(b), tar] = 1

    def kl(p, q):
        p, q = softmax(p) * mask, softmax(q) * mask
        return np.sum(p * np.log(1e-8 + (p + 1e-8) / (q + 1e-8)))

    diff = kl(scores_item, adv2) + kl(scores_sess, adv1)
    return {
        "item_view": item_view, "attention": attention, "s_i": s_i, "s_s": s_s, "scores": scores_item,
        "cross_entropy": loss_item, "contrastive": con, "difference": diff,
        "loss": loss_item + BETA * con + LAM * diff, "adv_item": new_item, "adv_sess": new_sess,
    }


REFERENCE = {"predict_product": "reference", "mining": "crossed", "ssl_layout": "reshape", "ssl_reduction": "sum",
             "adversarial_pairing": "crossed", "diff_mask": "target_only"}


def _model(**options):
    from tfrec.data.sessions import item_transition_graph

    graph = item_transition_graph(GRAPH_SESSIONS, N)
    model = CoTRec(N, num_edges=graph.nnz, embed_dim=D, max_len=6, beta=BETA, lam=LAM, eps=EPS,
                   num_positives=K, num_candidates=K + 1, **options)
    model.build()
    model.set_item_graph(graph)
    rng = np.random.default_rng(0)
    for weight in model.weights:
        if weight.dtype == "float32" and "graph" not in weight.path:
            weight.assign(rng.uniform(-0.6, 0.6, size=weight.shape).astype(np.float32))
    return model


def _weights(model):
    att = model.attention
    return {
        "E": model.item_embeddings.numpy().astype(np.float64),
        "item_maps": [m.numpy().astype(np.float64) for m in model.item_conv.maps],
        "sess_maps": [m.numpy().astype(np.float64) for m in model.sess_conv.maps],
        "positions": att.positions.numpy(), "w_1": att.w_1.numpy(), "w_2": att.w_2.numpy(),
        "glu1": att.glu1_kernel.numpy(), "glu1_b": att.glu1_bias.numpy(), "glu2": att.glu2_kernel.numpy(),
    }


CASES = {
    "reference": ({}, REFERENCE),
    "corrected": (dict(CORRECTED), {**REFERENCE, **{k: v for k, v in CORRECTED.items() if k in REFERENCE}}),
    "own_mining": ({"mining": "own"}, {**REFERENCE, "mining": "own"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_views_scores_and_losses_match_numpy(case):
    options, opts = CASES[case]
    model = _model(**options)
    # the perturbation state is kept transposed, [d, N]
    adv_item, adv_sess = (v.numpy().T.astype(np.float64) for v in (model.adv_item, model.adv_sess))
    expected = oracle(_weights(model), opts, adv_item, adv_sess)

    view = model.item_view()
    np.testing.assert_allclose(view.numpy(), expected["item_view"], rtol=1e-5, atol=1e-6)
    s_i = model.item_session_embedding(view, BATCH["items"], BATCH["lengths"]).numpy()
    np.testing.assert_allclose(s_i, expected["s_i"], rtol=1e-4, atol=1e-5)
    s_s = model.session_view(BATCH["items"], BATCH["lengths"]).numpy()
    np.testing.assert_allclose(s_s, expected["s_s"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(BATCH["items"], verbose=0), expected["scores"], rtol=1e-4, atol=1e-4)

    losses = model.compute_losses(BATCH, training=True)
    for name in ("cross_entropy", "contrastive", "difference", "loss"):
        assert float(losses[name]) == pytest.approx(expected[name], rel=1e-4, abs=1e-6), name
    # the perturbations are state: updated from the previous ones, kept for the next step
    np.testing.assert_allclose(model.adv_item.numpy().T, expected["adv_item"], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(model.adv_sess.numpy().T, expected["adv_sess"], rtol=1e-3, atol=1e-5)
    again = oracle(_weights(model), opts, *(v.numpy().T.astype(np.float64) for v in (model.adv_item, model.adv_sess)))
    assert float(model.compute_losses(BATCH)["difference"]) == pytest.approx(again["difference"], rel=1e-4, abs=1e-6)


def test_session_view_and_graph_maps_options_control_gradients():
    import tensorflow as tf

    def grads(**options):
        model = _model(**options)
        with tf.GradientTape() as tape:
            contrastive = model.compute_losses(BATCH)["contrastive"]
        names = [v.path.split("/", 1)[1] for v in model.trainable_variables]
        return model, dict(zip(names, tape.gradient(contrastive, model.trainable_variables)))

    model, detached = grads()
    assert not any("map" in v.path for v in model.trainable_variables)  # the reference never trains them
    model, live = grads(session_view="differentiable", graph_maps="trained")
    maps = [p for p in live if "sess_conv" in p]
    assert len(maps) == 2 and all(live[p] is not None and float(tf.reduce_sum(tf.abs(live[p]))) > 0 for p in maps)
    # the session view's gradient reaches the item table only when differentiable
    table = next(p for p in live if "item_embeddings" in p)
    assert not np.allclose(detached[table].numpy(), live[table].numpy())


@pytest.mark.parametrize("case", ["reference", "corrected"])
def test_gradients_match_finite_differences(case):
    """The training gradient (target scores as dot products, one logsumexp, lookups through one
    identity) against central differences of the loss, with the perturbations frozen at the values
    the step computed (the reference detaches them), the same negative draws, and in the reference's
    mode the (detached) session view frozen too."""
    import tensorflow as tf

    model = _model(**CASES[case][0])
    if model.options["session_view"] == "detached":
        session_view = model.session_view(BATCH["items"], BATCH["lengths"])
        model.session_view = lambda *args: session_view
    seed_state = model.seed_generator.state.numpy()
    adv_before = [model.adv_item.numpy(), model.adv_sess.numpy()]
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        loss = model.compute_losses(BATCH)["loss"]
    gradients = [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]
    frozen = [model.adv_item.numpy(), model.adv_sess.numpy()]
    assert not np.allclose(frozen[0], adv_before[0])  # the step did compute new perturbations

    def loss_at(shift):
        for variable, start, step in zip(variables, base, direction):
            variable.assign(start + shift * step)
        model.seed_generator.state.assign(seed_state)
        calls = iter(frozen)
        model._adversarial = lambda *args: tf.constant(next(calls))
        return float(model.compute_losses(BATCH)["loss"])

    rng = np.random.default_rng(1)
    base = [v.numpy() for v in variables]
    direction = [rng.uniform(-1, 1, size=v.shape).astype(np.float32) for v in variables]
    h = 1e-3  # small enough that no mined item changes rank (1e-2 moves one)
    numeric = (loss_at(h) - loss_at(-h)) / (2 * h)
    analytic = sum(float(np.sum(g.numpy() * d)) for g, d in zip(gradients, direction))
    assert loss_at(0.0) == pytest.approx(float(loss), rel=1e-5)  # frozen perturbations: the same loss
    assert numeric == pytest.approx(analytic, rel=2e-2, abs=1e-3)


def _mined_negative_ranks(model):
    """Run one training step's losses and read off, for each view, the rank that each mined
    negative holds in the ranking it was mined from: ``[[C', K] per view]``."""
    calls, original = [], model._mine

    def spy(ranking, rows, ranks):
        looked_up = []
        result = original(ranking, lambda idx: (looked_up.append(idx.numpy()), rows(idx))[1], ranks)
        order = np.argsort(-ranking.numpy(), axis=1, kind="stable")  # the ranking's items, best first
        negatives = looked_up[1].T  # [C', K] item indices
        calls.append(np.array([[list(order[r]).index(item) for item in row] for r, row in enumerate(negatives)]))
        return result

    model._mine = spy
    model.compute_losses(BATCH, training=True)
    model._mine = original
    assert len(calls) == 2  # one mining per view
    return calls


@pytest.mark.parametrize("draw", ["shared", "per_session"])
def test_both_views_mine_their_negatives_at_one_draw_of_ranks(draw):
    """topk_func_random draws one torch.randint(K, num, (K,)) per step and indexes both views'
    rankings with it; per_session draws K ranks per session, also once for both views."""
    model = _model(negative_draw=draw)
    model.num_candidates = N  # negatives from ranks K .. N - 1 (the fixture's K + 1 leaves one choice)
    steps = [_mined_negative_ranks(model) for _ in range(3)]
    for item_view, session_view in steps:
        np.testing.assert_array_equal(item_view, session_view)  # the same draw for both views
        assert item_view.min() >= K and item_view.max() < N
        if draw == "shared":  # one draw for the whole batch: every session's negatives at the same ranks
            assert (item_view == item_view[0]).all()
    assert len({steps[i][0].tobytes() for i in range(3)}) > 1  # a new draw every step


def test_the_seed_decides_the_negative_draws():
    def draws(seed):
        model = CoTRec(50, seed=seed, num_positives=3, num_candidates=40)
        return np.stack([model.negative_ranks(4).numpy() for _ in range(5)])

    np.testing.assert_array_equal(draws(3), draws(3))
    assert not np.array_equal(draws(3), draws(4))
    import keras

    keras.utils.set_random_seed(7)
    first = CoTRec(50).seed
    keras.utils.set_random_seed(7)
    assert CoTRec(50).seed == first  # seed=None: from the global seed, as Keras' own layers
    with pytest.raises(ValueError, match="`seed` must be a non-negative integer"):
        CoTRec(50, seed=-1)


def test_the_runs_seed_reaches_cotrecs_draws(data):
    def run(run_seed, **params):
        return tfrec.train("cotrec", dataset=data, data="synthetic-sessions", epochs=1, seed=run_seed, device="cpu",
                           verbose=0, params={**SMALL, **params})

    first, again, other = run(5), run(5), run(6)
    assert first.model.seed == 5 and first.config["hyperparameters"]["seed"] == 5 and other.model.seed == 6
    # the same numbers (to float32 round-off: Keras' fit loop leaves the last bit of a weight to
    # TensorFlow's inter-op scheduling, see the issue-14 note)
    assert first.history["loss"] == pytest.approx(again.history["loss"], rel=1e-6)
    assert first.metrics["test"] == pytest.approx(again.metrics["test"], rel=1e-6)
    np.testing.assert_allclose(first.model.item_embeddings.numpy(), again.model.item_embeddings.numpy(), atol=1e-5)
    assert abs(first.history["loss"][0] - other.history["loss"][0]) > 1e-3 * abs(first.history["loss"][0])
    assert tfrec.build_model("cotrec", data, seed=9, **SMALL_MODEL).seed == 9  # --set seed: the draws' seed alone


def test_reference_product_needs_batch_equal_to_embedding_size():
    model = _model()
    small = {k: v[:3] for k, v in BATCH.items()}
    with pytest.raises(Exception, match="batch size == embed_dim"):
        model.compute_losses(small)
    corrected = _model(**CORRECTED)
    assert np.isfinite(float(corrected.compute_losses(small)["loss"]))  # any batch size


def test_top_candidates_is_exact_with_ties():
    import tensorflow as tf

    scores = np.round(np.random.default_rng(3).normal(size=(6, 500)), 1).astype(np.float32)  # many ties
    skewed = scores.copy()
    skewed[:, ::8] += 10  # the sampled columns hold the largest values: the sampled threshold fails
    for k in (1, 37, 100, 250, 500):
        for x in (scores, skewed):
            expected = tf.math.top_k(x, k=k).indices.numpy()
            np.testing.assert_array_equal(top_candidates(tf.constant(x), k, "nth_element").numpy(), expected)


def test_sessions_longer_than_the_position_table_keep_their_latest_clicks():
    model = _model()  # max_len = 6
    long = np.array([[1, 2, 3, 4, 5, 6, 7, 1, 2]], np.int32)
    np.testing.assert_allclose(model.predict(long, verbose=0), model.predict(long[:, -6:], verbose=0), rtol=1e-6)


def test_invalid_arguments_are_clear():
    with pytest.raises(ValueError, match="`diff_mask` must be one of"):
        CoTRec(100, diff_mask="float")
    with pytest.raises(ValueError, match="`num_candidates`"):
        CoTRec(10, num_positives=10)
    with pytest.raises(ValueError, match="`embed_dim` must be a positive integer"):
        CoTRec(100, embed_dim=0)


# --------------------------------------------------------------------------------------------
# Training, evaluation, saving, export, CLI
# --------------------------------------------------------------------------------------------
SMALL = {"embed_dim": 16, "batch_size": 16, "num_candidates": 40, "num_positives": 4}
SMALL_MODEL = {k: v for k, v in SMALL.items() if k != "batch_size"}


@pytest.fixture(scope="module")
def data():
    return synthetic_sessions(seed=0, num_items=100, num_train_sessions=300, num_test_sessions=40)


@pytest.fixture(scope="module")
def trained(data):
    return tfrec.train("cotrec", dataset=data, data="synthetic-sessions", epochs=4, seed=0, device="cpu",
                       verbose=0, params=dict(SMALL))


def test_fit_lowers_the_loss_and_reports_full_ranking_metrics(data, trained):
    import tensorflow as tf

    history, test = trained.history, trained.metrics["test"]
    assert history["cross_entropy"][-1] < history["cross_entropy"][0]
    assert {f"{m}@{k}" for m in ("HR", "MRR", "NDCG") for k in (5, 10, 20)} <= set(test)
    assert not any(key.startswith("P@") for key in test)  # the reference's "P@K" is reported as HR@K
    assert all(len(history[f"HR@{k}"]) == 4 for k in (5, 10, 20))  # every epoch
    best = trained.metrics["best_over_epochs_on_test"]
    assert best["HR@20"] == pytest.approx(max(history["HR@20"])) and 1 <= best["HR@20_epoch"] <= 4
    # the evaluation equals ranking the model's scores of all items directly
    items, _ = data.padded("test")
    scores = trained.model.predict(items, batch_size=256, verbose=0)
    target = data.test_targets - 1
    ranks = (scores >= scores[np.arange(len(target)), target][:, None]).sum(1) - 1
    assert test["HR@10"] == pytest.approx(np.mean(ranks < 10))
    assert test["MRR@20"] == pytest.approx(np.mean(np.where(ranks < 20, 1 / (ranks + 1), 0)), rel=1e-6)
    assert test["HR@20"] > trained.metrics["baseline_popularity"]["HR@20"] + 0.1  # learns the planted transitions
    # recommend returns 1-based ids, best first, and padding may sit anywhere
    ids, values = trained.model.recommend(tf.constant(items[:4]), 5)
    np.testing.assert_array_equal(ids.numpy(), np.argsort(-scores[:4], axis=1, kind="stable")[:, :5] + 1)
    left_padded = np.zeros_like(items[:4])
    for i, row in enumerate(items[:4]):
        real = row[row != 0]
        left_padded[i, items.shape[1] - len(real):] = real
    np.testing.assert_allclose(trained.model.predict(left_padded, verbose=0), scores[:4], rtol=1e-5, atol=1e-6)


def test_save_load_and_export(data, trained, tmp_path):
    import keras
    import tensorflow as tf

    model = trained.model
    items = data.padded("test")[0][:6]
    expected = model.predict(items, verbose=0)
    assert float(tf.reduce_sum(tf.abs(model.adv_item))) > 0  # adversarial state after training
    model.save(tmp_path / "cotrec.keras")
    loaded = keras.saving.load_model(tmp_path / "cotrec.keras")
    np.testing.assert_allclose(loaded.predict(items, verbose=0), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(loaded.adv_item.numpy(), model.adv_item.numpy())
    assert loaded.get_config() == model.get_config()
    tfrec.export_saved_model(model, tmp_path / "export")
    served = tf.saved_model.load(str(tmp_path / "export"))
    top = served.recommend(session_items=tf.constant(items), k=tf.constant(3))
    ids, values = model.recommend(tf.constant(items), 3)
    np.testing.assert_array_equal(top["item_ids"].numpy(), ids.numpy())
    np.testing.assert_allclose(top["scores"].numpy(), values.numpy(), rtol=1e-5)
    assert int(tf.reduce_min(top["item_ids"])) >= 1


def test_corrected_mode_trains_with_any_batch_size_and_reference_mode_refuses(data):
    result = tfrec.train("cotrec", dataset=data, data="synthetic-sessions", epochs=1, seed=0, device="cpu", verbose=0,
                         params={**SMALL, "batch_size": 7, "last_batch": "partial", **CORRECTED})
    assert np.isfinite(result.history["loss"][-1])
    with pytest.raises(tfrec.errors.UserError, match="predict_product='reference'"):
        tfrec.train("cotrec", dataset=data, data="synthetic-sessions", epochs=1, seed=0, device="cpu", verbose=0,
                    params={**SMALL, "batch_size": 7})


def test_validation_split_chooses_the_reported_epoch(data):
    result = tfrec.train("cotrec", dataset=data, data="synthetic-sessions", epochs=2, seed=0, device="cpu", verbose=0,
                         params={**SMALL, "validation": 0.3})
    history, chosen = result.history, result.metrics["at_best_validation_epoch"]
    assert result.data.num_train < data.num_train and result.data.num_test == data.num_test
    epoch = int(np.argmax(history["val_HR@20"]))
    assert chosen["epoch"] == epoch + 1
    assert chosen["HR@20"] == history["HR@20"][epoch] and chosen["val_MRR@10"] == history["val_MRR@10"][epoch]
    with pytest.raises(tfrec.errors.UserError, match="validation"):
        tfrec.train("cotrec", dataset=data, data="synthetic-sessions", epochs=1, device="cpu", verbose=0,
                    params={**SMALL, "validation": 1.5})


def test_cli_trains_cotrec_on_the_synthetic_default(tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "train", "--model", "cotrec", "--epochs", "1", "--device", "cpu", "--output", str(run), "--quiet",
        "--batch-size", "8", "--set", "embed_dim=8", "--set", "use_positions=false",
    ])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"HR@5", "MRR@5", "HR@20", "MRR@20"} <= set(metrics["test"]) and "best_over_epochs_on_test" in metrics
    evaluated = CliRunner().invoke(main, ["evaluate", str(run), "--device", "cpu"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output.strip().splitlines()[-1])["test"] == pytest.approx(metrics["test"], rel=1e-4)
    exported = CliRunner().invoke(main, ["export", str(run), str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output


def _write_cotrec_files(folder, all_train, train, test):
    folder.mkdir(parents=True, exist_ok=True)
    for name, obj in (("all_train_seq.txt", all_train), ("train.txt", train), ("test.txt", test)):
        if obj is not None:
            (folder / name).write_bytes(pickle.dumps(obj))


def test_retailrocket_path_on_a_small_fixture(tmp_path):
    rng = np.random.default_rng(5)
    sessions = [rng.integers(1, 31, size=rng.integers(3, 7)).tolist() for _ in range(40)]
    test_sessions = [rng.integers(1, 31, size=4).tolist() for _ in range(6)]
    test = ([s[:-1] for s in test_sessions], [s[-1] for s in test_sessions])
    _write_cotrec_files(tmp_path / "rr", sessions, None, test)  # no train.txt: pairs derived from all_train_seq
    run = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "train", "--model", "cotrec", "--data", "retailrocket", "--data-dir", str(tmp_path / "rr"), "--epochs", "1",
        "--device", "cpu", "--output", str(run), "--quiet", "--batch-size", "8", "--set", "embed_dim=8",
        "--set", "num_candidates=20",
    ])
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    assert config["model_config"]["max_len"] == 300  # RetailRocket's position table


def test_a_users_click_log_trains(tmp_path):
    rng = np.random.default_rng(6)
    rows, day = ["session_id,item_id,timestamp"], 86_400
    for session in range(80):
        start = (session % 20) * day  # 20 days: the last 7 are the test sessions
        for click, item in enumerate(rng.integers(0, 12, size=rng.integers(2, 6))):
            rows.append(f"s{session},item{item},{start + 60 * click}")
    (tmp_path / "clicks.csv").write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(main, [
        "train", "--model", "cotrec", "--data", "sessions", "--data-dir", str(tmp_path / "clicks.csv"), "--epochs", "1",
        "--device", "cpu", "--output", str(tmp_path / "run"), "--quiet", "--batch-size", "8", "--set", "embed_dim=8",
    ])
    assert result.exit_code == 0, result.output
    assert "HR@10" in json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]


@pytest.mark.parametrize("bad, message", [
    ("outside", "outside 1.."),
    ("empty", "empty sequence"),
    ("lengths", "next items"),
])
def test_bad_input_names_the_file(tmp_path, bad, message):
    sessions = [[1, 2, 3], [2, 3, 4], [4, 5, 1]]
    test = ([[1, 2], [3]], [3, 4])
    if bad == "outside":
        test = ([[1, 0], [3]], [3, 4])
    elif bad == "empty":
        test = ([[1, 2], []], [3, 4])
    else:
        test = ([[1, 2], [3]], [3])
    _write_cotrec_files(tmp_path / "d", sessions, None, test)
    result = CliRunner().invoke(main, [
        "train", "--model", "cotrec", "--data", "diginetica", "--data-dir", str(tmp_path / "d"), "--epochs", "1",
        "--device", "cpu", "--quiet",
    ])
    assert result.exit_code == 2, result.output
    assert "test.txt" in result.output and message in result.output
