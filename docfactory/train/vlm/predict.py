"""The `vlm` predictor: the base checkpoint + the trained adapter, asked each page's prompts with
`generate()`, the answers parsed into the predictions JSONL that `engine evaluate` reads: JSON for
`fields` (the `extract` task), HTML for `tables` (one `table` prompt per table name the kind had in
training), plain text for `text` (`ocr`).

A parse failure does not stop the run: the page's row keeps what did parse, the failed task's value
is empty (`fields: {}`, the table left out), and `error` says what failed with the answer's start.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

import torch
from PIL import Image

from docfactory.train.base import PageInput
from docfactory.train.vlm.arch import VED, check_local, init_vision_from, load_model, load_processing, vision_tower
from docfactory.train.vlm.config import VlmOptions
from docfactory.train.vlm.data import collate, encode_example
from docfactory.train.vlm.train import VISION_FILE, model_inputs, pick_device

_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


def parse_fields(answer: str) -> tuple[dict | None, str | None]:
    """(fields, None) or (None, reason). Accepts a fenced block and text around one JSON object."""
    text = _FENCE.sub("", answer.strip())
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            return None, f"extract: not JSON ({exc.msg} at char {exc.pos})"
        try:
            value = json.loads(text[start:end + 1])
        except json.JSONDecodeError as inner:
            return None, f"extract: not JSON ({inner.msg} at char {start + inner.pos})"
    if not isinstance(value, dict):
        return None, f"extract: a JSON {type(value).__name__}, not an object"
    return value, None


def parse_table(answer: str) -> tuple[str | None, str | None]:
    """(html, None) or (None, reason): the answer's first <table>…</table>."""
    match = re.search(r"<table\b.*?</table>", answer, flags=re.S | re.I)
    if match is None:
        return None, "table: no <table>…</table> element" if "<table" not in answer.lower() else "table: <table> not closed"
    return match.group(0), None


def _shown(answer: str, n: int = 60) -> str:
    return json.dumps(answer[:n], ensure_ascii=False)


class VlmPredictor:
    name = "vlm"

    def __init__(self, checkpoint: str | Path, base: str | Path | None = None, device: str | None = None,
                 batch_size: int | None = None, max_new_tokens: int | None = None, tasks: Iterable[str] | None = None,
                 merge: bool = True, **unknown: Any):
        from peft import PeftModel
        from safetensors.torch import load_file

        if unknown:
            raise ValueError(f"unknown vlm predictor option(s) {', '.join(sorted(unknown))} (known: base, device, batch_size, "
                             "max_new_tokens, tasks, merge)")

        self.dir = Path(checkpoint)
        meta_path = self.dir / "vlm.json"
        if not meta_path.exists():
            raise FileNotFoundError(f"{meta_path}: not a trained vlm folder (train first: engine train RUN --model vlm --base PATH)")
        self.meta = json.loads(meta_path.read_text())
        opts = VlmOptions.model_validate(self.meta["options"] | {"base": str(base or self.meta["base"]),
                                                                  **({"device": device} if device else {})})
        self.opts, self.device = opts, pick_device(opts.device)
        self.batch_size = batch_size or opts.predict_batch_size
        self.max_new_tokens = max_new_tokens or opts.max_new_tokens
        self.tasks = tuple(tasks or opts.predict_tasks)
        base_path = check_local(opts.base)
        model, self.model_type = load_model(base_path, opts, self.device)
        self.proc = load_processing(base_path, self.model_type)
        if opts.vision_init:
            init_vision_from(model, self.model_type, opts.vision_init)
        adapter = self.dir / "adapter"
        if (adapter / VISION_FILE).exists():  # a vision tower trained in full (stage B)
            vision_tower(model, self.model_type).load_state_dict(load_file(adapter / VISION_FILE))
        model = PeftModel.from_pretrained(model, adapter)
        self.model = (model.merge_and_unload() if merge and not opts.quantize else model).eval()
        tok = self.proc.tokenizer
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        self.start_id = self.model.config.decoder_start_token_id if self.model_type == VED else None
        self.stop_ids = self._stop_ids()
        self.prompts = self.meta["prompts"]
        trained = {t for bank in self.prompts.values() for t in ("extract", "ocr") if t in bank}
        trained |= {"table"} if any(bank["tables"] for bank in self.prompts.values()) else set()
        if not trained & set(self.tasks):
            raise ValueError(f"{self.dir}: trained on no task it could answer here ({', '.join(self.tasks)}); train with "
                             "the extract, table or ocr pairs, or ask for the tasks it learned")

    def _stop_ids(self) -> list[int]:
        """EOS and the chat template's end-of-turn token (the first token after an answer)."""
        tok = self.proc.tokenizer
        ids = [tok.eos_token_id] if tok.eos_token_id is not None else []
        tail = self.proc.answer_text("q", "a")
        tail = tail[tail.find("a") + 1:] if "a" in tail else ""
        first = tok(tail, add_special_tokens=False)["input_ids"][:1] if tail.strip() else []
        if first and first[0] in set(tok.all_special_ids) and first[0] not in ids:
            ids += first
        return ids

    def _queries(self, page: PageInput) -> list[tuple[str, str | None, str]]:
        """(task, table name, prompt) for one page, from the prompts of its kind (or the most
        trained kind when the page's kind is unknown, e.g. a plain image file)."""
        kind = page.kind if page.kind in self.prompts else max(self.prompts, key=lambda k: self.prompts[k]["pairs"])
        bank = self.prompts[kind]
        out = []
        if "extract" in self.tasks and "extract" in bank:
            out.append(("extract", None, bank["extract"]))
        if "table" in self.tasks:
            out += [("table", name, prompt) for name, prompt in sorted(bank["tables"].items())]
        if "ocr" in self.tasks and "ocr" in bank:
            out.append(("ocr", None, bank["ocr"]))
        return out

    @torch.no_grad()
    def generate(self, images: list[Image.Image], prompts: list[str]) -> list[str]:
        examples = [encode_example(self.proc, img, prompt, None, 0, self.start_id) for img, prompt in zip(images, prompts)]
        batch = {k: v.to(self.device) for k, v in collate(examples, self.pad_id, left=True).items()}
        n_in = batch["input_ids"].shape[1]
        out = self.model.generate(**model_inputs(batch, self.model_type), max_new_tokens=self.max_new_tokens, do_sample=False,
                                  eos_token_id=self.stop_ids, pad_token_id=self.pad_id)
        return [self.proc.tokenizer.decode(seq[n_in:], skip_special_tokens=True).strip() for seq in out]

    def predict(self, pages: Iterable[PageInput]) -> Iterator[dict]:
        chunk: list[PageInput] = []
        for page in pages:
            chunk.append(page)
            if len(chunk) == self.batch_size:
                yield from self._predict_chunk(chunk)
                chunk = []
        if chunk:
            yield from self._predict_chunk(chunk)

    def _predict_chunk(self, pages: list[PageInput]) -> list[dict]:
        images = []
        for p in pages:
            with Image.open(io.BytesIO(p.image)) as img:
                images.append(img.convert("RGB"))
        queries = [(i, *q) for i, p in enumerate(pages) for q in self._queries(p)]
        order = sorted(range(len(queries)), key=lambda k: queries[k][3])  # equal prompts together: less padding
        answers: list[str] = [""] * len(queries)
        for s in range(0, len(order), self.batch_size):
            part = order[s:s + self.batch_size]
            for k, answer in zip(part, self.generate([images[queries[k][0]] for k in part], [queries[k][3] for k in part])):
                answers[k] = answer
        rows = []
        for i, p in enumerate(pages):
            row: dict[str, Any] = {"doc_id": p.doc_id, "page": p.page}
            if p.copy is not None:
                row["copy"] = p.copy
            errors = []
            for (j, task, name, _), answer in zip(queries, answers):
                if j != i:
                    continue
                if task == "extract":
                    fields, why = parse_fields(answer)
                    row["fields"] = fields if fields is not None else {}
                elif task == "table":
                    html, why = parse_table(answer)
                    row.setdefault("tables", [])
                    if html is not None:
                        row["tables"].append(html)
                    why = why and f"{why} for {name}"
                else:
                    row["text"], why = answer, None
                if why:
                    errors.append(f"{why}; answer {_shown(answer)}")
            if errors:
                row["error"] = "; ".join(errors)
            rows.append(row)
        return rows
