"""The README's Python examples run as written (the client one against a live ``ree serve``),
and every ``ree`` subcommand it shows exists."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

README = Path(__file__).resolve().parents[1] / "README.md"
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
DEFAULT_SERVER = "http://127.0.0.1:8000"


def test_the_readme_has_its_examples():
    assert README.read_text().startswith("# reasoning-economics\n\n```bash\nmake demo")
    assert len(PYTHON_BLOCKS) >= 4


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"python-{i}" for i in range(len(PYTHON_BLOCKS))])
def test_python_example_runs(block, live_server):
    code = block.replace(DEFAULT_SERVER, live_server.base_url)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})  # noqa: S102 - our own README


def test_every_ree_command_in_the_readme_exists():
    from reasoning_economics.cli import app

    shown = set(re.findall(r"^ree (\w+)", README.read_text(), flags=re.MULTILINE))
    assert shown >= {"serve", "eval", "report", "train", "bench"}
    runner = CliRunner()
    for command in sorted(shown):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, (command, result.output)


def test_every_option_the_readme_gives_a_ree_command_exists():
    from reasoning_economics.cli import app

    runner = CliRunner()
    checked = 0
    for command, arguments in re.findall(r"^ree (\w+)([^\n#]*)", README.read_text(), flags=re.MULTILINE):
        help_text = runner.invoke(app, [command, "--help"], terminal_width=200).output
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", arguments):
            assert option in help_text, (command, option)
            checked += 1
    assert checked >= 10


def test_every_ree_command_help_reads_as_paragraphs_at_any_width():
    # typer keeps a docstring's single line breaks: a hard-wrapped paragraph came out ragged at
    # 80 columns ("...at a time);" / "clients" / "written for ...").
    import inspect

    from reasoning_economics.cli import app

    for command in app.registered_commands:
        for paragraph in inspect.cleandoc(command.callback.__doc__ or "").split("\n\n"):
            assert "\n" not in paragraph.strip(), (command.callback.__name__, paragraph)
    shown = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "80"}).output
    assert "at a time); \n clients" not in shown and "clients written for the reference" in " ".join(shown.split())
