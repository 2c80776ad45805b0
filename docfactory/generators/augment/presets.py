"""Presets as data: `presets.yaml` maps each preset to, per transform kind, a probability `p` and
the spans its values are drawn from. Options are typed (one pydantic model per kind, built from the
kind's declared parameters); an unknown preset, kind or parameter is an error that lists the known
ones.

    preset = resolve_preset("medium", overrides={"gaussian_blur": {"p": 0.5, "sigma": [0.5, 0.9]}})
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from docfactory.generators.augment.transforms import KINDS, ORDER, Param

PRESETS_FILE = Path(__file__).with_name("presets.yaml")
MIX = "mix"  # not a preset: each copy draws its preset, tilted by weights["augment_preset"]
# Presets for one kind of page (thermal: till slips on a scanner bed or a table), not steps of the
# severity ladder: a mix leaves them out unless weights["augment_preset"] names them, and lists of
# the valid names give them after `mix`.
SCENE_PRESETS = ("thermal",)


class AugmentError(ValueError):
    """A bad preset, transform kind or parameter; the message lists the valid ones."""


def _span_validator(param: Param):
    def check(value: Any) -> tuple[float, float]:
        lo, hi = (value, value) if isinstance(value, (int, float)) else tuple(value)
        if lo > hi:
            raise ValueError(f"span [{lo}, {hi}] is reversed")
        if lo < param.lo or hi > param.hi:
            raise ValueError(f"span [{lo}, {hi}] leaves the allowed range [{param.lo}, {param.hi}]")
        return float(lo), float(hi)
    return check


def _options_model(kind: str) -> type[BaseModel]:
    params = KINDS[kind].params
    fields: dict[str, Any] = {"p": (float, Field(1.0, ge=0.0, le=1.0, description="probability the transform is applied"))}
    validators = {}
    for name, param in params.items():
        fields[name] = (tuple[float, float], Field(param.default, description=param.doc))
        validators[f"check_{name}"] = field_validator(name, mode="before")(_span_validator(param))
    return create_model(f"{kind}_options", __config__=ConfigDict(extra="forbid", frozen=True),
                        __validators__=validators, **fields)


OPTIONS: dict[str, type[BaseModel]] = {kind: _options_model(kind) for kind in ORDER}


@dataclass(frozen=True)
class Preset:
    name: str
    transforms: dict[str, BaseModel]  # kind -> options, in application order

    def describe(self) -> dict[str, dict]:
        return {kind: opts.model_dump() for kind, opts in self.transforms.items()}


def _known(names) -> str:
    return ", ".join(names)


def make_options(kind: str, values: Mapping[str, Any], where: str) -> BaseModel:
    if kind not in OPTIONS:
        raise AugmentError(f"{where}: unknown transform {kind!r} (known: {_known(ORDER)})")
    valid = ["p", *KINDS[kind].params]
    for key in values:
        if key not in valid:
            raise AugmentError(f"{where}: {kind} has no parameter {key!r} (valid: {_known(valid)})")
    try:
        return OPTIONS[kind].model_validate(dict(values))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(map(str, err["loc"]))
        raise AugmentError(f"{where}: {kind}.{field}: {err['msg']} (valid parameters: {_known(valid)})") from None


def build_preset(name: str, spec: Mapping[str, Mapping[str, Any]]) -> Preset:
    transforms = {kind: make_options(kind, spec[kind] or {}, f"preset {name!r}") for kind in spec}
    return Preset(name, {kind: transforms[kind] for kind in ORDER if kind in transforms})


@lru_cache(maxsize=1)
def presets() -> dict[str, Preset]:
    """The registry: every preset in presets.yaml, validated."""
    data = yaml.safe_load(PRESETS_FILE.read_text(encoding="utf-8"))
    return {name: build_preset(name, spec or {}) for name, spec in data.items()}


def preset_names() -> list[str]:
    return list(presets())


def resolve_preset(name: str, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Preset:
    """A registered preset with `overrides` ({kind: {param: value or [lo, hi]}}) applied. A kind the
    preset lacks is added with its default spans and p=1 unless `p` is given."""
    known = presets()
    if name not in known:
        ladder = [n for n in known if n not in SCENE_PRESETS]
        scenes = [n for n in known if n in SCENE_PRESETS]
        raise AugmentError(f"unknown augmentation preset {name!r} (valid: {_known([*ladder, MIX, *scenes])})")
    base = known[name]
    if not overrides:
        return base
    spec = {kind: opts.model_dump() for kind, opts in base.transforms.items()}
    for kind, values in overrides.items():
        if kind not in OPTIONS:
            raise AugmentError(f"override: unknown transform {kind!r} (known: {_known(ORDER)})")
        spec[kind] = {**spec.get(kind, {}), **values}
    return build_preset(name, spec)


def parse_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    """CLI `--set kind.param=value` (a number, or `lo,hi`) into an overrides mapping."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        kind, dot, param = key.strip().partition(".")
        if not sep or not dot:
            raise AugmentError(f"--set {item!r}: expected kind.param=value, e.g. gaussian_blur.sigma=0.5,0.9")
        try:
            numbers = [float(x) for x in raw.split(",")]
        except ValueError:
            raise AugmentError(f"--set {item!r}: value must be a number or lo,hi") from None
        if len(numbers) not in (1, 2):
            raise AugmentError(f"--set {item!r}: value must be a number or lo,hi")
        out.setdefault(kind, {})[param] = numbers[0] if len(numbers) == 1 else numbers
    return out
