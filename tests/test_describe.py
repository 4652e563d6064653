"""Tests of helpers.describe: make_table1, format_table1 and the rounding helpers."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd
import pytest
import yaml

from helpers import DATA_DIR
from helpers.describe import (
    HISTOLOGY_EXTRA_ROWS,
    HISTOLOGY_ROWS,
    TABLE1_COLUMNS,
    Table1Error,
    format_table1,
    make_table1,
    percent_half_up,
    round_half_up,
)

PUBLISHED = json.loads((DATA_DIR / "published_targets.json").read_text(encoding="utf-8"))
REGISTRY_CSV = DATA_DIR / "registry.csv"
DAYS_PER_MONTH = 30.4375


def patient(pid: str, **overrides: object) -> dict[str, object]:
    """One analysed patient with the columns make_table1 reads."""
    row: dict[str, object] = {
        "patient_id": pid,
        "age_at_pm_years": 40,
        "sex": "male",
        "histology": "synovial_sarcoma",
        "primary_site": "trunk_wall",
        "lung_metastasis_distribution": "unilateral",
        "lung_metastasis_number": 1,
        "largest_lung_lesion_mm": 10.0,
        "resection_type": "wide_wedge_resection",
        "resection_status": "r0",
        "chemotherapy_before_pm": "no",
        "chemotherapy_after_pm": "no",
        "dfi_months": 20.0,
    }
    row.update(overrides)
    return row


@pytest.fixture
def eight() -> pd.DataFrame:
    """8 patients: chosen so that 5/8 = 62.5 % and 3/8 = 37.5 % test the half-up rule."""
    rows = [
        patient("a", age_at_pm_years=17, sex="female", dfi_months=0.0,
                histology="dedifferentiated_liposarcoma", primary_site="extremities",
                lung_metastasis_distribution="bilateral", lung_metastasis_number=12,
                largest_lung_lesion_mm=60, resection_type="lobectomy", resection_status="r2",
                chemotherapy_before_pm="yes", chemotherapy_after_pm="yes"),
        patient("b", age_at_pm_years=30, sex="female", dfi_months=16.4,
                histology="myxoid_liposarcoma", lung_metastasis_number=2,
                resection_type="segmentectomy", chemotherapy_before_pm="yes"),
        patient("c", age_at_pm_years=48, sex="female", dfi_months=17.6,
                histology="undifferentiated_pleomorphic_sarcoma", largest_lung_lesion_mm=1,
                chemotherapy_after_pm="yes"),
        patient("d", age_at_pm_years=49, dfi_months=104.6, histology="myxofibrosarcoma"),
        patient("e", age_at_pm_years=50, dfi_months=3.2),
        patient("f", age_at_pm_years=60, dfi_months=25.0, histology="solitary_fibrous_tumor"),
        patient("g", age_at_pm_years=70, dfi_months=11.0, lung_metastasis_number=3,
                largest_lung_lesion_mm=22.5),
        patient("h", age_at_pm_years=82, dfi_months=40.0, largest_lung_lesion_mm=15),
    ]
    return pd.DataFrame(rows)


def cell(table: pd.DataFrame, variable: str, level: str, column: str) -> object:
    rows = table[(table["variable"] == variable) & (table["level"] == level)]
    assert len(rows) == 1, (variable, level)
    return rows[column].iloc[0]


def test_columns_and_types(eight) -> None:
    table = make_table1(eight)
    assert tuple(table.columns) == TABLE1_COLUMNS
    assert str(table["n"].dtype) == "Int64" and str(table["percent"].dtype) == "Int64"
    assert all(table[c].dtype == float for c in ("median", "min", "max"))
    median_rows = table[table["n"].isna()]
    assert median_rows["variable"].tolist() == [
        "age_years", "disease_free_interval_months", "lung_metastasis_number",
        "largest_lung_lesion_size_mm",
    ]
    assert (median_rows["level"] == "").all() and median_rows["percent"].isna().all()
    assert table.loc[table["n"].notna(), ["median", "min", "max"]].isna().all().all()


def test_counts_and_half_up_percentages(eight) -> None:
    table = make_table1(eight)
    assert cell(table, "sex", "male", "n") == 5
    assert cell(table, "sex", "male", "percent") == 63  # 62.5 -> 63 (half-even would give 62)
    assert cell(table, "sex", "female", "percent") == 38  # 37.5 -> 38
    assert cell(table, "primary_site", "extremities", "n") == 1
    assert cell(table, "lung_metastasis_distribution", "bilateral", "percent") == 13  # 12.5
    assert cell(table, "lung_metastasis_number", "solitary", "n") == 5
    assert cell(table, "lung_metastasis_number", "multiple", "n") == 3
    assert cell(table, "pulmonary_resection_type", "wide_wedge_resection", "n") == 6
    assert cell(table, "resection_status", "r1", "n") == 0  # level kept at 0
    assert cell(table, "resection_status", "r1", "percent") == 0
    assert cell(table, "resection_status", "r2", "n") == 1


def test_histology_parent_row_subtypes_and_extras(eight) -> None:
    table = make_table1(eight)
    histology = table[table["variable"] == "primary_histology"]
    assert cell(table, "primary_histology", "liposarcoma", "n") == 2
    assert cell(table, "primary_histology", "dedifferentiated_liposarcoma", "n") == 1
    assert cell(table, "primary_histology", "pleomorphic_liposarcoma", "n") == 0
    assert cell(table, "primary_histology", "undifferentiated_pleomorphic_sarcoma", "n") == 1
    assert cell(table, "primary_histology", "solitary_fibrous_tumor", "n") == 1
    assert "other_sarcoma" not in histology["level"].tolist()  # absent extra -> no row
    levels = histology["level"].tolist()
    assert levels.index("liposarcoma") + 1 == levels.index("dedifferentiated_liposarcoma")
    # every patient once, the parent row aside
    assert histology.loc[histology["level"] != "liposarcoma", "n"].sum() == len(eight)


def test_chemotherapy_rows_overlap_as_the_paper(eight) -> None:
    table = make_table1(eight)
    chemo = table[table["variable"] == "chemotherapy"].set_index("level")["n"]
    assert chemo.index.tolist() == ["none", "preoperative", "postoperative", "both"]
    # a: both; b: before only; c: after only; the other 5 none
    assert chemo.to_dict() == {"none": 5, "preoperative": 2, "postoperative": 2, "both": 1}
    assert chemo["none"] + chemo["preoperative"] + chemo["postoperative"] - chemo["both"] == 8


def test_medians_and_ranges(eight) -> None:
    table = make_table1(eight)
    age = table[table["variable"] == "age_years"].iloc[0]
    assert (age["median"], age["min"], age["max"]) == (49.5, 17, 82)  # even n: mean of 49, 50
    number = table[table["variable"] == "lung_metastasis_number"].iloc[0]
    assert (number["median"], number["min"], number["max"]) == (1, 1, 12)
    lesion = table[table["variable"] == "largest_lung_lesion_size_mm"].iloc[0]
    assert (lesion["median"], lesion["min"], lesion["max"]) == (10, 1, 60)


def test_dfi_whole_months_half_up(eight) -> None:
    table = make_table1(eight)
    dfi = table[table["variable"] == "disease_free_interval_months"].iloc[0]
    # sorted: 0, 3.2, 11, 16.4, 17.6, 20, 25, 40, 104.6 ... (8 values) -> median (16.4+17.6)/2 = 17
    assert (dfi["median"], dfi["min"], dfi["max"]) == (17, 0, 105)
    exact = make_table1(eight, dfi_decimals=None)
    dfi_exact = exact[exact["variable"] == "disease_free_interval_months"].iloc[0]
    assert dfi_exact["max"] == pytest.approx(104.6)
    shifted = eight.assign(dfi_months=eight["dfi_months"].where(eight["patient_id"] != "c", 18.6))
    dfi2 = make_table1(shifted).query("variable == 'disease_free_interval_months'").iloc[0]
    assert dfi2["median"] == 18  # (16.4 + 18.6) / 2 = 17.5 -> 18, half up


def test_keys_follow_published_table1(eight) -> None:
    table = make_table1(eight[eight["histology"] != "solitary_fibrous_tumor"])
    published = pd.DataFrame(PUBLISHED["table1"])
    published["level"] = published["level"].fillna("")
    assert table[["variable", "level"]].values.tolist() == (
        published[["variable", "level"]].values.tolist()
    )


def test_histology_rows_cover_the_data_dictionary() -> None:
    dictionary = yaml.safe_load((DATA_DIR / "data_dictionary.yaml").read_text(encoding="utf-8"))
    allowed = next(c["allowed"] for c in dictionary["columns"] if c["name"] == "histology")
    known = set(HISTOLOGY_ROWS) - {"liposarcoma"} | set(HISTOLOGY_EXTRA_ROWS)
    assert known == set(allowed)


def test_input_not_modified(eight) -> None:
    before = eight.copy()
    make_table1(eight)
    pd.testing.assert_frame_equal(eight, before)


def test_missing_column_raises(eight) -> None:
    with pytest.raises(Table1Error, match=r"\['dfi_months'\] expected but not found"):
        make_table1(eight.drop(columns="dfi_months"))


def test_missing_value_raises_naming_column_and_ids(eight) -> None:
    bad = eight.copy()
    bad.loc[bad["patient_id"].isin(["c", "f"]), "largest_lung_lesion_mm"] = None
    with pytest.raises(Table1Error, match=r"'largest_lung_lesion_mm': patient id\(s\) c, f"):
        make_table1(bad)


@pytest.mark.parametrize(
    ("column", "value", "pattern"),
    [
        ("histology", "osteosarcoma", r"histology.*osteosarcoma.*\bd\b"),
        ("sex", "M", r"sex.*'male'.*'M'.*\bd\b"),
        ("resection_status", "R1", r"resection_status.*R1"),
        ("chemotherapy_after_pm", "1", r"chemotherapy_after_pm.*'1'"),
        ("primary_site", "retroperitoneum", r"primary_site.*retroperitoneum"),
        ("lung_metastasis_number", 1.5, r"whole number.*1.5"),
        ("age_at_pm_years", "fifty", r"age_at_pm_years.*numbers.*fifty"),
    ],
)
def test_unexpected_values_raise(eight, column, value, pattern) -> None:
    bad = eight.copy()
    bad[column] = bad[column].astype(object)
    bad.loc[bad["patient_id"] == "d", column] = value
    with pytest.raises(Table1Error, match=pattern):
        make_table1(bad)


def test_empty_cohort_raises(eight) -> None:
    with pytest.raises(Table1Error, match="no patients"):
        make_table1(eight.iloc[0:0])


def test_column_mapping(eight) -> None:
    renamed = eight.rename(columns={"histology": "hist", "dfi_months": "dfi"})
    table = make_table1(renamed, columns={"histology": "hist"}, dfi_column="dfi")
    pd.testing.assert_frame_equal(table, make_table1(eight))


@pytest.mark.parametrize("total", [1, 3, 7, 8, 40, 66, 95, 200])
def test_percent_half_up_is_exact(total) -> None:
    for n in range(total + 1):
        exact = Decimal(Fraction(100 * n, total).numerator) / Decimal(
            Fraction(100 * n, total).denominator)
        expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        assert percent_half_up(n, total) == expected


def test_r0_percent_is_95_not_the_misprinted_96() -> None:
    assert percent_half_up(63, 66) == 95
    r0 = next(r for r in PUBLISHED["table1"] if r.get("level") == "r0")
    assert r0["percent"] == 96  # the paper's misprint, which make_table1 does not copy


@pytest.mark.parametrize(("value", "decimals", "expected"),
                         [(16.5, 0, 17), (17.49999, 0, 17), (-0.5, 0, -1), (2.675, 2, 2.68),
                          (0.0, 0, 0)])
def test_round_half_up(value, decimals, expected) -> None:
    assert round_half_up(value, decimals) == expected


def test_format_table1(eight) -> None:
    shown = format_table1(make_table1(eight)).set_index(["variable", "level"])
    assert list(shown.columns) == ["variable_label", "level_label", "value"]
    assert shown.loc[("sex", "male"), "value"] == "5 (63)"
    assert shown.loc[("age_years", ""), "value"] == "49.5 (17–82)"
    assert shown.loc[("disease_free_interval_months", ""), "value"] == "17 (0–105)"
    assert shown.loc[("lung_metastasis_number", ""), "variable_label"] == (
        "Number of lung metastasis (median/range)")
    assert shown.loc[("primary_histology", "myxoid_liposarcoma"), "level_label"].startswith(" ")
    assert shown.loc[("resection_status", "r0"), "level_label"] == "R0"


# ---------------------------------------------------------------- the shipped registry

def test_shipped_registry_reproduces_published_table1() -> None:
    from helpers import cohort, schema

    registry = (schema.load_registry(REGISTRY_CSV) if hasattr(schema, "load_registry")
                else pd.read_csv(REGISTRY_CSV))
    analysed = schema.add_survival_columns(cohort.assemble_cohort(registry).analysed)
    table = make_table1(analysed)
    published = pd.DataFrame(PUBLISHED["table1"])
    published["level"] = published["level"].fillna("")
    assert table[["variable", "level"]].values.tolist() == (
        published[["variable", "level"]].values.tolist())
    merged = table.merge(published, on=["variable", "level"], suffixes=("", "_paper"))
    for row in merged.itertuples():
        if pd.isna(row.n):
            assert (row.median, row.min, row.max) == (row.median_paper, row.min_paper,
                                                      row.max_paper), row.variable
        else:
            assert row.n == row.n_paper, (row.variable, row.level)
            assert row.percent == percent_half_up(row.n, 66)
            if row.level == "r0":
                assert (row.percent, row.percent_paper) == (95, 96)
            else:
                assert row.percent == row.percent_paper, (row.variable, row.level)
