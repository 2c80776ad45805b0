"""The typed form of template.yaml. Unknown keys are rejected so a typo fails loudly."""

from __future__ import annotations

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

    @field_validator("knobs")
    @classmethod
    def _known_knobs(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(KNOB_NAMES))
        if unknown:
            raise ValueError(f"unknown knobs {unknown} (known: {', '.join(KNOB_NAMES)})")
        return value
