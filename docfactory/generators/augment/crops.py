"""Text-line and word crops for text recognition (the job trdg does, but cut from real rendered
layouts, so they carry the templates' fonts, sizes and context).

Each crop is its quad rectified to an upright rectangle with a small margin, so a rotated or
perspective-pulled line comes out straight and never includes the neighbouring lines an
axis-aligned crop of a tilted line would. Boxes the border cut are skipped (their text is not all
in the picture) and counted.
"""

from __future__ import annotations

from typing import Any, Iterable

import cv2
import numpy as np

from docfactory.generators.augment.boxes import quad_to_rect

LEVELS = ("line", "word")
MARGIN = 0.15  # of the crop's height, on every side
MIN_SIDE_PX = 2


def _expanded(quad, margin_px: float) -> np.ndarray:
    """The quad grown by margin_px along its own axes (tl tr br bl)."""
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    u = q[1] - q[0]
    v = q[3] - q[0]
    u /= max(np.linalg.norm(u), 1e-9)
    v /= max(np.linalg.norm(v), 1e-9)
    m = margin_px
    return q + np.array([-u - v, u - v, u + v, -u + v]) * m


def rectify(image: np.ndarray, quad) -> np.ndarray | None:
    """The upright crop of `quad` (edge coordinates) with a margin, or None if degenerate."""
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    width = max(np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[3]))
    height = max(np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[2] - q[1]))
    if width < MIN_SIDE_PX or height < MIN_SIDE_PX:
        return None
    margin = max(1.0, round(MARGIN * height))
    out_w, out_h = int(round(width + 2 * margin)), int(round(height + 2 * margin))
    matrix = quad_to_rect(_expanded(q, margin), out_w, out_h)
    return cv2.warpPerspective(image, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def encode_png(image_rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def crop_rows(image_rgb: np.ndarray, page: dict[str, Any], meta: dict[str, Any],
              levels: Iterable[str] = LEVELS) -> tuple[list[dict], int]:
    """Rows for the `lines` shard from an (augmented) page: (rows, boxes skipped as clipped).
    `page` holds words and lines with quad and clipped; `meta` the columns every row shares."""
    rows, skipped = [], 0
    items = []
    if "line" in levels:
        items += [("line", i, None, line) for i, line in enumerate(page["lines"])]
    if "word" in levels:
        items += [("word", w["line"], i, w) for i, w in enumerate(page["words"])]
    for level, line_index, word_index, item in items:
        if item["clipped"]:
            skipped += 1
            continue
        crop = rectify(image_rgb, item["quad"])
        if crop is None:
            skipped += 1
            continue
        rows.append({**meta, "level": level, "line": line_index, "word": word_index, "text": item["text"],
                     "box": item["box"], "quad": item["quad"], "image": encode_png(crop),
                     "width": crop.shape[1], "height": crop.shape[0]})
    return rows, skipped
