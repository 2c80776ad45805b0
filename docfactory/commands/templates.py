"""engine templates list|show|validate|preview|new: the template author's sub-commands."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from docfactory.commands.common import TemplateDirs, console, err, fail

templates_app = typer.Typer(help="List, inspect, validate, preview and create document templates.", no_args_is_help=True)


def _registry(dirs: list[str]):
    from docfactory.templates import TemplateError, TemplateRegistry

    try:
        return TemplateRegistry(dirs)
    except TemplateError as exc:
        fail(str(exc))


@templates_app.command("list")
def templates_list(templates: TemplateDirs = None) -> None:
    """List the registered templates (built-in and --templates folders)."""
    registry = _registry([str(d) for d in templates or []])
    table = Table("name", "kind", "version", "fields", "tables", "folder")
    for name in registry.names():
        t = registry.get(name)
        table.add_row(name, t.kind, t.config.version, str(len(t.config.fields)), ",".join(t.config.tables), str(t.folder))
    console.print(table)
    for name, exc in registry.errors.items():
        err.print(f"[red]broken template {name}:[/] {exc}", highlight=False)


@templates_app.command("show")
def templates_show(name: str, templates: TemplateDirs = None) -> None:
    """Show a template's kind, knobs, fonts and declared fields."""
    from docfactory.templates import TemplateError, UnknownTemplate

    registry = _registry([str(d) for d in templates or []])
    try:
        t = registry.get(name)
    except (TemplateError, UnknownTemplate) as exc:
        fail(str(exc))
    c = t.config
    console.print(f"[bold]{name}[/] ({c.kind}, version {c.version}) {t.folder}\n{c.description}")
    console.print(f"fonts: {', '.join(c.fonts)}\nknobs: {', '.join(c.knobs)}\nn_items: {c.n_items[0]}-{c.n_items[1]}"
                  f"\ntables: {', '.join(c.tables) or '-'}", highlight=False)
    table = Table("field", "type", "provider")
    for field, decl in c.fields.items():
        table.add_row(field, decl.type, decl.provider or "")
    console.print(table)


@templates_app.command("fields")
def templates_fields(kind: Annotated[str, typer.Argument(help="invoice | receipt | table")],
                     templates: TemplateDirs = None) -> None:
    """The fields a kind provides: path, type, the templates that print it, and an example value
    (from one seeded document per template). A value can be labelled only once per document."""
    from docfactory.generators import generate_pages, sample_spec
    from docfactory.generators.content import pattern_of

    registry = _registry([str(d) for d in templates or []])
    chosen = [registry.get(n) for n in registry.names() if registry.get(n).kind == kind]
    if not chosen:
        kinds = sorted({registry.get(n).kind for n in registry.names()})
        fail(f"unknown kind {kind!r} (known: {', '.join(kinds)})")
    fields: dict[str, dict] = {}
    for template in chosen:
        for pattern, decl in template.config.fields.items():
            entry = fields.setdefault(pattern, {"type": decl.type, "templates": [], "example": ""})
            entry["templates"].append(template.name)
        records, _ = generate_pages([sample_spec(0, 0, [template], prefix="fields")], registry)
        for record in records:
            for label in record.fields:
                entry = fields.get(pattern_of(label.name))
                if entry is not None and not entry["example"]:
                    entry["example"] = label.value.replace("\n", " | ")
    table = Table("field", "type", "templates", "example", title=f"fields of kind {kind}")
    for pattern in sorted(fields):
        f = fields[pattern]
        table.add_row(pattern, f["type"], ", ".join(f["templates"]), f["example"][:40])
    console.print(table)


@templates_app.command("validate")
def templates_validate(target: Annotated[Optional[str], typer.Argument(help="Template name or folder; default: all.")] = None,
                       templates: TemplateDirs = None,
                       samples: Annotated[int, typer.Option(help="Seeded documents rendered and verified per template.", min=1)] = 5) -> None:
    """Check templates: YAML schema, Jinja syntax, fonts, label coverage, and seeded sample documents
    rendered and verified exactly as `engine generate` does (every label against the PDF text);
    warn about captions (t("...")) that a locale the template prints has no translation for."""
    from docfactory.engine.generate import usable_templates

    dirs = [str(d) for d in templates or []]
    names: list[str] = []
    if target and Path(target).is_dir():
        dirs.append(str(Path(target).resolve()))
        folder = Path(target).resolve()
        names = [folder.name] if (folder / "template.yaml").exists() else sorted(p.name for p in folder.iterdir() if (p / "template.yaml").exists())
    elif target:
        names = [target]
    registry = _registry(dirs)
    for name in names:
        if name not in registry.templates and name not in registry.errors:
            fail(f"unknown template {name!r} (known: {', '.join(registry.names())})")
    usable, errors = usable_templates(registry, names)
    from docfactory.generators import generate_pages, sample_spec
    from docfactory.generators.caption_check import unknown_captions

    for name in usable:
        for gap in unknown_captions(registry.get(name)):  # a warning: the page is still right, in the wrong language
            err.print(f"[bold yellow]warning:[/] {gap}", highlight=False)
        specs = [sample_spec(0, i, [registry.get(name)], prefix="validate") for i in range(samples)]
        _, rejected = generate_pages(specs, registry)
        if rejected:  # what generate would reject: which label, what was expected, what the PDF has, where
            r = rejected[0]
            errors.append(f"{_where(registry.get(name), r.reason)}: {name}: {len(rejected)} of {samples} sample documents "
                          f"rejected; the first, {r.doc_id}, rejected at {r.stage}: {r.reason}")
        else:
            console.print(f"[green]ok[/] {name} ({samples} sample documents verified)")
    for message in errors:
        err.print(f"[bold red]error:[/] {message}", highlight=False)
    if errors:
        raise typer.Exit(1)


def _where(template, reason: str) -> str:
    """'.../template.html.j2:LINE' for a rejection that names a field (the element's line when found)."""
    from docfactory.generators.pipeline import _source_line

    line = _source_line(template, reason[len("field "):].split(":", 1)[0]) if reason.startswith("field ") else None
    return f"{template.html_path}:{line}" if line else str(template.html_path)


@templates_app.command("preview")
def templates_preview(name: str, out: Annotated[Path, typer.Option("--out", help="PNG to write.")],
                      seed: int = 0, templates: TemplateDirs = None,
                      page: Annotated[int, typer.Option("--page", help="Which page of the sample to draw (1 = the first).",
                                                        min=1)] = 1) -> None:
    """Render a sample document and draw one page with its field (red) and cell (blue) boxes."""
    from docfactory.generators import generate_pages, sample_spec
    from docfactory.generators.preview import draw_boxes
    from docfactory.templates import TemplateError, UnknownTemplate

    registry = _registry([str(d) for d in templates or []])
    try:
        template = registry.get(name)
    except (TemplateError, UnknownTemplate) as exc:
        fail(str(exc))
    records, rejections = generate_pages([sample_spec(seed, 0, [template], prefix="preview")], registry)
    if rejections:
        fail(f"{name}: sample document rejected ({rejections[0].stage}): {rejections[0].reason}")
    if page > len(records):
        fail(f"{name}: --page {page}, but the sample document (seed {seed}) has {len(records)} page(s)")
    record = records[page - 1]
    out.parent.mkdir(parents=True, exist_ok=True)
    draw_boxes(record).save(out)
    console.print(f"wrote {out} ({record.width}x{record.height}, {len(record.fields)} fields, "
                  f"{sum(len(t.cells) for t in record.tables)} cells; page {page} of {record.n_pages})")


@templates_app.command("new")
def templates_new(name: str, source: Annotated[str, typer.Option("--from", help="Template to copy.")] = "invoice_classic",
                  dest: Annotated[Path, typer.Option("--dir", help="Folder to create it in.")] = Path("templates"),
                  templates: TemplateDirs = None) -> None:
    """Start a new template as a copy of an existing one (then edit it and run validate)."""
    from docfactory.templates import TemplateError, UnknownTemplate

    registry = _registry([str(d) for d in templates or []])
    try:
        original = registry.get(source)
    except (TemplateError, UnknownTemplate) as exc:
        fail(str(exc))
    target = dest / name
    if target.exists():
        fail(f"{target} already exists")
    shutil.copytree(original.folder, target, ignore=shutil.ignore_patterns("__pycache__"))
    console.print(f"created {target} from {source}; edit it, then: engine templates validate {target}")
