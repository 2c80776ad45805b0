"""The LeJEPA model: a transformers ViT encoder (mask token on, so a masked-block view replaces its
masked patches) and a 3-layer MLP projector; and the objective

    loss = (1 − λ) · prediction + λ · SIGReg

where prediction = mean over views of ||center − z_v||², the center being the mean embedding of the
global views (the authors' minimal example: no teacher, no stop-gradient), and SIGReg is averaged
over the views (each view's batch is one sample of the embedding distribution).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import ViTConfig, ViTModel

from docfactory.train.lejepa.config import LejepaConfig
from docfactory.train.lejepa.data import ViewBatch
from docfactory.train.lejepa.sigreg import sigreg


def vit_config(cfg: LejepaConfig) -> ViTConfig:
    e = cfg.encoder
    return ViTConfig(hidden_size=e.hidden_size, num_hidden_layers=e.num_hidden_layers, num_attention_heads=e.num_attention_heads,
                     intermediate_size=e.intermediate_size, patch_size=e.patch_size, image_size=cfg.global_size,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def projector(width: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.GELU(),
                         nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.GELU(),
                         nn.Linear(hidden, out))


class LejepaModel(nn.Module):
    def __init__(self, cfg: LejepaConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = ViTModel(vit_config(cfg), add_pooling_layer=False, use_mask_token=True)
        self.projector = projector(cfg.encoder.hidden_size, cfg.proj_hidden, cfg.proj_dim)

    def tokens(self, pixels: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        """Last hidden states (N, 1 + patches, D); local views get interpolated position embeddings."""
        interpolate = pixels.shape[-1] != self.cfg.global_size
        return self.encoder(pixel_values=pixels, bool_masked_pos=masks, interpolate_pos_encoding=interpolate).last_hidden_state

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens[:, 0] if self.cfg.encoder.pool == "cls" else tokens[:, 1:].mean(1)

    def features(self, pixels: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        return self.pool(self.tokens(pixels, masks))

    def forward(self, views: ViewBatch) -> torch.Tensor:
        """Projected embeddings (B, V, K): global first, then masked-block views, then local views."""
        b, g = views.global_px.shape[:2]
        feats = [self.features(views.global_px.flatten(0, 1), views.masks.flatten(0, 1)).view(b, g, -1)]
        if views.local_px.shape[1]:
            feats.append(self.features(views.local_px.flatten(0, 1)).view(b, views.local_px.shape[1], -1))
        h = torch.cat(feats, 1)
        return self.projector(h.flatten(0, 1)).view(b, h.shape[1], -1)


@dataclass
class LossParts:
    loss: torch.Tensor
    prediction: torch.Tensor
    sigreg: torch.Tensor
    std: float  # median per-dimension std of the embeddings (collapse when it goes to 0)


def lejepa_loss(z: torch.Tensor, n_global: int, lambd: float, seed: int, n_slices: int) -> LossParts:
    """z: (B, V, K) with the first `n_global` views global."""
    center = z[:, :n_global].mean(1, keepdim=True)
    prediction = (center - z).square().mean()
    reg = torch.stack([sigreg(z[:, v], seed, n_slices) for v in range(z.shape[1])]).mean()
    std = z.detach().float().std(0).median().item()
    return LossParts((1 - lambd) * prediction + lambd * reg, prediction, reg, std)
