# Two commands: `make run` (the main job on the embedded default) and `make test`.
# Both create .venv and install everything on a fresh machine with only Python 3.11, pip and apt.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
# The CPU build of torch; GPU users override, e.g. `make test TORCH_SPEC="torch==2.13.0+cu128"`.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.docfactory-installed
RUN ?= runs/demo
N ?= 64

.PHONY: run test install bench clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/system-deps.sh
	bash scripts/system-deps.sh
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "$(TORCH_SPEC)"
	$(VENV)/bin/pip install --quiet -e ".[dev,ray]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/engine run --iterations 3 --out $(RUN) --profile default --seed 0
	$(VENV)/bin/engine query $(RUN) "SELECT iteration, strategy, n_train, n_train_total, round(field_f1, 3) AS field_f1, round(teds, 3) AS teds, round(holdout_field_f1, 3) AS holdout_f1, round(wall_seconds) AS seconds FROM iterations ORDER BY iteration"

test: $(STAMP)
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/generate.py

clean:
	rm -rf runs .pytest_cache
