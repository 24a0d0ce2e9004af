"""A tiny, randomly initialised chat model built entirely offline, for smoke tests and CI.

:func:`build_tiny_model` trains a small byte-level BPE tokenizer on a few lines of text like the
environment's prompts, gives it a ChatML chat template, and saves it beside a randomly
initialised Qwen2 model of about 30k parameters. The directory loads with
``AutoModelForCausalLM.from_pretrained`` / ``AutoTokenizer.from_pretrained`` and works as
``ree train --model <dir>``: the whole training pipeline runs in seconds on a CPU, with no
download. The model writes noise, of course; it exists to exercise the machinery.
"""

from __future__ import annotations

from pathlib import Path

from reasoning_economics.errors import ConfigError, require

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""ChatML, as Qwen and SmolLM2 use it: prefix-preserving, ``<|im_end|>`` ends every turn."""

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

_CORPUS = (
    "Question 1 of 10. Budget left: 900 tokens for 3 questions (about 300 per question; at most 512 for this answer).",
    "What is 12 + 7? Put your final answer in \\boxed{}. The answer is \\boxed{19}.",
    "Solve for x: 2*x + 3 = 11. Wait, check: x = 4. Alternatively, subtract 3 then divide by 2.",
    "Simplify the fraction 18/24 to lowest terms: 3/4. What is the gcd of 12 and 18? 6.",
    "You are solving a sequence of math problems that share one token budget.",
    "Previous answer: correct (42 tokens charged). Previous answer: incorrect.",
)


def build_tiny_model(
    path: str | Path,
    *,
    seed: int = 0,
    vocab_size: int = 400,
    hidden_size: int = 32,
    num_layers: int = 2,
) -> Path:
    """Write a tiny random Qwen2 chat model and its tokenizer to ``path``; return the path.

    Deterministic for a given ``seed``. Nothing is downloaded.
    """
    if hidden_size % 4 or hidden_size < 8:
        raise ConfigError(f"hidden_size must be a multiple of 4 and >= 8, got {hidden_size}")
    if vocab_size < 300:
        raise ConfigError(f"vocab_size must be >= 300 (256 byte symbols plus merges), got {vocab_size}")
    torch = require("torch", "train")
    transformers = require("transformers", "models")
    tokenizers = require("tokenizers", "models")

    bpe = tokenizers.Tokenizer(tokenizers.models.BPE())
    bpe.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(_CORPUS) * 20, trainer)
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", padding_side="left"
    )
    tokenizer.chat_template = CHATML_TEMPLATE

    config = transformers.Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = transformers.Qwen2ForCausalLM(config)
    finally:
        torch.random.set_rng_state(generator_state)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
