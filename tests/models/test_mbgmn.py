"""MB-GMN (tfrec/models/mbgmn.py) against an independent NumPy computation of seed 000's formulas
on a tiny graph with fixed weights."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tfrec import _backend  # noqa: F401
import keras

from tfrec.models.mbgmn import MBGMN

U, I, K = 7, 6, 3
LEAKY = 0.1


def _leaky(x):
    return np.maximum(LEAKY * x, x)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _norm_dense(matrix):
    """transToLsts(norm=True), entry by entry as the reference loops."""
    dense = matrix.toarray().astype(np.float64)
    row = 1 / (np.sqrt(dense.sum(1) + 1e-8) + 1e-8)
    col = 1 / (np.sqrt(dense.sum(0) + 1e-8) + 1e-8)
    out = np.zeros_like(dense)
    for r, c in zip(*np.nonzero(dense)):
        out[r, c] = dense[r, c] * row[r] * col[c]
    return out


def _grid_batch(pairs):
    """A training batch in the model's layout from per-behavior flat pairs ``(users [n],
    positives [n], negatives [n])``: one row per pair (``S = 1``), every behavior's rows in one
    ``users`` vector, each behavior's mask true on its own rows only."""
    users = np.concatenate([u for u, _, _ in pairs]).astype(np.int32)
    batch, start = {"users": users}, 0
    for k, (u, pos, neg) in enumerate(pairs):
        mask = np.zeros((len(users), 1), bool)
        mask[start : start + len(u)] = True
        grid_pos, grid_neg = np.zeros((len(users), 1), np.int32), np.zeros((len(users), 1), np.int32)
        grid_pos[start : start + len(u), 0], grid_neg[start : start + len(u), 0] = pos, neg
        batch.update({f"pos_{k}": grid_pos, f"neg_{k}": grid_neg, f"mask_{k}": mask})
        start += len(u)
    return batch


@pytest.fixture(scope="module")
def model_and_graph():
    rng = np.random.default_rng(0)
    matrices = [sp.csr_matrix((rng.random((U, I)) < p).astype(np.float32)) for p in (0.6, 0.4, 0.3)]
    model = MBGMN(U, I, K, [m.nnz for m in matrices], latdim=8, rank=2, gnn_layer=2, att_head=2, reg=0.01)
    model.build()
    model.set_graph(matrices)
    for variable in model.trainable_variables:  # distinctive fixed weights
        variable.assign(rng.normal(scale=0.3, size=variable.shape).astype(np.float32))
    return model, matrices


def _w(variable):
    return np.asarray(variable, dtype=np.float64)


def _numpy_reference(model, matrices):
    """Seed 000's defineModel / metaForSpecialize / specialize / lightSelfAttention in NumPy."""
    h, d, rank, heads = model.latdim // 2, model.latdim, model.rank, model.att_head
    spec = model.specializer
    adjs = [_norm_dense(m) for m in matrices]
    tp_adjs = [_norm_dense(sp.csr_matrix(m.T)) for m in matrices]
    u0, i0, beh = _w(model.user_embedding), _w(model.item_embedding), _w(model.behavior_embedding)

    def fc(x, kernel, bias=None):
        return x @ _w(kernel) + (0 if bias is None else _w(bias))

    def meta_specialize(behavior, adj_list, tp_list):
        u_nb = sum(a @ i0 for a in adj_list)
        i_nb = sum(a @ u0 for a in tp_list)
        u_meta = _leaky(fc(np.concatenate([np.tile(behavior, (U, 1)), u0, u_nb], 1), spec.meta_kernel, spec.meta_bias))
        i_meta = _leaky(fc(np.concatenate([np.tile(behavior, (I, 1)), i0, i_nb], 1), spec.meta_kernel, spec.meta_bias))
        g = spec.generators
        out = []
        for emb, meta, p in ((u0, u_meta, "user"), (i0, i_meta, "item")):
            w1 = fc(meta, *g[f"{p}_w1"]).reshape(-1, h, rank)
            w2 = fc(meta, *g[f"{p}_w2"]).reshape(-1, rank, h)
            low = np.sum(emb[:, :, None] * w1, axis=1)
            out.append(np.concatenate([np.sum(low[:, :, None] * w2, axis=1), emb], axis=1))
        return out

    def light_attention(reps, q):
        stacked = np.stack(reps, axis=1)  # [N, K, d]
        n = stacked.shape[0]
        tem = stacked.reshape(-1, d) @ _w(q)
        qq = tem.reshape(n, K, 1, heads, d // heads)
        kk = tem.reshape(n, 1, K, heads, d // heads)
        vv = stacked.reshape(n, 1, K, heads, d // heads)
        att = _softmax(np.sum(qq * kk, axis=-1, keepdims=True) / np.sqrt(d / heads), axis=2)
        attval = np.sum(att * vv, axis=2).reshape(n, K, d)
        return [attval[:, k] + reps[k] for k in range(K)]

    ulat, ilat = [], []
    for b in range(K):
        bu, bi = meta_specialize(beh[b], [adjs[b]], [tp_adjs[b]])
        us, is_ = [bu], [bi]
        for _ in range(model.gnn_layer):
            nu = _leaky(adjs[b] @ is_[-1])
            ni = _leaky(tp_adjs[b] @ us[-1])
            us.append(nu + us[-1])
            is_.append(ni + is_[-1])
        ulat.append(sum(us))
        ilat.append(sum(is_))
    bu, bi = meta_specialize(beh[K], adjs, tp_adjs)
    us, is_ = [bu], [bi]
    for layer in range(model.gnn_layer):
        ub = [_leaky(adjs[b] @ is_[-1]) for b in range(K)]
        ib = [_leaky(tp_adjs[b] @ us[-1]) for b in range(K)]
        us.append(sum(light_attention(ub, model.user_attention[layer].query)))
        is_.append(sum(light_attention(ib, model.item_attention[layer].query)))
    ulat.append(sum(us))
    ilat.append(sum(is_))
    return np.stack(ulat), np.stack(ilat)


def _numpy_predict(model, su, si, tu, ti):
    """metaForPredict + _predict for rows of representations."""
    p, d = model.predictor, model.latdim

    def fc(x, kernel, bias):
        return x @ _w(kernel) + _w(bias)

    src = _leaky(fc(np.concatenate([su * si, su, si], 1), p.pair_kernel, p.pair_bias))
    tgt = _leaky(fc(np.concatenate([tu * ti, tu, ti], 1), p.pair_kernel, p.pair_bias))
    meta = _leaky(fc(np.concatenate([src * tgt, src, tgt], 1), p.meta_kernel, p.meta_bias))
    w1 = fc(meta, p.w1_kernel, p.w1_bias).reshape(-1, 3 * d, d)
    b1 = fc(meta, p.b1_kernel, p.b1_bias)[:, None, :]
    w2 = fc(meta, p.w2_kernel, p.w2_bias).reshape(-1, d, 1)
    pred_embed = np.concatenate([su * si, su, si], 1)[:, None, :]
    hidden = _leaky(pred_embed @ w1 + b1)
    return (hidden @ w2).reshape(-1) * model.mult


def test_propagation_matches_numpy(model_and_graph):
    model, matrices = model_and_graph
    user_reps, item_reps = model.propagate()
    ref_users, ref_items = _numpy_reference(model, matrices)
    np.testing.assert_allclose(user_reps.numpy(), ref_users, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(item_reps.numpy(), ref_items, rtol=2e-4, atol=2e-5)


def test_scores_and_loss_match_numpy(model_and_graph):
    model, matrices = model_and_graph
    rng = np.random.default_rng(1)
    ref_users, ref_items = _numpy_reference(model, matrices)
    pairs, expected_hinge = [], 0.0
    for target in range(K):
        n = 4 + target
        users = np.tile(rng.integers(0, U, n), 2)
        items = rng.integers(0, I, 2 * n)
        pairs.append((users[:n], items[:n], items[n:]))
        for source in range(K + 1):
            preds = _numpy_predict(model, ref_users[source][users], ref_items[source][items], ref_users[target][users], ref_items[target][items])
            expected_hinge += np.mean(np.maximum(0.0, 1.0 - (preds[:n] - preds[n:])))
    expected_l2 = 0.01 * sum(np.sum(_w(w) ** 2) for w in model.regularized_weights())
    losses = model.compute_losses(_grid_batch(pairs))
    assert float(losses["hinge"]) == pytest.approx(expected_hinge, rel=2e-4)
    assert float(losses["l2"]) == pytest.approx(expected_l2, rel=1e-5)
    # target scores (all-behavior source, last behavior as target), as the reference evaluates
    users, items = np.array([0, 3, 6]), np.array([5, 1, 2])
    expected = _numpy_predict(model, ref_users[K][users], ref_items[K][items], ref_users[K - 1][users], ref_items[K - 1][items])
    np.testing.assert_allclose(model.predict((users, items), verbose=0), expected, rtol=2e-4, atol=1e-3)


def test_a_behavior_without_pairs_adds_nothing(model_and_graph):
    model, matrices = model_and_graph
    rng = np.random.default_rng(2)
    ref_users, ref_items = _numpy_reference(model, matrices)
    pairs, expected_hinge = [], 0.0
    for target in range(K):
        n = 0 if target == 0 else 3
        users = np.tile(rng.integers(0, U, n), 2).astype(np.int32)
        items = rng.integers(0, I, 2 * n).astype(np.int32)
        pairs.append((users[:n], items[:n], items[n:]))
        for source in range(K + 1) if n else []:
            preds = _numpy_predict(model, ref_users[source][users], ref_items[source][items], ref_users[target][users], ref_items[target][items])
            expected_hinge += np.mean(np.maximum(0.0, 1.0 - (preds[:n] - preds[n:])))
    losses = model.compute_losses(_grid_batch(pairs))
    assert np.isfinite(float(losses["loss"]))
    assert float(losses["hinge"]) == pytest.approx(expected_hinge, rel=2e-4)


def test_repeated_pairs_keep_loss_and_gradients(model_and_graph):
    """Scores are computed once per distinct pair: repeating every pair must change nothing."""
    import tensorflow as tf

    model, _ = model_and_graph
    rng = np.random.default_rng(4)
    pairs, doubled = [], []
    for target in range(K):
        users, items = rng.integers(0, U, 3).astype(np.int32), rng.integers(0, I, 6).astype(np.int32)
        pairs.append((users, items[:3], items[3:]))
        # the same pairs, each twice
        doubled.append((np.tile(users, 2), np.tile(items[:3], 2), np.tile(items[3:], 2)))
    batch, doubled = _grid_batch(pairs), _grid_batch(doubled)

    def loss_and_grads(b):
        with tf.GradientTape() as tape:
            loss = model.compute_losses(b)["loss"]
        return float(loss), [g.numpy() for g in tape.gradient(loss, model.trainable_variables) if g is not None]

    loss, grads = loss_and_grads(batch)
    loss2, grads2 = loss_and_grads(doubled)
    assert loss2 == pytest.approx(loss, rel=1e-6)
    for a, b in zip(grads, grads2):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-7)


def test_regularised_weights_are_the_references(model_and_graph):
    model, _ = model_and_graph
    names = {w.path.split("/")[-1] for w in model.regularized_weights()}
    assert {"user_embedding", "item_embedding", "query", "w1_bias", "w2_bias", "user_w1_bias"} <= names
    assert not names & {"behavior_embedding", "pair_bias", "b1_bias"}  # unregularised in seed 000
    assert len(model.regularized_weights()) == 2 + 9 + 7 + 2 * model.gnn_layer


def test_save_load_keeps_graph_and_scores(model_and_graph, tmp_path):
    model, _ = model_and_graph
    path = tmp_path / "mbgmn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    users, items = np.array([0, 1, 2]), np.array([3, 4, 5])
    np.testing.assert_allclose(loaded.predict((users, items), verbose=0), model.predict((users, items), verbose=0), rtol=1e-5)
    assert loaded.get_config() == model.get_config()


def test_invalid_hyperparameters():
    with pytest.raises(ValueError, match="att_head"):
        MBGMN(3, 3, 1, [1], latdim=6, att_head=4)
    with pytest.raises(ValueError, match="adjacency_nnz"):
        MBGMN(3, 3, 2, [1])


def test_xla_predictor_with_padding_equals_the_plain_one():
    from tfrec.layers.meta import MetaPredictor, _bucket_size

    assert [int(_bucket_size(n)) for n in (1, 5, 9, 100, 1025, 1100)] == [1, 5, 9, 100, 1088, 1152]
    plain, compiled = MetaPredictor(8, jit_compile=False), MetaPredictor(8, jit_compile=True)
    plain.build(), compiled.build()
    rng = np.random.default_rng(3)
    for a, b in zip(plain.weights, compiled.weights):
        value = rng.normal(scale=0.3, size=a.shape).astype(np.float32)
        a.assign(value), b.assign(value)
    rows = [rng.normal(size=(37, 8)).astype(np.float32) for _ in range(4)]
    np.testing.assert_allclose(compiled(*rows).numpy(), plain(*rows).numpy(), rtol=1e-4, atol=1e-3)


def test_mixed_bfloat16_predictor_only(model_and_graph, tmp_path):
    """``predictor_dtype="mixed_bfloat16"``: the predictor computes in bfloat16 (scores close to
    float32's, returned as float32); the graph and the other weights stay float32."""
    model, matrices = model_and_graph
    config = {**model.get_config(), "predictor_dtype": "mixed_bfloat16"}
    mixed = MBGMN.from_config(config)
    mixed.build()
    mixed.set_weights(model.get_weights())
    mixed.set_graph(matrices)
    assert mixed.predictor.compute_dtype == "bfloat16" and mixed.predictor._compiled is None and mixed.predictor._compiled_meta is not None
    assert {v.dtype for v in mixed.weights if v.dtype.startswith("float")} == {"float32"}
    assert mixed.specializer.compute_dtype == mixed.user_attention[0].compute_dtype == "float32"
    users, items = np.arange(U) % U, (np.arange(U) * 3) % I
    exact, approx = model.predict((users, items), verbose=0), mixed.predict((users, items), verbose=0)
    assert approx.dtype == np.float32
    assert not np.allclose(approx, exact, rtol=1e-6, atol=0)  # really computed in bfloat16
    np.testing.assert_allclose(approx, exact, rtol=0.05, atol=0.05 * np.abs(exact).max())
    pair = (np.arange(2) % U, np.arange(2) % I, np.arange(2, 4) % I)
    assert np.isfinite(float(mixed.compute_losses(_grid_batch([pair] * K))["loss"]))
    path = tmp_path / "mixed.keras"
    mixed.save(path)
    assert keras.saving.load_model(path).predictor.compute_dtype == "bfloat16"
