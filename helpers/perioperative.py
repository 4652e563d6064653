"""Surgical details and perioperative outcomes of the analysed cohort (the paper's section 3.2).

The table has the same tidy shape as Table 1 (``variable, level, n, percent, median, min,
max``) plus ``percent_1dp`` (the percentage to one decimal, as the paper prints lobectomy,
7.6 %). Percentages use :func:`helpers.describe.percent_half_up` so they round as Table 1 does.
"""

from __future__ import annotations

import pandas as pd

from helpers.describe import percent_half_up, round_half_up

CLAVIEN_DINDO_ORDER = ("none", "I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")
MAJOR_GRADES = ("IIIa", "IIIb", "IVa", "IVb", "V")
PERIOPERATIVE_COLUMNS = (
    "lung_metastasis_distribution", "lung_metastasis_number", "largest_lung_lesion_mm",
    "resection_type", "two_stage_pm", "resection_status", "clavien_dindo_grade",
    "postoperative_stay_days", "chemotherapy_before_pm", "chemotherapy_after_pm",
)

#: Key of ``published_targets.json["perioperative"]`` -> (variable, level, column) of the table.
PUBLISHED_KEYS: dict[str, tuple[str, str, str]] = {
    "unilateral_n": ("lung_metastasis_distribution", "unilateral", "n"),
    "unilateral_pct": ("lung_metastasis_distribution", "unilateral", "percent"),
    "bilateral_pm_n": ("lung_metastasis_distribution", "bilateral", "n"),
    "solitary_n": ("lung_metastasis_number", "solitary", "n"),
    "solitary_pct": ("lung_metastasis_number", "solitary", "percent"),
    "lung_metastases_resected_median": ("lung_metastases_resected", "", "median"),
    "lung_metastases_resected_min": ("lung_metastases_resected", "", "min"),
    "lung_metastases_resected_max": ("lung_metastases_resected", "", "max"),
    "max_lung_tumor_diameter_mm_median": ("largest_lung_lesion_mm", "", "median"),
    "max_lung_tumor_diameter_mm_min": ("largest_lung_lesion_mm", "", "min"),
    "max_lung_tumor_diameter_mm_max": ("largest_lung_lesion_mm", "", "max"),
    "wedge_resection_n": ("resection_type", "wide_wedge_resection", "n"),
    "wedge_resection_pct": ("resection_type", "wide_wedge_resection", "percent"),
    "segmentectomy_n": ("resection_type", "segmentectomy", "n"),
    "segmentectomy_pct": ("resection_type", "segmentectomy", "percent"),
    "lobectomy_n": ("resection_type", "lobectomy", "n"),
    "lobectomy_pct_text": ("resection_type", "lobectomy", "percent_1dp"),
    "lobectomy_pct_table1": ("resection_type", "lobectomy", "percent"),
    "two_stage_pm_n": ("two_stage_pm", "yes", "n"),
    "curative_resection_n": ("resection_status", "r0", "n"),
    "r2_n": ("resection_status", "r2", "n"),
    "complications_n": ("clavien_dindo_grade", "any", "n"),
    "complications_pct": ("clavien_dindo_grade", "any", "percent"),
    "clavien_dindo_grade_3_4_n": ("clavien_dindo_grade", "grade_3_or_more", "n"),
    "postoperative_hospital_stay_days_median": ("postoperative_stay_days", "", "median"),
    "postoperative_hospital_stay_days_min": ("postoperative_stay_days", "", "min"),
    "postoperative_hospital_stay_days_max": ("postoperative_stay_days", "", "max"),
    "preoperative_chemotherapy_n": ("chemotherapy", "preoperative", "n"),
    "preoperative_chemotherapy_pct": ("chemotherapy", "preoperative", "percent"),
    "postoperative_chemotherapy_n": ("chemotherapy", "postoperative", "n"),
    "postoperative_chemotherapy_pct": ("chemotherapy", "postoperative", "percent"),
    "no_perioperative_chemotherapy_pct": ("chemotherapy", "none", "percent"),
    "no_perioperative_chemotherapy_n_table1": ("chemotherapy", "none", "n"),
    "both_pre_and_post_chemotherapy_n_table1": ("chemotherapy", "both", "n"),
}

#: Published keys the registry cannot reproduce, with the reason.
NOT_REPRODUCIBLE: dict[str, str] = {
    "curative_resection_pct": "misprint: 63/66 = 95.45 % rounds to 95, the paper prints 96 "
    "(as in Table 1's R0 row)",
    "r2_reason": "the registry has no column for the reason of an R2 resection",
    "complication_prolonged_air_leak_n": "the registry has no column for the kind of complication",
    "complication_postoperative_hemothorax_n": "the registry has no column for the kind of "
    "complication",
    "complications_managed_conservatively_n": "the registry does not record how a complication "
    "was managed (grade <= II implies no intervention under anaesthesia)",
}


class PerioperativeError(ValueError):
    """The cohort cannot be summarised (a column is absent or holds missing values)."""


def _check(cohort: pd.DataFrame, id_column: str) -> None:
    missing = [c for c in (*PERIOPERATIVE_COLUMNS, id_column) if c not in cohort.columns]
    if missing:
        raise PerioperativeError(f"cohort lacks column(s): {', '.join(missing)}")
    for column in PERIOPERATIVE_COLUMNS:
        bad = cohort.loc[cohort[column].isna(), id_column].tolist()
        if bad:
            raise PerioperativeError(f"column {column!r} is missing for patient(s) {bad}")
    grades = set(cohort["clavien_dindo_grade"]) - set(CLAVIEN_DINDO_ORDER)
    if grades:
        ids = cohort.loc[cohort["clavien_dindo_grade"].isin(grades), id_column].tolist()
        raise PerioperativeError(
            f"column 'clavien_dindo_grade' has unknown value(s) {sorted(grades)} "
            f"for patient(s) {ids}"
        )


def _count(variable: str, level: str, mask: pd.Series) -> dict:
    n, total = int(mask.sum()), len(mask)
    return {"variable": variable, "level": level, "n": n,
            "percent": percent_half_up(n, total),
            "percent_1dp": round_half_up(100 * n / total, 1)}


def _spread(variable: str, values: pd.Series) -> dict:
    return {"variable": variable, "level": "", "median": float(values.median()),
            "min": float(values.min()), "max": float(values.max())}


def make_perioperative_table(cohort: pd.DataFrame, *, id_column: str = "patient_id") -> pd.DataFrame:
    """Surgical and perioperative table of the analysed cohort, in the paper's section 3.2 order.

    Parameters
    ----------
    cohort
        The analysed cohort (``CohortResult.analysed``), data-dictionary column names.
    id_column
        Patient-id column (names patients in error messages).

    Returns
    -------
    pandas.DataFrame
        Columns ``variable, level, n, percent, percent_1dp, median, min, max``. Count rows
        (``n`` and percentages of the analysed n) and median/range rows (``level`` empty).
        ``clavien_dindo_grade`` lists every grade, then ``any`` (grade >= I) and
        ``grade_3_or_more``; ``chemotherapy`` has ``preoperative`` and ``postoperative`` (each
        including ``both``), ``both`` and ``none``, as Table 1.

    Raises
    ------
    PerioperativeError
        A column is absent, a value is missing or a Clavien-Dindo grade is unknown (the message
        names the column and the patient ids).
    """
    if not isinstance(cohort, pd.DataFrame) or cohort.empty:
        raise PerioperativeError("cohort must be a non-empty pandas DataFrame")
    _check(cohort, id_column)
    c = cohort
    before, after = c["chemotherapy_before_pm"].eq("yes"), c["chemotherapy_after_pm"].eq("yes")
    grade = c["clavien_dindo_grade"]
    rows = [_count("lung_metastasis_distribution", lvl, c["lung_metastasis_distribution"].eq(lvl))
            for lvl in ("unilateral", "bilateral")]
    rows += [_spread("lung_metastases_resected", c["lung_metastasis_number"]),
             _count("lung_metastasis_number", "solitary", c["lung_metastasis_number"].eq(1)),
             _count("lung_metastasis_number", "multiple", c["lung_metastasis_number"].gt(1)),
             _spread("largest_lung_lesion_mm", c["largest_lung_lesion_mm"])]
    rows += [_count("resection_type", lvl, c["resection_type"].eq(lvl))
             for lvl in ("wide_wedge_resection", "segmentectomy", "lobectomy")]
    rows += [_count("two_stage_pm", "yes", c["two_stage_pm"].eq("yes"))]
    rows += [_count("resection_status", lvl, c["resection_status"].eq(lvl))
             for lvl in ("r0", "r1", "r2")]
    rows += [_count("clavien_dindo_grade", lvl, grade.eq(lvl)) for lvl in CLAVIEN_DINDO_ORDER]
    rows += [_count("clavien_dindo_grade", "any", grade.ne("none")),
             _count("clavien_dindo_grade", "grade_3_or_more", grade.isin(MAJOR_GRADES)),
             _spread("postoperative_stay_days", c["postoperative_stay_days"])]
    rows += [_count("chemotherapy", "preoperative", before),
             _count("chemotherapy", "postoperative", after),
             _count("chemotherapy", "both", before & after),
             _count("chemotherapy", "none", ~before & ~after)]
    table = pd.DataFrame(rows, columns=["variable", "level", "n", "percent", "percent_1dp",
                                        "median", "min", "max"])
    table[["n", "percent"]] = table[["n", "percent"]].astype("Int64")
    return table


def safety_sentence(table: pd.DataFrame) -> str:
    """The computed sentence behind the paper's safety statement, from a perioperative table.

    Parameters
    ----------
    table
        Output of :func:`make_perioperative_table`.

    Returns
    -------
    str
        E.g. "2 of 66 patients (3 %) had a perioperative complication, worst Clavien-Dindo
        grade II; none of grade III or more. Postoperative stay: median 3 (2-13) days."
    """
    grades = table[table["variable"] == "clavien_dindo_grade"].set_index("level")
    n_total = int(grades.loc["none", "n"] + grades.loc["any", "n"])
    n_any, n_major = int(grades.loc["any", "n"]), int(grades.loc["grade_3_or_more", "n"])
    present = [g for g in CLAVIEN_DINDO_ORDER[1:] if grades.loc[g, "n"] > 0]
    worst = f"worst Clavien-Dindo grade {present[-1]}" if present else "no Clavien-Dindo grade"
    major = ("none of grade III or more" if n_major == 0
             else f"{n_major} of grade III or more")
    stay = table[table["variable"] == "postoperative_stay_days"].iloc[0]
    return (f"{n_any} of {n_total} patients ({int(grades.loc['any', 'percent'])} %) had a "
            f"perioperative complication, {worst}; {major}. Postoperative stay: median "
            f"{stay['median']:g} ({stay['min']:g}-{stay['max']:g}) days.")
