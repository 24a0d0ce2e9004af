"""The Python examples of docs/grading.md run and print what their comments say; the other docs'
``ree`` options exist, and their examples and stated defaults hold."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

GRADING_DOC = Path(__file__).resolve().parents[1] / "docs" / "grading.md"
BLOCKS = re.findall(r"```python\n(.*?)```", GRADING_DOC.read_text(), flags=re.DOTALL)


def test_the_grading_doc_has_an_example():
    assert BLOCKS


@pytest.mark.parametrize("block", BLOCKS, ids=[f"python-{i}" for i in range(len(BLOCKS))])
def test_each_example_prints_what_its_comments_say(block):
    expected = [line.removeprefix("# ") for line in block.splitlines() if line.startswith("# ")]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(block, str(GRADING_DOC), "exec"), {"__name__": "grading_doc_example"})  # noqa: S102 - our own doc
    assert output.getvalue().splitlines() == expected


DOCS = sorted((Path(__file__).resolve().parents[1] / "docs").glob("*.md"))
REWARDS_DOC = GRADING_DOC.with_name("rewards.md")
TRAINING_DOC = GRADING_DOC.with_name("training.md")


def test_every_option_the_docs_give_a_ree_command_exists():
    # tests/test_readme.py checks the README's; these are the commands of docs/*.md, in code
    # blocks and in the text (`ree eval --resume --out DIR`).
    from typer.testing import CliRunner

    from reasoning_economics.cli import app

    runner = CliRunner()
    helps: dict[str, str] = {}
    checked = 0
    for doc in DOCS:
        for command, arguments in re.findall(r"\bree (serve|eval|report|train|bench)\b([^`\n#|]*)", doc.read_text()):
            if command not in helps:
                shown = runner.invoke(app, [command, "--help"], terminal_width=200, env={"COLUMNS": "200"})
                helps[command] = shown.output
            for option in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", arguments):
                assert option in helps[command], (doc.name, command, option)
                checked += 1
    assert set(helps) == {"serve", "eval", "report", "train", "bench"}
    assert checked >= 40


def test_the_serve_options_table_names_real_options_and_defaults():
    from typer.testing import CliRunner

    from reasoning_economics.cli import app

    help_text = CliRunner().invoke(app, ["serve", "--help"], terminal_width=200, env={"COLUMNS": "200"}).output
    options_section = GRADING_DOC.with_name("deployment.md").read_text().split("## Options")[1].split("\n## ")[0]
    rows = re.findall(r"^\| `(--[a-z-]+)[^|]*\| `?([^|`]+)`? \|", options_section, flags=re.M)
    assert len(rows) >= 15
    checked = 0
    for option, default in rows:
        assert option in help_text, option
        if re.fullmatch(r"\d+", default):
            row = re.search(r"│ " + re.escape(option) + r"\s(.*?)(?=\n│ --)", help_text, flags=re.S).group(1)
            shown = re.search(r"\[default: ([^\]]+)\]", row)
            if shown is not None:  # --grading-timeout shows none: the config's grading_timeout applies
                assert float(shown.group(1)) == float(default), (option, default)
                checked += 1
    assert checked >= 8


def test_the_rewards_example_runs_and_gives_the_values_its_comments_say():
    block = re.findall(r"```python\n(.*?)```", REWARDS_DOC.read_text(), flags=re.DOTALL)[0]
    namespace: dict = {}
    exec(compile(block, str(REWARDS_DOC), "exec"), namespace)  # noqa: S102 - our own doc
    stated = re.search(r"efficiency_reward\(.*\)\s+# \[([^\]]+)\]", block).group(1)
    assert namespace["rewards"] == pytest.approx([float(x) for x in stated.split(",")], abs=5e-5)
    assert namespace["suffix"] == f"Think for {namespace['n_target']} tokens."
    assert namespace["prior"] == [0.25] * 4 and len(namespace["segment_advantages"]) == 2
    assert 0 < namespace["bonus"] <= 1


def test_the_training_doc_states_train_configs_defaults():
    # "Key settings (defaults in brackets): `model` [smollm2: ...], `recipe` [episode], ..."
    from reasoning_economics.training.config import TrainConfig

    text = TRAINING_DOC.read_text().split("Key settings (defaults in brackets)")[1].split("\n\n")[0]
    stated = dict(re.findall(r"`(\w+)` \[([^\]:]+)", text))
    config = TrainConfig()
    checked = 0
    for key, value in stated.items():
        if value in {"recipe's", "G/2", "= steps"}:
            continue  # derived, not a literal
        actual = getattr(config, key)
        if isinstance(actual, bool):
            assert value == str(actual).lower(), key
        elif isinstance(actual, (int, float)):
            assert float(value) == actual, key
        else:
            assert value == actual, key
        checked += 1
    assert checked >= 20


def test_the_training_docs_lower_level_imports_resolve():
    blocks = re.findall(r"```python\n(.*?)```", TRAINING_DOC.read_text(), flags=re.DOTALL)
    imports = [block for block in blocks if all(line.startswith("from ") for line in block.strip().splitlines())]
    assert imports
    for block in imports:
        exec(compile(block, str(TRAINING_DOC), "exec"), {})  # noqa: S102 - our own doc
