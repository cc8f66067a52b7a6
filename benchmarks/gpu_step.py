"""The workflow's (Q)LoRA training step against a plain PyTorch loop, on a GPU.

    .venv/bin/python benchmarks/gpu_step.py                                  # random Mistral-7B, QLoRA, H100/H200 peak
    .venv/bin/python benchmarks/gpu_step.py --shapes 2x33 --rounds 4 --steps 50
    .venv/bin/python benchmarks/gpu_step.py --model .test/models/tiny-llama --device cpu --precision fp32 \\
        --shapes 2x33 4x64 --warmup 1 --steps 3                              # the same code path on a CPU

For each batch shape (the seed's arithmetic batch of two examples of about 33 tokens, and a
realistic SFT batch of 16 x 512), the same model trains on the same batches two ways:

- workflow: `lmtune.core.training.train_causal_lm` (transformers' Trainer: AdamW, gradient
  clipping, the lr schedule, the loss logged every step), on a model set up by
  `lmtune.core.adapters` (`load_for_training`, `add_lora`), as the arithmetic rule does;
- plain: model.train(), torch AdamW, forward, backward, step, zero_grad, on the batches the
  Trainer drew.

The first time a shape is met costs extra (kernel choice, allocator growth, autotuning):
an earlier measurement's ratio depended on which method went first.
So every shape is trained by both methods before anything is timed, and the timed rounds
alternate the order of the methods (workflow first in odd rounds, plain first in even).

Printed per shape and method: tokens per second (every position is a real token: the
batches have no padding), the workflow/plain ratio, and model FLOP utilisation,
MFU = 6 x parameters x tokens/s / peak FLOP/s (the usual count: a LoRA step does about 4
of those 6, as the frozen weights need no gradient of their own), the peak given by
--peak-tflops. The model is a randomly initialised Mistral-7B of the real architecture
(built here, nothing downloaded; --layers shrinks it), or any transformers folder given
by --model. Batches are random token ids: the speed of a step does not depend on them.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
H100_BF16_DENSE_TFLOPS = 989.0  # H100 and H200 SXM, dense (no sparsity)
SEED_SHAPE, SFT_SHAPE = "2x33", "16x512"
METHODS = ("workflow", "plain")


@dataclass(frozen=True)
class Shape:
    batch: int
    length: int

    @classmethod
    def parse(cls, text: str) -> "Shape":
        batch, _, length = text.partition("x")
        return cls(int(batch), int(length))

    def __str__(self) -> str:
        return f"{self.batch}x{self.length}"


# --- The model ---


def mistral_7b_config(layers: int):
    """Mistral-7B-Instruct-v0.2's architecture (its config.json), optionally fewer layers."""
    from transformers import MistralConfig

    return MistralConfig(
        vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=layers,
        num_attention_heads=32, num_key_value_heads=8, head_dim=128, hidden_act="silu",
        max_position_embeddings=32768, rms_norm_eps=1e-5, rope_theta=1e6, sliding_window=None,
        tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
    )


def save_random_mistral(folder: Path, layers: int, device: torch.device) -> None:
    """A randomly initialised bf16 Mistral saved as a transformers folder, so that the
    workflow's own loader quantises it."""
    from transformers import AutoModelForCausalLM

    with device:  # created on the device in bf16: never a fp32 copy of 7B parameters
        model = AutoModelForCausalLM.from_config(mistral_7b_config(layers), dtype=torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True)
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()


def placeholder_tokenizer():
    """train_causal_lm saves a tokenizer beside the model; random ids need no real one.
    No special tokens: the Trainer would copy them into the model's config."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")),
                                   unk_token="<unk>")


def random_batches(shape: Shape, count: int, vocab_size: int, seed: int):
    """`count` batches of `shape` as a dataset of rows, no padding: labels are the inputs."""
    import datasets

    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab_size, (count * shape.batch, shape.length), generator=generator).tolist()
    return datasets.Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * shape.length] * len(ids),
                                       "labels": ids}).with_format("torch")


# --- The two methods, timed per optimizer step ---


class StepClock:
    """The time at the end of every optimizer step (after a device sync)."""

    def __init__(self, device: torch.device):
        self.device, self.times = device, []

    def tick(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.times.append(time.perf_counter())

    def seconds(self, warmup: int, steps: int) -> float:
        """From the end of the last untimed step to the end of the last timed one."""
        if len(self.times) < warmup + steps:
            raise RuntimeError(f"only {len(self.times)} optimizer steps ran, {warmup + steps} were asked for")
        return self.times[warmup + steps - 1] - self.times[warmup - 1]


def train_workflow(model, data, shape: Shape, learning_rate: float, device: torch.device, precision: str,
                   warmup: int, steps: int, liger_kernel: bool = False, torch_compile=False,
                   losses: list | None = None) -> tuple[float, list]:
    """train_causal_lm for warmup + steps steps; the seconds of the timed ones, and the
    batches the Trainer drew. The loss of every step is appended to `losses`."""
    from transformers import TrainerCallback, default_data_collator

    from lmtune.core.training import TrainSettings, train_causal_lm

    clock, batches = StepClock(device), []
    losses = [] if losses is None else losses

    class Tick(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            clock.tick()

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                losses.append(logs["loss"])

    def recording_collator(features):
        batches.append(default_data_collator(features))
        return batches[-1]

    settings = TrainSettings(max_steps=warmup + steps, batch_size=shape.batch, learning_rate=learning_rate,
                             save_steps=10**9, save_minutes=0, divergence_ratio=0)
    with tempfile.TemporaryDirectory(prefix="gpu-step-") as tmp, contextlib.redirect_stdout(sys.stderr):
        train_causal_lm(model=model, tokenizer=placeholder_tokenizer(), train_data=data, out_dir=f"{tmp}/model",
                        loss_log=f"{tmp}/loss.csv", checkpoint_dir=f"{tmp}/checkpoints", settings=settings, seed=0,
                        device=device.type, precision=precision, progress=False, callbacks=(Tick(),),
                        data_collator=recording_collator, liger_kernel=liger_kernel, torch_compile=torch_compile)
    return clock.seconds(warmup, steps), batches[: warmup + steps]


def train_plain(model, batches: list, learning_rate: float, device: torch.device, precision: str,
                warmup: int, steps: int) -> float:
    """The same batches through a plain loop; the seconds of the timed steps."""
    from lmtune.core.models import PRECISIONS

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate)
    clock = StepClock(device)
    model.train()
    for batch in batches[: warmup + steps]:
        batch = {key: value.to(device) for key, value in batch.items()}
        with torch.autocast(device.type, dtype=PRECISIONS[precision], enabled=precision != "fp32"):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        clock.tick()
    return clock.seconds(warmup, steps)


def measure(method: str, model, shape: Shape, data, batches: dict, args, device: torch.device) -> float:
    """One run of `method` on `shape`; the timed seconds. The plain loop replays the
    batches the workflow's last run on this shape drew."""
    if method == "workflow":
        args.losses[shape] = []  # the last run's curve
        seconds, batches[shape] = train_workflow(model, data[shape], shape, args.learning_rate, device,
                                                 args.precision, args.warmup, args.steps, args.liger_kernel,
                                                 args.torch_compile or False, args.losses[shape])
        return seconds
    return train_plain(model, batches[shape], args.learning_rate, device, args.precision, args.warmup, args.steps)


# --- The benchmark ---


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args, folder: str, device: torch.device) -> None:
    from lmtune.core.adapters import add_lora, load_for_training
    from lmtune.core.compute import parameter_count

    config = yaml.safe_load(Path(args.config).read_text())["arithmetic"]
    lora = {**config["lora"], "quantize_4bit": not args.no_quantize}
    args.learning_rate = args.learning_rate or config["training"]["learning_rate"]
    shapes = [Shape.parse(text) for text in args.shapes]
    start = time.perf_counter()
    model = add_lora(load_for_training(folder, device.type, args.precision, lora["quantize_4bit"]), lora,
                     quantized=lora["quantize_4bit"], seed=0)
    loaded = time.perf_counter() - start
    # Before any quantisation (a 4-bit tensor packs two in a byte), on a weightless copy.
    parameters = parameter_count(Path(folder) / "config.json").total
    vocab_size = model.config.vocab_size
    data = {shape: random_batches(shape, args.warmup + args.steps, vocab_size, seed=i) for i, shape in enumerate(shapes)}
    batches: dict = {}
    args.losses = {}
    peaks = {(shape, method): 0.0 for shape in shapes for method in METHODS}  # GiB, CUDA only

    # Every shape through both methods before any timing: the first meeting is the costly one.
    for shape in shapes:
        for method in METHODS:
            progress(f"warming {shape} with {method} ...")
            measure(method, model, shape, data, batches, args, device)
    times = {(shape, method): [] for shape in shapes for method in METHODS}
    for round_ in range(args.rounds):
        order = METHODS if round_ % 2 == 0 else METHODS[::-1]
        for shape in shapes:
            for method in order:
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                seconds = measure(method, model, shape, data, batches, args, device)
                times[shape, method].append(seconds)
                if device.type == "cuda":
                    peaks[shape, method] = max(peaks[shape, method], torch.cuda.max_memory_allocated(device) / 2**30)
                progress(f"round {round_ + 1}, {shape}, {method}: {args.steps} steps in {seconds:.3f} s")

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{device} ({torch.get_num_threads()} threads)"
    kind = (("QLoRA (nf4 base)" if lora["quantize_4bit"] else "LoRA") + (", Liger's kernels" if args.liger_kernel else "")
            + (f", torch.compile ({args.torch_compile})" if args.torch_compile else ""))
    print(f"\n{kind} training step, workflow (lmtune.core.training.train_causal_lm) against a plain loop")
    print(f"model: {args.model or f'random Mistral-7B, {args.layers} of 32 layers'}, {parameters / 1e6:.1f}M parameters; "
          f"LoRA r={lora['r']} alpha={lora['alpha']} on {'/'.join(lora['target_modules'])}; lr {args.learning_rate}")
    print(f"{name}, {args.precision}, torch {torch.__version__}; model loaded in {loaded:.1f} s")
    print(f"every shape warmed by both methods first; then {args.rounds} round(s) of {args.warmup} untimed + "
          f"{args.steps} timed steps per run, the order of the methods alternating")
    print(f"MFU = 6 x {parameters / 1e6:.1f}M parameters x tokens/s / {args.peak_tflops:g} TFLOP/s\n")
    header = (f"{'shape':>7s} {'method':>8s} {'tokens/s per round':>28s} {'mean':>10s} {'MFU':>8s} "
              f"{'ratio':>6s}")
    print(header)
    print("-" * len(header))
    for shape in shapes:
        tokens = args.steps * shape.batch * shape.length
        means = {}
        for method in METHODS:
            rates = [tokens / seconds for seconds in times[shape, method]]
            means[method] = statistics.mean(rates)
            mfu = 6 * parameters * means[method] / (args.peak_tflops * 1e12)
            ratio = f"{means['workflow'] / means['plain']:6.2f}" if method == "plain" else ""
            print(f"{str(shape):>7s} {method:>8s} {' '.join(f'{r:8.0f}' for r in rates):>28s} "
                  f"{means[method]:10.1f} {mfu:8.3%} {ratio:>6s}")
    print("ratio: workflow tokens/s over plain tokens/s (means over rounds); the Trainer also clips gradients, "
          "steps an lr schedule and logs the loss every step")
    for shape in shapes:
        if device.type == "cuda":
            print(f"peak GPU memory at {shape}: workflow {peaks[shape, 'workflow']:.2f} GiB, "
                  f"plain {peaks[shape, 'plain']:.2f} GiB")
        # Every run starts from the same adapter (seeded) on the same batches: runs with other
        # settings (--torch-compile, --liger-kernel) give curves to compare step by step.
        print(f"workflow loss per step at {shape}, last run: {' '.join(f'{loss:.4f}' for loss in args.losses[shape])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--model", help="a transformers model folder (default: a random Mistral-7B built here)")
    parser.add_argument("--layers", type=int, default=32, help="decoder layers of the random Mistral (default 32)")
    parser.add_argument("--shapes", nargs="+", default=[SEED_SHAPE, SFT_SHAPE], metavar="BATCHxLENGTH",
                        help="batch shapes (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps at the start of every run (default 3)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per run (default 30)")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds of both methods (default 2)")
    parser.add_argument("--device", default="cuda", help="cuda or cpu (default cuda)")
    parser.add_argument("--precision", default=None, help="fp32, bf16 or fp16 (default bf16 on CUDA, fp32 on CPU)")
    parser.add_argument("--no-quantize", action="store_true", help="LoRA on an unquantised base, not QLoRA")
    parser.add_argument("--liger-kernel", action="store_true",
                        help="compute.liger_kernel: the Trainer puts Liger's kernels into the model in the first "
                             "warm-up run, so the plain loop runs the same patched model")
    parser.add_argument("--torch-compile", nargs="?", const="default", metavar="MODE",
                        help="compute.torch_compile for the workflow's step: default, or a torch.compile mode "
                             "(reduce-overhead replays CUDA graphs); the plain loop stays eager")
    parser.add_argument("--config", default=str(REPO / "config" / "seed-scale.yaml"),
                        help="where arithmetic.lora and arithmetic.training.learning_rate are read (default %(default)s)")
    parser.add_argument("--learning-rate", type=float, help="override the config's learning rate")
    parser.add_argument("--peak-tflops", type=float, default=H100_BF16_DENSE_TFLOPS,
                        help="the accelerator's peak for MFU (default H100/H200 SXM bf16 dense, %(default)s)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default torch's)")
    parser.add_argument("--tmp-dir", help="where the random Mistral is saved (14.5 GB at 32 layers)")
    args = parser.parse_args()
    if args.warmup < 1:
        parser.error("--warmup must be at least 1: the timed window starts at the end of a step")
    device = torch.device(args.device)
    args.precision = args.precision or ("bf16" if device.type == "cuda" else "fp32")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model:
        run(args, args.model, device)
        return
    with tempfile.TemporaryDirectory(prefix="random-mistral-", dir=args.tmp_dir) as tmp:
        progress(f"building a random Mistral ({args.layers} layers, bf16) on {device}, saving it to {tmp} ...")
        save_random_mistral(Path(tmp), args.layers, device)
        run(args, tmp, device)


if __name__ == "__main__":
    main()
