"""Sparse-dense products with a deterministic gradient, shared by the graph models.

TensorFlow's CSR kernel (``SparseMatrixMatMul``) is the fastest sparse-dense product on a CPU
(about 3x ``tf.sparse.sparse_dense_matmul`` for COTREC's item graph, 10x for MB-GMN's), but its
gradient multiplies by the *adjoint* of the matrix, and the adjoint kernel accumulates in an
order that changes from process to process: the same seed gave different losses after one
step of COTREC in two runs of the same command. :func:`csr_matmul` computes the gradient with
the explicitly transposed matrix instead (a non-adjoint product, one output row per thread),
so the same seed gives bit-identical training on a CPU; the math is the same.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import tensorflow as tf
from tensorflow.python.ops.linalg.sparse import sparse_csr_matrix_ops as _csr


def to_csr(matrix: tf.SparseTensor, dtype=None):
    """A ``tf.SparseTensor`` (row-major order) as the CSR matrix :func:`csr_matmul` takes
    (TensorFlow's ``CSRSparseMatrix``, which keeps its shape and dtype when a traced function
    captures it)."""
    if dtype is not None and matrix.dtype != dtype:
        matrix = tf.SparseTensor(matrix.indices, tf.cast(matrix.values, dtype), matrix.dense_shape)
    return _csr.CSRSparseMatrix(matrix)


def transposed(matrix: tf.SparseTensor) -> tf.SparseTensor:
    """``matrix^T`` in canonical (row-major) order."""
    return tf.sparse.reorder(tf.sparse.transpose(matrix))


def csr_matmul(matrix, matrix_t, dense: tf.Tensor) -> tf.Tensor:
    """``matrix @ dense`` ``[N, M] x [M, d] -> [N, d]`` whose gradient with respect to ``dense``
    is ``matrix_t @ upstream`` (``matrix_t`` the CSR of ``matrix^T``), bit-reproducible on CPU.

    Args:
        matrix: CSR matrix (:func:`to_csr`) ``[N, M]``.
        matrix_t: its transpose ``[M, N]``, also CSR.
        dense: ``[M, d]``.

    No gradient flows to the matrix values (graph adjacencies are constants of the model).
    """

    @tf.custom_gradient
    def product(x):
        def grad(upstream):
            return _csr.matmul(matrix_t, upstream)

        return _csr.matmul(matrix, x), grad

    return product(tf.convert_to_tensor(dense))  # a variable would make custom_gradient ask for `variables`
