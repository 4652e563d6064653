# metastasectomy-survival: `make help` lists the targets.
# Every target that needs Python sets up the local virtual environment (.venv) first, if absent
# or older than pyproject.toml.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
KERNEL := metastasectomy-survival
STAMP  := $(VENV)/.installed
OUTPUT ?= outputs
GRID   ?= sweeps/cutoffs.yaml
WORKERS ?= 2
SCHEDULER ?= local
SWEEP  ?=

.DEFAULT_GOAL := help
.PHONY: help setup run test lab sweep registry template check bench clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))" >/dev/null
	@touch $(STAMP)

setup: $(STAMP) ## create .venv, install helpers with its dependencies, register the Jupyter kernel

run: $(STAMP) ## execute every notebook (independent ones at once) into outputs/ [SWEEP=outputs/sweep-cutoffs for the report]
	$(PY) -m helpers.reproduction.runner run --output $(OUTPUT) $(if $(SWEEP),--sweep "$(SWEEP)")

test: $(STAMP) ## run the whole pytest suite (unit, R-reference, bad-input, notebook, packaging tests and the docstring examples in helpers/)
	$(PY) -m pytest -n 2 --dist loadfile

lab: $(STAMP) ## open JupyterLab on notebooks/ with the project's kernel
	$(VENV)/bin/jupyter lab notebooks/

sweep: $(STAMP) ## sensitivity sweep over GRID (default sweeps/cutoffs.yaml) on dask: a LocalCluster of WORKERS, or SCHEDULER=tcp://host:port
	$(PY) -m helpers.reproduction.runner sweep --grid $(GRID) --scheduler $(SCHEDULER) --workers $(WORKERS) --notebooks 01,02,03 --output $(OUTPUT)/sweep-$(basename $(notdir $(GRID)))

registry: $(STAMP) ## regenerate data/registry.csv from its recorded seed and settings (and the example hospital export)
	$(PY) -m helpers.reproduction.synthetic
	$(PY) -m helpers.reproduction.registry example-export

template: $(STAMP) ## write the fill-in Excel template from the data dictionary to $(OUTPUT)/registry_template.xlsx
	$(PY) -m helpers.reproduction.registry template --output $(OUTPUT)/registry_template.xlsx

check: $(STAMP) ## check FILE=export.csv [MAPPING=mapping.yaml] without analysis; report in $(OUTPUT)/check
	@test -n "$(FILE)" || { echo "usage: make check FILE=export.csv [MAPPING=mapping.yaml]"; exit 2; }
	$(PY) -m helpers.reproduction.registry check "$(FILE)" $(if $(MAPPING),--mapping "$(MAPPING)") --report $(OUTPUT)/check

bench: $(STAMP) ## run the benchmarks (they print numbers; nothing is asserted)
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean: ## remove outputs/ (not the environment)
	rm -rf $(OUTPUT)
