"""Split one domain's corpus into train and test by document; only the decision is written."""

from lmtune.pipeline.jobs import start_job
from lmtune.core.splits import split_corpus

log = start_job(snakemake)
split = split_corpus(snakemake.params.corpus, snakemake.params.test_fraction, snakemake.params.seed)
split.write(snakemake.output[0])
