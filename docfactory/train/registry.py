"""Models by name. Each entry builds a predictor (and, when trainable, a trainer); an unknown
name's error lists the known ones. A model module registers itself with `@register_model`."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from docfactory.train.base import Predictor, Trainer


@dataclass(frozen=True)
class ModelEntry:
    name: str
    description: str
    predictor: Callable[..., Predictor]
    trainer: Callable[..., Trainer] | None = None


_MODELS: dict[str, ModelEntry] = {}
# Modules that register models on import; imported lazily so `engine --help` stays fast and a
# model's heavy dependencies (torch, transformers) load only when that model is used.
MODEL_MODULES: dict[str, str] = {}
MODEL_MODULES["layout"] = "docfactory.train.layout"  # the default: a LayoutLM-style tagger trained here
MODEL_MODULES["tesseract"] = "docfactory.train.tesseract_baseline"  # OCR + keyword rules, no training
MODEL_MODULES["command"] = "docfactory.train.command"  # an external model: --predict-cmd "CMD"
MODEL_MODULES["vlm"] = "docfactory.train.vlm"  # LoRA on a local HF vision-language checkpoint
MODEL_MODULES["lejepa"] = "docfactory.train.lejepa"  # LeJEPA pretraining (a trainer only)


def register_model(entry: ModelEntry) -> ModelEntry:
    _MODELS[entry.name] = entry
    return entry


def known_models() -> list[str]:
    return sorted(set(_MODELS) | set(MODEL_MODULES))


def get_model(name: str) -> ModelEntry:
    if name not in _MODELS and name in MODEL_MODULES:
        importlib.import_module(MODEL_MODULES[name])
    try:
        return _MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r} (known: {', '.join(known_models())})") from None
