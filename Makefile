# The two commands of the README: `make demo` (the main job) and `make test`.
# Both create the virtual environment on first use (VENV, default .venv) and install the
# Debian packages they need (apt-get; sudo when not root); a missing piece stops with one line.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
FMNIST := /usr/share/datasets/fashion-mnist
CHROMIUM := /usr/bin/chromium
DEJAVU := /usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf
LIBERATION := /usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf
PHOTOS := /usr/share/backgrounds/mate/nature
CATEGORIES := data/categories
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# apt-get install PACKAGE, unless the path $(2) exists
define debian
	@[ -e $(2) ] || command -v apt-get >/dev/null || \
		{ echo "make: $(1) is missing ($(2)) and there is no apt-get to install it: $(3)"; exit 1; }
	@[ -e $(2) ] || { $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); } || \
		{ echo "make: could not install Debian's $(1) ($(3))"; exit 1; }
endef

# The separate Brain-Score environment (requirements-brainscore.txt), kept out of $(VENV).
BS_VENV ?= .venv-brainscore
BS_STAMP := $(BS_VENV)/.installed-$(shell sha1sum requirements-brainscore.txt | cut -c1-12)
BS_MODEL := tdsnn_categories_stc

.PHONY: demo test lint format data categories browser brainscore-venv brainscore-test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

data:  ## Debian's Fashion-MNIST (31 MB), fonts and nature photos: the sources of `tdsnn data build`
	$(call debian,dataset-fashion-mnist,$(FMNIST),the data of the card and report and probe tests)
	$(call debian,fonts-dejavu-core fonts-dejavu-extra,$(DEJAVU),the characters of the category dataset)
	$(call debian,fonts-liberation,$(LIBERATION),the characters of the category dataset)
	$(call debian,mate-backgrounds,$(PHOTOS),the place photos of the category dataset)

categories: $(STAMP) data  ## the offline category dataset of the categories_* models (~1 min; tdsnn data build)
	@[ -e $(CATEGORIES)/val/sources.json ] || $(BIN)/tdsnn data build --out $(CATEGORIES) --no-progress

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

test: $(STAMP) data categories browser lint
	$(BIN)/python -m pytest

$(BS_STAMP): requirements-brainscore.txt
	$(PYTHON) -m venv $(BS_VENV)
	$(BS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BS_VENV)/bin/python -m pip install --quiet -r requirements-brainscore.txt
	$(BS_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

brainscore-venv: $(BS_STAMP)  ## brainscore-vision 2.4 + torch + this project (--no-deps), ~7 GB

# Export the bundled model into the environment's brainscore_vision/models/ and run the
# plugin's own test there (load_model, every region, time bins, tissue_x/tissue_y).
brainscore-test: $(STAMP) $(BS_STAMP)
	models=$$($(BS_VENV)/bin/python -c "import brainscore_vision as b, os; print(os.path.dirname(b.__file__))")/models && \
	rm -rf $$models/$(BS_MODEL) && \
	$(BIN)/tdsnn export brainscore models/categories_stc.safetensors --out $$models/$(BS_MODEL) && \
	BS_INSTALL_DEPENDENCIES=no RESULTCACHING_DISABLE=1 $(BS_VENV)/bin/python -m pytest -q \
		-p no:cacheprovider -c /dev/null --rootdir $$models $$models/$(BS_MODEL)/test.py
