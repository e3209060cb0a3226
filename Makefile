# Stampede — every target sets up what is missing first (idempotent).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stampede-installed
PROFILE ?= smoke
SLO ?= slo.yaml
K ?= 5
REPEAT ?= 1
UV ?= $(shell command -v uv 2>/dev/null)

.PHONY: setup system-deps demo test lint typecheck unit detect k8s-check image-check bench flaky down clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@if [ -n "$(UV)" ]; then \
	  echo "setup: installing with uv"; $(UV) pip install -q -p $(BIN)/python -e '.[dev]'; \
	else \
	  echo "setup: installing with pip (uv not found)"; \
	  $(BIN)/python -m pip install -q --upgrade pip && $(BIN)/python -m pip install -q -e '.[dev]'; \
	fi
	@# Byte-compile once: this environment may set PYTHONDONTWRITEBYTECODE, and without .pyc files
	@# every agent worker recompiles LangChain/LangGraph at start-up (~3x slower starts).
	@$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null 2>&1 || true
	@touch $(STAMP)

# Debian packages the tests use (headless Chromium opens report.html). Skipped, with a message,
# where apt-get is missing or we are not root; the browser test then skips and says why.
system-deps:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "system-deps: installing chromium"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "system-deps: could not install chromium; the browser test will skip"; \
	else echo "system-deps: chromium not installed and apt-get unavailable; the browser test will skip"; fi

demo: setup
	$(BIN)/stampede suite --target local --profile $(PROFILE) --slo $(SLO)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: setup
	$(BIN)/mypy stampede target_agent reports loadtests experiments faults examples

test: setup system-deps lint typecheck
	$(BIN)/pytest -q
	$(MAKE) --no-print-directory image-check

k8s-check: setup
	$(BIN)/pytest -q tests/k8s

# Build the agent and harness images and run agent + toolbox containers as the manifests run them
# (docs/kubernetes.md, "The image check"). Uses $$DOCKER_HOST or starts a private engine; skips,
# saying why, where no engine can start.
image-check: setup
	STAMPEDE_IMAGE_CHECK=1 $(BIN)/pytest -q -p no:cacheprovider tests/image

detect: setup
	$(BIN)/stampede detect --out runs/detect --repeat $(REPEAT)

flaky: setup
	$(BIN)/stampede flaky --runs $(K) --profile smoke --slo $(SLO)

bench: setup
	$(BIN)/python bench/agent_overhead.py

down: setup
	$(BIN)/stampede down

clean:
	rm -rf .stampede runs .mypy_cache .pytest_cache .ruff_cache
