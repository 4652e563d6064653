"""helpers.reproduction.published: loaders, side_by_side, the fidelity scorecard and the computed audit."""

from __future__ import annotations

import copy
import html
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.perioperative import NOT_REPRODUCIBLE, PUBLISHED_KEYS, published_number
from helpers.reproduction import published as P


@pytest.fixture(scope="module")
def paper() -> dict:
    return P.load_published()


def perfect_run(paper: dict) -> dict[str, pd.DataFrame]:
    """Run tables that reproduce every printed number (p-values strictly inside their rules)."""
    t1 = P.published_table1(paper)[P.TABLE1_COLUMNS].copy()
    t1.loc[(t1["variable"] == "resection_status") & (t1["level"] == "r0"), "percent"] = 95.45
    t2 = P.published_table2(paper)[["variable", "level", "n", "survival_pct", "p_value"]].copy()
    t2.loc[t2["level"] == "partial", "n"] = 54
    t2.loc[P.published_table2(paper)["p_value_operator"] == "<", "p_value"] = 0.0002
    t3 = P.published_table3(paper)[["variable", "level", "hr", "ci_low", "ci_high", "p_value"]]
    km = pd.DataFrame(
        [
            {
                "n": 66,
                "events": 31,
                "median_months": 48.0,
                "median_ci_low": 29.4,
                "median_ci_high": 66.6,
                "median_ci_method": "symmetric",
                "survival_5y_pct": 45.2,
                "survival_5y_ci_low": 32.0,
                "survival_5y_ci_high": 57.0,
                "median_followup_months": 28.0,
                "median_followup_method": "observed",
            }
        ]
    )
    return {"table1": t1, "table2": t2, "table3": t3.copy(), "km_overall": km,
            "perioperative": perfect_perioperative(paper), "cohort_flow": perfect_flow(paper)}


def perfect_flow(paper: dict) -> pd.DataFrame:
    """tables/cohort_flow.csv as notebook 01 writes it, with the paper's counts."""
    flow = paper["cohort_flow"]
    rows = [(0, "screened", 0, flow["screened_n"])]
    left = flow["screened_n"]
    for x in flow["exclusions"]:
        left -= x["n"]
        step = 2 if x["reason"] == "initial_pm_at_another_hospital" else 1
        rows.append((step, x["reason"], x["n"], left))
    rows.append((3, "analysed", 0, left))
    return pd.DataFrame(rows, columns=["step", "reason", "n_excluded", "n_remaining"])


def perfect_perioperative(paper: dict) -> pd.DataFrame:
    """A section 3.2 table holding every reproducible printed number."""
    cells: dict[tuple[str, str], dict[str, object]] = {}
    for key, (variable, level, column) in PUBLISHED_KEYS.items():
        cells.setdefault((variable, level), {})[column] = published_number(
            key, paper["perioperative"])
    return pd.DataFrame(
        [{"variable": v, "level": lv, **cols} for (v, lv), cols in cells.items()],
        columns=["variable", "level", "n", "percent", "percent_1dp", "median", "min", "max"],
    )


# ----------------------------------------------------------------------------- loaders


def test_load_published_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="published targets"):
        P.load_published(tmp_path / "absent.json")


def test_published_table1_contract(paper: dict) -> None:
    t1 = P.published_table1(paper)
    assert list(t1.columns) == P.TABLE1_COLUMNS
    assert len(t1) == len(paper["table1"])
    age = t1[t1["variable"] == "age_years"].iloc[0]
    assert (age["median"], age["min"], age["max"]) == (49, 17, 82) and pd.isna(age["level"])
    r0 = t1[(t1["variable"] == "resection_status") & (t1["level"] == "r0")].iloc[0]
    assert (r0["n"], r0["percent"]) == (63, 96)
    labelled = P.published_table1(paper, labels=True)
    assert {"variable_label", "level_label", "flags"} <= set(labelled.columns)


def test_published_table2_contract(paper: dict) -> None:
    t2 = P.published_table2(paper)
    assert list(t2.columns[:7]) == P.TABLE2_COLUMNS
    assert len(t2) == 34 and t2["variable"].nunique() == 17
    row = t2.set_index(["variable", "level"]).loc[("largest_lung_lesion_size", "ge_20_mm")]
    assert row["survival_pct"] == 10 and row["p_value_operator"] == "<"
    assert row["p_value_reported_as"] == "<0.001"


def test_published_table3_contract(paper: dict) -> None:
    t3 = P.published_table3(paper)
    assert list(t3.columns[:7]) == P.TABLE3_COLUMNS
    assert t3.set_index("variable").loc["curative_resection", "hr"] == pytest.approx(12.161)
    assert t3.set_index("variable").loc["curative_resection", "level"] == "no"


def test_published_overall(paper: dict) -> None:
    o = P.published_overall(paper)
    assert (o.median_months, o.median_ci_low, o.median_ci_high) == (48, 29.4, 66.6)
    assert (o.survival_5y_pct, o.median_followup_months) == (45, 28)
    assert (o.followup_min_months, o.followup_max_months) == (1, 211)
    assert o.to_frame().shape == (1, 8)
    with pytest.raises(AttributeError):
        o.n = 1  # type: ignore[misc]


# ----------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [(37.5, 0, 38.0), (95.45, 0, 95.0), (0.0505, 3, 0.051), (2.5, 0, 3.0), (-2.5, 0, -3.0)],
)
def test_round_half_up(value: float, decimals: int, expected: float) -> None:
    assert P.round_half_up(value, decimals) == expected


def test_round_half_up_nan() -> None:
    assert math.isnan(P.round_half_up(float("nan")))


@pytest.mark.parametrize(
    ("p", "decimals", "expected"),
    [
        (0.0004, 3, "<0.001"),
        (0.00149, 3, "0.001"),
        (0.0505, 3, "0.051"),
        (0.4, 2, "0.40"),
        (0.7649, 3, "0.765"),
        (float("nan"), 3, ""),
    ],
)
def test_format_p(p: float, decimals: int, expected: str) -> None:
    assert P.format_p(p, decimals) == expected


# ----------------------------------------------------------------------------- side_by_side


def test_side_by_side_diff_match_and_sources() -> None:
    ours = pd.DataFrame(
        {"variable": ["a", "a", "b", "c"], "level": ["x", "y", None, "z"], "n": [1, 2, 3, 9]}
    )
    paper = pd.DataFrame(
        {"variable": ["a", "a", "b", "d"], "level": ["x", "y", np.nan, "w"], "n": [1, 3, 3, 4]}
    )
    out = P.side_by_side(ours, paper, ["variable", "level"], "n")
    assert list(out.columns) == [
        "variable", "level", "ours_n", "published_n", "diff_n", "match", "source"
    ]  # fmt: skip
    assert out["variable"].tolist() == ["a", "a", "b", "c", "d"]  # our order, then the paper's
    assert out["diff_n"].tolist()[:3] == [0, -1, 0]
    assert out["match"].tolist() == [True, False, True, False, False]
    assert out["source"].tolist() == ["both", "both", "both", "ours_only", "published_only"]
    assert pd.isna(out.loc[2, "level"])  # missing level keys pair up and stay missing


def test_side_by_side_tolerance_and_missing_values() -> None:
    ours = pd.DataFrame({"k": ["a", "b"], "x": [1.04, np.nan], "y": [5.0, 1.0]})
    paper = pd.DataFrame({"k": ["a", "b"], "x": [1.0, np.nan], "y": [5.0, 2.0]})
    exact = P.side_by_side(ours, paper, "k", ["x", "y"])
    assert exact["match"].tolist() == [False, False]
    loose = P.side_by_side(ours, paper, "k", ["x", "y"], tolerance={"x": 0.05, "y": 1.0})
    assert loose["match"].tolist() == [True, True]


def test_side_by_side_errors() -> None:
    ours = pd.DataFrame({"k": ["a", "a"], "x": [1, 2]})
    with pytest.raises(KeyError, match="lacks column"):
        P.side_by_side(ours, pd.DataFrame({"k": ["a"]}), "k", "x")
    with pytest.raises(ValueError, match="not unique"):
        P.side_by_side(ours, pd.DataFrame({"k": ["a"], "x": [1]}), "k", "x")


# ----------------------------------------------------------------------------- audit

KNOWN_ISSUES = {
    ("table1_partition", "chemotherapy"),
    ("table1_percent", "resection_status"),
    ("table2_pair_sum", "pulmonary_resection_type"),
    ("table2_vs_table1", "pulmonary_resection_type"),
    ("text_vs_table2", "pulmonary_resection_type"),  # the text's 54 wedge resections vs 44
    ("table2_p_vs_5y", "sex"),
    ("table3_ci_symmetry", "curative_resection"),
    ("followup_vs_window", None),
}


def issues(audit: pd.DataFrame) -> set[tuple[str, str | None]]:
    bad = audit[~audit["consistent"]]
    return {(r.check, r.variable) for r in bad.itertuples()}


def test_audit_detects_exactly_the_known_inconsistencies(paper: dict) -> None:
    audit = P.audit_paper(paper)
    assert list(audit.columns) == P.AUDIT_COLUMNS
    assert issues(audit) == KNOWN_ISSUES
    chemo = audit[(audit["check"] == "table1_partition") & (audit["variable"] == "chemotherapy")]
    assert chemo["printed"].item() == 72
    assert "pre-only 17, post-only 1, both 3" in chemo["finding"].item()
    r0 = audit[(audit["check"] == "table1_percent") & (audit["level"] == "r0")]
    assert r0["computed"].item() == pytest.approx(95.45)
    partial = audit[(audit["check"] == "table2_vs_table1") & (audit["level"] == "partial")]
    assert (partial["printed"].item(), partial["computed"].item()) == (44, 54)
    followup = audit[audit["check"] == "followup_vs_window"]
    assert followup["computed"].item() == 185 and "168" in followup["finding"].item()
    ci = audit[(audit["check"] == "table3_ci_symmetry") & ~audit["consistent"]]
    assert ci["printed"].item() == pytest.approx(0.0172, abs=1e-4)
    assert "73.54" in ci["finding"].item() and "1.977" in ci["finding"].item()
    median = audit[audit["check"] == "median_ci_symmetry"]
    assert "9.49" in median["finding"].item() and "symmetric" in median["finding"].item()


def test_audit_findings_are_computed_not_hard_coded(paper: dict) -> None:
    fixed = copy.deepcopy(paper)
    for row in fixed["table2"]:
        if row["level"] == "partial":
            row["n"] = 54
    for test in fixed["table2_tests"]:
        if test["comparison_id"] == "pulmonary_resection_type":
            test["n_groups"] = [54, 12]
    for row in fixed["table1"]:
        if row.get("level") == "r0":
            row["percent"] = 95
        if row["variable"] == "chemotherapy" and row["level"] == "none":
            row["n"], row["percent"] = 42, 64  # a partition: none 42 + pre 20 + post 4 = 66
    fixed["table1"] = [r for r in fixed["table1"] if r.get("level") != "both"]
    for entry in fixed["text_results"]:  # the text repeats the corrected Table 1 cells
        if entry["quantity"] == "curative_resection":
            entry["percent"] = 95
        if entry["quantity"] == "no_perioperative_chemotherapy":
            entry["percent"] = 64
    for row in fixed["table3"]:
        if row["variable"] == "curative_resection":
            row["ci_high"] = 73.54
    for row in fixed["table2"]:
        if row["variable"] == "sex":
            row["five_year_survival_pct"] = 45
    fixed["overall"]["follow_up_max_months"] = 180
    assert issues(P.audit_paper(fixed)) == set()


def test_audit_flags_new_inconsistencies(paper: dict) -> None:
    broken = copy.deepcopy(paper)
    for row in broken["table1"]:
        if row.get("level") == "male":
            row["percent"] = 60  # 38/66 = 57.6
    for row in broken["table3"]:
        if row["variable"] == "disease_free_interval":
            row["p_value"] = 0.07  # the CI implies 0.0066
    found = issues(P.audit_paper(broken))
    assert ("table1_percent", "sex") in found
    assert ("table3_p_vs_ci", "disease_free_interval") in found


def test_audit_sex_check_uses_the_implied_chi_square(paper: dict) -> None:
    row = P.audit_paper(paper).query("check == 'table2_p_vs_5y' and variable == 'sex'").iloc[0]
    assert "chi2 0.097-0.106" in row["finding"]
    assert row["computed"] > 1.645
    close = copy.deepcopy(paper)
    for t in close["table2_tests"]:
        if t["comparison_id"] == "sex":
            t["p_value"], t["p_value_reported_as"] = 0.05, "0.05"
    row = P.audit_paper(close).query("check == 'table2_p_vs_5y' and variable == 'sex'").iloc[0]
    assert row["consistent"]


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


def test_side_by_side_accepts_categorical_keys_and_nullable_ints() -> None:
    ours = pd.DataFrame(
        {
            "variable": ["sex", "sex"],
            "level": pd.Categorical(["male", "female"], ordered=True),
            "n": pd.array([38, 27], dtype="Int64"),
        }
    )
    out = P.side_by_side(ours, P.published_table2(), ["variable", "level"], ["n"])
    both = out[out["source"] == "both"].set_index("level")
    assert both["match"].to_dict() == {"male": True, "female": False}
    assert both.loc["female", "diff_n"] == -1


def test_text_vs_table1_consistent_on_the_paper(paper: dict) -> None:
    rows = pd.DataFrame(P.audit_text_vs_table1(paper))
    assert len(rows) >= 40 and rows["consistent"].all()
    lobectomy = rows[rows["quantity"] == "3.2 lobectomy percent"].iloc[0]
    assert (lobectomy["printed"], lobectomy["computed"]) == (7.6, 8.0)  # same at 8 %
    assert set(P.audit_paper(paper)["check"]) >= {"text_vs_table1"}


@pytest.mark.parametrize(
    ("quantity", "field", "value", "expected"),
    [("solitary", "n", 38, "3.2 solitary n"), ("dfi_months", "max", 104, "3.1 dfi_months max"),
     ("lobectomy", "percent", 8.6, "3.2 lobectomy percent"),
     ("men_n", "value", 39, "abstract men_n value")],
)
def test_text_vs_table1_finds_a_mismatch(
    paper: dict, quantity: str, field: str, value: float, expected: str
) -> None:
    changed = copy.deepcopy(paper)
    entry = next(e for e in changed["text_results"] if e["quantity"] == quantity)
    entry[field] = value
    audit = P.audit_paper(changed)
    bad = audit[(audit["check"] == "text_vs_table1") & ~audit["consistent"]]
    assert list(bad["quantity"]) == [expected]
    assert (bad["severity"] == "P").all() and bad["finding"].str.contains("disagree").all()


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


def test_text_vs_tables_2_and_3_on_the_paper(paper: dict) -> None:
    t2 = pd.DataFrame(P.audit_text_vs_table2(paper))
    t3 = pd.DataFrame(P.audit_text_vs_table3(paper))
    assert list(t2.columns) == P.AUDIT_COLUMNS and (t2["table"] == "text").all()
    bad = t2[~t2["consistent"]]
    assert list(bad["quantity"]) == ["3.2 wedge_resection n"]
    assert (bad["printed"].item(), bad["computed"].item(), bad["severity"].item()) == (54, 44, "P")
    assert "Table 2 disagree" in bad["finding"].item()
    survival = t2[t2["quantity"] == "4 five_year_dss_pct_complete_resection value"]
    assert survival["consistent"].item() and survival["level"].item() == "yes"
    assert t3["consistent"].all() and len(t3) == 2 + len(paper["table3"])
    assert set(t2.loc[t2["quantity"].str.contains("cutoff"), "level"]) == {
        "lt_12_months", "ge_12_months", "lt_20_mm", "ge_20_mm"}
    univariate = t2[t2["quantity"] == "3.3 univariate_factors listed"]
    assert len(univariate) == len(paper["table2_tests"]) and univariate["consistent"].all()


def test_text_vs_tables_2_and_3_find_mismatches(paper: dict) -> None:
    changed = copy.deepcopy(paper)
    for row in changed["table2"]:
        if (row["variable"], row["level"]) == ("curative_resection", "yes"):
            row["five_year_survival_pct"] = 48
        if (row["variable"], row["level"]) == ("sex", "male"):
            row["n"] = 37
    for row in changed["table3"]:
        if row["variable"] == "largest_lung_lesion_size":
            row["p_value"], row["p_value_reported_as"] = 0.08, "0.08"
    next(e for e in changed["text_results"]
         if e["quantity"] == "dfi_cutoff_months_independent_factor")["value"] = 24
    changed["table2_meta"]["significant_in_univariate_per_text"].remove("lung_metastasis_number")
    audit = P.audit_paper(changed)
    bad = audit[audit["check"].isin(["text_vs_table2", "text_vs_table3"]) & ~audit["consistent"]]
    found = set(zip(bad["check"], bad["variable"], bad["level"], strict=True))
    assert found >= {
        ("text_vs_table2", "curative_resection", "yes"),
        ("text_vs_table2", "sex", "male"),
        ("text_vs_table2", "disease_free_interval", "lt_12_months"),
        ("text_vs_table3", "disease_free_interval", "lt_12_months"),
        ("text_vs_table3", "largest_lung_lesion_size", "ge_20_mm"),
        ("text_vs_table2", "lung_metastasis_number", ""),
    }
    assert (bad["severity"] == "P").all()


def test_text_follow_up_maximum_reason_comes_from_the_audit(paper: dict) -> None:
    card = text_rows(P.fidelity_scorecard(perfect_run(paper), paper))
    assert "impossible within the study window" in card.loc["follow_up_months.max", "note"]
    fixed = copy.deepcopy(paper)
    fixed["overall"]["follow_up_max_months"] = 150
    next(e for e in fixed["text_results"] if e["quantity"] == "follow_up_months")["max"] = 150
    card = text_rows(P.fidelity_scorecard(perfect_run(paper), fixed))
    row = card.loc["follow_up_months.max"]
    assert row["status"] == "not_scored" and "not its range" in row["note"]
