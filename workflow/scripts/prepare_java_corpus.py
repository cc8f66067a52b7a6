"""Gather Java snippets from the configured sources, clean them and split train/test."""

from lmtune.continual.corpus import split_train_test
from lmtune.core.errors import CorpusError
from lmtune.java.corpus import clean_snippets, read_source
from lmtune.pipeline.jobs import start_job
from lmtune.core.jsonl import write_jsonl

log = start_job(snakemake)
settings = snakemake.params.settings
raw = [snippet for source in settings["sources"] for snippet in read_source(source)]
snippets = clean_snippets(raw, settings["min_chars"], settings["max_chars"])
log.info("%d snippets read, %d kept after length filter and deduplication", len(raw), len(snippets))
if len(snippets) < 2:
    raise CorpusError(f"java.corpus: only {len(snippets)} snippet(s) left after filtering {settings['sources']}")
train, test = split_train_test(snippets, settings["test_fraction"], settings["seed"], source="java.corpus")
write_jsonl(snakemake.output.train, ({"code": code} for code in train))
write_jsonl(snakemake.output.test, ({"code": code} for code in test))
