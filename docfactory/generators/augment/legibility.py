"""Measure how much an augmented page still shows its text, and gate on it.

For a sample of word boxes, the augmented word (its quad rectified back to the clean box's shape)
is compared with the clean word's pixels: their correlation says how much of the word's shape
survived (blur, noise, JPEG, resampling lower it; brightness and contrast changes do not), and the
regression gain times the clean word's ink contrast is the ink contrast left. The page's
`severity` is 1 - the median correlation: 0 for an untouched page, growing as text degrades.

The gate flags (or, in reject mode, drops) a page whose text is too far gone: too many word boxes
cut by the border, ink contrast collapsed, or word shapes lost. Every flag carries its reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from docfactory.generators.augment.boxes import quad_to_rect

MIN_WORD_PX = 3
FLAT_VARIANCE = 25.0  # a word crop this flat (grey levels^2) has no shape to compare


class GateOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Annotated[Literal["flag", "reject"], Field(description="flag: keep the page with legible=false; reject: drop it")] = "flag"
    max_clipped_share: Annotated[float, Field(ge=0, le=1, description="most word boxes the border may cut")] = 0.2
    min_contrast: Annotated[float, Field(ge=0, le=1, description="least median ink contrast (fraction of 255)")] = 0.2
    min_word_similarity: Annotated[float, Field(ge=-1, le=1, description="least median clean/augmented word correlation")] = 0.45
    sample_words: Annotated[int, Field(gt=0, description="word boxes measured per page")] = 48


@dataclass
class Legibility:
    clipped_share: float
    word_similarity: float | None  # median correlation of clean and augmented word pixels
    contrast: float | None  # median ink contrast left, fraction of 255
    severity: float | None  # 1 - word_similarity
    reasons: list[str] = field(default_factory=list)

    @property
    def legible(self) -> bool:
        return not self.reasons


def _rectified(gray: np.ndarray, quad, width: int, height: int) -> np.ndarray:
    matrix = quad_to_rect(quad, width, height)
    return cv2.warpPerspective(gray, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _box_quad(box: dict) -> list[float]:
    return [box["x0"], box["y0"], box["x1"], box["y0"], box["x1"], box["y1"], box["x0"], box["y1"]]


def word_stats(clean_gray: np.ndarray, aug_gray: np.ndarray, clean_box: dict, aug_quad) -> tuple[float, float] | None:
    """(correlation, ink contrast left) for one word, or None when the word is too small or flat."""
    width, height = round(clean_box["x1"] - clean_box["x0"]), round(clean_box["y1"] - clean_box["y0"])
    if width < MIN_WORD_PX or height < MIN_WORD_PX:
        return None
    clean = _rectified(clean_gray, _box_quad(clean_box), width, height).astype(np.float64).ravel()
    aug = _rectified(aug_gray, aug_quad, width, height).astype(np.float64).ravel()
    dc, da = clean - clean.mean(), aug - aug.mean()
    var_c, var_a = float(dc @ dc) / dc.size, float(da @ da) / da.size
    if var_c < FLAT_VARIANCE:
        return None
    cov = float(dc @ da) / dc.size
    corr = cov / np.sqrt(var_c * var_a) if var_a > 0 else 0.0
    ink_contrast = float(np.percentile(clean, 95) - np.percentile(clean, 5))
    return corr, max(0.0, cov / var_c) * ink_contrast / 255.0


def measure(clean_gray: np.ndarray, aug_gray: np.ndarray, clean_words: list[dict], aug_words: list[dict],
            options: GateOptions) -> Legibility:
    """Legibility of an augmented page from its words (aug_words carry quad and clipped)."""
    n = len(aug_words)
    clipped_share = sum(w["clipped"] for w in aug_words) / n if n else 0.0
    candidates = [i for i, w in enumerate(aug_words) if not w["clipped"]]
    step = max(1, len(candidates) // options.sample_words)
    stats = [s for i in candidates[::step][: options.sample_words]
             if (s := word_stats(clean_gray, aug_gray, clean_words[i]["box"], aug_words[i]["quad"])) is not None]
    similarity = float(np.median([s[0] for s in stats])) if stats else None
    contrast = float(np.median([s[1] for s in stats])) if stats else None
    result = Legibility(round(clipped_share, 4), None if similarity is None else round(similarity, 4),
                        None if contrast is None else round(contrast, 4),
                        None if similarity is None else round(min(1.0, max(0.0, 1.0 - similarity)), 4))
    if clipped_share > options.max_clipped_share:
        result.reasons.append(f"clipped: {clipped_share:.0%} of word boxes cut by the border (max {options.max_clipped_share:.0%})")
    if contrast is not None and contrast < options.min_contrast:
        result.reasons.append(f"contrast: median ink contrast {contrast:.2f} (min {options.min_contrast:.2f})")
    if similarity is not None and similarity < options.min_word_similarity:
        result.reasons.append(f"shape: median word similarity {similarity:.2f} (min {options.min_word_similarity:.2f})")
    return result
