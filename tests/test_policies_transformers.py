"""The transformers policies: ``hf:<dir>`` on a tiny random model built offline, and the real
embedded ``smollm2`` (loaded once for the module, a few short greedy generations)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from reasoning_economics.errors import ConfigError  # noqa: E402
from reasoning_economics.policies import GenerationRequest, Policy, create_policy  # noqa: E402
from reasoning_economics.policies.chat import prompt_text  # noqa: E402
from reasoning_economics.tokens import get_counter  # noqa: E402

QUESTION = [{"role": "user", "content": "What is 12 + 7? Put your final answer in \\boxed{}."}]


@pytest.fixture(scope="module")
def tiny(tiny_model):
    return create_policy(f"hf:{tiny_model}", batch_size=4, threads=1)


def check_limits(result, max_tokens):
    """A result stops early only on EOS; a cut uses the whole limit."""
    assert 0 <= result.completion_tokens <= max_tokens
    if result.finish_reason == "length":
        assert result.completion_tokens == max_tokens
    else:
        assert result.finish_reason == "stop" and result.completion_tokens < max_tokens


def test_hf_policy_generates_within_limits_and_names_its_tokenizer(tiny, tiny_model):
    assert isinstance(tiny, Policy) and tiny.supports_prefix and tiny.supports_logprobs
    assert tiny.name == f"hf:{tiny_model}" and tiny.tokenizer_name == str(tiny_model)
    get_counter(tiny.tokenizer_name)  # the environment can count with the same name
    limits = [1, 5, 12, 30]
    results = tiny.generate([GenerationRequest(max_tokens=n, messages=QUESTION, logprobs=True) for n in limits])
    for result, limit in zip(results, limits):
        check_limits(result, limit)
        assert len(result.logprobs) == result.completion_tokens
        assert all(value <= 0 for value in result.logprobs)
    # Greedy decoding: a longer limit extends a shorter one's output.
    longest = results[-1].completion_tokens
    assert all(r.completion_tokens == min(n, longest) for r, n in zip(results, limits))
    [empty] = tiny.generate([GenerationRequest(max_tokens=0, messages=QUESTION)])
    assert (empty.text, empty.completion_tokens, empty.finish_reason) == ("", 0, "length")


def test_first_logprob_is_the_greedy_maximum_of_a_plain_forward_pass(tiny):
    [result] = tiny.generate([GenerationRequest(max_tokens=3, messages=QUESTION, logprobs=True)])
    ids = tiny.tokenizer(prompt_text(tiny.tokenizer, GenerationRequest(max_tokens=3, messages=QUESTION)),
                         add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = tiny.model(input_ids=ids).logits[0, -1]
    assert result.logprobs[0] == pytest.approx(float(torch.log_softmax(logits, -1).max()), abs=1e-4)


def test_batched_equals_unbatched_greedy(tiny):
    requests = [
        GenerationRequest(max_tokens=8, messages=QUESTION),
        GenerationRequest(max_tokens=6, messages=[{"role": "user", "content": "Simplify 18/24."}]),
        GenerationRequest(max_tokens=10, prompt="Solve for x: 2*x + 3 = 11."),
    ]
    assert tiny.generate(requests) == [tiny.generate([r])[0] for r in requests]  # no logprobs asked


def test_prefix_continues_the_opened_assistant_turn(tiny):
    prefix = "The answer is"
    with_prefix = GenerationRequest(max_tokens=6, messages=QUESTION, prefix=prefix)
    templated = tiny.tokenizer.apply_chat_template(list(QUESTION), tokenize=False, add_generation_prompt=True)
    assert templated.endswith("<|im_start|>assistant\n")
    raw = GenerationRequest(max_tokens=6, prompt=templated + prefix)
    assert tiny.generate([with_prefix]) == tiny.generate([raw])


def test_enable_thinking_reaches_the_chat_template(tiny):
    saved = tiny.tokenizer.chat_template
    # Qwen3's switch, reduced to its effect: an empty think block when thinking is off.
    tiny.tokenizer.chat_template = saved + "{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n{% endif %}"
    try:
        request = GenerationRequest(max_tokens=1, messages=QUESTION)
        assert prompt_text(tiny.tokenizer, request).endswith("<|im_start|>assistant\n")
        assert prompt_text(tiny.tokenizer, request, enable_thinking=True).endswith("<|im_start|>assistant\n")
        assert prompt_text(tiny.tokenizer, request, enable_thinking=False).endswith("assistant\n<think>\n\n</think>\n\n")
    finally:
        tiny.tokenizer.chat_template = saved
    with pytest.raises(ConfigError, match="enable_thinking"):
        create_policy("hf:x", enable_thinking="yes")


def test_sampling_reproduces_for_a_seed(tiny_model):
    sampler = create_policy(f"hf:{tiny_model}", temperature=1.0, seed=3, threads=1)
    request = GenerationRequest(max_tokens=25, messages=QUESTION, seed=1)
    threads_before = torch.get_num_threads()
    first = sampler.generate([request])
    assert torch.get_num_threads() == threads_before  # restored after generating
    assert sampler.generate([request]) == first
    others = [sampler.generate([GenerationRequest(max_tokens=25, messages=QUESTION, seed=s)])[0].text for s in (2, 3, 4)]
    assert any(text != first[0].text for text in others)
    # The caller's global RNG is untouched by seeded generation.
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    sampler.generate([request])
    assert torch.equal(torch.rand(1), expected)


def test_missing_chat_template_and_bad_model_are_config_errors(tiny, tmp_path):
    saved = tiny.tokenizer.chat_template
    tiny.tokenizer.chat_template = None
    try:
        with pytest.raises(ConfigError, match="no chat template"):
            tiny.generate([GenerationRequest(max_tokens=2, messages=QUESTION)])
    finally:
        tiny.tokenizer.chat_template = saved
    with pytest.raises(ConfigError, match="cannot load model"):
        create_policy(f"hf:{tmp_path / 'nothing-here'}")
    with pytest.raises(ConfigError, match="dtype"):
        create_policy(f"hf:{tmp_path}", dtype="int3")


# --------------------------------------------------------------------------- the embedded model


@pytest.mark.parametrize(
    "device, message",
    [
        ("gpu", r"device 'gpu' is not a torch device \(Expected one of cpu, cuda"),
        ("cuda:abc", r"device 'cuda:abc' is not a torch device \(Invalid device string"),
        pytest.param("mps", "device 'mps': this build of torch cannot use mps devices here",
                     marks=pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")),
    ],
)
def test_a_device_torch_cannot_use_is_a_config_error(tiny_model, device, message):
    # Each was torch's RuntimeError traceback once the model had loaded.
    with pytest.raises(ConfigError, match=message):
        create_policy(f"hf:{tiny_model}", device=device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_on_a_machine_without_a_gpu_is_a_config_error(tiny_model):
    # torch's AssertionError "Torch not compiled with CUDA enabled", as a traceback.
    with pytest.raises(ConfigError, match="device 'cuda': this machine has no CUDA GPU that torch can use; use device=cpu"):
        create_policy(f"hf:{tiny_model}", device="cuda")


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    pytest.importorskip("gguf")
    cache = tmp_path_factory.mktemp("ree-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REE_CACHE_DIR", str(cache))  # the saved tokenizer goes here, not to ~/.cache
        policy = create_policy("smollm2")
        assert policy.tokenizer_name == str(cache / "smollm2-tokenizer")
        yield policy


@pytest.mark.slow
def test_smollm2_answers_counts_its_tokens_and_batches_like_single_requests(smollm2):
    assert smollm2.name == "smollm2" and isinstance(smollm2, Policy)
    vocabulary = smollm2.tokenizer.get_vocab()
    assert smollm2.eos_ids == {vocabulary["<|im_end|>"], vocabulary["<|endoftext|>"]}
    counter = get_counter(smollm2.tokenizer_name)  # the GGUF tokenizer saved as a directory
    requests = [
        GenerationRequest(max_tokens=24, messages=[{"role": "user", "content": "What is 2+3? Answer briefly."}]),
        GenerationRequest(max_tokens=6, messages=[{"role": "user", "content": "Name three colors."}], logprobs=True),
        GenerationRequest(max_tokens=12, messages=[{"role": "user", "content": "What is 2+3?"}], prefix="The answer is"),
    ]
    batched = smollm2.generate(requests)
    answer, cut, continued = batched
    assert answer.finish_reason == "stop" and "5" in answer.text
    assert cut.finish_reason == "length" and cut.completion_tokens == 6 and len(cut.logprobs) == 6
    assert not continued.text.startswith("The answer is") and "5" in continued.text
    for result, request in zip(batched, requests):
        check_limits(result, request.max_tokens)
        assert counter.count(result.text) == result.completion_tokens
    # Padding changes float rounding a little, never the greedy tokens.
    single = [smollm2.generate([r])[0] for r in requests]
    assert [(r.text, r.completion_tokens, r.finish_reason) for r in single] == [
        (r.text, r.completion_tokens, r.finish_reason) for r in batched
    ]
    assert single[1].logprobs == pytest.approx(cut.logprobs, abs=1e-4)
