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
# git filter that strips outputs from notebooks on `git add` (named in .gitattributes). The command
# is relative to the checkout's top folder (where git runs filters), so every worktree of a clone
# uses its own .venv. --keep-id keeps the cell ids; language_info keeps only its committed `name`.
STRIP_KEYS := metadata.language_info.codemirror_mode metadata.language_info.file_extension \
	metadata.language_info.mimetype metadata.language_info.nbconvert_exporter \
	metadata.language_info.pygments_lexer metadata.language_info.version
STRIP  := .venv/bin/python -m nbstripout --keep-id --extra-keys '$(STRIP_KEYS)'

.DEFAULT_GOAL := help
.PHONY: help setup run test lab student sweep registry template check bench clean clean-notebooks notebook-filter

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))" >/dev/null
	@$(MAKE) --no-print-directory notebook-filter
	@touch $(STAMP)

setup: $(STAMP) notebook-filter ## create .venv, install helpers with its dependencies, register the Jupyter kernel

run: $(STAMP) ## execute every notebook (independent ones at once) into outputs/ [SWEEP=outputs/sweep-cutoffs for the report]
	$(PY) -m helpers.reproduction.runner run --output $(OUTPUT) $(if $(SWEEP),--sweep "$(SWEEP)")

student: $(STAMP) ## write the student edition (solution cells blanked) to student/
	$(PY) -m helpers.teaching.student --notebooks notebooks --out student

test: $(STAMP) ## run the whole pytest suite (unit, R-reference, bad-input, notebook, packaging tests and the docstring examples in helpers/)
	$(PY) -m pytest -n 2 --dist worksteal

notebook-filter: ## install the git filter that strips notebook outputs on `git add` (part of setup)
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git config filter.nbstripout.clean "$(STRIP)" && \
	  git config filter.nbstripout.smudge cat && \
	  git config diff.ipynb.textconv "$(STRIP) -t" && \
	  echo "git filter installed: outputs are stripped from notebooks/*.ipynb on git add"; \
	else echo "not a git checkout: no notebook filter installed"; fi

clean-notebooks: $(STAMP) ## strip outputs and execution counts from notebooks/*.ipynb in place
	$(STRIP) notebooks/*.ipynb

lab: $(STAMP) notebook-filter ## open JupyterLab on notebooks/ with the project's kernel [LAB_ARGS=--ip=0.0.0.0 in a container]
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(if $(DISPLAY),,--no-browser) $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

sweep: $(STAMP) ## sensitivity sweep over GRID (default sweeps/cutoffs.yaml) on dask: a LocalCluster of WORKERS, or SCHEDULER=tcp://host:port
	$(PY) -m helpers.reproduction.runner sweep --grid $(GRID) --scheduler $(SCHEDULER) --workers $(WORKERS) --notebooks 01,02,03 --output $(OUTPUT)/sweep-$(basename $(notdir $(GRID)))

registry: $(STAMP) ## regenerate data/registry.csv from its recorded seed and settings (and the example hospital export)
	$(PY) -m helpers.reproduction.synthetic
	$(PY) -m helpers.intake.registry example-export

template: $(STAMP) ## write the fill-in Excel template from the data dictionary to $(OUTPUT)/registry_template.xlsx
	$(PY) -m helpers.intake.registry template --output $(OUTPUT)/registry_template.xlsx

check: $(STAMP) ## check FILE=export.csv [MAPPING=mapping.yaml] without analysis; report in $(OUTPUT)/check
	@test -n "$(FILE)" || { echo "usage: make check FILE=export.csv [MAPPING=mapping.yaml]"; exit 2; }
	$(PY) -m helpers.intake.registry check "$(FILE)" $(if $(MAPPING),--mapping "$(MAPPING)") --report $(OUTPUT)/check

bench: $(STAMP) ## run the benchmarks (they print numbers; nothing is asserted)
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean: ## remove outputs/ (not the environment)
	rm -rf $(OUTPUT)
