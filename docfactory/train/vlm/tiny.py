"""Tiny local checkpoints for CPU tests and demos: random-init models whose configs are built here,
a BPE tokenizer trained (`tokenizers`) on a run's pair texts, and image processors built from their
classes with explicit sizes. Nothing is downloaded. Saved with `save_pretrained`, they load through
the same code path as a real checkpoint.

    python -m docfactory.train.vlm.tiny runs/r1 models/tiny-idefics3 --arch idefics3
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterable

import torch

from docfactory.engine.catalog import open_catalog

ARCHS = ("vision-encoder-decoder", "idefics3", "qwen2-vl")
SPECIAL = ["<pad>", "<s>", "</s>", "<unk>", "<|im_start|>", "<|im_end|>",
           "<image>", "<fake_token_around_image>", "<global-img>", "<end_of_utterance>",  # Idefics3
           "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]  # Qwen2-VL
_CONTENT = ("{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for c in m['content'] %}"
            "{% if c['type'] == 'image' %}IMAGE{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}")
_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n" + _CONTENT + "<|im_end|>\n{% endfor %}"
             "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
IMAGE_MARKUP = {"vision-encoder-decoder": "", "idefics3": "<image>", "qwen2-vl": "<|vision_start|><|image_pad|><|vision_end|>"}


def chat_template(arch: str) -> str:
    """A ChatML-style template; the image part is the architecture's placeholder."""
    return _TEMPLATE.replace("IMAGE", IMAGE_MARKUP[arch])


def pair_texts(run_dir: Path | str, limit: int = 5000) -> list[str]:
    with open_catalog(run_dir, read_only=True) as catalog:
        rows = catalog.sql("SELECT prompt, answer FROM pairs ORDER BY pair_id LIMIT ?", [limit]).fetchall()
    return [t for row in rows for t in row]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1000):
    """A byte-level BPE tokenizer trained on `texts`, as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>")


def _ids(tok) -> dict:
    return {"pad_token_id": tok.pad_token_id, "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id}


def build_tiny(out_dir: Path | str, arch: str, texts: Iterable[str], *, image_size: int = 64, width: int = 64,
               layers: int = 2, vocab_size: int = 1000, seed: int = 0) -> Path:
    """Write a tiny random-init checkpoint (model, tokenizer, image processor/processor) to out_dir."""
    if arch not in ARCHS:
        raise KeyError(f"unknown tiny architecture {arch!r} (known: {', '.join(ARCHS)})")
    out = Path(out_dir)
    tok = train_tokenizer(texts, vocab_size)
    heads = max(1, width // 32)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if arch == "vision-encoder-decoder":
            from transformers import GPT2Config, ViTConfig, VisionEncoderDecoderConfig, VisionEncoderDecoderModel
            from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

            enc = ViTConfig(hidden_size=width, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=2 * width,
                            image_size=image_size, patch_size=16)
            dec = GPT2Config(vocab_size=len(tok), n_embd=width, n_layer=layers, n_head=heads, n_positions=2048,
                             add_cross_attention=True, is_decoder=True, **_ids(tok))
            config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
            config.decoder_start_token_id, config.pad_token_id, config.eos_token_id = tok.bos_token_id, tok.pad_token_id, tok.eos_token_id
            model = VisionEncoderDecoderModel(config=config)
            tok.chat_template = chat_template(arch)
            tok.save_pretrained(out)
            ViTImageProcessorPil(size={"height": image_size, "width": image_size}).save_pretrained(out)
        elif arch == "idefics3":
            from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
            from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

            patch, scale = 16, 2
            vision = dict(hidden_size=width, intermediate_size=2 * width, num_hidden_layers=layers, num_attention_heads=heads,
                          image_size=image_size, patch_size=patch)
            text = dict(model_type="llama", vocab_size=len(tok), hidden_size=width, intermediate_size=2 * width, num_hidden_layers=layers,
                        num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=2048, **_ids(tok))
            model = Idefics3ForConditionalGeneration(Idefics3Config(vision_config=vision, text_config=text, scale_factor=scale,
                                                                    image_token_id=tok.convert_tokens_to_ids("<image>")))
            images = Idefics3ImageProcessorPil(size={"longest_edge": image_size}, max_image_size={"longest_edge": image_size},
                                               do_image_splitting=False)
            Idefics3Processor(image_processor=images, tokenizer=tok, image_seq_len=(image_size // patch) ** 2 // scale**2,
                              chat_template=chat_template(arch)).save_pretrained(out)
        else:  # qwen2-vl (its processor needs torchvision for the video processor)
            from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLProcessor
            from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

            vision = dict(depth=layers, embed_dim=width, hidden_size=width, num_heads=heads, patch_size=14, spatial_merge_size=2,
                          temporal_patch_size=2)
            text = dict(vocab_size=len(tok), hidden_size=width, intermediate_size=2 * width, num_hidden_layers=layers,
                        num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=2048,
                        rope_parameters={"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0}, **_ids(tok))
            ids = {k: tok.convert_tokens_to_ids(v) for k, v in (("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
                                                                ("vision_start_token_id", "<|vision_start|>"),
                                                                ("vision_end_token_id", "<|vision_end|>"))}
            model = Qwen2VLForConditionalGeneration(Qwen2VLConfig(vision_config=vision, text_config=text, **ids))
            images = Qwen2VLImageProcessorPil(min_pixels=28 * 28 * 4, max_pixels=image_size * image_size)
            Qwen2VLProcessor(image_processor=images, tokenizer=tok, chat_template=chat_template(arch)).save_pretrained(out)
    model.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build a tiny random-init VLM checkpoint from a run's pair texts.")
    parser.add_argument("run", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--arch", choices=ARCHS, default="idefics3")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args(argv)
    path = build_tiny(args.out, args.arch, pair_texts(args.run), image_size=args.image_size, width=args.width, layers=args.layers)
    print(path)


if __name__ == "__main__":
    main()
