"""Minimum-cost assignment (rows to columns), for matching predicted line items to gold ones.

scipy's ``linear_sum_assignment`` when scipy is installed; otherwise a small Hungarian method
(shortest augmenting paths with potentials, O(n²m)) that gives an optimal assignment too. Ties may be
broken differently, the total cost is the same.
"""

from __future__ import annotations

import numpy as np

try:
    from scipy.optimize import linear_sum_assignment as _scipy_assignment
except ImportError:  # pragma: no cover - exercised only where scipy is absent
    _scipy_assignment = None


def min_cost_assignment(cost: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (row, column), sorted by row, that cover min(rows, columns) and minimise the summed cost."""
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f"cost must be a 2-d matrix, got shape {cost.shape}")
    if cost.size == 0:
        return []
    if not np.all(np.isfinite(cost)):
        raise ValueError("cost must be finite")
    if _scipy_assignment is not None:
        rows, cols = _scipy_assignment(cost)
        return sorted(zip(rows.tolist(), cols.tolist()))
    return hungarian(cost)


def hungarian(cost: np.ndarray) -> list[tuple[int, int]]:
    """Optimal assignment by the Hungarian method; pairs sorted by row."""
    transposed = cost.shape[0] > cost.shape[1]
    matrix = cost.T if transposed else cost  # rows <= columns from here on
    n, m = matrix.shape
    # 1-based arrays, index 0 is the virtual start (the classic e-maxx formulation).
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=np.int64)  # owner[j]: row assigned to column j (0 = none)
    way = np.zeros(m + 1, dtype=np.int64)
    for row in range(1, n + 1):
        owner[0] = row
        col0 = 0
        min_slack = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[col0] = True
            i0 = owner[col0]
            # Reduced costs from the row just reached to every column not yet in the tree.
            reduced = matrix[i0 - 1] - u[i0] - v[1:]
            free = ~used[1:]
            better = free & (reduced < min_slack[1:])
            min_slack[1:][better] = reduced[better]
            way[1:][better] = col0
            candidates = np.where(free, min_slack[1:], np.inf)
            col1 = int(np.argmin(candidates)) + 1
            delta = candidates[col1 - 1]
            # Shift potentials so that the tree's reduced costs stay zero.
            u[owner[used]] += delta
            v[used] -= delta
            min_slack[1:][free] -= delta
            col0 = col1
            if owner[col0] == 0:
                break
        while col0:  # flip the augmenting path
            col1 = way[col0]
            owner[col0] = owner[col1]
            col0 = col1
    pairs = [(int(owner[j]) - 1, j - 1) for j in range(1, m + 1) if owner[j] != 0]
    if transposed:
        pairs = [(col, row) for row, col in pairs]
    return sorted(pairs)
