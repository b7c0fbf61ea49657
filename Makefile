# The front door. Every target installs what it needs into .venv and node_modules first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ENV ?= dev
ENVIRONMENTS := dev staging prod
CDK := npx --no-install cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := true

.PHONY: install browser test lint unit synth deploy destroy diff bootstrap clean openapi redrive

$(VENV)/.installed: requirements.txt requirements-dev.txt lambdas/requirements.txt $(wildcard requirements-analyzer.txt)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt $(if $(wildcard requirements-analyzer.txt),-r requirements-analyzer.txt)
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed browser

# Debian's Chromium for the web page's browser test (Playwright drives it; `playwright install` is never run).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The whole suite: lint, type checks, unit, handler, infra (synth + cdk-nag + cfn-lint) and e2e tests.
test: install lint
	$(VENV)/bin/pytest

# The API's OpenAPI document, generated from the routes' code; a test fails when the checked-in copy differs.
openapi: $(VENV)/.installed
	cd lambdas && ../$(PY) -c "from image_pipeline.api.handler import build_resolver, openapi_document; \
	  import json, sys; json.dump(json.loads(openapi_document(build_resolver([]))), sys.stdout, indent=2)" > ../docs/openapi.json
	echo >> docs/openapi.json

unit: $(VENV)/.installed
	$(VENV)/bin/pytest tests/unit

# Synthesize every environment into cdk.out/<env>; cdk-nag errors fail the synth; then cfn-lint.
synth: install
	for env in $(ENVIRONMENTS); do \
	  $(CDK) synth --quiet -c env=$$env -o cdk.out/$$env || exit 1; \
	done
	$(VENV)/bin/cfn-lint cdk.out/*/*.template.json

# The whole app on this machine, no AWS account: synthesizes dev, then runs it on moto, the offline
# analyzer and local Lambda/API Gateway until Ctrl-C (docs/local-mode.md). Outputs: .local/cdk-outputs.json.
# The dev assembly is synthesized again only when a source of it changed.
LOCAL_PORT ?= 8000
WEB_PORT ?= 8080
DEV_SOURCES := app.py cdk.json $(shell find stacks lambdas web -type f -not -path '*/__pycache__/*' -not -name '*.pyc' 2>/dev/null)
cdk.out/dev/manifest.json: $(VENV)/.installed node_modules/.installed $(DEV_SOURCES)
	$(CDK) synth --quiet -c env=dev -o cdk.out/dev
	touch $@

.PHONY: local demo
local: $(VENV)/.installed node_modules/.installed cdk.out/dev/manifest.json
	$(PY) -m local --assembly cdk.out/dev --port $(LOCAL_PORT) --web-port $(WEB_PORT)

# With `make local` running: uploads sample photos through the API and prints what was recognised.
demo: $(VENV)/.installed
	$(PY) -m local.tools.demo

bootstrap: install
	$(CDK) bootstrap -c env=$(ENV)

diff: install
	$(CDK) diff --all -c env=$(ENV) -o cdk.out/$(ENV)

deploy: install
	$(CDK) deploy --all -c env=$(ENV) -o cdk.out/$(ENV) --require-approval broadening --outputs-file cdk-outputs-$(ENV).json

destroy: install
	$(CDK) destroy --all -c env=$(ENV) -o cdk.out/$(ENV)

# Replays the webhook dead-letter queue (deliveries that failed for more than a day) into the dispatch queue.
OUTPUTS ?= cdk-outputs-$(ENV).json
redrive: $(VENV)/.installed
	PYTHONPATH=.:lambdas $(PY) -m ops.redrive_webhooks --outputs $(OUTPUTS)

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
