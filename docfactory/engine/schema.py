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
])

SCHEMAS: dict[str, pa.Schema] = {"documents": DOCUMENTS_SCHEMA}


def schema_for(kind: str) -> pa.Schema:
    try:
        return SCHEMAS[kind]
    except KeyError:
        raise KeyError(f"unknown shard kind {kind!r} (known: {', '.join(sorted(SCHEMAS))})") from None
