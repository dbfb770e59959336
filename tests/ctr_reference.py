"""Independent NumPy versions of the CTR formulas, shared by the layer and model tests."""

from __future__ import annotations

import numpy as np


def relu(x):
    return np.maximum(x, 0.0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def w(variable):
    return np.asarray(variable, dtype=np.float64)


def field_rows(fields, features, table, pooling="mean"):
    """``[B, F, width]`` rows of ``table`` for each field; field f's id i is row offset_f + i;
    a numeric field's row is its value times its one row, ``x * table[offset_f]``."""
    out, offset = [], 0
    for f in fields:
        ids = np.asarray(features[f["name"]])
        if f.get("numeric", False):
            out.append(ids.astype(np.float64)[:, None] * table[offset][None, :])
        elif f["multi_hot"]:
            pooled = np.zeros((len(ids), table.shape[1]))
            for b in range(len(ids)):
                valid = [i for i in ids[b] if i >= 0]
                if valid:
                    rows = table[[offset + i for i in valid]].sum(axis=0)
                    pooled[b] = rows / len(valid) if pooling == "mean" else rows
            out.append(pooled)
        else:
            out.append(table[ids + offset])
        offset += f["vocab_size"]
    return np.stack(out, axis=1)


def numeric_values(fields, features):
    """``[B, N]`` the numeric fields' raw values, in field order (``[B, 0]`` when none)."""
    cols = [np.asarray(features[f["name"]], np.float64) for f in fields if f.get("numeric", False)]
    batch = len(np.asarray(features[fields[0]["name"]]))
    return np.stack(cols, axis=1) if cols else np.zeros((batch, 0))


def deep_input(fields, features, table, pooling="mean"):
    """``[B, n_cat d + n_num]``: the categorical fields' rows flattened (field order), then the
    numeric fields' raw values -- the deep and cross parts' input."""
    rows = field_rows(fields, features, table, pooling)
    categorical = [i for i, f in enumerate(fields) if not f.get("numeric", False)]
    flat = rows[:, categorical].reshape(len(rows), -1)
    return np.concatenate([flat, numeric_values(fields, features)], axis=1)


def pairwise_sum(e):
    """``sum_{i<j} <e_i, e_j>`` per row: the explicit double sum."""
    total = np.zeros(e.shape[0])
    for i in range(e.shape[1]):
        for j in range(i + 1, e.shape[1]):
            total += (e[:, i] * e[:, j]).sum(-1)
    return total


def pairs(n):
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def dense(layer, x, activation=None):
    y = x @ w(layer.kernel) + w(layer.bias)
    return relu(y) if activation == "relu" else y


def cross_network(x0, kernels, biases, residual):
    x = x0
    for k, b in zip(kernels, biases):
        out = np.stack([x0[r] * float(x[r] @ k[:, 0]) + b for r in range(len(x0))])
        x = out + x if residual else out
    return x


def cin(x0, kernels, biases, activation, include_input):
    """Loops over every index of the CIN formula."""
    B, m, D = x0.shape
    xs = [x0]
    for kernel, bias in zip(kernels, biases):
        prev = xs[-1]
        H = kernel.shape[1]
        nxt = np.zeros((B, H, D))
        for b in range(B):
            for h in range(H):
                for e in range(D):
                    s = bias[h]
                    for i in range(prev.shape[1]):
                        for j in range(m):
                            s += kernel[i * m + j, h] * prev[b, i, e] * x0[b, j, e]
                    nxt[b, h, e] = s
        xs.append(relu(nxt) if activation == "relu" else nxt)
    used = xs if include_input else xs[1:]
    return np.concatenate([x.sum(-1) for x in used], axis=1)


def inner_product(e, reduce):
    out = np.stack([e[:, i] * e[:, j] for i, j in pairs(e.shape[1])], axis=1)
    return out.sum(-1) if reduce else out.reshape(len(e), -1)


def outer_product(e, kernel, kernel_type):
    out = np.zeros((len(e), len(pairs(e.shape[1]))))
    for b in range(len(e)):
        for t, (i, j) in enumerate(pairs(e.shape[1])):
            p, q = e[b, i], e[b, j]
            out[b, t] = q @ kernel[:, t, :] @ p if kernel_type == "mat" else (p * q * kernel[t]).sum()
    return out


def afm_pooling(e, hidden, score):
    z = np.stack([e[:, i] * e[:, j] for i, j in pairs(e.shape[1])], axis=1)  # [B, P, d]
    a = softmax(dense(score, dense(hidden, z, "relu")), axis=1)
    return (a * z).sum(1)


def interacting(layer, x):
    """The AutoInt interacting layer in NumPy from its weights (Keras MHA weight layout)."""
    q, k, v = dense(layer.query, x), dense(layer.key, x), dense(layer.value, x)
    att = layer.attention
    def proj(dense_layer, t):  # [B, F, U] x [U, H, h] -> [B, F, H, h]
        return np.einsum("bfu,uhd->bfhd", t, w(dense_layer.kernel)) + w(dense_layer.bias)
    Q, K, V = proj(att._query_dense, q), proj(att._key_dense, k), proj(att._value_dense, v)
    heads = []
    for h in range(Q.shape[2]):
        scores = Q[:, :, h] @ K[:, :, h].transpose(0, 2, 1) / np.sqrt(Q.shape[-1])
        heads.append(softmax(scores, axis=-1) @ V[:, :, h])
    concat = np.stack(heads, axis=2)  # [B, F, H, h]
    out = np.einsum("bfhd,hdo->bfo", concat, w(att._output_dense.kernel)) + w(att._output_dense.bias)
    if layer.res is not None:
        out = out + dense(layer.res, x)
    return relu(out)
