"""TEDS: the reference's own scores on real PubTabNet pairs, an APTED oracle on random tables, and
properties (identity, symmetry, bounds)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from apted import APTED, Config
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html
from rapidfuzz.distance import Levenshtein

from docfactory.evaluate import teds
from docfactory.evaluate.teds import table_edit_distance

# The shared folder sits beside the repository root (CI clones the repo with ../shared beside it).
SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pubtabnet" / "sample_pairs.json"


# --- The oracle: the reference's tree and cost model on apted, written independently of ours. ---


class OracleNode:
    def __init__(self, tag: object, colspan: int | None, rowspan: int | None, content: list[str] | None) -> None:
        self.tag, self.colspan, self.rowspan, self.content = tag, colspan, rowspan, content
        self.children: list[OracleNode] = []


class OracleConfig(Config):
    def rename(self, a: OracleNode, b: OracleNode) -> float:
        if a.tag != b.tag or a.colspan != b.colspan or a.rowspan != b.rowspan:
            return 1.0
        if a.tag == "td" and (a.content or b.content):
            return float(Levenshtein.distance(a.content, b.content)) / max(len(a.content), len(b.content))
        return 0.0

    def children(self, node: OracleNode) -> list[OracleNode]:
        return node.children


def oracle_tokens(node, tokens: list[str]) -> None:
    tokens.append("<%s>" % node.tag)
    if node.text is not None:
        tokens += list(node.text)
    for child in node.getchildren():
        oracle_tokens(child, tokens)
    if node.tag != "unk":
        tokens.append("</%s>" % node.tag)
    if node.tag != "td" and node.tail is not None:
        tokens += list(node.tail)


def oracle_tree(node, structure_only: bool) -> OracleNode:
    if node.tag == "td":
        tokens: list[str] = []
        oracle_tokens(node, tokens)
        cell = [] if structure_only else tokens[1:-1]
        return OracleNode("td", int(node.attrib.get("colspan", "1")), int(node.attrib.get("rowspan", "1")), cell)
    tree = OracleNode(node.tag, None, None, None)
    tree.children = [oracle_tree(child, structure_only) for child in node.getchildren()]
    return tree


def parse_table(text: str):
    parser = html.HTMLParser(remove_comments=True, encoding="utf-8")
    return html.document_fromstring(text, parser).xpath("body/table")[0]


def oracle_distance(pred: str, gold: str, structure_only: bool = False) -> float:
    a, b = oracle_tree(parse_table(pred), structure_only), oracle_tree(parse_table(gold), structure_only)
    return APTED(a, b, OracleConfig()).compute_edit_distance()


# --- Random tables with spans, header cells, inline tags and empty cells. ---

INLINE = ["b", "i", "sup", "sub"]


def random_content(rng: random.Random) -> str:
    if rng.random() < 0.15:
        return ""
    text = "".join(rng.choice("ab1 .") for _ in range(rng.randint(1, 6)))
    if rng.random() < 0.3:
        tag = rng.choice(INLINE)
        cut = rng.randint(0, len(text))
        text = f"{text[:cut]}<{tag}>{text[cut:]}</{tag}>"
    return text


def random_cell(rng: random.Random) -> str:
    tag = "th" if rng.random() < 0.05 else "td"
    attrs = ""
    if rng.random() < 0.2:
        attrs += f' colspan="{rng.randint(2, 3)}"'
    if rng.random() < 0.15:
        attrs += f' rowspan="{rng.randint(2, 3)}"'
    return f"<{tag}{attrs}>{random_content(rng)}</{tag}>"


def random_rows(rng: random.Random) -> list[list[str]]:
    return [[random_cell(rng) for _ in range(rng.randint(1, 4))] for _ in range(rng.randint(1, 5))]


def perturb(rng: random.Random, rows: list[list[str]]) -> list[list[str]]:
    rows = [list(row) for row in rows]
    for _ in range(rng.randint(0, 4)):
        r = rng.randrange(len(rows))
        action = rng.random()
        if action < 0.5:
            rows[r][rng.randrange(len(rows[r]))] = random_cell(rng)
        elif action < 0.7 and len(rows) > 1:
            del rows[r]
        elif action < 0.85:
            rows.insert(r, [random_cell(rng) for _ in range(rng.randint(1, 4))])
        elif len(rows[r]) > 1:
            del rows[r][rng.randrange(len(rows[r]))]
    return rows


def render(rng: random.Random, rows: list[list[str]]) -> str:
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    if len(rows) > 1 and rng.random() < 0.5:
        head = "<tr>" + "".join(rows[0]) + "</tr>"
        body = "<thead>" + head + "</thead><tbody>" + "".join("<tr>" + "".join(r) + "</tr>" for r in rows[1:]) + "</tbody>"
    return f"<table>{body}</table>"


def random_pair(seed: int) -> tuple[str, str]:
    rng = random.Random(seed)
    gold = random_rows(rng)
    return render(rng, perturb(rng, gold)), render(rng, gold)


# --- Tests. ---


def test_real_pubtabnet_pairs_match_the_reference_scores() -> None:
    pairs = json.loads(SAMPLES.read_text(encoding="utf-8"))["pairs"]
    assert len(pairs) == 20
    full = [teds(p["pred"], p["gold"]) for p in pairs]
    structure = [teds(p["pred"], p["gold"], structure_only=True) for p in pairs]
    for pair, ours, ours_s in zip(pairs, full, structure):
        assert ours == pytest.approx(pair["teds"], abs=1e-9), pair["id"]
        assert ours_s == pytest.approx(pair["teds_s"], abs=1e-9), pair["id"]
    assert round(sum(full) / 20, 6) == 0.899678
    assert round(sum(structure) / 20, 6) == 0.936100


@pytest.mark.parametrize("structure_only", [False, True])
def test_distance_equals_apted_oracle_on_random_tables(structure_only: bool) -> None:
    for seed in range(60):
        pred, gold = random_pair(seed)
        ours = table_edit_distance(parse_table(pred), parse_table(gold), structure_only=structure_only)
        # Same optimum; the two algorithms may add the same costs in a different order.
        assert ours == pytest.approx(oracle_distance(pred, gold, structure_only), abs=1e-12), (seed, pred, gold)


def test_bare_table_is_wrapped_and_scored_like_a_full_document() -> None:
    pred, gold = random_pair(3)
    wrapped = teds(f"<html><body>{pred}</body></html>", f"<html><body>{gold}</body></html>")
    assert teds(pred, gold) == wrapped
    assert teds("  \n" + pred, gold) == wrapped


def test_empty_or_tableless_prediction_scores_zero_and_bad_gold_raises() -> None:
    gold = "<table><tr><td>1</td></tr></table>"
    assert teds("", gold) == 0.0
    assert teds("   ", gold) == 0.0
    assert teds("<p>no table</p>", gold) == 0.0
    assert teds("<!-- only a comment -->", gold) == 0.0
    with pytest.raises(ValueError, match="gold"):
        teds(gold, "<p>no table</p>")
    with pytest.raises(TypeError):
        teds(None, gold)  # type: ignore[arg-type]


def test_comments_are_ignored_and_inline_tags_count_as_nodes() -> None:
    gold = "<table><tr><td><b>1</b></td><td>2</td></tr></table>"
    assert teds("<table><!-- x --><tr><td><b>1</b></td><td>2</td></tr></table>", gold) == 1.0
    # Dropping the <b>: one token pair ("<b>", "</b>") of three in the cell differs -> 2/3 rename,
    # over 4 nodes (tr, td, b, td).
    assert teds("<table><tr><td>1</td><td>2</td></tr></table>", gold) == pytest.approx(1 - (2 / 3) / 4)
    assert teds("<table><tr><td>1</td><td>2</td></tr></table>", gold, structure_only=True) == 1.0


def test_score_can_be_negative_unless_clamped() -> None:
    # Three sibling rows against a chain thead > tr > td: only one node pair can be kept (the trs),
    # so TED = 2 deletions + 2 insertions = 4 over 3 nodes.
    pred = "<table><tr></tr><tr></tr><tr></tr></table>"
    gold = "<table><thead><tr><td>x</td></tr></thead></table>"
    assert oracle_distance(pred, gold) == 4
    assert teds(pred, gold) == pytest.approx(1 - 4 / 3)
    assert teds(pred, gold, clamp=True) == 0.0


def test_two_empty_tables_are_identical() -> None:
    assert teds("<table></table>", "<table></table>") == 1.0


def test_malformed_span_raises_like_the_reference() -> None:
    with pytest.raises(ValueError):
        teds('<table><tr><td colspan="two">1</td></tr></table>', "<table><tr><td>1</td></tr></table>")


tables = st.integers(min_value=0, max_value=10_000).map(lambda seed: random_pair(seed))


@settings(max_examples=60, deadline=None)
@given(tables)
def test_identity_scores_one(pair: tuple[str, str]) -> None:
    for table in pair:
        assert teds(table, table) == 1.0
        assert teds(table, table, structure_only=True) == 1.0


@settings(max_examples=60, deadline=None)
@given(tables)
def test_symmetric_in_its_arguments(pair: tuple[str, str]) -> None:
    pred, gold = pair
    assert teds(pred, gold) == pytest.approx(teds(gold, pred), abs=1e-12)
    assert teds(pred, gold, structure_only=True) == pytest.approx(teds(gold, pred, structure_only=True), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(tables)
def test_clamped_score_is_within_bounds_and_structure_is_easier(pair: tuple[str, str]) -> None:
    pred, gold = pair
    score = teds(pred, gold, clamp=True)
    assert 0.0 <= score <= 1.0
    # Ignoring content can only lower every rename cost.
    assert teds(pred, gold, structure_only=True) >= teds(pred, gold) - 1e-12
