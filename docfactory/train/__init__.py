"""Models, trainers and predictors behind one interface (`base.py`), found by name (`registry.py`).

    from docfactory.train import get_model
    predictor = get_model("tesseract").predictor()
"""

from docfactory.train.base import PageInput, Predictor, Trainer
from docfactory.train.registry import MODEL_MODULES, ModelEntry, get_model, known_models, register_model

__all__ = ["MODEL_MODULES", "ModelEntry", "PageInput", "Predictor", "Trainer", "get_model", "known_models",
           "register_model"]
