"""Java generation as it ran before (transformers' `generate`, unstopped) and as the
workflow runs it (`lmtune.core.generation`: stopped at the end of the first method,
finished rows leaving the batch), side by side.

    .venv/bin/python benchmarks/generation.py [--model resources/models/...] [--prompts 80] [--unstopped-batch-size 16]
    .venv/bin/python benchmarks/generation.py --config .test/config.yaml --prompts 4   # the tiny setting: seconds

Runs greedy generation on the Java test instructions of the config (`java.instructions`,
drawn as the rule generate_java_tasks draws them) twice in one process, the order
alternated over `--rounds`: unstopped (`model.generate`: every prompt of a batch runs
until the batch's last one reaches the end token or `max_new_tokens`; at
`--unstopped-batch-size`, default the config's, 16 at the start of issue 18) and the
workflow's generation stopped by `first_block_end`.
Prints the seconds of each, their ratio, whether every stopped output is the unstopped
one cut after its first method, and whether exact match and compile verdicts agree.
Needs the model: by default the Java experiment's base model, materialised by the
workflow where it is not a local folder (`snakemake resources/models/...`).
"""

from __future__ import annotations

import argparse
import time

import torch
import yaml

from lmtune.core.completions import prompt_text
from lmtune.core.generation import answer_instructions
from lmtune.java.tasks import generate_tasks, normalise
from lmtune.java.javac import compile_methods, find_jdk
from lmtune.core.models import base_model_setting, load_model, load_tokenizer, parse_source
from lmtune.core.stopping import first_block_end


def cut(text: str) -> str:
    end = first_block_end(text)
    return text if end is None else text[:end]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--model", help="model folder (default: the Java experiment's base model)")
    parser.add_argument("--prompts", type=int, default=80, help="first N of test + test_unseen_words")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the rule's threads: 1)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--unstopped-batch-size", type=int, help="batch of the unstopped run (default: the config's)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    config = yaml.safe_load(open(args.config))
    java = config["java"]
    source = parse_source(base_model_setting(config, "java")["source"])
    model_dir = args.model or (source.location if source.kind == "folder" else f"resources/models/{source.slug}")
    generation = java["generation"]
    # The same seeded draw as the workflow's tasks: no run needed for the prompts.
    drawn = generate_tasks(java["instructions"])
    tasks = [{"prompt": t.instruction, "completion": t.code} for split in ["test", "test_unseen_words"] for t in drawn[split]]
    tasks = tasks[: args.prompts]
    tokenizer, model = load_tokenizer(model_dir), load_model(model_dir)

    batch_sizes = {"unstopped": args.unstopped_batch_size or generation["batch_size"], "stopped": generation["batch_size"]}

    def generate_unstopped() -> list[str]:
        """transformers' own loop, prompts batched in order of length as the workflow does."""
        prompts = [prompt_text(tokenizer, t["prompt"]) for t in tasks]
        order = sorted(range(len(prompts)), key=lambda i: len(tokenizer(prompts[i], add_special_tokens=False)["input_ids"]))
        tokenizer.padding_side = "left"
        outputs = [""] * len(prompts)
        size = batch_sizes["unstopped"]
        for start in range(0, len(order), size):
            ids = order[start : start + size]
            batch = tokenizer([prompts[i] for i in ids], add_special_tokens=False, return_tensors="pt", padding=True)
            with torch.no_grad():
                generated = model.generate(
                    **batch, max_new_tokens=generation["max_new_tokens"], do_sample=False, num_beams=1,
                    pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                )
            texts = tokenizer.batch_decode(generated[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)
            for i, text in zip(ids, texts):
                outputs[i] = text
        return outputs

    def run(answer_end):
        start = time.perf_counter()
        if answer_end is None:
            outputs = generate_unstopped()
        else:
            outputs = answer_instructions(
                model, tokenizer, [t["prompt"] for t in tasks], generation["max_new_tokens"], batch_sizes["stopped"],
                answer_end=answer_end, progress=False,
            )
        return [o.strip("\n") for o in outputs], time.perf_counter() - start

    seconds = {"unstopped": [], "stopped": []}
    for round_ in range(args.rounds):
        names = ["unstopped", "stopped"] if round_ % 2 == 0 else ["stopped", "unstopped"]
        for name in names:
            outputs, took = run(None if name == "unstopped" else first_block_end)
            seconds[name].append(took)
            if name == "unstopped":
                full = outputs
            else:
                stopped = outputs
        print(f"round {round_ + 1}: " + ", ".join(f"{n} {seconds[n][-1]:.1f} s" for n in names), flush=True)
    print(f"model {model_dir}, {len(tasks)} prompts, max_new_tokens {generation['max_new_tokens']}, "
          f"batch {batch_sizes['unstopped']} unstopped, {batch_sizes['stopped']} stopped, {args.threads} thread(s)")
    for name, values in seconds.items():
        print(f"{name:>10}: " + ", ".join(f"{v:.1f}" for v in values) + " s")
    print(f"speed-up (sum unstopped / sum stopped): {sum(seconds['unstopped']) / sum(seconds['stopped']):.2f}x")
    cut_full = [cut(o).strip("\n") for o in full]
    print(f"stopped == unstopped cut after its first method: {sum(a == b for a, b in zip(stopped, cut_full))}/{len(tasks)}")
    print(f"outputs the cut shortened: {sum(c != f for c, f in zip(cut_full, full))}/{len(tasks)}")
    exact = [[normalise(o) == normalise(t["completion"]) for o, t in zip(outs, tasks)] for outs in (full, stopped)]
    print(f"exact match unstopped {sum(exact[0])}, stopped {sum(exact[1])}, differing verdicts "
          f"{sum(a != b for a, b in zip(*exact))}")
    java = find_jdk()
    if java:
        compiled = [[r.compiled for r in compile_methods(outs, java)] for outs in (full, stopped)]
        print(f"compiles unstopped {sum(compiled[0])}, stopped {sum(compiled[1])}, differing verdicts "
              f"{sum(a != b for a, b in zip(*compiled))}")


if __name__ == "__main__":
    main()
