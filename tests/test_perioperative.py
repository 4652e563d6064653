"""Tests of helpers.perioperative: the section 3.2 table and the computed safety sentence."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers import DATA_DIR, cohort, schema
from helpers.perioperative import (
    PerioperativeError,
    complications_by_grade,
    make_perioperative_table,
    residual_tumour_sentence,
    safety_sentence,
)
from helpers.reproduction.scorecard import NOT_REPRODUCIBLE, PUBLISHED_KEYS, published_number

PUBLISHED = json.loads((DATA_DIR / "published_targets.json").read_text(encoding="utf-8"))
PERI = PUBLISHED["perioperative"]


def patient(pid: str, **overrides: object) -> dict[str, object]:
    """One analysed patient with the columns the table reads."""
    row: dict[str, object] = {
        "patient_id": pid, "lung_metastasis_distribution": "unilateral",
        "lung_metastasis_number": 1, "largest_lung_lesion_mm": 10.0,
        "resection_type": "wide_wedge_resection", "two_stage_pm": "no",
        "resection_status": "r0", "clavien_dindo_grade": "none",
        "postoperative_stay_days": 3, "chemotherapy_before_pm": "no",
        "chemotherapy_after_pm": "no",
    }
    row.update(overrides)
    return row


def value(table: pd.DataFrame, variable: str, level: str, column: str) -> float:
    row = table[(table["variable"] == variable) & (table["level"] == level)]
    assert len(row) == 1, (variable, level)
    return row[column].iloc[0]


@pytest.fixture(scope="module")
def shipped_table() -> pd.DataFrame:
    registry = schema.load_registry(DATA_DIR / "registry.csv")
    return make_perioperative_table(cohort.assemble_cohort(registry).analysed)


def test_small_cohort_counts_and_spreads() -> None:
    frame = pd.DataFrame([
        patient("A"),
        patient("B", lung_metastasis_distribution="bilateral", lung_metastasis_number=4,
                two_stage_pm="yes", clavien_dindo_grade="II", postoperative_stay_days=9,
                chemotherapy_before_pm="yes", chemotherapy_after_pm="yes"),
        patient("C", resection_type="lobectomy", resection_status="r2",
                clavien_dindo_grade="IIIa", largest_lung_lesion_mm=40.0),
    ])
    table = make_perioperative_table(frame)
    assert value(table, "lung_metastasis_distribution", "bilateral", "n") == 1
    assert value(table, "lung_metastasis_number", "multiple", "percent") == 33
    assert value(table, "lung_metastases_resected", "", "max") == 4
    assert value(table, "largest_lung_lesion_mm", "", "median") == 10.0
    assert value(table, "resection_type", "lobectomy", "percent_1dp") == 33.3
    assert value(table, "clavien_dindo_grade", "any", "n") == 2
    assert value(table, "clavien_dindo_grade", "grade_3_or_more", "n") == 1
    assert value(table, "chemotherapy", "both", "n") == 1
    assert value(table, "chemotherapy", "none", "n") == 2
    assert value(table, "postoperative_stay_days", "", "median") == 3
    sentence = safety_sentence(table)
    assert sentence.startswith("2 of 3 patients (67 %)")
    assert "worst Clavien-Dindo grade IIIa" in sentence and "1 of grade III or more" in sentence


def test_no_complication_sentence() -> None:
    table = make_perioperative_table(pd.DataFrame([patient("A"), patient("B")]))
    sentence = safety_sentence(table)
    assert sentence.startswith("0 of 2 patients (0 %)")
    assert "none of grade III or more" in sentence


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame([patient("A")]).drop(columns="clavien_dindo_grade"), "clavien_dindo_grade"),
        (pd.DataFrame([patient("A"), patient("B", postoperative_stay_days=None)]),
         r"postoperative_stay_days.*\['B'\]"),
        (pd.DataFrame([patient("A", clavien_dindo_grade="3")]), r"clavien_dindo_grade.*\['A'\]"),
        (pd.DataFrame(), "non-empty"),
        (pd.DataFrame([patient("A", clavien_dindo_grade="I", complication_kind="air leak")]),
         r"complication_kind.*'air leak'.*\['A'\]"),
        (pd.DataFrame([patient("A", resection_status="r2", r2_reason="pleural"),
                       patient("B", resection_status="r2", r2_reason="pleural")]),
         r"r2_reason.*\['A', 'B'\]"),
        (pd.DataFrame([patient("A", complication_kind="bleeding"),
                       patient("B", clavien_dindo_grade="I", complication_kind="bleeding")]),
         r"complication_kind.*without a complication.*\['A'\]"),
        (pd.DataFrame([patient("A", resection_status="r1", r2_reason="other")]),
         r"r2_reason.*without an R2 resection.*\['A'\]"),
    ],
)
def test_bad_input_names_column_and_patients(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(PerioperativeError, match=message):
        make_perioperative_table(frame)


@pytest.mark.parametrize("key", sorted(PUBLISHED_KEYS))
def test_shipped_registry_matches_section_3_2(shipped_table: pd.DataFrame, key: str) -> None:
    variable, level, column = PUBLISHED_KEYS[key]
    assert value(shipped_table, variable, level, column) == published_number(key, PERI)


def test_shipped_curative_percent_is_the_paper_misprint_corrected(shipped_table: pd.DataFrame) -> None:
    # 63/66 = 95.45 %: the paper prints 96 (paper_audit.md); the table never copies a misprint.
    assert value(shipped_table, "resection_status", "r0", "percent") == 95


def test_shipped_safety_sentence(shipped_table: pd.DataFrame) -> None:
    assert safety_sentence(shipped_table) == (
        "2 of 66 patients (3 %) had a perioperative complication (1 prolonged air leak, "
        "1 bleeding), worst Clavien-Dindo grade II; none of grade III or more. "
        "Postoperative stay: median 3 (2-13) days."
    )
    assert residual_tumour_sentence(shipped_table) == (
        "Curative (R0) resection in 63 of 66 patients (95 %); R1 in 0; "
        "R2 in 3 (3 pleural dissemination)."
    )


def test_shipped_complications_by_grade_with_their_kind() -> None:
    analysed = cohort.assemble_cohort(schema.load_registry(DATA_DIR / "registry.csv")).analysed
    by_grade = complications_by_grade(analysed)
    assert sorted(by_grade["kind"]) == ["bleeding", "prolonged_air_leak"]  # section 3.2
    assert set(by_grade["grade"]) <= {"I", "II"} and by_grade["n"].sum() == 2  # conservative


def test_details_counted_only_where_they_apply() -> None:
    frame = pd.DataFrame([
        patient("A", resection_status="r2", r2_reason="pleural_dissemination"),
        patient("B", resection_status="r2", r2_reason=None),
        patient("C", clavien_dindo_grade="IIIb", complication_kind="bleeding"),
        patient("D", clavien_dindo_grade="I", complication_kind="prolonged_air_leak"),
        patient("E", clavien_dindo_grade="II", complication_kind=None),
    ])
    table = make_perioperative_table(frame)
    assert value(table, "r2_reason", "pleural_dissemination", "n") == 1
    assert value(table, "r2_reason", "not_recorded", "n") == 1
    assert value(table, "complication_kind", "bleeding", "n") == 1
    assert value(table, "complication_kind", "not_recorded", "n") == 1
    assert value(table, "clavien_dindo_grade", "grade_1_or_2", "n") == 2
    sentence = safety_sentence(table)
    assert "(1 prolonged air leak, 1 bleeding, 1 not recorded)" in sentence
    assert residual_tumour_sentence(table).endswith(
        "R2 in 2 (1 pleural dissemination, 1 not recorded)."
    )
    assert complications_by_grade(frame).to_dict("records") == [
        {"grade": "I", "kind": "prolonged_air_leak", "n": 1},
        {"grade": "II", "kind": "not_recorded", "n": 1},
        {"grade": "IIIb", "kind": "bleeding", "n": 1},
    ]


def test_registry_without_the_detail_columns() -> None:
    frame = pd.DataFrame([patient("A", resection_status="r2"), patient("B", clavien_dindo_grade="I")])
    table = make_perioperative_table(frame)
    assert value(table, "r2_reason", "not_recorded", "n") == 1
    assert value(table, "complication_kind", "not_recorded", "n") == 1
    assert table.loc[table["variable"] == "complication_kind", "n"].sum() == 1
    assert complications_by_grade(frame)["kind"].tolist() == ["not_recorded"]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"patient_id": ["A"]}), "clavien_dindo_grade"),
        (pd.DataFrame({"patient_id": ["A", "B"], "clavien_dindo_grade": ["I", None]}),
         r"clavien_dindo_grade.*\['B'\]"),
        (pd.DataFrame({"patient_id": ["A"], "clavien_dindo_grade": ["I"],
                       "complication_kind": ["wound"]}), r"complication_kind.*\['A'\]"),
    ],
)
def test_complications_by_grade_bad_input(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(PerioperativeError, match=message):
        complications_by_grade(frame)


def test_every_published_key_is_scored_or_has_a_reason() -> None:
    assert set(PUBLISHED_KEYS) | set(NOT_REPRODUCIBLE) == set(PERI)
    assert not set(PUBLISHED_KEYS) & set(NOT_REPRODUCIBLE)
