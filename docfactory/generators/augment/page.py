"""Augment one page record: plan (every random choice, from the sample's seed), apply (one
albumentations Compose moves the pixels and every box corner with the same parameters), encode,
measure legibility, cut line and word crops.

The sample seed is derive_seed("augment", salt, doc seed, doc id, page, copy); the document seed
already derives from the run seed, so copies depend on (run seed, doc, page, copy) only, never on
workers or order. The stored `params` JSON (transforms with their values + the Compose seed that
draws noise maps) rebuilds the exact image bytes: `rebuild_image(clean_png, params)`.

Knobs the mining loop reweights (`weights`, as in `sample_spec`):
  weights["augment_preset"]   {preset: weight}  which preset a `mix` copy draws
  weights["augment_p"]        {kind: factor}    multiplies a transform's probability (capped at 1)
  weights["augment_strength"] {kind: factor}    moves its values away from identity by this factor
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping, MutableMapping

import albumentations as A
import cv2
import numpy as np

from docfactory.timing import timed
from docfactory.generators.augment import boxes
from docfactory.generators.augment.crops import LEVELS, crop_rows
from docfactory.generators.augment.legibility import GateOptions, Legibility, measure
from docfactory.generators.augment.presets import MIX, SCENE_PRESETS, AugmentError, Preset, presets, resolve_preset
from docfactory.generators.augment.transforms import KINDS, Context
from docfactory.generators.spec import _choose, derive_seed

PARAMS_VERSION = 1
# A mix draws among the augmenting ladder presets unless told otherwise.
MIX_DEFAULT_WEIGHTS = {"none": 0.0, **{name: 0.0 for name in SCENE_PRESETS}}


@dataclass(frozen=True)
class AugmentSettings:
    preset: str = "medium"  # a preset name, or "mix"
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    weights: Mapping[str, Mapping] = field(default_factory=dict)
    salt: int = 0  # another salt draws other copies of the same pages
    gate: GateOptions = field(default_factory=GateOptions)
    levels: tuple[str, ...] = LEVELS

    def __post_init__(self) -> None:
        for level in self.levels:
            if level not in LEVELS:
                raise AugmentError(f"unknown crop level {level!r} (valid: {', '.join(LEVELS)})")
        # Fail now, with the valid names, rather than in a worker halfway through a run.
        for name in presets() if self.preset == MIX else [self.preset]:
            self.resolved(name)
        valid = {"augment_preset": list(presets()), "augment_p": list(KINDS), "augment_strength": list(KINDS)}
        for key, table in self.knob_weights().items():
            if key not in valid:
                raise AugmentError(f"unknown weights table {key!r} (valid: {', '.join(valid)})")
            for name in table:
                if name not in valid[key]:
                    raise AugmentError(f"weights[{key!r}]: unknown {name!r} (valid: {', '.join(valid[key])})")

    def resolved(self, name: str) -> Preset:
        return _resolved(name, json.dumps(self.overrides, sort_keys=True))

    def knob_weights(self) -> dict[str, Mapping]:
        """The weights that shape augmentation (a plan's other weights tilt generation)."""
        return {k: v for k, v in self.weights.items() if k.startswith("augment_")}

    def tag(self) -> str:
        """Names this configuration's shards: the preset, plus a digest when anything else differs."""
        extra = {"overrides": self.overrides, "weights": self.knob_weights(),
                 "salt": self.salt, "gate": self.gate.model_dump(), "levels": list(self.levels)}
        default = {"overrides": {}, "weights": {}, "salt": 0, "gate": GateOptions().model_dump(), "levels": list(LEVELS)}
        if extra == default:
            return self.preset
        return f"{self.preset}-{derive_seed(json.dumps(extra, sort_keys=True)) % 16**8:08x}"


@lru_cache(maxsize=64)
def _resolved(name: str, overrides_json: str) -> Preset:
    return resolve_preset(name, json.loads(overrides_json))


@dataclass
class Plan:
    preset: str
    seed: int  # the sample seed every choice below came from
    compose_seed: int  # seeds the noise maps and textures drawn inside the transforms
    transforms: list[dict[str, Any]]  # [{"kind": ..., value: ...}] in application order

    def to_json(self) -> str:
        return json.dumps({"version": PARAMS_VERSION, "albumentations": A.__version__, "preset": self.preset,
                           "seed": self.seed, "compose_seed": self.compose_seed, "transforms": self.transforms},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | Mapping) -> "Plan":
        data = json.loads(text) if isinstance(text, str) else text
        return cls(data["preset"], data["seed"], data["compose_seed"], data["transforms"])


def sample_seed(row: Mapping[str, Any], copy: int, salt: int = 0) -> int:
    return derive_seed("augment", salt, row["seed"], row["doc_id"], row["page"], copy)


def plan_sample(row: Mapping[str, Any], copy: int, settings: AugmentSettings) -> Plan:
    seed = sample_seed(row, copy, settings.salt)
    rng = random.Random(seed)
    weights = settings.weights
    name = settings.preset
    if name == MIX:
        table = {**MIX_DEFAULT_WEIGHTS, **(weights.get("augment_preset") or {})}
        name = _choose(rng, list(presets()), table)
    preset = settings.resolved(name)
    p_factor, strength = weights.get("augment_p") or {}, weights.get("augment_strength") or {}
    chosen, taken = [], set()
    for kind, opts in preset.transforms.items():
        p = min(1.0, opts.p * float(p_factor.get(kind, 1.0)))
        exclusive = KINDS[kind].exclusive
        if rng.random() >= p or exclusive in taken:
            continue
        if exclusive:
            taken.add(exclusive)
        ctx = Context(row["width"], row["height"], row["dpi"], float(strength.get(kind, 1.0)))
        spans = {k: v for k, v in opts.model_dump().items() if k != "p"}
        chosen.append(KINDS[kind].sample(spans, rng, ctx))
    return Plan(name, seed, rng.getrandbits(32), chosen)


def decode_rgb(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("page image could not be decoded")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def apply_plan(image: np.ndarray, points: np.ndarray | None, plan: Plan) -> tuple[np.ndarray, np.ndarray | None]:
    """Pixels and box corners through the plan's pixel transforms (not the final encoding)."""
    kinds = [KINDS[t["kind"]] for t in plan.transforms]
    steps = [kind.build(t) for kind, t in zip(kinds, plan.transforms) if kind.group != "encode"]
    if not steps:
        return image, points
    moves = points is not None and len(points) > 0 and any(kind.group == "geometric" for kind in kinds)
    keypoints = A.KeypointParams(format="xy", remove_invisible=False, check_each_transform=False) if moves else None
    compose = A.Compose(steps, seed=plan.compose_seed, strict=True, keypoint_params=keypoints)
    out = compose(image=image, keypoints=points) if moves else compose(image=image)
    return out["image"], (np.asarray(out["keypoints"], dtype=np.float64)[:, :2] if moves else points)


def encode(image: np.ndarray, plan: Plan) -> tuple[bytes, str]:
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    jpeg = [t for t in plan.transforms if t["kind"] == "jpeg"]
    if jpeg:
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg[0]["quality"]),
                                             cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420])
        fmt = "jpeg"
    else:
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        fmt = "png"
    if not ok:
        raise RuntimeError(f"{fmt} encoding failed")
    return buf.tobytes(), fmt


def rebuild_image(clean_png: bytes, params: str | Mapping) -> bytes:
    """The augmented image bytes from the clean page and a record's stored params."""
    plan = Plan.from_json(params)
    if not plan.transforms:
        return clean_png
    image, _ = apply_plan(decode_rgb(clean_png), None, plan)
    return encode(image, plan)[0]


@dataclass
class AugmentResult:
    row: dict[str, Any] | None  # the `augmented` row; None when the gate rejected it
    crops: list[dict[str, Any]]  # `lines` rows
    legibility: Legibility
    skipped_crops: int
    preset: str  # the preset this copy used (a mix draws one per copy)


def augment_page(row: Mapping[str, Any], copy: int, settings: AugmentSettings,
                 times: MutableMapping[str, float] | None = None) -> AugmentResult:
    """One augmented copy of a `documents` row (a dict shaped like the documents schema).
    `times`, if given, accumulates seconds per stage (for benchmarks/augment.py)."""
    with timed(times, "plan"):
        plan = plan_sample(row, copy, settings)
    with timed(times, "decode"):
        clean = decode_rgb(row["image"])
    if plan.transforms:
        with timed(times, "transform"):
            image, points = apply_plan(clean, boxes.corners(row), plan)
        with timed(times, "encode"):
            data, fmt = encode(image, plan)
        with timed(times, "decode"):
            image = decode_rgb(data)  # measure and crop the pixels the record stores
    else:
        image, points, data, fmt = clean, boxes.corners(row), row["image"], "png"
    height, width = image.shape[:2]
    with timed(times, "boxes"):
        page = boxes.place(row, points, width, height)
    with timed(times, "legibility"):
        legibility = measure(cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY), cv2.cvtColor(image, cv2.COLOR_RGB2GRAY),
                             row["words"], page["words"], settings.gate)
    meta = {"doc_id": row["doc_id"], "page": row["page"], "copy": copy, "preset": plan.preset,
            "config": settings.tag(), "severity": legibility.severity, "legible": legibility.legible}
    if not legibility.legible and settings.gate.mode == "reject":
        return AugmentResult(None, [], legibility, 0, plan.preset)
    crop_meta = {**meta, "template": row["template"], "split": row["split"], "font": row["knobs"]["font"]}
    with timed(times, "crops"):
        crops, skipped = crop_rows(image, page, crop_meta, settings.levels)
    out = {**meta, "template": row["template"], "split": row["split"], "knobs": row["knobs"],
           "ground_truth": row["ground_truth"], "seed": plan.seed, "params": plan.to_json(),
           "gate_reasons": legibility.reasons, "clipped_share": legibility.clipped_share,
           "word_similarity": legibility.word_similarity, "contrast": legibility.contrast,
           "image": data, "image_format": fmt, "width": width, "height": height, "dpi": row["dpi"], **page}
    return AugmentResult(out, crops, legibility, skipped, plan.preset)
