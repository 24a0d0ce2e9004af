"""End-to-end GRPO training in the environment, on a tiny random chat model built locally.

No download: ``build_tiny_model`` trains a byte-level BPE tokenizer with a ChatML template and
saves a random Qwen2 model of ~30k parameters. The environment, the grading and the rewards
are the real ones. Where a test needs to know what the policy says (revision, anytime
summaries), a scripted policy replies with fixed texts through the same generator interface.
"""

from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from typer.testing import CliRunner  # noqa: E402

from reasoning_economics.cli import app  # noqa: E402
from reasoning_economics.env import EnvConfig, ReasonBudgetEnvironment  # noqa: E402
from reasoning_economics.training.config import TrainConfig  # noqa: E402
from reasoning_economics.training.conversation import render_observation  # noqa: E402
from reasoning_economics.training.generation import Generated  # noqa: E402
from reasoning_economics.training.logs import LOG_FIELDS, read_training_log  # noqa: E402
from reasoning_economics.training.rollout import episode_prompt  # noqa: E402
from reasoning_economics.training.runner import build_trainer, train  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]


def small_config(model, output_dir, **overrides) -> TrainConfig:
    values = dict(
        model=str(model),
        output_dir=str(output_dir),
        steps=1,
        num_questions=2,
        num_generations=2,
        groups_per_step=2,
        max_step_tokens=12,
        learning_rate=1e-2,
        # Soft mode with a small budget: the cost and overspend penalties depend on how many tokens
        # each (random) response takes, so samples of one group get different rewards.
        total_budget=16,
        env={"hard_cap_mode": False},
    )
    values.update(overrides)
    return TrainConfig(**values)


def _load_weights(directory):
    from safetensors.torch import load_file

    return load_file(str(directory / "model.safetensors"))


# --------------------------------------------------------------------------- training runs


def test_two_grpo_steps_update_the_model_log_metrics_and_resume(tiny_model, tmp_path):
    out = tmp_path / "run"
    common = [
        "train", "--model", str(tiny_model), "--recipe", "episode", "-o", str(out), "--num-questions", "2",
        "-G", "2", "--groups-per-step", "2", "--max-step-tokens", "12", "--learning-rate", "0.01",
        "--total-budget", "16", "--set", "env.hard_cap_mode=false", "--set", "save_steps=1",
    ]  # fmt: skip
    result = CliRunner().invoke(app, [*common, "--steps", "2"])
    assert result.exit_code == 0, result.output
    assert "trained 2 steps" in result.output

    before, after = _load_weights(tiny_model), _load_weights(out / "final")
    changed = [name for name in before if not torch.equal(before[name], after[name])]
    assert changed, "no parameter changed: no gradient update happened"

    records = read_training_log(out)
    assert [r["step"] for r in records] == [1, 2]
    assert set(records[0]) == {"step", "epoch", "time_s", "metrics", *LOG_FIELDS}  # the schema docs/training.md gives
    for record in records:
        for key in ("reward", "accuracy", "tokens_per_question", "budget_utilization", "episode_length"):
            assert record[key] is not None, key
        assert record["episode_length"] == 2.0  # soft mode: every question gets answered
        assert 0.0 <= record["accuracy"] <= 1.0
        assert record["tokens_per_question"] > 0
        # soft mode charges every token: utilisation = mean charged tokens x 2 questions / 16
        assert record["budget_utilization"] == pytest.approx(record["tokens_per_question"] * 2 / 16)
    assert any(r["grad_norm"] > 0 for r in records)
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    assert json.loads((out / "train_config.json").read_text())["recipe"] == "episode"

    resumed = CliRunner().invoke(app, [*common, "--steps", "3", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    state = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    assert [r["step"] for r in read_training_log(out)] == [1, 2, 3]
    assert json.loads((out / "train_summary.json").read_text())["resumed_from"].endswith("checkpoint-2")


@pytest.mark.parametrize(
    "recipe, overrides, metric",
    [
        ("length", {}, "rewards/efficiency/mean"),
        ("reflection", {"num_generations": 4, "groups_per_step": 1, "revision_answer_tokens": 4}, "revision/no_cut"),
        (
            "anytime",
            {"anytime_num_budgets": 2, "summaries_per_budget": 1, "summary_tokens": 4},
            "anytime/score",
        ),
    ],
)
def test_single_question_recipes_run_a_step(tiny_model, tmp_path, recipe, overrides, metric):
    result = train(small_config(tiny_model, tmp_path / recipe, recipe=recipe, **overrides))
    assert result.global_step == 1
    record = read_training_log(result.log_path)[0]
    assert record["episode_length"] == 1.0  # one question per episode
    assert metric in record["metrics"]


def test_a_step_trained_against_a_real_server_plays_the_servers_episodes(tiny_model, tmp_path, start_server):
    from reasoning_economics.errors import ConfigError

    server = start_server(env_config=EnvConfig(num_questions=3, hard_cap_mode=False, max_tokens_per_step=12), warm_up=False)
    served = {"num_questions": TrainConfig.num_questions, "env": {}, "env_url": server.base_url, "env_tokenizer": "qwen3"}
    result = train(small_config(tiny_model, tmp_path / "run", **served))
    assert result.global_step == 1
    record = read_training_log(result.log_path)[0]
    assert record["episode_length"] == 3.0  # the server's number of questions, not the run's
    assert not (tmp_path / "run" / "policy_tokenizer").exists()  # the server counts with qwen3

    # A single-question recipe played the server's whole episodes, with the budget of one answer.
    with pytest.raises(ConfigError, match=r"recipe 'length' plays one question per episode, but the server at .* serves episodes of 3"):
        train(small_config(tiny_model, tmp_path / "length", recipe="length", **{**served, "total_budget": None}))
    assert not (tmp_path / "length").exists()  # refused before the model loaded
    single = start_server(env_config=EnvConfig(num_questions=1, hard_cap_mode=False, max_tokens_per_step=12), warm_up=False)
    result = train(small_config(tiny_model, tmp_path / "length", recipe="length", **{**served, "env_url": single.base_url, "total_budget": None}))
    assert read_training_log(result.log_path)[0]["episode_length"] == 1.0

    # The server decides these: a run's own value was silently ignored.
    for ignored, named in (({"num_questions": 2}, "num_questions=2"), ({"env": {"beta": 0.5}}, "env.beta")):
        with pytest.raises(ConfigError, match=f"{named}: with env_url the server's environment settings apply"):
            small_config(tiny_model, tmp_path / "other", **{"num_questions": 3, "env": {}, **ignored}, env_url=server.base_url)


def test_unknown_recipe_and_bad_resume_are_clear_errors(tiny_model, tmp_path):
    result = CliRunner().invoke(app, ["train", "--model", str(tiny_model), "--recipe", "nope", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "unknown recipe 'nope'" in result.output
    result = CliRunner().invoke(app, ["train", "--model", str(tiny_model), "--resume", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "no checkpoint" in result.output


# --------------------------------------------------------------------------- the rollout


@pytest.fixture(scope="module")
def episode_trainer(tiny_model, tmp_path_factory):
    # A budget large enough that no episode ends early: every slot sees all three questions.
    config = small_config(
        tiny_model, tmp_path_factory.mktemp("rollout"), num_questions=3, num_generations=3, total_budget=10_000
    )
    trainer, rollout = build_trainer(config)
    yield trainer, rollout
    rollout.close()


def test_same_seed_groups_get_identical_question_lists(episode_trainer):
    trainer, rollout = episode_trainer
    output = rollout([episode_prompt(11)] * 3 + [episode_prompt(12)] * 3, trainer)
    ids = output["question_ids"]
    assert len(ids[0]) == 3
    assert ids[0] == ids[1] == ids[2]
    assert ids[3] == ids[4] == ids[5]
    assert ids[0] != ids[3]
    # They are the questions the environment samples for those seeds in any process.
    for seed, served in ((11, ids[0]), (12, ids[3])):
        env = ReasonBudgetEnvironment(EnvConfig(num_questions=3))
        env.reset(seed=seed)
        assert served == [p.id for p in env.problems]
    # ... while the policy's samples differ inside a group.
    assert len({tuple(c) for c in output["completion_ids"][:3]}) > 1


def _runs(mask):
    runs, start = [], 0
    for i in range(1, len(mask) + 1):
        if i == len(mask) or mask[i] != mask[start]:
            runs.append((mask[start], start, i))
            start = i
    return runs


def test_env_mask_is_zero_exactly_on_observation_tokens(episode_trainer):
    trainer, rollout = episode_trainer
    tokenizer = trainer.processing_class
    output = rollout([episode_prompt(21)] * 3, trainer)
    for i, record in enumerate(rollout.last_records):
        ids, mask = output["completion_ids"][i], output["env_mask"][i]
        assert len(ids) == len(mask)
        # Policy tokens (mask 1) are exactly the responses...
        model_runs = [(s, e) for m, s, e in _runs(mask) if m == 1]
        assert model_runs == [tuple(span) for span in record.response_spans if span[1] > span[0]]
        for (start, end), response in zip(record.response_spans, record.responses):
            assert tokenizer.decode(ids[start:end], skip_special_tokens=True) == response
        # ... and each environment run (mask 0) is the chat-formatted next question.
        env_runs = [(s, e) for m, s, e in _runs(mask) if m == 0]
        assert len(env_runs) == 2  # between questions 1-2 and 2-3
        for k, (start, end) in enumerate(env_runs):
            text = tokenizer.decode(ids[start:end])
            closed = record.truncated[k] is False
            expected = "" if closed else "<|im_end|>"
            expected += "\n<|im_start|>user\n" + render_observation(_prompt_after(record, k), record.steps[k])
            expected += "<|im_end|>\n<|im_start|>assistant\n"
            assert text == expected
            assert record.questions[k + 1] in text


def _prompt_after(record, k):
    # The environment's prompt for question k + 1, as rendered from the episode's own numbers.
    from reasoning_economics.env.prompt import render_prompt

    remaining = record.total_budget - sum(int(s["tokens_used"]) for s in record.steps[: k + 1])
    questions_left = record.num_questions - (k + 1)
    return render_prompt(
        record.questions[k + 1],
        remaining_budget=remaining,
        questions_remaining=questions_left,
        step_token_limit=12,
        step_idx=k + 1,
        num_questions=record.num_questions,
    )


def test_observation_tokens_carry_no_loss(episode_trainer):
    # The batch TRL builds from the rollout, and TRL's own loss: raising the advantage on the
    # observation positions leaves the loss unchanged; raising it on response positions does not.
    trainer, _ = episode_trainer
    trainer.model.eval()  # evaluation mode: the loss needs no gradient-accumulation state
    inputs = [{"prompt": episode_prompt(31), "seed": 31} for _ in range(3)]
    batch = trainer._generate_and_score_completions(inputs)
    observation = batch["completion_mask"].bool() & ~batch["tool_mask"].bool()
    response = batch["completion_mask"].bool() & batch["tool_mask"].bool()
    assert observation.any() and response.any()
    assert batch["advantages"].shape == batch["completion_ids"].shape  # per-token reward-to-go

    def loss_with(advantages):
        with torch.no_grad():
            return trainer.compute_loss(trainer.model, {**batch, "advantages": advantages}).item()

    base = loss_with(batch["advantages"])
    assert loss_with(batch["advantages"].masked_fill(observation, 1000.0)) == pytest.approx(base, abs=1e-6)
    assert loss_with(batch["advantages"].masked_fill(response, 1000.0)) != pytest.approx(base, abs=1e-3)


def test_reward_to_go_advantages_reach_each_response(episode_trainer):
    from reasoning_economics.training import credit

    trainer, _ = episode_trainer
    trainer.model.eval()  # evaluation mode: the loss needs no gradient-accumulation state
    inputs = [{"prompt": episode_prompt(41), "seed": 41} for _ in range(3)]
    batch = trainer._generate_and_score_completions(inputs)
    expected = credit.reward_to_go_by_group([x["step_rewards"] for x in inputs], 3)
    for row, x in enumerate(inputs):
        assert len(x["step_rewards"]) == 3
        assert sum(x["step_rewards"]) == pytest.approx(x["episode_return"])
        for k, (start, end) in enumerate(x["response_spans"]):
            got = batch["advantages"][row, start:end]
            assert torch.allclose(got, torch.full_like(got, expected[row][k]))


# --------------------------------------------------------------------------- scripted policies


class ScriptedPolicy:
    """A generator whose replies are fixed texts chosen from the prompt, so a test knows what the
    policy said. It has the interface of the model-backed generators: ids in, ids out, cut at
    the limit, closed with the end-of-turn id when the text fits."""

    def __init__(self, tokenizer, reply):
        self.tokenizer = tokenizer
        self.reply = reply

    def generate(self, prompts, limits):
        results = []
        for ids, limit in zip(prompts, limits):
            text = self.reply(self.tokenizer.decode(list(ids)))
            out = self.tokenizer(text, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]
            results.append(Generated(tuple(out[:limit]), None, len(out) <= limit))
        return results


def _integer_answer_problems(count, start):
    """The first ``count`` seeds from ``start`` whose single question has a plain integer answer
    (so a scripted reply of ``\\boxed{answer}`` is right under any grader), with their problems."""
    problems, seed = {}, start
    while len(problems) < count:
        env = ReasonBudgetEnvironment(EnvConfig(num_questions=1))
        env.reset(seed=seed, total_budget=1000)
        if env.problems[0].answer.lstrip("-").isdigit():
            problems[seed] = env.problems[0]
        seed += 1
    return problems


WRONG = "\\boxed{-987654}"
FILLER = "Let me work through this carefully, one small step after another, and keep every number."


def test_online_revision_keeps_right_revisions_and_replaces_wrong_ones(tiny_model, tmp_path):
    from reasoning_economics.rewards.revision import REVISION_SUFFIX

    config = small_config(
        tiny_model, tmp_path, recipe="reflection", num_generations=4, groups_per_step=3,
        max_step_tokens=600, revision_answer_tokens=16, total_budget=100_000, env={},
    )  # fmt: skip
    trainer, rollout = build_trainer(config)
    problems = _integer_answer_problems(3, start=51)
    right, wrong, no_cut = problems

    def paragraphs(seed):
        gold = problems[seed].answer
        if seed == no_cut:  # no paragraph ever states a result: nothing to cut
            return [FILLER] * 6
        # Six paragraphs; the first of the second half (index 3) states the answer: the cut.
        stated = f"So the answer is \\boxed{{{gold}}}. {FILLER}"
        return [FILLER, FILLER, FILLER, stated, f"Wait, check again. {FILLER}", FILLER]

    def reply(prompt):
        seed = next(s for s, p in problems.items() if p.question in prompt)
        if prompt.endswith(REVISION_SUFFIX):
            return f"\\boxed{{{problems[seed].answer}}}" if seed == right else WRONG
        return "\n\n".join(paragraphs(seed))

    rollout.context(trainer)
    rollout._generator = ScriptedPolicy(trainer.processing_class, reply)
    output = rollout([episode_prompt(s) for s in (right, wrong, no_cut) for _ in range(4)], trainer)
    records = rollout.last_records
    statuses = [r.extras["revision_status"] for r in records]
    assert statuses == ["original", "original", "accepted", "accepted"] + [
        "original", "original", "rejected", "rejected",
        "original", "original", "no_cut", "no_cut",
    ]  # fmt: skip
    original, revised = records[0], records[2]
    cut = "\n\n".join(paragraphs(right)[:4]) + REVISION_SUFFIX
    assert revised.responses == [cut + f"\\boxed{{{problems[right].answer}}}"]
    assert revised.correct == [True] and original.correct == [True]
    assert len(revised.completion_ids) < len(original.completion_ids)  # the revision is shorter
    assert set(revised.env_mask) == {1}  # the whole revision is trained
    for wrong, source in ((records[6], records[4]), (records[10], records[8])):
        assert wrong.completion_ids == source.completion_ids and wrong.responses == source.responses
    assert output["revision_status"] == statuses
    rollout.close()


def test_anytime_budget_scores_and_brpo_token_advantages(tiny_model, tmp_path):
    config = small_config(
        tiny_model, tmp_path, recipe="anytime", num_generations=2, groups_per_step=1, anytime_max_budget=32,
        anytime_num_budgets=4, summaries_per_budget=2, summary_tokens=8, total_budget=100_000,
    )  # fmt: skip
    trainer, rollout = build_trainer(config)
    tokenizer = trainer.processing_class
    (seed, problem), = _integer_answer_problems(1, start=61).items()
    # A word that stays one token however often it repeats, so token positions are known.
    word = next(w for w in (" x", " y", " z", " q", " 7") if len(tokenizer(w * 40)["input_ids"]) == 40)
    thinking = word * 10 + " KEY" + word * 40
    key_end = len(tokenizer(word * 10 + " KEY")["input_ids"])
    assert 10 < key_end <= 16  # "KEY" is inside the budget-16 cut and outside the budget-8 one

    def reply(prompt):
        if "**Final Answer**" in prompt:  # a summary: right exactly when it saw "KEY"
            return f"\\boxed{{{problem.answer}}}" if "KEY" in prompt.split("<|im_start|>assistant\n")[-1] else WRONG
        return thinking

    rollout.context(trainer)
    rollout._generator = ScriptedPolicy(tokenizer, reply)
    trainer.model.eval()  # evaluation mode: the loss needs no gradient-accumulation state
    inputs = [{"prompt": episode_prompt(seed), "seed": seed} for _ in range(2)]
    batch = trainer._generate_and_score_completions(inputs)
    # Budgets 8, 16, 24, 32: the cut at 8 misses "KEY", the others keep it.
    assert inputs[0]["budget_scores"] == [0.0, 1.0, 1.0, 1.0]
    # Uniform prior: R = [0.75, 0.75, 0.5, 0.25]; R_0 is the anytime score.
    assert inputs[0]["anytime_score"] == pytest.approx(0.75)
    # BRPO with two identical thoughts (V2_s = R_s):
    #   s=0: A = 0;  s=1: V1 = 0, B = (0 + 3*0.75)/4 = 0.5625, A = 0.1875
    #   s=2: V1 = (2/3)*0.5, B = (2/3 + 1)/4, A = 0.5 - 0.416667 = 0.083333
    #   s=3: V1 = (6/7)*0.25, B = (3*0.2142857 + 0.25)/4, A = 0.25 - 0.2232143 = 0.0267857
    expected = [0.0, 0.1875, 0.5 - 5 / 12, 0.25 - (3 * 6 / 28 + 0.25) / 4]
    for row in range(2):
        for s, (start, end) in enumerate([(0, 8), (8, 16), (16, 24), (24, 32)]):
            got = batch["advantages"][row, start:end]
            assert torch.allclose(got, torch.full_like(got, expected[s]), atol=1e-6), (row, s)
    rollout.close()


@pytest.mark.parametrize(
    "recipe, overrides, limit",
    [
        ("length", {"max_step_tokens": 2000}, 2000),
        ("anytime", {"max_step_tokens": 64, "anytime_max_budget": 2000}, 2000),  # b_max, not max_step_tokens
        ("length", {"max_step_tokens": 2000, "total_budget": 50}, 50),  # a budget the user sets still binds
    ],
)
def test_single_question_recipes_give_each_response_the_documented_limit(tiny_model, tmp_path, recipe, overrides, limit):
    # In hard mode the environment's own budget (budget_ratio x the question's tokens) capped
    # responses near 4x the question: 116, 916, 132, ... instead of 2000.
    config = small_config(tiny_model, tmp_path, recipe=recipe, env={}, **{"total_budget": None, **overrides})
    trainer, rollout = build_trainer(config)
    try:
        options = rollout.options
        session = rollout.sessions.take(1)[0]
        for seed in range(5):
            turn = session.reset(seed=seed, tokenizer_name=options.tokenizer_name, total_budget=options.total_budget)
            # What play_episodes lets one response take.
            assert min(turn.step_token_limit, options.max_step_tokens) == limit, seed
            assert f"at most {limit} for this answer" in turn.prompt  # the limit the prompt states
    finally:
        rollout.close()


def test_anytime_summaries_keep_the_thinking_the_policy_opened(tiny_model, tmp_path):
    # The summary prompt dropped the policy's "<think>" but closed it with "</think>"; the
    # reflection recipe's revisions keep the opening tag.
    config = small_config(
        tiny_model, tmp_path, recipe="anytime", num_generations=2, groups_per_step=1, anytime_max_budget=32,
        anytime_num_budgets=2, summaries_per_budget=1, summary_tokens=8, total_budget=100_000,
    )  # fmt: skip
    trainer, rollout = build_trainer(config)
    (seed, problem), = _integer_answer_problems(1, start=61).items()
    summary_prompts = []

    def reply(prompt):
        if "**Final Answer**" in prompt:
            summary_prompts.append(prompt.split("<|im_start|>assistant\n")[-1])
            return f"\\boxed{{{problem.answer}}}"
        return f"<think>The sum is {problem.answer}.</think> \\boxed{{{problem.answer}}}"

    rollout.context(trainer)
    rollout._generator = ScriptedPolicy(trainer.processing_class, reply)
    rollout([episode_prompt(seed)] * 2, trainer)
    assert len(summary_prompts) == 4  # 2 samples x 2 budgets x 1 summary
    for text in summary_prompts:
        assert text.startswith(f"<think>The sum is {problem.answer}.</think>"), text
        assert text.count("<think>") == 1 and text.count("</think>") == 1
    rollout.close()
