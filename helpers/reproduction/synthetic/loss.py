"""Calibration targets read from the published numbers and the loss the search minimises."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from helpers.reproduction.published import PUBLISHED_PATH, TOLERANCES, load_published
from helpers.reproduction.synthetic.evaluator import CohortStatistics
from helpers.reproduction.synthetic.outcomes import _VIOLATION_PENALTY
from helpers.reproduction.synthetic.settings import (
    _ALPHA,
    _Z975,
    COX_COVARIATES,
    FACTORS,
)

# --------------------------------------------------------------------------------------------
# Targets and loss
# --------------------------------------------------------------------------------------------


def _z_of_p(p: float) -> float:
    """sqrt of the chi-square(1) quantile: the |z| whose two-sided p is ``p``."""
    return float(math.sqrt(stats.chi2.isf(p, 1))) if p > 0 else math.inf


@dataclass(frozen=True)
class Targets:
    """The published statistics the calibration aims at, as arrays in :data:`FACTORS` order.

    Attributes are filled by :func:`load_targets` from ``data/published_targets.json``.
    """

    rate_first: np.ndarray
    rate_second: np.ndarray
    p_value: np.ndarray
    p_operator: tuple[str, ...]
    p_decimals: np.ndarray
    z_exact: np.ndarray  # (17, 2) |z| band of the printed digits
    z_tolerance: np.ndarray  # (17, 2) |z| band of +-0.01 on the published side of 0.05
    log_hr: np.ndarray
    log_ci_low: np.ndarray
    log_ci_high: np.ndarray
    overall_rate: float
    median: float
    median_ci_low: float
    median_ci_high: float
    follow_up_median: float
    follow_up_max: float
    soft_band: np.ndarray = field(repr=False)  # (n_stat, 3): low, high, scale
    steep_band: np.ndarray = field(repr=False)  # (n_stat, 3): low, high, scale
    cox_p_value: np.ndarray = field(default_factory=lambda: np.zeros(0))  # Table 3 Wald p (reported, not calibrated)


def _table2_targets(pub: dict) -> tuple[list, ...]:
    """Table 2 targets: the two 5-year rates, printed p (operator, decimals) and its z bands."""
    rows = {(r["variable"], r["level"]): r for r in pub["table2"]}
    tests = {r["comparison_id"]: r for r in pub["table2_tests"]}
    r1, r2, pv, ops, dec, zex, ztol = [], [], [], [], [], [], []
    for var, a, b in FACTORS:
        r1.append(float(rows[(var, a)]["five_year_survival_pct"]))
        r2.append(float(rows[(var, b)]["five_year_survival_pct"]))
        t = tests[var]
        p, op, k = float(t["p_value"]), t["p_value_operator"], int(t["p_value_decimals_printed"])
        pv.append(p)
        ops.append(op)
        dec.append(k)
        half = 0.5 * 10.0 ** (-k)
        if op == "<":
            zex.append((_z_of_p(p), math.inf))
            ztol.append((_z_of_p(p), math.inf))
            continue
        zex.append((_z_of_p(p + half), _z_of_p(max(p - half, 0.0))))
        lo, hi = max(p - 0.01, 0.0), p + 0.01
        if p < 0.05:
            hi = min(hi, 0.05)
        else:
            lo = max(lo, 0.05)
        ztol.append((_z_of_p(hi), _z_of_p(lo)))
    return r1, r2, pv, ops, dec, zex, ztol


def _table3_targets(pub: dict) -> tuple[list, ...]:
    """Table 3 targets: log HR, log CI limits and printed p of every covariate."""
    t3 = {r["variable"]: r for r in pub["table3"]}
    lhr, llo, lhi, cox_p = [], [], [], []
    for var, _, _ in COX_COVARIATES:
        cox_p.append(float(t3[var]["p_value"]))
        lhr.append(math.log(t3[var]["hr"]))
        llo.append(math.log(t3[var]["ci_low"]))
        lhi.append(math.log(t3[var]["ci_high"]))
    return lhr, llo, lhi, cox_p


def load_targets(path: str | Path = PUBLISHED_PATH) -> Targets:
    """Read the calibration targets from the published numbers.

    Parameters
    ----------
    path
        ``published_targets.json``, read by :func:`helpers.reproduction.published.load_published`.

    Returns
    -------
    Targets

    Example
    -------
    >>> load_targets().rate_first[:3].tolist()
    [50.0, 53.0, 23.0]
    """
    pub = load_published(path)
    r1, r2, pv, ops, dec, zex, ztol = _table2_targets(pub)
    lhr, llo, lhi, cox_p = _table3_targets(pub)
    ov = pub["overall"]
    soft, steep = _loss_bands(
        np.array(r1), np.array(r2), np.array(zex), _p_bands(pv, ops, dec), np.array(lhr),
        np.array(llo), np.array(lhi), ov, np.array(cox_p),
    )
    return Targets(
        np.array(r1),
        np.array(r2),
        np.array(pv),
        tuple(ops),
        np.array(dec),
        np.array(zex),
        np.array(ztol),
        np.array(lhr),
        np.array(llo),
        np.array(lhi),
        float(ov["five_year_dss_pct"]),
        float(ov["median_dss_months"]),
        float(ov["median_dss_ci95_low"]),
        float(ov["median_dss_ci95_high"]),
        float(ov["median_follow_up_months"]),
        float(ov["follow_up_max_months"]),
        soft,
        steep,
        cox_p_value=np.array(cox_p),
    )


def _p_bands(pv: list, ops: list, dec: list) -> tuple[np.ndarray, np.ndarray]:
    """p-value bands: printed digits, and the paper's side of 0.05 with a margin of 0.005."""
    digits, side = [], []
    for p, op, k in zip(pv, ops, dec, strict=True):
        half = 0.0 if op == "<" else 0.5 * 10.0 ** (-k)
        digits.append((max(p - half, 0.0), p + half))
        side.append((0.0, _ALPHA - 0.005) if p < _ALPHA else (_ALPHA + 0.005, 1.0))
    return np.array(digits), np.array(side)


def _loss_bands(
    r1, r2, zex, pbands, lhr, llo, lhi, ov, cox_p
) -> tuple[np.ndarray, np.ndarray]:
    """Soft and steep bands of every statistic in the order of :func:`_statistic_vector`.

    Steep bands end a little inside the tolerances of :data:`helpers.reproduction.published.TOLERANCES`
    (a search settles just outside the steep band of a statistic it cannot fit exactly).
    """
    pdig, pside = pbands
    nz, nb = len(zex), len(lhr)
    inf = np.inf
    tol = TOLERANCES
    rates = np.concatenate([r1, r2])
    five = float(ov["five_year_dss_pct"])
    med = float(ov["median_dss_months"])
    mci = [float(ov["median_dss_ci95_low"]), float(ov["median_dss_ci95_high"])]
    fu = float(ov["median_follow_up_months"])
    significant = np.asarray(cox_p) < _ALPHA
    z_lo = np.where(significant, _z_of_p(_ALPHA - 0.005), -inf)
    z_hi = np.where(significant, inf, _z_of_p(_ALPHA + 0.005))

    def band(center, free, scale):
        center = np.atleast_1d(np.asarray(center, dtype=float))
        return np.column_stack([center - free, center + free, np.full(center.shape, scale)])

    def free(k):
        return np.column_stack([np.full(k, -inf), np.full(k, inf), np.ones(k)])

    soft = np.vstack(
        [
            band(rates, 0.5, 1.5), band(five, 0.25, 0.5),
            np.column_stack([zex, np.full(nz, 0.3)]), np.column_stack([pdig, np.full(nz, 0.01)]),
            band(lhr, 0.0, 0.05), band(llo, 0.0, 0.1), band(lhi, 0.0, 0.1),
            band(med, 0.0, 0.5), band(mci, 0.0, 1.0), band(fu, 0.0, 1.0), free(nb),
        ]
    )
    steep = np.vstack(
        [
            band(rates, 0.9 * tol["table2_survival_5y"], 0.2),
            band(five, 0.8 * tol["overall_5y"], 0.05),
            free(nz),
            np.column_stack([pside, np.full(nz, 0.002)]),
            band(lhr, 0.85 * math.log1p(tol["table3_hr"]), 0.005),
            band(llo, 0.85 * math.log1p(tol["table3_ci"]), 0.01),
            band(lhi, 0.85 * math.log1p(tol["table3_ci"]), 0.01),
            band(med, 0.8 * tol["overall_median"], 0.05),
            band(mci, 0.85 * tol["overall_median_ci"], 0.05),
            band(fu, 0.8 * tol["overall_followup"], 0.05),
            np.column_stack([z_lo, z_hi, np.full(nb, 0.05)]),
        ]
    )
    assert soft.shape == steep.shape == (2 * len(r1) + 1 + 2 * nz + 4 * nb + 4, 3)
    return soft, steep


def _statistic_vector(s: CohortStatistics) -> np.ndarray:
    """Every calibrated statistic as one vector (percent, |z|, log scale, months, Cox z)."""
    lo = s.beta - _Z975 * s.beta_se
    hi = s.beta + _Z975 * s.beta_se
    mse = _Z975 * s.median_se
    return np.concatenate(
        [
            100.0 * s.rate_first,
            100.0 * s.rate_second,
            [100.0 * s.overall_rate],
            np.sqrt(s.chi2),
            s.p_value,
            s.beta,
            lo,
            hi,
            [s.median, s.median - mse, s.median + mse, s.follow_up_median],
            s.beta / s.beta_se,
        ]
    )


def calibration_loss(s: CohortStatistics, t: Targets) -> float:
    """The loss the calibration minimises: every published statistic on comparable scales.

    Each statistic contributes a soft term ``(distance outside a band / scale)**2`` that pulls
    towards the printed digits, and a steep term of the same form beyond (a little inside) the
    tolerance of :data:`helpers.reproduction.published.TOLERANCES`:

    =====================  ==========================================  ==========================
    statistic              soft band, scale                            steep band, scale
    =====================  ==========================================  ==========================
    34 five-year rates, %  printed +- 0.5, 1.5 points                  +- 2.7, 0.2
    overall 5-year, %      45 +- 0.25, 0.5                             45 +- 0.8, 0.05
    17 log-rank |z|        printed-digit band of p, 0.3                (none)
    17 log-rank p          printed-digit band, 0.01                    paper's side of 0.05
                                                                       (margin 0.005), 0.002
    5 log HR               point, 0.05                                 +- 85 % of log 1.10, 0.005
    10 log CI limits       point, 0.1                                  +- 85 % of log 1.15, 0.01
    median, months         48, 0.5                                     +- 0.8, 0.05
    median CI limits       29.4 / 66.6, 1                              +- 1.275, 0.05
    median follow-up       28, 1                                       +- 0.8, 0.05
    5 Cox Wald z           (none)                                      paper's side of p = 0.05
                                                                       (margin 0.005), 0.05
    =====================  ==========================================  ==========================

    Parameters
    ----------
    s
        Statistics of the candidate (:meth:`VectorisedEvaluator.evaluate`).
    t
        Targets (:func:`load_targets`).

    Returns
    -------
    float
        The loss (``inf`` when the Cox model did not converge).

    Example
    -------
    >>> from helpers.reproduction.synthetic import make_covariates, factor_design, cox_design, VectorisedEvaluator
    >>> import numpy as np
    >>> cov = make_covariates(1)
    >>> cov["dfi_months"] = cov["dfi_days"] / 30.4375
    >>> g = factor_design(cov)
    >>> ev = VectorisedEvaluator(g.to_numpy(), cox_design(g).to_numpy())
    >>> calibration_loss(ev.evaluate(np.linspace(1, 100, 66), np.arange(66) % 2), load_targets()) > 0
    True
    """
    if not s.cox_converged or not np.isfinite(s.median_se):
        return math.inf
    undefined = _VIOLATION_PENALTY * s.undefined_rates
    return _partial_loss(_statistic_vector(s), t, slice(None)) + undefined


def _partial_loss(v: np.ndarray, t: Targets, part: slice | np.ndarray) -> float:
    """Loss of the statistics ``v[part]`` (all terms are non-negative)."""
    soft, steep = _loss_parts(v, t, part)
    return soft + steep


def _loss_parts(v: np.ndarray, t: Targets, part: slice | np.ndarray) -> tuple[float, float]:
    """(soft, steep) loss terms of the statistics ``v[part]``."""
    soft = t.soft_band[part]
    steep = t.steep_band[part]
    v = v[part]
    ds = (np.maximum(soft[:, 0] - v, 0.0) + np.maximum(v - soft[:, 1], 0.0)) / soft[:, 2]
    dh = (np.maximum(steep[:, 0] - v, 0.0) + np.maximum(v - steep[:, 1], 0.0)) / steep[:, 2]
    return float(ds @ ds), float(dh @ dh)
