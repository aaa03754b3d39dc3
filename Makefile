# SIGMA2 developer entry points. `make demo` and `make test` work on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_OUT ?= demo_output

.PHONY: env demo test test-fast smoke-wheel bench lint docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[all]'
	touch $@

env: $(VENV)/.installed

demo: env
	$(PY) -m sigma demo --out $(DEMO_OUT) --overwrite

test: env
	$(PY) -m pytest

test-fast: env
	$(PY) -m pytest -m "not browser and not slow"

# build the wheel, install it into a fresh venv (not editable) and run `sigma demo` from it
smoke-wheel: env
	PY=$(PY) bash .ci/wheel_smoke.sh

bench: env
	$(PY) benchmarks/run_all.py

lint: env
	$(VENV)/bin/ruff check src tests benchmarks

docs: env
	@$(PY) -c "import sphinx, numpydoc, pydata_sphinx_theme, sphinxarg" 2>/dev/null || $(PY) -m pip install -q -e '.[docs]'
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(DEMO_OUT) .pytest_cache build dist
