"""The Python examples of docs/grading.md run and print what their comments say."""

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
