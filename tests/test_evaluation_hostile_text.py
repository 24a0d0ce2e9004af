"""Untrusted text and numbers on the way to the report: questions, gold answers and problem types
from a user's file, model output from an endpoint, run folder names, and results files edited
or damaged by hand. Each must reach results.jsonl, summary.json, report.html, the figures and
the terminal as data (or be refused with a one-line error naming the line), never as markup,
math, escape sequences or a traceback."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from reasoning_economics.cli import app
from reasoning_economics.evaluation.results import read_results
from reasoning_economics.text import visible

pytest.importorskip("matplotlib")

RUN_ARGS = ["--episodes", "2", "--questions", "3", "--budget", "100000", "--no-progress"]

HOSTILE_ROWS = [
    {"question": "What is 1+1? </td></tr></table><script>alert('q')</script>", "answer": "2",
     "type": "</script><script>alert('t')</script>"},
    {"question": "Say x' onmouseover='alert(1) please", "answer": "<img src=x onerror=alert(2)>",
     "type": "$\\frac{$ a_b^c"},
    {"question": "\x1b[31mred\x1b[0m [link=http://evil]click[/link] \u202eexe.txt", "answer": "3",
     "type": "[bold]t[/bold]"},
]


def report_images(report_html: str) -> dict[str, bytes]:
    found = re.findall(r"<figure id='(\w+)'><img alt='[^']*' src='data:image/png;base64,([^']+)'", report_html)
    return {key: base64.b64decode(data) for key, data in found}


def image_size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.load()
    return image.size


class PageParts(HTMLParser):
    """Every start tag (with its attributes) and all text of a page, as a browser would split them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """An oracle run on built-in problems, copied by the tests that need a run to rename or edit."""
    out = tmp_path_factory.mktemp("base") / "run"
    result = CliRunner().invoke(app, ["eval", "--policy", "oracle:accuracy=0.7,tokens=40", *RUN_ARGS, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_questions_answers_and_types_from_a_file_are_text_in_the_report(tmp_path):
    data = tmp_path / "hostile.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in HOSTILE_ROWS))
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["eval", "--policy", "oracle:accuracy=1.0,tokens=40", "--dataset", f"file:{data}", *RUN_ARGS,
              "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = PageParts()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "a", "iframe", "object", "embed", "svg"}, tags
    for tag, attrs in page.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            if name == "src":
                assert value.startswith("data:image/png;base64,")
    text = "".join(page.text)
    # each hostile string is there, as the text a reader sees, with its escapes and bidi
    # override shown rather than obeyed (the override reversed every cell after it)
    for row in HOSTILE_ROWS:
        assert visible(row["type"]) in text
        assert visible(row["question"])[:40] in text
    assert "<img src=x onerror=alert(2)>" in text
    assert "\\u202eexe.txt" in text and not {"\x1b", "\u202e"} & set(text)


class Endpoint:
    """An OpenAI-shaped chat server whose answer carries JSON's escape of a lone surrogate."""

    # "\ud800" as JSON text decodes to a lone surrogate: valid JSON, invalid Unicode.
    CONTENT_JSON = '"Sure \\ud800 thing. The answer is \\\\boxed{4}."'

    def __enter__(self) -> str:
        content = self.CONTENT_JSON

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                data = (
                    '{"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", '
                    f'"content": {content}}}}}], "usage": {{"prompt_tokens": 5, "completion_tokens": 9}}}}'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("mode_args", [["--budget", "100000"], ["--mode", "problem", "--samples", "2"]],
                         ids=["episode", "problem"])
def test_a_lone_surrogate_from_an_endpoint_is_recorded_as_a_replacement_character(mode_args, tmp_path):
    pytest.importorskip("httpx")
    out = tmp_path / "run"
    with Endpoint() as base_url:
        result = CliRunner().invoke(
            app, ["eval", "--policy", "openai:Qwen/Qwen2.5-0.5B-Instruct", "--base-url", base_url, "--episodes", "1",
                  "--questions", "2", "--no-progress", "--out", str(out), *mode_args]
        )
    # Before: the environment refused the step (episode) or the tokenizer the text (problem),
    # and the first such answer ended the run.
    assert result.exit_code == 0, result.output
    (unit,) = read_results(out)
    responses = ([s["response"] for s in unit["steps"]] if "steps" in unit
                 else [s["response"] for p in unit["problems"] for s in p["samples"]])
    assert responses and all(r == "Sure \ufffd thing. The answer is \\boxed{4}." for r in responses)
    (out / "report.html").read_text(encoding="utf-8")  # written, and valid UTF-8


@pytest.fixture
def drawn(monkeypatch):
    """The strings matplotlib draws as text and those it parses as TeX math, while figures render."""
    from matplotlib import mathtext, text

    seen = {"text": [], "math": []}
    draw, parse = text.Text.draw, mathtext.MathTextParser.parse

    def spy_draw(self, renderer):
        seen["text"].append(self.get_text())
        return draw(self, renderer)

    def spy_parse(self, s, *args, **kwargs):
        seen["math"].append(s)
        return parse(self, s, *args, **kwargs)

    monkeypatch.setattr(text.Text, "draw", spy_draw)
    monkeypatch.setattr(mathtext.MathTextParser, "parse", spy_parse)
    return seen


@pytest.mark.parametrize("name", ["$\\frac{$", "$x$ and $y$", "a_b^c \\alpha", "esc\x1b]0;title\x07\x1b[31m"])
def test_run_names_are_drawn_and_printed_as_written(base_run, name, drawn, tmp_path):
    run = tmp_path / name
    shutil.copytree(base_run, run)
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", str(run), str(base_run), "--out", str(out)])
    # Before: "$\\frac{$" raised matplotlib's ParseFatalException while the figure was drawn.
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output  # no colours or window titles
    assert ("\\x1b]0;" if "\x1b" in name else name[:5]) in result.output  # shown, escaped
    images = report_images((out / "report.html").read_text(encoding="utf-8"))
    assert {"accuracy_vs_tokens", "budget_pacing", "reward_distribution"} <= set(images)
    # Before: "$x$ and $y$" was drawn as the math "x and y", and a control character as a
    # missing glyph; now no name is read as math, and each is drawn (escaped) in the legends.
    assert drawn["math"] == []
    shown = name.replace("$", "\\$").replace("\x1b", "\\x1b").replace("\x07", "\\x07")
    assert drawn["text"].count(shown) >= 4


def test_long_names_and_many_runs_keep_the_figures_legible(base_run, drawn, tmp_path):
    long = "x" * 200 + "-end"
    runs = []
    for i in range(12):
        run = tmp_path / (f"run-{i}" if i else long)
        shutil.copytree(base_run, run)
        runs.append(str(run))
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", *runs, "--out", str(out)])
    assert result.exit_code == 0, result.output
    images = report_images((out / "report.html").read_text(encoding="utf-8"))
    # the long name is drawn by its start and end, not 204 characters across the figure
    long_texts = [t for t in drawn["text"] if "x" * 10 in t]
    assert long_texts and all(len(t) <= 40 and t.startswith("xxxx") and t.endswith("-end") for t in long_texts)
    single = CliRunner().invoke(app, ["report", runs[1], "--out", str(tmp_path / "one")])
    assert single.exit_code == 0, single.output
    alone = report_images((tmp_path / "one" / "report.html").read_text(encoding="utf-8"))
    # 12 entries: the legend goes beside the axes (the figure grows) instead of over the data
    width, height = image_size(images["accuracy_vs_tokens"])
    alone_width, alone_height = image_size(alone["accuracy_vs_tokens"])
    assert alone_width < width < 3 * alone_width and height == alone_height


def edit_first_unit(run, change):
    lines = (run / "results.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    change(record)
    lines[0] = json.dumps(record)
    (run / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def set_step(key, value):
    return lambda record: record["steps"][0].__setitem__(key, value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (set_step("tokens_counted", "40"), "steps[0].tokens_counted: Input should be a valid integer, got '40'"),
        (set_step("tokens_counted", float("nan")), "NaN is not a number JSON allows"),
        (lambda r: r.__setitem__("total_reward", float("inf")), "Infinity is not a number JSON allows"),
        (set_step("difficulty", "hard"), "steps[0].difficulty: Input should be a valid number, got 'hard'"),
        (set_step("problem_type", None), "steps[0].problem_type: Input should be a valid string, got None"),
        (set_step("correct", "false"), "steps[0].correct: Input should be a valid boolean, got 'false'"),
        (lambda r: r.pop("steps"), "steps is missing"),
        (lambda r: r.__setitem__("mode", "problem"), "problems is missing"),
        (lambda r: r.__setitem__("mode", "bogus"), "unknown mode 'bogus'"),
        (lambda r: r.update(num_questions=0, steps=[]), "num_questions: Input should be greater than or equal to 1, got 0"),
        (lambda r: r.__setitem__("index", -1), "index is not a count: -1"),
    ],
    ids=["str-count", "nan", "inf", "str-difficulty", "null-type", "str-bool", "no-steps", "other-mode",
         "unknown-mode", "no-questions", "negative-index"],
)
def test_a_results_line_with_wrong_contents_is_an_error_naming_it(base_run, change, message, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    edit_first_unit(run, change)
    result = CliRunner().invoke(app, ["report", str(run), "--out", str(tmp_path / "out")])
    # Before: TypeError, KeyError or ZeroDivisionError tracebacks from deep in the summary, or
    # (NaN) a summary.json of NaN means that strict JSON readers refuse.
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert f"results.jsonl:1 is not a result record ({message})" in result.output.replace("\n", "")


def test_a_complete_last_line_with_wrong_contents_is_not_taken_for_a_partial_write(base_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    lines = (run / "results.jsonl").read_text().splitlines()
    record = json.loads(lines[-1])
    record["index"] = "1"
    lines[-1] = json.dumps(record)
    (run / "results.jsonl").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["report", str(run), "--out", str(tmp_path / "out")])
    # Before: dropped without a word, and the report described one unit fewer than the file holds
    assert result.exit_code == 2 and "results.jsonl:2 is not a result record (index is not a count: '1')" in (
        result.output.replace("\n", "")
    )
    # a line really cut short is still the partial write of a killed run: the report stands
    (run / "results.jsonl").write_text(lines[0] + "\n" + lines[1][:50])
    result = CliRunner().invoke(app, ["report", str(run), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["units"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "run.json is not a JSON object of settings: [1, 2]"),
        ('{"mode": "episode", "budget": NaN}', "NaN is not a number JSON allows"),
        ('{"mode": "problem"}', "holds 'episode' units, but run.json says mode 'problem'"),
    ],
    ids=["list", "nan", "other-mode"],
)
def test_a_run_json_that_cannot_describe_the_run_is_an_error(base_run, text, message, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    (run / "run.json").write_text(text)
    result = CliRunner().invoke(app, ["report", str(run), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert message in result.output.replace("\n", "")


def test_a_baseline_made_with_other_settings_is_warned_about(tmp_path):
    runner = CliRunner()
    for name, extra in (("base", []), ("other-seed", ["--seed", "5"]), ("other-tokenizer", ["--tokenizer", "llama3"]),
                        ("same", []), ("longer", ["--episodes", "3"])):
        result = runner.invoke(
            app, ["eval", "--policy", "oracle:accuracy=1.0,tokens=40", *RUN_ARGS, *extra, "--out", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.output
    out = tmp_path / "cmp"
    result = runner.invoke(
        app, ["report", *(str(tmp_path / n) for n in ("other-seed", "other-tokenizer", "same", "longer")),
              "--baseline", str(tmp_path / "base"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output  # the numbers are right; what they compare is flagged
    warnings = json.loads((out / "summary.json").read_text())["warnings"]
    assert len(warnings) == 3
    assert "'other-seed' and baseline 'base (baseline)' differ in seed 5 vs 0" in warnings[0]
    assert "'other-tokenizer'" in warnings[1] and "tokenizer_name 'llama3' vs 'qwen3'" in warnings[1]
    # More episodes averaged other questions too; nothing said so.
    assert "'longer' and baseline 'base (baseline)' differ in units 3 vs 2 (one answered questions the other did not)" in warnings[2]
    assert "warning: run 'other-seed'" in result.output.replace("\n", " ")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("<p class='warning'>") == 3


def test_a_run_folder_named_like_the_baseline_keeps_its_own_column(base_run, tmp_path):
    runner = CliRunner()
    base = tmp_path / "c" / "x"
    result = runner.invoke(
        app, ["eval", "--policy", "oracle:accuracy=1.0,tokens=80", *RUN_ARGS, "--out", str(base)]
    )
    assert result.exit_code == 0, result.output
    impostor = tmp_path / "b" / "x (baseline)"
    shutil.copytree(base_run, impostor)
    shutil.copytree(base_run, tmp_path / "a" / "x")
    out = tmp_path / "cmp"
    result = runner.invoke(
        app, ["report", str(tmp_path / "a" / "x"), str(impostor), "--baseline", str(base), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    comparison = json.loads((out / "summary.json").read_text())
    # Before: three runs, two columns; "b/x (baseline)" overwrote the baseline's summary
    # under the baseline's name
    assert comparison["baseline"] == "c/x (baseline)"
    assert set(comparison["runs"]) == {"x", "x (baseline)", "c/x (baseline)"}
    assert comparison["runs"]["c/x (baseline)"]["tokens_per_question"]["mean"] == 80.0
    assert comparison["runs"]["x (baseline)"]["vs_baseline"]["baseline"] == "c/x (baseline)"


def test_resume_refuses_a_results_file_with_a_wrong_unit_before_running(base_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    edit_first_unit(run, set_step("tokens_counted", "40"))
    before = (run / "results.jsonl").read_bytes()
    result = CliRunner().invoke(
        app, ["eval", "--policy", "oracle:accuracy=0.7,tokens=40", "--episodes", "4", "--questions", "3",
              "--budget", "100000", "--no-progress", "--resume", "--out", str(run)]
    )
    # Before: the two missing episodes ran, then the summary failed with a TypeError traceback
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "results.jsonl:1 is not a result record (steps[0].tokens_counted: Input should be a valid integer, got '40')" in (
        result.output.replace("\n", "")
    )
    assert (run / "results.jsonl").read_bytes() == before
