# Lens: `make run` serves the app on real data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: install install-test run test ingest bench samples views clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $(STAMP)

install: $(STAMP)

$(VENV)/.installed-test: $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/python -m lens_etl users bootstrap
	$(BIN)/python -m lens_etl samples
	$(BIN)/streamlit run app.py --server.address $(HOST) --server.port $(PORT) --server.headless true

test: install-test
	$(BIN)/python -m pytest

ingest: install
	$(BIN)/python -m lens_etl ingest $(if $(FILES),files $(FILES),all)

bench: install-test
	$(BIN)/python -m bench.run $(if $(QUICK),--quick,--fresh-clone)
	$(BIN)/python -m bench.alerts_bench
	$(BIN)/python -m bench.memory

samples: install
	$(BIN)/python scripts/make_samples.py

views: install
	$(BIN)/python -m lens_etl views

clean:
	rm -rf data/lake data/deadletter data/runs data/state data/lens.duckdb
