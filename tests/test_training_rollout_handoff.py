"""What the episode rollout hands to TRL, checked by hand on tiny cases.

The environment, chat formatting and tokenizer are the real ones (the tiny offline model's);
where a test must know what the policy says, a scripted generator replies with fixed ids
through the generator interface, as in tests/test_training.py.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from reasoning_economics.env import EnvConfig, ReasonBudgetEnvironment  # noqa: E402
from reasoning_economics.training.config import TrainConfig  # noqa: E402
from reasoning_economics.training.conversation import ChatFormat  # noqa: E402
from reasoning_economics.training.episodes import EpisodeOptions, play_episodes  # noqa: E402
from reasoning_economics.training.generation import Generated  # noqa: E402
from reasoning_economics.training.rollout import episode_prompt  # noqa: E402
from reasoning_economics.training.runner import build_trainer  # noqa: E402
from reasoning_economics.training.sessions import InProcessSession  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model))


class FixedReply:
    """Replies to every prompt with the same ids; ``closed`` as a model-backed generator sets it."""

    def __init__(self, ids, eos_ids):
        self.ids, self.eos_ids = list(ids), set(eos_ids)

    def generate(self, prompts, limits):
        return [Generated(tuple(self.ids[:limit]), None, self.ids[-1] in self.eos_ids) for limit in limits]


def _runs(mask):
    runs, start = [], 0
    for i in range(1, len(mask) + 1):
        if i == len(mask) or mask[i] != mask[start]:
            runs.append((mask[start], start, i))
            start = i
    return runs


@pytest.mark.parametrize("last", ["<|im_end|>", "<|endoftext|>"])
def test_a_turn_closed_by_another_end_of_sequence_id_still_gets_the_templates_end_of_turn(tokenizer, last):
    # TRL's eos_token_ids hold the tokenizer's eos and the generation config's (Qwen2.5: <|im_end|>
    # and <|endoftext|>). A response closed by <|endoftext|> went straight on to "\n<|im_start|>user":
    # the assistant turn was never closed in the context the next response was sampled from.
    end_of_turn, other_eos = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    chat = ChatFormat(tokenizer, [end_of_turn, other_eos])
    reply = tokenizer("\\boxed{1}", add_special_tokens=False)["input_ids"] + tokenizer.convert_tokens_to_ids([last])
    session = InProcessSession(EnvConfig(num_questions=2))
    try:
        (record,) = play_episodes([3], [session], FixedReply(reply, {end_of_turn, other_eos}), chat,
                                  EpisodeOptions(max_step_tokens=16, total_budget=1000))  # fmt: skip
    finally:
        session.close()
    assert record.truncated == [False, False]  # the policy ended both turns
    runs = _runs(record.env_mask)
    assert [m for m, _, _ in runs] == [1, 0, 1]
    (_, start, end), (_, obs_start, obs_end), _ = runs
    assert record.completion_ids[start:end] == reply  # the sampled ids, its own end id included, carry loss
    observation = tokenizer.decode(record.completion_ids[obs_start:obs_end])
    # The observation closes the assistant turn with <|im_end|> exactly when the response did not.
    opening = "\n<|im_start|>user\n" if last == "<|im_end|>" else "<|im_end|>\n<|im_start|>user\n"
    assert observation.startswith(opening), observation[:40]
    assert observation.endswith("<|im_end|>\n<|im_start|>assistant\n")


def _integer_answer_problem(start):
    """The first seed from ``start`` whose single question has a plain integer answer."""
    seed = start
    while True:
        env = ReasonBudgetEnvironment(EnvConfig(num_questions=1))
        env.reset(seed=seed, total_budget=1000)
        if env.problems[0].answer.lstrip("-").isdigit():
            return seed, env.problems[0]
        seed += 1


class ScriptedPolicy:
    """Replies with a text chosen from the decoded prompt, cut at the limit, closed with the
    end-of-turn id when the text fits."""

    def __init__(self, tokenizer, reply):
        self.tokenizer, self.reply = tokenizer, reply

    def generate(self, prompts, limits):
        results = []
        for ids, limit in zip(prompts, limits):
            out = self.tokenizer(self.reply(self.tokenizer.decode(list(ids))), add_special_tokens=False)["input_ids"]
            out = out + [self.tokenizer.eos_token_id]
            results.append(Generated(tuple(out[:limit]), None, len(out) <= limit))
        return results


def test_brpo_segments_count_the_thinking_after_the_policys_opening_tag(tiny_model, tmp_path):
    # The summaries cut the thinking at b_j tokens after the response's "<think>", but the
    # segments were counted from the response's first token: each segment's last tokens (as many
    # as "<think>" has) were given the next segment's advantage.
    config = TrainConfig(
        model=str(tiny_model), output_dir=str(tmp_path), recipe="anytime", steps=1, num_generations=2,
        groups_per_step=1, max_step_tokens=32, anytime_max_budget=32, anytime_num_budgets=4,
        summaries_per_budget=2, summary_tokens=8, total_budget=100_000,
    )  # fmt: skip
    trainer, rollout = build_trainer(config)
    tokenizer = trainer.processing_class
    seed, problem = _integer_answer_problem(61)
    word = next(w for w in (" x", " y", " z", " q", " 7") if len(tokenizer(w * 40)["input_ids"]) == 40)
    opener = len(tokenizer("<think>")["input_ids"])
    assert tokenizer("<think>" + word * 3)["input_ids"] == tokenizer("<think>")["input_ids"] + tokenizer(word * 3)["input_ids"]
    assert 1 < opener < 8
    thinking = word * 10 + " KEY" + word * 40
    assert 10 < len(tokenizer(word * 10 + " KEY")["input_ids"]) <= 16  # KEY lies in thinking tokens 9..16

    def reply(prompt):
        if "**Final Answer**" in prompt:  # a summary: right exactly when its thinking held "KEY"
            return f"\\boxed{{{problem.answer}}}" if "KEY" in prompt.split("<|im_start|>assistant\n")[-1] else "\\boxed{-987654}"
        return "<think>" + thinking  # cut at b_max = 32 response ids

    rollout.context(trainer)
    rollout._generator = ScriptedPolicy(tokenizer, reply)
    trainer.model.eval()  # evaluation mode: no gradient-accumulation state needed
    inputs = [{"prompt": episode_prompt(seed), "seed": seed} for _ in range(2)]
    batch = trainer._generate_and_score_completions(inputs)
    # Budgets 8, 16, 24, 32 thinking tokens: the cut at 8 misses "KEY", the others keep it.
    assert inputs[0]["budget_scores"] == [0.0, 1.0, 1.0, 1.0]
    # Segment s is thinking tokens [b_{s-1}, b_s), after the opener; the opener goes with segment 0.
    n = opener
    assert inputs[0]["segment_spans"] == [[0, n + 8], [n + 8, n + 16], [n + 16, n + 24], [n + 24, 32]]
    # BRPO of two identical thoughts with uniform prior (worked out in test_training.py's anytime test).
    expected = [0.0, 0.1875, 0.5 - 5 / 12, 0.25 - (3 * 6 / 28 + 0.25) / 4]
    for row in range(2):
        for s, (start, end) in enumerate(inputs[row]["segment_spans"]):
            got = batch["advantages"][row, start:end]
            assert torch.allclose(got, torch.full_like(got, expected[s]), atol=1e-6), (row, s)
    rollout.close()
