"""Problem sources and the episode sampler.

>>> from reasoning_economics.problems import create_source, sample_episode
>>> source = create_source("builtin")                      # doctest: +SKIP
>>> problems = sample_episode(source, num_questions=10, seed=123)  # doctest: +SKIP

Sources (``list_sources()``): ``builtin`` (offline, reasoning-gym), ``metamathqa`` and
``numina_tir`` (Hugging Face hub or a local copy), ``file`` (your JSONL or Parquet),
``champ`` (competition problems with numeric answers), and mixtures of them by spec
string (see :mod:`reasoning_economics.problems.registry`). The interface a source
implements is in :mod:`reasoning_economics.problems.base`.

Importing this package is light: reasoning-gym, datasets and champ-dataset load only
when a source that needs them is built.
"""

from reasoning_economics.problems.base import BOXED_INSTRUCTION, ProblemSource, ask_for_boxed
from reasoning_economics.problems.mixture import UnionSource, WeightedMixture
from reasoning_economics.problems.record import Problem
from reasoning_economics.problems.registry import clear_source_cache, create_source, list_sources, register_source
from reasoning_economics.problems.sampler import apportion, sample_episode

__all__ = [
    "BOXED_INSTRUCTION",
    "Problem",
    "ProblemSource",
    "UnionSource",
    "WeightedMixture",
    "apportion",
    "ask_for_boxed",
    "clear_source_cache",
    "create_source",
    "list_sources",
    "register_source",
    "sample_episode",
]
