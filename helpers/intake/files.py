"""Reading a registry file (CSV, Excel or Parquet) as a grid of text cells.

Every cell is read as text (only an empty cell is missing), so that nothing is silently
converted: ``"abc"`` in an age column stays ``"abc"`` and is reported by validation. Problems of
the file itself (missing, empty, unreadable, not UTF-8, no header, repeated or unnamed columns)
are reported as rows of ``RegistryError.problems`` with ``column == "(file)"`` or the column's name.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.intake.problems import (
    MESSAGE_LIST_LIMIT,
    RegistryError,
    RegistryWarning,
    format_report,
    problems_frame,
)

#: File extensions ``load_registry`` reads, by reader.
REGISTRY_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "excel": (".xlsx", ".xlsm", ".xls"),
    "parquet": (".parquet", ".pq"),
}


@dataclass(frozen=True)
class RawTable:
    """A registry file as text cells, with the row numbers its owner sees."""

    frame: pd.DataFrame  # all cells text (object) or None; index = data-row position 0..n-1
    rows: np.ndarray  # row number reported for each data row (same length as frame)
    row_numbering: str
    row_word: str
    problems: tuple[dict, ...]  # header problems found while reading


def file_problem(check: str, expected: str, found: str, hint: str | None = None) -> dict:
    """One problem of the file as a whole (``column == "(file)"``), as a record."""
    return {"column": "(file)", "patient_id": None, "row": None, "check": check, "expected": expected,
            "found": found, "hint": hint}


def raise_file_problem(path: Path, check: str, expected: str, found: str, hint: str | None = None) -> None:
    """Raise a :class:`RegistryError` holding one problem of the file ``path``."""
    problems = problems_frame([file_problem(check, expected, found, hint)])
    raise RegistryError(format_report(problems, path.name, ""), problems, source=path.name, row_numbering="")


def _reader_of(path: Path) -> str:
    suffix = path.suffix.lower()
    for reader, suffixes in REGISTRY_EXTENSIONS.items():
        if suffix in suffixes:
            return reader
    known = ", ".join(s for group in REGISTRY_EXTENSIONS.values() for s in group)
    raise_file_problem(
        path,
        "file_format",
        f"a registry file ending in {known}",
        f"{suffix or 'no extension'!r}",
        "save the registry as CSV (UTF-8), Excel (.xlsx) or Parquet",
    )
    raise AssertionError("unreachable")


def _read_grid(path: Path, reader: str) -> pd.DataFrame:
    """The file as a grid of text cells, header included (row 0), empty cells None."""
    if reader == "csv":
        try:
            return pd.read_csv(
                path,
                header=None,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                skip_blank_lines=False,
                encoding="utf-8-sig",
            )
        except pd.errors.EmptyDataError:
            raise_file_problem(
                path,
                "not_empty",
                "a header line and one line per patient",
                "an empty file (0 bytes)"
                if path.stat().st_size == 0
                else "a file holding only blank lines",
            )
        except UnicodeDecodeError as exc:
            raise_file_problem(
                path,
                "encoding",
                "UTF-8 text",
                f"bytes that are not UTF-8 ({exc.reason} at byte {exc.start})",
                "re-save the file as 'CSV UTF-8'",
            )
        except pd.errors.ParserError as exc:
            raise_file_problem(
                path,
                "csv_structure",
                "the same number of fields on every line",
                str(exc).strip(),
                "a value containing a comma must be quoted",
            )
    if reader == "excel":
        if path.stat().st_size == 0:
            raise_file_problem(path, "not_empty", "an Excel workbook", "an empty file (0 bytes)")
        try:
            grid = pd.read_excel(
                path, sheet_name=0, header=None, dtype=str, keep_default_na=False, na_values=[""]
            )
        except ImportError as exc:
            raise_file_problem(
                path,
                "file_format",
                "an Excel file this installation can read",
                f"{path.suffix} ({exc})",
                "save the workbook as .xlsx",
            )
        except Exception as exc:  # openpyxl/xlrd raise many kinds for a corrupt workbook
            raise_file_problem(
                path, "file_format", "a readable Excel workbook", f"{type(exc).__name__}: {exc}"
            )
        if grid.empty:
            raise_file_problem(
                path, "not_empty", "a header row and one row per patient", "an empty first sheet"
            )
        return grid
    # parquet
    if path.stat().st_size == 0:
        raise_file_problem(path, "not_empty", "a Parquet file", "an empty file (0 bytes)")
    try:
        table = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise_file_problem(
            path, "file_format", "a readable Parquet file", f"{type(exc).__name__}: {exc}"
        )
    header = pd.DataFrame([list(map(str, table.columns))])
    body = pd.DataFrame(
        {i: table.iloc[:, i].astype("string") for i in range(table.shape[1])}, index=table.index
    )
    body.columns = range(table.shape[1])
    grid = pd.concat([header, body.reset_index(drop=True)], ignore_index=True)
    return grid.astype(object).where(grid.notna(), np.nan)


_NUMBERING = {  # reader -> (what ``row`` counts, its word, the row number of the first patient)
    "parquet": ("row = row of the Parquet table, counting from 1", "row", 1),
    "excel": ("sheet row = row of the first sheet, the header being row 1", "sheet row", 2),
    "csv": ("line = line of the file, the header being line 1", "line", 2),
}
_NO_ROWS = {"csv": "a header line but no patient rows", "excel": "a header row but no patient rows",
            "parquet": "column names but no rows"}


def _header_names(header: list, body: pd.DataFrame) -> tuple[list[str], list[int], list[dict]]:
    """Column names (stripped, repeats renamed), positions kept and problems of the header row."""
    names, keep, problems, seen = [], [], [], {}
    for position, raw_name in enumerate(header):
        name = "" if raw_name is None else str(raw_name).strip()
        if raw_name is not None and str(raw_name) != name:
            problems.append(file_problem("header", "column names without surrounding spaces",
                                         f"{str(raw_name)!r}", f"rename it {name!r}") | {"column": name})
        if not name:
            if not body.iloc[:, position].notna().any():
                continue  # an unnamed, entirely empty column (e.g. a trailing comma): nothing to keep
            problems.append(file_problem("header", "a name for every column holding values",
                                         f"column {position + 1} has values but no name"))
            name = f"(unnamed column {position + 1})"
        if name in seen:
            seen[name] += 1
            problems.append(file_problem("header", "each column name once", f"{name!r} appears {seen[name]} times",
                                         "remove or rename the repeated column") | {"column": name})
            name = f"{name} (copy {seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
        keep.append(position)
    return names, keep, problems


def read_text_table(path: Path) -> RawTable:
    """Read ``path`` (reader chosen by extension) as text cells; raise on problems of the file.

    Completely empty rows are skipped with a :class:`RegistryWarning` naming them; problems of
    the header (spaces around names, unnamed or repeated columns) are returned in ``problems``.
    """
    reader = _reader_of(path)
    grid = _read_grid(path, reader)
    numbering, word, first_row = _NUMBERING[reader]
    header = [None if pd.isna(h) else str(h) for h in grid.iloc[0].tolist()]
    if all(h is None or not h.strip() for h in header):
        raise_file_problem(path, "has_header", "column names in the first row (patient_id, age_at_pm_years, ...)",
                           "a first row without any column name")
    body = grid.iloc[1:].reset_index(drop=True)
    rows = np.arange(first_row, first_row + len(body))
    names, keep, problems = _header_names(header, body)
    body = body.iloc[:, keep]
    body.columns = names
    if len(body) == 0:
        raise_file_problem(path, "has_rows", "one row per patient below the header", _NO_ROWS[reader])
    blank = body.isna().all(axis=1).to_numpy()
    if blank.any():
        if blank.all():
            raise_file_problem(path, "has_rows", "one row per patient below the header",
                               "a header and only empty rows")
        skipped = rows[blank]
        shown = ", ".join(str(r) for r in skipped[:MESSAGE_LIST_LIMIT])
        more = f" and {len(skipped) - MESSAGE_LIST_LIMIT} more" if len(skipped) > MESSAGE_LIST_LIMIT else ""
        warnings.warn(RegistryWarning(f"registry {path.name}: skipped {len(skipped)} completely empty "
                                      f"{word}(s): {shown}{more}"), stacklevel=3)
        body = body.loc[~blank].reset_index(drop=True)
        rows = rows[~blank]
    return RawTable(body, rows, numbering, word, tuple(problems))
