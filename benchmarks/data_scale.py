"""The continual data path at scale: wall time, peak memory and bytes per token of three
ways to tokenize one corpus, side by side, per corpus size.

    .venv/bin/python benchmarks/data_scale.py                         # 10 MB, 100 MB, 1 GB
    .venv/bin/python benchmarks/data_scale.py --sizes 10 100 --before /tmp/lmtune-main
    .venv/bin/python benchmarks/data_scale.py --corpus my/shards/*.jsonl.zst
    .venv/bin/python benchmarks/data_scale.py --sizes 0.05 --threads 1 --model .test/models/tiny-llama   # smoke

Corpora are built from the bundled Spanish corpora (resources/corpora/*.txt): their
sentences, shuffled with a fixed seed, grouped into paragraphs of 2 to 8 sentences
separated by blank lines, up to each size (kept under --workdir and reused); or
`--corpus` names the user's own (any form a domain's `corpus` setting takes, one or more).

For each corpus, each path runs in a fresh process of its own, and its wall time and
peak resident memory (the largest of its processes, os.wait4) are measured:

- **workflow**: the workflow's rules (`split_corpus`, `tokenize_split`) run by Snakemake
  on a config whose domain A is the corpus, Snakemake's start included;
- **datasets**: a plain `datasets` pipeline: `load_dataset("text", sample_by="paragraph")`,
  a batched `map` in `--threads` processes, blocks of 128 grouped by a second `map`,
  `save_to_disk` (its cache in a folder of its own, deleted after);
- **bare loop**: paragraphs read by a plain loop and tokenized in batches by the fast
  tokenizer's Rust batch call with `--threads` threads, ids written as uint16 (the
  storage floor);
- with `--before CHECKOUT`, **before**: the workflow's rules of another checkout (e.g.
  main) on the same corpus.

Bytes per token are what each leaves on disk over the tokens it holds (an end token per
paragraph included); tokens/s are tokens over wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLED = sorted((REPO / "resources/corpora").glob("*.txt"))
DEFAULT_MODEL = REPO / "resources/models/SmolLM2-135M-Instruct.Q4_1"
BLANK_LINE = re.compile(r"\n[ \t]*\n")
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
MB = 1 << 20


# --- Corpora ---


def build_corpus(path: Path, size_bytes: int, seed: int = 0) -> Path:
    """Sentences of the bundled corpora, shuffled, in paragraphs, up to `size_bytes`."""
    if path.exists() and path.stat().st_size >= size_bytes:
        return path
    sentences = [s.strip() for corpus in BUNDLED for p in BLANK_LINE.split(corpus.read_text(encoding="utf-8"))
                 for s in SENTENCE_END.split(p) if s.strip()]
    rng = random.Random(seed)
    tmp = path.with_suffix(".tmp")
    written = 0
    with open(tmp, "w", encoding="utf-8") as out:
        while written < size_bytes:
            paragraphs = [" ".join(rng.choices(sentences, k=rng.randint(2, 8))) for _ in range(200)]
            block = "\n\n".join(paragraphs) + "\n\n"
            out.write(block)
            written += len(block.encode("utf-8"))
    os.replace(tmp, path)
    return path


# --- The paths, each in a process of its own ---


def run_measured(command: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in bytes of the largest of its processes, output)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed ({code}):\n{output[-4000:]}")
    return wall, usage.ru_maxrss * 1024, output


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))


def workflow_config(corpus: str, model: str, threads: int) -> dict:
    import yaml

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["experiments"] = ["continual"]
    config["base_model"]["source"] = model
    config["continual"]["domains"] = {"A": {"corpus": corpus}, "B": {"corpus": str(BUNDLED[-1])}}
    return config


def workflow_path(checkout: Path, corpus: str, model: str, threads: int, workdir: Path) -> dict:
    """The checkout's rules on the corpus, as a user runs them (its own Snakefile)."""
    import yaml

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(workflow_config(corpus, model, threads)))
    # Before the token stores, the rules wrote train.txt/test.txt and blocks per block size.
    old_layout = not any("split.json" in rules.read_text() for rules in (checkout / "workflow/rules").rglob("*.smk"))
    tokens = workdir / "results/continual/tokens/A"
    targets = [tokens / f"{side}_block128" for side in ("train", "test")] if old_layout else [tokens / side for side in ("train", "test")]
    command = [str(Path(sys.executable).parent / "snakemake"), *[str(t.relative_to(workdir)) for t in targets],
               "-s", str(checkout / "Snakefile"), "--directory", str(workdir), "--cores", str(threads),
               "--configfile=" + str(workdir / "config.yaml")]
    wall, rss, _ = run_measured(command, env={**os.environ, "PYTHONPATH": str(checkout / "src")})
    if old_layout:
        import datasets

        count = sum(int(sum(sum(m) for m in datasets.load_from_disk(str(t))["attention_mask"])) for t in targets)
    else:
        count = sum(json.loads((t / "store.json").read_text())["tokens"] for t in targets)
    size = sum(folder_bytes(t) for t in targets)
    job = workdir / "results/benchmarks/tokenize_split/A.tsv"
    job_s = float(job.read_text().splitlines()[1].split("\t")[0]) if job.exists() else None
    shutil.rmtree(workdir / "results", ignore_errors=True)
    return {"wall": wall, "rss": rss, "tokens": count, "bytes": size, "job_s": job_s}


def child_path(kind: str, corpus: str, model: str, threads: int, out: Path) -> dict:
    wall, rss, output = run_measured([sys.executable, __file__, "--child", kind, "--corpus", corpus, "--model", model,
                                      "--threads", str(threads), "--workdir", str(out)])
    result = json.loads(output.strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True)
    return {"wall": wall, "rss": rss, **result}


def paragraphs(path: str):
    """A plain reader: the file a few MB at a time, cut at blank lines."""
    carry = ""
    with open(path, encoding="utf-8") as handle:
        while chunk := handle.read(4 * MB):
            parts = BLANK_LINE.split(carry + chunk)
            carry = parts.pop()
            yield from (p.strip() for p in parts if p.strip())
    if carry.strip():
        yield carry.strip()


def bare_loop(corpus: str, model: str, threads: int, out: Path) -> dict:
    os.environ["RAYON_RS_NUM_THREADS"] = os.environ["RAYON_NUM_THREADS"] = str(threads)
    import numpy as np
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model) / "tokenizer.json"))
    eos = json.loads((Path(model) / "tokenizer_config.json").read_text()).get("eos_token")
    eos_id = tokenizer.token_to_id(eos if isinstance(eos, str) else eos["content"])
    out.mkdir(parents=True, exist_ok=True)
    tokens = 0
    batch, size = [], 0
    with open(out / "ids.bin", "wb") as ids_file:
        def flush():
            nonlocal tokens
            flat = []
            for encoding in tokenizer.encode_batch_fast(batch, add_special_tokens=False):
                flat.extend(encoding.ids)
                flat.append(eos_id)
            np.asarray(flat, dtype=np.uint16).tofile(ids_file)
            tokens += len(flat)

        for paragraph in paragraphs(corpus):
            batch.append(paragraph)
            size += len(paragraph)
            if size >= MB:
                flush()
                batch, size = [], 0
        if batch:
            flush()
    return {"tokens": tokens, "bytes": folder_bytes(out)}


def datasets_pipeline(corpus: str, model: str, threads: int, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    os.environ["HF_DATASETS_CACHE"] = str(out / "cache")
    import datasets
    from transformers import AutoTokenizer

    datasets.disable_progress_bars()
    tokenizer = AutoTokenizer.from_pretrained(model)
    eos = tokenizer.eos_token_id
    raw = datasets.load_dataset("text", data_files=corpus, sample_by="paragraph", split="train")

    def tokenize(batch):
        ids = tokenizer([t.strip() for t in batch["text"]], add_special_tokens=False)["input_ids"]
        return {"input_ids": [row + [eos] for row in ids]}

    def group(batch, block=128):
        flat = [t for row in batch["input_ids"] for t in row]
        return {"input_ids": [flat[i : i + block] for i in range(0, len(flat), block)]}

    tokenized = raw.map(tokenize, batched=True, num_proc=threads, remove_columns=["text"])
    blocks = tokenized.map(group, batched=True, num_proc=threads)
    blocks.save_to_disk(str(out / "saved"))
    import pyarrow.compute

    # From the memory-mapped table: reading the column into Python would cost more memory than the pipeline.
    count = pyarrow.compute.sum(pyarrow.compute.list_value_length(blocks.data.column("input_ids"))).as_py()
    return {"tokens": int(count), "bytes": folder_bytes(out / "saved")}


# --- The table ---


def row(name: str, result: dict, bare: dict | None) -> str:
    rate = result["tokens"] / result["wall"]
    ratio = f"{rate / (bare['tokens'] / bare['wall']):.2f}" if bare else "-"
    job = f"  (tokenize_split job {result['job_s']:.1f} s)" if result.get("job_s") else ""
    return (f"  {name:<22s} {result['wall']:8.1f} s {result['rss'] / MB:8.0f} MiB {result['bytes'] / result['tokens']:8.2f} B/token "
            f"{rate:12,.0f} tokens/s  x{ratio} of bare{job}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[10, 100, 1024], help="corpus sizes in MB (built)")
    parser.add_argument("--corpus", nargs="+", help="the user's corpora instead (each as a domain's corpus setting)")
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="a transformers folder whose tokenizer is used")
    parser.add_argument("--threads", type=int, default=2, help="cores: Snakemake's --cores, map's num_proc, the tokenizer's threads")
    parser.add_argument("--workdir", default="/tmp/lmtune-data-scale", help="where corpora and outputs go")
    parser.add_argument("--before", help="another checkout (e.g. main) whose workflow rules run too, side by side")
    parser.add_argument("--paths", nargs="+", default=["workflow", "datasets", "bare"], choices=["workflow", "datasets", "bare"])
    parser.add_argument("--child", choices=["datasets", "bare"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    if args.child:
        work = {"datasets": datasets_pipeline, "bare": bare_loop}[args.child]
        print(json.dumps(work(args.corpus[0], args.model, args.threads, workdir)))
        return
    if not Path(args.model).is_dir():
        sys.exit(f"no model folder at {args.model}: run the workflow once (prepare_base_model), or pass --model")
    workdir.mkdir(parents=True, exist_ok=True)
    corpora = args.corpus or [str(build_corpus(workdir / f"corpus_{size:g}MB.txt", int(size * MB))) for size in args.sizes]
    print(f"{args.threads} threads; tokenizer of {args.model}; peak RSS: the largest of a path's processes", flush=True)
    for corpus in corpora:
        size = sum(p.stat().st_size for p in Path(corpus).parent.glob(Path(corpus).name)) if Path(corpus).exists() else 0
        print(f"corpus {corpus} ({size / MB:,.1f} MB)", flush=True)
        runs = {
            "bare loop": lambda: child_path("bare", corpus, args.model, args.threads, workdir / "bare"),
            "workflow": lambda: workflow_path(REPO, corpus, args.model, args.threads, workdir / "workflow"),
            "before (workflow)": lambda: workflow_path(Path(args.before), corpus, args.model, args.threads, workdir / "before"),
            "datasets map": lambda: child_path("datasets", corpus, args.model, args.threads, workdir / "datasets"),
        }
        wanted = {"bare loop": "bare" in args.paths, "workflow": "workflow" in args.paths,
                  "before (workflow)": bool(args.before), "datasets map": "datasets" in args.paths}
        bare = None
        for name, run in runs.items():
            if wanted[name]:
                result = run()
                bare = result if name == "bare loop" else bare
                print(row(name, result, bare), flush=True)


if __name__ == "__main__":
    main()
