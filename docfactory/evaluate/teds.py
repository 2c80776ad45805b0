"""TEDS: tree-edit-distance similarity of HTML tables, identical to PubTabNet's reference.

The reference is ``src/metric.py`` of ibm-aur-nlp/PubTabNet. Same parse, same tree, same cost
model, same normalisation; only the algorithm differs (see ``tree_edit.py``), so the scores are the
reference's up to float summation order (|Δ| < 1e-12 in practice).

The tree: every element under ``<table>`` is a node; a ``td`` is a leaf (its children are not nodes)
carrying (tag, colspan, rowspan) and its content tokens: each character of its text, and each inline
element as whole ``<b>`` / ``</b>`` tokens, without the cell's own td tags. Other elements (thead,
tbody, tr, and also ``th``) carry only their tag. Insert and delete cost 1; rename costs 1 when tag,
colspan or rowspan differ, otherwise for a td the Levenshtein distance of the token lists divided by
the longer length (0 when both are empty, and always 0 when ``structure_only``).
TEDS = 1 − TED / max(node counts), the node count being every element under the table, inline tags
included.

Where we differ from the reference, on purpose:
- A bare ``<table>`` fragment is wrapped in html/body and scored (the reference returns 0 for it).
- Nothing changes about the range: like the reference the score can fall below 0, when the trees
  share so little shape that TED exceeds the larger node count (three sibling rows against a chain
  thead > tr > td: TED 4 over 3 nodes, TEDS −1/3). ``clamp=True`` maps it into [0, 1].
- A gold without a table, or one that is not a string, raises ValueError / TypeError instead of
  scoring 0: that is a data problem, not a model error. An empty prediction or one without a table
  still scores 0.0, as in the reference.
- Two empty tables (no element under either) score 1.0 where the reference divides by zero.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
from lxml import etree
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist

from docfactory.evaluate.tree_edit import PostorderTree, postorder, tree_edit_distance

# The reference's parser settings (comments never become nodes). lxml.etree's HTMLParser builds the
# same libxml2 tree as lxml.html's without its per-element class lookup, which is slow on big tables.
_PARSER = etree.HTMLParser(remove_comments=True, encoding="utf-8")
# Inline-tag tokens ("<b>", "</b>") get one code point each, from the supplementary private use area
# upwards, skipping any code point the cells themselves use.
_FIRST_TAG_CODE = 0xF0000


def teds(pred_html: str, gold_html: str, structure_only: bool = False, clamp: bool = False) -> float:
    """TEDS between a predicted and a gold table (HTML strings); 1.0 means identical.

    ``structure_only`` gives TEDS-S (cell content ignored). Unclamped scores can be negative, as in
    the reference; ``clamp=True`` limits them to [0, 1].
    """
    if not isinstance(pred_html, str) or not isinstance(gold_html, str):
        raise TypeError(f"teds expects two HTML strings, got {type(pred_html).__name__} and {type(gold_html).__name__}")
    gold = _find_table(gold_html)
    if gold is None:
        raise ValueError("gold HTML has no <table> element")
    pred = _find_table(pred_html)
    if pred is None:
        return 0.0
    score = table_similarity(pred, gold, structure_only=structure_only)
    return min(1.0, max(0.0, score)) if clamp else score


def table_similarity(pred: etree._Element, gold: etree._Element, structure_only: bool = False) -> float:
    """TEDS between two parsed ``<table>`` elements (unclamped)."""
    n_nodes = max(_count_elements(pred), _count_elements(gold))
    if n_nodes == 0:
        return 1.0
    return 1.0 - table_edit_distance(pred, gold, structure_only=structure_only) / n_nodes


def table_edit_distance(pred: etree._Element, gold: etree._Element, structure_only: bool = False) -> float:
    """The reference's tree edit distance between two parsed ``<table>`` elements."""
    tree_pred = postorder(pred, _tree_children)
    tree_gold = postorder(gold, _tree_children)
    # Node kinds: (tag, colspan, rowspan) for cells, (tag, None, None) otherwise; a rename between
    # different kinds costs 1, within a kind it is 0 except for cells with content.
    kinds: dict[Hashable, int] = {}
    kind_pred, cells_pred = _describe(tree_pred, kinds, structure_only)
    kind_gold, cells_gold = _describe(tree_gold, kinds, structure_only)
    rename = (kind_pred[:, None] != kind_gold[None, :]).astype(np.float64)
    if cells_pred and cells_gold and not structure_only:
        rows = np.fromiter(cells_pred, dtype=np.int64)
        cols = np.fromiter(cells_gold, dtype=np.int64)
        content = _content_costs(list(cells_pred.values()), list(cells_gold.values()))
        same_kind = kind_pred[rows][:, None] == kind_gold[cols][None, :]
        rename[np.ix_(rows, cols)] = np.where(same_kind, content, 1.0)
    return tree_edit_distance(
        tree_pred,
        tree_gold,
        rename,
        np.ones(tree_pred.size),
        np.ones(tree_gold.size),
    )


def _find_table(text: str) -> etree._Element | None:
    """The first ``body/table``, as the reference finds it, after wrapping a bare fragment.

    Parsing the text as a whole document is what the reference's ``lxml.html.fromstring`` does when
    the text starts with <html> or a doctype; for a fragment, libxml2 adds the html/body that the
    reference then fails to find.
    """
    if not text.strip():
        return None
    try:
        root = etree.fromstring(text, _PARSER)
    except (etree.LxmlError, ValueError):  # unparsable (or an XML encoding declaration in a str): no table
        return None
    if root is None:  # e.g. nothing but a comment (lxml.html calls this "Document is empty")
        return None
    tables = root.xpath("body/table")
    return tables[0] if tables else None


def _count_elements(table: etree._Element) -> int:
    # The reference's node count: every element under the table, inline tags inside cells included.
    return len(table.xpath(".//*"))


def _tree_children(node: etree._Element) -> list[etree._Element]:
    # A td is a leaf of the tree: what is inside it becomes its content tokens instead.
    return [] if node.tag == "td" else list(node)


def _describe(
    tree: PostorderTree[etree._Element], kinds: dict[Hashable, int], structure_only: bool
) -> tuple[np.ndarray, dict[int, str | list[str]]]:
    """Kind id per node, and each td's content by postorder index: its text when it has no
    inline elements (then its tokens are its characters), else its token list."""
    kind_ids = np.empty(tree.size, dtype=np.int64)
    cells: dict[int, str | list[str]] = {}
    for index, node in enumerate(tree.nodes):
        if node.tag == "td":
            # int() like the reference: a malformed span ("abc") raises ValueError.
            key: Hashable = (node.tag, int(node.attrib.get("colspan", "1")), int(node.attrib.get("rowspan", "1")))
            if not structure_only:
                cells[index] = _cell_tokens(node) if len(node) else (node.text or "")
        else:
            key = (node.tag, None, None)
        kind_ids[index] = kinds.setdefault(key, len(kinds))
    return kind_ids, cells


def _cell_tokens(cell: etree._Element) -> list[str]:
    """The reference's ``tokenize(td)[1:-1]``: characters, and inline tags as whole tokens."""
    tokens: list[str] = []
    _tokenize(cell, tokens)
    return tokens[1:-1]


def _tokenize(node: etree._Element, tokens: list[str]) -> None:
    # Kept line for line with the reference, quirks included (the 'unk' tag, no tail after a td).
    tokens.append("<%s>" % node.tag)
    if node.text is not None:
        tokens.extend(node.text)
    for child in node:
        _tokenize(child, tokens)
    if node.tag != "unk":
        tokens.append("</%s>" % node.tag)
    if node.tag != "td" and node.tail is not None:
        tokens.extend(node.tail)


def _encode(pred_cells: list[str | list[str]], gold_cells: list[str | list[str]]) -> tuple[list[str], list[str]]:
    """Each cell's tokens as a str, one code point per token, so that rapidfuzz can compare them.

    A character token stands for itself; every multi-character token (an inline tag) gets its own
    code point that no cell uses, so distinct tokens stay distinct and equal ones equal.
    """
    cells = pred_cells + gold_cells
    tags = {token for cell in cells if isinstance(cell, list) for token in cell if len(token) != 1}
    codes: dict[str, str] = {}
    if tags:
        used = set("".join(cell for cell in cells if isinstance(cell, str)))
        used.update(token for cell in cells if isinstance(cell, list) for token in cell)
        code = _FIRST_TAG_CODE
        for tag in sorted(tags):
            while chr(code) in used:
                code += 1
            codes[tag] = chr(code)
            code += 1

    def encode(cell: str | list[str]) -> str:
        return cell if isinstance(cell, str) else "".join([codes.get(token, token) for token in cell])

    return [encode(cell) for cell in pred_cells], [encode(cell) for cell in gold_cells]


def _content_costs(pred_cells: list[str | list[str]], gold_cells: list[str | list[str]]) -> np.ndarray:
    """Normalised Levenshtein distance between every predicted and every gold cell's tokens.

    With cells as strings rapidfuzz computes all distances in one C call; distinct cells are scored
    once (tables repeat "–", "0", "" a lot).
    """
    pred_text, gold_text = _encode(pred_cells, gold_cells)
    pred_unique, pred_index = _unique(pred_text)
    gold_unique, gold_index = _unique(gold_text)
    distance = cdist(pred_unique, gold_unique, scorer=Levenshtein.distance, dtype=np.int64, workers=1)
    pred_len = np.fromiter(map(len, pred_unique), dtype=np.int64, count=len(pred_unique))
    gold_len = np.fromiter(map(len, gold_unique), dtype=np.int64, count=len(gold_unique))
    longest = np.maximum(pred_len[:, None], gold_len[None, :])
    # Two empty cells are equal (cost 0); otherwise lev / longer, the very division the reference does.
    normalised = np.divide(distance, longest, out=np.zeros(distance.shape), where=longest > 0)
    return normalised[np.ix_(pred_index, gold_index)]


def _unique(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """Distinct texts in first-seen order, and each text's position among them."""
    positions: dict[str, int] = {}
    index = np.fromiter((positions.setdefault(text, len(positions)) for text in texts), dtype=np.int64, count=len(texts))
    return list(positions), index
