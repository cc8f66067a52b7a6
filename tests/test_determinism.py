"""The same config and seed on the same machine give byte-identical results on CPU: a
second run of the tiny config's metrics, from nothing in another folder, matches the
session's run, although it was killed part-way and resumed (conftest.resumed_run)."""

from __future__ import annotations

from pathlib import Path

import pytest


# Every result a reader looks at: metrics, evaluations, loss logs, generations, data
# splits, tables, figures. Not compared: logs and benchmarks (timings), and the model,
# adapter and token folders (gigabytes), which the results above are computed from.
COMPARED = {".json", ".jsonl", ".csv", ".txt", ".md", ".png"}
SKIPPED_FOLDERS = {"logs", "benchmarks", "model", "adapter", "tokens", "checkpoints"}
# The run record: when and how fast the run went, not what it computed.
SKIPPED_FILES = {"run.json", "rule_times.csv"}


def result_files(workdir: Path) -> list[str]:
    return sorted(
        path.relative_to(workdir).as_posix()
        for path in (workdir / "results").rglob("*")
        if path.is_file()
        and path.suffix in COMPARED
        and path.name not in SKIPPED_FILES
        and not SKIPPED_FOLDERS & set(path.relative_to(workdir / "results").parts[:-1])
    )


@pytest.mark.slow
def test_a_second_run_gives_byte_identical_results(tiny_run, resumed_run):
    fresh, _ = resumed_run

    files = result_files(fresh)
    assert set(files) <= set(result_files(tiny_run))
    # Every metrics file of the tiny run, of every experiment, strategy and seed.
    metrics = [f for f in result_files(tiny_run) if f.endswith("metrics.json")]
    assert set(metrics) <= set(files)
    for experiment in ["continual", "arithmetic", "java", "instruct"]:
        assert any(f.startswith(f"results/{experiment}/") for f in metrics), experiment
    assert any("generations/" in f for f in files) and "results/continual/summary.json" in files
    differ = [f for f in files if (fresh / f).read_bytes() != (tiny_run / f).read_bytes()]
    assert not differ, differ
    # Identical across two folders also means no result records where it was made.
    for f in files:
        if f.endswith(".png"):
            continue
        text = (fresh / f).read_text(encoding="utf-8")
        assert str(fresh) not in text, f"{f} holds an absolute path"
