"""The user's own instruction data: reading every format and shape, bad records named,
the loss on the answers only, length decisions, the split, generation metrics, export of
a merged LoRA model, and the packing collator's refusal on a CPU."""

from __future__ import annotations

import json
import logging

import pytest

from lmtune.core.blocks import IGNORE_INDEX
from lmtune.core.completions import encode_example, packing_collator, padding_collator
from lmtune.core.errors import DataError, LmtuneError, ModelError, TrainingError
from lmtune.core.jsonl import read_jsonl
from lmtune.instruct.data import Conversation, PromptCompletion, read_examples, split_examples, warn_overlap
from lmtune.instruct.encoding import encode_for_training
from lmtune.instruct.metrics import generation_metrics

from conftest import tiny_models

PAIRS = [
    {"prompt": "Traduce: hola\n", "completion": "hello"},
    {"prompt": "Traduce: gato\n", "completion": "cat, \"the\" animal\nwith a second line"},
]
CHATS = [
    {"messages": [{"role": "user", "content": "Hola"}, {"role": "assistant", "content": "¿Qué tal?"}]},
    {"messages": [
        {"role": "system", "content": "Eres breve."},
        {"role": "user", "content": "2+2"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "¿y 3+3?"},
        {"role": "assistant", "content": "6"},
    ]},
]


def write_data(folder, records, fmt):
    """`records` saved as a user would save them, in format `fmt`."""
    if fmt == "jsonl":
        path = folder / "data.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    elif fmt == "csv":
        import pandas as pd

        path = folder / "data.csv"
        # A list of turns is a JSON cell.
        rows = [{**r, **{k: json.dumps(r[k], ensure_ascii=False) for k in ("messages", "conversations") if k in r}} for r in records]
        pd.DataFrame(rows).to_csv(path, index=False)
    elif fmt == "parquet":
        import pandas as pd

        path = folder / "data.parquet"
        pd.DataFrame(records).to_parquet(path)
    else:
        import datasets

        path = folder / "saved"
        datasets.Dataset.from_list(records).save_to_disk(str(path))
    return path


@pytest.fixture(scope="module")
def llama_tokenizer():
    from lmtune.core.models import load_tokenizer

    return load_tokenizer(tiny_models()["tiny-llama"])


# Reading -----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "saved"])
def test_every_format_reads_both_shapes_to_the_same_examples(tmp_path, fmt):
    (tmp_path / "pairs").mkdir()
    (tmp_path / "chats").mkdir()
    pairs = read_examples(write_data(tmp_path / "pairs", PAIRS, fmt))
    chats = read_examples(write_data(tmp_path / "chats", CHATS, fmt))
    assert pairs == [PromptCompletion(r["prompt"], r["completion"]) for r in PAIRS]
    assert [c.as_dicts() for c in chats] == [r["messages"] for r in CHATS]
    assert all(isinstance(c, Conversation) for c in chats)


ALPACA = [
    {"instruction": "Traduce al inglés", "input": "hola", "output": "hello"},
    {"instruction": "Di un número", "input": "", "output": "7"},
    {"instruction": "Saluda", "output": "¡Hola!"},
]
SHAREGPT = [
    {"conversations": [{"from": "human", "value": "Hola"}, {"from": "gpt", "value": "¿Qué tal?"}]},
    {"conversations": [
        {"from": "system", "value": "Eres breve."}, {"from": "human", "value": "2+2"}, {"from": "gpt", "value": "4"},
        {"from": "human", "value": "¿y 3+3?"}, {"from": "gpt", "value": "6"},
    ]},
]
ALPACA_AS_CHAT = [
    (("user", "Traduce al inglés\nhola"), ("assistant", "hello")),
    (("user", "Di un número"), ("assistant", "7")),
    (("user", "Saluda"), ("assistant", "¡Hola!")),
]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "saved"])
def test_alpaca_and_sharegpt_records_are_read_as_chat_records(tmp_path, fmt):
    (tmp_path / "alpaca").mkdir()
    (tmp_path / "sharegpt").mkdir()
    alpaca = write_data(tmp_path / "alpaca", ALPACA, fmt)
    sharegpt = write_data(tmp_path / "sharegpt", SHAREGPT, fmt)
    chats = [Conversation(tuple((t["role"], t["content"]) for t in r["messages"])) for r in CHATS]
    assert read_examples(sharegpt) == read_examples(sharegpt, "sharegpt") == chats
    assert [e.messages for e in read_examples(alpaca)] == [e.messages for e in read_examples(alpaca, "alpaca")] == ALPACA_AS_CHAT


def test_a_named_record_format_reads_every_record_as_that_format(tmp_path):
    pairs = write_data(tmp_path, PAIRS, "jsonl")
    assert read_examples(pairs, "prompt_completion") == read_examples(pairs)
    with pytest.raises(DataError, match=r"data\.jsonl line 1: field 'messages' is missing \(the file is read as chat data\)"):
        read_examples(pairs, "chat")
    with pytest.raises(DataError, match=r"data\.jsonl line 1: field 'instruction' is missing \(the file is read as alpaca data\)"):
        read_examples(pairs, "alpaca")


def test_the_config_schema_offers_the_record_formats_the_reader_reads():
    from lmtune.experiments import config_schema
    from lmtune.instruct.data import AUTO, RECORD_FORMATS

    schema = config_schema()
    setting = schema["properties"]["instruct"]["properties"]["data"]["properties"]["format"]
    assert setting["enum"] == [AUTO, *RECORD_FORMATS] and setting["default"] == AUTO


def test_records_written_back_read_the_same_and_split_into_query_and_reference(tmp_path):
    examples = [PromptCompletion(r["prompt"], r["completion"]) for r in PAIRS]
    examples += [Conversation(tuple((t["role"], t["content"]) for t in r["messages"])) for r in CHATS]
    for shape in (examples[:2], examples[2:]):
        assert read_examples(write_data(tmp_path, [e.to_record() for e in shape], "jsonl")) == shape
    assert (examples[0].query, examples[0].reference) == (PAIRS[0]["prompt"], "hello")
    # A conversation is answered up to its last assistant turn, earlier answers included.
    assert examples[3].query == CHATS[1]["messages"][:4] and examples[3].reference == "6"


def test_a_csv_record_after_a_multiline_cell_is_named_by_its_own_line(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text('prompt,completion\n"a\nb\nc",x\nd,\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"data\.csv line 5: field 'completion' is empty"):
        read_examples(path)


def test_jsonl_lines_end_at_newlines_only(tmp_path):
    """JSON writes U+2028 and U+2029 unescaped (ensure_ascii=False); str.splitlines()
    breaks at them, cutting a record in two. A "\\r\\n" line end reads as "\\n"."""
    records = [{"prompt": "a\u2028b", "completion": "c\u2029d"}, {"prompt": "\u2028", "completion": "e\u0085f\x1c"}]
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\r\n" for r in records))
    assert read_jsonl(path) == records
    assert [e.to_record() for e in read_examples(path)] == records


BAD_JSONL = [
    # (file bytes, what the message must say)
    (b'{"prompt": "a", "completion": "b"}\n{"prompt": "c"}\n', "data.jsonl line 2: field 'completion' is missing"),
    (b'{"prompt": "a", "completion": "  \\n"}\n', "data.jsonl line 1: field 'completion' is empty"),
    (b'{"prompt": "a", "completion": "b"}\n\n{"prompt": 3, "completion": "b"}\n', "data.jsonl line 3: field 'prompt' is int, not a string"),
    ('{"prompt": "a", "completion": "b"}\n{"prompt": "ca\xf1a", "completion": "b"}\n'.encode("latin-1"), "data.jsonl line 2: not UTF-8 text (byte 0xf1"),
    (b'{"prompt": "a", "completion": "\\ud800"}\n', "data.jsonl line 1: field 'completion' is not valid Unicode"),
    (b'{"prompt": "a", "completion": "b"\n', "data.jsonl line 1: not valid JSON"),
    (b'["a", "b"]\n', "data.jsonl line 1: a record must be an object"),
    (b'{"text": "a"}\n', "data.jsonl line 1: a record of no known format (it has 'text'); expected the fields 'messages' (chat); "
     "'conversations' (sharegpt); 'instruction' and 'output' (alpaca); 'prompt' and 'completion' (prompt_completion); "
     "instruct.data.format accepts auto, chat, sharegpt, alpaca, prompt_completion"),
    (b'{"messages": [{"role": "user", "content": "a"}, {"role": "asistant", "content": "b"}]}\n',
     "data.jsonl line 1: field messages[1].role is 'asistant', not one of system, user, assistant"),
    (b'{"conversations": [{"from": "human", "value": "a"}, {"from": "bot", "value": "b"}]}\n',
     "data.jsonl line 1: field conversations[1].from is 'bot', not one of system, human, gpt"),
    (b'{"conversations": [{"from": "gpt", "value": "a"}]}\n', "data.jsonl line 1: field conversations[0] is an assistant turn"),
    (b'{"instruction": "a", "output": "b"}\n{"instruction": "c", "input": 3, "output": "d"}\n',
     "data.jsonl line 2: field 'input' is int, not a string"),
    (b'{"instruction": "a", "output": " "}\n', "data.jsonl line 1: field 'output' is empty"),
    (b'{"instruction": "a", "output": "b"}\n{"prompt": "c", "completion": "d"}\n',
     "data.jsonl line 2: field 'instruction' is missing (the file is alpaca data, from its first record)"),
    (b"\n\n", "holds no records"),
    (b'{"messages": [{"role": "user", "content": "a"}]}\n', "data.jsonl line 1: field 'messages' has no assistant turn"),
    (b'{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": ""}]}\n',
     "data.jsonl line 1: field messages[1].content is empty"),
    (b'{"messages": [{"role": "user", "content": "a"}, {"role": "assistant"}]}\n',
     "data.jsonl line 1: field 'messages[1].content' is missing"),
    (b'{"messages": [{"role": "user", "content": ["a"]}]}\n', "data.jsonl line 1: field 'messages[0].content' is list"),
    (b'{"messages": "hola"}\n', "data.jsonl line 1: field 'messages' is str, not a non-empty list"),
    (b'{"messages": [{"role": "assistant", "content": "Hola"}, {"role": "user", "content": "a"}]}\n',
     "data.jsonl line 1: field messages[0] is an assistant turn: a conversation opens with a system or user turn"),
]


@pytest.mark.parametrize("content, message", BAD_JSONL)
def test_bad_records_stop_the_read_naming_file_line_and_field(tmp_path, content, message):
    path = tmp_path / "data.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        read_examples(path)
    assert isinstance(caught.value, LmtuneError)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_files_and_folders_are_named(tmp_path):
    import datasets
    import pandas as pd

    with pytest.raises(DataError, match="does not exist"):
        read_examples(tmp_path / "missing.jsonl")
    (tmp_path / "data.txt").write_text("a")
    with pytest.raises(DataError, match=r"unknown format '\.txt'; use \.jsonl, \.csv, \.parquet"):
        read_examples(tmp_path / "data.txt")
    datasets.DatasetDict({"train": datasets.Dataset.from_list(PAIRS)}).save_to_disk(str(tmp_path / "dict"))
    with pytest.raises(DataError, match=r"holds several splits \(train\); name one split's folder"):
        read_examples(tmp_path / "dict")
    # Parquet strings are UTF-8 by definition: other bytes come as a binary column.
    pd.DataFrame({"prompt": ["a", "b"], "completion": [b"\xff", b"x"]}).to_parquet(tmp_path / "bytes.parquet")
    with pytest.raises(DataError, match=r"bytes\.parquet row 1: field 'completion' is bytes, not a string"):
        read_examples(tmp_path / "bytes.parquet")


# Split and overlap --------------------------------------------------------------------

def test_the_split_is_seeded_disjoint_and_in_file_order():
    examples = [PromptCompletion(f"p{i}", f"c{i}") for i in range(50)]
    train, validation = split_examples(examples, 0.2, seed=1)
    assert (len(train), len(validation)) == (40, 10)
    assert sorted(train + validation, key=examples.index) == examples
    assert train == sorted(train, key=examples.index) and validation == sorted(validation, key=examples.index)
    assert split_examples(examples, 0.2, seed=1) == (train, validation)
    assert split_examples(examples, 0.2, seed=2)[1] != validation
    with pytest.raises(DataError, match="leaves no validation example"):
        split_examples(examples[:2], 0.1, seed=0)


def test_overlap_between_training_and_validation_is_counted_and_warned(caplog):
    train = [PromptCompletion("a", "b", "t.jsonl line 1"), Conversation((("user", "x"), ("assistant", "y")), "t.jsonl line 2")]
    validation = [
        PromptCompletion("a", "b", "v.jsonl line 1"),  # the same pair, elsewhere
        PromptCompletion("a", "c", "v.jsonl line 2"),
        Conversation((("user", "x"), ("assistant", "y")), "v.jsonl line 3"),
        Conversation((("user", "x"), ("assistant", "z")), "v.jsonl line 4"),
    ]
    with caplog.at_level(logging.WARNING):
        assert warn_overlap(train, validation) == 2
    assert "2 of 4 validation examples are also in the training data (first: v.jsonl line 1)" in caplog.text
    caplog.clear()
    assert warn_overlap(train, validation[1::2]) == 0
    assert not caplog.records


# Encoding ------------------------------------------------------------------------------

def learned_runs(tokenizer, row) -> list[str]:
    """The text of each run of consecutive learned tokens."""
    runs, run = [], []
    for label in row["labels"] + [IGNORE_INDEX]:
        if label != IGNORE_INDEX:
            run.append(label)
        elif run:
            runs.append(tokenizer.decode(run))
            run = []
    return runs


def test_prompt_completion_goes_through_the_experiments_encoding(llama_tokenizer):
    examples = [PromptCompletion(r["prompt"], r["completion"]) for r in PAIRS]
    dataset, _ = encode_for_training(llama_tokenizer, examples, max_length=512, separator=" ")
    assert dataset.to_list() == [encode_example(llama_tokenizer, e.prompt, e.completion, " ") for e in examples]


def test_chat_learns_the_assistant_turns_and_their_end_only(llama_tokenizer):
    assert llama_tokenizer.chat_template  # SmolLM2's tokenizer has one
    conversation = Conversation(tuple((t["role"], t["content"]) for t in CHATS[1]["messages"]))
    dataset, _ = encode_for_training(llama_tokenizer, [conversation], max_length=512)
    row = dataset[0]
    assert learned_runs(llama_tokenizer, row) == ["4<|im_end|>\n", "6<|im_end|>\n"]
    rendered = llama_tokenizer.apply_chat_template(conversation.as_dicts(), tokenize=False)
    assert llama_tokenizer.decode(row["input_ids"]) == rendered


def test_chat_on_a_hand_made_template_with_a_start_token(llama_tokenizer):
    import copy

    tokenizer = copy.deepcopy(llama_tokenizer)
    # Llama 3's shape: the template writes the start token itself, assistant turns end
    # with a marker; and the generation prompt ends in a space that the tokenizer merges
    # with the answer's first word (" Cu"): that token is learned too.
    tokenizer.chat_template = (
        "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}]: {{ m['content'] | trim }}"
        "{% if m['role'] == 'assistant' %}{{ eos_token }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}[assistant]: {% endif %}"
    )
    conversation = Conversation((("user", "¿Cuánto es 2+2?"), ("assistant", "Cuatro."), ("user", "¿Y 3+3?"), ("assistant", "Seis.")))
    row = encode_for_training(tokenizer, [conversation], max_length=512)[0][0]
    assert learned_runs(tokenizer, row) == [" Cuatro.<|im_end|>", " Seis.<|im_end|>"]
    assert row["input_ids"][0] == tokenizer.bos_token_id and row["labels"][0] == IGNORE_INDEX


def test_chat_is_refused_where_the_template_cannot_place_the_assistant(llama_tokenizer):
    import copy

    tokenizer = copy.deepcopy(llama_tokenizer)
    # A template whose opening depends on the whole conversation (here, its turn count):
    # the conversation up to an assistant turn is not the start of the whole.
    tokenizer.chat_template = (
        "{{ messages | length }} turns\n{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}"
    )
    conversation = Conversation((("user", "Hola"), ("assistant", "Hola, ¿en qué ayudo?")), "chat.jsonl line 7")
    with pytest.raises(ModelError, match=r"chat\.jsonl line 7: the chat template of .* renders the conversation up to turn 1"):
        encode_for_training(tokenizer, [conversation], max_length=512)


def test_chat_without_a_chat_template_names_the_model_folder():
    from lmtune.core.models import load_tokenizer

    folder = tiny_models()["tiny-gpt2"]
    tokenizer = load_tokenizer(folder)
    conversation = Conversation((("user", "a"), ("assistant", "b")), "chat.jsonl line 1")
    with pytest.raises(ModelError, match=rf"chat\.jsonl line 1: the tokenizer of {folder} has no chat template"):
        encode_for_training(tokenizer, [conversation], max_length=512)


def test_over_long_examples_are_dropped_or_truncated_and_counted(llama_tokenizer, caplog):
    short = PromptCompletion("corto ", "sí")
    long_answer = PromptCompletion("corto ", "una respuesta bastante más larga que las otras")
    long_prompt = PromptCompletion("una pregunta muy larga que no cabe entera en el límite " * 2, "no")
    limit = len(encode_example(llama_tokenizer, short.prompt, short.completion, "")["input_ids"]) + 2
    examples = [short, long_answer, long_prompt]

    with caplog.at_level(logging.INFO, logger="lmtune.instruct.encoding"):
        dataset, counts = encode_for_training(llama_tokenizer, examples, max_length=limit, overlong="drop")
    assert (counts.kept, counts.dropped, counts.truncated, counts.no_answer_left) == (1, 2, 0, 0)
    assert "kept 1 of 3 examples" in caplog.text and "2 longer dropped" in caplog.text

    dataset, counts = encode_for_training(llama_tokenizer, examples, max_length=limit, overlong="truncate")
    assert (counts.kept, counts.dropped, counts.truncated, counts.no_answer_left) == (2, 0, 1, 1)
    full = encode_example(llama_tokenizer, long_answer.prompt, long_answer.completion, "")
    assert dataset[1] == {key: full[key][:limit] for key in ("input_ids", "attention_mask", "labels")} | {"length": limit}

    with pytest.raises(DataError, match="no example is left: all 2 are longer than max_length 3"):
        encode_for_training(llama_tokenizer, [long_answer, long_prompt], max_length=3)


# Metrics -------------------------------------------------------------------------------

def test_exact_match_and_chrf():
    from sacrebleu.metrics import CHRF

    assert generation_metrics([("hola mundo\n", "hola mundo"), ("adiós", "adiós")]) == {"count": 2, "exact_match": 1.0, "chrf": 100.0}
    near, far = generation_metrics([("hola mundos", "hola mundo")]), generation_metrics([("gato", "hola mundo")])
    assert near["exact_match"] == far["exact_match"] == 0.0
    assert 50 < near["chrf"] < 100 and far["chrf"] < 10
    pairs = [("hola mundos", "hola mundo"), ("el gato", "un gato")]
    mixed = generation_metrics(pairs)
    assert mixed["chrf"] == pytest.approx(CHRF().corpus_score([g for g, _ in pairs], [[r for _, r in pairs]]).score)
    assert generation_metrics([]) == {"count": 0, "exact_match": None, "chrf": None}


# Export --------------------------------------------------------------------------------

def test_exported_model_loads_with_plain_transformers_and_matches_the_adapter(tmp_path, llama_tokenizer):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lmtune.instruct.export import export_model

    base_dir = tiny_models()["tiny-llama"]
    torch.manual_seed(0)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32),
        LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]),
    )
    with torch.no_grad():  # peft starts B at zero, where a merge changes nothing
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.5)
    model.eval()
    model.save_pretrained(tmp_path / "adapter")
    ids = llama_tokenizer("Hola, ¿qué tal estás hoy?", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        adapted = model(ids).logits
        with model.disable_adapter():
            plain = model(ids).logits
    assert (adapted - plain).abs().max() > 1e-2  # the adapter matters

    out = export_model(base_dir, tmp_path / "export", adapter_dir=tmp_path / "adapter")
    assert {p.name for p in out.iterdir()} >= {"config.json", "model.safetensors", "tokenizer.json"}
    assert not list(out.glob("adapter*")) and not list(tmp_path.glob(".export.*"))
    exported = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    with torch.no_grad():
        merged = exported(ids).logits
    # fp32: the merged weight W + s·BA rounds differently from W·x + s·B(A·x).
    assert torch.allclose(merged, adapted, atol=1e-4, rtol=0)
    assert AutoTokenizer.from_pretrained(out).chat_template == llama_tokenizer.chat_template

    with pytest.raises(ModelError, match="has no adapter_config.json"):
        export_model(base_dir, tmp_path / "export2", adapter_dir=tmp_path)


def test_a_fully_fine_tuned_model_exports_in_the_asked_precision(tmp_path, llama_tokenizer):
    import torch
    from transformers import AutoModelForCausalLM

    from lmtune.instruct.export import export_model

    base_dir = tiny_models()["tiny-llama"]
    out = export_model(base_dir, tmp_path / "export", precision="bf16")
    exported = AutoModelForCausalLM.from_pretrained(out)
    original = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    assert {p.dtype for p in exported.parameters()} == {torch.bfloat16}
    for (name, a), (_, b) in zip(exported.named_parameters(), original.named_parameters()):
        assert torch.equal(a, b.to(torch.bfloat16)), name


# Packing -------------------------------------------------------------------------------

def test_packing_is_refused_on_a_cpu(llama_tokenizer):
    from lmtune.core.models import load_model

    model = load_model(tiny_models()["tiny-llama"])
    with pytest.raises(TrainingError, match=r"packing needs the model on a CUDA device \(it is on cpu\).*group_by_length"):
        packing_collator(model)


def test_packed_examples_give_the_padded_loss_with_sdpa_and_no_cache(llama_tokenizer):
    """What the packing option relies on: transformers keeps packed examples apart by
    their restarting position ids (checked on a CPU with sdpa, where it builds a block
    mask; flash attention uses the same ids on CUDA), but only with the cache off,
    which is why `packing_collator` turns it off."""
    import torch
    from transformers import AutoModelForCausalLM, DataCollatorWithFlattening

    model = AutoModelForCausalLM.from_pretrained(tiny_models()["tiny-llama"], dtype=torch.float32, attn_implementation="sdpa").eval()
    examples = [PromptCompletion(r["prompt"], r["completion"]) for r in PAIRS]
    examples.append(Conversation(tuple((t["role"], t["content"]) for t in CHATS[1]["messages"])))
    rows = encode_for_training(llama_tokenizer, examples, max_length=512)[0].to_list()
    packed = DataCollatorWithFlattening(separator_id=IGNORE_INDEX)([dict(r) for r in rows])
    padded = padding_collator(llama_tokenizer)([dict(r) for r in rows])
    assert packed["input_ids"].shape == (1, sum(r["length"] for r in rows))
    with torch.no_grad():
        padded_loss = model(**{k: v for k, v in padded.items() if k != "length"}).loss
        assert torch.allclose(model(**packed, use_cache=False).loss, padded_loss, atol=1e-5)
        assert not torch.allclose(model(**packed).loss, padded_loss, atol=1e-3)  # the cache on: examples mix
