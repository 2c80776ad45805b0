"""Move every box of a page record with its image: each box's four corners become keypoints, the
same transform that moves the pixels moves them, and each box comes back as its quad (tl, tr, br,
bl; 8 floats) plus the quad's enclosing axis-aligned box, clipped to the image and flagged when
any of the quad lies outside it.

Boxes are gathered in one fixed order (words, lines, field fragments, table cells) so one array
of corners goes through the transform and `place` puts them back where they came from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CLIP_TOLERANCE_PX = 0.5  # a quad this far past the border still counts as inside (interpolation)


def _boxes(row: dict[str, Any]) -> list[dict]:
    out = [w["box"] for w in row["words"]] + [line["box"] for line in row["lines"]]
    out += [b for f in row["fields"] for b in f["boxes"]]
    out += [c["box"] for t in row["tables"] for c in t["cells"]]
    return out


def corners(row: dict[str, Any]) -> np.ndarray:
    """(4 * n_boxes, 2) float32 corner keypoints, tl tr br bl for each box in gathering order."""
    boxes = _boxes(row)
    if not boxes:
        return np.zeros((0, 2), dtype=np.float32)
    b = np.array([[d["x0"], d["y0"], d["x1"], d["y1"]] for d in boxes], dtype=np.float64)
    quads = np.stack([b[:, [0, 1]], b[:, [2, 1]], b[:, [2, 3]], b[:, [0, 3]]], axis=1)
    return quads.reshape(-1, 2).astype(np.float32)


def _placed_all(quads: np.ndarray, width: int, height: int) -> list[tuple[dict, list[float], bool]]:
    """(clipped enclosing box, quad as 8 floats, clipped flag) for each (4, 2) quad."""
    lo, hi = quads.min(axis=1), quads.max(axis=1)
    tol = CLIP_TOLERANCE_PX
    clipped = (lo[:, 0] < -tol) | (lo[:, 1] < -tol) | (hi[:, 0] > width + tol) | (hi[:, 1] > height + tol)
    limits = np.array([width, height], dtype=np.float64)
    lo, hi = np.clip(lo, 0, limits).round(2), np.clip(hi, 0, limits).round(2)
    flat = quads.reshape(-1, 8).round(2).tolist()
    return [({"x0": a[0], "y0": a[1], "x1": b[0], "y1": b[1]}, q, c)
            for a, b, q, c in zip(lo.tolist(), hi.tolist(), flat, clipped.tolist())]


def place(row: dict[str, Any], points: np.ndarray, width: int, height: int) -> dict[str, list]:
    """The record's words, lines, fields and tables with moved boxes, quads and clipped flags."""
    quads = np.asarray(points, dtype=np.float64).reshape(-1, 4, 2)
    placed = iter(_placed_all(quads, width, height))
    words = []
    for w in row["words"]:
        box, quad, clipped = next(placed)
        words.append({"text": w["text"], "box": box, "quad": quad, "clipped": clipped, "line": w["line"]})
    lines = []
    for line in row["lines"]:
        box, quad, clipped = next(placed)
        lines.append({"text": line["text"], "box": box, "quad": quad, "clipped": clipped})
    fields = []
    for f in row["fields"]:
        frags = [next(placed) for _ in f["boxes"]]
        fields.append({**{k: f[k] for k in ("name", "type", "value", "normalized")},
                       "boxes": [b for b, _, _ in frags], "quads": [q for _, q, _ in frags],
                       "clipped": [c for _, _, c in frags]})
    tables = []
    for t in row["tables"]:
        cells = []
        for c in t["cells"]:
            box, quad, clipped = next(placed)
            cells.append({**{k: c[k] for k in ("row", "col", "rowspan", "colspan", "text", "header")},
                          "box": box, "quad": quad, "clipped": clipped})
        tables.append({**{k: t[k] for k in ("name", "html", "n_rows", "n_cols", "has_spans")}, "cells": cells})
    return {"words": words, "lines": lines, "fields": fields, "tables": tables}


def quad_to_rect(quad, width: int, height: int) -> np.ndarray:
    """The homography (pixel-centre coordinates, for cv2.warpPerspective) that maps a quad given in
    edge coordinates onto a width x height rectangle: rectifies a rotated word or line."""
    import cv2

    src = np.asarray(quad, dtype=np.float32).reshape(4, 2) - 0.5
    dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32) - 0.5
    return cv2.getPerspectiveTransform(src, dst)
