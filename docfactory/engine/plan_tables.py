"""A plan's weights as tables to read (`engine mine`, the loop's log, the HTML report)."""

from __future__ import annotations

from docfactory.engine.mining_sql import CHOICE


def weight_tables(weights: dict) -> list[tuple[str, dict[str, float]]]:
    """A plan's weight tables to show, by name: a choice's as `choice.NAME`; variants left out."""
    out = []
    for knob, table in sorted(weights.items()):
        if knob == "choice":
            out += [(CHOICE + name, options) for name, options in sorted(table.items())]
        elif knob != "variants":
            out.append((knob, table))
    return out


def grouped_weights(values: dict[str, float]) -> list[tuple[str, float]]:
    """Weights heaviest first; runs of consecutive numbers with one weight as "25-29"."""
    by_weight: dict[float, list[str]] = {}
    for value, w in values.items():
        by_weight.setdefault(w, []).append(value)
    out = []
    for w in sorted(by_weight, reverse=True):
        names = by_weight[w]
        if not all(n.isdigit() for n in names):
            out += [(n, w) for n in sorted(names)]
            continue
        numbers = sorted(int(n) for n in names)
        start = prev = numbers[0]
        for n in numbers[1:] + [None]:
            if n is not None and n == prev + 1:
                prev = n
                continue
            out.append((str(start) if start == prev else f"{start}-{prev}", w))
            if n is not None:
                start = prev = n
    return out
