"""The loop report: metrics per iteration (overall and per template), error types, a slice x
iteration heatmap, the worst pages of the last iteration (image, gold and prediction side by side,
differences marked) and each iteration's plan. Plots are inline SVG; images are base64 PNG."""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path

from docfactory.engine.catalog import open_catalog
from docfactory.engine.loop.run import evalset_dir, eval_name
from docfactory.engine.loop.state import iterations
from docfactory.engine.plan_tables import grouped_weights, weight_tables

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
CSS = """body{font-family:sans-serif;margin:24px;max-width:1300px}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}th{background:#f3f3f3}.bad{background:#fdd}
.ok{background:#dfd}.page{display:flex;gap:16px;align-items:flex-start;margin:12px 0}img{max-width:420px;border:1px solid #999}
pre{font-size:12px;background:#f7f7f7;padding:8px;max-height:300px;overflow:auto}"""


def write_report(run_dir: Path | str, out: Path | str | None = None) -> Path:
    run_dir = Path(run_dir).resolve()
    rows = iterations(run_dir) if (run_dir / "catalog.duckdb").exists() else []
    if not rows:
        raise ValueError(f"{run_dir}: no finished loop iterations (run engine run first)")
    parts = [f"<h1>Loop report: {escape(run_dir.name)}</h1>", _metrics(rows), _errors(rows), _heatmap(rows),
             _worst(run_dir, rows[-1]["iteration"])]
    if (evalset_dir(run_dir, "real") / "catalog.duckdb").exists():
        parts.append(_worst(run_dir, rows[-1]["iteration"], evalset="real"))
    parts.append(_plans(run_dir))
    path = Path(out) if out else run_dir / "report.html"
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text(f"<!doctype html><html><head><meta charset='utf-8'><style>{CSS}</style></head><body>"
                   + "\n".join(parts) + "</body></html>", encoding="utf-8")
    tmp.replace(path)
    return path


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else escape(str(v))


def _line_chart(series: dict[str, list], width: int = 520, height: int = 220) -> str:
    """One polyline per series over iterations, y from 0 to 1."""
    n = max(len(v) for v in series.values())
    x = lambda i: 40 + i * (width - 60) / max(1, n - 1)  # noqa: E731
    y = lambda v: height - 30 - v * (height - 50)  # noqa: E731
    svg = [f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>",
           f"<line x1='40' y1='{y(0)}' x2='{width - 20}' y2='{y(0)}' stroke='#999'/>",
           f"<line x1='40' y1='{y(0)}' x2='40' y2='{y(1)}' stroke='#999'/>"]
    for t in (0, 0.5, 1):
        svg.append(f"<text x='8' y='{y(t) + 4}' font-size='11'>{t}</text>")
    for i in range(n):
        svg.append(f"<text x='{x(i) - 12}' y='{height - 10}' font-size='11'>it{i:03d}</text>")
    for j, (name, values) in enumerate(series.items()):
        pts = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
        color = COLORS[j % len(COLORS)]
        svg.append(f"<polyline fill='none' stroke='{color}' stroke-width='2' points='{' '.join(f'{a:.1f},{b:.1f}' for a, b in pts)}'/>")
        svg += [f"<circle cx='{a:.1f}' cy='{b:.1f}' r='3' fill='{color}'/>" for a, b in pts]
        svg.append(f"<text x='{50 + 130 * j}' y='14' font-size='12' fill='{color}'>{escape(name)}</text>")
    return "".join(svg) + "</svg>"


def _metrics(rows: list[dict]) -> str:
    series = {"field F1": [r["field_f1"] for r in rows], "TEDS": [r["teds"] for r in rows],
              "holdout field F1": [r["holdout_field_f1"] for r in rows]}
    real = any(r.get("real_field_f1") is not None for r in rows)
    if real:
        series["real match"] = [r.get("real_match") for r in rows]
    chart = _line_chart(series)
    head = "<tr><th>iteration</th><th>strategy</th><th>train pages new/total</th><th>field F1</th><th>TEDS</th>" \
           "<th>holdout F1</th><th>holdout TEDS</th>" + ("<th>real F1</th><th>real match (mean of fields)</th>"
                                                          "<th>real OCR ceiling</th>" if real else "") + \
           "<th>seconds per stage</th></tr>"

    def real_cells(r: dict) -> str:
        if not real:
            return ""
        ceiling = (r["metrics"].get("real") or {}).get("ocr_ceiling")
        return f"<td>{_fmt(r.get('real_field_f1'))}</td><td>{_fmt(r.get('real_match'))}</td><td>{_fmt(ceiling)}</td>"

    body = "".join(f"<tr><td>{r['iteration']}</td><td>{r['strategy']}</td><td>{r['n_train']}/{r['n_train_total']}</td>"
                   f"<td>{_fmt(r['field_f1'])}</td><td>{_fmt(r['teds'])}</td><td>{_fmt(r['holdout_field_f1'])}</td>"
                   f"<td>{_fmt(r['holdout_teds'])}</td>{real_cells(r)}"
                   f"<td>{escape(', '.join(f'{k} {v:.0f}' for k, v in r['stage_seconds'].items()))}</td></tr>"
                   for r in rows)
    return f"<h2 id='metrics'>Metrics per iteration</h2>{chart}<table>{head}{body}</table>"


def _errors(rows: list[dict]) -> str:
    kinds = sorted({k for r in rows for s in r["metrics"].values() for k in (s.get("field_errors") or {})})
    head = "<tr><th>error type</th>" + "".join(f"<th>it{r['iteration']:03d}</th>" for r in rows) + "</tr>"
    body = "".join(f"<tr><td>{escape(k)}</td>" + "".join(
        f"<td>{sum((s.get('field_errors') or {}).get(k, 0) for s in r['metrics'].values())}</td>" for r in rows) + "</tr>"
        for k in kinds)
    return f"<h2 id='errors'>Field error types (all evaluation sets)</h2><table>{head}{body}</table>"


def _heatmap(rows: list[dict]) -> str:
    cells = {}
    for r in rows:
        for set_name, slices in r["slices"].items():
            for dim in ("template", "locale"):
                for value, agg in (slices.get(dim) or {}).items():
                    cells.setdefault(f"{set_name}: {dim}={value}", {})[r["iteration"]] = agg.get("field_f1")
        for set_name, metrics in r["metrics"].items():  # a real set: accuracy per field under its match rule
            for field_pattern, accuracy in (metrics.get("match_fields") or {}).items():
                cells.setdefault(f"{set_name}: {metrics['match_rule']} match, field={field_pattern}", {})[r["iteration"]] = accuracy
    head = "<tr><th>slice (field F1; a real set's fields: match accuracy)</th>" + "".join(f"<th>it{r['iteration']:03d}</th>" for r in rows) + "</tr>"
    body = ""
    for name in sorted(cells):
        tds = ""
        for r in rows:
            v = cells[name].get(r["iteration"])
            color = "#eee" if v is None else f"hsl({int(120 * v)},70%,70%)"
            tds += f"<td style='background:{color}'>{_fmt(v)}</td>"
        body += f"<tr><td>{escape(name)}</td>{tds}</tr>"
    return f"<h2 id='heatmap'>Slice x iteration heatmap</h2><table>{head}{body}</table>"


def _worst(run_dir: Path, k: int, n: int = 3, evalset: str = "in_dist") -> str:
    title = {"in_dist": "in-distribution set", "real": "real set"}[evalset]
    evalset = evalset_dir(run_dir, evalset)
    with open_catalog(evalset, read_only=True) as catalog:
        # Pages with gold fields only: a near-blank last page (totals moved to page 1) scores 0 on
        # one stray prediction and says nothing about the model.
        worst = catalog.sql("SELECT doc_id, page, field_f1 FROM doc_scores WHERE name = ? AND field_f1 IS NOT NULL "
                            "AND n_fields > 0 ORDER BY field_f1, doc_id, page LIMIT ?", [eval_name(k), n]).fetchall()
        anchor = "worst" if evalset.name == "in_dist" else f"worst-{evalset.name}"
        html = [f"<h2 id='{anchor}'>Worst pages of it{k:03d} ({title}, pages with gold fields)</h2>"]
        for doc_id, page, f1 in worst:
            image = catalog.sql("SELECT image FROM documents WHERE doc_id = ? AND page = ?", [doc_id, page]).fetchone()[0]
            fields = catalog.sql("SELECT field, gold, pred, error_type FROM field_errors WHERE name = ? AND doc_id = ? "
                                 "AND page = ? ORDER BY field", [eval_name(k), doc_id, page]).fetchall()
            trs = "".join(f"<tr class='{'bad' if e else 'ok'}'><td>{escape(f)}</td><td>{_fmt(g)}</td><td>{_fmt(p)}</td>"
                          f"<td>{_fmt(e) if e else ''}</td></tr>" for f, g, p, e in fields)
            mime = "image/jpeg" if image[:3] == b"\xff\xd8\xff" else "image/png"  # real scans come as they were
            src = f"data:{mime};base64," + base64.b64encode(image).decode()
            html.append(f"<h3>{escape(doc_id)} page {page}: field F1 {_fmt(f1)}</h3><div class='page'><img src='{src}'>"
                        f"<table><tr><th>field</th><th>gold</th><th>prediction</th><th>error</th></tr>{trs}</table></div>")
    return "".join(html)


def _plans(run_dir: Path) -> str:
    html = ["<h2 id='plans'>Plans</h2>"]
    for path in sorted((run_dir / "plans").glob("it*.json")):
        plan = json.loads(path.read_text())
        top = "".join(f"<tr><td>{escape(s['column'])}</td><td>{escape(s['value'])}</td><td>{s['support']}</td>"
                      f"<td>{s['failure_rate']:.3f}</td><td>{s['score']:+.3f}</td></tr>" for s in plan["weak_slices"][:10])
        variants = "".join(f"<tr><td>{escape(v['source'])}</td><td>{escape(v['template'])}</td>"
                           f"<td>{escape(json.dumps(v['push']) if v['push'] else '-')}</td><td>{escape(v['reason'])}</td></tr>"
                           for v in plan.get("variants", []))
        if variants:
            variants = (f"<p>{len(plan['variants'])} hard variants (same template and knobs, new seed):</p><table><tr>"
                        f"<th>varies</th><th>template</th><th>pushed</th><th>why</th></tr>{variants}</table>")
        html.append(f"<h3>{path.stem} ({plan['strategy']}, budget {plan['budget']}, replay {plan['replay_share']:.0%})</h3>"
                    f"<table><tr><th>slice</th><th>value</th><th>support</th><th>failure</th><th>score</th></tr>{top}</table>"
                    f"<p>knob weights (values not listed weigh 1):</p>{_weights(plan['weights'])}"
                    f"{variants}")
    return "".join(html)


def _weights(weights: dict) -> str:
    if not weights:
        return "<p>none: the initial mix</p>"
    rows = "".join(f"<tr><td>{escape(knob)}</td><td>{escape(value)}</td><td>{w:.2f}</td></tr>"
                   for knob, values in weight_tables(weights) for value, w in grouped_weights(values))
    return f"<table><tr><th>knob</th><th>value</th><th>weight</th></tr>{rows}</table>"
