"""Notebook 01 (cohort assembly) executed through papermill; results read back from its files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from notebook_runner import committed_parameters_cell, execute_notebook

from helpers import DATA_DIR, PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "01-cohort-assembly.ipynb"
REGISTRY_CSV = DATA_DIR / "registry.csv"
PUBLISHED = json.loads((DATA_DIR / "published_targets.json").read_text(encoding="utf-8"))

pytestmark = [
    pytest.mark.notebook,
]


def run_notebook(output_dir: Path, **parameters: object) -> nbformat.NotebookNode:
    """Execute this notebook (cwd notebooks/, as the batch runner does) into ``output_dir``."""
    return execute_notebook(NOTEBOOK, output_dir, **parameters)


def published_table1() -> pd.DataFrame:
    table = pd.DataFrame(PUBLISHED["table1"])
    table["level"] = table["level"].fillna("")
    return table[["variable", "level", "n", "percent", "median", "min", "max"]]


def read_table1(output_dir: Path) -> pd.DataFrame:
    table = pd.read_csv(output_dir / "tables" / "table1.csv", keep_default_na=False,
                        na_values={"n": [""], "percent": [""], "median": [""], "min": [""],
                                   "max": [""]})
    return table


@pytest.fixture(scope="session")
def default_run(notebook_run) -> Path:
    return notebook_run(NOTEBOOK)


def test_committed_notebook_is_clean() -> None:
    committed_parameters_cell(
        NOTEBOOK,
        ("registry_path", "output_dir", "age_cutoff_years", "dfi_cutoff_months",
         "primary_size_cutoff_cm", "lesion_size_cutoff_mm"),
    )


def test_default_run_flow(default_run: Path) -> None:
    flow = pd.read_csv(default_run / "tables" / "cohort_flow.csv")
    assert list(flow.columns) == ["step", "reason", "n_excluded", "n_remaining"]
    assert flow["n_remaining"].iloc[0] == 95 and flow["n_remaining"].iloc[-1] == 66
    exclusions = flow[~flow["reason"].isin(["screened", "analysed"])]
    expected = PUBLISHED["cohort_flow"]["exclusions"]
    assert exclusions["reason"].tolist() == [e["reason"] for e in expected]
    assert exclusions["n_excluded"].tolist() == [e["n"] for e in expected]
    assert flow["n_excluded"].sum() == 29


def test_default_run_table1_equals_published(default_run: Path) -> None:
    ours = read_table1(default_run)
    assert list(ours.columns) == ["variable", "level", "n", "percent", "median", "min", "max"]
    paper = published_table1()
    assert ours[["variable", "level"]].values.tolist() == paper[["variable", "level"]].values.tolist()
    for column in ("n", "median", "min", "max"):
        pd.testing.assert_series_equal(ours[column].astype(float), paper[column].astype(float),
                                       check_names=False)
    differs = ours["percent"].astype(float).ne(paper["percent"].astype(float))
    differs &= paper["percent"].notna()
    assert ours.loc[differs, "level"].tolist() == ["r0"]  # 95, not the misprinted 96
    assert ours.loc[ours["level"] == "r0", "percent"].item() == 95


def test_default_run_writes_figure_and_comparison(default_run: Path) -> None:
    for suffix in ("png", "svg"):
        assert (default_run / "figures" / f"cohort_flow.{suffix}").stat().st_size > 0
    comparison = pd.read_csv(default_run / "tables" / "table1_vs_published.csv")
    mismatched = comparison[~comparison["match"]]
    assert mismatched["level"].tolist() == ["r0"]
    assert mismatched["diff_percent"].tolist() == [-1]
    groups = pd.read_csv(default_run / "tables" / "factor_groups.csv")
    assert groups.groupby("variable")["n"].sum().eq(66).all()
    dfi = groups[groups["variable"] == "disease_free_interval"].set_index("level")["n"]
    assert dfi.to_dict() == {"lt_12_months": 22, "ge_12_months": 44}


def test_nondefault_cutoffs(tmp_path: Path) -> None:
    run_notebook(tmp_path, dfi_cutoff_months=18, lesion_size_cutoff_mm=30, age_cutoff_years=60.5,
                 primary_size_cutoff_cm=5)
    groups = pd.read_csv(tmp_path / "tables" / "factor_groups.csv")
    levels = set(groups["level"])
    assert {"lt_18_months", "ge_18_months", "lt_30_mm", "ge_30_mm", "lt_60p5", "ge_60p5",
            "lt_5_cm", "ge_5_cm"} <= levels
    assert "lt_12_months" not in levels
    assert groups.groupby("variable")["n"].sum().eq(66).all()
    dfi = groups[groups["variable"] == "disease_free_interval"].set_index("level")["n"]
    assert dfi["lt_18_months"] >= 22  # a higher cut-off can only move patients below it
    labels = groups.set_index("level")["level_label"]
    assert labels["lt_18_months"] == "<18 months" and labels["ge_60p5"] == "≥60.5"
    # the cut-offs do not touch the flow or Table 1
    flow = pd.read_csv(tmp_path / "tables" / "cohort_flow.csv")
    assert flow["n_remaining"].tolist()[0] == 95 and flow["n_remaining"].tolist()[-1] == 66
    pd.testing.assert_series_equal(read_table1(tmp_path)["n"].astype(float),
                                   published_table1()["n"].astype(float), check_names=False)


def test_other_registry_shows_no_patient_rows(tmp_path: Path) -> None:
    """A registry that is not the shipped file: no patient id in any output."""
    lines = REGISTRY_CSV.read_text(encoding="utf-8").splitlines()
    other = tmp_path / "other_registry.csv"
    other.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n", encoding="utf-8")
    output_dir = tmp_path / "run"
    nb = run_notebook(output_dir, registry_path=str(other))
    ids = pd.read_csv(REGISTRY_CSV, dtype=str)["patient_id"].tolist()
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts += [v for k, v in output.get("data", {}).items() if k.startswith("text/")]
    texts += [p.read_text(encoding="utf-8") for p in output_dir.rglob("*")
              if p.is_file() and p.suffix in {".csv", ".html", ".svg"}]
    text = "\n".join(t if isinstance(t, str) else "".join(t) for t in texts)
    leaked = [i for i in ids if re.search(rf"(?<![A-Za-z0-9]){re.escape(i)}(?![A-Za-z0-9])", text)]
    assert not leaked, f"patient ids in outputs of a non-shipped registry: {leaked[:5]}"
    assert "n_missing" in text  # the aggregate view was shown instead
    flow = pd.read_csv(output_dir / "tables" / "cohort_flow.csv")
    assert flow["n_remaining"].iloc[-1] == 66


def test_default_run_perioperative_matches_section_3_2(default_run: Path) -> None:
    table = pd.read_csv(default_run / "tables" / "perioperative.csv")
    table["level"] = table["level"].fillna("")
    assert (default_run / "tables" / "perioperative.html").exists()
    peri = json.loads((DATA_DIR / "published_targets.json").read_text(encoding="utf-8"))[
        "perioperative"]
    rows = table.set_index(["variable", "level"])
    assert rows.loc[("lung_metastasis_distribution", "unilateral"), "n"] == peri["unilateral_n"]
    assert rows.loc[("resection_type", "lobectomy"), "percent_1dp"] == peri["lobectomy_pct_text"]
    assert rows.loc[("resection_status", "r2"), "n"] == peri["r2_n"]
    assert rows.loc[("clavien_dindo_grade", "any"), "n"] == peri["complications_n"]
    assert rows.loc[("clavien_dindo_grade", "grade_3_or_more"), "n"] == 0
    stay = rows.loc[("postoperative_stay_days", "")]
    assert (stay["median"], stay["min"], stay["max"]) == (3, 2, 13)
    assert rows.loc[("chemotherapy", "none"), "percent"] == peri["no_perioperative_chemotherapy_pct"]
    assert rows.loc[("r2_reason", "pleural_dissemination"), "n"] == peri["r2_n"]  # "all 3"
    assert rows.loc[("complication_kind", "prolonged_air_leak"), "n"] == 1
    assert rows.loc[("complication_kind", "bleeding"), "n"] == 1  # the haemothorax
    assert rows.loc[("clavien_dindo_grade", "grade_1_or_2"), "n"] == 2  # managed conservatively


def test_default_run_states_complications_by_kind_and_the_r2_reasons(default_run: Path) -> None:
    text = (default_run / "notebooks" / NOTEBOOK.name).read_text(encoding="utf-8")
    assert "(1 prolonged air leak, 1 bleeding), worst Clavien-Dindo grade II" in text
    assert "R2 in 3 (3 pleural dissemination)" in text
