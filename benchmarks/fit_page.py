"""`page_height: fit` both ways: slips cut in place (one layout) against laid out again at the fitted
height (two layouts): CPU seconds, and whether the pages are the same (PNG bytes, sizes, labels, words).

    .venv/bin/python benchmarks/fit_page.py [--n 12]
"""

from __future__ import annotations

import argparse
import time

from docfactory.generators import fit_page, generate_pages, sample_spec
from docfactory.templates import TemplateRegistry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12, help="documents per fitted template")
    args = parser.parse_args()
    registry = TemplateRegistry()
    fitted = [t for t in registry.templates.values() if t.config.page_height == "fit"]
    specs = [sample_spec(5, i, [t]) for t in fitted for i in range(args.n)]
    generate_pages(specs[:2], registry)  # fonts and stylesheets warm outside the timing
    runs = {}
    for cut in (False, True):
        fit_page.CUT_IN_PLACE = cut
        cpu = time.process_time()
        records, rejected = generate_pages(specs, registry)
        runs[cut] = (time.process_time() - cpu, records, rejected)
    (again_s, again, _), (cut_s, cut, rejected) = runs[False], runs[True]
    same = sum(a.image == b.image and (a.width, a.height) == (b.width, b.height) and a.words == b.words
               and [(f.name, f.boxes) for f in a.fields] == [(f.name, f.boxes) for f in b.fields]
               for a, b in zip(again, cut))
    print(f"{len(specs)} documents of {', '.join(t.name for t in fitted)}: laid out again {again_s:.2f} CPU-s, "
          f"cut in place {cut_s:.2f} CPU-s ({again_s / cut_s:.2f}x); pages identical {same}/{len(cut)}; "
          f"rejected {len(rejected)}")


if __name__ == "__main__":
    main()
