"""The paper's audit: its printed numbers checked against each other, one small function per check."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers.describe import round_half_up  # re-exported: published numbers print half up too
from helpers.reproduction.published import AUDIT_COLUMNS, _resolve, published_table1

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


_Z975 = float(stats.norm.isf(0.025))


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


@dataclass(frozen=True)
class AuditContext:
    """What every audit check reads: the published numbers and the audit's two settings."""

    pub: Mapping
    deaths: tuple[int, int]
    z_unusual: float

    @property
    def n_total(self) -> int:
        """The number of analysed patients (N)."""
        return int(self.pub["overall"]["n_analysed"])

    @property
    def table1_n(self) -> dict[tuple[str, str], int]:
        """Table 1 counts by (variable, level)."""
        return {(r["variable"], r["level"]): r["n"] for r in self.pub["table1"] if r.get("level") is not None}

    def table1_levels(self) -> dict[str, list[dict]]:
        """Table 1 rows with a level, by variable, subtypes left out."""
        by_var: dict[str, list[dict]] = {}
        for r in self.pub["table1"]:
            if r.get("level") is not None and not r.get("is_subtype"):
                by_var.setdefault(r["variable"], []).append(r)
        return by_var


def _ok(consistent: bool, severity: str) -> dict:
    return {"consistent": consistent, "severity": "ok" if consistent else severity}


def check_table1_partition(ctx: AuditContext) -> list[dict]:
    """The levels of each Table 1 variable sum to N; chemotherapy's excess is read as overlap."""
    rows, n_total = [], ctx.n_total
    for var, levels in ctx.table1_levels().items():
        total = sum(r["n"] for r in levels)
        consistent = total == n_total
        finding = (
            f"{' + '.join(str(r['n']) for r in levels)} = {total}"
            f" ({'=' if consistent else '!='} N = {n_total}); printed percentages sum to "
            f"{sum(r['percent'] for r in levels):g} %"
        )
        if not consistent and var == "chemotherapy":
            finding += _chemotherapy_overlap(ctx.table1_n, var, total - n_total)
        rows.append(_audit_row(
            check="table1_partition", table="table1", variable=var, quantity="n",
            printed=float(total), computed=float(n_total), **_ok(consistent, "R"), finding=finding,
        ))
    return rows


def _chemotherapy_overlap(t1_n: Mapping, var: str, excess: int) -> str:
    """The one reading of the chemotherapy rows consistent with N, when the excess is 2 x both."""
    both, none = t1_n.get((var, "both")), t1_n.get((var, "none"))
    pre, post = t1_n.get((var, "preoperative")), t1_n.get((var, "postoperative"))
    if both is None or excess != 2 * both:
        return ""
    return (
        f". The excess {excess} equals twice 'both' ({both}): the only reading "
        f"consistent with N is that preoperative ({pre}) and postoperative ({post}) "
        f"each include 'both' -> none {none}, pre-only {pre - both}, post-only "
        f"{post - both}, both {both} (sum {none + pre - both + post - both + both})"
    )


def check_table1_subtypes(ctx: AuditContext) -> list[dict]:
    """Liposarcoma subtypes sum to the liposarcoma row."""
    parents: dict[tuple[str, str], list[dict]] = {}
    for r in ctx.pub["table1"]:
        if r.get("is_subtype"):
            parents.setdefault((r["variable"], r["parent_level"]), []).append(r)
    rows, t1_n = [], ctx.table1_n
    for (var, parent), subs in parents.items():
        s = sum(r["n"] for r in subs)
        rows.append(_audit_row(
            check="table1_subtypes", table="table1", variable=var, level=parent, quantity="n",
            printed=float(t1_n.get((var, parent), np.nan)), computed=float(s),
            **_ok(s == t1_n.get((var, parent)), "P"),
            finding=f"subtypes {' + '.join(str(r['n']) for r in subs)} = {s}; "
            f"printed {parent} {t1_n.get((var, parent))}",
        ))
    return rows


def check_table1_percent(ctx: AuditContext) -> list[dict]:
    """Every printed Table 1 percentage equals round-half-up(100 n / N)."""
    rows, by_var = [], ctx.table1_levels()
    for r in ctx.pub["table1"]:
        if r.get("level") is None or r.get("percent") is None or r.get("n") is None:
            continue
        denom = r.get("denominator", ctx.n_total)
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
        rows.append(_audit_row(
            check="table1_percent", table="table1", variable=r["variable"], level=r["level"],
            quantity="percent", printed=float(r["percent"]), computed=round(exact, 2),
            **_ok(consistent, "P"), finding=finding,
        ))
    return rows


def check_table2_counts(ctx: AuditContext) -> list[dict]:
    """Each Table 2 pair sums to N, and each group size equals its Table 1 count(s)."""
    rows = []
    for t in ctx.pub["table2_tests"]:
        total = int(sum(t["n_groups"]))
        consistent = total == ctx.n_total
        rows.append(_audit_row(
            check="table2_pair_sum", table="table2", variable=t["comparison_id"], quantity="n",
            printed=float(total), computed=float(ctx.n_total), **_ok(consistent, "R"),
            finding=f"{' + '.join(str(n) for n in t['n_groups'])} = {total} "
            f"({'=' if consistent else '!='} N = {ctx.n_total})",
        ))
        rows += _table2_vs_table1(t, ctx)
    return rows


def _expected_from_table1(ctx: AuditContext, var: str, level: str, other: str) -> tuple[float, str] | None:
    """A Table 2 group's size implied by Table 1 (its own levels, or N minus the other group's)."""
    for lv, complement in ((level, False), (other, True)):
        source = _TABLE2_FROM_TABLE1.get((var, lv))
        if source is None:
            continue
        t1_var, t1_levels = source
        counts = [ctx.table1_n.get((t1_var, x)) for x in t1_levels]
        if any(c is None for c in counts):
            return None
        if not complement:
            return float(sum(counts)), f"Table 1 {t1_var} {' + '.join(t1_levels)} = {int(sum(counts))}"
        n = float(ctx.n_total - sum(counts))
        return n, f"N - Table 1 {t1_var} {' + '.join(t1_levels)} = {int(n)}"
    return None


def _table2_vs_table1(t: Mapping, ctx: AuditContext) -> list[dict]:
    rows, var = [], t["comparison_id"]
    for level, n in zip(t["groups"], t["n_groups"], strict=True):
        other = [g for g in t["groups"] if g != level][0]
        expected = _expected_from_table1(ctx, var, level, other)
        if expected is None:
            continue
        expected_n, how = expected
        consistent = float(n) == expected_n
        finding = f"Table 2 n = {n}; {how}"
        if not consistent:
            finding += f" (difference {n - expected_n:+g})"
        rows.append(_audit_row(
            check="table2_vs_table1", table="table2", variable=var, level=level, quantity="n",
            printed=float(n), computed=expected_n, **_ok(consistent, "R"), finding=finding,
        ))
    return rows


def check_table2_selection(ctx: AuditContext) -> list[dict]:
    """The factors with p < alpha in Table 2 are the Table 3 covariates."""
    pub = ctx.pub
    alpha = float(pub.get("study_design", {}).get("significance_level", 0.05))
    sig = sorted(
        t["comparison_id"]
        for t in pub["table2_tests"]
        if t["p_value"] < alpha or (t["p_value_operator"] == "<" and t["p_value"] <= alpha)
    )
    t3_vars = sorted(r["variable"] for r in pub["table3"])
    return [_audit_row(
        check="table2_selection", table="table3", quantity="covariates",
        printed=float(len(t3_vars)), computed=float(len(sig)), **_ok(sig == t3_vars, "R"),
        finding=f"Table 2 p < {alpha:g}: {', '.join(sig)}; Table 3 covariates: "
        f"{', '.join(t3_vars)}",
    )]


def check_table2_p_vs_5y(ctx: AuditContext) -> list[dict]:
    """The 5-year survival gap of each Table 2 comparison against its printed log-rank p.

    Under proportional hazards the two 5-year rates imply ln HR = ln(-ln S2) - ln(-ln S1)
    (delta-method SE from binomial variances, which ignores censoring and so understates the
    SE); the printed p implies a chi-square range and, with D deaths (Schoenfeld: chi2 ~ D pi
    (1-pi) (ln HR)^2), a range of |ln HR|. The gap in SE units, at the death count most
    favourable to consistency, is flagged above ``z_unusual``. Hand-written: no library
    implements this back-calculation.
    """
    t2 = {(r["variable"], r["level"]): r for r in ctx.pub["table2"]}
    return [_p_vs_5y_row(t, t2, ctx) for t in ctx.pub["table2_tests"]]


def _p_vs_5y_row(t: Mapping, t2: Mapping, ctx: AuditContext) -> dict:
    var = t["comparison_id"]
    (g1, g2), (n1, n2) = t["groups"], t["n_groups"]
    s1 = t2[(var, g1)]["five_year_survival_pct"] / 100.0
    s2 = t2[(var, g2)]["five_year_survival_pct"] / 100.0
    base = dict(check="table2_p_vs_5y", table="table2", variable=var, quantity="p_value",
                printed=float(t["p_value"]))
    if not (0 < s1 < 1 and 0 < s2 < 1):
        return _audit_row(**base, consistent=True, severity="n/a",
                          finding=f"5-y {s1:.0%} vs {s2:.0%}: a rate of 0 or 1 gives no finite "
                          f"PH-implied HR; not checked")
    p_lo, p_hi = _p_interval(t["p_value"], t["p_value_operator"], t["p_value_decimals_printed"])
    chi_lo = float(stats.chi2.isf(p_hi, 1))
    chi_hi = float(stats.chi2.isf(p_lo, 1)) if p_lo > 0 else math.inf
    log_hr_5y = math.log(-math.log(s2)) - math.log(-math.log(s1))
    se = math.sqrt(
        (1 - s1) / (n1 * s1 * math.log(s1) ** 2) + (1 - s2) / (n2 * s2 * math.log(s2) ** 2)
    )
    d_values = np.arange(int(ctx.deaths[0]), int(ctx.deaths[1]) + 1)
    pi = n1 / (n1 + n2)
    lr_lo = np.sqrt(chi_lo / (d_values * pi * (1 - pi)))
    lr_hi = np.sqrt(chi_hi / (d_values * pi * (1 - pi)))
    gap = np.where(
        abs(log_hr_5y) > lr_hi,
        (abs(log_hr_5y) - lr_hi) / se,
        np.where(abs(log_hr_5y) < lr_lo, (abs(log_hr_5y) - lr_lo) / se, 0.0),
    )
    z = float(np.min(np.abs(gap)))
    return _audit_row(
        **base, computed=round(z, 2), **_ok(z <= ctx.z_unusual, "Q"),
        finding=(
            f"5-y {s1:.0%} vs {s2:.0%} implies HR {math.exp(log_hr_5y):.2f} under PH "
            f"(ln HR {log_hr_5y:+.2f}, SE {se:.2f}); printed p {t['p_value_reported_as']} "
            f"implies chi2 {chi_lo:.3f}-{chi_hi:.3f}, i.e. |ln HR| "
            f"{lr_lo.min():.2f}-{lr_hi.max():.2f} with {ctx.deaths[0]}-{ctx.deaths[1]} deaths; "
            f"gap {z:.2f} SE (one-sided p {stats.norm.sf(z):.3f})"
        ),
    )


def check_table3_intervals(ctx: AuditContext) -> list[dict]:
    """Per Table 3 row: CI symmetry on the log scale, and the Wald p the CI implies."""
    rows = []
    for r in ctx.pub["table3"]:
        rows += [_table3_ci_symmetry(r), _table3_p_vs_ci(r)]
    return rows


def _table3_ci_symmetry(r: Mapping) -> dict:
    """ln U + ln L - 2 ln HR against the largest value 3-decimal rounding of HR, L, U allows."""
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
    return _audit_row(
        check="table3_ci_symmetry", table="table3", variable=r["variable"], level=r["level"],
        quantity="ci", printed=round(asym, 4), computed=round(bound, 4),
        **_ok(consistent, "P"), finding=finding,
    )


def _table3_p_vs_ci(r: Mapping) -> dict:
    """The Wald p implied by a Table 3 CI against the printed p."""
    hr, lo, hi = float(r["hr"]), float(r["ci_low"]), float(r["ci_high"])
    se = (math.log(hi) - math.log(lo)) / (2 * _Z975)
    p_implied = float(2 * stats.norm.sf(abs(math.log(hr)) / se))
    p_arms = [
        float(2 * stats.norm.sf(abs(math.log(hr)) / ((math.log(hr) - math.log(lo)) / _Z975))),
        float(2 * stats.norm.sf(abs(math.log(hr)) / ((math.log(hi) - math.log(hr)) / _Z975))),
    ]
    p_lo, p_hi = _p_interval(
        float(r["p_value"]), r.get("p_value_operator", "="), int(r["p_value_decimals_printed"])
    )
    return _audit_row(
        check="table3_p_vs_ci", table="table3", variable=r["variable"], level=r["level"],
        quantity="p_value", printed=float(r["p_value"]), computed=round(p_implied, 4),
        **_ok(p_lo - 1e-4 <= p_implied <= p_hi + 1e-4, "P"),
        finding=f"SE(ln HR) from the CI = {se:.4f}; Wald p = {p_implied:.4f} (lower arm "
        f"{p_arms[0]:.4f}, upper arm {p_arms[1]:.4f}); printed {r['p_value_reported_as']}",
    )


def check_median_ci_symmetry(ctx: AuditContext) -> list[dict]:
    """Whether the median's CI is symmetric (SPSS: median +- 1.96 SE); informational."""
    o = ctx.pub["overall"]
    med, lo, hi = (float(o[k]) for k in ("median_dss_months", "median_dss_ci95_low", "median_dss_ci95_high"))
    lower_arm, upper_arm = med - lo, hi - med
    symmetric = abs(lower_arm - upper_arm) <= 0.1 + 1e-9  # limits printed to 0.1 month
    reading = (
        f"symmetric, i.e. median +- 1.96 SE with SE = {lower_arm / _Z975:.2f} months "
        "(SPSS); a log or log-log interval would be asymmetric"
        if symmetric
        else "asymmetric, i.e. a transformed (e.g. log) interval"
    )
    return [_audit_row(
        check="median_ci_symmetry", table="overall", quantity="median_ci",
        printed=round(upper_arm - lower_arm, 3), computed=round(lower_arm / _Z975, 3),
        consistent=True, severity="info",
        finding=f"arms {lower_arm:.1f} and {upper_arm:.1f} months: " + reading,
    )]


def check_followup_vs_window(ctx: AuditContext) -> list[dict]:
    """The printed maximum follow-up against the longest the study window allows from PM."""
    pub = ctx.pub
    design = pub.get("study_design", {})
    start, end = design.get("study_window_start"), design.get("study_window_end")
    received = pub.get("source", {}).get("date_received")
    fmax = pub["overall"].get("follow_up_max_months")
    if not (start and end and fmax is not None):
        return []
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
    return [_audit_row(
        check="followup_vs_window", table="overall", quantity="follow_up_max_months",
        printed=float(fmax), computed=float(longest), **_ok(consistent, "Q"), finding=finding,
    )]


def check_text_vs_tables(ctx: AuditContext) -> list[dict]:
    """The numbers of the text against the tables they repeat (:func:`audit_text_vs_tables`)."""
    return audit_text_vs_tables(ctx.pub)


#: The audit's checks, run in this order by :func:`audit_paper`; each takes an
#: :class:`AuditContext` and returns audit rows (``AUDIT_COLUMNS``).
AUDIT_CHECKS: tuple[Callable[[AuditContext], list[dict]], ...] = (
    check_table1_partition,
    check_table1_subtypes,
    check_table1_percent,
    check_table2_counts,
    check_table2_selection,
    check_table2_p_vs_5y,
    check_table3_intervals,
    check_median_ci_symmetry,
    check_followup_vs_window,
    check_text_vs_tables,
)


def audit_paper(
    published: Mapping | None = None,
    *,
    deaths: tuple[int, int] | None = None,
    z_unusual: float = 1.645,
) -> pd.DataFrame:
    """Check the paper's printed numbers against each other; every finding is computed.

    Runs every function of :data:`AUDIT_CHECKS` (one per check: Table 1 partitions, subtypes
    and percentages; Table 2 pair sums and counts against Table 1, the selection of the Table 3
    covariates, the log-rank p against the 5-year gap; Table 3 CI symmetry and the Wald p the CI
    implies; the median CI's symmetry; the maximum follow-up against the study window; the text
    against the tables) and collates their rows.

    Parameters
    ----------
    published
        Output of :func:`helpers.reproduction.published.load_published` (default: the shipped file).
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
    >>> sorted(audit.loc[~audit["consistent"], "check"].unique())[:3]
    ['followup_vs_window', 'table1_partition', 'table1_percent']
    """
    pub = _resolve(published)
    if deaths is None:
        rng = pub.get("derived_not_published", {}).get("approximate_deaths", {})
        deaths = tuple(rng.get("range_5th_95th_pct", (24, 39)))  # type: ignore[assignment]
    ctx = AuditContext(pub, deaths, z_unusual)
    rows = [row for check in AUDIT_CHECKS for row in check(ctx)]
    out = pd.DataFrame(rows, columns=AUDIT_COLUMNS)
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
