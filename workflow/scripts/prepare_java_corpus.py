"""Gather Java snippets from the configured sources, clean them and split train/test."""

import json

from lmtune import atomic
from lmtune.corpus import split_train_test
from lmtune.errors import CorpusError
from lmtune.java_corpus import clean_snippets, read_source
from lmtune.jobs import start_job

log = start_job(snakemake)
settings = snakemake.params.settings
raw = [snippet for source in settings["sources"] for snippet in read_source(source)]
snippets = clean_snippets(raw, settings["min_chars"], settings["max_chars"])
log.info("%d snippets read, %d kept after length filter and deduplication", len(raw), len(snippets))
if len(snippets) < 2:
    raise CorpusError(f"java.corpus: only {len(snippets)} snippet(s) left after filtering {settings['sources']}")
train, test = split_train_test(snippets, settings["test_fraction"], settings["seed"], source="java.corpus")
for path, records in [(snakemake.output.train, train), (snakemake.output.test, test)]:
    atomic.write_text(path, "".join(json.dumps({"code": code}) + "\n" for code in records))
