"""The held-out layout family: the choice options a loop profile names in `holdout_choices` (e.g.
`{rule: [equals], total_label: [GRAND TOTAL]}`) are never drawn for training, nor for the in_dist and
audit sets that stand for it, and are always drawn for the holdout set. Both go through the spec
sampler's weights["choice"] table: 0 for a held-out option in training, 0 for every other option
in the holdout set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from docfactory.templates import Template


@dataclass(frozen=True)
class HoldoutFamily:
    held: dict[str, frozenset[str]]  # choice -> its held-out options, as str(option)
    options: dict[str, frozenset[str]]  # choice -> every option the trained templates give it
    templates: tuple[str, ...]  # the trained templates that have a held-out choice

    @classmethod
    def of(cls, holdout_choices: Mapping[str, list[Any]], trained: list[Template],
           held_out: Sequence[Template] = ()) -> "HoldoutFamily":
        """Checked against every template (`held_out`: the holdout_templates): a choice some template
        has, options it has, and an option left for training in every trained template that has
        the choice; ValueError otherwise. A choice only held-out templates have holds nothing more out."""
        everyone, trained_names = [*trained, *held_out], {t.name for t in trained}
        held, options = {}, {}
        for name, wanted in holdout_choices.items():
            having = [t for t in everyone if name in t.config.choices]
            if not having:
                known = sorted({c for t in everyone for c in t.config.choices})
                raise ValueError(f"holdout_choices: no template has the choice {name!r} "
                                 f"(choices: {', '.join(known) or 'none'})")
            given = {str(o) for t in having for o in t.config.choices[name]}
            unknown = sorted({str(o) for o in wanted} - given)
            if unknown or not wanted:
                raise ValueError(f"holdout_choices.{name}: {unknown or 'no options'} (options: {', '.join(sorted(given))})")
            for t in having:
                if t.name in trained_names and {str(o) for o in t.config.choices[name]} <= {str(o) for o in wanted}:
                    raise ValueError(f"holdout_choices.{name}: holds out every option of template {t.name}, "
                                     "which then has none to train on")
            trained_options = {str(o) for t in trained if name in t.config.choices for o in t.config.choices[name]}
            if trained_options:
                held[name] = frozenset(str(o) for o in wanted)
                options[name] = frozenset(trained_options)
        # The family is drawn with exactly the held-out options: trained templates that can print them all.
        templates = [t.name for t in trained if any(name in t.config.choices for name in held) and all(
            held[name] & {str(o) for o in t.config.choices[name]} for name in held if name in t.config.choices)]
        return cls(held, options, tuple(sorted(templates)))

    def __bool__(self) -> bool:
        return bool(self.held)

    def excluded(self, weights: Mapping) -> dict:
        """`weights` (a training mix or plan) with every held-out option at 0."""
        if not self.held:
            return dict(weights)
        tables = {name: dict(table) for name, table in (weights.get("choice") or {}).items()}
        for name, held in self.held.items():
            tables.setdefault(name, {}).update({option: 0.0 for option in sorted(held)})
        return {**weights, "choice": tables}

    def forced(self) -> dict:
        """The holdout set's weights: the held-out options only (every other option at 0)."""
        return {"choice": {name: {option: 1.0 if option in self.held[name] else 0.0 for option in sorted(options)}
                           for name, options in self.options.items()}}
