"""A domain's corpus as shards through the workflow's rules: every shard tracked, both
sides tokenized into stores in one job, the test side capped; a glob that matches
nothing stops the load."""

import copy
import gzip
import json
from pathlib import Path

import pytest

from conftest import REPO, planned_jobs, run_snakemake, tiny_config, write_config
from lmtune.continual.corpus import read_paragraphs
from lmtune.core.tokenstore import TokenStore

CORPUS = REPO / "resources/corpora/dominio_a_ia.txt"


def sharded_config(tmp_path: Path) -> dict:
    paragraphs = read_paragraphs(CORPUS)
    shards = tmp_path / "shards"
    shards.mkdir()
    half = len(paragraphs) // 2
    (shards / "0.jsonl.gz").write_bytes(gzip.compress("".join(json.dumps({"text": p}) + "\n" for p in paragraphs[:half]).encode()))
    (shards / "1.txt").write_text("\n\n".join(paragraphs[half:]))
    config = copy.deepcopy(tiny_config())
    config["experiments"] = ["continual"]
    config["continual"]["domains"]["A"]["corpus"] = str(shards / "*")
    config["continual"]["split"]["max_test_tokens"] = 500
    return config


@pytest.mark.slow
def test_a_sharded_corpus_is_tracked_shard_by_shard_and_tokenized_into_stores(tmp_path):
    workdir = tmp_path / "run"
    workdir.mkdir()
    config = sharded_config(tmp_path)
    write_config(workdir, config)
    run_snakemake(workdir, "results/continual/tokens/A/train", "results/continual/tokens/A/test")
    split = json.loads((workdir / "results/continual/data/A/split.json").read_text())
    test = round(70 * config["continual"]["split"]["test_fraction"])
    assert split["documents"] == {"all": 70, "train": 70 - test, "test": test}  # as the one file splits
    assert TokenStore(workdir / "results/continual/tokens/A/test").metadata["tokens"] == 500
    log = (workdir / "results/logs/tokenize_split/A.log").read_text()
    assert "tokens/s" in log and "test: " in log and "cut at max_test_tokens=500" in log
    (tmp_path / "shards/1.txt").write_text((tmp_path / "shards/1.txt").read_text() + "\n\nUn párrafo más.")
    jobs = planned_jobs(run_snakemake(workdir, "-n", "results/continual/tokens/A/train").stdout)
    assert jobs.get("split_corpus") == 1 and jobs.get("tokenize_split") == 1, jobs


def test_a_glob_that_matches_nothing_stops_the_load(tmp_path):
    config = sharded_config(tmp_path)
    config["continual"]["domains"]["A"]["corpus"] = str(tmp_path / "none" / "*.jsonl")
    write_config(tmp_path, config)
    result = run_snakemake(tmp_path, "-n", check=False)
    assert result.returncode != 0
    assert f"continual.domains.A.corpus: corpus glob {tmp_path}/none/*.jsonl matches no file" in result.stdout + result.stderr
