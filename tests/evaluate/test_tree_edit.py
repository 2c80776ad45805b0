"""The shared Zhang–Shasha kernel against APTED, compiled and as plain Python."""

from __future__ import annotations

import random

import numpy as np
import pytest
from apted import APTED, Config

from docfactory.evaluate import tree_edit
from docfactory.evaluate.tree_edit import postorder, tree_edit_distance


class Node:
    def __init__(self, label: str) -> None:
        self.label = label
        self.children: list[Node] = []


def random_tree(rng: random.Random, size: int) -> Node:
    nodes = [Node(rng.choice("abc"))]
    for _ in range(size - 1):
        child = Node(rng.choice("abc"))
        rng.choice(nodes).children.append(child)
        nodes.append(child)
    return nodes[0]


# An asymmetric, non-unit cost model, so a kernel that mixes up delete/insert or rows/columns fails.
def rename_cost(a: Node, b: Node) -> float:
    return 0.0 if a.label == b.label else 1.5 if "a" in (a.label, b.label) else 0.7


def delete_cost(a: Node) -> float:
    return 2.0 if a.label == "a" else 1.0


def insert_cost(b: Node) -> float:
    return 0.5 if b.label == "c" else 1.0


class Oracle(Config):
    def rename(self, a: Node, b: Node) -> float:
        return rename_cost(a, b)

    def delete(self, a: Node) -> float:
        return delete_cost(a)

    def insert(self, b: Node) -> float:
        return insert_cost(b)

    def children(self, node: Node) -> list[Node]:
        return node.children


def costs(t1, t2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rename = np.array([[rename_cost(a, b) for b in t2.nodes] for a in t1.nodes]).reshape(t1.size, t2.size)
    return rename, np.array([delete_cost(a) for a in t1.nodes]), np.array([insert_cost(b) for b in t2.nodes])


def test_postorder_leftmost_leaves_and_keyroots() -> None:
    # a(b, c(d, e)) -> postorder b d e c a
    root = Node("a")
    b, c, d, e = Node("b"), Node("c"), Node("d"), Node("e")
    root.children = [b, c]
    c.children = [d, e]
    tree = postorder(root, lambda n: n.children)
    assert [n.label for n in tree.nodes] == list("bdeca")
    assert tree.leftmost.tolist() == [0, 1, 2, 1, 0]
    assert tree.keyroots.tolist() == [2, 3, 4]
    # Mirrored a(c(e, d), b) -> postorder e d c b a
    assert [tree.nodes[i].label for i in tree.mirror_order] == list("edcba")
    assert tree.mirror_leftmost.tolist() == [0, 1, 0, 3, 0]
    assert tree.mirror_keyroots.tolist() == [1, 3, 4]


@pytest.mark.parametrize("compiled", [True, False])
def test_matches_apted_on_random_trees(compiled: bool) -> None:
    kernel = tree_edit._zhang_shasha
    plain = getattr(kernel, "py_func", kernel)
    rng = random.Random(7)
    for _ in range(150 if compiled else 40):
        a, b = random_tree(rng, rng.randint(1, 14)), random_tree(rng, rng.randint(1, 14))
        t1, t2 = postorder(a, lambda n: n.children), postorder(b, lambda n: n.children)
        rename, delete, insert = costs(t1, t2)
        expected = APTED(a, b, Oracle()).compute_edit_distance()
        if compiled:
            got = tree_edit_distance(t1, t2, rename, delete, insert)
        else:
            got = plain(t1.leftmost, t1.keyroots, t2.leftmost, t2.keyroots, rename, delete, insert)
        assert got == pytest.approx(expected, abs=1e-12)


def test_both_decompositions_and_plain_python_agree_with_apted() -> None:
    # tree_edit_distance picks leftmost or rightmost paths by cost; run the kernel both ways here.
    kernel = tree_edit._zhang_shasha
    rng = random.Random(11)
    for _ in range(60):
        a, b = random_tree(rng, rng.randint(1, 12)), random_tree(rng, rng.randint(1, 12))
        t1, t2 = postorder(a, lambda n: n.children), postorder(b, lambda n: n.children)
        rename, delete, insert = costs(t1, t2)
        expected = APTED(a, b, Oracle()).compute_edit_distance()
        left = kernel(t1.leftmost, t1.keyroots, t2.leftmost, t2.keyroots, rename, delete, insert)
        o1, o2 = t1.mirror_order, t2.mirror_order
        right = kernel(
            t1.mirror_leftmost,
            t1.mirror_keyroots,
            t2.mirror_leftmost,
            t2.mirror_keyroots,
            np.ascontiguousarray(rename[np.ix_(o1, o2)]),
            delete[o1],
            insert[o2],
        )
        assert left == pytest.approx(expected, abs=1e-12)
        assert right == pytest.approx(expected, abs=1e-12)


def test_cost_shapes_are_checked() -> None:
    t = postorder(Node("a"), lambda n: n.children)
    with pytest.raises(ValueError, match="cost shapes"):
        tree_edit_distance(t, t, np.zeros((2, 1)), np.ones(1), np.ones(1))
