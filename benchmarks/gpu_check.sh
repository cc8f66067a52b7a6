#!/usr/bin/env bash
# The seeds' study through the workflow on one GPU, on a bare GPU machine (the image's own
# python3 with torch, no package registry, no model hub):
#
#   bash benchmarks/gpu_check.sh [workflow|steps|all]     # default: workflow
#
# Here first, once: `make gpu-check-assets` (benchmarks/gpu-check-assets/, about 34 MiB:
# the packages the image lacks, the seeds' tokenizers). From a session with the device
# tool: run(command="bash benchmarks/gpu_check.sh", carry=["benchmarks/gpu-check-assets"],
# timeout_s=540); `steps` likewise, on the warm machine, in a second call.
#
# workflow: config/seed-scale.yaml under --profile profiles/gpu with random models of the
#   seeds' architectures (distilgpt2, GPT-2, Mistral-7B-Instruct-v0.2 in nf4) and max_steps
#   caps (benchmarks/gpu_check.py overlay), everything else the seeds' own.
# steps: the launch-bound QLoRA step at 2 x 33 with and without compute.torch_compile, and
#   the Trainer with and without compute.liger_kernel at 16 x 512 (benchmarks/gpu_step.py).
#
# Into $OUT (the device tool's folder; ./gpu-check-out elsewhere): gpu_check.log (all of
# it), jobs.tsv (per job: wall seconds and peak RSS from the `benchmark:` files, peak GPU
# memory from its log), nvidia-smi.csv (the GPU's memory and use every half second),
# results.tar.gz (logs, benchmark files, metrics, loss curves, Snakemake's own log),
# steps.txt (the step benchmarks' printouts).
# Each stage runs under what is left of GPU_CHECK_SECONDS (default 500), so that the
# files come back inside the device tool's limit whatever hangs.
#
# GPU_CHECK_CPU=1 runs the same steps on a CPU at tiny sizes in the environment at hand (no
# packages unpacked, no profile, no nvidia-smi): tests/test_seed_scale.py runs it so, with
# GPU_CHECK_WORKDIR (where Snakemake works; default the checkout), GPU_CHECK_MODELS (the
# models' folder, kept between runs), GPU_CHECK_TARGETS (default: the whole workflow);
# GPU_CHECK_PACKAGES=1 unpacks the packages in that mode too (GPU_CHECK_ASSETS: assets built
# with `gpu_check.py assets --python-version` of the Python at hand), to try the set on a CPU.
set -uo pipefail
PART=${1:-workflow}
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$PWD/gpu-check-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
CPU=${GPU_CHECK_CPU:-}
WORK=${GPU_CHECK_WORKDIR:-$REPO}
TMP=${GPU_CHECK_TMP:-/tmp/lmtune-gpu-check}
MODELS=${GPU_CHECK_MODELS:-$TMP/models}
read -r -a TARGETS <<<"${GPU_CHECK_TARGETS:-}"
if [ -n "$CPU" ]; then
    SIZE=tiny DEVICE=cpu SCALE=cpu RUN=(--cores 2)
else
    SIZE=seed DEVICE=cuda SCALE=gpu RUN=(--profile "$REPO/profiles/gpu")
fi
BUDGET=${GPU_CHECK_SECONDS:-500}
# Seconds left for a stage, less $1 kept for what follows; never under 5 (timeout 0 never ends).
left() { local seconds=$((BUDGET - SECONDS - ${1:-0})); echo $((seconds < 5 ? 5 : seconds)); }
stage() { echo "=== $(date -u +%H:%M:%S) [$SECONDS s] $*"; }

ASSETS=${GPU_CHECK_ASSETS:-$REPO/benchmarks/gpu-check-assets}
SITE=$TMP/site
PYTHON=${PYTHON:-python3}
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1

if [ -z "$CPU" ] || [ -n "${GPU_CHECK_PACKAGES:-}" ]; then
    stage "packages: $ASSETS/site-packages.tar.xz over $($PYTHON -c 'import sys; print(sys.executable)')"
    if [ ! -f "$ASSETS/site-packages.tar.xz" ]; then
        echo "no $ASSETS/site-packages.tar.xz: run 'make gpu-check-assets' where pip reaches a registry, and carry it"
        exit 2
    fi
    mkdir -p "$TMP"
    [ -d "$SITE" ] || { tar -xJf "$ASSETS/site-packages.tar.xz" -C "$TMP" && mv "$TMP/site-packages" "$SITE"; }
    # Before the image's site-packages (its transformers is older than the project's pin);
    # jobs inherit it, and the Snakefile puts src/ before it.
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
if [ -z "$CPU" ]; then
    nvidia-smi --query-gpu=timestamp,memory.used,memory.total,utilization.gpu --format=csv -lms 500 \
        >"$OUT/nvidia-smi.csv" 2>/dev/null &
    SAMPLER=$!
    trap 'kill $SAMPLER 2>/dev/null' EXIT
fi
export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
$PYTHON - <<'EOF' || exit 3
import importlib
import torch
if torch.cuda.is_available():
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name()}, "
          f"{torch.cuda.get_device_properties(0).total_memory / 2**30:.1f} GiB")
else:
    print(f"torch {torch.__version__}, no CUDA device")
from importlib.metadata import version

# What the project imports, and on CUDA Liger's kernels (compute.liger_kernel): the first missing one stops here.
distributions = {"snakemake": "snakemake", "transformers": "transformers", "peft": "peft", "accelerate": "accelerate",
                 "datasets": "datasets", "bitsandbytes": "bitsandbytes", "gguf": "gguf", "jsonschema": "jsonschema",
                 "num2words": "num2words", "text_to_num": "text2num", "pandas": "pandas", "matplotlib": "matplotlib",
                 "sacrebleu": "sacrebleu", "tensorboard": "tensorboard", "lmtune": None}
if torch.cuda.is_available():
    distributions["liger_kernel"] = "liger_kernel"
for name, distribution in distributions.items():
    module = importlib.import_module(name)
    print(f"  {name} {version(distribution) if distribution else ''} from {module.__file__}")
EOF

if [ "$PART" = workflow ] || [ "$PART" = all ]; then
    stage "models ($SIZE, $DEVICE): random distilgpt2, GPT-2, Mistral-7B-Instruct-v0.2 in $MODELS"
    timeout "$(left)" $PYTHON "$REPO/benchmarks/gpu_check.py" models --size $SIZE --device $DEVICE --out "$MODELS" \
        --tokenizers "$ASSETS/tokenizers" || echo "building the models failed ($?)"
    mkdir -p "$TMP"
    $PYTHON "$REPO/benchmarks/gpu_check.py" overlay --models "$MODELS" --out "$TMP/overlay.yaml" --scale $SCALE
    $PYTHON -m lmtune.core.compute "$MODELS"/* || true  # the load check's memory floors, beside the measured peaks
    OMIT=()
    if ! command -v javac >/dev/null; then
        echo "no javac on this machine: Java's compile scoring (score_java) and what needs it are left out"
        OMIT=(--omit-from score_java)
    fi
    # Ends with time to spare for the summary and the files (SIGINT: Snakemake stops its jobs).
    stage "snakemake ${RUN[*]} --configfile config/seed-scale.yaml overlay ${OMIT[*]} ${TARGETS[*]}"
    (cd "$WORK" && timeout -s INT -k 20 "$(left 45)" $PYTHON -m snakemake "${TARGETS[@]}" --snakefile "$REPO/Snakefile" \
        "${RUN[@]}" --keep-going --configfile "$REPO/config/seed-scale.yaml" "$TMP/overlay.yaml" "${OMIT[@]}")
    echo "snakemake exit status $?"
    stage "summary"
    $PYTHON "$REPO/benchmarks/gpu_check.py" summary --results "$WORK/results" --out "$OUT/jobs.tsv"
    (cd "$WORK" && tar -czf "$OUT/results.tar.gz" --exclude='*/model' --exclude='*/adapter' --exclude='*/checkpoints' \
        --exclude='*/tokens' --exclude='*/data' --exclude='*/corpus' results .snakemake/log)
fi

if [ "$PART" = steps ] || [ "$PART" = all ]; then
    stage "steps: a random Mistral-7B ($SIZE) in its own precision for benchmarks/gpu_step.py and padding.py"
    timeout "$(left)" $PYTHON "$REPO/benchmarks/gpu_check.py" models --size $SIZE --device $DEVICE --out "$TMP/plain" \
        --tokenizers "$ASSETS/tokenizers" --only mistral-7b-instruct-v0.2 --no-prequantise
    MISTRAL=$TMP/plain/mistral-7b-instruct-v0.2
    STEP=("$PYTHON" "$REPO/benchmarks/gpu_step.py" --model "$MISTRAL" --device $DEVICE)
    [ -n "$CPU" ] && STEP+=(--precision fp32 --threads 1)
    {
        stage "QLoRA at the seed's 2 x 33: the workflow's step as it is, then with compute.torch_compile"
        for compile in "" "--torch-compile reduce-overhead" "--torch-compile default"; do
            timeout "$(($(left) / 4))" "${STEP[@]}" --shapes 2x33 --warmup 3 --steps 20 --rounds 2 $compile
        done
        stage "LoRA (bf16 base) at 16 x 512: the Trainer as it is, then with compute.liger_kernel"
        for liger in "" "--liger-kernel"; do
            timeout "$(($(left) / 3))" "${STEP[@]}" --no-quantize --shapes 16x512 --warmup 2 --steps 5 --rounds 1 $liger
        done
        stage "packing at up to 16 x 512, mixed lengths: flex_attention's document mask against padding"
        timeout "$(left)" $PYTHON "$REPO/benchmarks/padding.py" --model "$MISTRAL" --random --data mixed --examples 320 \
            --batch-size 16 --steps 10 --attention flex_attention --config "$REPO/config/seed-scale.yaml"
    } 2>&1 | tee "$OUT/steps.txt"
fi
stage "done"
