"""Content builders by document kind, and helpers that walk a content tree of `Field` leaves.

A content tree is dicts and lists whose leaves are `Field`s. Its dotted paths ("items.2.amount")
are the field names templates put in `data-field`.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from docfactory.generators.content.context import ContentContext
from docfactory.generators.content.invoice import build_invoice
from docfactory.generators.content.receipt import build_receipt
from docfactory.generators.content.statement import build_statement
from docfactory.field_types import Field

CONTENT_BUILDERS: dict[str, Callable[[ContentContext], dict]] = {
    "invoice": build_invoice,
    "receipt": build_receipt,
    "table": build_statement,
}


class UnknownKind(ValueError):
    pass


def builder_for(kind: str) -> Callable[[ContentContext], dict]:
    try:
        return CONTENT_BUILDERS[kind]
    except KeyError:
        raise UnknownKind(f"unknown document kind {kind!r} (known: {', '.join(sorted(CONTENT_BUILDERS))})") from None


def iter_fields(tree: Any, prefix: str = "") -> Iterator[tuple[str, Field]]:
    """(dotted path, Field) for every leaf, in document order."""
    if isinstance(tree, Field):
        yield prefix, tree
    elif isinstance(tree, dict):
        for key, value in tree.items():
            yield from iter_fields(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from iter_fields(value, f"{prefix}.{i}" if prefix else str(i))


def map_leaves(tree: Any, fn: Callable[[Field], Any]) -> Any:
    if isinstance(tree, Field):
        return fn(tree)
    if isinstance(tree, dict):
        return {k: map_leaves(v, fn) for k, v in tree.items()}
    if isinstance(tree, list):
        return [map_leaves(v, fn) for v in tree]
    return tree


def pattern_of(path: str) -> str:
    """'items.2.amount' -> 'items.*.amount': the form template.yaml declares."""
    return ".".join("*" if part.isdigit() else part for part in path.split("."))


def select(tree: Any, keep: Callable[[str], bool], prefix: str = "") -> Any:
    """The subtree whose leaf paths satisfy `keep`; empty dicts and lists are dropped."""
    if isinstance(tree, Field):
        return tree if keep(prefix) else None
    if isinstance(tree, dict):
        out = {}
        for k, v in tree.items():
            sub = select(v, keep, f"{prefix}.{k}" if prefix else k)
            if sub not in (None, {}, []):
                out[k] = sub
        return out
    if isinstance(tree, list):
        out = [select(v, keep, f"{prefix}.{i}" if prefix else str(i)) for i, v in enumerate(tree)]
        return [v for v in out if v not in (None, {}, [])]
    return None


def unflatten(values: dict[str, Any]) -> dict:
    """{'items.1.amount': v, ...} -> nested dicts and lists (the inverse of iter_fields)."""
    root: dict = {}
    for path, value in values.items():
        parts = path.split(".")
        node: Any = root
        for part, nxt in zip(parts, parts[1:]):
            empty: Any = [] if nxt.isdigit() else {}
            if isinstance(node, list):
                index = int(part)
                node.extend(None for _ in range(index + 1 - len(node)))
                node[index] = node[index] if node[index] is not None else empty
                node = node[index]
            else:
                node = node.setdefault(part, empty)
        if isinstance(node, list):
            index = int(parts[-1])
            node.extend(None for _ in range(index + 1 - len(node)))
            node[index] = value
        else:
            node[parts[-1]] = value
    return root
