"""State shared by the sections of one run: the config, the counter and the scripted workload."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from reasoning_economics import tokens
from reasoning_economics.bench.config import BenchConfig
from reasoning_economics.bench.workload import EpisodeScript, episode_scripts

WORKLOAD_EPISODES = 64
"""Distinct scripted episodes behind the token and WebSocket sections (seeds 0..63)."""


@dataclass
class BenchContext:
    config: BenchConfig
    _scripts: list[EpisodeScript] = field(default_factory=list, repr=False)

    @cached_property
    def counter(self) -> tokens.TokenCounter:
        return tokens.get_counter(self.config.tokenizer)

    @property
    def scripts(self) -> list[EpisodeScript]:
        return self.scripts_for(WORKLOAD_EPISODES)

    def scripts_for(self, episodes: int) -> list[EpisodeScript]:
        """Scripts of seeds 0..episodes-1, each built once per run."""
        if len(self._scripts) < episodes:
            seeds = list(range(len(self._scripts), episodes))
            self._scripts.extend(episode_scripts(seeds, self.counter, workload_seed=len(self._scripts)))
        return self._scripts[:episodes]

    def response_texts(self) -> list[str]:
        return [response for script in self.scripts for response in script.responses]
