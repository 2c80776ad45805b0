"""Augmentation on pages rendered by the factory: boxes stay on their ink, clipping is flagged,
the same seed gives the same bytes and stored params rebuild them, presets are ordered by a
measured statistic, crops carry their words' text, bad names and values fail clearly."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from docfactory.generators import generate_pages, sample_spec
from docfactory.generators.augment import (AugmentError, AugmentSettings, GateOptions, Plan, augment_page,
                                           rebuild_image, resolve_preset)
from docfactory.generators.augment import boxes
from docfactory.generators.augment.page import apply_plan, decode_rgb
from docfactory.generators.augment.presets import parse_overrides

TEMPLATES = ("invoice_classic", "invoice_modern", "receipt_thermal", "statement_report")
# Only geometry, strong enough that an error in moving boxes would show: a few degrees of rotation,
# shear, perspective, zoom, and crop/pad of every side.
GEOMETRIC = {"page_warp": {"p": 1, "angle": [2, 3], "scale": [0.95, 1.05], "shear": [0.5, 1.5], "perspective": [0.01, 0.02]},
             "crop_pad": {"p": 1, "crop": [0.0, 0.01], "pad": [0.0, 0.03]}}


@pytest.fixture(scope="module")
def pages(registry) -> list[dict]:
    """First pages of one document per template, as `documents` rows."""
    specs = [sample_spec(11, i, [registry.get(name)]) for i, name in enumerate(TEMPLATES)]
    records, rejections = generate_pages(specs, registry)
    assert not rejections
    firsts = {}
    for r in records:
        firsts.setdefault(r.doc_id, r.to_row())
    return list(firsts.values())


def _gray(data: bytes) -> np.ndarray:
    return cv2.cvtColor(decode_rgb(data), cv2.COLOR_RGB2GRAY)


def _ink(gray: np.ndarray) -> np.ndarray:
    """How much darker than the paper (the page's median) each pixel is: grey text counts too."""
    return np.clip(float(np.median(gray)) - gray.astype(np.float32), 0, None)


def _grown(quad: np.ndarray, px: float) -> np.ndarray:
    from docfactory.generators.augment.crops import _expanded

    return _expanded(quad, px)


def _ink_shares(ink: np.ndarray, quad) -> tuple[float, float]:
    """(mean ink inside the quad, mean ink in a ring just outside it)."""
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    height = np.linalg.norm(q[3] - q[0])
    ring = max(2.0, 0.4 * height)
    mask = np.zeros(ink.shape, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(_grown(q, 1 + ring) - 0.5).astype(np.int32)], 2)
    cv2.fillPoly(mask, [np.round(_grown(q, 1) - 0.5).astype(np.int32)], 0)
    cv2.fillPoly(mask, [np.round(q - 0.5).astype(np.int32)], 1)
    inside, outside = ink[mask == 1], ink[mask == 2]
    return (float(inside.mean()) if inside.size else 0.0), (float(outside.mean()) if outside.size else 255.0)


def _on_ink(inside: float, ring: float, factor: float) -> bool:
    return inside >= 4.0 and inside >= factor * ring


def test_geometric_transforms_keep_word_boxes_on_their_ink(pages):
    settings = AugmentSettings(preset="none", overrides=GEOMETRIC)
    checked = kept = control_kept = 0
    for row in pages:
        clean_ink = _ink(_gray(row["image"]))
        for copy in range(2):
            result = augment_page(row, copy, settings)
            assert [t["kind"] for t in json.loads(result.row["params"])["transforms"]] == ["page_warp", "crop_pad"]
            ink = _ink(_gray(result.row["image"]))
            for clean_word, word in zip(row["words"], result.row["words"]):
                b = clean_word["box"]
                clean_quad = [b["x0"], b["y0"], b["x1"], b["y0"], b["x1"], b["y1"], b["x0"], b["y1"]]
                if word["clipped"] or not _on_ink(*_ink_shares(clean_ink, clean_quad), 4):
                    continue  # only words whose clean box passes the test (not touching neighbours, dark on light)
                checked += 1
                kept += _on_ink(*_ink_shares(ink, word["quad"]), 3)
                quad = np.asarray(word["quad"]).reshape(4, 2)
                shifted = quad + (quad[3] - quad[0]) * 0.7  # the same box 70% of a line lower: off its ink
                control_kept += _on_ink(*_ink_shares(ink, shifted), 3)
    assert checked > 300
    assert kept / checked > 0.98, (kept, checked)
    assert control_kept / checked < 0.3, (control_kept, checked)  # the test can tell a misplaced box


def test_boxes_cut_by_the_border_are_clipped_and_flagged(pages):
    row = max(pages, key=lambda r: r["width"])
    crop = 200
    plan = Plan("test", 0, 0, [{"kind": "crop_pad", "top": 0, "right": 0, "bottom": 0, "left": -crop, "border": 255}])
    image, points = apply_plan(decode_rgb(row["image"]), boxes.corners(row), plan)
    height, width = image.shape[:2]
    assert width == row["width"] - crop
    placed = boxes.place(row, points, width, height)
    n_clipped = 0
    for clean, word in zip(row["words"], placed["words"]):
        b, c = word["box"], clean["box"]
        assert 0 <= b["x0"] <= b["x1"] <= width and 0 <= b["y0"] <= b["y1"] <= height
        assert word["clipped"] == (c["x0"] < crop - boxes.CLIP_TOLERANCE_PX)
        n_clipped += word["clipped"]
        if not word["clipped"]:
            assert b == pytest.approx({"x0": c["x0"] - crop, "y0": c["y0"], "x1": c["x1"] - crop, "y1": c["y1"]}, abs=0.011)
        elif c["x1"] <= crop:
            assert b["x0"] == b["x1"] == 0  # wholly outside: an empty box, flagged
    assert 0 < n_clipped < len(row["words"])
    cells = [c for t in placed["tables"] for c in t["cells"]]
    assert all(c["clipped"] for c in cells if c["quad"][0] < -1)
    # Through the gate: heavy crops flag the page, with the reason; reject mode leaves it out.
    heavy = {"crop_pad": {"p": 1, "crop": [0.3, 0.3], "pad": [0, 0]}}
    results = [(r, k, augment_page(r, k, AugmentSettings(preset="none", overrides=heavy))) for r in pages for k in range(2)]
    flagged = [(r, k, res) for r, k, res in results if not res.legibility.legible]
    assert flagged and all(res.row["legible"] is False for *_, res in flagged)
    for *_, res in results:
        assert any(x.startswith("clipped") for x in res.legibility.reasons) == (res.legibility.clipped_share > 0.2)
    rejecting = AugmentSettings(preset="none", overrides=heavy, gate=GateOptions(mode="reject"))
    source, copy, res = flagged[0]
    rejected = augment_page(source, copy, rejecting)
    assert rejected.row is None and rejected.crops == [] and rejected.legibility.reasons == res.legibility.reasons


def test_same_seed_same_bytes_and_params_rebuild_the_image(pages):
    settings = AugmentSettings(preset="strong")
    row = pages[0]
    first, second = augment_page(row, 1, settings), augment_page(row, 1, settings)
    assert first.row == second.row and first.crops == second.crops
    assert augment_page(row, 2, settings).row["image"] != first.row["image"]
    assert augment_page(row, 1, AugmentSettings(preset="strong", salt=1)).row["image"] != first.row["image"]
    for r in pages:
        result = augment_page(r, 0, settings)
        assert rebuild_image(r["image"], result.row["params"]) == result.row["image"]
    none = augment_page(row, 0, AugmentSettings(preset="none"))
    assert none.row["image"] == row["image"] and none.row["severity"] == 0.0
    assert [w["box"] for w in none.row["words"]] == [w["box"] for w in row["words"]]


def test_noise_does_not_depend_on_what_the_process_did_before(pages):
    from docfactory.generators.augment import ops

    small, large = min(pages, key=lambda r: r["width"] * r["height"]), max(pages, key=lambda r: r["width"] * r["height"])
    noisy = AugmentSettings(preset="none", overrides={"gauss_noise": {"std": 0.05}, "iso_noise": {"p": 1}})
    ops._bank = ops._bank[:0]  # a fresh process: an empty noise bank
    fresh = augment_page(small, 0, noisy).row["image"]
    augment_page(large, 0, noisy)  # grows the bank
    assert augment_page(small, 0, noisy).row["image"] == fresh


def test_presets_are_ordered_by_measured_degradation(pages):
    stats = {}
    for name in ("none", "mild", "medium", "strong"):
        results = [augment_page(r, k, AugmentSettings(preset=name)) for r in pages for k in range(2)]
        stats[name] = (np.mean([r.legibility.severity for r in results]), np.mean([r.legibility.contrast for r in results]),
                       np.mean([r.legibility.legible for r in results]))
    severity = [stats[n][0] for n in stats]
    contrast = [stats[n][1] for n in stats]
    assert severity[0] == 0 and severity == sorted(severity) and len(set(severity)) == 4, stats
    assert contrast == sorted(contrast, reverse=True), stats
    assert stats["mild"][2] == 1.0 and stats["medium"][2] >= 0.9 and stats["strong"][2] >= 0.75, stats


def test_line_crops_carry_their_words_text(pages):
    for row in pages:
        result = augment_page(row, 0, AugmentSettings(preset="medium"))
        words, lines = result.row["words"], result.row["lines"]
        crops = result.crops
        assert len(crops) + result.skipped_crops == len(words) + len(lines)
        for crop in crops:
            if crop["level"] == "line":
                assert crop["text"] == " ".join(w["text"] for w in words if w["line"] == crop["line"])
                assert crop["text"] == lines[crop["line"]]["text"] and crop["word"] is None
            else:
                assert crop["text"] == words[crop["word"]]["text"] and crop["line"] == words[crop["word"]]["line"]
            image = decode_rgb(crop["image"])
            assert image.shape[:2] == (crop["height"], crop["width"]) and crop["font"] == row["knobs"]["font"]


def test_bad_preset_names_and_parameters_fail_listing_the_valid_ones():
    with pytest.raises(AugmentError, match=r"'strongest'.*valid: none, mild, medium, strong, mix"):
        AugmentSettings(preset="strongest")
    with pytest.raises(AugmentError, match=r"gaussian_blur has no parameter 'sigmaa' \(valid: p, sigma\)"):
        resolve_preset("mild", {"gaussian_blur": {"sigmaa": 1}})
    with pytest.raises(AugmentError, match=r"unknown transform 'gausian_blur' \(known: thermal_fade, paper, ink, .*page_warp.*jpeg\)"):
        AugmentSettings(preset="mild", overrides={"gausian_blur": {"p": 1}})
    with pytest.raises(AugmentError, match=r"gaussian_blur.sigma: .*reversed"):
        resolve_preset("mild", {"gaussian_blur": {"sigma": [2, 1]}})
    with pytest.raises(AugmentError, match=r"gaussian_blur.sigma: .*allowed range \[0, 4\]"):
        resolve_preset("mild", {"gaussian_blur": {"sigma": 9}})
    with pytest.raises(AugmentError, match=r"page_warp.p: .*less than or equal to 1"):
        resolve_preset("mild", {"page_warp": {"p": 2}})
    with pytest.raises(AugmentError, match=r"kind.param=value"):
        parse_overrides(["sigma=1"])
    with pytest.raises(AugmentError, match=r"valid: line, word"):
        AugmentSettings(preset="mild", levels=("paragraph",))
    with pytest.raises(AugmentError, match=r"weights\['augment_p'\]: unknown 'blur' \(valid: thermal_fade, paper, ink"):
        AugmentSettings(preset="mild", weights={"augment_p": {"blur": 2}})
    with pytest.raises(AugmentError, match=r"unknown weights table 'augment_presets' \(valid: augment_preset, augment_p"):
        AugmentSettings(preset="mix", weights={"augment_presets": {"mild": 1}})
    assert parse_overrides(["defocus.radius=1,2", "defocus.p=0.5"]) == {"defocus": {"radius": [1.0, 2.0], "p": 0.5}}


def test_knobs_tilt_presets_probabilities_and_strengths(pages):
    row = pages[0]
    only_strong = AugmentSettings(preset="mix", weights={"augment_preset": {"mild": 0, "medium": 0, "strong": 1}})
    assert {augment_page(row, k, only_strong).preset for k in range(4)} == {"strong"}
    mixed = AugmentSettings(preset="mix")
    assert len({augment_page(row, k, mixed).preset for k in range(6)}) > 1
    no_jpeg = augment_page(row, 0, AugmentSettings(preset="strong", weights={"augment_p": {"jpeg": 0}}))
    assert no_jpeg.row["image_format"] == "png" and no_jpeg.row["image"].startswith(b"\x89PNG")
    flat = AugmentSettings(preset="none", overrides=GEOMETRIC, weights={"augment_strength": {"page_warp": 0}})
    warp = json.loads(augment_page(row, 0, flat).row["params"])["transforms"][0]
    assert warp["kind"] == "page_warp" and warp["angle"] == 0 and warp["scale"] == 1 and not any(warp["corners"])
    assert only_strong.tag().startswith("mix-") and AugmentSettings(preset="mild").tag() == "mild"
