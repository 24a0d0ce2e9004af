"""What the ``ree`` subcommands share about reading their options."""

from __future__ import annotations

from typing import Any


def given_on_command_line(ctx: Any, name: str) -> bool:
    """Whether option ``name`` was typed on the command line of the command ``ctx`` runs: its
    default is not, nor a value from an environment variable (``REE_TOKEN``). Compared by name:
    typer ships its own copy of click, whose ParameterSource is not click's."""
    return getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
