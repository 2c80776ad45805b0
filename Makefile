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
	$(VENV)/bin/engine generate --n $(N) --out $(RUN) --seed 0
	$(VENV)/bin/engine query $(RUN) "SELECT template, kind, count(*) AS pages, round(avg(len(fields)), 1) AS fields_per_page FROM documents GROUP BY ALL ORDER BY template"

test: $(STAMP)
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/generate.py

clean:
	rm -rf runs .pytest_cache
