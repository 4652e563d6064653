"""Stage 4: Kaplan-Meier estimates, the log-rank test and the univariate screen (Table 2).

Every number is checked against R's ``survival`` (``survfit``, ``summary.survfit``, the median of
``print.survfit``, ``survdiff``) by the fixtures in ``tests/r_reference/``. Hand-written in numpy
because lifelines, which gives the same curve, has neither R's median rule nor the ``"log"`` and
``"plain"`` bands with their median CIs, nor the SPSS median SE, and one fitter per level is far
too slow for a large registry: one sort shared by all factors, then ``bincount`` and cumsums.

Conventions (R ``survival`` 3.x): S(t) is right-continuous; at risk at ``t`` means observed time
>= ``t``; Greenwood's sum is ``sum d / (n (n - d))`` and SE(S) = S sqrt(sum); beyond the last
observation a landmark is NaN (flagged) unless the curve reached 0; bands follow
``survfit_confint`` (log-log is NaN where S = 1; all are NaN where S = 0; (1, 1) before the first
observation); near-equal times are merged first (``timefix=TRUE``; ``timefix=False`` turns it off).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

#: ``conf_type`` values understood by :func:`kaplan_meier` (R ``survfit``'s ``conf.type``).
CONF_TYPES: tuple[str, ...] = ("log", "log-log", "plain")
#: Median-CI conventions understood by :func:`median_ci_table` and :meth:`KMSummary.overall_row`.
MEDIAN_CI_METHODS: tuple[str, ...] = ("symmetric", "log", "log-log", "plain")
#: R's tolerance for "exactly 0.5" in the median rule (``sqrt(.Machine$double.eps)``).
_R_TOL: float = float(np.sqrt(np.finfo(float).eps))
#: Collett's epsilon for the finite-difference density at the median (SPSS-style SE).
_COLLETT_EPS: float = 0.05
#: Thresholds of the screen's flags.
FEW_EVENTS: int = 5
FEW_AT_RISK: int = 10

FOLLOWUP_LABELS: dict[str, str] = {
    "observed": "median observed time of all patients (deaths and censored alike)",
    "reverse_km": "reverse Kaplan-Meier (censoring as the event; Schemper & Smith 1996)",
}
MEDIAN_CI_LABELS: dict[str, str] = {
    "symmetric": "median +/- z*SE, SE by Collett's density formula (SPSS Kaplan-Meier)",
    "log": "where the log-transformed pointwise band crosses 0.5 (R survfit default)",
    "log-log": "where the log(-log) pointwise band crosses 0.5 (lifelines)",
    "plain": "where the untransformed (plain) pointwise band crosses 0.5",
}


# ---- input validation --------------------------------------------------------------------------------


def _row_labels(df: pd.DataFrame, mask: np.ndarray, id_column: str | None, limit: int = 10) -> str:
    """Human-readable list of the rows (patient ids if ``id_column``, else index) at fault."""
    labels = (df[id_column].to_numpy()[mask] if id_column else df.index.to_numpy()[mask]).tolist()
    shown = ", ".join(repr(x) for x in labels[:limit])
    more = f" and {len(labels) - limit} more" if len(labels) > limit else ""
    kind = f"{id_column}" if id_column else "index"
    return f"rows ({kind}) [{shown}]{more}"


def _require_columns(df: pd.DataFrame, columns: Iterable[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, found {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not found in the data; available columns: {list(df.columns)}")


def _validate_time_event(df: pd.DataFrame, time: str, event: str, id_column: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Return float times and 0/1 int8 events, or raise ValueError naming column and rows."""
    cols = [time, event] + ([id_column] if id_column else [])
    _require_columns(df, cols)
    if len(df) == 0:
        raise ValueError("the data have no rows; a survival curve needs at least one patient")
    t_raw = pd.to_numeric(df[time], errors="coerce")
    bad_type = t_raw.isna().to_numpy() & df[time].notna().to_numpy()
    if bad_type.any():
        raise ValueError(f"column {time!r} must be numeric survival times; non-numeric values in "
                         f"{_row_labels(df, bad_type, id_column)}: {df[time].to_numpy()[bad_type][:10].tolist()}")
    t = t_raw.to_numpy(dtype=float)
    if np.isnan(t).any():
        mask = np.isnan(t)
        raise ValueError(f"column {time!r} has missing values in {_row_labels(df, mask, id_column)}; "
                         "expected a time for every patient (drop or impute them explicitly first)")
    if not np.isfinite(t).all():
        mask = ~np.isfinite(t)
        raise ValueError(f"column {time!r} has infinite values in {_row_labels(df, mask, id_column)}")
    if (t < 0).any():
        mask = t < 0
        raise ValueError(f"column {time!r} must be >= 0; negative times in {_row_labels(df, mask, id_column)}: "
                         f"{t[mask][:10].tolist()}")
    e_col = df[event]
    if e_col.isna().any():
        mask = e_col.isna().to_numpy()
        raise ValueError(f"column {event!r} has missing values in {_row_labels(df, mask, id_column)}; "
                         "expected 1 (event) or 0 (censored) for every patient")
    e_num = pd.to_numeric(e_col.astype(object) if e_col.dtype == bool else e_col, errors="coerce")
    e_arr = e_num.to_numpy(dtype=float)
    bad = ~np.isin(e_arr, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"column {event!r} must be coded 1 = event, 0 = censored; found "
                         f"{sorted(set(map(str, e_col.to_numpy()[bad].tolist())))} in {_row_labels(df, bad, id_column)}")
    return t, e_arr.astype(np.int8)


def _check_conf(conf_type: str, alpha: float) -> float:
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    return float(stats.norm.ppf(1 - alpha / 2))


# ---- the estimator (one curve, or one curve per level on a shared time grid) -------------------------


#: R's ``aeqSurv`` default tolerance, ``sqrt(.Machine$double.eps)``.
TIMEFIX_TOLERANCE: float = float(np.sqrt(np.finfo(float).eps))


def _aeq_keep(uniq: np.ndarray) -> np.ndarray:
    """Which sorted unique times start a new time under R's ``aeqSurv`` (``timefix=TRUE``).

    Two neighbouring times are one when their gap is at most the tolerance, absolutely or
    relative to the mean absolute time (R's rule); a run of such times becomes its first value.
    """
    keep = np.ones(uniq.size, dtype=bool)
    if uniq.size > 1:
        dy = np.diff(uniq)
        scale = float(np.mean(np.abs(uniq)))
        keep[1:] = ~((dy <= TIMEFIX_TOLERANCE) | (dy <= TIMEFIX_TOLERANCE * scale))
    return keep


def _aeq_times(t: np.ndarray) -> np.ndarray:
    """Times with near-equal values merged as R's ``aeqSurv`` does (``t`` itself if none are)."""
    uniq, inv = np.unique(t, return_inverse=True)
    keep = _aeq_keep(uniq)
    if keep.all():
        return t
    return uniq[keep][(np.cumsum(keep) - 1)[inv.reshape(-1)]]


def _km_from_counts(n_risk: np.ndarray, n_event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Survival and Greenwood sum from numbers at risk and events on a time grid (last axis).

    Grid points where nobody is at risk contribute a factor of 1 (the curve is carried, not
    reset); the caller masks the region beyond a curve's last observation.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(n_risk > 0, n_event / np.where(n_risk > 0, n_risk, 1), 0.0)
        surv = np.cumprod(1.0 - q, axis=-1)
        surviving = n_risk - n_event
        term = np.where(n_event > 0,
                        np.where(surviving > 0, n_event / (n_risk * np.where(surviving > 0, surviving, 1)), np.inf), 0.0)
    return surv, np.cumsum(term, axis=-1)


def _bands(surv: np.ndarray, gw: np.ndarray, conf_type: str, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise band exactly as R's ``survfit_confint`` (``logse=TRUE``, ``ulimit=TRUE``)."""
    se = np.sqrt(gw)  # standard error of log S (R's ``std.err``)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "plain":
            se2 = se * surv * z
            se2 = np.where(np.isinf(se) & (surv == 0), np.nan, se2)
            return np.maximum(surv - se2, 0.0), np.minimum(surv + se2, 1.0)
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            return np.exp(np.log(xx) - z * se), np.minimum(np.exp(np.log(xx) + z * se), 1.0)
        xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
        se2 = z * se / np.log(xx)
        lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
        upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
        return lower, upper


def _landmark_bands(surv: np.ndarray, gw: np.ndarray, conf_type: str, z: float,
                    before_first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Band at landmarks as R ``summary.survfit(times=)``: (1, 1) before the first observation."""
    lo, hi = _bands(surv, gw, conf_type, z)
    return np.where(before_first, 1.0, lo), np.where(before_first, 1.0, hi)


def _r_median(y: np.ndarray, x: np.ndarray) -> float:
    """R's ``minmin``: first time the curve is <= 0.5; midpoint of a flat stretch at exactly 0.5."""
    keep = ~np.isnan(y) & (y < 0.5 + _R_TOL)
    if not keep.any():
        return float("nan")
    xk, yk = x[keep], y[keep]
    if abs(yk[0] - 0.5) < _R_TOL:
        lower = yk < yk[0]
        if lower.any():
            return float((xk[0] + xk[np.argmax(lower)]) / 2)
    return float(xk[0])


@dataclass(frozen=True)
class _Curve:
    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    gw: np.ndarray


def _curve(t: np.ndarray, e: np.ndarray) -> _Curve:
    uniq, inv = np.unique(t, return_inverse=True)
    m = uniq.size
    n_obs = np.bincount(inv, minlength=m)
    n_event = np.bincount(inv, weights=e, minlength=m)
    n_risk = n_obs[::-1].cumsum()[::-1].astype(float)
    surv, gw = _km_from_counts(n_risk, n_event)
    return _Curve(uniq, n_risk, n_event, n_obs - n_event, surv, gw)


def _step_at(grid: np.ndarray, values: np.ndarray, at: np.ndarray, before: float) -> np.ndarray:
    """Right-continuous step function ``values`` on ``grid`` evaluated at ``at``."""
    idx = np.searchsorted(grid, at, side="right") - 1
    return np.where(idx >= 0, values[np.clip(idx, 0, None)], before)


def _collett_median_se(c: _Curve, median: float) -> float:
    """SPSS-style standard error of the median: ``SE(S(t_med)) / f(t_med)``.

    ``f = (S(u) - S(l)) / (l - u)``: ``u`` the latest event time with S >= 0.55 (0 if none), ``l``
    the earliest with S <= 0.45 (Collett 2015, section 2.4.2; Marques de Sa 2007, eqs. 9.17-9.18).
    The paper's "48 (95% CI 29.4-66.6)" is of this kind (SE ~ 9.49).
    """
    if np.isnan(median):
        return float("nan")
    ev = c.n_event > 0
    te, se_ = c.time[ev], c.surv[ev]
    upper_side = se_ >= 0.5 + _COLLETT_EPS - _R_TOL
    lower_side = se_ <= 0.5 - _COLLETT_EPS + _R_TOL
    if not lower_side.any():
        return float("nan")
    u, s_u = (te[upper_side][-1], se_[upper_side][-1]) if upper_side.any() else (0.0, 1.0)
    l_, s_l = te[lower_side][0], se_[lower_side][0]
    density = (s_u - s_l) / (l_ - u)
    s_med = float(_step_at(c.time, c.surv, np.array([median]), 1.0)[0])
    gw_med = float(_step_at(c.time, c.gw, np.array([median]), 0.0)[0])
    if s_med == 0.0 or not np.isfinite(gw_med):
        return float("nan")  # the curve reached 0: Greenwood's variance is undefined there
    se_s = s_med * np.sqrt(gw_med)
    return float(se_s / density) if density > 0 and np.isfinite(se_s) else float("nan")


# ---- public API: kaplan_meier ------------------------------------------------------------------------


@dataclass(frozen=True)
class KMSummary:
    """Summary of one Kaplan-Meier curve (see :func:`kaplan_meier`); NaN where not reached.

    ``median_ci_low/high``: where the ``conf_type`` band crosses 0.5 (R ``survfit``);
    ``median_se`` and ``median_ci_symmetric_*``: the SPSS-style SE and median -/+ z SE.
    ``landmarks``: ``time, n_at_risk, survival, se, ci_low, ci_high`` (proportions). ``followup``:
    ``method, months, label`` (observed, reverse KM, min and max observed). ``table``: the curve.
    """

    n: int
    events: int
    conf_type: str
    alpha: float
    median: float
    median_ci_low: float
    median_ci_high: float
    median_se: float
    median_ci_symmetric_low: float
    median_ci_symmetric_high: float
    landmarks: pd.DataFrame
    median_followup_observed: float
    median_followup_reverse_km: float
    followup: pd.DataFrame
    table: pd.DataFrame

    def overall_row(self, *, median_ci: str = "symmetric", landmark: float = 60,
                    followup: str = "observed") -> pd.DataFrame:
        """The one-row ``km_overall`` table of the output contract (survival in percent).

        ``median_ci``: ``"symmetric"`` (SPSS, the paper) or this summary's ``conf_type``;
        ``landmark``: a time in ``landmarks``; ``followup``: ``"observed"`` or ``"reverse_km"``.

        >>> df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "d": [1, 0, 1, 1, 0, 1]})
        >>> row = kaplan_meier(df, "t", "d", landmarks=(3,)).overall_row(landmark=3)
        >>> row[["n", "events", "median_months"]].values.tolist()
        [[6.0, 4.0, 4.0]]
        """
        if median_ci == "symmetric":
            lo, hi = self.median_ci_symmetric_low, self.median_ci_symmetric_high
        elif median_ci == self.conf_type:
            lo, hi = self.median_ci_low, self.median_ci_high
        else:
            raise ValueError(f"median_ci must be 'symmetric' or this summary's conf_type {self.conf_type!r}, "
                             f"got {median_ci!r}")
        if followup not in ("observed", "reverse_km"):
            raise ValueError(f"followup must be 'observed' or 'reverse_km', got {followup!r}")
        hit = self.landmarks[np.isclose(self.landmarks["time"], landmark)]
        if hit.empty:
            raise ValueError(f"landmark {landmark} not in this summary's landmarks {self.landmarks['time'].tolist()}")
        lm = hit.iloc[0]
        fu = self.median_followup_observed if followup == "observed" else self.median_followup_reverse_km
        return pd.DataFrame([{
            "n": self.n, "events": self.events, "median_months": self.median, "median_ci_low": lo,
            "median_ci_high": hi, "median_ci_method": median_ci, "survival_5y_pct": 100 * lm["survival"],
            "survival_5y_ci_low": 100 * lm["ci_low"], "survival_5y_ci_high": 100 * lm["ci_high"],
            "survival_ci_method": self.conf_type, "landmark_months": float(landmark),
            "median_followup_months": fu, "median_followup_method": followup}])


def _landmark_frame(c: _Curve, t: np.ndarray, times: np.ndarray, conf_type: str, z: float) -> pd.DataFrame:
    times = np.asarray(times, dtype=float)
    t_sorted = np.sort(t)
    n_at_risk = t.size - np.searchsorted(t_sorted, times, side="left")
    surv = _step_at(c.time, c.surv, times, 1.0)
    gw = _step_at(c.time, c.gw, times, 0.0)
    beyond = (times > c.time[-1]) & (c.surv[-1] > 0)
    surv = np.where(beyond, np.nan, surv)
    with np.errstate(invalid="ignore"):
        se = np.where(surv == 0, np.nan, surv * np.sqrt(gw))
    lo, hi = _landmark_bands(surv, gw, conf_type, z, times < c.time[0])
    return pd.DataFrame({"time": times, "n_at_risk": n_at_risk.astype(int), "survival": surv, "se": se,
                         "ci_low": lo, "ci_high": hi})


def kaplan_meier(
    df: pd.DataFrame, time: str, event: str, *, conf_type: str = "log-log", landmarks: Sequence[float] = (60,),
    alpha: float = 0.05, id_column: str | None = None, timefix: bool = True,
) -> KMSummary:
    """Kaplan-Meier estimate with R's median rule, its CIs and the SPSS-style median SE.

    Median: the first time with S(t) <= 0.5, or the midpoint of a flat stretch at exactly 0.5 (R
    ``print.survfit``); its CI: where the pointwise band falls to 0.5. Also the median follow-up,
    observed and by reverse Kaplan-Meier.

    Parameters
    ----------
    time, event
        Time >= 0 and event (1 = event, 0 = censored) columns.
    conf_type
        Pointwise band as R's ``conf.type``: ``"log-log"`` (lifelines'), ``"log"`` (R's), ``"plain"``.
    landmarks
        Times at which to report survival (60 months: the 5-year rate).
    id_column
        Patient ids to name rows in error messages (index labels otherwise).
    timefix
        Merge times equal within ``sqrt(machine eps)`` (``0.1 + 0.2`` and ``0.3``), as R does.

    Raises ``ValueError`` naming the rows for missing, negative or non-numeric times, events not
    0/1, no rows or unknown columns.

    >>> df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "d": [1, 0, 1, 1, 0, 1]})
    >>> kaplan_meier(df, "t", "d", landmarks=(3,)).median
    4.0
    """
    z = _check_conf(conf_type, alpha)
    t, e = _validate_time_event(df, time, event, id_column)
    if timefix:
        t = _aeq_times(t)
    c = _curve(t, e)
    lower, upper = _bands(c.surv, c.gw, conf_type, z)
    median = _r_median(c.surv, c.time)
    med_se = _collett_median_se(c, median)
    rev = _curve(t, 1 - e)
    fu_obs, fu_rev = float(np.median(t)), _r_median(rev.surv, rev.time)
    followup = pd.DataFrame({
        "method": ["observed", "reverse_km", "min_observed", "max_observed"],
        "months": [fu_obs, fu_rev, float(t.min()), float(t.max())],
        "label": [FOLLOWUP_LABELS["observed"], FOLLOWUP_LABELS["reverse_km"], "shortest observed time",
                  "longest observed time"],
    })
    with np.errstate(invalid="ignore"):
        se_s = np.where(c.surv == 0, np.nan, c.surv * np.sqrt(c.gw))
    table = pd.DataFrame({
        "time": c.time, "n_at_risk": c.n_risk.astype(int), "n_events": c.n_event.astype(int),
        "n_censored": c.n_censor.astype(int), "survival": c.surv, "se": se_s, "ci_low": lower, "ci_high": upper,
    })
    return KMSummary(
        n=int(t.size), events=int(e.sum()), conf_type=conf_type, alpha=float(alpha), median=median,
        median_ci_low=_r_median(lower, c.time), median_ci_high=_r_median(upper, c.time), median_se=med_se,
        median_ci_symmetric_low=median - z * med_se, median_ci_symmetric_high=median + z * med_se,
        landmarks=_landmark_frame(c, t, np.asarray(list(landmarks), dtype=float), conf_type, z),
        median_followup_observed=fu_obs, median_followup_reverse_km=fu_rev, followup=followup, table=table,
    )


def median_ci_table(df: pd.DataFrame, time: str, event: str, *, alpha: float = 0.05,
                    id_column: str | None = None) -> pd.DataFrame:
    """The median with its CI under every convention of :data:`MEDIAN_CI_METHODS`, side by side.

    Columns ``method, median, ci_low, ci_high, se, label`` (``se`` only for ``symmetric``).

    >>> df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "d": [1, 0, 1, 1, 0, 1]})
    >>> median_ci_table(df, "t", "d")["method"].tolist()
    ['symmetric', 'log', 'log-log', 'plain']
    """
    rows = []
    for ct in CONF_TYPES:
        km = kaplan_meier(df, time, event, conf_type=ct, landmarks=(), alpha=alpha, id_column=id_column)
        if not rows:
            rows.append({"method": "symmetric", "median": km.median, "ci_low": km.median_ci_symmetric_low,
                         "ci_high": km.median_ci_symmetric_high, "se": km.median_se,
                         "label": MEDIAN_CI_LABELS["symmetric"]})
        rows.append({"method": ct, "median": km.median, "ci_low": km.median_ci_low, "ci_high": km.median_ci_high,
                     "se": np.nan, "label": MEDIAN_CI_LABELS[ct]})
    return pd.DataFrame(rows)


# ---- public API: logrank -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LogRankResult:
    """Result of :func:`logrank` (R ``survdiff``, ``rho = 0``).

    ``dof``: groups with expected > 0, minus one. ``table``: per group ``group, n, observed,
    expected, o_minus_e, variance``; ``variance``: the full variance matrix of O - E.
    """

    statistic: float
    dof: int
    p_value: float
    table: pd.DataFrame
    variance: np.ndarray


def factor_codes(col: pd.Series) -> tuple[np.ndarray, list]:
    """Integer codes (-1 = missing) and the level order: Categorical order, else sorted.

    As ``pd.factorize(sort=True)``, with an O(n) ``bincount`` path for small-range integers.

    >>> codes, levels = factor_codes(pd.Series(["b", "a", None, "b"]))
    >>> codes.tolist(), levels
    ([1, 0, -1, 1], ['a', 'b'])
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy(), list(col.cat.categories)
    if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_integer_dtype(col.dtype):
        vals = col.to_numpy()
        if vals.dtype.kind in "biu" and vals.size:
            lo, hi = int(vals.min()), int(vals.max())
            span = hi - lo + 1
            if span <= 65536:
                shifted = vals.view(np.uint8) if vals.dtype == bool else vals
                shifted = shifted if lo == 0 else shifted.astype(np.int64) - lo
                present = np.flatnonzero(np.bincount(shifted, minlength=span))
                if lo == 0 and present.size == span and vals.dtype.kind != "b":
                    return vals, present.tolist()  # values are already the codes 0..k-1
                lookup = np.full(span, -1, dtype=np.int64)
                lookup[present] = np.arange(present.size)
                uniques = (present + lo).tolist()
                if col.dtype == bool:
                    uniques = [bool(u) for u in uniques]
                return lookup[shifted], uniques
    codes, uniques = pd.factorize(col, sort=True)
    return codes, list(uniques)


def _logrank_counts(d: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed, expected and variance matrix from per-group events ``d`` and at-risk ``r`` (L, m)."""
    d_tot = d.sum(axis=0)
    r_tot = r.sum(axis=0)
    use = (d_tot > 0) & (r_tot > 0)
    d, r, d_tot, r_tot = d[:, use], r[:, use], d_tot[use], r_tot[use]
    share = r / r_tot
    observed = d.sum(axis=1)
    expected = (share * d_tot).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(r_tot > 1, d_tot * (r_tot - d_tot) / (r_tot - 1), 0.0)
    sw = share * w
    variance = np.diag(sw.sum(axis=1)) - sw @ share.T
    return observed, expected, variance


def _chisq(observed: np.ndarray, expected: np.ndarray, variance: np.ndarray) -> tuple[float, int]:
    """R ``survdiff``: drop groups with expected 0, then the first remaining group; solve."""
    keep = expected > 0
    if keep.sum() < 2:
        return 0.0, 0
    diff = (observed - expected)[keep][1:]
    v = (variance if keep.all() else variance[np.ix_(keep, keep)])[1:, 1:]
    if diff.size == 1:
        chi = float(diff[0] ** 2 / v[0, 0]) if v[0, 0] > 0 else float("nan")
    else:
        chi = float(diff @ np.linalg.solve(v, diff))
    return chi, int(keep.sum() - 1)


@dataclass(frozen=True)
class _Grid:
    """The shared sort: unique times and, for every row in ORIGINAL order, its grid index.

    Built once per call; each factor then needs no reordering of its codes (a random-order
    gather of a million codes is the most expensive step otherwise).
    """

    uniq: np.ndarray  # sorted unique times, length m
    inv: np.ndarray  # grid index of each row (original row order), intp
    ev_rows: np.ndarray  # row numbers of the events
    inv_ev: np.ndarray  # grid index of each event row

    def at_or_after(self, t: float) -> np.ndarray:
        """Boolean mask of rows observed at or after ``t`` (at risk at ``t``)."""
        return self.inv >= np.searchsorted(self.uniq, t, side="left")


def _grid(t: np.ndarray, e: np.ndarray, timefix: bool = True) -> _Grid:
    uniq, inv = np.unique(t, return_inverse=True)
    ev_rows = np.flatnonzero(e == 1)
    inv = inv.astype(np.intp, copy=False).reshape(-1)
    if timefix:
        keep = _aeq_keep(uniq)
        if not keep.all():
            inv = (np.cumsum(keep) - 1)[inv]
            uniq = uniq[keep]
    return _Grid(uniq, inv, ev_rows, inv[ev_rows])


def _small_codes(codes: np.ndarray, n_levels: int) -> np.ndarray:
    """Codes in the smallest signed integer type (faster to combine with the grid index)."""
    for dt in (np.int8, np.int16, np.int32):
        if n_levels < np.iinfo(dt).max:
            return codes.astype(dt, copy=False)
    return codes.astype(np.int64, copy=False)


def _per_level_counts(codes: np.ndarray, grid: _Grid, n_levels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-level observations, events and numbers at risk on the shared time grid, (L, m)."""
    m = grid.uniq.size
    size = n_levels * m
    key = np.multiply(codes, m, dtype=np.intp)
    key += grid.inv
    key_ev = np.multiply(codes[grid.ev_rows], m, dtype=np.intp)
    key_ev += grid.inv_ev
    if (codes < 0).any():
        key = key[codes >= 0]
        key_ev = key_ev[codes[grid.ev_rows] >= 0]
    n_obs = np.bincount(key, minlength=size).reshape(n_levels, m)
    n_ev = np.bincount(key_ev, minlength=size).reshape(n_levels, m).astype(float)
    n_risk = n_obs[:, ::-1].cumsum(axis=1)[:, ::-1].astype(float)
    return n_obs, n_ev, n_risk


def logrank(df: pd.DataFrame, time: str, event: str, group: str, *, id_column: str | None = None,
            timefix: bool = True) -> LogRankResult:
    """Log-rank test of equal survival across the levels of ``group`` (2 or k groups).

    Equals R ``survdiff(Surv(time, event) ~ group)``: observed minus expected deaths per group
    with the hypergeometric variance; groups expected to have no deaths are dropped, as R does.
    It is an asymptotic (chi-square) test: with very few expected deaths in a group its p-value
    can be far too small. Level order: Categorical order, else sorted. ``id_column`` and
    ``timefix`` as :func:`kaplan_meier`. Raises ``ValueError`` for bad times or events, missing
    groups (rows named) or fewer than two groups with patients.

    >>> df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "d": [1, 1, 0, 1, 0, 1], "g": ["a", "a", "a", "b", "b", "b"]})
    >>> round(logrank(df, "t", "d", "g").p_value, 4)
    0.1161
    """
    t, e = _validate_time_event(df, time, event, id_column)
    _require_columns(df, [group])
    codes, levels = factor_codes(df[group])
    if (codes < 0).any():
        raise ValueError(f"column {group!r} has missing values in {_row_labels(df, codes < 0, id_column)}; "
                         "the log-rank test needs a group for every patient (drop them explicitly first)")
    present = np.bincount(codes, minlength=len(levels)) > 0
    if present.sum() < 2:
        raise ValueError(f"column {group!r} has only {int(present.sum())} group with patients "
                         f"({[lv for lv, p in zip(levels, present, strict=True) if p]}); the log-rank test "
                         "compares at least two groups")
    n_obs, n_ev, n_risk = _per_level_counts(codes, _grid(t, e, timefix), len(levels))
    keep = present
    observed, expected, variance = _logrank_counts(n_ev[keep], n_risk[keep])
    chi, dof = _chisq(observed, expected, variance)
    p = float(stats.chi2.sf(chi, dof)) if dof > 0 else float("nan")
    lv = [lvl for lvl, k in zip(levels, keep, strict=True) if k]
    table = pd.DataFrame({"group": lv, "n": n_obs[keep].sum(axis=1).astype(int), "observed": observed,
                          "expected": expected, "o_minus_e": observed - expected, "variance": np.diag(variance)})
    return LogRankResult(statistic=chi, dof=dof, p_value=p, table=table, variance=variance)


# ---- public API: screen_factors (Table 2) ------------------------------------------------------------

SCREEN_COLUMNS: tuple[str, ...] = (
    "variable", "level", "n", "events", "survival_pct", "survival_ci_low", "survival_ci_high", "median",
    "p_value", "chisq", "dof", "n_at_risk_landmark", "last_followup", "n_missing", "flag_few_events",
    "flag_zero_events", "flag_landmark_beyond_followup", "flag_few_at_risk",
)


def _level_medians(surv: np.ndarray, uniq: np.ndarray, last_idx: np.ndarray) -> np.ndarray:
    """:func:`_r_median` of each level's curve up to its last observation (-1: no patients).

    Vectorised for the usual case; a curve that sits exactly at 0.5 goes through
    :func:`_r_median` itself (the midpoint rule).
    """
    cols = np.arange(surv.shape[1])
    keep = (surv < 0.5 + _R_TOL) & (cols <= last_idx[:, None])
    has = keep.any(axis=1)
    first = np.argmax(keep, axis=1)
    med = np.where(has, uniq[first], np.nan)
    flat = has & (np.abs(surv[np.arange(len(first)), first] - 0.5) < _R_TOL)
    for i in np.flatnonzero(flat):
        med[i] = _r_median(surv[i, : last_idx[i] + 1], uniq[: last_idx[i] + 1])
    return med


def _counts_many(codes: np.ndarray, grid: _Grid, n_levels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_per_level_counts` for several factors at once: ``codes`` is (rows, factors), each
    factor's codes shifted past the levels of the factors before it (-1 = missing)."""
    m = grid.uniq.size
    size = n_levels * m
    key = np.multiply(codes, m, dtype=np.intp)
    key += grid.inv[:, None]
    key_ev = key[grid.ev_rows]
    if (codes < 0).any():
        key = key[codes >= 0]
        key_ev = key_ev[codes[grid.ev_rows] >= 0]
    n_obs = np.bincount(key.ravel(), minlength=size).reshape(n_levels, m)
    n_ev = np.bincount(key_ev.ravel(), minlength=size).reshape(n_levels, m).astype(float)
    n_risk = n_obs[:, ::-1].cumsum(axis=1)[:, ::-1].astype(float)
    return n_obs, n_ev, n_risk


def _logrank_many(n_ev: np.ndarray, n_risk: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-rank chi-square and degrees of freedom of several factors (levels stacked, ``sizes``
    levels each), as R ``survdiff``: :func:`_logrank_counts` and :func:`_chisq` per factor, with
    the usual two-level case done for all factors in one pass."""
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    fac = np.repeat(np.arange(len(sizes)), sizes)
    d_tot = np.add.reduceat(n_ev, starts, axis=0)
    r_tot = np.add.reduceat(n_risk, starts, axis=0)
    use = (d_tot > 0) & (r_tot > 0)  # times with an event and someone at risk
    dt, rt = np.where(use, d_tot, 0.0), np.where(use, r_tot, 1.0)
    share = np.where(use[fac], n_risk / rt[fac], 0.0)
    observed = np.where(use[fac], n_ev, 0.0).sum(axis=1)
    expected = (share * dt[fac]).sum(axis=1)
    w = np.where(rt > 1, dt * (rt - dt) / np.where(rt > 1, rt - 1, 1.0), 0.0)
    sw = share * w[fac]
    keep = expected > 0  # survdiff drops groups expected to have no events
    n_keep = np.add.reduceat(keep.astype(int), starts)
    chi, dof = np.zeros(len(sizes)), np.where(n_keep >= 2, n_keep - 1, 0)
    # Two groups kept: chi = (O - E)^2 / V of the second.
    last = np.maximum.reduceat(np.where(keep, np.arange(len(keep)), -1), starts)
    two = n_keep == 2
    j = last[two]
    v = sw[j].sum(axis=1) - (sw[j] * share[j]).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi[two] = np.where(v > 0, (observed[j] - expected[j]) ** 2 / v, np.nan)
    for f in np.flatnonzero(n_keep > 2):
        rows = slice(starts[f], starts[f] + sizes[f])
        variance = np.diag(sw[rows].sum(axis=1)) - sw[rows] @ share[rows].T
        chi[f] = _chisq(observed[rows], expected[rows], variance)[0]
    return chi, dof


def _screen_many(codes: np.ndarray, sizes: np.ndarray, grid: _Grid, landmark: float, conf_type: str,
                 z: float) -> dict[str, Any]:
    """Table 2 columns (all but ``variable, level, n_missing``) of several factors on a shared grid.

    ``codes`` is (rows, factors) as :func:`_counts_many` takes it; per-level columns run over the
    stacked levels, ``p_value, chisq, dof`` over the factors. The one implementation behind
    :func:`screen_factors` (a factor at a time) and :meth:`ScreenDesign.refit` (all at once).
    """
    uniq, m = grid.uniq, grid.uniq.size
    n_lv = int(np.sum(sizes))
    lm_idx = int(np.searchsorted(uniq, landmark, side="right") - 1)
    n_obs, n_ev, n_risk = _counts_many(codes, grid, n_lv)
    n = n_obs.sum(axis=1)
    events = n_ev.sum(axis=1)
    present = n > 0
    chi, dof = _logrank_many(n_ev, n_risk, sizes)
    p = np.where(dof > 0, special.chdtrc(np.maximum(dof, 1), chi), np.nan)  # chi2.sf's core
    surv, gw = _km_from_counts(n_risk, n_ev)
    last_idx = np.where(present, m - 1 - np.argmax(n_obs[:, ::-1] > 0, axis=1), -1)
    last_ok = np.maximum(last_idx, 0)
    last_fu = np.where(present, uniq[last_ok], np.nan)
    if lm_idx >= 0:
        s_lm, gw_lm = surv[:, lm_idx], gw[:, lm_idx]
    else:
        s_lm, gw_lm = np.ones(n_lv), np.zeros(n_lv)
    s_last = surv[np.arange(n_lv), last_ok]
    beyond = present & (landmark > last_fu)
    s_lm = np.where(~present | (beyond & (s_last > 0)), np.nan, s_lm)
    first_idx = np.where(present, np.argmax(n_obs > 0, axis=1), m)
    lo, hi = _landmark_bands(s_lm, gw_lm, conf_type, z, lm_idx < first_idx)
    k = int(np.searchsorted(uniq, landmark, side="left"))  # at risk at the landmark: time >= it
    at_risk = n_risk[:, k].astype(int) if k < m else np.zeros(n_lv, dtype=int)
    return {
        "n": n.astype(int), "events": events.astype(int), "survival_pct": 100 * s_lm,
        "survival_ci_low": 100 * lo, "survival_ci_high": 100 * hi,
        "median": _level_medians(surv, uniq, last_idx),
        "p_value": p, "chisq": np.where(dof > 0, chi, np.nan), "dof": dof,
        "n_at_risk_landmark": at_risk, "last_followup": last_fu,
        "flag_few_events": events < FEW_EVENTS, "flag_zero_events": events == 0,
        "flag_landmark_beyond_followup": beyond | ~present, "flag_few_at_risk": at_risk < FEW_AT_RISK,
    }


def _screen_one(codes: np.ndarray, n_lv: int, grid: _Grid, landmark: float, conf_type: str, z: float) -> dict[str, Any]:
    """One factor's columns from :func:`_screen_many` (``p_value, chisq, dof`` as scalars)."""
    cols = _screen_many(codes[:, None], np.array([n_lv]), grid, landmark, conf_type, z)
    cols["p_value"], cols["chisq"], cols["dof"] = float(cols["p_value"][0]), float(cols["chisq"][0]), int(cols["dof"][0])
    return cols


def screen_factors(
    df: pd.DataFrame, time: str, event: str, factors: Sequence[str], *, landmark: float = 60, alpha: float = 0.05,
    conf_type: str = "log-log", missing: str = "report", id_column: str | None = None, timefix: bool = True,
) -> pd.DataFrame:
    """Univariate log-rank screen in the layout of the paper's Table 2.

    Per factor level: patients, events, Kaplan-Meier survival at ``landmark`` (percent) with its
    pointwise CI, median (R's rule), and the factor's log-rank p on every row (each equal to
    :func:`logrank` and R ``survdiff`` on that factor alone). One sort is shared by all factors
    (``benchmarks/bench_screen.py``: 10^6 patients x 20 factors in about a second). Unused
    categories give rows with ``n = 0``. A missing factor value is never dropped silently:
    ``missing="report"`` leaves the patient out of that factor only, counted in ``n_missing``;
    ``"raise"`` names the rows. Other arguments as :func:`kaplan_meier`.

    Returns :data:`SCREEN_COLUMNS`, with the flags ``flag_few_events`` (< 5), ``flag_zero_events``,
    ``flag_landmark_beyond_followup`` (survival then NaN unless the curve reached 0) and
    ``flag_few_at_risk`` (< 10 at risk at the landmark); ``p_value`` NaN with fewer than two levels.

    >>> df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "d": [1, 1, 0, 1, 0, 1], "g": list("aabbab")})
    >>> screen_factors(df, "t", "d", ["g"], landmark=3)[["level", "n", "events"]].values.tolist()
    [['a', 3, 2], ['b', 3, 2]]
    """
    z = _check_conf(conf_type, alpha)
    if missing not in ("report", "raise"):
        raise ValueError(f"missing must be 'report' or 'raise', got {missing!r}")
    if isinstance(factors, str):
        factors = [factors]
    factors = list(factors)
    _require_columns(df, factors)
    t, e = _validate_time_event(df, time, event, id_column)
    grid = _grid(t, e, timefix)
    frames = []
    for f in factors:
        codes, levels = factor_codes(df[f])
        n_lv = len(levels)
        codes = _small_codes(codes, n_lv)
        n_missing = int((codes < 0).sum())
        if n_missing and missing == "raise":
            raise ValueError(f"column {f!r} has missing values in {_row_labels(df, codes < 0, id_column)}; "
                             "expected a level for every patient")
        if n_lv == 0:
            continue
        cols = _screen_one(codes, n_lv, grid, landmark, conf_type, z)
        frames.append(pd.DataFrame({"variable": f, "level": [str(lv) for lv in levels], **cols,
                                    "n_missing": n_missing}))
    if not frames:
        return pd.DataFrame(columns=list(SCREEN_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(SCREEN_COLUMNS)]
