"""Field maps: a dataset's label keys -> a docfactory kind's field names.

A map is YAML (built-in ones in field_maps/, or a user's file):

    dataset: sroie            # the `dataset` slice column of the imported pages
    kind: receipt             # the docfactory kind whose fields the labels become
    locale: en_MY             # knobs.locale / knobs.currency of the pages (slice columns)
    currency: MYR
    fields:                   # dataset key -> field name; '*' stands for one list index, kept in order
      company: store.company
      menu.*.price: items.*.amount
    ignore: [menu.*.sub]      # keys (and everything under them) that are dropped on purpose
    unmapped: error           # error (default): a key neither mapped nor ignored stops the import | ignore

A key matches a pattern segment by segment, '*' matching one segment; an `ignore` pattern also
matches every key below it. Every target must be a field some template of the kind declares, so a
typo in a map fails before anything is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from docfactory.engine.config import read_yaml_model

BUILTIN_DIR = Path(__file__).with_name("field_maps")


class FieldMapError(ValueError):
    """A map that cannot be used, or a label it cannot map (names the file and line)."""


class _MapFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: Annotated[str, Field(min_length=1, description="the dataset name: a slice column of the pages")]
    kind: Annotated[str, Field(description="docfactory kind: receipt | invoice | table")]
    locale: str = "en_US"
    currency: str = ""
    fields: Annotated[dict[str, str], Field(description="dataset key pattern -> field name pattern")] = {}
    ignore: list[str] = []
    unmapped: Literal["error", "ignore"] = "error"


@dataclass(frozen=True)
class FieldMap:
    dataset: str
    kind: str
    locale: str
    currency: str
    fields: dict[str, str]
    ignore: tuple[str, ...] = ()
    unmapped: str = "error"
    source: str = "<identity>"  # the file it came from, for error messages
    types: dict[str, str] = field(default_factory=dict)  # target pattern -> field type

    def map_labels(self, labels: dict[str, str], where: str) -> dict[str, str]:
        """Flat dataset labels (dotted keys) -> {field name: value}; FieldMapError names `where`."""
        out: dict[str, str] = {}
        for key, value in labels.items():
            if any(_matches(pattern, key, prefix=True) for pattern in self.ignore):
                continue
            target = self.target(key)
            if target is None:
                if self.unmapped == "ignore":
                    continue
                known = ", ".join(sorted(self.fields)) or "none"
                raise FieldMapError(f"{where}: label key {key!r} has no mapping in {self.source} (mapped: {known}); "
                                    "add it under `fields` or `ignore` of a --field-map file")
            if target in out:
                raise FieldMapError(f"{where}: keys map to {target!r} twice (the second is {key!r})")
            out[target] = value
        return out

    def target(self, key: str) -> str | None:
        for pattern, target in self.fields.items():
            indexes = _capture(pattern, key)
            if indexes is not None:
                parts = iter(indexes)
                return ".".join(next(parts) if seg == "*" else seg for seg in target.split("."))
        return None

    def type_of(self, name: str) -> str:
        return self.types.get(_pattern(name), "text")


def load_field_map(spec: str | Path | None, default: str | None = None, kind: str | None = None) -> FieldMap:
    """A built-in map by name, a YAML file, or (spec and default None) the identity map of `kind`."""
    if spec is None and default is None:
        if kind is None:
            raise FieldMapError("no field map: give --field-map FILE.yaml (or --kind when the labels use docfactory's field names)")
        types = kind_fields(kind)
        return FieldMap(dataset="custom", kind=kind, locale="en_US", currency="", fields={p: p for p in types},
                        source=f"the {kind} kind's field names", types=types)
    spec = str(spec if spec is not None else default)
    path = Path(spec)
    if not (path.suffix in (".yaml", ".yml") and path.exists()):
        builtin = BUILTIN_DIR / f"{spec}.yaml"
        if not builtin.exists():
            known = ", ".join(sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml")))
            raise FieldMapError(f"unknown field map {spec!r} (built in: {known}; or a YAML file)")
        path = builtin
    parsed = read_yaml_model(path, _MapFile, FieldMapError)
    types = kind_fields(parsed.kind, str(path))
    for source, target in parsed.fields.items():
        if source.count("*") != target.count("*"):
            raise FieldMapError(f"{path}: fields: {source!r} -> {target!r}: both sides need the same number of '*'")
        if _pattern(target) not in types:
            raise FieldMapError(f"{path}: fields: {target!r} is not a field of kind {parsed.kind!r} "
                                f"(known: {', '.join(sorted(types))})")
    return FieldMap(parsed.dataset, parsed.kind, parsed.locale, parsed.currency, dict(parsed.fields),
                    tuple(parsed.ignore), parsed.unmapped, str(path), types)


@lru_cache(maxsize=None)
def _kind_fields(kind: str) -> tuple[tuple[str, str], ...]:
    from docfactory.templates import TemplateRegistry

    out: dict[str, str] = {}
    for template in TemplateRegistry().templates.values():
        if template.kind == kind:
            out.update({pattern: decl.type for pattern, decl in template.config.fields.items()})
    return tuple(sorted(out.items()))


def kind_fields(kind: str, where: str = "--kind") -> dict[str, str]:
    """Field pattern -> type over every built-in template of `kind`."""
    fields = dict(_kind_fields(kind))
    if not fields:
        from docfactory.generators.content import CONTENT_BUILDERS

        raise FieldMapError(f"{where}: unknown kind {kind!r} (known: {', '.join(sorted(CONTENT_BUILDERS))})")
    return fields


def _pattern(name: str) -> str:
    return ".".join("*" if part.isdigit() else part for part in name.split("."))


def _capture(pattern: str, key: str) -> list[str] | None:
    """The list indexes each '*' of `pattern` stands for in `key`, or None when it does not match.
    A '*' matches an index segment, or nothing (index "0"): Donut trees hold a one-item list as
    the item itself ({"menu": {"nm": ...}} is menu item 0)."""
    return _walk(pattern.split("."), key.split("."), prefix=False)


def _matches(pattern: str, key: str, prefix: bool = False) -> bool:
    return _walk(pattern.split("."), key.split("."), prefix) is not None


def _walk(p: list[str], k: list[str], prefix: bool) -> list[str] | None:
    if not p:
        return [] if prefix or not k else None
    if p[0] == "*":
        if k and (k[0].isdigit() or prefix):
            rest = _walk(p[1:], k[1:], prefix)
            if rest is not None:
                return [k[0], *rest]
        rest = _walk(p[1:], k, prefix)
        return None if rest is None else ["0", *rest]
    if k and p[0] == k[0]:
        return _walk(p[1:], k[1:], prefix)
    return None
