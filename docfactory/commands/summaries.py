"""How the augment and emit steps report what they did: `engine generate --augment/--emit` prints the
same lines as `engine augment` and `engine emit`, so the printing lives here, shared."""

from __future__ import annotations

from pathlib import Path

from docfactory.commands.common import console, err


def _failed_shards(failed: list[str], step: str, run: Path) -> None:
    """Tasks that failed were recorded (rejections, doc_id NULL) and not listed: a rerun makes them."""
    for line in failed:
        err.print(f"[bold red]{step} task failed:[/] {line}", highlight=False)
    if failed:
        err.print(f"{len(failed)} shard(s) not written; run the same command again to make them (see: engine query "
                  f"{run} \"SELECT shard, reason FROM rejections WHERE doc_id IS NULL\")", highlight=False)


def _print_augment(summary, run: Path) -> None:
    presets = ", ".join(f"{p} {n}" for p, n in sorted(summary.presets.items())) or "-"
    console.print(f"augmented {summary.pages} page copies ({presets}): {summary.legible} legible / {summary.flagged} flagged / "
                  f"{summary.rejected} rejected; {summary.crops} line and word crops ({summary.skipped_crops} boxes cut by "
                  f"the border, not cropped); {summary.skipped_shards} shards already done; {summary.seconds:.1f}s",
                  highlight=False, soft_wrap=True)
    for reason, count in summary.reasons.most_common():
        console.print(f"  illegible {count}: {reason}", highlight=False)
    console.print(f"query it: engine query {run} \"SELECT preset, count(*), avg(severity), count(*) FILTER (NOT legible) "
                  f"FROM augmented GROUP BY 1\"", highlight=False, soft_wrap=True)


def _print_emit(summary, run: Path) -> None:
    console.print(f"emitted {summary.pairs} pairs and {summary.pretrain_pages} pretraining pages in {summary.shards} shards "
                  f"({summary.skipped_shards} already done) in {summary.seconds:.1f}s", highlight=False)
    if summary.tasks:
        console.print("  pairs by task: " + ", ".join(f"{t} {n}" for t, n in sorted(summary.tasks.items())), highlight=False)
    if summary.splits:
        console.print("  pages by split: " + ", ".join(f"{s} {n}" for s, n in sorted(summary.splits.items())), highlight=False)
    if summary.clean_fallback:
        console.print(f"  {summary.clean_fallback} pages had no legible augmented copy: their pairs use the clean image")
    console.print(f"query it: engine query {run} \"SELECT task, split, count(*) FROM pairs GROUP BY ALL ORDER BY ALL\"",
                  highlight=False, soft_wrap=True)
