"""Till-slip realism: thermal fade, creases and the scan bed are seeded, recorded and rebuilt from
their values, leave the page alone at strength 0, and the bed moves every box exactly with the
slip; the `thermal` preset runs through `engine augment` and stays out of a mix unless named."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from typer.testing import CliRunner

from docfactory.cli import app
from docfactory.engine.catalog import open_catalog
from docfactory.engine.generate import GenerateConfig, run_generate
from docfactory.generators import generate_pages, sample_spec
from docfactory.generators.augment import KINDS, AugmentSettings, Plan, augment_page, rebuild_image, resolve_preset
from docfactory.generators.augment import boxes
from docfactory.generators.augment.page import apply_plan, decode_rgb
from docfactory.generators.augment.transforms import Context

NEW_KINDS = ("thermal_fade", "crease", "scan_bed")
# Values each kind must record beyond its spans: what `build` needs to redo it without an rng.
RECORDED = {"thermal_fade": ("amount", "banding", "band", "streaks", "streak_px"),
            "crease": ("lines", "strength", "width"),
            "scan_bed": ("zoom", "corners", "angle", "width_share", "height_share", "x", "y", "bed", "color",
                         "texture", "grain", "shadow", "shadow_px")}


@pytest.fixture(scope="module")
def receipts(registry) -> list[dict]:
    specs = [sample_spec(3, i, [registry.get(name)]) for i, name in enumerate(("receipt_pos", "receipt_thermal"))]
    records, rejections = generate_pages(specs, registry)
    assert not rejections
    return [r.to_row() for r in records if r.page == 0]


@pytest.mark.parametrize("kind", NEW_KINDS)
def test_each_kind_is_seeded_recorded_and_rebuilt_from_its_values(receipts, kind):
    settings = AugmentSettings(preset="none", overrides={kind: {"p": 1}})
    row = receipts[0]
    first, again = augment_page(row, 0, settings), augment_page(row, 0, settings)
    assert first.row == again.row and first.crops == again.crops
    (step,) = json.loads(first.row["params"])["transforms"]
    assert step["kind"] == kind and set(RECORDED[kind]) <= set(step), step
    assert not np.array_equal(decode_rgb(first.row["image"]), decode_rgb(row["image"]))
    assert augment_page(row, 1, settings).row["image"] != first.row["image"]
    assert rebuild_image(row["image"], first.row["params"]) == first.row["image"]
    # At strength 0 every value sits at its identity: the page comes back pixel for pixel.
    still = AugmentSettings(preset="none", overrides={kind: {"p": 1}}, weights={"augment_strength": {kind: 0}})
    assert np.array_equal(decode_rgb(augment_page(row, 0, still).row["image"]), decode_rgb(row["image"]))


def _inward_distance(quad, shape: tuple[int, int]) -> np.ndarray:
    """For each pixel centre, the least distance inside the convex quad's edges (negative outside;
    its magnitude never exceeds the true distance to the quad)."""
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]] + 0.5
    centre = q.mean(axis=0)
    out = np.full(shape, np.inf)
    for a, b in zip(q, np.roll(q, -1, axis=0)):
        normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.linalg.norm(b - a)
        normal *= np.sign(normal @ (centre - a))  # point inwards
        out = np.minimum(out, (xs - a[0]) * normal[0] + (ys - a[1]) * normal[1])
    return out


def _fits(gray: np.ndarray, quad, margin: float = 0.75) -> bool:
    """The quad holds a black rectangle exactly: black inside, white just outside. Pixels within
    `margin` of its edges may blend (bilinear resampling reaches half a source pixel, at most 0.6 px
    at the test's largest zoom); a quad half a pixel off nearly always fails."""
    d = _inward_distance(quad, gray.shape)
    inside, ring = gray[d >= margin], gray[(d <= -margin) & (d >= -margin - 3)]
    return inside.size > 0 and int(inside.max()) <= 10 and int(ring.min()) >= 245


@pytest.mark.parametrize("seed", range(4))
def test_scan_bed_moves_boxes_exactly_with_the_slip(seed):
    height, width = 640, 320
    page = np.full((height, width, 3), 255, dtype=np.uint8)
    rects = [(40, 60, 120, 84), (150, 300, 262, 331), (30, 560, 92, 610), (205, 100, 233, 250), (12, 12, 300, 20)]
    for x0, y0, x1, y1 in rects:
        page[y0:y1, x0:x1] = 0
    words = [{"text": "x", "line": 0, "box": {"x0": x0, "y0": y0, "x1": x1, "y1": y1}} for x0, y0, x1, y1 in rects]
    row = {"words": words, "lines": [], "fields": [], "tables": []}
    spans = {name: param.default for name, param in KINDS["scan_bed"].params.items()}
    spans.update(angle=(2.5, 4.0), perspective=(0.008, 0.012), zoom=(0.85, 1.2), table=(seed % 2, seed % 2))
    values = KINDS["scan_bed"].sample(spans, random.Random(seed), Context(width, height, 120))
    image, points = apply_plan(page, boxes.corners(row), Plan("test", seed, seed, [values]))
    gray = image[..., 1]
    canvas_h, canvas_w = gray.shape
    assert canvas_w > width and canvas_h > height
    placed = boxes.place(row, points, canvas_w, canvas_h)["words"]
    for word in placed:
        assert not word["clipped"] and _fits(gray, word["quad"]), (values, word)
        for dx, dy in ((1, 0), (0, 1), (-1, 0), (0, -1)):  # a pixel off: the test can tell
            assert not _fits(gray, np.asarray(word["quad"]) + np.tile([dx, dy], 4))
    # The page's own corners land inside the canvas: the slip is never cut.
    corners = apply_plan(page, np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32),
                         Plan("test", seed, seed, [values]))[1]
    assert corners.min() >= 0 and (corners.max(axis=0) <= (canvas_w, canvas_h)).all()


def test_scan_bed_keeps_receipt_words_on_their_ink(receipts):
    strong_bed = {"scan_bed": {"p": 1, "angle": [3, 4], "perspective": [0.008, 0.012], "zoom": [0.9, 1.1]}}
    for row in receipts:
        for copy in range(2):
            result = augment_page(row, copy, AugmentSettings(preset="none", overrides=strong_bed))
            assert result.row["clipped_share"] == 0 and result.row["width"] > row["width"]
            # Word pixels read back through the moved quads match the clean words.
            assert result.legibility.word_similarity > 0.95, result.legibility


def test_thermal_preset_through_engine_augment(tmp_path):
    run = tmp_path / "run"
    summary = run_generate(run, GenerateConfig(n=3, seed=9, workers=1, shard_docs=3,
                                               templates=["receipt_pos", "receipt_thermal"]))
    assert summary.verified == 3
    result = CliRunner().invoke(app, ["augment", str(run), "--preset", "thermal", "--copies", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    with open_catalog(run, read_only=True) as catalog:
        assert sorted(catalog.listed("augmented")) == [f"shards/augmented/it000/part-00000-thermal-c{k}.parquet"
                                                       for k in range(2)]
        rows = catalog.sql("SELECT * FROM augmented").fetchdf().to_dict("records")
        clean = dict(catalog.sql("SELECT doc_id, width FROM documents").fetchall())
    assert len(rows) == 6 and {r["preset"] for r in rows} == {"thermal"}
    assert sum(r["legible"] for r in rows) >= 5, [r["gate_reasons"] for r in rows]
    for r in rows:
        image = decode_rgb(r["image"])
        assert image.shape[:2] == (r["height"], r["width"]) and r["image_format"] == "jpeg"
        assert all(0 <= w["box"]["x0"] <= w["box"]["x1"] <= r["width"] and w["box"]["y1"] <= r["height"]
                   for w in r["words"])
    kinds = [{t["kind"] for t in json.loads(r["params"])["transforms"]} for r in rows]
    on_bed = [r for r, k in zip(rows, kinds) if "scan_bed" in k]
    assert on_bed and all(r["width"] > clean[r["doc_id"]] for r in on_bed)
    assert not any({"scan_bed", "page_warp"} <= k for k in kinds)  # a slip on its bed is not warped again


def test_thermal_is_in_a_mix_only_when_named(receipts):
    row = receipts[0]
    assert "thermal" not in {augment_page(row, k, AugmentSettings(preset="mix")).preset for k in range(12)}
    named = AugmentSettings(preset="mix", weights={"augment_preset": {"mild": 0, "medium": 0, "strong": 0, "thermal": 1}})
    assert {augment_page(row, k, named).preset for k in range(3)} == {"thermal"}
    assert set(resolve_preset("thermal").transforms) >= set(NEW_KINDS)
