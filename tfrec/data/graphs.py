"""Sparse graph preparation (numpy / scipy, computed once per dataset, vectorised)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def symmetric_normalized(matrix: sp.spmatrix, eps: float = 1e-8) -> sp.csr_matrix:
    """``D_u^-1/2 A D_i^-1/2`` of a user x item matrix, as seed 000's ``transToLsts(norm=True)``.

    Each stored entry ``a[u, i]`` becomes ``a[u, i] * r_u * c_i`` with
    ``r_u = 1 / (sqrt(rowsum_u + eps) + eps)`` and ``c_i = 1 / (sqrt(colsum_i + eps) + eps)``
    (the reference's epsilons included). The transpose of the result equals the reference's
    normalised transposed matrix.

    Returns:
        A float32 CSR matrix with sorted indices.
    """
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    row_scale = 1.0 / (np.sqrt(np.asarray(matrix.sum(axis=1)).ravel() + eps) + eps)
    col_scale = 1.0 / (np.sqrt(np.asarray(matrix.sum(axis=0)).ravel() + eps) + eps)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    out = matrix.copy()
    out.data = (matrix.data * row_scale[rows] * col_scale[matrix.indices]).astype(np.float32)
    out.sort_indices()
    return out


def coo_arrays(matrix: sp.spmatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows int32, cols int32, values float32)`` of a matrix in row-major (canonical) order."""
    coo = sp.csr_matrix(matrix).tocoo()
    order = np.lexsort((coo.col, coo.row))
    return coo.row[order].astype(np.int32), coo.col[order].astype(np.int32), coo.data[order].astype(np.float32)
