"""COTREC's graph pieces (tfrec/layers/session_graph.py, session_attention.py) against literal
NumPy / Python ports of seed 002's ``data_masks``, ``Data.get_overlap``, ``ItemConv``,
``SessConv`` and ``generate_sess_emb(_npos)``."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from cotrec_reference import reference_adjacency

from tfrec.data.sessions import item_transition_graph
from tfrec.layers.session_attention import SessionSoftAttention
from tfrec.layers.session_graph import ItemConv, SessConv, session_overlap

SESSIONS = [[1, 2, 3, 4], [2, 3, 4], [4, 5, 6, 2, 7], [7, 1, 3], [5, 5, 6], [6, 6, 6, 1]]
N, D = 7, 4


def reference_overlap(sessions):
    """seed 002 ``Data.get_overlap``, then ``D^-1 A``."""
    b = len(sessions)
    matrix = np.zeros((b, b))
    for i in range(b):
        seq_a = set(sessions[i]) - {0}
        for j in range(i + 1, b):
            seq_b = set(sessions[j]) - {0}
            matrix[i][j] = matrix[j][i] = len(seq_a & seq_b) / len(seq_a | seq_b)
    matrix = matrix + np.eye(b)
    return np.diag(1.0 / matrix.sum(1)) @ matrix


def normalize(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def test_item_graph_matches_the_reference_dict_code():
    # includes a first transition a -> a (item 5) and repeated self transitions (item 6)
    expected = reference_adjacency(SESSIONS, N)
    np.testing.assert_allclose(item_transition_graph(SESSIONS, N).toarray(), expected, rtol=1e-6)


def test_session_overlap_matches_get_overlap():
    batch = np.array([[1, 2, 2, 0], [2, 3, 0, 0], [5, 6, 7, 1], [4, 0, 0, 0], [3, 2, 1, 0]], np.int32)
    expected = reference_overlap([row.tolist() for row in batch])
    np.testing.assert_allclose(session_overlap(tf.constant(batch)).numpy(), expected, rtol=1e-6)
    raw = session_overlap(tf.constant(batch), normalize=False).numpy()
    assert raw[0, 1] == pytest.approx(1 / 3)  # {1, 2} vs {2, 3} and raw[0, 0] == 1.0 and raw[3, 1] == 0.0


def test_item_conv_matches_numpy_and_maps_are_fixed_by_default():
    adjacency = item_transition_graph(SESSIONS, N).tocoo()
    sparse = tf.sparse.SparseTensor(np.stack([adjacency.row, adjacency.col], 1).astype(np.int64),
                                    adjacency.data.astype(np.float32), [N, N])
    conv = ItemConv(2)
    conv.build((N, D))
    assert conv.trainable_weights == [] and len(conv.non_trainable_weights) == 2
    assert len(ItemConv(2, trainable_maps=True).build((N, D)) or []) == 0
    table = np.random.default_rng(0).normal(size=(N, D)).astype(np.float32)
    x, layers = table.astype(np.float64), [table.astype(np.float64)]
    dense = adjacency.toarray()
    for kernel in conv.maps:
        x = dense @ (x @ kernel.numpy())
        layers.append(normalize(x))
    np.testing.assert_allclose(conv(tf.constant(table), sparse).numpy(), np.mean(layers, 0), rtol=1e-5, atol=1e-6)
    # gradients through the CSR kernel equal those of tf.sparse.sparse_dense_matmul
    variable = tf.Variable(table)
    with tf.GradientTape(persistent=True) as tape:
        ours = tf.reduce_sum(conv(variable, sparse) ** 2)
        h = variable
        outs = [h]
        for kernel in conv.maps:
            h = tf.sparse.sparse_dense_matmul(sparse, h @ kernel)
            outs.append(tf.math.l2_normalize(h, -1, epsilon=1e-24))
        theirs = tf.reduce_sum((tf.add_n(outs) / 3) ** 2)
    expected = tape.gradient(theirs, variable).numpy()
    np.testing.assert_allclose(tape.gradient(ours, variable).numpy(), expected, rtol=1e-4, atol=1e-6)


def test_sess_conv_matches_numpy():
    conv = SessConv(2, trainable_maps=True)
    conv.build((None, D))
    assert len(conv.trainable_weights) == 2
    rng = np.random.default_rng(1)
    means = rng.normal(size=(5, D)).astype(np.float32)
    overlap = reference_overlap([[1, 2], [2, 3], [4], [1, 4, 5], [6]]).astype(np.float32)
    s, layers = means.astype(np.float64), [means.astype(np.float64)]
    for kernel in conv.maps:
        s = overlap @ (s @ kernel.numpy())
        layers.append(normalize(s))
    got = conv(tf.constant(means), tf.constant(overlap)).numpy()
    np.testing.assert_allclose(got, np.mean(layers, 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("use_positions", [True, False])
def test_soft_attention_matches_generate_sess_emb(use_positions):
    layer = SessionSoftAttention(use_positions=use_positions, max_len=6)
    layer.build((None, None, D))
    rng = np.random.default_rng(2)
    reversed_items = np.array([[3, 2, 1], [5, 4, 0], [7, 0, 0]])
    lengths = np.array([3, 2, 1])
    table = np.vstack([np.zeros((1, D)), rng.normal(size=(N, D))]).astype(np.float32)
    seq = table[reversed_items]
    mask = (reversed_items != 0)[:, :, None].astype(np.float64)
    hs = seq.sum(1) / lengths[:, None]
    g1, b1, g2, w2 = (layer.glu1_kernel.numpy(), layer.glu1_bias.numpy(), layer.glu2_kernel.numpy(), layer.w_2.numpy())
    if use_positions:
        pos = np.repeat(layer.positions.numpy()[None, :3], 3, axis=0)
        nh = np.tanh(np.concatenate([pos, seq], -1) @ layer.w_1.numpy())
    else:
        nh = seq
    nh = 1 / (1 + np.exp(-(nh @ g1 + b1 + (hs @ g2)[:, None, :])))
    expected = ((nh @ w2) * mask * seq).sum(1)
    got = layer(tf.constant(seq), tf.constant(mask[..., 0]), tf.constant(lengths)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert (layer.get_config()["use_positions"], layer.get_config()["max_len"]) == (use_positions, 6)


def test_invalid_layer_arguments():
    with pytest.raises(ValueError, match="`num_layers`"):
        ItemConv(-1)
    with pytest.raises(ValueError, match="`max_len`"):
        SessionSoftAttention(max_len=0)
    with pytest.raises(ValueError, match="`use_positions`"):
        SessionSoftAttention(use_positions="yes")
