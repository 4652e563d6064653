"""The paper's audit: one small function per check, collated by ``audit_paper``."""

from __future__ import annotations

import copy

import pytest

from helpers.reproduction import audit, published


@pytest.fixture(scope="module")
def pub() -> dict:
    return published.load_published()


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
