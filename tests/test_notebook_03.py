"""Notebook 03 (multivariable Cox model) executed through papermill; results read back from its files.

Two runs: the defaults (Breslow ties, the paper's cut-offs) and ``dfi_cutoff_months=18,
ties="efron"``. The written ``tables/table3.csv`` is compared with reference numbers written
down in this file (not recomputed through the same helpers), so the test fails if the notebook
drops, reorders or mislabels a term, writes the other tie method, or if a helper's result
changes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from notebook_runner import committed_parameters_cell

from helpers import DATA_DIR, PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "03-multivariable-cox.ipynb"
REGISTRY_CSV = DATA_DIR / "registry.csv"
CONTRACT = ["variable", "level", "hr", "ci_low", "ci_high", "p_value"]
PARAMETERS = ("registry_path", "output_dir", "landmark_months", "alpha", "age_cutoff_years",
              "dfi_cutoff_months", "primary_size_cutoff_cm", "lesion_size_cutoff_mm", "ties",
              "endpoint")

pytestmark = [
    pytest.mark.notebook,
]


#: Reference numbers, written down from the notebook's run on the shipped registry. Relative
#: tolerance REL: the CSV holds full floats, so anything beyond rounding noise is a changed result.
REL = 1e-6
#: Table 3 with the defaults (Breslow ties, disease-free interval cut at 12 months):
#: (variable, level, hr, ci_low, ci_high, p_value).
TABLE3_DEFAULT = [
    ("disease_free_interval", "lt_12_months", 3.3596463591, 1.4254604688, 7.9183000200, 0.0055992030),
    ("primary_histology_ups", "ups", 2.9365520565, 0.9681492383, 8.9070337914, 0.0570681395),
    ("lung_metastasis_number", "multiple", 1.2831254563, 0.5397864122, 3.0501155628, 0.5725496950),
    ("largest_lung_lesion_size", "ge_20_mm", 3.1034104040, 1.0856745296, 8.8711265417, 0.0345699602),
    ("curative_resection", "no", 12.2239143065, 1.8948629389, 78.8574613509, 0.0084902288),
]
#: Table 3 with ``dfi_cutoff_months=18, ties="efron"``. No two deaths share a time in the
#: shipped registry, so these are also the Breslow numbers (the tie methods differ only at ties).
TABLE3_EFRON_18 = [
    ("disease_free_interval", "lt_18_months", 8.8085430493, 3.1328245619, 24.7669249011, 0.0000370789),
    ("primary_histology_ups", "ups", 4.1861442013, 1.5237322978, 11.5005787426, 0.0054904419),
    ("lung_metastasis_number", "multiple", 0.9124660719, 0.3750269779, 2.2200918371, 0.8399761751),
    ("largest_lung_lesion_size", "ge_20_mm", 4.2664907105, 1.4290331073, 12.7379435016, 0.0093314186),
    ("curative_resection", "no", 15.9539042270, 2.8277817399, 90.0094432669, 0.0017040125),
]


def assert_table3(table3: pd.DataFrame, reference: list[tuple]) -> None:
    """``table3`` has the reference's terms in order and its numbers to :data:`REL`."""
    want = pd.DataFrame(reference, columns=CONTRACT)
    assert table3[["variable", "level"]].values.tolist() == want[["variable", "level"]].values.tolist()
    for col in ("hr", "ci_low", "ci_high", "p_value"):
        np.testing.assert_allclose(table3[col], want[col], rtol=REL, atol=1e-10, err_msg=col)


def read_table3(output_dir: Path) -> pd.DataFrame:
    return pd.read_csv(output_dir / "tables" / "table3.csv", keep_default_na=False,
                       na_values={c: [""] for c in ("hr", "ci_low", "ci_high", "p_value")})


@pytest.fixture(scope="session")
def default_run(notebook_run) -> Path:
    return notebook_run(NOTEBOOK)


@pytest.fixture(scope="session")
def efron_18_run(notebook_run) -> Path:
    return notebook_run(NOTEBOOK, dfi_cutoff_months=18, ties="efron")


def test_committed_notebook_is_clean() -> None:
    nb, _ = committed_parameters_cell(NOTEBOOK, PARAMETERS)
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"]
    assert headings[-1] == "## What we found"


def test_default_run_writes_table3_as_computed(default_run: Path) -> None:
    table3 = read_table3(default_run)
    assert list(table3.columns[:6]) == CONTRACT
    assert (table3["ties"] == "breslow").all()
    assert_table3(table3, TABLE3_DEFAULT)
    assert (table3["ci_low"] < table3["hr"]).all() and (table3["hr"] < table3["ci_high"]).all()


def test_default_run_has_the_papers_terms(default_run: Path) -> None:
    published = json.loads((DATA_DIR / "published_targets.json").read_text(encoding="utf-8"))
    paper = {(r["variable"], r["level"]) for r in published["table3"]}
    table3 = read_table3(default_run)
    assert set(zip(table3["variable"], table3["level"], strict=True)) == paper
    refs = dict(zip(table3["variable"], table3["reference"], strict=True))
    assert refs == {r["variable"]: r["reference_level"] for r in published["table3"]}


def test_default_run_writes_the_other_files(default_run: Path) -> None:
    for name in ("forest_table3.png", "forest_table3.svg"):
        path = default_run / "figures" / name
        assert path.exists() and path.stat().st_size > 1000, name
    selection = pd.read_csv(default_run / "tables" / "table3_selection.csv")
    assert list(selection.columns) == ["variable", "p_value", "alpha", "selected", "reason"]
    assert sorted(selection.loc[selection["selected"], "variable"]) == sorted(read_table3(default_run)["variable"])
    ph = pd.read_csv(default_run / "tables" / "table3_ph_test.csv")
    assert ph["term"].iloc[-1] == "GLOBAL"
    summary = pd.read_csv(default_run / "tables" / "cox_model_summary.csv")
    assert summary.loc[0, "ties"] == "breslow"
    # 66 patients, 5 coefficients: the events-per-parameter warning must reach the outputs.
    if summary.loc[0, "events_per_parameter"] < 10:
        assert "events per parameter" in summary.loc[0, "warnings"]
        assert "events per parameter" in (default_run / "tables" / "table3.html").read_text()


def test_efron_dfi18_run(efron_18_run: Path) -> None:
    table3 = read_table3(efron_18_run)
    assert list(table3.columns[:6]) == CONTRACT
    assert (table3["ties"] == "efron").all()
    assert_table3(table3, TABLE3_EFRON_18)
    # The cut-off in use is in the level keys: no trace of the default 12 months.
    dfi = pd.read_csv(efron_18_run / "tables" / "table3_selection.csv")
    assert "disease_free_interval" in dfi["variable"].tolist()
    dfi_levels = table3.loc[table3["variable"] == "disease_free_interval", ["level", "reference"]]
    assert all("18" in v for v in dfi_levels.to_numpy().ravel())
    assert not table3["level"].str.contains("12_months").any()


def test_default_run_states_the_ph_verdict_from_the_test(default_run: Path) -> None:
    """The proportional-hazards verdict in words follows the cox.zph p-values written to disk."""
    ph = pd.read_csv(default_run / "tables" / "table3_ph_test.csv")
    nb = nbformat.read(default_run / "notebooks" / NOTEBOOK.name, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("ph_verdict = "))
    text = "".join(o.get("data", {}).get("text/markdown", "") for o in cell.outputs)
    holds = bool((ph["p_value"] >= 0.05).all())
    assert text.startswith("**Verdict:** ")
    assert ("no evidence against proportional hazards" in text) == holds
    assert ("proportional hazards are rejected" in text) == (not holds)
    global_p = ph.set_index("term").loc["GLOBAL", "p_value"]
    assert f"GLOBAL p = {global_p:.3f}" in text
    for term in ph.loc[(ph["term"] != "GLOBAL") & (ph["p_value"] < 0.05), "term"]:
        assert term in text
    closing = "".join(o.get("data", {}).get("text/markdown", "") for o in nb.cells[-1].outputs)
    assert text.removeprefix("**Verdict:** ").rstrip(".") in closing


def test_default_run_teaching_layer(default_run: Path) -> None:
    """lifelines' CoxPHFitter beside fit_cox, Schoenfeld plots, the PH conclusion, remedies, exercises."""
    nb = nbformat.read(default_run / "notebooks" / NOTEBOOK.name, as_version=4)
    text = "\n".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))
    assert re.search(r"`CoxPHFitter\(\)` (stopped with ConvergenceError|converged with the defaults)", text)
    agreement = float(re.search(r"agree with the helper's Efron fit to ([0-9.e+-]+)", text).group(1))
    assert agreement < 1e-3
    assert "**Conclusion:** proportional hazards" in text
    assert text.count("✅") == 3 and "❌" not in text
    periods = pd.read_csv(default_run / "tables" / "table3_by_period.csv")
    assert len(periods) == 5 and "whole_follow_up" in periods.columns
    assert (default_run / "figures" / "schoenfeld_residuals.png").stat().st_size > 5000
