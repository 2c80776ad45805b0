"""Predictions JSONL for `engine evaluate`, random and mutated: every line is either scored or an
error row with its line number (with --strict: one error naming the file and line), every gold page
is scored or reported missing, and nothing crashes or hangs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.engine.catalog import open_catalog
from docfactory.engine.evaluation import PredictionsError, ScoringOptions, evaluate_run, read_predictions
from docfactory.engine.evaluation.gold import load_gold
from docfactory.engine.generate import GenerateConfig, run_generate

FUZZ = dict(derandomize=True, database=None)
PAGES = {("doc-0000000", 0), ("doc-0000000", 1), ("doc-0000001", 0)}
COPIES = {("doc-0000000", 0, 0), ("doc-0000001", 0, 0)}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
TABLES = ["<table><tr><td>1</td></tr></table>", "<div>no table</div>", "", "<table><tr><td colspan='x'>1</td></tr>",
          '<?xml version="1.0" encoding="latin-1"?><table></table>']
objects = st.fixed_dictionaries(
    {"doc_id": st.sampled_from(sorted({d for d, _ in PAGES}) + ["doc-9"]) | json_values,
     "page": st.integers(-1, 2) | json_values},
    optional={"copy": st.none() | st.integers(-1, 1) | json_values,
              "fields": st.dictionaries(st.sampled_from(["total", "items", "seller"]), json_values, max_size=3) | json_values,
              "tables": st.lists(st.sampled_from(TABLES), max_size=2) | json_values,
              "text": st.text(max_size=10) | json_values,
              "confidence": json_values, "error": json_values, "surprise": json_values},
)
# A line of the file: a JSON object (mostly), any JSON value, or any text (no line breaks: those
# would make two lines). Then how the line is damaged: kept, truncated, or a character dropped.
raw_line = st.text(max_size=30).map(lambda s: "".join(c for c in s if c not in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"))
lines = st.lists(st.one_of(objects.map(json.dumps), objects.map(json.dumps), json_values.map(json.dumps), raw_line),
                 max_size=8)
damage = st.lists(st.tuples(st.integers(0, 7), st.sampled_from(["keep", "truncate", "drop_char", "blank"])), max_size=3)

DEEP = '{"doc_id": "doc-0000000", "page": 0, "fields": {"total": ' + "[" * 980 + "]" * 980 + "}}"


def _damaged(texts: list[str], hits: list[tuple[int, str]]) -> list[str]:
    texts = list(texts)
    for index, how in hits:
        if index < len(texts) and texts[index]:
            text = texts[index]
            texts[index] = {"keep": text, "truncate": text[: len(text) // 2], "blank": "   ",
                            "drop_char": text[: len(text) // 3] + text[len(text) // 3 + 1:]}[how]
    return texts


def _write(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(t + "\n" for t in texts), encoding="utf-8", errors="surrogatepass")
    return path


@settings(max_examples=120, deadline=5000, **FUZZ)
@given(texts=lines, hits=damage)
@example(texts=["[" * 5000], hits=[])  # found: RecursionError out of json.loads
@example(texts=["1" * 5000], hits=[])  # found: ValueError (int digit limit) out of json.loads
@example(texts=['{"doc_id": "\\ud800", "page": 0}'], hits=[])  # found: a lone surrogate crashed the Parquet write
@example(texts=[DEEP], hits=[])  # found: RecursionError in the null-item filter
@example(texts=['{"doc_id": "doc-0000000", "page": 0, "tables": ["<?xml version=\\"1.0\\" encoding=\\"latin-1\\"?><table/>"]}'],
         hits=[])  # found: ValueError out of the table parser
def test_every_line_is_scored_or_an_error_row(texts, hits, tmp_path_factory, time_limit):
    texts = _damaged(texts, hits)
    path = _write(tmp_path_factory.mktemp("preds") / "p.jsonl", texts)
    with time_limit(10):
        read = read_predictions(path, PAGES, COPIES)
    numbers = {n for n, t in enumerate(path.read_text(encoding="utf-8", errors="replace").split("\n"), 1) if t.strip()}
    scored = {p.line for p in read.predictions if p.line is not None}
    unscored = {i.line for i in read.issues if not i.scored}
    assert read.lines == len(numbers)
    assert scored | unscored == numbers and not scored & unscored  # each line: scored xor an error row
    assert all(i.line in numbers and i.reason for i in read.issues if i.line is not None)
    # Never a silent 0: each gold page is scored from a line or reported missing.
    predicted = {(p.doc_id, p.page) for p in read.predictions if p.copy is None}
    if any(p.copy is None for p in read.predictions):
        assert predicted == PAGES
    for p in read.predictions:
        if p.line is None:
            assert any(i.error == "missing_prediction" and (i.doc_id, i.page, i.copy) == p.key for i in read.issues)
    # --strict: the first problem, naming the file and its line.
    first = next((i for i in read.issues), None)
    if first is None:
        read_predictions(path, PAGES, COPIES, strict=True)
    else:
        with pytest.raises(PredictionsError) as raised:
            read_predictions(path, PAGES, COPIES, strict=True)
        where = f"{path}:{first.line}: " if first.line is not None else f"{path}: "
        assert str(raised.value).startswith(where) and first.error in str(raised.value)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Two real documents (one template with a table), generated once for this module."""
    run = tmp_path_factory.mktemp("fuzz_eval") / "run"
    run_generate(run, GenerateConfig(n=2, seed=5, workers=1, templates=["invoice_classic"]))
    with open_catalog(run, read_only=True) as catalog:
        return run, load_gold(catalog)


def _answers(gold) -> list[str]:
    return [json.dumps({"doc_id": d, "page": p, "fields": g.tree, "tables": [t.html for t in g.tables], "text": g.text})
            for (d, p), g in sorted(gold.items())]


@settings(max_examples=8, deadline=None, **FUZZ)
@given(extra=st.lists(st.one_of(objects.map(json.dumps), raw_line), max_size=3), hits=damage)
@example(extra=['{"doc_id": "\\udc80", "page": 0, "fields": {"total": "\\ud800"}}', "[" * 5000], hits=[])
def test_evaluate_run_writes_error_rows_never_crashes(tiny_run, extra, hits, tmp_path_factory, time_limit):
    run, gold = tiny_run
    path = _write(tmp_path_factory.mktemp("preds") / "p.jsonl", _damaged(_answers(gold) + extra, hits))
    with time_limit(60):
        result = evaluate_run(run, path, name="fuzz", options=ScoringOptions(workers=0))
    assert result.pages >= len(gold)
    unscored = {i.line for i in read_predictions(path, set(gold), set()).issues if not i.scored}
    with open_catalog(run, read_only=True) as catalog:
        rows = {line for (line,) in catalog.sql("SELECT line FROM prediction_errors WHERE name = 'fuzz' AND NOT scored").fetchall()}
        pages = catalog.sql("SELECT count(*) FROM doc_scores WHERE name = 'fuzz'").fetchone()[0]
    assert rows == unscored
    assert pages == result.pages


def test_cli_strict_names_the_file_and_line(tiny_run, tmp_path):
    run, gold = tiny_run
    path = _write(tmp_path / "p.jsonl", _answers(gold)[:1] + ["[" * 5000])
    result = CliRunner().invoke(app, ["evaluate", str(run), "--predictions", str(path), "--strict"])
    message = (result.stderr if hasattr(result, "stderr") else result.output).replace("\n", "")
    assert result.exit_code == 1
    assert f"{path}:2: bad_json" in message, message
