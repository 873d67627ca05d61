# The two set-up commands of the README: `make run` and `make test`.
# Both install what is missing (Python deps, Kafka jars, Java/Maven, PostgreSQL).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HUB    := $(VENV)/bin/mpp-hub
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install tools jars deploy-tools-start run lint test test-unit test-faults test-deploy test-fuzz screenshots bench kafka-stop clean

install: $(STAMP) jars

$(STAMP): pyproject.toml examples/dukcapil-adapter/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	# The seventh agency, shipped as its own package: it plugs in by one entry point alone.
	$(PY) -m pip install -q -e examples/dukcapil-adapter
	@touch $(STAMP)

# Java 17+ runs the broker and Maven fetches its jars; both come from Debian when missing.
tools:
	@command -v java >/dev/null && command -v mvn >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless maven)

jars: tools
	@bash deploy/kafka/fetch-jars.sh

## make run: Kafka (kept in var/kafka), then the whole hub with every installed agency and its simulator on SQLite.
run: install
	$(HUB) kafka start
	MPP_ENV=development $(HUB) dev

## make lint: ruff (lint and format) and mypy, as configured in pyproject.toml.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# helm (go install, var/tools/bin) builds in the background while the rest is set up; docker-compose from Debian.
deploy-tools-start:
	@bash deploy/tools/ensure-deploy-tools.sh --start

## make test: the checks, then the whole suite on a real Kafka broker (throwaway) and PostgreSQL, the console in
## Debian's Chromium; independent groups (the fault suite with fuzz and browser tests, everything else) run side by side (tests/run-groups.sh).
test: deploy-tools-start install lint
	bash deploy/tools/ensure-deploy-tools.sh --wait
	MPP_TEST_DATABASE_URL="$$(bash deploy/postgres/ensure-postgres.sh)" MPP_TEST_CHROMIUM="$$(bash deploy/browser/ensure-chromium.sh)" \
	  bash tests/run-groups.sh $(PYTEST_ARGS)

test-unit: install
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

## make test-deploy: the image, Compose and Helm checks alone (tests/deploy).
test-deploy: install
	bash deploy/tools/ensure-deploy-tools.sh
	$(PY) -m pytest -m deploy $(PYTEST_ARGS)

test-faults: install
	MPP_TEST_DATABASE_URL="$$(bash deploy/postgres/ensure-postgres.sh)" $(PY) -m pytest -m faults $(PYTEST_ARGS)

## make screenshots: the console's browser tests, keeping their screenshots in docs/console.
screenshots: install
	MPP_TEST_DATABASE_URL="$$(bash deploy/postgres/ensure-postgres.sh)" MPP_TEST_CHROMIUM="$$(bash deploy/browser/ensure-chromium.sh)" \
	  MPP_CONSOLE_SCREENSHOTS=docs/console $(PY) -m pytest -m browser $(PYTEST_ARGS)

## make test-fuzz: schemathesis against the live API alone (also part of make test); counts in var/fuzz-report.json.
test-fuzz: install
	MPP_TEST_DATABASE_URL="$$(bash deploy/postgres/ensure-postgres.sh)" $(PY) -m pytest -m fuzz $(PYTEST_ARGS)

bench: install
	$(HUB) bench

kafka-stop:
	-$(HUB) kafka stop

clean: kafka-stop
	rm -rf var .pytest_cache
