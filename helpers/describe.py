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
TABLE1_INPUT_COLUMNS: tuple[str, ...] = tuple(
    c for c in FACTOR_INPUT_COLUMNS if c != "primary_tumor_size_cm"
)

#: Histology rows in the paper's order; ``None`` marks the liposarcoma parent row.
_LIPOSARCOMA = LIPOSARCOMA_SUBTYPES
HISTOLOGY_ROWS: tuple[str, ...] = (
    "synovial_sarcoma",
    "undifferentiated_pleomorphic_sarcoma",
    "liposarcoma",
    *_LIPOSARCOMA,
    "myxofibrosarcoma",
    "leiomyosarcoma",
    "dermatofibrosarcoma_protuberans",
    "ewing_sarcoma",
    "cic_rearranged_sarcoma",
    "malignant_peripheral_nerve_sheath_tumor",
    "sarcoma_with_bcor_genetic_alterations",
    "epithelioid_sarcoma",
    "extraskeletal_osteosarcoma",
    "alveolar_soft_part_sarcoma",
    "angiosarcoma",
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
LEVEL_LABELS: dict[str, str] = {
    "male": "Male",
    "female": "Female",
    "synovial_sarcoma": "Synovial sarcoma",
    "undifferentiated_pleomorphic_sarcoma": "Undifferentiated pleomorphic sarcoma",
    "liposarcoma": "Liposarcoma",
    "dedifferentiated_liposarcoma": "Dedifferentiated liposarcoma",
    "pleomorphic_liposarcoma": "Pleomorphic liposarcoma",
    "myxoid_liposarcoma": "Myxoid liposarcoma",
    "myxofibrosarcoma": "Myxofibrosarcoma",
    "leiomyosarcoma": "Leiomyosarcoma",
    "dermatofibrosarcoma_protuberans": "Dermatofibrosarcoma protuberans",
    "ewing_sarcoma": "Ewing sarcoma",
    "cic_rearranged_sarcoma": "CIC-rearranged sarcoma",
    "malignant_peripheral_nerve_sheath_tumor": "Malignant peripheral nerve sheath tumor",
    "sarcoma_with_bcor_genetic_alterations": "Sarcoma with BCOR genetic alterations",
    "epithelioid_sarcoma": "Epithelioid sarcoma",
    "extraskeletal_osteosarcoma": "Extraskeletal osteosarcoma",
    "alveolar_soft_part_sarcoma": "Alveolar soft part sarcoma",
    "angiosarcoma": "Angiosarcoma",
    "solitary_fibrous_tumor": "Solitary fibrous tumor",
    "other_sarcoma": "Other sarcoma",
    "trunk_wall": "Trunk wall",
    "extremities": "Extremities",
    "unilateral": "Unilateral",
    "bilateral": "Bilateral",
    "solitary": "Solitary",
    "multiple": "Multiple",
    "wide_wedge_resection": "Wide wedge resection",
    "segmentectomy": "Segmentectomy",
    "lobectomy": "Lobectomy",
    "r0": "R0",
    "r1": "R1",
    "r2": "R2",
    "none": "None",
    "preoperative": "Preoperative",
    "postoperative": "Postoperative",
    "both": "Both",
}


class Table1Error(ValueError):
    """The cohort cannot be summarised (missing columns, missing or unexpected values)."""


def round_half_up(value: float, decimals: int = 0) -> float:
    """Round half away from zero (as SPSS and most tables print), not Python's half-to-even.

    Parameters
    ----------
    value
        A number (NaN passes through).
    decimals
        Decimal places kept.

    Returns
    -------
    float

    Example
    -------
    >>> round_half_up(62.5), round(62.5)
    (63.0, 62)
    """
    if value is None or not np.isfinite(value):
        return float("nan")
    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


def percent_half_up(n: int, total: int) -> int:
    """``round(100 * n / total)`` with ties rounded up, in exact integer arithmetic.

    Parameters
    ----------
    n, total
        Count and denominator (``total > 0``, ``0 <= n``).

    Returns
    -------
    int

    Example
    -------
    >>> percent_half_up(63, 66), percent_half_up(5, 8)
    (95, 63)
    """
    if total <= 0:
        raise ValueError(f"total must be positive, got {total}")
    return int((200 * int(n) + int(total)) // (2 * int(total)))


def make_table1(
    cohort: pd.DataFrame,
    *,
    dfi_column: str = "dfi_months",
    id_column: str = "patient_id",
    dfi_decimals: int | None = 0,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Table 1 of the paper: counts with percentages, and medians with ranges.

    Rows, in the paper's order, with the variable and level keys of
    ``data/published_targets.json``: ``age_years`` (median, min, max; ``level`` empty), ``sex``,
    ``disease_free_interval_months`` (median/range), ``primary_histology`` (the paper's 16
    histologies plus the ``liposarcoma`` parent row just before its three subtypes; the data
    dictionary's ``solitary_fibrous_tumor`` and ``other_sarcoma`` are added only when present),
    ``primary_site``, ``lung_metastasis_distribution``, ``lung_metastasis_number`` (a
    median/range row with ``level`` empty, then ``solitary`` = one metastasis and ``multiple``),
    ``largest_lung_lesion_size_mm`` (median/range), ``pulmonary_resection_type``,
    ``resection_status`` (``r0``, ``r1``, ``r2``; every level shown even when 0) and
    ``chemotherapy``: ``none``, ``preoperative``, ``postoperative``, ``both``. The chemotherapy
    rows follow the only reading of the paper's overlapping rows that sums to its n (see
    ``paper_audit.md`` §2): preoperative = any chemotherapy before PM and postoperative = any
    after PM, each INCLUDING the patients given both; so they are not a partition.

    Conventions:

    - ``percent`` = ``round(100 * n / N)`` with N the analysed n and ties rounded up (exact
      integer arithmetic, :func:`percent_half_up`). This reproduces every printed percentage of
      the paper except R0, which the paper misprints as 96 (63/66 = 95.45 -> 95); the table
      gives 95 and never copies the misprint.
    - medians are ``pandas.Series.median`` (the mean of the two middle values when n is even),
      min and max the observed extremes. The disease-free interval (days / 30.4375, a float)
      is printed, as in the paper, in whole months: its median, min and max are each rounded
      half-up to ``dfi_decimals`` places (``None`` keeps full precision). The other medians
      are not rounded (age, number and size are recorded as whole numbers already).

    Why not ``tableone``: it is installed and was checked (0.9.6). It rounds percentages half
    to even (5/8 prints 62, not 63), prints ranges as ``[min,max]``, sorts levels
    alphabetically unless told, and has no way to express the paper's parent row over its
    liposarcoma subtypes, the overlapping chemotherapy rows, or a variable shown both as a
    median/range and by levels (number of lung metastases). Its output is also a formatted
    text table, whereas this table must hold numbers (the ``table1.csv`` contract). The counts
    here are plain ``value_counts``; only the layout is hand-written.

    Parameters
    ----------
    cohort
        The analysed cohort (``CohortResult.analysed``) with ``dfi_column`` added (e.g. by
        ``helpers.schema.add_survival_columns``).
    dfi_column
        Column of the disease-free interval in months.
    id_column
        Patient-id column (names patients in error messages).
    dfi_decimals
        Decimal places of the disease-free interval's median and range (0 = whole months, as
        the paper); ``None`` for no rounding.
    columns
        Optional map from a data-dictionary column name (``TABLE1_INPUT_COLUMNS``) to the name
        used in ``cohort``.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable, level, n, percent, median, min, max``. ``n`` and ``percent`` are
        nullable integers (empty on median rows), ``median, min, max`` floats (NaN on count
        rows); ``level`` is ``""`` on median rows.

    Raises
    ------
    Table1Error
        An input column is absent, or a value is missing or not one the table knows (the
        message names the column and the patient ids).

    Example
    -------
    >>> table1 = make_table1(cohort)  # doctest: +SKIP
    >>> table1.query("variable == 'sex'")[["level", "n", "percent"]]  # doctest: +SKIP
    """
    if not isinstance(cohort, pd.DataFrame):
        raise TypeError(f"cohort must be a pandas DataFrame, got {type(cohort).__name__}")
    names = resolve_input_columns(TABLE1_INPUT_COLUMNS, columns, dfi_column=dfi_column)
    needed = [id_column, *names.values()]
    absent = [c for c in needed if c not in cohort.columns]
    if absent:
        raise Table1Error(
            f"make_table1: column(s) {absent} expected but not found; the frame has "
            f"{list(cohort.columns)}"
        )
    total = len(cohort)
    if total == 0:
        raise Table1Error("make_table1: the cohort has no patients")
    ids = cohort[id_column]
    missing = {c: ids[cohort[c].isna()] for c in names.values() if cohort[c].isna().any()}
    if missing:
        detail = "; ".join(f"{c!r}: patient id(s) {_ids_text(v)}" for c, v in missing.items())
        raise Table1Error(f"make_table1: missing values (expected none) in {detail}")

    rows: list[dict[str, object]] = []

    def check_known(key: str, allowed: tuple[str, ...]) -> pd.Series:
        values = cohort[names[key]]
        bad = ~values.isin(allowed)
        if bad.any():
            raise Table1Error(
                f"column {names[key]!r}: expected one of {list(allowed)}, found "
                f"{sorted({str(v) for v in values[bad]})} for patient id(s) {_ids_text(ids[bad])}"
            )
        return values

    def numeric(key: str) -> pd.Series:
        values = pd.to_numeric(cohort[names[key]], errors="coerce")
        bad = values.isna()
        if bad.any():
            raise Table1Error(
                f"column {names[key]!r}: expected numbers, found "
                f"{sorted({str(v) for v in cohort[names[key]][bad]})} for patient id(s) "
                f"{_ids_text(ids[bad])}"
            )
        return values.astype(float)

    def count(variable: str, level: str, mask: pd.Series) -> None:
        n = int(mask.sum())
        rows.append({"variable": variable, "level": level, "n": n,
                     "percent": percent_half_up(n, total)})

    def summary(variable: str, values: pd.Series, decimals: int | None = None) -> None:
        stats = [values.median(), values.min(), values.max()]
        if decimals is not None:
            stats = [round_half_up(v, decimals) for v in stats]
        rows.append({"variable": variable, "level": "", "median": stats[0], "min": stats[1],
                     "max": stats[2]})

    def levels(variable: str, key: str, allowed: tuple[str, ...]) -> None:
        values = check_known(key, allowed)
        for level in allowed:
            count(variable, level, values.eq(level))

    summary("age_years", numeric("age_at_pm_years"))
    levels("sex", "sex", ("male", "female"))
    summary("disease_free_interval_months", numeric("dfi_months"), dfi_decimals)

    known = tuple(h for h in HISTOLOGY_ROWS if h != "liposarcoma") + HISTOLOGY_EXTRA_ROWS
    histology = check_known("histology", known)
    for level in HISTOLOGY_ROWS:
        members = _LIPOSARCOMA if level == "liposarcoma" else (level,)
        count("primary_histology", level, histology.isin(members))
    for level in HISTOLOGY_EXTRA_ROWS:
        if histology.eq(level).any():
            count("primary_histology", level, histology.eq(level))

    levels("primary_site", "primary_site", ("trunk_wall", "extremities"))
    levels("lung_metastasis_distribution", "lung_metastasis_distribution",
           ("unilateral", "bilateral"))
    number = numeric("lung_metastasis_number")
    bad = (number < 1) | (number != number.round())
    if bad.any():
        raise Table1Error(
            f"column {names['lung_metastasis_number']!r}: expected a whole number >= 1, found "
            f"{sorted(set(number[bad]))} for patient id(s) {_ids_text(ids[bad])}"
        )
    summary("lung_metastasis_number", number)
    count("lung_metastasis_number", "solitary", number.eq(1))
    count("lung_metastasis_number", "multiple", number.gt(1))
    summary("largest_lung_lesion_size_mm", numeric("largest_lung_lesion_mm"))
    levels("pulmonary_resection_type", "resection_type",
           ("wide_wedge_resection", "segmentectomy", "lobectomy"))
    levels("resection_status", "resection_status", ("r0", "r1", "r2"))
    before = check_known("chemotherapy_before_pm", ("yes", "no")).eq("yes")
    after = check_known("chemotherapy_after_pm", ("yes", "no")).eq("yes")
    count("chemotherapy", "none", ~before & ~after)
    count("chemotherapy", "preoperative", before)
    count("chemotherapy", "postoperative", after)
    count("chemotherapy", "both", before & after)

    table = pd.DataFrame(rows, columns=list(TABLE1_COLUMNS))
    table["n"] = table["n"].astype("Int64")
    table["percent"] = table["percent"].astype("Int64")
    for c in ("median", "min", "max"):
        table[c] = table[c].astype(float)
    return table


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def format_table1(table1: pd.DataFrame) -> pd.DataFrame:
    """The paper's printed layout of a tidy Table 1: ``"38 (58)"`` and ``"49 (17–82)"``.

    Parameters
    ----------
    table1
        A frame with the columns of :func:`make_table1`.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable, level, variable_label, level_label, value``: labels as the paper
        prints them (the liposarcoma subtypes indented under "Liposarcoma"; median rows carry
        the label of the variable and an empty ``level_label``), ``value`` the printed text:
        ``n (percent)`` for counts, ``median (min–max)`` (en dash) for continuous variables.
        Numbers are shown without a trailing ``.0``.

    Example
    -------
    >>> format_table1(make_table1(cohort))["value"].head(2).tolist()  # doctest: +SKIP
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
        out.append({"variable": row.variable, "level": row.level,
                    "variable_label": variable_label, "level_label": level_label,
                    "value": value})
    return pd.DataFrame(out, columns=["variable", "level", "variable_label", "level_label",
                                      "value"])
