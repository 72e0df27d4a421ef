# Cart Service control plane. `make demo` and `make test` do all set-up on a fresh machine (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .venv-tools
CHECKOV_VERSION := 3.3.30
PARLIAMENT_VERSION := 1.6.4
# Test workers (pytest-xdist). Four even on two cores: the tests wait more than they compute (the Terraform
# provider's polls, emulated rollouts and drains), and each Terraform apply, the other Terraform tests and the
# hostile suite each keep to one worker (tests/conftest.py).
JOBS ?= 4
PYTEST := $(PY) -m pytest -n $(JOBS)

.PHONY: setup demo sandbox test test-fast lint typecheck terraform-check package clean

setup: $(VENV)/.installed node_modules/.installed $(TOOLS)/.installed

$(VENV)/.installed: requirements-dev.lock requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# checkov and parliament (IAM policy lint, tests/terraform/test_iam_lint.py) live in their own venv so their
# dependencies cannot move the project's pins.
$(TOOLS)/.installed: Makefile
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION) parliament==$(PARLIAMENT_VERSION)
	touch $@

## The main job: the whole lifecycle in a fresh offline sandbox.
demo: $(VENV)/.installed
	$(PY) -m controlplane demo

## Serve the sandbox (emulated AWS on :5000, control API on :8000) until Ctrl-C.
sandbox: $(VENV)/.installed
	$(PY) -m controlplane sandbox

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

## Everything CI runs: lint, strict types, and every test (slow and Terraform ones included).
test: setup lint typecheck
	$(PYTEST)

## The quick loop: no packaging, demo or Terraform apply.
test-fast: $(VENV)/.installed lint typecheck
	$(PYTEST) -m "not slow and not terraform_integration"

terraform-check: setup
	terraform/scripts/check.sh

package: $(VENV)/.installed
	$(PY) scripts/package.py build/package --stage dev

clean:
	rm -rf $(VENV) $(TOOLS) node_modules build .pytest_cache .mypy_cache .ruff_cache
