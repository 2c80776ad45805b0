"""The SQL that mining runs over an evaluation's `field_errors` joined to its `slices` (and, where
predictions carried them, `field_confidence`): failure rates per slice value, per recorded layout choice,
per weak field's template and choice options, the worst documents and the least sure fields."""

CHOICE = "choice."  # slice columns `choice.NAME`: one per template.yaml choice name

JOIN = """field_errors e JOIN slices s
      ON s.doc_id = e.doc_id AND s.page = e.page AND s."copy" IS NOT DISTINCT FROM e."copy"
    {confidence_join}"""
CONFIDENCE_JOIN = """LEFT JOIN field_confidence c
      ON c.doc_id = e.doc_id AND c.page = e.page AND c."copy" IS NOT DISTINCT FROM e."copy" AND c.field = e.field"""

MINING_SQL = """
WITH cmp AS (
    SELECT {expr} AS value, (e.error_type IS NOT NULL) AS failed, {confidence} AS confidence
    FROM {join}
    WHERE e.name = ?
)
SELECT value, count(*) AS support, avg(CAST(failed AS DOUBLE)) AS failure_rate, avg(confidence) AS confidence
FROM cmp GROUP BY value
"""

# Every recorded choice of the page is a slice column of its own: one comparison row per choice name.
CHOICE_MINING_SQL = """
WITH cmp AS (
    SELECT unnest(json_keys(s.choices)) AS choice, s.choices, (e.error_type IS NOT NULL) AS failed,
           {confidence} AS confidence
    FROM {join}
    WHERE e.name = ?
)
SELECT '""" + CHOICE + """' || choice AS "column", choices->>choice AS value, count(*) AS support,
       avg(CAST(failed AS DOUBLE)) AS failure_rate, avg(confidence) AS confidence
FROM cmp GROUP BY ALL
"""

# Documents by how badly they failed: failure rate over their comparisons, then least sure first.
WORST_DOCS_SQL = """
SELECT e.doc_id, any_value(s.template) AS template, count(*) AS comparisons,
       avg(CAST(e.error_type IS NOT NULL AS DOUBLE)) AS failure_rate,
       avg(CAST(e.field_pattern LIKE '%*%' AND e.error_type IS NOT NULL AS DOUBLE)) AS item_failure_rate,
       avg({confidence}) AS confidence
FROM {join}
WHERE e.name = ? AND e."copy" IS NULL
GROUP BY e.doc_id
HAVING avg(CAST(e.error_type IS NOT NULL AS DOUBLE)) >= ?
ORDER BY failure_rate DESC, confidence ASC NULLS LAST, e.doc_id
"""

# Where a weak field fails: a field has no knob, its templates do.
FIELD_TEMPLATES_SQL = """
SELECT e.field_pattern, s.template, avg(CAST(e.error_type IS NOT NULL AS DOUBLE)) AS failure_rate
FROM field_errors e JOIN slices s ON s.doc_id = e.doc_id AND s.page = e.page AND s."copy" IS NOT DISTINCT FROM e."copy"
WHERE e.name = ? AND list_contains(?, e.field_pattern)
GROUP BY ALL
"""

# How a weak field fails under each option of each choice (choice_fields says which choices print it).
FIELD_CHOICES_SQL = """
WITH cmp AS (
    SELECT e.field_pattern, s.template, unnest(json_keys(s.choices)) AS choice, s.choices,
           (e.error_type IS NOT NULL) AS failed
    FROM field_errors e JOIN slices s ON s.doc_id = e.doc_id AND s.page = e.page AND s."copy" IS NOT DISTINCT FROM e."copy"
    WHERE e.name = ? AND list_contains(?, e.field_pattern)
)
SELECT field_pattern, template, choice, choices->>choice AS option, count(*) AS n, sum(CAST(failed AS INTEGER)) AS failures
FROM cmp GROUP BY ALL
"""

LOW_CONFIDENCE_SQL = """
SELECT e.doc_id, e.page, e.field, e.gold, e.pred, e.error_type, c.confidence
FROM {join}
WHERE e.name = ? AND c.confidence IS NOT NULL AND c.confidence < ?
ORDER BY c.confidence, e.doc_id, e.page, e.field
LIMIT ?
"""
