"""Bring your own registry: the mapping, the example hospital export, the check, the template."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from openpyxl import load_workbook

from helpers import DATA_DIR, PROJECT_ROOT, schema
from helpers.intake import registry
from helpers.intake.mapping import MappingError, apply_mapping, load_mapping
from helpers.intake.registry import (
    EXAMPLE_EXPORT_PATH,
    EXAMPLE_MAPPING,
    EXAMPLE_MAPPING_PATH,
    check_registry,
    main,
)
from helpers.reproduction import params, runner

SHIPPED = DATA_DIR / "registry.csv"


def _text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


# ----------------------------------------------------------------------------- the mapping


@pytest.mark.parametrize(
    ("mapping", "entry"),
    [
        ({"columns": {"Sex": "gender"}}, "columns: Sex"),
        ({"codes": {"gender": {"M": "male"}}}, "codes: gender"),
        ({"codes": {"sex": {"M": "man"}}}, "codes: sex: M"),
        ({"codes": {"sex": {"U": None}}}, "codes: sex: U"),
        ({"codes": {"age_at_pm_years": {"x": "1"}}}, "codes: age_at_pm_years: x"),
        ({"dates": {"date_first_pm": "dd/mm/yyyy"}}, "dates: date_first_pm"),
        ({"dates": {"sex": "%d/%m/%Y"}}, "dates: sex"),
        ({"dates": {"date_of_birth": "%d/%m/%Y"}}, "dates: date_of_birth"),
        ({"units": {"largest_lung_lesion_mm": "inch"}}, "units: largest_lung_lesion_mm"),
        ({"units": {"sex": "cm"}}, "units: sex"),
        ({"units": {"lesion_cm": "cm"}}, "units: lesion_cm"),
        ({"renames": {"Sex": "sex"}}, "renames"),
        ({"columns": {"Sex": "sex", "Gender": "sex"}}, "columns"),
        ({"codes": ["M", "male"]}, "codes"),
    ],
)
def test_bad_mapping_is_an_error_naming_the_entry(mapping: dict, entry: str) -> None:
    with pytest.raises(MappingError, match=f"registry mapping mapping: {entry}: "):
        load_mapping(mapping)


def test_bad_mapping_file_errors(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="no file"):
        load_mapping(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("columns: [1,\n")
    with pytest.raises(MappingError, match="not valid YAML"):
        load_mapping(broken)
    (tmp_path / "m.yaml").write_text("codes:\n  sex: {M: mal}\n")
    with pytest.raises(MappingError, match=r"m.yaml: codes: sex: M: 'mal' is not a code"):
        schema.load_registry(SHIPPED, mapping=tmp_path / "m.yaml")


def test_yaml_numbers_and_booleans_are_codes() -> None:
    m = load_mapping({"codes": {"chemotherapy_before_pm": {1: "yes", 0: "no"}}})
    assert m.codes == {"chemotherapy_before_pm": {"1": "yes", "0": "no"}}


def test_apply_mapping_dates_units_codes() -> None:
    m = load_mapping(
        {
            "columns": {"DoD": "date_of_death", "Lesion": "largest_lung_lesion_mm"},
            "dates": {"date_of_death": ["%d.%m.%Y", "excel_serial"]},
            "units": {"largest_lung_lesion_mm": "cm"},
            "codes": {"cause_of_death": {"n/a": None}},
        }
    )
    frame = pd.DataFrame(
        {
            "DoD": ["31.12.2010", "40543", "2010-12-31", None, "31/12/2010"],
            "Lesion": ["1.3", "0.7", "abc", None, "2"],
            "cause_of_death": ["n/a", "sarcoma", None, "n/a", "other"],
        }
    )
    out, notes = apply_mapping(frame, m)
    assert out["date_of_death"].tolist() == [
        "2010-12-31", "2010-12-31", "2010-12-31", None, "31/12/2010"
    ]  # fmt: skip
    assert out["largest_lung_lesion_mm"].tolist() == ["13", "7", "abc", None, "20"]
    assert out["cause_of_death"].tolist()[:3] == [None, "sarcoma", None]
    assert set(notes["check"]) == {"mapped"}
    # one note per renamed column and per distinct changed value, with its row count
    assert len(notes) == 2 + 2 + 3 + 1
    code_note = notes[notes["column"].eq("cause_of_death")].iloc[0]
    assert (code_note["found"], code_note["expected"]) == ("n/a", "(empty)")
    assert code_note["hint"].endswith("2 rows")


def test_unmapped_value_is_a_problem_with_the_usual_hint(tmp_path: Path) -> None:
    text = _text(SHIPPED)
    text.loc[0, "sex"] = "Male"
    text.loc[1, "sex"] = "M"
    path = tmp_path / "r.csv"
    text.to_csv(path, index=False)
    with pytest.raises(schema.RegistryError) as info:
        schema.load_registry(path, mapping={"codes": {"sex": {"M": "male"}}})
    problems = info.value.problems
    real = problems[problems["check"].ne("mapped")]
    assert real[["column", "patient_id", "found"]].values.tolist() == [["sex", "SYN-001", "'Male'"]]
    assert "'male'" in real["hint"].iloc[0] and "codes: sex" in real["hint"].iloc[0]
    notes = problems[problems["check"].eq("mapped")]
    assert notes[["found", "expected"]].values.tolist() == [["M", "male"]]
    assert "notes on values the mapping changed" in str(info.value)


# ----------------------------------------------------------------------------- the example export


def test_example_export_is_current(tmp_path: Path) -> None:
    """The committed example is what `python -m helpers.intake.registry example-export` writes now."""
    export, mapping = tmp_path / "export.csv", tmp_path / "mapping.yaml"
    registry.write_example_export(SHIPPED, export, mapping)
    assert export.read_bytes() == EXAMPLE_EXPORT_PATH.read_bytes(), (
        "regenerate: python -m helpers.intake.registry example-export"
    )
    assert mapping.read_bytes() == EXAMPLE_MAPPING_PATH.read_bytes()


def test_example_export_is_in_local_dress() -> None:
    export = _text(EXAMPLE_EXPORT_PATH)
    assert not set(EXAMPLE_MAPPING["columns"].values()) & set(export.columns)
    assert set(export["Sex"]) == {"M", "F"}
    assert export["Date of PM"].str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
    assert export["Date of death"].dropna().str.fullmatch(r"\d{5}").all()
    assert len(export.columns) == len(
        _text(SHIPPED).columns
    )  # columns it does not dress pass through


def test_example_export_maps_to_the_shipped_registry() -> None:
    mapped, notes = schema.load_registry_with_notes(
        EXAMPLE_EXPORT_PATH, mapping=EXAMPLE_MAPPING_PATH
    )
    pd.testing.assert_frame_equal(mapped, schema.load_registry(SHIPPED))
    assert set(notes["check"]) == {"mapped"} and notes["patient_id"].isna().all()
    assert set(EXAMPLE_MAPPING["columns"].values()) <= set(notes["column"])


def _planted(tmp_path: Path) -> tuple[Path, set[tuple[str, str, str]]]:
    """The example export with five real mistakes; returns it and the expected problems."""
    text = _text(EXAMPLE_EXPORT_PATH)
    pid = text["Patient No"]
    dead = int(text.index[text["Status"].eq("D")][0])
    text.loc[2, "Sex"] = "X"  # a code the mapping does not know
    text.loc[9, "Date of PM"] = "31/02/2011"  # no such date
    text.loc[19, "Largest lesion (cm)"] = "25"  # 250 mm: out of range after conversion
    text.loc[29, "Margin"] = "R3"  # no such margin
    text.loc[dead, "Date of death"] = "30000"  # 1982: before the metastasectomy
    path = tmp_path / "planted.csv"
    text.to_csv(path, index=False)
    expected = {
        ("sex", pid[2], "allowed"),
        ("date_first_pm", pid[9], "type"),
        ("largest_lung_lesion_mm", pid[19], "range"),
        ("resection_status", pid[29], "allowed"),
        ("date_of_death", pid[dead], "death_not_before_first_pm"),
        ("date_last_contact", pid[dead], "last_contact_not_after_death"),
    }
    return path, expected


def test_check_reports_exactly_the_planted_mistakes(tmp_path: Path) -> None:
    path, expected = _planted(tmp_path)
    code = main(
        [
            "check",
            str(path),
            "--mapping",
            str(EXAMPLE_MAPPING_PATH),
            "--report",
            str(tmp_path / "rep"),
        ]
    )
    assert code == 1
    report = pd.read_csv(tmp_path / "rep" / "problems.csv", dtype=str)
    problems = report[report["kind"].eq("problem")]
    assert set(map(tuple, problems[["column", "patient_id", "check"]].values)) == expected
    assert len(problems) == len(expected)
    assert problems["row"].notna().all() and problems["expected"].notna().all()
    assert report[report["kind"].eq("note")]["check"].eq("mapped").all()
    summary = (tmp_path / "rep" / "summary.txt").read_text()
    assert "NOT valid (6 problems)" in summary and "sex / allowed" in summary
    page = (tmp_path / "rep" / "problems.html").read_text()
    assert "<script>" in page and "http" not in page.lower().replace("http-equiv", "")
    assert page.count("<tr>") == len(report) + 1


def test_fixed_export_checks_valid(tmp_path: Path) -> None:
    code = main(
        [
            "check",
            str(EXAMPLE_EXPORT_PATH),
            "--mapping",
            str(EXAMPLE_MAPPING_PATH),
            "--report",
            str(tmp_path),
        ]
    )
    assert code == 0
    report = pd.read_csv(tmp_path / "problems.csv")
    assert report["kind"].eq("note").all()
    assert "valid (0 problems)" in (tmp_path / "summary.txt").read_text()


def test_check_without_mapping_fails_on_names(tmp_path: Path) -> None:
    result = check_registry(EXAMPLE_EXPORT_PATH)
    assert not result.valid
    assert set(result.problems["check"]) == {"column_present"}
    assert result.notes.empty


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["check", "data/registry.csv"],  # no --report
        ["check", "no-such-file.csv", "--report", "{tmp}"],
        ["check", str(SHIPPED), "--mapping", "no-such-mapping.yaml", "--report", "{tmp}"],
        ["frobnicate"],
    ],
)
def test_check_usage_errors_exit_2(argv: list[str], tmp_path: Path, capsys) -> None:
    argv = [a.replace("{tmp}", str(tmp_path / "rep")) for a in argv]
    assert main(argv) == 2
    assert not (tmp_path / "rep").exists()  # nothing written on a usage error


def test_check_bad_mapping_exit_2(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("columns: {Sex: gender}\n")
    assert (
        main(
            [
                "check",
                str(EXAMPLE_EXPORT_PATH),
                "--mapping",
                str(bad),
                "--report",
                str(tmp_path / "r"),
            ]
        )
        == 2
    )
    assert "columns: Sex" in capsys.readouterr().err


def test_check_command_line_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "helpers.intake.registry", "check", str(SHIPPED), "--report", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "valid (0 problems)" in done.stdout


# ----------------------------------------------------------------------------- the template


def _typed_cell(value: str, spec: schema.ColumnSpec):
    if pd.isna(value):
        return None
    if spec.type == "date":
        return datetime.strptime(value, "%Y-%m-%d")
    if spec.type == "integer":
        return int(value)
    if spec.type == "number":
        return float(value)
    return value


def test_template_round_trips(tmp_path: Path) -> None:
    path = registry.write_template(tmp_path / "t.xlsx", rows=200)
    book = load_workbook(path)
    sheet = book["registry"]
    dictionary = schema.load_data_dictionary()
    header = [c.value for c in sheet[1]]
    assert header == list(dictionary.names)
    text = _text(SHIPPED)
    for r, record in enumerate(text.itertuples(index=False), start=2):
        for c, (value, spec) in enumerate(zip(record, dictionary.columns, strict=True), start=1):
            sheet.cell(row=r, column=c, value=_typed_cell(value, spec))
    book.save(path)
    pd.testing.assert_frame_equal(schema.load_registry(path), schema.load_registry(SHIPPED))


def test_template_validation_and_messages(tmp_path: Path) -> None:
    book = load_workbook(registry.write_template(tmp_path / "t.xlsx", rows=50))
    dictionary = schema.load_data_dictionary()
    assert book.sheetnames[:2] == ["registry", "dictionary"]
    rules = {
        str(dv.sqref).split(":")[0].rstrip("0123456789"): dv
        for dv in book["registry"].data_validations.dataValidation
    }
    lists = book["lists"]
    for i, spec in enumerate(dictionary.columns, start=1):
        letter = book["registry"].cell(row=1, column=i).column_letter
        rule = rules[letter]
        assert spec.meaning[:40] in rule.prompt
        if spec.unit and spec.unit != "date":
            assert f"Unit: {spec.unit}" in rule.prompt
        if spec.allowed is not None:
            assert rule.type == "list"
            codes = [lists.cell(row=r, column=i).value for r in range(2, len(spec.allowed) + 2)]
            assert tuple(codes) == spec.allowed
        elif spec.type == "date":
            lo = spec.minimum
            assert rule.type == "date" and rule.formula1 == f"DATE({lo.year},{lo.month},{lo.day})"
        elif spec.type in ("integer", "number") and spec.minimum is not None:
            assert rule.type == ("whole" if spec.type == "integer" else "decimal")
            assert float(rule.formula1) == spec.minimum and float(rule.formula2) == spec.maximum
    readable = [[c.value for c in row] for row in book["dictionary"].iter_rows()]
    assert [r[0] for r in readable[1:]] == list(dictionary.names)


def test_template_follows_the_dictionary(tmp_path: Path) -> None:
    """A column added to the dictionary appears in the template with no code change."""
    text = (DATA_DIR / "data_dictionary.yaml").read_text(encoding="utf-8")
    extra = (
        "\n  - name: smoking_status\n    type: category\n    required: false\n    nullable: true\n"
        "    unit: null\n    allowed: [never, former, current]\n    meaning: Smoking history.\n"
    )
    dictionary = tmp_path / "dd.yaml"
    dictionary.write_text(text.rstrip("\n") + "\n" + extra, encoding="utf-8")
    book = load_workbook(
        registry.write_template(tmp_path / "t.xlsx", dictionary_path=dictionary, rows=5)
    )
    assert [c.value for c in book["registry"][1]][-1] == "smoking_status"
    assert main(["template", "--output", str(tmp_path / "cli.xlsx"), "--rows", "5"]) == 0


# ----------------------------------------------------------------------------- notebooks, runner


def test_every_notebook_that_loads_the_registry_takes_a_mapping() -> None:
    for path in sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        if "load_registry(registry_path" not in code and "cohort.prepare(" not in code:
            continue
        params = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert '\nregistry_mapping: str = ""' in f"\n{params}", path.name
        assert ("load_registry(registry_path, mapping=registry_mapping or None)" in code
                or "prepare(\n    registry_path, mapping=registry_mapping," in code), path.name


def test_runner_accepts_registry_mapping(tmp_path: Path) -> None:
    declared = params.read_parameters(runner.list_notebooks())
    assert params.validate_parameters({"registry_mapping": ""}, declared) == {"registry_mapping": ""}
    given = params.absolute_paths({"registry_mapping": "m.yaml"}, declared, tmp_path)
    assert given["registry_mapping"] == str(tmp_path / "m.yaml")
    with pytest.raises(params.ParameterError, match="registry_mapping: file not found"):
        runner.run_collection({"registry_mapping": str(tmp_path / "absent.yaml")}, tmp_path / "o")


def test_collection_on_the_mapped_export_gives_the_same_table1(tmp_path: Path, collection_run: Path) -> None:
    """The example hospital export, read through its mapping, gives the shipped run's tables.

    Notebook 01 reads the registry the way every notebook does (a static test above checks that
    each one passes ``registry_mapping`` on); the tables it writes are the comparison.
    """
    mapped = runner.run_collection(
        {"registry_path": str(EXAMPLE_EXPORT_PATH), "registry_mapping": str(EXAMPLE_MAPPING_PATH)},
        tmp_path / "mapped",
        only=["01"],
        html=False,
    )
    assert mapped.status == "ok"
    manifest = json.loads((tmp_path / "mapped" / "manifest.json").read_text())
    mapping = tmp_path / "mapped" / manifest["registry_mapping"]["path"]  # relative to the run folder
    assert mapping.resolve() == EXAMPLE_MAPPING_PATH.resolve()
    for name in ("table1", "cohort_flow"):
        pd.testing.assert_frame_equal(
            pd.read_csv(tmp_path / "mapped" / "tables" / f"{name}.csv"),
            pd.read_csv(collection_run / "tables" / f"{name}.csv"),
        )
    assert (tmp_path / "mapped" / "tables" / "perioperative.csv").is_file()


def test_quick_sweep_reads_a_mapped_export_as_the_shipped_registry() -> None:
    """Notebook 04's quick sweep takes the run's mapping: the export gives the shipped numbers."""
    from helpers.reproduction import sweep

    grid = {"dfi_cutoff_months": [18]}
    mapped = sweep.quick_sweep(EXAMPLE_EXPORT_PATH, grid, mapping=EXAMPLE_MAPPING_PATH)
    pd.testing.assert_frame_equal(mapped, sweep.quick_sweep("", grid))
