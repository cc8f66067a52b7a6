"""Corpora of every form, streamed (lmtune.core.sources), and their split per document
(lmtune.core.splits): the shipped corpora split as they always did, shards compressed or
not read alike, and every bad input named in one line before any tokenization."""

import gzip
import json
import time
from pathlib import Path

import pytest

from lmtune.continual.corpus import read_paragraphs, split_paragraphs, split_train_test
from lmtune.core import sources
from lmtune.core.errors import CorpusError
from lmtune.core.sources import CorpusSpec, check_corpus, corpus_files, documents
from lmtune.core.splits import Split, split_corpus

CORPORA = Path(__file__).resolve().parents[1] / "resources/corpora"
DOCS = ["la red neuronal aprende", "el reglamento fija normas", "artículo tercero:\nla comisión", "fin del texto"]


def write_zst(path: Path, data: bytes) -> None:
    import pyarrow

    with pyarrow.output_stream(str(path), compression="zstd") as out:
        out.write(data)


@pytest.mark.parametrize("corpus", sorted(CORPORA.glob("*.txt")), ids=lambda p: p.name)
def test_shipped_corpora_split_exactly_as_before(corpus, tmp_path):
    train, test = split_train_test(read_paragraphs(corpus), 0.15, 0)
    split = split_corpus(str(corpus), 0.15, 0)
    split.write(tmp_path / "split.json")
    again = Split.read(tmp_path / "split.json")
    assert list(again.side_documents("train")) == train and list(again.side_documents("test")) == test


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffa\r\n\r\nb\n \t\nc\n\n\n\nd",
        "a\r\r\n\r\nb\r",
        "  \n\nuno\n  dos \n\t\n\ntres\n",
        "x" * 50 + "\n\n" + "y" * 70 + "\r\n \r\n" + "z",
    ],
)
def test_streamed_paragraphs_are_split_paragraphs_whatever_the_buffer(text, tmp_path, monkeypatch):
    path = tmp_path / "corpus.txt"
    path.write_bytes(text.encode("utf-8"))
    for buffer in (1, 2, 3, 7, 1 << 20):
        monkeypatch.setattr(sources, "READ_BYTES", buffer)
        assert list(documents(CorpusSpec(path=str(path)))) == split_paragraphs(text), buffer


def test_a_folder_of_mixed_compressed_shards_reads_in_name_order(tmp_path):
    import pyarrow
    import pyarrow.parquet

    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "0.txt").write_text(f"{DOCS[0]}\n\n{DOCS[1]}\n")
    (folder / "1.jsonl.gz").write_bytes(gzip.compress((json.dumps({"text": DOCS[2]}) + "\n").encode()))
    write_zst(folder / "2.txt.zst", f"{DOCS[3]}\n".encode())
    pyarrow.parquet.write_table(pyarrow.table({"text": ["otro documento"]}), folder / "3.parquet")
    (folder / "README.md").write_text("not a shard")
    spec = CorpusSpec(path=str(folder))
    assert [p.name for p in corpus_files(spec)] == ["0.txt", "1.jsonl.gz", "2.txt.zst", "3.parquet"]
    assert list(documents(spec)) == [*DOCS, "otro documento"]
    glob_spec = CorpusSpec.from_setting(str(folder / "*.txt*"))
    assert list(documents(glob_spec)) == [DOCS[0], DOCS[1], DOCS[3]]


def test_a_datasets_folder_and_another_text_field(tmp_path):
    import datasets

    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"content": DOCS, "id": list(range(4))})}).save_to_disk(
        str(tmp_path / "saved")
    )
    spec = CorpusSpec.from_setting({"path": str(tmp_path / "saved"), "text_field": "content"})
    assert list(documents(spec)) == DOCS
    assert any(p.name == "dataset_dict.json" for p in corpus_files(spec))
    with pytest.raises(CorpusError, match="has no 'text' column"):
        list(documents(CorpusSpec(path=str(tmp_path / "saved"))))
    with pytest.raises(CorpusError, match="has no split 'test'"):
        list(documents(CorpusSpec(path=str(tmp_path / "saved"), split="test", text_field="content")))


def bad_input_error(tmp_path, name: str, data: bytes | None, setting=None) -> str:
    if data is not None:
        (tmp_path / name).write_bytes(data)
    with pytest.raises(CorpusError) as error:
        split_corpus(setting or str(tmp_path / name), 0.15, 0)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_every_bad_input_is_named_in_one_line(tmp_path):
    assert bad_input_error(tmp_path, "", None, str(tmp_path / "nothing/*.jsonl")).endswith("nothing/*.jsonl matches no file")
    assert bad_input_error(tmp_path, "empty.txt.gz", gzip.compress(b"\n \n")).endswith("empty.txt.gz is empty")
    message = bad_input_error(tmp_path, "latin1.txt", "uno\n\nArtículo".encode("latin-1"))
    assert "latin1.txt is not valid UTF-8 (bad byte at offset 8)" in message
    message = bad_input_error(tmp_path, "latin1.txt.zst", None) if write_zst(tmp_path / "latin1.txt.zst", "uno\n\nArtículo".encode("latin-1")) is None else ""
    assert "latin1.txt.zst is not valid UTF-8 (bad byte at offset 8 of its decompressed text)" in message
    message = bad_input_error(tmp_path, "rows.jsonl", b'{"text": "uno"}\n{"body": "dos"}\n')
    assert message.startswith(f"corpus file {tmp_path}/rows.jsonl line 2: no 'text' field")
    import pyarrow
    import pyarrow.parquet

    pyarrow.parquet.write_table(pyarrow.table({"body": ["a", "b"]}), tmp_path / "rows.parquet")
    assert "rows.parquet has no 'text' column (it has body)" in bad_input_error(tmp_path, "rows.parquet", None)
    assert "has 1 document(s); a train/test split needs at least 2" in bad_input_error(tmp_path, "one.txt", b"solo uno\n")


def test_a_hub_dataset_with_no_hub_fails_within_seconds(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    # A port nothing listens on: refused at once, as an unreachable hub is within the timeout.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    start = time.monotonic()
    with pytest.raises(CorpusError, match=r"corpus hub dataset wikimedia/wikipedia \(20231101.es\) split train: no hub reachable at http://127.0.0.1:9"):
        check_corpus({"hub": "wikimedia/wikipedia", "config": "20231101.es"})
    assert time.monotonic() - start < sources.HUB_TIMEOUT_S + 1
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CorpusError, match="HF_HUB_OFFLINE is set"):
        list(documents(CorpusSpec(hub="wikimedia/wikipedia")))


def test_a_large_corpus_is_checked_quickly_at_load_and_whole_by_its_split(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "FULL_CHECK_BYTES", 10)
    monkeypatch.setattr(sources, "READ_BYTES", 4)  # a buffer of the start, as 4 MB of a large corpus
    path = tmp_path / "big.txt"
    path.write_bytes("uno\n\ndos\n\n".encode() + "Artículo".encode("latin-1"))
    check_corpus(str(path))  # its start is good
    with pytest.raises(CorpusError, match="not valid UTF-8"):
        split_corpus(str(path), 0.15, 0)
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(CorpusError, match="empty.txt is empty"):
        check_corpus(str(tmp_path / "*.txt"))


def test_a_corpus_changed_after_its_split_is_refused(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n\n".join(DOCS))
    split = split_corpus(str(path), 0.25, 0)
    path.write_text("\n\n".join(DOCS[:3]))
    with pytest.raises(CorpusError, match="has 3 documents, its split 4; split it again"):
        list(split.side_documents("train"))
