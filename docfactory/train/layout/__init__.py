"""`layout`: the default trainable model — words (PDF text layer or Tesseract OCR) tagged by a small
LayoutLM built and trained here (fields BIO + table structure), assembled into fields JSON and table
HTML with per-field confidences. Iteration 0 trains in full; later iterations train LoRA adapters.

Modules: config (options, profiles.yaml), words (word sources, reading order), align (gold tags by box
overlap), tags, tokenizer, features (windows, batches), model, trainer, lora (iterations, merging),
assemble (tags -> answer), predictor.
"""

from docfactory.train.layout.predictor import LayoutPredictor
from docfactory.train.layout.trainer import LayoutTrainer, TrainError
from docfactory.train.registry import ModelEntry, register_model

ENTRY = register_model(ModelEntry(
    name="layout",
    description="LayoutLM-style word tagger trained here (fields + table structure); OCR or PDF words",
    predictor=LayoutPredictor,
    trainer=LayoutTrainer,
))

__all__ = ["ENTRY", "LayoutPredictor", "LayoutTrainer", "TrainError"]
