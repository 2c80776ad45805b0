"""The catalog after a process dies between listing shards and rebuilding their views."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

from docfactory.engine.catalog import open_catalog
from docfactory.engine.shards import ShardInfo

KILLED_INSIDE_DEFERRED_VIEWS = textwrap.dedent("""
    import os, sys
    from docfactory.engine.catalog import open_catalog
    from docfactory.engine.shards import ShardInfo
    run, paths = sys.argv[1], sys.argv[2:]
    catalog = open_catalog(run)
    with catalog.deferred_views():
        for i, p in enumerate(paths):
            catalog.add_shard(ShardInfo(p, "documents", int(i), 1, "x"))
        catalog.con.execute("CHECKPOINT")
        os._exit(9)  # killed: the views are never rebuilt by this process
""")


def _copy_shards(small_run, run):
    small_run = small_run[0]
    with open_catalog(small_run, read_only=True) as catalog:
        listed = sorted(catalog.listed("documents"))
        pages = catalog.sql("SELECT count(*) FROM documents").fetchone()[0]
    for rel in listed:
        (run / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(small_run / rel, run / rel)
    return listed, pages


def test_views_left_stale_by_a_kill_are_rebuilt_on_the_next_open(small_run, tmp_path):
    run = tmp_path / "run"
    listed, pages = _copy_shards(small_run, run)
    with open_catalog(run) as catalog:  # one shard listed and viewed before the killed process
        catalog.add_shard(ShardInfo(listed[0], "documents", 1, 1, "x"))
    done = subprocess.run([sys.executable, "-c", KILLED_INSIDE_DEFERRED_VIEWS, str(run), *listed[1:]])
    assert done.returncode == 9

    with open_catalog(run, read_only=True) as catalog:  # a reader sees every listed shard at once
        assert catalog.sql("SELECT count(*) FROM documents").fetchone()[0] == pages
    with open_catalog(run) as catalog:  # a writer stores the rebuilt view and clears the mark
        assert catalog.sql("SELECT count(*) FROM stale_views").fetchone()[0] == 0
    with open_catalog(run, read_only=True) as catalog:
        temp = catalog.sql("SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal").fetchone()[0]
        assert temp == 0
        assert catalog.sql("SELECT count(*) FROM documents").fetchone()[0] == pages


def test_a_kind_with_listed_shards_and_no_view_gets_one(small_run, tmp_path):
    run = tmp_path / "run"
    listed, pages = _copy_shards(small_run, run)
    with open_catalog(run) as catalog:
        for p in listed:
            catalog.add_shard(ShardInfo(p, "documents", 1, 1, "x"))
        catalog.sql("DROP VIEW documents")
    with open_catalog(run, read_only=True) as catalog:
        assert catalog.sql("SELECT count(*) FROM documents").fetchone()[0] == pages
