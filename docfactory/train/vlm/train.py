"""The `vlm` training loop: LoRA (peft) on a local image-text-to-text or VisionEncoderDecoder
checkpoint, on a run's instruction pairs.

    train_vlm("runs/r1", "runs/r1/models/vlm", VlmOptions(base="/models/SmolVLM-256M-Instruct"))

Out folder: `checkpoints/step-NNNNNN/` (adapter + `state.pt`: optimizer, schedule, step, data
position, RNG state, options), replaced atomically, `latest` naming the newest; at the end
`adapter/` and `vlm.json` (options, base, architecture, the prompts to ask at prediction time);
`run.yaml` and `scalars.csv`. Rerunning with the same options resumes from `latest`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from docfactory.train.lejepa.runlog import RunLog
from docfactory.train.vlm.arch import VED, Processing, check_local, default_targets, init_vision_from, load_model, load_processing, torch_dtype, vision_tower
from docfactory.train.vlm.config import VlmOptions
from docfactory.train.vlm.data import IGNORE, Images, Stream, collate, encode_example, load_pairs, prompt_bank

log = logging.getLogger("docfactory.vlm")
VISION_FILE = "vision_tower.safetensors"  # the vision tower, when trained in full (vision_lr > 0)
RESUMABLE = {"steps", "log_every", "save_every", "device", "predict_tasks", "max_new_tokens", "predict_batch_size"}


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def model_inputs(batch: dict[str, torch.Tensor], model_type: str) -> dict[str, torch.Tensor]:
    """The collated batch as the model's forward takes it (labels are applied by `answer_loss`)."""
    batch = {k: v for k, v in batch.items() if k != "labels"}
    if model_type == VED:
        return {"pixel_values": batch["pixel_values"], "decoder_input_ids": batch["input_ids"],
                "decoder_attention_mask": batch["attention_mask"]}
    return batch


def answer_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy on answer tokens only (labels are −100 elsewhere)."""
    return F.cross_entropy(logits[:, :-1].float().flatten(0, 1), labels[:, 1:].flatten(), ignore_index=IGNORE)


def lr_at(opts: VlmOptions, step: int) -> float:
    if step < opts.warmup_steps:
        return (step + 1) / opts.warmup_steps
    progress = (step - opts.warmup_steps) / max(1, opts.steps - opts.warmup_steps)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def build_peft(model, model_type: str, opts: VlmOptions, device: torch.device):
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if opts.quantize:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=opts.gradient_checkpointing)
    elif opts.gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.2x renamed it
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    targets = opts.lora_targets if opts.lora_targets is not None else default_targets(model, model_type)
    gpt2 = model_type == VED and model.config.decoder.model_type == "gpt2"  # its projections are Conv1D (in x out)
    config = LoraConfig(r=opts.lora_r, lora_alpha=opts.lora_alpha, lora_dropout=opts.lora_dropout, fan_in_fan_out=gpt2,
                        target_modules=list(targets) if isinstance(targets, tuple) else targets,
                        modules_to_save=list(opts.modules_to_save) if opts.modules_to_save else None)
    model = get_peft_model(model, config)
    if opts.vision_lr:  # stage B: the (pretrained) vision tower learns too, at its own, smaller rate
        vision_tower(model, model_type).requires_grad_(True)
    return model


def param_groups(model, model_type: str, opts: VlmOptions) -> list[dict]:
    tower = {id(p) for p in vision_tower(model, model_type).parameters()} if opts.vision_lr else set()
    main = [p for p in model.parameters() if p.requires_grad and id(p) not in tower]
    groups = [{"params": main, "lr": opts.lr, "base_lr": opts.lr}]
    if tower:
        vision = [p for p in model.parameters() if p.requires_grad and id(p) in tower]
        groups.append({"params": vision, "lr": opts.vision_lr, "base_lr": opts.vision_lr})
    return groups


def save_adapter(model, model_type: str, opts: VlmOptions, folder: Path) -> None:
    """The LoRA adapter (peft) and, in stage B, the vision tower it was trained with."""
    from safetensors.torch import save_file

    model.save_pretrained(folder)
    if opts.vision_lr:
        state = {k: v.detach().cpu().contiguous() for k, v in vision_tower(model, model_type).state_dict().items()}
        save_file(state, folder / VISION_FILE)


def _save_checkpoint(model, model_type, optimizer, scaler, step: int, position, opts: VlmOptions, out_dir: Path) -> Path:
    """checkpoints/step-N written under a temporary name and renamed; `latest` replaced last."""
    root = out_dir / "checkpoints"
    final = root / f"step-{step:06d}"
    tmp = root / f".tmp-step-{step:06d}"
    shutil.rmtree(tmp, ignore_errors=True)
    save_adapter(model, model_type, opts, tmp)
    torch.save({"optimizer": optimizer.state_dict(), "scaler": scaler.state_dict() if scaler else None, "step": step,
                "position": list(position), "options": opts.model_dump(mode="json"),
                }, tmp / "state.pt")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    latest_tmp = root / "latest.tmp"
    latest_tmp.write_text(final.name)
    os.replace(latest_tmp, root / "latest")
    for old in sorted(root.glob("step-*"))[:-2]:  # keep the last two
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(out_dir: Path) -> Path | None:
    pointer = out_dir / "checkpoints" / "latest"
    if not pointer.exists():
        return None
    path = out_dir / "checkpoints" / pointer.read_text().strip()
    return path if (path / "state.pt").exists() else None


def _check_resume(saved: dict, opts: VlmOptions, path: Path) -> None:
    old, new = saved["options"], opts.model_dump(mode="json")
    changed = [k for k in sorted(set(old) | set(new)) if k not in RESUMABLE and old.get(k) != new.get(k)]
    if changed:
        raise ValueError(f"{path}: made with other options ({', '.join(changed)}); use a new out folder or the same options")


@dataclass
class Session:
    """What a training step needs besides the options."""

    model: torch.nn.Module
    model_type: str
    proc: Processing
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler | None
    stream: Stream
    images: Images
    device: torch.device
    pad_id: int
    start_id: int | None
    skipped: int = 0

    def micro_batch(self, opts: VlmOptions) -> dict[str, torch.Tensor] | None:
        examples = []
        for p in self.stream.next():
            e = encode_example(self.proc, self.images.get(p.image_shard, p.image_row), p.prompt, p.answer, opts.max_length,
                               self.start_id)
            if e is None:
                self.skipped += 1
            else:
                examples.append(e)
        return {k: v.to(self.device) for k, v in collate(examples, self.pad_id).items()} if examples else None

    def step(self, opts: VlmOptions, step: int) -> dict:
        """One optimizer step over `grad_accum` micro-batches (the loss is a token mean per micro-batch)."""
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * lr_at(opts, step)
        autocast = torch.autocast(self.device.type, dtype=torch_dtype(opts.precision)) if opts.precision != "fp32" else nullcontext()
        total, tokens = 0.0, 0
        for _ in range(opts.grad_accum):
            batch = self.micro_batch(opts)
            if batch is None:
                continue
            with autocast:
                logits = self.model(**model_inputs(batch, self.model_type)).logits
            loss = answer_loss(logits, batch["labels"]) / opts.grad_accum
            (self.scaler.scale(loss) if self.scaler else loss).backward()
            total += loss.item()
            tokens += int((batch["labels"] != IGNORE).sum())
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, opts.max_grad_norm).item()
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return {"loss": total, "grad_norm": grad_norm, "lr": self.optimizer.param_groups[0]["lr"], "answer_tokens": tokens}


def train_vlm(run_dir: Path | str, out_dir: Path | str, opts: VlmOptions, *, resume: bool = True, stop_after: int | None = None,
              on_log: Callable[[dict], None] | None = None, argv: list[str] | None = None) -> Path:
    """Train LoRA adapters on the run's pairs; returns the out folder (adapter/ + vlm.json).
    `stop_after` ends this invocation after that many steps with a checkpoint, as a kill would."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = check_local(opts.base)
    device = pick_device(opts.device)
    pairs = load_pairs(run_dir, opts.split, opts.tasks, opts.max_pairs, opts.seed)
    with torch.random.fork_rng(devices=[]):  # the LoRA init draws from the seed, not from the caller's generator
        torch.manual_seed(opts.seed)
        model, model_type = load_model(base, opts, device)
        proc = load_processing(base, model_type)
        if opts.vision_init:
            log.info("vision tower: %d tensors from %s", init_vision_from(model, model_type, opts.vision_init), opts.vision_init)
        model = build_peft(model, model_type, opts, device)
    optimizer = torch.optim.AdamW(param_groups(model, model_type, opts), weight_decay=opts.weight_decay)
    scaler = torch.amp.GradScaler("cuda") if opts.precision == "fp16" else None
    step, position = 0, (0, 0)
    ckpt = latest_checkpoint(out_dir) if resume else None
    if ckpt:
        saved = torch.load(ckpt / "state.pt", map_location="cpu", weights_only=False)
        _check_resume(saved, opts, ckpt)
        set_peft_model_state_dict(model, load_file(ckpt / "adapter_model.safetensors"))
        if (ckpt / VISION_FILE).exists():
            vision_tower(model, model_type).load_state_dict(load_file(ckpt / VISION_FILE))
        optimizer.load_state_dict(saved["optimizer"])
        if scaler and saved["scaler"]:
            scaler.load_state_dict(saved["scaler"])
        step, position = saved["step"], tuple(saved["position"])
        log.info("resumed from %s (step %d)", ckpt, step)
    tok = proc.tokenizer
    session = Session(model, model_type, proc, optimizer, scaler, Stream(pairs, opts.batch_size, opts.seed, position),
                      Images(run_dir), device, tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
                      model.config.decoder_start_token_id if model_type == VED else None)
    runlog = RunLog(out_dir, kind="vlm", config=opts.model_dump(mode="json"), run_dir=run_dir, argv=argv,
                    kinds=("pairs", "documents", "augmented"), resume_step=step)
    model.train()
    started, this_run = time.perf_counter(), 0
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        while step < opts.steps and (stop_after is None or this_run < stop_after):
            # Dropout draws from torch's global generator: seed it per step (inside fork_rng, so the
            # caller's state is left alone), and a resumed step draws what the uninterrupted one did.
            torch.manual_seed(opts.seed * 1_000_003 + step)
            row = session.step(opts, step)
            step, this_run = step + 1, this_run + 1
            if step % opts.log_every == 0 or step == 1 or step == opts.steps:
                row |= {"step": step, "seconds": round(time.perf_counter() - started, 3)}
                runlog.scalars(step, {k: v for k, v in row.items() if k != "step"})
                if on_log:
                    on_log(row)
            if step % opts.save_every == 0 or step == opts.steps or this_run == stop_after:
                _save_checkpoint(model, model_type, optimizer, scaler, step, session.stream.position, opts, out_dir)
    if session.skipped:
        log.warning("%d pairs skipped: their prompt and image alone exceed max_length %d", session.skipped, opts.max_length)
    runlog.close("done" if step >= opts.steps else "stopped", steps=step, skipped_pairs=session.skipped)
    if step >= opts.steps:
        _save_final(model, model_type, opts, out_dir, base, step, pairs)
    return out_dir


def _save_final(model, model_type: str, opts: VlmOptions, out_dir: Path, base: Path, step: int, pairs) -> None:
    adapter, tmp = out_dir / "adapter", out_dir / ".tmp-adapter"
    shutil.rmtree(tmp, ignore_errors=True)
    save_adapter(model, model_type, opts, tmp)
    shutil.rmtree(adapter, ignore_errors=True)
    os.replace(tmp, adapter)
    meta = {"base": str(base), "model_type": model_type, "options": opts.model_dump(mode="json"), "steps": step,
            "prompts": prompt_bank(pairs)}
    (out_dir / "vlm.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))
