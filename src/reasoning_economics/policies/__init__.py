"""Policies: the models and baselines the evaluator runs, behind one batched interface.

>>> from reasoning_economics.policies import GenerationRequest, create_policy
>>> policy = create_policy("oracle:accuracy=0.8,tokens=120")          # doctest: +SKIP
>>> policy.generate([GenerationRequest(max_tokens=256, messages=..., context={"problem": p})])  # doctest: +SKIP

The protocol is in :mod:`reasoning_economics.policies.base`; the spec strings in
:mod:`reasoning_economics.policies.registry`. Importing this package is light: torch,
transformers, httpx and vLLM load only when a policy that needs them is created.
"""

from reasoning_economics.policies.base import FinishReason, GenerationRequest, GenerationResult, Policy
from reasoning_economics.policies.registry import (
    create_policy,
    list_policies,
    parse_option_value,
    parse_options,
    register_policy,
)

__all__ = [
    "FinishReason",
    "GenerationRequest",
    "GenerationResult",
    "Policy",
    "create_policy",
    "list_policies",
    "parse_option_value",
    "parse_options",
    "register_policy",
]
