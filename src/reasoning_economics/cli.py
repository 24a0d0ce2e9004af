"""The ``ree`` command. Each subcommand lives beside the code it drives (``<package>/command.py``);
this file only assembles them, so ``ree --help`` stays fast and imports nothing heavy."""

from __future__ import annotations

import typer

from reasoning_economics import __version__

app = typer.Typer(
    name="ree",
    help="reasoning-economics: a shared-token-budget RL environment and toolkit for efficient reasoning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.command()
def version() -> None:
    """Print the package version."""
    typer.echo(__version__)


# Subcommands: one line each, registered here.
from reasoning_economics.bench.command import bench  # noqa: E402
app.command()(bench)
from reasoning_economics.training.command import train  # noqa: E402
app.command()(train)
from reasoning_economics.evaluation.command import eval_command  # noqa: E402
app.command("eval")(eval_command)
from reasoning_economics.evaluation.command import report_command  # noqa: E402
app.command("report")(report_command)
from reasoning_economics.server.command import serve  # noqa: E402
app.command()(serve)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
