"""RapidOCR (PP-OCRv6 small, ONNX Runtime) as a word source beside Tesseract.

The models ship inside the `rapidocr` wheel; every model path is given explicitly, because RapidOCR
fetches a model from the network whenever it is left to find one by name. The ONNX sessions run on
one thread: results do not depend on the machine's core count, and `workers` threads use `workers`
cores. RapidOCR reads text LINES (a quadrilateral each); they are cut into words here so that both
engines hand the same word dicts to the layout model.
"""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from docfactory.train.ocr import BadImage, OcrError, OcrSettings

MODEL = "PP-OCRv6_small"  # detection and recognition; the angle classifier is PP-OCR's mobile v2.0
_MODEL_FILES = {"Det": "PP-OCRv6_det_small.onnx", "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
                "Rec": "PP-OCRv6_rec_small.onnx"}
# Pages here are upright: the 180-degree line classifier only costs time, and on SROIE receipt 007 it
# turned the upright "W-00" over into "00-m".
USE_CLS = False

_ENGINES: dict[tuple, object] = {}
_LOCK = threading.Lock()
_WORD = re.compile(r"\S+")


def rapidocr_version() -> str:
    """The package version and model name: what the cache key records for this engine."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{version('rapidocr')}-{MODEL}"
    except PackageNotFoundError:
        raise OcrError("rapidocr is not installed: pip install 'rapidocr>=3.10,<4' onnxruntime") from None


def _params(settings: OcrSettings) -> dict:
    """RapidOCR's parameters; `settings` has nothing for it yet beyond the scale, applied before it."""
    import rapidocr

    models = Path(rapidocr.__file__).parent / "models"
    params: dict = {f"{stage}.model_path": str(models / name) for stage, name in _MODEL_FILES.items()}
    params.update({"Global.log_level": "error", "Global.use_cls": USE_CLS,
                   "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                   "EngineConfig.onnxruntime.inter_op_num_threads": 1})
    return params


def engine(settings: OcrSettings):
    """One RapidOCR per process and parameter set, built on first use (it loads its models on the
    first page). Threads share it: ONNX Runtime sessions may run concurrently."""
    try:
        params = _params(settings)
        from rapidocr import RapidOCR
    except ImportError as exc:
        raise OcrError(f"rapidocr cannot be imported ({exc}): pip install 'rapidocr>=3.10,<4' onnxruntime") from None
    key = tuple(sorted(params.items()))
    with _LOCK:
        if key not in _ENGINES:
            missing = [p for k, p in params.items() if k.endswith("model_path") and not Path(p).is_file()]
            if missing:  # RapidOCR would download a replacement; this project never downloads at run time
                raise OcrError(f"rapidocr models missing from the package: {', '.join(missing)}")
            _ENGINES[key] = RapidOCR(params=params)
        return _ENGINES[key]


def run_rapidocr(image: bytes, settings: OcrSettings) -> list[dict]:
    """Words of one page image: [{"text", "box", "conf", "line"}], lines top to bottom, in image pixels."""
    try:
        with Image.open(io.BytesIO(image)) as img:
            rgb = img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadImage(f"not a readable image ({type(exc).__name__}: {exc})") from None
    scale = settings.upscale()
    if scale != 1.0:
        rgb = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.BICUBIC)
    try:
        result = engine(settings)(rgb)
    except OcrError:
        raise
    except Exception as exc:  # onnxruntime and OpenCV raise their own types; callers expect one
        raise OcrError(f"rapidocr failed: {type(exc).__name__}: {str(exc)[:300]}") from None
    if result.txts is None or result.boxes is None:
        return []
    words: list[dict] = []
    for line, (quad, text, score) in enumerate(zip(result.boxes, result.txts, result.scores)):
        if float(score) * 100.0 < settings.min_conf:  # min_conf is on Tesseract's 0-100 scale
            continue
        corners = [(float(x) / scale, float(y) / scale) for x, y in quad]
        words.extend(split_line(text, corners, float(score), line))
    return words


def split_line(text: str, quad: list[tuple[float, float]], conf: float, line: int) -> list[dict]:
    """A line's words, each boxed by the slice of the line's quadrilateral that its characters take in
    the text (spaces included, so the gaps between words fall between their boxes).

    Slicing the quadrilateral along its top and bottom edges, not its upright enclosing box, keeps a
    word on a skewed scan as low as its own part of the line: the enclosing box of a whole tilted
    line overlaps the next line, and the reading order would then interleave the two lines' words.
    """
    (tlx, tly), (trx, try_), (brx, bry), (blx, bly) = quad  # clockwise from top-left, as RapidOCR gives them
    n = max(1, len(text))
    words = []
    for m in _WORD.finditer(text):
        a, b = m.start() / n, m.end() / n
        xs = [tlx + a * (trx - tlx), tlx + b * (trx - tlx), blx + a * (brx - blx), blx + b * (brx - blx)]
        ys = [tly + a * (try_ - tly), tly + b * (try_ - tly), bly + a * (bry - bly), bly + b * (bry - bly)]
        words.append({"text": m.group(), "box": {"x0": min(xs), "y0": min(ys), "x1": max(xs), "y1": max(ys)},
                      "conf": conf, "line": line})
    return words
