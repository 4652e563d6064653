"""Surgical details and perioperative outcomes of the analysed cohort (the paper's section 3.2).

The table has Table 1's tidy shape plus ``percent_1dp`` (lobectomy's 7.6 % is printed to one
decimal), rounded as Table 1. The optional columns ``r2_reason`` and ``complication_kind`` are
counted as ``not_recorded`` when the registry lacks them.
"""

from __future__ import annotations

import pandas as pd

from helpers.describe import percent_half_up, round_half_up
from helpers.schema import load_data_dictionary

CLAVIEN_DINDO_ORDER = ("none", "I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")
MAJOR_GRADES = ("IIIa", "IIIb", "IVa", "IVb", "V")
PERIOPERATIVE_COLUMNS = (
    "lung_metastasis_distribution", "lung_metastasis_number", "largest_lung_lesion_mm",
    "resection_type", "two_stage_pm", "resection_status", "clavien_dindo_grade",
    "postoperative_stay_days", "chemotherapy_before_pm", "chemotherapy_after_pm",
)
#: Optional registry columns the table reports when present (data dictionary codes).
DETAIL_COLUMNS = ("r2_reason", "complication_kind")

def _detail_codes(column: str) -> tuple[str, ...]:
    """The data dictionary's codes of an optional detail column."""
    return tuple(load_data_dictionary().column(column).allowed or ())


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
    _check_codes(cohort, id_column)


def _check_codes(cohort: pd.DataFrame, id_column: str) -> None:
    """Grades and detail codes must be the data dictionary's (the message names the patients)."""
    known = {"clavien_dindo_grade": CLAVIEN_DINDO_ORDER}
    known.update({c: _detail_codes(c) for c in DETAIL_COLUMNS if c in cohort.columns})
    for column, codes in known.items():
        unknown = set(cohort[column].dropna()) - set(codes)
        if unknown:
            ids = cohort.loc[cohort[column].isin(unknown), id_column].tolist()
            raise PerioperativeError(f"column {column!r} has unknown value(s) {sorted(unknown)} for patient(s) {ids}")
    _check_details_apply(cohort, id_column)


def _check_details_apply(cohort: pd.DataFrame, id_column: str) -> None:
    """A reason only for an R2 resection, a kind only for a complication (the dictionary's rules)."""
    applies = {"r2_reason": ("resection_status", lambda s: s.eq("r2"), "an R2 resection"),
               "complication_kind": ("clavien_dindo_grade", lambda s: s.ne("none"),
                                     "a complication (grade other than none)")}
    for column, (other, when, what) in applies.items():
        if column not in cohort.columns or other not in cohort.columns:
            continue
        stray = cohort[column].notna() & ~when(cohort[other])
        if stray.any():
            raise PerioperativeError(f"column {column!r} is filled without {what} for patient(s) "
                                     f"{cohort.loc[stray, id_column].tolist()}")


def _count(variable: str, level: str, mask: pd.Series) -> dict:
    n, total = int(mask.sum()), len(mask)
    return {"variable": variable, "level": level, "n": n, "percent": percent_half_up(n, total),
            "percent_1dp": round_half_up(100 * n / total, 1)}


def _spread(variable: str, values: pd.Series) -> dict:
    return {"variable": variable, "level": "", "median": float(values.median()),
            "min": float(values.min()), "max": float(values.max())}


def _detail_rows(cohort: pd.DataFrame, column: str, concerned: pd.Series) -> list[dict]:
    """One count per code of an optional detail column among the concerned patients, then ``not_recorded``."""
    values = cohort[column] if column in cohort.columns else pd.Series(pd.NA, index=cohort.index)
    rows = [_count(column, code, concerned & values.eq(code).fillna(False)) for code in _detail_codes(column)]
    return rows + [_count(column, "not_recorded", concerned & values.isna())]


def make_perioperative_table(cohort: pd.DataFrame, *, id_column: str = "patient_id") -> pd.DataFrame:
    """Surgical and perioperative table of the analysed cohort, in the paper's section 3.2 order.

    Returns ``variable, level, n, percent, percent_1dp, median, min, max``: count rows and
    median/range rows (``level`` empty). ``clavien_dindo_grade`` lists every grade, then ``any``,
    ``grade_1_or_2`` (managed without intervention: the Clavien-Dindo definition of I-II) and
    ``grade_3_or_more``; ``r2_reason`` and ``complication_kind`` count by code, then
    ``not_recorded``; ``chemotherapy`` as Table 1 (pre- and postoperative each include ``both``).
    :class:`PerioperativeError` names the column and patients of an absent column, a missing
    value or an unknown code.
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
    rows += [_count("resection_status", lvl, c["resection_status"].eq(lvl)) for lvl in ("r0", "r1", "r2")]
    rows += _detail_rows(c, "r2_reason", c["resection_status"].eq("r2"))
    rows += [_count("clavien_dindo_grade", lvl, grade.eq(lvl)) for lvl in CLAVIEN_DINDO_ORDER]
    rows += [_count("clavien_dindo_grade", "any", grade.ne("none")),
             _count("clavien_dindo_grade", "grade_1_or_2", grade.isin(("I", "II"))),
             _count("clavien_dindo_grade", "grade_3_or_more", grade.isin(MAJOR_GRADES))]
    rows += _detail_rows(c, "complication_kind", grade.ne("none"))
    rows += [_spread("postoperative_stay_days", c["postoperative_stay_days"])]
    rows += [_count("chemotherapy", "preoperative", before), _count("chemotherapy", "postoperative", after),
             _count("chemotherapy", "both", before & after), _count("chemotherapy", "none", ~before & ~after)]
    table = pd.DataFrame(rows, columns=["variable", "level", "n", "percent", "percent_1dp", "median", "min", "max"])
    table[["n", "percent"]] = table[["n", "percent"]].astype("Int64")
    return table


def _listed(rows: pd.DataFrame) -> str:
    """"1 prolonged air leak, 1 bleeding" from count rows (levels with n > 0)."""
    return ", ".join(f"{int(r.n)} {str(r.level).replace('_', ' ')}" for r in rows.itertuples() if r.n > 0)


def safety_sentence(table: pd.DataFrame) -> str:
    """The computed sentence behind the paper's safety statement, from a perioperative table.

    E.g. "2 of 66 patients (3 %) had a perioperative complication (1 prolonged air leak, 1
    bleeding), worst Clavien-Dindo grade II; none of grade III or more. Postoperative stay: ..."
    """
    grades = table[table["variable"] == "clavien_dindo_grade"].set_index("level")
    n_total = int(grades.loc["none", "n"] + grades.loc["any", "n"])
    n_any, n_major = int(grades.loc["any", "n"]), int(grades.loc["grade_3_or_more", "n"])
    present = [g for g in CLAVIEN_DINDO_ORDER[1:] if grades.loc[g, "n"] > 0]
    worst = f"worst Clavien-Dindo grade {present[-1]}" if present else "no Clavien-Dindo grade"
    major = "none of grade III or more" if n_major == 0 else f"{n_major} of grade III or more"
    kinds = _listed(table[table["variable"] == "complication_kind"])
    stay = table[table["variable"] == "postoperative_stay_days"].iloc[0]
    return (f"{n_any} of {n_total} patients ({int(grades.loc['any', 'percent'])} %) had a "
            f"perioperative complication{f' ({kinds})' if kinds else ''}, {worst}; {major}. "
            f"Postoperative stay: median {stay['median']:g} ({stay['min']:g}-{stay['max']:g}) days.")


def residual_tumour_sentence(table: pd.DataFrame) -> str:
    """The computed sentence on curative resection and the R2 cases, from a perioperative table.

    E.g. "Curative (R0) resection in 63 of 66 patients (95 %); R1 in 0; R2 in 3 (3 pleural dissemination)."
    """
    status = table[table["variable"] == "resection_status"].set_index("level")
    n_total = int(status["n"].sum())
    reasons = _listed(table[table["variable"] == "r2_reason"])
    r2 = int(status.loc["r2", "n"])
    return (f"Curative (R0) resection in {int(status.loc['r0', 'n'])} of {n_total} patients "
            f"({int(status.loc['r0', 'percent'])} %); R1 in {int(status.loc['r1', 'n'])}; "
            f"R2 in {r2}{f' ({reasons})' if reasons else ''}.")


def complications_by_grade(cohort: pd.DataFrame, *, id_column: str = "patient_id") -> pd.DataFrame:
    """Complicated patients counted by Clavien-Dindo grade and kind of complication.

    Returns ``grade, kind, n`` per combination that occurs, grades in order (``kind``
    ``not_recorded`` where the registry has none); errors as :func:`make_perioperative_table`.

    >>> frame = pd.DataFrame({"patient_id": ["A", "B"], "clavien_dindo_grade": ["II", "none"],
    ...                       "complication_kind": ["bleeding", None]})
    >>> complications_by_grade(frame).to_dict("records")
    [{'grade': 'II', 'kind': 'bleeding', 'n': 1}]
    """
    missing = [c for c in ("clavien_dindo_grade", id_column) if c not in cohort.columns]
    if missing:
        raise PerioperativeError(f"cohort lacks column(s): {', '.join(missing)}")
    empty = cohort.loc[cohort["clavien_dindo_grade"].isna(), id_column].tolist()
    if empty:
        raise PerioperativeError(f"column 'clavien_dindo_grade' is missing for patient(s) {empty}")
    _check_codes(cohort, id_column)
    done = cohort[cohort["clavien_dindo_grade"].ne("none")]
    kind = done.get("complication_kind", pd.Series(None, index=done.index, dtype=object))
    frame = pd.DataFrame({"grade": pd.Categorical(done["clavien_dindo_grade"], categories=CLAVIEN_DINDO_ORDER[1:]),
                          "kind": kind.fillna("not_recorded").astype(str)})
    counts = frame.groupby(["grade", "kind"], observed=True).size().reset_index(name="n")
    counts["grade"] = counts["grade"].astype(str)
    return counts
