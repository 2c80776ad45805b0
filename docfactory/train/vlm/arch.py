"""What differs between model families, in one place: loading a local checkpoint (an
image-text-to-text model or a VisionEncoderDecoder), its processor, the default LoRA targets, and
loading a LeJEPA encoder into the vision tower.

Nothing here downloads: the base must be a local folder and every load is `local_files_only`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from docfactory.train.vlm.config import VlmOptions

VED = "vision-encoder-decoder"
# Decoder-only VLMs (Idefics3/SmolVLM, Qwen2-VL, LLaVA, PaliGemma, ...) name their language model's
# projections alike; the vision tower (`vision`/`visual` in its path) keeps its weights.
LM_PROJECTIONS = r"^(?!.*(vision|visual|image_tower)).*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)$"
# A VisionEncoderDecoder's decoder, by decoder model type.
VED_DECODER_TARGETS = {
    "gpt2": r"^decoder\..*\.(c_attn|q_attn|c_proj|c_fc)$",
    "bert": r"^decoder\..*\.(query|key|value|dense)$",
    "roberta": r"^decoder\..*\.(query|key|value|dense)$",
    "mbart": r"^decoder\..*\.(q_proj|k_proj|v_proj|out_proj|fc1|fc2)$",  # Donut
    "trocr": r"^decoder\..*\.(q_proj|k_proj|v_proj|out_proj|fc1|fc2)$",
    "bart": r"^decoder\..*\.(q_proj|k_proj|v_proj|out_proj|fc1|fc2)$",
}


@dataclass
class Processing:
    """The checkpoint's processor, seen one way: `prefix(prompt)` renders the chat template up to the
    answer, `answer_text(prompt, answer)` the rest of the conversation (the answer and whatever end
    of turn the template appends), `encode_prefix` the model inputs for an image and a prefix."""

    kind: str  # "ved" | "decoder"
    tokenizer: Any
    image_processor: Any
    processor: Any | None = None  # the multimodal processor (decoder-only models)

    @property
    def chat(self) -> Any:
        return self.processor if self.processor is not None else self.tokenizer

    def _messages(self, prompt: str) -> list[dict]:
        if self.kind == "ved":  # the image goes to the encoder, only text to the decoder
            return [{"role": "user", "content": prompt}]
        return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]

    def prefix(self, prompt: str) -> str:
        if getattr(self.chat, "chat_template", None) is None:
            return prompt + "\n"
        return self.chat.apply_chat_template(self._messages(prompt), add_generation_prompt=True, tokenize=False)

    def answer_text(self, prompt: str, answer: str) -> str:
        """The text after the prefix in the full conversation (the assistant turn and its end)."""
        eos = self.tokenizer.eos_token or ""
        if getattr(self.chat, "chat_template", None) is None:
            return answer + eos
        reply = answer if self.kind == "ved" else [{"type": "text", "text": answer}]
        full = self.chat.apply_chat_template(self._messages(prompt) + [{"role": "assistant", "content": reply}], tokenize=False)
        prefix = self.prefix(prompt)
        tail = full[len(prefix):] if full.startswith(prefix) else answer
        # The model must learn to stop: end with the end of turn the template wrote, else with EOS.
        return tail if tail.rstrip() != answer.rstrip() else answer + eos

    def encode_prefix(self, image, prefix: str) -> dict[str, torch.Tensor]:
        """Tensors for one example, batch dimension 1: input_ids/attention_mask of the prefix (the
        decoder's, for a VisionEncoderDecoder, after its start token) plus the image tensors."""
        if self.kind == "ved":
            pixels = self.image_processor(images=[image], return_tensors="pt")["pixel_values"]
            ids = self.tokenizer(prefix, add_special_tokens=False, return_tensors="pt")["input_ids"]
            return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "pixel_values": pixels}
        out = self.processor(text=[prefix], images=[[image]], return_tensors="pt")
        return {k: v for k, v in out.items() if isinstance(v, torch.Tensor)}


def check_local(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if not (p.is_dir() and (p / "config.json").exists()):
        raise FileNotFoundError(f"{path}: not a local checkpoint folder with a config.json (the vlm trainer never "
                                "downloads: save the model and its processor with save_pretrained first)")
    return p.resolve()


def load_processing(path: Path, model_type: str) -> Processing:
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    if model_type == VED:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        return Processing("ved", tokenizer, AutoImageProcessor.from_pretrained(path, local_files_only=True))
    processor = AutoProcessor.from_pretrained(path, local_files_only=True)
    if not hasattr(processor, "image_processor"):
        raise ValueError(f"{path}: AutoProcessor gave a {type(processor).__name__}, not a multimodal processor; "
                         "save the model's processor (processor.save_pretrained) into the folder")
    return Processing("decoder", processor.tokenizer, processor.image_processor, processor)


def torch_dtype(precision: str) -> torch.dtype:
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def load_model(path: Path, opts: VlmOptions, device: torch.device) -> tuple[nn.Module, str]:
    """(model on device, model_type). 4/8-bit loading needs bitsandbytes and CUDA."""
    from transformers import AutoConfig, AutoModelForImageTextToText, VisionEncoderDecoderModel

    config = AutoConfig.from_pretrained(path, local_files_only=True)
    kwargs: dict[str, Any] = {"local_files_only": True, "dtype": torch_dtype(opts.precision)}
    if opts.precision == "fp16" and device.type != "cuda":
        raise ValueError("precision fp16 needs a CUDA device (on CPU use fp32 or bf16)")
    if opts.quantize:
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            raise ValueError(f"quantize={opts.quantize} needs bitsandbytes (pip install bitsandbytes) and a CUDA GPU") from None
        if device.type != "cuda":
            raise ValueError(f"quantize={opts.quantize} needs a CUDA GPU")
        from transformers import BitsAndBytesConfig

        compute = torch_dtype(opts.precision)
        kwargs["quantization_config"] = (
            BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute, bnb_4bit_use_double_quant=True)
            if opts.quantize == "4bit" else BitsAndBytesConfig(load_in_8bit=True))
        kwargs["device_map"] = {"": device.index or 0}
    cls = VisionEncoderDecoderModel if config.model_type == VED else AutoModelForImageTextToText
    model = cls.from_pretrained(path, **kwargs)
    if not opts.quantize:
        model.to(device)
    return model, config.model_type


def default_targets(model: nn.Module, model_type: str) -> str:
    """A peft target regex for the architecture: the language model's (or decoder's) projections."""
    if model_type == VED:
        decoder_type = model.config.decoder.model_type
        pattern = VED_DECODER_TARGETS.get(decoder_type)
        if pattern is None:
            pattern = r"^decoder\..*\.(" + "|".join(sorted(_leaf_linear_names(model, prefix="decoder."))) + ")$"
    else:
        pattern = LM_PROJECTIONS
    if not any(re.fullmatch(pattern, name) for name, _ in model.named_modules()):
        raise ValueError(f"no module of this {model_type} model matches the default LoRA targets {pattern!r}; "
                         f"pass lora_targets (module names like {', '.join(sorted(_leaf_linear_names(model))[:8])})")
    return pattern


def _leaf_linear_names(model: nn.Module, prefix: str = "") -> set[str]:
    from transformers.pytorch_utils import Conv1D

    return {name.rsplit(".", 1)[-1] for name, m in model.named_modules()
            if name.startswith(prefix) and isinstance(m, (nn.Linear, Conv1D)) and "lm_head" not in name}


def vision_tower(model: nn.Module, model_type: str) -> nn.Module:
    """The image encoder inside a (possibly peft-wrapped) model."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if model_type == VED:
        return base.encoder
    for path in ("model.vision_model", "model.visual", "vision_tower", "model.vision_tower", "visual"):
        obj = base
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
            return obj
        except AttributeError:
            continue
    raise ValueError(f"cannot find the vision tower of this {model_type} model")


def init_vision_from(model: nn.Module, model_type: str, encoder_dir: str | Path) -> int:
    """Load a LeJEPA encoder (a transformers ViT folder) into the vision tower; every tower weight
    with the same name must have the same shape. Returns the number of tensors loaded."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    if not (Path(encoder_dir) / "config.json").exists():
        raise FileNotFoundError(f"{encoder_dir}: no config.json (point vision_init at a LeJEPA run's encoder/ folder)")
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # its load report lists the mask token and pooler: expected here
    try:  # loaded as a model so that transformers maps saved names to module names, as for the tower
        source = AutoModel.from_pretrained(encoder_dir, local_files_only=True).state_dict()
    finally:
        hf_logging.set_verbosity(verbosity)
    tower = vision_tower(model, model_type)
    target = tower.state_dict()
    common = [k for k in target if k in source]
    wrong = [f"{k}: {tuple(source[k].shape)} vs {tuple(target[k].shape)}" for k in common if source[k].shape != target[k].shape]
    if wrong or len(common) < 0.9 * len(target):
        raise ValueError(f"{encoder_dir} does not fit this model's vision tower ({len(common)} of {len(target)} tensors by "
                         f"name; shape mismatches: {'; '.join(wrong[:5]) or 'none'}): pretrain an encoder of the tower's shape")
    tower.load_state_dict({k: source[k] for k in common}, strict=False)
    return len(common)
