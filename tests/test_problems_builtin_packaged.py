"""The builtin source's packaged pools: what they hold, when they serve, how they are rebuilt."""

from __future__ import annotations

import dataclasses
import gzip
import json
from importlib.metadata import version

import pytest
from reasoning_gym.factory import get_score_answer_fn

from reasoning_economics.errors import ConfigError
from reasoning_economics.problems.builtin import BuiltinConfig, BuiltinSource, display_answer
from reasoning_economics.problems.builtin_catalog import BUILTIN_TYPES_BY_NAME
from reasoning_economics.problems.builtin_packaged import (
    build_file,
    dataset_seed,
    encode,
    generate_entries,
    main,
    packaged_entries,
    packaged_path,
    packaged_specs,
)

POLYNOMIAL = BUILTIN_TYPES_BY_NAME["polynomial_equations"]


def _shipped(name: str) -> dict:
    with gzip.open(packaged_path(name), "rt", encoding="utf-8") as file:
        return json.load(file)


def test_the_slow_generator_is_packaged_for_every_level_of_the_catalog():
    assert [spec.name for spec in packaged_specs()] == ["polynomial_equations"]
    for spec in packaged_specs():
        for level, settings in enumerate(spec.levels):
            entries = packaged_entries(spec.name, settings, dataset_seed(0, spec.name, level), spec.pool_size)
            assert entries is not None and len(entries) == spec.pool_size, (spec.name, level)
    source = BuiltinSource(BuiltinConfig(types=("polynomial_equations", "gcd")))
    assert [pool.packaged for pool in source._pools["polynomial_equations"]] == [True, True, True]
    assert [pool.packaged for pool in source._pools["gcd"]] == [False, False, False]  # 100,000 items: generated


def test_a_pool_is_served_only_for_its_exact_settings_seed_and_size():
    settings, seed = POLYNOMIAL.levels[1], dataset_seed(0, "polynomial_equations", 1)
    assert packaged_entries("polynomial_equations", settings, seed, 256) is not None
    assert packaged_entries("polynomial_equations", settings, dataset_seed(1, "polynomial_equations", 1), 256) is None
    assert packaged_entries("polynomial_equations", settings, seed, 255) is None
    assert packaged_entries("polynomial_equations", {**settings, "max_value": 21}, seed, 256) is None
    assert packaged_entries("polynomial_equations", POLYNOMIAL.levels[2], seed, 256) is None  # level 2's settings
    assert packaged_entries("simple_equations", settings, seed, 256) is None  # no file


def test_another_pool_seed_is_generated_live_and_differs():
    default = BuiltinSource(BuiltinConfig(types=("polynomial_equations",)))
    other = BuiltinSource(BuiltinConfig(types=("polynomial_equations",), pool_seed=1))
    assert not any(pool.packaged for pool in other._pools["polynomial_equations"])
    ours = {default.problem("polynomial_equations", 2, index).question for index in range(4)}
    theirs = {other.problem("polynomial_equations", 2, index).question for index in range(4)}
    assert not ours & theirs


@pytest.mark.skipif(
    _shipped("polynomial_equations")["built_by"]
    != {"reasoning_gym": version("reasoning-gym"), "sympy": version("sympy")},
    reason="the packaged pools were built by other reasoning-gym/sympy versions; "
    "test_every_packaged_gold_answer_is_accepted_and_a_wrong_one_refused still checks them",
)
@pytest.mark.parametrize("level", range(3))
def test_packaged_problems_are_the_ones_the_generator_builds(level):
    """The source serves from the file the problems a live generator would give (sampled;
    ``python -m reasoning_economics.problems.builtin_packaged --check`` compares all 768)."""
    source = BuiltinSource(BuiltinConfig(types=("polynomial_equations",)))
    seed = dataset_seed(0, "polynomial_equations", level)
    generated = generate_entries("polynomial_equations", POLYNOMIAL.levels[level], seed, 256)
    for index in (0, 1, 97, 255):
        problem = source.problem("polynomial_equations", level, index)
        entry = generated(index)
        assert problem.grader_data["entry"] == entry
        assert problem.answer == display_answer(entry["answer"])
        assert problem.id == f"builtin/polynomial_equations/{level}/{index}"


def test_every_packaged_gold_answer_is_accepted_and_a_wrong_one_refused():
    score = get_score_answer_fn("polynomial_equations")
    source = BuiltinSource(BuiltinConfig(types=("polynomial_equations",)))
    for level in range(3):
        for index in range(256):
            problem = source.problem("polynomial_equations", level, index)
            entry = problem.grader_data["entry"]
            assert score(problem.answer, entry) == 1.0, problem.id
            assert score("123456789", entry) < 1.0, problem.id
            assert problem.question.startswith(entry["question"].strip())


def test_a_built_file_round_trips_with_the_same_bytes_and_the_shipped_items(tmp_path):
    # reasoning-gym builds item i from its seed and i alone, so a 3-item pool is the first 3 of 256
    small = dataclasses.replace(POLYNOMIAL, pool_size=3)
    content = build_file(small)
    assert encode(content) == encode(build_file(small))  # no time stamp: rebuilding changes nothing
    packaged_path("polynomial_equations", tmp_path).write_bytes(encode(content))
    for level, settings in enumerate(small.levels):
        seed = dataset_seed(0, "polynomial_equations", level)
        built = packaged_entries("polynomial_equations", settings, seed, 3, tmp_path)
        assert built == packaged_entries("polynomial_equations", settings, seed, 256)[:3]


def test_check_command_reports_agreement_and_a_tampered_answer(tmp_path, capsys):
    assert main(["--check", "--first", "2"]) == 0
    assert "0 difference(s) in 6 items of polynomial_equations" in capsys.readouterr().out
    shipped = _shipped("polynomial_equations")
    shipped["pools"][1]["entries"][1]["answer"] = "0.1234"
    packaged_path("polynomial_equations", tmp_path).write_bytes(encode(shipped))
    assert main(["--check", "--first", "2", "--directory", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "polynomial_equations level 1 item 1: packaged answer '0.1234'" in out
    assert "1 difference(s) in 6 items" in out


def test_check_command_reports_a_missing_file(tmp_path, capsys):
    assert main(["--check", "--first", "1", "--directory", str(tmp_path)]) == 1
    assert capsys.readouterr().out.count("no packaged pool for these settings") == 3


@pytest.mark.parametrize(
    "content",
    [
        b"not gzip at all",
        gzip.compress(b'{"format": 1, "pools": ', mtime=0),
        gzip.compress(b"[1, 2]", mtime=0),
        b"",
    ],
    ids=["not-gzip", "cut-short", "not-the-format", "empty"],  # xdist workers must collect the same ids
)
def test_an_unreadable_file_is_a_config_error_naming_it_and_the_fix(tmp_path, content):
    path = packaged_path("polynomial_equations", tmp_path)
    path.write_bytes(content)
    seed = dataset_seed(0, "polynomial_equations", 0)
    with pytest.raises(ConfigError, match="packaged pool file .*polynomial_equations.json.gz is unreadable .* rebuild"):
        packaged_entries("polynomial_equations", POLYNOMIAL.levels[0], seed, 256, tmp_path)


def test_first_needs_check(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--first", "3"])
    assert exit_info.value.code == 2
    assert "--first takes a count >= 1 and goes with --check" in capsys.readouterr().err

