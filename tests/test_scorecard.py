"""helpers.reproduction.scorecard: the fidelity scorecard of a run (tables, section 3.2, the text)."""
# ruff: noqa: F811  (pytest fixtures imported from published_fixtures are test arguments)

from __future__ import annotations

import copy
import html
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from published_fixtures import paper, perfect_run  # noqa: F401  (paper is a fixture)

from helpers.reproduction import published as P
from helpers.reproduction.scorecard import NOT_REPRODUCIBLE, PUBLISHED_KEYS

# ----------------------------------------------------------------------------- scorecard


def test_scorecard_perfect_run_passes_all_but_paper_errors(paper: dict) -> None:
    card = P.fidelity_scorecard(perfect_run(paper), paper)
    assert list(card.columns) == P.SCORECARD_COLUMNS
    fails = card[card["status"] == "fail"]
    assert set(zip(fails["variable"], fails["quantity"], strict=True)) == {
        ("resection_status", "percent"),
        ("pulmonary_resection_type", "n"),
    }
    assert (fails["paper_issue"] != "").all()
    assert (card["status"] == "missing").sum() == 0
    assert set(card["status"]) <= {"pass", "fail", "not_scored"}
    groups = P.scorecard_by_group(card).set_index("target_group")
    assert groups.loc["table2_survival_5y", "scored"] == 34
    assert groups.loc["table2_p", "scored"] == 17
    assert groups.loc["table3_ci", "scored"] == 10
    assert groups.loc["table1", "failed_paper_issue"] == 1
    peri = card[card["target_group"] == "perioperative"]
    assert (peri["status"] == "pass").sum() == len(PUBLISHED_KEYS)
    not_scored = peri[peri["status"] == "not_scored"]
    assert set(not_scored["quantity"]) == set(NOT_REPRODUCIBLE)
    assert (not_scored["note"] != "").all()


def test_scorecard_perioperative_fails_off_by_one_and_missing(paper: dict) -> None:
    run = perfect_run(paper)
    peri = run["perioperative"]
    peri.loc[peri["variable"] == "postoperative_stay_days", "max"] = 14
    peri.loc[(peri["variable"] == "resection_type") & (peri["level"] == "lobectomy"),
             "percent_1dp"] = 7.64  # prints 7.6: passes
    card = P.fidelity_scorecard(run, paper).set_index("quantity")
    assert card.loc["postoperative_hospital_stay_days_max", "status"] == "fail"
    assert card.loc["lobectomy_pct_text", "status"] == "pass"
    del run["perioperative"]
    card = P.fidelity_scorecard(run, paper)
    peri_card = card[card["target_group"] == "perioperative"]
    assert (peri_card["status"] == "missing").sum() == len(PUBLISHED_KEYS)


def test_scorecard_tolerances(paper: dict) -> None:
    run = perfect_run(paper)
    t2, t3, km = run["table2"], run["table3"], run["km_overall"]
    t2.loc[(t2["variable"] == "sex") & (t2["level"] == "male"), "survival_pct"] = 55.9  # within 3
    t2.loc[(t2["variable"] == "sex") & (t2["level"] == "female"), "survival_pct"] = 31.5  # out
    t2.loc[t2["variable"] == "preoperative_chemotherapy", "p_value"] = 0.049  # wrong side
    t2.loc[t2["variable"] == "age_years", "p_value"] = 0.239  # within 0.01
    t2.loc[t2["variable"] == "sex", "p_value"] = 0.5  # right side, not within 0.01
    t2.loc[t2["variable"] == "curative_resection", "p_value"] = 0.0011  # side ok, not < 0.001
    t3.loc[t3["variable"] == "disease_free_interval", "hr"] = 3.544 * 1.019  # within 2 %
    t3.loc[t3["variable"] == "primary_histology_ups", "hr"] = 2.882 * 1.03  # within 10 %
    t3.loc[t3["variable"] == "lung_metastasis_number", "hr"] = 1.195 * 1.11  # out
    t3.loc[t3["variable"] == "lung_metastasis_number", "ci_high"] = 2.877 * 1.16  # out
    km.loc[0, "median_months"] = 48.6  # within 1, not 0.5
    km.loc[0, "median_ci_low"] = 28.5  # within 1
    km.loc[0, "median_ci_high"] = 65.0  # out (1.5)
    km.loc[0, "survival_5y_pct"] = 44.4  # within 1, not 0.5
    card = P.fidelity_scorecard(run, paper).set_index(["target_group", "variable", "level"])

    def status(group: str, variable: str, level: object = np.nan, quantity: str | None = None):
        rows = card.xs((group, variable), level=[0, 1])
        rows = rows[rows.index.isna()] if level is np.nan else rows.loc[[level]]
        if quantity:
            rows = rows[rows["quantity"] == quantity]
        return rows["status"].item()

    assert status("table2_survival_5y", "sex", "male") == "pass"
    assert status("table2_survival_5y_stretch", "sex", "male") == "fail"
    assert status("table2_survival_5y_printed", "sex", "male") == "fail"
    assert status("table2_survival_5y", "sex", "female") == "fail"
    assert status("table2_p", "preoperative_chemotherapy") == "fail"
    assert status("table2_p", "age_years") == "pass"
    assert status("table2_p_stretch", "age_years") == "pass"
    assert status("table2_p_printed", "age_years") == "fail"  # prints 0.24
    assert status("table2_p", "sex") == "pass"
    assert status("table2_p_stretch", "sex") == "fail"
    assert status("table2_p", "curative_resection") == "pass"
    assert status("table2_p_stretch", "curative_resection") == "fail"
    assert status("table3_hr", "disease_free_interval", "lt_12_months") == "pass"
    assert status("table3_hr_stretch", "disease_free_interval", "lt_12_months") == "pass"
    assert status("table3_hr", "primary_histology_ups", "ups") == "pass"
    assert status("table3_hr_stretch", "primary_histology_ups", "ups") == "fail"
    assert status("table3_hr", "lung_metastasis_number", "multiple") == "fail"
    assert status("table3_ci", "lung_metastasis_number", "multiple", "ci_high") == "fail"
    assert status("table3_ci", "lung_metastasis_number", "multiple", "ci_low") == "pass"
    assert status("overall_median", "overall") == "pass"
    assert status("overall_median_stretch", "overall") == "fail"
    assert status("overall_median_ci", "overall", quantity="median_ci_low") == "pass"
    assert status("overall_median_ci", "overall", quantity="median_ci_high") == "fail"
    assert status("overall_5y", "overall") == "pass"
    assert status("overall_5y_stretch", "overall") == "fail"
    assert card.xs("table2_survival_5y_stretch", level=0)["stretch"].all()
    assert set(P.TOLERANCES) == set(P.STRETCH_TOLERANCES)


def test_scorecard_unmatched_and_missing(paper: dict) -> None:
    run = perfect_run(paper)
    t3 = run["table3"]
    t3.loc[t3["variable"] == "disease_free_interval", "level"] = "lt_18_months"
    del run["table2"]
    card = P.fidelity_scorecard(run, paper)
    assert (card.loc[card["table"] == "table2", "status"] == "missing").all()
    dfi = card[(card["table"] == "table3") & (card["variable"] == "disease_free_interval")]
    assert set(dfi["status"]) == {"unmatched"}
    assert "lt_18_months" in set(dfi["level"]) and "lt_12_months" in set(dfi["level"])
    summary = P.scorecard_summary(card)
    assert "unmatched" in summary and f"{(card['status'] == 'missing').sum()} missing" in summary


def test_scorecard_reads_a_run_folder_and_writes(paper: dict, tmp_path: Path) -> None:
    run = perfect_run(paper)
    (tmp_path / "tables").mkdir()
    for name, frame in run.items():
        frame.to_csv(tmp_path / "tables" / f"{name}.csv", index=False)
    assert sorted(P.read_run_tables(tmp_path)) == sorted(run)
    from_folder = P.fidelity_scorecard(tmp_path, paper)
    from_frames = P.fidelity_scorecard(run, paper)
    pd.testing.assert_series_equal(from_folder["status"], from_frames["status"])
    paths = P.write_scorecard(from_folder, tmp_path)
    assert [p.name for p in paths] == ["fidelity_scorecard.csv", "fidelity_scorecard.html"]
    assert html.escape(P.scorecard_summary(from_folder)) in paths[1].read_text()
    summary = P.scorecard_summary(from_folder)
    n_pass = int(((from_folder["status"] == "pass") & ~from_folder["stretch"]).sum())
    assert summary.startswith(f"Fidelity: {n_pass}/")


def test_scorecard_rejects_malformed_tables(paper: dict) -> None:
    run = perfect_run(paper)
    run["table3"] = run["table3"].drop(columns="ci_low")
    with pytest.raises(KeyError, match="table3"):
        P.fidelity_scorecard(run, paper)
    run = perfect_run(paper)
    run["table2"] = pd.concat([run["table2"], run["table2"].head(1)])
    with pytest.raises(ValueError, match="duplicated"):
        P.fidelity_scorecard(run, paper)


def test_compare_with_paper_views(paper: dict) -> None:
    run = perfect_run(paper)
    views = P.compare_with_paper(run, paper)
    assert sorted(views) == ["km_overall", "table1", "table2", "table3"]
    assert views["table3"]["match"].all()
    overall = views["km_overall"].set_index("quantity")
    assert overall.loc["median_months", "diff"] == 0
    assert math.isnan(overall.loc["events", "published"])
    assert sorted(P.compare_with_paper({"table1": run["table1"]}, paper)) == ["table1"]


# ----------------------------------------------------------------------------- the text


def text_rows(card: pd.DataFrame) -> pd.DataFrame:
    return card[card["target_group"].str.startswith("text_")].set_index("quantity")


def test_every_text_number_is_scored_or_has_a_reason(paper: dict) -> None:
    card = P.fidelity_scorecard(perfect_run(paper), paper)
    text = card[card["target_group"].str.startswith("text_")]
    numbers = {
        f"{e['quantity']}.{f}"
        for e in paper["text_results"] for f, v in e.items()
        if f not in ("section", "quantity", "note", "as_printed") and isinstance(v, int | float)
    }
    main = text[~text["stretch"]]
    assert set(main["quantity"]) == numbers
    assert len(main) == sum(  # each number once per section it is printed in
        1 for e in paper["text_results"] for f, v in e.items()
        if f not in ("section", "quantity", "note", "as_printed") and isinstance(v, int | float))
    assert set(text["status"]) == {"pass", "not_scored"}
    not_scored = text[text["status"] == "not_scored"]
    assert set(not_scored["quantity"]) == {
        "curative_resection.percent", "follow_up_months.min", "follow_up_months.max",
        "study_period_years.start", "study_period_years.end",
        "year_molecular_targeted_drugs_introduced_at_institution.value",
    }
    assert not_scored["note"].str.len().gt(20).all()
    assert "followup_vs_window" in not_scored.set_index("quantity").loc[
        "follow_up_months.max", "note"]
    groups = set(text["target_group"])
    assert {"text_abstract", "text_3.1", "text_3.2", "text_3.3", "text_4"} <= groups


def test_text_number_takes_the_rule_of_the_cell_it_repeats(paper: dict) -> None:
    card = P.fidelity_scorecard(perfect_run(paper), paper)
    text = card[card["target_group"].str.startswith("text_")]
    for r in text[text["status"] == "pass"].itertuples():
        if r.table in ("cohort_flow",) or r.note.startswith("the text's claim"):
            continue
        cell = card[(card["table"] == r.table) & (card["variable"] == r.variable)
                    & ~card["target_group"].str.startswith("text_")
                    & (card["rule"] == r.rule)]
        assert len(cell), (r.quantity, r.rule)  # the same rule exists for the table cell
        assert set(cell["tolerance"].fillna(-1)) == {-1 if pd.isna(r.tolerance) else r.tolerance}
        assert any(r.note.startswith(f"same rule as {g}") for g in cell["target_group"])


def test_text_rules_follow_the_table_tolerances(paper: dict, monkeypatch) -> None:
    run = perfect_run(paper)
    run["km_overall"].loc[0, "median_months"] = 49.2  # 1.2 months off
    run["table2"].loc[run["table2"]["level"] == "yes", "survival_pct"] = 48.5
    card = text_rows(P.fidelity_scorecard(run, paper))
    assert card.loc["median_dss_months.value", "status"].tolist() == ["fail"] * 3  # ±1 month
    survival = card.loc["five_year_dss_pct_complete_resection.value"]
    assert survival.set_index("target_group")["status"].to_dict() == {
        "text_4": "pass", "text_4_printed": "fail"}  # ±3 points; prints 49
    monkeypatch.setitem(P.TOLERANCES, "overall_median", 1.5)
    monkeypatch.setitem(P.TOLERANCES, "table2_survival_5y", 2.0)
    card = text_rows(P.fidelity_scorecard(run, paper))
    assert set(card.loc["median_dss_months.value", "status"]) == {"pass"}
    assert set(card.loc["median_dss_months.value", "tolerance"]) == {1.5}
    survival = card.loc["five_year_dss_pct_complete_resection.value"].set_index("target_group")
    assert survival.loc["text_4", "status"] == "fail" and survival.loc["text_4", "tolerance"] == 2.0


@pytest.mark.parametrize(
    ("quantity", "field", "value", "other_group_passes"),
    [("men_n", "value", 39, "table1"), ("liposarcoma", "percent", 16, "table1"),
     ("lobectomy", "percent", 7.5, "perioperative"), ("prolonged_air_leak", "n", 2, "perioperative"),
     ("five_year_dss_pct", "value", 44, "overall_5y"), ("screened_n", "value", 96, None)],
)
def test_a_changed_text_number_fails_alone(
    paper: dict, quantity: str, field: str, value: float, other_group_passes: str | None
) -> None:
    changed = copy.deepcopy(paper)
    entry = next(e for e in changed["text_results"] if e["quantity"] == quantity)
    entry[field] = value
    card = P.fidelity_scorecard(perfect_run(paper), changed)
    fails = card[card["status"] == "fail"]
    text_fails = fails[fails["target_group"].str.startswith("text_")]
    assert list(text_fails["quantity"]) == [f"{quantity}.{field}"]
    if other_group_passes:
        assert not (fails["target_group"] == other_group_passes).any() or (
            fails.loc[fails["target_group"] == other_group_passes, "paper_issue"] != "").all()


def test_text_flow_and_cutoffs_against_the_run(paper: dict) -> None:
    run = perfect_run(paper)
    flow = run["cohort_flow"]
    flow.loc[flow["reason"] == "primary_in_mediastinum", "n_excluded"] = 2
    t3 = run["table3"]
    t3.loc[t3["variable"] == "largest_lung_lesion_size", "p_value"] = 0.2
    card = text_rows(P.fidelity_scorecard(run, paper))
    assert card.loc["excluded_mediastinum_n.value", "status"] == "fail"
    assert card.loc["excluded_primary_site_n.value", "status"] == "fail"  # the sum of four
    assert card.loc["excluded_retroperitoneum_n.value", "status"] == "pass"
    lesion = card.loc["largest_lesion_cutoff_mm_independent_factor.value"]
    assert (lesion["status"], lesion["level"]) == ("fail", "ge_20_mm")
    assert card.loc["dfi_cutoff_months_independent_factor.value", "status"] == "pass"
    t3.loc[t3["variable"] == "disease_free_interval", "level"] = "lt_18_months"
    del run["cohort_flow"]
    card = text_rows(P.fidelity_scorecard(run, paper))
    assert card.loc["dfi_cutoff_months_independent_factor.value", "status"] == "unmatched"
    assert card.loc["screened_n.value", "status"] == "missing"


def test_text_follow_up_maximum_reason_comes_from_the_audit(paper: dict) -> None:
    card = text_rows(P.fidelity_scorecard(perfect_run(paper), paper))
    assert "impossible within the study window" in card.loc["follow_up_months.max", "note"]
    fixed = copy.deepcopy(paper)
    fixed["overall"]["follow_up_max_months"] = 150
    next(e for e in fixed["text_results"] if e["quantity"] == "follow_up_months")["max"] = 150
    card = text_rows(P.fidelity_scorecard(perfect_run(paper), fixed))
    row = card.loc["follow_up_months.max"]
    assert row["status"] == "not_scored" and "not its range" in row["note"]
