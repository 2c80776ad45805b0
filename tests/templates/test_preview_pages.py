"""`engine templates preview --page N` draws any page of a multi-page sample and says "page N of M";
a page past the end is an error naming how many there are."""

from __future__ import annotations

from PIL import Image
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.generators import generate_pages, sample_spec


def multi_page_seed(registry, name: str) -> tuple[int, list]:
    """The first preview seed whose statement runs over a page (long statements are drawn often)."""
    for seed in range(20):
        records, _ = generate_pages([sample_spec(seed, 0, [registry.get(name)], prefix="preview")], registry)
        if len(records) > 1:
            return seed, records
    raise AssertionError(f"no multi-page {name} sample in 20 seeds")


def test_preview_draws_the_page_asked_for(registry, tmp_path):
    seed, records = multi_page_seed(registry, "statement_report")
    runner = CliRunner(env={"COLUMNS": "300"})
    for page in range(1, len(records) + 1):
        out = tmp_path / f"page{page}.png"
        result = runner.invoke(app, ["templates", "preview", "statement_report", "--seed", str(seed), "--page", str(page),
                                     "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert f"page {page} of {len(records)}" in result.output
        record = records[page - 1]
        assert Image.open(out).size == (record.width, record.height)
        assert f"{len(record.fields)} fields" in result.output
    assert Image.open(tmp_path / "page1.png").tobytes() != Image.open(tmp_path / "page2.png").tobytes()
    past = runner.invoke(app, ["templates", "preview", "statement_report", "--seed", str(seed), "--page",
                               str(len(records) + 1), "--out", str(tmp_path / "none.png")])
    assert past.exit_code == 1 and f"has {len(records)} page(s)" in past.output
    assert not (tmp_path / "none.png").exists()
