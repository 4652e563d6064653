"""Stage 3: Table 1, the characteristics of the analysed cohort, in the paper's layout.

:func:`make_table1` returns the tidy table (``variable, level, n, percent, median, min, max``;
the output contract of ``tables/table1.csv``); :func:`format_table1` turns it into the printed
layout ("38 (58)", "49 (17–82)") for display.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from helpers.cohort import (
    FACTOR_INPUT_COLUMNS,
    LIPOSARCOMA_SUBTYPES,
    _ids_text,
    resolve_input_columns,
)

#: Columns of the tidy Table 1 (the output contract).
TABLE1_COLUMNS: tuple[str, ...] = ("variable", "level", "n", "percent", "median", "min", "max")

#: Registry columns ``make_table1`` reads: those of ``derive_factors`` but the primary size,
#: which Table 1 does not report.
TABLE1_INPUT_COLUMNS: tuple[str, ...] = tuple(c for c in FACTOR_INPUT_COLUMNS if c != "primary_tumor_size_cm")

#: Histology rows in the paper's order; ``None`` marks the liposarcoma parent row.
_LIPOSARCOMA = LIPOSARCOMA_SUBTYPES
HISTOLOGY_ROWS: tuple[str, ...] = (
    "synovial_sarcoma", "undifferentiated_pleomorphic_sarcoma", "liposarcoma", *_LIPOSARCOMA, "myxofibrosarcoma",
    "leiomyosarcoma", "dermatofibrosarcoma_protuberans", "ewing_sarcoma", "cic_rearranged_sarcoma",
    "malignant_peripheral_nerve_sheath_tumor", "sarcoma_with_bcor_genetic_alterations", "epithelioid_sarcoma",
    "extraskeletal_osteosarcoma", "alveolar_soft_part_sarcoma", "angiosarcoma",
)
#: Histologies of the data dictionary absent from the paper: shown only when present.
HISTOLOGY_EXTRA_ROWS: tuple[str, ...] = ("solitary_fibrous_tumor", "other_sarcoma")

#: Printed labels of the paper's Table 1 (variable key -> label; level key -> label).
VARIABLE_LABELS: dict[str, str] = {
    "age_years": "Age (years, median/range)",
    "sex": "Sex",
    "disease_free_interval_months": "Disease-free interval (months, median/range)",
    "primary_histology": "Primary histology",
    "primary_site": "Primary site",
    "lung_metastasis_distribution": "Distribution of lung metastasis",
    "lung_metastasis_number": "Number of lung metastasis",
    "largest_lung_lesion_size_mm": "Size of largest lung lesion (mm, median/range)",
    "pulmonary_resection_type": "Type of pulmonary resection",
    "resection_status": "Curative resection",
    "chemotherapy": "Chemotherapy",
}
LEVEL_LABELS: dict[str, str] = {key: key.replace("_", " ").capitalize() for key in (
    "male", "female", "synovial_sarcoma", "undifferentiated_pleomorphic_sarcoma", "liposarcoma",
    "dedifferentiated_liposarcoma", "pleomorphic_liposarcoma", "myxoid_liposarcoma", "myxofibrosarcoma",
    "leiomyosarcoma", "dermatofibrosarcoma_protuberans", "ewing_sarcoma",
    "malignant_peripheral_nerve_sheath_tumor", "epithelioid_sarcoma", "extraskeletal_osteosarcoma",
    "alveolar_soft_part_sarcoma", "angiosarcoma", "solitary_fibrous_tumor", "other_sarcoma", "trunk_wall",
    "extremities", "unilateral", "bilateral", "solitary", "multiple", "wide_wedge_resection", "segmentectomy",
    "lobectomy", "r0", "r1", "r2", "none", "preoperative", "postoperative", "both",
)} | {
    "cic_rearranged_sarcoma": "CIC-rearranged sarcoma",
    "sarcoma_with_bcor_genetic_alterations": "Sarcoma with BCOR genetic alterations",
}


class Table1Error(ValueError):
    """The cohort cannot be summarised (missing columns, missing or unexpected values)."""


def round_half_up(value: float, decimals: int = 0) -> float:
    """Round half away from zero (as SPSS and most tables print), not Python's half-to-even; NaN passes.

    >>> round_half_up(62.5), round(62.5)
    (63.0, 62)
    """
    if value is None or not np.isfinite(value):
        return float("nan")
    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


def percent_half_up(n: int, total: int) -> int:
    """``round(100 * n / total)`` with ties rounded up, in exact integer arithmetic (``total > 0``).

    >>> percent_half_up(63, 66), percent_half_up(5, 8)
    (95, 63)
    """
    if total <= 0:
        raise ValueError(f"total must be positive, got {total}")
    return int((200 * int(n) + int(total)) // (2 * int(total)))


class _Rows:
    """Table 1 under construction: checked columns of ``cohort`` and the rows appended so far."""

    def __init__(self, cohort: pd.DataFrame, names: Mapping[str, str], id_column: str) -> None:
        self.cohort, self.names, self.ids = cohort, names, cohort[id_column]
        self.total, self.rows = len(cohort), []

    def _fail(self, key: str, expected: str, bad: pd.Series, found: object) -> None:
        raise Table1Error(f"column {self.names[key]!r}: expected {expected}, found {found} "
                          f"for patient id(s) {_ids_text(self.ids[bad])}")

    def known(self, key: str, allowed: tuple[str, ...]) -> pd.Series:
        values = self.cohort[self.names[key]]
        bad = ~values.isin(allowed)
        if bad.any():
            self._fail(key, f"one of {list(allowed)}", bad, sorted({str(v) for v in values[bad]}))
        return values

    def numeric(self, key: str) -> pd.Series:
        values = pd.to_numeric(self.cohort[self.names[key]], errors="coerce")
        if values.isna().any():
            raw = self.cohort[self.names[key]][values.isna()]
            self._fail(key, "numbers", values.isna(), sorted({str(v) for v in raw}))
        return values.astype(float)

    def count(self, variable: str, level: str, mask: pd.Series) -> None:
        n = int(mask.sum())
        self.rows.append({"variable": variable, "level": level, "n": n,
                          "percent": percent_half_up(n, self.total)})

    def summary(self, variable: str, values: pd.Series, decimals: int | None = None) -> None:
        stats = [values.median(), values.min(), values.max()]
        if decimals is not None:
            stats = [round_half_up(v, decimals) for v in stats]
        self.rows.append(dict(variable=variable, level="", median=stats[0], min=stats[1], max=stats[2]))

    def levels(self, variable: str, key: str, allowed: tuple[str, ...]) -> None:
        values = self.known(key, allowed)
        for level in allowed:
            self.count(variable, level, values.eq(level))


def make_table1(cohort: pd.DataFrame, *, dfi_column: str = "dfi_months", id_column: str = "patient_id",
                dfi_decimals: int | None = 0, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Table 1 of the paper: counts with percentages, and medians with ranges.

    Rows in the paper's order, keyed as ``data/published_targets.json``. ``percent`` is
    ``round(100 n / N)`` with ties rounded up (:func:`percent_half_up`: every printed percentage
    but R0, which the paper misprints as 96 for 63/66); the disease-free interval is shown in
    whole months (``dfi_decimals``; ``None``: unrounded). ``liposarcoma`` is a parent row over its
    subtypes; pre- and postoperative chemotherapy each include "both", as in the paper
    (``paper_audit.md`` §2). Hand-written: ``tableone`` rounds half to even, sorts levels and has
    no parent or overlapping rows. ``columns`` maps a dictionary column name
    (``TABLE1_INPUT_COLUMNS``) to ``cohort``'s, where they differ.

    Returns ``variable, level, n, percent, median, min, max`` (``n``/``percent`` nullable integers,
    empty on median rows, whose ``level`` is ``""``). :class:`Table1Error` names the column and
    patient ids of an absent column or a missing or unknown value.

    >>> from helpers import cohort, schema
    >>> t1 = make_table1(schema.add_survival_columns(cohort.prepare("").cohort.analysed))
    >>> t1.query("variable == 'sex'")[["level", "n", "percent"]].values.tolist()
    [['male', 38, 58], ['female', 28, 42]]
    """
    if not isinstance(cohort, pd.DataFrame):
        raise TypeError(f"cohort must be a pandas DataFrame, got {type(cohort).__name__}")
    names = resolve_input_columns(TABLE1_INPUT_COLUMNS, columns, dfi_column=dfi_column)
    absent = [c for c in [id_column, *names.values()] if c not in cohort.columns]
    if absent:
        raise Table1Error(f"make_table1: column(s) {absent} expected but not found; "
                          f"the frame has {list(cohort.columns)}")
    if len(cohort) == 0:
        raise Table1Error("make_table1: the cohort has no patients")
    ids = cohort[id_column]
    missing = {c: ids[cohort[c].isna()] for c in names.values() if cohort[c].isna().any()}
    if missing:
        detail = "; ".join(f"{c!r}: patient id(s) {_ids_text(v)}" for c, v in missing.items())
        raise Table1Error(f"make_table1: missing values (expected none) in {detail}")
    t = _Rows(cohort, names, id_column)
    t.summary("age_years", t.numeric("age_at_pm_years"))
    t.levels("sex", "sex", ("male", "female"))
    t.summary("disease_free_interval_months", t.numeric("dfi_months"), dfi_decimals)
    histology = t.known("histology", tuple(h for h in HISTOLOGY_ROWS if h != "liposarcoma") + HISTOLOGY_EXTRA_ROWS)
    for level in HISTOLOGY_ROWS:
        t.count("primary_histology", level, histology.isin(_LIPOSARCOMA if level == "liposarcoma" else (level,)))
    for level in HISTOLOGY_EXTRA_ROWS:
        if histology.eq(level).any():
            t.count("primary_histology", level, histology.eq(level))
    t.levels("primary_site", "primary_site", ("trunk_wall", "extremities"))
    t.levels("lung_metastasis_distribution", "lung_metastasis_distribution", ("unilateral", "bilateral"))
    number = t.numeric("lung_metastasis_number")
    bad = (number < 1) | (number != number.round())
    if bad.any():
        t._fail("lung_metastasis_number", "a whole number >= 1", bad, sorted(set(number[bad])))
    t.summary("lung_metastasis_number", number)
    t.count("lung_metastasis_number", "solitary", number.eq(1))
    t.count("lung_metastasis_number", "multiple", number.gt(1))
    t.summary("largest_lung_lesion_size_mm", t.numeric("largest_lung_lesion_mm"))
    t.levels("pulmonary_resection_type", "resection_type", ("wide_wedge_resection", "segmentectomy", "lobectomy"))
    t.levels("resection_status", "resection_status", ("r0", "r1", "r2"))
    before = t.known("chemotherapy_before_pm", ("yes", "no")).eq("yes")
    after = t.known("chemotherapy_after_pm", ("yes", "no")).eq("yes")
    for level, mask in [("none", ~before & ~after), ("preoperative", before), ("postoperative", after),
                        ("both", before & after)]:
        t.count("chemotherapy", level, mask)
    table = pd.DataFrame(t.rows, columns=list(TABLE1_COLUMNS))
    return table.astype({"n": "Int64", "percent": "Int64", "median": float, "min": float, "max": float})


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def format_table1(table1: pd.DataFrame) -> pd.DataFrame:
    """The paper's printed layout of a tidy Table 1: ``"38 (58)"`` and ``"49 (17–82)"``.

    Returns ``variable, level, variable_label, level_label, value``: labels as the paper prints
    them (liposarcoma subtypes indented; median rows carry the variable's label), ``value`` as
    ``n (percent)`` or ``median (min–max)``.

    >>> from helpers import cohort, schema
    >>> analysed = schema.add_survival_columns(cohort.prepare("").cohort.analysed)
    >>> format_table1(make_table1(analysed))["value"].head(2).tolist()
    ['49 (17–82)', '38 (58)']
    """
    absent = [c for c in TABLE1_COLUMNS if c not in table1.columns]
    if absent:
        raise ValueError(f"format_table1: column(s) {absent} expected but not found")
    out = []
    for row in table1.itertuples(index=False):
        is_summary = pd.isna(row.n)
        if is_summary:
            value = f"{_number(row.median)} ({_number(row.min)}–{_number(row.max)})"
            variable_label = VARIABLE_LABELS.get(row.variable, row.variable)
            if row.variable == "lung_metastasis_number":
                variable_label += " (median/range)"
            level_label = ""
        else:
            value = f"{int(row.n)} ({int(row.percent)})"
            variable_label = VARIABLE_LABELS.get(row.variable, row.variable)
            level_label = LEVEL_LABELS.get(row.level, str(row.level))
            if row.level in _LIPOSARCOMA:
                level_label = "    " + level_label
        out.append({"variable": row.variable, "level": row.level, "variable_label": variable_label,
                    "level_label": level_label, "value": value})
    return pd.DataFrame(out, columns=["variable", "level", "variable_label", "level_label", "value"])
