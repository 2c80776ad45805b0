"""The `engine` command: parses, calls docfactory, prints. No logic of its own lives here.

The commands live in docfactory/commands/, one module per purpose; this file builds the app and
registers them. Registration is explicit, not a side effect of importing the modules, because the
order below is the order `engine --help` lists them in, and it interleaves the modules."""

from __future__ import annotations

import typer

from docfactory.commands import augment_emit, evaluate, generate, inspect_run, loop, real, train
from docfactory.commands.templates import templates_app

app = typer.Typer(help="docfactory: synthesize perfectly labelled documents, store them as Parquet "
                       "shards in a DuckDB catalog, evaluate models and mine their failures.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(templates_app, name="templates")

app.command()(generate.generate)
app.command("import")(real.import_cmd)
app.command()(inspect_run.query)
app.command()(generate.rerender)
app.command()(augment_emit.augment)
app.command()(augment_emit.emit)
app.command()(augment_emit.export)
app.command()(evaluate.evaluate)
app.command()(train.pretrain)
app.command()(evaluate.mine)
app.command("run")(loop.run_loop_cmd)
app.command()(evaluate.report)
app.command()(inspect_run.check)
app.command()(train.train)
app.command()(train.predict)

if __name__ == "__main__":
    app()
