"""State shared by the sections of one run: the config and the scripted workload."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from reasoning_economics import tokens
from reasoning_economics.bench.config import BenchConfig
from reasoning_economics.bench.workload import EpisodeScript, episode_scripts

WORKLOAD_EPISODES = 64
"""Distinct scripted episodes (seeds 0..63); sections cycle through them."""


@dataclass
class BenchContext:
    config: BenchConfig
    extra: dict = field(default_factory=dict)

    @cached_property
    def counter(self) -> tokens.TokenCounter:
        return tokens.get_counter(self.config.tokenizer)

    @cached_property
    def scripts(self) -> list[EpisodeScript]:
        return episode_scripts(list(range(WORKLOAD_EPISODES)), self.counter)

    def response_texts(self) -> list[str]:
        return [response for script in self.scripts for response in script.responses]
