# csv2ddb — the two commands: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help setup demo down status test test-scale lint lock bench bench-quick clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup:  ## install uv, the project venv and the emulator venv from the lock files
	@bash scripts/setup.sh

demo: setup  ## start emulator + Airflow, bootstrap, load the real flights file, print a verified summary
	@$(PY) -m csv2ddb_dev.demo

down:  ## stop the demo's emulator, Airflow and its PostgreSQL (by recorded PID)
	@if [ -x $(PY) ]; then $(PY) -m csv2ddb_dev.local_stack down; else echo "nothing to stop"; fi

status:  ## which component of the local stack runs; for a dead one, why (from its log)
	@if [ -x $(PY) ]; then $(PY) -m csv2ddb_dev.local_stack status; else echo "nothing is running"; fi

test: setup  ## lint, then every test but the user-scale runs (unit, emulator integration, DAGs, browser, local stack)
	@bash scripts/test.sh

test-scale: setup  ## the user-scale runs: event bursts, a crash mid-burst, the full flights file end to end, 10,000 audit records
	@bash scripts/test.sh --scale

lint: setup  ## ruff check + format check + mypy (the load core and plugins/csv2ddb)
	@bash scripts/lint.sh

lock:  ## re-resolve the pinned lock files from requirements*.in
	@bash scripts/setup.sh >/dev/null || true
	.tools/bin/uv pip compile --quiet --python-version 3.11 requirements.in -o requirements.lock
	.tools/bin/uv pip compile --quiet --python-version 3.11 requirements-emulator.in -o requirements-emulator.lock

bench: setup  ## benchmark csv2ddb vs the emulator's ceiling and peers (flights + the 5.7 M-row file); writes docs/benchmarks.md
	@bash bench/setup.sh
	@.venv-bench/bin/python -m bench.run --big
	@$(PY) -m bench.modes
	@$(PY) -m bench.spark_engine
	@$(PY) -m bench.spark_dag
	@$(PY) -m bench.many_files

bench-quick: setup  ## the benchmark on a 20k-row flights slice (a few minutes); results under .cache/bench/
	@bash bench/setup.sh
	@.venv-bench/bin/python -m bench.run --quick

clean: down  ## remove virtualenvs and local state
	rm -rf .venv .venv-emulator .venv-bench .tools .local
