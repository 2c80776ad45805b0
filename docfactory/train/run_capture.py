"""What every training records next to its checkpoint, so a result can be traced and rerun:

- `run.yaml`: git commit (and whether the tree was dirty), the shards read with their sha256, the
  full resolved config and the command line, library versions, seed, device, and the outcome;
- scalars for TensorBoard (`torch.utils.tensorboard`, folder `tb/`) with a CSV copy (`scalars.csv`).

A resumed training purges scalars logged after its checkpoint's step from both, so a curve never
shows the steps a killed process took twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

LIBRARIES = ("docfactory", "torch", "transformers", "peft", "tokenizers", "numpy", "pyarrow", "duckdb", "tensorboard")


def git_state(start: Path | None = None) -> dict[str, Any]:
    """{"commit", "dirty"} of the repository holding this package (None outside a checkout)."""
    where = Path(start or Path(__file__).resolve().parent)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                                capture_output=True, text=True, timeout=10)
        return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def library_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    try:
        out["tesseract"] = __import__("docfactory.train.ocr", fromlist=["tesseract_version"]).tesseract_version()
    except Exception:  # noqa: BLE001 - a model that needs no OCR trains without Tesseract
        out["tesseract"] = None
    return out


def device_info() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"device": "cpu", "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                            "platform": platform.platform()}
    if torch.cuda.is_available():
        info.update(device="cuda", gpu=torch.cuda.get_device_name(0))
    return info


def write_run_yaml(out_dir: Path, *, model: str, config: dict, seed: int | None, run_info: dict | None = None,
                   extra: dict | None = None, status: str = "running") -> Path:
    """Write (or rewrite) OUT/run.yaml atomically; `run_info` is what the engine knows: the command
    line (`cli`), the run folder and the shards it read (`shards`: path, kind, iteration, rows, sha256)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    info = dict(run_info or {})
    record = {
        "model": model,
        "status": status,
        "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git": git_state(),
        "cli": info.pop("cli", sys.argv),
        "seed": seed,
        "device": device_info(),
        "libraries": library_versions(),
        "config": config,
        **info,
        **(extra or {}),
    }
    path = out_dir / "run.yaml"
    tmp = path.with_name(f".tmp-{os.getpid()}-run.yaml")
    with open(tmp, "w", encoding="utf-8") as handle:
        yaml.safe_dump(record, handle, sort_keys=False, allow_unicode=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


class ScalarLog:
    """TensorBoard scalars plus `scalars.csv` (step, tag, value, wall_time)."""

    def __init__(self, out_dir: Path, resume_step: int | None = None):
        from torch.utils.tensorboard import SummaryWriter

        self.out_dir = Path(out_dir)
        self.csv_path = self.out_dir / "scalars.csv"
        kept: list[list[str]] = []
        if resume_step is not None and self.csv_path.exists():
            with open(self.csv_path, newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))[1:]
            kept = [r for r in rows if r and int(r[0]) <= resume_step]
        with open(self.csv_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["step", "tag", "value", "wall_time"])
            writer.writerows(kept)
        self.writer = SummaryWriter(str(self.out_dir / "tb"), purge_step=(resume_step + 1) if resume_step is not None else None)
        self._csv = open(self.csv_path, "a", newline="", encoding="utf-8")
        self._rows = csv.writer(self._csv)

    def scalar(self, tag: str, value: float, step: int) -> None:
        now = time.time()
        self.writer.add_scalar(tag, value, step, walltime=now)
        self._rows.writerow([step, tag, f"{value:.6g}", f"{now:.3f}"])

    def flush(self) -> None:
        self.writer.flush()
        self._csv.flush()

    def close(self) -> None:
        self.writer.close()
        self._csv.close()


def read_scalars(out_dir: Path) -> list[dict]:
    with open(Path(out_dir) / "scalars.csv", newline="", encoding="utf-8") as handle:
        return [{"step": int(r["step"]), "tag": r["tag"], "value": float(r["value"])} for r in csv.DictReader(handle)]
