"""Split one domain's corpus into train and test by paragraph."""

from lmtune.core import atomic
from lmtune.continual.corpus import join_paragraphs, read_paragraphs, split_train_test
from lmtune.pipeline.jobs import start_job

log = start_job(snakemake)
paragraphs = read_paragraphs(snakemake.input.corpus)
train, test = split_train_test(
    paragraphs, snakemake.params.test_fraction, snakemake.params.seed, source=snakemake.input.corpus
)
log.info("%d paragraphs: %d train, %d test", len(paragraphs), len(train), len(test))
atomic.write_text(snakemake.output.train, join_paragraphs(train))
atomic.write_text(snakemake.output.test, join_paragraphs(test))
