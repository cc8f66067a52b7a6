"""Training throughput of the workflow's step against a plain PyTorch loop, per stage.

    .venv/bin/python benchmarks/throughput.py                      # every stage of config.yaml
    .venv/bin/python benchmarks/throughput.py --stages continual.phases.A arithmetic --steps 4
    .venv/bin/python benchmarks/throughput.py --config .test/config.yaml \
        --stages java.instruct_runs.first --steps 1                # the tiny setting: a smoke run

Default mode, for each training stage of the config (continual phases, arithmetic LoRA,
Java stage 1 and stage 2 runs, the instruct fine-tune): the same model, data, batch size
and collator are trained for one warm-up step and then `--steps` timed steps, through
the workflow's own `lmtune.core.training.train_causal_lm` (the transformers Trainer, as
the Snakemake rules call it) and through a plain loop that does the same maths (forward,
loss.backward(), gradient clipping at the Trainer's norm, the optimizer and learning-rate
schedule the Trainer builds, zero_grad) fed the very batches the Trainer drew; the
workflow's process is set up as a job's (`lmtune.pipeline.jobs.start_job`: garbage
collector and memory allocator), the plain loop's left as Python starts it. The two
run side by side in fresh processes of their own and take turns step by step, so that
both meet the same moments of a shared machine (`--rounds` pairs of processes); only a
step's own time counts, never the wait for its turn, and no checkpoint falls in the timed
window (the workflow's checkpoints are a resume feature, not part of a step). It prints non-pad tokens per
second of both, their ratio, the peak memory of each and the wall time of `snakemake -n`
on the same config in the repository; `--profile` adds, per stage, where a timed step's
CPU time goes in each method (torch.profiler, the operators that differ most). Data are
built from the config with the library functions the rules call (a continual phase's and
Java stage 1's blocks memory-mapped from a token store, as the workflow loads them; `--blocks memory`
builds them in memory instead, as before the token stores: run both to compare); nothing under
results/ is read or written.

The GPU benchmark of a QLoRA step on a random Mistral-7B is `benchmarks/gpu_step.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import yaml
from transformers import TrainerCallback, default_data_collator, set_seed

from lmtune.arithmetic.tasks import generate_datasets
from lmtune.core.blocks import IGNORE_INDEX, tokenize_to_dataset
from lmtune.core.splits import split_corpus
from lmtune.core.tokenstore import TokenBlocks, TokenStore, write_stores
from lmtune.continual.corpus import read_corpus, split_paragraphs, split_train_test
from lmtune.core.errors import ModelError
from lmtune.instruct.data import PromptCompletion, read_examples, split_examples
from lmtune.instruct.encoding import encode_for_training
from lmtune.java.corpus import clean_snippets, read_source
from lmtune.java.tasks import generate_tasks
from lmtune import recipe
from lmtune.config import experiments
from lmtune.core.models import PRECISIONS, base_model_setting, check_model_folder, load_tokenizer, materialize, parse_source
from lmtune.core.process import tune_job_process
from lmtune.core.training import train_causal_lm

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.95  # workflow tokens/s over plain-loop tokens/s
TARGET_DRY_RUN_S = 5.0  # `snakemake -n` on a finished workflow
TOKENS = "non-pad tokens = attention_mask == 1 in the batches the model was given"


# --- The training jobs of a config (lmtune.recipe, as the rules plan them), and their data ---


@dataclass(frozen=True)
class Stage:
    key: str  # the training job's config key, as lmtune.recipe.planned_specs names it; --stages matches it
    spec: recipe.TrainingSpec
    model_spec: dict  # the experiment's base_model section

    @property
    def default_steps(self) -> int:
        return 5 if self.spec.adapter is None else 8  # a full 135M step: 5-35 s on 2 cores


def validated(config: dict) -> dict:
    """The config with the schema's defaults filled in, as the workflow sees it."""
    from lmtune.core.schema import check_schema, fill_defaults
    from lmtune.experiments import config_schema

    check_schema(config, config_schema())
    fill_defaults(config, config_schema())
    return config


def config_stages(config: dict) -> list[Stage]:
    """Every training job of the config (continual: the first strategy's phases, first
    seed), each with the spec the workflow trains it with."""
    planned = experiments(config)
    first_strategy = next(iter(config["continual"]["strategies"])) if "continual" in planned else None
    stages = []
    for experiment, specs in recipe.planned_specs(config, planned).items():
        for key, spec in specs.items():
            if key.startswith("continual.") and not key.endswith(f"(strategy {first_strategy})"):
                continue
            stages.append(Stage(key, spec, base_model_setting(config, experiment)))
    return stages


def store_blocks(texts, tokenizer, block_size: int, characters: int) -> TokenBlocks:
    """Documents written to a token store and its blocks memory-mapped, as the workflow
    loads them (the store's folder is removed: the memory map keeps the data readable)."""
    folder = Path(tempfile.mkdtemp(prefix="lmtune-throughput-"))
    write_stores((("train", text) for text in texts), tokenizer, {"train": folder}, characters)
    store = TokenStore(folder)
    shutil.rmtree(folder)
    return TokenBlocks(store, block_size)


def build_dataset(stage: Stage, config: dict, tokenizer, blocks: str = "store"):
    """The stage's training set, from the config, with the library calls of the rules;
    the blocks of a continual phase and of Java stage 1 from a token store, memory-mapped
    as the workflow loads them (`blocks="store"`), or built in memory (`"memory"`, the
    layer before)."""
    if stage.key.startswith("continual."):  # split_corpus, then tokenize_split
        section = config["continual"]
        domain = stage.key.split(".")[2].split(" ")[0]
        corpus = section["domains"][domain]["corpus"]
        split = section["split"]
        block_size = section["phases"][domain]["block_size"]
        if blocks == "memory":
            train, _test = split_train_test(split_paragraphs(read_corpus(corpus)), split["test_fraction"], split["seed"], corpus)
            return tokenize_to_dataset(train, tokenizer, block_size, source=corpus)
        corpus_split = split_corpus(corpus, split["test_fraction"], split["seed"])
        return store_blocks(corpus_split.side_documents("train"), tokenizer, block_size, corpus_split.characters["train"])
    if stage.key.startswith("arithmetic."):  # generate_arithmetic_data, then tokenize_arithmetic
        examples = generate_datasets(config["arithmetic"]["data"])["train"]
        return encode_for_training(tokenizer, [PromptCompletion(e.prompt, e.completion) for e in examples], separator=" ")[0]
    if stage.key.startswith("instruct."):  # prepare_instruct_data, then tokenize_instruct
        section = config["instruct"]
        data = section["data"]
        train = read_examples(data["train"])
        if "validation" not in data:  # else the validation file is separate: all of train trains
            train, _validation = split_examples(train, data["validation_fraction"], data["seed"])
        return encode_for_training(tokenizer, train, max_length=section["max_length"], overlong=section["overlong"])[0]
    if stage.key == "java.autoregressive":  # prepare_java_corpus, then tokenize_java_corpus
        settings = config["java"]["corpus"]
        raw = [snippet for source in settings["sources"] for snippet in read_source(source)]
        snippets = clean_snippets(raw, settings["min_chars"], settings["max_chars"])
        train, _test = split_train_test(snippets, settings["test_fraction"], settings["seed"], source="java.corpus")
        block_size = config["java"]["autoregressive"]["block_size"]
        if blocks == "memory":
            return tokenize_to_dataset(train, tokenizer, block_size, source="java.corpus")
        return store_blocks(train, tokenizer, block_size, sum(map(len, train)))
    # generate_java_tasks, then tokenize_java_tasks
    tasks = generate_tasks(config["java"]["instructions"])["train"]
    return encode_for_training(tokenizer, [PromptCompletion(t.instruction, t.code) for t in tasks], separator="\n")[0]


def model_folder(spec: dict, cache: Path) -> str:
    """The base model's transformers folder: the config's own folder, the workflow's
    materialised copy under resources/models/, or a copy materialised here into `cache`."""
    source = parse_source(spec["source"])
    if source.kind == "folder":
        return source.location
    folder = REPO / "resources" / "models" / source.slug
    try:
        check_model_folder(folder)
        return str(folder)
    except ModelError:
        pass
    folder = cache / source.slug
    if not folder.is_dir():
        progress(f"materialising {spec['source']} into {folder} (as the rule prepare_base_model does)")
        materialize(source, folder, spec.get("trust_remote_code", False))
    return str(folder)


# --- Measuring one run: tokens at every forward pass, time at every optimizer step ---


class TokenCounter:
    """Counts the tokens of every training forward pass, without a device sync: non-pad
    (attention_mask == 1), in the loss (labels != -100), and positions (padding included)."""

    def __init__(self, model):
        self.counts: list[torch.Tensor] = []  # [non-pad, in loss] per forward pass, on the device
        self.positions: list[int] = []
        self._hook = model.register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, module, args, kwargs):
        if module.training:
            mask, labels = kwargs["attention_mask"], kwargs["labels"]
            self.counts.append(torch.stack([mask.sum(), (labels != IGNORE_INDEX).sum()]))
            self.positions.append(mask.numel())

    def remove(self):
        self._hook.remove()


class StepClock:
    """Each optimizer step's own time, from when the step could start (`begin`: the end of
    the last step, or the moment its process got its turn back) to its end (`tick`), and
    the forward passes done by then."""

    def __init__(self, device: torch.device, counter: TokenCounter):
        self.device, self.counter = device, counter
        self.starts: list[float] = []
        self.times: list[float] = []
        self.forwards: list[int] = []
        self.optimizer = "?"

    def begin(self):
        self.starts.append(time.perf_counter())

    def tick(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.times.append(time.perf_counter())
        self.forwards.append(len(self.counter.counts))

    def result(self, warmup: int, steps: int) -> dict:
        if len(self.times) < warmup + steps:
            raise RuntimeError(f"only {len(self.times)} optimizer steps ran, {warmup + steps} were asked for")
        timed = range(warmup, warmup + steps)
        non_pad = [int(n) for n, _in_loss in torch.stack(self.counter.counts).tolist()]  # one device sync
        in_loss = [int(n) for _non_pad, n in torch.stack(self.counter.counts).tolist()]
        window = slice(self.forwards[warmup - 1], self.forwards[warmup + steps - 1])
        step_seconds = [self.times[i] - self.starts[i] for i in timed]
        step_tokens = [sum(non_pad[self.forwards[i - 1] : self.forwards[i]]) for i in timed]
        return {
            "seconds": sum(step_seconds),
            "steps": steps,
            "non_pad": sum(non_pad[window]),
            "in_loss": sum(in_loss[window]),
            "positions": sum(self.counter.positions[window]),
            "step_seconds": step_seconds,
            "step_tokens": step_tokens,
            # The fastest step: on a shared machine, the one least slowed by other processes.
            "best_step_rate": max(t / s for t, s in zip(step_tokens, step_seconds)),
        }


class Turns:
    """The two methods' processes take turns, step by step (the workflow's first), so
    that both meet the same moments of a shared machine: after each of its steps the
    workflow hands the plain loop that step's batches and waits; the plain loop runs its
    step on them and hands the turn back. Waiting is never timed."""

    TIMEOUT_S = 3600  # a step of the other process, at most

    def __init__(self, context):
        self.to_plain, self.to_workflow = context.Queue(), context.Queue()

    def workflow_callback(self, clock: StepClock, collator, profiler, accumulation: int) -> TrainerCallback:
        turns, sent = self, [0]

        class Take(TrainerCallback):
            def on_train_begin(self, args, state, control, **kwargs):
                clock.optimizer = str(getattr(args.optim, "value", args.optim))
                clock.begin()

            def on_step_end(self, args, state, control, **kwargs):
                clock.tick()
                profiler.after_step(state.global_step)
                # The data loader reads a batch ahead: this step's are the next `accumulation`.
                turns.to_plain.put(collator.batches[sent[0] : sent[0] + accumulation])
                sent[0] += accumulation
                turns.to_workflow.get(timeout=turns.TIMEOUT_S)
                clock.begin()

        return Take()

    def plain_batches(self, steps: int):
        """The batches of each of the workflow's steps, in turn; the turn goes back once
        the caller asks for the next."""
        for step in range(steps):
            if step:
                self.to_workflow.put(True)
            yield self.to_plain.get(timeout=self.TIMEOUT_S)
        self.to_workflow.put(True)


class StepProfiler:
    """torch.profiler over the timed steps (from the end of the last warm-up step): CPU
    time per operator, per timed step."""

    def __init__(self, enabled: bool, warmup: int, steps: int):
        self.enabled, self.warmup, self.steps = enabled, warmup, steps
        self.profile = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) if enabled else None

    def after_step(self, done: int) -> None:
        if self.enabled and done == self.warmup:
            self.profile.start()
        elif self.enabled and done == self.warmup + self.steps:
            self.profile.stop()

    def milliseconds_per_step(self) -> dict[str, float]:
        if not self.enabled:
            return {}
        return {event.key: event.self_cpu_time_total / 1000 / self.steps for event in self.profile.key_averages()}


class RecordingCollator:
    """The workflow's collator, keeping the examples of every batch it builds, so that
    the plain loop trains on the very batches the Trainer drew."""

    def __init__(self, collate):
        self.collate = collate
        self.batches: list[list[dict]] = []

    def __call__(self, features):
        self.batches.append([dict(feature) for feature in features])
        return self.collate(features)


def peak_memory(device: torch.device) -> tuple[float, str]:
    """Peak memory in GiB: CUDA allocations, or the process's peak resident set."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30, "CUDA max allocated"
    try:  # VmHWM: this process's own peak RSS (a fresh process per measurement)
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) / 2**20, "max RSS"
    except (OSError, AttributeError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "max RSS"


def measure_workflow(model, tokenizer, dataset, spec: recipe.TrainingSpec, warmup: int, steps: int, turns: Turns,
                     profile: bool = False) -> dict:
    """Train through lmtune.core.training.train_causal_lm as lmtune.recipe.train calls it,
    stopped after warmup + steps optimizer steps, with no checkpoint on the way (the only
    settings changed)."""
    settings = spec.optimisation
    counter = TokenCounter(model)
    clock = StepClock(torch.device(next(model.parameters()).device), counter)
    profiler = StepProfiler(profile, warmup, steps)
    collator = RecordingCollator(recipe.collator(spec, tokenizer, model) or default_data_collator)
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sys.stderr):  # the Trainer prints its logs
        train_causal_lm(
            model=model,
            tokenizer=tokenizer,
            train_data=dataset,
            out_dir=f"{tmp}/model",
            loss_log=f"{tmp}/train_loss.csv",
            checkpoint_dir=f"{tmp}/checkpoints",
            settings=replace(settings, max_steps=warmup + steps, save_steps=10**9, save_minutes=0),
            seed=spec.seed,
            device=spec.device,
            precision=spec.precision,
            progress=False,
            callbacks=(turns.workflow_callback(clock, collator, profiler, settings.gradient_accumulation_steps),),
            data_collator=collator,
            group_by_length=spec.objective == "completions" and not spec.packing,  # as lmtune.recipe.train
        )
    counter.remove()
    return {**clock.result(warmup, steps), "optimizer": clock.optimizer, "profile": profiler.milliseconds_per_step()}


def trainer_optimisation(model, settings, total_steps: int, device: torch.device, folder: str):
    """The optimizer, learning-rate schedule and clipping norm that the workflow's Trainer
    builds for these settings (transformers' own construction: its default AdamW, fused
    where torch has it, no weight decay on biases and norms), for the plain loop to do the
    same maths with."""
    from transformers import Trainer, TrainingArguments

    args = TrainingArguments(
        output_dir=folder, max_steps=total_steps, learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay, warmup_steps=settings.warmup_steps, lr_scheduler_type=settings.lr_scheduler,
        lr_scheduler_kwargs=dict(settings.lr_scheduler_kwargs), use_cpu=device.type == "cpu", report_to="none",
    )
    trainer = Trainer(model=model, args=args)
    trainer.create_optimizer_and_scheduler(num_training_steps=total_steps)
    return trainer.optimizer, trainer.lr_scheduler, args.max_grad_norm


def measure_plain(model, tokenizer, spec: recipe.TrainingSpec, warmup: int, steps: int, turns: Turns,
                  profile: bool = False) -> dict:
    """The workflow's batches, step by step, through a plain loop: forward, backward,
    clipping, the Trainer's optimizer and schedule, zero_grad."""
    settings, precision = spec.optimisation, spec.precision
    set_seed(spec.seed)
    device = next(model.parameters()).device
    collate = recipe.collator(spec, tokenizer, model) or default_data_collator
    with tempfile.TemporaryDirectory() as folder:
        optimizer, schedule, max_norm = trainer_optimisation(model, settings, warmup + steps, device, folder)
    trained = [p for p in model.parameters() if p.requires_grad]
    counter = TokenCounter(model)
    clock = StepClock(device, counter)
    profiler = StepProfiler(profile, warmup, steps)
    model.train()
    for step, step_batches in enumerate(turns.plain_batches(warmup + steps)):
        clock.begin()
        accumulation = len(step_batches)
        for features in step_batches:
            batch = {key: value.to(device) for key, value in collate(features).items()}
            with torch.autocast(device.type, dtype=PRECISIONS[precision], enabled=precision != "fp32"):
                loss = model(**batch).loss
            (loss / accumulation).backward()
        torch.nn.utils.clip_grad_norm_(trained, max_norm)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        clock.tick()
        profiler.after_step(step + 1)
    counter.remove()
    kind = f"{type(optimizer.optimizer if hasattr(optimizer, 'optimizer') else optimizer).__name__}"
    return {**clock.result(warmup, steps), "optimizer": kind, "profile": profiler.milliseconds_per_step()}


# --- Default mode: each (stage, method) in a fresh process, so peak memory is its own ---


def measure_in_process(job: dict, turns: Turns) -> dict:
    config, stage = job["config"], job["stage"]
    if job["method"] == "workflow":  # the process as lmtune.pipeline.jobs.start_job sets up a job's
        tune_job_process()
    spec = replace(stage.spec, device=job["device"], precision=job["precision"])
    settings = spec.optimisation
    torch.set_num_threads(job["threads"])
    tokenizer = load_tokenizer(job["model_dir"])
    dataset = build_dataset(stage, config, tokenizer, job.get("blocks", "store"))
    model = recipe.add_adapter(spec, recipe.model_to_train(spec, job["model_dir"]))  # as lmtune.recipe.train builds it
    measure = measure_workflow if job["method"] == "workflow" else measure_plain
    arguments = (model, tokenizer, dataset) if job["method"] == "workflow" else (model, tokenizer)
    result = measure(*arguments, spec, job["warmup"], job["steps"], turns, job["profile"])
    result["peak_gib"], result["peak_kind"] = peak_memory(next(model.parameters()).device)
    # Non-pad tokens per step over a whole epoch: by-length batching starts with its longest batches.
    masks = dataset["attention_mask"] if hasattr(dataset, "column_names") else (row["attention_mask"] for row in dataset)
    result["epoch_tokens_per_step"] = sum(map(sum, masks)) / math.ceil(len(dataset) / settings.batch_size)
    return result


def _child(job: dict, turns: Turns, result_path: str, log_path: str) -> None:
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    result = measure_in_process(job, turns)
    with open(result_path, "wb") as file:
        pickle.dump(result, file)


def measure_round(job: dict, workdir: Path) -> dict[str, dict]:
    """Both methods, each in a fresh process of its own, taking turns step by step."""
    context = multiprocessing.get_context("spawn")
    turns = Turns(context)
    children = {}
    for method in ("workflow", "plain"):
        name = f"{re.sub(r'[^A-Za-z0-9]+', '-', job['stage'].key)}-{method}-{job['round']}"
        paths = (workdir / f"{name}.pickle", workdir / f"{name}.log")
        process = context.Process(target=_child, args=({**job, "method": method}, turns, *map(str, paths)))
        process.start()
        children[method] = (name, process, *paths)
    results = {}
    while children:
        for method, (name, process, result_path, log_path) in list(children.items()):
            process.join(timeout=1)
            if process.exitcode is None:
                continue
            del children[method]
            if process.exitcode != 0:
                for _, other, *_ in children.values():  # it waits for a turn that will not come
                    other.kill()
                tail = log_path.read_text(errors="replace")[-4000:] if log_path.exists() else ""
                raise RuntimeError(f"{name} failed (exit code {process.exitcode}); its log ends:\n{tail}")
            with open(result_path, "rb") as file:
                results[method] = pickle.load(file)
    return results


def dry_run_command(config: str) -> list[str]:
    """`snakemake -n` on the config, as a user runs it in the repository."""
    return [str(Path(sys.executable).with_name("snakemake")), "-n", "--cores", "1", f"--configfile={config}"]


def dry_run(config: str, repetitions: int) -> dict:
    """Wall time of `snakemake -n` on the config in the repository, and what it plans."""
    seconds, output = [], ""
    for _ in range(repetitions):
        start = time.perf_counter()
        done = subprocess.run(dry_run_command(config), cwd=REPO, capture_output=True, text=True)
        seconds.append(time.perf_counter() - start)
        output = done.stdout + done.stderr
        if done.returncode != 0:
            return {"error": output.strip().splitlines()[-1] if output.strip() else f"exit code {done.returncode}"}
    jobs = re.search(r"^total\s+(\d+)", output, re.M)
    return {
        "median": statistics.median(seconds),
        "all": seconds,
        "finished": "Nothing to be done" in output,
        "jobs": int(jobs.group(1)) if jobs else 0,
    }


def pooled(results: list[dict]) -> dict:
    """One method's rounds as one measurement: their tokens over their seconds, the
    fastest step of any, the highest peak, the profiles averaged."""
    profiles = [r["profile"] for r in results]
    return {
        **results[0],
        "seconds": sum(r["seconds"] for r in results),
        "non_pad": sum(r["non_pad"] for r in results),
        "in_loss": sum(r["in_loss"] for r in results),
        "positions": sum(r["positions"] for r in results),
        "steps": sum(r["steps"] for r in results),
        "step_seconds": [s for r in results for s in r["step_seconds"]],
        "best_step_rate": max(r["best_step_rate"] for r in results),
        "peak_gib": max(r["peak_gib"] for r in results),
        "rounds": [r["non_pad"] / r["seconds"] for r in results],
        "step_tokens": [t for r in results for t in r["step_tokens"]],
        "profile": {op: sum(p.get(op, 0.0) for p in profiles) / len(profiles) for op in set().union(*profiles)},
    }


def turn_ratio(workflow: dict, plain: dict) -> float:
    """The median, over the timed steps, of a workflow step's tokens/s over that of the
    plain step that followed it (the two took turns)."""
    return statistics.median(
        (tw / sw) / (tp / sp)
        for tw, sw, tp, sp in zip(workflow["step_tokens"], workflow["step_seconds"], plain["step_tokens"], plain["step_seconds"])
    )


def print_profile(stage_key: str, workflow: dict[str, float], plain: dict[str, float], rows: int = 12) -> None:
    """The operators whose CPU time per step differs most between the methods, and the total."""
    ops = sorted(set(workflow) | set(plain), key=lambda op: -abs(workflow.get(op, 0) - plain.get(op, 0)))[:rows]
    print(f"\n{stage_key}: CPU time per timed step by operator (self time, ms; torch.profiler), largest differences first")
    print(f"  {'operator':48s} {'workflow':>9s} {'plain':>9s} {'difference':>10s}")
    for op in ops:
        w, p = workflow.get(op, 0.0), plain.get(op, 0.0)
        print(f"  {op[:48]:48s} {w:9.1f} {p:9.1f} {w - p:+10.1f}")
    print(f"  {'all operators':48s} {sum(workflow.values()):9.1f} {sum(plain.values()):9.1f} "
          f"{sum(workflow.values()) - sum(plain.values()):+10.1f}")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def gib(value: float) -> str:
    return f"{value:.2f} GiB"


def cpu_mode(args) -> None:
    os.chdir(REPO)  # the config's corpus paths are relative to the repository
    config = validated(yaml.safe_load(Path(args.config).read_text()))
    stages = [s for s in config_stages(config) if not args.stages or any(p in s.key for p in args.stages)]
    if not stages:
        sys.exit(f"no stage matches {args.stages}; stages: {'; '.join(s.key for s in config_stages(config))}")
    device = args.device or config["compute"]["device"]
    precision = args.precision or config["compute"]["precision"]
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="lmtune-throughput-") as tmp:
        for stage in stages:
            steps = args.steps or stage.default_steps
            job = {"config": config, "stage": stage, "model_dir": model_folder(stage.model_spec, Path(tmp)),
                   "device": device, "precision": precision, "threads": args.threads,
                   "warmup": args.warmup, "steps": steps, "profile": args.profile, "blocks": args.blocks}
            runs = {"workflow": [], "plain": []}
            for round_ in range(args.rounds):
                progress(f"{stage.key} ({stage.spec.name}), round {round_ + 1}: both methods, turn by turn, "
                         f"{args.warmup} warm-up + {steps} timed steps ...")
                for method, r in measure_round({**job, "round": round_}, Path(tmp)).items():
                    runs[method].append(r)
                    progress(f"  {method}: {r['non_pad']} non-pad tokens in {r['seconds']:.1f} s "
                             f"(steps: {', '.join(f'{s:.1f}' for s in r['step_seconds'])} s), peak {gib(r['peak_gib'])}")
            if len({r["non_pad"] for method in runs.values() for r in method}) != 1:
                seen = {method: [r["non_pad"] for r in results] for method, results in runs.items()}
                raise RuntimeError(f"{stage.key}: the runs saw different tokens: {seen}")
            rows.append((stage, {method: pooled(results) for method, results in runs.items()}))
        load_after = os.getloadavg()[0]
        dry = None
        if args.dry_runs:
            progress(f"snakemake -n, {args.dry_runs} times ...")
            dry = dry_run(args.config, args.dry_runs)

    first = rows[0][1]["workflow"]
    print(f"\nTraining throughput, {args.config}: device {device}, precision {precision}, {args.threads} torch threads, "
          f"{args.warmup} untimed warm-up step(s); load average {load_before:.1f} before, {load_after:.1f} after, "
          f"on {os.cpu_count()} cores")
    print(f"  tok/s counts {TOKENS}")
    print(f"  workflow: lmtune.core.training.train_causal_lm (Trainer: {first['optimizer']}, gradient clipping, lr schedule, "
          f"loss logged every step); plain: a loop on the same batches with the same clipping, optimizer "
          f"({rows[0][1]['plain']['optimizer']}) and schedule; the two take turns step by step, in {args.rounds} round(s) "
          f"of two fresh processes")
    print(f"  peak: {first['peak_kind']} of a fresh process that loaded the model, built the data and trained\n")
    width = max(len(stage.key) for stage, _ in rows)  # whole keys: two Java runs differ only at the end
    header = (f"{'stage':{width}s} {'batch':>5s} {'steps':>5s} {'tok/step':>8s} {'epoch':>5s} {'loss':>4s} {'pad':>4s} "
              f"{'workflow tok/s':>14s} {'plain tok/s':>11s} {'ratio':>7s} {'best':>5s} {'turns':>5s} "
              f"{'peak workflow':>13s} {'peak plain':>10s}")
    print(header)
    print("-" * len(header))
    for stage, r in rows:
        w, p = r["workflow"], r["plain"]
        w_rate, p_rate = w["non_pad"] / w["seconds"], p["non_pad"] / p["seconds"]
        ratio = w_rate / p_rate
        print(f"{stage.key:{width}s} {stage.spec.optimisation.batch_size:5d} {w['steps']:5d} "
              f"{w['non_pad'] / w['steps']:8.0f} {w['epoch_tokens_per_step']:5.0f} {w['in_loss'] / w['non_pad']:4.0%} "
              f"{1 - w['non_pad'] / w['positions']:4.0%} {w_rate:14.1f} {p_rate:11.1f} "
              f"{ratio:5.2f}{' <' if ratio < TARGET_RATIO else '  '} {w['best_step_rate'] / p['best_step_rate']:5.2f} "
              f"{turn_ratio(w, p):5.2f} "
              f"{gib(w['peak_gib']):>13s} {gib(p['peak_gib']):>10s}  rounds: "
              + ", ".join(f"{a / b:.2f}" for a, b in zip(w["rounds"], p["rounds"])))
    print(f"tok/step: non-pad tokens per timed step (epoch: the mean over an epoch; by-length batching draws its longest "
          f"batches first);\nloss: share of them with labels != -100; pad: padded share of all positions; ratio: workflow "
          f"tok/s / plain tok/s, target >= {TARGET_RATIO} ('<' marks a miss);\nbest: the same ratio for the fastest step "
          f"of each, which other processes on a shared machine slow the least;\nturns: the median over the timed steps of "
          f"the ratio of a workflow step to the plain step taken right after it (the least moved by bursts of load); "
          f"rounds: the ratio in each round")
    if args.profile:
        for stage, r in rows:
            print_profile(stage.key, r["workflow"]["profile"], r["plain"]["profile"])
    if dry is None:
        return
    if "error" in dry:
        print(f"\nsnakemake -n failed: {dry['error']}")
        return
    state = ("finished (nothing to be done)" if dry["finished"]
             else f"NOT finished: {dry['jobs']} jobs planned, so the figure includes planning them")
    print(f"\nsnakemake {' '.join(dry_run_command(args.config)[1:])} in {REPO}: median {dry['median']:.2f} s "
          f"of {len(dry['all'])} runs "
          f"({', '.join(f'{s:.2f}' for s in dry['all'])} s), target < {TARGET_DRY_RUN_S:.0f} s; workflow {state}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--config", default="config.yaml", help="config file (default %(default)s)")
    parser.add_argument("--stages", nargs="+", metavar="PREFIX",
                        help="training jobs whose config key holds one of these (continual.phases.A, arithmetic, "
                             "java.autoregressive, java.instruct_runs.<run>, instruct.training); default all")
    parser.add_argument("--steps", type=int,
                        help="timed optimizer steps per run (default 5 for full fine-tuning, 8 for LoRA)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed optimizer steps first (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds, each of two fresh processes taking turns (default %(default)s)")
    parser.add_argument("--profile", action="store_true", help="where a timed step's CPU time goes, per operator")
    parser.add_argument("--device", help="override compute.device (cpu, cuda); default the config's")
    parser.add_argument("--precision", choices=sorted(PRECISIONS), help="override compute.precision; default the config's")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads (default %(default)s)")
    parser.add_argument("--blocks", choices=["store", "memory"], default="store",
                        help="a continual phase's and Java stage 1's blocks: memory-mapped from a token store, as the workflow loads them "
                             "(default), or built in memory, as before the token stores")
    parser.add_argument("--dry-runs", type=int, default=3, help="repetitions of `snakemake -n` (0: skip; default 3)")
    args = parser.parse_args()
    if args.warmup < 1:
        parser.error("--warmup must be at least 1: the timed window starts at the end of a step")
    cpu_mode(args)


if __name__ == "__main__":
    main()
