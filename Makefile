# Cercle — one command to run, one to test. See README.md.
PYTHON ?= python3
SERVICES := registration sessions notifications insights
ROLE ?= operator
REGIONS ?=
COMMUNITIES ?=
MEMBER ?=
ORGANIZATION ?=

.PHONY: help install kafka-jars postgres-bin chromium up down status token lint format test test-unit test-integration test-e2e compose-test bench schemas docs clean

help:
	@echo "make install   - install the shared package, the four services and the test tools"
	@echo "make up        - start Kafka, the SMTP server and the four services (SQLite) in the background"
	@echo "make down      - stop them"
	@echo "make token ROLE=operator|coordinator REGIONS=06|facilitator COMMUNITIES=<id>|member MEMBER=<id>|partner"
	@echo "make lint      - formatter check, linter, types (mypy strict on shared/ and every domain/), import layers"
	@echo "make test      - the full test suite (unit, integration on real Kafka/PostgreSQL/SMTP, end-to-end)"
	@echo "make compose-test - docker-compose.yml on a real Docker engine (started here if none runs), images built locally"
	@echo "make bench     - Cercle beside bare baselines (messaging, API, end to end): ratios; BENCH_ARGS=--quick"

install:
	@$(PYTHON) -m devtools.setup packages

kafka-jars: install
	$(PYTHON) -m devtools.kafka fetch

postgres-bin:
	@$(PYTHON) -m devtools.setup postgres

# Debian's headless Chromium and its driver, for the dashboard's browser tests (nothing when already there).
chromium:
	@$(PYTHON) -m devtools.setup chromium

up: install kafka-jars
	$(PYTHON) -m devtools.stack up

down:
	$(PYTHON) -m devtools.stack down

status:
	$(PYTHON) -m devtools.stack status

token: install
	@$(PYTHON) -m cercle_shared.auth --role $(ROLE) --regions "$(REGIONS)" --communities "$(COMMUNITIES)" \
		$(if $(MEMBER),--member-id $(MEMBER)) $(if $(ORGANIZATION),--organization-id $(ORGANIZATION)) \
		--secret-file .data/jwt-secret

lint: install
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy
	$(PYTHON) -c "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"

format:
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

test: kafka-jars postgres-bin chromium
	$(PYTHON) -m pytest

test-unit: install
	$(PYTHON) -m pytest -m "not integration and not e2e"

test-integration: kafka-jars postgres-bin chromium
	$(PYTHON) -m pytest -m integration

test-e2e: kafka-jars postgres-bin chromium
	$(PYTHON) -m pytest -m e2e

# Needs root on a machine without a running engine: it installs docker.io and starts dockerd itself.
compose-test: kafka-jars
	$(PYTHON) -m pytest -m compose tests/compose

bench: kafka-jars postgres-bin
	$(PYTHON) -m benchmarks.compare $(BENCH_ARGS)

schemas:
	$(PYTHON) -m cercle_shared.schemas_tool generate

docs:
	@for s in $(SERVICES); do CERCLE_JWT_SECRET=only-for-writing-the-asyncapi-documents $(PYTHON) -m cercle_$$s.main asyncapi --out docs/asyncapi/$$s.json; done

clean: down
	rm -rf .data
