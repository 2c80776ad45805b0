"""OCR word sources: words with boxes, confidences and line ids, cached by image hash.

Two engines: Tesseract 5 (here) and RapidOCR (docfactory.train.rapid_ocr), chosen by
`OcrSettings.engine`. OCR costs about 2 s per page on one core, so every result is cached under a
key made of the image's sha256 and the OCR settings, the engine and its version among them; the
engine backs the cache with the run's `ocr` shards, so a page is read once per run whatever model or
step asks for it. Tesseract runs as a subprocess (the Debian `tesseract-ocr` package), one page per
process, `OMP_THREAD_LIMIT=1`, `workers` at a time.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from PIL import Image, UnidentifiedImageError


class OcrError(RuntimeError):
    pass


class BadImage(ValueError):
    """An input that is not a readable image (names the page)."""


ENGINES = ("tesseract", "rapidocr")
# Tesseract loses decimal points on 120-dpi pages at 1.0. RapidOCR resizes for its detector itself and
# reads 48-px-high line crops: on the SROIE receipts 2.0 made it slower and found fewer gold values.
ENGINE_SCALE = {"tesseract": 2.0, "rapidocr": 1.0}


@dataclass(frozen=True)
class OcrSettings:
    lang: str = "eng+deu+fra"  # Tesseract only: RapidOCR's one recognition model reads Latin scripts
    psm: int = 3  # Tesseract only; fully automatic page segmentation: columns and tables come out as blocks
    # Upscale before OCR (boxes are mapped back); None: the engine's own, see ENGINE_SCALE.
    scale: float | None = None
    min_conf: float = 0.0  # drop words below this confidence (0-100, Tesseract's scale; RapidOCR's 0-1 x 100)
    engine: str = "tesseract"  # tesseract | rapidocr

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown OCR engine {self.engine!r} (known: {', '.join(ENGINES)})")

    def upscale(self) -> float:
        """The scale actually applied: `scale`, or the engine's own when None."""
        return ENGINE_SCALE[self.engine] if self.scale is None else self.scale

    def tag(self) -> str:
        """What the cache key records: a result is reused only under the same engine, version and settings."""
        if self.engine == "rapidocr":
            from docfactory.train.rapid_ocr import rapidocr_version

            # lang and psm do not reach RapidOCR: leaving them out lets such runs share results
            return f"rapidocr-{rapidocr_version()}:x{self.upscale():g}:c{self.min_conf:g}"
        # Unchanged from before engines were selectable, so existing Tesseract caches stay valid.
        return f"tesseract-{tesseract_version()}:{self.lang}:psm{self.psm}:x{self.upscale():g}:c{self.min_conf:g}"


class OcrCache(Protocol):
    def get(self, key: str) -> list[dict] | None: ...

    def put(self, key: str, words: list[dict], seconds: float) -> None: ...


class MemoryCache:
    """A cache for one process (tests, --images without a run)."""

    def __init__(self) -> None:
        self.entries: dict[str, list[dict]] = {}

    def get(self, key: str) -> list[dict] | None:
        return self.entries.get(key)

    def put(self, key: str, words: list[dict], seconds: float) -> None:
        self.entries[key] = words


_VERSION: list[str] = []


def tesseract_version() -> str:
    if not _VERSION:
        exe = shutil.which("tesseract")
        if exe is None:
            raise OcrError("tesseract not found: install the Debian package tesseract-ocr "
                           "(scripts/system-deps.sh does, with tesseract-ocr-deu and tesseract-ocr-fra)")
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
        first = (out.stdout or out.stderr).split("\n", 1)[0].split()
        _VERSION.append(first[-1] if first else "unknown")
    return _VERSION[0]


def image_key(image: bytes, settings: OcrSettings) -> str:
    return f"{hashlib.sha256(image).hexdigest()}:{settings.tag()}"


def check_image(image: bytes, where: str) -> tuple[int, int]:
    """(width, height) of an image, or BadImage naming `where`."""
    try:
        with Image.open(io.BytesIO(image)) as img:
            img.verify()
        with Image.open(io.BytesIO(image)) as img:
            return img.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadImage(f"{where}: not a readable image ({type(exc).__name__}: {exc})") from None


def run_tesseract(image: bytes, settings: OcrSettings) -> list[dict]:
    """Words of one page image: [{"text", "box", "conf", "line"}] in Tesseract's reading order."""
    exe = shutil.which("tesseract")
    if exe is None:
        tesseract_version()  # raises the install hint
    data = image
    scale = settings.upscale()
    if scale != 1.0:
        with Image.open(io.BytesIO(image)) as img:
            img = img.convert("L")
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.BICUBIC)
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            data = buf.getvalue()
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    proc = subprocess.run([exe, "stdin", "stdout", "-l", settings.lang, "--psm", str(settings.psm), "tsv"],
                          input=data, capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        raise OcrError(f"tesseract failed ({proc.returncode}): {proc.stderr.decode(errors='replace').strip()[:300]}")
    return parse_tsv(proc.stdout.decode("utf-8", errors="replace"), 1.0 / scale, settings.min_conf)


def parse_tsv(tsv: str, factor: float = 1.0, min_conf: float = 0.0) -> list[dict]:
    words: list[dict] = []
    line_ids: dict[tuple[str, str, str], int] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        conf = float(cols[10])
        if not text or conf < min_conf:
            continue
        left, top, width, height = (float(c) * factor for c in cols[6:10])
        line = line_ids.setdefault((cols[2], cols[3], cols[4]), len(line_ids))
        words.append({"text": text, "box": {"x0": left, "y0": top, "x1": left + width, "y1": top + height},
                      "conf": conf / 100.0, "line": line})
    return words


def read_words(image: bytes, settings: OcrSettings) -> list[dict]:
    """One page image through the settings' engine."""
    if settings.engine == "rapidocr":
        from docfactory.train.rapid_ocr import run_rapidocr

        return run_rapidocr(image, settings)
    return run_tesseract(image, settings)


def ocr_images(images: list[bytes], settings: OcrSettings, cache: OcrCache | None = None, workers: int = 1,
               on_page=None) -> list[list[dict]]:
    """OCR many page images (cached ones are not read again); `on_page(i, seconds)` per new page."""
    cache = cache if cache is not None else MemoryCache()
    keys = [image_key(img, settings) for img in images]
    results: list[list[dict] | None] = [cache.get(k) for k in keys]
    todo: dict[str, list[int]] = {}
    for i, (key, found) in enumerate(zip(keys, results)):
        if found is None:
            todo.setdefault(key, []).append(i)

    def one(key: str) -> tuple[str, list[dict], float]:
        started = time.perf_counter()
        words = read_words(images[todo[key][0]], settings)
        return key, words, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for key, words, seconds in pool.map(one, list(todo)):
            cache.put(key, words, seconds)
            for i in todo[key]:
                results[i] = words
                if on_page:
                    on_page(i, seconds)
    return [r or [] for r in results]
