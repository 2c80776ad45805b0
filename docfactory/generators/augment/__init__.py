"""Scan-like augmentation with every box kept exact, severity presets, a legibility gate, and
text-line crops.

    from docfactory.generators.augment import AugmentSettings, augment_page
    result = augment_page(documents_row, copy=0, settings=AugmentSettings(preset="medium"))
    result.row      # the `augmented` row: image, params, severity, moved boxes with quads
    result.crops    # `lines` rows: upright line and word crops with their text

Modules: transforms (the kinds and their parameters), ops (custom albumentations transforms),
thermal (till-slip fade, creases and the scan bed), presets (presets.yaml, typed options,
overrides), boxes (box corners in, quads and clipped boxes out), legibility (measures and the
gate), crops (line/word crops), page (one page end to end).
"""

from docfactory.generators.augment.legibility import GateOptions, Legibility
from docfactory.generators.augment.page import (AugmentResult, AugmentSettings, Plan, augment_page, plan_sample,
                                                rebuild_image)
from docfactory.generators.augment.presets import MIX, AugmentError, Preset, preset_names, presets, resolve_preset
from docfactory.generators.augment.transforms import KINDS, ORDER

__all__ = ["KINDS", "MIX", "ORDER", "AugmentError", "AugmentResult", "AugmentSettings", "GateOptions", "Legibility",
           "Plan", "Preset", "augment_page", "plan_sample", "preset_names", "presets", "rebuild_image", "resolve_preset"]
