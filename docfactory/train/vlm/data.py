"""Instruction pairs from a run's `pairs` shards (via the catalog), their page images, and the
tensors a step needs.

An example is the chat template's prefix (the user turn with the image and the prompt, up to where
the assistant's answer starts) followed by the answer and the template's end of turn. Labels are
−100 on the prefix (and padding): the loss is on answer tokens only. Prefix and answer are
tokenized apart, exactly as generation sees them (it starts right after the prefix).
"""

from __future__ import annotations

import io
import random
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import torch
import torch.nn.functional as F
from PIL import Image

from docfactory.engine.catalog import open_catalog
from docfactory.train.vlm.arch import Processing

IGNORE = -100


@dataclass(frozen=True)
class Pair:
    pair_id: str
    doc_id: str
    page: int
    kind: str
    task: str
    target: str | None
    prompt: str
    answer: str
    image_shard: str
    image_row: int
    copy: int | None


def load_pairs(run_dir: Path | str, split: str, tasks: tuple[str, ...] | None = None, max_pairs: int | None = None,
               seed: int = 0) -> list[Pair]:
    from docfactory.engine.shards import verify_listed

    with open_catalog(run_dir, read_only=True) as catalog:
        if not catalog.listed("pairs"):
            raise FileNotFoundError(f"{run_dir}: no pairs shards (run `engine emit {run_dir}` first)")
    # the pairs and the page images they point at: a corrupt shard is refused by name (CorruptShardError)
    verify_listed(run_dir, ("pairs", "documents", "augmented"))
    with open_catalog(run_dir, read_only=True) as catalog:
        sql = ("SELECT pair_id, doc_id, page, kind, task, target, prompt, answer, image_shard, image_row, \"copy\" "
               "FROM pairs WHERE split = ?")
        params: list = [split]
        if tasks:
            sql += f" AND task IN ({', '.join('?' for _ in tasks)})"
            params += list(tasks)
        pairs = [Pair(*row) for row in catalog.sql(sql + " ORDER BY pair_id", params).fetchall()]
    if not pairs:
        raise ValueError(f"{run_dir}: no pairs in split {split!r}" + (f" for tasks {', '.join(tasks)}" if tasks else ""))
    if max_pairs and len(pairs) > max_pairs:
        pairs = sorted(random.Random(seed).sample(pairs, max_pairs), key=lambda p: p.pair_id)
    return pairs


def prompt_bank(pairs: list[Pair]) -> dict[str, dict]:
    """Per kind, the prompt to ask at prediction time for each task: the most frequent training
    phrasing (ties: the first in order), and one prompt per table name."""
    bank: dict[str, dict] = {}
    counts: dict[tuple[str, str, str | None], Counter] = {}
    for p in pairs:
        key = (p.kind, p.task, p.target if p.task.startswith("table") else None)
        counts.setdefault(key, Counter())[p.prompt] += 1
    for (kind, task, target), counter in sorted(counts.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        prompt = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        entry = bank.setdefault(kind, {"tables": {}, "pairs": 0})
        if task == "table":
            entry["tables"][target] = prompt
        elif task in ("extract", "ocr"):
            entry[task] = prompt
        entry["pairs"] += sum(counter.values())
    return bank


class Images:
    """Page images by (shard, row), reading a shard's `image` column once and keeping a few shards."""

    def __init__(self, run_dir: Path | str, keep: int = 4):
        self.run_dir, self.keep = Path(run_dir), keep
        self.shards: OrderedDict[str, list] = OrderedDict()

    def get(self, shard: str, row: int) -> Image.Image:
        if shard not in self.shards:
            self.shards[shard] = pq.read_table(self.run_dir / shard, columns=["image"]).column("image").to_pylist()
            while len(self.shards) > self.keep:
                self.shards.popitem(last=False)
        self.shards.move_to_end(shard)
        with Image.open(io.BytesIO(self.shards[shard][row])) as img:
            return img.convert("RGB")


def epoch_order(pairs: list[Pair], seed: int, epoch: int) -> list[int]:
    """A seeded order that visits the image shards one after another (rows shuffled within each)."""
    rng = random.Random(f"{seed}:{epoch}")
    by_shard: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        by_shard.setdefault(p.image_shard, []).append(i)
    shards = sorted(by_shard)
    rng.shuffle(shards)
    order: list[int] = []
    for s in shards:
        rows = by_shard[s][:]
        rng.shuffle(rows)
        order += rows
    return order


class Stream:
    """Resumable micro-batches of pairs; `position` (epoch, cursor) is saved with each checkpoint."""

    def __init__(self, pairs: list[Pair], batch_size: int, seed: int, position: tuple[int, int] = (0, 0)):
        self.pairs, self.batch_size, self.seed = pairs, batch_size, seed
        self.epoch, self.cursor = position
        self.order = epoch_order(pairs, seed, self.epoch)

    @property
    def position(self) -> tuple[int, int]:
        return (self.epoch, self.cursor)

    def next(self) -> list[Pair]:
        if self.cursor >= len(self.order):
            self.epoch, self.cursor = self.epoch + 1, 0
            self.order = epoch_order(self.pairs, self.seed, self.epoch)
        batch = [self.pairs[i] for i in self.order[self.cursor:self.cursor + self.batch_size]]
        self.cursor += len(batch)
        return batch


def encode_example(proc: Processing, image: Image.Image, prompt: str, answer: str | None, max_length: int,
                   start_id: int | None = None) -> dict[str, torch.Tensor] | None:
    """One example's tensors (batch dimension 1). With an answer: prefix + answer ids and labels on
    the answer only, the answer cut to `max_length`; None when the prefix alone does not fit."""
    enc = proc.encode_prefix(image, proc.prefix(prompt))
    ids = enc["input_ids"]
    if start_id is not None:  # a VisionEncoderDecoder's decoder starts from its start token
        ids = torch.cat([torch.tensor([[start_id]]), ids], 1)
        enc["attention_mask"] = torch.ones_like(ids)
    n_prefix = ids.shape[1]
    if answer is None:
        enc["input_ids"] = ids
        return enc
    answer_ids = proc.tokenizer(proc.answer_text(prompt, answer), add_special_tokens=False, return_tensors="pt")["input_ids"]
    room = max_length - n_prefix
    if room < 1:
        return None
    answer_ids = answer_ids[:, :room]
    aligned = [k for k, v in enc.items() if k not in ("input_ids", "attention_mask") and v.dim() == 2 and v.shape[1] == n_prefix
               and not v.is_floating_point()]
    for k in aligned:  # per-token side inputs (token types): the answer is text
        enc[k] = torch.cat([enc[k], torch.zeros_like(answer_ids)], 1)
    enc["input_ids"] = torch.cat([ids, answer_ids], 1)
    enc["attention_mask"] = torch.ones_like(enc["input_ids"])
    enc["labels"] = torch.cat([torch.full((1, n_prefix), IGNORE), answer_ids], 1)
    return enc


def collate(examples: list[dict[str, torch.Tensor]], pad_id: int, left: bool = False) -> dict[str, torch.Tensor]:
    """Pad the token-aligned tensors (right for training, left for generation) and stack the image
    tensors (padded with zeros to the largest shape, as the processors pad images themselves)."""
    length = max(e["input_ids"].shape[1] for e in examples)
    token_keys = {k for k, v in examples[0].items() if v.dim() == 2 and v.shape[1] == examples[0]["input_ids"].shape[1]
                  and not v.is_floating_point()}
    out: dict[str, torch.Tensor] = {}
    for key in examples[0]:
        values = [e[key] for e in examples]
        if key in token_keys:
            fill = pad_id if key == "input_ids" else IGNORE if key == "labels" else 0
            out[key] = torch.cat([F.pad(v, (length - v.shape[1], 0) if left else (0, length - v.shape[1]), value=fill) for v in values])
        else:
            shape = [max(v.shape[d] for v in values) for d in range(values[0].dim())]
            if all(list(v.shape) == shape for v in values) or values[0].dim() == 0:
                out[key] = torch.cat(values)
            elif all(list(v.shape[1:]) == shape[1:] for v in values):  # variable rows (Qwen2-VL patches)
                out[key] = torch.cat(values)
            else:
                padded = []
                for v in values:
                    pad = []
                    for d in reversed(range(1, v.dim())):
                        pad += [0, shape[d] - v.shape[d]]
                    padded.append(F.pad(v, pad))
                out[key] = torch.cat(padded)
    return out
