"""The core's one-call chain, the registry-path resolver, the factor table and summary_row."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import DATA_DIR, cohort, cox, schema
from helpers.cohort import FACTOR_SPECS, FactorSpec, derive_factors


def test_resolver_empty_relative_absolute_and_missing(tmp_path, monkeypatch) -> None:
    assert schema.resolve_registry_path("") == (DATA_DIR / "registry.csv").resolve()
    monkeypatch.chdir(DATA_DIR)
    assert schema.resolve_registry_path("registry.csv") == (DATA_DIR / "registry.csv").resolve()
    assert schema.resolve_registry_path(DATA_DIR / "registry.csv") == (DATA_DIR / "registry.csv").resolve()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(schema.RegistryError, match=str(tmp_path / "nope.csv")) as err:
        schema.resolve_registry_path("nope.csv")
    assert err.value.problems["check"].tolist() == ["file_exists"]
    with pytest.raises(schema.RegistryError, match="is a folder"):
        schema.resolve_registry_path(tmp_path)


def test_prepare_is_the_chain() -> None:
    prepared = cohort.prepare("", dfi_cutoff_months=18)
    assert prepared.registry_path == (DATA_DIR / "registry.csv").resolve()
    assert len(prepared.registry) == prepared.cohort.screened == 95
    assert len(prepared.data) == prepared.cohort.n_analysed == 66
    assert {"time_months", "event", "disease_free_interval"} <= set(prepared.data.columns)
    assert prepared.factors.cutoffs["dfi_months"] == 18
    with pytest.raises(ValueError, match="endpoint"):
        cohort.prepare("", endpoint="overall")


def test_summary_row_matches_the_fit() -> None:
    d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 1, 0, 1, 1, 0, 1, 1], "x": [0, 1, 0, 1, 1, 0, 0, 1]})
    fit = cox.fit_cox(d, "t", "e", ["x"], ties="breslow")
    row = fit.summary_row().iloc[0]
    assert row["ties"] == "breslow" and row["n"] == 8 and row["events"] == 6
    assert row["lr_p_value"] == fit.lr_test.p_value and row["concordance"] == fit.concordance


FRAME = pd.DataFrame({"patient_id": ["a", "b", "c"], "dfi_months": [6.0, 12.0, 30.0],
                      "sex": ["male", "female", "male"], "histology": ["synovial_sarcoma", "leiomyosarcoma", "x"],
                      "lung_metastasis_number": [1, 2, 5]})
BY_NAME = {f.name: f for f in FACTOR_SPECS}


@pytest.mark.parametrize(("name", "expected"), [
    ("disease_free_interval", ["lt_12_months", "ge_12_months", "ge_12_months"]),   # cutoff: strict <
    ("sex", ["male", "female", "male"]),                                            # codes
    ("primary_histology_synovial_sarcoma", ["ss", "non_ss", "non_ss"]),             # members
    ("lung_metastasis_number", ["solitary", "multiple", "multiple"]),               # count
])
def test_each_rule_kind(name: str, expected: list[str]) -> None:
    derived = derive_factors(FRAME, specs=[BY_NAME[name]])
    assert derived.data[name].tolist() == expected
    assert derived.spec["is_reference"].sum() == 1


@pytest.mark.parametrize(("name", "column", "value", "message"), [
    ("sex", "sex", "M", r"column 'sex': expected one of \['female', 'male'\], found \['M'\] for patient id\(s\) b"),
    ("disease_free_interval", "dfi_months", "soon", r"expected numbers, found \['soon'\] for patient id\(s\) b"),
    ("lung_metastasis_number", "lung_metastasis_number", 0, r"whole number >= 1, found \[0.0\]"),
    ("primary_histology_ups", "histology", 3, r"histology keys \(text\)"),
])
def test_bad_values_name_column_and_patient(name, column, value, message) -> None:
    bad = FRAME.astype(object).copy()
    bad.loc[1, column] = value
    with pytest.raises(cohort.CohortError, match=message):
        derive_factors(bad, specs=[BY_NAME[name]])


def test_unknown_rule_and_missing_column() -> None:
    with pytest.raises(ValueError, match="unknown rule"):
        derive_factors(FRAME, specs=[FactorSpec("f", "F", "sex", "guess", (), "male")])
    with pytest.raises(cohort.CohortError, match="resection_status"):
        derive_factors(FRAME, specs=[BY_NAME["curative_resection"]])
