"""Exact ordered tree edit distance (Zhang–Shasha) over integer-coded trees.

Both TEDS (tables) and Donut's nTED accuracy (JSON) are tree edit distances that differ only in
their cost model, so they share this one kernel. Callers turn their trees into postorder arrays and
precompute every cost up front (a rename matrix, delete and insert vectors); the kernel then never
calls back into Python, which is what makes it fast: the PubTabNet reference spends almost all its
time in per-pair Python callbacks (APTED's ``rename`` calling a pure-Python Levenshtein).

Any exact algorithm gives the same distance, so Zhang–Shasha (simple, O(n1·n2) memory) is used
rather than APTED: for the shallow, wide trees of tables its keyroot work is about (4n)², a few
milliseconds compiled. With numba the kernel is compiled (and cached on disk); without numba the
same function runs as plain Python: slow, but the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

try:  # numba is optional: the kernel is written so that it also runs uncompiled.
    from numba import njit as _njit

    _compile = _njit(cache=True, nogil=True)
except ImportError:  # pragma: no cover - exercised only where numba is absent

    def _compile(function):  # type: ignore[no-untyped-def]
        return function


N = TypeVar("N")


@dataclass(frozen=True)
class PostorderTree(Generic[N]):
    """A tree flattened in postorder: what Zhang–Shasha needs, plus the original nodes.

    ``leftmost[i]`` is the postorder index of the leftmost leaf under node ``i``; ``keyroots`` are the
    root and every node that has a left sibling, ascending (Zhang & Shasha 1989).
    """

    nodes: list[N]
    leftmost: np.ndarray
    keyroots: np.ndarray

    @property
    def size(self) -> int:
        return len(self.nodes)


def postorder(root: N, children: Callable[[N], Sequence[N]]) -> PostorderTree[N]:
    """Flatten ``root`` into a :class:`PostorderTree`; iterative, so deep trees do not hit the
    recursion limit."""
    nodes: list[N] = []
    leftmost: list[int] = []
    keyroots: list[int] = []
    # Stack of (node, its children, next child position, leftmost leaf so far, has left sibling).
    stack: list[tuple[N, Sequence[N], int, int, bool]] = [(root, children(root), 0, -1, False)]
    while stack:
        node, kids, pos, first_leaf, has_left = stack.pop()
        if pos < len(kids):
            stack.append((node, kids, pos + 1, first_leaf, has_left))
            stack.append((kids[pos], children(kids[pos]), 0, -1, pos > 0))
            continue
        index = len(nodes)
        leaf = index if first_leaf < 0 else first_leaf
        nodes.append(node)
        leftmost.append(leaf)
        if has_left or not stack:
            keyroots.append(index)
        if stack:  # the first finished child of the parent gives the parent's leftmost leaf
            parent = stack[-1]
            if parent[3] < 0:
                stack[-1] = (parent[0], parent[1], parent[2], leaf, parent[4])
    return PostorderTree(
        nodes=nodes,
        leftmost=np.asarray(leftmost, dtype=np.int64),
        keyroots=np.asarray(keyroots, dtype=np.int64),
    )


def tree_edit_distance(
    tree1: PostorderTree,
    tree2: PostorderTree,
    rename: np.ndarray,
    delete: np.ndarray,
    insert: np.ndarray,
) -> float:
    """Minimum cost of turning ``tree1`` into ``tree2``.

    ``rename[i, j]`` is the cost of relabelling node i of tree1 as node j of tree2 (postorder
    indices), ``delete[i]`` of deleting node i of tree1, ``insert[j]`` of inserting node j of tree2.
    """
    shape = (tree1.size, tree2.size)
    if rename.shape != shape or delete.shape != shape[:1] or insert.shape != shape[1:]:
        raise ValueError(f"cost shapes {rename.shape}, {delete.shape}, {insert.shape} do not fit trees {shape}")
    return float(
        _zhang_shasha(
            tree1.leftmost,
            tree1.keyroots,
            tree2.leftmost,
            tree2.keyroots,
            np.ascontiguousarray(rename, dtype=np.float64),
            np.ascontiguousarray(delete, dtype=np.float64),
            np.ascontiguousarray(insert, dtype=np.float64),
        )
    )


@_compile
def _zhang_shasha(
    left1: np.ndarray,
    keyroots1: np.ndarray,
    left2: np.ndarray,
    keyroots2: np.ndarray,
    rename: np.ndarray,
    delete: np.ndarray,
    insert: np.ndarray,
) -> float:
    n1 = left1.shape[0]
    n2 = left2.shape[0]
    tree_dist = np.zeros((n1, n2))
    # One forest-distance buffer reused by every keyroot pair: row x / column y stand for the
    # forests made of the first x (y) nodes of the keyroot's subtree, in postorder.
    forest = np.zeros((n1 + 1, n2 + 1))
    for k1 in keyroots1:
        l1 = left1[k1]
        rows = k1 - l1 + 2
        for k2 in keyroots2:
            l2 = left2[k2]
            cols = k2 - l2 + 2
            forest[0, 0] = 0.0
            for x in range(1, rows):
                forest[x, 0] = forest[x - 1, 0] + delete[l1 + x - 1]
            for y in range(1, cols):
                forest[0, y] = forest[0, y - 1] + insert[l2 + y - 1]
            for x in range(1, rows):
                i = l1 + x - 1
                whole_i = left1[i] == l1
                for y in range(1, cols):
                    j = l2 + y - 1
                    best = forest[x - 1, y] + delete[i]
                    cost = forest[x, y - 1] + insert[j]
                    if cost < best:
                        best = cost
                    if whole_i and left2[j] == l2:
                        # Both prefixes are whole trees: this is a subtree distance, keep it.
                        cost = forest[x - 1, y - 1] + rename[i, j]
                        if cost < best:
                            best = cost
                        forest[x, y] = best
                        tree_dist[i, j] = best
                    else:
                        cost = forest[left1[i] - l1, left2[j] - l2] + tree_dist[i, j]
                        if cost < best:
                            best = cost
                        forest[x, y] = best
    return tree_dist[n1 - 1, n2 - 1]
