"""Loading a table of problems, from a local file or the Hugging Face hub, and drawing from it.

:func:`load_table` returns a ``datasets.Dataset`` (memory-mapped Arrow: MetaMathQA's
395k rows stay on disk). It never falls back to other data:

- ``path`` given: a ``.parquet``, ``.json`` or ``.jsonl`` file, or a folder of them;
- else the hub id, unless the hub is unreachable, which is found out in well under a
  second: with ``HF_HUB_OFFLINE=1`` only the local hub cache is tried; otherwise one
  metadata request with a short timeout goes first, so that ``datasets`` does not spend
  ~25 s retrying a dead connection.

Either failure raises :class:`~reasoning_economics.errors.DatasetUnavailableError`
saying how to pass a local copy. A local load is quiet: ``datasets``' progress bars
("Generating train split: ...") and its log lines (which a malformed file gives before our
own error) are turned off for the load only, then set back as they were.

:class:`TableSource` is the draw logic the table-backed sources share: rows bucketed by
problem type, a random row of the asked type, rows without a usable gold answer skipped.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import random
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reasoning_economics.errors import ConfigError, DatasetFormatError, DatasetUnavailableError, require
from reasoning_economics.hub import why_unreachable
from reasoning_economics.problems.base import unknown_type_error
from reasoning_economics.problems.record import Problem

_BUILDERS = {".parquet": "parquet", ".json": "json", ".jsonl": "json"}


@dataclass(frozen=True)
class HubSourceConfig:
    """Options of a source backed by a hub dataset (``metamathqa``, ``numina_tir``).

    Attributes:
        path: a local ``.parquet`` / ``.json`` / ``.jsonl`` file or a folder of them, in the
            hub dataset's schema. When given, the hub is not contacted.
        hub_id: the hub dataset to load when ``path`` is not given (default: the source's own).
        split: the split to load from the hub or a folder.
        cache_dir: where ``datasets`` keeps its Arrow cache (default: its own).
    """

    path: str | None = None
    hub_id: str | None = None
    split: str = "train"
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        for name in ("path", "hub_id", "cache_dir"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(f"{name} must be a non-empty string or None, got {value!r}")
        if not isinstance(self.split, str) or not self.split:
            raise ConfigError(f"split must be a non-empty string, got {self.split!r}")


def load_table(
    *, hub_id: str | None, path: str | None, split: str | None = "train", cache_dir: str | None = None, how_to: str = ""
):
    """The rows of a local file/folder (``path``) or a hub dataset (``hub_id``) as a ``datasets.Dataset``.

    ``split`` picks the split of a hub dataset or of a folder, whose file names give the splits
    (``train-0000.parquet``, ``test.jsonl``); None reads every file of a folder (a hub id needs one).

    ``how_to`` is appended to the unavailable-error message (for example the source's
    option to pass a local path).
    """
    datasets = require("datasets", "data")
    if path is not None:
        local = Path(path).expanduser()
        try:
            local.stat()
        except FileNotFoundError:
            pass  # reported by _load_local, which names what is missing
        except OSError as exc:  # a name the system refuses to look up: too long, a loop of links...
            raise DatasetUnavailableError(f"cannot look up {str(local)[:200]!r}: {exc.strerror}") from exc
        with _quiet_datasets(datasets):
            return _load_local(datasets, local, split, cache_dir)
    if hub_id is None:
        raise DatasetUnavailableError(f"no path and no hub id to load from. {how_to}".strip())
    _probe_hub(hub_id, how_to)
    try:
        return datasets.load_dataset(hub_id, split=split, cache_dir=cache_dir)
    except (ConnectionError, FileNotFoundError) as exc:  # DatasetNotFoundError is a FileNotFoundError
        raise DatasetUnavailableError(
            f"cannot load {hub_id!r} from the Hugging Face hub or its local cache ({exc}). {how_to}".strip()
        ) from exc


def _load_local(datasets: Any, path: Path, split: str | None, cache_dir: str | None):
    import pyarrow  # a dependency of datasets

    # datasets reads data_files and data_dir as glob patterns: a "[v2]" in a name would match
    # nothing (or other files), so they are passed escaped.
    literal = glob.escape(str(path))
    if path.is_dir():
        files = [file for file in path.rglob("*") if file.suffix.lower() in _BUILDERS]
        if not files:
            # datasets raised its EmptyDatasetError, which no caller knew as a dataset error.
            raise DatasetFormatError(f"{str(path)!r}: the folder holds no data files ({', '.join(_BUILDERS)})")
        if all(_is_blank(file) for file in files):
            raise DatasetFormatError(f"{str(path)!r}: every data file in the folder is empty")
        builder = None if literal == str(path) and split is not None else _folder_builder(path)
        try:
            if split is None:
                # Every file, whatever its name: datasets splits a folder by file names, so a
                # "gsm8k_test.jsonl" beside a "math_train.jsonl" was dropped without a word, and a
                # folder of "test.jsonl" alone failed for want of a "train" split.
                table = datasets.load_dataset(
                    builder, data_files=_visible_data_files(path, files), split="train", cache_dir=cache_dir
                )
            elif builder is None:
                table = datasets.load_dataset(str(path), split=split, cache_dir=cache_dir)
            else:
                table = datasets.load_dataset(builder, data_dir=literal, split=split, cache_dir=cache_dir)
            return _validated(pyarrow, table, repr(str(path)))
        except (datasets.exceptions.DatasetGenerationError, pyarrow.ArrowInvalid, DatasetFormatError) as exc:
            # datasets only logs which file failed; read alone, the bad file raises an error naming it
            for file in sorted(files):
                if not _is_blank(file):
                    _load_local(datasets, file, split, cache_dir)
            cause = exc.__cause__ or exc
            raise DatasetFormatError(f"{str(path)!r}: the folder's data files cannot be read: {cause}") from exc
        except ValueError as exc:
            if not str(exc).startswith("Unknown split"):
                raise
            # datasets' bare ValueError, which no caller knew as a dataset error
            raise DatasetFormatError(
                f"{str(path)!r}: the folder has no {split!r} split (its file names give the splits): {exc}"
            ) from exc
    if not path.is_file():
        raise DatasetUnavailableError(f"no such file or folder: {str(path)!r}")
    builder = _BUILDERS.get(path.suffix.lower())
    if builder is None:
        raise DatasetFormatError(f"{str(path)!r}: unsupported file type; use one of {', '.join(_BUILDERS)}")
    if _is_blank(path):
        # datasets fails on an empty file with a bare StopIteration (json) or ArrowInvalid (parquet).
        raise DatasetFormatError(f"{str(path)!r} is empty: it holds no rows")
    if builder == "json":
        too_deep = _too_deeply_nested(path)
        if too_deep is not None:
            kind = "JSON Lines" if path.suffix.lower() == ".jsonl" else "JSON"
            raise DatasetFormatError(f"{str(path)!r} cannot be read as {kind}: {too_deep}")
    try:
        table = datasets.load_dataset(builder, data_files=literal, split="train", cache_dir=cache_dir)
    except (datasets.exceptions.DatasetGenerationError, pyarrow.ArrowInvalid) as exc:  # ArrowInvalid: corrupt Parquet
        cause = exc.__cause__ or exc
        bad_line = _first_bad_json_line(path) if path.suffix.lower() == ".jsonl" else None
        if bad_line is not None:
            raise DatasetFormatError(f"{str(path)!r} cannot be read as JSON Lines: {bad_line}") from exc
        raise DatasetFormatError(f"{str(path)!r} cannot be read as {builder}: {cause}") from exc
    return _validated(pyarrow, table, repr(str(path)))


_quiet_lock = threading.Lock()
_quiet_depth = 0  # loads in progress (threads may load at once); the first saves, the last restores
_quiet_saved: tuple[bool, int] | None = None  # (bars were disabled, the datasets logger's own level)


@contextmanager
def _quiet_datasets(datasets: Any) -> Iterator[None]:
    """No ``datasets`` progress bars and no ``datasets`` log records while the block runs.

    Both are process-wide settings of ``datasets``; they are set back to what they were when
    the last concurrent block ends. A user's explicit choice in the environment wins:
    ``HF_DATASETS_DISABLE_PROGRESS_BARS=0`` keeps the bars, ``DATASETS_VERBOSITY`` the log level.
    """
    global _quiet_depth, _quiet_saved
    logger = logging.getLogger("datasets")
    with _quiet_lock:
        if _quiet_depth == 0:
            _quiet_saved = (datasets.are_progress_bars_disabled(), logger.level)
            if getattr(datasets.config, "HF_DATASETS_DISABLE_PROGRESS_BARS", None) is not False:
                datasets.disable_progress_bars()
            if not os.environ.get("DATASETS_VERBOSITY"):
                logger.setLevel(logging.CRITICAL + 1)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _quiet_saved is not None:
                bars_were_disabled, level = _quiet_saved
                _quiet_saved = None
                if not bars_were_disabled and datasets.are_progress_bars_disabled():
                    datasets.enable_progress_bars()
                logger.setLevel(level)


MAX_JSON_DEPTH = 32
"""The deepest nesting of lists and objects a JSON data file may hold. Problem rows need a few
levels; pyarrow refuses over 64, and before it does datasets recursed once per level: 1,000
levels were a bare RecursionError and 20,000 killed the process (a segmentation fault)."""


def _too_deeply_nested(path: Path) -> str | None:
    """Where a JSON or JSON Lines file nests deeper than :data:`MAX_JSON_DEPTH`, or None.

    A ``.json`` file is read whole when it parses as one document, else line by line; text
    that parses neither way is left for the loader to refuse with its own message."""
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(path.read_bytes())
        except RecursionError:
            return "the file is nested too deeply to hold problems"
        except ValueError:
            pass  # JSON Lines under a .json name, or not JSON at all
        else:
            return None if _depth_within(document, MAX_JSON_DEPTH) else f"the file nests deeper than {MAX_JSON_DEPTH} levels"
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            except RecursionError:
                return f"line {number} is nested too deeply to be a problem"
            if not _depth_within(record, MAX_JSON_DEPTH):
                return f"line {number} nests deeper than {MAX_JSON_DEPTH} levels: it cannot be a problem"
    return None


def _depth_within(value: Any, limit: int) -> bool:
    """Whether lists and dicts in ``value`` nest at most ``limit`` levels (iteratively: any depth
    json.loads returned is walked without recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        if depth > limit:
            return False
        pending.extend((child, depth + 1) for child in item)
    return True


def _first_bad_json_line(path: Path) -> str | None:
    """Which line of a JSON Lines file is not a JSON object, and why; None if every one is.
    pyarrow names the bad row counting from 0 ("in row 1" for the second line)."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError
                return f"line {number} is not valid JSON ({exc})"
            except RecursionError:  # escaped as itself, naming no file, from a line of 100,000 "["
                return f"line {number} is nested too deeply to be a problem"
            if not isinstance(record, dict):
                return f"line {number} is a JSON {type(record).__name__}, not an object"
    return None


def _validated(pyarrow: Any, table: Any, where: str) -> Any:
    """``table``, once every column is checked: the JSON reader keeps non-UTF-8 bytes in string
    columns unchecked, and reading such a row later fails with a bare UnicodeDecodeError."""
    for name, column in zip(table.column_names, table.data.table.columns, strict=True):
        try:
            column.validate(full=True)
        except pyarrow.ArrowInvalid as exc:
            raise DatasetFormatError(f"{where}: column {name!r} holds invalid data (is it UTF-8 text?): {exc}") from exc
    return table


def _is_blank(file: Path) -> bool:
    """Whether ``file`` holds nothing but whitespace (read only up to its first other byte)."""
    with file.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            if chunk.strip():
                return False
    return True


def _visible_data_files(folder: Path, files: list[Path]) -> list[str]:
    """Of ``files``, the data files found under ``folder``, the non-empty ones, sorted and escaped
    as glob patterns, leaving out hidden ones (``.ipynb_checkpoints/``, ``__pycache__/``) as
    datasets' own folder loading does."""
    return [
        glob.escape(str(file))
        for file in sorted(files)
        if not any(part.startswith((".", "__")) for part in file.relative_to(folder).parts) and not _is_blank(file)
    ]


def _folder_builder(folder: Path) -> str:
    """The one builder that reads every data file under ``folder`` (datasets' own folder
    loading, which would pick it, cannot be given an escaped path)."""
    builders = {_BUILDERS[file.suffix.lower()] for file in folder.rglob("*") if file.suffix.lower() in _BUILDERS}
    if len(builders) != 1:
        found = "no" if not builders else "mixed (" + ", ".join(sorted(builders)) + ")"
        raise DatasetFormatError(
            f"{str(folder)!r}: {found} data files; a folder needs files of one type among {', '.join(_BUILDERS)}"
        )
    return builders.pop()


def _probe_hub(hub_id: str, how_to: str) -> None:
    """Fail fast when the hub cannot be reached (skipped in offline mode: the cache decides)."""
    unreachable = why_unreachable(hub_id, repo_type="dataset")
    if unreachable is not None:
        raise DatasetUnavailableError(
            f"cannot reach {hub_id!r} on the Hugging Face hub ({unreachable}). {how_to} "
            "To use a copy already in the hub cache, set HF_HUB_OFFLINE=1."
        )


def load_source_table(config: HubSourceConfig, *, name: str, hub_id: str, columns: Sequence[str]):
    """The table a hub-backed source ``name`` draws from: ``config.path`` if given, else
    ``config.hub_id`` or ``hub_id`` from the hub; raises unless it has ``columns``."""
    table = load_table(
        hub_id=config.hub_id or hub_id,
        path=config.path,
        split=config.split,
        cache_dir=config.cache_dir,
        how_to=f"Pass a local copy (parquet, json or jsonl with columns {', '.join(columns)}) "
        f"with create_source({name!r}, path=...) or the spec '{name}:/path/to/file'.",
    )
    require_columns(table, columns, name)
    return table


def require_columns(table: Any, columns: Sequence[str], what: str) -> None:
    """Raise DatasetFormatError naming the missing columns and the ones present."""
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise DatasetFormatError(f"{what}: missing column(s) {missing}; it has {table.column_names}")


def bucket_rows(labels: Sequence[Any]) -> dict[str, list[int]]:
    """Row numbers grouped by label, labels in first-seen order."""
    buckets: dict[str, list[int]] = {}
    for row, label in enumerate(labels):
        buckets.setdefault(str(label), []).append(row)
    return buckets


class TableSource:
    """Rows bucketed by type; ``draw`` returns a random row's problem, skipping rows
    ``to_problem`` rejects (returns None for) by moving on to the next row of the bucket."""

    def __init__(
        self,
        name: str,
        rows: Sequence[Any],
        buckets: Mapping[str, Sequence[int]],
        to_problem: Callable[[int, Any], Problem | None],
    ) -> None:
        empty = [t for t, members in buckets.items() if not members]
        if not buckets or empty:
            raise DatasetFormatError(f"{name}: no rows to draw from{f' for type(s) {empty}' if empty else ''}")
        self.name = name
        self.problem_types = tuple(buckets)
        self._rows = rows
        self._buckets = {t: list(members) for t, members in buckets.items()}
        self._to_problem = to_problem

    def draw(self, problem_type: str, rng: random.Random) -> Problem:
        members = self._buckets.get(problem_type)
        if members is None:
            raise unknown_type_error(self.name, problem_type, self.problem_types)
        start = rng.randrange(len(members))
        for step in range(len(members)):
            row = members[(start + step) % len(members)]
            problem = self._to_problem(row, self._rows[row])
            if problem is not None:
                return problem
        raise DatasetFormatError(f"{self.name}: no row of type {problem_type!r} has a usable gold answer")
