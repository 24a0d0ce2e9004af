"""The environment's size limits, in a module light enough for the CLI to import: the
environment package loads openenv, and ``ree eval`` checks these before anything loads."""

MAX_QUESTIONS = 1000
"""Most questions an episode may hold (``EnvConfig.num_questions``)."""
MAX_TOKENS_PER_STEP = 1_000_000
"""Highest per-step generation limit (``EnvConfig.max_tokens_per_step``)."""
