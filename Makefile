# Two commands do everything on a fresh machine:
#   make run    set up, then open the TUI on a bundled sample capture
#   make test   set up (system packages too), then lint and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLE ?=

.PHONY: run test setup sysdeps lint bench clean

$(VENV)/.installed: pyproject.toml setup.py dissectors/_speedups.c dissectors/_dualcam_speedups.c \
		dissectors/_smartlpr_pairing.c dissectors/_smartlpr_json.c dissectors/smartlpr_wire.h \
		dissectors/py_ints.h sniffer/sources/_fast_path.c sniffer/_lean_count.c sniffer/_settle.c \
		dissectors/_lean_record.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

sysdeps:
	@sh scripts/install-system-deps.sh

run: setup
	$(BIN)/camshark $(SAMPLE)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: sysdeps setup lint
	CAMSHARK_REQUIRE_C=1 $(BIN)/pytest -q
	sh scripts/wheel_smoke.sh

bench: setup sysdeps
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
