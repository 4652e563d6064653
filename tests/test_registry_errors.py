"""One test per kind of malformed registry: each must raise RegistryError naming the column, the
patients (or rows), what was expected and what was found; several problems are all reported."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from test_schema import valid_registry_frame  # the small valid registry built in test_schema

from helpers.intake.problems import MESSAGE_LIST_LIMIT
from helpers.schema import RegistryError, RegistryWarning, load_registry

# In valid_registry_frame(12): P001, P004, P007, P010 are dead; P002, P006, P010 bilateral.
# The file line of the patient in data row i (0-based) is i + 2: line 1 is the header.


def _line(pid: str) -> int:
    return int(pid[1:]) + 1


def _write(frame: pd.DataFrame, tmp_path: Path, name: str = "registry.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _error(path: Path) -> RegistryError:
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    return info.value


def _shift(frame: pd.DataFrame, pid: str, column: str, source: str, days: int) -> None:
    i = frame.index[frame["patient_id"] == pid][0]
    date = pd.Timestamp(frame.loc[i, source]) + pd.Timedelta(days=days)
    frame.loc[i, column] = date.strftime("%Y-%m-%d")


def _set(frame: pd.DataFrame, pid: str, column: str, value: str | None) -> None:
    frame.loc[frame["patient_id"] == pid, column] = value


def assert_reported(
    err: RegistryError,
    *,
    column: str,
    check: str,
    patients: list[str],
    expected: str,
    found: str,
    hint: str | None = None,
) -> None:
    """The problem is in .problems and in the message, under its column, with everything named."""
    probs = err.problems[(err.problems["column"] == column) & (err.problems["check"] == check)]
    assert sorted(probs["patient_id"]) == sorted(patients), err.problems
    assert sorted(probs["row"]) == sorted(_line(p) for p in patients)
    assert probs["expected"].str.contains(expected, regex=False).all()
    assert probs["found"].str.contains(found, regex=False).all()
    if hint is not None:
        assert probs["hint"].str.contains(hint, regex=False).all()
    message = str(err)
    assert message.splitlines()[0].startswith("registry registry.csv: ")
    block = message.split(f"\n{column}:\n", 1)[1]
    block = re.split(r"\n[a-z_()]+:\n", block, maxsplit=1)[0]  # this column's lines only
    lines = [ln for ln in block.splitlines() if expected in ln and found in ln]
    assert lines, f"no line under {column} with {expected!r} and {found!r}:\n{message}"
    for pid in patients:
        assert any(f"{pid} (line {_line(pid)})" in ln for ln in lines), message
    if hint is not None:
        assert any(hint in ln for ln in lines)


Mutation = Callable[[pd.DataFrame], None]

CELL_CASES: list[tuple[str, Mutation, dict]] = [
    (
        "wrong type: text in an integer column",
        lambda f: _set(f, "P003", "age_at_pm_years", "abc"),
        dict(
            column="age_at_pm_years",
            check="type",
            patients=["P003"],
            expected="a whole number",
            found="'abc'",
        ),
    ),
    (
        "wrong type: impossible calendar date",
        lambda f: _set(f, "P005", "date_first_pm", "2020-13-45"),
        dict(
            column="date_first_pm",
            check="type",
            patients=["P005"],
            expected="YYYY-MM-DD",
            found="'2020-13-45'",
            hint="no such calendar date",
        ),
    ),
    (
        "wrong type: day-first date",
        lambda f: _set(f, "P006", "date_last_contact", "23/04/2019"),
        dict(
            column="date_last_contact",
            check="type",
            patients=["P006"],
            expected="YYYY-MM-DD",
            found="'23/04/2019'",
            hint="write dates as YYYY-MM-DD",
        ),
    ),
    (
        "wrong type: decimal comma",
        lambda f: _set(f, "P002", "primary_tumor_size_cm", "12,5"),
        dict(
            column="primary_tumor_size_cm",
            check="type",
            patients=["P002"],
            expected="a number",
            found="'12,5'",
            hint="use a decimal point: 12.5",
        ),
    ),
    (
        "wrong type: fraction in a count",
        lambda f: _set(f, "P003", "lung_metastasis_number", "1.5"),
        dict(
            column="lung_metastasis_number",
            check="type",
            patients=["P003"],
            expected="a whole number",
            found="'1.5'",
        ),
    ),
    (
        "missing value: empty required date",
        lambda f: _set(f, "P004", "date_primary_surgery", None),
        dict(
            column="date_primary_surgery",
            check="not_nullable",
            patients=["P004"],
            expected="may not be empty",
            found="empty",
        ),
    ),
    (
        "missing value: empty category",
        lambda f: _set(f, "P008", "histology", None),
        dict(
            column="histology",
            check="not_nullable",
            patients=["P008"],
            expected="may not be empty",
            found="empty",
        ),
    ),
    (
        "out of range: age 150",
        lambda f: _set(f, "P003", "age_at_pm_years", "150"),
        dict(
            column="age_at_pm_years",
            check="range",
            patients=["P003"],
            expected="between 0 and 110 years",
            found="'150'",
        ),
    ),
    (
        "out of range: lesion 0 mm",
        lambda f: _set(f, "P009", "largest_lung_lesion_mm", "0"),
        dict(
            column="largest_lung_lesion_mm",
            check="range",
            patients=["P009"],
            expected="between 1 and 200 mm",
            found="'0'",
        ),
    ),
    (
        "out of range: zero metastases",
        lambda f: _set(f, "P003", "lung_metastasis_number", "0"),
        dict(
            column="lung_metastasis_number",
            check="range",
            patients=["P003"],
            expected="between 1 and 100",
            found="'0'",
        ),
    ),
    (
        "out of range: negative stay",
        lambda f: _set(f, "P011", "postoperative_stay_days", "-2"),
        dict(
            column="postoperative_stay_days",
            check="range",
            patients=["P011"],
            expected="between 0 and 365 days",
            found="'-2'",
        ),
    ),
    (
        "out of range: date before 1970",
        lambda f: _set(f, "P012", "date_primary_surgery", "1899-05-01"),
        dict(
            column="date_primary_surgery",
            check="range",
            patients=["P012"],
            expected="between 1970-01-01 and 2030-12-31",
            found="'1899-05-01'",
        ),
    ),
    (
        "impossible times: death before PM",
        lambda f: _shift(f, "P004", "date_of_death", "date_first_pm", -1),
        dict(
            column="date_of_death",
            check="death_not_before_first_pm",
            patients=["P004"],
            expected="date_of_death on or after date_first_pm",
            found="date_of_death '",
        ),
    ),
    (
        "impossible times: PM before primary surgery",
        lambda f: _shift(f, "P006", "date_first_pm", "date_primary_surgery", -3),
        dict(
            column="date_first_pm",
            check="first_pm_after_primary_surgery",
            patients=["P006"],
            expected="date_first_pm after date_primary_surgery",
            found="date_primary_surgery '",
        ),
    ),
    (
        "impossible times: PM on the day of primary surgery",
        lambda f: _shift(f, "P006", "date_first_pm", "date_primary_surgery", 0),
        dict(
            column="date_first_pm",
            check="first_pm_after_primary_surgery",
            patients=["P006"],
            expected="date_first_pm after date_primary_surgery",
            found="date_first_pm '",
        ),
    ),
    (
        "impossible times: lung metastasis before primary surgery",
        lambda f: _shift(f, "P003", "date_lung_metastasis_diagnosis", "date_primary_surgery", -10),
        dict(
            column="date_lung_metastasis_diagnosis",
            check="metastasis_not_before_primary_surgery",
            patients=["P003"],
            expected="on or after date_primary_surgery",
            found="date_lung_metastasis_diagnosis '",
        ),
    ),
    (
        "impossible times: lung metastasis after PM",
        lambda f: _shift(f, "P008", "date_lung_metastasis_diagnosis", "date_first_pm", 5),
        dict(
            column="date_lung_metastasis_diagnosis",
            check="metastasis_not_after_first_pm",
            patients=["P008"],
            expected="on or before date_first_pm",
            found="date_first_pm '",
        ),
    ),
    (
        "impossible times: last contact before PM",
        lambda f: _shift(f, "P002", "date_last_contact", "date_first_pm", -1),
        dict(
            column="date_last_contact",
            check="last_contact_not_before_first_pm",
            patients=["P002"],
            expected="date_last_contact on or after date_first_pm",
            found="date_last_contact '",
        ),
    ),
    (
        "impossible times: last contact after death",
        lambda f: _shift(f, "P007", "date_of_death", "date_last_contact", -5),
        dict(
            column="date_last_contact",
            check="last_contact_not_after_death",
            patients=["P007"],
            expected="date_last_contact on or before date_of_death",
            found="date_of_death '",
        ),
    ),
    (
        "contradiction: dead without date of death",
        lambda f: _set(f, "P004", "date_of_death", None),
        dict(
            column="date_of_death",
            check="dead_has_date_of_death",
            patients=["P004"],
            expected="a date_of_death when vital_status is dead",
            found="date_of_death empty",
        ),
    ),
    (
        "contradiction: dead without cause of death",
        lambda f: _set(f, "P010", "cause_of_death", None),
        dict(
            column="cause_of_death",
            check="dead_has_cause_of_death",
            patients=["P010"],
            expected="a cause_of_death when vital_status is dead",
            found="cause_of_death empty",
        ),
    ),
    (
        "contradiction: alive with a date of death",
        lambda f: _set(f, "P002", "date_of_death", "2012-01-01"),
        dict(
            column="date_of_death",
            check="alive_has_no_date_of_death",
            patients=["P002"],
            expected="an empty date_of_death when vital_status is alive",
            found="'2012-01-01'",
        ),
    ),
    (
        "contradiction: alive with a cause of death",
        lambda f: _set(f, "P005", "cause_of_death", "sarcoma"),
        dict(
            column="cause_of_death",
            check="alive_has_no_cause_of_death",
            patients=["P005"],
            expected="an empty cause_of_death when vital_status is alive",
            found="'sarcoma'",
        ),
    ),
    (
        "contradiction: R2 resection without its reason",
        lambda f: _set(f, "P009", "r2_reason", None),
        dict(
            column="r2_reason",
            check="r2_has_reason",
            patients=["P009"],
            expected="an r2_reason when resection_status is r2",
            found="r2_reason empty, resection_status 'r2'",
        ),
    ),
    (
        "contradiction: R0 resection with an R2 reason",
        lambda f: _set(f, "P004", "r2_reason", "pleural_dissemination"),
        dict(
            column="r2_reason",
            check="non_r2_has_no_reason",
            patients=["P004"],
            expected="an empty r2_reason when resection_status is not r2",
            found="r2_reason 'pleural_dissemination', resection_status 'r0'",
        ),
    ),
    (
        "contradiction: R1 resection with an R2 reason",
        lambda f: _set(f, "P006", "r2_reason", "other"),
        dict(
            column="r2_reason",
            check="non_r2_has_no_reason",
            patients=["P006"],
            expected="an empty r2_reason when resection_status is not r2",
            found="resection_status 'r1'",
        ),
    ),
    (
        "contradiction: complication graded without its kind",
        lambda f: _set(f, "P003", "complication_kind", None),
        dict(
            column="complication_kind",
            check="complication_has_kind",
            patients=["P003"],
            expected="a complication_kind when clavien_dindo_grade is not none",
            found="complication_kind empty, clavien_dindo_grade 'II'",
        ),
    ),
    (
        "contradiction: kind of complication without a complication",
        lambda f: _set(f, "P007", "complication_kind", "bleeding"),
        dict(
            column="complication_kind",
            check="no_complication_has_no_kind",
            patients=["P007"],
            expected="an empty complication_kind when clavien_dindo_grade is none",
            found="complication_kind 'bleeding', clavien_dindo_grade 'none'",
        ),
    ),
    (
        "contradiction: bilateral with a single metastasis",
        lambda f: _set(f, "P006", "lung_metastasis_number", "1"),
        dict(
            column="lung_metastasis_distribution",
            check="bilateral_has_two_or_more",
            patients=["P006"],
            expected="2 or more when lung_metastasis_distribution is bilateral",
            found="lung_metastasis_number '1'",
        ),
    ),
]


@pytest.mark.parametrize(
    ("mutate", "problem"), [c[1:] for c in CELL_CASES], ids=[c[0] for c in CELL_CASES]
)
def test_bad_cell_is_reported(tmp_path, mutate, problem):
    frame = valid_registry_frame()
    mutate(frame)
    err = _error(_write(frame, tmp_path))
    assert_reported(err, **problem)


ALLOWED_CASES = [
    ("sex", "P001", "M", "male"),
    ("sex", "P002", "Male", "male"),
    ("sex", "P003", "f", "female"),
    ("resection_status", "P004", "R0", "r0"),
    ("chemotherapy_before_pm", "P005", "Yes", "yes"),
    ("first_pm_elsewhere", "P006", "N", "no"),
    ("primary_site", "P007", "Trunk wall", "trunk_wall"),
    ("clavien_dindo_grade", "P008", "3a", "IIIa"),
    ("vital_status", "P009", "Alive", "alive"),
    ("histology", "P010", "UPS", "undifferentiated_pleomorphic_sarcoma"),
    ("sex", "P011", "male ", "male"),
    ("complication_kind", "P003", "air leak", "prolonged_air_leak"),
    ("complication_kind", "P003", "Hemothorax", "bleeding"),
    ("complication_kind", "P003", "Pneumonia", "pneumonia_atelectasis"),
    ("r2_reason", "P009", "Pleural dissemination", "pleural_dissemination"),
    ("r2_reason", "P009", "debulking", "intentional_debulking"),
]


@pytest.mark.parametrize(("column", "pid", "value", "suggestion"), ALLOWED_CASES)
def test_value_outside_allowed_set_gets_a_hint(tmp_path, column, pid, value, suggestion):
    frame = valid_registry_frame()
    _set(frame, pid, column, value)
    err = _error(_write(frame, tmp_path))
    assert_reported(
        err,
        column=column,
        check="allowed",
        patients=[pid],
        expected="one of: ",
        found=f"'{value}'",
        hint=f"did you mean '{suggestion}'?",
    )


def test_value_without_a_close_match_has_no_misleading_hint(tmp_path):
    frame = valid_registry_frame()
    _set(frame, "P003", "sex", "unknown")
    err = _error(_write(frame, tmp_path))
    assert_reported(
        err,
        column="sex",
        check="allowed",
        patients=["P003"],
        expected="one of: male, female",
        found="'unknown'",
    )
    assert err.problems["hint"].isna().all()


def test_duplicate_patient_ids_are_listed_with_their_rows(tmp_path):
    frame = valid_registry_frame()
    frame.loc[5, "patient_id"] = "P003"  # data row 6 (line 7) repeats P003 (line 4)
    frame.loc[9, "patient_id"] = "P003"  # line 11
    err = _error(_write(frame, tmp_path))
    probs = err.problems[err.problems["check"] == "field_uniqueness"]
    assert probs["column"].eq("patient_id").all()
    assert probs["row"].tolist() == [4, 7, 11]
    assert probs["patient_id"].eq("P003").all()
    assert probs["found"].eq("'P003' on 3 rows").all()
    assert (
        "expected each patient_id once; found 'P003' on 3 rows -- 3 rows: line 4, line 7, line 11"
        in str(err)
    )


def test_missing_patient_id_is_reported_by_line(tmp_path):
    frame = valid_registry_frame()
    frame.loc[4, "patient_id"] = None
    err = _error(_write(frame, tmp_path))
    probs = err.problems
    assert probs[["column", "check", "row"]].values.tolist() == [["patient_id", "not_nullable", 6]]
    assert probs["patient_id"].isna().all()
    assert (
        "patient_id:\n  - expected a value (this column may not be empty); found empty -- 1 row: line 6"
        in str(err)
    )


def test_missing_required_column(tmp_path):
    frame = valid_registry_frame().drop(columns=["sex", "date_of_death"])
    err = _error(_write(frame, tmp_path))
    probs = err.problems[err.problems["check"] == "column_present"]
    assert set(probs["column"]) == {"sex", "date_of_death"}
    assert probs["found"].eq("no such column").all()
    message = str(err)
    assert (
        "sex:\n  - expected a column named 'sex' (category, required); found no such column"
        in message
    )
    assert "date_of_death:\n  - expected a column named 'date_of_death' (date, required)" in message


def test_misspelled_column_header_gets_a_hint(tmp_path):
    frame = valid_registry_frame().rename(columns={"sex": "Sex"})
    with pytest.warns(RegistryWarning, match="Sex"):
        err = _error(_write(frame, tmp_path))
    assert "the file has a column 'Sex'; rename it 'sex'" in str(err)


def test_repeated_column_header(tmp_path):
    text = valid_registry_frame().to_csv(index=False).splitlines()
    text = [line + ",x" for line in text]
    text[0] = text[0].rsplit(",", 1)[0] + ",sex"
    path = tmp_path / "registry.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.warns(RegistryWarning):
        err = _error(path)
    probs = err.problems
    assert probs[["column", "check"]].values.tolist() == [["sex", "header"]]
    assert "expected each column name once; found 'sex' appears 2 times" in str(err)


def test_missing_file(tmp_path):
    err = _error(tmp_path / "no_such_registry.csv")
    assert str(err).startswith("registry no_such_registry.csv: 1 problem found")
    assert "expected an existing registry file; found no file at" in str(err)
    assert err.problems["check"].tolist() == ["file_exists"]


def test_empty_file(tmp_path):
    path = tmp_path / "registry.csv"
    path.write_bytes(b"")
    err = _error(path)
    assert "found an empty file (0 bytes)" in str(err)
    assert err.problems["check"].tolist() == ["not_empty"]


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_empty_binary_file(tmp_path, suffix):
    path = tmp_path / f"registry{suffix}"
    path.write_bytes(b"")
    assert "found an empty file (0 bytes)" in str(_error(path))


def test_header_only(tmp_path):
    path = _write(valid_registry_frame().iloc[:0], tmp_path)
    err = _error(path)
    assert (
        "expected one row per patient below the header; found a header line but no patient rows"
        in str(err)
    )


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_header_only_excel_and_parquet(tmp_path, suffix):
    path = tmp_path / f"registry{suffix}"
    empty = valid_registry_frame().iloc[:0]
    if suffix == ".xlsx":
        empty.to_excel(path, index=False)
    else:
        empty.to_parquet(path, index=False)
    expected = (
        "a header row but no patient rows" if suffix == ".xlsx" else "column names but no rows"
    )
    assert f"expected one row per patient below the header; found {expected}" in str(_error(path))


def test_unknown_extension(tmp_path):
    path = tmp_path / "registry.txt"
    path.write_text("patient_id\nP001\n", encoding="utf-8")
    err = _error(path)
    assert "expected a registry file ending in .csv" in str(err)
    assert "found '.txt'" in str(err)


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "registry.parquet"
    path.write_bytes(b"this is not parquet")
    assert "expected a readable Parquet file" in str(_error(path))


def test_ragged_csv_line(tmp_path):
    lines = valid_registry_frame().to_csv(index=False).splitlines()
    lines[3] += ",extra,values"
    path = tmp_path / "registry.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = _error(path)
    assert "expected the same number of fields on every line" in str(err)
    assert "line 4" in str(err)


def test_semicolon_separated_file_gets_a_hint(tmp_path):
    path = tmp_path / "registry.csv"
    valid_registry_frame().to_csv(path, index=False, sep=";")
    with pytest.warns(RegistryWarning):
        err = _error(path)
    assert "seems to use ';' between values" in str(err)


def test_excel_problems_are_numbered_by_sheet_row(tmp_path):
    frame = valid_registry_frame()
    _set(frame, "P003", "sex", "M")
    path = tmp_path / "registry.xlsx"
    frame.to_excel(path, index=False)
    err = _error(path)
    assert "P003 (sheet row 4)" in str(err)
    assert err.problems["row"].tolist() == [4]


def test_parquet_problems_are_numbered_by_table_row(tmp_path):
    frame = valid_registry_frame()
    _set(frame, "P003", "age_at_pm_years", "150")
    path = tmp_path / "registry.parquet"
    frame.to_parquet(path, index=False)
    err = _error(path)
    assert "P003 (row 3)" in str(err)
    assert "row = row of the Parquet table, counting from 1" in str(err)


def test_all_problems_are_reported_at_once(tmp_path):
    frame = valid_registry_frame()
    _set(frame, "P001", "sex", "M")
    _set(frame, "P002", "age_at_pm_years", "abc")
    _set(frame, "P003", "age_at_pm_years", "150")
    _set(frame, "P004", "date_of_death", None)
    _set(frame, "P005", "date_first_pm", "2020-13-45")
    _set(frame, "P006", "lung_metastasis_number", "1")
    _set(frame, "P008", "resection_status", "R0")
    frame.loc[10, "patient_id"] = "P010"
    frame = frame.drop(columns=["two_stage_pm"])
    err = _error(_write(frame, tmp_path))
    got = set(zip(err.problems["column"], err.problems["check"], strict=True))
    expected = {
        ("sex", "allowed"),
        ("age_at_pm_years", "type"),
        ("age_at_pm_years", "range"),
        ("date_of_death", "dead_has_date_of_death"),
        ("date_first_pm", "type"),
        ("lung_metastasis_distribution", "bilateral_has_two_or_more"),
        ("resection_status", "allowed"),
        ("patient_id", "field_uniqueness"),
        ("two_stage_pm", "column_present"),
    }
    assert got == expected
    assert len(err.problems) == 10  # the duplicate id counts once per row
    message = str(err)
    assert message.splitlines()[0] == "registry registry.csv: 10 problems found"
    for column in {c for c, _ in expected}:
        assert f"\n{column}:\n" in message
    # grouped by column in the dictionary's order
    order = [ln[:-1] for ln in message.splitlines() if ln.endswith(":") and not ln.startswith(" ")]
    assert order == [
        "patient_id",
        "age_at_pm_years",
        "sex",
        "date_first_pm",
        "two_stage_pm",
        "lung_metastasis_distribution",
        "resection_status",
        "date_of_death",
    ]


def test_long_lists_are_capped_in_the_message_but_complete_in_problems(tmp_path):
    frames = []
    for block in range(3):
        part = valid_registry_frame()
        part["patient_id"] = [f"B{block}{i:02d}" for i in range(len(part))]
        frames.append(part)
    frame = pd.concat(frames, ignore_index=True)  # 36 patients
    frame["sex"] = "M"
    err = _error(_write(frame, tmp_path))
    assert len(err.problems) == 36
    message = str(err)
    line = next(ln for ln in message.splitlines() if "found 'M'" in ln)
    assert "36 patients" in line
    assert line.count("(line ") == MESSAGE_LIST_LIMIT
    assert line.endswith(f"... and {36 - MESSAGE_LIST_LIMIT} more")
    assert err.problems["patient_id"].tolist() == frame["patient_id"].tolist()


def test_first_row_without_column_names(tmp_path):
    path = tmp_path / "registry.csv"
    path.write_text(",,\nP001,54,male\n", encoding="utf-8")
    assert "found a first row without any column name" in str(_error(path))


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "registry.csv"
    path.write_bytes(b"patient_id,sex\nP001,m\xe4nnlich\n")
    err = _error(path)
    assert "expected UTF-8 text; found bytes that are not UTF-8" in str(err)
    assert "re-save the file as 'CSV UTF-8'" in str(err)


def test_folder_instead_of_file(tmp_path):
    assert "is a folder" in str(_error(tmp_path))


def test_header_with_spaces_is_reported_not_trimmed(tmp_path):
    frame = valid_registry_frame().rename(columns={"sex": " sex"})
    err = _error(_write(frame, tmp_path))
    assert err.problems[["column", "check"]].values.tolist() == [["sex", "header"]]
    assert (
        "expected column names without surrounding spaces; found ' sex' (rename it 'sex')"
        in str(err)
    )


def test_many_different_bad_values_are_capped_per_check(tmp_path):
    frames = []
    for block in range(3):
        part = valid_registry_frame()
        part["patient_id"] = [f"B{block}{i:02d}" for i in range(len(part))]
        frames.append(part)
    frame = pd.concat(frames, ignore_index=True)  # 36 patients
    frame["age_at_pm_years"] = [f"x{i}" for i in range(len(frame))]  # 36 different bad values
    err = _error(_write(frame, tmp_path))
    assert len(err.problems) == 36
    block = str(err).split("\nage_at_pm_years:\n", 1)[1]
    lines = [ln for ln in block.splitlines() if ln.startswith("  ")]
    assert len(lines) == MESSAGE_LIST_LIMIT + 1
    assert lines[-1] == f"  ... and {36 - MESSAGE_LIST_LIMIT} more different values (see .problems)"


def test_optional_detail_columns_may_be_absent(tmp_path):
    frame = valid_registry_frame().drop(columns=["r2_reason", "complication_kind"])
    registry = load_registry(_write(frame, tmp_path))
    assert len(registry) == len(frame)
    assert "r2_reason" not in registry.columns and "complication_kind" not in registry.columns


def test_detail_rules_name_every_patient_at_fault(tmp_path):
    frame = valid_registry_frame()
    for pid in ("P002", "P011"):
        _set(frame, pid, "resection_status", "r2")
    for pid in ("P005", "P012"):
        _set(frame, pid, "clavien_dindo_grade", "IIIa")
    err = _error(_write(frame, tmp_path))
    assert_reported(
        err, column="r2_reason", check="r2_has_reason", patients=["P002", "P011"],
        expected="an r2_reason when resection_status is r2", found="r2_reason empty",
    )  # fmt: skip
    assert_reported(
        err, column="complication_kind", check="complication_has_kind",
        patients=["P005", "P012"], expected="a complication_kind when clavien_dindo_grade is not none",
        found="clavien_dindo_grade 'IIIa'",
    )  # fmt: skip


def test_unknown_detail_code_lists_the_allowed_codes(tmp_path):
    frame = valid_registry_frame()
    _set(frame, "P003", "complication_kind", "xyz")
    err = _error(_write(frame, tmp_path))
    assert_reported(
        err, column="complication_kind", check="allowed", patients=["P003"],
        expected="one of: prolonged_air_leak, pneumonia_atelectasis, arrhythmia, bleeding",
        found="'xyz'",
    )  # fmt: skip


def test_empty_grade_is_reported_once_not_as_a_missing_kind(tmp_path):
    frame = valid_registry_frame()
    _set(frame, "P005", "clavien_dindo_grade", None)
    err = _error(_write(frame, tmp_path))
    assert set(err.problems["check"]) == {"not_nullable"}
    assert set(err.problems["column"]) == {"clavien_dindo_grade"}
