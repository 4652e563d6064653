"""Scoring a registry against the paper: every calibrated statistic beside its target, and its realism."""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from helpers.cohort import assemble_cohort
from helpers.describe import round_half_up
from helpers.reproduction.published import STRETCH_TOLERANCES, TOLERANCES
from helpers.reproduction.synthetic.evaluator import (
    CohortStatistics,
    VectorisedEvaluator,
    cox_design,
    factor_design,
)
from helpers.reproduction.synthetic.loss import Targets, load_targets
from helpers.reproduction.synthetic.outcomes import latent_ks_p
from helpers.reproduction.synthetic.search import CalibrationResult
from helpers.reproduction.synthetic.settings import (
    _ALPHA,
    _Z975,
    COX_COVARIATES,
    FACTORS,
    SyntheticSettings,
)
from helpers.schema import add_survival_columns


def analysed_cohort(registry: pd.DataFrame) -> pd.DataFrame:
    """Eligible patients of a registry with ``time_months``, ``event`` and ``dfi_months``.

    The core's chain, no copy of it: :func:`helpers.cohort.assemble_cohort` (the paper's two
    eligibility criteria) then :func:`helpers.schema.add_survival_columns` (all-cause endpoint).

    Parameters
    ----------
    registry
        Registry rows (as read from the CSV).

    Returns
    -------
    pandas.DataFrame
        The analysed patients in registry order, index 0..n-1.

    Example
    -------
    >>> from helpers.reproduction.synthetic import REGISTRY_PATH
    >>> len(analysed_cohort(pd.read_csv(REGISTRY_PATH)))
    66
    """
    analysed = assemble_cohort(registry).analysed.reset_index(drop=True)
    return add_survival_columns(analysed)


def evaluate_registry(
    registry: pd.DataFrame, targets: Targets | None = None
) -> tuple[CohortStatistics, pd.DataFrame]:
    """Every calibrated statistic of a registry beside its published target.

    Parameters
    ----------
    registry
        Registry rows (as read from the CSV).
    targets
        Targets (:func:`load_targets` when None).

    Returns
    -------
    tuple
        The :class:`CohortStatistics` of the analysed cohort and the tidy frame of
        :func:`score_statistics` (one row per published statistic).

    Example
    -------
    >>> from helpers.reproduction.synthetic import REGISTRY_PATH
    >>> stats_, table = evaluate_registry(pd.read_csv(REGISTRY_PATH))
    >>> stats_.n_deaths > 0
    True
    """
    tg = targets or load_targets()
    cohort = analysed_cohort(registry)
    fd = factor_design(cohort)
    ev = VectorisedEvaluator(fd.to_numpy(float), cox_design(fd).to_numpy(float))
    s = ev.evaluate(cohort["time_months"].to_numpy(float), cohort["event"].to_numpy(int))
    return s, score_statistics(s, tg, follow_up_max=float(cohort["time_months"].max()))


def _p_within(p: float, pub: float, op: str, tol: float) -> bool:
    """A p-value within ``tol`` of the printed one and on its side of 0.05 (``<`` rows: below)."""
    if op == "<" and not math.isinf(tol):
        return bool(p < pub)
    return bool(abs(p - pub) <= tol + 1e-9 and (p < _ALPHA) == (pub < _ALPHA))


def _score_rows(s: CohortStatistics, tg: Targets) -> list[tuple]:
    """(group, statistic, published, value, tolerance, stretch tolerance, kind) of every target."""
    T, X = TOLERANCES, STRETCH_TOLERANCES
    rows = []
    for k, (var, a, b) in enumerate(FACTORS):
        for lev, ours, risk, pub in (
            (a, s.rate_first[k], s.at_risk_first[k], tg.rate_first[k]),
            (b, s.rate_second[k], s.at_risk_second[k], tg.rate_second[k]),
        ):
            # Undefined (missing) when nobody is followed to the landmark and S > 0.
            v = 100.0 * ours if (risk > 0 or ours == 0) else math.nan
            rows.append(("five_year_rate", f"{var}:{lev}", pub, v, T["table2_survival_5y"], X["table2_survival_5y"], "abs"))
    for k, (var, _, _) in enumerate(FACTORS):
        rows.append(("logrank_p", var, tg.p_value[k], s.p_value[k], T["table2_p"], X["table2_p"], tg.p_operator[k]))
    for k, (var, _, _) in enumerate(COX_COVARIATES):
        rows.append(("cox_hr", var, math.exp(tg.log_hr[k]), math.exp(s.beta[k]), T["table3_hr"], X["table3_hr"], "rel"))
        for name, lim, pub_lim in (
            ("ci_low", s.beta[k] - _Z975 * s.beta_se[k], tg.log_ci_low[k]),
            ("ci_high", s.beta[k] + _Z975 * s.beta_se[k], tg.log_ci_high[k]),
        ):
            rows.append(("cox_" + name, var, math.exp(pub_lim), math.exp(lim), T["table3_ci"], X["table3_ci"], "rel"))
        p_wald = float(2.0 * stats.norm.sf(abs(s.beta[k] / s.beta_se[k])))
        pub_p = float(tg.cox_p_value[k]) if len(tg.cox_p_value) else math.nan
        rows.append(("cox_p", var, pub_p, p_wald, T["table3_p"], X["table3_p"], "="))
    mse = _Z975 * s.median_se
    rows += [
        ("overall", "five_year_rate", tg.overall_rate, 100.0 * s.overall_rate, T["overall_5y"], X["overall_5y"], "abs"),
        ("overall", "median", tg.median, s.median, T["overall_median"], X["overall_median"], "abs"),
        ("overall", "median_ci_low", tg.median_ci_low, s.median - mse, T["overall_median_ci"], X["overall_median_ci"], "abs"),
        ("overall", "median_ci_high", tg.median_ci_high, s.median + mse, T["overall_median_ci"], X["overall_median_ci"], "abs"),
        ("overall", "follow_up_median", tg.follow_up_median, s.follow_up_median, T["overall_followup"], X["overall_followup"], "abs"),
    ]
    return rows


def _within(value: float, pub: float, tol: float, kind: str) -> bool:
    if kind == "abs":
        return bool(abs(value - pub) <= tol + 1e-9)
    if kind == "rel":
        return bool(abs(value / pub - 1.0) <= tol + 1e-9)
    return _p_within(value, pub, kind, tol)


def _digits_match(group: str, value: float, pub: float, kind: str, decimals: int) -> bool:
    if math.isnan(value):
        return False
    if group == "logrank_p":
        return bool(value < pub) if kind == "<" else round_half_up(value, decimals) == round(pub, decimals)
    if group == "cox_p":
        return round_half_up(value, 3) == pub
    if group.startswith("cox_"):
        return round(value, 3) == round(pub, 3)
    if group == "overall" and pub != round(pub):
        return round(value, 1) == pub
    return round_half_up(value) == pub


def score_statistics(
    s: CohortStatistics, targets: Targets | None = None, *, follow_up_max: float = math.nan
) -> pd.DataFrame:
    """Every calibrated statistic beside its published target and the target's tolerances.

    Parameters
    ----------
    s
        Statistics of a cohort (:meth:`VectorisedEvaluator.evaluate`).
    targets
        Targets (:func:`load_targets` when None).
    follow_up_max
        Longest observed time of the cohort (months; reported, never within tolerance).

    Returns
    -------
    pandas.DataFrame
        Columns ``group``, ``statistic``, ``published``, ``value``, ``error``, ``tolerance``,
        ``within_tolerance``, ``within_stretch`` and ``printed_digits_match``. Tolerances come
        from :data:`helpers.reproduction.published.TOLERANCES` (``within_tolerance``) and
        :data:`helpers.reproduction.published.STRETCH_TOLERANCES` (``within_stretch``); a value exactly on
        the edge of a tolerance is within it (1e-9 allowed for floating point). p-values with
        an infinite tolerance need only lie on the paper's side of 0.05 (its conclusion). Errors
        of hazard ratios and their limits are relative.

    Example
    -------
    >>> from helpers.reproduction.synthetic import make_covariates, factor_design, cox_design, VectorisedEvaluator
    >>> import numpy as np
    >>> cov = make_covariates(1)
    >>> cov["dfi_months"] = cov["dfi_days"] / 30.4375
    >>> g = factor_design(cov)
    >>> ev = VectorisedEvaluator(g.to_numpy(), cox_design(g).to_numpy())
    >>> score_statistics(ev.evaluate(np.linspace(1, 100, 66), np.arange(66) % 2)).shape
    (77, 9)
    """
    tg = targets or load_targets()
    decimals = {v: int(k) for (v, _, _), k in zip(FACTORS, tg.p_decimals, strict=True)}
    out = []
    for group, stat, pub, value, tol, stretch, kind in _score_rows(s, tg):
        rel = kind == "rel"
        err = value / pub - 1.0 if rel else value - pub
        out.append(
            (group, stat, pub, value, err, tol, _within(value, pub, tol, kind),
             _within(value, pub, stretch, kind), _digits_match(group, value, pub, kind, decimals.get(stat, 3)))
        )
    out.append(("overall", "follow_up_max", tg.follow_up_max, follow_up_max, follow_up_max - tg.follow_up_max, 0.0, False, False, False))
    return pd.DataFrame(
        out,
        columns=["group", "statistic", "published", "value", "error", "tolerance", "within_tolerance", "within_stretch", "printed_digits_match"],
    )


def registry_realism(
    cohort: pd.DataFrame, cal: CalibrationResult, *, spline_n: int = 100_000
) -> pd.DataFrame:
    """Every realism check of a generated registry: the cohort's, the draws' and the model's.

    The rows of :func:`helpers.reproduction.realism.realism_checks` on the analysed cohort, plus: the
    Kolmogorov-Smirnov p of each kind of patient uniform (still draws of the model: p >= 0.2),
    the latest death (informational: the model has no ceiling) and, on ``spline_n`` patients
    drawn from the calibrated model, the AIC gain of a spline over the paper's dichotomy of DFI
    and of lesion size (> 0: the effect is continuous, as built).

    Parameters
    ----------
    cohort
        Analysed patients (:func:`analysed_cohort`).
    cal
        The calibration that made them.
    spline_n
        Size of the large sample for :func:`helpers.reproduction.realism.spline_vs_dichotomy`.

    Returns
    -------
    pandas.DataFrame
        ``check, value, limit, passed``.

    Example
    -------
    >>> res = build_registry(SyntheticSettings(n_iterations=0, n_start_draws=1, n_chains=1))  # doctest: +SKIP
    >>> registry_realism(analysed_cohort(res.registry), res.calibration, spline_n=2000)  # doctest: +SKIP
    """
    from helpers.reproduction.realism import realism_checks, spline_vs_dichotomy

    rows = realism_checks(cohort).to_dict(orient="records")
    limit = SyntheticSettings().min_latent_ks_p
    for name, p in latent_ks_p(cal.latents).items():
        rows.append({"check": f"latent_ks_p ({name})", "value": p, "limit": f">= {limit}", "passed": p >= limit})
    dead = cohort.loc[cohort["event"].eq(1), "time_months"]
    rows.append({"check": "latest_death_months", "value": float(dead.max()), "limit": "no ceiling", "passed": True})
    spline = spline_vs_dichotomy(cal.model, n=spline_n)
    for r in spline.itertuples():
        rows.append({"check": f"spline_aic_gain ({r.variable})", "value": float(r.aic_gain_spline), "limit": "> 0", "passed": r.aic_gain_spline > 0})
    return pd.DataFrame(rows)
