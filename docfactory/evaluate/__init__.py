"""Evaluation: TEDS for tables, Donut-compatible field metrics, per-field comparison rows, numbers
and text metrics.

Every metric here is a plain function of (prediction, gold); batch helpers turn failures into error
rows instead of silent zeros.
"""

from docfactory.evaluate.field_compare import ErrorType, FieldComparison, compare_fields
from docfactory.evaluate.fields import field_f1, normalize_dict, ted_accuracy
from docfactory.evaluate.number_parse import HALF_CENT, numbers_match, parse_number
from docfactory.evaluate.numeric import NumericCheck, numeric_consistency, parse_localized
from docfactory.evaluate.teds import teds
from docfactory.evaluate.teds_batch import TedsResult, teds_many
from docfactory.evaluate.text_metrics import cer, corpus_cer, corpus_wer, normalized_edit_distance, wer

__all__ = [
    "HALF_CENT",
    "ErrorType",
    "FieldComparison",
    "NumericCheck",
    "TedsResult",
    "cer",
    "compare_fields",
    "corpus_cer",
    "corpus_wer",
    "field_f1",
    "normalize_dict",
    "normalized_edit_distance",
    "numbers_match",
    "numeric_consistency",
    "parse_localized",
    "parse_number",
    "ted_accuracy",
    "teds",
    "teds_many",
    "wer",
]
