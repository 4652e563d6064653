"""The paper's numbers, the fidelity scorecard of a run, and a computed audit of the paper.

Source: ``data/published_targets.json``, a transcription of Nakayama et al., Cancers
2022;14:3329 (CC BY 4.0) with every printed value kept as printed (flags mark internal
inconsistencies; derived quantities live in the block ``derived_not_published``).

Three layers:

- loaders: :func:`load_published`, :func:`published_table1`, :func:`published_table2`,
  :func:`published_table3`, :func:`published_overall`, and :func:`side_by_side`;
- :func:`fidelity_scorecard`: every published number a run reproduces, with the tolerance of
  issue 4 and pass/fail per row, :func:`scorecard_summary` (one line) and
  :func:`write_scorecard`;
- :func:`audit_paper`: the paper's internal inconsistencies, *computed* from the published
  numbers (sums, roundings, interval symmetry, study window, implied chi-square), so that a
  corrected transcription would make the finding disappear; it includes the text against its
  tables (:func:`audit_text_vs_tables`).

The scorecard scores the numbers of the text too (``text_results``: groups ``text_abstract``,
``text_3.1`` ... ``text_4``): a text number that repeats a table cell is re-scored by that
table's own scorer, so the rule is the cell's and no second tolerance table exists.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from helpers import DATA_DIR
from helpers.describe import round_half_up  # re-exported: published numbers print half up too

#: The transcription of the paper's numbers.
PUBLISHED_PATH: Path = DATA_DIR / "published_targets.json"

#: Run tables the scorecard reads (``<output_dir>/tables/<name>.csv``).
RUN_TABLES: tuple[str, ...] = (
    "table1", "km_overall", "table2", "table3", "perioperative", "cohort_flow",
)

TABLE1_COLUMNS = ["variable", "level", "n", "percent", "median", "min", "max"]
TABLE2_COLUMNS = [
    "variable",
    "level",
    "n",
    "survival_pct",
    "p_value",
    "p_value_operator",
    "p_value_reported_as",
]
TABLE3_COLUMNS = [
    "variable",
    "level",
    "hr",
    "ci_low",
    "ci_high",
    "p_value",
    "p_value_reported_as",
]

#: Tolerances of the targets of the shipped registry, by target group: the one table both the
#: scorecard and the registry's generator read. ``inf`` for a p-value means "on the paper's side
#: of alpha" only (the paper's conclusion). Realism of the synthetic data comes first, so these
#: are looser than :data:`STRETCH_TOLERANCES`.
TOLERANCES: dict[str, float] = {
    "table2_survival_5y": 3.0,  # percentage points
    "table2_p": math.inf,  # the paper's side of alpha
    "table3_hr": 0.10,  # relative
    "table3_ci": 0.15,  # relative
    "table3_p": math.inf,  # the paper's side of alpha
    "overall_median": 1.0,  # months
    "overall_median_ci": 1.5,  # months
    "overall_5y": 1.0,  # percentage points
    "overall_followup": 1.0,  # months
}

#: The tighter tolerances of the first registry (digit-matching), kept as stretch rows.
STRETCH_TOLERANCES: dict[str, float] = {
    "table2_survival_5y": 2.0,
    "table2_p": 0.01,  # absolute, plus the published side of alpha
    "table3_hr": 0.02,
    "table3_ci": 0.10,
    "table3_p": 0.01,
    "overall_median": 0.5,
    "overall_median_ci": 1.0,
    "overall_5y": 0.5,
    "overall_followup": 1.0,
}

SCORECARD_COLUMNS = [
    "target_group",
    "table",
    "variable",
    "level",
    "quantity",
    "published",
    "published_printed",
    "ours",
    "ours_printed",
    "diff",
    "tolerance",
    "rule",
    "status",
    "passed",
    "stretch",
    "paper_issue",
    "note",
]

AUDIT_COLUMNS = [
    "check",
    "table",
    "variable",
    "level",
    "quantity",
    "printed",
    "computed",
    "consistent",
    "severity",
    "finding",
]


# --------------------------------------------------------------------------------------------
# small numeric helpers
# --------------------------------------------------------------------------------------------


def format_p(p: float, decimals: int = 3, *, floor: float = 0.001) -> str:
    """A p-value as a paper prints it: ``"<0.001"`` below ``floor``, else half-up to ``decimals``.

    Parameters
    ----------
    p
        The p-value.
    decimals
        Digits printed (the paper prints 2 or 3).
    floor
        Smallest printed value; smaller p-values print as ``"<floor"``.

    Returns
    -------
    str
        ``""`` for a missing p-value.

    Example
    -------
    >>> format_p(0.0004), format_p(0.0512), format_p(0.4, 2)
    ('<0.001', '0.051', '0.40')
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    if p < floor:
        return f"<{floor:g}"
    return f"{round_half_up(p, decimals):.{decimals}f}"


def _num(value: object) -> float:
    if value is None:
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _key(value: object) -> str:
    """Level keys compared as strings; missing levels (median/range rows) become ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


# --------------------------------------------------------------------------------------------
# loaders
# --------------------------------------------------------------------------------------------


def load_published(path: str | Path = PUBLISHED_PATH) -> dict:
    """Read the transcription of the paper's numbers.

    Parameters
    ----------
    path
        The JSON file (default ``data/published_targets.json``).

    Returns
    -------
    dict
        The parsed JSON (keys ``table1``, ``table2``, ``table2_tests``, ``table3``, ``overall``,
        ``study_design``, ``derived_not_published`` ...).

    Example
    -------
    >>> load_published()["overall"]["median_dss_months"]
    48
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"published targets: expected a JSON file at {file}, found none")
    data = json.loads(file.read_text(encoding="utf-8"))
    missing = [k for k in ("table1", "table2", "table2_tests", "table3", "overall") if k not in data]
    if missing:
        raise ValueError(f"published targets {file}: expected keys {missing}, not found")
    return data


def _resolve(published: Mapping | None) -> Mapping:
    return load_published() if published is None else published


def _label_fields(record: Mapping, *label_keys: str) -> dict[str, object]:
    """The display labels of one transcribed row plus its transcriber flags joined by '; '."""
    fields: dict[str, object] = {k: record.get(k) for k in label_keys}
    fields["flags"] = "; ".join(record.get("flags", []))
    return fields


def published_table1(published: Mapping | None = None, *, labels: bool = False) -> pd.DataFrame:
    """The paper's Table 1 in the layout of our ``tables/table1.csv``.

    Parameters
    ----------
    published
        Output of :func:`load_published` (default: the shipped file).
    labels
        Add ``variable_label``, ``level_label`` and ``flags`` (the transcriber's notes).

    Returns
    -------
    pandas.DataFrame
        ``variable, level, n, percent, median, min, max``; ``level`` is empty (NaN) on the
        median/range rows, ``n``/``percent`` are NaN there and ``median``/``min``/``max``
        are NaN on count rows. Liposarcoma subtypes are kept (level keys of the subtypes).

    Example
    -------
    >>> published_table1().query("variable == 'sex'")[["level", "n", "percent"]].values.tolist()
    [['male', 38.0, 58.0], ['female', 28.0, 42.0]]
    """
    rows = []
    for r in _resolve(published)["table1"]:
        row = {
            "variable": r["variable"],
            "level": r.get("level"),
            "n": _num(r.get("n")),
            "percent": _num(r.get("percent")),
            "median": _num(r.get("median")),
            "min": _num(r.get("min")),
            "max": _num(r.get("max")),
        }
        if labels:
            row.update(_label_fields(r, "variable_label", "level_label"))
        rows.append(row)
    return pd.DataFrame(rows)


def published_table2(published: Mapping | None = None, *, labels: bool = False) -> pd.DataFrame:
    """The paper's Table 2 (univariate log-rank screen), one row per factor level.

    Parameters
    ----------
    published
        Output of :func:`load_published` (default: the shipped file).
    labels
        Add ``variable_label``, ``level_label`` and ``flags``.

    Returns
    -------
    pandas.DataFrame
        ``variable, level, n, survival_pct, p_value, p_value_operator, p_value_reported_as,
        p_value_decimals``; the comparison's p-value is repeated on both rows.

    Example
    -------
    >>> float(published_table2().set_index(["variable", "level"]).loc[("sex", "female"), "survival_pct"])
    28.0
    """
    rows = []
    for r in _resolve(published)["table2"]:
        row = {
            "variable": r["variable"],
            "level": r["level"],
            "n": _num(r.get("n")),
            "survival_pct": _num(r.get("five_year_survival_pct")),
            "p_value": _num(r.get("p_value")),
            "p_value_operator": r.get("p_value_operator", "="),
            "p_value_reported_as": r.get("p_value_reported_as"),
            "p_value_decimals": int(r.get("p_value_decimals_printed", 3)),
        }
        if labels:
            row.update(_label_fields(r, "variable_label", "level_label"))
        rows.append(row)
    return pd.DataFrame(rows)


def published_table3(published: Mapping | None = None, *, labels: bool = False) -> pd.DataFrame:
    """The paper's Table 3 (multivariable Cox model), one row per covariate.

    Parameters
    ----------
    published
        Output of :func:`load_published` (default: the shipped file).
    labels
        Add ``variable_label`` and ``flags``.

    Returns
    -------
    pandas.DataFrame
        ``variable, level, hr, ci_low, ci_high, p_value, p_value_reported_as, reference_level,
        p_value_decimals``; ``level`` is the risk level, ``reference_level`` the (unprinted)
        reference.

    Example
    -------
    >>> published_table3().loc[0, ["variable", "level", "hr"]].astype(str).tolist()
    ['disease_free_interval', 'lt_12_months', '3.544']
    """
    rows = []
    for r in _resolve(published)["table3"]:
        row = {
            "variable": r["variable"],
            "level": r["level"],
            "hr": _num(r.get("hr")),
            "ci_low": _num(r.get("ci_low")),
            "ci_high": _num(r.get("ci_high")),
            "p_value": _num(r.get("p_value")),
            "p_value_reported_as": r.get("p_value_reported_as"),
            "reference_level": r.get("reference_level"),
            "p_value_decimals": int(r.get("p_value_decimals_printed", 3)),
        }
        if labels:
            row.update(_label_fields(r, "variable_label"))
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class PublishedOverall:
    """The paper's overall survival numbers (section 3.3 and the abstract).

    Attributes
    ----------
    n
        Patients analysed (66).
    median_months, median_ci_low, median_ci_high
        Median survival and its printed 95 % CI (SPSS-type, symmetric).
    survival_5y_pct
        Five-year survival in percent.
    median_followup_months, followup_min_months, followup_max_months
        Follow-up median and range as printed.
    """

    n: int
    median_months: float
    median_ci_low: float
    median_ci_high: float
    survival_5y_pct: float
    median_followup_months: float
    followup_min_months: float
    followup_max_months: float

    def to_frame(self) -> pd.DataFrame:
        """One-row frame with the attributes as columns.

        Returns
        -------
        pandas.DataFrame

        Example
        -------
        >>> published_overall().to_frame().shape
        (1, 8)
        """
        return pd.DataFrame([asdict(self)])


def published_overall(published: Mapping | None = None) -> PublishedOverall:
    """The paper's overall median, 5-year survival and follow-up.

    Parameters
    ----------
    published
        Output of :func:`load_published` (default: the shipped file).

    Returns
    -------
    PublishedOverall

    Example
    -------
    >>> o = published_overall(); (o.median_months, o.median_ci_low, o.median_ci_high)
    (48.0, 29.4, 66.6)
    """
    o = _resolve(published)["overall"]
    return PublishedOverall(
        n=int(o["n_analysed"]),
        median_months=_num(o["median_dss_months"]),
        median_ci_low=_num(o["median_dss_ci95_low"]),
        median_ci_high=_num(o["median_dss_ci95_high"]),
        survival_5y_pct=_num(o["five_year_dss_pct"]),
        median_followup_months=_num(o["median_follow_up_months"]),
        followup_min_months=_num(o["follow_up_min_months"]),
        followup_max_months=_num(o["follow_up_max_months"]),
    )


def side_by_side(
    ours: pd.DataFrame,
    published: pd.DataFrame,
    on: list[str] | str,
    values: list[str] | str,
    *,
    tolerance: float | Mapping[str, float] = 0.0,
) -> pd.DataFrame:
    """Our table beside the paper's, with a difference column per value and a match flag.

    Rows are matched on the key columns ``on`` (missing keys, e.g. the empty level of a
    median/range row, match each other). Keys present on one side only are kept, with
    ``source`` saying which side.

    Parameters
    ----------
    ours, published
        The two tables; both must have the ``on`` and ``values`` columns.
    on
        Key column(s), e.g. ``["variable", "level"]``.
    values
        Value column(s) to compare, e.g. ``["n", "percent"]``.
    tolerance
        Largest absolute difference that still counts as a match, one number for all values
        or a mapping value -> tolerance (default exact).

    Returns
    -------
    pandas.DataFrame
        The key columns, then ``ours_<v>, published_<v>, diff_<v>`` (ours - published) for each
        value, ``match`` (every value within tolerance; missing on both sides counts as equal)
        and ``source`` (``both``, ``ours_only``, ``published_only``).

    Example
    -------
    >>> side_by_side(mine, published_table1(), ["variable", "level"], ["n"])  # doctest: +SKIP
    """
    on = [on] if isinstance(on, str) else list(on)
    values = [values] if isinstance(values, str) else list(values)
    for label, frame in (("ours", ours), ("published", published)):
        missing = [c for c in on + values if c not in frame.columns]
        if missing:
            raise KeyError(
                f"side_by_side: {label} table lacks column(s) {missing}; "
                f"expected {on + values}, found {list(frame.columns)}"
            )
    left = ours[on + values].copy()
    right = published[on + values].copy()
    for frame in (left, right):
        for c in on:
            frame[c] = frame[c].astype(object).map(_key)
    dup_left = left.duplicated(on, keep=False)
    if dup_left.any():
        raise ValueError(
            f"side_by_side: key {on} is not unique in ours; duplicated keys: "
            f"{left.loc[dup_left, on].drop_duplicates().values.tolist()}"
        )
    left = left.rename(columns={v: f"ours_{v}" for v in values})
    right = right.rename(columns={v: f"published_{v}" for v in values})
    left["_order_ours"] = np.arange(len(left))
    right["_order_published"] = np.arange(len(right))
    merged = left.merge(right, on=on, how="outer", indicator="source", sort=False)
    # pandas sorts the keys of an outer merge; keep our row order, then the paper's leftovers
    merged = merged.sort_values(["_order_ours", "_order_published"], na_position="last")
    merged["source"] = merged["source"].map(
        {"both": "both", "left_only": "ours_only", "right_only": "published_only"}
    )
    match = pd.Series(True, index=merged.index)
    columns = list(on)
    for v in values:
        tol = tolerance.get(v, 0.0) if isinstance(tolerance, Mapping) else float(tolerance)
        a = pd.to_numeric(merged[f"ours_{v}"], errors="coerce")
        b = pd.to_numeric(merged[f"published_{v}"], errors="coerce")
        merged[f"diff_{v}"] = a - b
        both_missing = a.isna() & b.isna()
        close = (a - b).abs() <= tol + 1e-9
        match &= both_missing | close.fillna(False)
        columns += [f"ours_{v}", f"published_{v}", f"diff_{v}"]
    merged["match"] = match & (merged["source"] == "both")
    for c in on:
        merged[c] = merged[c].replace("", np.nan)
    return merged[columns + ["match", "source"]].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# audit of the paper
# --------------------------------------------------------------------------------------------

# Table 2 level -> Table 1 (variable, [levels]) whose counts it should equal. Domain mapping of
# the two tables' vocabularies (not a conclusion): a level equal to "the rest" is given as None
# and computed as N minus the complementary level.
_TABLE2_FROM_TABLE1: dict[tuple[str, str], tuple[str, list[str]] | None] = {
    ("sex", "male"): ("sex", ["male"]),
    ("sex", "female"): ("sex", ["female"]),
    ("primary_histology_synovial_sarcoma", "ss"): ("primary_histology", ["synovial_sarcoma"]),
    ("primary_histology_ups", "ups"): (
        "primary_histology",
        ["undifferentiated_pleomorphic_sarcoma"],
    ),
    ("primary_histology_liposarcoma", "liposarcoma"): ("primary_histology", ["liposarcoma"]),
    ("primary_histology_mfs", "mfs"): ("primary_histology", ["myxofibrosarcoma"]),
    ("primary_histology_leiomyosarcoma", "leiomyosarcoma"): (
        "primary_histology",
        ["leiomyosarcoma"],
    ),
    ("primary_site", "trunk_wall"): ("primary_site", ["trunk_wall"]),
    ("primary_site", "extremities"): ("primary_site", ["extremities"]),
    ("lung_metastasis_distribution", "unilateral"): ("lung_metastasis_distribution", ["unilateral"]),
    ("lung_metastasis_distribution", "bilateral"): ("lung_metastasis_distribution", ["bilateral"]),
    ("lung_metastasis_number", "solitary"): ("lung_metastasis_number", ["solitary"]),
    ("lung_metastasis_number", "multiple"): ("lung_metastasis_number", ["multiple"]),
    ("pulmonary_resection_type", "partial"): ("pulmonary_resection_type", ["wide_wedge_resection"]),
    ("pulmonary_resection_type", "anatomical"): (
        "pulmonary_resection_type",
        ["segmentectomy", "lobectomy"],
    ),
    ("curative_resection", "yes"): ("resection_status", ["r0"]),
    ("curative_resection", "no"): ("resection_status", ["r1", "r2"]),
    ("preoperative_chemotherapy", "yes"): ("chemotherapy", ["preoperative"]),
    ("postoperative_chemotherapy", "yes"): ("chemotherapy", ["postoperative"]),
}


def _audit_row(**kw: object) -> dict:
    row = dict.fromkeys(AUDIT_COLUMNS)
    row.update(kw)
    return row


def _months_between_year_month(start: str, end: str) -> int:
    """Whole calendar months between two 'YYYY-MM' (or 'YYYY-MM-DD') strings."""
    y0, m0 = (int(x) for x in start.split("-")[:2])
    y1, m1 = (int(x) for x in end.split("-")[:2])
    return (y1 - y0) * 12 + (m1 - m0)


def _p_interval(p: float, operator: str, decimals: int) -> tuple[float, float]:
    """The range of true p-values that print as the published p."""
    if operator == "<":
        return 0.0, p
    half = 0.5 * 10.0**-decimals
    return max(p - half, 0.0), p + half


def audit_paper(
    published: Mapping | None = None,
    *,
    deaths: tuple[int, int] | None = None,
    z_unusual: float = 1.645,
) -> pd.DataFrame:
    """Check the paper's printed numbers against each other; every finding is computed.

    Checks (one or more rows each):

    - ``table1_partition``: the levels of each Table 1 variable sum to N (chemotherapy does not;
      the excess is compared with twice the "both" row, which identifies the overlap);
    - ``table1_subtypes``: liposarcoma subtypes sum to the liposarcoma row;
    - ``table1_percent``: every printed percentage equals round-half-up(100 n / N);
    - ``table2_pair_sum``: the two groups of each Table 2 comparison sum to N;
    - ``table2_vs_table1``: each Table 2 group size equals the Table 1 count(s) it corresponds to;
    - ``table2_selection``: the factors with p < 0.05 in Table 2 are the Table 3 covariates;
    - ``table2_p_vs_5y``: the 5-year survival gap against the printed log-rank p. Under
      proportional hazards the two 5-year rates imply ln HR = ln(-ln S2) - ln(-ln S1) (delta-
      method SE from binomial variances, which ignores censoring and so understates the SE);
      the printed p implies chi-square (chi2.isf over the printed rounding interval) and, with
      D deaths (Schoenfeld: chi2 ~ D pi (1-pi) (ln HR)^2), a range of |ln HR|. The gap in SE
      units, taken at the death count most favourable to consistency, is flagged when larger
      than ``z_unusual``. Hand-written: no library implements this back-calculation;
    - ``table3_ci_symmetry``: ln U + ln L - 2 ln HR against the largest value the 3-decimal
      rounding of HR, L and U allows;
    - ``table3_p_vs_ci``: the Wald p implied by each CI against the printed p;
    - ``median_ci_symmetry``: whether the median's CI is symmetric (SPSS: median +- 1.96 SE);
    - ``followup_vs_window``: the printed maximum follow-up against the longest follow-up the
      study window allows when measured from PM.

    Parameters
    ----------
    published
        Output of :func:`load_published` (default: the shipped file).
    deaths
        Range of plausible deaths among the N patients for ``table2_p_vs_5y`` (not published;
        default the transcriber's simulation range in ``derived_not_published``, else (24, 39)).
    z_unusual
        Threshold (in SE units) above which ``table2_p_vs_5y`` reports an inconsistency.

    Returns
    -------
    pandas.DataFrame
        ``check, table, variable, level, quantity, printed, computed, consistent, severity,
        finding``; one row per item checked (``consistent`` False marks the inconsistencies).

    Example
    -------
    >>> audit = audit_paper()
    >>> audit.loc[~audit["consistent"], "check"].unique().tolist()  # doctest: +SKIP
    """
    pub = _resolve(published)
    n_total = int(pub["overall"]["n_analysed"])
    rows: list[dict] = []

    # --- Table 1 -----------------------------------------------------------------------------
    t1 = [r for r in pub["table1"] if r.get("level") is not None]
    t1_n = {(r["variable"], r["level"]): r["n"] for r in t1}
    by_var: dict[str, list[dict]] = {}
    for r in t1:
        if not r.get("is_subtype"):
            by_var.setdefault(r["variable"], []).append(r)
    for var, levels in by_var.items():
        total = sum(r["n"] for r in levels)
        pct_total = sum(r["percent"] for r in levels)
        consistent = total == n_total
        finding = (
            f"{' + '.join(str(r['n']) for r in levels)} = {total}"
            f" ({'=' if consistent else '!='} N = {n_total}); printed percentages sum to "
            f"{pct_total:g} %"
        )
        if not consistent and var == "chemotherapy":
            both = t1_n.get((var, "both"))
            none = t1_n.get((var, "none"))
            pre, post = t1_n.get((var, "preoperative")), t1_n.get((var, "postoperative"))
            excess = total - n_total
            if both is not None and excess == 2 * both:
                finding += (
                    f". The excess {excess} equals twice 'both' ({both}): the only reading "
                    f"consistent with N is that preoperative ({pre}) and postoperative ({post}) "
                    f"each include 'both' -> none {none}, pre-only {pre - both}, post-only "
                    f"{post - both}, both {both} (sum {none + pre - both + post - both + both})"
                )
        rows.append(
            _audit_row(
                check="table1_partition",
                table="table1",
                variable=var,
                quantity="n",
                printed=float(total),
                computed=float(n_total),
                consistent=consistent,
                severity="ok" if consistent else "R",
                finding=finding,
            )
        )
    parents: dict[tuple[str, str], list[dict]] = {}
    for r in pub["table1"]:
        if r.get("is_subtype"):
            parents.setdefault((r["variable"], r["parent_level"]), []).append(r)
    for (var, parent), subs in parents.items():
        s = sum(r["n"] for r in subs)
        consistent = s == t1_n.get((var, parent))
        rows.append(
            _audit_row(
                check="table1_subtypes",
                table="table1",
                variable=var,
                level=parent,
                quantity="n",
                printed=float(t1_n.get((var, parent), np.nan)),
                computed=float(s),
                consistent=consistent,
                severity="ok" if consistent else "P",
                finding=f"subtypes {' + '.join(str(r['n']) for r in subs)} = {s}; "
                f"printed {parent} {t1_n.get((var, parent))}",
            )
        )
    for r in t1:
        if r.get("percent") is None or r.get("n") is None:
            continue
        denom = r.get("denominator", n_total)
        exact = 100.0 * r["n"] / denom
        expected = round_half_up(exact, 0)
        consistent = float(r["percent"]) == expected
        finding = f"100 x {r['n']}/{denom} = {exact:.2f} -> {expected:g}; printed {r['percent']:g}"
        if not consistent:
            siblings = by_var.get(r["variable"], [])
            finding += (
                f"; the printed {r['variable']} percentages then sum to "
                f"{sum(x['percent'] for x in siblings):g} %"
            )
        rows.append(
            _audit_row(
                check="table1_percent",
                table="table1",
                variable=r["variable"],
                level=r["level"],
                quantity="percent",
                printed=float(r["percent"]),
                computed=round(exact, 2),
                consistent=consistent,
                severity="ok" if consistent else "P",
                finding=finding,
            )
        )

    # --- Table 2 -----------------------------------------------------------------------------
    t2 = {(r["variable"], r["level"]): r for r in pub["table2"]}
    for t in pub["table2_tests"]:
        var = t["comparison_id"]
        total = int(sum(t["n_groups"]))
        consistent = total == n_total
        rows.append(
            _audit_row(
                check="table2_pair_sum",
                table="table2",
                variable=var,
                quantity="n",
                printed=float(total),
                computed=float(n_total),
                consistent=consistent,
                severity="ok" if consistent else "R",
                finding=f"{' + '.join(str(n) for n in t['n_groups'])} = {total} "
                f"({'=' if consistent else '!='} N = {n_total})",
            )
        )
        for level, n in zip(t["groups"], t["n_groups"], strict=True):
            other = [g for g in t["groups"] if g != level][0]
            source = _TABLE2_FROM_TABLE1.get((var, level))
            if source is not None:
                t1_var, t1_levels = source
                counts = [t1_n.get((t1_var, lv)) for lv in t1_levels]
                if any(c is None for c in counts):
                    continue
                expected_n = float(sum(counts))
                how = f"Table 1 {t1_var} {' + '.join(t1_levels)} = {int(expected_n)}"
            elif _TABLE2_FROM_TABLE1.get((var, other)) is not None:
                t1_var, t1_levels = _TABLE2_FROM_TABLE1[(var, other)]
                counts = [t1_n.get((t1_var, lv)) for lv in t1_levels]
                if any(c is None for c in counts):
                    continue
                expected_n = float(n_total - sum(counts))
                how = f"N - Table 1 {t1_var} {' + '.join(t1_levels)} = {int(expected_n)}"
            else:
                continue
            consistent = float(n) == expected_n
            finding = f"Table 2 n = {n}; {how}"
            if not consistent:
                finding += f" (difference {n - expected_n:+g})"
            rows.append(
                _audit_row(
                    check="table2_vs_table1",
                    table="table2",
                    variable=var,
                    level=level,
                    quantity="n",
                    printed=float(n),
                    computed=expected_n,
                    consistent=consistent,
                    severity="ok" if consistent else "R",
                    finding=finding,
                )
            )
    alpha = float(pub.get("study_design", {}).get("significance_level", 0.05))
    sig = sorted(
        t["comparison_id"]
        for t in pub["table2_tests"]
        if t["p_value"] < alpha or (t["p_value_operator"] == "<" and t["p_value"] <= alpha)
    )
    t3_vars = sorted(r["variable"] for r in pub["table3"])
    consistent = sig == t3_vars
    rows.append(
        _audit_row(
            check="table2_selection",
            table="table3",
            quantity="covariates",
            printed=float(len(t3_vars)),
            computed=float(len(sig)),
            consistent=consistent,
            severity="ok" if consistent else "R",
            finding=f"Table 2 p < {alpha:g}: {', '.join(sig)}; Table 3 covariates: "
            f"{', '.join(t3_vars)}",
        )
    )

    if deaths is None:
        rng = pub.get("derived_not_published", {}).get("approximate_deaths", {})
        deaths = tuple(rng.get("range_5th_95th_pct", (24, 39)))  # type: ignore[assignment]
    d_values = np.arange(int(deaths[0]), int(deaths[1]) + 1)
    for t in pub["table2_tests"]:
        var = t["comparison_id"]
        (g1, g2), (n1, n2) = t["groups"], t["n_groups"]
        s1 = t2[(var, g1)]["five_year_survival_pct"] / 100.0
        s2 = t2[(var, g2)]["five_year_survival_pct"] / 100.0
        p_lo, p_hi = _p_interval(t["p_value"], t["p_value_operator"], t["p_value_decimals_printed"])
        chi_lo = float(stats.chi2.isf(p_hi, 1))
        chi_hi = float(stats.chi2.isf(p_lo, 1)) if p_lo > 0 else math.inf
        if not (0 < s1 < 1 and 0 < s2 < 1):
            rows.append(
                _audit_row(
                    check="table2_p_vs_5y",
                    table="table2",
                    variable=var,
                    quantity="p_value",
                    printed=float(t["p_value"]),
                    consistent=True,
                    severity="n/a",
                    finding=f"5-y {s1:.0%} vs {s2:.0%}: a rate of 0 or 1 gives no finite "
                    f"PH-implied HR; not checked",
                )
            )
            continue
        log_hr_5y = math.log(-math.log(s2)) - math.log(-math.log(s1))
        se = math.sqrt(
            (1 - s1) / (n1 * s1 * math.log(s1) ** 2) + (1 - s2) / (n2 * s2 * math.log(s2) ** 2)
        )
        pi = n1 / (n1 + n2)
        lr_lo = np.sqrt(chi_lo / (d_values * pi * (1 - pi)))
        lr_hi = np.sqrt(chi_hi / (d_values * pi * (1 - pi)))
        gap = np.where(
            abs(log_hr_5y) > lr_hi,
            (abs(log_hr_5y) - lr_hi) / se,
            np.where(abs(log_hr_5y) < lr_lo, (abs(log_hr_5y) - lr_lo) / se, 0.0),
        )
        z = float(np.min(np.abs(gap)))
        consistent = z <= z_unusual
        rows.append(
            _audit_row(
                check="table2_p_vs_5y",
                table="table2",
                variable=var,
                quantity="p_value",
                printed=float(t["p_value"]),
                computed=round(z, 2),
                consistent=consistent,
                severity="ok" if consistent else "Q",
                finding=(
                    f"5-y {s1:.0%} vs {s2:.0%} implies HR {math.exp(log_hr_5y):.2f} under PH "
                    f"(ln HR {log_hr_5y:+.2f}, SE {se:.2f}); printed p {t['p_value_reported_as']} "
                    f"implies chi2 {chi_lo:.3f}-{chi_hi:.3f}, i.e. |ln HR| "
                    f"{lr_lo.min():.2f}-{lr_hi.max():.2f} with {deaths[0]}-{deaths[1]} deaths; "
                    f"gap {z:.2f} SE (one-sided p {stats.norm.sf(z):.3f})"
                ),
            )
        )

    # --- Table 3 -----------------------------------------------------------------------------
    z975 = float(stats.norm.isf(0.025))
    for r in pub["table3"]:
        hr, lo, hi = float(r["hr"]), float(r["ci_low"]), float(r["ci_high"])
        asym = math.log(hi) + math.log(lo) - 2 * math.log(hr)
        half = 0.0005  # the table prints 3 decimals
        bound = half / hi + half / lo + 2 * half / hr
        consistent = abs(asym) <= bound
        finding = (
            f"ln U + ln L - 2 ln HR = {asym:+.4f}; rounding of 3-decimal HR, L, U allows "
            f"+-{bound:.4f}"
        )
        if not consistent:
            finding += (
                f"; a symmetric CI would have U = HR^2/L = {hr**2 / lo:.2f} or "
                f"L = HR^2/U = {hr**2 / hi:.3f}"
            )
        rows.append(
            _audit_row(
                check="table3_ci_symmetry",
                table="table3",
                variable=r["variable"],
                level=r["level"],
                quantity="ci",
                printed=round(asym, 4),
                computed=round(bound, 4),
                consistent=consistent,
                severity="ok" if consistent else "P",
                finding=finding,
            )
        )
        se = (math.log(hi) - math.log(lo)) / (2 * z975)
        p_implied = float(2 * stats.norm.sf(abs(math.log(hr)) / se))
        p_arms = [
            float(2 * stats.norm.sf(abs(math.log(hr)) / ((math.log(hr) - math.log(lo)) / z975))),
            float(2 * stats.norm.sf(abs(math.log(hr)) / ((math.log(hi) - math.log(hr)) / z975))),
        ]
        p_lo, p_hi = _p_interval(
            float(r["p_value"]), r.get("p_value_operator", "="), int(r["p_value_decimals_printed"])
        )
        consistent = p_lo - 1e-4 <= p_implied <= p_hi + 1e-4
        rows.append(
            _audit_row(
                check="table3_p_vs_ci",
                table="table3",
                variable=r["variable"],
                level=r["level"],
                quantity="p_value",
                printed=float(r["p_value"]),
                computed=round(p_implied, 4),
                consistent=consistent,
                severity="ok" if consistent else "P",
                finding=f"SE(ln HR) from the CI = {se:.4f}; Wald p = {p_implied:.4f} (lower arm "
                f"{p_arms[0]:.4f}, upper arm {p_arms[1]:.4f}); printed {r['p_value_reported_as']}",
            )
        )

    # --- overall -----------------------------------------------------------------------------
    o = pub["overall"]
    med, lo, hi = float(o["median_dss_months"]), float(o["median_dss_ci95_low"]), float(
        o["median_dss_ci95_high"]
    )
    lower_arm, upper_arm = med - lo, hi - med
    symmetric = abs(lower_arm - upper_arm) <= 0.1 + 1e-9  # limits printed to 0.1 month
    rows.append(
        _audit_row(
            check="median_ci_symmetry",
            table="overall",
            quantity="median_ci",
            printed=round(upper_arm - lower_arm, 3),
            computed=round(lower_arm / z975, 3),
            consistent=True,
            severity="info",
            finding=(
                f"arms {lower_arm:.1f} and {upper_arm:.1f} months: "
                + (
                    f"symmetric, i.e. median +- 1.96 SE with SE = {lower_arm / z975:.2f} months "
                    "(SPSS); a log or log-log interval would be asymmetric"
                    if symmetric
                    else "asymmetric, i.e. a transformed (e.g. log) interval"
                )
            ),
        )
    )
    design = pub.get("study_design", {})
    start, end = design.get("study_window_start"), design.get("study_window_end")
    received = pub.get("source", {}).get("date_received")
    fmax = o.get("follow_up_max_months")
    if start and end and fmax is not None:
        window = _months_between_year_month(start, end)
        to_received = _months_between_year_month(start, received) if received else None
        longest = max(window, to_received or window)
        consistent = float(fmax) <= longest
        finding = (
            f"PM window {start} to {end}: longest follow-up from PM {window} months to the end "
            f"of the window"
        )
        if to_received is not None:
            finding += f", {to_received} months to submission ({received})"
        finding += f"; printed maximum {fmax}"
        if not consistent:
            finding += f" exceeds it by at least {float(fmax) - longest:g} months"
        rows.append(
            _audit_row(
                check="followup_vs_window",
                table="overall",
                quantity="follow_up_max_months",
                printed=float(fmax),
                computed=float(longest),
                consistent=consistent,
                severity="ok" if consistent else "Q",
                finding=finding,
            )
        )
    out = pd.DataFrame(rows + audit_text_vs_tables(pub), columns=AUDIT_COLUMNS)
    out["consistent"] = out["consistent"].astype(bool)
    return out


_HIST = "primary_histology"
_SPREAD = {"median": "median", "min": "min", "max": "max"}
_COUNT = {"n": "n", "percent": "percent"}
#: ``text_results`` quantity -> (Table 1 variable, level, {text field: Table 1 field}).
TEXT_VS_TABLE1: dict[str, tuple[str, str | None, dict[str, str]]] = {
    "men_n": ("sex", "male", {"value": "n"}),
    "women_n": ("sex", "female", {"value": "n"}),
    "median_age_years": ("age_years", None, {"value": "median"}),
    "age_years": ("age_years", None, _SPREAD),
    "dfi_months": ("disease_free_interval_months", None, _SPREAD),
    "synovial_sarcoma": (_HIST, "synovial_sarcoma", _COUNT),
    "ups": (_HIST, "undifferentiated_pleomorphic_sarcoma", _COUNT),
    "liposarcoma": (_HIST, "liposarcoma", _COUNT),
    "myxofibrosarcoma": (_HIST, "myxofibrosarcoma", _COUNT),
    "leiomyosarcoma": (_HIST, "leiomyosarcoma", _COUNT),
    "unilateral": ("lung_metastasis_distribution", "unilateral", _COUNT),
    "bilateral_pm": ("lung_metastasis_distribution", "bilateral", _COUNT),
    "solitary": ("lung_metastasis_number", "solitary", _COUNT),
    "lung_metastases_resected": ("lung_metastasis_number", None, _SPREAD),
    "max_lung_tumor_diameter_mm": ("largest_lung_lesion_size_mm", None, _SPREAD),
    "wedge_resection": ("pulmonary_resection_type", "wide_wedge_resection", _COUNT),
    "segmentectomy": ("pulmonary_resection_type", "segmentectomy", _COUNT),
    "lobectomy": ("pulmonary_resection_type", "lobectomy", _COUNT),
    "curative_resection": ("resection_status", "r0", _COUNT),
    "r2_with_pleural_dissemination": ("resection_status", "r2", _COUNT),
    "chemotherapy_before_pm": ("chemotherapy", "preoperative", _COUNT),
    "chemotherapy_after_pm": ("chemotherapy", "postoperative", _COUNT),
    "no_perioperative_chemotherapy": ("chemotherapy", "none", _COUNT),
}


def _text_agrees(text: float, table: float) -> bool:
    """Equal at the coarser of the two printed precisions (7.6 % in the text, 8 % in a table)."""
    decimals = min(len(f"{v:g}".partition(".")[2]) for v in (text, table))
    return round_half_up(text, decimals) == round_half_up(table, decimals)


def audit_text_vs_table1(published: Mapping | None = None) -> list[dict]:
    """Check ``text_results`` that repeat a Table 1 cell against that cell (check ``text_vs_table1``).

    Parameters
    ----------
    published
        Output of :func:`load_published` (default: the shipped file).

    Returns
    -------
    list of dict
        Rows of :data:`AUDIT_COLUMNS`, one per repeated number; ``table`` is ``text`` and
        ``quantity`` names the section and the text quantity. A text number that differs from
        its Table 1 cell at the coarser printed precision is a finding (severity ``P``).
    """
    pub = _resolve(published)
    table1 = {(r["variable"], r["level"]): r for r in published_table1(pub).to_dict("records")}
    rows = []
    for entry in pub.get("text_results", []):
        spec = TEXT_VS_TABLE1.get(entry["quantity"])
        if spec is None:
            continue
        variable, level, fields = spec
        cell = table1[(variable, level)]
        for text_field, table_field in fields.items():
            if text_field not in entry:
                continue
            text, table = float(entry[text_field]), float(cell[table_field])
            rows.append(_text_check(
                "text_vs_table1", "Table 1", entry, text_field, variable, level, text, table,
                _text_agrees(text, table), f"text {text:g} vs Table 1 {table_field} {table:g}"))
    return rows


#: ``text_results`` quantity -> the Table 2 row whose 5-year survival the text repeats.
TEXT_VS_TABLE2_SURVIVAL: dict[str, tuple[str, str]] = {
    "five_year_dss_pct_complete_resection": ("curative_resection", "yes"),
}
#: ``text_results`` quantity -> the factor whose cut-off the text prints (its level keys in Tables
#: 2 and 3 carry the cut-off, e.g. ``lt_12_months``).
TEXT_CUTOFFS: dict[str, str] = {
    "dfi_cutoff_months_independent_factor": "disease_free_interval",
    "largest_lesion_cutoff_mm_independent_factor": "largest_lung_lesion_size",
}


def _alpha(pub: Mapping) -> float:
    return float(pub.get("study_design", {}).get("significance_level", 0.05))


def _text_check(check: str, table: str, entry: Mapping, field: str, variable: str, level: str,
                text: float, cell: float, ok: bool, finding: str) -> dict:
    """An audit row comparing one text number with one table cell (severity ``P`` if not ok)."""
    return _audit_row(
        check=check, table="text", variable=variable, level=level,
        quantity=f"{entry['section']} {entry['quantity']} {field}", printed=text, computed=cell,
        consistent=ok, severity="ok" if ok else "P",
        finding=finding + ("" if ok else f": the paper's text and its {table} disagree"))


def _table2_rows_of(variable: str, level: str | None) -> list[tuple[str, str]]:
    """Table 2 (variable, level) rows counting exactly the Table 1 cell (variable, level)."""
    return [key for key, cell in _TABLE2_FROM_TABLE1.items()
            if cell is not None and cell == (variable, [level])]


def audit_text_vs_tables(published: Mapping | None = None) -> list[dict]:
    """The paper's text against its Tables 1, 2 and 3 (the ``text_vs_table*`` checks).

    Parameters
    ----------
    published
        Output of :func:`load_published` (default: the shipped file).

    Returns
    -------
    list of dict
        The rows of :func:`audit_text_vs_table1`, :func:`audit_text_vs_table2` and
        :func:`audit_text_vs_table3`, in that order.
    """
    pub = _resolve(published)
    return audit_text_vs_table1(pub) + audit_text_vs_table2(pub) + audit_text_vs_table3(pub)


def audit_text_vs_table2(published: Mapping | None = None) -> list[dict]:
    """Check ``text_results`` that repeat a Table 2 cell against it (check ``text_vs_table2``).

    Three kinds of repeat: a count the text prints (e.g. 38 men, 54 wedge resections) against
    each Table 2 group that counts the same patients (the Table 1 to Table 2 domain mapping of
    ``table2_vs_table1``); a 5-year survival (:data:`TEXT_VS_TABLE2_SURVIVAL`); and a cut-off
    (:data:`TEXT_CUTOFFS`) against the Table 2 level that carries it.

    Parameters
    ----------
    published
        Output of :func:`load_published` (default: the shipped file).

    Returns
    -------
    list of dict
        Rows of :data:`AUDIT_COLUMNS` (``table`` is ``text``); a disagreement has severity ``P``.
    """
    pub = _resolve(published)
    t2 = {(r["variable"], r["level"]): r for r in pub["table2"]}
    rows = []
    for entry in pub.get("text_results", []):
        spec = TEXT_VS_TABLE1.get(entry["quantity"])
        fields = [] if spec is None else [f for f, c in spec[2].items() if c == "n" and f in entry]
        for field in fields:
            for key in _table2_rows_of(spec[0], spec[1]):
                text, cell = float(entry[field]), float(t2[key]["n"])
                rows.append(_text_check("text_vs_table2", "Table 2", entry, field, *key, text,
                                        cell, text == cell, f"text {text:g} vs Table 2 n {cell:g}"))
        if entry["quantity"] in TEXT_VS_TABLE2_SURVIVAL:
            key = TEXT_VS_TABLE2_SURVIVAL[entry["quantity"]]
            text, cell = float(entry["value"]), float(t2[key]["five_year_survival_pct"])
            rows.append(_text_check("text_vs_table2", "Table 2", entry, "value", *key, text, cell,
                                    _text_agrees(text, cell),
                                    f"text {text:g} % vs Table 2 5-year survival {cell:g} %"))
    return rows + _text_cutoffs_vs(pub, "table2", "Table 2") + _text_univariate_vs_table2(pub)


def _text_univariate_vs_table2(pub: Mapping) -> list[dict]:
    """The text's list of univariate prognostic factors against the Table 2 p-values."""
    named = set(pub.get("table2_meta", {}).get("significant_in_univariate_per_text", []))
    alpha, rows = _alpha(pub), []
    entry = {"section": "3.3", "quantity": "univariate_factors"}
    for test in pub["table2_tests"] if named else []:
        says = test["comparison_id"] in named
        significant = test["p_value"] < alpha or (
            test["p_value_operator"] == "<" and test["p_value"] <= alpha)
        rows.append(_text_check(
            "text_vs_table2", "Table 2", entry, "listed", test["comparison_id"], "",
            float(says), float(significant), says == significant,
            f"text {'names' if says else 'does not name'} it; Table 2 p "
            f"{test['p_value_reported_as']} ({'<' if significant else '>='} {alpha:g})"))
    return rows


def _cutoff_of(level: str) -> float | None:
    """The number in a level key (``lt_12_months`` -> 12), None without one."""
    found = re.search(r"\d+(?:\.\d+)?", level)
    return float(found.group()) if found else None


def _text_cutoffs_vs(pub: Mapping, table: str, name: str) -> list[dict]:
    """Each printed cut-off (:data:`TEXT_CUTOFFS`) against the levels of ``table`` that carry one.

    For Table 3 the text also calls the factor independent, so its printed p must be below the
    study's significance level.
    """
    rows, alpha = [], _alpha(pub)
    for entry in pub.get("text_results", []):
        variable = TEXT_CUTOFFS.get(entry["quantity"])
        cells = [r for r in pub[table] if r["variable"] == variable and _cutoff_of(r["level"])]
        for r in cells:
            text, cell = float(entry["value"]), _cutoff_of(r["level"])
            ok, finding = text == cell, f"text cut-off {text:g} vs {name} level {r['level']}"
            if table == "table3":
                ok = ok and r["p_value"] < alpha
                finding += f" (p {r['p_value_reported_as']}; the text calls it independent)"
            rows.append(_text_check(f"text_vs_{table}", name, entry, "value", variable,
                                    r["level"], text, cell, ok, finding))
    return rows


def audit_text_vs_table3(published: Mapping | None = None) -> list[dict]:
    """Check the text against Table 3 (check ``text_vs_table3``).

    The cut-offs the abstract prints for its independent factors (:data:`TEXT_CUTOFFS`) against
    the Table 3 levels, with the printed p below the significance level; and the text's list of
    independent factors (``table3_meta.independent_factors_per_text``) against the Table 3 rows
    with p below it (one row per Table 3 covariate).

    Parameters
    ----------
    published
        Output of :func:`load_published` (default: the shipped file).

    Returns
    -------
    list of dict
        Rows of :data:`AUDIT_COLUMNS` (``table`` is ``text``); a disagreement has severity ``P``.
    """
    pub = _resolve(published)
    alpha = _alpha(pub)
    named = set(pub.get("table3_meta", {}).get("independent_factors_per_text", []))
    entry = {"section": "3.3", "quantity": "independent_factors"}
    rows = _text_cutoffs_vs(pub, "table3", "Table 3")
    for r in pub["table3"] if named else []:
        says, significant = r["variable"] in named, r["p_value"] < alpha
        rows.append(_text_check(
            "text_vs_table3", "Table 3", entry, "listed", r["variable"], r["level"],
            float(says), float(significant), says == significant,
            f"text {'names' if says else 'does not name'} it independent; Table 3 p "
            f"{r['p_value_reported_as']} ({'<' if significant else '>='} {alpha:g})"))
    return rows


# --------------------------------------------------------------------------------------------
# fidelity scorecard
# --------------------------------------------------------------------------------------------


def read_run_tables(output_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read the run tables the scorecard needs from ``<output_dir>/tables/``.

    Parameters
    ----------
    output_dir
        The run folder.

    Returns
    -------
    dict
        ``{"table1": ..., "km_overall": ..., "table2": ..., "table3": ...}`` for the tables that
        exist (missing ones are left out).

    Example
    -------
    >>> sorted(read_run_tables("../outputs"))  # doctest: +SKIP
    ['km_overall', 'table1', 'table2', 'table3']
    """
    folder = Path(output_dir) / "tables"
    tables = {}
    for name in RUN_TABLES:
        path = folder / f"{name}.csv"
        if path.is_file():
            tables[name] = pd.read_csv(path)
    return tables


def _score_row(**kw: object) -> dict:
    row = dict.fromkeys(SCORECARD_COLUMNS)
    row.update({"stretch": False, "paper_issue": "", "note": ""})
    row.update(kw)
    return row


def _status(passed: object) -> str:
    return "pass" if passed else "fail"


def _p_rule(operator: str, printed: float, tol: float, alpha: float) -> str:
    if math.isinf(tol):
        return f"same side of {alpha:g} as the printed p"
    if operator == "<":
        return f"ours < {printed:g}"
    return f"|ours - printed| <= {tol:g} and same side of {alpha:g}"


def _stretch_rows(rows: list[dict], alpha: float) -> list[dict]:
    """The tighter tolerances of :data:`STRETCH_TOLERANCES` as ``<group>_stretch`` rows.

    Every scored row of a group with a stretch tolerance is repeated with that tolerance
    (relative for hazard ratios and their limits, absolute otherwise; p-values keep the side
    of ``alpha`` and ``<0.001`` rows need ours below the printed bound), marked ``stretch``.
    """
    out = []
    for r in rows:
        group = r["target_group"]
        if group not in STRETCH_TOLERANCES or r["status"] not in ("pass", "fail"):
            continue
        tol = STRETCH_TOLERANCES[group]
        ours, printed = float(r["ours"]), float(r["published"])
        if group in ("table3_hr", "table3_ci"):
            passed, rule = abs(ours / printed - 1) <= tol + 1e-12, f"|ours / printed - 1| <= {tol:.0%}"
        elif group in ("table2_p", "table3_p"):
            op = "<" if str(r["published_printed"]).startswith("<") else "="
            passed, rule = _p_passes(ours, printed, op, tol, alpha), _p_rule(op, printed, tol, alpha)
        else:
            passed, rule = abs(ours - printed) <= tol + 1e-9, f"|ours - printed| <= {tol:g}"
        row = dict(r, target_group=f"{group}_stretch", tolerance=tol, rule=rule, stretch=True)
        row.update(status=_status(passed), passed=bool(passed))
        out.append(row)
    return out


def _issues_index(audit: pd.DataFrame) -> dict[tuple[str, str, str], list[str]]:
    """(table, variable, level) -> audit checks that found the published cell inconsistent."""
    index: dict[tuple[str, str, str], list[str]] = {}
    for r in audit.loc[~audit["consistent"]].itertuples(index=False):
        index.setdefault((str(r.table), _key(r.variable), _key(r.level)), []).append(
            f"{r.check}: {r.finding}"
        )
    return index


def _issue_for(index: Mapping, table: str, variable: str, level: str = "") -> str:
    found = list(index.get((table, variable, level), []))
    if level:
        found += index.get((table, variable, ""), [])
    return " | ".join(found)


def fidelity_scorecard(
    run: Mapping[str, pd.DataFrame] | str | Path,
    published: Mapping | None = None,
    *,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Compare a run's tables with every published number, each with its tolerance.

    Target groups and rules (tolerances from :data:`TOLERANCES`):

    ===========================  ===================================================
    ``table1``                   every n, percent, median, min, max equal at the
                                 printed precision (round half up)
    ``table2_n``                 group sizes equal
    ``table2_survival_5y``       |ours - printed| <= 3 points
    ``table2_survival_5y_printed``  stretch: rounds to the printed digits
    ``table2_p``                 same side of ``alpha`` as the printed p (conclusion)
    ``table2_p_printed``         stretch: our p, printed as the paper does, equal
    ``table3_hr``                |ours / printed - 1| <= 10 %
    ``table3_ci``                each limit within 15 % (relative)
    ``table3_p``                 same side of ``alpha`` as the printed p
    ``overall_median``           48 +- 1 month
    ``overall_median_ci``        each limit within 1.5 months (SPSS symmetric CI)
    ``overall_5y``               45 +- 1 point
    ``overall_followup``         median follow-up 28 +- 1 months
    ``<group>_stretch``          stretch: the first registry's tighter tolerances
                                 (:data:`STRETCH_TOLERANCES`)
    ``perioperative``            section 3.2: every reproducible n, percent, median,
                                 min, max equal at the printed precision; the rest
                                 ``not_scored`` with the reason
    ``text_<section>``           every number of the text: the rule of the cell it
                                 repeats (``_printed``: its stretch rule); flow
                                 counts equal; cut-offs of independent factors
                                 significant in our Table 3; the rest ``not_scored``
    ===========================  ===================================================

    Rows are matched on ``(variable, level)``; a run with non-default cut-offs carries other
    level keys, and those rows (on either side) get status ``unmatched``. Missing run tables
    give status ``missing`` for their targets. Published cells that :func:`audit_paper` finds
    inconsistent carry the finding in ``paper_issue``.

    Parameters
    ----------
    run
        The run's tables (``{"table1": df, "km_overall": df, "table2": df, "table3": df}``) or
        a run folder to read them from (``tables/<name>.csv``).
    published
        Output of :func:`load_published` (default: the shipped file).
    alpha
        Significance level whose side a p-value must keep.

    Returns
    -------
    pandas.DataFrame
        Columns ``target_group, table, variable, level, quantity, published,
        published_printed, ours, ours_printed, diff, tolerance, rule, status, passed, stretch,
        paper_issue, note``; ``status`` is ``pass``, ``fail``, ``unmatched``, ``missing`` or
        ``not_scored`` (the follow-up maximum, shown for the record only).

    Example
    -------
    >>> card = fidelity_scorecard("../outputs")  # doctest: +SKIP
    >>> scorecard_summary(card)  # doctest: +SKIP
    """
    pub = _resolve(published)
    tables = read_run_tables(run) if isinstance(run, str | Path) else dict(run)
    issues = _issues_index(audit_paper(pub))
    rows: list[dict] = []
    rows += _score_table1(tables.get("table1"), pub, issues)
    rows += _score_table2(tables.get("table2"), pub, issues, alpha)
    rows += _score_table3(tables.get("table3"), pub, issues, alpha)
    rows += _score_overall(tables.get("km_overall"), pub, issues)
    rows += _score_perioperative(tables.get("perioperative"), pub)
    rows += _score_text(tables, pub, issues, alpha)
    rows += _stretch_rows(rows, alpha)
    card = pd.DataFrame(rows, columns=SCORECARD_COLUMNS)
    card["passed"] = card["passed"].astype("boolean")
    card["stretch"] = card["stretch"].astype(bool)
    return card


def _require(frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(
            f"run table {name}: expected column(s) {missing}, found {list(frame.columns)}"
        )


def _indexed(frame: pd.DataFrame, name: str) -> dict[tuple[str, str], pd.Series]:
    out: dict[tuple[str, str], pd.Series] = {}
    for _, r in frame.iterrows():
        key = (_key(r["variable"]), _key(r["level"]))
        if key in out:
            raise ValueError(f"run table {name}: duplicated (variable, level) {key}")
        out[key] = r
    return out


def _unmatched_ours(
    ours: Mapping[tuple[str, str], pd.Series], used: set, table: str, group: str
) -> list[dict]:
    return [
        _score_row(
            target_group=group,
            table=table,
            variable=var,
            level=level or np.nan,
            quantity="row",
            status="unmatched",
            note="our row has no published counterpart (other cut-off or level key)",
        )
        for (var, level) in ours
        if (var, level) not in used
    ]


def _score_table1(frame: pd.DataFrame | None, pub: Mapping, issues: Mapping) -> list[dict]:
    rows = []
    ours = None
    if frame is not None:
        _require(frame, "table1", TABLE1_COLUMNS)
        ours = _indexed(frame, "table1")
    used = set()
    for r in pub["table1"]:
        var, level = r["variable"], _key(r.get("level"))
        quantities = ["n", "percent"] if r.get("level") is not None else ["median", "min", "max"]
        mine = None if ours is None else ours.get((var, level))
        if mine is not None:
            used.add((var, level))
        for q in quantities:
            if r.get(q) is None:
                continue
            printed = float(r[q])
            decimals = 0 if float(printed).is_integer() else 1
            base = dict(
                target_group="table1",
                table="table1",
                variable=var,
                level=level or np.nan,
                quantity=q,
                published=printed,
                published_printed=f"{printed:.{decimals}f}",
                tolerance=0.0,
                rule="equal at the printed precision (round half up)",
                paper_issue=_issue_for(issues, "table1", var, level)
                if q in ("n", "percent")
                else "",
                note="; ".join(r.get("flags", [])),
            )
            if ours is None:
                rows.append(_score_row(**base, status="missing"))
                continue
            if mine is None:
                rows.append(_score_row(**base, status="unmatched"))
                continue
            value = _num(mine[q])
            shown = round_half_up(value, decimals)
            passed = bool(shown == printed)
            rows.append(
                _score_row(
                    **base,
                    ours=value,
                    ours_printed="" if math.isnan(shown) else f"{shown:.{decimals}f}",
                    diff=value - printed,
                    status=_status(passed),
                    passed=passed,
                )
            )
    if ours is not None:
        rows += _unmatched_ours(ours, used, "table1", "table1")
    return rows


def _p_passes(ours: float, printed: float, operator: str, tol: float, alpha: float) -> bool:
    """Within ``tol`` of the printed p and on its side of ``alpha`` (``inf``: the side only)."""
    if math.isnan(ours):
        return False
    if operator == "<" and not math.isinf(tol):
        return ours < printed
    return abs(ours - printed) <= tol + 1e-12 and (ours < alpha) == (printed < alpha)


def _score_table2(
    frame: pd.DataFrame | None, pub: Mapping, issues: Mapping, alpha: float
) -> list[dict]:
    rows = []
    ours = None
    if frame is not None:
        _require(frame, "table2", ["variable", "level", "n", "survival_pct", "p_value"])
        ours = _indexed(frame, "table2")
    used = set()
    tol_s, tol_p = TOLERANCES["table2_survival_5y"], TOLERANCES["table2_p"]
    for r in pub["table2"]:
        var, level = r["variable"], r["level"]
        mine = None if ours is None else ours.get((var, level))
        if mine is not None:
            used.add((var, level))
        issue = _issue_for(issues, "table2", var, level)
        note = "; ".join(r.get("flags", []))
        printed_s = float(r["five_year_survival_pct"])
        specs = [
            dict(
                target_group="table2_n",
                quantity="n",
                published=float(r["n"]),
                published_printed=str(r["n"]),
                tolerance=0.0,
                rule="equal",
            ),
            dict(
                target_group="table2_survival_5y",
                quantity="survival_5y_pct",
                published=printed_s,
                published_printed=f"{printed_s:.0f}",
                tolerance=tol_s,
                rule=f"|ours - printed| <= {tol_s:g} points",
            ),
            dict(
                target_group="table2_survival_5y_printed",
                quantity="survival_5y_pct",
                published=printed_s,
                published_printed=f"{printed_s:.0f}",
                tolerance=0.0,
                rule="rounds (half up) to the printed digits",
                stretch=True,
            ),
        ]
        for spec in specs:
            base = dict(table="table2", variable=var, level=level, paper_issue=issue, note=note)
            base.update(spec)
            if ours is None or mine is None:
                rows.append(_score_row(**base, status="missing" if ours is None else "unmatched"))
                continue
            column = "n" if spec["quantity"] == "n" else "survival_pct"
            value = _num(mine[column])
            if spec["target_group"] == "table2_survival_5y_printed":
                passed = round_half_up(value, 0) == printed_s
            else:
                passed = abs(value - spec["published"]) <= spec["tolerance"] + 1e-9
            rows.append(
                _score_row(
                    **base,
                    ours=value,
                    ours_printed=f"{round_half_up(value, 0):.0f}" if not math.isnan(value) else "",
                    diff=value - spec["published"],
                    status=_status(passed),
                    passed=bool(passed),
                )
            )
    for t in pub["table2_tests"]:
        var = t["comparison_id"]
        printed_p, operator = float(t["p_value"]), t["p_value_operator"]
        decimals, as_printed = int(t["p_value_decimals_printed"]), t["p_value_reported_as"]
        mine_rows = None
        if ours is not None:
            mine_rows = [ours.get((var, g)) for g in t["groups"]]
        issue = _issue_for(issues, "table2", var)
        specs = [
            dict(
                target_group="table2_p",
                tolerance=tol_p,
                rule=_p_rule(operator, printed_p, tol_p, alpha),
            ),
            dict(
                target_group="table2_p_printed",
                tolerance=0.0,
                rule=f"printed at {decimals} decimals equals '{as_printed}'",
                stretch=True,
            ),
        ]
        for spec in specs:
            base = dict(
                table="table2",
                variable=var,
                level=np.nan,
                quantity="logrank_p",
                published=printed_p,
                published_printed=as_printed,
                paper_issue=issue,
            )
            base.update(spec)
            if mine_rows is None:
                rows.append(_score_row(**base, status="missing"))
                continue
            if any(m is None for m in mine_rows):
                rows.append(_score_row(**base, status="unmatched"))
                continue
            ps = [_num(m["p_value"]) for m in mine_rows]
            ps = [p for p in ps if not math.isnan(p)]
            value = ps[0] if ps else float("nan")
            ours_printed = format_p(value, decimals)
            if spec["target_group"] == "table2_p":
                passed = _p_passes(value, printed_p, operator, tol_p, alpha)
            else:
                passed = ours_printed == as_printed
            rows.append(
                _score_row(
                    **base,
                    ours=value,
                    ours_printed=ours_printed,
                    diff=value - printed_p,
                    status=_status(passed),
                    passed=bool(passed),
                )
            )
    if ours is not None:
        rows += _unmatched_ours(ours, used, "table2", "table2_n")
    return rows


def _score_table3(
    frame: pd.DataFrame | None, pub: Mapping, issues: Mapping, alpha: float
) -> list[dict]:
    rows = []
    ours = None
    if frame is not None:
        _require(frame, "table3", ["variable", "level", "hr", "ci_low", "ci_high", "p_value"])
        ours = _indexed(frame, "table3")
    used = set()
    for r in pub["table3"]:
        var, level = r["variable"], r["level"]
        mine = None if ours is None else ours.get((var, level))
        if mine is not None:
            used.add((var, level))
        issue = _issue_for(issues, "table3", var, level)
        note = "; ".join(r.get("flags", []))
        for q, group in (
            ("hr", "table3_hr"),
            ("ci_low", "table3_ci"),
            ("ci_high", "table3_ci"),
            ("p_value", "table3_p"),
        ):
            printed = float(r[q])
            tol = TOLERANCES[group]
            if q == "p_value":
                rule = _p_rule(r.get("p_value_operator", "="), printed, tol, alpha)
                published_printed = r["p_value_reported_as"]
            else:
                rule = f"|ours / printed - 1| <= {tol:.0%}"
                published_printed = f"{printed:.3f}"
            base = dict(
                target_group=group,
                table="table3",
                variable=var,
                level=level,
                quantity=q,
                published=printed,
                published_printed=published_printed,
                tolerance=tol,
                rule=rule,
                paper_issue=issue if q != "hr" else "",
                note=note,
            )
            if ours is None or mine is None:
                rows.append(_score_row(**base, status="missing" if ours is None else "unmatched"))
                continue
            value = _num(mine[q])
            if q == "p_value":
                passed = _p_passes(value, printed, r.get("p_value_operator", "="), tol, alpha)
                ours_printed = format_p(value, int(r["p_value_decimals_printed"]))
            else:
                passed = abs(value / printed - 1) <= tol + 1e-12
                ours_printed = "" if math.isnan(value) else f"{value:.3f}"
            rows.append(
                _score_row(
                    **base,
                    ours=value,
                    ours_printed=ours_printed,
                    diff=value - printed,
                    status=_status(passed),
                    passed=bool(passed),
                )
            )
    if ours is not None:
        rows += _unmatched_ours(ours, used, "table3", "table3_hr")
    return rows


def _score_overall(frame: pd.DataFrame | None, pub: Mapping, issues: Mapping) -> list[dict]:
    o = published_overall(pub)
    specs = [
        ("overall_median", "median_months", o.median_months, TOLERANCES["overall_median"]),
        ("overall_median_ci", "median_ci_low", o.median_ci_low, TOLERANCES["overall_median_ci"]),
        ("overall_median_ci", "median_ci_high", o.median_ci_high, TOLERANCES["overall_median_ci"]),
        ("overall_5y", "survival_5y_pct", o.survival_5y_pct, TOLERANCES["overall_5y"]),
        (
            "overall_followup",
            "median_followup_months",
            o.median_followup_months,
            TOLERANCES["overall_followup"],
        ),
    ]
    row = None
    if frame is not None:
        _require(frame, "km_overall", [s[1] for s in specs])
        if len(frame) != 1:
            raise ValueError(f"run table km_overall: expected one row, found {len(frame)}")
        row = frame.iloc[0]
    rows = []
    for group, q, printed, tol in specs:
        unit = "points" if group == "overall_5y" else "months"
        rule = f"|ours - printed| <= {tol:g} {unit}"
        note = ""
        if group == "overall_median_ci" and row is not None and "median_ci_method" in row.index:
            note = f"our CI method: {row['median_ci_method']} (the paper's is symmetric, SPSS)"
        if group == "overall_followup" and row is not None and "median_followup_method" in row:
            note = f"our method: {row['median_followup_method']} (the paper does not say)"
        base = dict(
            target_group=group,
            table="km_overall",
            variable="overall",
            level=np.nan,
            quantity=q,
            published=printed,
            published_printed=f"{printed:g}",
            tolerance=tol,
            rule=rule,
            note=note,
        )
        if row is None:
            rows.append(_score_row(**base, status="missing"))
            continue
        value = _num(row[q])
        passed = abs(value - printed) <= tol + 1e-9
        digits = 0 if group == "overall_5y" else 1
        shown = f"{round_half_up(value, digits):.{digits}f}" if not math.isnan(value) else ""
        rows.append(
            _score_row(
                **base,
                ours=value,
                ours_printed=shown,
                diff=value - printed,
                status=_status(passed),
                passed=bool(passed),
            )
        )
    fmax = o.followup_max_months
    rows.append(
        _score_row(
            target_group="overall_followup",
            table="km_overall",
            variable="overall",
            level=np.nan,
            quantity="followup_max_months",
            published=fmax,
            published_printed=f"{fmax:g}",
            status="not_scored",
            paper_issue=_issue_for(issues, "overall", ""),
            note="not scored: the run tables do not report the follow-up range",
        )
    )
    return rows


def scorecard_by_group(scorecard: pd.DataFrame) -> pd.DataFrame:
    """Counts per target group: scored, passed, failed, unmatched, missing.

    Parameters
    ----------
    scorecard
        Output of :func:`fidelity_scorecard`.

    Returns
    -------
    pandas.DataFrame
        ``target_group, stretch, scored, passed, failed, failed_paper_issue, unmatched,
        missing`` in the scorecard's order of groups.

    Example
    -------
    >>> scorecard_by_group(card)  # doctest: +SKIP
    """
    card = scorecard.copy()
    card["has_issue"] = card["paper_issue"].fillna("").astype(str) != ""
    groups = []
    for group, part in card.groupby("target_group", sort=False):
        status = part["status"]
        groups.append(
            {
                "target_group": group,
                "stretch": bool(part["stretch"].any()),
                "scored": int(status.isin(["pass", "fail"]).sum()),
                "passed": int((status == "pass").sum()),
                "failed": int((status == "fail").sum()),
                "failed_paper_issue": int(((status == "fail") & part["has_issue"]).sum()),
                "unmatched": int((status == "unmatched").sum()),
                "missing": int((status == "missing").sum()),
            }
        )
    return pd.DataFrame(groups)


def scorecard_summary(scorecard: pd.DataFrame) -> str:
    """One line: how many published numbers the run reproduces within tolerance.

    Parameters
    ----------
    scorecard
        Output of :func:`fidelity_scorecard`.

    Returns
    -------
    str
        e.g. ``"Fidelity: 98/104 targets within tolerance (2 of the 6 misses are cells the
        paper itself gets wrong); stretch 30/51; 2 unmatched, 0 missing"``.

    Example
    -------
    >>> scorecard_summary(card)  # doctest: +SKIP
    """
    main = scorecard.loc[~scorecard["stretch"].astype(bool)]
    stretch = scorecard.loc[scorecard["stretch"].astype(bool)]
    scored = main["status"].isin(["pass", "fail"])
    passed = int((main["status"] == "pass").sum())
    fails = main["status"] == "fail"
    with_issue = int((fails & (main["paper_issue"].fillna("") != "")).sum())
    text = f"Fidelity: {passed}/{int(scored.sum())} targets within tolerance"
    if fails.any():
        text += (
            f" ({with_issue} of the {int(fails.sum())} misses concern cells the paper's own "
            "numbers contradict)"
        )
    s_scored = int(stretch["status"].isin(["pass", "fail"]).sum())
    text += f"; stretch {int((stretch['status'] == 'pass').sum())}/{s_scored}"
    text += (
        f"; {int((scorecard['status'] == 'unmatched').sum())} unmatched, "
        f"{int((scorecard['status'] == 'missing').sum())} missing"
    )
    return text


def write_scorecard(scorecard: pd.DataFrame, output_dir: str | Path) -> list[Path]:
    """Write ``tables/fidelity_scorecard.csv`` and ``.html`` (summary line as the page note).

    Parameters
    ----------
    scorecard
        Output of :func:`fidelity_scorecard`.
    output_dir
        The run folder.

    Returns
    -------
    list of pathlib.Path
        The CSV and HTML paths.

    Example
    -------
    >>> write_scorecard(fidelity_scorecard("../outputs"), "../outputs")  # doctest: +SKIP
    """
    from helpers.outputs import save_table

    return save_table(
        scorecard,
        output_dir,
        "fidelity_scorecard",
        title="Fidelity scorecard: this run against Nakayama et al. 2022",
        note=scorecard_summary(scorecard),
    )


# --------------------------------------------------------------------------------------------
# side-by-side views of a run (for the reproduction report)
# --------------------------------------------------------------------------------------------

#: Values compared per run table in :func:`compare_with_paper`.
COMPARED_VALUES: dict[str, list[str]] = {
    "table1": ["n", "percent", "median", "min", "max"],
    "table2": ["n", "survival_pct", "p_value"],
    "table3": ["hr", "ci_low", "ci_high", "p_value"],
}


def overall_side_by_side(km_overall: pd.DataFrame, published: Mapping | None = None) -> pd.DataFrame:
    """Our overall survival numbers beside the paper's, one row per quantity.

    Parameters
    ----------
    km_overall
        The run's ``tables/km_overall.csv`` (one row).
    published
        Output of :func:`load_published` (default: the shipped file).

    Returns
    -------
    pandas.DataFrame
        ``quantity, ours, published, diff`` for n, median and its CI, 5-year survival and
        median follow-up (``published`` NaN where the paper prints nothing, e.g. events).

    Example
    -------
    >>> overall_side_by_side(pd.read_csv("../outputs/tables/km_overall.csv"))  # doctest: +SKIP
    """
    o = published_overall(published)
    pairs = {
        "n": o.n,
        "events": float("nan"),
        "median_months": o.median_months,
        "median_ci_low": o.median_ci_low,
        "median_ci_high": o.median_ci_high,
        "survival_5y_pct": o.survival_5y_pct,
        "median_followup_months": o.median_followup_months,
    }
    if len(km_overall) != 1:
        raise ValueError(f"km_overall: expected one row, found {len(km_overall)}")
    row = km_overall.iloc[0]
    out = pd.DataFrame(
        {
            "quantity": list(pairs),
            "ours": [_num(row[q]) if q in row.index else float("nan") for q in pairs],
            "published": [float(v) for v in pairs.values()],
        }
    )
    out["diff"] = out["ours"] - out["published"]
    return out


def compare_with_paper(
    run_tables: Mapping[str, pd.DataFrame], published: Mapping | None = None
) -> dict[str, pd.DataFrame]:
    """Side-by-side views of every run table present against the paper's table.

    Parameters
    ----------
    run_tables
        Output of :func:`read_run_tables` (tables that are missing are simply absent).
    published
        Output of :func:`load_published` (default: the shipped file).

    Returns
    -------
    dict
        ``{"table1": ..., "table2": ..., "table3": ..., "km_overall": ...}`` for the tables
        present; Tables 1-3 as :func:`side_by_side` frames (keys ``variable, level``), the
        overall numbers as :func:`overall_side_by_side`.

    Example
    -------
    >>> views = compare_with_paper(read_run_tables("../outputs"))  # doctest: +SKIP
    """
    pub = _resolve(published)
    loaders = {"table1": published_table1, "table2": published_table2, "table3": published_table3}
    out: dict[str, pd.DataFrame] = {}
    for name, values in COMPARED_VALUES.items():
        if name in run_tables:
            out[name] = side_by_side(
                run_tables[name], loaders[name](pub), ["variable", "level"], values
            )
    if "km_overall" in run_tables:
        out["km_overall"] = overall_side_by_side(run_tables["km_overall"], pub)
    return out


def _printed_decimals(value: float) -> int:
    text = f"{value:g}"
    return len(text.split(".")[1]) if "." in text else 0


def _score_perioperative(frame: pd.DataFrame | None, pub: Mapping) -> list[dict]:
    """Section 3.2 targets: equal at the printed precision (round half up), or not scored."""
    from helpers.perioperative import NOT_REPRODUCIBLE, PUBLISHED_KEYS, published_number

    ours = None
    if frame is not None:
        _require(frame, "perioperative", ["variable", "level", "n", "percent", "percent_1dp",
                                          "median", "min", "max"])
        ours = _indexed(frame.assign(level=frame["level"].fillna("")), "perioperative")
    rows = []
    for key, printed in pub.get("perioperative", {}).items():
        base = dict(target_group="perioperative", table="perioperative", quantity=key,
                    published=printed if isinstance(printed, int | float) else np.nan,
                    published_printed=str(printed), tolerance=0.0)
        if key not in PUBLISHED_KEYS:
            rows.append(_score_row(**base, variable=key, level=np.nan, status="not_scored",
                                   note=NOT_REPRODUCIBLE.get(key, "no rule for this number")))
            continue
        variable, level, column = PUBLISHED_KEYS[key]
        base.update(variable=variable, level=level or np.nan,
                    rule="equal at the printed precision (round half up)")
        mine = None if ours is None else ours.get((variable, level))
        if mine is None:
            rows.append(_score_row(**base, status="missing"))
            continue
        number = published_number(key, pub["perioperative"])
        decimals = _printed_decimals(number)
        value = round_half_up(_num(mine[column]), decimals)
        passed = value == number
        base["published"] = number
        rows.append(_score_row(**base, ours=_num(mine[column]), ours_printed=f"{value:g}",
                               diff=value - number, status=_status(passed),
                               passed=bool(passed)))
    return rows


# --------------------------------------------------------------------------------------------
# the numbers of the paper's text (abstract, sections 3.1-3.3 and 4)
# --------------------------------------------------------------------------------------------

_PERI_COUNT = {"n": "{}_n", "percent": "{}_pct"}
_PERI_SPREAD = {"median": "{}_median", "min": "{}_min", "max": "{}_max"}
#: ``text_results`` quantity -> {text field: ``perioperative`` key} (section 3.2 and its repeats).
TEXT_VS_PERIOPERATIVE: dict[str, dict[str, str]] = {
    "unilateral": {f: k.format("unilateral") for f, k in _PERI_COUNT.items()},
    "solitary": {f: k.format("solitary") for f, k in _PERI_COUNT.items()},
    "bilateral_pm": {"n": "bilateral_pm_n"},
    "lung_metastases_resected": {
        f: k.format("lung_metastases_resected") for f, k in _PERI_SPREAD.items()},
    "max_lung_tumor_diameter_mm": {
        f: k.format("max_lung_tumor_diameter_mm") for f, k in _PERI_SPREAD.items()},
    "wedge_resection": {f: k.format("wedge_resection") for f, k in _PERI_COUNT.items()},
    "segmentectomy": {f: k.format("segmentectomy") for f, k in _PERI_COUNT.items()},
    "lobectomy": {"n": "lobectomy_n", "percent": "lobectomy_pct_text"},
    "two_stage_pm": {"n": "two_stage_pm_n"},
    "curative_resection": {f: k.format("curative_resection") for f, k in _PERI_COUNT.items()},
    "r2_with_pleural_dissemination": {"n": "r2_reason"},
    "chemotherapy_before_pm": {
        f: k.format("preoperative_chemotherapy") for f, k in _PERI_COUNT.items()},
    "chemotherapy_after_pm": {
        f: k.format("postoperative_chemotherapy") for f, k in _PERI_COUNT.items()},
    "perioperative_complications": {f: k.format("complications") for f, k in _PERI_COUNT.items()},
    "prolonged_air_leak": {"n": "complication_prolonged_air_leak_n"},
    "postoperative_hemothorax": {"n": "complication_postoperative_hemothorax_n"},
    "clavien_dindo_grade_3_4": {"n": "clavien_dindo_grade_3_4_n"},
    "postoperative_hospital_stay_days": {
        f: k.format("postoperative_hospital_stay_days") for f, k in _PERI_SPREAD.items()},
    "no_perioperative_chemotherapy": {"percent": "no_perioperative_chemotherapy_pct"},
}
#: ``text_results`` quantity -> {text field: (key of ``overall``, the scorecard's quantity)}.
TEXT_VS_OVERALL: dict[str, dict[str, tuple[str, str]]] = {
    "median_dss_months": {"value": ("median_dss_months", "median_months"),
                          "ci95_low": ("median_dss_ci95_low", "median_ci_low"),
                          "ci95_high": ("median_dss_ci95_high", "median_ci_high")},
    "five_year_dss_pct": {"value": ("five_year_dss_pct", "survival_5y_pct")},
    "median_follow_up_months": {"value": ("median_follow_up_months", "median_followup_months")},
    "follow_up_months": {"median": ("median_follow_up_months", "median_followup_months")},
}
#: ``text_results`` quantity -> cohort-flow reasons whose exclusions it counts (``screened`` and
#: ``analysed``: the patients remaining at that step).
TEXT_VS_FLOW: dict[str, tuple[str, ...]] = {
    "n_patients": ("analysed",),
    "screened_n": ("screened",),
    "analysed_n": ("analysed",),
    "excluded_primary_site_n": ("primary_in_parenchymal_organs", "primary_in_mediastinum",
                                "primary_in_retroperitoneum", "primary_in_head_and_neck"),
    "excluded_parenchymal_organs_n": ("primary_in_parenchymal_organs",),
    "excluded_mediastinum_n": ("primary_in_mediastinum",),
    "excluded_retroperitoneum_n": ("primary_in_retroperitoneum",),
    "excluded_head_and_neck_n": ("primary_in_head_and_neck",),
    "excluded_initial_pm_other_hospital_n": ("initial_pm_at_another_hospital",),
}
#: (``text_results`` quantity, field) the registry cannot reproduce, with the reason.
TEXT_NOT_SCORED: dict[tuple[str, str], str] = {
    ("follow_up_months", "min"): "the run tables report the median follow-up, not its range",
    ("study_period_years", "start"): "a design choice (the eligibility window), not a result",
    ("study_period_years", "end"): "a design choice (the eligibility window), not a result",
    ("year_molecular_targeted_drugs_introduced_at_institution", "value"): "the hospital's "
    "history: the registry records no treatment era",
}
_TEXT_META = ("section", "quantity", "note", "as_printed")


def _text_numbers(entry: Mapping) -> list[tuple[str, float]]:
    """(field, number) of one ``text_results`` entry."""
    return [(f, float(v)) for f, v in entry.items()
            if f not in _TEXT_META and isinstance(v, int | float) and not isinstance(v, bool)]


def _score_text(
    tables: Mapping[str, pd.DataFrame], pub: Mapping, issues: Mapping, alpha: float
) -> list[dict]:
    """Every number of ``text_results``, scored by the rule of the table cell it repeats.

    A repeated cell is re-scored by that table's own scorer on a copy of the targets holding the
    text's number, so the rule (and any stretch row) is the cell's, never a copy of it. Numbers
    that repeat no cell are cohort-flow counts (equal) or the cut-offs of the factors the text
    calls independent (our Table 3 row at that cut-off has p < ``alpha``); the rest are listed
    ``not_scored`` with the reason.
    """
    rows = []
    for entry in pub.get("text_results", []):
        for field, value in _text_numbers(entry):
            found = _score_text_number(entry, field, value, tables, pub, issues, alpha)
            for row in found:
                own = row["target_group"] == "text" or row["status"] == "not_scored"
                same = "" if own else f"same rule as {row['target_group']}"
                row["note"] = "; ".join(x for x in (same, row.get("note") or "") if x)
                group = f"text_{entry['section']}" + ("_printed" if row["stretch"] else "")
                row.update(target_group=group, quantity=f"{entry['quantity']}.{field}")
            rows += found
    return rows


def _score_text_number(
    entry: Mapping, field: str, value: float, tables: Mapping, pub: Mapping, issues: Mapping,
    alpha: float,
) -> list[dict]:
    """The scorecard rows of one text number (see :func:`_score_text`)."""
    q = entry["quantity"]
    if (q, field) in TEXT_NOT_SCORED or (q, field) == ("follow_up_months", "max"):
        return [_text_not_scored(q, field, value, issues)]
    if field in TEXT_VS_PERIOPERATIVE.get(q, {}):
        key = TEXT_VS_PERIOPERATIVE[q][field]
        printed = int(value) if value.is_integer() else value
        return _score_perioperative(tables.get("perioperative"), {"perioperative": {key: printed}})
    if field in TEXT_VS_OVERALL.get(q, {}):
        key, want = TEXT_VS_OVERALL[q][field]
        one = {**pub, "overall": {**pub["overall"], key: value}}
        return [r for r in _score_overall(tables.get("km_overall"), one, issues)
                if r["quantity"] == want]
    if q in TEXT_VS_TABLE1 and field in TEXT_VS_TABLE1[q][2]:
        return _score_text_vs_table1(q, field, value, tables, pub, issues)
    if q in TEXT_VS_TABLE2_SURVIVAL:
        key = TEXT_VS_TABLE2_SURVIVAL[q]
        cell = next((r for r in pub["table2"] if (r["variable"], r["level"]) == key), None)
        if cell is None:
            return [_text_not_scored(q, field, value, issues)]
        one = {"table2": [{**cell, "five_year_survival_pct": value}], "table2_tests": []}
        return [r for r in _score_table2(tables.get("table2"), one, issues, alpha)
                if r["quantity"] == "survival_5y_pct"]
    if q in TEXT_VS_FLOW:
        return [_score_text_flow(q, value, tables.get("cohort_flow"))]
    if q in TEXT_CUTOFFS:
        return [_score_text_cutoff(q, value, tables.get("table3"), alpha)]
    return [_text_not_scored(q, field, value, issues)]


def _score_text_vs_table1(
    q: str, field: str, value: float, tables: Mapping, pub: Mapping, issues: Mapping
) -> list[dict]:
    """A text number repeating a Table 1 cell, scored by :func:`_score_table1` on that cell."""
    variable, level, fields = TEXT_VS_TABLE1[q]
    cell = next((r for r in pub["table1"]
                 if r["variable"] == variable and r.get("level") == level), None)
    if cell is None:
        return [_text_not_scored(q, field, value, issues)]
    kept = {k: v for k, v in cell.items() if k not in ("n", "percent", "median", "min", "max")}
    one = {"table1": [{**kept, fields[field]: value}]}
    return [r for r in _score_table1(tables.get("table1"), one, issues)
            if r["quantity"] == fields[field] and r["variable"] == variable]


def _text_not_scored(q: str, field: str, value: float, issues: Mapping) -> dict:
    """A text number the run cannot reproduce, with the reason (an audit finding if there is one)."""
    reason = TEXT_NOT_SCORED.get(
        (q, field), "no rule: the number repeats no cell of the targets or the run tables")
    if (q, field) == ("follow_up_months", "max"):
        finding = _issue_for(issues, "overall", "")
        reason = (f"impossible within the study window, a finding of the audit ({finding})"
                  if finding else TEXT_NOT_SCORED[(q, "min")])
    return _score_row(target_group="text", table="text", variable=q, level=np.nan,
                      quantity=field, published=value, published_printed=f"{value:g}",
                      status="not_scored", note=f"not scored: {reason}")


def _score_text_flow(q: str, value: float, flow: pd.DataFrame | None) -> dict:
    """A cohort-flow count of the text against ``tables/cohort_flow.csv`` (equal)."""
    base = dict(target_group="text", table="cohort_flow", variable="cohort_flow",
                level=",".join(TEXT_VS_FLOW[q]), published=value, published_printed=f"{value:g}",
                tolerance=0.0, rule="equal (a count of patients)")
    if flow is None:
        return _score_row(**base, status="missing")
    _require(flow, "cohort_flow", ["reason", "n_excluded", "n_remaining"])
    reasons = TEXT_VS_FLOW[q]
    column = "n_remaining" if reasons[0] in ("screened", "analysed") else "n_excluded"
    picked = flow.loc[flow["reason"].isin(reasons), column]
    if picked.empty:
        return _score_row(**base, status="unmatched")
    ours = float(picked.sum())
    return _score_row(**base, ours=ours, ours_printed=f"{ours:g}", diff=ours - value,
                      status=_status(ours == value), passed=ours == value)


def _score_text_cutoff(q: str, value: float, table3: pd.DataFrame | None, alpha: float) -> dict:
    """A cut-off of a factor the text calls independent: our Table 3 row there has p < alpha."""
    variable = TEXT_CUTOFFS[q]
    base = dict(target_group="text", table="table3", variable=variable, level=np.nan,
                published=value, published_printed=f"{value:g}",
                rule=f"our Table 3 row at this cut-off has p < {alpha:g} (an independent factor)",
                note="the text's claim, not a printed p: Table 3's p is scored in table3_p")
    if table3 is None:
        return _score_row(**base, status="missing")
    rows = table3[table3["variable"].eq(variable)
                  & table3["level"].map(lambda lv: _cutoff_of(str(lv)) == value)]
    if rows.empty:
        return _score_row(**{**base, "note": "our Table 3 has no level at this cut-off "
                             "(another cut-off in use)"}, status="unmatched")
    p = _num(rows["p_value"].iloc[0])
    passed = bool(p < alpha)
    return _score_row(**{**base, "level": rows["level"].iloc[0]}, ours=p,
                      ours_printed=format_p(p, 3), status=_status(passed), passed=passed)
