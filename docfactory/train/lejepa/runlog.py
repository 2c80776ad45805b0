"""Run capture for the LeJEPA and `vlm` trainers, through the shared `docfactory.train.run_capture`:
`run.yaml` (git commit, the shards read with their sha256, config, command line, library versions,
seed, device, status) and scalars for TensorBoard with a CSV copy; a resumed training purges the
scalars logged after its checkpoint's step."""

from __future__ import annotations

from pathlib import Path

from docfactory.engine.catalog import open_catalog
from docfactory.train.run_capture import ScalarLog, write_run_yaml


def shards_read(run_dir: Path, kinds: tuple[str, ...]) -> list[dict]:
    with open_catalog(run_dir, read_only=True) as catalog:
        return [{"path": path, "kind": info.kind, "rows": info.rows, "sha256": info.sha256}
                for kind in kinds for path, info in sorted(catalog.listed(kind).items())]


class RunLog:
    def __init__(self, out_dir: Path, *, kind: str, config: dict, run_dir: Path, argv: list[str] | None,
                 kinds: tuple[str, ...], resume_step: int = 0):
        self.out_dir, self.kind, self.config = Path(out_dir), kind, config
        self.run_info = {"run_dir": str(Path(run_dir).resolve()), "shards": shards_read(Path(run_dir), kinds)}
        if argv is not None:
            self.run_info["cli"] = argv
        write_run_yaml(self.out_dir, model=kind, config=config, seed=config.get("seed"), run_info=dict(self.run_info),
                       extra={"resumed_from": resume_step})
        self.scalars_log = ScalarLog(self.out_dir, resume_step=resume_step if resume_step else None)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        for tag, value in values.items():
            self.scalars_log.scalar(tag, float(value), step)
        self.scalars_log.flush()

    def close(self, status: str = "done", **outcome) -> None:
        self.scalars_log.close()
        write_run_yaml(self.out_dir, model=self.kind, config=self.config, seed=self.config.get("seed"),
                       run_info=dict(self.run_info), extra=outcome, status=status)
