"""Till-slip wear and capture, as albumentations transforms: thermal print that fades unevenly,
fold lines, and the slip lying on a scanner bed or a table, photographed with the bed around it.

Like `ops`, each takes its values as fixed constructor arguments (sampled in `transforms.py`);
fields and textures come from the Compose's seeded `random_generator`. `ScanBed` changes the image
size: the slip is placed on a larger canvas by one homography (given in edge coordinates, where
pixel i spans [i, i+1)), which moves the box corners exactly as it moves the pixels.
"""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np
from albumentations.core.transforms_interface import DualTransform, ImageOnlyTransform

from docfactory.generators.augment.ops import _Fixed, _gaussian, _multiply, _smooth_field

STREAK_KEEP = 0.15  # ink left under a dead print-head dot


def _unit(field: np.ndarray, spread: float) -> np.ndarray:
    """Unit-variance noise mapped into [0, 1] around 0.5."""
    return np.clip(0.5 + spread * field, 0.0, 1.0)


def _stretched_field(rng: np.random.Generator, shape: tuple[int, int], cell_y: int, cell_x: int) -> np.ndarray:
    """Unit-variance noise whose features are about cell_y by cell_x pixels (wood grain, streaks)."""
    h, w = shape
    small = _gaussian(rng, (h // cell_y + 3, w // cell_x + 3))
    field = cv2.resize(small, ((w // cell_x + 3) * cell_x, (h // cell_y + 3) * cell_y),
                       interpolation=cv2.INTER_CUBIC)[cell_y:cell_y + h, cell_x:cell_x + w]
    return field * (1.0 / max(float(field[::3, ::3].std()), 1e-6))


class ThermalFade(_Fixed, ImageOnlyTransform):
    """Uneven thermal print on the rendered (white) page: each pixel's ink darkness (255 - value)
    loses up to `amount` of itself, by a low-frequency field (regions that faded in the sun or
    under a thumb) mixed with row bands `band_px` high (the print head's energy varying line to
    line, weighted by `banding`), plus `streaks` (x fractions) where a dead dot printed nothing."""

    _args = ("amount", "banding", "band_px", "streaks", "streak_px")

    def __init__(self, amount: float = 0.3, banding: float = 0.0, band_px: float = 6.0,
                 streaks: Sequence[float] = (), streak_px: int = 1, p: float = 1.0):
        super().__init__(p=p)
        self.amount, self.banding, self.band_px = amount, banding, band_px
        self.streaks, self.streak_px = tuple(streaks), streak_px

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        regions = _unit(_smooth_field(rng, (h, w), max(8, w // 3)), 0.35)
        bands = _unit(_smooth_field(rng, (h, 1), max(2, int(round(self.band_px)))), 0.4)
        fade = (1.0 - self.banding) * regions + self.banding * bands
        keep = (1.0 - self.amount * fade).astype(np.float32)
        for x in self.streaks:
            x0 = min(w - 1, int(x * w))
            keep[:, x0:x0 + self.streak_px] *= STREAK_KEEP
        return {"keep": keep}

    def apply(self, img: np.ndarray, keep: np.ndarray, **params: Any) -> np.ndarray:
        return 255 - _multiply(255 - img, keep)  # numpy: cv2.subtract(255, rgb) would spare green and blue


class Crease(_Fixed, ImageOnlyTransform):
    """Fold and crumple lines: each of `lines` ([x, y, angle, side, core] - a point the line passes
    through as fractions of the page, its direction in degrees, which side is shaded (+1/-1), and
    whether the fold itself is a light crack in the coating (+1) or a dark line (-1)) shades one
    side over `width` pixels by up to `strength`, lights the other a little, and marks the fold.

    A line's effect depends only on the distance across it, so it is drawn as a 1-D profile laid
    over the page by one affine warp (not a dozen full-page array passes)."""

    _args = ("lines", "strength", "width")
    STEP = 0.125  # pixels of distance between profile samples

    def __init__(self, lines: Sequence[Sequence[float]] = (), strength: float = 0.15, width: float = 8.0,
                 p: float = 1.0):
        super().__init__(p=p)
        self.lines, self.strength, self.width = tuple(tuple(line) for line in lines), strength, width

    def _profiles(self, side: float, core: float) -> tuple[np.ndarray, np.ndarray, float]:
        """(gain, lift) across the line, sampled every STEP pixels over +-reach, and the reach."""
        sigma = max(0.6, self.width / 10.0)  # the fold itself
        reach = self.width + 4.0 * sigma
        d = np.arange(-reach, reach + self.STEP / 2, self.STEP, dtype=np.float32)
        near = np.clip(1.0 - np.abs(d) / self.width, 0.0, 1.0) ** 2
        gain = np.where(d * side > 0, 1.0 - self.strength * near, 1.0 + 0.4 * self.strength * near)
        ridge = np.exp(-(d * d) / (2.0 * sigma ** 2))
        lift = 0.6 * ridge if core > 0 else np.zeros_like(d)  # the coating cracked: the ink is gone
        if core <= 0:
            gain *= 1.0 - 1.5 * self.strength * ridge
        return gain.astype(np.float32), lift.astype(np.float32), reach

    def _laid(self, profile: np.ndarray, line: Sequence[float], reach: float, shape: tuple[int, int]) -> np.ndarray:
        """The profile over the page: pixel (i, j) reads the profile at its distance from the line."""
        h, w = shape
        x, y, angle = line[:3]
        a = np.deg2rad(angle)
        nx, ny = -np.sin(a) / self.STEP, np.cos(a) / self.STEP
        # distance of pixel centre (j + 0.5, i + 0.5) from the line, in profile rows
        to_row = np.array([[0, 0, 0], [nx, ny, (0.5 - x * w) * nx + (0.5 - y * h) * ny + reach / self.STEP]])
        return cv2.warpAffine(np.repeat(profile[:, None], 2, axis=1), to_row, (w, h),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        shape = img.shape[:2]
        gain, lift = np.ones(shape, dtype=np.float32), None
        for line in self.lines:
            gain_profile, lift_profile, reach = self._profiles(line[3], line[4])
            gain *= self._laid(gain_profile, line, reach, shape)
            if line[4] > 0:
                laid = self._laid(lift_profile, line, reach, shape)
                lift = laid if lift is None else np.maximum(lift, laid)
        out = img if lift is None else 255 - _multiply(255 - img, 1.0 - lift)
        return _multiply(out, gain)


class ScanBed(_Fixed, DualTransform):
    """The slip placed on a larger canvas: zoomed by `zoom`, its corners pulled by `corners` (dx0,
    dy0, ... as fractions of its size, tl tr br bl: the camera's keystone), rotated by `angle`
    degrees, and put where it covers `width_share` x `height_share` of the canvas (its placed
    bounding box), at `x`, `y` (0..1) across the free space. The canvas is a scanner bed or a table
    (`bed`) of `color` with smooth `texture` (a table's grain runs along `grain`), and the slip
    casts a `shadow` blurred over `shadow_px` pixels."""

    _args = ("zoom", "corners", "angle", "width_share", "height_share", "x", "y", "bed", "color", "texture",
             "grain", "shadow", "shadow_px")

    def __init__(self, zoom: float = 1.0, corners: Sequence[float] = (0.0,) * 8, angle: float = 0.0,
                 width_share: float = 1.0, height_share: float = 1.0, x: float = 0.5, y: float = 0.5,
                 bed: str = "scanner", color: Sequence[int] = (235, 235, 235), texture: float = 0.0,
                 grain: str = "x", shadow: float = 0.0, shadow_px: float = 3.0, p: float = 1.0):
        super().__init__(p=p)
        self.zoom, self.corners, self.angle = zoom, tuple(corners), angle
        self.width_share, self.height_share, self.x, self.y = width_share, height_share, x, y
        self.bed, self.color, self.texture, self.grain = bed, tuple(color), texture, grain
        self.shadow, self.shadow_px = shadow, shadow_px

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        matrix, size = bed_matrix(w, h, self.zoom, self.corners, self.angle, self.width_share, self.height_share,
                                  self.x, self.y)
        return {"matrix": matrix, "size": size, "background": self._background(size)}

    def _background(self, size: tuple[int, int]) -> np.ndarray:
        """The bed, drawn at half resolution (it is smooth) and scaled up."""
        width, height = size
        small = (max(2, (height + 1) // 2), max(2, (width + 1) // 2))
        rng = self.random_generator
        gain = 1.0 + self.texture * _smooth_field(rng, small, 48)
        if self.bed == "table":  # wood-like grain: long thin streaks over a fainter mottle
            cells = (2, 120) if self.grain == "x" else (120, 2)
            gain *= 0.5
            gain += 0.5 + 0.8 * self.texture * _stretched_field(rng, small, *cells)
        base = np.empty((*small, 3), dtype=np.uint8)
        base[:] = np.asarray(self.color, dtype=np.uint8)
        return cv2.resize(_multiply(base, gain.astype(np.float32)), (width, height), interpolation=cv2.INTER_LINEAR)

    def apply(self, img: np.ndarray, matrix: np.ndarray, size: tuple[int, int], background: np.ndarray,
              **params: Any) -> np.ndarray:
        out = background.copy()
        # Only the slip's box and its shadow change the bed: warp and blend there alone.
        x0, y0, x1, y1 = _reach(img.shape[:2], matrix, size, 2 + self.shadow_px * 5)
        move = np.eye(3)
        move[:2, 2] = (-x0, -y0)
        centre = _edge_to_centre(move @ matrix)
        rgb = img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        slip = cv2.warpPerspective(rgb, centre, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
        mask = cv2.warpPerspective(np.full(img.shape[:2], 255, dtype=np.uint8), centre, (x1 - x0, y1 - y0),
                                   flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        alpha = mask.astype(np.float32) * (1.0 / 255.0)
        under = out[y0:y1, x0:x1]
        if self.shadow > 0:  # light from the top left: the shadow falls down and right
            shift = max(1, int(round(self.shadow_px)))
            cast = np.zeros_like(alpha)
            cast[shift:, shift:] = alpha[:-shift, :-shift]
            under = _multiply(under, 1.0 - self.shadow * cv2.GaussianBlur(cast, (0, 0), self.shadow_px))
        out[y0:y1, x0:x1] = cv2.blendLinear(slip, under, alpha, 1.0 - alpha)
        return out if img.ndim == 3 else cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)

    def apply_to_keypoints(self, keypoints: np.ndarray, matrix: np.ndarray, **params: Any) -> np.ndarray:
        out = keypoints.copy()
        pts = keypoints[:, :2].astype(np.float64)
        out[:, :2] = cv2.perspectiveTransform(pts[None], matrix)[0]
        return out


def _reach(shape: tuple[int, int], matrix: np.ndarray, size: tuple[int, int], margin: float) -> tuple[int, ...]:
    """(x0, y0, x1, y1): the placed slip's bounding box grown by `margin`, within the canvas."""
    h, w = shape
    ends = cv2.perspectiveTransform(np.array([[[0, 0], [w, 0], [w, h], [0, h]]], dtype=np.float64), matrix)[0]
    lo = np.maximum(np.floor(ends.min(axis=0) - margin), 0).astype(int)
    hi = np.minimum(np.ceil(ends.max(axis=0) + margin), size).astype(int)
    return int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])


def bed_matrix(w: int, h: int, zoom: float, corners: Sequence[float], angle: float, width_share: float,
               height_share: float, x: float, y: float) -> tuple[np.ndarray, tuple[int, int]]:
    """(the 3x3 homography in edge coordinates that puts a w x h slip on the canvas, the canvas's
    (width, height)). The canvas is sized so the placed slip's bounding box covers the shares."""
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    pull = np.asarray(corners, dtype=np.float64).reshape(4, 2) * (w, h)
    keystone = cv2.getPerspectiveTransform(src, (src + pull).astype(np.float32))
    a = np.deg2rad(angle)
    rotate = np.array([[np.cos(a), np.sin(a), 0], [-np.sin(a), np.cos(a), 0], [0, 0, 1]])
    placed = rotate @ np.diag([zoom, zoom, 1.0]) @ keystone
    ends = cv2.perspectiveTransform(src.astype(np.float64)[None], placed)[0]
    lo, hi = ends.min(axis=0), ends.max(axis=0)
    box_w, box_h = hi - lo
    width = max(int(np.ceil(box_w)), int(round(box_w / width_share)))
    height = max(int(np.ceil(box_h)), int(round(box_h / height_share)))
    move = np.eye(3)
    move[:2, 2] = (x * (width - box_w) - lo[0], y * (height - box_h) - lo[1])
    return move @ placed, (width, height)


def _edge_to_centre(matrix: np.ndarray) -> np.ndarray:
    """The same homography for pixel-centre coordinates (what OpenCV's warps address)."""
    to_edge, to_centre = np.eye(3), np.eye(3)
    to_edge[:2, 2], to_centre[:2, 2] = 0.5, -0.5
    return to_centre @ matrix @ to_edge
