"""Loop profiles: YAML data (profiles/*.yaml) loaded into a typed model; unknown keys are rejected and
errors name the file. `--profile` takes a profile name or a path to a YAML file of the same shape."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from docfactory.engine.config import read_yaml_model
from docfactory.engine.executor import ExecutorOptions

PROFILES_DIR = Path(__file__).with_name("profiles")


class ProfileError(ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AugmentOptions(_Strict):
    preset: Annotated[str, Field(description="preset name or 'mix' (each copy draws its preset)")] = "mix"
    copies: Annotated[int, Field(ge=1)] = 1
    preset_weights: Annotated[dict[str, float], Field(description="with 'mix': preset -> weight (the initial mix)")] = {}
    levels: Annotated[list[str], Field(description="crops to cut: line, word")] = ["line", "word"]


class LoraSettings(_Strict):
    r: int = 8
    alpha: int = 16
    epochs: Annotated[int, Field(ge=1)] = 8


class LoopExecutor(_Strict):
    kind: str = "local"
    workers: Annotated[int, Field(ge=1)] = 2
    address: str | None = None
    task_timeout: Annotated[float, Field(ge=0, description="seconds a generate task (a template check, a shard) "
                                         "may run before its worker is killed; 0: no limit")] = 120.0

    def options(self) -> ExecutorOptions:
        return ExecutorOptions(kind=self.kind, address=self.address)


class RealEvalOptions(_Strict):
    src: Annotated[str, Field(description="the labelled real dataset (engine import SRC)")]
    format: Annotated[str, Field(description="sroie | donut | funsd | json | pubtabnet")] = "sroie"
    field_map: Annotated[str | None, Field(description="built-in map name or YAML file (default: the format's)")] = None
    word_source: Annotated[str, Field(description="rapidocr | tesseract | dataset: the words the model reads")] = "rapidocr"
    match: Annotated[str | None, Field(description="a dataset match rule for engine evaluate --match (default: "
                                                   "sroie for the sroie format)")] = None
    mine: Annotated[bool, Field(description="mining also takes the real set's weak fields and kinds")] = True

    def rule(self) -> str | None:
        return self.match or ("sroie" if self.format == "sroie" else None)


# The spec sampler's knobs (generators/spec.py) that a mix can weigh.
MixKnob = Literal["template", "locale", "currency", "n_items", "tax_rate", "discount_rate", "font", "dpi"]


class LoopProfile(_Strict):
    initial_docs: Annotated[int, Field(ge=1, description="iteration 0's training mix")]
    budget: Annotated[int, Field(ge=1, description="new documents per later iteration")]
    eval_docs: Annotated[int, Field(ge=1, description="fixed in-distribution evaluation documents")]
    holdout_docs: Annotated[int, Field(ge=0, description="fixed template-holdout evaluation documents")]
    holdout_templates: Annotated[list[str], Field(description="templates never trained on")] = []
    holdout_choices: Annotated[dict[str, list[Any]], Field(
        description="choice -> options (template.yaml `choices`, compared as str) never drawn for training, in_dist "
                    "or audit; the holdout set draws the trained templates that have these choices with exactly "
                    "these options (beside holdout_templates): a held-out layout family")] = {}
    audit_docs: Annotated[int, Field(ge=0, description="fixed audit set: drawn like the in-distribution set, never "
                                                       "mined (strategy A/Bs are scored on it); 0: none")] = 0
    shard_docs: Annotated[int, Field(ge=1)] = 16
    augment: AugmentOptions = AugmentOptions()
    model: Annotated[str, Field(description="registered trainable model")] = "layout"
    trainer_profile: Annotated[str, Field(description="the model's own profile (e.g. layout's profiles.yaml)")] = "default"
    trainer_options: Annotated[dict[str, Any], Field(description="dotted model options, like engine train --set")] = {}
    lora: LoraSettings = LoraSettings()
    replay_share: Annotated[float, Field(ge=0, lt=1, description="share of earlier pages mixed into a finetune")] = 0.3
    min_support: Annotated[int, Field(ge=1, description="fewest field comparisons a mined slice needs")] = 20
    tilt: Annotated[float, Field(ge=0, description="a knob's most surely weak value weighs 1 + tilt (others in proportion)")] = 4.0
    variant_share: Annotated[float, Field(ge=0, le=1, description="share of a hard batch spent on hard variants of failed documents")] = 0.25
    initial_weights: Annotated[dict[MixKnob, dict[str, float]], Field(
        description="knob -> value -> weight of iteration 0's mix (values not named weigh 1); a later plan "
                    "replaces the knobs it sets, so `uniform` keeps drawing from this mix")] = {}
    executor: LoopExecutor = LoopExecutor()
    real_eval: Annotated[RealEvalOptions | None, Field(description="a labelled real set imported once into "
                         "RUN/evalsets/real and evaluated every iteration (never trained on)")] = None

    def train_options(self) -> dict[str, Any]:
        """The model's --set options: the profile's, plus LoRA and replay settings."""
        return {**self.trainer_options, "lora.r": self.lora.r, "lora.alpha": self.lora.alpha,
                "lora.epochs": self.lora.epochs, "data.replay_share": self.replay_share}


def known_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def load_profile(name_or_path: str) -> LoopProfile:
    path = Path(name_or_path)
    if not (path.suffix in (".yaml", ".yml") and path.exists()):
        if name_or_path not in known_profiles():
            raise ProfileError(f"unknown profile {name_or_path!r} (known: {', '.join(known_profiles())}, or a YAML file)")
        path = PROFILES_DIR / f"{name_or_path}.yaml"
    return read_yaml_model(path, LoopProfile, ProfileError)
