"""Pages -> word windows -> padded batches.

One position per word (not per WordPiece token): a word is its pieces (embedded and pooled by the
model) with its box in 0-1000 page coordinates, as LayoutLM expects, and its tags. Half the
sequence length of token-level tagging, the same information; every page of the built-in templates
fits one 512-word window. A longer page becomes overlapping windows; at prediction a word's
probabilities are averaged over the windows that hold it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from docfactory.train.layout.tags import HEADS, IGNORE
from docfactory.train.layout.tokenizer import CLS, PAD, SEP, word_pieces, word_shape

MAX_PIECES = 8  # a very long "word" (a URL, OCR garbage) keeps its first pieces only


@dataclass
class PageExample:
    words: list[dict]  # reading order: text, box (page pixels), vline
    width: int
    height: int
    labels: dict[str, list[int]] | None = None  # per head, one per word


@dataclass
class Window:
    page: int  # index of its PageExample
    pieces: list[list[int]]  # per position: the word's WordPiece ids ([CLS] / [SEP] at the ends)
    boxes: list[list[int]]
    word_index: list[int]  # the page word at each position (-1: [CLS] / [SEP])
    labels: dict[str, list[int]] = field(default_factory=dict)
    shapes: list[int] = field(default_factory=list)  # tokenizer.word_shape per position (0: [CLS] / [SEP])

    def __len__(self) -> int:
        return len(self.pieces)


def norm_box(box: dict, width: int, height: int) -> list[int]:
    sx, sy = 1000.0 / max(width, 1), 1000.0 / max(height, 1)
    x0, y0 = min(max(box["x0"] * sx, 0), 1000), min(max(box["y0"] * sy, 0), 1000)
    x1, y1 = min(max(box["x1"] * sx, x0), 1000), min(max(box["y1"] * sy, y0), 1000)
    return [int(x0), int(y0), int(x1), int(y1)]


def page_windows(index: int, example: PageExample, tokenizer, max_len: int, overlap: int) -> list[Window]:
    pieces = [p[:MAX_PIECES] for p in word_pieces(tokenizer, [w["text"] for w in example.words])]
    boxes = [norm_box(w["box"], example.width, example.height) for w in example.words]
    shapes = [word_shape(w["text"]) for w in example.words]
    n, size, windows, start = len(pieces), max_len - 2, [], 0
    while True:
        end = min(n, start + size)
        windows.append(_window(index, example, pieces, boxes, start, end, shapes))
        if end >= n:
            return windows
        start = max(end - overlap, start + 1)


def _window(index: int, example: PageExample, pieces, boxes, start: int, end: int, shapes: list[int]) -> Window:
    labels = {h: [IGNORE] + list(example.labels[h][start:end]) + [IGNORE] for h in HEADS} if example.labels else {}
    return Window(index, [[CLS]] + pieces[start:end] + [[SEP]],
                  [[0, 0, 0, 0]] + boxes[start:end] + [[1000, 1000, 1000, 1000]],
                  [-1] + list(range(start, end)) + [-1], labels, [0] + shapes[start:end] + [0])


def batches(windows: list[Window], batch_tokens: int, rng: np.random.Generator | None = None) -> list[list[int]]:
    """Window indexes grouped by similar length (little padding) with at most `batch_tokens`
    padded tokens a batch; batch order shuffled by `rng` (None: in length order)."""
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
    groups, current, longest = [], [], 0
    for i in order:
        longest_next = max(longest, len(windows[i]))
        if current and longest_next * (len(current) + 1) > batch_tokens:
            groups.append(current)
            current, longest_next = [], len(windows[i])
        current.append(i)
        longest = longest_next
    if current:
        groups.append(current)
    if rng is not None:
        groups = [groups[k] for k in rng.permutation(len(groups))]
    return groups


def collate(windows: list[Window]) -> dict[str, torch.Tensor]:
    length = max(len(w) for w in windows)
    size = (len(windows), length)
    width = max(len(p) for w in windows for p in w.pieces)
    ids = torch.full(size + (width,), PAD, dtype=torch.long)
    bbox = torch.zeros(size + (4,), dtype=torch.long)
    mask = torch.zeros(size, dtype=torch.long)
    shapes = torch.zeros(size, dtype=torch.long)
    out = {"piece_ids": ids, "bbox": bbox, "attention_mask": mask, "shape_ids": shapes}
    heads = windows[0].labels.keys()
    for h in heads:
        out[f"labels_{h}"] = torch.full(size, IGNORE, dtype=torch.long)
    for row, w in enumerate(windows):
        n = len(w)
        for k, p in enumerate(w.pieces):
            ids[row, k, : len(p)] = torch.tensor(p)
        bbox[row, :n] = torch.tensor(w.boxes)
        mask[row, :n] = 1
        if w.shapes:
            shapes[row, :n] = torch.tensor(w.shapes)
        for h in heads:
            out[f"labels_{h}"][row, :n] = torch.tensor(w.labels[h])
    return out


_CONFUSABLE = {"0": "O", "O": "0", "1": "l", "l": "1", "5": "S", "S": "5", ",": ".", ".": ",", "e": "c", "é": "e",
               "8": "B", "B": "8", "I": "l", "€": "E", "%": "X", "m": "rn"}


def noisy(example: PageExample, strength: float, rng: np.random.Generator) -> PageExample:
    """OCR-like noise on a training page: jittered boxes, confusable characters. Tags are kept."""
    if strength <= 0:
        return example
    words = []
    for w in example.words:
        b = w["box"]
        h = max(b["y1"] - b["y0"], 1.0)
        jitter = rng.normal(0.0, 0.25 * strength * h, 4)
        box = {"x0": b["x0"] + jitter[0], "y0": b["y0"] + jitter[1], "x1": b["x1"] + jitter[2], "y1": b["y1"] + jitter[3]}
        text = w["text"]
        if rng.random() < strength:
            k = int(rng.integers(len(text)))
            swap = _CONFUSABLE.get(text[k])
            if swap is not None:
                text = text[:k] + swap + text[k + 1:]
            elif len(text) > 3 and rng.random() < 0.3:
                text = text[:k] + text[k + 1:]
        words.append({**w, "text": text, "box": box})
    return PageExample(words, example.width, example.height, example.labels)


SLIP_ASPECT = 0.6  # width / height below this: a till roll (80 x 150+ mm), not A4 (0.71) or Letter (0.77)


def is_slip(example: PageExample) -> bool:
    return example.width < SLIP_ASPECT * example.height


def reframed(example: PageExample, rng: np.random.Generator) -> PageExample:
    """The page's words moved as a scan or a photo places a slip: the content shrunk into a random
    part of the frame (each axis on its own: scanner margins, a narrow roll on a wide bed), shifted,
    and skewed by up to 3 degrees. A synthetic page fills its frame edge to edge; on the real receipts
    the words span 60-90 % of the image's width and height, anywhere in it, so positions learned only
    from full frames do not transfer. Tags are kept."""
    if not example.words:
        return example
    x0 = min(w["box"]["x0"] for w in example.words)
    y0 = min(w["box"]["y0"] for w in example.words)
    x1 = max(w["box"]["x1"] for w in example.words)
    y1 = max(w["box"]["y1"] for w in example.words)
    width, height = float(example.width), float(example.height)
    sx, sy = rng.uniform(0.45, 1.0) * width / max(x1 - x0, 1.0), rng.uniform(0.45, 1.0) * height / max(y1 - y0, 1.0)
    sx, sy = min(sx, width / max(x1 - x0, 1.0)), min(sy, height / max(y1 - y0, 1.0))
    ox = rng.uniform(0.0, width - sx * (x1 - x0))
    oy = rng.uniform(0.0, height - sy * (y1 - y0))
    shear = np.tan(np.radians(rng.uniform(-3.0, 3.0)))
    cx = ox + sx * (x1 - x0) / 2

    def move(b: dict) -> dict:
        nx0, nx1 = ox + sx * (b["x0"] - x0), ox + sx * (b["x1"] - x0)
        dy = shear * ((nx0 + nx1) / 2 - cx)
        ny0, ny1 = oy + sy * (b["y0"] - y0) + dy, oy + sy * (b["y1"] - y0) + dy
        return {"x0": nx0, "y0": ny0, "x1": nx1, "y1": ny1}

    words = [{**w, "box": move(w["box"])} for w in example.words]
    return PageExample(words, example.width, example.height, example.labels)


def word_probabilities(windows: list[Window], logits: list[dict[str, torch.Tensor]], n_words: int) -> dict[str, np.ndarray]:
    """Per word, per head: softmax probabilities averaged over the windows holding the word."""
    sums: dict[str, np.ndarray] = {}
    counts = np.zeros(n_words, dtype=np.float32)
    for w, out in zip(windows, logits):
        index = np.array(w.word_index)
        keep = index >= 0
        for h, tensor in out.items():
            probs = torch.softmax(tensor[: len(w)].float(), dim=-1).numpy()
            if h not in sums:
                sums[h] = np.zeros((n_words, probs.shape[-1]), dtype=np.float32)
            np.add.at(sums[h], index[keep], probs[keep])
        np.add.at(counts, index[keep], 1.0)
    counts = np.maximum(counts, 1.0)
    return {h: s / counts[:, None] for h, s in sums.items()}
