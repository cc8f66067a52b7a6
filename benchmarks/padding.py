"""Non-pad tokens per second of LoRA instruction training: batching by length against
plain padding to the longest example, on the same examples, model and batch size.

    .venv/bin/python benchmarks/padding.py [--examples 200] [--batch-size 8] [--addends random]

Needs the base model materialised (`snakemake resources/models/...` or a finished run).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
import yaml

from lmtune.arithmetic.tasks import generate_datasets
from lmtune.core.completions import encode_examples, padding_collator
from lmtune.core.adapters import add_lora, load_base
from lmtune.core.models import load_tokenizer, parse_source
from lmtune.core.training import TrainSettings, train_causal_lm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--addends", choices=["greedy", "random"], help="override arithmetic.data.addends")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    config = yaml.safe_load(open(args.config))
    source = parse_source(config["base_model"]["source"])
    model_dir = source.location if source.kind == "folder" else f"resources/models/{source.slug}"
    tokenizer = load_tokenizer(model_dir)
    data = {**config["arithmetic"]["data"], "train_examples": args.examples}
    if args.addends:
        data["addends"] = args.addends
    examples = generate_datasets(data)["train"]
    dataset = encode_examples(tokenizer, [(e.prompt, e.answer) for e in examples])
    real_tokens = sum(dataset["length"])
    longest = max(dataset["length"])
    settings = TrainSettings(epochs=1, batch_size=args.batch_size, learning_rate=1e-4, save_steps=10**6)

    print(f"{len(dataset)} examples, {real_tokens} non-pad tokens, longest {longest}, batch {args.batch_size}")
    for name, collator, grouped in [
        ("pad to longest example", padding_collator(tokenizer, pad_to=longest), False),
        ("batch by length", padding_collator(tokenizer), True),
    ]:
        model = add_lora(load_base(model_dir, "cpu", "fp32", False), config["arithmetic"]["lora"], quantized=False, seed=0)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            train_causal_lm(
                model, tokenizer, dataset, f"{tmp}/out", f"{tmp}/loss.csv", f"{tmp}/ckpt",
                settings, seed=0, progress=False, data_collator=collator, group_by_length=grouped,
            )
            seconds = time.perf_counter() - start
        print(f"{name:24s} {seconds:7.1f} s  {real_tokens / seconds:7.1f} non-pad tokens/s")


if __name__ == "__main__":
    main()
