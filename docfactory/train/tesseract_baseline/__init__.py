"""`tesseract`: the baseline without training — Tesseract words, then rules: label keywords in the
page's language (keywords.yaml) -> the nearest value to the right or below; line-item tables from
column alignment under a header line. What a user without a trained model would do; scored like
any predictor."""

from docfactory.train.registry import ModelEntry, register_model
from docfactory.train.tesseract_baseline.predictor import TesseractPredictor

ENTRY = register_model(ModelEntry(
    name="tesseract",
    description="baseline: Tesseract OCR + keyword rules (no training)",
    predictor=TesseractPredictor,
))

__all__ = ["ENTRY", "TesseractPredictor"]
