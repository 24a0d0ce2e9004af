"""Packaged pools of the ``builtin`` source's slow generators.

``polynomial_equations`` runs sympy's ``solve`` for every item (3-16 ms, over 300 ms for
some): a fresh process paid it on the first draws of each item, so a reset with such a
question took several milliseconds until ``BuiltinSource.warm_up`` had built the pools (about
8 s). Types whose pools the cache holds whole (``pool_size <= CACHE_SIZE``) therefore ship
their items for the default ``pool_seed`` in ``packaged/<type>.json.gz``: the generator's
own entries, item by item, as :func:`json_safe` writes them. The source builds its problems from them exactly as from a live generator's items.

A file serves a pool only when its recorded generator settings, dataset seed and size equal
the pool's, so another ``pool_seed`` or an edited catalog is generated live as before. The
files record the reasoning-gym and sympy versions that built them;
``tests/test_problems_builtin_packaged.py`` compares them with the installed generator.

Rebuild after changing the catalog or upgrading reasoning-gym::

    python -m reasoning_economics.problems.builtin_packaged          # writes the files
    python -m reasoning_economics.problems.builtin_packaged --check  # compares, writes nothing
"""

from __future__ import annotations

import functools
import gzip
import json
import zlib
from collections.abc import Callable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

from reasoning_economics.errors import ConfigError
from reasoning_economics.problems.builtin_catalog import BUILTIN_TYPES, BuiltinType

PACKAGED_DIR = Path(__file__).with_name("packaged")
FORMAT = 1


def json_safe(value: Any) -> Any:
    """``value`` as JSON gives it back: everything JSON cannot encode written as ``str``
    (gsm_symbolic keeps ``Fraction`` objects in its metadata) and tuples as lists, so a
    problem is the same after logs and the wire, and built from a packaged entry or a live
    one. No scorer of the catalog reads those values; tests check each still accepts the
    gold answer."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def dataset_seed(pool_seed: int, type_name: str, level: int) -> int:
    """The reasoning-gym seed of one (type, level) pool; crc32, not hash(): the same in every process."""
    return zlib.crc32(f"{pool_seed}/{type_name}/{level}".encode())


def packaged_path(type_name: str, directory: Path = PACKAGED_DIR) -> Path:
    return directory / f"{type_name}.json.gz"


@functools.cache
def _load(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        with gzip.open(path, "rt", encoding="utf-8") as file:
            packaged = json.load(file)
        if not isinstance(packaged, dict) or not isinstance(packaged.get("pools"), list):
            raise ValueError("it holds no list of pools")
    except (OSError, EOFError, ValueError) as exc:
        raise ConfigError(
            f"builtin: the packaged pool file {path} is unreadable ({exc}); reinstall reasoning-economics "
            "or rebuild it: python -m reasoning_economics.problems.builtin_packaged"
        ) from exc
    return packaged


def packaged_entries(
    type_name: str,
    settings: Mapping[str, Any],
    dataset_seed: int,
    size: int,
    directory: Path = PACKAGED_DIR,
) -> list[dict[str, Any]] | None:
    """The packaged entries of one pool, item ``i`` at index ``i``; None when no file
    holds a pool generated with exactly these settings, seed and size."""
    packaged = _load(packaged_path(type_name, directory))
    if packaged is None or packaged.get("format") != FORMAT:
        return None
    wanted = json_safe(dict(settings))
    for pool in packaged["pools"]:
        if pool["settings"] == wanted and pool["dataset_seed"] == dataset_seed and pool["size"] == size:
            return pool["entries"]
    return None


def generate_entries(
    type_name: str, settings: Mapping[str, Any], dataset_seed: int, size: int
) -> Callable[[int], dict[str, Any]]:
    """Item ``i`` of the live generator, as a packaged file holds it."""
    from reasoning_gym import create_dataset  # heavy (about 1.5 s): only when a pool is generated

    dataset = create_dataset(type_name, **settings, seed=dataset_seed, size=size)
    return lambda index: json_safe(dataset[index])


def packaged_specs() -> list[BuiltinType]:
    """The catalog's types whose pools are packaged: those the cache holds whole."""
    from reasoning_economics.problems.builtin import CACHE_SIZE  # builtin imports this module

    return [spec for spec in BUILTIN_TYPES if spec.pool_size <= CACHE_SIZE]


def build_file(spec: BuiltinType, pool_seed: int = 0, advance: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """A packaged file's content: every item of every level of ``spec``, generated live."""
    pools = []
    for level, settings in enumerate(spec.levels):
        seed = dataset_seed(pool_seed, spec.name, level)
        item = generate_entries(spec.name, settings, seed, spec.pool_size)
        entries = []
        for index in range(spec.pool_size):
            entries.append(item(index))
            advance()
        pools.append(
            {"settings": json_safe(dict(settings)), "dataset_seed": seed, "size": spec.pool_size, "entries": entries}
        )
    return {
        "format": FORMAT,
        "type": spec.name,
        "built_by": {"reasoning_gym": version("reasoning-gym"), "sympy": version("sympy")},
        "pools": pools,
    }


def encode(content: dict[str, Any]) -> bytes:
    """The file's bytes; the same content always gives the same bytes (no gzip time stamp)."""
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def differences(
    spec: BuiltinType, first: int, directory: Path = PACKAGED_DIR, advance: Callable[[], None] = lambda: None
) -> list[str]:
    """Where the packaged pools of ``spec`` differ from the live generator, checking the
    first ``first`` items of each level (empty: they agree)."""
    found = []
    for level, settings in enumerate(spec.levels):
        seed = dataset_seed(0, spec.name, level)
        entries = packaged_entries(spec.name, settings, seed, spec.pool_size, directory)
        if entries is None:
            found.append(f"{spec.name} level {level}: no packaged pool for these settings in {directory}")
            continue
        item = generate_entries(spec.name, settings, seed, spec.pool_size)
        for index in range(min(first, spec.pool_size)):
            generated = item(index)
            if generated != entries[index]:
                found.append(
                    f"{spec.name} level {level} item {index}: packaged answer {entries[index]['answer']!r}, "
                    f"generated {generated['answer']!r}"
                )
            advance()
    return found


def main(argv: list[str] | None = None) -> int:
    import argparse

    from rich.progress import Progress

    parser = argparse.ArgumentParser(
        prog="python -m reasoning_economics.problems.builtin_packaged",
        description=(
            "Build the builtin source's packaged pools (the types whose pools its cache holds whole) "
            "from the installed reasoning-gym, or check them against it."
        ),
    )
    parser.add_argument(
        "--check", action="store_true", help="compare the packaged pools with the generator; write nothing"
    )
    parser.add_argument(
        "--first", type=int, default=None, metavar="N", help="with --check: only the first N items of each level"
    )
    parser.add_argument(
        "--directory", type=Path, default=PACKAGED_DIR, help="where the files are (default: %(default)s)"
    )
    options = parser.parse_args(argv)
    if options.first is not None and (not options.check or options.first < 1):
        parser.error("--first takes a count >= 1 and goes with --check")
    specs = packaged_specs()
    first = options.first or max(spec.pool_size for spec in specs)
    total = sum(min(first, spec.pool_size) * len(spec.levels) for spec in specs)
    found: list[str] = []
    with Progress(transient=True) as progress:
        task = progress.add_task("checking" if options.check else "generating", total=total)
        for spec in specs:
            advance = functools.partial(progress.advance, task)
            if options.check:
                found += differences(spec, first, options.directory, advance)
                continue
            path = packaged_path(spec.name, options.directory)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encode(build_file(spec, advance=advance)))
            print(f"wrote {path}")
    for line in found:
        print(line)
    if options.check:
        print(f"{len(found)} difference(s) in {total} items of {', '.join(spec.name for spec in specs)}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
