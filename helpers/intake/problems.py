"""What is wrong with a registry file, in words its owner can act on.

Every check of a registry (reading the file, the data dictionary's column checks, the
cross-column rules) reports its problems as rows of one tidy frame (:data:`PROBLEM_COLUMNS`);
:class:`RegistryError` carries that frame and a message grouped by column that names the
patients and rows at fault, with a suggested correction where one is likely
(:func:`suggest_allowed`, :func:`type_hint`).
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

#: Columns of ``RegistryError.problems``.
PROBLEM_COLUMNS: tuple[str, ...] = ("column", "patient_id", "row", "check", "expected", "found", "hint")
#: At most this many patients (or rows) are named per line of a ``RegistryError`` message,
#: and at most this many lines are printed per column and check; ``.problems`` holds them all.
MESSAGE_LIST_LIMIT: int = 20


class RegistryWarning(UserWarning):
    """Something in a registry file that is kept but deserves a look (e.g. unknown columns)."""


class RegistryError(ValueError):
    """A registry file failed validation; the message lists every problem found.

    Attributes
    ----------
    problems
        One row per problem: ``column``, ``patient_id`` (empty when the id itself is missing or
        there is no id column), ``row`` (see ``row_numbering``), ``check``, ``expected``,
        ``found`` and ``hint`` (a suggested correction, or empty).
    source
        The file name.
    row_numbering
        What ``row`` counts, e.g. "line number in the file (line 1 is the header)".
    """

    def __init__(
        self,
        message: str,
        problems: pd.DataFrame | None = None,
        *,
        source: str = "",
        row_numbering: str = "",
    ) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else problems_frame([])
        self.source = source
        self.row_numbering = row_numbering

    def __reduce__(self):  # keep the exception picklable (pytest-xdist, multiprocessing)
        return (
            _rebuild_registry_error,
            (str(self), self.problems, self.source, self.row_numbering),
        )


def _rebuild_registry_error(message, problems, source, row_numbering) -> RegistryError:
    return RegistryError(message, problems, source=source, row_numbering=row_numbering)


def problems_frame(records: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """Problem records as a frame with the columns :data:`PROBLEM_COLUMNS` (``row`` as Int64)."""
    frame = pd.DataFrame(records, columns=list(PROBLEM_COLUMNS))
    frame["row"] = frame["row"].astype("Int64")
    for col in ("column", "patient_id", "check", "expected", "found", "hint"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame.reset_index(drop=True)


#: Common abbreviations and spellings; used only when the target is an allowed value.
_ALIASES: dict[str, str] = {
    "m": "male",
    "man": "male",
    "f": "female",
    "w": "female",
    "woman": "female",
    "y": "yes",
    "true": "yes",
    "1": "yes",
    "n": "no",
    "false": "no",
    "0": "no",
    "deceased": "dead",
    "died": "dead",
    "living": "alive",
    "extremity": "extremities",
    "limb": "extremities",
    "trunk": "trunk_wall",
    "wedge": "wide_wedge_resection",
    "wedge_resection": "wide_wedge_resection",
    "segment": "segmentectomy",
    "lobe": "lobectomy",
    "ss": "synovial_sarcoma",
    "ups": "undifferentiated_pleomorphic_sarcoma",
    "mfs": "myxofibrosarcoma",
    "lms": "leiomyosarcoma",
    "mpnst": "malignant_peripheral_nerve_sheath_tumor",
    "dfsp": "dermatofibrosarcoma_protuberans",
    "sft": "solitary_fibrous_tumor",
    "asps": "alveolar_soft_part_sarcoma",
    "unilat": "unilateral",
    "bilat": "bilateral",
    "r_0": "r0",
    "r_1": "r1",
    "r_2": "r2",
    "0_": "none",
    "i": "I",
    "ii": "II",
    "iiia": "IIIa",
    "iiib": "IIIb",
    "iva": "IVa",
    "ivb": "IVb",
    "v": "V",
    "2": "II",
    "3a": "IIIa",
    "3b": "IIIb",
    "4a": "IVa",
    "4b": "IVb",
    "5": "V",
    "no_complication": "none",
    "air_leak": "prolonged_air_leak",
    "prolonged_air_leakage": "prolonged_air_leak",
    "hemothorax": "bleeding",
    "haemothorax": "bleeding",
    "hemorrhage": "bleeding",
    "haemorrhage": "bleeding",
    "pneumonia": "pneumonia_atelectasis",
    "atelectasis": "pneumonia_atelectasis",
    "atrial_fibrillation": "arrhythmia",
    "af": "arrhythmia",
    "wound": "wound_complication",
    "wound_infection": "wound_complication",
    "dissemination": "pleural_dissemination",
    "pleural": "pleural_dissemination",
    "debulking": "intentional_debulking",
    "disease": "sarcoma",
    "tumour": "sarcoma",
    "tumor": "sarcoma",
}


def normalise(value: str) -> str:
    """``value`` lower-cased, with runs of spaces, hyphens and slashes as one underscore."""
    return re.sub(r"[\s\-/]+", "_", value.strip().lower()).strip("_")


def suggest_allowed(value: str, allowed: tuple[str, ...] | list[str]) -> str | None:
    """Suggest the allowed value a mistyped category value probably means.

    Tries, in order: the same text ignoring case, spaces and hyphens (``"Male"`` -> ``"male"``,
    ``"trunk wall"`` -> ``"trunk_wall"``); a small table of abbreviations (``"M"`` -> ``"male"``,
    ``"3a"`` -> ``"IIIa"``); a unique allowed value starting with the text; the closest match by
    :func:`difflib.get_close_matches`. Hand-written because no schema library suggests values.

    Parameters
    ----------
    value
        The text found in the registry.
    allowed
        The column's allowed values.

    Returns
    -------
    str or None
        An allowed value, or ``None`` when nothing is close enough.

    Example
    -------
    >>> suggest_allowed("M", ("male", "female"))
    'male'
    """
    by_key = {normalise(a): a for a in allowed}
    key = normalise(str(value))
    if not key:
        return None
    if key in by_key:
        return by_key[key]
    alias = _ALIASES.get(key)
    if alias is not None and alias in allowed:
        return alias
    if key in ("none", "no", "0", "nil", "-"):
        if "none" in allowed:
            return "none"
    starts = [a for k, a in by_key.items() if k.startswith(key)]
    if len(starts) == 1:
        return starts[0]
    close = difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.75)
    return by_key[close[0]] if close else None


def type_hint(value: str, kind: str) -> str | None:
    """A correction for text that is not of the column's type ``kind``, or ``None``.

    Example
    -------
    >>> type_hint("12,5", "number")
    'use a decimal point: 12.5'
    """
    if value.strip() == "":
        return "the cell holds only spaces; leave it empty if the value is unknown"
    if value != value.strip():
        return "remove the spaces around the value"
    if kind in ("integer", "number") and re.fullmatch(r"[+-]?\d+,\d+", value):
        return f"use a decimal point: {value.replace(',', '.')}"
    if kind == "date":
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return "no such calendar date: the month must be 01-12 and the day must exist in that month"
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", value):
            year, month, day = value.split("-")
            return f"write two-digit month and day: {year}-{int(month):02d}-{int(day):02d}"
        if re.fullmatch(r"\d{1,2}[./]\d{1,2}[./]\d{4}", value):
            return "write dates as YYYY-MM-DD (day/month order is ambiguous in this form)"
    return None


def order_problems(problems: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Problems of the file first, then by column in ``order``, each check's rows in file order."""
    rank = {name: k for k, name in enumerate(["(file)", *order])}
    key = problems["column"].map(lambda c: rank.get(c, len(rank)))
    out = problems.assign(_key=key.to_numpy(), _pos=np.arange(len(problems)))
    out["_check"] = out.groupby(["column", "check"], sort=False)["_pos"].transform("min")
    out = out.sort_values(["_key", "_check", "row", "_pos"], kind="stable", na_position="first")
    out = out.drop(columns=["_key", "_check", "_pos"])
    return out.reset_index(drop=True)


def _who(group: pd.DataFrame, row_word: str, ids_only_rows: bool) -> str:
    parts = []
    for pid, row in zip(
        group["patient_id"].head(MESSAGE_LIST_LIMIT),
        group["row"].head(MESSAGE_LIST_LIMIT),
        strict=True,
    ):
        if row is None or pd.isna(row):
            parts.append(str(pid))
        elif pid is None or ids_only_rows:
            parts.append(f"{row_word} {row}")
        else:
            parts.append(f"{pid} ({row_word} {row})")
    more = len(group) - MESSAGE_LIST_LIMIT
    text = ", ".join(parts)
    if more > 0:
        text += f", ... and {more} more"
    return text


def format_report(problems: pd.DataFrame, source: str, row_numbering: str, row_word: str = "line") -> str:
    """The message of a :class:`RegistryError`: problems grouped by column and check.

    Each line names what was expected and found, a hint when there is one, and the patients
    (or rows) at fault, at most :data:`MESSAGE_LIST_LIMIT` of them.
    """
    n = len(problems)
    lines = [f"registry {source}: {n} problem{'s' if n != 1 else ''} found"]
    if row_numbering and problems["row"].notna().any():
        lines.append(f"({row_numbering}; every problem is also in RegistryError.problems)")
    for column, by_column in problems.groupby("column", sort=False):
        lines.append(f"{column}:")
        for _check, by_check in by_column.groupby("check", sort=False):
            groups = by_check.groupby(["expected", "found"], sort=False, dropna=False).indices
            for k, positions in enumerate(groups.values()):
                if k == MESSAGE_LIST_LIMIT:
                    lines.append(
                        f"  ... and {len(groups) - k} more different values (see .problems)"
                    )
                    break
                group = by_check.iloc[positions]
                first = group.iloc[0]
                line = f"  - expected {first['expected']}; found {first['found']}"
                if first["hint"]:
                    line += f" ({first['hint']})"
                if group["row"].notna().any():
                    count = len(group)
                    by_row = (
                        first["check"] == "field_uniqueness" or group["patient_id"].isna().any()
                    )
                    label = "row" if by_row else "patient"
                    line += f" -- {count} {label}{'s' if count != 1 else ''}: "
                    line += _who(
                        group, row_word, ids_only_rows=first["check"] == "field_uniqueness"
                    )
                lines.append(line)
    return "\n".join(lines)
