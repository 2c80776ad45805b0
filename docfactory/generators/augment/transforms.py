"""The transform kinds: each declares its parameters (hard bounds, the value that leaves the page
unchanged, a default span), samples concrete values from a preset's spans, and builds the
albumentations transform that applies exactly those values.

Sampling happens here, not inside albumentations, so the record stores every value that shaped
the image (`{"kind": "gaussian_blur", "sigma": 0.62}`) and `build` rebuilds it from them alone.
Pixel-sized values are given at 120 dpi and scaled to the page's dpi when sampled.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, ClassVar

import albumentations as A
import cv2

from docfactory.generators.augment import ops, thermal

REFERENCE_DPI = 120
# Paper colours a tint moves towards (cream, grey, bluish recycled, yellowed).
PAPER_COLORS = ((1.0, 0.96, 0.86), (0.93, 0.93, 0.93), (0.92, 0.95, 1.0), (1.0, 0.93, 0.74))
# Tables a slip is photographed on (RGB): light and dark wood, grey and dark laminate, a blue-grey desk.
TABLE_COLORS = ((150, 108, 70), (96, 64, 42), (128, 128, 126), (52, 52, 56), (98, 108, 122))


@dataclass(frozen=True)
class Param:
    lo: float  # hard bounds a span must stay within
    hi: float
    identity: float  # the value at which this parameter leaves the page unchanged
    default: tuple[float, float]
    doc: str
    integer: bool = False
    signed: bool = False  # the span is of magnitudes; the sign is drawn at random
    pixels: bool = False  # given at 120 dpi; scaled to the page's dpi


@dataclass(frozen=True)
class Context:
    width: int
    height: int
    dpi: int
    strength: float = 1.0  # the mining loop's multiplier: values move away from identity by this factor

    @property
    def px(self) -> float:
        return self.dpi / REFERENCE_DPI


class TransformKind:
    kind: ClassVar[str]
    group: ClassVar[str]  # geometric | photometric | encode
    params: ClassVar[dict[str, Param]]
    # Kinds sharing an `exclusive` name never stack (blurs compound into mush; a warp on top of a
    # slip on its bed would uncover flat corners): the first in ORDER that fires wins, the others
    # are skipped for that sample.
    exclusive: ClassVar[str | None] = None

    def sample(self, spans: dict[str, tuple[float, float]], rng: random.Random, ctx: Context) -> dict[str, Any]:
        values: dict[str, Any] = {"kind": self.kind}
        for name, param in self.params.items():
            values[name] = draw(param, spans[name], rng, ctx)
        return values

    def build(self, values: dict[str, Any]) -> A.BasicTransform:
        raise NotImplementedError


def draw(param: Param, span: tuple[float, float], rng: random.Random, ctx: Context) -> float | int:
    """A value from `span`, moved away from identity by ctx.strength, kept within the bounds, then
    signed (signed params) and scaled to the page's dpi (pixel params)."""
    value = rng.uniform(*span)
    sign = -1.0 if param.signed and rng.random() < 0.5 else 1.0
    value = min(max(param.identity + (value - param.identity) * ctx.strength, param.lo), param.hi)
    value *= sign * (ctx.px if param.pixels else 1.0)
    return int(round(value)) if param.integer else round(value, 4)


class ThermalFadeKind(TransformKind):
    kind, group = "thermal_fade", "photometric"
    params = {
        "amount": Param(0, 0.95, 0, (0.2, 0.5), "largest share of the ink's darkness lost where the print fades most"),
        "banding": Param(0, 1, 0, (0.0, 0.3), "share of the fade that varies band by band (the print head)"),
        "band": Param(2, 40, 2, (4, 10), "height of a print-head band in pixels (at 120 dpi)", pixels=True),
        "streaks": Param(0, 8, 0, (0, 1), "dead print-head dots: thin vertical lines with no ink", integer=True),
    }

    def sample(self, spans, rng, ctx):
        values = super().sample(spans, rng, ctx)
        values["streaks"] = [round(rng.uniform(0.05, 0.95), 4) for _ in range(values["streaks"])]
        values["streak_px"] = max(1, int(round(ctx.px)))
        return values

    def build(self, v):
        return thermal.ThermalFade(amount=v["amount"], banding=v["banding"], band_px=v["band"],
                                   streaks=v["streaks"], streak_px=v["streak_px"])


class Paper(TransformKind):
    kind, group = "paper", "photometric"
    params = {
        "tint": Param(0, 1, 0, (0.0, 0.3), "how far the paper colour moves from white towards a paper tone"),
        "mottle": Param(0, 0.3, 0, (0.0, 0.03), "low-frequency brightness variation (std, fraction)"),
        "grain": Param(0, 0.3, 0, (0.0, 0.02), "fine fibre grain (std, fraction)"),
    }

    def sample(self, spans, rng, ctx):
        values = super().sample(spans, rng, ctx)
        tone = PAPER_COLORS[rng.randrange(len(PAPER_COLORS))]
        values["color"] = [round(1.0 - values["tint"] * (1.0 - c), 4) for c in tone]
        return values

    def build(self, v):
        return ops.PaperTexture(color=v["color"], mottle=v["mottle"], grain=v["grain"])


class Ink(TransformKind):
    kind, group = "ink", "photometric"
    params = {
        "bleed": Param(0, 1, 0, (0.5, 0.5), "probability that ink bleeds (thicker strokes) rather than thins"),
        "amount": Param(0, 1, 0, (0.2, 0.5), "blend of the spread strokes (0 none, 1 a full 3x3 cross)"),
    }

    def sample(self, spans, rng, ctx):
        bleed = rng.random() < rng.uniform(*spans["bleed"])
        return {"kind": self.kind, "op": "bleed" if bleed else "thin", "amount": draw(self.params["amount"], spans["amount"], rng, ctx)}

    def build(self, v):
        return ops.InkSpread(op=v["op"], amount=v["amount"])


class CreaseKind(TransformKind):
    kind, group = "crease", "photometric"
    params = {
        "count": Param(0, 6, 0, (1, 2), "fold or crumple lines across the page", integer=True),
        "strength": Param(0, 0.6, 0, (0.08, 0.2), "darkening of the shaded side at the fold"),
        "width": Param(1, 60, 1, (4, 14), "width of a fold's shading in pixels (at 120 dpi)", pixels=True),
    }

    def sample(self, spans, rng, ctx):
        values = super().sample(spans, rng, ctx)
        lines = []
        for _ in range(values.pop("count")):
            # Slips are mostly folded across; a crumple runs any way.
            angle = rng.uniform(-15, 15) if rng.random() < 0.7 else rng.uniform(-90, 90)
            lines.append([round(rng.uniform(0.1, 0.9), 4), round(rng.uniform(0.08, 0.92), 4), round(angle, 2),
                          rng.choice((-1, 1)), rng.choice((-1, 1))])
        values["lines"] = lines
        return values

    def build(self, v):
        return thermal.Crease(lines=v["lines"], strength=v["strength"], width=v["width"])


class ScanBedKind(TransformKind):
    kind, group = "scan_bed", "geometric"
    exclusive = "placement"
    params = {
        "width_share": Param(0.2, 1, 1, (0.35, 0.9), "the placed slip's width as a share of the canvas's"),
        "height_share": Param(0.2, 1, 1, (0.55, 0.95), "the placed slip's height as a share of the canvas's"),
        "x": Param(0, 1, 0.5, (0.0, 1.0), "where the slip lies across the free width (0 left, 1 right)"),
        "y": Param(0, 1, 0.5, (0.0, 1.0), "where the slip lies down the free height (0 top, 1 bottom)"),
        "angle": Param(0, 10, 0, (0.0, 4.0), "rotation of the slip in degrees", signed=True),
        "zoom": Param(0.5, 2, 1, (1.0, 1.0), "the slip's scale on the canvas (1: its own pixels)"),
        "perspective": Param(0, 0.1, 0, (0.0, 0.01), "largest pull of a slip corner, fraction of the slip (camera tilt)"),
        "table": Param(0, 1, 0, (0.5, 0.5), "probability the slip lies on a table rather than a scanner bed"),
        "texture": Param(0, 0.3, 0, (0.02, 0.08), "table texture (std, fraction); a scanner lid gets an eighth"),
        "shadow": Param(0, 1, 0, (0.15, 0.4), "darkness of the slip's drop shadow on the bed"),
    }

    def sample(self, spans, rng, ctx):
        values = super().sample(spans, rng, ctx)
        pull = values.pop("perspective")
        values["corners"] = [round(rng.uniform(-pull, pull), 5) for _ in range(8)]
        on_table = rng.random() < values.pop("table")
        if on_table:
            base = TABLE_COLORS[rng.randrange(len(TABLE_COLORS))]
            light = rng.uniform(0.8, 1.15)  # one lighting for all channels, a little hue drift each
            values["color"] = [min(255, int(round(c * light * rng.uniform(0.95, 1.05)))) for c in base]
            values["grain"] = rng.choice(("x", "y"))
        else:
            level = rng.uniform(200, 250)
            values["color"] = [min(255, int(round(level + rng.uniform(-4, 4)))) for _ in range(3)]
            values["grain"] = "x"
            values["texture"] = round(values["texture"] / 8, 4)
        values["bed"] = "table" if on_table else "scanner"
        values["shadow_px"] = round(3.0 * ctx.px, 2)
        return values

    def build(self, v):
        return thermal.ScanBed(zoom=v["zoom"], corners=v["corners"], angle=v["angle"], width_share=v["width_share"],
                               height_share=v["height_share"], x=v["x"], y=v["y"], bed=v["bed"], color=v["color"],
                               texture=v["texture"], grain=v["grain"], shadow=v["shadow"], shadow_px=v["shadow_px"])


class PageWarpKind(TransformKind):
    kind, group = "page_warp", "geometric"
    exclusive = "placement"
    params = {
        "angle": Param(0, 10, 0, (0.0, 1.0), "rotation in degrees", signed=True),
        "scale": Param(0.8, 1.2, 1, (0.98, 1.02), "zoom about the page centre"),
        "shear": Param(0, 10, 0, (0.0, 0.5), "horizontal shear in degrees", signed=True),
        "perspective": Param(0, 0.1, 0, (0.0, 0.01), "largest pull of a page corner, fraction of the page"),
        "border": Param(0, 255, 255, (255, 255), "grey level uncovered by the warp (the scanner lid)", integer=True),
    }

    def sample(self, spans, rng, ctx):
        values = super().sample(spans, rng, ctx)
        pull = values.pop("perspective")
        values["corners"] = [round(rng.uniform(-pull, pull), 5) for _ in range(8)]
        return values

    def build(self, v):
        return ops.PageWarp(angle=v["angle"], scale=v["scale"], shear=v["shear"], corners=v["corners"], border=v["border"])


class CropPad(TransformKind):
    kind, group = "crop_pad", "geometric"
    params = {
        "crop": Param(0, 0.3, 0, (0.0, 0.02), "largest crop of a side, fraction of the page"),
        "pad": Param(0, 0.3, 0, (0.0, 0.03), "largest pad of a side, fraction of the page"),
        "border": Param(0, 255, 255, (255, 255), "grey level of the padding", integer=True),
    }

    def sample(self, spans, rng, ctx):
        crop, pad = (draw(self.params[k], spans[k], rng, ctx) for k in ("crop", "pad"))
        sides = {}
        for side, size in (("top", ctx.height), ("right", ctx.width), ("bottom", ctx.height), ("left", ctx.width)):
            sides[side] = int(round(rng.uniform(-crop, pad) * size))  # negative: cropped
        return {"kind": self.kind, **sides, "border": draw(self.params["border"], spans["border"], rng, ctx)}

    def build(self, v):
        return A.CropAndPad(px=(v["top"], v["right"], v["bottom"], v["left"]), keep_size=False,
                            sample_independently=False, fill=v["border"], border_mode=cv2.BORDER_CONSTANT, p=1.0)


class Shadow(TransformKind):
    kind, group = "shadow", "photometric"
    params = {
        "intensity": Param(0, 0.9, 0, (0.1, 0.3), "darkening at the shadow's deepest"),
        "extent": Param(0.05, 1, 0.05, (0.2, 0.6), "share of the page the shadow covers"),
        "angle": Param(0, 360, 0, (0, 360), "direction the shadow falls from, degrees"),
    }

    def build(self, v):
        return ops.SoftShadow(intensity=v["intensity"], angle=v["angle"], extent=v["extent"])


class GaussianBlur(TransformKind):
    kind, group = "gaussian_blur", "photometric"
    exclusive = "blur"
    params = {"sigma": Param(0, 4, 0, (0.3, 0.7), "blur sigma in pixels (at 120 dpi)", pixels=True)}

    def build(self, v):
        return A.GaussianBlur(blur_limit=0, sigma_limit=(v["sigma"], v["sigma"]), p=1.0)


class MotionBlur(TransformKind):
    kind, group = "motion_blur", "photometric"
    exclusive = "blur"
    params = {
        "length": Param(3, 15, 3, (3, 3), "kernel length in pixels (odd, at 120 dpi)", integer=True, pixels=True),
        "angle": Param(0, 180, 0, (0, 180), "direction of motion, degrees"),
    }

    def sample(self, spans, rng, ctx):
        values = super().sample(spans, rng, ctx)
        values["length"] = max(3, values["length"] | 1)  # odd: a centred kernel
        return values

    def build(self, v):
        # allow_shifted=False keeps the kernel centred, so the text never moves off its boxes.
        return A.MotionBlur(blur_limit=(v["length"], v["length"]), angle_range=(v["angle"], v["angle"]),
                            direction_range=(0.0, 0.0), allow_shifted=False, p=1.0)


class Defocus(TransformKind):
    kind, group = "defocus", "photometric"
    exclusive = "blur"
    params = {"radius": Param(0, 6, 0, (0.8, 1.2), "disk radius in pixels (at 120 dpi)", pixels=True)}

    def build(self, v):
        return ops.DefocusBlur(radius=v["radius"])


class Downscale(TransformKind):
    kind, group = "downscale", "photometric"
    params = {"scale": Param(0.25, 1, 1, (0.7, 0.9), "scanned at this fraction of the resolution, then upscaled")}

    def build(self, v):
        return A.Downscale(scale_range=(v["scale"], v["scale"]), p=1.0,
                           interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_LINEAR})


class GaussNoise(TransformKind):
    kind, group = "gauss_noise", "photometric"
    exclusive = "noise"
    params = {"std": Param(0, 0.5, 0, (0.01, 0.03), "noise std, fraction of 255")}

    def build(self, v):
        return ops.GaussianNoise(std=v["std"])


class IsoNoise(TransformKind):
    kind, group = "iso_noise", "photometric"
    exclusive = "noise"
    params = {
        "intensity": Param(0, 0.5, 0, (0.01, 0.04), "luminance noise std on white, fraction of 255"),
        "color": Param(0, 0.2, 0, (0.0, 0.01), "colour noise std, fraction of 255"),
    }

    def build(self, v):
        return ops.IsoNoise(intensity=v["intensity"], color=v["color"])


class SaltPepperKind(TransformKind):
    kind, group = "salt_pepper", "photometric"
    params = {"amount": Param(0, 0.1, 0, (0.0005, 0.002), "share of pixels set to black or white")}

    def build(self, v):
        return ops.SaltPepper(amount=v["amount"])


class BrightnessContrast(TransformKind):
    kind, group = "brightness_contrast", "photometric"
    params = {
        "brightness": Param(-0.5, 0.5, 0, (-0.05, 0.05), "added brightness, fraction of 255"),
        "contrast": Param(-0.8, 0.5, 0, (-0.2, 0.05), "contrast change about white paper (-0.3: ink fades 30%)"),
    }

    def build(self, v):
        # albumentations scales about 0 (img * (1 + c) + b): shifting by -c keeps white paper white,
        # so a lower contrast fades the ink instead of greying the paper.
        b = v["brightness"] - v["contrast"]
        return A.RandomBrightnessContrast(brightness_limit=(b, b), contrast_limit=(v["contrast"], v["contrast"]),
                                          brightness_by_max=True, p=1.0)


class Gamma(TransformKind):
    kind, group = "gamma", "photometric"
    params = {"gamma": Param(0.3, 3, 1, (0.85, 1.2), "gamma (>1 darkens mid-tones, <1 lightens them)")}

    def build(self, v):
        g = v["gamma"] * 100.0
        return A.RandomGamma(gamma_limit=(g, g), p=1.0)


class Jpeg(TransformKind):
    """The last step: the page is stored as a JPEG of this quality (what scanners and phones
    write), so the compression is both a degradation and the storage format; no PNG of noise."""

    kind, group = "jpeg", "encode"
    params = {"quality": Param(5, 100, 100, (75, 95), "JPEG quality", integer=True)}

    def build(self, v):
        raise TypeError("jpeg is the encoding step, not a pixel transform")


KINDS: dict[str, TransformKind] = {k.kind: k() for k in (
    ThermalFadeKind, Paper, Ink, CreaseKind, ScanBedKind, PageWarpKind, CropPad, Shadow, GaussianBlur, MotionBlur,
    Defocus, Downscale, GaussNoise, IsoNoise, SaltPepperKind, BrightnessContrast, Gamma, Jpeg,
)}
# Applied in this order whatever order a preset lists them in: the page is printed on paper
# (thermal fade on the rendered white page, paper, ink), handled (crease), placed on the scanner
# (bed or warp, crop/pad, shadow), imaged (blur, downscale, noise, exposure) and saved (jpeg).
ORDER = tuple(KINDS)
