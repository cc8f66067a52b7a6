import pytest

from lmtune.continual.corpus import join_paragraphs, read_corpus, read_paragraphs, split_paragraphs, split_train_test
from lmtune.core.errors import CorpusError

from conftest import CORPORA


def test_paragraphs_split_on_blank_lines_and_keep_inner_line_breaks():
    text = "Artículo 1.\n1. Uno.\n2. Dos.\n\n  \nSegundo párrafo.\r\n\r\nTercero.\n"
    assert split_paragraphs(text) == ["Artículo 1.\n1. Uno.\n2. Dos.", "Segundo párrafo.", "Tercero."]
    assert split_paragraphs(join_paragraphs(split_paragraphs(text))) == split_paragraphs(text)


@pytest.mark.parametrize("corpus", sorted(CORPORA.glob("*.txt")), ids=lambda p: p.name)
def test_shipped_corpora_are_large_enough_and_split_disjointly(corpus):
    paragraphs = split_paragraphs(read_corpus(corpus))
    assert len(" ".join(paragraphs).split()) >= 4000
    train, test = split_train_test(paragraphs, 0.15, seed=0)
    assert not set(train) & set(test)
    assert sorted(train + test) == sorted(paragraphs)
    assert len(test) == round(len(paragraphs) * 0.15)


def test_split_is_deterministic_and_depends_on_seed():
    paragraphs = [f"párrafo {i}" for i in range(40)]
    assert split_train_test(paragraphs, 0.25, seed=3) == split_train_test(paragraphs, 0.25, seed=3)
    assert split_train_test(paragraphs, 0.25, seed=3)[1] != split_train_test(paragraphs, 0.25, seed=4)[1]


def test_split_keeps_at_least_one_paragraph_on_each_side():
    train, test = split_train_test(["uno", "dos"], 0.9, seed=0)
    assert len(train) == 1 and len(test) == 1
    with pytest.raises(CorpusError, match="at least 2"):
        split_train_test(["solo uno"], 0.5, seed=0)


def test_bad_corpus_files_are_named(tmp_path):
    with pytest.raises(CorpusError, match="corpus file .*missing.txt does not exist"):
        read_corpus(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n\n \n")
    with pytest.raises(CorpusError, match="empty.txt is empty"):
        read_corpus(empty)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("reglamento de la comisión".encode("latin-1"))
    with pytest.raises(CorpusError, match="latin1.txt is not valid UTF-8"):
        read_corpus(latin1)


PARAGRAPHS = ["Artículo 1.\n\nUno, con una línea en blanco dentro.", "Segundo párrafo.", "Tercero."]


def test_json_lines_and_parquet_corpora_give_one_paragraph_per_record(tmp_path):
    import json

    import pandas as pd

    text = tmp_path / "corpus.txt"
    text.write_text("Primero.\n\nSegundo.\n", encoding="utf-8")
    assert read_paragraphs(text) == ["Primero.", "Segundo."]
    lines = tmp_path / "corpus.jsonl"
    lines.write_text("".join(json.dumps({"text": p, "source": "x"}, ensure_ascii=False) + "\n" for p in PARAGRAPHS) + "\n")
    assert read_paragraphs(lines) == PARAGRAPHS  # a blank line inside a record splits nothing
    table = tmp_path / "corpus.parquet"
    pd.DataFrame({"text": PARAGRAPHS, "id": [1, 2, 3]}).to_parquet(table)
    assert read_paragraphs(table) == PARAGRAPHS


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("c.jsonl", b'{"text": "uno"}\n{"body": "dos"}\n', r"c\.jsonl line 2: no 'text' field"),
        ("c.jsonl", b'{"text": "uno"}\n{"text": 2}\n', r"c\.jsonl line 2: field 'text' is int, not a string"),
        ("c.jsonl", b'{"text": "uno"\n', r"c\.jsonl line 1: not valid JSON"),
        ("c.jsonl", b'["uno"]\n', r"c\.jsonl line 1: a record must be an object"),
        ("c.jsonl", '{"text": "comisión"}\n'.encode("latin-1"), r"c\.jsonl is not valid UTF-8"),
        ("c.jsonl", b'{"text": "  "}\n', r"c\.jsonl is empty"),
        ("c.parquet", b"not parquet", r"c\.parquet: cannot read it as Parquet"),
    ],
)
def test_bad_record_corpora_are_named_with_the_line(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        read_paragraphs(tmp_path / name)


def test_a_parquet_corpus_without_a_text_column_is_named(tmp_path):
    import pandas as pd

    pd.DataFrame({"body": ["uno"]}).to_parquet(tmp_path / "c.parquet")
    with pytest.raises(CorpusError, match=r"c\.parquet has no 'text' column \(it has body\)"):
        read_paragraphs(tmp_path / "c.parquet")
    with pytest.raises(CorpusError, match="does not exist"):
        read_paragraphs(tmp_path / "missing.parquet")


def test_a_symbolic_link_that_loops_or_leads_nowhere_is_named_as_one(tmp_path):
    from lmtune.core.errors import ModelError
    from lmtune.core.models import check_model_folder

    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    with pytest.raises(CorpusError, match=f"corpus file {loop} is a symbolic link that loops back on itself"):
        read_corpus(loop)
    dangling = tmp_path / "model"
    dangling.symlink_to(tmp_path / "moved-away")
    with pytest.raises(ModelError, match=f"model folder {dangling} is a symbolic link to .*moved-away, which does not exist"):
        check_model_folder(dangling)
