"""The paper's numbers, the fidelity scorecard of a run, and a computed audit of the paper.

Source: ``data/published_targets.json``, a transcription of Nakayama et al., Cancers
2022;14:3329 (CC BY 4.0) with every printed value kept as printed (flags mark internal
inconsistencies; derived quantities live in the block ``derived_not_published``).

Three layers:

- loaders: :func:`load_published`, :func:`published_table1`, :func:`published_table2`,
  :func:`published_table3`, :func:`published_overall`, and :func:`side_by_side`;
- :func:`fidelity_scorecard`: every published number a run reproduces, with its tolerance
  (:data:`TOLERANCES`) and pass/fail per row, :func:`scorecard_summary` (one line) and
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

import importlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

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


def _keyed_sides(
    ours: pd.DataFrame, published: pd.DataFrame, on: list[str], values: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both tables reduced to keys and values, keys normalised; unique keys in ours required."""
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
    return left, right


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
    >>> mine = pd.DataFrame({"variable": ["sex"], "level": ["male"], "n": [40]})
    >>> view = side_by_side(mine, published_table1(), ["variable", "level"], ["n"])
    >>> view.loc[view["source"].eq("both"), ["ours_n", "published_n", "match"]].values.tolist()
    [[40.0, 38.0, False]]
    """
    on = [on] if isinstance(on, str) else list(on)
    values = [values] if isinstance(values, str) else list(values)
    left, right = _keyed_sides(ours, published, on, values)
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


#: Names that moved to :mod:`helpers.reproduction.audit` and :mod:`helpers.reproduction.scorecard`;
#: they stay importable from here (resolved on first use, so neither module imports the other
#: at import time).
_MOVED: dict[str, str] = {
    "TEXT_CUTOFFS": "audit",
    "TEXT_VS_TABLE1": "audit",
    "TEXT_VS_TABLE2_SURVIVAL": "audit",
    "audit_paper": "audit",
    "audit_text_vs_table1": "audit",
    "audit_text_vs_table2": "audit",
    "audit_text_vs_table3": "audit",
    "audit_text_vs_tables": "audit",
    "TEXT_NOT_SCORED": "scorecard",
    "TEXT_VS_FLOW": "scorecard",
    "TEXT_VS_OVERALL": "scorecard",
    "TEXT_VS_PERIOPERATIVE": "scorecard",
    "fidelity_scorecard": "scorecard",
    "read_run_tables": "scorecard",
    "scorecard_by_group": "scorecard",
    "scorecard_summary": "scorecard",
    "write_scorecard": "scorecard",
}


def __getattr__(name: str) -> object:
    if name in _MOVED:
        return getattr(importlib.import_module(f"helpers.reproduction.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [  # the moved names (:data:`_MOVED`) resolve too
    "PUBLISHED_PATH",
    "RUN_TABLES",
    "TOLERANCES",
    "STRETCH_TOLERANCES",
    "COMPARED_VALUES",
    "format_p",
    "round_half_up",
    "load_published",
    "published_table1",
    "published_table2",
    "published_table3",
    "PublishedOverall",
    "published_overall",
    "side_by_side",
    "overall_side_by_side",
    "compare_with_paper",
]
