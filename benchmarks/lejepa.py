"""LeJEPA's measured effect: pretrain a small ViT on a run's pretrain shards, then linear probes on
frozen features against a random-init encoder of the same shape, and the stage A/B transition.

    .venv/bin/engine generate --n 300 --out runs/bench --seed 11 --emit
    .venv/bin/python benchmarks/lejepa.py runs/bench [--steps 250] [--lambd 0.05] [--seed 0]

Prints the loss curve (every 25 steps) and report.json (probe accuracies, transition weight changes).
The defaults fit a 2-core CPU in about 20 minutes; on a GPU use `engine pretrain --scale small`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from docfactory.train.lejepa import make_config
from docfactory.train.lejepa.pipeline import pretrain_and_measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--lambd", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    cfg = make_config("tiny", encoder=dict(hidden_size=96, num_hidden_layers=4, num_attention_heads=3, intermediate_size=384),
                      global_size=96, local_size=48, proj_hidden=512, proj_dim=256, batch_size=32, steps=args.steps, lr=1e-3,
                      warmup_steps=30, lambd=args.lambd, n_slices=256, log_every=25, save_every=100, seed=args.seed,
                      device=args.device)
    out = args.out or args.run / "models" / "lejepa-bench" / f"seed{args.seed}"
    started = time.perf_counter()
    report = pretrain_and_measure(args.run, out, cfg, probe=True, transition=True, transition_steps=30,
                                  on_log=lambda r: print({k: round(v, 4) for k, v in r.items()}, flush=True))
    print(json.dumps(report, indent=1))
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
