"""create_source: names, spec strings, option routing, per-process caching."""

from __future__ import annotations

import collections
import dataclasses
import json
import random
import subprocess
import sys

import pytest

from reasoning_economics.errors import ConfigError, UnknownNameError
from reasoning_economics.problems import (
    Problem,
    UnionSource,
    WeightedMixture,
    create_source,
    list_sources,
    register_source,
    sample_episode,
)
from reasoning_economics.problems.builtin import BuiltinSource


@dataclasses.dataclass(frozen=True)
class LettersConfig:
    letters: str = "abc"
    path: str | None = None

    def __post_init__(self) -> None:
        if not self.letters:
            raise ConfigError("letters must not be empty")


class LettersSource:
    """A registered test source: one type per letter, problems 'letter k'."""

    instances = 0

    def __init__(self, config: LettersConfig) -> None:
        type(self).instances += 1
        self.config = config
        self.name = "letters"
        self.problem_types = tuple(f"letter_{c}" for c in config.letters)

    def draw(self, problem_type: str, rng: random.Random) -> Problem:
        k = rng.randrange(10_000)
        return Problem(f"letters/{problem_type}/{k}", f"{problem_type} {k}?", str(k), "letters", problem_type, 0.5)


register_source("letters", LettersSource, LettersConfig)
register_source("letters2", LettersSource, LettersConfig)


def test_list_sources_has_the_builtin_names():
    assert {"builtin", "metamathqa", "numina_tir", "file", "champ", "letters"} <= set(list_sources())
    assert list_sources() == sorted(list_sources())


def test_single_name_gets_the_options():
    source = create_source("letters", letters="xy")
    assert source.problem_types == ("letter_x", "letter_y")


def test_sources_are_built_once_per_spec_and_options():
    before = LettersSource.instances
    a = create_source("letters", letters="pq")
    b = create_source(" letters ", letters="pq")
    assert a is b
    assert LettersSource.instances == before + 1
    assert create_source("letters", letters="pqr") is not a
    assert create_source("builtin") is create_source("builtin")


def test_spec_argument_sets_path():
    assert create_source("letters:/some/file.jsonl").config.path == "/some/file.jsonl"
    with pytest.raises(ConfigError, match="takes no argument"):
        create_source("builtin:/x.jsonl")
    with pytest.raises(ConfigError, match="both in the spec and in the options"):
        create_source("letters:/a.jsonl", path="/b.jsonl")


def test_a_file_spec_whose_existing_path_holds_separators_is_one_file(tmp_path):
    # '+' and ',' separate sources in a spec; a file named with them is still one file.
    path = tmp_path / "algebra+geometry,v2.jsonl"
    path.write_text('{"question": "1+1?", "answer": "2", "type": "arithmetic"}\n')
    source = create_source(f"file:{path}")
    assert source.problem_types == ("arithmetic",)
    assert source.draw("arithmetic", random.Random(0)).answer == "2"
    # Without such a file the spec keeps its meaning: a file source plus a source "b.jsonl".
    (tmp_path / "a.jsonl").write_text(path.read_text())
    with pytest.raises(UnknownNameError, match="'b.jsonl'"):
        create_source(f"file:{tmp_path / 'a.jsonl'}+b.jsonl")


def test_union_spec():
    source = create_source("letters+builtin", letters={"letters": "z"}, builtin={"types": ["gcd"]})
    assert isinstance(source, UnionSource)
    assert source.problem_types == ("letter_z", "gcd")
    counts = collections.Counter(p.problem_type for p in sample_episode(source, 10, seed=3))
    assert counts == {"letter_z": 5, "gcd": 5}


def test_weighted_spec():
    source = create_source("letters:0.75,builtin:0.25", letters={"letters": "ab"})
    assert isinstance(source, WeightedMixture)
    assert source.weights == (0.75, 0.25)
    assert isinstance(source.components[1], BuiltinSource)
    for seed in range(10):
        counts = collections.Counter(p.source for p in sample_episode(source, 8, seed))
        assert counts == {"letters": 6, "builtin": 2}


def test_weighted_spec_with_a_union_component():
    source = create_source(
        "letters+builtin:3,letters2:1", letters={"letters": "a"}, builtin={"types": ["gcd"]}, letters2={"letters": "z"}
    )
    assert isinstance(source.components[0], UnionSource)
    assert source.weights == (0.75, 0.25)
    for seed in range(10):
        counts = collections.Counter(p.problem_type for p in sample_episode(source, 8, seed))
        assert counts == {"letter_a": 3, "gcd": 3, "letter_z": 2}


def test_clashing_type_names_in_a_spec_are_reported():
    with pytest.raises(ConfigError, match="provided by both"):
        create_source("letters:1,letters2:1")


def test_two_untyped_files_of_one_name_are_told_how_to_mix(tmp_path):
    for folder, answer in (("a", "1"), ("b", "2")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "train.jsonl").write_text(json.dumps({"question": "q", "answer": answer}) + "\n")
    spec = f"file:{tmp_path / 'a' / 'train.jsonl'}+file:{tmp_path / 'b' / 'train.jsonl'}"
    with pytest.raises(ConfigError, match="provided by both 'file' and 'file'.*rename one of the files, or give their rows a 'type' column"):
        create_source(spec, file={"cache_dir": str(tmp_path / "cache")})
    (tmp_path / "b" / "train.jsonl").write_text(json.dumps({"question": "q", "answer": "2", "type": "b"}) + "\n")
    source = create_source(spec, file={"cache_dir": str(tmp_path / "cache2")})
    assert sorted(source.problem_types) == ["b", "train"]


def test_unweighted_comma_list_means_equal_weights():
    source = create_source("letters,builtin", letters={"letters": "k"}, builtin={"types": ["gcd"]})
    assert source.weights == (0.5, 0.5)


@pytest.mark.parametrize(
    "spec, options, error, message",
    [
        ("nope", {}, UnknownNameError, "unknown problem source 'nope'"),
        ("", {}, ConfigError, "non-empty"),
        ("letters,", {}, ConfigError, "empty component"),
        ("letters:0.5", {}, ConfigError, "at least two"),
        ("letters:0.5,builtin", {}, ConfigError, "every component or to none"),
        ("letters:-1,builtin:1", {}, ConfigError, "positive"),
        ("letters+builtin", {"letters": "ab"}, ConfigError, "must be a dict"),
        ("letters+builtin", {"colour": {}}, ConfigError, "keyed by source name"),
        ("letters", {"colour": "red"}, ConfigError, r"unknown option\(s\) \['colour'\]"),
        ("letters", {"letters": ""}, ConfigError, "letters must not be empty"),
        ("letters", {"letters": object()}, ConfigError, "JSON values"),
        ("letters:", {}, ConfigError, "empty argument"),
    ],
)
def test_spec_errors(spec, options, error, message):
    with pytest.raises(error, match=message):
        create_source(spec, **options)


def test_register_source_errors():
    with pytest.raises(ConfigError, match="already registered"):
        register_source("builtin", LettersSource, LettersConfig)
    with pytest.raises(ConfigError, match="must match"):
        register_source("Bad Name", LettersSource, LettersConfig)
    with pytest.raises(ConfigError, match="dataclass"):
        register_source("plain", LettersSource, dict)


def test_importing_the_package_does_not_load_generators_or_datasets():
    heavy = ("reasoning_gym", "datasets", "champ_dataset", "torch")
    code = f"import json, sys, reasoning_economics.problems; print(json.dumps([m for m in {heavy} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
