"""Bring your own registry: a mapping for local names and codes, a fill-in template, a check.

A hospital export rarely uses the data dictionary's names and codes. A *registry mapping* (a
small YAML file) says how to read it; ``helpers.schema.load_registry(path, mapping=...)`` applies it
before validation. ``python -m helpers.intake.registry`` offers three commands:

``template --output FILE.xlsx``
    An Excel workbook generated from ``data/data_dictionary.yaml``: a fill-in sheet with drop-down
    lists, date and number validation and an input message per column, and the dictionary.
``check FILE [--mapping M] --report DIR``
    Validates without any analysis; writes ``problems.csv``, ``problems.html`` (sortable,
    filterable, no server) and ``summary.txt``. Exit 0 valid, 1 invalid, 2 usage error.
``example-export``
    Rewrites ``data/example_hospital_export.csv`` and its mapping from ``data/registry.csv``.

The mapping format is described in :mod:`helpers.intake.mapping` (the core applies a mapping when
it loads a registry; this module adds the check, the template and the example export).
"""

from __future__ import annotations

import argparse
import html
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from helpers import DATA_DIR
from helpers.intake.mapping import (  # re-exported: the check and the template use the mapping
    EXCEL_EPOCH,
    EXCEL_SERIAL,
    NOTE_CHECK,
    UNIT_FACTORS,
    MappingError,
    RegistryMapping,
    _convert_units,
    load_mapping,
)
from helpers.intake.problems import PROBLEM_COLUMNS, RegistryError
from helpers.schema import DATA_DICTIONARY_PATH, load_data_dictionary

#: The example hospital export and its mapping, made from the shipped registry.
EXAMPLE_EXPORT_PATH: Path = DATA_DIR / "example_hospital_export.csv"
EXAMPLE_MAPPING_PATH: Path = DATA_DIR / "example_hospital_mapping.yaml"


def data_dictionary_table(path: str | Path = DATA_DICTIONARY_PATH) -> pd.DataFrame:
    """The data dictionary as a table for notebooks and the README.

    Parameters
    ----------
    path
        The dictionary file; the shipped one by default.

    Returns
    -------
    pandas.DataFrame
        One row per column: ``name``, ``type``, ``unit``, ``allowed_or_range`` (allowed values
        or inclusive range; "empty allowed" is appended for nullable columns), ``meaning`` and
        ``paper`` (the paper's variable; empty if none).

    Example
    -------
    >>> data_dictionary_table().set_index("name").loc["age_at_pm_years", "allowed_or_range"]
    '0 to 110'
    """
    dictionary = load_data_dictionary(path)
    rows = []
    for spec in dictionary.columns:
        allowed = spec.allowed_or_range
        if spec.nullable:
            allowed = f"{allowed} (empty allowed)" if allowed else "empty allowed"
        rows.append({"name": spec.name, "type": spec.type, "unit": spec.unit or "", "allowed_or_range": allowed,
                     "meaning": spec.meaning, "paper": " ".join(str(spec.paper).split()) if spec.paper else ""})
    return pd.DataFrame(rows, columns=["name", "type", "unit", "allowed_or_range", "meaning", "paper"])


# --------------------------------------------------------------------------------------------
# The check a data manager runs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check_registry` found.

    Attributes
    ----------
    valid
        The file (after the mapping) passes every check.
    problems
        The problems (columns of ``RegistryError.problems``); empty when valid.
    notes
        The mapping's notes (``check == "mapped"``); empty without a mapping.
    source, row_numbering
        The file name and what the ``row`` column counts.
    """

    valid: bool
    problems: pd.DataFrame
    notes: pd.DataFrame
    source: str
    row_numbering: str


def check_registry(
    path: str | Path,
    mapping: str | Path | Mapping | RegistryMapping | None = None,
    *,
    dictionary_path: str | Path = DATA_DICTIONARY_PATH,
) -> CheckResult:
    """Validate a registry file (after an optional mapping) without any analysis.

    Parameters
    ----------
    path
        The registry file (CSV, Excel or Parquet).
    mapping
        A registry mapping (file or dict), or ``None``.
    dictionary_path
        The data dictionary.

    Returns
    -------
    CheckResult

    Example
    -------
    >>> from helpers import DATA_DIR
    >>> check_registry(DATA_DIR / "registry.csv").valid
    True
    """
    from helpers.schema import load_registry_with_notes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, notes = load_registry_with_notes(
                path, mapping=mapping, dictionary_path=dictionary_path
            )
        except RegistryError as exc:
            notes = exc.problems["check"].eq(NOTE_CHECK)
            return CheckResult(
                False,
                exc.problems[~notes].reset_index(drop=True),
                exc.problems[notes].reset_index(drop=True),
                exc.source,
                exc.row_numbering,
            )
    empty = pd.DataFrame(columns=list(PROBLEM_COLUMNS))
    return CheckResult(True, empty, notes, Path(path).name, "")


def summarise_problems(result: CheckResult) -> str:
    """``summary.txt`` of a :class:`CheckResult`: counts of problems by column and check, and of the notes.

    >>> from helpers import DATA_DIR
    >>> summarise_problems(check_registry(DATA_DIR / "registry.csv")).splitlines()[0]
    'registry.csv: valid (0 problems)'
    """
    n = len(result.problems)
    state = "valid" if result.valid else "NOT valid"
    lines = [f"{result.source}: {state} ({n} problem{'s' if n != 1 else ''})"]
    if result.row_numbering:
        lines.append(f"row: {result.row_numbering}")
    if n:
        counts = result.problems.groupby(["column", "check"], sort=False).size()
        lines.append("")
        lines.append("problems by column and check:")
        width = max(len(f"{c} / {k}") for c, k in counts.index)
        lines += [f"  {f'{c} / {k}':<{width}}  {v}" for (c, k), v in counts.items()]
    if len(result.notes):
        counts = result.notes.groupby("column", sort=False).size()
        lines += ["", "values changed by the mapping (notes, not problems), by column:"]
        lines += [f"  {c}  {v}" for c, v in counts.items()]
    return "\n".join(lines) + "\n"


_SCRIPT = """
document.querySelectorAll('th').forEach((th, i) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0];
  const dir = th.dataset.dir === 'asc' ? -1 : 1; th.dataset.dir = dir > 0 ? 'asc' : 'desc';
  const key = r => r.cells[i].textContent;
  const num = s => s !== '' && !isNaN(s);
  [...body.rows].sort((a, b) => { const x = key(a), y = key(b);
    return dir * (num(x) && num(y) ? x - y : x.localeCompare(y)); })
    .forEach(r => body.appendChild(r));
}));
document.getElementById('filter').addEventListener('input', e => {
  const q = e.target.value.toLowerCase();
  document.querySelectorAll('tbody tr').forEach(r =>
    r.style.display = r.textContent.toLowerCase().includes(q) ? '' : 'none');
});
"""


def problems_html(report: pd.DataFrame, title: str) -> str:
    """A self-contained HTML page of the report: click a header to sort, type to filter.

    Plain HTML with a 15-line inline script, so that it opens from disk in any browser with no
    server, no network and nothing to install (a data manager's machine).

    Parameters
    ----------
    report
        The rows to show (:func:`report_frame`).
    title
        The page title.

    Returns
    -------
    str

    Example
    -------
    >>> "<table" in problems_html(pd.DataFrame({"column": ["sex"]}), "check")
    True
    """
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in report.columns)
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape('' if pd.isna(v) else str(v))}</td>" for v in r)
        + "</tr>"
        for r in report.itertuples(index=False)
    )
    style = (
        "body{font-family:sans-serif}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:3px 6px;text-align:left}"
        "th{cursor:pointer;background:#eee}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>"
        "<p>Click a column header to sort; type to filter. Patient-level data: keep it where the "
        "registry itself is kept.</p><input id='filter' placeholder='filter rows'>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


def report_frame(result: CheckResult) -> pd.DataFrame:
    """A :class:`CheckResult`'s problems, then its notes: ``kind`` (problem/note) and the problem columns.

    >>> from helpers import DATA_DIR
    >>> list(report_frame(check_registry(DATA_DIR / "registry.csv")).columns)[:2]
    ['kind', 'column']
    """
    parts = [
        frame.assign(kind=kind)
        for frame, kind in ((result.problems, "problem"), (result.notes, "note"))
        if len(frame)
    ]
    if not parts:
        return pd.DataFrame(columns=["kind", *PROBLEM_COLUMNS])
    out = pd.concat(parts, ignore_index=True)
    return out[["kind", *PROBLEM_COLUMNS]]


def write_check_report(result: CheckResult, report_dir: str | Path) -> list[Path]:
    """Write ``problems.csv``, ``problems.html`` and ``summary.txt`` into ``report_dir``.

    Parameters
    ----------
    result
        A :class:`CheckResult`.
    report_dir
        The folder (created if absent). Only here is anything written.

    Returns
    -------
    list of pathlib.Path
        The three files.

    Example
    -------
    >>> import tempfile
    >>> from helpers import DATA_DIR
    >>> result = check_registry(DATA_DIR / "example_hospital_export.csv",
    ...                         mapping=DATA_DIR / "example_hospital_mapping.yaml")
    >>> [p.name for p in write_check_report(result, tempfile.mkdtemp())]
    ['problems.csv', 'problems.html', 'summary.txt']
    """
    folder = Path(report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    report = report_frame(result)
    files = [folder / "problems.csv", folder / "problems.html", folder / "summary.txt"]
    report.to_csv(files[0], index=False)
    files[1].write_text(problems_html(report, f"Registry check: {result.source}"), encoding="utf-8")
    files[2].write_text(summarise_problems(result), encoding="utf-8")
    return files


# --------------------------------------------------------------------------------------------
# The example hospital export (the shipped registry in local dress)
# --------------------------------------------------------------------------------------------

#: The example hospital's column names, codes, date formats and units (made up). Columns of the
#: dictionary not named here keep their dictionary names and codes in the export.
EXAMPLE_MAPPING: dict = {
    "columns": {
        "Patient No": "patient_id",
        "Age at PM": "age_at_pm_years",
        "Sex": "sex",
        "Primary site": "primary_site",
        "PM elsewhere": "first_pm_elsewhere",
        "Histology": "histology",
        "Primary size (cm)": "primary_tumor_size_cm",
        "Date of surgery": "date_primary_surgery",
        "Date lung mets": "date_lung_metastasis_diagnosis",
        "Date of PM": "date_first_pm",
        "Two-stage PM": "two_stage_pm",
        "Laterality": "lung_metastasis_distribution",
        "No. of mets": "lung_metastasis_number",
        "Largest lesion (cm)": "largest_lung_lesion_mm",
        "Procedure": "resection_type",
        "Margin": "resection_status",
        "R2 reason": "r2_reason",
        "Chemo pre": "chemotherapy_before_pm",
        "Chemo post": "chemotherapy_after_pm",
        "Clavien-Dindo": "clavien_dindo_grade",
        "Complication": "complication_kind",
        "LOS": "postoperative_stay_days",
        "Status": "vital_status",
        "Last contact": "date_last_contact",
        "Date of death": "date_of_death",
        "Cause of death": "cause_of_death",
    },
    "codes": {
        "sex": {"M": "male", "F": "female"},
        "primary_site": {
            "TW": "trunk_wall",
            "EXT": "extremities",
            "ORG": "parenchymal_organ",
            "MED": "mediastinum",
            "RP": "retroperitoneum",
            "HN": "head_and_neck",
        },
        "first_pm_elsewhere": {"Y": "yes", "N": "no"},
        "histology": {
            "SS": "synovial_sarcoma",
            "UPS": "undifferentiated_pleomorphic_sarcoma",
            "MFS": "myxofibrosarcoma",
            "LMS": "leiomyosarcoma",
        },
        "two_stage_pm": {"Y": "yes", "N": "no"},
        "lung_metastasis_distribution": {"uni": "unilateral", "bi": "bilateral"},
        "resection_type": {
            "WW": "wide_wedge_resection",
            "SEG": "segmentectomy",
            "LOB": "lobectomy",
        },
        "resection_status": {"R0": "r0", "R1": "r1", "R2": "r2"},
        "r2_reason": {
            "PD": "pleural_dissemination",
            "UNRES": "unresectable_residual_nodule",
            "DEBULK": "intentional_debulking",
            "OTH": "other",
        },
        "chemotherapy_before_pm": {"1": "yes", "0": "no"},
        "chemotherapy_after_pm": {"1": "yes", "0": "no"},
        "clavien_dindo_grade": {"0": "none"},
        "complication_kind": {
            "AL": "prolonged_air_leak",
            "PNA": "pneumonia_atelectasis",
            "ARR": "arrhythmia",
            "BLD": "bleeding",
            "CHY": "chylothorax",
            "WND": "wound_complication",
            "OTH": "other",
        },
        "vital_status": {"A": "alive", "D": "dead"},
        "cause_of_death": {"DOD": "sarcoma", "DOC": "other", "UNK": "unknown"},
    },
    "dates": {"default": "%d/%m/%Y", "date_of_death": EXCEL_SERIAL},
    "units": {"largest_lung_lesion_mm": "cm"},
}

_MAPPING_HEADER = """\
# Registry mapping of the (made-up) Example Hospital export, data/example_hospital_export.csv.
# Written by `python -m helpers.intake.registry example-export` from helpers.intake.registry.EXAMPLE_MAPPING;
# copy it as a start for your own hospital's mapping. Use it with
#   python -m helpers.intake.registry check data/example_hospital_export.csv \\
#       --mapping data/example_hospital_mapping.yaml --report outputs/check
#   load_registry(path, mapping="data/example_hospital_mapping.yaml")
#
# columns: local column name -> data dictionary column name
# codes:   per dictionary column, local code -> dictionary code (null: an empty cell)
# dates:   per dictionary date column (or `default`): a strftime format such as "%d/%m/%Y",
#          or excel_serial (days since 1899-12-30), or a list of them tried in order
# units:   per dictionary number column: the unit the file uses (converted to the dictionary's)
# Values the mapping does not name are left as they are and validated as usual.
"""


def _dress_column(values: pd.Series, column: str, mapping: RegistryMapping) -> pd.Series:
    """One dictionary column in the example hospital's form (the inverse of the mapping)."""
    out = values
    if column in mapping.units:
        unit, target = mapping.units[column]
        out = _convert_units(out, UNIT_FACTORS[(target, unit)])
    if column in mapping.dates:
        fmt = mapping.dates[column][0]
        days = pd.to_datetime(out, format="%Y-%m-%d")
        if fmt == EXCEL_SERIAL:
            out = ((days - pd.Timestamp(EXCEL_EPOCH)).dt.days).astype("Int64").astype(str)
        else:
            out = days.dt.strftime(fmt)
        out = out.where(values.notna(), None)
    if column in mapping.codes:
        inverse = {code: local for local, code in mapping.codes[column].items()}
        out = out.map(lambda v: inverse.get(v, v) if isinstance(v, str) else v)
    return out


def make_example_export(
    registry_text: pd.DataFrame, mapping: Mapping | RegistryMapping = EXAMPLE_MAPPING
) -> pd.DataFrame:
    """The registry in a hospital's local dress: the exact inverse of ``mapping``.

    Parameters
    ----------
    registry_text
        A registry in dictionary form, every cell text (``pd.read_csv(..., dtype=str)``).
    mapping
        The local dress; :data:`EXAMPLE_MAPPING` by default.

    Returns
    -------
    pandas.DataFrame
        Same rows; local column names, codes, date formats and units. Reading it back with the
        mapping gives the registry again.

    Example
    -------
    >>> reg = pd.DataFrame({"sex": ["male"], "largest_lung_lesion_mm": ["15.0"]})
    >>> make_example_export(reg).to_dict("records")
    [{'Sex': 'M', 'Largest lesion (cm)': '1.5'}]
    """
    checked = load_mapping(mapping)
    local_name = {name: local for local, name in checked.columns.items()}
    out = pd.DataFrame(index=registry_text.index)
    for column in registry_text.columns:
        out[local_name.get(column, column)] = _dress_column(registry_text[column], column, checked)
    return out


def write_example_export(
    registry_path: str | Path = DATA_DIR / "registry.csv",
    export_path: str | Path = EXAMPLE_EXPORT_PATH,
    mapping_path: str | Path = EXAMPLE_MAPPING_PATH,
) -> list[Path]:
    """Write the example hospital export and its mapping YAML (deterministic: same input, same bytes).

    Parameters
    ----------
    registry_path
        The registry in dictionary form (the shipped one by default).
    export_path, mapping_path
        Where to write the export (CSV) and the mapping (YAML).

    Returns
    -------
    list of pathlib.Path

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> paths = write_example_export(export_path=folder / "export.csv",
    ...                              mapping_path=folder / "mapping.yaml")
    >>> paths[0].read_bytes() == EXAMPLE_EXPORT_PATH.read_bytes()
    True
    """
    text = pd.read_csv(registry_path, dtype=str, keep_default_na=False, na_values=[""])
    make_example_export(text).to_csv(export_path, index=False, lineterminator="\n")
    body = yaml.safe_dump(EXAMPLE_MAPPING, sort_keys=False, allow_unicode=True, width=100)
    Path(mapping_path).write_text(_MAPPING_HEADER + "\n" + body, encoding="utf-8")
    return [Path(export_path), Path(mapping_path)]


# --------------------------------------------------------------------------------------------
# The fill-in template (Excel)
# --------------------------------------------------------------------------------------------


def _validation(spec, max_row: int):
    """The openpyxl data validation of one column (``None`` for free text)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    if spec.allowed is not None:
        return DataValidation(
            type="list", formula1=f"=lists!${{col}}$2:${{col}}${len(spec.allowed) + 1}"
        )
    kinds = {"integer": "whole", "number": "decimal", "date": "date"}
    if spec.type not in kinds or (spec.minimum is None and spec.maximum is None):
        return None

    def limit(value, fallback):
        if value is None:
            return fallback
        if isinstance(value, pd.Timestamp):
            return f"DATE({value.year},{value.month},{value.day})"
        return f"{value:g}"

    low, high = limit(spec.minimum, "-1E+300"), limit(spec.maximum, "1E+300")
    return DataValidation(type=kinds[spec.type], operator="between", formula1=low, formula2=high)


def _input_message(spec) -> tuple[str, str]:
    unit = f" Unit: {spec.unit}." if spec.unit and spec.unit != "date" else ""
    fmt = " A date (YYYY-MM-DD)." if spec.type == "date" else ""
    rng = f" Allowed: {spec.allowed_or_range}." if spec.allowed_or_range else ""
    empty = " May be empty." if spec.nullable else " Required."
    text = f"{spec.meaning}{unit}{fmt}{rng}{empty}"
    return spec.name[:32], text[:255]  # Excel's limits for the title and the message


def _template_column(sheet, lists, i: int, spec, rows: int) -> None:
    """Header, width, date format, drop-down codes and validation of the ``i``-th column."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    letter = get_column_letter(i)
    sheet.cell(row=1, column=i, value=spec.name).font = Font(bold=True)
    sheet.column_dimensions[letter].width = max(12, min(len(spec.name) + 2, 40))
    if spec.type == "date":
        for r in range(2, rows + 2):
            sheet.cell(row=r, column=i).number_format = "yyyy-mm-dd"
    if spec.allowed is not None:
        lists.cell(row=1, column=i, value=spec.name)
        for r, code in enumerate(spec.allowed, start=2):
            lists.cell(row=r, column=i, value=code)
    rule = _validation(spec, rows) or DataValidation(type=None)
    if rule.formula1 and "{col}" in rule.formula1:
        rule.formula1 = rule.formula1.replace("{col}", letter)
    rule.promptTitle, rule.prompt = _input_message(spec)
    rule.showInputMessage = True
    rule.showErrorMessage = rule.type is not None
    rule.allow_blank = True
    rule.error = f"Expected: {spec.allowed_or_range or spec.type}"
    sheet.add_data_validation(rule)
    rule.add(f"{letter}2:{letter}{rows + 1}")


def write_template(
    output: str | Path, *, dictionary_path: str | Path = DATA_DICTIONARY_PATH, rows: int = 1000
) -> Path:
    """Write the fill-in Excel workbook generated from the data dictionary.

    Sheet ``registry``: the header row (frozen), one data validation per column for ``rows`` rows
    (drop-down lists of every category column's codes, whole numbers, decimals and dates within
    the dictionary's ranges) with an input message giving the column's meaning and unit. Sheet
    ``dictionary``: the dictionary in readable form. Sheet ``lists`` (hidden): the codes the
    drop-downs read. Written with openpyxl; nothing in it is maintained by hand.

    Parameters
    ----------
    output
        The ``.xlsx`` file to write.
    dictionary_path
        The data dictionary.
    rows
        How many patient rows carry the validation.

    Returns
    -------
    pathlib.Path

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> write_template(Path(tempfile.mkdtemp()) / "registry_template.xlsx").stat().st_size > 0
    True
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font


    dd = load_data_dictionary(dictionary_path)
    book = Workbook()
    sheet = book.active
    sheet.title = "registry"
    lists = book.create_sheet("lists")
    lists.sheet_state = "hidden"
    for i, spec in enumerate(dd.columns, start=1):
        _template_column(sheet, lists, i, spec, rows)
    sheet.freeze_panes = "A2"
    readable = book.create_sheet("dictionary", 1)
    table = data_dictionary_table(dictionary_path)
    readable.append(list(table.columns))
    for record in table.itertuples(index=False):
        readable.append(["" if pd.isna(v) else str(v) for v in record])
    for cell in readable[1]:
        cell.font = Font(bold=True)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return out


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.intake.registry",
        description="Bring your own registry: fill-in template, registry check, example export.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    tpl = sub.add_parser("template", help="write the fill-in Excel workbook")
    tpl.add_argument("--output", required=True, help="the .xlsx file to write")
    tpl.add_argument("--rows", type=int, default=1000, help="patient rows with validation")
    chk = sub.add_parser("check", help="validate a registry file without any analysis")
    chk.add_argument("file", help="registry file (CSV, Excel or Parquet)")
    chk.add_argument("--mapping", default=None, help="registry mapping (YAML)")
    chk.add_argument("--report", required=True, help="folder for problems.csv/.html, summary.txt")
    sub.add_parser(
        "example-export", help="rewrite data/example_hospital_export.csv and its mapping"
    )
    for p in (tpl, chk):
        p.add_argument("--dictionary", default=str(DATA_DICTIONARY_PATH), help="data dictionary")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 valid / done, 1 invalid, 2 usage).

    Parameters
    ----------
    argv
        Arguments (``sys.argv[1:]`` by default).

    Returns
    -------
    int

    Example
    -------
    >>> import tempfile
    >>> from helpers import DATA_DIR
    >>> main(["check", str(DATA_DIR / "registry.csv"), "--report", tempfile.mkdtemp()])  # doctest: +ELLIPSIS
    registry.csv: valid (0 problems)
    report: .../problems.csv, .../problems.html, .../summary.txt
    0
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.command == "template":
            path = write_template(args.output, dictionary_path=args.dictionary, rows=args.rows)
            print(f"wrote {path}")
            return 0
        if args.command == "example-export":
            for path in write_example_export():
                print(f"wrote {path}")
            return 0
        if not Path(args.file).is_file():
            print(f"error: no registry file at {args.file}", file=sys.stderr)
            return 2
        result = check_registry(args.file, args.mapping or None, dictionary_path=args.dictionary)
    except (MappingError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    files = write_check_report(result, args.report)
    print(summarise_problems(result), end="")
    print("report: " + ", ".join(str(f) for f in files))
    return 0 if result.valid else 1


if __name__ == "__main__":
    sys.exit(main())
