"""The one interface every model plugs into: a predictor turns pages into prediction rows (the
JSONL that `engine evaluate` reads); a trainer turns a run's training split into a checkpoint.

Train never imports generators: it reads shards (via the catalog) or image files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol, TypeVar


@dataclass
class PageInput:
    """What a predictor sees of one page. `words` is the PDF text layer when the page came from a
    run (the `pdf` word source); image-only inputs (real scans) have none."""

    doc_id: str
    page: int
    image: bytes  # PNG/JPEG bytes
    width: int
    height: int
    copy: int | None = None  # augmented copy index, None for the clean page
    kind: str | None = None
    words: list[dict] | None = None  # [{"text", "box": {"x0","y0","x1","y1"}}]
    meta: dict[str, Any] = field(default_factory=dict)


class Predictor(Protocol):
    """Yields one prediction dict per page: {"doc_id", "page", ["copy"], "fields", "tables", "text",
    ["confidence"]} — the predictions JSONL format of `engine evaluate`."""

    name: str

    def predict(self, pages: Iterable[PageInput]) -> Iterator[dict]: ...


class Trainer(Protocol):
    name: str

    def train(self, run_dir: Path, out_dir: Path, **options: Any) -> Path:
        """Train on the run's training split; returns the checkpoint directory."""
        ...


T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of `size` items (the last may be shorter): predictors OCR and run the model
    per chunk, so memory stays bounded and progress steady on long page streams."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
