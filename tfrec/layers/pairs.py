"""Index pairs ``(i, j)``, ``i < j``, in seed 003's order (``for i in range(n): for j in range(i+1, n)``)."""

from __future__ import annotations


def pair_indices(n: int) -> tuple[list[int], list[int]]:
    """``(rows, cols)`` of the ``n (n - 1) / 2`` field pairs, row-major."""
    rows = [i for i in range(n) for _ in range(i + 1, n)]
    cols = [j for i in range(n) for j in range(i + 1, n)]
    return rows, cols
