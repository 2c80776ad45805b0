"""The `layout` model's options: typed, unknown keys rejected, defaults in one place.

A profile (profiles.yaml: tiny, default, full) is data over these defaults; `--set a.b=value`
overrides one key. The resolved config is saved with every checkpoint and in run.yaml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PROFILES_FILE = Path(__file__).with_name("profiles.yaml")
WordSource = Literal["auto", "pdf", "ocr", "tesseract", "rapidocr"]  # see words.py
OcrEngine = Literal["tesseract", "rapidocr"]


class ConfigError(ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelOptions(_Strict):
    vocab_size: Annotated[int, Field(ge=100, description="tokenizer vocabulary (trained locally on the run's words)")] = 6000
    hidden_size: int = 128
    layers: int = 4
    heads: int = 4
    intermediate_size: int = 512
    max_len: Annotated[int, Field(ge=32, le=512, description="tokens per window; longer pages are windowed")] = 512
    window_overlap: Annotated[int, Field(ge=0, description="words shared by consecutive windows")] = 32
    dropout: float = 0.1
    max_cols: Annotated[int, Field(ge=2, description="table column classes")] = 16
    case: Annotated[Literal["fold", "keep"], Field(description="fold: words are lower-cased before WordPiece and a "
                    "word-shape embedding (UPPER, Title, lower, digits, mixed, punctuation) carries the case, so a "
                    "shop name in capitals is the same pieces as in mixed case; keep: pieces as printed")] = "fold"


class TrainOptions(_Strict):
    epochs: Annotated[int, Field(ge=1, description="upper bound; early stopping may end sooner")] = 24
    batch_tokens: Annotated[int, Field(ge=256, description="words per batch, padding included (windows packed by length)")] = 1024
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_steps: int = 20
    grad_clip: float = 1.0
    eval_every: Annotated[int, Field(ge=0, description="steps between validation passes; 0: once per epoch")] = 0
    patience: Annotated[int, Field(ge=1, description="validation passes without improvement before stopping")] = 4
    min_delta: float = 0.0
    checkpoint_every: Annotated[int, Field(ge=1, description="steps between resumable checkpoints")] = 25
    max_seconds: Annotated[float | None, Field(description="stop (keeping the best model) after this much training time")] = None
    threads: Annotated[int | None, Field(ge=1, description="torch CPU threads; None: the cores the load average "
                                         "leaves free (at least 1): oversubscribed threads spin and run 10x slower")] = None
    seed: int = 0
    noise: Annotated[float, Field(ge=0, le=1, description="OCR-like noise on training words (box jitter, "
                                  "character swaps, dropped words); 0: off")] = 0.15
    reframe: Annotated[float, Field(ge=0, le=1, description="share of training slips (pages narrower than 0.6 of "
                                    "their height), each epoch, whose words are "
                                    "moved into a random part of the frame, scaled and skewed as a scan or photo "
                                    "places a slip (scanner margins, a receipt on a table); 0: off")] = 0.0
    loss_weights: dict[str, float] = {"field": 1.0, "table": 1.0, "col": 0.5, "span": 0.5}


class LoraOptions(_Strict):
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = ["query", "value"]
    modules_to_save: Annotated[list[str], Field(description="trained in full alongside the adapters")] = ["heads"]
    lr: float = 3e-3
    epochs: int = 15


class DataOptions(_Strict):
    word_source: Annotated[WordSource, Field(description="training words: pdf text layer (clean pages), ocr (the "
                                             "ocr.engine), tesseract or rapidocr (that engine), or auto (pdf where "
                                             "the page has a text layer, else ocr)")] = "pdf"
    augmented: Annotated[bool, Field(description="also train on the run's augmented copies (OCR words, cached)")] = False
    replay_share: Annotated[float, Field(ge=0, le=1, description="LoRA iterations: share of earlier pages mixed in")] = 0.3
    min_overlap: Annotated[float, Field(gt=0, le=1, description="a word belongs to a box covering this share of it")] = 0.5


class OcrOptions(_Strict):
    # rapidocr: on the 150 SROIE receipts its words hold 83% of the gold values against Tesseract's 65%
    # (benchmarks/ocr_sources.py), for about 1.3x the seconds per receipt (1.5-3x on dense A4 pages).
    engine: Annotated[OcrEngine, Field(description="OCR for the ocr and auto word sources")] = "rapidocr"
    lang: Annotated[str, Field(description="Tesseract languages")] = "eng+deu+fra"
    psm: Annotated[int, Field(description="Tesseract page segmentation mode")] = 3
    scale: Annotated[float | None, Field(gt=0, description="upscale before OCR; None: the engine's own (tesseract 2: "
                                         "120-dpi pages lose decimal points at 1; rapidocr 1)")] = None
    workers: Annotated[int, Field(ge=1, description="OCR pages read at once (one core each)")] = 2


class LayoutConfig(_Strict):
    model: ModelOptions = ModelOptions()
    train: TrainOptions = TrainOptions()
    lora: LoraOptions = LoraOptions()
    data: DataOptions = DataOptions()
    ocr: OcrOptions = OcrOptions()


def cpu_threads(requested: int | None) -> int:
    """`requested`, or the cores not busy now (1-minute load average), 1 to 4."""
    import os

    if requested:
        return requested
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(4, int(cores - busy + 0.5)))


def profiles() -> dict[str, dict]:
    return yaml.safe_load(PROFILES_FILE.read_text(encoding="utf-8"))


def load_config(profile: str = "default", overrides: dict[str, Any] | None = None) -> LayoutConfig:
    """The profile's values over the defaults, then `overrides` ({"train.epochs": 3})."""
    known = profiles()
    if profile not in known:
        raise ConfigError(f"unknown profile {profile!r} (known: {', '.join(known)})")
    data = _merge({}, known[profile] or {})
    for key, value in (overrides or {}).items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{key}: {part!r} is not a section")
        node[parts[-1]] = value
    try:
        return LayoutConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"layout config: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def parse_sets(items: list[str]) -> dict[str, Any]:
    """CLI `--set train.epochs=3` (values parsed as YAML: numbers, lists, booleans)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected section.key=value, e.g. train.epochs=3")
        out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
    return out


def _merge(a: dict, b: dict) -> dict:
    for key, value in b.items():
        a[key] = _merge(dict(a.get(key) or {}), value) if isinstance(value, dict) else value
    return a
