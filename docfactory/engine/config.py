"""Engine configuration files (YAML): typed, unknown keys rejected, errors name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from docfactory.engine.emit.splits import SplitConfig


class ConfigError(ValueError):
    pass


class EngineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_dirs: Annotated[list[str], Field(description="extra template folders (relative to the config file)")] = []
    templates: Annotated[list[str], Field(description="template names to use; empty = all")] = []
    seed: int = 0
    workers: Annotated[int | None, Field(description="processes; default: the core count")] = None
    shard_docs: Annotated[int, Field(gt=0, description="documents per shard")] = 16
    dpi: Annotated[list[int], Field(min_length=1, description="page image resolutions to sample from")] = [120]
    task_timeout: Annotated[float, Field(ge=0, description="engine generate: seconds a task (a template check, a "
                                         "shard) may run before its worker is killed; 0: no limit")] = 120.0
    splits: Annotated[SplitConfig, Field(description="split shares and held-out templates (engine emit / export)")] = SplitConfig()



def read_yaml_file(path: Path, error: type[Exception]) -> object:
    """A YAML file's data ({} when empty); any way it can be unreadable is one `error` naming the file
    (and line, where PyYAML knows it), never a traceback."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise error(f"{path}:{mark.line + 1 if mark else '?'}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    except RecursionError:
        raise error(f"{path}: invalid YAML: nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - PyYAML's constructors raise plain errors: a date 2020-13-45, !!int 0x
        raise error(f"{path}: invalid YAML value: {type(exc).__name__}: {exc}") from None

def read_yaml_model(path: Path, model: type[BaseModel], error: type[Exception]):
    """A YAML file validated into `model`; any problem is one `error` naming the file (and the key)."""
    data = read_yaml_file(path, error)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise error(f"{path}: {'.'.join(map(str, err['loc'])) or 'top level'}: {err['msg']}") from None


def load_config(path: Path | str | None) -> EngineConfig:
    if path is None:
        return EngineConfig()
    path = Path(path)
    config = read_yaml_model(path, EngineConfig, ConfigError)
    # Template folders in a config file are relative to that file, not to the working directory.
    try:
        config.template_dirs = [str((path.parent / d).resolve()) for d in config.template_dirs]
    except (ValueError, OSError) as exc:  # e.g. a NUL byte in a folder name
        raise ConfigError(f"{path}: template_dirs: {exc}") from None
    return config
