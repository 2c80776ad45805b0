"""The tag sets the tagger predicts per word.

- field: BIO over field patterns (`items.*.amount`): O, B-<pattern>, I-<pattern>. The item index is
  not a tag: the assembler counts items (a repeated pattern starts a new item).
- table: where a word sits in a table. O: not in one. A header cell's first word is H0, H1 or H2
  (its header row: header cells are often bottom-aligned, so two header rows can share a visual
  line and only the row index separates them); a body cell's first word is R (the first cell of a
  new row, in reading order) or C (another cell of the current row); later words of a cell are IH
  or ID. The first word of a table carries T- before its tag.
- col: the column a table word's cell starts in (0 .. max_cols-1).
- span: whether the word's cell spans columns, rows, both, or none.

Together they rebuild rows, columns, header rows and spans (assemble.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IGNORE = -100
MAX_HEADER_ROWS = 3
HEADER_BEGIN = tuple(f"H{k}" for k in range(MAX_HEADER_ROWS))
TABLE_TAGS = ("O", *(f"T-{r}" for r in (*HEADER_BEGIN, "R")), *HEADER_BEGIN, "R", "C", "IH", "ID")
SPAN_TAGS = ("none", "col", "row", "both")
HEADS = ("field", "table", "col", "span")

_INDEX = re.compile(r"\.\d+(?=\.|$)")


def pattern_of(name: str) -> str:
    """'groups.1.rows.3.total' -> 'groups.*.rows.*.total'."""
    return _INDEX.sub(".*", name)


def table_tag(role: str, first: bool = False) -> int:
    """role: H0..H2, R, C, IH, ID; first: the table's first word (a begin role)."""
    return TABLE_TAGS.index(f"T-{role}" if first else role)


def table_role(tag: int) -> tuple[str, bool]:
    """(role, starts a table) of a table tag."""
    name = TABLE_TAGS[tag]
    return (name[2:], True) if name.startswith("T-") else (name, False)


def span_tag(colspan: int, rowspan: int) -> int:
    return (1 if colspan > 1 else 0) + (2 if rowspan > 1 else 0)


@dataclass(frozen=True)
class TagSet:
    patterns: tuple[str, ...]  # sorted field patterns the model knows
    max_cols: int

    @property
    def field_labels(self) -> list[str]:
        return ["O"] + [f"{bio}-{p}" for p in self.patterns for bio in ("B", "I")]

    def sizes(self) -> dict[str, int]:
        return {"field": 1 + 2 * len(self.patterns), "table": len(TABLE_TAGS), "col": self.max_cols,
                "span": len(SPAN_TAGS)}

    def field_tag(self, pattern: str, begin: bool) -> int:
        index = self.patterns.index(pattern)
        return 1 + 2 * index + (0 if begin else 1)

    def field_of(self, tag: int) -> tuple[str, bool] | None:
        """(pattern, begins) of a field tag, None for O."""
        if tag <= 0:
            return None
        return self.patterns[(tag - 1) // 2], (tag - 1) % 2 == 0

    def to_json(self) -> dict:
        return {"patterns": list(self.patterns), "max_cols": self.max_cols}

    @classmethod
    def from_json(cls, data: dict) -> "TagSet":
        return cls(tuple(data["patterns"]), int(data["max_cols"]))
