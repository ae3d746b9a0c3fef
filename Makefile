# Two entry points for people: `make run` (the app) and `make test` (tests + evaluation).
# Everything runs inside .venv in the project folder, created on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The torch pin is read from requirements.txt so the version is written in one place.
TORCH_REQ := $(shell grep -E '^torch==' requirements.txt)

# Gradio phones home for analytics on launch; there is no network here, so keep it quiet.
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: help run test pytest eval build bench install
.DEFAULT_GOAL := help

help:
	@echo "make run    start the app on http://127.0.0.1:7860 (builds the index if missing)"
	@echo "make test   run the test suite, then the evaluation against its floors"
	@echo "make build  (re)build the index: python -m assistant build"
	@echo "make eval   evaluate on the dev gold set and check eval/floors.json"
	@echo "make bench  latency/throughput benchmark: python -m assistant.bench"

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch goes in first and on its own: once the CPU build is there, sentence-transformers
# finds its torch requirement satisfied instead of pulling a multi-GB CUDA build.
# The stamp makes this a no-op until requirements.txt changes.
$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install -q "$(TORCH_REQ)"
	$(PY) -m pip install -q -r requirements.txt
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(PY) app.py

# pytest's own exit code is kept: 5 (no test collected) fails the target like any failure.
pytest: $(STAMP)
	$(PY) -m pytest -q

# The evaluation builds the index itself when it is missing or stale.
eval: $(STAMP)
	$(PY) -m assistant eval --check-floors

test: pytest
	$(MAKE) --no-print-directory eval

build: $(STAMP)
	$(PY) -m assistant build

bench: $(STAMP)
	$(PY) -m assistant.bench
