"""Token stores (lmtune.core.tokenstore): the same blocks as lmtune.core.blocks made at
load from a compact memory-mapped file, the test side capped, progress in the log, and an
interrupted tokenization leaving nothing in place."""

import logging
from pathlib import Path

import numpy as np
import pytest

from lmtune.continual.corpus import read_paragraphs, split_train_test
from lmtune.continual.strategies.replay import replay_mix
from lmtune.core import tokenstore
from lmtune.core.blocks import load_blocks, predicted_tokens, tokenize_to_dataset
from lmtune.core.errors import CorpusError
from lmtune.core.splits import split_corpus
from lmtune.core.tokenstore import StoreWriter, TokenBlocks, TokenStore, batch_encoder, tokenize_split, write_stores

CORPUS = Path(__file__).resolve().parents[1] / "resources/corpora/dominio_a_ia.txt"
JAVA_SNIPPETS = Path(__file__).resolve().parents[1] / "resources/java/snippets.jsonl"
TEXTS = ["la inteligencia artificial es un modelo de datos", "el reglamento", "artículo 3.º: la comisión\nse reúne"] * 3


def store_of(texts, tokenizer, folder: Path, max_tokens=None) -> Path:
    folder.mkdir(parents=True)
    write_stores((("train", t) for t in texts), tokenizer, {"train": folder}, sum(map(len, texts)), {"train": max_tokens})
    return folder


def same_rows(a, b):
    assert len(a) == len(b)
    for i in range(len(a)):
        for key in ("input_ids", "attention_mask", "labels"):
            assert list(a[i][key]) == list(b[i][key]), (i, key)


@pytest.mark.parametrize("block_size", [2, 5, 8, 16])
def test_blocks_at_load_are_the_blocks_of_a_saved_table(tiny_tokenizer, tmp_path, block_size):
    folder = store_of(TEXTS, tiny_tokenizer, tmp_path / "store")
    blocks = TokenBlocks(folder, block_size)
    table = tokenize_to_dataset(TEXTS, tiny_tokenizer, block_size)
    same_rows(blocks, table)
    assert predicted_tokens(blocks) == predicted_tokens(table)
    batch, saved = blocks[0:3], table.with_format("torch")[0:3]
    assert all(bool((batch[key] == saved[key]).all()) and batch[key].dtype == saved[key].dtype for key in saved)


def test_the_batch_call_gives_each_text_its_own_ids(tiny_tokenizer):
    from conftest import tiny_models
    from lmtune.core.models import load_tokenizer

    for tokenizer in (tiny_tokenizer, load_tokenizer(tiny_models()["tiny-gpt2"])):
        texts = read_paragraphs(CORPUS)[:20] + [" espacio inicial", "tab\tfinal\n"]
        assert batch_encoder(tokenizer)(texts) == [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]


def test_a_split_tokenizes_into_compact_stores_with_document_ends(tiny_tokenizer, tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(tokenstore, "PROGRESS_EVERY_S", 0.0)
    split = split_corpus(str(CORPUS), 0.15, 0)
    outputs = {"train": tmp_path / "train", "test": tmp_path / "test"}
    with caplog.at_level(logging.INFO):
        tokenize_split(split, tiny_tokenizer, outputs)
    assert "tokens/s" in caplog.text and "s left" in caplog.text
    assert "test: 10 of 10 documents" in caplog.text
    train, _ = split_train_test(read_paragraphs(CORPUS), 0.15, 0)
    store = TokenStore(outputs["train"])
    assert store.metadata["dtype"] == "uint16" and store.metadata["documents"] == len(train)
    ends = np.asarray(store.document_ends)
    assert (store.ids[ends - 1] == tiny_tokenizer.eos_token_id).all()
    assert store.bytes_on_disk() / len(store) < 2.1
    same_rows(TokenBlocks(store, 128), tokenize_to_dataset(train, tiny_tokenizer, 128))


def test_java_snippets_tokenize_into_a_store_whose_blocks_are_the_saved_tables(tiny_tokenizer, tmp_path):
    """The Java corpus's store (tokenize_documents, as tokenize_java_corpus writes it)
    gives at load exactly the blocks that its saved table had, at each block size."""
    from lmtune.java.corpus import clean_snippets, read_source

    snippets = clean_snippets(read_source(str(JAVA_SNIPPETS)), 40, 3000)[:30]
    tokenstore.tokenize_documents(snippets, tiny_tokenizer, tmp_path / "corpus_train", label="java")
    assert not list(tmp_path.glob(".*"))  # nothing left beside the store
    for block_size in (16, 128):
        same_rows(TokenBlocks(tmp_path / "corpus_train", block_size), tokenize_to_dataset(snippets, tiny_tokenizer, block_size))


def test_max_test_tokens_cuts_the_test_stream(tiny_tokenizer, tmp_path):
    split = split_corpus(str(CORPUS), 0.15, 0)
    tokenize_split(split, tiny_tokenizer, {"train": tmp_path / "train", "test": tmp_path / "test"}, max_test_tokens=300)
    store = TokenStore(tmp_path / "test")
    assert len(store) == 300 and int(store.document_ends[-1]) == 300
    full = tokenize_to_dataset(list(split.side_documents("test")), tiny_tokenizer, 300)
    assert list(TokenBlocks(store, 300)[0]["input_ids"]) == list(full[0]["input_ids"])


def test_a_vocabulary_over_65536_stores_uint32(tmp_path):
    writer = StoreWriter(tmp_path, vocabulary_size=70_000, eos_id=69_999, pad_id=0)
    writer.add([[1, 66_000], [5]])
    assert writer.close()["dtype"] == "uint32"
    assert TokenStore(tmp_path).ids.tolist() == [1, 66_000, 69_999, 5, 69_999]


def test_an_interrupted_tokenization_leaves_no_store(tiny_tokenizer, tmp_path):
    split = split_corpus(str(CORPUS), 0.15, 0)

    class Broken(type(split)):
        def sides(self, workdir=Path(".")):
            for number, item in enumerate(super().sides(workdir)):
                if number == 30:
                    raise KeyboardInterrupt
                yield item

    broken = Broken(split.corpus, split.test_mask, split.characters)
    outputs = {"train": tmp_path / "train", "test": tmp_path / "test"}
    with pytest.raises(KeyboardInterrupt):
        tokenize_split(broken, tiny_tokenizer, outputs)
    assert not any(path.exists() for path in outputs.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_store_shorter_than_a_block_is_named(tiny_tokenizer, tmp_path):
    folder = store_of(["la red"], tiny_tokenizer, tmp_path / "test")
    with pytest.raises(CorpusError, match=r"test has 3 tokens, fewer than one block of 64"):
        load_blocks(folder, 64)


def test_replay_draws_from_stores_as_from_saved_tables(tiny_tokenizer, tmp_path):
    a_texts, b_texts = TEXTS, ["el reglamento de la universidad es una norma"] * 6
    stores = {name: TokenBlocks(store_of(texts, tiny_tokenizer, tmp_path / name), 8) for name, texts in (("A", a_texts), ("B", b_texts))}
    tables = {"A": tokenize_to_dataset(a_texts, tiny_tokenizer, 8), "B": tokenize_to_dataset(b_texts, tiny_tokenizer, 8)}
    same_rows(replay_mix(stores["B"], [stores["A"], stores["A"]], 0.25, 3), replay_mix(tables["B"], [tables["A"], tables["A"]], 0.25, 3))


def test_the_cross_evaluation_reads_a_splits_test_side_for_its_own_tokenizer(tiny_tokenizer, tmp_path):
    from lmtune.cross import load_evaluation_set

    split_corpus(str(CORPUS), 0.15, 0).write(tmp_path / "split.json")
    _, test = split_train_test(read_paragraphs(CORPUS), 0.15, 0)
    blocks, collate = load_evaluation_set({"kind": "split", "path": str(tmp_path / "split.json"), "block_size": 32, "max_tokens": None}, tiny_tokenizer)
    assert collate is None
    same_rows(blocks, tokenize_to_dataset(test, tiny_tokenizer, 32))
    capped, _ = load_evaluation_set({"kind": "split", "path": str(tmp_path / "split.json"), "block_size": 32, "max_tokens": 64}, tiny_tokenizer)
    assert len(capped) == 2 and predicted_tokens(capped) == 62
