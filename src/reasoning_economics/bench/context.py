"""State shared by the sections of one run: the config, the counter and the scripted workloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from reasoning_economics import tokens
from reasoning_economics.bench.config import BenchConfig
from reasoning_economics.bench.workload import EpisodeScript, episode_scripts

@dataclass(frozen=True)
class Workload:
    """Which problems the scripted episodes ask, and how their answers are written.

    ``script_source_config`` is what the *scripts* build their problems with. For the
    builtin source it names the default pool explicitly, which gives the scripts their own
    source instance (the registry caches one per spec and options): the environment under
    test then builds its problems itself, as it would for a client, instead of finding
    them already built by the benchmark.
    """

    name: str
    dataset: str
    env_dataset_config: dict[str, Any]
    script_source_config: dict[str, Any]
    symbolic_share: float
    description: str


BUILTIN = Workload(
    name="builtin",
    dataset="builtin",
    env_dataset_config={},
    script_source_config={"pool_seed": 0},
    symbolic_share=0.0,
    description="builtin reasoning-gym problems, graded by reasoning-gym's scorers (in-process)",
)
MATH_VERIFY = Workload(
    name="champ",
    dataset="champ",
    env_dataset_config={},
    script_source_config={},
    symbolic_share=0.3,
    description=(
        "CHAMP numeric problems, graded by math-verify; 30% of answers written as 'x = 9' or "
        "'9 \\text{ units}', which only a math-verify worker decides"
    ),
)


@dataclass
class BenchContext:
    config: BenchConfig
    _scripts: dict[str, list[EpisodeScript]] = field(default_factory=dict, repr=False)

    @cached_property
    def counter(self) -> tokens.TokenCounter:
        return tokens.get_counter(self.config.tokenizer)

    @property
    def scripts(self) -> list[EpisodeScript]:
        """The distinct episodes behind the token and WebSocket sections (seeds 0..workload_episodes-1)."""
        return self.scripts_for(self.config.workload_episodes)

    def scripts_for(self, episodes: int, workload: Workload = BUILTIN) -> list[EpisodeScript]:
        """Scripts of seeds 0..episodes-1 of ``workload``, each built once per run."""
        built = self._scripts.setdefault(workload.name, [])
        if len(built) < episodes:
            built.extend(
                episode_scripts(
                    list(range(len(built), episodes)),
                    self.counter,
                    dataset=workload.dataset,
                    dataset_config=workload.script_source_config,
                    symbolic_share=workload.symbolic_share,
                )
            )
        return built[:episodes]

    def response_texts(self) -> list[str]:
        return [response for script in self.scripts for response in script.responses]
