"""Wall time of judging Java generations at every level (compile, signature, run against
the reference) in one batch, each generation in an OS sandbox of its own: the target is
the default run's 240 generations in at most 30 s on 2 cores.

    .venv/bin/python benchmarks/java_checks.py [--generations 240] [--rounds 3] [--hostile 0] [--workers 2]

The generations are the default config's test instructions (`java.instructions`) answered
with a mix of model-like outputs: the reference, the reference rewritten (right), a wrong
operator (wrong output), another method name (wrong signature) and a syntax error.
`--hostile N` makes N of them an endless loop, each of which costs its time limit.
"""

from __future__ import annotations

import argparse
import os
import time

import yaml

from lmtune.java.checks import TIME_LIMIT_S, check_methods
from lmtune.java.tasks import generate_tasks


def model_like(reference: str, index: int) -> str:
    """The reference as a model might have answered it."""
    kind = index % 5
    if kind == 1:  # same code, other layout
        return " ".join(reference.split())
    if kind == 2:  # wrong behaviour where an operator or constant can be changed
        for old, new in [(" + ", " - "), (" > ", " >= "), ("return ", "return 1 + "), ("println(", "print(")]:
            if old in reference:
                return reference.replace(old, new, 1)
        return reference
    if kind == 3:  # another name
        return reference.replace("(", "Other(", 1)
    if kind == 4:  # cut off by the token limit
        return reference[: len(reference) // 2]
    return reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--generations", type=int, default=240)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hostile", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="generations judged at a time")
    args = parser.parse_args()
    settings = yaml.safe_load(open(args.config))["java"]["instructions"]
    tasks = generate_tasks(settings)
    pool = [t.code for t in tasks["test"] + tasks["test_unseen_words"]]
    references = [pool[i % len(pool)] for i in range(args.generations)]
    generated = [model_like(r, i) for i, r in enumerate(references)]
    for i in range(args.hostile):
        generated[i * 5] = generated[i * 5].replace("{", "{ while (System.nanoTime() > 0) {}", 1)
    print(f"{args.generations} generations ({args.hostile} endless loops, {TIME_LIMIT_S:g} s limit each), "
          f"{args.workers} at a time, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    for round_ in range(1, args.rounds + 1):
        started = time.perf_counter()
        verdicts = check_methods(generated, references, workers=args.workers)
        seconds = time.perf_counter() - started
        reasons = {}
        for verdict in verdicts:
            reasons[verdict.reason] = reasons.get(verdict.reason, 0) + 1
        print(f"round {round_}: {seconds:.1f} s  ({seconds / len(verdicts) * 1000:.0f} ms per generation)  {reasons}")


if __name__ == "__main__":
    main()
