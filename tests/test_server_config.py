"""``ree serve``'s settings: the --config file (TOML or YAML), validation with clear errors,
the REE_* environment of ``uvicorn reasoning_economics.server.app:app``, and the banner."""

from __future__ import annotations

import subprocess
import sys
import traceback

import pytest
from typer.testing import CliRunner

from reasoning_economics.cli import app as cli
from reasoning_economics.errors import ConfigError
from reasoning_economics.server.settings import ServerSettings, load_env_config


def test_an_env_config_file_in_toml_or_yaml_gives_the_defaults(tmp_path):
    toml = tmp_path / "env.toml"
    toml.write_text('num_questions = 4\nbudget_ratio = 2.5\nhard_cap_mode = false\n')
    yaml = tmp_path / "env.yaml"
    yaml.write_text("env:\n  num_questions: 4\n  budget_ratio: 2.5\n  hard_cap_mode: false\n")
    for path in (toml, yaml):
        config = load_env_config(path, grading_timeout=2.0)
        assert (config.num_questions, config.budget_ratio, config.hard_cap_mode) == (4, 2.5, False)
        assert config.grading_timeout == 2.0  # command-line values override the file
    assert load_env_config(toml, grading_timeout=None).grading_timeout == 5.0  # unset options do not


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("typo.toml", "num_question = 4\n", "num_question"),
        ("range.yaml", "num_questions: 0\n", "num_questions"),
        ("broken.toml", "num_questions = \n", "not valid TOML"),
        ("list.yaml", "- 1\n- 2\n", "must hold a mapping"),
        ("env.ini", "num_questions = 4\n", "must end in .toml, .yaml, .yml, .json"),
        ("broken.json", "{", "not valid JSON"),
        # A flag for a number, a word for a flag and a string for a number were converted.
        ("flag.toml", "num_questions = true\n", "num_questions"),
        ("word.yaml", "hard_cap_mode: 'yes'\n", "hard_cap_mode"),
        ("string.json", '{"num_questions": "3"}', "num_questions"),
        ("ratio.toml", "budget_ratio = true\n", "budget_ratio"),
        # A key given twice: TOML refused it, JSON and YAML kept the last value.
        ("twice.yaml", "num_questions: 2\nnum_questions: 3\n", "'num_questions' is given twice"),
        ("twice.json", '{"num_questions": 2, "num_questions": 3}', "'num_questions' is given twice"),
        ("nested.yaml", "env:\n  beta: 1\n  beta: 2\n", "'beta' is given twice"),
        # An [env] table beside other keys: each was "not permitted", [env] among them.
        ("both.toml", "num_questions = 3\n[env]\nnum_questions = 5\n", "either at the top level or in an \\[env\\] table"),
        ("train.yaml", "model: smollm2\nenv:\n  num_questions: 2\n", "beside \\[env\\] it has model"),
    ],
)
def test_a_bad_config_file_is_a_config_error_naming_the_problem(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_env_config(path)


def test_server_settings_validate_themselves():
    with pytest.raises(ConfigError, match="max_sessions"):
        ServerSettings.build(max_sessions=0)
    with pytest.raises(ConfigError, match="token"):
        ServerSettings.build(token="   ")
    assert ServerSettings().max_sessions >= 256 and ServerSettings().is_loopback
    assert not ServerSettings(host="0.0.0.0").is_loopback
    # A step thread per session by default (a session has one message in flight), within a cap.
    assert ServerSettings(max_sessions=8).step_thread_count == 8
    assert ServerSettings(max_sessions=100_000).step_thread_count == 4096
    assert ServerSettings(max_sessions=8, step_threads=3).step_thread_count == 3
    with pytest.raises(ConfigError, match="step_threads"):
        ServerSettings.build(step_threads=5000)


def test_the_uvicorn_app_reads_its_settings_from_ree_environment_variables(tmp_path):
    from reasoning_economics.server.app import settings_from_environ

    config = tmp_path / "env.yaml"
    config.write_text("num_questions: 3\nallowed_tokenizers: [org/a]\n")
    settings = settings_from_environ({
        "REE_TOKEN": "t", "REE_CONFIG": str(config), "REE_LOG_DIR": str(tmp_path / "logs"),
        "REE_MAX_SESSIONS": "300", "REE_SESSION_TIMEOUT": "9.5", "REE_ALLOW_TOKENIZERS": "org/b, ./local",
    })  # fmt: skip
    assert settings.token == "t" and settings.max_sessions == 300 and settings.session_timeout_s == 9.5
    assert settings.episode_log_path == tmp_path / "logs" / "episodes.jsonl"
    assert settings.env_config.num_questions == 3
    assert settings.env_config.allowed_tokenizers == ("org/a", "org/b", "./local")
    with pytest.raises(ConfigError, match="max_sessions"):
        settings_from_environ({"REE_MAX_SESSIONS": "lots"})


def test_ree_serve_explains_itself_and_rejects_bad_options_clearly(tmp_path):
    runner = CliRunner()
    help_text = runner.invoke(cli, ["serve", "--help"], env={"COLUMNS": "240"}).output
    for option in ("--host", "--port", "--max-sessions", "--session-timeout", "--max-http-resets", "--token", "--config", "--log-dir",
                   "--allow-tokenizer", "--trust-remote-code", "--grading-timeout", "REE_TOKEN"):  # fmt: skip
        assert option in help_text
    bad = tmp_path / "bad.toml"
    bad.write_text("budget_ratio = -1\n")
    result = runner.invoke(cli, ["serve", "--config", str(bad)])
    assert result.exit_code == 2 and "budget_ratio" in result.output
    result = runner.invoke(cli, ["serve"], env={"REE_GRADING_WORKERS": "many"})
    assert result.exit_code == 2 and "REE_GRADING_WORKERS" in result.output
    result = runner.invoke(cli, ["serve"], env={"REE_GRADING_WORKER_MEMORY_MB": "64"})
    assert result.exit_code == 2 and "REE_GRADING_WORKER_MEMORY_MB" in result.output
    result = runner.invoke(cli, ["serve", "--allow-tokenizer", str(tmp_path / "no-such-tokenizer")])
    assert result.exit_code == 2 and "no-such-tokenizer' cannot be loaded" in result.output
    assert "does not exist or is not a directory" in result.output
    for size in ("inf", "0", "nan"):  # inf once ended in an OverflowError traceback
        result = runner.invoke(cli, ["serve", "--max-message-mb", size])
        assert result.exit_code == 2 and "--max-message-mb" in result.output and result.exception is not None
        assert not isinstance(result.exception, OverflowError)


def test_uvicorn_can_import_the_app_by_its_openenv_path(monkeypatch):
    import reasoning_economics.server.app as module

    monkeypatch.delitem(module.__dict__, "app", raising=False)
    monkeypatch.setenv("REE_MAX_SESSIONS", "7")
    app = getattr(module, "app")  # what `uvicorn reasoning_economics.server.app:app` does
    assert app.state.settings.max_sessions == 7 and app.state.sessions.max_sessions == 7
    assert {route.path for route in app.routes} >= {"/ws", "/health", "/reset", "/step", "/state", "/schema"}


def test_the_config_example_in_the_deployment_guide_loads(tmp_path):
    import re
    from pathlib import Path

    from reasoning_economics.server.settings import load_env_config

    guide = (Path(__file__).resolve().parents[1] / "docs" / "deployment.md").read_text()
    example = tmp_path / "env.toml"
    example.write_text(re.search(r"```toml\n(.*?)```", guide, flags=re.DOTALL).group(1))
    config = load_env_config(example)
    assert (config.num_questions, config.budget_ratio, config.hard_cap_mode) == (10, 4.0, True)
    assert config.dataset == "builtin" and config.dataset_config == {"warm_up": True}
    assert config.allowed_tokenizers == ("/models/my-tokenizer",)


def test_the_uvicorn_command_in_the_deployment_guide_sets_what_ree_serve_sets():
    # The guide's plain-uvicorn command must give the transport options `ree serve` passes.
    import re
    import shlex
    from pathlib import Path

    import click
    import uvicorn
    from uvicorn.main import main as uvicorn_cli

    from reasoning_economics.server.app import uvicorn_options

    guide = (Path(__file__).resolve().parents[1] / "docs" / "deployment.md").read_text()
    line = re.search(r"^uvicorn reasoning_economics\.server\.app:app (?:[^\n]*\\\n)*[^\n]*$", guide, re.MULTILINE)
    words = shlex.split(line.group(0).replace("\\\n", " "))
    context = uvicorn_cli.make_context("uvicorn", words[1:])
    given = {name: value for name, value in context.params.items()
             if context.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE}  # fmt: skip
    expected = uvicorn_options(ServerSettings())
    transport = {name: expected[name] for name in expected if name.startswith("ws_") or name == "backlog"}
    assert transport and {name: given[name] for name in transport} == transport
    # The protocol classes: the guide names ree serve's, the HTTP one with its default deadline.
    named = uvicorn.Config(lambda scope, receive, send: None, http=given["http"], ws=given["ws"])
    named.load()
    assert named.http_protocol_class.request_timeout_s == expected["http"].request_timeout_s == 10
    assert named.ws_protocol_class is expected["ws"]


def test_the_banner_prints_paths_and_specs_as_written(tmp_path):
    # Names that look like rich markup ("[bold]") are printed as written, not read as styles.
    import io

    from rich.console import Console

    from reasoning_economics.server.command import _build, _print_banner

    folder = tmp_path / "data[bold]"
    folder.mkdir()
    problems = folder / "problems[red].jsonl"
    problems.write_text('{"question": "1+1?", "answer": "2", "type": "arithmetic"}\n')
    config = tmp_path / "env.toml"
    config.write_text(f'dataset = "file:{problems}"\nnum_questions = 1\n')
    settings, app = _build(
        host="127.0.0.1", port=8001, max_sessions=4, session_timeout=60, request_timeout=10, max_http_resets=4,
        token=None, config=config,
        log_dir=folder / "logs", allow_tokenizer=["my[org]/Qwen3-8B"], trust_remote_code=False, grading_timeout=None,
        max_message_bytes=1 << 20, warm_up=False,
    )  # fmt: skip
    output = io.StringIO()
    _print_banner(Console(file=output, width=400), settings, app, port=8001)
    text = output.getvalue()
    assert f"dataset=file:{problems}" in text
    assert f"episode log   {folder / 'logs'}" in text
    assert "allowed extra: my[org]/Qwen3-8B" in text


def test_ree_serve_announces_itself_only_once_listening(tmp_path):
    # A taken port: one error line and exit code 2 at once (uvicorn said so with a log line and
    # exit code 3 after the start-up), and no banner claiming "listening on".
    import socket

    from reasoning_economics.bench.server_process import ServerProcess, ServerStartError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ServerProcess(["--no-warm-up"], port=port, log_path=tmp_path / "taken.log", start_seconds=60)
        with pytest.raises(ServerStartError, match="exited with 2") as refused:
            server.start()
    assert f"ree serve: 127.0.0.1:{port} is already in use" in str(refused.value)
    log = (tmp_path / "taken.log").read_text()
    assert "listening on" not in log and "Traceback" not in log
    # A host that names no interface of this machine, whatever the port: the same at once.
    for host in ("not_a_host.invalid", "192.0.2.1"):  # no such name; an address of no interface here
        done = subprocess.run(
            [sys.executable, "-m", "reasoning_economics.cli", "serve", "--no-warm-up", "--port", "0", "--host", host],
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 2, (host, done.returncode, done.stderr)
        assert "ree serve: cannot listen on" in done.stderr and host in done.stderr and "Traceback" not in done.stderr
    # Without a port, the server binds port 0 and its banner names the port the system chose.
    with ServerProcess(["--no-warm-up"], log_path=tmp_path / "free.log") as running:
        assert running.port > 0 and running.healthy()
        log = (tmp_path / "free.log").read_text()
        assert f"listening on  http://127.0.0.1:{running.port}" in log
        assert log.startswith("ree serve ") and log.index("starting...") < log.index("listening on")
    assert (tmp_path / "free.log").read_text().rstrip().endswith("ree serve: stopped")  # SIGTERM: said, then gone


@pytest.mark.timeout(90)  # a hang guard: before, ree serve started and served
def test_a_config_that_cannot_serve_an_episode_is_refused_at_start(tmp_path):
    # Both started, answered /health as healthy and then failed every reset (403, 422); with
    # --no-warm-up nothing was even logged.
    from reasoning_economics.server.app import create_server_app

    runner = CliRunner()
    not_allowed = tmp_path / "tokenizer.toml"
    not_allowed.write_text('tokenizer_name = "gpt2"\n')
    problems = tmp_path / "two.jsonl"
    problems.write_text('{"question": "1+1?", "answer": "2"}\n{"question": "2+2?", "answer": "4"}\n')
    too_few = tmp_path / "too_few.toml"
    too_few.write_text(f'dataset = "file:{problems}"\nnum_questions = 5\n')
    for config, reason in ((not_allowed, "tokenizer 'gpt2' is not allowed"), (too_few, "too few distinct problems")):
        result = runner.invoke(cli, ["serve", "--no-warm-up", "--port", "0", "--config", str(config)])
        assert result.exit_code == 2, result.output
        assert "ree serve: this configuration cannot serve an episode" in result.output and reason in result.output
        assert "listening on" not in result.output
    with pytest.raises(ConfigError, match="cannot serve an episode"):
        create_server_app(ServerSettings.build(env_config=load_env_config(too_few)))


@pytest.mark.timeout(90)  # a hang guard: before, ree serve started and served
def test_a_blank_ree_token_is_refused_not_read_as_no_auth(tmp_path):
    # A secret never filled in (docker run -e REE_TOKEN="$UNSET") served with no auth at all.
    from reasoning_economics.server.app import settings_from_environ

    for blank in ("", "  "):
        result = CliRunner().invoke(cli, ["serve", "--no-warm-up", "--port", "0"], env={"REE_TOKEN": blank})
        assert result.exit_code == 2 and "REE_TOKEN is set but empty" in result.output, result.output
        with pytest.raises(ConfigError, match="REE_TOKEN is set but empty"):
            settings_from_environ({"REE_TOKEN": blank})
    assert settings_from_environ({}).token is None


@pytest.mark.timeout(90)  # a hang guard: before, ree serve started and refused every client
@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("s3cret-token\n", "starts or ends with whitespace"),  # a secret file's last line break
        ("  s3cret-token", "starts or ends with whitespace"),
        ("s3cret-tökén", "a character outside ASCII"),  # websockets sends Latin-1, curl UTF-8
        ("s3cret\ttoken", "a control character"),
    ],
)
def test_a_token_no_client_can_send_is_refused_at_start_without_quoting_it(token, reason):
    # HTTP drops the whitespace around a header value: a server whose REE_TOKEN ended in a line
    # break started, and answered 403 to every client that sent the token.
    from reasoning_economics.server.app import settings_from_environ

    result = CliRunner().invoke(cli, ["serve", "--no-warm-up", "--port", "0", "--token", token])
    assert result.exit_code == 2 and reason in result.output, result.output
    assert "s3cret" not in result.output and "listening on" not in result.output
    with pytest.raises(ConfigError, match=reason) as refused:
        settings_from_environ({"REE_TOKEN": token})
    # uvicorn prints the whole traceback of `uvicorn ...server.app:app`: pydantic's chained text quoted the token.
    assert "s3cret" not in "".join(traceback.format_exception(refused.value))
    assert ServerSettings.build(token="Abc-._~+/= 19").token == "Abc-._~+/= 19"  # printable ASCII goes


def test_ree_serve_reads_the_variables_the_uvicorn_app_reads(tmp_path):
    # The Docker image runs ree serve: docker run -e REE_MAX_SESSIONS=... did nothing.
    from reasoning_economics.bench.server_process import ServerProcess

    help_text = CliRunner().invoke(cli, ["serve", "--help"], env={"COLUMNS": "300"}).output
    for variable in ("REE_MAX_SESSIONS", "REE_SESSION_TIMEOUT", "REE_MAX_HTTP_RESETS", "REE_CONFIG", "REE_LOG_DIR",
                     "REE_LOG_MAX_MB", "REE_ALLOW_TOKENIZERS"):  # fmt: skip
        assert variable in help_text
    result = CliRunner().invoke(cli, ["serve", "--no-warm-up"], env={"REE_MAX_SESSIONS": "lots"})
    assert result.exit_code == 2 and "--max-sessions" in result.output
    config = tmp_path / "env.toml"
    config.write_text("num_questions = 3\n")
    variables = {"REE_MAX_SESSIONS": "7", "REE_SESSION_TIMEOUT": "42", "REE_MAX_HTTP_RESETS": "3",
                 "REE_CONFIG": str(config), "REE_LOG_DIR": str(tmp_path / "logs"),
                 "REE_ALLOW_TOKENIZERS": str(tmp_path / "missing-tokenizer")}  # fmt: skip
    refused = CliRunner().invoke(cli, ["serve", "--no-warm-up", "--port", "0"], env=variables)
    assert refused.exit_code == 2 and "missing-tokenizer' cannot be loaded" in refused.output
    del variables["REE_ALLOW_TOKENIZERS"]
    with ServerProcess(["--no-warm-up"], log_path=tmp_path / "serve.log", env=variables) as running:
        assert running.healthy()
        log = (tmp_path / "serve.log").read_text()
    assert "questions=3" in log and "at most 7, closed after 42 s of silence" in log
    assert "at most 3 HTTP /reset at once" in log and f"episode log   {tmp_path / 'logs' / 'episodes.jsonl'}" in log


def test_the_limits_of_serve_options_are_checked_at_once_and_shown(tmp_path):
    from reasoning_economics.server.command import _build, _print_banner

    help_text = CliRunner().invoke(cli, ["serve", "--help"], env={"COLUMNS": "300"}).output
    assert "0.1<=x<=600" in help_text and "1<=x<=1000000" in help_text
    for option, value in (("--grading-timeout", "1000"), ("--max-sessions", "2000000")):
        result = CliRunner().invoke(cli, ["serve", option, value])
        assert result.exit_code == 2 and option in result.output
    # An IPv6 host is bracketed in the banner's URLs, as a client's base_url must write it.
    import io

    from rich.console import Console

    settings, app = _build(
        host="::1", port=8001, max_sessions=4, session_timeout=60, request_timeout=10, max_http_resets=4,
        token=None, config=None, log_dir=None, allow_tokenizer=[], trust_remote_code=False, grading_timeout=None,
        max_message_bytes=1 << 20, warm_up=False,
    )  # fmt: skip
    output = io.StringIO()
    _print_banner(Console(file=output, width=400), settings, app, port=8001)
    assert "listening on  http://[::1]:8001   WebSocket sessions: ws://[::1]:8001/ws" in output.getvalue()


def test_ctrl_c_twice_stops_the_server_quietly(tmp_path):
    # uvicorn made the second SIGINT a forced exit: the lifespan task was cancelled mid-shutdown
    # and a 44-line traceback followed (4 times in 4 with the signals 10 ms apart).
    import signal
    import time

    from reasoning_economics.bench.server_process import ServerProcess

    log_path = tmp_path / "serve.log"
    server = ServerProcess(["--no-warm-up"], log_path=log_path)
    server.start()
    try:
        server.process.send_signal(signal.SIGINT)
        time.sleep(0.01)
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(30) == 0
    finally:
        server.stop()
    log = log_path.read_text()
    assert "Traceback" not in log and log.rstrip().endswith("ree serve: stopped"), log[-2000:]


def test_the_start_check_does_not_warn_as_if_a_client_had_named_no_budget(monkeypatch, caplog):
    import logging

    from reasoning_economics.env import EnvConfig, ReasonBudgetEnvironment, environment
    from reasoning_economics.server.app import create_server_app

    monkeypatch.setattr(environment, "_ANNOUNCED_CONFIG_BUDGETS", set())
    warning = "no total_budget or tokenizer_name given: using the config budget 16200"
    with caplog.at_level(logging.WARNING, logger=environment.__name__):
        create_server_app(ServerSettings.build(warm_up=False))
        assert warning not in caplog.text  # it was printed at every start
        # ... and it was used up: the first client that names neither never got it.
        ReasonBudgetEnvironment(EnvConfig()).reset(seed=1)
        assert warning in caplog.text
