"""Notebook 03 (multivariable Cox model) executed through papermill; results read back from its files.

Two runs, as the issue asks: the defaults (Breslow ties, the paper's cut-offs) and
``dfi_cutoff_months=18, ties="efron"``. The written ``tables/table3.csv`` is compared with the
same pipeline computed here directly through the helpers, so the test fails if the notebook
drops, reorders or mislabels a term, or writes the other tie method.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from notebook_runner import committed_parameters_cell, execute_notebook

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


def run_notebook(output_dir: Path, **parameters: object) -> nbformat.NotebookNode:
    """Execute this notebook (cwd notebooks/, as the batch runner does) into ``output_dir``."""
    return execute_notebook(NOTEBOOK, output_dir, **parameters)


def expected_table3(*, dfi_cutoff_months: float = 12, ties: str = "breslow",
                    alpha: float = 0.05) -> pd.DataFrame:
    """Table 3 computed directly through the helpers, as the notebook should compute it."""
    from helpers import cohort, cox, schema, survival

    registry = schema.load_registry(REGISTRY_CSV)
    analysed = schema.add_survival_columns(cohort.assemble_cohort(registry).analysed, "all_cause")
    derived = cohort.derive_factors(analysed, dfi_cutoff_months=dfi_cutoff_months)
    screen = survival.screen_factors(derived.data, "time_months", "event", derived.factors,
                                     landmark=60, alpha=alpha)
    selection = cox.select_for_multivariable(screen, alpha)
    chosen = selection.loc[selection["selected"], "variable"].tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cox.CoxWarning)
        fit = cox.fit_cox(derived.data, "time_months", "event", chosen, ties=ties,
                          categorical={f: derived.reference(f) for f in chosen}, alpha=alpha)
    return fit.table


def read_table3(output_dir: Path) -> pd.DataFrame:
    return pd.read_csv(output_dir / "tables" / "table3.csv", keep_default_na=False,
                       na_values={c: [""] for c in ("hr", "ci_low", "ci_high", "p_value")})


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output_dir = tmp_path_factory.mktemp("nb03_default")
    run_notebook(output_dir)
    return output_dir


@pytest.fixture(scope="module")
def efron_18_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output_dir = tmp_path_factory.mktemp("nb03_dfi18_efron")
    run_notebook(output_dir, dfi_cutoff_months=18, ties="efron")
    return output_dir


def test_committed_notebook_is_clean() -> None:
    nb, _ = committed_parameters_cell(NOTEBOOK, PARAMETERS)
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"]
    assert headings[-1] == "## What we found"


def test_default_run_writes_table3_as_computed(default_run: Path) -> None:
    table3 = read_table3(default_run)
    assert list(table3.columns[:6]) == CONTRACT
    assert (table3["ties"] == "breslow").all()
    want = expected_table3()
    assert table3["variable"].tolist() == want["variable"].tolist()
    assert table3["level"].tolist() == want["level"].tolist()
    for col in ("hr", "ci_low", "ci_high", "p_value"):
        np.testing.assert_allclose(table3[col], want[col], rtol=1e-9, err_msg=col)
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
    want = expected_table3(dfi_cutoff_months=18, ties="efron")
    assert table3["level"].tolist() == want["level"].tolist()
    np.testing.assert_allclose(table3["hr"], want["hr"], rtol=1e-9)
    # The cut-off in use is in the level keys: no trace of the default 12 months.
    dfi = pd.read_csv(efron_18_run / "tables" / "table3_selection.csv")
    assert "disease_free_interval" in dfi["variable"].tolist()
    dfi_levels = table3.loc[table3["variable"] == "disease_free_interval", ["level", "reference"]]
    assert all("18" in v for v in dfi_levels.to_numpy().ravel())
    assert not table3["level"].str.contains("12_months").any()
    # ... and the Breslow fit of the same model matches only when no two deaths share a time
    # (the two tie methods differ only at tied death times).
    from helpers.reproduction.synthetic import REGISTRY_PATH, analysed_cohort

    cohort = analysed_cohort(pd.read_csv(REGISTRY_PATH))
    tied = cohort.loc[cohort["event"].eq(1), "time_months"].duplicated().any()
    breslow = expected_table3(dfi_cutoff_months=18, ties="breslow")
    assert np.allclose(table3["hr"], breslow["hr"], rtol=1e-6) != tied


def test_default_run_states_the_ph_verdict_from_the_test(default_run: Path) -> None:
    """The proportional-hazards verdict in words follows the cox.zph p-values written to disk."""
    ph = pd.read_csv(default_run / "tables" / "table3_ph_test.csv")
    nb = nbformat.read(default_run / NOTEBOOK.name, as_version=4)
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
