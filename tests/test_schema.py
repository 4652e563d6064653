"""Unit tests of helpers.schema: months, survival columns, the data dictionary, loading files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import DATA_DIR, schema
from helpers.intake import problems
from helpers.intake.registry import data_dictionary_table
from helpers.schema import (
    DAYS_PER_MONTH,
    RegistryError,
    RegistryWarning,
    add_survival_columns,
    load_data_dictionary,
    load_registry,
    months_between,
)

HISTOLOGIES = (
    "synovial_sarcoma",
    "undifferentiated_pleomorphic_sarcoma",
    "myxoid_liposarcoma",
    "leiomyosarcoma",
)
CAUSES = ("sarcoma", "other", "unknown")


def valid_registry_frame(n: int = 12) -> pd.DataFrame:
    """A small registry that satisfies every rule of the data dictionary, as text cells.

    Patients 1, 4, 7, ... (every third) are dead with causes cycling sarcoma, other, unknown;
    every fourth patient from the second has bilateral disease with three metastases; P003 had
    a grade II pneumonia; P006 an R1 and P009 an R2 resection (pleural dissemination).
    """
    day = pd.Timedelta(days=1)
    records = []
    for i in range(n):
        primary = pd.Timestamp("2005-01-10") + 37 * i * day
        diagnosis = primary + (200 + 13 * i) * day
        first_pm = diagnosis + 30 * day
        last_contact = first_pm + (400 + 50 * i) * day
        dead = i % 3 == 0
        bilateral = i % 4 == 1
        records.append(
            {
                "patient_id": f"P{i + 1:03d}",
                "age_at_pm_years": str(30 + (i * 7) % 50),
                "sex": "male" if i % 2 else "female",
                "primary_site": "trunk_wall" if i % 2 else "extremities",
                "first_pm_elsewhere": "no",
                "histology": HISTOLOGIES[i % len(HISTOLOGIES)],
                "primary_tumor_size_cm": f"{4 + 0.5 * i:.1f}",
                "date_primary_surgery": primary.strftime("%Y-%m-%d"),
                "date_lung_metastasis_diagnosis": diagnosis.strftime("%Y-%m-%d"),
                "date_first_pm": first_pm.strftime("%Y-%m-%d"),
                "two_stage_pm": "yes" if bilateral and i % 8 == 1 else "no",
                "lung_metastasis_distribution": "bilateral" if bilateral else "unilateral",
                "lung_metastasis_number": "3" if bilateral else str(1 + i % 2),
                "largest_lung_lesion_mm": f"{8 + 1.5 * i:.1f}",
                "resection_type": ("wide_wedge_resection", "segmentectomy", "lobectomy")[i % 3],
                "resection_status": {5: "r1", 8: "r2"}.get(i, "r0"),
                "r2_reason": "pleural_dissemination" if i == 8 else None,
                "chemotherapy_before_pm": "yes" if i % 3 == 1 else "no",
                "chemotherapy_after_pm": "yes" if i % 5 == 0 else "no",
                "clavien_dindo_grade": "II" if i == 2 else "none",
                "complication_kind": "pneumonia_atelectasis" if i == 2 else None,
                "postoperative_stay_days": str(3 + i % 4),
                "vital_status": "dead" if dead else "alive",
                "date_last_contact": last_contact.strftime("%Y-%m-%d"),
                "date_of_death": (last_contact + 10 * day).strftime("%Y-%m-%d") if dead else None,
                "cause_of_death": CAUSES[(i // 3) % 3] if dead else None,
            }
        )
    frame = pd.DataFrame.from_records(records)
    names = load_data_dictionary().names
    assert list(frame.columns) == list(names), "test registry out of step with the dictionary"
    return frame


@pytest.fixture()
def registry_text() -> pd.DataFrame:
    return valid_registry_frame()


@pytest.fixture()
def csv_path(tmp_path: Path, registry_text: pd.DataFrame) -> Path:
    path = tmp_path / "registry.csv"
    registry_text.to_csv(path, index=False)
    return path


# ---------------------------------------------------------------- months_between


def test_months_between_is_days_over_mean_month():
    start = pd.Series(["2020-01-01", "2020-01-01", "2020-03-01"])
    end = pd.Series(["2021-01-01", "2020-01-01", "2020-02-01"])
    months = months_between(start, end)
    assert months.tolist() == pytest.approx([366 / DAYS_PER_MONTH, 0.0, -29 / DAYS_PER_MONTH])
    assert months.dtype == float and months.name is None


def test_months_between_missing_date_gives_nan_and_accepts_datetimes():
    start = pd.to_datetime(pd.Series(["2019-06-30", "2019-06-30"]))
    end = pd.Series([pd.Timestamp("2019-07-30"), pd.NaT])
    months = months_between(start, end)
    assert months.iloc[0] == pytest.approx(30 / 30.4375)
    assert np.isnan(months.iloc[1])


def test_days_per_month_is_the_dictionary_value():
    assert load_data_dictionary().days_per_month == DAYS_PER_MONTH == 30.4375


# ---------------------------------------------------------------- add_survival_columns


@pytest.fixture()
def typed_registry(csv_path: Path) -> pd.DataFrame:
    return load_registry(csv_path)


def test_all_cause_endpoint_counts_every_death(typed_registry: pd.DataFrame):
    out = add_survival_columns(typed_registry, "all_cause")
    dead = typed_registry["vital_status"].eq("dead")
    assert out["event"].tolist() == dead.astype(int).tolist()
    assert out["event"].dtype.kind == "i"
    end = typed_registry["date_of_death"].where(dead, typed_registry["date_last_contact"])
    days = (end - typed_registry["date_first_pm"]).dt.days
    assert out["time_months"].to_numpy() == pytest.approx((days / 30.4375).to_numpy())
    dfi = (
        typed_registry["date_lung_metastasis_diagnosis"] - typed_registry["date_primary_surgery"]
    ).dt.days
    assert out["dfi_months"].to_numpy() == pytest.approx((dfi / 30.4375).to_numpy())
    assert "time_months" not in typed_registry.columns  # the input is not modified


@pytest.mark.parametrize(
    ("unknown_cause_as_event", "event_causes"),
    [(True, {"sarcoma", "unknown"}), (False, {"sarcoma"})],
)
def test_disease_specific_endpoint(typed_registry, unknown_cause_as_event, event_causes):
    out = add_survival_columns(
        typed_registry, "disease_specific", unknown_cause_as_event=unknown_cause_as_event
    )
    dead = typed_registry["vital_status"].eq("dead")
    assert set(typed_registry.loc[dead, "cause_of_death"]) == {"sarcoma", "other", "unknown"}
    expected = dead & typed_registry["cause_of_death"].isin(event_causes)
    assert out["event"].tolist() == expected.astype(int).tolist()
    # deaths from other causes are censored at the date of death, not at last contact
    same_times = add_survival_columns(typed_registry, "all_cause")["time_months"]
    pd.testing.assert_series_equal(out["time_months"], same_times)


def test_unknown_cause_flag_is_ignored_for_all_cause(typed_registry):
    a = add_survival_columns(typed_registry, "all_cause", unknown_cause_as_event=True)
    b = add_survival_columns(typed_registry, "all_cause", unknown_cause_as_event=False)
    pd.testing.assert_frame_equal(a, b)


def test_unknown_endpoint_is_refused(typed_registry):
    with pytest.raises(ValueError, match="endpoint must be one of"):
        add_survival_columns(typed_registry, "overall")


# ---------------------------------------------------------------- the data dictionary


def test_load_data_dictionary_reads_the_shipped_file():
    dd = load_data_dictionary()
    assert dd.path == schema.DATA_DICTIONARY_PATH
    assert dd.id_column == "patient_id" and dd.synthetic is True
    assert dd.column("patient_id").unique
    assert dd.column("sex").allowed == ("male", "female")
    assert dd.column("first_pm_elsewhere").allowed == ("yes", "no")  # quoted: not booleans
    age = dd.column("age_at_pm_years")
    assert (age.type, age.minimum, age.maximum, age.unit) == ("integer", 0.0, 110.0, "years")
    assert dd.column("date_first_pm").minimum == pd.Timestamp("1970-01-01")
    assert dd.column("date_of_death").nullable and not dd.column("date_first_pm").nullable
    optional = {"r2_reason", "complication_kind"}  # details a registry may not record
    assert set(dd.required_names) == set(dd.names) - optional
    assert all(dd.column(name).nullable for name in optional)
    with pytest.raises(KeyError, match="not in the data dictionary"):
        dd.column("date_of_birth")


def test_data_dictionary_is_frozen():
    dd = load_data_dictionary()
    with pytest.raises(AttributeError):
        dd.id_column = "other"  # type: ignore[misc]


def test_every_dictionary_rule_has_a_coded_check():
    dd = load_data_dictionary()
    coded = {rule.column for rule in schema.CROSS_COLUMN_RULES} | {
        c for rule in schema.CROSS_COLUMN_RULES for c in rule.columns
    }
    with_rule = {c.name for c in dd.columns if c.rule and c.name != dd.id_column}
    assert with_rule <= coded


def _write_dictionary(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dd.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("columns:\n  - {name: a, type: text}\n", "type must be one of"),
        ("columns:\n  - {name: a, type: category, allowed: [yes, no]}\n", "quote words"),
        ("columns:\n  - {name: a, type: integer, minimum: 5, maximum: 1}\n", "exceeds maximum"),
        ("columns:\n  - {name: a, type: integer, allowed: [x]}\n", "only for category"),
        ("columns:\n  - {name: a, type: string}\n  - {name: a, type: string}\n", "repeat"),
        (
            "dataset: {days_per_month: 30}\ncolumns:\n  - {name: a, type: string}\n",
            "days_per_month",
        ),
        ("dataset: {id_column: pid}\ncolumns:\n  - {name: a, type: string}\n", "id_column"),
        ("columns: []\n", "non-empty list"),
    ],
)
def test_malformed_dictionary_is_refused(tmp_path, body, message):
    with pytest.raises(ValueError, match=message):
        load_data_dictionary(_write_dictionary(tmp_path, body))


def test_data_dictionary_table():
    table = data_dictionary_table()
    dd = load_data_dictionary()
    assert list(table.columns) == ["name", "type", "unit", "allowed_or_range", "meaning", "paper"]
    assert table["name"].tolist() == list(dd.names)
    row = table.set_index("name")
    assert row.loc["age_at_pm_years", "allowed_or_range"] == "0 to 110"
    assert row.loc["sex", "allowed_or_range"] == "male, female"
    assert (
        row.loc["date_of_death", "allowed_or_range"] == "1970-01-01 to 2030-12-31 (empty allowed)"
    )
    assert row.loc["largest_lung_lesion_mm", "unit"] == "mm"
    assert table["meaning"].str.len().gt(0).all()
    assert "\n" not in "".join(table["meaning"])


@pytest.mark.parametrize(
    ("value", "allowed", "expected"),
    [
        ("M", ("male", "female"), "male"),
        ("F", ("male", "female"), "female"),
        ("Male", ("male", "female"), "male"),
        (" female ", ("male", "female"), "female"),
        ("R0", ("r0", "r1", "r2"), "r0"),
        ("Yes", ("yes", "no"), "yes"),
        ("N", ("yes", "no"), "no"),
        ("Trunk wall", ("trunk_wall", "extremities"), "trunk_wall"),
        ("extremity", ("trunk_wall", "extremities"), "extremities"),
        ("3a", ("none", "I", "II", "IIIa", "IIIb"), "IIIa"),
        ("iiib", ("none", "I", "II", "IIIa", "IIIb"), "IIIb"),
        ("synovial sarcom", ("synovial_sarcoma", "leiomyosarcoma"), "synovial_sarcoma"),
        ("Deceased", ("alive", "dead"), "dead"),
        ("xyz", ("male", "female"), None),
        ("", ("male", "female"), None),
    ],
)
def test_suggest_allowed(value, allowed, expected):
    assert problems.suggest_allowed(value, allowed) == expected


# ---------------------------------------------------------------- loading valid files


EXPECTED_DTYPES = {
    "integer": "int64",
    "number": "float64",
    "date": "datetime64[ns]",
    "category": "object",
    "string": "object",
}


def test_load_csv_types_and_values(csv_path, registry_text):
    registry = load_registry(csv_path)
    dd = load_data_dictionary()
    assert list(registry.columns) == list(dd.names)
    for spec in dd.columns:
        assert str(registry[spec.name].dtype) == EXPECTED_DTYPES[spec.type], spec.name
    assert isinstance(registry.index, pd.RangeIndex)
    first = registry.iloc[0]
    assert first["patient_id"] == "P001" and first["age_at_pm_years"] == 30
    assert first["date_first_pm"] == pd.Timestamp(registry_text.loc[0, "date_first_pm"])
    assert first["primary_tumor_size_cm"] == 4.0
    alive = registry["vital_status"].eq("alive")
    assert registry.loc[alive, "date_of_death"].isna().all()
    assert registry.loc[alive, "cause_of_death"].isna().all()
    assert registry["sex"].isin(["male", "female"]).all()


def test_valid_registry_round_trips_without_loss(csv_path, registry_text):
    registry = load_registry(csv_path)
    assert len(registry) == len(registry_text)
    assert registry["patient_id"].tolist() == registry_text["patient_id"].tolist()
    # every cell survives: typed values written back as text equal the file's text
    back = registry.copy()
    for name in back.columns:
        if str(back[name].dtype).startswith("datetime"):
            back[name] = back[name].dt.strftime("%Y-%m-%d")
    back = back.astype(object).where(back.notna(), None)
    for name in ("age_at_pm_years", "lung_metastasis_number", "postoperative_stay_days"):
        back[name] = back[name].astype(str)
    for name in ("primary_tumor_size_cm", "largest_lung_lesion_mm"):
        back[name] = back[name].map(lambda v: f"{v:.1f}")
    expected = registry_text.astype(object).where(registry_text.notna(), None)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_excel_and_parquet_with_native_types_equal_the_csv(tmp_path, csv_path, suffix):
    from_csv = load_registry(csv_path)
    path = tmp_path / f"registry{suffix}"
    if suffix == ".xlsx":
        from_csv.to_excel(path, index=False)  # real Excel dates and numbers
    else:
        from_csv.to_parquet(path, index=False)  # timestamp, int64, float64, null columns
    pd.testing.assert_frame_equal(load_registry(path), from_csv)


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_excel_and_parquet_holding_text_equal_the_csv(tmp_path, csv_path, registry_text, suffix):
    path = tmp_path / f"registry{suffix}"
    if suffix == ".xlsx":
        registry_text.to_excel(path, index=False)
    else:
        registry_text.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(load_registry(path), load_registry(csv_path))


def test_extension_is_case_insensitive_and_bom_is_fine(tmp_path, registry_text):
    path = tmp_path / "REGISTRY.CSV"
    registry_text.to_csv(path, index=False, encoding="utf-8-sig")
    assert load_registry(path)["patient_id"].tolist() == registry_text["patient_id"].tolist()


def test_extra_columns_are_kept_with_a_warning(tmp_path, registry_text):
    frame = registry_text.assign(ward=["A", "B"] * 6, ecog="1")
    path = tmp_path / "extra.csv"
    frame.to_csv(path, index=False)
    with pytest.warns(
        RegistryWarning, match=r"2 column\(s\) not in the data dictionary.*ward, ecog"
    ):
        registry = load_registry(path)
    assert registry["ward"].tolist() == ["A", "B"] * 6
    assert registry["ecog"].tolist() == ["1"] * 12  # kept as text, not converted
    assert issubclass(RegistryWarning, UserWarning)


def test_valid_registry_raises_no_warning(csv_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_registry(csv_path)


def test_blank_lines_are_skipped_with_a_warning_and_lines_stay_true(tmp_path, registry_text):
    lines = registry_text.to_csv(index=False).splitlines()
    lines.insert(3, "")  # a blank line 4
    lines[5 + 1] = lines[5 + 1].replace("P005", "P005", 1)
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    with pytest.warns(RegistryWarning, match=r"skipped 2 completely empty line\(s\): 4, 15"):
        registry = load_registry(path)
    assert len(registry) == 12
    # a later problem is still reported at its true line number
    lines[6] = lines[6].replace(",female,", ",F,").replace(",male,", ",M,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.warns(RegistryWarning), pytest.raises(RegistryError) as info:
        load_registry(path)
    assert info.value.problems["row"].tolist() == [7]
    assert "P005 (line 7)" in str(info.value)


def test_schema_is_a_pandera_schema_and_its_rules_match_the_direct_evaluation(registry_text):
    import pandera.pandas as pa

    bad = registry_text.copy()
    bad.loc[1, "lung_metastasis_number"] = "1"  # P002 bilateral
    bad.loc[3, "date_of_death"] = None  # P004 dead
    dd = load_data_dictionary()
    full = schema.build_registry_schema(dd)
    assert isinstance(full, pa.DataFrameSchema)
    with pytest.raises(pa.errors.SchemaErrors) as info:
        full.validate(bad, lazy=True)
    cases = info.value.failure_cases
    by_pandera = {
        (check, int(i))
        for check, i in zip(cases["check"], cases["index"], strict=True)
        if i is not None
    }
    direct = pd.concat(
        schema._cross_column_problems(bad, np.arange(len(bad)), dd), ignore_index=True
    )
    assert {(c, int(r)) for c, r in zip(direct["check"], direct["row"], strict=True)} == by_pandera
    assert by_pandera == {("bilateral_has_two_or_more", 1), ("dead_has_date_of_death", 3)}
    schema.build_registry_schema(dd).validate(registry_text)  # the valid frame passes as is


def test_registry_error_is_a_value_error_and_pickles(tmp_path):
    import pickle

    with pytest.raises(ValueError) as info:
        load_registry(tmp_path / "nowhere.csv")
    err = info.value
    assert isinstance(err, RegistryError)
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err)
    pd.testing.assert_frame_equal(again.problems, err.problems)
    assert list(err.problems.columns) == list(problems.PROBLEM_COLUMNS)


# ---------------------------------------------------------------- the shipped registry


SHIPPED = DATA_DIR / "registry.csv"


def test_shipped_registry_loads_cleanly():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegistryWarning)
        registry = load_registry(SHIPPED)
    assert len(registry) > 0
    assert registry["patient_id"].is_unique
    raw = pd.read_csv(SHIPPED, dtype=str, keep_default_na=False)
    assert len(registry) == len(raw)
    assert registry["patient_id"].tolist() == raw["patient_id"].tolist()
