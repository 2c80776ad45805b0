"""Specs -> verified page records: content, HTML, WeasyPrint layout and PDF, PyMuPDF page image
and text, then every label checked against the PDF text inside its box.

A document that fails any stage becomes a `Rejection` with its reason; the batch goes on.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import MutableMapping, Sequence

import pymupdf

from docfactory.timing import timed
from docfactory import __version__
from docfactory.generators.content import pattern_of
from docfactory.generators.document import BuiltContent, ContentRejected, build_content, font_css, render_html
from docfactory.field_types import normalize_text
from docfactory.generators.fit_page import SlipBreaks, fit_to_content
from docfactory.generators.layout import ExternalResource, PageLayout, UnverifiableStyle, layout, read_labels
from docfactory.generators.pdf_pages import read_text, render_png, text_in_boxes
from docfactory.generators.spec import assign_split
from docfactory.records import Box, DocSpec, FieldLabel, PageRecord, TableCell, TableLabel
from docfactory.templates import Template, TemplateError, TemplateRegistry

CSS_PX_PER_INCH = 96.0


@dataclass
class Rejection:
    doc_id: str
    template: str
    stage: str  # template | content | verify
    reason: str


@dataclass
class _Prepared:
    spec: DocSpec
    template: Template
    content: BuiltContent
    document: object  # weasyprint.Document
    pages: list[PageLayout]


def generate_pages(specs: Sequence[DocSpec], registry: TemplateRegistry,
                   times: MutableMapping[str, float] | None = None) -> tuple[list[PageRecord], list[Rejection]]:
    """Build, render, label and verify documents. Records come in spec order.
    `times`, if given, accumulates seconds per stage (for benchmarks/generate.py)."""
    records, rejected = [], []
    for spec in specs:
        try:
            prepared = _prepare(spec, registry, times)
        except (TemplateError, ContentRejected) as exc:
            stage = "template" if isinstance(exc, TemplateError) else "content"
            rejected.append(Rejection(spec.doc_id, spec.template, stage, str(exc)))
            continue
        with timed(times, "write_pdf"):
            # One PDF per document, so its bytes (and the page image) never depend on which other
            # documents share a batch. With Debian's libharfbuzz-subset0 WeasyPrint subsets fonts
            # with HarfBuzz (~20 ms a page) instead of fontTools (~350 ms). The PDF is only read
            # back in memory, so its streams stay uncompressed.
            pdf = prepared.document.write_pdf(uncompressed_pdf=True)
        with pymupdf.open(stream=pdf, filetype="pdf") as pdf_doc:
            result = _finish(prepared, list(pdf_doc), times)
        if isinstance(result, Rejection):
            rejected.append(result)
        else:
            records.extend(result)
    return records, rejected


def _prepare(spec: DocSpec, registry: TemplateRegistry, times=None) -> _Prepared:
    template = registry.get(spec.template)
    with timed(times, "content"):
        content = build_content(spec, template)
    with timed(times, "jinja"):
        html, content = render_html(spec, template, content)
    with timed(times, "layout"):
        document = template_layout(template, html, spec.knobs.font)
    with timed(times, "labels"):
        pages = template_labels(template, document)
        check_field_coverage(template, content, pages, html)
    return _Prepared(spec, template, content, document, pages)


def template_layout(template: Template, html: str, font: str):
    """WeasyPrint layout of a template's HTML (a `page_height: fit` slip cut to its content); a file
    or URL it asks for is a TemplateError naming the file (and line) that asked."""
    css = [template.css, font_css(font)]
    try:
        document = layout(html, css)
        if template.config.page_height == "fit":
            document = fit_to_content(document, lambda page_size: layout(html, [*css, page_size]),
                                      source=html + template.css)
        return document
    except SlipBreaks as exc:
        from docfactory.templates.registry import yaml_line

        yaml_path = template.folder / "template.yaml"
        line = yaml_line(yaml_path.read_text(encoding="utf-8"), ["page_height"])
        raise TemplateError(yaml_path, str(exc), line) from None
    except ExternalResource as exc:
        name = exc.url.rstrip("/").rsplit("/", 1)[-1]  # a relative URL comes back resolved
        for path in (template.folder / "style.css", template.html_path):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if name and name in line:
                    raise TemplateError(path, str(exc), number) from None
        raise TemplateError(template.html_path, str(exc)) from None


def template_labels(template: Template, document) -> list[PageLayout]:
    """read_labels, with glyph-changing CSS on a label as a TemplateError naming the template line."""
    try:
        return read_labels(document)
    except UnverifiableStyle as exc:
        raise TemplateError(template.html_path, str(exc), _source_line(template, exc.field)) from None


def check_field_coverage(template: Template, content: BuiltContent, pages: list[PageLayout], html: str) -> None:
    """Every data-field must be declared, and every declared value must be rendered."""
    rendered = {name for page in pages for name in page.fields}
    declared = set(template.config.fields)
    for name in sorted(rendered):
        if pattern_of(name) not in declared:
            raise TemplateError(template.html_path, f'data-field="{name}" is not declared in template.yaml fields',
                                _source_line(template, name))
    for path in content.paths:
        if path not in rendered:
            from docfactory.templates.registry import yaml_line

            yaml_path = template.folder / "template.yaml"
            raise TemplateError(yaml_path, f"declared field {pattern_of(path)!r} is never rendered "
                                f"(no visible element has data-field=\"{path}\")",
                                yaml_line(yaml_path.read_text(encoding="utf-8"), ["fields", pattern_of(path)]))


def _source_line(template: Template, name: str) -> int | None:
    """The template line whose data-field attribute produces `name` (Jinja expressions as wildcards)."""
    import re

    source = template.html_path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(source, 1):
        for attr in re.findall(r'data-field="([^"]*)"', line):
            pattern = "^" + ".*".join(re.escape(part) for part in re.split(r"\{\{.*?\}\}", attr)) + "$"
            if re.match(pattern, name):
                return i
    return None


def _finish(p: _Prepared, pdf_pages: list, times=None) -> list[PageRecord] | Rejection:
    dpi = p.spec.knobs.dpi
    scale = dpi / CSS_PX_PER_INCH
    texts, images = [], []
    for page in pdf_pages:
        with timed(times, "pdf_text"):
            texts.append(read_text(page, dpi))
        with timed(times, "raster_png"):
            images.append(render_png(page, dpi))
    with timed(times, "verify"):
        return _verify_and_record(p, texts, images, scale)


def _verify_and_record(p: _Prepared, texts, images, scale: float) -> list[PageRecord] | Rejection:
    # Verify: every field's and cell's label equals the PDF text inside its box(es).
    field_text: dict[str, list[str]] = {}
    page_fields: list[dict[str, list[Box]]] = []
    for i, layout_page in enumerate(p.pages):
        boxes = {name: [b.scaled(scale).rounded() for b in frags] for name, frags in layout_page.fields.items()}
        page_fields.append(boxes)
        for name, bxs in boxes.items():
            field_text.setdefault(name, []).append(text_in_boxes(texts[i], bxs))
    for path, field in p.content.paths.items():
        found = normalize_text(" ".join(field_text.get(path, [])))
        if found != normalize_text(field.text):
            cased = p.content.casings.get(path)
            hint = (f" (the template prints this value with | {cased} somewhere: print it so where it is labelled, "
                    "and case the text of an unlabelled copy: {{ doc.x.text | upper }})") if cased else ""
            return Rejection(p.spec.doc_id, p.spec.template, "verify",
                             f"field {path}: label {field.text!r} but the PDF has {found!r} in its box{hint}")
    page_tables = []
    for i, layout_page in enumerate(p.pages):
        tables = []
        for name, cells in layout_page.tables.items():
            out_cells = []
            for c in cells:
                box = c.box.scaled(scale).rounded()
                found = normalize_text(text_in_boxes(texts[i], [box]))
                if found != c.text:
                    return Rejection(p.spec.doc_id, p.spec.template, "verify",
                                     f"table {name} cell ({c.row},{c.col}): label {c.text!r} but the PDF has {found!r}")
                out_cells.append(dataclasses.replace(c, box=box))
            tables.append(table_label(name, out_cells))
        page_tables.append(tables)
    return _records(p, images, texts, page_fields, page_tables)


def table_label(name: str, cells: list[TableCell]) -> TableLabel:
    from docfactory.generators.table_html import cells_to_html

    n_rows = max((c.row + c.rowspan for c in cells), default=0) - min((c.row for c in cells), default=0)
    n_cols = max((c.col + c.colspan for c in cells), default=0)
    return TableLabel(name=name, html=cells_to_html(cells), n_rows=n_rows, n_cols=n_cols,
                      has_spans=any(c.rowspan > 1 or c.colspan > 1 for c in cells), cells=cells)


def _records(p: _Prepared, images, texts, page_fields, page_tables) -> list[PageRecord]:
    gt = json.dumps(p.content.ground_truth(), ensure_ascii=False)
    content_hash = p.content.content_hash(p.template.config.version)
    split = assign_split(p.spec.doc_id)
    choices = {name: str(option) for name, option in p.content.choices.items()}  # as drawn, resolved from the spec
    out = []
    for i, (png, width, height) in enumerate(images):
        fields = [FieldLabel(name=path, type=f.type, value=f.text, normalized=f.normalized, boxes=page_fields[i][path])
                  for path, f in p.content.paths.items() if path in page_fields[i]]
        out.append(PageRecord(
            doc_id=p.spec.doc_id, template=p.template.name, template_version=p.template.config.version,
            kind=p.template.kind, seed=p.spec.seed, knobs=p.spec.knobs, content_hash=content_hash, page=i,
            n_pages=len(images), width=width, height=height, dpi=p.spec.knobs.dpi, image=png,
            words=texts[i].words, lines=texts[i].lines, fields=fields, tables=page_tables[i],
            ground_truth=gt, split=split, generator_version=__version__, choices=choices,
        ))
    return out
