"""Readers of labelled real-document datasets: each turns a source folder (or file) into RealPages.

Formats:
- ``sroie``: ``img/NNN.jpg``, ``key/NNN.json`` (the four task-3 keys), optional ``box/NNN.csv``
  (the dataset's own OCR: ``x1,y1,...,x4,y4,transcript`` per text line).
- ``donut``: a ``metadata.jsonl`` (the file, or a folder holding it) of ``{"file_name", "ground_truth":
  "{\\"gt_parse\\": {...}}"}`` lines, images beside it (CORD as Donut publishes it).
- ``funsd``: ``annotations/*.json`` forms and ``images/*.png``; a question linked to an answer is a
  label (key: the question's text without its trailing colon); the dataset's words and the answers'
  boxes come along.
- ``json``: ``images/`` and ``labels.jsonl`` of ``{"image": "a.png", "fields": {...}}`` (nested or
  dotted keys; optional ``doc_id``), for a team's own documents.
- ``pubtabnet``: a PubTabNet/FinTabNet-style JSONL (``filename``, ``html.structure.tokens``,
  ``html.cells[].tokens``) with the table images beside it; the gold is the table's HTML.

Every problem is a RealSetError naming the file (and line), raised before anything is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


class RealSetError(ValueError):
    """Bad input of an import: one message naming the file (and line)."""


@dataclass
class RealPage:
    doc_id: str
    image: Path
    where: str  # the labels' file (and line): error messages name it
    labels: dict[str, str] = field(default_factory=dict)  # flat dataset keys ("menu.0.nm") -> printed value
    words: list[dict] | None = None  # the dataset's own OCR: [{"text", "box", "line"}], if it has one
    boxes: dict[str, list[dict]] = field(default_factory=dict)  # dataset key -> boxes, where the dataset has them
    tables: list[str] = field(default_factory=list)  # gold table HTML (pubtabnet)


def read_sroie(src: Path) -> list[RealPage]:
    images = _images_by_stem(_folder(src, "img"))
    keys = {p.stem: p for p in sorted(_folder(src, "key").glob("*.json"))}
    box_dir = src / "box"
    for stem, path in sorted(keys.items()):
        if stem not in images:
            raise RealSetError(f"{path}: a label for no image (no {src / 'img'}/{stem}.jpg)")
    pages = []
    for stem, image in sorted(images.items()):
        if stem not in keys:
            raise RealSetError(f"{image}: no labels for this image (no {src / 'key'}/{stem}.json)")
        labels = _json_object(keys[stem])
        bad = [k for k, v in labels.items() if not isinstance(v, str)]
        if bad:
            raise RealSetError(f"{keys[stem]}: key {bad[0]!r} is not a string")
        box = box_dir / f"{stem}.csv"
        words = _sroie_words(box) if box.exists() else None
        pages.append(RealPage(stem, image, str(keys[stem]), dict(labels), words))
    return pages


def read_donut(src: Path) -> list[RealPage]:
    meta = src / "metadata.jsonl" if src.is_dir() else src
    pages = []
    for number, obj in _jsonl(meta):
        where = f"{meta}:{number}"
        name = obj.get("file_name")
        if not isinstance(name, str):
            raise RealSetError(f"{where}: no \"file_name\"")
        gt = obj.get("ground_truth")
        try:
            gt = json.loads(gt) if isinstance(gt, str) else gt
        except json.JSONDecodeError as exc:
            raise RealSetError(f"{where}: ground_truth is not valid JSON ({exc.msg})") from None
        if not isinstance(gt, dict) or not isinstance(gt.get("gt_parse"), dict):
            raise RealSetError(f"{where}: ground_truth has no gt_parse object")
        pages.append(RealPage(Path(name).stem, _image(meta.parent / name, where), where, flatten(gt["gt_parse"])))
    return _unique(pages)


def read_funsd(src: Path) -> list[RealPage]:
    images = _images_by_stem(_folder(src, "images"))
    pages = []
    for path in sorted(_folder(src, "annotations").glob("*.json")):
        if path.stem not in images:
            raise RealSetError(f"{path}: a label for no image (no {src / 'images'}/{path.stem}.png)")
        form = _json_object(path).get("form")
        if not isinstance(form, list):
            raise RealSetError(f"{path}: no \"form\" list")
        try:
            pages.append(_funsd_page(path, images[path.stem], form))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise RealSetError(f"{path}: not a FUNSD form ({type(exc).__name__}: {exc})") from None
    for stem, image in sorted(images.items()):
        if not (src / "annotations" / f"{stem}.json").exists():
            raise RealSetError(f"{image}: no labels for this image (no {src / 'annotations'}/{stem}.json)")
    return pages


def read_json(src: Path) -> list[RealPage]:
    labels = src / "labels.jsonl" if src.is_dir() else src
    folder = labels.parent / "images"
    pages = []
    for number, obj in _jsonl(labels):
        where = f"{labels}:{number}"
        name = obj.get("image", obj.get("file_name"))
        if not isinstance(name, str):
            raise RealSetError(f"{where}: no \"image\" (the file's name in {folder})")
        fields = obj.get("fields")
        if not isinstance(fields, dict):
            raise RealSetError(f"{where}: no \"fields\" object")
        doc_id = obj.get("doc_id", Path(name).stem)
        if not isinstance(doc_id, str) or not doc_id:
            raise RealSetError(f"{where}: doc_id must be a non-empty string")
        flat = flatten(fields)
        bad = [k for k, v in flat.items() if not isinstance(v, str)]
        if bad:
            raise RealSetError(f"{where}: field {bad[0]!r} is not a string (print values as text)")
        pages.append(RealPage(doc_id, _image(folder / name, where), where, flat))
    images = {p.image.resolve() for p in pages}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.resolve() not in images:
                raise RealSetError(f"{path}: no labels for this image (no line of {labels} names it)")
    return _unique(pages)


def read_pubtabnet(src: Path) -> list[RealPage]:
    path = src if src.is_file() else _one_jsonl(src)
    pages = []
    for number, obj in _jsonl(path):
        where = f"{path}:{number}"
        try:
            name = obj["filename"]
            html = table_html(obj["html"]["structure"]["tokens"], [c["tokens"] for c in obj["html"]["cells"]])
        except (KeyError, TypeError) as exc:
            raise RealSetError(f"{where}: not a PubTabNet line (missing {exc})") from None
        except ValueError as exc:
            raise RealSetError(f"{where}: {exc}") from None
        pages.append(RealPage(Path(name).stem, _image(path.parent / name, where), where, tables=[html]))
    return _unique(pages)


READERS: dict[str, Callable[[Path], list[RealPage]]] = {
    "sroie": read_sroie, "donut": read_donut, "funsd": read_funsd, "json": read_json, "pubtabnet": read_pubtabnet,
}
DEFAULT_MAPS = {"sroie": "sroie", "donut": None, "funsd": None, "json": None, "pubtabnet": None}


def read_source(src: Path | str, fmt: str) -> list[RealPage]:
    if fmt not in READERS:
        raise RealSetError(f"unknown format {fmt!r} (known: {', '.join(READERS)})")
    src = Path(src)
    if not src.exists():
        raise RealSetError(f"{src}: no such file or folder")
    pages = READERS[fmt](src)
    if not pages:
        raise RealSetError(f"{src}: no labelled pages found for format {fmt}")
    return sorted(pages, key=lambda p: p.doc_id)


# -- helpers ----------------------------------------------------------------------------------------
def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{"menu": [{"nm": "x"}]} -> {"menu.0.nm": "x"}; a list of plain values gets indexes too."""
    out: dict[str, Any] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            out.update(flatten(value, f"{prefix}.{i}" if prefix else str(i)))
    elif prefix:
        out[prefix] = tree
    return out


def split_line(text: str, box: dict, line: int) -> list[dict]:
    """A text line with one box -> words, each boxed by its share of the line's characters."""
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text)]
    if not tokens:
        return []
    x0, x1, n = box["x0"], box["x1"], max(len(text), 1)
    width = x1 - x0
    return [{"text": t, "box": {"x0": x0 + width * a / n, "y0": box["y0"], "x1": x0 + width * b / n, "y1": box["y1"]},
             "line": line} for a, b, t in tokens]


def table_html(structure: list[str], cells: list[list[str]]) -> str:
    """PubTabNet's structure tokens with each cell's tokens put before its </td> (as its own
    format_html does); a structure and cell list that do not fit are a ValueError."""
    out: list[str] = []
    remaining = iter(cells)
    for token in structure:
        if token == "</td>":
            cell = next(remaining, None)
            if cell is None:
                raise ValueError("more <td> in the structure than cells")
            out.append("".join(cell))
        out.append(token)
    if next(remaining, None) is not None:
        raise ValueError("more cells than <td> in the structure")
    return f"<table>{''.join(out)}</table>"


def _sroie_words(path: Path) -> list[dict]:
    words: list[dict] = []
    for number, raw in enumerate(_text(path).splitlines(), 1):
        if not raw.strip():
            continue
        parts = raw.split(",", 8)
        try:
            xs, ys = [float(v) for v in parts[0:8:2]], [float(v) for v in parts[1:8:2]]
            text = parts[8]
        except (ValueError, IndexError):
            raise RealSetError(f"{path}:{number}: expected x1,y1,x2,y2,x3,y3,x4,y4,transcript") from None
        box = {"x0": min(xs), "y0": min(ys), "x1": max(xs), "y1": max(ys)}
        words += split_line(text.strip(), box, len({w["line"] for w in words}))
    return words


def _funsd_page(path: Path, image: Path, form: list[dict]) -> RealPage:
    by_id = {e["id"]: e for e in form}
    labels: dict[str, str] = {}
    boxes: dict[str, list[dict]] = {}
    words: list[dict] = []
    for line, entity in enumerate(form):
        for w in entity.get("words", []):
            x0, y0, x1, y1 = w["box"]
            if str(w["text"]).strip():
                words.append({"text": str(w["text"]).strip(), "box": {"x0": x0, "y0": y0, "x1": x1, "y1": y1}, "line": line})
    for entity in form:
        if entity.get("label") != "question":
            continue
        key = " ".join(str(entity["text"]).split()).rstrip(":").strip()
        for a, b in entity.get("linking", []):
            answer = by_id.get(b if a == entity["id"] else a)
            if not key or answer is None or answer.get("label") != "answer" or not str(answer["text"]).strip():
                continue
            value = " ".join(str(answer["text"]).split())
            labels[key] = f"{labels[key]} {value}" if key in labels else value
            x0, y0, x1, y1 = answer["box"]
            boxes.setdefault(key, []).append({"x0": x0, "y0": y0, "x1": x1, "y1": y1})
    return RealPage(path.stem, image, str(path), labels, words, boxes)


def _folder(src: Path, name: str) -> Path:
    folder = src / name
    if not folder.is_dir():
        raise RealSetError(f"{src}: no {name}/ folder here")
    return folder


def _images_by_stem(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            if path.stem in out:
                raise RealSetError(f"{path} and {out[path.stem]}: two images for one page; keep one")
            out[path.stem] = path
    return out


def _image(path: Path, where: str) -> Path:
    if not path.is_file():
        raise RealSetError(f"{where}: image {path} is missing")
    return path


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RealSetError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _json_object(path: Path) -> dict:
    try:
        obj = json.loads(_text(path))
    except json.JSONDecodeError as exc:
        raise RealSetError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise RealSetError(f"{path}: expected a JSON object")
    return obj


def _jsonl(path: Path):
    if not path.is_file():
        raise RealSetError(f"{path}: no such file")
    for number, line in enumerate(_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RealSetError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise RealSetError(f"{path}:{number}: expected a JSON object")
        yield number, obj


def _one_jsonl(folder: Path) -> Path:
    found = sorted(folder.glob("*.jsonl"))
    if len(found) != 1:
        raise RealSetError(f"{folder}: expected one .jsonl file of PubTabNet lines, found {len(found)}")
    return found[0]


def _unique(pages: list[RealPage]) -> list[RealPage]:
    seen: dict[str, str] = {}
    for page in pages:
        if page.doc_id in seen:
            raise RealSetError(f"{page.where}: page {page.doc_id!r} again (first at {seen[page.doc_id]})")
        seen[page.doc_id] = page.where
    return pages
