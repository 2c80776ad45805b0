"""`command`: an external model behind one shell command — how a team plugs in its own model.

    engine predict RUN --model command --predict-cmd "python my_model.py {manifest} {predictions}"

The command gets a manifest JSONL, one line per page:

    {"doc_id": "doc-0000003", "page": 0, "copy": null, "image": "/abs/path/doc-0000003-p0.png", "width": 993, "height": 1404}

and must write the predictions JSONL (`engine evaluate`'s format: doc_id, page, copy, fields, tables,
text, confidence) to the predictions path. `{manifest}` and `{predictions}` in the command are
replaced by the two paths; without them both are appended as arguments. They are also in the
environment as DOCFACTORY_MANIFEST and DOCFACTORY_PREDICTIONS. The command runs in a shell, in the
current directory. A non-zero exit, a line that is not a JSON object, or a prediction for a page
that was not in the manifest is an error naming the line.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from docfactory.train.base import PageInput
from docfactory.train.registry import ModelEntry, register_model

_SUFFIX = {b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg", b"RIFF": ".webp", b"II*\x00": ".tif", b"MM\x00*": ".tif"}


class CommandError(RuntimeError):
    pass


class CommandPredictor:
    name = "command"

    def __init__(self, predict_cmd: str | None = None, timeout_s: float | None = None, keep_dir: Path | None = None):
        if not predict_cmd or not predict_cmd.strip():
            raise ValueError('the command model needs --predict-cmd "CMD" (given a manifest JSONL of page images, it '
                             "writes predictions JSONL; {manifest} and {predictions} name the two files)")
        self.predict_cmd, self.timeout_s, self.keep_dir = predict_cmd, timeout_s, keep_dir

    def predict(self, pages: Iterable[PageInput]) -> Iterator[dict]:
        pages = list(pages)
        with tempfile.TemporaryDirectory(prefix="docfactory-cmd-") as tmp:
            folder = Path(self.keep_dir or tmp)
            folder.mkdir(parents=True, exist_ok=True)
            manifest, predictions = folder / "manifest.jsonl", folder / "predictions.jsonl"
            expected = write_manifest(pages, folder, manifest)
            self._run(manifest, predictions)
            yield from read_predictions(predictions, expected)

    def _run(self, manifest: Path, predictions: Path) -> None:
        command = self.predict_cmd
        if "{manifest}" in command or "{predictions}" in command:
            command = command.replace("{manifest}", shlex.quote(str(manifest))).replace("{predictions}", shlex.quote(str(predictions)))
        else:
            command = f"{command} {shlex.quote(str(manifest))} {shlex.quote(str(predictions))}"
        env = dict(os.environ, DOCFACTORY_MANIFEST=str(manifest), DOCFACTORY_PREDICTIONS=str(predictions))
        try:
            proc = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            raise CommandError(f"--predict-cmd ran past {self.timeout_s}s: {self.predict_cmd}") from None
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip()[-600:]
            raise CommandError(f"--predict-cmd exited with {proc.returncode}: {self.predict_cmd}\n{tail}")
        if not predictions.exists():
            raise CommandError(f"--predict-cmd wrote no predictions file (expected {predictions}): {self.predict_cmd}")


def write_manifest(pages: list[PageInput], folder: Path, manifest: Path) -> set[tuple]:
    expected: set[tuple] = set()
    with open(manifest, "w", encoding="utf-8") as handle:
        for page in pages:
            copy = "" if page.copy is None else f"-c{page.copy}"
            suffix = next((s for magic, s in _SUFFIX.items() if page.image.startswith(magic)), ".png")
            image = folder / f"{page.doc_id}-p{page.page}{copy}{suffix}"
            image.write_bytes(page.image)
            handle.write(json.dumps({"doc_id": page.doc_id, "page": page.page, "copy": page.copy, "image": str(image.resolve()),
                                     "width": page.width, "height": page.height}) + "\n")
            expected.add((page.doc_id, page.page, page.copy))
    return expected


def read_predictions(path: Path, expected: set[tuple]) -> Iterator[dict]:
    with open(path, encoding="utf-8-sig") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CommandError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise CommandError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            key = (row.get("doc_id"), row.get("page"), row.get("copy"))
            if key not in expected:
                copy = "" if key[2] is None else f" copy {key[2]}"
                raise CommandError(f"{path}:{number}: {key[0]!r} page {key[1]!r}{copy} is not in the manifest")
            if row.get("copy") is None:
                row.pop("copy", None)
            yield row


ENTRY = register_model(ModelEntry(name="command", description="an external model: --predict-cmd \"CMD {manifest} {predictions}\"",
                                  predictor=CommandPredictor))
