"""Notebook 02 (survival, Table 2) executed through papermill; results read back from its files.

Two runs: the defaults, and ``dfi_cutoff_months=18`` with ``median_ci="log"``. The numbers in
the written CSVs are checked against reference numbers written down in this file (the shipped
registry's results, not recomputed through the same helpers), so the test fails if the notebook
wires the wrong columns, cut-offs or conventions into its outputs, or if a helper's result
changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from notebook_runner import committed_parameters_cell

from helpers import DATA_DIR, PROJECT_ROOT
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


#: Reference numbers, written down from the notebook's run on the shipped registry (relative
#: tolerance REL; the CSVs hold full floats). Overall Kaplan-Meier: 66 patients, 32 deaths.
REL = 1e-6
KM_MEDIAN_MONTHS = 48.13141683778234
KM_MEDIAN_CI_LOW_SYMMETRIC = 29.512710113743267
KM_SURVIVAL_5Y_PCT = 45.41511090359823
MEDIAN_FOLLOWUP_MONTHS = 27.860369609856264
#: ``median_ci="log"`` (the dfi18 run): the log-transformed CI of the median.
KM_MEDIAN_CI_LOG = (33.67556468172484, 128.82135523613962)
#: Table 2 with the defaults: (variable, level, n, events, 5-year survival %, log-rank p).
TABLE2_DEFAULT = [
    ("age_years", "lt_50", 35, 16, 50.7332132750, 2.6311179733e-01),
    ("age_years", "ge_50", 31, 16, 39.6957478006, 2.6311179733e-01),
    ("sex", "male", 38, 18, 56.1026151896, 7.5610119141e-01),
    ("sex", "female", 28, 14, 29.2741289790, 7.5610119141e-01),
    ("disease_free_interval", "lt_12_months", 22, 16, 24.0305149396, 3.0544697250e-04),
    ("disease_free_interval", "ge_12_months", 44, 16, 57.8251244333, 3.0544697250e-04),
    ("primary_histology_synovial_sarcoma", "ss", 16, 7, 38.4615384615, 7.7752795762e-01),
    ("primary_histology_synovial_sarcoma", "non_ss", 50, 25, 46.4665930499, 7.7752795762e-01),
    ("primary_histology_ups", "ups", 10, 8, 0.0, 1.4766582211e-04),
    ("primary_histology_ups", "non_ups", 56, 24, 53.3190260998, 1.4766582211e-04),
    ("primary_histology_liposarcoma", "liposarcoma", 10, 4, 59.0625000000, 9.2982801657e-01),
    ("primary_histology_liposarcoma", "non_liposarcoma", 56, 28, 44.0302464850, 9.2982801657e-01),
    ("primary_histology_mfs", "mfs", 7, 3, 47.6190476190, 7.3632211133e-01),
    ("primary_histology_mfs", "non_mfs", 59, 29, 44.5128204622, 7.3632211133e-01),
    ("primary_histology_leiomyosarcoma", "leiomyosarcoma", 6, 2, 37.5, 4.0255388258e-01),
    ("primary_histology_leiomyosarcoma", "non_leiomyosarcoma", 60, 30, 45.2844187817, 4.0255388258e-01),
    ("primary_site", "trunk_wall", 34, 17, 45.9941442640, 4.0047269949e-01),
    ("primary_site", "extremities", 32, 15, 44.9391304348, 4.0047269949e-01),
    ("primary_lesion_size", "lt_10_cm", 42, 23, 44.4625702595, 4.7778499316e-01),
    ("primary_lesion_size", "ge_10_cm", 24, 9, 45.5316742081, 4.7778499316e-01),
    ("lung_metastasis_distribution", "unilateral", 58, 28, 45.3551349099, 5.5074543243e-01),
    ("lung_metastasis_distribution", "bilateral", 8, 4, 46.8750000000, 5.5074543243e-01),
    ("lung_metastasis_number", "solitary", 39, 17, 56.8182230384, 3.3937634262e-02),
    ("lung_metastasis_number", "multiple", 27, 15, 29.4771018455, 3.3937634262e-02),
    ("largest_lung_lesion_size", "lt_20_mm", 48, 20, 58.4850714369, 8.9067704789e-05),
    ("largest_lung_lesion_size", "ge_20_mm", 18, 12, 12.4675324675, 8.9067704789e-05),
    ("pulmonary_resection_type", "partial", 54, 24, 50.2661018076, 1.1565684292e-01),
    ("pulmonary_resection_type", "anatomical", 12, 8, 22.8571428571, 1.1565684292e-01),
    ("curative_resection", "yes", 63, 29, 47.6055584693, 5.3480043803e-12),
    ("curative_resection", "no", 3, 3, 0.0, 5.3480043803e-12),
    ("preoperative_chemotherapy", "yes", 20, 12, 23.4666666667, 5.6195493891e-02),
    ("preoperative_chemotherapy", "no", 46, 20, 55.3197767999, 5.6195493891e-02),
    ("postoperative_chemotherapy", "yes", 4, 4, 25.0, 3.3003206339e-01),
    ("postoperative_chemotherapy", "no", 62, 28, 48.0819388532, 3.3003206339e-01),
]
#: ``dfi_cutoff_months=18``: the disease-free interval's groups (<18, >=18) and log-rank p.
DFI18_N = [34, 32]
DFI18_P = 4.618743095397883e-06


@pytest.fixture(scope="session")
def default_run(notebook_run) -> Path:
    return notebook_run(NOTEBOOK)


@pytest.fixture(scope="session")
def dfi18_run(notebook_run) -> Path:
    return notebook_run(NOTEBOOK, dfi_cutoff_months=18, median_ci="log")


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
    assert (row["n"], row["events"]) == (66, 32)
    assert row["median_ci_method"] == "symmetric" and row["median_followup_method"] == "observed"
    assert row["median_months"] == pytest.approx(KM_MEDIAN_MONTHS, rel=REL)
    assert row["median_ci_low"] == pytest.approx(KM_MEDIAN_CI_LOW_SYMMETRIC, rel=REL)
    assert row["median_ci_high"] - row["median_months"] == pytest.approx(
        row["median_months"] - row["median_ci_low"], rel=1e-9
    )
    assert row["survival_5y_pct"] == pytest.approx(KM_SURVIVAL_5Y_PCT, rel=REL)
    assert row["survival_5y_ci_low"] < row["survival_5y_pct"] < row["survival_5y_ci_high"]
    assert row["median_followup_months"] == pytest.approx(MEDIAN_FOLLOWUP_MONTHS, rel=REL)


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
    want = pd.DataFrame(TABLE2_DEFAULT, columns=["variable", "level", "n", "events",
                                                 "survival_pct", "p_value"])
    assert table2[["variable", "level", "n", "events"]].values.tolist() == (
        want[["variable", "level", "n", "events"]].values.tolist())
    np.testing.assert_allclose(table2["p_value"], want["p_value"], rtol=REL, atol=1e-16)
    np.testing.assert_allclose(table2["survival_pct"], want["survival_pct"], rtol=REL, atol=1e-9)


def test_default_figures(default_run: Path) -> None:
    for suffix in ("png", "svg"):
        path = default_run / "figures" / f"figure1_km.{suffix}"
        assert path.exists() and path.stat().st_size > 5000
    assert (default_run / "figures" / "km_panel_table2.png").exists()


def test_dfi18_run_moves_the_cutoff_and_the_median_ci(dfi18_run: Path, default_run: Path) -> None:
    table2 = pd.read_csv(dfi18_run / "tables" / "table2.csv")
    dfi = table2[table2["variable"] == "disease_free_interval"]
    assert dfi["level"].tolist() == ["lt_18_months", "ge_18_months"]
    assert dfi["n"].tolist() == DFI18_N
    assert dfi["p_value"].iloc[0] == pytest.approx(DFI18_P, rel=REL)
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
    assert row["median_ci_method"] == "log"
    assert (row["median_ci_low"], row["median_ci_high"]) == pytest.approx(KM_MEDIAN_CI_LOG, rel=REL)


def _markdown_outputs(run: Path) -> str:
    import nbformat

    nb = nbformat.read(run / "notebooks" / NOTEBOOK.name, as_version=4)
    return "\n".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))


def test_default_run_teaching_layer(default_run: Path) -> None:
    """lifelines agrees with the helpers; the exact p, the landmark and the hazard are written; every exercise passes."""
    text = _markdown_outputs(default_run)
    assert "The two curves agree at every time" in text
    assert text.count("✅") == 4 and "❌" not in text
    sparse = pd.read_csv(default_run / "tables" / "sparse_levels_exact.csv").set_index("variable")
    r2 = sparse.loc["curative_resection"]
    assert r2["n"] == 3 and bool(r2["exact"]) and r2["p_asymptotic"] < 1e-8 < 1e-4 < r2["p_permutation"] < 1e-3
    chemo = pd.read_csv(default_run / "tables" / "postoperative_chemotherapy_landmark.csv")
    assert chemo["patients"].iloc[1] < chemo["patients"].iloc[0] == 66
    assert (default_run / "figures" / "hazard_nelson_aalen.png").stat().st_size > 5000
    assert "overall survival" in text or "overall survival" in NOTEBOOK.read_text()
