"""Which split a document belongs to: by document (never by page), from its id alone, so a run that
grows keeps every earlier document where it was; and whole templates held out (`holdout`) to test
generalization to layouts a model has never seen."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from docfactory.generators.spec import SPLIT_RATIOS, assign_split

HOLDOUT = "holdout"


class SplitConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ratios: Annotated[dict[str, float], Field(description="split name -> share of documents; shares sum to 1")] = dict(SPLIT_RATIOS)
    holdout_templates: Annotated[list[str], Field(description="templates whose every page goes to the 'holdout' split")] = []

    @field_validator("ratios")
    @classmethod
    def _ratios(cls, ratios: dict[str, float]) -> dict[str, float]:
        if not ratios:
            raise ValueError("at least one split")
        if HOLDOUT in ratios:
            raise ValueError(f"{HOLDOUT!r} is reserved for holdout_templates")
        if any(share < 0 for share in ratios.values()) or abs(sum(ratios.values()) - 1.0) > 1e-6:
            raise ValueError(f"shares must be >= 0 and sum to 1 (got {ratios})")
        # The order of the shares places each split's interval, so fix it (train, val, test, then
        # by name): the same shares written in another order, or read back from JSON, split alike.
        known = [name for name, _ in SPLIT_RATIOS]
        return {name: ratios[name] for name in sorted(ratios, key=lambda n: (known.index(n) if n in known else len(known), n))}

    @model_validator(mode="after")
    def _sorted_holdout(self) -> "SplitConfig":
        object.__setattr__(self, "holdout_templates", sorted(set(self.holdout_templates)))
        return self

    def split_of(self, doc_id: str, template: str) -> str:
        if template in self.holdout_templates:
            return HOLDOUT
        return assign_split(doc_id, tuple(self.ratios.items()))

    def names(self) -> list[str]:
        return list(self.ratios) + ([HOLDOUT] if self.holdout_templates else [])


def parse_ratios(text: str) -> dict[str, float]:
    """'train=0.8,val=0.1,test=0.1' -> {'train': 0.8, ...} (the CLI's --split option)."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, share = part.partition("=")
        if not sep:
            raise ValueError(f"bad split {part!r}: expected name=share, e.g. train=0.8,val=0.1,test=0.1")
        try:
            out[name.strip()] = float(share)
        except ValueError:
            raise ValueError(f"bad share {share!r} for split {name.strip()!r}") from None
    return out
