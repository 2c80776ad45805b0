"""The layout trainer: iteration 0 trains the whole model, later iterations train LoRA adapters on
the model the earlier ones merge into (new pages plus a replay share, chosen by the engine).

The loop, in order: words (pdf text layer or OCR, cached) -> gold tags by box overlap -> token
windows -> AdamW with warmup and cosine decay -> validation loss each epoch (or every `eval_every`
steps); the best weights are kept and training stops after `patience` passes without improvement
(a small set overfits early). Every `checkpoint_every` steps, and at each epoch's end, the whole
state goes to checkpoint.pt atomically: weights, optimizer, scheduler, torch RNG, the data position
(epoch, batch) and the best weights so far, so a killed run (kill -9) resumes where it saved.
Batches of an epoch are a pure function of (seed, epoch), so the position is all a resume needs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tokenizers import Tokenizer

from docfactory.train.base import PageInput
from docfactory.train.layout import lora
from docfactory.train.layout.config import LayoutConfig, cpu_threads, load_config
from docfactory.train.layout.data import build_tagset, learn_separators, tagged_examples
from docfactory.train.layout.features import batches, collate, is_slip, noisy, page_windows, reframed
from docfactory.train.layout.model import LayoutTagger, save_model, tag_loss
from docfactory.train.layout.tokenizer import train_tokenizer
from docfactory.train.layout.words import page_words
from docfactory.train.ocr import OcrSettings
from docfactory.train.run_capture import ScalarLog, write_run_yaml

CHECKPOINT = "checkpoint.pt"


class TrainError(RuntimeError):
    pass


def kind_patterns(pages: list[PageInput]) -> dict[str, list[str]]:
    """kind -> the field patterns its training pages carry: a page of a known kind is only tagged
    with its kind's fields (a receipt has no buyer.name), see LayoutPredictor."""
    from docfactory.train.layout.tags import pattern_of

    out: dict[str, set[str]] = {}
    for page in pages:
        if page.kind:
            out.setdefault(page.kind, set()).update(pattern_of(f["name"]) for f in page.meta.get("fields") or [])
    return {kind: sorted(patterns) for kind, patterns in sorted(out.items())}


REQUIRED_SHARE = 0.9


def kind_required(pages: list[PageInput]) -> dict[str, list[str]]:
    """kind -> the single-valued field patterns (no list index) printed on at least 90 % of its
    training pages: a receipt always has a total. The assembler reads the likeliest word for such a
    field when no word's best tag was it (a real receipt's total among five total-like lines)."""
    from docfactory.train.layout.tags import pattern_of

    pages_of: dict[str, int] = {}
    counts: dict[str, dict[str, int]] = {}
    for page in pages:
        if not page.kind:
            continue
        pages_of[page.kind] = pages_of.get(page.kind, 0) + 1
        for pattern in {pattern_of(f["name"]) for f in page.meta.get("fields") or []}:
            if "*" not in pattern:
                counts.setdefault(page.kind, {})[pattern] = counts.get(page.kind, {}).get(pattern, 0) + 1
    return {kind: sorted(p for p, n in counts.get(kind, {}).items() if n >= REQUIRED_SHARE * total)
            for kind, total in sorted(pages_of.items())}


def field_types(pages: list[PageInput]) -> dict[str, str]:
    """field pattern -> its type (date, money, text, ...), for the assembler's typed clean-up."""
    from docfactory.train.layout.tags import pattern_of

    return dict(sorted({pattern_of(f["name"]): f["type"] for p in pages for f in p.meta.get("fields") or []}.items()))


def ocr_settings(config: LayoutConfig) -> OcrSettings:
    return OcrSettings(lang=config.ocr.lang, psm=config.ocr.psm, scale=config.ocr.scale, engine=config.ocr.engine)


class LayoutTrainer:
    name = "layout"

    def __init__(self, profile: str = "default", overrides: dict | None = None, log: Callable[[str], None] | None = None):
        self.profile = profile
        self.config = load_config(profile, overrides)
        self.log = log or (lambda message: None)

    # What the engine asks before it picks the pages (docfactory.engine.train_step).
    @property
    def uses_augmented(self) -> bool:
        return self.config.data.augmented

    @property
    def replay_share(self) -> float:
        return self.config.data.replay_share

    @property
    def seed(self) -> int:
        return self.config.train.seed

    def train(self, run_dir: Path, out_dir: Path, *, train_pages: list[PageInput], val_pages: list[PageInput],
              iteration: int = 0, previous: list[Path] | None = None, run_info: dict | None = None,
              ocr_cache=None, restart: bool = False) -> Path:
        """Train on `train_pages`, stop early on `val_pages`; returns `out_dir` (its done.json says
        what came out). `previous`: the models folder holding earlier iterations (LoRA)."""
        cfg, out_dir = self.config, Path(out_dir)
        if not train_pages:
            raise TrainError("no training pages")
        if (out_dir / lora.DONE).exists() and not restart:
            raise TrainError(f"{out_dir}: already trained (see done.json); train the next iteration, or --restart")
        out_dir.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(cpu_threads(cfg.train.threads))
        torch.manual_seed(cfg.train.seed)
        fingerprint = _fingerprint(cfg, train_pages, val_pages, iteration)
        state = self._resume_state(out_dir, fingerprint, restart)
        settings = ocr_settings(cfg)
        # Augmented copies have no text layer: with them, the pdf source means "pdf where there is one".
        source = "auto" if cfg.data.word_source == "pdf" and any(p.words is None for p in train_pages) else cfg.data.word_source
        self.log(f"words for {len(train_pages)} training and {len(val_pages)} validation pages ({source}); "
                 f"{torch.get_num_threads()} torch threads")
        read = [0]

        def ocr_progress(_index: int, _seconds: float) -> None:
            read[0] += 1
            if read[0] % 25 == 0:
                self.log(f"OCR: {read[0]} pages read (the rest come from the run's ocr cache or are still to read)")

        train_words = page_words(train_pages, source, settings, ocr_cache, cfg.ocr.workers, on_page=ocr_progress)
        val_words = page_words(val_pages, source, settings, ocr_cache, cfg.ocr.workers, on_page=ocr_progress)

        if iteration == 0:
            if state is not None:  # the vocabulary the checkpoint's weights were trained with
                tokenizer = Tokenizer.from_str(state["tokenizer"])
            else:
                tokenizer = train_tokenizer((w["text"] for ws in train_words for w in ws), cfg.model.vocab_size,
                                            lowercase=cfg.model.case == "fold")
            tagset = build_tagset(train_pages, cfg.model.max_cols)
            clean = [p for p in train_pages if p.words is not None]
            separators = learn_separators(clean, page_words(clean, "pdf", settings), cfg.data.min_overlap)
            model: torch.nn.Module = LayoutTagger(cfg.model, tokenizer.get_vocab_size(), tagset)
            lr, epochs = cfg.train.lr, cfg.train.epochs
        else:
            if previous is None:
                raise TrainError(f"iteration {iteration} needs the earlier iterations' models folder")
            base, tokenizer, meta = lora.load_iteration(previous, iteration - 1)
            tagset, separators = base.tagset, meta["separators"]
            model = lora.apply_lora(base, cfg.lora)
            lr, epochs = cfg.lora.lr, cfg.lora.epochs
        examples, unknown = tagged_examples(train_pages, train_words, tagset, cfg.data.min_overlap)
        if unknown:
            self.log(f"fields the model has no tag for (tagged O): {', '.join(sorted(unknown))}")
        val_examples, _ = tagged_examples(val_pages, val_words, tagset, cfg.data.min_overlap)
        max_len, overlap = cfg.model.max_len, cfg.model.window_overlap
        val_windows = [w for i, e in enumerate(val_examples) for w in page_windows(i, e, tokenizer, max_len, overlap)]

        def epoch_plan(epoch: int):
            rng = np.random.default_rng([cfg.train.seed, iteration, epoch])
            shown = [noisy(e, cfg.train.noise, rng) for e in examples] if cfg.train.noise else examples
            if cfg.train.reframe:  # slips only: a full page fills its scan as it fills its frame
                shown = [reframed(e, rng) if is_slip(e) and rng.random() < cfg.train.reframe else e for e in shown]
            windows = [w for i, e in enumerate(shown) for w in page_windows(i, e, tokenizer, max_len, overlap)]
            return windows, batches(windows, cfg.train.batch_tokens, rng)

        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=cfg.train.weight_decay)
        total = epochs * len(epoch_plan(0)[1])
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(cfg.train.warmup_steps, total))
        loop = _Loop(model, optimizer, scheduler, cfg)
        if state is not None:
            loop.restore(state)
            self.log(f"resumed from {out_dir / CHECKPOINT} at step {loop.step} (epoch {loop.epoch}, batch {loop.batch})")
        config_dump = {"profile": self.profile, **cfg.model_dump()}
        write_run_yaml(out_dir, model="layout", config=config_dump, seed=cfg.train.seed, run_info=run_info,
                       extra={"iteration": iteration, "pages": {"train": len(train_pages), "val": len(val_pages)},
                              "kind": "full" if iteration == 0 else "lora"})
        scalars = ScalarLog(out_dir, resume_step=loop.step if state is not None else None)
        extra = {"tokenizer": tokenizer.to_str(), "fingerprint": fingerprint}
        try:
            loop.run(epochs, epoch_plan, val_windows, scalars, lambda: self._checkpoint(out_dir, loop, extra), self.log)
        finally:
            scalars.close()
        model.load_state_dict(loop.best_state or model.state_dict())
        model.eval()
        if iteration == 0:
            save_model(model, tokenizer, {"separators": separators, "iteration": 0,
                                          "kind_patterns": kind_patterns(train_pages),
                                          "kind_required": kind_required(train_pages),
                                          "field_types": field_types(train_pages)}, out_dir / lora.MODEL_DIR)
        else:
            lora.save_adapter(model, out_dir / lora.ADAPTER_DIR)
        summary = {"iteration": iteration, "kind": "full" if iteration == 0 else "lora", "steps": loop.step,
                   "epochs": loop.epoch, "best_val_loss": loop.best_val, "first_train_loss": loop.first_loss,
                   "last_train_loss": loop.last_loss, "stopped": loop.stopped, "train_seconds": round(loop.elapsed, 1),
                   "train_pages": len(train_pages), "val_pages": len(val_pages)}
        lora.write_done(out_dir, summary)
        write_run_yaml(out_dir, model="layout", config=config_dump, seed=cfg.train.seed, run_info=run_info,
                       extra={"iteration": iteration, "pages": {"train": len(train_pages), "val": len(val_pages)},
                              "kind": summary["kind"], "result": summary}, status="done")
        (out_dir / CHECKPOINT).unlink(missing_ok=True)
        return out_dir

    def _resume_state(self, out_dir: Path, fingerprint: str, restart: bool) -> dict | None:
        path = out_dir / CHECKPOINT
        if restart or not path.exists():
            return None
        state = torch.load(path, map_location="cpu", weights_only=False)
        if state.get("fingerprint") != fingerprint:
            raise TrainError(f"{path} was made with other pages or settings; --restart to start this iteration over")
        return state

    def _checkpoint(self, out_dir: Path, loop: "_Loop", extra: dict) -> None:
        path = out_dir / CHECKPOINT
        tmp = path.with_name(f".tmp-{os.getpid()}-{CHECKPOINT}")
        torch.save({**loop.state(), **extra}, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)


class _Loop:
    """The step loop and everything a checkpoint must hold to continue it."""

    def __init__(self, model, optimizer, scheduler, cfg: LayoutConfig):
        self.model, self.optimizer, self.scheduler, self.cfg = model, optimizer, scheduler, cfg
        self.step = self.epoch = self.batch = 0
        self.best_val, self.bad_evals, self.best_state = math.inf, 0, None
        self.first_loss = self.last_loss = None
        self.elapsed, self.stopped = 0.0, "epochs"

    def state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "torch_rng": torch.get_rng_state(), "step": self.step,
                "epoch": self.epoch, "batch": self.batch, "best_val": self.best_val, "bad_evals": self.bad_evals,
                "best_state": self.best_state, "first_loss": self.first_loss, "last_loss": self.last_loss,
                "elapsed": self.elapsed}

    def restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        for key in ("step", "epoch", "batch", "best_val", "bad_evals", "best_state", "first_loss", "last_loss", "elapsed"):
            setattr(self, key, state[key])

    def run(self, epochs: int, epoch_plan, val_windows, scalars: ScalarLog, checkpoint, log) -> None:
        t = self.cfg.train
        started, at_start = time.perf_counter(), self.elapsed
        save = checkpoint

        def checkpoint() -> None:  # scalars first: the CSV must hold every step the checkpoint has seen
            scalars.flush()
            save()
        while self.epoch < epochs:
            windows, plan = epoch_plan(self.epoch)
            while self.batch < len(plan):
                loss = self._step(collate([windows[i] for i in plan[self.batch]]))
                self.batch += 1
                self.elapsed = at_start + time.perf_counter() - started
                scalars.scalar("train/loss", loss, self.step)
                scalars.scalar("train/lr", self.scheduler.get_last_lr()[0], self.step)
                if t.eval_every and self.step % t.eval_every == 0 and self._evaluate(val_windows, scalars, log):
                    self.stopped = "early_stopping"
                if t.max_seconds is not None and self.elapsed >= t.max_seconds:
                    self.stopped = "max_seconds"
                if self.stopped != "epochs":
                    break
                if self.step % t.checkpoint_every == 0:
                    checkpoint()
            if self.stopped != "epochs":
                break
            self.epoch, self.batch = self.epoch + 1, 0
            if not t.eval_every and self._evaluate(val_windows, scalars, log):
                self.stopped = "early_stopping"
            checkpoint()
            if self.stopped != "epochs":
                break
        if self.best_state is None or self.stopped == "max_seconds":
            self._evaluate(val_windows, scalars, log)
        scalars.flush()

    def _step(self, batch: dict) -> float:
        self.model.train()
        loss = tag_loss(self.model(**batch), batch, self.cfg.train.loss_weights)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], self.cfg.train.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        value = float(loss.detach())
        self.first_loss = value if self.first_loss is None else self.first_loss
        self.last_loss = value
        return value

    def _evaluate(self, val_windows, scalars: ScalarLog, log) -> bool:
        """Validation loss; keeps the best weights; True when patience ran out."""
        if not val_windows:  # nothing to stop on: the latest weights are the best we know
            self.best_state = copy.deepcopy(self.model.state_dict())
            return False
        self.model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for group in batches(val_windows, self.cfg.train.batch_tokens):
                batch = collate([val_windows[i] for i in group])
                total += float(tag_loss(self.model(**batch), batch, self.cfg.train.loss_weights)) * len(group)
                count += len(group)
        val = total / max(count, 1)
        scalars.scalar("val/loss", val, self.step)
        scalars.flush()
        log(f"step {self.step} epoch {self.epoch} train loss {self.last_loss:.4f} val loss {val:.4f} ({self.elapsed:.0f}s)")
        if val < self.best_val - self.cfg.train.min_delta:
            self.best_val, self.bad_evals = val, 0
            self.best_state = copy.deepcopy(self.model.state_dict())
            return False
        self.bad_evals += 1
        return self.bad_evals >= self.cfg.train.patience


def _schedule(warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))  # cosine down to 10 %
    return factor


def _fingerprint(cfg: LayoutConfig, train_pages: list[PageInput], val_pages: list[PageInput], iteration: int) -> str:
    keys = [[p.doc_id, p.page, p.copy] for p in train_pages], [[p.doc_id, p.page, p.copy] for p in val_pages]
    text = json.dumps({"config": cfg.model_dump(), "pages": keys, "iteration": iteration}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
