# Every target creates .venv and installs the project into it when needed, so
# a fresh clone needs only `make generate` and `make test`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# The specs to generate, with their options, are listed under
# [tool.asyncapi-gen] in pyproject.toml; these name the Realtor output for lint
# and serve.
OUTPUT := generated
PACKAGE := realtor_connections_plus

# `make serve` settings for trying the receiver locally; override on the
# command line (`make serve PORT=9000`) or in the environment.
HOST ?= 127.0.0.1
PORT ?= 8000
RECEIVER_API_KEYS ?= local-dev-key
RECEIVER_DB_PATH ?= var/inbox.sqlite3
RECEIVER_HANDLER ?= examples.realtor_handler:LeadPrinter

.PHONY: generate check lint test fidelity bench serve clean

# The .pth file puts generated/ on the venv's import path, so that
# `.venv/bin/python -m $(PACKAGE)` works without setting PYTHONPATH.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_path("purelib"), "asyncapi-gen-generated.pth").write_text(str(pathlib.Path("$(OUTPUT)").resolve()) + "\n")'
	touch $(STAMP)

generate: $(STAMP)
	$(BIN)/asyncapi-gen generate

check: $(STAMP)
	$(BIN)/asyncapi-gen check

lint: $(STAMP)
	$(BIN)/ruff check generator tests examples bench $(OUTPUT)
	$(BIN)/ruff check --isolated $(OUTPUT)
	$(BIN)/ruff format --check generator tests examples bench $(OUTPUT)
	$(BIN)/mypy --strict $(OUTPUT)/$(PACKAGE)
	$(BIN)/mypy --strict generator examples

# `check` runs first and never regenerates: a stale generated/ fails the build.
test: check lint
	$(BIN)/python -m pytest

# The model-versus-schema differential test with many more drawn instances.
fidelity: $(STAMP)
	FIDELITY_EXAMPLES=1000 $(BIN)/python -m pytest tests/test_fidelity.py

# Receiver throughput and latency next to a bare endpoint, then generation time
# and memory beside datamodel-code-generator alone and the AsyncAPI CLI. The
# second writes docs/benchmarks-generate.json and docs/benchmarks-scale.png and
# prints the tables for docs/benchmarks.md; it takes several minutes.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/receiver.py
	$(BIN)/python bench/generate.py

serve: $(STAMP)
	HOST=$(HOST) PORT=$(PORT) RECEIVER_API_KEYS=$(RECEIVER_API_KEYS) \
	RECEIVER_DB_PATH=$(RECEIVER_DB_PATH) RECEIVER_HANDLER=$(RECEIVER_HANDLER) \
	PYTHONPATH=$(OUTPUT):. $(BIN)/python -m $(PACKAGE) serve --host $(HOST) --port $(PORT)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
