import json
import re
import zipfile

import pytest

from lmtune.core.errors import CorpusError
from lmtune.java.checks import check_methods, judge_generations, method_spec, method_inputs
from lmtune.java.corpus import clean_snippets, read_source
from lmtune.java.tasks import (
    FAMILIES,
    examples_table,
    generate_tasks,
    normalise,
    score_generations,
    split_words,
    wrap_in_class,
)
from lmtune.java.javac import compile_methods, find_jdk

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


def test_levels_are_not_measured_without_a_jdk_and_reported_per_family():
    def record(split, family, exact, compiles, signature, functional, reason):
        return {"split": split, "family": family, "exact_match": exact, "compiles": compiles,
                "signature": signature, "functional": functional, "reason": reason}

    records = [
        record("test", "print", True, None, None, None, "not_measured"),
        record("test", "getter", False, None, None, None, "not_measured"),
        record("test_unseen_words", "print", False, True, True, True, "ok"),
        record("test_unseen_words", "print", False, True, False, False, "wrong_signature"),
        record("test_unseen_words", "getter", False, False, False, False, "syntax_error"),
        record("test_unseen_words", "getter", True, True, True, True, "ok"),
    ]
    figures = score_generations(records)
    assert {k: v for k, v in figures["test"].items() if k != "families"} == {
        "instructions": 2, "exact_match": 0.5, "syntax_rate": None, "signature_rate": None,
        "functional_accuracy": None, "reasons": {"not_measured": 2},
    }
    unseen = figures["test_unseen_words"]
    assert (unseen["syntax_rate"], unseen["signature_rate"], unseen["functional_accuracy"]) == (0.75, 0.5, 0.5)
    assert unseen["families"]["print"]["signature_rate"] == 0.5 and unseen["families"]["getter"]["syntax_rate"] == 0.5
    assert unseen["reasons"] == {"ok": 2, "syntax_error": 1, "wrong_signature": 1}
    table = examples_table({"base": [dict(r, instruction="// x", generated="a|b") for r in records]}, 1)
    assert "## test" in table and "a\\|b" in table and "(exact)" in table


def test_inputs_are_seeded_per_task_and_include_boundary_values():
    reference = "public boolean isPriceGreaterThan42(int price) {\n    if (price > 42) {\n        return true;\n    }\n    return false;\n}"
    inputs = method_inputs(reference)
    assert inputs == method_inputs(reference)
    firsts = [case[0] for case in inputs]
    assert {0, -1, -(2**31), 2**31 - 1, 41, 42, 43} <= set(firsts)
    two = method_inputs("public int addFoo(int a, int b) {\n    return a + b;\n}")
    assert len({len(case) for case in two}) == 1 and len(two) > 10
    assert {None, ""} <= {case[0] for case in method_inputs("public int lengthFoo(String text) {\n    return text.length();\n}")}
    getter = "private boolean fooBar;\n\npublic boolean isFooBar() {\n    return fooBar;\n}"
    assert method_spec(getter).kind == "getter" and {True, False} == {case[0] for case in method_inputs(getter)}
    assert method_inputs("public void printHolaMundo() {\n    System.out.println(\"Hola, Mundo!\");\n}") == [[]]


@needs_jdk
def test_every_reference_runs_like_itself_on_its_inputs():
    tasks = generate_tasks({**SETTINGS, "train_pairs": 9, "test_pairs": 9})  # every family, three times
    references = [t.code for split in tasks.values() for t in split]
    verdicts = check_methods(references, references)
    assert [v.reason for v in verdicts] == ["ok"] * len(references), [v.detail for v in verdicts if v.reason != "ok"]
    assert all(v.compiles and v.signature and v.functional for v in verdicts)


GREATER = "public boolean isPriceGreaterThan42(int price) {\n    if (price > 42) {\n        return true;\n    }\n    return false;\n}"
GETTER = "private int fooBar;\n\npublic int getFooBar() {\n    return fooBar;\n}"
SETTER = "private String fooBar;\n\npublic void setFooBar(String fooBar) {\n    this.fooBar = fooBar;\n}"
REVERSE = "public String reverseFoo(String text) {\n    return new StringBuilder(text).reverse().toString();\n}"
PRINT = "public void printHolaMundo() {\n    System.out.println(\"Hola, Mundo!\");\n}"


CHECKS = [
    # Right, written differently: only the functional level sees it.
    (GREATER, "public boolean isPriceGreaterThan42(int price) {\n    return price > 42;\n}", "ok"),
    (GETTER, "private int fooBar = 7;\npublic int getFooBar() { return this.fooBar; }", "ok"),
    (SETTER, "private String fooBar;\npublic void setFooBar(String value) { fooBar = value; }", "ok"),
    (REVERSE, "public String reverseFoo(String text) {\n    String out = \"\";\n"
              "    for (char c : text.toCharArray()) out = c + out;\n    return out;\n}", "ok"),
    (PRINT, "public static void printHolaMundo() { System.out.print(\"Hola, Mundo!\\n\"); }", "ok"),
    # A nested class (of a name outside ASCII) is the wrapper's own: it compiles and runs.
    (GREATER, "static class Función { static boolean f(int p) { return p > 42; } }\n"
              "public boolean isPriceGreaterThan42(int price) { return Función.f(price); }", "ok"),
    # Compiles, does something else.
    (GREATER, "public boolean isPriceGreaterThan42(int price) {\n    return price >= 42;\n}", "wrong_output"),
    (GETTER, "private int fooBar;\npublic int getFooBar() { return 0; }", "wrong_output"),
    (SETTER, "private String fooBar;\npublic void setFooBar(String fooBar) { fooBar = fooBar; }", "wrong_output"),
    (PRINT, "public void printHolaMundo() { System.out.println(\"Hola, mundo!\"); }", "wrong_output"),
    (GETTER, "private int other;\npublic int getFooBar() { return other; }", "missing_field"),
    # Compiles, but not the method asked for: an empty class body, another name, other types.
    (GREATER, "", "wrong_signature"),
    (GREATER, "public void main() {}", "wrong_signature"),
    (GREATER, "public boolean isPriceGreaterThan(int price) { return price > 42; }", "wrong_signature"),
    (GREATER, "public int isPriceGreaterThan42(int price) { return 1; }", "wrong_signature"),
    (GREATER, "public boolean isPriceGreaterThan42(long price) { return price > 42; }", "wrong_signature"),
    (GREATER, "public boolean isPriceGreaterThan42(int price) { return price > }", "syntax_error"),
]


@needs_jdk
def test_the_three_levels_tell_right_code_from_code_that_only_compiles():
    verdicts = check_methods([generated for _, generated, _ in CHECKS], [reference for reference, _, _ in CHECKS])
    assert [v.reason for v in verdicts] == [reason for _, _, reason in CHECKS], [v.detail for v in verdicts]
    for verdict in verdicts:
        assert verdict.compiles == (verdict.reason != "syntax_error")
        assert verdict.signature == (verdict.reason not in ("syntax_error", "wrong_signature"))
        assert verdict.functional == (verdict.reason == "ok")


@needs_jdk
def test_generation_records_are_judged_at_every_level_and_old_verdicts_dropped():
    reference = "public int addFoo(int a, int b) {\n    return a + b;\n}"
    records = [
        {"split": "test", "family": "arithmetic", "reference": reference, "generated": reference,
         "compiles": True, "compile_error": ""},
        {"split": "test", "family": "arithmetic", "reference": reference, "generated": "public int addFoo(int b, int a) { return b+a; }"},
    ]
    judged = judge_generations(records)
    assert [(r["exact_match"], r["functional"], r["reason"]) for r in judged] == [(True, True, "ok"), (False, True, "ok")]
    assert "compile_error" not in judged[0]


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
    with pytest.raises(CorpusError, match="source .*missing does not exist"):
        read_source(str(tmp_path / "missing"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": 1}\n')
    with pytest.raises(CorpusError, match="line 1: not a JSON object with a 'code' field"):
        read_source(str(bad))


def test_a_jsonl_snippet_holding_unicode_line_separators_is_one_snippet(tmp_path):
    """JSON writes U+2028 and U+2029 unescaped (ensure_ascii=False): they are no line end."""
    jsonl = tmp_path / "s.jsonl"
    codes = ["class A { String s = \"a\u2028b\"; }", "class B { String s = \"\u2029\"; }"]
    jsonl.write_bytes(b"".join(json.dumps({"code": c}, ensure_ascii=False).encode() + b"\r\n" for c in codes))
    assert read_source(str(jsonl)) == codes


def test_a_level_not_measured_is_labelled_n_a_and_gets_no_bar(tmp_path):
    from lmtune.core.plots import figure_text
    from lmtune.java.plots import plot_java_accuracy

    measured = {"syntax_rate": 0.5, "signature_rate": 0.25, "functional_accuracy": 0.0, "exact_match": 0.0}
    figures = {"base": {"test": dict.fromkeys(measured)}, "stage1": {"test": measured}}
    figures["base"]["test"]["exact_match"] = 0.0
    plot_java_accuracy(figures, tmp_path / "accuracy.png")
    assert (tmp_path / "accuracy.png").read_bytes()[:4] == b"\x89PNG"
    assert (figure_text(None), figure_text(0.0), figure_text(0.25)) == ("n/a", "0.00", "0.25")
