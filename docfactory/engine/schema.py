"""Declared Parquet schemas, one per shard kind: columns are fixed up front (as mosaicml/streaming
does) so every shard of a kind has the same schema and DuckDB can union them."""

from __future__ import annotations

import pyarrow as pa

BOX = pa.struct([("x0", pa.float32()), ("y0", pa.float32()), ("x1", pa.float32()), ("y1", pa.float32())])

KNOBS = pa.struct([
    ("locale", pa.string()), ("currency", pa.string()), ("n_items", pa.int32()), ("tax_rate", pa.string()),
    ("discount_rate", pa.string()), ("font", pa.string()), ("dpi", pa.int32()),
])

DOCUMENTS_SCHEMA = pa.schema([
    ("doc_id", pa.string()),
    ("template", pa.string()),
    ("template_version", pa.string()),
    ("kind", pa.string()),
    ("seed", pa.int64()),
    ("knobs", KNOBS),
    ("content_hash", pa.string()),
    ("page", pa.int32()),
    ("n_pages", pa.int32()),
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("dpi", pa.int32()),
    ("image", pa.binary()),
    ("words", pa.list_(pa.struct([("text", pa.string()), ("box", BOX), ("line", pa.int32())]))),
    ("lines", pa.list_(pa.struct([("text", pa.string()), ("box", BOX)]))),
    ("fields", pa.list_(pa.struct([
        ("name", pa.string()), ("type", pa.string()), ("value", pa.string()), ("normalized", pa.string()),
        ("boxes", pa.list_(BOX)),
    ]))),
    ("tables", pa.list_(pa.struct([
        ("name", pa.string()), ("html", pa.string()), ("n_rows", pa.int32()), ("n_cols", pa.int32()),
        ("has_spans", pa.bool_()),
        ("cells", pa.list_(pa.struct([
            ("row", pa.int32()), ("col", pa.int32()), ("rowspan", pa.int32()), ("colspan", pa.int32()),
            ("text", pa.string()), ("header", pa.bool_()), ("box", BOX),
        ]))),
    ]))),
    ("ground_truth", pa.string()),
    ("split", pa.string()),
    ("generator_version", pa.string()),
    ("source", pa.string()),  # synthetic | real (a page `engine import` read from a labelled dataset)
    ("dataset", pa.string()),  # the dataset a real page came from (sroie, cord, ...); NULL for synthetic
    # The template's layout alternatives drawn (template.yaml `choices`), JSON {name: str(option)}, keys
    # sorted: `choices->>'total_label'` in DuckDB. '{}' for a template without choices; NULL for a real page.
    ("choices", pa.string()),
])

# One instruction pair per row (docfactory.engine.emit.pairs). The image is a reference, not bytes:
# image_shard/image_row point at the documents (or augmented) row whose image the prompt is about.
PAIRS_SCHEMA = pa.schema([
    ("pair_id", pa.string()),
    ("doc_id", pa.string()),
    ("page", pa.int32()),
    ("template", pa.string()),
    ("kind", pa.string()),
    ("task", pa.string()),  # extract | field | region | table | table_otsl | markdown | ocr
    ("prompt", pa.string()),
    ("answer", pa.string()),
    ("target", pa.string()),  # field name, table name, or null
    ("answerable", pa.bool_()),  # false: the asked field is absent and the answer says so
    ("region", BOX),  # the box a region-read prompt names (pixels of the referenced image), else null
    ("image_shard", pa.string()),
    ("image_row", pa.int32()),
    ("image_copy", pa.string()),  # clean | augmented
    ("copy", pa.int32()),  # augmented copy index, NULL for the clean page (as in predictions)
    ("split", pa.string()),
])

MASK_BLOCK = pa.struct([
    ("source", pa.string()),  # field_group | table_column | table | text_block | random
    ("name", pa.string()),
    ("box", BOX),  # the layout block in canvas pixels
    ("r0", pa.int32()), ("c0", pa.int32()), ("r1", pa.int32()), ("c1", pa.int32()),  # patch rect, end-exclusive
])

# One page per row, resized and gray-padded for block-masked pretraining (docfactory.engine.emit.pretrain).
PRETRAIN_SCHEMA = pa.schema([
    ("doc_id", pa.string()),
    ("page", pa.int32()),
    ("template", pa.string()),
    ("kind", pa.string()),
    ("source_shard", pa.string()),
    ("source_row", pa.int32()),
    ("image", pa.binary()),  # PNG, size x size
    ("size", pa.int32()),
    ("scale", pa.float32()),  # page pixels -> canvas pixels
    ("content_box", BOX),  # where the page lies on the canvas: the global view
    ("crops", pa.list_(BOX)),  # local views, canvas pixels
    ("patch_size", pa.int32()),
    ("grid_h", pa.int32()),
    ("grid_w", pa.int32()),
    ("masks", pa.list_(pa.struct([
        ("bits", pa.binary()),  # numpy.packbits of the grid_h x grid_w mask, row-major
        ("ratio", pa.float32()),  # masked share of the patches that hold page content
        ("blocks", pa.list_(MASK_BLOCK)),
    ]))),
    ("split", pa.string()),
])

QUAD = pa.list_(pa.float32(), 8)  # x, y of the top-left, top-right, bottom-right, bottom-left corners

# One augmented copy of a page per row (docfactory.engine.augment). Boxes are the moved boxes'
# enclosing boxes, clipped to the image; `quad` is the moved box itself; `clipped` says part of it
# left the image. `params` (JSON) rebuilds the image from the clean page: rebuild_image().
AUGMENTED_SCHEMA = pa.schema([
    ("doc_id", pa.string()),
    ("page", pa.int32()),
    ("copy", pa.int32()),
    ("preset", pa.string()),
    ("config", pa.string()),  # the augment configuration's tag (preset, or preset-digest with overrides)
    ("template", pa.string()),
    ("split", pa.string()),
    ("knobs", KNOBS),
    ("seed", pa.int64()),
    ("params", pa.string()),  # {"transforms": [{"kind": ..., values}], "compose_seed": ..., ...}
    ("severity", pa.float32()),  # 1 - median word similarity to the clean page (0 = untouched)
    ("legible", pa.bool_()),
    ("gate_reasons", pa.list_(pa.string())),
    ("clipped_share", pa.float32()),  # share of word boxes the border cuts
    ("word_similarity", pa.float32()),
    ("contrast", pa.float32()),  # median ink contrast left, fraction of 255
    ("image", pa.binary()),
    ("image_format", pa.string()),  # jpeg | png
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("dpi", pa.int32()),
    ("words", pa.list_(pa.struct([("text", pa.string()), ("box", BOX), ("quad", QUAD), ("clipped", pa.bool_()),
                                  ("line", pa.int32())]))),
    ("lines", pa.list_(pa.struct([("text", pa.string()), ("box", BOX), ("quad", QUAD), ("clipped", pa.bool_())]))),
    ("fields", pa.list_(pa.struct([
        ("name", pa.string()), ("type", pa.string()), ("value", pa.string()), ("normalized", pa.string()),
        ("boxes", pa.list_(BOX)), ("quads", pa.list_(QUAD)), ("clipped", pa.list_(pa.bool_())),
    ]))),
    ("tables", pa.list_(pa.struct([
        ("name", pa.string()), ("html", pa.string()), ("n_rows", pa.int32()), ("n_cols", pa.int32()),
        ("has_spans", pa.bool_()),
        ("cells", pa.list_(pa.struct([
            ("row", pa.int32()), ("col", pa.int32()), ("rowspan", pa.int32()), ("colspan", pa.int32()),
            ("text", pa.string()), ("header", pa.bool_()), ("box", BOX), ("quad", QUAD), ("clipped", pa.bool_()),
        ]))),
    ]))),
    ("ground_truth", pa.string()),
])

# One text-line or word crop per row (docfactory.engine.augment): the quad rectified upright with
# a margin, cut from an augmented page (or the clean page with preset none).
LINES_SCHEMA = pa.schema([
    ("doc_id", pa.string()),
    ("page", pa.int32()),
    ("copy", pa.int32()),
    ("preset", pa.string()),
    ("config", pa.string()),
    ("template", pa.string()),
    ("split", pa.string()),
    ("font", pa.string()),
    ("level", pa.string()),  # line | word
    ("line", pa.int32()),  # index into the page's lines
    ("word", pa.int32()),  # index into the page's words; null for a line
    ("text", pa.string()),
    ("box", BOX),  # on the augmented page
    ("quad", QUAD),
    ("image", pa.binary()),  # PNG
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("severity", pa.float32()),  # the page's
    ("legible", pa.bool_()),  # the page's gate result
])

SCHEMAS: dict[str, pa.Schema] = {"documents": DOCUMENTS_SCHEMA, "pairs": PAIRS_SCHEMA, "pretrain": PRETRAIN_SCHEMA,
                                 "augmented": AUGMENTED_SCHEMA, "lines": LINES_SCHEMA}


# Evaluation (docfactory.engine.evaluation): shards/<kind>/<name>/part-00000.parquet per prediction
# name. `copy` is the augmented copy the model saw, NULL for the clean page.
_EVAL_KEY = [("doc_id", pa.string()), ("page", pa.int32()), ("copy", pa.int32()), ("name", pa.string())]

DOC_SCORES_SCHEMA = pa.schema(_EVAL_KEY + [
    ("line", pa.int32()),  # line in the predictions file; NULL for a page nobody predicted
    ("teds", pa.float64()), ("teds_s", pa.float64()),  # mean over the page's table slots; NULL if none
    ("ted_acc", pa.float64()), ("field_f1", pa.float64()), ("field_exact_rate", pa.float64()),
    ("numeric_ok", pa.bool_()),  # the document's numbers add up; NULL when no relation could be evaluated
    ("numeric_violations", pa.list_(pa.string())),  # check_values relations that fail
    ("cer", pa.float64()), ("wer", pa.float64()),
    ("n_fields", pa.int32()), ("n_tables", pa.int32()),  # gold counts on the page
    ("error", pa.string()),
])

FIELD_ERRORS_SCHEMA = pa.schema(_EVAL_KEY + [
    ("field", pa.string()),  # the document's field name, e.g. items.5.amount
    ("field_pattern", pa.string()),  # items.*.amount
    ("gold", pa.string()), ("pred", pa.string()), ("exact", pa.bool_()), ("ned", pa.float64()),
    ("numeric_match", pa.bool_()),
    ("error_type", pa.string()),  # missing | extra | wrong_value | format_only | numeric_off; NULL when exact
    ("match", pa.bool_()),  # right under the dataset's rule (engine evaluate --match); NULL without one or with no gold
])

TABLE_ERRORS_SCHEMA = pa.schema(_EVAL_KEY + [
    ("table_index", pa.int32()), ("teds", pa.float64()), ("teds_s", pa.float64()),  # 0 when scoring failed (see error)
    ("rows", pa.int32()), ("cols", pa.int32()), ("has_spans", pa.bool_()),  # the gold table's
    ("error", pa.string()),  # missing_table | extra_table | unparsable_html | the exception or timeout
])

PREDICTION_ERRORS_SCHEMA = pa.schema([
    ("name", pa.string()), ("line", pa.int32()), ("doc_id", pa.string()), ("page", pa.int32()),
    ("copy", pa.int32()), ("error", pa.string()), ("reason", pa.string()), ("scored", pa.bool_()),
])

# OCR results cached by page image (docfactory.engine.ocr_cache): one row per image and OCR
# settings, so a page is read once per run whichever model or step needs its words.
OCR_SCHEMA = pa.schema([
    ("key", pa.string()),  # image sha256 + ":" + the settings tag
    ("image_sha256", pa.string()),
    ("settings", pa.string()),  # engine version, languages, page segmentation mode, scale
    ("words", pa.list_(pa.struct([("text", pa.string()), ("box", BOX), ("conf", pa.float32()), ("line", pa.int32())]))),
    ("seconds", pa.float32()),
])
SCHEMAS["ocr"] = OCR_SCHEMA

SCHEMAS.update({"doc_scores": DOC_SCORES_SCHEMA, "field_errors": FIELD_ERRORS_SCHEMA,
                "table_errors": TABLE_ERRORS_SCHEMA, "prediction_errors": PREDICTION_ERRORS_SCHEMA})


def schema_for(kind: str) -> pa.Schema:
    try:
        return SCHEMAS[kind]
    except KeyError:
        raise KeyError(f"unknown shard kind {kind!r} (known: {', '.join(sorted(SCHEMAS))})") from None
