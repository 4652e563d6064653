"""Notebook 02 (survival, Table 2) executed through papermill; results read back from its files.

Two runs: the defaults, and ``dfi_cutoff_months=18`` with ``median_ci="log"``. The numbers in
the written CSVs are checked against the helpers called directly on the same registry, so the
test fails if the notebook wires the wrong columns, cut-offs or conventions into its outputs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from notebook_runner import committed_parameters_cell, execute_notebook

from helpers import DATA_DIR, PROJECT_ROOT, cohort, schema, survival
from helpers.reproduction import published

NOTEBOOK = PROJECT_ROOT / "notebooks" / "02-survival-and-univariate-screening.ipynb"
REGISTRY_CSV = DATA_DIR / "registry.csv"
PARAMETERS = (
    "registry_path",
    "output_dir",
    "landmark_months",
    "alpha",
    "age_cutoff_years",
    "dfi_cutoff_months",
    "primary_size_cutoff_cm",
    "lesion_size_cutoff_mm",
    "median_ci",
    "endpoint",
)
KM_OVERALL_COLUMNS = [
    "n",
    "events",
    "median_months",
    "median_ci_low",
    "median_ci_high",
    "median_ci_method",
    "survival_5y_pct",
    "survival_5y_ci_low",
    "survival_5y_ci_high",
    "median_followup_months",
    "median_followup_method",
]
TABLE2_COLUMNS = [
    "variable",
    "level",
    "n",
    "events",
    "survival_pct",
    "survival_ci_low",
    "survival_ci_high",
    "p_value",
]

pytestmark = [
    pytest.mark.notebook,
]


def run_notebook(output_dir: Path, **parameters: object) -> nbformat.NotebookNode:
    """Execute this notebook (cwd notebooks/, as the batch runner does) into ``output_dir``."""
    return execute_notebook(NOTEBOOK, output_dir, **parameters)


def derived_data(dfi_cutoff_months: float = 12) -> cohort.DerivedFactors:
    """The analysed cohort with factors, computed directly (not through the notebook)."""
    registry = schema.load_registry(REGISTRY_CSV)
    analysed = schema.add_survival_columns(cohort.assemble_cohort(registry).analysed, "all_cause")
    return cohort.derive_factors(analysed, dfi_cutoff_months=dfi_cutoff_months)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output_dir = tmp_path_factory.mktemp("nb02_default")
    run_notebook(output_dir)
    return output_dir


@pytest.fixture(scope="module")
def dfi18_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output_dir = tmp_path_factory.mktemp("nb02_dfi18")
    run_notebook(output_dir, dfi_cutoff_months=18, median_ci="log")
    return output_dir


def test_committed_notebook_is_clean() -> None:
    import papermill as pm

    nb, _ = committed_parameters_cell(NOTEBOOK, PARAMETERS)
    inspected = pm.inspect_notebook(str(NOTEBOOK))
    assert set(PARAMETERS) <= set(inspected)
    assert all(inspected[name]["inferred_type_name"] in ("str", "float") for name in PARAMETERS)
    assert nb.cells[-2].cell_type == "code" and nb.cells[-1].source.startswith("Markdown(")


def test_default_km_overall(default_run: Path) -> None:
    km_overall = pd.read_csv(default_run / "tables" / "km_overall.csv")
    assert len(km_overall) == 1
    assert [c for c in KM_OVERALL_COLUMNS if c not in km_overall.columns] == []
    row = km_overall.iloc[0]
    data = derived_data().data
    km = survival.kaplan_meier(data, "time_months", "event", landmarks=(60,))
    assert row["n"] == len(data) and row["events"] == int(data["event"].sum())
    assert row["median_ci_method"] == "symmetric" and row["median_followup_method"] == "observed"
    assert row["median_months"] == pytest.approx(km.median, rel=1e-9)
    assert row["median_ci_low"] == pytest.approx(km.median_ci_symmetric_low, rel=1e-9)
    assert row["median_ci_high"] - row["median_months"] == pytest.approx(
        row["median_months"] - row["median_ci_low"], rel=1e-9
    )
    assert row["survival_5y_pct"] == pytest.approx(100 * km.landmarks["survival"].iloc[0], rel=1e-9)
    assert row["survival_5y_ci_low"] < row["survival_5y_pct"] < row["survival_5y_ci_high"]
    assert row["median_followup_months"] == pytest.approx(float(np.median(data["time_months"])))


def test_default_table2(default_run: Path) -> None:
    table2 = pd.read_csv(default_run / "tables" / "table2.csv")
    assert list(table2.columns) == TABLE2_COLUMNS
    paper = published.published_table2()
    assert (
        table2["variable"].drop_duplicates().tolist()
        == paper["variable"].drop_duplicates().tolist()
    )
    assert (
        table2[["variable", "level"]].values.tolist()
        == paper[["variable", "level"]].values.tolist()
    )
    assert (table2.groupby("variable")["n"].sum() == 66).all()
    assert (table2.groupby("variable")["p_value"].nunique() == 1).all()
    ok = table2["survival_pct"].dropna()
    assert ok.between(0, 100).all()
    derived = derived_data()
    screen = survival.screen_factors(derived.data, "time_months", "event", derived.factors)
    np.testing.assert_allclose(table2["p_value"], screen["p_value"], rtol=1e-9)
    np.testing.assert_allclose(table2["survival_pct"], screen["survival_pct"], rtol=1e-9)
    assert table2["events"].tolist() == screen["events"].tolist()


def test_default_figures(default_run: Path) -> None:
    for suffix in ("png", "svg"):
        path = default_run / "figures" / f"figure1_km.{suffix}"
        assert path.exists() and path.stat().st_size > 5000
    assert (default_run / "figures" / "km_panel_table2.png").exists()


def test_dfi18_run_moves_the_cutoff_and_the_median_ci(dfi18_run: Path, default_run: Path) -> None:
    table2 = pd.read_csv(dfi18_run / "tables" / "table2.csv")
    dfi = table2[table2["variable"] == "disease_free_interval"]
    assert dfi["level"].tolist() == ["lt_18_months", "ge_18_months"]
    data = derived_data(18).data
    assert dfi["n"].tolist() == [
        int((data["dfi_months"] < 18).sum()),
        int((data["dfi_months"] >= 18).sum()),
    ]
    p18 = survival.logrank(data, "time_months", "event", "disease_free_interval").p_value
    assert dfi["p_value"].iloc[0] == pytest.approx(p18, rel=1e-9)
    default = pd.read_csv(default_run / "tables" / "table2.csv")
    # other factors unchanged (their CIs differ: median_ci="log" also sets the pointwise band)
    same = ["variable", "level", "n", "events", "survival_pct", "p_value"]
    others = table2["variable"] != "disease_free_interval"
    pd.testing.assert_frame_equal(
        table2.loc[others, same].reset_index(drop=True),
        default.loc[default["variable"] != "disease_free_interval", same].reset_index(drop=True),
    )
    assert not np.allclose(
        table2.loc[others, "survival_ci_low"].dropna(),
        default.loc[others, "survival_ci_low"].dropna(),
    )
    row = pd.read_csv(dfi18_run / "tables" / "km_overall.csv").iloc[0]
    km = survival.kaplan_meier(data, "time_months", "event", conf_type="log")
    assert row["median_ci_method"] == "log"
    assert row["median_ci_low"] == pytest.approx(km.median_ci_low, rel=1e-9, nan_ok=True)
    assert row["median_ci_high"] == pytest.approx(km.median_ci_high, rel=1e-9, nan_ok=True)
