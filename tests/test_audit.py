"""The paper's audit: one small function per check, collated by ``audit_paper``."""
# ruff: noqa: F811  (pytest fixtures imported from published_fixtures are test arguments)

from __future__ import annotations

import copy

import pandas as pd
import pytest
from published_fixtures import paper  # noqa: F401  (a fixture)

from helpers.reproduction import audit, published
from helpers.reproduction import published as P


@pytest.fixture(scope="module")
def pub(paper: dict) -> dict:  # noqa: F811
    return paper


def _ctx(pub: dict) -> audit.AuditContext:
    return audit.AuditContext(pub, (24, 39), 1.645)


def _flags(rows: list[dict]) -> dict[tuple, bool]:
    return {(r["check"], r["variable"], r["level"]): r["consistent"] for r in rows}


def test_audit_paper_collates_every_check_in_order(pub: dict) -> None:
    frame = audit.audit_paper(pub)
    rows = [row for check in audit.AUDIT_CHECKS for row in check(_ctx(pub))]
    assert len(frame) == len(rows)
    assert frame["check"].tolist() == [r["check"] for r in rows]
    assert list(frame.columns) == published.AUDIT_COLUMNS
    assert frame["consistent"].dtype == bool


def test_every_check_is_a_small_named_function() -> None:
    names = [c.__name__ for c in audit.AUDIT_CHECKS]
    assert len(set(names)) == len(names) == 10
    assert all(n.startswith("check_") for n in names)


def test_old_name_stays_importable_from_published() -> None:
    assert published.audit_paper is audit.audit_paper
    with pytest.raises(AttributeError, match="no attribute"):
        published.not_a_name  # noqa: B018


def test_table1_partition_flags_a_count_that_breaks_the_sum(pub: dict) -> None:
    before = _flags(audit.check_table1_partition(_ctx(pub)))
    assert before[("table1_partition", "sex", None)]
    bad = copy.deepcopy(pub)
    next(r for r in bad["table1"] if r["variable"] == "sex" and r["level"] == "male")["n"] += 1
    assert not _flags(audit.check_table1_partition(_ctx(bad)))[("table1_partition", "sex", None)]


def test_table1_percent_flags_a_misrounded_percentage(pub: dict) -> None:
    bad = copy.deepcopy(pub)
    row = next(r for r in bad["table1"] if r["variable"] == "sex" and r["level"] == "male")
    assert _flags(audit.check_table1_percent(_ctx(bad)))[("table1_percent", "sex", "male")]
    row["percent"] += 1
    assert not _flags(audit.check_table1_percent(_ctx(bad)))[("table1_percent", "sex", "male")]


def test_table2_counts_flag_a_pair_that_does_not_sum_to_n(pub: dict) -> None:
    bad = copy.deepcopy(pub)
    bad["table2_tests"][1]["n_groups"][0] += 2
    var = bad["table2_tests"][1]["comparison_id"]
    flags = _flags(audit.check_table2_counts(_ctx(bad)))
    assert not flags[("table2_pair_sum", var, None)]
    assert _flags(audit.check_table2_counts(_ctx(pub)))[("table2_pair_sum", var, None)]


def test_table2_selection_flags_a_covariate_not_significant_in_table2(pub: dict) -> None:
    assert audit.check_table2_selection(_ctx(pub))[0]["consistent"]
    bad = copy.deepcopy(pub)
    bad["table3"][0]["variable"] = "sex"
    assert not audit.check_table2_selection(_ctx(bad))[0]["consistent"]


def test_table3_intervals_flag_an_asymmetric_ci_and_a_wrong_p(pub: dict) -> None:
    good = audit.check_table3_intervals(_ctx(pub))
    assert [r["check"] for r in good[:2]] == ["table3_ci_symmetry", "table3_p_vs_ci"]
    bad = copy.deepcopy(pub)
    r = bad["table3"][0]
    r["ci_high"] = r["ci_high"] * 1.5
    r["p_value"], r["p_value_operator"], r["p_value_decimals_printed"] = 0.9, "=", 1
    first = audit.check_table3_intervals(_ctx(bad))[:2]
    assert not first[0]["consistent"] and not first[1]["consistent"]


def test_p_vs_5y_depends_on_the_threshold(pub: dict) -> None:
    strict = audit.check_table2_p_vs_5y(audit.AuditContext(pub, (24, 39), 0.0))
    lax = audit.check_table2_p_vs_5y(audit.AuditContext(pub, (24, 39), 100.0))
    checked = [r for r in lax if r["severity"] != "n/a"]
    assert all(r["consistent"] for r in checked)
    assert sum(not r["consistent"] for r in strict) >= sum(not r["consistent"] for r in lax)


def test_median_ci_symmetry_reads_the_spss_interval(pub: dict) -> None:
    (row,) = audit.check_median_ci_symmetry(_ctx(pub))
    assert row["severity"] == "info" and "symmetric, i.e. median +- 1.96 SE" in row["finding"]
    bad = copy.deepcopy(pub)
    bad["overall"]["median_dss_ci95_high"] += 10
    (row,) = audit.check_median_ci_symmetry(_ctx(bad))
    assert "asymmetric" in row["finding"]


def test_followup_vs_window_needs_the_window(pub: dict) -> None:
    (row,) = audit.check_followup_vs_window(_ctx(pub))
    assert row["quantity"] == "follow_up_max_months"
    bad = copy.deepcopy(pub)
    bad["study_design"].pop("study_window_start", None)
    assert audit.check_followup_vs_window(_ctx(bad)) == []


# ----------------------------------------------------------------- the audit's findings on the paper


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
