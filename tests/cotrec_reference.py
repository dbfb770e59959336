"""NumPy / plain-Python ports of seed 002 (COTREC) shared by its tests: written from the
reference notebook, independent of tfrec."""

from __future__ import annotations

import numpy as np


def reference_adjacency(sessions, n):
    """seed 002 ``data_masks`` + ``Data.__init__``'s column normalisation, dict by dict."""
    adj = {}
    for sess in sessions:
        for i in range(len(sess) - 1):
            a, b = sess[i] - 1, sess[i + 1] - 1
            if a not in adj:
                adj[a] = {a: 1}
                adj[a][b] = 1
            elif b not in adj[a]:
                adj[a][b] = 1
            else:
                adj[a][b] += 1
    dense = np.zeros((n, n))
    for a, row in adj.items():
        for b, v in row.items():
            dense[a, b] = v
    colsum = dense.sum(0)
    return np.divide(dense, colsum[None, :], out=np.zeros_like(dense), where=colsum[None, :] > 0)
