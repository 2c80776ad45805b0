"""Minimum-cost assignment: our Hungarian fallback against brute force (and scipy's result)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from docfactory.evaluate.assignment import hungarian, min_cost_assignment


def brute_force(cost: np.ndarray) -> float:
    n, m = cost.shape
    if n <= m:
        return min(sum(cost[i, p[i]] for i in range(n)) for p in itertools.permutations(range(m), n))
    return min(sum(cost[p[j], j] for j in range(m)) for p in itertools.permutations(range(n), m))


@pytest.mark.parametrize("solver", [hungarian, min_cost_assignment])
def test_optimal_on_random_rectangular_matrices(solver) -> None:
    rng = np.random.default_rng(0)
    for trial in range(200):
        n, m = (int(x) for x in rng.integers(1, 6, size=2))
        cost = rng.integers(0, 4, size=(n, m)).astype(float) if trial % 2 else rng.random((n, m))
        pairs = solver(cost)
        assert len(pairs) == min(n, m)
        assert len({r for r, _ in pairs}) == len({c for _, c in pairs}) == len(pairs)
        assert pairs == sorted(pairs)
        assert sum(cost[r, c] for r, c in pairs) == pytest.approx(brute_force(cost))


def test_empty_and_invalid() -> None:
    assert min_cost_assignment(np.zeros((0, 3))) == []
    with pytest.raises(ValueError):
        min_cost_assignment(np.array([[np.inf]]))
