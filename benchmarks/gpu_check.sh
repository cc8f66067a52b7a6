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
set -uo pipefail
PART=${1:-workflow}
OUT=${OUT:-$PWD/gpu-check-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
BUDGET=${GPU_CHECK_SECONDS:-500}
# Seconds left for a stage, less $1 kept for what follows; never under 5 (timeout 0 never ends).
left() { local seconds=$((BUDGET - SECONDS - ${1:-0})); echo $((seconds < 5 ? 5 : seconds)); }
stage() { echo "=== $(date -u +%H:%M:%S) [$SECONDS s] $*"; }

ASSETS=benchmarks/gpu-check-assets
SITE=/tmp/lmtune-gpu-check/site
MODELS=/tmp/lmtune-gpu-check/models
PYTHON=${PYTHON:-python3}

stage "packages: $ASSETS/site-packages.tar.xz over $($PYTHON -c 'import sys; print(sys.executable)')"
if [ ! -f "$ASSETS/site-packages.tar.xz" ]; then
    echo "no $ASSETS/site-packages.tar.xz: run 'make gpu-check-assets' where pip reaches a registry, and carry $ASSETS"
    exit 2
fi
mkdir -p "$(dirname "$SITE")"
[ -d "$SITE" ] || { tar -xJf "$ASSETS/site-packages.tar.xz" -C "$(dirname "$SITE")" && mv "$(dirname "$SITE")/site-packages" "$SITE"; }
# Before the image's site-packages (its transformers is older than the project's pin);
# jobs inherit it, and the Snakefile puts src/ before it.
export PYTHONPATH="$SITE:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
$PYTHON - <<'EOF' || exit 3
import importlib
import torch
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name()}, "
      f"{torch.cuda.get_device_properties(0).total_memory / 2**30:.1f} GiB")
for name in ["snakemake", "transformers", "peft", "accelerate", "datasets", "bitsandbytes", "gguf", "jsonschema",
             "num2words", "text_to_num", "pandas", "matplotlib", "sacrebleu", "tensorboard", "liger_kernel", "lmtune"]:
    module = importlib.import_module(name)
    print(f"  {name} {getattr(module, '__version__', '')} from {module.__file__}")
EOF
nvidia-smi --query-gpu=timestamp,memory.used,memory.total,utilization.gpu --format=csv -lms 500 >"$OUT/nvidia-smi.csv" 2>/dev/null &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null' EXIT

if [ "$PART" = workflow ] || [ "$PART" = all ]; then
    stage "models: random distilgpt2, GPT-2, Mistral-7B-Instruct-v0.2 (nf4) in $MODELS"
    timeout "$(left)" $PYTHON benchmarks/gpu_check.py models --size seed --device cuda --out "$MODELS" \
        --tokenizers "$ASSETS/tokenizers" || echo "building the models failed ($?)"
    $PYTHON benchmarks/gpu_check.py overlay --models "$MODELS" --out /tmp/lmtune-gpu-check/overlay.yaml --scale gpu
    $PYTHON -m lmtune.core.compute "$MODELS"/* || true  # the load check's memory floors, beside the measured peaks
    OMIT=()
    if ! command -v javac >/dev/null; then
        echo "no javac on this machine: Java's compile scoring (score_java) and what needs it are left out"
        OMIT=(--omit-from score_java)
    fi
    # Ends with time to spare for the summary and the files (SIGINT: Snakemake stops its jobs).
    stage "snakemake --profile profiles/gpu --configfile config/seed-scale.yaml overlay (${OMIT[*]})"
    timeout -s INT -k 20 "$(left 45)" $PYTHON -m snakemake --profile profiles/gpu --keep-going \
        --configfile config/seed-scale.yaml /tmp/lmtune-gpu-check/overlay.yaml "${OMIT[@]}"
    echo "snakemake exit status $?"
    stage "summary"
    $PYTHON benchmarks/gpu_check.py summary --results results --out "$OUT/jobs.tsv"
    tar -czf "$OUT/results.tar.gz" --exclude='*/model' --exclude='*/adapter' --exclude='*/checkpoints' \
        --exclude='*/tokens' --exclude='*/data' --exclude='*/corpus' results .snakemake/log 2>/dev/null
fi

if [ "$PART" = steps ] || [ "$PART" = all ]; then
    stage "steps: a random Mistral-7B in bf16 for benchmarks/gpu_step.py"
    timeout "$(left)" $PYTHON benchmarks/gpu_check.py models --size seed --device cuda --out /tmp/lmtune-gpu-check/plain \
        --only mistral-7b-instruct-v0.2 --no-prequantise
    MISTRAL=/tmp/lmtune-gpu-check/plain/mistral-7b-instruct-v0.2
    {
        stage "QLoRA at the seed's 2 x 33: the workflow's step as it is, then with compute.torch_compile"
        for compile in "" "--torch-compile reduce-overhead" "--torch-compile default"; do
            timeout "$(($(left) / 3))" $PYTHON benchmarks/gpu_step.py --model "$MISTRAL" --shapes 2x33 --warmup 3 \
                --steps 20 --rounds 2 $compile
        done
        stage "LoRA (bf16 base) at 16 x 512: the Trainer as it is, then with compute.liger_kernel"
        for liger in "" "--liger-kernel"; do
            timeout "$(($(left) / 2))" $PYTHON benchmarks/gpu_step.py --model "$MISTRAL" --no-quantize --shapes 16x512 \
                --warmup 2 --steps 5 --rounds 1 $liger
        done
    } 2>&1 | tee "$OUT/steps.txt"
fi
stage "done"
