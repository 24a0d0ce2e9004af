"""Whole JSON files as the package writes them: atomically, through a temporary file of its own."""

from __future__ import annotations

import json
import os

import pytest

from reasoning_economics.bench.command import check_output_file
from reasoning_economics.jsonl import write_json, write_text_atomically


def test_write_json_writes_null_for_non_finite_numbers_and_leaves_no_temporary_file(tmp_path):
    path = write_json(tmp_path / "summary.json", {"b": float("nan"), "a": [1.5, float("inf")]}, sort_keys=True)
    assert json.loads(path.read_text()) == {"a": [1.5, None], "b": None}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_users_file_named_like_the_old_temporary_survives_a_write_and_the_bench_probe(tmp_path):
    # The temporary file was <name>.tmp: a file of that name was overwritten, then renamed away.
    mine = tmp_path / "bench.json.tmp"
    mine.write_text("my notes")
    check_output_file(tmp_path / "bench.json")  # the probe deleted it
    write_json(tmp_path / "bench.json", {"x": 1})
    assert mine.read_text() == "my notes"
    assert json.loads((tmp_path / "bench.json").read_text()) == {"x": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json", "bench.json.tmp"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary_file(tmp_path):
    path = write_text_atomically(tmp_path / "report.html", "first")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomically(path, "half \ud800 written")  # a lone surrogate cannot be UTF-8
    assert path.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_two_writes_of_one_path_use_different_temporary_files(tmp_path):
    from reasoning_economics.jsonl import temporary_sibling

    target = tmp_path / "run.json"
    first, second = temporary_sibling(target), temporary_sibling(target)
    assert first != second and first.parent == second.parent == tmp_path
    assert first.name.startswith(".run.json.") and first.suffix == ".tmp"


def test_an_atomic_write_keeps_links_and_writes_into_what_is_no_regular_file(tmp_path):
    import stat
    import threading

    real = tmp_path / "runs" / "summary.json"
    real.parent.mkdir()
    real.write_text("{}")
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    write_json(link, {"a": 1})
    assert link.is_symlink() and json.loads(real.read_text()) == {"a": 1}  # the link was replaced by a file

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    write_json(fifo, {"b": 2})
    reader.join(timeout=30)
    assert json.loads(received[0]) == {"b": 2} and stat.S_ISFIFO(os.lstat(fifo).st_mode)

    device = tmp_path / "null"
    device.symlink_to("/dev/null")  # as root, the rename put a regular file in place of a device
    write_json(device, {"c": 3})
    assert device.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["latest.json", "null", "pipe", "runs"]
