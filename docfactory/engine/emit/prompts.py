"""Prompt phrasings and field vocabularies (data in prompts.yaml), and the seeded choice among them."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

PROMPTS_FILE = Path(__file__).with_name("prompts.yaml")
TASKS = ("extract", "field", "region", "table", "table_otsl", "markdown", "ocr")
_PLACEHOLDERS = {"kind", "field", "table", "box"}


class PromptError(ValueError):
    pass


@dataclass(frozen=True)
class Prompts:
    absent_answer: str
    kinds: dict[str, str]
    tables: dict[str, str]
    tasks: dict[str, list[str]]
    fields: dict[str, dict[str, str]]

    def phrase(self, task: str, rng: random.Random, **values: str) -> str:
        return rng.choice(self.tasks[task]).format(**values)

    def kind_name(self, kind: str) -> str:
        return self.kinds.get(kind, kind)

    def table_name(self, name: str) -> str:
        return self.tables.get(name, name.replace("_", " "))

    def vocabulary(self, kind: str) -> dict[str, str]:
        return self.fields.get(kind, {})

    def field_name(self, kind: str, path: str) -> str:
        """'items.2.amount' -> 'amount of line item 3' (vocabulary), else a name made from the path."""
        parts = path.split(".")
        indices = [int(p) + 1 for p in parts if p.isdigit()]
        pattern = ".".join("*" if p.isdigit() else p for p in parts)
        name = self.vocabulary(kind).get(pattern)
        if name is None:  # a template's own field: "po_number" -> "po number", "lots.1.qty" -> "lots 2 qty"
            return " ".join(str(int(p) + 1) if p.isdigit() else p.replace("_", " ") for p in parts)
        return name.format(**dict(zip("ij", indices)))


def _check(data: dict, path: Path) -> Prompts:
    try:
        prompts = Prompts(absent_answer=str(data["absent_answer"]), kinds=dict(data["kinds"]),
                          tables=dict(data["tables"]), tasks={t: list(p) for t, p in data["tasks"].items()},
                          fields={k: dict(v) for k, v in data["fields"].items()})
    except (KeyError, TypeError, AttributeError) as exc:
        raise PromptError(f"{path}: expected keys absent_answer, kinds, tables, tasks, fields ({exc})") from None
    missing = [t for t in TASKS if len(prompts.tasks.get(t, [])) < 2]
    if missing:
        raise PromptError(f"{path}: tasks {missing} need at least two phrasings each")
    for task, phrasings in prompts.tasks.items():
        for text in phrasings:
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
            if names - _PLACEHOLDERS:
                raise PromptError(f"{path}: {task} phrasing {text!r} uses unknown placeholders {sorted(names - _PLACEHOLDERS)}")
    return prompts


@lru_cache(maxsize=4)
def load_prompts(path: Path | str = PROMPTS_FILE) -> Prompts:
    path = Path(path)
    return _check(yaml.safe_load(path.read_text(encoding="utf-8")), path)
