"""TRL reward adapters: hand-worked values on plain calls, then a real GRPOTrainer step."""

from __future__ import annotations

import pickle

import pytest

from reasoning_economics.errors import ConfigError, RewardInputError
from reasoning_economics.grading import grade
from reasoning_economics.rewards import (
    count_reflections,
    efficiency_reward as pure_efficiency_reward,
    kimi_length_reward as pure_kimi_length_reward,
    lcpo_exact_reward as pure_lcpo_exact_reward,
    reflection_reward as pure_reflection_reward,
    thinking_part,
)
from reasoning_economics.tokens import get_counter
from reasoning_economics.training.trl_rewards import (
    METHODS,
    answer_part,
    completion_text,
    correctness_reward,
    group_indices,
    kimi_length_reward,
    lcpo_exact_reward,
    make_reward_func,
    reflection_reward,
)

QWEN = get_counter("qwen3")
approx = pytest.approx


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# Two interleaved groups. p1 (gold 4): right at 100 tokens, right at 300, wrong at 20.
# p2 (gold 9): right at 50, wrong at 10.
PROMPTS = ["p1", "p2", "p1", "p2", "p1"]
TEXTS = ["\\boxed{4}", "\\boxed{9}", "So \\boxed{4}.", "\\boxed{1}", "\\boxed{7}"]
GOLDS = ["4", "9", "4", "9", "4"]
EOS = 2
IDS = [[1] * 99 + [EOS], [1] * 49 + [EOS], [1] * 299 + [EOS], [1] * 9 + [EOS], [1] * 19 + [EOS]]


def test_completion_text_handles_strings_and_messages():
    assert completion_text("plain") == "plain"
    assert completion_text([{"role": "assistant", "content": "from a chat"}]) == "from a chat"
    parts = [{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
    assert completion_text(parts) == "ab"
    with pytest.raises(RewardInputError):
        completion_text(42)
    with pytest.raises(RewardInputError):  # was read as an empty conversation: rewarded 0
        completion_text(b"\\boxed{4}")


def test_a_column_given_as_one_text_is_refused():
    # Its characters were the values when their number matched the completions': "45" for two.
    with pytest.raises(RewardInputError, match="column 'answer' must hold one value per completion, got a str"):
        correctness_reward(["p", "q"], ["\\boxed{4}", "\\boxed{5}"], answer="45")


def test_group_indices_by_prompt_and_gold():
    assert group_indices(PROMPTS) == [[0, 2, 4], [1, 3]]
    chat = [[{"role": "user", "content": "q1"}], [{"role": "user", "content": "q2"}], [{"role": "user", "content": "q1"}]]
    assert group_indices(chat) == [[0, 2], [1]]
    assert group_indices(["same", "same"], ["1", "2"]) == [[0], [1]]  # same text, different question


def test_correctness_reward():
    assert correctness_reward(PROMPTS, TEXTS, answer=GOLDS) == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_only_the_answer_part_is_graded():
    # the boxed 4 inside the thinking is not the answer; the answer after </think> is 5
    assert answer_part("<think>\\boxed{4}</think> so \\boxed{5}") == " so \\boxed{5}"
    assert correctness_reward(["p"], ["<think>\\boxed{4}</think> so \\boxed{5}"], answer=["4"]) == [0.0]
    assert correctness_reward(["p"], ["<think>maybe 5</think> so \\boxed{4}"], answer=["4"]) == [1.0]


def test_efficiency_reward_groups_by_prompt_and_uses_completion_ids():
    # p1: correct lengths 100, 300 -> mean 200, std 100, z = -1, +1 -> 1 - .1*0.2689414, 1 - .1*0.7310586
    # p2: lone correct -> 1 - .1/2 = .95; wrong samples -> 0
    reward = make_reward_func("efficiency")
    assert reward(PROMPTS, TEXTS, completion_ids=IDS, answer=GOLDS) == approx(
        [0.9731059, 0.95, 0.9268941, 0.0, 0.0], abs=1e-6
    )
    # alpha 0.2: 1 - .2*0.2689414 = .9462117, 1 - .2*.7310586 = .8537883, lone .9
    assert make_reward_func("efficiency", alpha=0.2)(PROMPTS, TEXTS, completion_ids=IDS, answer=GOLDS) == approx(
        [0.9462117, 0.9, 0.8537883, 0.0, 0.0], abs=1e-6
    )


def test_efficiency_reward_reads_truncation_from_eos():
    # the 300-token answer did not end with EOS: it gets 0 and p1's lone valid correct gets .95
    ids = [*IDS[:2], [1] * 300, *IDS[3:]]
    reward = make_reward_func("efficiency", eos_token_ids=[EOS])
    assert reward(PROMPTS, TEXTS, completion_ids=ids, answer=GOLDS) == approx([0.95, 0.95, 0.0, 0.0, 0.0])


def test_lengths_are_counted_with_the_tokenizer_without_completion_ids():
    short, long = "\\boxed{4}", "Let me think about it carefully first. \\boxed{4}"
    assert QWEN.count(short) < QWEN.count(long)
    # Kimi over the group: shortest gets 0.5, longest -0.5 (both correct)
    completions = [[{"role": "assistant", "content": short}], [{"role": "assistant", "content": long}]]
    assert kimi_length_reward(["q", "q"], completions, answer=["4", "4"]) == approx([0.5, -0.5])


def test_lcpo_exact_reads_the_target_column():
    # target 1500: right at 1000 tokens -> 1 - .0003*500 = .85; wrong at 500 -> -.0003*1000 = -.3
    ids = [[1] * 1000, [1] * 500]
    rewards = lcpo_exact_reward(["q", "q"], ["\\boxed{4}", "\\boxed{5}"], completion_ids=ids, answer=["4", "4"], n_target=[1500, 1500])
    assert rewards == approx([0.85, -0.3])
    other = make_reward_func("lcpo_exact", target_column="budget")
    assert other(["q"], ["\\boxed{4}"], completion_ids=[[1] * 1000], answer=["4"], budget=[1000]) == approx([1.0])


def test_reflection_reward_counts_thinking_tokens_with_the_tokenizer():
    thinking = "Wait, " + "x " * 600
    text = f"<think>{thinking}</think>\\boxed{{4}}"
    # 1 reflection over L_think tokens: 225.09 / L_think
    assert reflection_reward(["q"], [text]) == approx([225.09 / QWEN.count(thinking)])
    # needs no gold answer; a dense reflection caps at 1
    assert reflection_reward(["q"], ["wait\nwait\nwait"]) == [1.0]
    tau = make_reward_func("reflection", tau=10.0)
    assert tau(["q"], [text]) == approx([10.0 / QWEN.count(thinking)])


def test_thinking_parsed_out_of_a_conversational_completion_is_counted():
    # TRL parses completions with the tokenizer's response template when it has one (always with
    # tools): Qwen3's moves the thinking to "reasoning_content", LFM2.5's to "thinking". Reading
    # only "content" counted the reflections of the answer (none here) instead of the thinking.
    thinking = "Wait, is it 5?\nBut " + "x " * 1000
    # qwen3 tokens: Wait , ' is' ' it' ' ' 5 '?\n' But = 8, then ' x' x 1000 and a trailing ' ': 1009.
    # Two reflections (the newline breaks the chain): 225.09 * 2 / 1009 = 450.18 / 1009 = 0.4461645
    assert QWEN.count(thinking) == 1009
    for field in ("reasoning_content", "thinking"):
        completion = [{"role": "assistant", field: thinking, "content": "\\boxed{4}"}]
        assert completion_text(completion) == f"<think>{thinking}</think>\\boxed{{4}}"
        assert reflection_reward(["q"], [completion]) == approx([0.4461645], abs=1e-6), field
    # the thinking goes back before the configured end marker, so grading still reads only the answer
    completion = [{"role": "assistant", "reasoning_content": "\\boxed{4}", "content": "\\boxed{5}"}]
    marked = make_reward_func("correctness", end_marker="<|end_think|>")
    assert marked(["q"], [completion], answer=["4"]) == [0.0]
    assert correctness_reward(["q"], [completion], answer=["5"]) == [1.0]


def test_tool_results_in_a_multi_turn_completion_are_not_the_policys_text():
    # TRL appends tool results as "tool" messages; the tool's boxed 4 is not the policy's answer,
    # and an assistant turn that only calls a tool may carry content None.
    completion = [
        {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {"name": "calc"}}]},
        {"role": "tool", "name": "calc", "content": "\\boxed{4}"},
        {"role": "assistant", "content": "Done."},
    ]
    assert completion_text(completion) == "Done."
    assert correctness_reward(["q"], [completion], answer=["4"]) == [0.0]


def test_reflection_reward_reads_thinking_up_to_the_configured_end_marker():
    # thinking "Wait, " + "x " * 600 is 603 qwen3 tokens (Wait , then 600 ' x' and a trailing ' ')
    # with 1 reflection: 225.09 / 603 = 0.3732836. The answer's two "but"s are not thinking; with
    # the default "</think>" split the whole text was thinking: 3 reflections over more tokens.
    thinking = "Wait, " + "x " * 600
    text = thinking + "<|end_think|>But\nbut \\boxed{4}"
    assert QWEN.count(thinking) == 603
    reward = make_reward_func("reflection", end_marker="<|end_think|>")
    assert reward(["q"], [text]) == approx([0.3732836], abs=1e-6)
    assert count_reflections(text, end="<|end_think|>") == 1


def test_adapters_are_named_and_picklable():
    reward = make_reward_func("efficiency", alpha=0.2, eos_token_ids=[EOS])
    assert reward.__name__ == "efficiency_reward"
    assert pickle.loads(pickle.dumps(reward)) == reward
    assert set(METHODS) == {
        "correctness", "efficiency", "lcpo_exact", "lcpo_max", "kimi_length", "shorter_better", "rea_length", "reflection",
    }  # fmt: skip


@pytest.mark.parametrize(
    "build",
    [
        lambda: make_reward_func("cosine"),
        lambda: make_reward_func("kimi_length", alpha=0.1),  # Kimi has no alpha
        lambda: make_reward_func("efficiency", answer_column=""),
    ],
)
def test_bad_configuration_raises_config_error(build):
    with pytest.raises(ConfigError):
        build()


def test_bad_calls_raise_reward_input_error():
    with pytest.raises(RewardInputError, match="answer"):
        correctness_reward(["q"], ["\\boxed{4}"], solution=["4"])
    with pytest.raises(RewardInputError):
        correctness_reward(["q", "q"], ["\\boxed{4}"], answer=["4", "4"])
    with pytest.raises(RewardInputError):
        lcpo_exact_reward(["q"], ["\\boxed{4}"], answer=["4"])  # no n_target column
    with pytest.raises(RewardInputError):
        make_reward_func("efficiency")(["q"], ["x"], completion_ids=[[1], [2]], answer=["4"])


# --- a real GRPOTrainer step -------------------------------------------------------------


def tiny_tokenizer():
    """A byte-level tokenizer built in memory: 256 byte tokens, chat markers, and whole-token
    "<think>", "</think>", "wait" and two boxed answers so the tiny model can emit them."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from reasoning_economics.training.tiny import CHATML_TEMPLATE

    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    for token in specials:
        vocab[token] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(specials)
    backend.add_tokens(["<think>", "</think>", "wait", "\\boxed{5}", "\\boxed{3}"])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def test_rewards_run_inside_a_grpo_trainer_step(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import torch
    from datasets import Dataset
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    tokenizer = tiny_tokenizer()
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(
        Qwen2Config(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=256,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=None,
        )
    )
    # Restrict sampling to a few whole tokens so completions are short answers (the last box after
    # any </think> is the answer), some right, some wrong, some with thinking and reflections.
    answers = ["\\boxed{5}", "\\boxed{3}"]
    allowed = {tokenizer.convert_tokens_to_ids(t) for t in [*answers, "wait", "<think>", "</think>", "<|im_end|>"]}
    suppress = [i for i in range(len(tokenizer)) if i not in allowed]
    dataset = Dataset.from_list(
        [
            {"prompt": [{"role": "user", "content": "What is 2+3?"}], "answer": "5", "n_target": 4},
            {"prompt": [{"role": "user", "content": "What is 7-4?"}], "answer": "3", "n_target": 2},
        ]
    )
    seen: dict = {}

    def record_inputs(prompts, completions, completion_ids=None, **kwargs):
        seen.update(prompts=prompts, completions=completions, completion_ids=completion_ids, **kwargs)
        return [0.0] * len(prompts)

    efficiency = make_reward_func("efficiency", eos_token_ids=[tokenizer.eos_token_id])
    reward_funcs = [record_inputs, correctness_reward, efficiency, kimi_length_reward, lcpo_exact_reward, reflection_reward]
    args = GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=6,
        generation_kwargs={"suppress_tokens": suppress},
        max_steps=1,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model, reward_funcs=reward_funcs, args=args, train_dataset=dataset, processing_class=tokenizer
    )
    trainer.train()
    logged = trainer.state.log_history[0]

    # TRL passed conversational completions, token ids and the dataset columns
    texts = [completion_text(c) for c in seen["completions"]]
    assert all(isinstance(c, list) and c[0]["role"] == "assistant" for c in seen["completions"])
    lengths = [len(ids) for ids in seen["completion_ids"]]
    groups = group_indices(seen["prompts"])
    assert sorted(len(g) for g in groups) == [4, 4]

    # recompute every reward with the pure functions, group by group, and compare to what TRL logged
    correct = [grade(answer_part(t), gold).correct for t, gold in zip(texts, seen["answer"])]
    assert any(correct) and not all(correct), texts  # the step saw both right and wrong answers
    truncated = [ids[-1] != tokenizer.eos_token_id for ids in seen["completion_ids"]]
    expected = {
        "correctness_reward": [float(c) for c in correct],
        "efficiency_reward": [0.0] * 8,
        "kimi_length_reward": [0.0] * 8,
        "lcpo_exact_reward": [0.0] * 8,
        "reflection_reward": [
            pure_reflection_reward(count_reflections(t), QWEN.count(thinking_part(t))) for t in texts
        ],
    }
    for idx in groups:
        pick = lambda values: [values[i] for i in idx]  # noqa: E731
        per_group = {
            "efficiency_reward": pure_efficiency_reward(pick(correct), pick(lengths), pick(truncated)),
            "kimi_length_reward": pure_kimi_length_reward(pick(correct), pick(lengths)),
            "lcpo_exact_reward": pure_lcpo_exact_reward(pick(correct), pick(lengths), pick(seen["n_target"])),
        }
        for name, values in per_group.items():
            for i, value in zip(idx, values):
                expected[name][i] = value
    for name, values in expected.items():
        # per sample (TRL keeps each function's rewards, in completion order, for its completions table)
        assert list(trainer._logs["rewards"][name]) == approx(values, abs=1e-6), name
        assert logged[f"rewards/{name}/mean"] == approx(sum(values) / len(values), abs=1e-5), name
    # the length rewards saw real groups: some correct sample earned a length-dependent reward
    assert any(0 < r < 1 for r in expected["efficiency_reward"]), (texts, lengths)
    assert "rewards/record_inputs/mean" in logged
