"""Training prompts are production prompts, and the loss covers only what the model adds."""

from __future__ import annotations

import pytest

from hrstack.tasks.prompts import build_messages
from hrstack.training.chat import (
    IGNORE,
    encode_example,
    generation_config,
    penalty,
    render_prompt,
    sampler,
)
from hrstack.training.synth import build_example


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.mark.parametrize("domain", ["resume_guidance", "job_description", "rank"])
def test_prompt_is_what_production_renders_and_labels_cover_only_the_answer(
    tokenizer, domains, rules, domain
):
    example = build_example(domain, 0, 1, domains, rules)
    cfg = domains[domain]
    prompt = render_prompt(tokenizer, build_messages(cfg, example.fields or {}))
    encoded = encode_example(tokenizer, example, cfg, max_length=4096)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids, labels = encoded["input_ids"], encoded["labels"]
    assert ids[: len(prompt_ids)] == prompt_ids
    assert labels[: len(prompt_ids)] == [IGNORE] * len(prompt_ids)
    assert labels[len(prompt_ids) :] == ids[len(prompt_ids) :]
    assert ids[-1] == tokenizer.eos_token_id  # the model learns to stop at <|im_end|>
    trained = tokenizer.decode(ids[len(prompt_ids) :], skip_special_tokens=True)
    if cfg.sent_prefix:  # the server sends "1."; the model is trained on what follows
        assert prompt.endswith("<|im_start|>assistant\n1.")
        assert cfg.sent_prefix + trained == example.answer
    else:
        assert prompt.endswith("<|im_start|>assistant\n")
        assert trained == example.answer


def test_decoding_is_the_domains_production_sampling(tokenizer, domains):
    for name in domains.names():
        sampling = domains[name].sampling
        config = generation_config(domains[name], tokenizer)
        assert config.max_new_tokens == sampling.max_tokens
        assert config.repetition_penalty == sampling.repetition_penalty
        assert config.eos_token_id == tokenizer.convert_tokens_to_ids("<|im_end|>")
        draw = sampler(domains[name])
        assert draw is not None  # every domain samples at temperature 0.3 today
        assert (draw.temperature, draw.top_p) == (sampling.temperature, sampling.top_p)
        freq = penalty(domains[name], prompt_width=7)
        if sampling.frequency_penalty:
            assert freq is not None
            assert (freq.penalty, freq.prompt_width) == (sampling.frequency_penalty, 7)
        else:
            assert freq is None
    assert penalty(domains["ats_keywords"], 0) is not None  # the table sets it where lists repeat


def test_long_rows_are_cut_at_max_length(tokenizer, domains, rules):
    example = build_example("job_resume_match", 0, 1, domains, rules)
    encoded = encode_example(tokenizer, example, domains["job_resume_match"], max_length=32)
    assert len(encoded["input_ids"]) == len(encoded["labels"]) == 32
