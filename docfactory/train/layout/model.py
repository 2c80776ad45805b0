"""A small LayoutLM (text + 1D + 2D position embeddings, a BERT encoder) with one linear head per
tag set. Its input is one position per word: the word's WordPiece embeddings (plus an in-word
position embedding) averaged, given to LayoutLM as `inputs_embeds`. The transformers config is built here and the weights start random: nothing is
downloaded, ever.

Saved as a folder: model.safetensors (weights), model.json (model options, tag set, separators),
tokenizer.json. LoRA adapters (peft) live in their own folders and are merged on load.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import LayoutLMConfig, LayoutLMModel

from docfactory.train.layout.config import ModelOptions
from docfactory.train.layout.features import MAX_PIECES
from docfactory.train.layout.tags import HEADS, IGNORE, TagSet
from docfactory.train.layout.tokenizer import N_SHAPES, PAD, load_tokenizer, save_tokenizer

WEIGHTS, META, TOKENIZER = "model.safetensors", "model.json", "tokenizer.json"


def encoder_config(options: ModelOptions) -> LayoutLMConfig:
    # vocab_size 4: LayoutLM's own token embedding is unused (words arrive as inputs_embeds).
    return LayoutLMConfig(vocab_size=4, hidden_size=options.hidden_size, num_hidden_layers=options.layers,
                          num_attention_heads=options.heads, intermediate_size=options.intermediate_size,
                          hidden_dropout_prob=options.dropout, attention_probs_dropout_prob=options.dropout,
                          max_position_embeddings=512, max_2d_position_embeddings=1024, pad_token_id=PAD)


class LayoutTagger(nn.Module):
    def __init__(self, options: ModelOptions, vocab_size: int, tagset: TagSet):
        super().__init__()
        self.options, self.tagset = options, tagset
        self.pieces = nn.Embedding(vocab_size, options.hidden_size, padding_idx=PAD)
        self.piece_position = nn.Embedding(MAX_PIECES, options.hidden_size)
        # case folded away from the pieces comes back as the word's shape (UPPER, Title, ...)
        self.shapes = nn.Embedding(N_SHAPES, options.hidden_size) if options.case == "fold" else None
        self.encoder = LayoutLMModel(encoder_config(options))
        self.dropout = nn.Dropout(options.dropout)
        self.heads = nn.ModuleDict({h: nn.Linear(options.hidden_size, n) for h, n in tagset.sizes().items()})

    def embed_words(self, piece_ids: torch.Tensor) -> torch.Tensor:
        """[batch, words, pieces] ids -> [batch, words, hidden]: mean of piece + in-word position."""
        present = (piece_ids != PAD).unsqueeze(-1).float()
        positions = self.piece_position.weight[: piece_ids.shape[-1]]
        summed = ((self.pieces(piece_ids) + positions) * present).sum(dim=2)
        return summed / present.sum(dim=2).clamp(min=1.0)

    def forward(self, piece_ids, bbox, attention_mask, shape_ids=None, **labels) -> dict[str, torch.Tensor]:
        words = self.embed_words(piece_ids)
        if self.shapes is not None and shape_ids is not None:
            words = words + self.shapes(shape_ids)
        hidden = self.encoder(inputs_embeds=words, bbox=bbox, attention_mask=attention_mask).last_hidden_state
        hidden = self.dropout(hidden)
        return {h: head(hidden) for h, head in self.heads.items()}


def tag_loss(logits: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], weights: dict[str, float]) -> torch.Tensor:
    """Weighted sum of each head's cross-entropy over the tokens that carry a tag."""
    total = torch.zeros(())
    for h in HEADS:
        labels = batch[f"labels_{h}"]
        if (labels != IGNORE).any():
            loss = nn.functional.cross_entropy(logits[h].flatten(0, 1), labels.flatten(), ignore_index=IGNORE)
            total = total + weights.get(h, 1.0) * loss
    return total


def save_model(model: LayoutTagger, tokenizer, extra: dict, folder: Path) -> None:
    """Write the model folder atomically: a temporary sibling, then a rename."""
    folder = Path(folder)
    tmp = folder.with_name(f".tmp-{os.getpid()}-{folder.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp / WEIGHTS))
    meta = {"options": model.options.model_dump(), "vocab_size": tokenizer.get_vocab_size(),
            "tagset": model.tagset.to_json(), **extra}
    (tmp / META).write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
    save_tokenizer(tokenizer, tmp / TOKENIZER)
    for f in tmp.iterdir():
        with open(f, "rb") as handle:
            os.fsync(handle.fileno())
    if folder.exists():
        old = folder.with_name(f".old-{os.getpid()}-{folder.name}")
        os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, folder)


def load_model(folder: Path) -> tuple[LayoutTagger, object, dict]:
    """(model in eval mode, tokenizer, meta) from a folder save_model wrote."""
    folder = Path(folder)
    if not (folder / WEIGHTS).exists():
        raise FileNotFoundError(f"{folder}: no {WEIGHTS} (not a trained layout model)")
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    options = ModelOptions(**{"case": "keep", **meta["options"]})  # models saved before `case` existed kept it
    model = LayoutTagger(options, meta["vocab_size"], TagSet.from_json(meta["tagset"]))
    model.load_state_dict(load_file(str(folder / WEIGHTS)))
    model.eval()
    return model, load_tokenizer(folder / TOKENIZER), meta
