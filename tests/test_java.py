import json
import re
import zipfile

import pytest

from lmtune.errors import CorpusError
from lmtune.java_corpus import clean_snippets, read_source
from lmtune.java_tasks import (
    FAMILIES,
    examples_table,
    generate_tasks,
    normalise,
    score_generations,
    split_words,
    wrap_in_class,
)
from lmtune.javac import compile_methods, find_jdk

SETTINGS = {"train_pairs": 300, "test_pairs": 30, "unseen_word_fraction": 0.15, "seed": 0}

needs_jdk = pytest.mark.skipif(find_jdk() is None, reason="no JDK on this machine")


def test_tasks_cover_every_family_in_both_languages():
    tasks = generate_tasks(SETTINGS)
    assert {t.family for t in tasks["train"]} == set(FAMILIES)
    instructions = [t.instruction for t in tasks["train"]]
    assert all(i.startswith("// ") for i in instructions)
    assert any("función" in i.lower() or "método" in i.lower() for i in instructions)
    assert any("function" in i.lower() or "method" in i.lower() for i in instructions)


def test_test_splits_are_new_instructions_and_the_unseen_split_uses_unseen_words():
    tasks = generate_tasks(SETTINGS)
    train = {t.instruction for t in tasks["train"]}
    assert not train & {t.instruction for t in tasks["test"]}
    assert not train & {t.instruction for t in tasks["test_unseen_words"]}
    known, unseen = split_words(0.15, seed=0)
    train_words = set(re.findall(r"\w+", " ".join(t.instruction for t in tasks["train"]).lower()))
    assert unseen and not set(unseen) & train_words
    unseen_split_words = set(re.findall(r"\w+", " ".join(t.instruction for t in tasks["test_unseen_words"]).lower()))
    assert set(unseen) & unseen_split_words
    assert generate_tasks(SETTINGS) == tasks


@needs_jdk
def test_every_reference_method_compiles():
    tasks = generate_tasks({**SETTINGS, "train_pairs": 60})
    codes = [t.code for split in tasks.values() for t in split]
    results = compile_methods(codes)
    assert all(r.compiled for r in results), [r.message for r in results if not r.compiled][:3]


@needs_jdk
def test_javac_tells_a_good_method_from_a_bad_one():
    good = "public int add(int a, int b) {\n    return a + b;\n}"
    wrong_type = "public int add(int a, int b) {\n    return \"a\";\n}"
    syntax = "public int add(int a, int b) {\n    return a +;\n"
    results = compile_methods([good, wrong_type, syntax])
    assert [r.compiled for r in results] == [True, False, False]
    assert "incompatible types" in results[1].message
    assert "error" in results[2].message


def test_exact_match_ignores_whitespace_only():
    assert normalise("public int f() {\n    return 1;\n}") == normalise("public  int f() { return 1; }")
    assert normalise("return 1;") != normalise("return 2;")
    assert wrap_in_class("int x;", "A").startswith("import java.util.*;\n\npublic class A {\n    int x;")


def test_scores_record_not_measured_without_a_jdk():
    records = [
        {"split": "test", "exact_match": True, "compiles": None},
        {"split": "test", "exact_match": False, "compiles": None},
        {"split": "test_unseen_words", "exact_match": False, "compiles": True},
    ]
    figures = score_generations(records)
    assert figures["test"] == {"instructions": 2, "exact_match": 0.5, "compile_rate": None}
    assert figures["test_unseen_words"]["compile_rate"] == 1.0
    table = examples_table({"base": [dict(r, instruction="// x", generated="a|b") for r in records]}, 1)
    assert "## test" in table and "a\\|b" in table


def test_corpus_sources_are_read_deduplicated_and_filtered(tmp_path):
    folder = tmp_path / "src"
    (folder / "pkg").mkdir(parents=True)
    (folder / "pkg" / "A.java").write_text("public class A {\n    int x;\n}\n")
    (folder / "B.java").write_text("public class A {  int x; }")  # same code up to whitespace
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("C.java", "public class C { void run() { System.out.println(1); } }")
        z.writestr("README", "not java")
    jsonl = tmp_path / "s.jsonl"
    jsonl.write_text(json.dumps({"code": "class D {}"}) + "\n")
    snippets = read_source(str(folder)) + read_source(str(archive)) + read_source(str(jsonl))
    assert len(snippets) == 4
    kept = clean_snippets(snippets, min_chars=15, max_chars=1000)
    assert len(kept) == 2  # duplicate and too-short snippet dropped
    with pytest.raises(CorpusError, match="not found: .*missing"):
        read_source(str(tmp_path / "missing"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": 1}\n')
    with pytest.raises(CorpusError, match="line 1: not a JSON object with a 'code' field"):
        read_source(str(bad))
