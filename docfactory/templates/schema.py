"""The typed form of template.yaml. Unknown keys are rejected so a typo fails loudly."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

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
    choices: Annotated[dict[str, list[Any]], Field(description="layout alternatives: the spec's seeded rng picks "
                                                               "one per name (a plan's weights[\"choice\"] tilt it), "
                                                               "the template reads `choice.NAME`, the record keeps str(option)")] = {}
    choice_fields: Annotated[dict[str, list[str]], Field(description="choice -> the fields whose printed form it changes "
                                                                     "(label wording, format, place): a weak field tilts "
                                                                     "these choices")] = {}
    page_height: Annotated[Literal["css", "fit"], Field(description="css: as the @page rule sizes it; fit: a slip cut "
                                                                   "to its content (the @page height is only laid out first)")] = "css"

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

    @field_validator("choices")
    @classmethod
    def _options_by_text(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        # A record keeps str(option) and the option is found again by it: two options may not print alike.
        for name, options in value.items():
            by_text: dict[str, Any] = {}
            for option in options:
                if by_text.setdefault(str(option), option) != option:
                    raise ValueError(f"choices.{name}: options {by_text[str(option)]!r} and {option!r} read alike "
                                     f"({str(option)!r}): a record could not tell them apart")
        return value

    @field_validator("choice_fields")
    @classmethod
    def _choice_fields_exist(cls, value: dict[str, list[str]], info: ValidationInfo) -> dict[str, list[str]]:
        if "choices" not in info.data or "fields" not in info.data:
            return value  # their own errors are reported
        choices, fields = info.data["choices"], info.data["fields"]
        for name, printed in value.items():
            if name not in choices:
                raise ValueError(f"{name!r} is not a choice (choices: {', '.join(choices) or 'none'})")
            unknown = [f for f in printed if f not in fields]
            if unknown:
                raise ValueError(f"{name}: {unknown} are not declared fields (fields: {', '.join(fields)})")
        return value


_LOCALE_NAME = re.compile(r"[a-z]{2}_[A-Z]{2}")
