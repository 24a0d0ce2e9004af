"""Fast unit tests of the training package: config, credit assignment, logs, prompts, rewards.

Values are worked out by hand in the comments. The end-to-end GRPO runs live in test_training.py.
"""

from __future__ import annotations

import json
import math

import pytest

from reasoning_economics.errors import ConfigError, RewardInputError
from reasoning_economics.training import credit
from reasoning_economics.training.config import TrainConfig, parse_assignment, read_config_file
from reasoning_economics.training.field_rewards import FieldReward, GroupVerdictReward, episode_return_reward
from reasoning_economics.training.logs import log_record, plot_training_curves, read_training_log
from reasoning_economics.training.rollout import episode_prompt, episode_seed, group_seeds

# --------------------------------------------------------------------------- config


def test_config_defaults_are_valid_and_round_trip(tmp_path):
    config = TrainConfig()
    assert (config.model, config.recipe, config.num_generations) == ("smollm2", "episode", 4)
    path = tmp_path / "c.json"
    config.save(path)
    assert TrainConfig.load(path) == config


def test_config_file_then_cli_overrides(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("model: /models/tiny\nsteps: 7\nlearning_rate: 3e-6\nenv:\n  hard_cap_mode: false\n  beta: 0.1\n")
    config = TrainConfig.load(path, {"steps": 9, "env": {"beta": 0.2}})
    assert config.model == "/models/tiny"
    assert config.steps == 9  # the CLI wins over the file
    assert config.learning_rate == 3e-6  # YAML 1.1 reads "3e-6" as text; a float setting takes it as a number
    assert config.env == {"hard_cap_mode": False, "beta": 0.2}  # env mappings merge key by key


def test_config_toml(tmp_path):
    path = tmp_path / "train.toml"
    path.write_text('recipe = "length"\nnum_generations = 8\nlength_alpha = 0.2\n[env]\ndataset = "builtin"\n')
    config = TrainConfig.load(path)
    assert (config.recipe, config.num_generations, config.length_alpha) == ("length", 8, 0.2)
    assert config.env == {"dataset": "builtin"}


@pytest.mark.parametrize(
    "values, message",
    [
        ({"stepz": 3}, "unknown training setting"),
        ({"steps": 0}, "steps must be an integer >= 1"),
        ({"num_generations": 1}, "num_generations must be >= 2: a GRPO group compares samples, got 1"),
        ({"num_generations": 0}, "num_generations must be an integer >= 2, got 0"),  # said ">= 1"
        ({"temperature": 0.0}, "temperature must be > 0"),
        ({"loss_type": "ppo"}, "loss_type must be one of"),
        ({"learning_rate": "fast"}, "learning_rate must be a number"),
        ({"env": {"num_questions": 5}}, "top level"),
        ({"length_alpha": 1.5}, "length_alpha must be a number in"),
        # These were accepted and failed only after the model loaded, or never.
        ({"seed": 1.5}, "seed must be an integer from 0 to 4294967295"),
        # These passed, then failed after the model had loaded (numpy's seeding, a 24 GB seed list,
        # the HTTP client's URL parser).
        ({"seed": 2**32}, r"seed must be an integer from 0 to 4294967295 \(numpy seeds the trainer with it\), got 4294967296"),
        ({"steps": 10**9}, "steps must be at most 1,000,000, got 1000000000"),
        ({"steps": 10**20}, "steps must be at most 1,000,000"),
        ({"env_url": "http://[::1"}, r"env_url is not a valid URL \(Invalid IPv6 URL\)"),
        ({"env_url": "http://127.0.0.1:99999"}, "env_url is not a valid URL"),
        ({"top_k": 2.5}, "top_k must be an integer"),
        ({"observation_feedback": "maybe"}, "observation_feedback must be true or false"),
        ({"model": 5}, "model must be a non-empty string"),
        ({"env": {"bogus": 1}}, r"invalid env settings: env\.bogus: Extra inputs are not permitted"),
        ({"env": {"beta": -1}}, r"env\.beta: Input should be greater than or equal to 0"),
        ({"anytime_prior": "foo"}, "unknown budget prior 'foo'; known: uniform, linear, base"),  # any recipe
        # Accepted until the first rollout connected, after the model had loaded.
        ({"env_url": "ftp://host:8000"}, r"env_url must be an http\(s\):// or ws\(s\):// URL, got 'ftp://host:8000'"),
        ({"env_url": 8000}, r"env_url must be an http\(s\):// or ws\(s\):// URL, got 8000"),
        # These failed only inside the first step, after the model had loaded, or as a traceback.
        (
            {"recipe": "reflection", "num_generations": 4, "revisions_per_group": 3},
            r"revisions_per_group \(3\) must be at most num_generations // 2 \(2\)",
        ),
        ({"max_step_tokens": 2_000_000}, "max_step_tokens=2000000 is not a per-response limit the environment accepts"),
        ({"recipe": "anytime", "anytime_max_budget": 2_000_000}, "anytime_max_budget=2000000 is not a per-response"),
        (
            {"num_generations": 3, "gradient_accumulation_steps": 2},
            r"groups_per_step x num_generations \(3\) must be divisible by gradient_accumulation_steps \(2\)",
        ),
    ],
)
def test_config_rejects_bad_values(values, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_mapping(values)


def test_a_missing_model_directory_is_named_as_such(tmp_path):
    from reasoning_economics.training.models import load_policy

    missing = str(tmp_path / "no-model-here")
    # transformers' own message called the path a malformed hub id ("Repo id must use alphanumeric chars").
    with pytest.raises(ConfigError, match=r"cannot load model '.*no-model-here': no directory is there$"):
        load_policy(missing)


def test_limits_the_environment_or_the_groups_cannot_meet_are_error_lines_before_the_start(tmp_path):
    from typer.testing import CliRunner

    from reasoning_economics.cli import app

    for args in (
        ["--max-step-tokens", "2000000"],  # was a pydantic ValidationError traceback
        ["--recipe", "reflection", "-G", "4", "--set", "revisions_per_group=3"],  # was found in the first step
    ):
        for print_config in ([], ["--print-config"]):
            result = CliRunner().invoke(app, ["train", *args, *print_config, "-o", str(tmp_path / "run")])
            assert result.exit_code == 2, result.output
            lines = result.output.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert not (tmp_path / "run").exists()
    # A limit the environment accepts, and one revision for each of two originals, are fine.
    accepted = ["--max-step-tokens", "1000000", "--recipe", "reflection", "-G", "4", "--set", "revisions_per_group=2"]
    assert CliRunner().invoke(app, ["train", "--print-config", *accepted]).exit_code == 0


def test_an_anytime_budget_below_its_largest_thinking_budget_is_refused_in_hard_mode():
    from reasoning_economics.training.recipes import build_recipe

    # Every thought was cut at total_budget, and the budgets above it (128, 192, 256) scored alike.
    with pytest.raises(ConfigError, match=r"total_budget=100 is below the anytime recipe's largest budget 256"):
        build_recipe(TrainConfig(recipe="anytime", anytime_max_budget=256, total_budget=100))
    # Enough for b_max, soft mode, or a length recipe's own tighter cap (the prompt states it): accepted.
    for accepted in (dict(recipe="anytime", anytime_max_budget=256, total_budget=256),
                     dict(recipe="anytime", anytime_max_budget=256, total_budget=100, env={"hard_cap_mode": False}),
                     dict(recipe="length", max_step_tokens=64, total_budget=32)):
        build_recipe(TrainConfig(**accepted))


@pytest.mark.parametrize("recipe", ["length", "reflection", "anytime"])
def test_reward_to_go_is_refused_where_it_would_ignore_the_recipes_reward(recipe):
    # It credits the environment's per-question step rewards: under these recipes it trained on
    # those instead of the efficiency / REA-RL / anytime reward the recipe logs.
    from reasoning_economics.training.recipes import build_recipe

    with pytest.raises(ConfigError, match=f"recipe {recipe!r} has one reward per response"):
        build_recipe(TrainConfig(recipe=recipe, advantage="reward_to_go"))
    assert build_recipe(TrainConfig(recipe=recipe, advantage="grpo")).advantage == "grpo"
    assert build_recipe(TrainConfig(recipe="episode", advantage="reward_to_go")).advantage == "reward_to_go"


def test_trl_adapter_groups_by_position_when_given_num_generations():
    from reasoning_economics.rewards.length import efficiency_reward
    from reasoning_economics.training.trl_rewards import make_reward_func

    # Two dataset rows with the same prompt text: TRL samples G=2 completions for each, two groups.
    prompts, completions, answers = ["q"] * 4, ["\\boxed{19}"] * 4, ["19"] * 4
    ids = [[1] * 10, [1] * 20, [1] * 30, [1] * 40]
    by_position = make_reward_func("efficiency", num_generations=2)(prompts, completions, completion_ids=ids, answer=answers)
    right = [True, True]
    assert by_position == pytest.approx(efficiency_reward(right, [10, 20]) + efficiency_reward(right, [30, 40]))
    by_prompt = make_reward_func("efficiency")(prompts, completions, completion_ids=ids, answer=answers)
    assert by_prompt == pytest.approx(efficiency_reward(right * 2, [10, 20, 30, 40]))  # one group of four
    assert by_prompt != pytest.approx(by_position)
    with pytest.raises(RewardInputError, match="3 completions do not split into groups of num_generations=2"):
        make_reward_func("efficiency", num_generations=2)(prompts[:3], completions[:3], answer=answers[:3])
    with pytest.raises(ConfigError, match="num_generations must be an integer >= 1"):
        make_reward_func("efficiency", num_generations=0)


def test_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_config_file(tmp_path / "missing.yaml")
    (tmp_path / "configs.yaml").mkdir()  # it said "does not exist" of a folder that does
    with pytest.raises(ConfigError, match=r"configs.yaml is a directory; name a .toml, .yaml, .yml, .json file in it"):
        read_config_file(tmp_path / "configs.yaml")
    with pytest.raises(ConfigError, match="/dev/null is not a regular file"):
        read_config_file("/dev/null")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n- not a mapping\n")
    with pytest.raises(ConfigError, match="mapping"):
        read_config_file(bad)
    other = tmp_path / "c.ini"
    other.write_text("x=1")
    with pytest.raises(ConfigError, match=".yaml"):
        read_config_file(other)


@pytest.mark.parametrize(
    "suffix, text, message",
    [
        # yaml's own message spanned five lines, quoting the text under "<unicode string>".
        (".yaml", "steps: 3\nrecipe: [episode\nseed: 1\n",
         "not valid YAML: line 3, column 5: expected ',' or ']', but got ':' (while parsing a flow sequence at line 2, column 9)"),
        (".yaml", "a: 1\na: 2\n", "not valid YAML: line 2, column 1: key 'a' is given twice"),
        (".json", '{"a": 1,\n "a": 2}', "not valid JSON: key 'a' is given twice"),
        (".toml", "a = \n", "not valid TOML: Invalid value (at line 1, column 5)"),
    ],
)
def test_a_settings_file_that_does_not_parse_is_one_line_naming_the_place(tmp_path, suffix, text, message):
    path = tmp_path / f"settings{suffix}"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_config_file(path)
    assert str(caught.value) == f"config file {path} is {message}"


def test_parse_assignment():
    assert parse_assignment("num_questions=5") == ("num_questions", 5)
    assert parse_assignment("lora=true") == ("lora", True)
    assert parse_assignment("lora_target_modules=[q_proj, v_proj]") == ("lora_target_modules", ["q_proj", "v_proj"])
    assert parse_assignment("env.hard_cap_mode=false") == ("env", {"hard_cap_mode": False})
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_assignment("steps")


# --------------------------------------------------------------------------- credit


def test_rloo_by_group_leaves_each_sample_out():
    # group 1: [1, 0, 1] -> 1 - 0.5, 0 - 1, 1 - 0.5; group 2: [2, nan, 0] -> nan is unscored: 2 - 0, 0, 0 - 2
    assert credit.rloo_by_group([1, 0, 1, 2, math.nan, 0], 3) == [0.5, -1.0, 0.5, 2.0, 0.0, -2.0]


def test_reward_to_go_by_group_by_hand():
    # Episode a: rewards [1, 0.5] -> returns-to-go [1.5, 0.5]; episode b: [0, 0.2, 0.1] -> [0.3, 0.3, 0.1].
    # Baseline per question (a's return after its end is 0): [0.9, 0.4, 0.05].
    values = credit.reward_to_go_by_group([[1, 0.5], [0, 0.2, 0.1], [2], [0]], 2)
    expected = [[0.6, 0.1], [-0.6, -0.1, 0.05], [1.0], [-1.0]]
    assert len(values) == 4
    for row, want in zip(values, expected):
        assert row == pytest.approx(want)


def test_brpo_by_group_by_hand():
    # S = 2 budgets, uniform prior. Thought a scores [1, 0]: R = [0.5, 0]; b scores [0, 1]: R = [0.5, 0.5].
    # s = 0: baseline = group mean of R_0 = 0.5 -> both 0.
    # s = 1: V2 = mean R_1 = 0.25; V1(a) = 1 * p_1 = 0.5, V1(b) = 0; B = (V1 + V2) / 2 -> a: 0.375, b: 0.125.
    values = credit.brpo_by_group([[1, 0], [0, 1]], [0.5, 0.5], 2)
    assert values[0] == pytest.approx([0.0, -0.375])
    assert values[1] == pytest.approx([0.0, 0.375])


def test_token_advantages_and_segments():
    assert credit.token_advantages([1, 2], [[0, 2], [4, 5]], 7) == [1, 1, 0, 0, 2, 0, 0]
    assert credit.segment_spans([10, 25], [4, 8, 12, 16]) == [[10, 14], [14, 18], [18, 22], [22, 25]]
    # A response that stopped at 6 tokens has empty late segments.
    assert credit.segment_spans([0, 6], [4, 8, 12]) == [[0, 4], [4, 6], [6, 6]]
    with pytest.raises(ConfigError, match="out of order"):
        credit.token_advantages([1, 2], [[3, 5], [0, 2]], 7)
    with pytest.raises(ConfigError, match="groups of 3"):
        credit.rloo_by_group([1, 2], 3)


# --------------------------------------------------------------------------- rollout prompts and rewards


def test_episode_prompt_round_trip_and_groups():
    assert episode_seed(episode_prompt(42)) == 42
    assert episode_seed("reasoning-economics episode, seed=7") == 7
    assert group_seeds([episode_prompt(3)] * 2 + [episode_prompt(9)] * 2, 2) == [3, 3, 9, 9]
    with pytest.raises(ConfigError, match="do not share one seed"):
        group_seeds([episode_prompt(3), episode_prompt(4)], 2)
    with pytest.raises(ConfigError, match="does not name an episode seed"):
        episode_seed([{"role": "user", "content": "What is 2+2?"}])
    with pytest.raises(ConfigError, match="non-negative"):
        episode_prompt(-1)


def test_field_reward_reads_the_rollout_field():
    assert episode_return_reward.__name__ == "episode_return"
    assert episode_return_reward(["p", "p"], ["a", "b"], episode_return=[1.25, -0.1]) == [1.25, -0.1]
    with pytest.raises(RewardInputError, match="episode_return"):
        FieldReward("episode_return", "r")(["p"], ["a"])
    with pytest.raises(RewardInputError, match="2 values for 1"):
        FieldReward("x", "r")(["p"], ["a"], x=[1, 2])


def _verdict_fields():
    # Two groups (seeds 1 and 2), interleaved to show grouping is by seed, not by position.
    return {
        "seed": [1, 2, 1, 1, 2],
        "correct": [[True], [False], [True], [False], [True]],
        "response_tokens": [[10], [7], [20], [5], [9]],
        "truncated": [[False], [False], [False], [False], [True]],
    }


def test_group_verdict_rewards_by_hand():
    fields = _verdict_fields()
    prompts = completions = ["x"] * 5
    assert GroupVerdictReward("correctness")(prompts, completions, **fields) == [1.0, 0.0, 1.0, 0.0, 1.0]
    # Efficiency, seed 1: correct lengths 10 and 20 -> mean 15, std 5, z = -1 and +1;
    # 1 - 0.1*sigmoid(-1) = 0.973106, 1 - 0.1*sigmoid(1) = 0.926894; the wrong one 0.
    # Seed 2: the only correct sample was cut at the limit -> 0, like the wrong one.
    efficiency = GroupVerdictReward("efficiency", alpha=0.1)(prompts, completions, **fields)
    assert efficiency == pytest.approx([0.9731059, 0.0, 0.9268941, 0.0, 0.0], abs=1e-6)
    # REA-RL length, seed 1: 0.5 - (L - 10)/(20 - 10) -> 0.5 and -0.5; wrong -0.5.
    # Seed 2: one correct sample (L_max = L_min) -> 0; the wrong one -0.5.
    rea = GroupVerdictReward("rea_length")(prompts, completions, **fields)
    assert rea == pytest.approx([0.5, -0.5, -0.5, -0.5, 0.0])
    assert GroupVerdictReward("rea_length").__name__ == "rea_length"
    with pytest.raises(ConfigError, match="unknown group reward"):
        GroupVerdictReward("kimi")
    with pytest.raises(RewardInputError, match="response_tokens"):
        GroupVerdictReward("efficiency")(prompts, completions, seed=[1] * 5, correct=[[True]] * 5)


# --------------------------------------------------------------------------- logs


def test_log_record_maps_trainer_metrics():
    logs = {"reward": 0.5, "episode/accuracy": 0.25, "episode/tokens_per_question": 40.0, "loss": 0.1, "other": 3}
    record = log_record(2, 0.5, 12.3456, logs)
    assert record["step"] == 2 and record["time_s"] == 12.346
    assert (record["reward"], record["accuracy"], record["tokens_per_question"]) == (0.5, 0.25, 40.0)
    assert record["budget_utilization"] is None  # not logged by this recipe
    assert record["metrics"]["other"] == 3


def test_read_training_log_keeps_last_record_per_step_and_plots(tmp_path):
    log = tmp_path / "train_log.jsonl"
    lines = [log_record(s, None, s, {"reward": r, "episode/accuracy": r / 2}) for s, r in [(1, 0.1), (2, 0.2), (1, 0.3)]]
    log.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    records = read_training_log(tmp_path)  # a run directory works too
    assert [(r["step"], r["reward"]) for r in records] == [(1, 0.3), (2, 0.2)]  # a resumed run overwrote step 1
    png = plot_training_curves([log, log], labels=["a", "b"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    with pytest.raises(ConfigError, match="no training log"):
        read_training_log(tmp_path / "nowhere")
    log.write_text("{not json\n")
    with pytest.raises(ConfigError, match=":1 is not a training-log record"):
        read_training_log(log)


def test_training_curves_draw_any_run_name_and_keep_many_legends_off_the_panels(tmp_path):
    import io

    from PIL import Image

    log = tmp_path / "train_log.jsonl"
    log.write_text(json.dumps(log_record(1, None, 1, {"reward": 0.5})) + "\n")

    def size(png: bytes) -> tuple[int, int]:
        return Image.open(io.BytesIO(png)).size

    # Before, "$\\frac{$" raised matplotlib's ParseFatalException while drawing (read as TeX).
    few = plot_training_curves([log, log], labels=["$\\frac{$", "esc\x1b[31m"])
    assert size(few) == (1300, 700)  # 13 x 7 inches at 100 dpi: the legend sits in the first panel
    many = plot_training_curves([log] * 10, labels=[f"run-{index}" for index in range(10)])
    assert size(many)[0] > 1300 and size(many)[1] == 700  # widened for a legend beside the panels


# --------------------------------------------------------------------------- chat formatting


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory):
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    from reasoning_economics.training.tiny import build_tiny_model

    return AutoTokenizer.from_pretrained(build_tiny_model(tmp_path_factory.mktemp("tiny") / "m"))


def test_chat_format_prompt_and_observation_ids(tiny_tokenizer):
    from reasoning_economics.training.conversation import ChatFormat

    chat = ChatFormat(tiny_tokenizer, [tiny_tokenizer.eos_token_id], system_prompt="Be brief.")
    assert chat.end_of_turn_id == tiny_tokenizer.convert_tokens_to_ids("<|im_end|>")
    prompt = tiny_tokenizer.decode(chat.prompt_ids("Q1?"))
    assert prompt == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nQ1?<|im_end|>\n<|im_start|>assistant\n"
    # After a response that ended its turn, the observation starts right after <|im_end|> ...
    closed = tiny_tokenizer.decode(chat.observation_ids("Q2?", response_closed=True))
    assert closed == "\n<|im_start|>user\nQ2?<|im_end|>\n<|im_start|>assistant\n"
    # ... and after one cut at its token limit, the observation closes the turn first.
    cut = chat.observation_ids("Q2?", response_closed=False)
    assert cut[0] == chat.end_of_turn_id
    assert tiny_tokenizer.decode(cut) == "<|im_end|>" + closed


def test_chat_format_rejects_templates_it_cannot_split(tiny_tokenizer):
    import copy

    from reasoning_economics.training.conversation import ChatFormat

    no_end_of_turn = copy.deepcopy(tiny_tokenizer)
    no_end_of_turn.chat_template = "{% for m in messages %}{{ m['content'] }}\n{% endfor %}"
    with pytest.raises(ConfigError, match="end-of-sequence"):
        ChatFormat(no_end_of_turn, [tiny_tokenizer.eos_token_id])
    last_turn_only = copy.deepcopy(tiny_tokenizer)
    last_turn_only.chat_template = "{{ messages[-1]['content'] }}<|im_end|>"
    with pytest.raises(ConfigError, match="prefix-preserving"):
        ChatFormat(last_turn_only, [tiny_tokenizer.eos_token_id]).observation_ids("Q2?", True)
    no_template = copy.deepcopy(tiny_tokenizer)
    no_template.chat_template = None
    with pytest.raises(ConfigError, match="no chat template"):
        ChatFormat(no_template, [tiny_tokenizer.eos_token_id])


def test_cut_at_eos():
    from reasoning_economics.training.generation import _cut_at_eos

    eos = frozenset({9})
    assert _cut_at_eos([1, 2, 9, 4], 10, eos) == ([1, 2, 9], True)  # ends its turn: keep the EOS
    assert _cut_at_eos([1, 2, 3, 4], 3, eos) == ([1, 2, 3], False)  # cut at the limit
    assert _cut_at_eos([1, 2, 3, 9], 3, eos) == ([1, 2, 3], False)  # the EOS lies past the limit


def test_cli_resolves_file_flags_and_set(tmp_path):
    from typer.testing import CliRunner

    from reasoning_economics.cli import app

    path = tmp_path / "train.yaml"
    path.write_text("steps: 7\nnum_generations: 8\nenv:\n  budget_ratio: 2.0\n")
    args = ["train", "--print-config", "-c", str(path), "--steps", "5", "--set", "env.budget_ratio=1", "--lora"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    resolved = json.loads(result.output)
    assert (resolved["steps"], resolved["num_generations"], resolved["lora"]) == (5, 8, True)
    assert resolved["env"] == {"budget_ratio": 1}
    bad = CliRunner().invoke(app, ["train", "--print-config", "--set", "num_generations=1"])
    assert bad.exit_code == 2 and "num_generations must be >= 2" in bad.output
    not_a_mapping = CliRunner().invoke(app, ["train", "--print-config", "--set", "env=[1]"])  # was a TypeError
    assert not_a_mapping.exit_code == 2 and "must be a mapping of EnvConfig fields" in not_a_mapping.output


TRAIN_CLI = """
import sys
from typer.testing import CliRunner
from reasoning_economics.cli import app
result = CliRunner().invoke(app, ["train", "--steps", "1", *sys.argv[1:]])
print(result.exit_code, isinstance(result.exception, SystemExit), "torch" in sys.modules)
print(result.output, end="")
"""


@pytest.mark.parametrize("dataset", ["file:{tmp}/no-such.jsonl", "file:{tmp}/empty-folder"])
def test_a_dataset_that_cannot_be_read_fails_before_the_model_loads(tmp_path, dataset):
    # It failed at the first step, after the model had loaded (the embedded one: ~40 s), and
    # left a run folder that a corrected start then refused as "already holds a training run".
    from typer.testing import CliRunner

    from reasoning_economics.cli import app

    pytest.importorskip("trl")
    (tmp_path / "empty-folder").mkdir()
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["train", "--steps", "1", "-o", str(out), "--set", f"env.dataset={dataset.format(tmp=tmp_path)}"]
    )
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and ("no such file" in result.output or "no data files" in result.output)
    assert not out.exists()


def test_cli_output_dir_that_cannot_be_a_directory_fails_before_any_model_work(tmp_path):
    # In a fresh process, so that "torch was never imported" shows the check came first.
    import subprocess
    import sys

    afile = tmp_path / "afile"
    afile.write_text("")
    for out, message in ((afile, "exists and is not a directory"), (afile / "run", f"{str(afile)!r} is a file")):
        done = subprocess.run(
            [sys.executable, "-c", TRAIN_CLI, "-o", str(out)], capture_output=True, text=True, timeout=120
        )
        status, output = done.stdout.split("\n", 1)
        assert status == "2 True False", done.stdout + done.stderr
        assert output.startswith(f"error: output_dir {str(out)!r}") and message in output


# --------------------------------------------------------------------------- backends


def test_use_vllm_without_vllm_is_a_missing_extra_error(tmp_path):
    # vLLM is a GPU-only extra; where it is absent, asking for it names the extra before any model
    # is loaded (the model name below does not even exist) and creates no run directory.
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    pytest.importorskip("trl")
    from reasoning_economics.errors import MissingExtraError
    from reasoning_economics.training.runner import build_trainer

    out = tmp_path / "run"
    config = TrainConfig(model=str(tmp_path / "no-such-model"), use_vllm=True, output_dir=str(out))
    with pytest.raises(MissingExtraError, match=r"reasoning-economics\[vllm\]"):
        build_trainer(config)
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--recipe", "bogus"], "unknown recipe 'bogus'"),
        (["--recipe", "anytime", "--set", "anytime_prior=bogus"], "unknown budget prior 'bogus'"),
        # Whatever the recipe: a misspelt prior is a mistake, not a knob another recipe reads.
        (["--recipe", "episode", "--set", "anytime_prior=bogus"], "unknown budget prior 'bogus'"),
        (["--recipe", "episode", "--advantage", "brpo"], "the brpo advantage needs the anytime recipe"),
        (["--recipe", "length", "--advantage", "reward_to_go"], "the reward_to_go advantage credits the episode"),
        (["--advantage", "gae"], "advantage must be one of grpo, rloo, reward_to_go, brpo"),
    ],
)
def test_cli_recipe_errors_come_before_any_model_work(tmp_path, args, message):
    # Each was found only after TRL's import and the model load (about 30 s on this machine).
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", TRAIN_CLI, "-o", str(tmp_path / "run"), *args], capture_output=True, text=True, timeout=120
    )
    status, output = done.stdout.split("\n", 1)
    assert status == "2 True False", done.stdout + done.stderr
    assert output.startswith("error: ") and message in output
    assert not (tmp_path / "run").exists()
    # --print-config prints only settings a run would accept (it printed the unknown recipe).
    printed = subprocess.run(
        [sys.executable, "-c", TRAIN_CLI, "-o", str(tmp_path / "run"), *args, "--print-config"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if "brpo advantage" not in message and "reward_to_go advantage" not in message:  # checked by the recipe
        assert printed.stdout.startswith("2 ") and message in printed.stdout, printed.stdout + printed.stderr


def test_recipe_knobs_the_recipe_does_not_read_are_reported(tmp_path):
    from typer.testing import CliRunner

    from reasoning_economics.cli import app
    from reasoning_economics.training.recipes import RECIPE_SETTINGS, RECIPES, ignored_settings

    assert set(RECIPE_SETTINGS) == set(RECIPES)
    assert ignored_settings(TrainConfig(recipe="episode", anytime_prior="linear", num_questions=5)) == ["anytime_prior"]
    assert ignored_settings(TrainConfig(recipe="length", num_questions=5, length_alpha=0.2)) == ["num_questions"]
    assert ignored_settings(TrainConfig(recipe="anytime", anytime_prior="linear", summary_tokens=50)) == []
    # Values equal to the defaults say nothing about intent.
    assert ignored_settings(TrainConfig(recipe="reflection", anytime_prior="uniform")) == []

    afile = tmp_path / "afile"
    afile.write_text("")  # an unusable -o stops the run right after the warnings are printed
    result = CliRunner().invoke(app, ["train", "--recipe", "length", "--set", "reflection_weight=0.5", "-o", str(afile)])
    assert result.exit_code == 2
    assert "warning: reflection_weight=0.5 is ignored: recipe 'length' does not read it" in result.output


# --------------------------------------------------------------------------- reward input checks


@pytest.mark.parametrize(
    ("values", "named"),
    [
        # float() read these as NaN and inf, and returned them as rewards.
        ([math.nan, math.inf], r"episode_return\[0\] must be a finite number"),
        (["nan", "1e999"], r"episode_return\[0\] must be a finite number, got 'nan'"),
        # Its characters were one value per completion: [1.0, 2.0].
        ("12", "episode_return must be a sequence of numbers, got str"),
        ([None, 1.0], r"episode_return\[0\] must be a finite number, got None"),
        ([10**400, 1.0], r"episode_return\[0\] must be at most 1e\+150"),
        ([[1.0], 1.0], r"episode_return\[0\] must be a finite number, got a value of type list"),
    ],
)
def test_field_reward_values_must_be_finite_numbers(values, named):
    with pytest.raises(RewardInputError, match=named):
        episode_return_reward(["p", "p"], ["a", "b"], episode_return=values)


def test_group_verdict_flags_are_checked_as_flags():
    import numpy as np

    prompts = completions = ["x", "x"]
    fields = {"seed": [1, 1], "response_tokens": [[10], [20]], "truncated": [[False], [False]]}
    # bool("False") is True: both strings scored a right answer, [1.0, 1.0].
    with pytest.raises(RewardInputError, match=r"correct\[0\] must be a sequence of flags, got str"):
        GroupVerdictReward("correctness")(prompts, completions, correct=["False", "0"], **fields)
    with pytest.raises(RewardInputError, match=r"correct\[0\]\[0\] must be a bool or 0/1, got 'False'"):
        GroupVerdictReward("correctness")(prompts, completions, correct=[["False"], ["0"]], **fields)
    # Both were read as cut off, so the efficiency reward gave both right answers 0.
    with pytest.raises(RewardInputError, match=r"truncated\[0\] must be a sequence of flags"):
        GroupVerdictReward("efficiency")(
            prompts, completions, seed=[1, 1], correct=[[True], [True]], response_tokens=[[10], [20]],
            truncated=["False", "False"],
        )  # fmt: skip
    # Scalar flags were a raw TypeError ("'bool' object is not iterable").
    with pytest.raises(RewardInputError, match=r"correct\[0\] must be a sequence of flags, got bool"):
        GroupVerdictReward("correctness")(prompts, completions, correct=[True, False], **fields)
    with pytest.raises(RewardInputError, match=r"response_tokens\[1\]\[0\] must be a finite number"):
        GroupVerdictReward("rea_length")(
            prompts, completions, seed=[1, 1], correct=[[True], [True]], response_tokens=[[10], ["20"]],
            truncated=[[False], [False]],
        )  # fmt: skip
    # numpy rows raised numpy's ambiguous truth value error; they are read as flags and counts.
    # Episode 0 got one of two answers wrong -> 0; episode 1 right -> 1.
    rows = {"seed": [1, 1], "response_tokens": [np.array([4, 6]), np.array([20])],
            "truncated": [np.array([False, False]), np.array([False])]}  # fmt: skip
    assert GroupVerdictReward("correctness")(
        prompts, completions, correct=[np.array([True, False]), np.array([True])], **rows
    ) == [0.0, 1.0]


def test_trl_reward_options_that_are_one_string_are_refused_when_built():
    from reasoning_economics.training.trl_rewards import make_reward_func

    # tuple("but") counted the letters b, u and t as keywords; count_reflections refuses a str too.
    with pytest.raises(RewardInputError, match=r"keywords must be a sequence of words, not one string: use \('but',\)"):
        make_reward_func("reflection", keywords="but")
    with pytest.raises(RewardInputError, match="keywords must be non-empty strings"):
        make_reward_func("reflection", keywords=["but", ""])
    assert dict(make_reward_func("reflection", keywords=["but"]).options) == {"keywords": ("but",)}
    # "12" became the EOS ids (1, 2).
    with pytest.raises(ConfigError, match="eos_token_ids must be a list of token ids, got str"):
        make_reward_func("efficiency", eos_token_ids="12")
    with pytest.raises(ConfigError, match="eos_token_ids must hold ints >= 0, got True"):
        make_reward_func("efficiency", eos_token_ids=[True])
    assert make_reward_func("efficiency", eos_token_ids={7}).eos_token_ids == (7,)
    # end_marker=5 was accepted and raised a raw TypeError on the first call.
    with pytest.raises(ConfigError, match="end_marker must be a non-empty string, got 5"):
        make_reward_func("correctness", end_marker=5)


def test_trl_completions_and_prompts_outside_the_chat_format_are_refused():
    from reasoning_economics.training.trl_rewards import completion_text, correctness_reward, group_indices

    # A list of strings is no message list: "\\boxed{4}" was read as "" and scored 0.
    with pytest.raises(RewardInputError, match="a conversational completion must be a list of"):
        correctness_reward(["q"], [["\\boxed{4}"]], answer=["4"])
    with pytest.raises(RewardInputError, match="a content part must be a dict"):
        completion_text([{"role": "assistant", "content": ["\\boxed{4}"]}])
    # A text part whose text is None was a raw TypeError from str.join.
    with pytest.raises(RewardInputError, match="a content part's text must be a string, got NoneType"):
        completion_text([{"role": "assistant", "content": [{"type": "text", "text": None}]}])
    # The standard parts still read: text parts joined, an image part has no text.
    parts = [{"type": "text", "text": "\\boxed{"}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "4}"}]
    assert completion_text([{"role": "assistant", "content": parts}]) == "\\boxed{4}"
    # Prompts of strings all had the key () and merged into one group.
    with pytest.raises(RewardInputError, match="a conversational prompt must be a list of"):
        group_indices([["a"], ["b"]])


def test_print_config_refuses_what_a_start_would_refuse():
    # --print-config printed settings the start then refused (reward_to_go under the length recipe).
    from typer.testing import CliRunner

    from reasoning_economics.cli import app

    refused = CliRunner().invoke(app, ["train", "--print-config", "--recipe", "length", "--advantage", "reward_to_go"])
    assert refused.exit_code == 2 and "the reward_to_go advantage credits the episode recipe's" in refused.output
    printed = CliRunner().invoke(app, ["train", "--print-config", "--recipe", "length", "--set", "num_questions=5"])
    assert printed.exit_code == 0 and json.loads(printed.output)["num_questions"] == 5  # the JSON alone


def test_resume_and_the_interrupt_hint_skip_a_checkpoint_cut_short(tmp_path):
    # Ctrl-C while the trainer saved left checkpoint-4 without its trainer_state.json: the hint
    # named it and --resume picked it, then failed to read its step; checkpoint-2 was intact.
    from reasoning_economics.training.command import _interrupted_hint
    from reasoning_economics.training.runner import _resume_checkpoint, checkpoint_step, complete_checkpoints

    for step in (2, 10):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    (tmp_path / "checkpoint-12").mkdir()  # cut short
    (tmp_path / "checkpoint-12" / "model.safetensors").write_bytes(b"partial")
    assert [path.name for path in complete_checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-10"]  # by step, not name
    latest = _resume_checkpoint(TrainConfig(resume=True, output_dir=str(tmp_path)), tmp_path)
    assert latest == str(tmp_path / "checkpoint-10") and checkpoint_step(latest) == 10
    assert f"the last checkpoint is {tmp_path / 'checkpoint-10'};" in _interrupted_hint(tmp_path, 20)
    (tmp_path / "checkpoint-2" / "trainer_state.json").unlink()
    (tmp_path / "checkpoint-10" / "trainer_state.json").unlink()
    with pytest.raises(ConfigError, match="--resume: no complete checkpoint-\\* directory"):
        _resume_checkpoint(TrainConfig(resume=True, output_dir=str(tmp_path)), tmp_path)
    assert "no checkpoint was saved" in _interrupted_hint(tmp_path, 20)
