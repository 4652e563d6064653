"""The fidelity scorecard: every published number a run reproduces, with the tolerance of
:data:`helpers.reproduction.published.TOLERANCES` and pass/fail per row."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.describe import round_half_up  # re-exported: published numbers print half up too
from helpers.reproduction.audit import (
    TEXT_CUTOFFS,
    TEXT_VS_TABLE1,
    TEXT_VS_TABLE2_SURVIVAL,
    _cutoff_of,
    audit_paper,
)
from helpers.reproduction.published import (
    RUN_TABLES,
    SCORECARD_COLUMNS,
    STRETCH_TOLERANCES,
    TABLE1_COLUMNS,
    TOLERANCES,
    _key,
    _num,
    _resolve,
    format_p,
    published_overall,
)

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
    >>> import tempfile
    >>> read_run_tables(tempfile.mkdtemp())  # a run folder without tables
    {}
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
    >>> int(fidelity_scorecard({})["status"].eq("missing").sum())  # no run tables
    356
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
    ours = None
    if frame is not None:
        _require(frame, "table2", ["variable", "level", "n", "survival_pct", "p_value"])
        ours = _indexed(frame, "table2")
    used: set = set()
    rows = _score_table2_levels(ours, pub, issues, used)
    rows += _score_table2_tests(ours, pub, issues, alpha)
    if ours is not None:
        rows += _unmatched_ours(ours, used, "table2", "table2_n")
    return rows


def _score_table2_levels(ours: Mapping | None, pub: Mapping, issues: Mapping, used: set) -> list[dict]:
    """Table 2 group rows: n and the 5-year survival (within tolerance; printed digits)."""
    rows = []
    tol_s = TOLERANCES["table2_survival_5y"]
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
    return rows


def _score_table2_tests(ours: Mapping | None, pub: Mapping, issues: Mapping, alpha: float) -> list[dict]:
    """Table 2 log-rank rows: p on the paper's side of alpha (tolerance), printed digits."""
    rows = []
    tol_p = TOLERANCES["table2_p"]
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
    >>> scorecard_by_group(fidelity_scorecard({})).shape
    (20, 8)
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
    >>> scorecard_summary(fidelity_scorecard({}))
    'Fidelity: 0/0 targets within tolerance; stretch 0/0; 0 unmatched, 356 missing'
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
# section 3.2 and the text
# --------------------------------------------------------------------------------------------


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
    "r2_reason": ("r2_reason", "pleural_dissemination", "n"),
    "complications_n": ("clavien_dindo_grade", "any", "n"),
    "complication_prolonged_air_leak_n": ("complication_kind", "prolonged_air_leak", "n"),
    "complication_postoperative_hemothorax_n": ("complication_kind", "bleeding", "n"),
    "complications_managed_conservatively_n": ("clavien_dindo_grade", "grade_1_or_2", "n"),
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
}

#: Published keys printed as words, with the key of the count the words stand for: "all 3" R2
#: resections had pleural dissemination, so the count is the R2 count.
COUNT_IN_WORDS: dict[str, str] = {"r2_reason": "r2_n"}


def published_number(key: str, targets: Mapping) -> float:
    """The number a section 3.2 target stands for (``targets``: the ``perioperative`` mapping).

    Parameters
    ----------
    key
        A key of ``targets``.
    targets
        ``load_published()["perioperative"]``.

    Returns
    -------
    float
        The printed number, or for a target printed in words (:data:`COUNT_IN_WORDS`) the count
        it stands for.

    Example
    -------
    >>> published_number("r2_reason", {"r2_reason": "all 3 ...", "r2_n": 3})
    3.0
    """
    value = targets[key]
    if isinstance(value, str):
        return float(targets[COUNT_IN_WORDS[key]])
    return float(value)


def _printed_decimals(value: float) -> int:
    text = f"{value:g}"
    return len(text.split(".")[1]) if "." in text else 0


def _score_perioperative(frame: pd.DataFrame | None, pub: Mapping) -> list[dict]:
    """Section 3.2 targets: equal at the printed precision (round half up), or not scored."""
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
