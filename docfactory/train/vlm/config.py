"""`vlm` options: one typed model, unknown keys refused, saved with every checkpoint."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PREDICT_TASKS = ("extract", "table", "ocr")


class VlmOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base: Annotated[str, Field(description="local checkpoint folder: an image-text-to-text model or a VisionEncoderDecoder")]
    tasks: Annotated[tuple[str, ...] | None, Field(description="pair tasks to train on (default: all)")] = None
    split: str = "train"
    max_pairs: Annotated[int | None, Field(ge=1, description="use at most this many pairs (a seeded sample)")] = None
    steps: Annotated[int, Field(gt=0, description="optimizer steps")] = 1000
    batch_size: Annotated[int, Field(gt=0, description="pairs per micro-batch")] = 1
    grad_accum: Annotated[int, Field(gt=0, description="micro-batches per optimizer step")] = 8
    lr: Annotated[float, Field(gt=0)] = 2e-4
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    warmup_steps: Annotated[int, Field(ge=0)] = 20
    max_grad_norm: Annotated[float, Field(gt=0)] = 1.0
    max_length: Annotated[int, Field(gt=0, description="tokens per example; the answer is cut to fit")] = 2048
    lora_r: Annotated[int, Field(gt=0)] = 16
    lora_alpha: Annotated[int, Field(gt=0)] = 32
    lora_dropout: Annotated[float, Field(ge=0, lt=1)] = 0.05
    lora_targets: Annotated[tuple[str, ...] | str | None, Field(
        description="module names (peft suffix match), one regex, or 'all-linear'; default: per architecture")] = None
    modules_to_save: Annotated[tuple[str, ...] | None, Field(description="modules trained in full (e.g. a connector)")] = None
    gradient_checkpointing: bool = False
    precision: Annotated[Literal["fp32", "bf16", "fp16"], Field(description="weights and autocast dtype; fp16 needs CUDA")] = "fp32"
    quantize: Annotated[Literal["4bit", "8bit"] | None, Field(description="load the base quantized (bitsandbytes, CUDA)")] = None
    vision_init: Annotated[str | None, Field(description="LeJEPA encoder folder to load into the vision tower (shapes must match)")] = None
    vision_lr: Annotated[float | None, Field(ge=0, description="train the vision tower in full at this LR (stage B); 0 or unset: frozen (stage A)")] = None
    seed: int = 0
    log_every: Annotated[int, Field(gt=0)] = 10
    save_every: Annotated[int, Field(gt=0)] = 100
    device: Annotated[str, Field(description="auto | cpu | cuda[:N]")] = "auto"
    # prediction
    predict_tasks: tuple[Literal["extract", "table", "ocr"], ...] = ("extract", "table")
    max_new_tokens: Annotated[int, Field(gt=0)] = 1024
    predict_batch_size: Annotated[int, Field(gt=0)] = 4

    @model_validator(mode="after")
    def _check(self) -> "VlmOptions":
        if self.quantize and self.precision == "fp32":
            raise ValueError("quantized loading computes in bf16 or fp16: set precision")
        return self
