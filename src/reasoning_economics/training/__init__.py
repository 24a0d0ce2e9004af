"""TRL GRPO integration: reward adapters, multi-question episodes and training recipes."""
