"""Scan-like transforms written as albumentations transforms, for what albumentations lacks or does
slowly on a whole page (its Defocus always convolves a 17x17 kernel, ISONoise and the plasma
transforms cost 100-250 ms on an A4 page at 120 dpi).

Each takes its strengths as fixed constructor values (the sampling happens in `transforms.py`, so
the record stores every value); the only randomness left inside (noise maps, paper fibres) comes
from the Compose's seeded `random_generator`, whose seed the record stores too.

Keypoints are box corners in *edge* coordinates (pixel i spans [i, i+1)); OpenCV warps address
pixel centres, hence the half-pixel shifts in `PageWarp`.
"""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np
from albumentations.core.transforms_interface import DualTransform, ImageOnlyTransform


def _per_channel(field: np.ndarray, img: np.ndarray) -> np.ndarray:
    return cv2.merge([field] * img.shape[2]) if img.ndim == 3 else field


def _add(img: np.ndarray, field: np.ndarray) -> np.ndarray:
    """img + field (float32, HxW or like img), rounded and saturated: OpenCV, ~3x numpy's speed."""
    return cv2.add(img, field if field.ndim == img.ndim else _per_channel(field, img), dtype=cv2.CV_8U)


def _multiply(img: np.ndarray, gain: np.ndarray) -> np.ndarray:
    return cv2.multiply(img, gain if gain.ndim == img.ndim else _per_channel(gain, img), dtype=cv2.CV_8U)


_BANK_CHUNK = 1 << 20
_bank = np.zeros(0, dtype=np.float32)


def _gaussian(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal noise of `shape` (read-only): a window, at an offset drawn from `rng`, of a
    fixed bank of samples that grows in seeded chunks. Drawing 1.4 M fresh normals costs ~15 ms a
    page; a window costs nothing, and a window of iid normals is iid normal. The offset range
    depends only on the size asked for, so the same seed gives the same noise in every process."""
    global _bank
    n = int(np.prod(shape))
    chunks = -(-(n + _BANK_CHUNK) // _BANK_CHUNK)
    if _bank.size < chunks * _BANK_CHUNK:
        more = [np.random.default_rng([0x5EED, i]).standard_normal(_BANK_CHUNK, dtype=np.float32)
                for i in range(_bank.size // _BANK_CHUNK, chunks)]
        _bank = np.concatenate([_bank, *more])
        _bank.flags.writeable = False
    start = int(rng.integers(0, chunks * _BANK_CHUNK - n + 1))
    return _bank[start:start + n].reshape(shape)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], cell: int) -> np.ndarray:
    """Unit-variance noise with features about `cell` pixels wide (low-res noise, upsampled)."""
    h, w = shape
    small = _gaussian(rng, (h // cell + 2, w // cell + 2))
    field = cv2.resize(small, (w + 2 * cell, h + 2 * cell), interpolation=cv2.INTER_CUBIC)[cell:cell + h, cell:cell + w]
    return field * (1.0 / max(float(field[::3, ::3].std()), 1e-6))  # the std of a subsample: one pass less


class _Fixed:
    """Constructor arguments are the transform's values; repr/serialization list them."""

    _args: tuple[str, ...] = ()

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return self._args


class PageWarp(_Fixed, DualTransform):
    """Rotation, scale and shear about the page centre, then a perspective pull of the four page
    corners (`corners`: dx0, dy0, ... dx3, dy3 as fractions of width/height, tl tr br bl): one
    homography, one resampling, the same matrix for pixels and keypoints."""

    _args = ("angle", "scale", "shear", "corners", "border")

    def __init__(self, angle: float = 0.0, scale: float = 1.0, shear: float = 0.0,
                 corners: Sequence[float] = (0.0,) * 8, border: float = 255, p: float = 1.0):
        super().__init__(p=p)
        self.angle, self.scale, self.shear, self.border = angle, scale, shear, border
        self.corners = tuple(corners)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        return {"matrix": page_matrix(w, h, self.angle, self.scale, self.shear, self.corners)}

    def apply(self, img: np.ndarray, matrix: np.ndarray, **params: Any) -> np.ndarray:
        h, w = img.shape[:2]
        return cv2.warpPerspective(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                   borderValue=(self.border,) * 3)

    def apply_to_keypoints(self, keypoints: np.ndarray, matrix: np.ndarray, **params: Any) -> np.ndarray:
        out = keypoints.copy()
        pts = keypoints[:, :2].astype(np.float64) - 0.5  # edge -> centre coordinates
        out[:, :2] = cv2.perspectiveTransform(pts[None], matrix)[0] + 0.5
        return out


def page_matrix(w: int, h: int, angle: float, scale: float, shear: float, corners: Sequence[float]) -> np.ndarray:
    """The 3x3 homography (pixel-centre coordinates) that PageWarp applies."""
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    a, s = np.deg2rad(angle), np.tan(np.deg2rad(shear))
    rotate = np.array([[np.cos(a), np.sin(a), 0], [-np.sin(a), np.cos(a), 0], [0, 0, 1]])
    shear_m = np.array([[1, s, 0], [0, 1, 0], [0, 0, 1]])
    centre, back = np.eye(3), np.eye(3)
    centre[:2, 2], back[:2, 2] = (-cx, -cy), (cx, cy)
    affine = back @ rotate @ np.diag([scale, scale, 1.0]) @ shear_m @ centre
    src = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float32)
    pull = np.asarray(corners, dtype=np.float64).reshape(4, 2) * (w, h)
    persp = cv2.getPerspectiveTransform(src, (src + pull).astype(np.float32))
    return persp @ affine


class InkSpread(_Fixed, ImageOnlyTransform):
    """Ink bleed (dark strokes grow: a 3x3 cross min-filter) or thinning (they shrink: max-filter),
    blended by `amount` so the strength is continuous. The cross kernel is symmetric: strokes
    grow evenly and never shift off their boxes."""

    _args = ("op", "amount")
    _kernel = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))

    def __init__(self, op: str = "bleed", amount: float = 0.5, p: float = 1.0):
        super().__init__(p=p)
        self.op, self.amount = op, amount

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        spread = cv2.erode(img, self._kernel) if self.op == "bleed" else cv2.dilate(img, self._kernel)
        return cv2.addWeighted(spread, self.amount, img, 1.0 - self.amount, 0)


class PaperTexture(_Fixed, ImageOnlyTransform):
    """Tinted paper with low-frequency mottling and fine grain, multiplied in (ink stays dark)."""

    _args = ("color", "mottle", "grain")

    def __init__(self, color: Sequence[float] = (1.0, 1.0, 1.0), mottle: float = 0.0, grain: float = 0.0, p: float = 1.0):
        super().__init__(p=p)
        self.color, self.mottle, self.grain = tuple(color), mottle, grain

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        gain = 1.0 + self.mottle * _smooth_field(rng, (h, w), 48)
        if self.grain > 0:
            gain += self.grain * _smooth_field(rng, (h, w), 2)
        return {"gain": gain}

    def apply(self, img: np.ndarray, gain: np.ndarray, **params: Any) -> np.ndarray:
        out = _multiply(img, gain)
        color = np.asarray(self.color if img.ndim == 3 else [np.mean(self.color)], dtype=np.float64)
        tint = np.clip(np.round(np.arange(256)[:, None] * color[None, :]), 0, 255).astype(np.uint8)
        return cv2.LUT(out, tint.reshape(256, 1, -1)) if img.ndim == 3 else cv2.LUT(out, tint[:, 0])


class SoftShadow(_Fixed, ImageOnlyTransform):
    """A smooth shadow falling across the page from one side (a hand, a phone, a book fold):
    darkening up to `intensity` over the last `extent` of the page in direction `angle`."""

    _args = ("intensity", "angle", "extent")

    def __init__(self, intensity: float = 0.3, angle: float = 0.0, extent: float = 0.5, p: float = 1.0):
        super().__init__(p=p)
        self.intensity, self.angle, self.extent = intensity, angle, extent

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        h, w = img.shape[:2]
        sh, sw = max(2, h // 8), max(2, w // 8)
        ys, xs = np.mgrid[0:sh, 0:sw].astype(np.float32)
        a = np.deg2rad(self.angle)
        t = (xs / (sw - 1) - 0.5) * np.cos(a) + (ys / (sh - 1) - 0.5) * np.sin(a)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)  # 0 .. 1 along the direction
        ramp = np.clip((t - (1.0 - self.extent)) / max(self.extent, 1e-6), 0, 1)
        gain = 1.0 - self.intensity * ramp * ramp * (3 - 2 * ramp)  # smoothstep
        return _multiply(img, cv2.resize(gain, (w, h), interpolation=cv2.INTER_LINEAR))


class DefocusBlur(_Fixed, ImageOnlyTransform):
    """Out-of-focus blur: an anti-aliased disk kernel of `radius` pixels, no larger than it needs."""

    _args = ("radius",)

    def __init__(self, radius: float = 1.0, p: float = 1.0):
        super().__init__(p=p)
        self.radius = radius

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return cv2.filter2D(img, -1, disk_kernel(self.radius), borderType=cv2.BORDER_REPLICATE)


def disk_kernel(radius: float, supersample: int = 8) -> np.ndarray:
    half = int(np.ceil(radius))
    n = (2 * half + 1) * supersample
    coords = (np.arange(n) + 0.5) / supersample - (half + 0.5)
    inside = (coords[None, :] ** 2 + coords[:, None] ** 2) <= radius ** 2
    kernel = inside.reshape(2 * half + 1, supersample, 2 * half + 1, supersample).mean(axis=(1, 3)).astype(np.float32)
    return kernel / kernel.sum()


class GaussianNoise(_Fixed, ImageOnlyTransform):
    """Additive Gaussian noise, the same in every channel (a grey-level sensor), `std` of 255."""

    _args = ("std",)

    def __init__(self, std: float = 0.02, p: float = 1.0):
        super().__init__(p=p)
        self.std = std

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        return {"noise": _gaussian(self.random_generator, (h, w))}

    def apply(self, img: np.ndarray, noise: np.ndarray, **params: Any) -> np.ndarray:
        return _add(img, noise * (self.std * 255.0))


class IsoNoise(_Fixed, ImageOnlyTransform):
    """Camera-sensor noise: luminance noise that grows with brightness (shot noise, std
    `intensity` of 255 on white paper) plus coarser colour noise (`color`)."""

    _args = ("intensity", "color")

    def __init__(self, intensity: float = 0.03, color: float = 0.01, p: float = 1.0):
        super().__init__(p=p)
        self.intensity, self.color = intensity, color

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        return {"luma": _gaussian(rng, (h, w)), "chroma": _gaussian(rng, (h // 2 + 1, w // 2 + 1, 3))}

    def apply(self, img: np.ndarray, luma: np.ndarray, chroma: np.ndarray, **params: Any) -> np.ndarray:
        h, w = img.shape[:2]
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
        noise = cv2.LUT(gray, _SQRT_LEVEL)  # shot noise grows with the square root of the light
        noise *= luma
        noise *= self.intensity * 255.0
        if img.ndim != 3 or self.color <= 0:
            return _add(img, noise)
        colour = cv2.resize(chroma * (self.color * 255.0), (w, h), interpolation=cv2.INTER_NEAREST)
        colour += noise[..., None]
        return _add(img, colour)


_SQRT_LEVEL = np.sqrt(np.arange(256, dtype=np.float32) / 255.0)


class SaltPepper(_Fixed, ImageOnlyTransform):
    """Isolated white and black pixels (dust, sensor defects): `amount` of all pixels."""

    _args = ("amount",)

    def __init__(self, amount: float = 0.001, p: float = 1.0):
        super().__init__(p=p)
        self.amount = amount

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        h, w = params["shape"][:2]
        rng = self.random_generator
        n = int(round(self.amount * h * w))
        return {"where": rng.integers(0, h * w, size=n), "salt": rng.random(n) < 0.5}

    def apply(self, img: np.ndarray, where: np.ndarray, salt: np.ndarray, **params: Any) -> np.ndarray:
        out = img.copy()
        flat = out.reshape(img.shape[0] * img.shape[1], -1)  # one row per pixel, a view of `out`
        flat[where] = np.where(salt, 255, 0).astype(np.uint8)[:, None]
        return out
