"""Stage 5: the multivariable Cox model (Table 3) and its proportional-hazards test.

:func:`select_for_multivariable` applies the paper's entry rule (log-rank ``p < alpha``);
:func:`fit_cox` fits the model with Efron (R's default) or Breslow (SPSS's, the paper's) ties;
:func:`test_proportional_hazards` is R's (survival >= 3.0) ``cox.zph`` test; :func:`ph_verdict`
says its result in words.

Why by hand: lifelines' ``CoxPHFitter`` has Efron ties only; statsmodels' ``PHReg`` has both but
is 15-20x slower here and exposes neither the risk-set sums ``cox.zph`` needs nor R's
concordance; neither reports R's NA terms or stops where R stops. The Newton-Raphson below is R's
``coxfit6`` (start at 0, centring, ``cholesky2`` each iteration, step halving, ``eps = 1e-9``,
``iter.max = 20``, the "may be infinite" check), vectorised; it agrees with R ``survival`` to
~1e-13, NA terms and non-converged fits included (``tests/test_cox.py``,
``tests/test_edge_reference.py``; fixtures from ``tests/r_reference/*.R``). Terms R reports as NA
(constant, collinear, constant within every risk set) are NA here too, flagged, with a
:class:`CoxWarning`.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats
from scipy.linalg import lapack

from helpers.survival import _aeq_times

#: Tie methods :func:`fit_cox` knows.
TIES: tuple[str, ...] = ("efron", "breslow")
#: Time transforms :func:`test_proportional_hazards` knows (as R's ``cox.zph``).
ZPH_TRANSFORMS: tuple[str, ...] = ("km", "rank", "identity")
#: Events per parameter below which :func:`fit_cox` warns (the usual rule of thumb).
MIN_EVENTS_PER_PARAMETER: float = 10.0

# R's coxph.control: convergence on a relative change of the log-likelihood below eps, at most
# iter.max iterations; a coefficient is "may be infinite" when the next Newton step would still
# move it by more than eps and by more than toler.inf = sqrt(eps) relative to its size.
_EPS = 1e-9
_MAX_ITER = 20
_INF_TOL = _EPS**0.5
_SHOWN_ROWS = 10


class CoxWarning(UserWarning):
    """A Cox fit whose numbers need a caveat (few events per parameter, divergence, ...)."""


@dataclass(frozen=True)
class LRTest:
    """Likelihood-ratio test against the null model: ``2 (loglik(beta) - loglik(0))`` on ``dof`` df."""

    statistic: float
    dof: int
    p_value: float


@dataclass(frozen=True, eq=False)
class CoxResult:
    """A fitted Cox model (see :func:`fit_cox`).

    ``table`` has one row per term: ``term, variable, level, reference, coef, se, hr, ci_low,
    ci_high, z, p_value, flag`` (Wald; ``flag`` non-empty when the estimate must not be read at
    face value). ``n``/``events`` are the rows analysed and their events; ``concordance`` is
    Harrell's C as R's ``coxph`` reports it; ``warnings`` the caveats also raised as
    :class:`CoxWarning`; ``term_groups`` maps a covariate to its terms (one dummy per non-reference
    level). ``time, event, design, coef, variance`` are what the proportional-hazards test needs.
    """

    table: pd.DataFrame
    n: int
    events: int
    log_likelihood: float
    log_likelihood_null: float
    lr_test: LRTest
    concordance: float
    events_per_parameter: float
    n_dropped_missing: int
    dropped_rows: tuple[Any, ...]
    warnings: tuple[str, ...]
    ties: str
    alpha: float
    converged: bool
    iterations: int
    term_groups: Mapping[str, tuple[str, ...]]
    time: np.ndarray = field(repr=False)
    event: np.ndarray = field(repr=False)
    design: pd.DataFrame = field(repr=False)
    coef: np.ndarray = field(repr=False)
    variance: np.ndarray = field(repr=False)

    def summary_row(self) -> pd.DataFrame:
        """The model-level numbers as one row (Table 3's footer): ties, n, events, LR test, C, EPV, warnings.

        >>> d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "e": [1, 1, 0, 1, 1, 0], "x": [0, 1, 0, 1, 1, 0]})
        >>> fit_cox(d, "t", "e", ["x"]).summary_row()[["ties", "n", "events"]].to_dict("records")
        [{'ties': 'efron', 'n': 6, 'events': 4}]
        """
        return pd.DataFrame([{
            "ties": self.ties, "n": self.n, "events": self.events, "n_dropped_missing": self.n_dropped_missing,
            "log_likelihood": self.log_likelihood, "lr_statistic": self.lr_test.statistic,
            "lr_dof": self.lr_test.dof, "lr_p_value": self.lr_test.p_value, "concordance": self.concordance,
            "events_per_parameter": self.events_per_parameter, "warnings": " | ".join(self.warnings),
        }])


# ---- Selection rule ----------------------------------------------------------------------------------


def select_for_multivariable(screen_table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Apply the paper's entry rule: a factor whose log-rank ``p < alpha`` (strict) enters the model.

    ``screen_table`` is the screen in Table 2 layout (:func:`helpers.survival.screen_factors`), the
    factor's p repeated on each of its level rows. Returns one row per variable in order of first
    appearance: ``variable, p_value, alpha, selected, reason``; a factor without a p-value (one
    level) is not selected and says so.

    >>> screen = pd.DataFrame({"variable": ["sex", "sex", "dfi", "dfi"], "p_value": [0.4, 0.4, 0.003, 0.003]})
    >>> select_for_multivariable(screen, 0.05)[["variable", "selected"]].to_dict("list")
    {'variable': ['sex', 'dfi'], 'selected': [False, True]}
    """
    if not isinstance(screen_table, pd.DataFrame):
        raise TypeError(f"screen_table must be a pandas DataFrame, found {type(screen_table).__name__}")
    missing = [c for c in ("variable", "p_value") if c not in screen_table.columns]
    if missing:
        raise KeyError(f"screen_table lacks column(s) {missing}; expected the Table 2 layout with columns "
                       f"'variable', 'level', 'p_value'; found {list(screen_table.columns)}")
    alpha = _check_alpha(alpha)
    rows = []
    for variable, grp in screen_table.groupby("variable", sort=False):
        p = pd.to_numeric(grp["p_value"], errors="coerce")
        distinct = p.dropna().unique()
        if len(distinct) > 1 and not np.allclose(distinct, distinct[0], rtol=1e-12, atol=0):
            raise ValueError(f"screen_table: variable {variable!r} carries different p-values on its rows "
                             f"(rows {list(grp.index)}: {list(p)}); expected one log-rank p per factor")
        if len(distinct) == 0:
            rows.append((variable, np.nan, alpha, False, "no log-rank p-value (fewer than two levels)"))
            continue
        pv = float(distinct[0])
        selected = bool(pv < alpha)
        reason = f"log-rank p = {pv:.3g} {'<' if selected else '>='} {alpha:g}"
        rows.append((variable, pv, alpha, selected, reason))
    return pd.DataFrame(rows, columns=["variable", "p_value", "alpha", "selected", "reason"])


# ---- Input handling ----------------------------------------------------------------------------------


def _check_alpha(alpha: float) -> float:
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha must be a number in (0, 1), found {alpha!r}") from None
    if not 0.0 < value < 1.0:
        raise ValueError(f"alpha must be in (0, 1), found {alpha!r}")
    return value


def _rows(labels: pd.Series, mask: np.ndarray | pd.Series) -> str:
    """The first few row labels (patient ids or index labels) where ``mask`` holds."""
    labels = list(labels.to_numpy()[np.asarray(mask, dtype=bool)])
    shown = ", ".join(str(x) for x in labels[:_SHOWN_ROWS])
    more = f" and {len(labels) - _SHOWN_ROWS} more" if len(labels) > _SHOWN_ROWS else ""
    return f"[{shown}{more}]"


def _levels_of(col: pd.Series) -> list[Any]:
    """Observed levels, in category order for a Categorical, else sorted."""
    present = col.dropna()
    if isinstance(col.dtype, pd.CategoricalDtype):
        seen = set(present.unique())
        return [c for c in col.cat.categories if c in seen]
    values = list(present.unique())
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _match_level(levels: Sequence[Any], wanted: Any) -> Any | None:
    for lev in levels:
        if lev == wanted:
            return lev
    for lev in levels:
        if str(lev) == str(wanted):
            return lev
    return None


def _check_request(
    df: pd.DataFrame, time: str, event: str, covariates: Sequence[str], categorical: Mapping[str, Any],
    id_column: str | None,
) -> tuple[list[str], pd.Series]:
    """Columns present and of the right types; returns the covariates as a list and the row names."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, found {type(df).__name__}")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    if not covariates:
        raise ValueError("covariates is empty: name at least one column to put in the model")
    dupes = sorted({c for c in covariates if covariates.count(c) > 1})
    if dupes:
        raise ValueError(f"covariates lists column(s) {dupes} more than once")
    named = [time, event, *covariates] + ([id_column] if id_column is not None else [])
    absent = [c for c in named if c not in df.columns]
    if absent:
        raise KeyError(f"column(s) {absent} not found in the data; available columns: {list(df.columns)}")
    stray = [c for c in categorical if c not in covariates]
    if stray:
        raise ValueError(f"categorical names column(s) {stray} that are not among the covariates {covariates}")
    for c in (time, event):
        if c in covariates:
            raise ValueError(f"column {c!r} is the {'time' if c == time else 'event'} column and cannot also be a covariate")
    ids = df[id_column] if id_column is not None else pd.Series(df.index, index=df.index)
    # Types first (on all rows), so that a text column is reported as such, not as missing values.
    for c in [c for c in covariates if c not in categorical] + [time, event]:
        s = df[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            continue
        bad = s.notna() & pd.to_numeric(s, errors="coerce").isna()
        found = f"rows {_rows(ids, bad)} hold {list(s[bad].astype(str).unique()[:5])}"
        if c in (time, event):
            raise TypeError(f"column {c!r} must be numeric (dtype {s.dtype}); {found}")
        raise TypeError(
            f"covariate {c!r} is not numeric (dtype {s.dtype}; e.g. {found}); give it a reference level in "
            f"categorical={{{c!r}: <reference level>}} to model it as a factor, or recode it as numbers"
        )
    return covariates, ids


def _missing_message(ids: pd.Series, missing: Mapping[str, np.ndarray], n_rows: int) -> str | None:
    """``k of n rows dropped for missing values in <column> (<count>: rows [...]); ...`` or None."""
    drop = np.zeros(n_rows, dtype=bool)
    parts = []
    for name, mask in missing.items():
        if mask.any():
            drop |= mask
            parts.append(f"{name} ({int(mask.sum())}: rows {_rows(ids, mask)})")
    if not parts:
        return None
    return f"{int(drop.sum())} of {n_rows} rows dropped for missing values in " + "; ".join(parts)


def _time_event(data: pd.DataFrame, time: str, event: str, ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Finite non-negative times and 0/1 events with at least one event, or a clear error."""
    t = data[time].astype(float).to_numpy()
    bad_t = ~np.isfinite(t) | (t < 0)
    if bad_t.any():
        raise ValueError(f"column {time!r} must hold finite non-negative times; rows {_rows(ids, bad_t)} "
                         f"hold {sorted(set(t[bad_t].tolist()))[:5]}")
    e_raw = data[event].astype(float).to_numpy()
    bad_e = ~np.isin(e_raw, (0.0, 1.0))
    if bad_e.any():
        raise ValueError(f"column {event!r} must be coded 0 (censored) / 1 (event); rows {_rows(ids, bad_e)} "
                         f"hold {sorted(set(e_raw[bad_e].tolist()))[:5]}")
    if not e_raw.any():
        raise ValueError(f"column {event!r} has no events among the {len(data)} analysed rows; a Cox model needs events")
    return t, e_raw.astype(np.int8)


def _factor_terms(s: pd.Series, everywhere: pd.Series, c: str, wanted_ref: Any, n_analysed: int) -> tuple[dict[str, np.ndarray], list[dict[str, Any]], list[str]]:
    """One 0/1 column per non-reference level of factor ``c`` (NaN where ``s`` is missing)."""
    levels = _levels_of(s)
    all_levels = _levels_of(everywhere)
    ref = _match_level(all_levels, wanted_ref)
    if ref is None:
        raise ValueError(f"categorical reference level {wanted_ref!r} for column {c!r} is absent; "
                         f"levels found: {[str(x) for x in all_levels]}")
    if _match_level(levels, ref) is None:
        raise ValueError(f"categorical reference level {ref!r} for column {c!r} occurs only in rows dropped "
                         f"for missing values; levels among the analysed rows: {[str(x) for x in levels]}")
    if len(levels) < 2:
        raise ValueError(f"column {c!r} has a single level ({str(levels[0])!r}) among the {n_analysed} analysed rows; "
                         "a factor needs two levels (R: 'contrasts can be applied only to factors with 2 or more levels')")
    unused = [str(x) for x in all_levels if _match_level(levels, x) is None]
    msgs = [f"column {c!r}: level(s) {unused} occur only in rows dropped for missing values and get no term"] if unused else []
    missing = s.isna().to_numpy()
    columns, info = {}, []
    for lev in levels:
        if lev == ref:
            continue
        name = f"{c}[{lev}]"
        columns[name] = np.where(missing, np.nan, (s == lev).to_numpy(dtype=float))
        info.append({"term": name, "variable": c, "level": str(lev), "reference": str(ref)})
    return columns, info, msgs


def _numeric_term(s: pd.Series, c: str, ids: pd.Series, allow_constant: bool) -> np.ndarray:
    x = s.astype(float).to_numpy()
    observed = ~np.isnan(x)
    if np.isinf(x).any():
        raise ValueError(f"covariate {c!r} holds non-finite values in rows {_rows(ids, np.isinf(x))}")
    if not allow_constant and observed.any() and np.ptp(x[observed]) == 0:
        raise ValueError(f"covariate {c!r} takes the single value {x[observed][0]!r} in all {int(observed.sum())} "
                         "analysed rows; a covariate that does not vary cannot be estimated")
    return x


def _check_collinear(design: pd.DataFrame) -> None:
    """Error on terms collinear among the analysed rows (eigenvalues of the correlation matrix)."""
    X = design.to_numpy(dtype=float)
    xc = X - X.mean(axis=0)
    cross = xc.T @ xc
    scale = np.sqrt(np.diag(cross))
    evals, evecs = np.linalg.eigh(cross / np.outer(scale, scale))
    if evals[0] < 1e-10 * evals[-1]:
        involved = [design.columns[j] for j in np.flatnonzero(np.abs(evecs[:, 0]) > 1e-6)]
        raise ValueError(f"the design matrix is singular: terms {involved} are collinear (one is a linear "
                         "combination of the others among the analysed rows); drop one of them")


def _build_design(
    df: pd.DataFrame, time: str, event: str, covariates: Sequence[str], categorical: Mapping[str, Any],
    id_column: str | None = None, *, complete_cases: bool = True, strict: bool = True,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, dict[str, tuple[str, ...]], list[dict[str, Any]],
           pd.Index, list[str]]:
    """Validate the input and build the design matrix (see :func:`fit_cox`).

    ``complete_cases``: drop rows missing any covariate (R's ``na.omit``); otherwise only rows
    missing time or event are dropped and the design keeps NaN (:class:`CoxDesign` drops them
    per refit, for the terms it fits). ``strict``: a constant covariate or collinear terms are
    errors; otherwise they reach the fit, which reports them as NA as R's ``coxph`` does.
    Returns ``time, event, design, term groups, term rows, dropped labels, warnings``.
    """
    covariates, ids = _check_request(df, time, event, covariates, categorical, id_column)
    used_cols = [time, event, *covariates] if complete_cases else [time, event]
    na = df[used_cols].isna()
    drop_mask = na.any(axis=1).to_numpy()
    message = _missing_message(ids, {c: na[c].to_numpy() for c in used_cols}, len(df))
    warn_msgs = [message] if message else []
    dropped = df.index[drop_mask]
    data = df.loc[~drop_mask, [time, event, *covariates]] if drop_mask.any() else df  # no copy when complete
    kept_ids = ids[~drop_mask]
    if len(data) == 0:
        raise ValueError(f"no rows left after dropping rows with missing values in {used_cols}")
    t, e = _time_event(data, time, event, kept_ids)

    columns: dict[str, np.ndarray] = {}
    groups: dict[str, tuple[str, ...]] = {}
    term_info: list[dict[str, Any]] = []
    for c in covariates:
        if c in categorical:
            cols, info, msgs = _factor_terms(data[c], df[c], c, categorical[c], len(data))
            warn_msgs.extend(msgs)
        else:
            cols = {c: _numeric_term(data[c], c, kept_ids, allow_constant=not strict)}
            info = [{"term": c, "variable": c, "level": "", "reference": ""}]
        columns.update(cols)
        term_info.extend(info)
        groups[c] = tuple(cols)
    design = pd.DataFrame(columns, index=data.index)
    if strict:
        _check_collinear(design)
    return t, e, design, groups, term_info, dropped, warn_msgs


# ---- Partial likelihood: risk-set sums, vectorised ---------------------------------------------------


class _RiskSets:
    """Sorted data and the risk-set bookkeeping shared by the fit and the zph test.

    Covariates are centred as R centres them (a -1/0/1 column is not: ``nocenter``), so that
    rounding, and R's singularity decisions, match. Risk-set sums come from one ``reduceat`` and a
    reverse cumulative sum; the information's second moment is one weighted ``X' W X`` product.
    """

    def __init__(self, time: np.ndarray, event: np.ndarray, X: np.ndarray, ties: str) -> None:
        order = np.argsort(time, kind="stable")
        self.order = order
        self.t = time[order]
        self.d = event[order]
        xs = X[order]
        self.zero_one = ((xs == 0.0) | (xs == 1.0) | (xs == -1.0)).all(axis=0)
        self.x = xs - np.where(self.zero_one, 0.0, xs.mean(axis=0))
        self.p = X.shape[1]
        self.death = np.flatnonzero(self.d == 1)
        self.x_death = self.x[self.death]
        self.x_death_sum = self.x_death.sum(axis=0)
        td = self.t[self.death]
        new_time = np.ones(len(td), dtype=bool)
        new_time[1:] = td[1:] != td[:-1]
        self.gstart = np.flatnonzero(new_time)  # first death of each time
        self.dcount = np.diff(self.gstart, append=len(self.death))
        self.ngroups = len(self.gstart)
        utimes = td[self.gstart]
        self.rstart = np.searchsorted(self.t, utimes, side="left")  # risk set R(t): time >= t
        self.efron = ties == "efron"
        if self.efron:
            # One term per death: the m-th of d tied deaths (m = 0..d-1) removes m/d of them.
            self.term_group = self.death_group
            m = np.arange(len(self.death)) - np.repeat(self.gstart, self.dcount)
            self.frac = m / np.repeat(self.dcount, self.dcount).astype(float)
            self.term_weight = np.ones(len(self.death))
        else:
            # One term per distinct event time, weighted by its number of deaths.
            self.term_group = np.arange(self.ngroups)
            self.frac = np.zeros(self.ngroups)
            self.term_weight = self.dcount.astype(float)
        # Small Breslow fits (bootstrap refits): 1, x and the products x_j x_k side by side, and the
        # risk sets as a 0/1 matrix, so that one matrix product gives every risk-set sum.
        n, p = self.x.shape
        self.z = None
        if not self.efron and n * (1 + p + p * p) <= _SMALL_CELLS and n * self.ngroups <= _SMALL_CELLS:
            self.z = np.hstack([np.ones((n, 1)), self.x, (self.x[:, :, None] * self.x[:, None, :]).reshape(n, p * p)])
            self.at_risk = (np.arange(n) >= self.rstart[:, None]).astype(float)

    @functools.cached_property
    def row_group(self) -> np.ndarray:
        """Last event time whose risk set holds each row (-1: none, the row ends before any death)."""
        return np.searchsorted(self.rstart, np.arange(len(self.t)), side="right") - 1

    @functools.cached_property
    def death_group(self) -> np.ndarray:
        """Event time (group) of each death."""
        return np.repeat(np.arange(self.ngroups), self.dcount)

    def _revsum(self, w: np.ndarray) -> np.ndarray:
        seg = np.add.reduceat(w, self.rstart, axis=0)
        return np.cumsum(seg[::-1], axis=0)[::-1]

    def state(self, beta: np.ndarray) -> dict[str, Any]:
        """Risk-set sums at ``beta`` and the log partial likelihood."""
        eta = self.x @ beta
        shift = eta.max()
        r = np.exp(eta - shift)  # the partial likelihood is invariant to the shift
        rx = r[:, None] * self.x
        s0 = self._revsum(r)
        s1 = self._revsum(rx)
        rd = r[self.death]
        g = self.term_group
        if self.efron:
            d0 = np.add.reduceat(rd, self.gstart)
            d1 = np.add.reduceat(rx[self.death], self.gstart, axis=0)
            den = s0[g] - self.frac * d0[g]
        else:  # Breslow: no tied deaths are removed (the Efron terms are exactly zero)
            d1 = None
            den = s0[g]
        # (floating-point warnings are silenced by the callers: _fit_core, test_proportional_hazards)
        loglik = float(eta[self.death].sum() - shift * len(self.death) - self.term_weight @ np.log(den))
        return {"r": r, "rd": rd, "s1": s1, "d1": d1, "den": den, "loglik": loglik}

    def moments(self, st: dict[str, Any], h: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``sum_e h_e w_e a_e`` and ``sum_e h_e w_e V_e`` over the likelihood terms ``e``.

        ``a_e`` is the risk-set mean of x and ``V_e`` its covariance (Efron: with the tied deaths
        partly removed); ``w_e`` the term's weight. With ``h = 1`` these give the score
        (``sum x_death - first``) and the information (``second``).
        """
        g, den = self.term_group, st["den"]
        wh = self.term_weight if h is None else self.term_weight * h
        ng = self.ngroups
        c1 = np.bincount(g, wh / den, minlength=ng)
        q0 = np.bincount(g, wh / den**2, minlength=ng)
        s1 = st["s1"]
        cum = np.zeros(ng + 1)
        np.cumsum(c1, out=cum[:ng])  # index -1 -> 0
        wrow = st["r"] * cum[self.row_group]
        first = c1 @ s1
        m2 = (self.x * wrow[:, None]).T @ self.x
        aa = (s1 * q0[:, None]).T @ s1
        if self.efron:
            first, m2, aa = self._efron_moments(st, wh, first, m2, aa)
        second = m2 - aa
        return first, (second + second.T) / 2.0

    def _efron_moments(
        self, st: dict[str, Any], wh: np.ndarray, first: np.ndarray, m2: np.ndarray, aa: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The Efron parts of :meth:`moments`: tied deaths partly removed from the risk set."""
        g, f, den, ng, s1, d1 = self.term_group, self.frac, st["den"], self.ngroups, st["s1"], st["d1"]
        c2 = np.bincount(g, wh * f / den, minlength=ng)
        q1 = np.bincount(g, wh * f / den**2, minlength=ng)
        q2 = np.bincount(g, wh * f * f / den**2, minlength=ng)
        first = first - c2 @ d1
        wd = st["rd"] * c2[self.death_group]
        m2 = m2 - (self.x_death * wd[:, None]).T @ self.x_death
        cross = (s1 * q1[:, None]).T @ d1
        aa = aa - cross - cross.T + (d1 * q2[:, None]).T @ d1
        return first, m2, aa

    def loglik_score_info(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        if self.z is not None:
            return self._small_breslow(beta)
        st = self.state(beta)
        first, info = self.moments(st)
        return st["loglik"], self.x_death_sum - first, info


    def _small_breslow(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """:meth:`loglik_score_info` for Breslow ties in few numpy calls (same sums, same order)."""
        p = self.p
        eta = self.x @ beta
        shift = eta.max()
        r = np.exp(eta - shift)
        sums = (self.at_risk * r) @ self.z
        s0, s1 = sums[:, 0], sums[:, 1:p + 1]
        c1 = self.term_weight / s0
        loglik = float(self.x_death_sum @ beta - shift * len(self.death) - self.term_weight @ np.log(s0))
        weighted = c1 @ sums  # (sum of weights, first moments, second moments), one product
        second = weighted[p + 1:].reshape(p, p) - (s1 * (c1 / s0)[:, None]).T @ s1  # symmetric up to rounding
        return loglik, self.x_death_sum - weighted[1:p + 1], second


_SMALL_CELLS = 40_000  # rows x (1 + p + p^2) and rows x event times up to which the Breslow sums are
# taken by one matrix product (bootstrap refits of a registry of a few hundred patients)
_TOLER_CHOL = float(np.finfo(float).eps) ** 0.75  # R's coxph.control toler.chol


class _Factor:
    """R's ``cholesky2`` of a (scaled) information matrix, with its ``chsolve2`` and ``chinv2``.

    A pivot below ``toler.chol`` times the largest diagonal marks a column R treats as singular:
    constant within every risk set (e.g. a level whose patients are all censored before the first
    death), a linear combination of earlier columns there, or a coefficient so large that its
    information vanished. R gives such a column a zero Newton step and, at the estimate, NA.
    When every pivot passes (the usual case) LAPACK's Cholesky decides it and numpy solves;
    otherwise R's routines run as written (``survival/src/cholesky2.c``, ``chsolve2.c``,
    ``chinv2.c``), because LAPACK has no rank-revealing variant with R's tolerance and layout.
    """

    def __init__(self, a: np.ndarray) -> None:
        self.a = a
        p = len(a)
        diag = a.diagonal()
        top = float(diag.max()) if p else 0.0
        if not np.isfinite(top):
            top = float(np.max(diag, initial=0.0, where=np.isfinite(diag)))
        self.eps = _TOLER_CHOL if top <= 0 else top * _TOLER_CHOL
        self.m: np.ndarray | None = None
        self.singular = np.zeros(p, dtype=bool)
        self.flag = p
        if p:
            self.lower, info = lapack.dpotrf(a, lower=1)
            if info == 0 and self.lower.diagonal().min() ** 2 >= self.eps:  # NaN fails: R's routine
                return
        if p:
            self._cholesky2()

    def _cholesky2(self) -> None:
        # R's loop as written, on Python floats (faster than numpy for the few columns of a model).
        a = self.a.tolist()
        p, eps = len(a), self.eps
        m = [[a[min(i, j)][max(i, j)] for j in range(p)] for i in range(p)]  # R copies upper to lower
        nonneg, rank = 1, 0
        for i in range(p):
            pivot = m[i][i]
            if not math.isfinite(pivot) or pivot < eps:
                m[i][i] = 0.0
                self.singular[i] = True
                nonneg = -1 if pivot < -8 * eps else nonneg
                continue
            rank += 1
            for j in range(i + 1, p):
                temp = m[j][i] / pivot
                m[j][i] = temp
                m[j][j] -= temp * temp * pivot
                for k in range(j + 1, p):
                    m[k][j] -= temp * m[k][i]
        self.rows, self.m, self.flag = m, np.array(m), rank * nonneg

    def solve(self, y: np.ndarray) -> np.ndarray:
        """``chsolve2``: the Newton step, zero for singular columns."""
        if self.m is None:
            return lapack.dpotrs(self.lower, y, lower=1)[0]
        m, y, p = self.rows, y.tolist(), len(y)
        for i in range(p):
            temp = y[i]
            for j in range(i):
                temp -= y[j] * m[i][j]
            y[i] = temp
        for i in range(p - 1, -1, -1):
            if m[i][i] == 0:
                y[i] = 0.0
                continue
            temp = y[i] / m[i][i]
            for j in range(i + 1, p):
                temp -= y[j] * m[j][i]
            y[i] = temp
        return np.array(y)

    def inverse(self) -> np.ndarray:
        """``chinv2``: the inverse, with zero rows and columns for singular columns."""
        if self.m is None:
            inv = lapack.dpotrs(self.lower, np.eye(len(self.a)), lower=1)[0]
            return (inv + inv.T) / 2.0
        m, p = self.m.copy(), len(self.m)
        for i in range(p):
            if m[i, i] > 0:
                m[i, i] = 1.0 / m[i, i]
                for j in range(i + 1, p):
                    m[j, i] = -m[j, i]
                    m[j, :i] += m[j, i] * m[i, :i]
        for i in range(p):
            if m[i, i] == 0:
                m[:i, i] = 0.0
                m[i, i:] = 0.0
                continue
            for j in range(i + 1, p):
                temp = m[j, i] * m[j, j]
                m[i, j] = temp
                m[i, i:j] += temp * m[j, i:j]
        upper = np.triu(m)
        return upper + np.triu(m, 1).T


@dataclass(frozen=True)
class _Newton:
    """What R's ``coxfit6`` returns (on the original scale of the centred covariates)."""

    beta: np.ndarray
    loglik: float
    loglik_null: float
    score: np.ndarray
    variance: np.ndarray
    singular: np.ndarray  # at the estimate (R: which.sing)
    singular_at_zero: np.ndarray
    info_at_zero: np.ndarray  # diagonal of the information at beta = 0
    flag: int  # rank, -2 when the last step was halved, 1000 when out of iterations
    iterations: int


def _coxfit6(rs: _RiskSets) -> _Newton:
    """Maximise the partial likelihood exactly as R's ``coxfit6`` (survival 3.x) does.

    Newton-Raphson from ``beta = 0`` on the centred covariates scaled by ``1 / mean|x|`` (a
    -1/0/1 column neither centred nor scaled, R's ``nocenter``); a step
    that lowers the log-likelihood (or overflows) is pulled back towards the last good point
    (``(new + h * old) / (h + 1)`` at the ``h``-th try); convergence when the log-likelihood
    changes by a relative ``eps = 1e-9`` (``coxph.control``), at most ``iter.max = 20``
    iterations. R returns the last iterate (not a polished maximum), so matching its rule
    matches its numbers to rounding. Out of iterations, R returns the last good point with a
    variance of ``1 / diag(information)`` (its ``chinv2`` then runs on an undecomposed matrix);
    so does this.
    """
    p = rs.p
    sc = np.mean(np.abs(rs.x), axis=0)
    sc = np.where((sc > 0) & ~rs.zero_one, 1.0 / np.where(sc > 0, sc, 1.0), 1.0)
    outer = np.outer(sc, sc)
    beta = np.zeros(p)
    ll0, u, info = rs.loglik_score_info(beta)
    fac = _Factor(info * outer)
    at_zero, info0 = fac.singular.copy(), np.diag(info).copy()
    if p == 0:  # every term aliased, or none: the null model, as R reports it
        return _Newton(beta=beta, loglik=ll0, loglik_null=ll0, score=u, variance=np.zeros((0, 0)), singular=at_zero,
                       singular_at_zero=at_zero, info_at_zero=info0, flag=0, iterations=0)
    best, halving = ll0, 0
    newbeta = beta + sc * fac.solve(sc * u)
    scaled = bool((sc != 1.0).any())  # all -1/0/1 columns: nothing to scale
    for it in range(1, _MAX_ITER + 1):
        newlk, u, info = rs.loglik_score_info(newbeta)
        fac = _Factor(info * outer if scaled else info)
        finite = np.isfinite(newlk + u.sum() + info.sum())  # NaN and inf propagate through the sums
        if finite and abs(1.0 - best / newlk) <= _EPS:
            return _Newton(beta=newbeta, loglik=newlk, loglik_null=ll0, score=u, variance=fac.inverse() * outer,
                           singular=fac.singular, singular_at_zero=at_zero, info_at_zero=info0, flag=-2 if halving else fac.flag,
                           iterations=it)
        if not finite or newlk < best:
            halving += 1
            newbeta = (newbeta + halving * beta) / (halving + 1.0)
        else:
            halving, best = 0, newlk
            beta, newbeta = newbeta, newbeta + (sc * fac.solve(sc * u) if scaled else fac.solve(u))
    ll, u, info = rs.loglik_score_info(beta)
    d = np.diag(info)
    var = np.diag(np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0))
    return _Newton(beta=beta, loglik=ll, loglik_null=ll0, score=u, variance=var, singular=np.zeros(p, dtype=bool),
                   singular_at_zero=at_zero, info_at_zero=info0, flag=1000, iterations=_MAX_ITER)


_ALIAS_REASONS = {
    "data": "takes a single value in every analysed row",
    "risk": "constant within every risk set, e.g. all its patients censored before the first event",
    "combination": "a linear combination of other terms within the risk sets",
}


def _alias_message(names: Sequence[str], kinds: Sequence[str]) -> str:
    why = [f"{n!r} ({_ALIAS_REASONS[k]})" for n, k in zip(names, kinds, strict=True)]
    return (
        f"term(s) {', '.join(why)} cannot be estimated from the risk sets: coefficient NA, as R's coxph "
        "reports; the remaining terms are fitted without them and the LR test has fewer degrees of freedom"
    )


# ---- Concordance (R's concordance for a coxph fit) ---------------------------------------------------


def _count_below(haystack: np.ndarray, needles: np.ndarray) -> tuple[int, int]:
    """``sum over x in needles of #{h < x}`` and ``#{h <= x}`` (non-negative int64 keys < 2**60).

    One sort of the tagged union instead of two binary searches per needle (several times
    faster in numpy): at equal keys the needles sort first, so the running count of haystack
    entries at a needle counts those strictly below it; ``x + 1`` gives ``<= x``.
    """
    entries = np.concatenate((haystack * 4 + 2, needles * 4, (needles + 1) * 4 + 1))
    entries.sort()
    tag = entries & 3
    below = np.cumsum(tag == 2)
    return int(below[tag == 0].sum()), int(below[tag == 1].sum())


def _count_smaller_later(group: np.ndarray, values: np.ndarray, query: np.ndarray) -> tuple[int, int]:
    """Sum over query rows i of ``#{j: g_j > g_i, v_j < v_i}`` and of ``#{j: g_j > g_i, v_j <= v_i}``.

    ``group`` and ``values`` hold non-negative integers (here: ranks of the observed time and of
    the linear predictor). Bottom-up merge counting over the group index: at level k the groups
    form blocks of ``2**k`` consecutive groups; each query in an even block counts the values in
    the next block below it (:func:`_count_below` on ``value + (pair << shift)`` keys); then
    the blocks double. ``O(n log n log G)`` for G groups, no loop over rows.
    """
    g = np.asarray(group, dtype=np.int64)
    v = np.asarray(values, dtype=np.int64)
    query = np.asarray(query, dtype=bool)
    if len(v) < 2 or not query.any():
        return 0, 0
    shift = int(v.max() + 2).bit_length()
    qv, qg = v[query], g[query]
    less = less_eq = 0
    for k in range(int(g.max()).bit_length()):
        block = g >> k
        right = (block & 1).astype(bool)
        qblock = qg >> k
        left = (qblock & 1) == 0
        # value + (pair << shift): the rows of each odd block, and the queries of the even block
        # before it, share the pair index; earlier pairs sort below, later pairs above.
        rkeys = v[right] + ((block[right] >> 1) << shift)
        ql = qv[left] + ((qblock[left] >> 1) << shift)
        # Right-block rows of earlier pairs sit below every query of a later pair: subtract them.
        pair_count = np.bincount(block[right] >> 1, minlength=int(block.max() >> 1) + 1)
        before = np.concatenate(([0], np.cumsum(pair_count)))
        base = int(before[qblock[left] >> 1].sum())
        lt, le = _count_below(rkeys, ql)
        less += lt - base
        less_eq += le - base
    return less, less_eq


_DENSE_PAIRS = 100_000  # events x rows below which the pairs are simply enumerated


def _concordance_dense(time: np.ndarray, is_event: np.ndarray, lp: np.ndarray) -> float:
    """:func:`_concordance` by enumerating (event, row) pairs: faster for small samples."""
    te, le = time[is_event][:, None], lp[is_event][:, None]
    comparable = (te < time) | ((te == time) & ~is_event)
    diff = le - lp
    total = int(np.count_nonzero(comparable))
    concordant = int(np.count_nonzero(comparable & (diff > 0)))
    tied = int(np.count_nonzero(comparable & (diff == 0)))
    return (concordant + tied / 2.0) / total if total else float("nan")


def _concordance(time: np.ndarray, event: np.ndarray, lp: np.ndarray) -> float:
    """Harrell's C as R's ``coxph`` reports it (survival 3.x ``concordancefit``, ``reverse=TRUE``).

    A pair is comparable when the shorter time is an event; a censored time equal to an event
    time counts as the longer one; two events at the same time are not compared (``tied.y``).
    Concordant: the earlier event has the larger linear predictor. Ties in the predictor count
    one half: ``C = (concordant + tied_x / 2) / (concordant + discordant + tied_x)``.
    Pairs across different times are counted by :func:`_count_smaller_later` (O(n log^2 n)),
    pairs of an event and a censored time at the same time by one sort, so this scales to
    registry size.
    """
    is_event = np.asarray(event) == 1
    if len(time) * int(is_event.sum()) <= _DENSE_PAIRS:
        return _concordance_dense(time, is_event, lp)
    _, rank = np.unique(lp, return_inverse=True)
    _, trank = np.unique(time, return_inverse=True)
    rank = rank.astype(np.int64).ravel()
    trank = trank.astype(np.int64).ravel()
    # Events against every row with a later time.
    less, less_eq = _count_smaller_later(trank, rank, is_event)
    # Events against censored rows at the same time.
    shift = int(rank.max() + 2).bit_length()
    censored = rank[~is_event] + (trank[~is_event] << shift)
    lt, le = _count_below(censored, rank[is_event] + (trank[is_event] << shift))
    _, upto = _count_below(censored, (trank[is_event] << shift) - 1)  # censored at earlier times
    less += lt - upto
    less_eq += le - upto
    same_time_censored = _count_below(censored, ((trank[is_event] + 1) << shift) - 1)[1] - upto
    # Comparable pairs: rows with a later time, and censored rows at the same time.
    later = len(trank) - np.cumsum(np.bincount(trank))  # rows with a larger time rank
    comparable = int(later[trank[is_event]].sum()) + same_time_censored
    concordant = less
    tied_x = less_eq - less
    discordant = comparable - concordant - tied_x
    denom = concordant + discordant + tied_x
    return float((concordant + tied_x / 2.0) / denom) if denom > 0 else float("nan")


# ---- fit_cox -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CoxCore:
    """One maximised partial likelihood: what :func:`fit_cox` and the lean refits share."""

    coef: np.ndarray  # one per design column; NaN for aliased columns
    variance: np.ndarray
    flags: tuple[str, ...]
    messages: tuple[str, ...]
    loglik: float
    loglik_null: float
    p_fit: int  # coefficients estimated (design columns minus aliased ones)
    events: int
    converged: bool
    iterations: int
    lp: np.ndarray  # linear predictor in input row order, centred as R's
    time: np.ndarray  # times after timefix

    def lr_test(self) -> LRTest:
        lr = max(2.0 * (self.loglik - self.loglik_null), 0.0)
        p_value = float(special.chdtrc(self.p_fit, lr)) if self.p_fit else 1.0  # R: df 0, p 1
        return LRTest(statistic=lr, dof=self.p_fit, p_value=p_value)


def _fit_core(
    t: np.ndarray, e: np.ndarray, X: np.ndarray, names: Sequence[str], ties: str, timefix: bool
) -> _CoxCore:
    """Timefix, aliasing check, Newton-Raphson, variance and flags on a ready design.

    Floating-point warnings are silenced here: steps towards an infinite coefficient overflow
    by design, and what that means reaches the user as a flag and a :class:`CoxWarning`.
    """
    with np.errstate(all="ignore"):
        return _fit_core_unguarded(t, e, X, names, ties, timefix)


def _fit_core_unguarded(
    t: np.ndarray, e: np.ndarray, X: np.ndarray, names: Sequence[str], ties: str, timefix: bool
) -> _CoxCore:
    if timefix:
        t = _aeq_times(t)
    rs = _RiskSets(t, e, X, ties)
    fit = _coxfit6(rs)
    converged = fit.flag != 1000
    na = fit.singular if converged and fit.flag < rs.p else np.zeros(rs.p, dtype=bool)
    flags, msgs = _na_flags(X, rs, fit, na, names)
    p_fit = int((~na).sum())
    n_events = int(e.sum())
    if p_fit and n_events / p_fit < MIN_EVENTS_PER_PARAMETER:
        msgs.append(f"only {n_events / p_fit:.1f} events per parameter ({n_events} events, {p_fit} coefficients; "
                    f"rule of thumb: at least {MIN_EVENTS_PER_PARAMETER:g}): coefficients may be biased (in either "
                    "direction) and confidence intervals may not cover at their nominal rate (Peduzzi et al. 1995); "
                    "for a model meant to predict, size it by Riley et al.'s criteria (BMJ 2020)")
    if converged:
        _infinite_flags(fit, na, names, flags, msgs)
    else:
        msgs.append(f"the Newton-Raphson iterations did not converge in {fit.iterations} steps (R's iter.max); "
                    "estimates are unreliable (R: 'Ran out of iterations and did not converge')")
        flags = [f or "did not converge" for f in flags]
    lp = np.empty(len(t))
    lp[rs.order] = rs.x @ fit.beta  # as R: the linear predictor keeps a coefficient later set to NA
    beta = np.where(na, np.nan, fit.beta)
    var = fit.variance.copy()
    var[na, :] = np.nan
    var[:, na] = np.nan
    return _CoxCore(beta, var, tuple(flags), tuple(msgs), fit.loglik, fit.loglik_null, p_fit, n_events,
                    converged, fit.iterations, lp, t)


def _na_flags(X: np.ndarray, rs: _RiskSets, fit: _Newton, na: np.ndarray, names: Sequence[str]
              ) -> tuple[list[str], list[str]]:
    """Flags and the message for terms R reports as NA (singular at the estimate)."""
    flags = [""] * rs.p
    msgs: list[str] = []
    if not na.any():
        return flags, msgs
    aliased = na & fit.singular_at_zero
    if aliased.any():
        flat = np.ptp(X[:, aliased], axis=0) == 0
        constant = fit.info_at_zero[aliased] <= _TOLER_CHOL * np.abs(rs.x[:, aliased]).sum(axis=0)
        kinds = np.where(flat, "data", np.where(constant, "risk", "combination"))
        msgs.append(_alias_message([names[j] for j in np.flatnonzero(aliased)], list(kinds)))
        for j in np.flatnonzero(aliased):
            flags[j] = "not identifiable from the risk sets (aliased): coefficient NA"
    gone = na & ~fit.singular_at_zero
    if gone.any():
        msgs.append(
            f"term(s) {[names[j] for j in np.flatnonzero(gone)]}: the coefficient ran off towards infinity until its "
            "information vanished (monotone likelihood, e.g. every patient in one level has the event before "
            "anyone in the other); coefficient NA, as R's coxph reports ('X matrix deemed to be singular')"
        )
        for j in np.flatnonzero(gone):
            flags[j] = "coefficient infinite (monotone likelihood): NA"
    return flags, msgs


def _infinite_flags(fit: _Newton, na: np.ndarray, names: Sequence[str], flags: list[str], msgs: list[str]) -> None:
    """R's check (coxph.fit): would one more Newton step still move the coefficient?"""
    step = np.abs(fit.score @ fit.variance)
    inf = ~np.isfinite(fit.score) | ((step > _EPS) & (step > _INF_TOL * np.abs(fit.beta)))
    inf &= ~na
    for j in np.flatnonzero(inf):
        flags[j] = "coefficient may be infinite (monotone likelihood / separation)"
    if inf.any():
        msgs.append(
            f"the log-likelihood converged before term(s) {[names[j] for j in np.flatnonzero(inf)]}: "
            "the coefficient(s) may be infinite (monotone likelihood, e.g. every patient in one level has "
            "the event before anyone in the other); their hazard ratios and intervals are not estimates "
            "-- merge levels or drop the term. (R's coxph warns the same; its check also fires for a "
            "coefficient close to 0 that still moved by more than 1e-9 at convergence, which a moderate "
            "standard error then shows to be finite.)"
        )


def _wald_table(term_info: list[dict[str, Any]], core: _CoxCore, alpha: float) -> pd.DataFrame:
    """The Wald table of :func:`fit_cox`: one row per term (NA terms: NaN, flagged)."""
    se, z, p_value = _wald(core.coef, core.variance)
    zcrit = stats.norm.isf(alpha / 2.0)
    with np.errstate(over="ignore", invalid="ignore"):
        return pd.DataFrame(term_info).assign(
            coef=core.coef, se=se, hr=np.exp(core.coef), ci_low=np.exp(core.coef - zcrit * se),
            ci_high=np.exp(core.coef + zcrit * se), z=z, p_value=p_value, flag=list(core.flags))


def _wald(beta: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standard errors, Wald z and two-sided p (NaN for aliased terms); ``ndtr`` is ``norm.sf``'s core."""
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.diag(var))
        z = beta / se
    return se, z, 2.0 * special.ndtr(-np.abs(z))


def fit_cox(
    df: pd.DataFrame, time: str, event: str, covariates: Sequence[str], *, ties: str = "efron",
    categorical: Mapping[str, Any] | None = None, alpha: float = 0.05, id_column: str | None = None,
    timefix: bool = True,
) -> CoxResult:
    """Fit a Cox proportional-hazards model, matching R's ``coxph`` (Newton-Raphson, Wald table).

    Parameters
    ----------
    time, event
        Follow-up time (finite, >= 0) and event indicator (1 = event, 0 = censored).
    covariates
        Numeric or boolean columns as they are; a column in ``categorical`` (column -> reference
        level) as one 0/1 dummy ``column[level]`` per other level.
    ties
        ``"efron"`` (R's default) or ``"breslow"`` (SPSS, the paper).
    id_column
        Patient ids to name rows in messages (index labels otherwise).
    timefix
        Merge times equal within ``sqrt(machine eps)`` first, as R's ``timefix=TRUE``.

    Raises ``KeyError`` (absent column), ``TypeError`` (text covariate without a reference level),
    ``ValueError`` (bad times or events, absent reference, single-level factor, no events).
    Warns (:class:`CoxWarning`, also in ``.warnings``): rows dropped for missing values (named),
    fewer than 10 events per parameter, no convergence in 20 iterations, a coefficient running off
    to infinity, a term not identifiable (NA and flagged, as R reports it).

    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"t": rng.exponential(10, 200), "e": rng.integers(0, 2, 200),
    ...                   "age": rng.normal(60, 10, 200), "arm": rng.choice(["a", "b"], 200)})
    >>> res = fit_cox(d, "t", "e", ["age", "arm"], ties="breslow", categorical={"arm": "a"})
    >>> list(res.table["term"])
    ['age', 'arm[b]']
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, found {ties!r}")
    alpha = _check_alpha(alpha)
    t, e, design, groups, term_info, dropped, msgs = _build_design(
        df, time, event, covariates, dict(categorical or {}), id_column, strict=False)
    core = _fit_core(t, e, design.to_numpy(dtype=float), list(design.columns), ties, timefix)
    msgs.extend(core.messages)
    t = core.time
    table = _wald_table(term_info, core, alpha)
    warn_tuple = tuple(msgs)
    table.attrs["warnings"], table.attrs["ties"] = list(warn_tuple), ties
    for m in warn_tuple:
        warnings.warn(m, CoxWarning, stacklevel=2)
    return CoxResult(table=table, n=len(t), events=core.events, log_likelihood=core.loglik,
                     log_likelihood_null=core.loglik_null, lr_test=core.lr_test(),
                     concordance=_concordance(t, e.astype(np.int64), core.lp),
                     events_per_parameter=core.events / core.p_fit if core.p_fit else float("inf"),
                     n_dropped_missing=len(dropped), dropped_rows=tuple(dropped), warnings=warn_tuple, ties=ties,
                     alpha=alpha, converged=core.converged, iterations=core.iterations, term_groups=dict(groups),
                     time=t, event=e.astype(np.int64), design=design, coef=core.coef, variance=core.variance)


# ---- Proportional hazards: R's cox.zph (survival >= 3.0) ---------------------------------------------


def _km_left(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """``1 - S(t-)``: one minus the left-continuous Kaplan-Meier estimate at each row's time."""
    ut, inv = np.unique(time, return_inverse=True)
    deaths = np.bincount(inv, weights=event, minlength=len(ut))
    count = np.bincount(inv, minlength=len(ut))
    at_risk = np.cumsum(count[::-1])[::-1]
    surv = np.cumprod(1.0 - deaths / at_risk)
    before = np.r_[1.0, surv[:-1]]
    return 1.0 - before[inv]


def test_proportional_hazards(result: CoxResult, transform: str = "km") -> pd.DataFrame:
    """Score test of proportional hazards, as R's ``cox.zph`` (survival >= 3.0).

    Per covariate: the score test of ``gamma = 0`` in ``beta + gamma * g(t)`` at the fitted ``beta``,
    with the full ``2p x 2p`` information (R's ``zph1.c``). Hand-written because lifelines'
    ``proportional_hazard_test`` uses the pre-3.0 approximation, which can differ from R by large
    factors. A factor's dummies are pooled into one test; ``GLOBAL`` tests all terms jointly.

    ``transform`` is ``g(t)``: ``"km"`` (1 - left-continuous KM; R's default), ``"rank"`` or
    ``"identity"``, centred at its mean over the events. Returns ``term, statistic, dof,
    p_value``, one row per covariate and a last ``GLOBAL`` row.

    >>> rng = np.random.default_rng(2)
    >>> d = pd.DataFrame({"t": rng.exponential(5, 150), "e": rng.integers(0, 2, 150), "x": rng.normal(size=150)})
    >>> test_proportional_hazards(fit_cox(d, "t", "e", ["x"]), "km")["term"].tolist()
    ['x', 'GLOBAL']
    """
    if transform not in ZPH_TRANSFORMS:
        raise ValueError(f"transform must be one of {ZPH_TRANSFORMS}, found {transform!r}")
    if not isinstance(result, CoxResult):
        raise TypeError(f"result must be a CoxResult from fit_cox, found {type(result).__name__}")
    t, e = result.time, result.event
    if transform == "km":
        g = _km_left(t, e.astype(float))
    elif transform == "rank":
        g = stats.rankdata(t, method="average")
    else:
        g = t.astype(float)
    g = g - g[e == 1].mean()

    fitted = ~np.isnan(result.coef)  # aliased terms (NA) are left out, as R's cox.zph does
    X = result.design.to_numpy(dtype=float)[:, fitted]
    with np.errstate(all="ignore"):
        return _zph_table(result, fitted, g, t, e, X)


def _zph_table(result: CoxResult, fitted: np.ndarray, g: np.ndarray, t: np.ndarray, e: np.ndarray,
               X: np.ndarray) -> pd.DataFrame:
    """The score tests of :func:`test_proportional_hazards` on the fitted (non-aliased) columns."""
    rs = _RiskSets(t, e, X, result.ties)
    p = rs.p
    beta = np.where(np.isfinite(result.coef[fitted]), result.coef[fitted], 0.0)
    st = rs.state(beta)
    # g(t) of each likelihood term's event time (constant within tied times).
    g_sorted = g[rs.order]
    g_dead = g_sorted[rs.death]
    gt = g_dead[rs.gstart][rs.term_group]
    _, i11 = rs.moments(st)
    first_g, i12 = rs.moments(st, gt)
    _, i22 = rs.moments(st, gt * gt)
    # Score for gamma: sum over deaths of g(t) (x - xbar(t)). The score for beta is ~0 at the
    # estimate and R's cox.zph replaces it by zeros; so does this.
    u2 = g_dead @ rs.x_death - first_g
    imat = np.block([[i11, i12], [i12.T, i22]])
    u = np.r_[np.zeros(p), u2]

    cols = list(result.design.columns[fitted])
    rows = []
    for name, members in result.term_groups.items():
        jj = [cols.index(m) for m in members if m in cols]
        if not jj:
            continue
        kk = list(range(p)) + [p + j for j in jj]
        uk = np.r_[np.zeros(p), u2[jj]]
        stat = float(uk @ np.linalg.solve(imat[np.ix_(kk, kk)], uk))
        rows.append((name, stat, len(jj), float(stats.chi2.sf(stat, len(jj)))))
    stat = float(u @ np.linalg.solve(imat, u))
    rows.append(("GLOBAL", stat, p, float(stats.chi2.sf(stat, p))))
    return pd.DataFrame(rows, columns=["term", "statistic", "dof", "p_value"])


# Not a pytest test, although its name starts with "test_" (it is the statistical test).
test_proportional_hazards.__test__ = False  # type: ignore[attr-defined]


def ph_verdict(ph_test: pd.DataFrame, alpha: float = 0.05) -> str:
    """The proportional-hazards conclusion in words, from a :func:`test_proportional_hazards` table.

    "no evidence against proportional hazards ..." when GLOBAL and every term have ``p >= alpha``;
    otherwise "proportional hazards are rejected ...", naming the terms with ``p < alpha``.
    """
    _check_alpha(alpha)
    terms = ph_test[ph_test["term"] != "GLOBAL"]
    rejected = terms.loc[terms["p_value"] < alpha, "term"].tolist()
    global_p = float(ph_test.set_index("term").loc["GLOBAL", "p_value"])
    if global_p >= alpha and not rejected:
        return (f"no evidence against proportional hazards at {alpha:g} (GLOBAL p = {global_p:.3f}; every term "
                f"p >= {alpha:g}), although with so few deaths the test has little power")
    return (f"proportional hazards are rejected at {alpha:g} (GLOBAL p = {global_p:.3f}"
            + (f"; terms: {', '.join(rejected)}" if rejected else "") + "): the hazard ratios above are averages "
            "over follow-up, not constant ratios of death rates, and must be read as such")
