"""Engine config files (--config) and loop profiles (--profile FILE), random and mutated: each
loads, or fails with one ConfigError / ProfileError that starts with the file's path — never
another exception, never a hang."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from docfactory.engine.config import ConfigError, EngineConfig, load_config
from docfactory.engine.loop.profile import PROFILES_DIR, LoopProfile, ProfileError, load_profile

FUZZ = dict(derandomize=True, database=None)

CONFIG = """\
template_dirs: [my_templates]
templates: [invoice_classic, receipt_shop]
seed: 7
workers: 2
shard_docs: 16
dpi: [100, 120]
splits: {ratios: {train: 0.8, val: 0.1, test: 0.1}, holdout_templates: [receipt_thermal]}
"""
PROFILE = (PROFILES_DIR / "tiny.yaml").read_text(encoding="utf-8")

# What a hand-edited YAML file goes wrong with: tags, anchors, flow brackets, tabs, documents,
# values the loader converts itself (dates, sexagesimal, octal), non-UTF-8 bytes.
TOKENS = ["!!timestamp ", "!!int ", "!!float ", "!!binary ", "!!python/object:os.system ", "!!set ", "!!omap ",
          "&a ", "*a", "*b", "[", "]", "{", "}", ": ", ":", "- ", "? ", "#", "\t", "\n", "  ", "---\n", "...\n",
          "%YAML 1.1\n", "'", '"', "\\", "|", ">", ",", "2020-13-45", "2020-02-30", "2001-12-14t21:59:43.10-99:00",
          "0x", "0o9", "1_0", "1e999", ".nan", "-.inf", "~", "null", "yes", "1:30", "\x00", "\ufeff", "é", "1" * 5000]
BYTES = [b"\xff", b"\xfe\xff", b"\xc3", b"\x80", b"\x00"]

KEYS = sorted(EngineConfig.model_fields) + sorted(LoopProfile.model_fields) + ["ratios", "preset", "kind", "r", "typo"]
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.dates()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
                      max_leaves=10)
documents = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), values, max_size=6).map(
    lambda d: yaml.safe_dump(d, allow_unicode=True).encode("utf-8"))


@st.composite
def mutated(draw, base: str) -> bytes:
    data = base.encode("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "insert", "delete", "truncate", "bytes"]))
        if action == "insert":
            data = data[:at] + draw(st.sampled_from(TOKENS)).encode("utf-8") + data[at:]
        elif action == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 8)):]
        elif action == "truncate":
            data = data[:at]
        else:
            data = data[:at] + draw(st.sampled_from(BYTES)) + data[at:]
    return data


def _write(tmp_path_factory, data: bytes, name: str) -> Path:
    path = tmp_path_factory.mktemp("cfg") / name
    path.write_bytes(data)
    return path


@settings(max_examples=120, deadline=5000, **FUZZ)
@given(data=st.one_of(mutated(CONFIG), documents, st.binary(max_size=40)))
@example(data=CONFIG.encode().replace(b"seed: 7", b"seed: 2020-13-45"))  # found: ValueError out of the YAML loader
@example(data=b"[" * 1200)  # found: RecursionError
@example(data=CONFIG.encode().replace(b"seed: 7", b"seed: \xff"))  # found: UnicodeDecodeError
@example(data=b'template_dirs: ["a\\0b"]')  # found: ValueError (embedded null byte) resolving the folder
@example(data=b"!!timestamp " + CONFIG.encode())  # found by fuzzing: AttributeError inside PyYAML
@example(data=b"- 1\n- 2")
def test_config_loads_or_names_the_file(data, tmp_path_factory, time_limit):
    path = _write(tmp_path_factory, data, "engine.yaml")
    with time_limit(10):
        try:
            config = load_config(path)
        except ConfigError as exc:
            assert str(exc).startswith(f"{path}:") and len(str(exc)) > len(str(path)) + 3, exc
        else:
            assert isinstance(config, EngineConfig)


@settings(max_examples=120, deadline=5000, **FUZZ)
@given(data=st.one_of(mutated(PROFILE), documents, st.binary(max_size=40)))
@example(data=PROFILE.encode().replace(b"budget: 6", b"budget: !!int 0x"))  # found: ValueError out of the loader
@example(data=PROFILE.encode().replace(b"tilt: 4.0", b"tilt: \xfe"))  # found: UnicodeDecodeError
@example(data=b"{" * 1200)  # found: RecursionError
def test_profile_loads_or_names_the_file(data, tmp_path_factory, time_limit):
    path = _write(tmp_path_factory, data, "profile.yaml")
    with time_limit(10):
        try:
            profile = load_profile(str(path))
        except ProfileError as exc:
            assert str(exc).startswith(f"{path}:") and len(str(exc)) > len(str(path)) + 3, exc
        else:
            assert isinstance(profile, LoopProfile)


def test_the_shipped_profiles_and_example_config_load(tmp_path):
    for name in sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")):
        assert isinstance(load_profile(name), LoopProfile)
    config = load_config(_write_text(tmp_path / "engine.yaml", CONFIG))
    assert config.seed == 7 and config.template_dirs == [str((tmp_path / "my_templates").resolve())]


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
