"""Notebook 06 (would Table 3 hold in new patients?) executed through papermill.

Two runs: the defaults (200 resamples, Breslow ties, on a local dask cluster) and
``n_bootstrap=200, ties="efron"``. The written tables are compared with the same validation
computed here in-process (``scheduler="synchronous"``): equal tables also show that the dask
workers do not change the result.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from notebook_runner import committed_parameters_cell

from helpers import DATA_DIR, PROJECT_ROOT, cohort, schema
from helpers.reproduction import validation as V

NOTEBOOK = PROJECT_ROOT / "notebooks" / "06-would-table-3-hold-in-new-patients.ipynb"
REGISTRY_CSV = DATA_DIR / "registry.csv"
PARAMETERS = ("registry_path", "output_dir", "alpha", "age_cutoff_years", "dfi_cutoff_months",
              "primary_size_cutoff_cm", "lesion_size_cutoff_mm", "ties", "endpoint", "n_bootstrap", "seed",
              "scheduler_address")
TABLE3_COLUMNS = ["variable", "level", "hr", "ci_low", "ci_high", "p_value", "reference", "ties", "flag"]

pytestmark = [
    pytest.mark.notebook,
]

RUNS = {"defaults": {}, "efron": {"n_bootstrap": 200, "ties": "efron"}}


def test_committed_form():
    committed_parameters_cell(NOTEBOOK, PARAMETERS)


@pytest.fixture(scope="session", params=list(RUNS))
def run(request, notebook_run) -> tuple[dict, Path, object]:
    out = notebook_run(NOTEBOOK, **RUNS[request.param])
    return RUNS[request.param], out, nbformat.read(out / "notebooks" / NOTEBOOK.name, as_version=4)


def _expected(ties: str, n_bootstrap: int) -> V.ValidationResult:
    analysed = schema.add_survival_columns(cohort.assemble_cohort(schema.load_registry(REGISTRY_CSV)).analysed)
    derived = cohort.derive_factors(analysed)
    refs = {f: derived.reference(f) for f in derived.factors}
    return V.validate_procedure(derived.data, "time_months", "event", derived.factors, references=refs,
                                ties=ties, n_bootstrap=n_bootstrap, seed=2022, scheduler="synchronous")


def test_validation_table_equals_the_helper(run):
    params, out, _ = run
    written = pd.read_csv(out / "tables" / "validation.csv")
    assert list(written.columns) == ["measure", "apparent", "optimism", "corrected", "ci_low", "ci_high",
                                     "n_resamples", "n_failed"]
    expected = _expected(params.get("ties", "breslow"), params.get("n_bootstrap", 200))
    pd.testing.assert_frame_equal(written, expected.table, check_dtype=False, rtol=1e-9)
    assert (written["n_resamples"] + written["n_failed"]).eq(params.get("n_bootstrap", 200)).all()
    selection = pd.read_csv(out / "tables" / "selection_frequency.csv")
    assert list(selection.columns) == ["variable", "selected_pct"] and len(selection) == 17
    pd.testing.assert_frame_equal(selection, expected.selection, check_dtype=False)


def test_firth_table_and_figure(run):
    _, out, _ = run
    firth = pd.read_csv(out / "tables" / "table3_firth.csv", keep_default_na=False)
    assert list(firth.columns) == [*TABLE3_COLUMNS, "method"]
    assert set(firth["method"]) == {"firth"} and set(firth["ties"]) == {"breslow"}
    assert np.all(firth["ci_low"].astype(float) < firth["hr"].astype(float))
    assert (out / "figures" / "validation.png").stat().st_size > 10_000


def test_conclusions_are_computed(run):
    _, out, nb = run
    corrected = pd.read_csv(out / "tables" / "validation.csv").set_index("measure").loc["c_index", "corrected"]
    text = "".join(o.get("data", {}).get("text/markdown", "") for o in nb.cells[-1].outputs)
    assert f"corrected C **{corrected:.3f}**" in text
    top = pd.read_csv(out / "tables" / "selection_frequency.csv")["selected_pct"].iloc[0]
    assert f"({top:.0f}%)" in text
