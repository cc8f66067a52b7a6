"""Non-pad tokens per second of LoRA instruction training under each way of batching,
on the arithmetic and the Java instruction data, measured side by side in one run.

    .venv/bin/python benchmarks/padding.py [--examples N] [--steps N] [--batch-size 8] [--data arithmetic java]
    .venv/bin/python benchmarks/padding.py --model FOLDER --random --batch-size 64   # on a GPU: packing too
    .venv/bin/python benchmarks/padding.py --model FOLDER --random --data mixed --batch-size 16 \
        --attention flex_attention                                                     # packing under flex_attention

(without --examples, each set at the config's own size: arithmetic.data.train_examples,
java.instructions.train_pairs, which is what grouping sees in training: the sampler sorts
within groups of up to 50 batches, so a smaller set groups worse. --steps times only the
first N batches of each way's epoch, a sample of the full set's batches.)

Ways of batching, each over the same examples (one epoch) with the same model:

- `pad to set's longest`: random batches padded to the longest example of the whole set;
- `pad to batch's longest`: random batches padded to their own longest example, the
  baseline the ratios are against;
- `group by length`: batches of similar length (transformers' LengthGroupedSampler, what
  the Trainer's `train_sampling_strategy="group_by_length"` uses), padded to their longest;
- `pack` (CUDA only): each batch one row without padding (`packing_collator`), under the
  model's attention (`--attention`: sdpa by default; flex_attention builds a document mask
  from the restarting position ids, so its kernels skip the blocks between examples).

`--data mixed` is spans of the two Spanish corpora, each example 16 to 512 tokens
(uniform), the prompt its first fifth: the mixed lengths of an SFT set at up to 16 x 512.

The steps of the ways are interleaved (one step of each in turn), so a change of load on
a shared machine falls on all of them alike. The loop is plain PyTorch (forward,
backward, AdamW step on the adapter): what differs is the batching alone.
Needs the base model materialised (`snakemake resources/models/...` or a finished run), or,
with --random, any folder with a model's config.json and tokenizer (random weights of that
architecture: the speed of a step does not depend on them).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
import yaml

from lmtune.arithmetic.tasks import generate_datasets
from lmtune.core.completions import packing_collator, padding_collator
from lmtune.core.models import load_model, load_tokenizer, parse_source
from lmtune.java.tasks import generate_tasks
from lmtune.instruct.data import PromptCompletion
from lmtune.instruct.encoding import encode_for_training

REPO = Path(__file__).resolve().parents[1]


def mixed_pairs(tokenizer, count: int, seed: int = 0) -> list[PromptCompletion]:
    """`count` spans of the shipped corpora, 16 to 512 tokens each (uniform)."""
    import random

    from lmtune.continual.corpus import read_paragraphs

    ids = []
    for corpus in sorted((REPO / "resources" / "corpora").glob("*.txt")):
        ids += tokenizer(" ".join(read_paragraphs(corpus)), add_special_tokens=False).input_ids
    draw, pairs = random.Random(seed), []
    for _ in range(count):
        length = draw.randint(16, 510)  # room for the tokenizer's own start token
        start = draw.randrange(len(ids) - length)
        span = ids[start : start + length]
        cut = max(1, length // 5)
        pairs.append(PromptCompletion(tokenizer.decode(span[:cut]), tokenizer.decode(span[cut:])))
    return pairs


def instruction_pairs(config: dict, data: str, count: int | None, tokenizer=None) -> tuple[list[PromptCompletion], str]:
    """Training examples (`count`, or the config's number) and their separator, as the
    workflow encodes them."""
    if data == "mixed":
        return mixed_pairs(tokenizer, count or 256), ""
    if data == "arithmetic":
        settings = config["arithmetic"]["data"]
        settings = {**settings, "train_examples": count or settings["train_examples"]}
        return [PromptCompletion(e.prompt, e.completion) for e in generate_datasets(settings)["train"]], " "
    settings = config["java"]["instructions"]
    settings = {**settings, "train_pairs": count or settings["train_pairs"]}
    return [PromptCompletion(t.instruction, t.code) for t in generate_tasks(settings)["train"]], "\n"


def batch_orders(lengths: list[int], batch_size: int, seed: int) -> dict[str, list[list[int]]]:
    from transformers.trainer_pt_utils import LengthGroupedSampler

    shuffled = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(seed)).tolist()
    grouped = list(LengthGroupedSampler(batch_size, lengths=lengths, generator=torch.Generator().manual_seed(seed)))
    return {
        "random": [shuffled[i : i + batch_size] for i in range(0, len(shuffled), batch_size)],
        "grouped": [grouped[i : i + batch_size] for i in range(0, len(grouped), batch_size)],
    }


def measure(model, tokenizer, pairs, separator: str, batch_size: int, device: torch.device, steps: int | None) -> None:
    dataset, _ = encode_for_training(tokenizer, pairs, separator=separator)
    rows, lengths = dataset.to_list(), dataset["length"]
    orders = {name: batches[:steps] for name, batches in batch_orders(lengths, batch_size, seed=0).items()}
    ways = {
        "pad to set's longest": (orders["random"], padding_collator(tokenizer, pad_to=max(lengths))),
        "pad to batch's longest": (orders["random"], padding_collator(tokenizer)),
        "group by length": (orders["grouped"], padding_collator(tokenizer)),
    }
    if device.type == "cuda":
        ways["pack"] = (orders["random"], packing_collator(model))
    batches = {
        name: [{k: v.to(device) for k, v in collator([dict(rows[i]) for i in order]).items() if k != "length"} for order in batches]
        for name, (batches, collator) in ways.items()
    }
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)

    def step(batch) -> float:
        start = time.perf_counter()
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    for name in batches:  # warm-up: first-call costs and allocator growth
        step(batches[name][0])
    seconds = dict.fromkeys(batches, 0.0)
    for index in range(len(orders["random"])):
        for name in batches:
            seconds[name] += step(batches[name][index])

    # Each way's own batches: with --steps, ways time different examples.
    real = {
        name: sum(int(b["attention_mask"].sum()) if "attention_mask" in b else b["input_ids"].numel() for b in batches[name])
        for name in batches
    }
    print(f"  {len(rows)} examples, lengths {min(lengths)}-{max(lengths)}, batch {batch_size}, "
          f"{len(orders['random'])} of {-(-len(rows) // batch_size)} steps timed per way")
    baseline = real["pad to batch's longest"] / seconds["pad to batch's longest"]
    for name, timed in seconds.items():
        slots = sum(b["input_ids"].numel() for b in batches[name])
        rate = real[name] / timed
        print(
            f"  {name:24s} {timed:7.1f} s  {rate:8.1f} non-pad tokens/s  ratio {rate / baseline:5.2f}"
            f"  padding {1 - real[name] / slots:6.1%}"
        )
    if device.type != "cuda":
        print("  pack                     not measured: packing needs CUDA")


def random_model(model_dir: str, device: str, precision: str, attention: str | None = None):
    """Random weights of the folder's architecture, made on the device in `precision`."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from lmtune.core.models import PRECISIONS

    torch.manual_seed(0)
    with torch.device(device):
        return AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_dir), dtype=PRECISIONS[precision],
                                                **({"attn_implementation": attention} if attention else {}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--model", help="a model folder (default: the config's base model, materialised)")
    parser.add_argument("--data", nargs="+", choices=["arithmetic", "java", "mixed"], default=["arithmetic", "java"])
    parser.add_argument("--attention", help="attn_implementation (sdpa, eager, flex_attention; default the model's)")
    parser.add_argument("--examples", type=int, help="examples per set (default: the config's own number)")
    parser.add_argument("--steps", type=int, help="time the first N batches of each way (default: the whole epoch)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--random", action="store_true",
                        help="random weights of the model folder's architecture (its config.json and tokenizer "
                             "suffice): a step's speed does not depend on the weights")
    parser.add_argument("--precision", help="fp32, bf16 or fp16 weights (default bf16 on CUDA, fp32 on CPU)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    if args.attention and not args.random:
        parser.error("--attention applies to --random models (load_model keeps the folder's own attention)")
    torch.set_num_threads(args.threads)
    args.precision = args.precision or ("bf16" if args.device == "cuda" else "fp32")
    from peft import LoraConfig, get_peft_model

    config = yaml.safe_load(open(args.config))
    model_dir = args.model
    if model_dir is None:
        source = parse_source(config["base_model"]["source"])
        model_dir = source.location if source.kind == "folder" else f"resources/models/{source.slug}"
    tokenizer = load_tokenizer(model_dir)
    lora = config["arithmetic"]["lora"]
    torch.manual_seed(0)
    model = get_peft_model(
        random_model(model_dir, args.device, args.precision, args.attention) if args.random
        else load_model(model_dir, device=args.device, precision=args.precision),
        LoraConfig(task_type="CAUSAL_LM", r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                   target_modules=list(lora["target_modules"])),
    )
    model.train()
    name = torch.cuda.get_device_name() if args.device == "cuda" else f"{args.threads} threads"
    print(f"{model_dir} on {args.device} ({name}), {args.precision}, {model.config._attn_implementation} attention, "
          f"torch {torch.__version__}, "
          f"load average {os.getloadavg()[0]:.1f}")
    for data in args.data:
        pairs, separator = instruction_pairs(config, data, args.examples, tokenizer)
        print(f"{data}:")
        measure(model, tokenizer, pairs, separator, args.batch_size, torch.device(args.device), args.steps)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
