"""The instruct experiment's training and validation examples, checked and written as
normalised JSON Lines: the validation file where the config names one, else a seeded
split of the training file. Examples in both are counted and warned about."""

from lmtune.pipeline.jobs import start_job
from lmtune.core.jsonl import write_jsonl
from lmtune.instruct.data import read_examples, split_examples, warn_overlap

log = start_job(snakemake)
record_format = snakemake.params.record_format
train = read_examples(snakemake.input.train, record_format)
split = snakemake.params.split
if split is None:
    validation = read_examples(snakemake.input.validation, record_format)
else:
    train, validation = split_examples(train, split["validation_fraction"], split["seed"])
overlap = warn_overlap(train, validation)
log.info("%d training and %d validation examples; %d of the validation examples also in training", len(train), len(validation), overlap)
for examples, path in ((train, snakemake.output.train), (validation, snakemake.output.validation)):
    write_jsonl(path, (example.to_record() for example in examples))
