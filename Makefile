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

.PHONY: install browser fonts test lint unit synth deploy destroy diff bootstrap clean openapi redrive seal-secrets doctor lock smoke ci-stack backfill

# Everything from requirements-dev.lock (dev tools, CDK app, Lambda runtime, analyzer), every file checked
# against its hash. The locks come from the requirements files: `make lock` after changing one.
$(VENV)/.installed: requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	touch $@

# Resolves every requirements file into its lock with hashes (ops/locks.py; pip-tools, a few minutes);
# tests/unit/test_locks.py fails while a lock is older than its requirements file.
lock: $(VENV)/.installed
	$(PY) -m ops.locks

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed browser fonts

# Debian's Chromium for the web page's browser test (Playwright drives it; `playwright install` is never run).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Debian's fonts for the analyzer's generated phrase set (tests/analyzer, bench/text_lines.py).
FONT_PACKAGES := fonts-dejavu-core fonts-liberation fonts-freefont-ttf
FONTS_PRESENT := test -d /usr/share/fonts/truetype/dejavu && test -d /usr/share/fonts/truetype/liberation \
	&& test -d /usr/share/fonts/truetype/freefont
fonts:
	@$(FONTS_PRESENT) || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(FONT_PACKAGES); }

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/actionlint

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
# REKOGNITION_ENDPOINT_URL=... (environment or make variable): the functions call that Rekognition endpoint
# (a real one, or a double such as bench/drain.py's) and the offline analyzer is not started.
REKOGNITION_ENDPOINT_URL ?=
local: $(VENV)/.installed node_modules/.installed cdk.out/dev/manifest.json
	$(PY) -m local --assembly cdk.out/dev --port $(LOCAL_PORT) --web-port $(WEB_PORT) \
	  $(if $(REKOGNITION_ENDPOINT_URL),--rekognition-endpoint-url $(REKOGNITION_ENDPOINT_URL))

# With `make local` running: uploads sample photos through the API and prints what was recognised.
demo: $(VENV)/.installed
	$(PY) -m local.tools.demo

bootstrap: install
	$(CDK) bootstrap -c env=$(ENV)

diff: install
	$(CDK) diff --all -c env=$(ENV) -o cdk.out/$(ENV)

# Read-only checks of the account and region the deploy would use (README "Deploying"): synthesizes
# cdk.out/$(ENV), then prints PASS/WARN/FAIL per check; fails when any check fails. Extra context for both:
# CDK_CONTEXT='-c alarmEmail=ops@example.com -c webhookEndpoint=https://...'.
CDK_CONTEXT ?=
doctor: $(VENV)/.installed node_modules/.installed
	$(CDK) synth --quiet -c env=$(ENV) $(CDK_CONTEXT) -o cdk.out/$(ENV)
	PYTHONPATH=.:lambdas $(PY) -m ops.doctor --env $(ENV) --assembly cdk.out/$(ENV)

# Runs `make doctor` first; SKIP_DOCTOR=1 skips it.
# CI passes REQUIRE_APPROVAL=never (no terminal to answer cdk's prompt); by hand, broadened IAM asks first.
REQUIRE_APPROVAL ?= broadening
deploy: install
	$(if $(SKIP_DOCTOR),@echo "SKIP_DOCTOR=1: not running make doctor",$(MAKE) --no-print-directory doctor ENV=$(ENV))
	$(CDK) deploy --all -c env=$(ENV) $(CDK_CONTEXT) -o cdk.out/$(ENV) --require-approval $(REQUIRE_APPROVAL) --outputs-file cdk-outputs-$(ENV).json

destroy: install
	$(CDK) destroy --all -c env=$(ENV) -o cdk.out/$(ENV)

# Replays the webhook dead-letter queue (deliveries that failed for more than a day) into the dispatch queue.
OUTPUTS ?= cdk-outputs-$(ENV).json
redrive: $(VENV)/.installed
	PYTHONPATH=.:lambdas $(PY) -m ops.redrive_webhooks --outputs $(OUTPUTS)

# Seals webhook secrets stored plain by a deployment older than the webhook secrets key (once, after deploy).
seal-secrets: $(VENV)/.installed
	PYTHONPATH=.:lambdas $(PY) -m ops.seal_secrets --outputs $(OUTPUTS)

# Analyses every JPEG/PNG already under a prefix (README "Backfill"): starts the backfill state machine and shows
# its progress; OUTPUTS=.local/cdk-outputs.json runs it against `make local` (the pipeline's bucket, library/).
# BUCKET (default: the pipeline's image bucket), PREFIX, OWNER (default anonymous), FEATURES, RUN (follow a run).
BUCKET ?=
PREFIX ?=
OWNER ?= anonymous
FEATURES ?=
RUN ?=
backfill: $(VENV)/.installed
	PYTHONPATH=.:lambdas $(PY) -m ops.backfill --outputs $(OUTPUTS) --owner '$(OWNER)' \
	  $(if $(BUCKET),--bucket '$(BUCKET)') $(if $(PREFIX),--prefix '$(PREFIX)') \
	  $(if $(FEATURES),--features '$(FEATURES)') $(if $(RUN),--run '$(RUN)')

# The e2e suite against a deployment's outputs file, as a Cognito user made for it and removed afterwards
# (ops/smoke_user.py; needs cognito-idp admin rights on the pool). The deploy workflow runs it.
smoke: $(VENV)/.installed
	PYTHONPATH=.:lambdas $(PY) -m ops.smoke_user --outputs $(OUTPUTS) -- \
	  $(VENV)/bin/pytest -p no:cacheprovider tests/e2e/test_local_pipeline.py

# Once per AWS account and region, by hand: GitHub's OIDC provider and the CI roles (stacks/ci_stack.py,
# docs/ci.md). GITHUB_OIDC_PROVIDER_ARN reuses a provider the account already has.
GITHUB_REPOSITORY ?=
GITHUB_OIDC_PROVIDER_ARN ?=
ci-stack: install
	$(CDK) deploy -c ci=true -c githubRepository=$(GITHUB_REPOSITORY) \
	  $(if $(GITHUB_OIDC_PROVIDER_ARN),-c githubOidcProviderArn=$(GITHUB_OIDC_PROVIDER_ARN)) -o cdk.out/ci

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
