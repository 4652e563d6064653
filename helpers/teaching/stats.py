"""Statistics the lessons need and no well-kept library provides in the form they need.

- :func:`permutation_logrank`: the log-rank test's exact permutation p-value for a two-group
  split. The chi-square approximation fails when a group expects a fraction of a death (a level
  of three patients can get p = 1e-10); lifelines and R's ``survdiff`` give only the asymptotic p.
- :func:`schoenfeld_residuals`: the scaled Schoenfeld residuals of a :class:`helpers.cox.CoxResult`
  as R's ``cox.zph`` (survival >= 3.0) returns them (``$y`` against ``$x``), to plot beside the
  proportional-hazards test; lifelines computes them only for its own fits.
- :func:`landmark_cohort` and :func:`competing_event_codes`: the data steps of a landmark
  analysis and of a competing-risks analysis (their estimators are lifelines').
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from helpers.cox import CoxResult, _km_left
from helpers.survival import (
    _aeq_times,
    _require_columns,
    _row_labels,
    _validate_time_event,
    factor_codes,
)

#: Largest number of relabellings :func:`permutation_logrank` enumerates; beyond it, Monte Carlo.
MAX_EXACT: int = 200_000


@dataclass(frozen=True)
class PermutationLogRank:
    """The log-rank test of a two-group split, asymptotic and by permutation.

    ``group`` is the smaller group (by patients); ``observed``/``expected`` its deaths. ``exact``:
    every relabelling was enumerated; otherwise ``n_permutations`` random ones, with ``mc_se``
    the Monte-Carlo standard error of ``p_permutation``.
    """

    group: str
    n_group: int
    observed: float
    expected: float
    statistic: float
    p_asymptotic: float
    p_permutation: float
    n_permutations: int
    exact: bool
    mc_se: float


def _logrank_parts(t: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-patient pieces of the two-group log-rank statistic, patients sorted by time.

    For a group G: ``O - E = sum_G (e_i - a_i)`` and ``V = sum_G b_i - sum_{i, j in G} c_min(i, j)``,
    with ``a`` the Nelson-Aalen estimate at each patient's time, ``b`` and ``c`` the cumulative
    sums of ``w / n`` (per patient) and ``w / n^2`` (per distinct time, indexed by ``rank``), with
    ``w = d (n - d) / (n - 1)``, the hypergeometric weight.
    """
    uniq, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=e, minlength=len(uniq))
    n = np.cumsum(np.bincount(inv, minlength=len(uniq))[::-1])[::-1].astype(float)
    w = np.where(n > 1, d * (n - d) / np.where(n > 1, n - 1, 1), 0.0)
    a, b = (np.cumsum(v)[inv] for v in (d / n, w / n))
    return a, b, np.cumsum(w / n**2), inv


def _chi_square(members: np.ndarray, e: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray,
                rank: np.ndarray) -> np.ndarray:
    """The log-rank chi-square of every row of ``members`` (indices of one group's patients)."""
    u = (e[members] - a[members]).sum(axis=1)
    r = rank[members]
    pair = np.minimum(r[:, :, None], r[:, None, :])
    v = b[members].sum(axis=1) - c[pair].sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v > 0, u * u / v, 0.0)


def permutation_logrank(df: pd.DataFrame, time: str, event: str, group: str, *, n_resamples: int = 20_000,
                        seed: int = 2022, id_column: str | None = None) -> PermutationLogRank:
    """Log-rank test of a two-level ``group`` column, with its exact permutation p-value.

    Conditional on the observed times and events, every way of choosing which patients form the
    smaller group is equally likely under the null; the p-value is the share of those choices whose
    chi-square is at least the observed one. All ``C(n, k)`` choices are enumerated when there are
    at most :data:`MAX_EXACT` (a level of 3 patients among 66: 45,760); otherwise ``n_resamples``
    random ones (seeded; ``p = (1 + hits) / (1 + n_resamples)``). Times are merged as R's
    ``timefix`` does, so the statistic equals :func:`helpers.survival.logrank`'s.

    >>> d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 1, 1, 0, 1, 0, 1, 0], "g": list("aabbbbbb")})
    >>> res = permutation_logrank(d, "t", "e", "g")
    >>> res.exact, res.n_permutations, round(res.p_permutation, 4)
    (True, 28, 0.0357)
    """
    t, e = _validate_time_event(df, time, event, id_column)
    _require_columns(df, [group])
    codes, levels = factor_codes(df[group])
    if (codes < 0).any():
        raise ValueError(f"column {group!r} has missing values in {_row_labels(df, codes < 0, id_column)}")
    sizes = np.bincount(codes, minlength=len(levels))
    if (sizes > 0).sum() != 2:
        raise ValueError(f"column {group!r} must have exactly two levels with patients, found "
                         f"{[str(lv) for lv, s in zip(levels, sizes, strict=True) if s > 0]}")
    small = int(np.flatnonzero(sizes > 0)[np.argmin(sizes[sizes > 0])])
    order = np.argsort(_aeq_times(t), kind="stable")
    t, e, in_group = _aeq_times(t)[order], e[order].astype(float), codes[order] == small
    a, b, c, rank = _logrank_parts(t, e)
    k, n = int(in_group.sum()), len(t)
    observed = _chi_square(np.flatnonzero(in_group)[None, :], e, a, b, c, rank)[0]
    total = math.comb(n, k)
    exact = total <= MAX_EXACT
    tol = observed * 1e-9 + 1e-12
    if exact:
        hits = sum(int((_chi_square(chunk, e, a, b, c, rank) >= observed - tol).sum())
                   for chunk in _chunks(combinations(range(n), k), k))
        p, count, se = hits / total, total, 0.0
    else:
        rng = np.random.default_rng(seed)
        hits = sum(int((_chi_square(rng.random((m, n)).argsort(axis=1)[:, :k], e, a, b, c, rank)
                        >= observed - tol).sum()) for m in _batches(n_resamples))
        p, count = (1 + hits) / (1 + n_resamples), n_resamples
        se = math.sqrt(p * (1 - p) / n_resamples)
    members = np.flatnonzero(in_group)
    return PermutationLogRank(str(levels[small]), k, float(e[members].sum()), float(a[members].sum()),
                              float(observed), float(stats.chi2.sf(observed, 1)), float(p), count, exact, se)


def _chunks(combos, k: int, size: int = 20_000):
    while True:
        block = np.fromiter((i for combo in _take(combos, size) for i in combo), dtype=np.intp)
        if not len(block):
            return
        yield block.reshape(-1, k)


def _take(iterator, size: int):
    for _, item in zip(range(size), iterator, strict=False):
        yield item


def _batches(total: int, size: int = 5_000):
    for start in range(0, total, size):
        yield min(size, total - start)


def sparse_level_tests(df: pd.DataFrame, time: str, event: str, factors: list[str], *,
                       max_expected: float = 5.0, n_resamples: int = 20_000, seed: int = 2022) -> pd.DataFrame:
    """Exact permutation p beside the asymptotic one for every two-level factor with a sparse level.

    A level is sparse when its expected deaths under the null are below ``max_expected``.
    Returns ``variable, level, n, observed, expected, p_asymptotic, p_permutation, exact``.

    >>> d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 1, 1, 0, 1, 0, 1, 0], "g": list("aabbbbbb")})
    >>> sparse_level_tests(d, "t", "e", ["g"])[["level", "n", "exact"]].values.tolist()
    [['a', 2, True]]
    """
    rows = []
    for factor in factors:
        if df[factor].nunique() != 2:
            continue
        res = permutation_logrank(df, time, event, factor, n_resamples=n_resamples, seed=seed)
        if res.expected < max_expected:
            rows.append((factor, res.group, res.n_group, res.observed, res.expected, res.p_asymptotic,
                         res.p_permutation, res.exact))
    return pd.DataFrame(rows, columns=["variable", "level", "n", "observed", "expected", "p_asymptotic",
                                       "p_permutation", "exact"])


def schoenfeld_residuals(result: CoxResult, transform: str = "km") -> pd.DataFrame:
    """Scaled Schoenfeld residuals of a Cox fit, as R's ``cox.zph(fit, transform)$y`` (survival >= 3.0).

    One row per death in time order: ``time``, ``transformed_time`` (R's ``x``: ``"km"``, 1 - the
    left-continuous Kaplan-Meier; ``"rank"``; ``"identity"``) and one column per fitted term,
    ``coef + deaths * (x_i - mean of the risk set) @ inverse information``. Under proportional
    hazards each column scatters around a flat line at the coefficient; a trend means the hazard
    ratio changes with time. Tied deaths use the fit's tie method (Efron: the average of the
    Efron-weighted risk-set means).

    >>> from helpers.cox import fit_cox
    >>> d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "e": [1, 1, 0, 1, 1, 0, 1, 1], "arm": [1, 0, 1, 1, 0, 0, 1, 0]})
    >>> list(schoenfeld_residuals(fit_cox(d, "t", "e", ["arm"])).columns)
    ['time', 'transformed_time', 'arm']
    """
    if not isinstance(result, CoxResult):
        raise TypeError(f"result must be a CoxResult from fit_cox, found {type(result).__name__}")
    fitted = ~np.isnan(result.coef)
    names = list(result.design.columns[fitted])
    X = result.design.to_numpy(dtype=float)[:, fitted]
    beta = result.coef[fitted]
    t, e = result.time, result.event.astype(float)
    order = np.argsort(t, kind="stable")
    t, e, X = t[order], e[order], X[order]
    r = np.exp(X @ beta - (X @ beta).max())
    deaths = np.flatnonzero(e == 1)
    means = np.empty((len(deaths), X.shape[1]))
    info = np.zeros((X.shape[1], X.shape[1]))
    for time_value in np.unique(t[deaths]):
        risk = t >= time_value
        tied = deaths[t[deaths] == time_value]
        s0, s1 = r[risk].sum(), r[risk] @ X[risk]
        s2 = (X[risk] * r[risk, None]).T @ X[risk]
        d0, d1 = r[tied].sum(), r[tied] @ X[tied]
        d2 = (X[tied] * r[tied, None]).T @ X[tied]
        fracs = np.arange(len(tied)) / len(tied) if result.ties == "efron" else np.zeros(len(tied))
        group_means = []
        for f in fracs:
            den = s0 - f * d0
            mean = (s1 - f * d1) / den
            info += (s2 - f * d2) / den - np.outer(mean, mean)
            group_means.append(mean)
        means[np.searchsorted(deaths, tied)] = np.mean(group_means, axis=0)
    scaled = beta + len(deaths) * (X[deaths] - means) @ np.linalg.inv(info)
    g = {"km": lambda: _km_left(t, e), "rank": lambda: stats.rankdata(t, method="average"),
         "identity": lambda: t.astype(float)}
    if transform not in g:
        raise ValueError(f"transform must be one of {tuple(g)}, found {transform!r}")
    return pd.DataFrame({"time": t[deaths], "transformed_time": g[transform]()[deaths],
                         **dict(zip(names, scaled.T, strict=True))})


def landmark_cohort(df: pd.DataFrame, time: str, event: str, landmark: float, *,
                    id_column: str | None = None) -> pd.DataFrame:
    """The patients still alive and followed beyond ``landmark``, with time restarted there.

    The remedy for immortal-time bias: a treatment given *after* time zero (chemotherapy after
    PM) can only be received by those who lived long enough to receive it, so comparing treated
    with untreated from time zero credits the treatment with that survival. From a landmark on,
    the groups are fixed and both start alive. Returns a copy with ``time - landmark`` in ``time``
    (rows with ``time <= landmark`` left out).

    >>> d = pd.DataFrame({"t": [2.0, 8.0, 30.0], "e": [1, 0, 1]})
    >>> landmark_cohort(d, "t", "e", 6)["t"].tolist()
    [2.0, 24.0]
    """
    t, _ = _validate_time_event(df, time, event, id_column)
    if not (isinstance(landmark, int | float) and math.isfinite(landmark) and landmark >= 0):
        raise ValueError(f"landmark must be a finite number >= 0, found {landmark!r}")
    kept = df.loc[t > landmark].copy()
    kept[time] = kept[time].astype(float) - float(landmark)
    return kept


#: Codes of :func:`competing_event_codes`.
EVENT_CODES: dict[int, str] = {0: "censored", 1: "death from sarcoma", 2: "death from another cause"}


def competing_event_codes(df: pd.DataFrame, *, status: str = "vital_status", cause: str = "cause_of_death",
                          unknown_as_sarcoma: bool = True) -> pd.Series:
    """Event type per patient for a competing-risks analysis: 0 censored, 1 sarcoma death, 2 other death.

    Deaths of unknown cause count as sarcoma deaths unless ``unknown_as_sarcoma`` is false (then
    as other deaths), the convention of ``schema.add_survival_columns``.

    >>> d = pd.DataFrame({"vital_status": ["alive", "dead", "dead"], "cause_of_death": [None, "sarcoma", "other"]})
    >>> competing_event_codes(d).tolist()
    [0, 1, 2]
    """
    _require_columns(df, [status, cause])
    dead = df[status].eq("dead")
    sarcoma = df[cause].isin(["sarcoma", "unknown"] if unknown_as_sarcoma else ["sarcoma"])
    unexplained = dead & df[cause].isna()
    if unexplained.any():
        raise ValueError(f"column {cause!r} is empty for dead patients in rows {df.index[unexplained].tolist()[:10]}")
    return pd.Series(np.where(dead, np.where(sarcoma, 1, 2), 0), index=df.index, name="event_type")
