# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,peers]'
	touch $(STAMP)

install: $(STAMP)

# The main job on the shipped default: run_conf/default.yaml (see README).
run: $(STAMP)
	$(BIN)/hpo-runner digits-lenet 10 -c default.yaml --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check hpo_mab tests experiments

.PHONY: install run test lint
