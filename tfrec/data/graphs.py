"""Sparse graph preparation (numpy / scipy, computed once per dataset, vectorised)."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from tfrec.validation import check_positive_int


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
    csr = sp.csr_matrix(matrix)
    if not csr.has_sorted_indices:
        csr = csr.copy()
        csr.sort_indices()
    rows = np.repeat(np.arange(csr.shape[0], dtype=np.int32), np.diff(csr.indptr))
    return rows, csr.indices.astype(np.int32), csr.data.astype(np.float32)


def row_normalized(matrix: sp.spmatrix) -> sp.csr_matrix:
    """``D^-1 A``: each row divided by its sum (its degree for a binary matrix), as
    akaxlh/MB-GMN's ``DataHandler.prepareGlobalData`` normalises ``adj`` and ``tpadj``.

    Rows whose sum is 0 (rows of degree 0) are, or become, all zero (no entry stored). Sums and
    quotients are taken in float64 and rounded once to float32, which for a binary matrix is the
    reference's float32 ``1 / degree`` exactly.

    Returns:
        A float32 CSR matrix of ``matrix``'s shape, indices sorted, explicit zeros dropped.
    """
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    sums = np.asarray(matrix.sum(axis=1), dtype=np.float64).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums != 0)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    out = sp.csr_matrix(
        ((matrix.data * scale[rows]).astype(np.float32), matrix.indices.copy(), matrix.indptr.copy()),
        shape=matrix.shape,
    )
    out.eliminate_zeros()
    out.sort_indices()
    return out


def _node_ids(name: str, ids, size: int) -> np.ndarray:
    """``ids`` as a 1-D int64 array of ids in ``[0, size)``, or a ``ValueError`` naming ``name``
    and the first offending id."""
    ids = np.asarray(ids)
    if ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise ValueError(f"`{name}` must be a 1-D array of integer ids; got dtype {ids.dtype} and shape {ids.shape}")
    ids = ids.astype(np.int64, copy=False)
    bad = ids[(ids < 0) | (ids >= size)]
    if bad.size:
        raise ValueError(f"`{name}` holds id {int(bad[0])}, outside [0, {size})")
    return ids


def _csr_list(matrices) -> list[sp.csr_matrix]:
    """The per-behavior ``[U, I]`` matrices as CSR, checked non-empty and of one shape."""
    if sp.issparse(matrices) or isinstance(matrices, np.ndarray):
        raise ValueError("`matrices` must be a list of per-behavior [U, I] sparse matrices; got a single matrix")
    matrices = [sp.csr_matrix(m) for m in matrices]
    if not matrices:
        raise ValueError("`matrices` must hold at least one [U, I] matrix; got none")
    shapes = {m.shape for m in matrices}
    if len(shapes) != 1:
        raise ValueError(f"`matrices` must all have one [U, I] shape; got {sorted(shapes)}")
    return matrices


def restricted_adjacencies(matrices, users, items) -> list[sp.csr_matrix]:
    """Each behavior's ``[len(users), len(items)]`` sub-matrix ``matrix[users][:, items]``.

    Row ``r`` is user ``users[r]`` and column ``c`` item ``items[c]``, in the order given (pass
    the sorted ids :meth:`SubgraphSampler.sample` returns); values are kept as stored. This is
    akaxlh/MB-GMN's ``constructData`` (``pckAdjs``; ``pckTpAdjs`` are the transposes).
    Renormalising (e.g. :func:`symmetric_normalized`) is the caller's.

    Raises:
        ValueError: an id outside the matrices' range (the message names it).
    """
    matrices = _csr_list(matrices)
    num_users, num_items = matrices[0].shape
    users, items = _node_ids("users", users, num_users), _node_ids("items", items, num_items)
    out = []
    for matrix in matrices:
        sub = sp.csr_matrix(matrix[users][:, items])
        sub.sort_indices()
        out.append(sub)
    return out


class SubgraphSampler:
    """MB-GMN's depth-``depth`` budget-weighted sub-graph sample around a block of users.

    A vectorised port of akaxlh/MB-GMN's ``DataHandler.sampleLargeGraph`` (as called by
    ``labcode_samp.py``, ``--graphSampleN``): the model trains on, and scores in, a sub-graph
    grown from the block's users by sampling nodes in proportion to the squared "budget" the
    already-picked nodes give them.

    Built once from the per-behavior ``[U, I]`` matrices: ``A`` in ``{0, 1}^{U x I}``, the
    binary union of all behaviors; ``P = D_u^-1 A`` (``adj``, ``[U, I]``) and
    ``Q = D_i^-1 A^T`` (``tpadj``, ``[I, U]``), each row divided by its degree
    (:func:`row_normalized`). For a multiset ``S`` of users the item budget is the sum of the
    rows of ``P`` for ``S``, ``b_I = P^T 1_S`` (``b_I[i] = sum over u in S adjacent to i of
    1 / deg(u)``); a multiset ``T`` of items gives the user budget ``b_U = Q^T 1_T``. Budgets
    are dense float64 vectors of length ``U`` / ``I`` built with sparse mat-vec products.

    ``draw(b, free, k)`` picks among the nodes not yet picked with score ``w = (free * b)^2``:

    * all ``w = 0``: see ``zero_budget`` below;
    * at most ``k`` nodes with ``w > 0``: all of them; the residual ``k - #{w > 0}`` is returned;
    * otherwise ``k`` nodes without replacement, each successive draw with probability
      proportional to ``w`` among those left (residual 0). Drawn with Efraimidis-Spirakis keys:
      ``key_j = log(u_j) / w_j`` for ``u_j`` uniform on ``(0, 1]``, the ``k`` largest keys
      (``argpartition``). That is exactly the distribution of the reference's
      ``numpy.random.choice(n, k, replace=False, p=w / sum(w))`` (``-key_j`` are independent
      exponentials of rates ``w_j``; the order in which they arrive is successive sampling
      proportional to ``w``), in ``O(n)`` instead of ``k`` passes.

    :meth:`sample` then follows the reference step by step: ``b_I`` from the seed users; without
    ``items``, first ``draw(b_I, free_I, len(users))`` items (its residual dropped); ``b_U`` from
    the items; then for depth ``d = 0 .. depth``: ask ``graph_sample + residual`` users and items
    (only the residuals at ``d = depth``), users drawn before items, each side's residual carried
    to the next depth, picked nodes removed from ``free``; after every depth but the last,
    ``b_U += Q^T 1_{new items}`` and ``b_I += P^T 1_{new users}``. The result is every picked
    node: the seed users, the given or first-drawn items, and at most about
    ``depth * graph_sample`` more on each side.

    Where this departs from the reference:

    * the weighted draws use the keys above and the caller's ``numpy.random.Generator``, not
      ``numpy.random.choice`` and numpy's global state: the same distribution, other numbers;
    * budgets are summed in float64 (the reference accumulates float32): the same nodes are
      positive, the weights differ by rounding only;
    * when exactly one node is positive and more are asked, the reference's ``np.squeeze``
      makes a 0-d array and its ``updateBdgt`` raises ``TypeError`` (``len()`` of it); here that
      node is taken like any other "fewer positives than asked" case;
    * ``zero_budget="skip"`` is an option the reference does not have; seed users are required
      (the reference's unused ``pckUsrs=None``); ids are checked; :meth:`sample` returns ids
      (the reference's ``constructData`` sub-matrices are :func:`restricted_adjacencies`).

    Seed ids given twice count twice, as in the reference (its budgets sum rows ``adj[nodes]``
    and its first item draw asks ``len(pckUsrs)``).

    Args:
        matrices: per-behavior ``[U, I]`` scipy sparse matrices (any stored non-zero is an edge).
        graph_sample: nodes asked per side and depth (the reference's ``sampNum``,
            ``--graphSampleN``: 15000 by default there, 25000 for training and 200000 for
            testing suggested), a positive integer.
        depth: sampling depths (the reference's ``sampDepth``, 2): ``depth + 1`` rounds, the
            last asking only the residuals; a non-negative integer.
        zero_budget: what a draw does when every not-yet-picked node has budget 0.
            ``"reference"`` (default) reproduces the reference's quirk: ONE node uniformly at
            random among all ``U`` (or ``I``) nodes, possibly an already-picked one (then
            nothing new is added), even when 0 were asked, and the residual ``ask - 1``.
            ``"skip"``: pick nothing and carry the whole ask as the residual.

    Example:
        >>> import numpy as np, scipy.sparse as sp
        >>> clicks = sp.csr_matrix(np.array([[1, 1, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 1, 1, 0],
        ...                                  [0, 0, 0, 1, 1]], dtype=np.float32))
        >>> buys = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0],
        ...                                [0, 0, 0, 0, 1]], dtype=np.float32))
        >>> sampler = SubgraphSampler([clicks, buys], graph_sample=10, depth=1, zero_budget="skip")
        >>> users, items = sampler.sample([0], np.random.default_rng(0), items=[0, 1])
        >>> users, items  # items 0, 1 give users 1; user 1 gives item 2
        (array([0, 1]), array([0, 1, 2]))
        >>> sampler.sample([0], np.random.default_rng(0), items=[0, 1, 2])[0]  # also user 2
        array([0, 1, 2])

    References:
        Xia, Huang, Xu, Dai, Zhang, Yin, Bo. "Graph Meta Network for Multi-Behavior
        Recommendation." SIGIR 2021. Code: github.com/akaxlh/MB-GMN, ``DataHandler.py``
        (``prepareGlobalData``, ``sampleLargeGraph``) and ``labcode_samp.py``.
    """

    ZERO_BUDGET = ("reference", "skip")

    def __init__(self, matrices, graph_sample: int, depth: int = 2, *, zero_budget: str = "reference"):
        self.graph_sample = check_positive_int("graph_sample", graph_sample)
        if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 0:
            raise ValueError(f"`depth` must be a non-negative integer; got {depth!r}")
        self.depth = int(depth)
        if zero_budget not in self.ZERO_BUDGET:
            raise ValueError(f"`zero_budget` must be one of {self.ZERO_BUDGET}; got {zero_budget!r}")
        self.zero_budget = zero_budget
        union = None
        for matrix in _csr_list(matrices):
            edges = (matrix != 0).astype(np.float32)
            union = edges if union is None else union + edges
        union = sp.csr_matrix(union)
        union.data[:] = 1.0
        self.num_users, self.num_items = union.shape
        self.adj = row_normalized(union)  # [U, I], rows / user degree
        self.tpadj = row_normalized(union.T)  # [I, U], rows / item degree

    @staticmethod
    def _budget(matrix: sp.csr_matrix, nodes: np.ndarray) -> np.ndarray:
        """The sum of ``matrix``'s rows for ``nodes`` (repeats counted): ``matrix^T @ counts``,
        over the picked rows only (``matrix[unique nodes]``) unless they hold most of the edges."""
        nodes, counts = np.unique(nodes, return_counts=True)
        if 2 * int(np.diff(matrix.indptr)[nodes].sum()) > matrix.nnz:
            full = np.zeros(matrix.shape[0], dtype=np.float64)
            full[nodes] = counts
            return np.asarray(matrix.T @ full, dtype=np.float64)
        return np.asarray(matrix[nodes].T @ counts.astype(np.float64), dtype=np.float64)

    def _draw(self, budget: np.ndarray, free: np.ndarray, ask: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """``(picked node ids, residual)`` of one reference ``sample(budget, mask, ask)``."""
        score = np.where(free, budget, 0.0) ** 2
        positive = np.flatnonzero(score > 0)
        if positive.size == 0:
            if self.zero_budget == "reference":
                return rng.integers(score.size, size=1), ask - 1
            return positive, ask
        if positive.size <= ask:
            return positive, ask - positive.size
        if ask <= 0:
            return positive[:0], 0
        weights = score[positive]
        keys = np.log1p(-rng.random(positive.size)) / (weights / weights.max())  # log(u), u in (0, 1]
        return positive[np.argpartition(keys, positive.size - ask)[positive.size - ask :]], 0

    def sample(self, users, rng: np.random.Generator, items=None) -> tuple[np.ndarray, np.ndarray]:
        """One sub-graph around ``users``.

        Args:
            users: seed user ids, 1-D ints in ``[0, U)``.
            rng: the ``numpy.random.Generator`` every draw comes from.
            items: seed item ids (the reference's ``pckItms``, e.g. the test items at
                evaluation), or ``None``: then ``len(users)`` items are first drawn from the
                users' budget, as the reference does.

        Returns:
            ``(sampled_users, sampled_items)``: sorted unique int64 global ids; ``users`` (and
            ``items`` when given) always included.

        Raises:
            ValueError: an id out of range (the message names it).
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"`rng` must be a numpy.random.Generator; got {type(rng).__name__}")
        users = _node_ids("users", users, self.num_users)
        free_users = np.ones(self.num_users, dtype=bool)
        free_users[users] = False
        free_items = np.ones(self.num_items, dtype=bool)
        item_budget = self._budget(self.adj, users)
        if items is None:
            items, _ = self._draw(item_budget, free_items, len(users), rng)
        else:
            items = _node_ids("items", items, self.num_items)
        free_items[items] = False
        user_budget = self._budget(self.tpadj, items)
        user_residual = item_residual = 0
        for d in range(self.depth + 1):
            ask = self.graph_sample if d < self.depth else 0
            new_users, user_residual = self._draw(user_budget, free_users, user_residual + ask, rng)
            free_users[new_users] = False
            new_items, item_residual = self._draw(item_budget, free_items, item_residual + ask, rng)
            free_items[new_items] = False
            if d == self.depth:
                break
            user_budget += self._budget(self.tpadj, new_items)
            item_budget += self._budget(self.adj, new_users)
        return np.flatnonzero(~free_users).astype(np.int64), np.flatnonzero(~free_items).astype(np.int64)
