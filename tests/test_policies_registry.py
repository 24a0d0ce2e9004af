"""The policy registry: spec strings, option parsing and merging, and clear errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from reasoning_economics.errors import ConfigError, MissingExtraError, UnknownNameError
from reasoning_economics.policies import (
    GenerationRequest,
    create_policy,
    list_policies,
    parse_option_value,
    parse_options,
    register_policy,
)
from reasoning_economics.policies.oracle import OraclePolicy

BUILTIN = ["difficulty_oracle", "greedy_max", "hf", "openai", "oracle", "smollm2", "uniform", "vllm"]


def test_builtin_names_are_registered():
    assert set(BUILTIN) <= set(list_policies())
    assert list_policies() == sorted(list_policies())


def test_unknown_policy_lists_the_registered_names():
    with pytest.raises(UnknownNameError) as caught:
        create_policy("gpt5:fast")
    message = str(caught.value)
    assert "unknown policy 'gpt5'" in message
    assert all(name in message for name in BUILTIN)
    assert caught.value.code == "UNKNOWN_NAME"


def test_spec_options_are_parsed_without_evaluation():
    policy = create_policy("oracle:accuracy=0.25,tokens=7,seed=3,tokenizer=llama3")
    assert isinstance(policy, OraclePolicy)
    assert (policy.config.accuracy, policy.config.tokens, policy.config.seed, policy.config.tokenizer) == (0.25, 7, 3, "llama3")
    assert parse_options("a=1, b = x ,c=1e3,d=false") == {"a": 1, "b": "x", "c": 1000.0, "d": False}
    assert parse_option_value("__import__('os')") == "__import__('os')"


def test_keyword_options_merge_with_the_spec_but_never_twice():
    policy = create_policy("oracle:tokens=9", accuracy=0.5)
    assert (policy.config.tokens, policy.config.accuracy) == (9, 0.5)
    with pytest.raises(ConfigError, match="both in the spec"):
        create_policy("oracle:tokens=9", tokens=10)


@pytest.mark.parametrize(
    ("spec", "options", "match"),
    [
        ("", {}, "non-empty"),
        ("oracle:", {}, "nothing after ':'"),
        ("oracle:tokens", {}, "key=value"),
        ("oracle:tokens=1,tokens=2", {}, "given twice"),
        ("oracle:tokenz=5", {}, "unknown option.*tokenz.*accepted: accuracy"),
        ("oracle:accuracy=1.5", {}, "accuracy must be a number in \\[0, 1\\]"),
        ("oracle:tokens=-1", {}, "tokens must be >= 0"),
        ("oracle:tokens=2.5", {}, "tokens must be an integer"),
        ("uniform:solve_tokens=x", {}, "solve_tokens must be an integer"),
        ("hf", {}, "needs a model: write hf:<model>"),
        ("openai", {}, "needs a model"),
    ],
)
def test_malformed_specs_are_config_errors(spec, options, match):
    with pytest.raises(ConfigError, match=match):
        create_policy(spec, **options)


def test_an_unknown_tokenizer_is_refused_at_creation():
    from reasoning_economics.errors import UnknownTokenizerError

    # transformers took a missing directory for a malformed hub id: "Repo id must be in the form ..."
    with pytest.raises(UnknownTokenizerError, match="no tokenizer directory at '/no/such/tokenizer'"):
        create_policy("oracle:tokenizer=/no/such/tokenizer")


def test_a_model_directory_that_does_not_exist_is_named_as_such(tmp_path):
    pytest.importorskip("transformers")
    missing = tmp_path / "no" / "model"
    with pytest.raises(ConfigError, match="no directory is there"):
        create_policy(f"hf:{missing}")


def test_vllm_without_vllm_installed_names_the_extra():
    pytest.importorskip("torch")  # the check is about vllm only
    try:
        import vllm  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("vllm is installed here")
    with pytest.raises(MissingExtraError, match="vllm"):
        create_policy("vllm:Qwen/Qwen2.5-0.5B-Instruct")


def test_register_a_policy():
    @dataclass(frozen=True)
    class EchoConfig:
        model: str = ""

    class Echo:
        name = "echo_test"
        supports_prefix = False
        supports_logprobs = False

        def __init__(self, config):
            self.config = config

        def generate(self, requests):
            return []

        def close(self):
            pass

    register_policy("echo_test", Echo, EchoConfig)
    assert create_policy("echo_test:some/model:with:colons").config.model == "some/model:with:colons"
    with pytest.raises(ConfigError, match="already registered"):
        register_policy("echo_test", Echo, EchoConfig)
    with pytest.raises(ConfigError, match="must match"):
        register_policy("Bad-Name", Echo, EchoConfig)
    with pytest.raises(ConfigError, match="dataclass"):
        register_policy("not_dataclass", Echo, dict)


def test_generation_request_validates_itself():
    with pytest.raises(ConfigError, match="exactly one of messages or prompt"):
        GenerationRequest(max_tokens=5)
    with pytest.raises(ConfigError, match="max_tokens"):
        GenerationRequest(max_tokens=-1, prompt="x")
