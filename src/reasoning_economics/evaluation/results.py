"""The run directory: ``run.json`` (how the run was made) and ``results.jsonl`` (what it produced).

One line of ``results.jsonl`` is one finished *unit*: an episode in ``episode`` mode, the
samples of one episode's questions in ``problem`` and ``anytime`` modes. Unit ``i`` always uses
seed ``base_seed + i``, so a resumed run redoes nothing and the same command gives the same
questions. Each line is written whole, flushed and fsynced before the next unit is reported
done; a kill can at worst leave one partial last line, which :func:`read_results` drops (and
:func:`repair_results` cuts off) so the unit is simply run again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reasoning_economics.errors import ConfigError, ResultsFileError
from reasoning_economics.evaluation.records import short, unit_problem
from reasoning_economics.jsonl import json_line, write_json

RESULTS_NAME = "results.jsonl"
RUN_CONFIG_NAME = "run.json"
SUMMARY_NAME = "summary.json"
REPORT_NAME = "report.html"


def read_results(run_dir: str | Path, *, check: bool = False) -> list[dict[str, Any]]:
    """The finished units of a run, sorted by ``index``.

    A partial last line (the process was killed while writing it) is ignored. Any other
    unreadable line, a record without a non-negative integer ``index``, NaN or Infinity, or
    two lines for one index, raises :class:`ResultsFileError`. With ``check``, so does a unit
    other than one a mode writes (:mod:`~reasoning_economics.evaluation.records`), or units of
    different modes.
    """
    path = Path(run_dir) / RESULTS_NAME
    if not path.is_file():
        return []
    records, _, _ = _parse(path, check)
    return records


def read_units(run_dir: str | Path) -> list[dict[str, Any]]:
    """:func:`read_results` with ``check``: the units a summary and a report can be made of."""
    return read_results(run_dir, check=True)


def read_units_and_cut_lines(run_dir: str | Path) -> tuple[list[dict[str, Any]], int]:
    """:func:`read_units`, and how many lines it left out as cut off by a kill while being
    written (0 or 1: only the last line can be one), so a report can say its numbers leave them out."""
    path = Path(run_dir) / RESULTS_NAME
    if not path.is_file():
        return [], 0
    records, _, cut_lines = _parse(path, check=True)
    return records, cut_lines


def _parse(path: Path, check: bool) -> tuple[list[dict[str, Any]], int, int]:
    """(records, byte length of the complete lines, lines left out as cut off: 0 or 1)."""
    with path.open("rb") as handle:
        # Line by line: the whole file as bytes (and again as its lines) beside the records
        # once took more memory than the records themselves.
        return _parse_lines(path, handle, check)


def _parse_lines(path: Path, lines: Iterator[bytes], check: bool) -> tuple[list[dict[str, Any]], int, int]:
    records: dict[int, dict[str, Any]] = {}
    good_bytes = cut_lines = 0
    first: tuple[int, dict[str, Any]] | None = None
    for number, raw in enumerate(lines, start=1):
        # Only the last line of a file can lack its newline.
        is_last = not raw.endswith(b"\n")
        raw = raw[:-1] if not is_last else raw
        if not raw.strip():
            if not is_last:
                good_bytes += len(raw) + 1
            continue
        try:
            record = json.loads(raw, parse_constant=_refuse_constant)
        except _NonFiniteNumber as exc:
            raise ResultsFileError(f"{path}:{number} is not a result record ({exc})") from exc
        except ValueError as exc:
            # A record is an object, so a cut one never parses: only the last line can be
            # one, written partly when the run was killed; its unit runs again.
            if is_last:
                cut_lines = 1
                break
            raise ResultsFileError(f"{path}:{number} is not a result record ({exc})") from exc
        # A complete record with wrong contents is not a partial write, even on the last line:
        # the summary would fail on it (or count it) far from the line that caused it.
        problem = _index_problem(record)
        if check and problem is None:
            problem = unit_problem(record) or (_mismatch(record, *first) if first else None)
        if problem is not None:
            raise ResultsFileError(f"{path}:{number} is not a result record ({problem})")
        if first is None:
            first = (number, record)
        if is_last:
            # A complete JSON object without its newline: keep it, it was fully written.
            good_bytes += len(raw)
        else:
            good_bytes += len(raw) + 1
        index = record["index"]
        if index in records:
            raise ResultsFileError(f"{path}:{number} repeats unit {index}")
        records[index] = record
    return [records[i] for i in sorted(records)], good_bytes, cut_lines


def _mismatch(record: dict[str, Any], first_number: int, first: dict[str, Any]) -> str | None:
    """How ``record`` differs from the file's first unit where all units must agree: the
    summary reads every unit in one mode, and anytime units on one budget support."""
    mode, first_mode = record.get("mode", "episode"), first.get("mode", "episode")
    if mode != first_mode:
        return f"mode {mode!r}, but line {first_number} has {first_mode!r}"
    if mode == "anytime" and record["budgets"] != first["budgets"]:
        return f"budgets {record['budgets']}, but line {first_number} has {first['budgets']}"
    return None


class _NonFiniteNumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    # Python writes and reads NaN and Infinity, strict JSON has neither: a NaN token count
    # would turn every mean into NaN and summary.json into a file other tools refuse.
    raise _NonFiniteNumber(f"{name} is not a number JSON allows")


def _index_problem(record: Any) -> str | None:
    if not isinstance(record, dict):
        return "not an object"
    index = record.get("index")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        return f"index is not a count: {short(index)}"
    return None


def repair_results(run_dir: str | Path) -> list[dict[str, Any]]:
    """Cut a partial last line off ``results.jsonl`` (so appends start on a fresh line) and
    return the finished units, checked as :func:`read_units` does (before a resumed run
    spends its time, not in its summary after)."""
    path = Path(run_dir) / RESULTS_NAME
    if not path.is_file():
        return []
    records, good_bytes, _ = _parse(path, check=True)
    size = path.stat().st_size
    if good_bytes < size:
        with path.open("r+b") as handle:
            handle.truncate(good_bytes)
    if good_bytes and not path.read_bytes().endswith(b"\n"):
        with path.open("ab") as handle:
            handle.write(b"\n")
    return records


class ResultsWriter:
    """Appends one unit per line; each line is on disk (fsync) before :meth:`append` returns.

    A failed write (a full disk, a file-size limit) raises :class:`ConfigError` naming ``--out``
    and how to go on, after cutting the partial line off, so the file stays whole for ``--resume``.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / RESULTS_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with writing_output(self.path, hint=RESUME_AFTER_WRITE_FAILURE):
            # Unbuffered: a buffered handle keeps the bytes a failed write could not place and
            # tries them again on close, failing a second time far from the cause.
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path} is closed")
        data = json_line(record, sort_keys=True).encode("utf-8")
        start = os.fstat(self._fd).st_size
        with writing_output(self.path, hint=RESUME_AFTER_WRITE_FAILURE):
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view) :]
                os.fsync(self._fd)
            except OSError:
                self._cut_back_to(start)
                raise

    def _cut_back_to(self, size: int) -> None:
        try:
            os.ftruncate(self._fd, size)  # type: ignore[arg-type]
        except OSError:
            # Not every file can be cut (a device such as /dev/full); repair_results drops a
            # partial last line on --resume anyway, and the write's own error is the one to report.
            pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "ResultsWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


RESUME_AFTER_WRITE_FAILURE = "free space (or raise the file-size limit) and rerun with --resume"
"""What to do when results.jsonl cannot be written: the units before are on disk."""


def make_output_dir(path: str | Path, option: str = "--out") -> Path:
    """Create the directory ``path`` (and its parents); raise :class:`ConfigError` naming
    ``option`` when it cannot be one: a file, a path under a file, a read-only or pseudo file
    system (``/sys``, ``/proc``). An output location is typed by the user, so this is their
    mistake to fix, not a crash."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {str(path)!r} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except NotADirectoryError as exc:
        raise ConfigError(f"{option} {str(path)!r}: a folder on its path is a file") from exc
    except OSError as exc:
        raise ConfigError(f"{option} {str(path)!r}: cannot create the directory ({exc.strerror or exc})") from exc
    return path


@contextmanager
def writing_output(path: Path, option: str = "--out", *, hint: str | None = None) -> Iterator[None]:
    """Write ``path`` in an output directory the user chose inside this block: one that exists
    but cannot be written to (permissions, a read-only file system, a full disk) raises
    :class:`ConfigError`, ending with ``hint`` when given."""
    try:
        yield
    except IsADirectoryError as exc:
        # Not a matter of space or limits: something made a folder where the file goes.
        raise ConfigError(
            f"{option} {str(path.parent)!r}: cannot write {path.name}: it is a directory; move it away "
            "(or choose another --out)"
        ) from exc
    except OSError as exc:
        message = f"{option} {str(path.parent)!r}: cannot write {path.name} ({exc.strerror or exc})"
        raise ConfigError(f"{message}; {hint}" if hint else message) from exc


def write_output_json(path: Path, data: Any, option: str = "--out") -> None:
    """:func:`write_json` into an output directory the user chose (see :func:`writing_output`)."""
    with writing_output(path, option):
        write_json(path, data, sort_keys=True)


def read_run_config(run_dir: str | Path) -> dict[str, Any]:
    """The ``run.json`` of a run directory ({} when it has none)."""
    path = Path(run_dir) / RUN_CONFIG_NAME
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except ValueError as exc:
        raise ResultsFileError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise ResultsFileError(f"{path} is not a JSON object of settings: {short(config)}")
    return config


def prepare_run_dir(run_dir: str | Path, run_config: dict[str, Any], *, resume: bool) -> list[dict[str, Any]]:
    """Create or reopen a run directory and return the units already finished.

    - A fresh directory (or one without results) gets ``run.json`` and starts empty.
    - An existing run without ``resume`` is refused, so nothing is overwritten.
    - With ``resume`` the stored ``run.json`` must describe the same run (:data:`RESUME_KEYS`,
      and ``first_episode`` where both record it), and every unit already in ``results.jsonl``
      must hold what this run's units hold (:func:`unit_mismatch`); otherwise the resume is
      refused with :class:`RunMismatchError` before anything on disk changes. Results without
      a ``run.json`` are refused too, and so are results holding more units than the resumed
      run's ``episodes`` (``run.json`` would say fewer than ``results.jsonl`` holds).
    """
    run_dir = make_output_dir(run_dir)
    results = run_dir / RESULTS_NAME
    if results.is_dir():
        # Refused before run.json is written: the first unit's write failed only after the
        # policy had answered it, with a hint about free space that did not apply.
        raise ConfigError(
            f"--out {str(run_dir)!r}: {RESULTS_NAME} there is a directory; move it away, or choose another --out"
        )
    stored = read_run_config(run_dir)
    has_results = (run_dir / RESULTS_NAME).is_file() and (run_dir / RESULTS_NAME).stat().st_size > 0
    if has_results and not resume:
        raise ConfigError(
            f"{run_dir} already holds results; pass --resume to continue that run, or choose another --out"
        )
    if resume and has_results and not stored:
        # Writing this run's run.json now would vouch for results nothing says it made.
        raise ConfigError(
            f"--resume: {run_dir} holds results but no {RUN_CONFIG_NAME}, so nothing tells which settings made "
            "them; restore it, or choose another --out"
        )
    if resume and stored:
        _refuse_other_settings(run_dir, stored, run_config)
    if resume and has_results:
        units = read_units(run_dir)
        for unit in units:
            problem = unit_mismatch(unit, run_config)
            if problem is not None:
                raise RunMismatchError(
                    f"--resume: unit {unit['index']} in {run_dir / RESULTS_NAME} {problem}, so those results were "
                    "made under other settings (another server, or the server restarted with another "
                    "configuration); resume against what made them, or choose another --out"
                )
        episodes = run_config.get("episodes")
        last = max((unit["index"] for unit in units), default=-1)
        if isinstance(episodes, int) and last >= episodes:
            # run.json would say fewer episodes than results.jsonl (and the summary) holds.
            raise ConfigError(
                f"--resume: {run_dir} already holds {len(units)} finished units, up to unit {last}, more than "
                f"--episodes {episodes}; a resume can extend a run, not shrink it: pass --episodes {last + 1} "
                f"or more (ree report {run_dir} re-reads the run as it is), or choose another --out"
            )
    write_output_json(run_dir / RUN_CONFIG_NAME, run_config)
    return repair_results(run_dir) if resume else []


def _refuse_other_settings(run_dir: Path, stored: dict[str, Any], run_config: dict[str, Any]) -> None:
    keys = set(RESUME_KEYS)
    if "first_episode" in stored:
        keys.add("first_episode")
    elif stored.get("server"):
        # Older run.json files recorded the command line's --questions, not what the server
        # served; the units themselves are checked against the server instead.
        keys.discard("questions")
    now = run_config
    stored_first, first_now = stored.get("first_episode"), run_config.get("first_episode")
    if isinstance(stored_first, dict) and isinstance(first_now, dict) and stored_first.get("env_config_digest") is None:
        # Made by a client or a server from before the digest: compare what it recorded, as then.
        stored = {**stored, "first_episode": _without_digest(stored_first)}
        now = {**run_config, "first_episode": _without_digest(first_now)}
    stored, now = _without_connection_options(stored), _without_connection_options(now)
    differences = {
        key: (stored.get(key), now.get(key))
        for key in now
        if key in keys and stored.get(key) != now.get(key)
    }
    if differences:
        first_stored, first_now = differences.pop("first_episode", (None, None))
        details = [f"{k}: stored {a!r}, now {b!r}" for k, (a, b) in sorted(differences.items())]
        if isinstance(first_stored, dict) and isinstance(first_now, dict):
            # Only the parts that differ: the whole question text buried the reason.
            for key in sorted(set(first_stored) | set(first_now)):
                if key == "first_question" and first_stored.get(key) != first_now.get(key):
                    # A seed or a number of questions named above draws other questions; else the dataset changed.
                    cause = (
                        "another seed" if "seed" in differences
                        else "another number of questions" if "questions" in differences
                        else "another dataset, or the dataset's file changed"
                    )  # fmt: skip
                    details.append(f"unit 0's first question differs ({cause})")
                elif key == "env_config_digest" and first_stored.get(key) != first_now.get(key):
                    details.append(
                        f"the environment's settings differ (env_config_digest: stored {first_stored.get(key)!r}, "
                        f"now {first_now.get(key)!r}; reward weights, budget mode, dataset, number of questions "
                        "or limits changed); resume against the settings that made the run, or choose another --out"
                    )
                elif first_stored.get(key) != first_now.get(key):
                    details.append(f"unit 0's {key}: stored {first_stored.get(key)!r}, now {first_now.get(key)!r}")
        elif first_stored != first_now:
            details.append(f"first_episode: stored {first_stored!r}, now {first_now!r}")
        raise RunMismatchError(f"--resume: {run_dir} was made with other settings ({'; '.join(details)})")


def _without_digest(first_episode: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in first_episode.items() if key != "env_config_digest"}


class RunMismatchError(ConfigError):
    """Units that do not belong to one run: made, or about to be made, under other settings
    than the run's (another server, a server restarted with another configuration)."""


def environment_at(server: str | None) -> str:
    """What ran the episodes, in words: the server at ``server``, or (None) the environment in-process."""
    return f"the server at {server}" if server else "the environment"


def changed_during_run(
    index: int, problem: str, server: str | None, results: Path | None = None
) -> RunMismatchError:
    """The error for unit ``index`` that ``problem`` (words after "unit N") shows was made
    under other settings than the units before it, by ``server`` (None: in-process); the units
    before it are in ``results`` when it is given."""
    saved = f"are in {results}" if results is not None else "are saved"
    return RunMismatchError(
        f"unit {index} {problem}: {environment_at(server)} changed its settings during the run (restarted with "
        f"another configuration: reward weights, budget mode, dataset, ...?). That unit was not saved; the units "
        f"finished before it {saved}. Restore the settings and continue with the same command plus --resume, "
        "or start again in another --out"
    )


def other_environment_settings(served: Any, expected: Any) -> str:
    """Words (after "unit N") for an episode served under env_config_digest ``served`` where the
    run's units have ``expected``."""
    return f"was served under other environment settings (env_config_digest {served!r}, but this run's episodes have {expected!r})"


def unit_mismatch(unit: dict[str, Any], run_config: dict[str, Any]) -> str | None:
    """How ``unit`` differs from what every unit of the run described by ``run_config`` holds
    (its mode, its environment settings' ``env_config_digest`` where both record one, its number
    of questions and, for the unit ``first_episode`` describes, its total budget and first
    question), in words; None when it does not."""
    mode = unit.get("mode", "episode")
    run_mode = run_config.get("mode", mode)
    if mode != run_mode:
        return f"is a {mode!r} unit, but the run is in {run_mode!r} mode"
    questions = run_config.get("questions")
    held = unit["num_questions"] if mode == "episode" else len(unit["problems"])
    if questions is not None and held != questions:
        return f"holds {held} questions per episode, but this run's episodes have {questions}"
    first = run_config.get("first_episode")
    expected = first.get("env_config_digest") if mode == "episode" and first else None
    held_digest = unit.get("env_config_digest")
    if expected is not None and held_digest is not None and held_digest != expected:
        # Units from before the digest (or from a server without one) hold none: the checks
        # below still apply to them.
        return other_environment_settings(held_digest, expected)
    if first and unit.get("seed") == first.get("seed"):
        if mode == "episode" and unit["total_budget"] != first.get("total_budget"):
            return f"has a total budget of {unit['total_budget']}, but this run's gives seed {first['seed']} {first.get('total_budget')}"
        asked = unit["steps"] if mode == "episode" else unit["problems"]
        if asked and asked[0]["question"] != first.get("first_question"):
            return f"asks another first question for seed {first['seed']} than this run does (another dataset)"
    return None


def _without_connection_options(run_config: dict[str, Any]) -> dict[str, Any]:
    """``run_config`` without the policy options that say how requests reach the model (a new
    --base-url, timeout or retry count for the same model continues the run; they were refused)."""
    options = run_config.get("policy_options")
    if not isinstance(options, dict):
        return run_config
    from reasoning_economics.errors import UnknownNameError
    from reasoning_economics.policies.registry import option_roles

    try:
        connection, _ = option_roles(run_config.get("policy", ""))
    except UnknownNameError:
        return run_config  # a policy of another version: compared whole
    return {**run_config, "policy_options": {k: v for k, v in options.items() if k not in connection}}


IDENTITY_KEYS = frozenset(
    {
        "policy",
        "policy_options",
        "dataset",
        "mode",
        "seed",
        "questions",
        "budget",
        "tokenizer_name",
        "max_tokens_per_step",
        "hard_cap_mode",
        "samples",
        "anytime_max_budget",
        "anytime_num_budgets",
        "summaries_per_budget",
        "summary_tokens",
    }
)
"""Settings that change what a unit computes; ``--resume`` refuses to mix runs that differ in them.
(The number of episodes is not one of them: resuming with a larger ``--episodes`` extends a run.)"""

RESUME_KEYS = IDENTITY_KEYS | {"server"}
"""What ``--resume`` compares: the settings, and where the episodes ran (in-process, or which
server), which decides what the server side's settings are. (A report compares runs on
:data:`IDENTITY_KEYS` only: the same environment in-process and behind a server gives the same units.)"""
