"""What every `engine` command shares: the consoles, the option types several commands take, and the
helpers that turn a library error into `error: ...` and exit 1. The `_` names are private to
docfactory.commands (the command modules import them); nothing outside the CLI should."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True, soft_wrap=True)  # errors carry paths: never wrap them

TemplateDirs = Annotated[Optional[list[Path]], typer.Option("--templates", help="Extra template folder (repeatable).")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="YAML config (template_dirs, seed, workers, ...).")]
ExecutorOpt = Annotated[str, typer.Option("--executor", help="Where the shard tasks run: local (a process pool) | ray "
                                          "(Ray tasks; pip install 'docfactory[ray]'). The output is the same.")]
RayAddressOpt = Annotated[Optional[str], typer.Option("--ray-address", help="With --executor ray: auto (a running "
                                                      "cluster) or ray://host:port; default: a local Ray with --workers CPUs.")]
HoldoutOpt = Annotated[Optional[list[str]], typer.Option(
    "--holdout-templates", help="Templates whose every page goes to the 'holdout' split (comma-separated or repeated).")]
SplitOpt = Annotated[Optional[str], typer.Option("--split", help="Split shares, e.g. train=0.8,val=0.1,test=0.1.")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Model option key=value (repeatable), e.g. --set train.epochs=3 --set lora.r=16.")]


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _config(config: Optional[Path]):
    from docfactory.engine.config import ConfigError, load_config

    try:
        return load_config(config)
    except ConfigError as exc:
        fail(str(exc))


def _executor(ctx: typer.Context, kind: str, address: Optional[str], workers: int):
    """The executor for this command, closed (a Ray it started stopped) when the command ends."""
    from docfactory.engine.executor import ExecutorError, ExecutorOptions, make_executor

    if address and kind != "ray":
        fail(f"--ray-address needs --executor ray (got --executor {kind})")
    try:
        executor = make_executor(ExecutorOptions(kind=kind, address=address), workers)
    except ExecutorError as exc:
        fail(str(exc))
    ctx.call_on_close(executor.close)
    return executor


def _lock_run(run, create: bool = False) -> None:
    """Hold RUN/.lock until this command ends (engine.lock): a second writer refuses at once,
    naming the holder, instead of interleaving its writes with this one's."""
    from typer._click.globals import get_current_context  # typer vendors click: its context, not click's

    from docfactory.engine.lock import RunLocked, run_lock

    held = run_lock(run, create=create)
    try:
        held.__enter__()
    except RunLocked as exc:
        fail(str(exc))
    get_current_context().call_on_close(lambda: held.__exit__(None, None, None))


def _verify(run, kinds: tuple[str, ...]) -> None:
    """Refuse to read a corrupt listed shard (engine.shards.verify)."""
    from docfactory.engine.shards import CorruptShardError, verify_listed

    try:
        verify_listed(run, kinds)
    except CorruptShardError as exc:
        fail(str(exc))
    except FileNotFoundError:
        pass  # no catalog: the command says so itself


def _root(run: str) -> str:
    from docfactory.engine import storage

    return storage.run_root(run)


def _has_catalog(run: str) -> bool:
    from docfactory.engine import storage
    from docfactory.engine.catalog import CATALOG_FILE

    try:
        fs, path = storage.filesystem(storage.location(_root(run), CATALOG_FILE))
    except ValueError as exc:
        fail(str(exc))
    return fs.exists(path)


@contextmanager
def _local_run(run: str):
    """The run as a local folder: itself, or a private copy of a run at a URL (removed after), for
    the commands that read a run folder's files directly (mine, report)."""
    from docfactory.engine import storage

    root = _root(run)
    if not storage.is_url(root):
        yield Path(root)
        return
    if not _has_catalog(run):
        fail(f"{run}: no catalog here (is it a docfactory run?)")
    with storage.private_dir("docfactory-run-") as folder:
        yield storage.download(root, folder / root.rsplit("/", 1)[-1])


def _template_dirs(cfg, dirs: Optional[list[Path]]) -> list[str]:
    return list(cfg.template_dirs) + [str(d.resolve()) for d in dirs or []]
