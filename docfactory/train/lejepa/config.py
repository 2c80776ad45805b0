"""LeJEPA options: one typed model, defaults in one place, unknown keys rejected, saved with every
checkpoint. Defaults are the `small` scale (a ViT-S/16); `tiny` is for tests and 2-core CPUs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class EncoderConfig(BaseModel):
    """A transformers ViT (so a pretrained encoder can initialize a VisionEncoderDecoder's ViT tower)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hidden_size: Annotated[int, Field(gt=0)] = 384
    num_hidden_layers: Annotated[int, Field(gt=0)] = 12
    num_attention_heads: Annotated[int, Field(gt=0)] = 6
    intermediate_size: Annotated[int, Field(gt=0)] = 1536
    patch_size: Annotated[int, Field(gt=0)] = 16
    pool: Annotated[Literal["mean", "cls"], Field(description="view embedding: mean of the tokens or the CLS token")] = "mean"


class LejepaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    encoder: EncoderConfig = EncoderConfig()
    global_size: Annotated[int, Field(gt=0, description="side of the global and masked-block views (the whole canvas)")] = 224
    local_size: Annotated[int, Field(gt=0, description="side of the local views (the shard's crop boxes)")] = 96
    n_local: Annotated[int, Field(ge=0, description="local views per page (at most the shard's crops)")] = 4
    n_masked: Annotated[int, Field(ge=0, description="masked-block views per page (at most the shard's masks)")] = 2
    proj_hidden: Annotated[int, Field(gt=0, description="projector hidden width")] = 2048
    proj_dim: Annotated[int, Field(gt=0, description="projector output width (8192 at full scale)")] = 1024
    lambd: Annotated[float, Field(ge=0, le=1, description="SIGReg weight λ: loss = (1−λ)·prediction + λ·SIGReg")] = 0.05
    n_slices: Annotated[int, Field(gt=0, description="SIGReg random directions per step")] = 256
    steps: Annotated[int, Field(gt=0)] = 2000
    batch_size: Annotated[int, Field(gt=1, description="pages per step (SIGReg needs a batch)")] = 32
    lr: Annotated[float, Field(gt=0)] = 5e-4
    weight_decay: Annotated[float, Field(ge=0)] = 0.05
    warmup_steps: Annotated[int, Field(ge=0)] = 100
    split: Annotated[str, Field(description="pretrain rows to train on: a split name, or `all`")] = "train"
    cache_pages: Annotated[int, Field(ge=0, description="pages whose decoded views stay in memory (uint8)")] = 4096
    seed: int = 0
    log_every: Annotated[int, Field(gt=0)] = 10
    save_every: Annotated[int, Field(gt=0)] = 200
    collapse_std: Annotated[float, Field(gt=0, description="warn when the median per-dimension std of the embeddings falls below this")] = 0.1
    device: Annotated[str, Field(description="auto | cpu | cuda[:N]")] = "auto"

    @model_validator(mode="after")
    def _check(self) -> "LejepaConfig":
        for name in ("global_size", "local_size"):
            if getattr(self, name) % self.encoder.patch_size:
                raise ValueError(f"{name} {getattr(self, name)} is not a multiple of patch_size {self.encoder.patch_size}")
        if self.encoder.hidden_size % self.encoder.num_attention_heads:
            raise ValueError("hidden_size must be a multiple of num_attention_heads")
        return self


# SIGReg is scaled by the batch size, so its pull against the prediction term grows with the batch:
# at 16 pages a step the tiny scale needs a larger λ (0.2) to hold the embeddings' spread that
# λ = 0.05 holds at the batch sizes of the real scales (≥ 128 views per step).
TINY = LejepaConfig(
    encoder=EncoderConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=3, intermediate_size=96, patch_size=16),
    global_size=64, local_size=32, proj_hidden=128, proj_dim=64, n_slices=64, steps=40, batch_size=16, lr=2e-3,
    lambd=0.2, warmup_steps=5, log_every=5, save_every=20,
)
SCALES: dict[str, LejepaConfig] = {"tiny": TINY, "small": LejepaConfig(), "full": LejepaConfig(proj_dim=8192, n_slices=1024)}


def make_config(scale: str = "small", **overrides) -> LejepaConfig:
    """A scale's defaults with overrides (`encoder` may be a partial dict); unknown keys are refused."""
    try:
        base = SCALES[scale]
    except KeyError:
        raise KeyError(f"unknown scale {scale!r} (known: {', '.join(SCALES)})") from None
    data = base.model_dump()
    if isinstance(overrides.get("encoder"), dict):
        overrides["encoder"] = data["encoder"] | overrides["encoder"]
    return LejepaConfig.model_validate(data | {k: v for k, v in overrides.items() if v is not None})
