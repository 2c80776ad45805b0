"""Evaluation: TEDS for tables, Donut-compatible field metrics, text metrics.

Every metric here is a plain function of (prediction, gold); batch helpers turn failures into error
rows instead of silent zeros.
"""

from docfactory.evaluate.teds import teds
from docfactory.evaluate.teds_batch import TedsResult, teds_many

__all__ = ["TedsResult", "teds", "teds_many"]
