# Two commands do everything on a fresh clone (Python 3.10+, pip and make):
#   make demo   set up .venv, train the seed example, print the benchmark table (best device)
#   make test   set up .venv and run the test suite
# Outputs go to gradengine-demo/ and gradengine-bench/ (ignored by git).
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip
# PyTorch is only the numerical oracle and the benchmark reference; the CPU build is enough.
TORCH  ?= torch==2.13.0

.PHONY: venv demo bench test test-slow test-gpu gpu-check lint docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip >/dev/null
	$(PIP) install -e '.[dev]'
	-$(PIP) install '$(TORCH)' matplotlib || echo "note: torch not installed; its reference columns and oracle tests are skipped"
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(VENV)/bin/gradengine demo --device auto
	$(VENV)/bin/gradengine bench --device auto --quick

bench: venv
	$(VENV)/bin/gradengine bench --device auto

# -n auto: one pytest worker per core (pytest-xdist, in the dev extra)
test: venv
	$(PY) -m pytest -q -p no:cacheprovider -n auto

test-slow: venv
	$(PY) -m pytest -q -p no:cacheprovider -m slow

test-gpu: venv
	$(PY) -m pytest -q -p no:cacheprovider -m "gpu and not slow"

# One prepared check on a GPU machine (under 8 minutes; needs no venv or install: the checkout
# with PYTHONPATH=.). Writes at most 8 files to $GPU_CHECK_OUT (default build/gpu-check/);
# without a GPU it says so in one line and exits 0.
GPU_CHECK_PYTHON ?= $(shell command -v python3.12 || command -v python3)
gpu-check:
	PYTHONPATH=. $(GPU_CHECK_PYTHON) -m gradengine.benchmarks.gpu_check

lint: venv
	$(PY) -m ruff check .

# The pictures the README shows (needs matplotlib and Graphviz's dot).
docs: venv
	$(VENV)/bin/gradengine demo --device cpu --out docs/demo
	rm -f docs/demo/training_step.dot

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .benchmarks gradengine-demo gradengine-bench
