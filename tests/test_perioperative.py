"""Tests of helpers.perioperative: the section 3.2 table and the computed safety sentence."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers import DATA_DIR, cohort, schema
from helpers.perioperative import (
    NOT_REPRODUCIBLE,
    PUBLISHED_KEYS,
    PerioperativeError,
    make_perioperative_table,
    safety_sentence,
)

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
    ],
)
def test_bad_input_names_column_and_patients(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(PerioperativeError, match=message):
        make_perioperative_table(frame)


@pytest.mark.parametrize("key", sorted(PUBLISHED_KEYS))
def test_shipped_registry_matches_section_3_2(shipped_table: pd.DataFrame, key: str) -> None:
    variable, level, column = PUBLISHED_KEYS[key]
    assert value(shipped_table, variable, level, column) == PERI[key]


def test_shipped_curative_percent_is_the_paper_misprint_corrected(shipped_table: pd.DataFrame) -> None:
    # 63/66 = 95.45 %: the paper prints 96 (paper_audit.md); the table never copies a misprint.
    assert value(shipped_table, "resection_status", "r0", "percent") == 95


def test_shipped_safety_sentence(shipped_table: pd.DataFrame) -> None:
    assert safety_sentence(shipped_table) == (
        "2 of 66 patients (3 %) had a perioperative complication, worst Clavien-Dindo grade "
        + f"{'II' if value(shipped_table, 'clavien_dindo_grade', 'II', 'n') else 'I'}; "
        "none of grade III or more. Postoperative stay: median 3 (2-13) days."
    )


def test_every_published_key_is_scored_or_has_a_reason() -> None:
    assert set(PUBLISHED_KEYS) | set(NOT_REPRODUCIBLE) == set(PERI)
    assert not set(PUBLISHED_KEYS) & set(NOT_REPRODUCIBLE)
