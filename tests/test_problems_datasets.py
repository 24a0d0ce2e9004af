"""Table-backed sources on small local files: metamathqa, numina_tir, file, champ.

The fixtures in tests/data/problems/ follow the hub schemas; Parquet copies are written
from the same rows at test time. Nothing here reaches the Hugging Face hub.
"""

from __future__ import annotations

import collections
import decimal
import json
import logging
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reasoning_economics.errors import ConfigError, DatasetFormatError, DatasetUnavailableError
from reasoning_economics.problems import BOXED_INSTRUCTION, UnionSource, create_source, sample_episode
from reasoning_economics.grading import grade_problem
from reasoning_economics.problems.champ import load_champ_problems
from reasoning_economics.problems.files import FileSourceConfig, read_problem_file
from reasoning_economics.problems.metamathqa import TYPE_DIFFICULTY, answer_after_marker

DATA = Path(__file__).parent / "data" / "problems"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_parquet(rows: list[dict], path: Path) -> str:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return str(path)


@pytest.fixture(params=["jsonl", "parquet"])
def local_copy(request, tmp_path):
    """(path, cache_dir) of a fixture in the requested format."""

    def make(name: str) -> tuple[str, str]:
        source = DATA / f"{name}.jsonl"
        if request.param == "jsonl":
            return str(source), str(tmp_path / "cache")
        return write_parquet(read_jsonl(source), tmp_path / f"{name}.parquet"), str(tmp_path / "cache")

    return make


def all_problems(source, problem_type: str, draws: int = 200) -> dict[str, object]:
    rng = random.Random(0)
    return {p.id: p for p in (source.draw(problem_type, rng) for _ in range(draws))}


# ---------------------------------------------------------------- metamathqa
def test_metamathqa_gold_answer_after_the_last_marker():
    assert answer_after_marker("48/2 = 24\n#### 72\nThe answer is: 72") == "72"
    assert answer_after_marker("The answer is: 12 was given.\nThe answer is: 144") == "144"
    assert answer_after_marker("The answer is: \\frac{5}{6}\n") == "\\frac{5}{6}"
    assert answer_after_marker("no marker here") is None
    assert answer_after_marker("The answer is:   ") is None


def test_metamathqa_local_file(local_copy):
    path, cache = local_copy("metamathqa")
    source = create_source("metamathqa", path=path, cache_dir=cache)
    assert source.problem_types == tuple(TYPE_DIFFICULTY)  # all 8, in the documented order
    expected = {  # (row, gold) worked out from the fixture
        "GSM_AnsAug": {0: "72", 1: "10"},
        "GSM_Rephrased": {2: "5"},
        "GSM_SV": {3: "2"},
        "GSM_FOBAR": {4: "10"},
        "MATH_AnsAug": {5: "\\frac{5}{6}"},
        "MATH_Rephrased": {6: "17"},
        "MATH_SV": {7: "22"},
        "MATH_FOBAR": {8: "144"},  # row 9 has no marker and is never served
    }
    rows = read_jsonl(DATA / "metamathqa.jsonl")
    for problem_type, golds in expected.items():
        problems = all_problems(source, problem_type)
        assert {pid: p.answer for pid, p in problems.items()} == {
            f"metamathqa/{problem_type}/{row}": gold for row, gold in golds.items()
        }
        for pid, problem in problems.items():
            row = int(pid.rsplit("/", 1)[1])
            assert problem.question == f"{rows[row]['query']}\n\n{BOXED_INSTRUCTION}"
            assert problem.difficulty == TYPE_DIFFICULTY[problem_type]
            assert problem.grader == "math_verify"
            assert problem.source == "metamathqa"


def test_metamathqa_difficulty_order_gsm_below_math():
    assert max(v for k, v in TYPE_DIFFICULTY.items() if k.startswith("GSM")) < min(
        v for k, v in TYPE_DIFFICULTY.items() if k.startswith("MATH")
    )


def test_metamathqa_rejects_missing_columns_and_unknown_types(tmp_path):
    rows = read_jsonl(DATA / "metamathqa.jsonl")
    no_type = write_parquet([{k: v for k, v in r.items() if k != "type"} for r in rows], tmp_path / "a.parquet")
    with pytest.raises(DatasetFormatError, match=r"missing column\(s\) \['type'\]"):
        create_source("metamathqa", path=no_type, cache_dir=str(tmp_path / "c"))
    odd = write_parquet([{**rows[0], "type": "GSM_Other"}], tmp_path / "b.parquet")
    with pytest.raises(DatasetFormatError, match="unknown type"):
        create_source("metamathqa", path=odd, cache_dir=str(tmp_path / "c"))


# ---------------------------------------------------------------- numina_tir
def test_numina_local_file_takes_the_last_boxed_answer(local_copy):
    path, cache = local_copy("numina_tir")
    source = create_source("numina_tir", path=path, cache_dir=cache)
    assert source.problem_types == ("numina_tir",)
    problems = all_problems(source, "numina_tir")
    assert {pid: p.answer for pid, p in problems.items()} == {
        "numina_tir/0": "\\frac{1}{2}",  # nested braces
        "numina_tir/1": "11",  # the last of two boxes
        "numina_tir/2": "\\sqrt{2}",
        "numina_tir/3": "\\frac{a^{6}}{b^{3}}",  # braces three deep
    }  # row 4 has no box and is never served
    assert {p.difficulty for p in problems.values()} == {0.8}
    assert {p.grader for p in problems.values()} == {"math_verify"}


def test_reference_mix_is_even_across_nine_buckets(tmp_path):
    cache = str(tmp_path / "cache")
    source = create_source(
        "metamathqa+numina_tir",
        metamathqa={"path": str(DATA / "metamathqa.jsonl"), "cache_dir": cache},
        numina_tir={"path": str(DATA / "numina_tir.jsonl"), "cache_dir": cache},
    )
    assert isinstance(source, UnionSource)
    assert source.problem_types == (*TYPE_DIFFICULTY, "numina_tir")
    problems = sample_episode(source, 9, seed=11)
    assert collections.Counter(p.problem_type for p in problems) == {t: 1 for t in source.problem_types}
    assert [p.id for p in problems] == [p.id for p in sample_episode(source, 9, seed=11)]


# ---------------------------------------------------------------- no hub, no file
OFFLINE_SCRIPT = """
import json, sys
from reasoning_economics.errors import DatasetUnavailableError
from reasoning_economics.problems import create_source
try:
    create_source(sys.argv[1])
except DatasetUnavailableError as exc:
    print(json.dumps({"error": str(exc)}))
"""


def run_without_hub(name: str, tmp_path: Path, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    environment.update(HF_HOME=str(tmp_path / "hf_home"), **env)  # an empty hub cache
    # the timeout guards against a hang: datasets alone retries a dead hub for ~25 s
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT, name], capture_output=True, text=True, env=environment, timeout=20
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["error"]


@pytest.mark.parametrize(
    "name, hub_id, columns",
    [("metamathqa", "meta-math/MetaMathQA", "query, response, type"), ("numina_tir", "AI-MO/NuminaMath-TIR", "problem, solution")],
)
def test_offline_mode_without_cache_is_a_clear_error(name, hub_id, columns, tmp_path):
    message = run_without_hub(name, tmp_path, HF_HUB_OFFLINE="1")
    assert f"cannot load '{hub_id}'" in message
    assert f"jsonl with columns {columns}) with create_source('{name}', path=...) or the spec '{name}:/path/to/file'" in message


def test_unreachable_hub_is_detected_before_datasets_retries(tmp_path):
    # a closed local port stands in for a dead network, whatever this machine can reach
    message = run_without_hub("metamathqa", tmp_path, HF_ENDPOINT="http://127.0.0.1:9")
    assert "cannot reach 'meta-math/MetaMathQA'" in message  # the probe's message, not datasets'
    assert "HF_HUB_OFFLINE=1" in message and "path=..." in message


def test_missing_local_file_is_unavailable(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="no such file"):
        create_source("metamathqa", path=str(tmp_path / "absent.parquet"))


def test_a_path_the_system_cannot_look_up_is_unavailable(tmp_path):
    # A name over 255 bytes raised a bare OSError (ENAMETOOLONG) from pathlib.
    with pytest.raises(DatasetUnavailableError, match="cannot look up .*File name too long"):
        create_source("file", path=str(tmp_path / ("a" * 5000 + ".jsonl")))
    regular = tmp_path / "plain.txt"
    regular.write_text("x")
    with pytest.raises(DatasetUnavailableError, match="cannot look up .*Not a directory"):
        create_source("file", path=str(regular / "inside.jsonl"))


def test_hub_source_options_are_checked():
    with pytest.raises(ConfigError, match="path must be a non-empty string"):
        create_source("numina_tir", path="")
    with pytest.raises(ConfigError, match="split"):
        create_source("numina_tir", path="x.jsonl", split="")


# ---------------------------------------------------------------- file
def test_user_jsonl_file(tmp_path):
    source = create_source(f"file:{DATA / 'user_problems.jsonl'}", cache_dir=str(tmp_path))
    assert source.problem_types == ("arithmetic", "algebra", "number_theory")
    seen = {}
    for problem_type in source.problem_types:
        seen.update(all_problems(source, problem_type))
    assert {pid: (p.answer, p.difficulty, p.problem_type) for pid, p in seen.items()} == {
        "file/arithmetic/1": ("42", 0.1, "arithmetic"),
        "file/algebra/2": ("4", 0.4, "algebra"),  # number -> string
        "file/arithmetic/3": ("\\frac{1}{2}", 0.2, "arithmetic"),
        "file/number_theory/4": ("8", 0.5, "number_theory"),  # default difficulty
        "file/algebra/5": ("x^2 + 2x + 1", 1.0, "algebra"),
    }
    assert seen["file/arithmetic/1"].question == f"What is 6 times 7?\n\n{BOXED_INSTRUCTION}"


def test_names_with_glob_characters_are_read_as_written(tmp_path):
    # datasets reads paths as glob patterns: "problems[1].jsonl" would match "problems1.jsonl".
    import shutil

    folder = tmp_path / "data[v2]"
    folder.mkdir()
    wanted = folder / "problems[1]?.jsonl"
    shutil.copy(DATA / "user_problems.jsonl", wanted)
    (folder / "problems1x.jsonl").write_text('{"question": "decoy", "answer": "0", "type": "decoy"}\n')
    source = create_source(f"file:{wanted}", cache_dir=str(tmp_path / "cache"))
    assert source.problem_types == ("arithmetic", "algebra", "number_theory")


@pytest.mark.parametrize("name", ["metamathqa copy", "metamathqa[2026]"])
def test_a_folder_of_data_files_is_one_table(name, tmp_path):
    folder = tmp_path / name
    (folder / "part").mkdir(parents=True)
    rows = read_jsonl(DATA / "metamathqa.jsonl")
    (folder / "a.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows[:5]))
    (folder / "part" / "b.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows[5:]))
    source = create_source("metamathqa", path=str(folder), cache_dir=str(tmp_path / "cache"))
    assert source.problem_types == tuple(TYPE_DIFFICULTY)
    served = {pid for problem_type in source.problem_types for pid in all_problems(source, problem_type)}
    assert len(served) == 9  # ten rows, one without an answer marker


def test_a_folder_with_glob_characters_needs_one_file_type(tmp_path):
    folder = tmp_path / "mixed[1]"
    folder.mkdir()
    rows = read_jsonl(DATA / "metamathqa.jsonl")
    (folder / "a.jsonl").write_text(json.dumps(rows[0]) + "\n")
    write_parquet(rows[1:], folder / "b.parquet")
    with pytest.raises(DatasetFormatError, match=r"mixed \(json, parquet\) data files"):
        create_source("metamathqa", path=str(folder), cache_dir=str(tmp_path / "cache"))


def test_user_parquet_with_problem_column_and_defaults(tmp_path):
    path = write_parquet(
        [{"problem": "What is 2 + 2?", "answer": 4}, {"problem": "What is 3 + 3?", "answer": 6}],
        tmp_path / "quiz.parquet",
    )
    source = create_source("file", path=path, difficulty=0.25, cache_dir=str(tmp_path / "c"))
    assert source.problem_types == ("quiz",)  # the file stem
    problems = sample_episode(source, 2, seed=0)
    assert sorted((p.answer, p.difficulty) for p in problems) == [("4", 0.25), ("6", 0.25)]
    assert sorted(p.id for p in problems) == ["file/quiz/1", "file/quiz/2"]  # an untyped row's type is the stem


def test_user_file_with_solution_uses_its_last_box(tmp_path):
    rows = [{"question": "Half of 1?", "solution": "It is $\\boxed{\\frac{1}{2}}$."}]
    path = tmp_path / "sol.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    source = create_source("file", path=str(path), type="halves", cache_dir=str(tmp_path / "c"))
    (problem,) = sample_episode(source, 1, seed=0)
    assert (problem.answer, problem.problem_type) == ("\\frac{1}{2}", "halves")


@pytest.mark.parametrize(
    "rows, message",
    [
        ([{"text": "q", "answer": "1"}], r"needs a 'question' \(or 'problem'\) column"),
        ([{"question": "q", "problem": "p", "answer": "1"}], "both 'question' and 'problem'"),
        ([{"question": "q"}], r"needs an 'answer' \(or 'solution'\) column"),
        ([{"question": "q", "answer": "1"}, {"question": "r", "answer": ""}], "row 2: 'answer' must be"),
        ([{"question": "q", "answer": "1", "difficulty": 1.5}], r"row 1: 'difficulty' must be a number in \[0, 1\]"),
        ([{"question": "q", "answer": "1", "difficulty": -0.1}], "row 1: 'difficulty'"),
        ([{"question": "q", "answer": "1", "difficulty": "hard"}], "row 1: 'difficulty'"),
        ([{"question": "  ", "answer": "1"}], "row 1: 'question' must be a non-empty string"),
        ([{"question": "q", "solution": "no box"}], r"row 1: no 'answer' column and no \\boxed"),
    ],
)
def test_user_file_errors(rows, message, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(DatasetFormatError, match=message):
        create_source("file", path=str(path), cache_dir=str(tmp_path / "c"))


def test_user_file_read_errors(tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "q", "answer": \n')
    with pytest.raises(DatasetFormatError, match="cannot be read as JSON Lines: line 1 is not valid JSON"):
        create_source("file", path=str(broken), cache_dir=str(tmp_path / "c"))
    # pyarrow counts rows from 0: the second line was "in row 1".
    second = tmp_path / "second.jsonl"
    second.write_text('{"question": "q", "answer": "1"}\n\n{bad json\n')
    with pytest.raises(DatasetFormatError, match="line 3 is not valid JSON"):
        create_source("file", path=str(second), cache_dir=str(tmp_path / "c"))
    # A line of 100,000 nested arrays raised a bare RecursionError naming no file.
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"question": "q", "answer": "1"}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(DatasetFormatError, match=r"deep\.jsonl' cannot be read as JSON Lines: line 2 is nested too"):
        create_source("file", path=str(deep), cache_dir=str(tmp_path / "c"))
    with pytest.raises(DatasetFormatError, match="unsupported file type"):
        create_source("file", path=__file__)  # a .py file
    with pytest.raises(DatasetUnavailableError, match="no such file"):
        create_source("file", path=str(tmp_path / "missing.jsonl"))
    with pytest.raises(ConfigError, match="path is required"):
        create_source("file")
    with pytest.raises(ConfigError, match="difficulty must be a number"):
        create_source("file", path=str(broken), difficulty=2)


@pytest.mark.parametrize("levels", [40, 1_000, 20_000])
def test_a_problem_row_nested_too_deeply_is_a_format_error(levels, tmp_path):
    # A valid problem object with one field nested 1,000 levels raised a bare RecursionError in
    # datasets, and 20,000 levels killed the process (a segmentation fault).
    deep = tmp_path / "deep.jsonl"
    row = '{"question": "q", "answer": "1", "notes": ' + "[" * levels + "]" * levels + "}"
    deep.write_text('{"question": "q", "answer": "1"}\n' + row + "\n")
    with pytest.raises(DatasetFormatError, match=r"deep\.jsonl' cannot be read as JSON Lines: line 2 (nests deeper|is nested too)"):
        create_source("file", path=str(deep), cache_dir=str(tmp_path / "c"))
    document = tmp_path / "deep.json"
    document.write_text("[" + row + "]")
    with pytest.raises(DatasetFormatError, match=r"deep\.json' cannot be read as JSON: the file (nests deeper|is nested too)"):
        create_source("file", path=str(document), cache_dir=str(tmp_path / "c"))


def test_rows_with_a_few_levels_of_nesting_still_load(tmp_path):
    nested = tmp_path / "nested.json"
    nested.write_text('[{"question": "q", "answer": "1", "notes": {"tags": [["a"], ["b"]]}}]')
    source = create_source("file", path=str(nested), cache_dir=str(tmp_path / "c"))
    problem = source.draw(source.problem_types[0], random.Random(0))
    assert problem.question.startswith("q") and problem.answer == "1"


def test_loading_a_file_prints_no_datasets_progress_bars_or_log_lines(tmp_path, capfd, caplog):
    # datasets printed "Generating train split: ..." bars on every load, and for a malformed
    # file its own "Failed to load JSON ..." error line before ours (capfd sees tqdm's fd 2).
    import datasets

    good = tmp_path / "good.jsonl"
    rows = [{"question": f"What is {n} + 1?", "answer": str(n + 1)} for n in range(20)]
    good.write_text("".join(json.dumps(row) + "\n" for row in rows))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "answer": "1"}\nnot json\n')
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "good.jsonl").write_text(good.read_text())
    (folder / "bad.jsonl").write_text(bad.read_text())
    bars_disabled, level = datasets.are_progress_bars_disabled(), logging.getLogger("datasets").level
    with caplog.at_level(logging.WARNING):
        source = create_source(f"file:{good}", cache_dir=str(tmp_path / "c1"))
        assert source.problem_types == ("good",)
        with pytest.raises(DatasetFormatError, match="cannot be read as JSON Lines: line 2 is not valid JSON"):
            create_source(f"file:{bad}", cache_dir=str(tmp_path / "c2"))
        with pytest.raises(DatasetFormatError, match=r"bad\.jsonl' cannot be read as JSON Lines: line 2"):
            create_source(f"file:{folder}", cache_dir=str(tmp_path / "c3"))
    out, err = capfd.readouterr()
    for text in (out, err):
        assert "Generating" not in text
        assert "Failed to load JSON" not in text
        assert "examples/s" not in text
    assert [r.getMessage() for r in caplog.records if r.name.startswith("datasets")] == []
    # the settings are the user's again afterwards
    assert datasets.are_progress_bars_disabled() == bars_disabled
    assert logging.getLogger("datasets").level == level


def test_a_file_that_is_not_utf8_is_a_format_error_naming_it(tmp_path):
    # pyarrow stores the bytes unchecked; reading the row failed later with a bare UnicodeDecodeError
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes(b'{"question": "caf\xe9?", "answer": "1"}\n')
    with pytest.raises(DatasetFormatError, match=r"latin1\.jsonl': column 'question' holds invalid data"):
        create_source("file", path=str(latin1), cache_dir=str(tmp_path / "c"))
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "good.jsonl").write_text(json.dumps({"question": "What is 1 + 1?", "answer": "2"}) + "\n")
    latin1.rename(folder / "latin1.jsonl")
    with pytest.raises(DatasetFormatError, match=r"parts/latin1\.jsonl': column 'question'"):
        create_source("file", path=str(folder), cache_dir=str(tmp_path / "c"))
    parquet = tmp_path / "latin1.parquet"  # a string column holding non-UTF-8 bytes
    pq.write_table(pa.table({"question": pa.array([b"caf\xe9?"]).view(pa.string()), "answer": ["1"]}), parquet)
    with pytest.raises(DatasetFormatError, match=r"latin1\.parquet': column 'question'"):
        create_source("file", path=str(parquet), cache_dir=str(tmp_path / "c"))


@pytest.mark.parametrize("folder_name", ["parts", "parts[1]"])
def test_a_folder_with_an_unreadable_file_names_that_file(folder_name, tmp_path):
    # datasets raised a bare DatasetGenerationError and only logged the file
    folder = tmp_path / folder_name
    folder.mkdir()
    (folder / "good.jsonl").write_text(json.dumps({"question": "What is 1 + 1?", "answer": "2"}) + "\n")
    (folder / "bad.jsonl").write_text("{broken\n")
    with pytest.raises(DatasetFormatError, match=r"bad\.jsonl' cannot be read as JSON Lines: line 1"):
        create_source("file", path=str(folder), cache_dir=str(tmp_path / "c"))
    (folder / "bad.jsonl").unlink()
    (folder / "good.jsonl").unlink()
    write_parquet([{"question": "What is 1 + 1?", "answer": "2"}], folder / "good.parquet")
    (folder / "corrupt.parquet").write_bytes(b"PAR1 not parquet PAR1")
    with pytest.raises(DatasetFormatError, match=r"corrupt\.parquet' cannot be read as parquet"):
        create_source("file", path=str(folder), cache_dir=str(tmp_path / "c"))


def test_a_binary_answer_column_is_a_format_error(tmp_path):
    # str(b"1") is "b'1'": a gold answer no model answer can match
    path = tmp_path / "binary.parquet"
    pq.write_table(pa.table({"question": ["What is 0 + 1?", "What is 1 + 1?"], "answer": [b"1", b"2"]}), path)
    with pytest.raises(DatasetFormatError, match=r"binary\.parquet row 1: 'answer' must be a non-empty string"):
        create_source("file", path=str(path), cache_dir=str(tmp_path / "c"))
    pq.write_table(pa.table({"question": ["Half of 1?"], "solution": [b"\\boxed{\\frac{1}{2}}"]}), path)
    with pytest.raises(DatasetFormatError, match="row 1: 'solution' must be a string"):
        create_source("file", path=str(path), cache_dir=str(tmp_path / "c"))


def test_boolean_and_non_finite_answers_are_format_errors_and_numbers_are_golds(tmp_path):
    # str(True) is "True" and str(nan) is "nan": golds no model answer should match, once silently
    path = tmp_path / "yesno.jsonl"
    path.write_text(json.dumps({"question": "Is 2 prime?", "answer": True}) + "\n")
    with pytest.raises(DatasetFormatError, match=r"yesno\.jsonl row 1: 'answer' must be a non-empty string or finite number, got True"):
        create_source("file", path=str(path), cache_dir=str(tmp_path / "c"))
    path = tmp_path / "floats.parquet"
    pq.write_table(pa.table({"question": ["Half of 5?", "1/0?"], "answer": [2.5, float("inf")]}), path)
    with pytest.raises(DatasetFormatError, match=r"floats\.parquet row 2: .* got inf"):
        create_source("file", path=str(path), cache_dir=str(tmp_path / "c"))
    pq.write_table(pa.table({"question": ["Half of 5?", "Twice 3?"], "answer": [2.5, 6.0]}), path)
    golds = sorted(p.answer for p in sample_episode(create_source("file", path=str(path), cache_dir=str(tmp_path / "c")), 2, seed=0))
    assert golds == ["2.5", "6.0"]


@pytest.mark.parametrize(
    "answers, shown",
    [
        ([12345678901234567891, 1], "1.2345678901234567e+19"),  # past int64: read as a double
        ([9007199254740993, 0.5], "9007199254740992.0"),  # int64, in a column that also holds a decimal
    ],
)
def test_a_json_number_answer_whose_digits_were_rounded_is_a_format_error(answers, shown, tmp_path):
    # The gold was the rounded double's text, and the exact right answer was graded wrong.
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"question": f"q{i}", "answer": a}) + "\n" for i, a in enumerate(answers)))
    with pytest.raises(DatasetFormatError, match=rf"big\.jsonl row 1: 'answer' {re.escape(shown)} is a number of 2\^53"):
        create_source("file", path=str(path), cache_dir=str(tmp_path / "c"))
    path.write_text("".join(json.dumps({"question": f"q{i}", "answer": str(a)}) + "\n" for i, a in enumerate(answers)))
    source = create_source("file", path=str(path), cache_dir=str(tmp_path / "c2"))
    assert sorted(p.answer for p in sample_episode(source, 2, seed=0)) == sorted(str(a) for a in answers)
    path.write_text(json.dumps({"question": "q", "answer": 2**53 - 1}) + "\n")  # still exact
    (problem,) = sample_episode(create_source("file", path=str(path), cache_dir=str(tmp_path / "c3")), 1, seed=0)
    assert problem.answer == "9007199254740991"


def test_a_gsm8k_worked_answer_gives_the_number_after_its_final_hashes(tmp_path):
    # openai/gsm8k's schema: the whole worked solution was the gold, and "\\boxed{72}" was graded wrong.
    path = tmp_path / "gsm8k.jsonl"
    rows = [
        {"question": "Natalia sold 48 clips in April and half as many in May. How many in all?",
         "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nIn all 48+24 = <<48+24=72>>72 clips.\n#### 72"},
        {"question": "How much does a 5,000 dollar car cost?", "answer": "It costs 5,000 dollars.\n####  5,000 \n"},
        {"question": "What is 6 times 7?", "answer": "#### 42"},
        {"question": "What is four #### marks?", "answer": "a #### b"},  # not a final line: kept whole
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    problems = read_problem_file(FileSourceConfig(path=str(path), cache_dir=str(tmp_path / "c")))
    assert [p.answer for p in problems] == ["72", "5,000", "42", "a #### b"]
    assert grade_problem("So she sold \\boxed{72} clips.", problems[0]).correct
    assert not grade_problem("\\boxed{24}", problems[0]).correct
    path.write_text(json.dumps({"question": "q?", "answer": "Nothing to say.\n####   "}) + "\n")
    with pytest.raises(DatasetFormatError, match=r"gsm8k\.jsonl row 1: 'answer' must be a non-empty string"):
        read_problem_file(FileSourceConfig(path=str(path), cache_dir=str(tmp_path / "c2")))


def test_parquet_float32_and_decimal_numbers_are_read_as_written(tmp_path):
    # A float32 123456.7 is the double 123456.703125: that text was the gold and "123456.7" was
    # graded wrong. A decimal column's Decimal values were refused as "not a number".
    path = tmp_path / "narrow.parquet"
    pq.write_table(pa.table({
        "question": ["q1?", "q2?", "q3?"],
        "answer": pa.array([123456.7, 0.1, 2.5], pa.float32()),
        "difficulty": pa.array([0.2, 0.7, 1.0], pa.float32()),
    }), path)
    problems = read_problem_file(FileSourceConfig(path=str(path), cache_dir=str(tmp_path / "c")))
    assert [(p.answer, p.difficulty) for p in problems] == [("123456.7", 0.2), ("0.1", 0.7), ("2.5", 1.0)]
    assert grade_problem("\\boxed{123456.7}", problems[0]).correct
    pq.write_table(pa.table({"question": ["q?"], "answer": pa.array([16777216.0], pa.float32())}), path)
    with pytest.raises(DatasetFormatError, match=r"row 1: 'answer' 16777216\.0 is a number of 2\^24 or more, .* float32"):
        read_problem_file(FileSourceConfig(path=str(path), cache_dir=str(tmp_path / "c2")))
    path = tmp_path / "decimal.parquet"
    pq.write_table(pa.table({
        "question": ["q1?", "q2?"],
        "answer": pa.array([decimal.Decimal("2.50"), decimal.Decimal("-1000")], pa.decimal128(10, 2)),
        "difficulty": pa.array([decimal.Decimal("0.25"), decimal.Decimal("1")], pa.decimal128(4, 2)),
    }), path)
    problems = read_problem_file(FileSourceConfig(path=str(path), cache_dir=str(tmp_path / "c3")))
    assert [(p.answer, p.difficulty) for p in problems] == [("2.50", 0.25), ("-1000.00", 1.0)]


def test_a_folder_for_the_file_source_is_read_whole_whatever_its_file_names(tmp_path):
    # datasets splits a folder by file names: the gsm8k_test.jsonl rows were dropped without a
    # word, and a folder holding only test.jsonl failed with a bare "Unknown split" ValueError.
    folder = tmp_path / "mix"
    (folder / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / "gsm8k_test.jsonl").write_text(
        "".join(json.dumps({"question": f"g{i}?", "answer": str(i), "type": "gsm"}) + "\n" for i in (1, 2))
    )
    (folder / "math_train.jsonl").write_text(json.dumps({"question": "m?", "answer": "3", "type": "math"}) + "\n")
    (folder / ".ipynb_checkpoints" / "math_train-checkpoint.jsonl").write_text(
        json.dumps({"question": "stale?", "answer": "0", "type": "math"}) + "\n"
    )
    problems = read_problem_file(FileSourceConfig(path=str(folder), cache_dir=str(tmp_path / "c")))
    assert [(p.id, p.answer) for p in problems] == [("file/gsm/1", "1"), ("file/gsm/2", "2"), ("file/math/3", "3")]
    only_test = tmp_path / "heldout"
    only_test.mkdir()
    (only_test / "test.jsonl").write_text(json.dumps({"question": "t?", "answer": "7"}) + "\n")
    (problem,) = read_problem_file(FileSourceConfig(path=str(only_test), cache_dir=str(tmp_path / "c2")))
    assert (problem.id, problem.answer) == ("file/heldout/1", "7")


def test_a_hub_source_folder_without_the_asked_split_is_a_format_error(tmp_path):
    folder = tmp_path / "numina"
    folder.mkdir()
    row = {"problem": "What is 1 + 1?", "solution": "So \\boxed{2}."}
    for split in ("train", "test"):
        (folder / f"{split}.jsonl").write_text(json.dumps(row) + "\n")
    assert create_source("numina_tir", path=str(folder), split="test", cache_dir=str(tmp_path / "c")).problem_types
    with pytest.raises(DatasetFormatError, match=r"numina': the folder has no 'validation' split"):
        create_source("numina_tir", path=str(folder), split="validation", cache_dir=str(tmp_path / "c"))


def test_a_union_of_files_with_the_same_name_keeps_every_problem(tmp_path):
    # ids were file/<stem>/<row>: both files gave file/x/1 and file/x/2, so the sampler saw two problems
    for folder, problem_type, questions in [("a", "ta", ["What is 1 + 1?", "What is 2 + 2?"]),
                                            ("b", "tb", ["What is 3 + 3?", "What is 4 + 4?"])]:
        (tmp_path / folder).mkdir()
        rows = [{"question": q, "answer": "0", "type": problem_type} for q in questions]
        (tmp_path / folder / "x.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    source = create_source(f"file:{tmp_path / 'a' / 'x.jsonl'}+file:{tmp_path / 'b' / 'x.jsonl'}",
                           file={"cache_dir": str(tmp_path / "c")})
    problems = sample_episode(source, 4, seed=0)
    assert sorted(p.id for p in problems) == ["file/ta/1", "file/ta/2", "file/tb/1", "file/tb/2"]
    assert len({p.question for p in problems}) == 4


@pytest.mark.parametrize("name, content", [("empty.jsonl", b""), ("blank.jsonl", b"\n  \n"), ("empty.json", b""),
                                           ("empty.parquet", b"")])
def test_an_empty_file_is_a_format_error_naming_it(name, content, tmp_path):
    # datasets fails on these with a bare StopIteration, ValueError or ArrowInvalid.
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DatasetFormatError, match=f"{name}' is empty: it holds no rows"):
        create_source("file", path=str(path), cache_dir=str(tmp_path / "c"))
    with pytest.raises(DatasetFormatError, match=f"{name}' is empty"):
        create_source("metamathqa", path=str(path), cache_dir=str(tmp_path / "c"))


def test_a_folder_of_empty_files_is_a_format_error(tmp_path):
    folder = tmp_path / "parts"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("not data")
    with pytest.raises(DatasetFormatError, match="the folder holds no data files"):
        create_source("file", path=str(folder), cache_dir=str(tmp_path / "c"))
    (folder / "a.jsonl").write_text("")
    (folder / "sub" / "b.jsonl").write_text("\n")
    with pytest.raises(DatasetFormatError, match="every data file in the folder is empty"):
        create_source("file", path=str(folder), cache_dir=str(tmp_path / "c"))
    # one empty part among full ones is fine: the rows are the full parts' rows
    (folder / "sub" / "b.jsonl").write_text(json.dumps({"question": "What is 1 + 1?", "answer": "2"}) + "\n")
    (problem,) = sample_episode(create_source("file", path=str(folder), cache_dir=str(tmp_path / "c")), 1, seed=0)
    assert problem.answer == "2"


# ---------------------------------------------------------------- champ
def test_champ_numeric_subset():
    problems = load_champ_problems()
    # counted by hand from champ_dataset v0: 270 problems, 79 with an answer matching -?\d+(\.\d+)?
    assert len(problems) == 79
    assert len({p.id for p in problems}) == 79
    assert all(p.difficulty == 0.9 and p.grader == "math_verify" for p in problems)
    by_id = {p.id: p for p in problems}
    assert by_id["champ/P_Combinatorics_1"].answer == "239"
    assert "champ/P_Combinatorics_2" not in by_id  # 'C(10, 5), or equivalently 252'
    assert "champ/P_Combinatorics_3" not in by_id  # '2^floor(n/2)*floor(n/2)!'
    assert collections.Counter(p.problem_type for p in problems) == {
        "Combinatorics": 17, "Inequality": 19, "Number-Theory": 18, "Polynomial": 16, "Sequence": 9,
    }  # fmt: skip


def test_champ_mixture_with_builtin_respects_weights():
    source = create_source("builtin:0.7,champ:0.3")
    for seed in range(20):
        counts = collections.Counter(p.source for p in sample_episode(source, 10, seed))
        assert counts == {"builtin": 7, "champ": 3}
    counts = collections.Counter(p.source for seed in range(3000) for p in sample_episode(source, 1, seed))
    assert abs(counts["champ"] / 3000 - 0.3) < 0.035  # 4 standard deviations


def test_a_math_level_gives_the_difficulty_where_none_is_given(tmp_path):
    # MATH's rows carry "level": "Level 1".."Level 5" (and a few "Level ?"); every row of such
    # a file had difficulty 0.5, so accuracy by difficulty showed one bucket.
    rows = [
        {"problem": "p1", "answer": "1", "type": "Algebra", "level": "Level 1"},
        {"problem": "p2", "answer": "2", "type": "Algebra", "level": "Level 5"},
        {"problem": "p3", "answer": "3", "type": "Algebra", "level": 3},
        {"problem": "p4", "answer": "4", "type": "Algebra", "level": "Level ?"},
        {"problem": "p5", "answer": "5", "type": "Algebra", "level": "level 2", "difficulty": 0.9},  # given wins
        {"problem": "p6", "answer": "6", "type": "Algebra", "level": 4.0},
        {"problem": "p7", "answer": "7", "type": "Algebra"},
    ]
    path = tmp_path / "math.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    problems = read_problem_file(FileSourceConfig(path=str(path), difficulty=0.3, cache_dir=str(tmp_path / "c")))
    assert [p.difficulty for p in problems] == [0.0, 1.0, 0.5, 0.3, 0.9, 0.75, 0.3]

    for level in ("Level 6", 0, "hard", True, 2.5):
        bad = tmp_path / f"bad-{level}.jsonl"
        bad.write_text(json.dumps({"problem": "p", "answer": "1", "level": level}) + "\n")
        with pytest.raises(DatasetFormatError, match=r"row 1: 'level' must be MATH's 1 to 5 .* give a 'difficulty' column"):
            read_problem_file(FileSourceConfig(path=str(bad), cache_dir=str(tmp_path / "c3")))
