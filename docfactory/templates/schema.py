"""The typed form of template.yaml. Unknown keys are rejected so a typo fails loudly."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from docfactory.field_types import check_field_type

KNOB_NAMES = ("locale", "currency", "n_items", "tax_rate", "discount_rate", "font", "dpi")


class FieldDecl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Annotated[str, Field(description="a field type: text, id, integer, number, money, percent, date, time, address")]
    provider: Annotated[str | None, Field(description="Faker method that fills a template-only field, e.g. 'bothify'")] = None
    args: Annotated[dict[str, Any], Field(description="keyword arguments for the provider")] = {}

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        return check_field_type(value)


class TemplateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Annotated[str, Field(description="document kind: invoice, receipt or table")]
    version: Annotated[str, Field(description="bump when the layout changes; stored in every record")]
    description: str = ""
    fonts: Annotated[list[str], Field(min_length=1, description="font families the `font` knob picks from")]
    knobs: Annotated[list[str], Field(description="knobs this template honours; others keep their defaults")] = list(KNOB_NAMES)
    n_items: Annotated[tuple[int, int], Field(description="inclusive range of line items / table rows")] = (3, 10)
    options: Annotated[dict[str, Any], Field(description="passed to the content builder, e.g. multi_rate")] = {}
    fields: Annotated[dict[str, FieldDecl], Field(description="labelled fields: dotted paths, '*' for list indexes")]
    tables: Annotated[list[str], Field(description="names used in data-table attributes")] = []
    locales: Annotated[list[str], Field(description="the locales it prints, e.g. [en_MY]; empty: every locale "
                                                    "(the `locale` knob draws from these)")] = []
    choices: Annotated[dict[str, list[Any]], Field(description="layout alternatives: the document's seeded rng picks "
                                                               "one per name, the template reads `choice.NAME`")] = {}

    @field_validator("knobs")
    @classmethod
    def _known_knobs(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(KNOB_NAMES))
        if unknown:
            raise ValueError(f"unknown knobs {unknown} (known: {', '.join(KNOB_NAMES)})")
        return value

    @field_validator("locales")
    @classmethod
    def _locale_names(cls, value: list[str]) -> list[str]:
        # Shape only: which locales exist is the generator's (spec sampling and `templates validate` check it).
        bad = [name for name in value if not _LOCALE_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"locale names look like en_MY or de_DE, not {bad}")
        return value

    @field_validator("choices")
    @classmethod
    def _non_empty(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        empty = sorted(name for name, options in value.items() if not options)
        if empty:
            raise ValueError(f"choices {empty} have no options")
        return value


_LOCALE_NAME = re.compile(r"[a-z]{2}_[A-Z]{2}")
