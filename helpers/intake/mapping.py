"""A registry mapping: how to read a local export whose names, codes, dates or units differ.

A hospital export rarely uses the data dictionary's names and codes. A *registry mapping* (a
small YAML file, or a dict) says how to read it; ``helpers.schema.load_registry(path,
mapping=...)`` applies it before validation, so every notebook runs on such an export.

The mapping format
------------------
Every key is optional; names on the right of ``columns`` and every key of ``codes``, ``dates``
and ``units`` are *dictionary* column names::

    columns:            # local column name: dictionary column name
      Sex: sex
      Margin: resection_status
    codes:              # per dictionary column, local code: dictionary code (null = empty cell)
      sex: {M: male, F: female}
      resection_status: {R0: r0, R1: r1, R2: r2}
    dates:              # per date column, or `default` for every date column
      default: "%d/%m/%Y"              # a strftime format, or `excel_serial`, or a list of them
      date_of_death: excel_serial       # days since 1899-12-30, as Excel stores dates
    units:              # per number/integer column: the unit the file uses
      largest_lung_lesion_mm: cm       # converted to the dictionary's unit (mm)

Values the mapping does not name are left as they are: a value that is already a dictionary code
passes, anything else is reported by validation with the usual hints. Nothing is guessed. Every
value the mapping changed is reported as a note (``check == "mapped"``). A mapping naming an
unknown dictionary column, code, unit or date format is itself an error naming the entry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from helpers.intake.problems import PROBLEM_COLUMNS
from helpers.schema import DATA_DICTIONARY_PATH, DataDictionary, load_data_dictionary

#: The mapping's date format for Excel serial day numbers (days since 1899-12-30).
EXCEL_SERIAL: str = "excel_serial"
#: Day 0 of Excel's serial dates (1900 date system, with its leap-year bug absorbed).
EXCEL_EPOCH: datetime = datetime(1899, 12, 30)
#: Unit conversions a mapping may ask for: (file unit, dictionary unit) -> factor.
UNIT_FACTORS: dict[tuple[str, str], float] = {
    ("cm", "mm"): 10.0,
    ("mm", "cm"): 0.1,
    ("m", "cm"): 100.0,
    ("m", "mm"): 1000.0,
    ("weeks", "days"): 7.0,
}
#: ``check`` of a note: a value the mapping changed (not a problem).
NOTE_CHECK: str = "mapped"
MAPPING_KEYS: tuple[str, ...] = ("columns", "codes", "dates", "units")


# ---- The mapping -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryMapping:
    """How to read a local registry export (see the module docstring for the YAML format).

    Attributes
    ----------
    columns
        Local column name -> dictionary column name.
    codes
        Dictionary column -> {local code: dictionary code, or ``None`` for an empty cell}.
    dates
        Dictionary date column -> formats tried in order (strftime or ``"excel_serial"``).
    units
        Dictionary column -> (the unit the file uses, the dictionary's unit).
    source
        Where the mapping came from (a file name), for notes and messages.
    """

    columns: dict[str, str] = field(default_factory=dict)
    codes: dict[str, dict[str, str | None]] = field(default_factory=dict)
    dates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    units: dict[str, tuple[str, str]] = field(default_factory=dict)
    source: str = "mapping"


class MappingError(ValueError):
    """A registry mapping refers to unknown columns, codes, units or formats."""


def _fail(source: str, entry: str, what: str) -> MappingError:
    return MappingError(f"registry mapping {source}: {entry}: {what}")


def _known_column(dd: DataDictionary, source: str, entry: str, name: object) -> str:
    if not isinstance(name, str) or name not in dd.names:
        raise _fail(
            source,
            entry,
            f"{name!r} is not a column of the data dictionary; known: {', '.join(dd.names)}",
        )
    return name


def _check_codes(dd: DataDictionary, source: str, raw: object) -> dict[str, dict[str, str | None]]:
    out: dict[str, dict[str, str | None]] = {}
    for column, table in _as_mapping(source, "codes", raw).items():
        spec = dd.column(_known_column(dd, source, f"codes: {column}", column))
        for local, code in _as_mapping(source, f"codes: {column}", table).items():
            entry = f"codes: {column}: {local}"
            if code is None:
                if not spec.nullable:
                    raise _fail(source, entry, f"{column} may not be empty, so null is not allowed")
            elif spec.allowed is not None and str(code) not in spec.allowed:
                raise _fail(
                    source,
                    entry,
                    f"{code!r} is not a code of {column}; allowed: {', '.join(spec.allowed)}",
                )
            elif spec.allowed is None and spec.type != "string":
                raise _fail(source, entry, f"{column} is a {spec.type} column, not a category")
            out.setdefault(column, {})[_text(local)] = None if code is None else str(code)
    return out


def _check_dates(dd: DataDictionary, source: str, raw: object) -> dict[str, tuple[str, ...]]:
    given = _as_mapping(source, "dates", raw)
    date_columns = [c.name for c in dd.columns if c.type == "date"]
    out: dict[str, tuple[str, ...]] = {}
    for column, formats in given.items():
        if column != "default":
            spec = dd.column(_known_column(dd, source, f"dates: {column}", column))
            if spec.type != "date":
                raise _fail(source, f"dates: {column}", f"{column} is a {spec.type} column")
        listed = tuple(formats) if isinstance(formats, list) else (formats,)
        for fmt in listed:
            if not isinstance(fmt, str) or (fmt != EXCEL_SERIAL and "%" not in fmt):
                raise _fail(
                    source,
                    f"dates: {column}",
                    f"{fmt!r} is neither a strftime format (e.g. '%d/%m/%Y') nor {EXCEL_SERIAL!r}",
                )
        out[column] = listed
    default = out.pop("default", None)
    if default is not None:
        out = {c: out.get(c, default) for c in date_columns}
    return out


def _check_units(dd: DataDictionary, source: str, raw: object) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for column, unit in _as_mapping(source, "units", raw).items():
        spec = dd.column(_known_column(dd, source, f"units: {column}", column))
        entry = f"units: {column}"
        if spec.type not in ("number", "integer"):
            raise _fail(source, entry, f"{column} is a {spec.type} column, not a measurement")
        if (str(unit), str(spec.unit)) not in UNIT_FACTORS:
            known = ", ".join(f"{a} -> {b}" for a, b in UNIT_FACTORS)
            raise _fail(
                source,
                entry,
                f"no conversion from {unit!r} to the dictionary's unit "
                f"{spec.unit!r}; known conversions: {known}",
            )
        out[column] = (str(unit), str(spec.unit))
    return out


def _as_mapping(source: str, entry: str, raw: object) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _fail(source, entry, f"expected a mapping (name: value), found {raw!r}")
    return dict(raw)


def _text(value: object) -> str:
    """YAML reads ``1``, ``yes`` and ``1.5`` as numbers and booleans; codes are text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def load_mapping(
    mapping: str | Path | Mapping | RegistryMapping,
    *,
    dictionary_path: str | Path = DATA_DICTIONARY_PATH,
) -> RegistryMapping:
    """Read and check a registry mapping against the data dictionary.

    Parameters
    ----------
    mapping
        A YAML file, an already-parsed mapping (dict), or a :class:`RegistryMapping`.
    dictionary_path
        The data dictionary the mapping's right-hand names refer to.

    Returns
    -------
    RegistryMapping

    Raises
    ------
    MappingError
        Naming the entry: an unknown section, an unknown dictionary column, a code that is not
        one of the column's allowed values, a date format that is not a format, a unit without a
        known conversion, or two local columns renamed to the same dictionary column.

    Example
    -------
    >>> load_mapping({"codes": {"sex": {"M": "male"}}}).codes
    {'sex': {'M': 'male'}}
    """
    if isinstance(mapping, RegistryMapping):
        return mapping
    source = "mapping"
    if isinstance(mapping, str | Path):
        path = Path(mapping)
        source = path.name
        try:
            mapping = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError as exc:
            raise MappingError(f"registry mapping: no file at {path}") from exc
        except yaml.YAMLError as exc:
            raise MappingError(f"registry mapping {source}: not valid YAML: {exc}") from exc
    doc = _as_mapping(source, "the file", mapping)
    unknown = [k for k in doc if k not in MAPPING_KEYS]
    if unknown:
        raise _fail(
            source, ", ".join(map(str, unknown)), f"unknown section; use {', '.join(MAPPING_KEYS)}"
        )
    dd = load_data_dictionary(dictionary_path)
    columns = {
        _text(local): _known_column(dd, source, f"columns: {local}", name)
        for local, name in _as_mapping(source, "columns", doc.get("columns")).items()
    }
    repeated = sorted({n for n in columns.values() if list(columns.values()).count(n) > 1})
    if repeated:
        raise _fail(source, "columns", f"several local columns map to {', '.join(repeated)}")
    return RegistryMapping(
        columns=columns,
        codes=_check_codes(dd, source, doc.get("codes")),
        dates=_check_dates(dd, source, doc.get("dates")),
        units=_check_units(dd, source, doc.get("units")),
        source=source,
    )


# ---- Applying a mapping to a text frame --------------------------------------------------------------


def _note(column: str, expected: str, found: str, rows: np.ndarray, hint: str) -> dict:
    return {
        "column": column,
        "patient_id": None,
        "row": None,
        "check": NOTE_CHECK,
        "expected": expected,
        "found": found,
        "hint": f"{hint}; {len(rows)} row{'s' if len(rows) != 1 else ''}",
    }


def _parse_one_date(text: str, formats: Sequence[str]) -> str | None:
    for fmt in formats:
        try:
            if fmt == EXCEL_SERIAL:
                serial = float(text)
                if not serial.is_integer() or not 1 <= serial <= 2958465:
                    continue
                day = EXCEL_EPOCH + timedelta(days=int(serial))
            else:
                day = datetime.strptime(text, fmt)
            return day.strftime("%Y-%m-%d")
        except ValueError:
            continue
    return None


def _map_dates(values: pd.Series, formats: Sequence[str]) -> pd.Series:
    distinct = pd.Series(values.dropna().unique(), dtype=object)
    parsed = {v: _parse_one_date(str(v), formats) for v in distinct}
    return values.map(lambda v: parsed.get(v) or v if isinstance(v, str) else v)


def _convert_units(values: pd.Series, factor: float) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    converted = (numbers * factor).map(lambda x: f"{round(x, 9):.10g}" if math.isfinite(x) else x)
    return converted.where(numbers.notna(), values)


def _rename_columns(
    frame: pd.DataFrame, mapping: RegistryMapping
) -> tuple[pd.DataFrame, list[dict]]:
    notes = []
    renames = {}
    for local, name in mapping.columns.items():
        if local in frame.columns and local != name:
            renames[local] = name
            notes.append(
                _note(
                    name, name, local, np.arange(len(frame)), f"column renamed by {mapping.source}"
                )
            )
    return frame.rename(columns=renames), notes


def _column_notes(column: str, before: pd.Series, after: pd.Series, why: str) -> list[dict]:
    changed = before.notna() & (before.astype(object) != after.astype(object))
    notes = []
    if not changed.any():
        return notes
    pairs = pd.DataFrame({"found": before[changed], "expected": after[changed].fillna("(empty)")})
    for (found, expected), group in pairs.groupby(["found", "expected"], sort=True):
        notes.append(_note(column, str(expected), str(found), group.index.to_numpy(), why))
    return notes


def apply_mapping(
    frame: pd.DataFrame, mapping: RegistryMapping
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rename columns, translate codes, rewrite dates as ISO and convert units, on text cells.

    Parameters
    ----------
    frame
        The registry as text (every cell a string or missing), local column names.
    mapping
        A checked mapping (:func:`load_mapping`).

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.DataFrame)
        The frame in dictionary names and codes (values the mapping does not cover are left
        unchanged, for validation to report), and the notes: one row per column renamed and per
        distinct value changed (``check == "mapped"``, the count of rows in ``hint``), in the
        columns of ``RegistryError.problems``.

    Example
    -------
    >>> m = load_mapping({"columns": {"Sex": "sex"}, "codes": {"sex": {"M": "male"}}})
    >>> out, notes = apply_mapping(pd.DataFrame({"Sex": ["M", "female"]}), m)
    >>> out["sex"].tolist(), notes["found"].tolist()
    (['male', 'female'], ['Sex', 'M'])
    """
    out, notes = _rename_columns(frame, mapping)
    for column, (unit, target) in mapping.units.items():
        if column in out.columns:
            after = _convert_units(out[column], UNIT_FACTORS[(unit, target)])
            notes += _column_notes(column, out[column], after, f"{unit} converted to {target}")
            out[column] = after
    for column, formats in mapping.dates.items():
        if column in out.columns:
            after = _map_dates(out[column], formats)
            notes += _column_notes(
                column, out[column], after, f"date read as {' or '.join(formats)}"
            )
            out[column] = after
    for column, table in mapping.codes.items():
        if column in out.columns:
            after = out[column].map(lambda v, t=table: t.get(v, v) if isinstance(v, str) else v)
            notes += _column_notes(
                column, out[column], after, f"code translated by {mapping.source}"
            )
            out[column] = after
    return out, pd.DataFrame(notes, columns=list(PROBLEM_COLUMNS))


def annotate_problems(problems: pd.DataFrame, mapping: RegistryMapping) -> pd.DataFrame:
    """Say in the problems what the mapping expected, where it covers the column.

    A date the declared format cannot read, a code the mapping does not list, a number that was
    converted before it failed its range: the hint names the mapping's entry to look at.

    Parameters
    ----------
    problems
        ``RegistryError.problems`` of a mapped file.
    mapping
        The mapping that was applied.

    Returns
    -------
    pandas.DataFrame
        A copy with ``expected`` and ``hint`` rewritten on those rows.

    Example
    -------
    >>> annotate_problems(pd.DataFrame(columns=list(PROBLEM_COLUMNS)), RegistryMapping()).empty
    True
    """
    out = problems.copy()
    for column, formats in mapping.dates.items():
        rows = out["column"].eq(column) & out["check"].eq("type")
        out.loc[rows, "expected"] = (
            f"a date written {' or '.join(formats)} (dates: in {mapping.source})"
        )
        out.loc[rows, "hint"] = "no such calendar date, or not in the declared format"
    for column, table in mapping.codes.items():
        rows = out["column"].eq(column) & out["check"].eq("allowed")
        listed = ", ".join(table)
        extra = f"not a code of codes: {column} in {mapping.source} ({listed}) either"
        out.loc[rows, "hint"] = out.loc[rows, "hint"].map(
            lambda h, e=extra: f"{h}; {e}" if h else e
        )
    for column, (unit, target) in mapping.units.items():
        rows = out["column"].eq(column) & out["check"].eq("range")
        out.loc[rows, "hint"] = (
            f"the file's value in {unit}, converted to {target} (units: in {mapping.source})"
        )
    return out
