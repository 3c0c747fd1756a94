# The two commands a newcomer types: `make up` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck unit up down setup sysdeps sim bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

# Debian packages used by the compatibility tests (real etcd 3.4); installed only when root.
sysdeps:
	@bash scripts/sysdeps.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# The whole suite (real etcd where installed), then etcdctl's side-by-side suite once more with
# a cluster of shoal etcd members as the server.
unit: $(STAMP)
	$(BIN)/pytest -q
	SHOAL_TEST_TARGET=shoal $(BIN)/pytest -q tests/client tests/etcdctl

test: setup sysdeps lint typecheck unit

sim: $(STAMP)
	$(BIN)/shoal sim raft --seeds 2000 --nodes 3
	$(BIN)/shoal sim raft --seeds 2000 --nodes 5

bench: $(STAMP)
	$(BIN)/python bench/raft_core.py

# The seed's cluster: coreos-01..03 on 127.0.0.10/20/30 (see README.md).
up: $(STAMP)
	$(BIN)/shoal up

down: $(STAMP)
	$(BIN)/shoal down

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
