"""Evaluate a model's predictions against a run: per-page scores and error rows as Parquet shards,
catalog views (doc_scores, field_errors, table_errors, prediction_errors, slices), summary.json.

    from docfactory.engine.evaluation import evaluate_run
    result = evaluate_run("runs/r1", "preds.jsonl", name="donut-base")
    result.summary["overall"]["field_f1"]

Modules: predictions (read and check the JSONL), gold (gold answers per page), scoring (metrics and
error rows), summary (summary.json, leaderboard), slices (the slice-columns view), run (the step).
"""

from docfactory.engine.evaluation.predictions import PredictionIssue, PredictionsError, read_predictions
from docfactory.engine.evaluation.run import EVAL_KINDS, EvaluationResult, evaluate_run, shard_path
from docfactory.engine.evaluation.scoring import ScoringOptions
from docfactory.engine.evaluation.slices import refresh_slices_view
from docfactory.engine.evaluation.summary import LEADERBOARD_COLUMNS, leaderboard

# The README's analyst query (tests run this exact text against an evaluated run): which template x
# augmentation preset fails most on the total field. Run it from the run folder: duckdb catalog.duckdb
ANALYST_QUERY = """\
SELECT e.name, s.template, s.preset,
       count(*) AS totals,
       count(e.error_type) AS failures,
       round(count(e.error_type) / count(*), 3) AS failure_rate
FROM field_errors AS e
JOIN slices AS s
  ON s.doc_id = e.doc_id AND s.page = e.page AND s."copy" IS NOT DISTINCT FROM e."copy"
WHERE e.field_pattern = 'total'
GROUP BY ALL
ORDER BY failure_rate DESC, failures DESC, e.name, s.template, s.preset;"""

__all__ = ["ANALYST_QUERY", "EVAL_KINDS", "LEADERBOARD_COLUMNS", "EvaluationResult", "PredictionIssue",
           "PredictionsError", "ScoringOptions", "evaluate_run", "leaderboard", "read_predictions",
           "refresh_slices_view", "shard_path"]
