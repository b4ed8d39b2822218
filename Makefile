# Riskwatch: `make demo` runs the main job on the sample tenant, `make test` runs every test.
# Both set everything up on a fresh machine: a virtual environment with the Python
# packages, and Azurite (the Azure Storage emulator) from the npm registry.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
AZURITE := node_modules/.bin/azurite
WITH_AZURITE := $(PY) tools/azurite.py run --

.PHONY: setup demo test lint typecheck bench bench-quick clean

setup: $(STAMP) $(AZURITE)

# Debian's Chromium (and its driver) for the browser tests, installed when missing; the
# Python Playwright driver launches this executable, it never downloads a browser.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		chromium chromium-driver fonts-dejavu-core >/dev/null

$(STAMP): pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(AZURITE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(AZURITE)

demo: setup
	$(WITH_AZURITE) $(PY) -m service.cli.demo

# shellcheck lints the azd hook scripts in infra-check (skipped by the check when absent).
SHELLCHECK := /usr/bin/shellcheck
$(SHELLCHECK):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null

test: setup $(CHROMIUM) $(SHELLCHECK) infra-check
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(WITH_AZURITE) $(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check .

typecheck: setup
	$(PY) -m mypy

# The README's screenshot (docs/review.png): the top of the sample tenant's review as
# Chromium shows it, written by the browser test.
.PHONY: screenshot
screenshot: setup $(CHROMIUM)
	WRITE_REVIEW_SCREENSHOT=docs/review.png $(PY) -m pytest -q tests/test_review_browser.py \
		-k "sample_tenant or readme_screenshot"

bench: setup
	$(WITH_AZURITE) $(PY) -m bench.run

bench-quick: setup
	$(WITH_AZURITE) $(PY) -m bench.run --quick

# Offline checks of infra/ (no Azure account, no Bicep CLI). checkov pins pycep-parser 0.5.1,
# the structural checks need >= 0.7.1 (a dev extra): checkov gets a venv of its own.
.PHONY: infra-check
INFRA_VENV := .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed

$(INFRA_STAMP):
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/python -m pip install --quiet 'checkov==3.3.30'
	touch $(INFRA_STAMP)

infra-check: $(STAMP) $(INFRA_STAMP)
	$(PY) tools/check_infra.py --checkov $(INFRA_VENV)/bin/checkov --infra infra

clean:
	rm -rf $(VENV) $(INFRA_VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
