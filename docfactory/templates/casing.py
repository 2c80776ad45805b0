"""Printing a value in another case: `{{ doc.store.name | upper }}` (or `| caps`, `| lower`,
`| title`, `| capitalize`).

A label is the text printed, so a value printed in capitals must be labelled in capitals. Jinja's
case filters, given a field value (a `Field`), print the cased text as before and also note which
field was cased and how; the generator then labels that field with the cased text (its
`normalized` form is unchanged) and verification compares the PDF against it as always.

The note is kept per render in a context variable, never in the template's environment: one
Template object renders many documents, possibly in several threads.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

from jinja2 import filters as jinja_filters

from docfactory.field_types import Field

# Filter name -> Jinja's own filter (on a plain string the filters behave exactly as Jinja's).
CASINGS: dict[str, Callable[[object], str]] = {
    "upper": jinja_filters.do_upper,
    "lower": jinja_filters.do_lower,
    "title": jinja_filters.do_title,
    "capitalize": jinja_filters.do_capitalize,
}
ALIASES = {"caps": "upper"}  # what receipts print: `{{ doc.store.name | caps }}`

# id(field) -> (the Field, the casings it was printed in), for the render in progress.
_noted: ContextVar[dict[int, tuple[Field, set[str]]] | None] = ContextVar("noted_casings", default=None)


@contextmanager
def noting_casings() -> Iterator[dict[int, tuple[Field, set[str]]]]:
    """Collect the fields the case filters print during one render."""
    noted: dict[int, tuple[Field, set[str]]] = {}
    token = _noted.set(noted)
    try:
        yield noted
    finally:
        _noted.reset(token)


def case_filters() -> dict[str, Callable[[object], str]]:
    """The filters a template environment installs in place of Jinja's case filters."""
    out = {name: _noting(name, change) for name, change in CASINGS.items()}
    out.update({alias: out[name] for alias, name in ALIASES.items()})
    return out


def _noting(name: str, change: Callable[[object], str]) -> Callable[[object], str]:
    def cased(value: object) -> str:
        noted = _noted.get()
        if isinstance(value, Field) and noted is not None:
            # Kept by identity (the Field object itself is held): the same value printed twice is
            # one field, and only the content tree's own Field objects are labels.
            noted.setdefault(id(value), (value, set()))[1].add(name)
        return change(value)

    cased.__name__ = f"do_{name}"
    cased.__doc__ = f"{name} case; on a labelled value the label records the {name}-cased text"
    return cased


def cased_text(field: Field, casing: str) -> str:
    """The text a field prints with `casing` (the same function the filter applied)."""
    return CASINGS[casing](field.text)
