"""Run capture for the LeJEPA and `vlm` trainers: `run.yaml` (git commit, the run's shard sha256s,
config, command line, library versions, seed, device) and scalars as CSV (plus TensorBoard events
when `tensorboard` is installed).

A thin shim until the shared `docfactory.train.run_capture` lands; then this delegates to it.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path

import yaml

from docfactory.engine.catalog import open_catalog

LIBRARIES = ("torch", "transformers", "peft", "tokenizers", "accelerate", "bitsandbytes", "docfactory")


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _shards(run_dir: Path) -> dict[str, str]:
    try:
        with open_catalog(run_dir, read_only=True) as catalog:
            return {path: info.sha256 for path, info in sorted(catalog.listed().items())}
    except Exception:  # a run folder without a catalog: nothing to record
        return {}


class RunLog:
    def __init__(self, out_dir: Path, *, kind: str, config: dict, run_dir: Path, argv: list[str] | None, device: str):
        self.out_dir = Path(out_dir)
        info = {"kind": kind, "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "git_commit": _git_commit(), "run_dir": str(Path(run_dir).resolve()), "shards": _shards(Path(run_dir)),
                "config": config, "seed": config.get("seed"), "argv": argv if argv is not None else sys.argv,
                "device": device, "versions": _versions()}
        (self.out_dir / "run.yaml").write_text(yaml.safe_dump(info, sort_keys=False, allow_unicode=True))
        self._csv_path = self.out_dir / "scalars.csv"
        self._fields: list[str] | None = None
        self._tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.out_dir / "tb"))
        except Exception:  # tensorboard not installed: the CSV is the record
            self._tb = None

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Append one row to scalars.csv (columns fixed by the first row; a resumed run appends)."""
        if self._fields is None:
            if self._csv_path.exists():
                with open(self._csv_path, newline="") as handle:
                    self._fields = next(csv.reader(handle), None)
            if not self._fields:
                self._fields = ["step", *values]
                with open(self._csv_path, "w", newline="") as handle:
                    csv.writer(handle).writerow(self._fields)
        with open(self._csv_path, "a", newline="") as handle:
            csv.writer(handle).writerow([step, *(values.get(k, "") for k in self._fields[1:])])
        if self._tb is not None:
            for key, value in values.items():
                self._tb.add_scalar(key, value, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
