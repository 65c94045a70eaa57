# The two commands of the README: `make demo` (the main job) and `make test`.
# Both create the virtual environment on first use (VENV, default .venv) and install the
# Debian packages they need (apt-get; sudo when not root); a missing piece stops with one line.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
FMNIST := /usr/share/datasets/fashion-mnist
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# apt-get install PACKAGE, unless the path $(2) exists
define debian
	@[ -e $(2) ] || command -v apt-get >/dev/null || \
		{ echo "make: $(1) is missing ($(2)) and there is no apt-get to install it: $(3)"; exit 1; }
	@[ -e $(2) ] || { $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); } || \
		{ echo "make: could not install Debian's $(1) ($(3))"; exit 1; }
endef

.PHONY: demo test lint format data browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

data:  ## Fashion-MNIST from Debian (31 MB); nothing is downloaded at run time
	$(call debian,dataset-fashion-mnist,$(FMNIST),the data of the card and report and probe tests)

browser:  ## Debian's Chromium, driven by Playwright in the dashboard tests (no browser download)
	$(call debian,chromium,$(CHROMIUM),the browser of the dashboard tests)

demo: $(STAMP) data  ## serve the bundled models (models/) and the dashboard (prints its URL)
	$(BIN)/tdsnn serve --models models  # dashboard: http://127.0.0.1:8000/dashboard

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(STAMP) data browser lint
	$(BIN)/python -m pytest
