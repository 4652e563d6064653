"""Tests of helpers.cohort: assemble_cohort (eligibility, ledger, flow) and derive_factors."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from helpers import DATA_DIR
from helpers.cohort import CohortError, CohortResult, assemble_cohort, derive_factors, format_cutoff
from helpers.schema import add_survival_columns

PUBLISHED = json.loads((DATA_DIR / "published_targets.json").read_text(encoding="utf-8"))
REGISTRY_CSV = DATA_DIR / "registry.csv"


def patient(pid: str, **overrides: object) -> dict[str, object]:
    """One registry row with plausible defaults (all data-dictionary columns)."""
    dfi_days = overrides.pop("dfi_days", 400)
    row: dict[str, object] = {
        "patient_id": pid,
        "age_at_pm_years": 45,
        "sex": "male",
        "primary_site": "trunk_wall",
        "first_pm_elsewhere": "no",
        "histology": "synovial_sarcoma",
        "primary_tumor_size_cm": 6.0,
        "date_primary_surgery": pd.Timestamp("2010-01-01"),
        "two_stage_pm": "no",
        "lung_metastasis_distribution": "unilateral",
        "lung_metastasis_number": 1,
        "largest_lung_lesion_mm": 12.0,
        "resection_type": "wide_wedge_resection",
        "resection_status": "r0",
        "chemotherapy_before_pm": "no",
        "chemotherapy_after_pm": "no",
        "clavien_dindo_grade": "none",
        "postoperative_stay_days": 3,
        "vital_status": "alive",
        "date_last_contact": pd.Timestamp("2016-01-01"),
        "date_of_death": pd.NaT,
        "cause_of_death": None,
    }
    row.update(overrides)
    start = pd.Timestamp(row["date_primary_surgery"])
    row["date_lung_metastasis_diagnosis"] = start + pd.Timedelta(days=dfi_days)
    row["date_first_pm"] = row["date_lung_metastasis_diagnosis"] + pd.Timedelta(days=20)
    return row


def registry(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


@pytest.fixture
def small_registry() -> pd.DataFrame:
    """12 patients: 5 eligible, 7 excluded (every reason, one patient failing both criteria)."""
    return registry([
        patient("p01"),
        patient("p02", primary_site="parenchymal_organ"),
        patient("p03", primary_site="extremities"),
        patient("p04", primary_site="retroperitoneum"),
        patient("p05", primary_site="parenchymal_organ", first_pm_elsewhere="yes"),
        patient("p06", first_pm_elsewhere="yes"),
        patient("p07", primary_site="mediastinum"),
        patient("p08", primary_site="extremities"),
        patient("p09", primary_site="head_and_neck"),
        patient("p10", primary_site="retroperitoneum"),
        patient("p11"),
        patient("p12"),
    ])


# ---------------------------------------------------------------- assemble_cohort


def test_flow_columns_rows_and_counts(small_registry: pd.DataFrame) -> None:
    result = assemble_cohort(small_registry)
    flow = result.flow
    assert list(flow.columns) == ["step", "reason", "n_excluded", "n_remaining"]
    assert flow["reason"].tolist() == [
        "screened",
        "primary_in_parenchymal_organs",
        "primary_in_mediastinum",
        "primary_in_retroperitoneum",
        "primary_in_head_and_neck",
        "initial_pm_at_another_hospital",
        "analysed",
    ]
    assert flow["step"].tolist() == [0, 1, 1, 1, 1, 2, 3]
    assert flow["n_excluded"].tolist() == [0, 2, 1, 2, 1, 1, 0]
    assert flow["n_remaining"].tolist() == [12, 10, 9, 7, 6, 5, 5]
    assert result.screened == 12
    assert result.n_analysed == 5 and result.n_excluded == 7


def test_every_patient_in_exactly_one_place(small_registry: pd.DataFrame) -> None:
    result = assemble_cohort(small_registry)
    analysed = set(result.analysed["patient_id"])
    excluded = list(result.ledger["patient_id"])
    assert analysed == {"p01", "p03", "p08", "p11", "p12"}
    assert len(excluded) == len(set(excluded))
    assert analysed.isdisjoint(excluded)
    assert analysed | set(excluded) == set(small_registry["patient_id"])


def test_patient_failing_both_criteria_counted_once_at_step_1(small_registry) -> None:
    ledger = assemble_cohort(small_registry).ledger.set_index("patient_id")
    assert ledger.loc["p05", "step"] == 1
    assert ledger.loc["p05", "reason"] == "primary_in_parenchymal_organs"
    assert ledger.loc["p06", "reason"] == "initial_pm_at_another_hospital"
    assert ledger.loc["p06", "step"] == 2
    assert list(assemble_cohort(small_registry).ledger.columns) == ["patient_id", "step", "reason"]


def test_analysed_keeps_order_and_columns_and_input_untouched(small_registry) -> None:
    before = small_registry.copy()
    result = assemble_cohort(small_registry)
    assert result.analysed["patient_id"].tolist() == ["p01", "p03", "p08", "p11", "p12"]
    assert list(result.analysed.columns) == list(small_registry.columns)
    pd.testing.assert_frame_equal(small_registry, before)


def test_reason_without_patients_keeps_its_row() -> None:
    result = assemble_cohort(registry([patient("a"), patient("b", primary_site="extremities")]))
    assert result.flow["n_excluded"].sum() == 0
    assert len(result.flow) == 7
    assert result.ledger.empty and list(result.ledger.columns) == ["patient_id", "step", "reason"]


def test_boolean_elsewhere_column_is_accepted(small_registry) -> None:
    reg = small_registry.assign(first_pm_elsewhere=small_registry["first_pm_elsewhere"].eq("yes"))
    assert assemble_cohort(reg).n_analysed == 5


def test_eligible_sites_parameter_keeps_a_site(small_registry) -> None:
    result = assemble_cohort(
        small_registry, eligible_sites=("trunk_wall", "extremities", "retroperitoneum")
    )
    flow = result.flow.set_index("reason")
    assert flow.loc["primary_in_retroperitoneum", "n_excluded"] == 0
    assert {"p04", "p10"} <= set(result.analysed["patient_id"])
    assert result.n_analysed == 7


def test_other_column_names(small_registry) -> None:
    reg = small_registry.rename(
        columns={"patient_id": "pid", "primary_site": "site", "first_pm_elsewhere": "away"}
    )
    result = assemble_cohort(reg, id_column="pid", site_column="site", elsewhere_column="away")
    assert result.n_analysed == 5
    assert set(result.ledger["patient_id"]) == {"p02", "p04", "p05", "p06", "p07", "p09", "p10"}


def test_unknown_site_raises_naming_ids(small_registry) -> None:
    reg = small_registry.copy()
    reg.loc[reg["patient_id"] == "p03", "primary_site"] = "bone"
    reg.loc[reg["patient_id"] == "p08", "primary_site"] = "Extremities"
    with pytest.raises(CohortError, match=r"primary_site.*bone.*p03, p08"):
        assemble_cohort(reg)


def test_missing_site_raises_naming_id(small_registry) -> None:
    reg = small_registry.copy()
    reg.loc[reg["patient_id"] == "p11", "primary_site"] = None
    with pytest.raises(CohortError, match=r"primary_site.*p11"):
        assemble_cohort(reg)


@pytest.mark.parametrize("bad", ["maybe", None, "Y"])
def test_bad_elsewhere_value_raises_naming_id(small_registry, bad) -> None:
    reg = small_registry.copy()
    reg["first_pm_elsewhere"] = reg["first_pm_elsewhere"].astype(object)
    reg.loc[reg["patient_id"] == "p12", "first_pm_elsewhere"] = bad
    with pytest.raises(CohortError, match=r"first_pm_elsewhere.*'yes' or 'no'.*p12"):
        assemble_cohort(reg)


def test_duplicate_ids_raise(small_registry) -> None:
    reg = pd.concat([small_registry, small_registry.iloc[[2]]], ignore_index=True)
    with pytest.raises(CohortError, match=r"unique.*p03"):
        assemble_cohort(reg)


def test_missing_id_raises(small_registry) -> None:
    reg = small_registry.copy()
    reg.loc[4, "patient_id"] = None
    with pytest.raises(CohortError, match=r"missing patient id in row\(s\) \[4\]"):
        assemble_cohort(reg)


def test_missing_column_raises(small_registry) -> None:
    with pytest.raises(CohortError, match="first_pm_elsewhere"):
        assemble_cohort(small_registry.drop(columns="first_pm_elsewhere"))


def test_empty_eligible_sites_raises(small_registry) -> None:
    with pytest.raises(CohortError, match="eligible_sites"):
        assemble_cohort(small_registry, eligible_sites=())


# ---------------------------------------------------------------- reconciliation


def test_reconciliation_failure_dropped_ledger_row(small_registry) -> None:
    good = assemble_cohort(small_registry)
    with pytest.raises(CohortError, match=r"screened \(12\) != analysed \(5\) \+ excluded \(6\)"):
        replace(good, ledger=good.ledger.iloc[1:])


def test_reconciliation_failure_patient_in_two_places(small_registry) -> None:
    good = assemble_cohort(small_registry)
    ledger = good.ledger.copy()
    ledger.loc[0, "patient_id"] = "p01"  # an analysed patient also in the ledger
    with pytest.raises(CohortError, match=r"more than once.*p01"):
        replace(good, ledger=ledger)


def test_reconciliation_failure_flow_counts(small_registry) -> None:
    good = assemble_cohort(small_registry)
    flow = good.flow.copy()
    flow.loc[flow["reason"] == "primary_in_mediastinum", "n_excluded"] = 2
    with pytest.raises(CohortError, match=r"flow says 2 excluded for 'primary_in_mediastinum'"):
        replace(good, flow=flow)


def test_reconciliation_failure_wrong_screened_ids(small_registry) -> None:
    good = assemble_cohort(small_registry)
    with pytest.raises(CohortError, match=r"neither analysed nor excluded: p99"):
        good.reconcile([*small_registry["patient_id"], "p99"])
    good.reconcile(small_registry["patient_id"])  # the true ids pass


# ---------------------------------------------------------------- derive_factors


@pytest.fixture
def factor_cohort() -> pd.DataFrame:
    rows = [
        patient("f01", age_at_pm_years=49, dfi_days=365, histology="undifferentiated_pleomorphic_sarcoma",
                primary_tumor_size_cm=9.9, largest_lung_lesion_mm=19.9, lung_metastasis_number=1,
                resection_type="segmentectomy", resection_status="r1",
                chemotherapy_before_pm="yes", chemotherapy_after_pm="yes"),
        patient("f02", age_at_pm_years=50, dfi_days=366, histology="myxoid_liposarcoma",
                primary_tumor_size_cm=10.0, largest_lung_lesion_mm=20.0, lung_metastasis_number=3,
                lung_metastasis_distribution="bilateral", resection_type="lobectomy",
                resection_status="r2", chemotherapy_before_pm="yes", sex="female"),
        patient("f03", age_at_pm_years=17, dfi_days=0, histology="myxofibrosarcoma",
                primary_site="extremities", largest_lung_lesion_mm=60,
                chemotherapy_after_pm="yes"),
        patient("f04", age_at_pm_years=82, dfi_days=3196, histology="leiomyosarcoma"),
        patient("f05", histology="dedifferentiated_liposarcoma"),
        patient("f06", histology="pleomorphic_liposarcoma"),
        patient("f07", histology="angiosarcoma"),
    ]
    return add_survival_columns(registry(rows))


def test_factor_keys_and_default_levels_follow_published_table2(factor_cohort) -> None:
    derived = derive_factors(factor_cohort)
    published = pd.DataFrame(PUBLISHED["table2"])
    expected_factors = list(dict.fromkeys(published["variable"]))
    assert derived.factors == expected_factors
    assert len(derived.factors) == 17
    spec = derived.spec
    assert spec["variable"].tolist() == published["variable"].tolist()
    assert spec["level"].tolist() == published["level"].tolist()
    assert spec["level_label"].tolist() == published["level_label"].tolist()
    assert spec["variable_label"].tolist() == published["variable_label"].tolist()
    assert spec["position"].tolist() == [1, 2] * 17
    for factor in derived.factors:
        column = derived.data[factor]
        assert isinstance(column.dtype, pd.CategoricalDtype) and column.cat.ordered
        assert column.cat.categories.tolist() == derived.levels(factor)


def test_dichotomies_strictly_below_cutoff(factor_cohort) -> None:
    data = derive_factors(factor_cohort).data.set_index("patient_id")
    # 365 days = 11.99 months -> <12; 366 days = 12.02 months -> >=12
    assert factor_cohort["dfi_months"].iloc[0] < 12 < factor_cohort["dfi_months"].iloc[1]
    assert data.loc["f01", "disease_free_interval"] == "lt_12_months"
    assert data.loc["f02", "disease_free_interval"] == "ge_12_months"
    assert data.loc["f03", "disease_free_interval"] == "lt_12_months"  # DFI 0
    assert data.loc["f01", "age_years"] == "lt_50"
    assert data.loc["f02", "age_years"] == "ge_50"  # exactly the cut-off -> >=
    assert data.loc["f01", "primary_lesion_size"] == "lt_10_cm"
    assert data.loc["f02", "primary_lesion_size"] == "ge_10_cm"
    assert data.loc["f01", "largest_lung_lesion_size"] == "lt_20_mm"
    assert data.loc["f02", "largest_lung_lesion_size"] == "ge_20_mm"


def test_categorical_groupings(factor_cohort) -> None:
    data = derive_factors(factor_cohort).data.set_index("patient_id")
    assert data["primary_histology_ups"].eq("ups").sum() == 1
    lipo = data.index[data["primary_histology_liposarcoma"] == "liposarcoma"].tolist()
    assert lipo == ["f02", "f05", "f06"]
    assert data.loc["f03", "primary_histology_mfs"] == "mfs"
    assert data.loc["f04", "primary_histology_leiomyosarcoma"] == "leiomyosarcoma"
    assert data["primary_histology_synovial_sarcoma"].eq("ss").sum() == 0
    assert data.loc["f01", "pulmonary_resection_type"] == "anatomical"
    assert data.loc["f02", "pulmonary_resection_type"] == "anatomical"
    assert data.loc["f03", "pulmonary_resection_type"] == "partial"
    assert data["curative_resection"].tolist() == ["no", "no", "yes", "yes", "yes", "yes", "yes"]
    assert data["lung_metastasis_number"].tolist()[:3] == ["solitary", "multiple", "solitary"]
    # a patient given chemotherapy before and after counts as yes in both factors
    assert data.loc["f01", "preoperative_chemotherapy"] == "yes"
    assert data.loc["f01", "postoperative_chemotherapy"] == "yes"
    assert data.loc["f02", "postoperative_chemotherapy"] == "no"
    assert data.loc["f03", "preoperative_chemotherapy"] == "no"
    assert data.loc["f03", "postoperative_chemotherapy"] == "yes"
    assert data.loc["f02", "sex"] == "female" and data.loc["f03", "primary_site"] == "extremities"


def test_reference_levels(factor_cohort) -> None:
    derived = derive_factors(factor_cohort)
    spec = derived.spec
    assert spec.groupby("variable")["is_reference"].sum().eq(1).all()
    table3 = spec[spec["reference_source"] == "table3"]
    references = table3[table3["is_reference"]].set_index("variable")["level"].to_dict()
    assert references == {
        "disease_free_interval": "ge_12_months",
        "primary_histology_ups": "non_ups",
        "lung_metastasis_number": "solitary",
        "largest_lung_lesion_size": "lt_20_mm",
        "curative_resection": "yes",
    }
    for row in PUBLISHED["table3"]:
        assert derived.reference(row["variable"]) == row["reference_level"]
        assert row["level"] in derived.levels(row["variable"])


@pytest.mark.parametrize(
    ("kwargs", "factor", "levels", "labels"),
    [
        ({"dfi_cutoff_months": 18}, "disease_free_interval",
         ["lt_18_months", "ge_18_months"], ["<18 months", "≥18 months"]),
        ({"dfi_cutoff_months": 12.5}, "disease_free_interval",
         ["lt_12p5_months", "ge_12p5_months"], ["<12.5 months", "≥12.5 months"]),
        ({"lesion_size_cutoff_mm": 30}, "largest_lung_lesion_size",
         ["lt_30_mm", "ge_30_mm"], ["<30 mm", "≥30 mm"]),
        ({"age_cutoff_years": 55.0}, "age_years", ["lt_55", "ge_55"], ["<55", "≥55"]),
        ({"primary_size_cutoff_cm": 5}, "primary_lesion_size",
         ["lt_5_cm", "ge_5_cm"], ["<5 cm", "≥5 cm"]),
    ],
)
def test_cutoff_appears_in_level_keys_and_labels(factor_cohort, kwargs, factor, levels, labels):
    derived = derive_factors(factor_cohort, **kwargs)
    spec = derived.spec[derived.spec["variable"] == factor]
    assert spec["level"].tolist() == levels
    assert spec["level_label"].tolist() == labels
    assert derived.data[factor].cat.categories.tolist() == levels
    assert set(derived.data[factor].astype(str)) <= set(levels)


def test_nondefault_cutoff_changes_groups(factor_cohort) -> None:
    data = derive_factors(factor_cohort, lesion_size_cutoff_mm=15).data.set_index("patient_id")
    assert data.loc["f01", "largest_lung_lesion_size"] == "ge_15_mm"  # 19.9 mm
    assert data.loc["f05", "largest_lung_lesion_size"] == "lt_15_mm"  # 12 mm
    dfi = derive_factors(factor_cohort, dfi_cutoff_months=11.9).data.set_index("patient_id")
    assert dfi.loc["f01", "disease_free_interval"] == "ge_11p9_months"  # 11.99 months
    reference = derive_factors(factor_cohort, dfi_cutoff_months=18).reference(
        "disease_free_interval")
    assert reference == "ge_18_months"


def test_cutoffs_recorded(factor_cohort) -> None:
    derived = derive_factors(factor_cohort, dfi_cutoff_months=18)
    assert derived.cutoffs == {"age_years": 50.0, "dfi_months": 18.0, "primary_size_cm": 10.0,
                               "lesion_size_mm": 20.0}


@pytest.mark.parametrize(("value", "text"), [(12, "12"), (12.0, "12"), (12.5, "12p5"),
                                             (0.25, "0p25"), (100, "100")])
def test_format_cutoff(value, text) -> None:
    assert format_cutoff(value) == text


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "twelve"])
def test_bad_cutoff_raises(factor_cohort, bad) -> None:
    with pytest.raises(ValueError, match="dfi_cutoff_months"):
        derive_factors(factor_cohort, dfi_cutoff_months=bad)


def test_missing_dfi_column_raises(small_registry) -> None:
    with pytest.raises(CohortError, match=r"\['dfi_months'\] expected but not found"):
        derive_factors(small_registry)


def test_missing_values_raise_naming_column_and_ids(factor_cohort) -> None:
    bad = factor_cohort.copy()
    bad.loc[bad["patient_id"] == "f04", "dfi_months"] = float("nan")
    bad.loc[bad["patient_id"] == "f06", "largest_lung_lesion_mm"] = None
    with pytest.raises(CohortError) as info:
        derive_factors(bad)
    assert "'dfi_months': patient id(s) f04" in str(info.value)
    assert "'largest_lung_lesion_mm': patient id(s) f06" in str(info.value)


@pytest.mark.parametrize(
    ("column", "value", "pattern"),
    [
        ("resection_status", "R0", r"resection_status.*'r0'.*R0.*f03"),
        ("resection_type", "pneumonectomy", r"resection_type.*pneumonectomy.*f03"),
        ("sex", "M", r"sex.*'M'.*f03"),
        ("chemotherapy_before_pm", "unknown", r"chemotherapy_before_pm.*unknown.*f03"),
        ("primary_site", "mediastinum", r"primary_site.*mediastinum.*f03"),
        ("lung_metastasis_number", 0, r"lung_metastasis_number.*whole number.*f03"),
        ("age_at_pm_years", "old", r"age_at_pm_years.*expected numbers.*old.*f03"),
    ],
)
def test_unexpected_values_raise(factor_cohort, column, value, pattern) -> None:
    bad = factor_cohort.copy()
    bad[column] = bad[column].astype(object)
    bad.loc[bad["patient_id"] == "f03", column] = value
    with pytest.raises(CohortError, match=pattern):
        derive_factors(bad)


def test_columns_mapping_and_dfi_column(factor_cohort) -> None:
    renamed = factor_cohort.rename(columns={"largest_lung_lesion_mm": "lesion", "dfi_months": "dfi"})
    derived = derive_factors(renamed, columns={"largest_lung_lesion_mm": "lesion"},
                             dfi_column="dfi")
    expected = derive_factors(factor_cohort).data["largest_lung_lesion_size"]
    assert derived.data["largest_lung_lesion_size"].tolist() == expected.tolist()
    with pytest.raises(ValueError, match="unknown key"):
        derive_factors(factor_cohort, columns={"lesion": "x"})


def test_cohort_result_is_frozen(small_registry) -> None:
    result = assemble_cohort(small_registry)
    with pytest.raises(AttributeError):
        result.screened = 3  # type: ignore[misc]
    assert isinstance(result, CohortResult)


# ---------------------------------------------------------------- the shipped registry

def _load_shipped() -> pd.DataFrame:
    from helpers import schema

    if hasattr(schema, "load_registry"):
        return schema.load_registry(REGISTRY_CSV)
    return pd.read_csv(REGISTRY_CSV)  # pragma: no cover - only before load_registry exists


def test_shipped_registry_flow_reproduces_paper() -> None:
    result = assemble_cohort(_load_shipped())
    published = PUBLISHED["cohort_flow"]
    assert result.screened == published["screened_n"] == 95
    assert result.n_analysed == published["analysed_n"] == 66
    exclusions = result.flow[~result.flow["reason"].isin(["screened", "analysed"])]
    assert exclusions["reason"].tolist() == [e["reason"] for e in published["exclusions"]]
    assert exclusions["n_excluded"].tolist() == [e["n"] for e in published["exclusions"]]
    assert result.flow["n_remaining"].tolist() == [95, 82, 81, 72, 69, 66, 66]


def test_shipped_registry_factor_groups_match_table2() -> None:
    analysed = add_survival_columns(assemble_cohort(_load_shipped()).analysed)
    derived = derive_factors(analysed)
    for row in PUBLISHED["table2"]:
        expected = row.get("n_expected_from_table1", row["n"])
        found = int(derived.data[row["variable"]].eq(row["level"]).sum())
        assert found == expected, (row["variable"], row["level"])
