"""Bootstrap validation of the whole modelling procedure (how far Table 3 can be trusted).

Reproduction toolkit (notebook 06). Harrell's bootstrap validation (R ``rms::validate`` with
``bw=TRUE``) repeats the *whole* procedure in every resample: here the paper's procedure, i.e. the
17-factor log-rank screen (Table 2), the entry rule ``p < alpha`` and the Cox fit (Table 3). The
model chosen and fitted on a resample is measured on that resample (training, "apparent") and on
the original data (test); their mean difference is the *optimism*, and
``corrected = apparent - optimism``.

Public functions:

- :func:`validate_procedure`: screen -> select -> Cox, bootstrapped.
- :func:`validate_model`: a fixed, pre-specified model (no screen), bootstrapped the same way.
- :func:`resample_indices`: the resample index matrix (one seed per resample, from
  ``numpy.random.SeedSequence(seed).spawn``), so results do not depend on the number of workers.
- :func:`model_frequency`: how often a given set of factors was exactly the model chosen.
- :func:`open_client` / :func:`close_client`: the dask engine (a local cluster or a scheduler),
  from :mod:`helpers.reproduction.cluster`.
- :func:`rcs_knots`, :func:`rcs_basis`, :func:`add_spline_terms`: restricted cubic splines as
  ``rms::rcs`` places and evaluates them, for the pre-specified alternative.

No Python package offers ``rms::validate`` with variable selection, so the loop is written here;
its per-resample numbers are checked against R's ``survdiff``, ``coxph`` and ``concordance`` run on
the same index matrix (``tests/r_reference/validation_reference.R``). Each resample goes through
one small interface, :meth:`_Design.evaluate` (row indices in, measures out). The Cox fits are the
public lean refit of :func:`helpers.cox.fit_cox` (:func:`helpers.reproduction.refit.prepare_cox` once, then
``CoxDesign.refit(rows, terms=...)`` per resample, with the columns the resample selected); the
test-side measures use :func:`helpers.reproduction.refit.concordance_index` and ``CoxDesign.from_arrays`` (the
calibration-slope refit of the linear predictor). The screen is one vectorised log-rank statistic
over all factors (:func:`_logrank_p`, tested equal to :func:`helpers.survival.screen_factors`):
it needs only the p-values, while ``prepare_screen(...).refit`` computes the whole Table 2 row
per factor (rates, medians, intervals) and costs about ten times as much per resample.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from helpers import cox
from helpers.reproduction import refit as lean
from helpers.reproduction.cluster import close_client, open_client  # noqa: F401 - notebook 06 uses them here
from helpers.survival import _aeq_times  # R's timefix (aeqSurv); survival has no public one

#: Measures reported by the validation, in table order.
MEASURES: tuple[str, ...] = ("c_index", "dxy", "calibration_slope", "r2_nagelkerke")
_MEASURE_COLUMNS = ("c", "slope", "r2")
#: Outcome of one resample.
STATUS = ("ok", "monotone", "nothing_selected", "fit_failed")
_TRAIN_TEST = tuple(f"{m}_{s}" for m in _MEASURE_COLUMNS for s in ("train", "test"))
#: What a model with no terms scores (``rms::validate``'s rule): C 0.5, slope 1, R2 0.
_EMPTY_MODEL = {"c_train": 0.5, "c_test": 0.5, "slope_train": 1.0, "slope_test": 1.0, "r2_train": 0.0,
                "r2_test": 0.0}


# ---------------------------------------------------------------------------------------------
# the per-resample work: one design, row indices in, measures out
# ---------------------------------------------------------------------------------------------


def _logrank_p(t: np.ndarray, e: np.ndarray, g: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Log-rank p of every two-level factor at once (R ``survdiff``, chi-square on 1 df).

    ``g`` (rows x factors) holds the 0/1 level, ``m`` 1 where the factor is observed (a missing
    value leaves the row out of that factor's comparison only). A factor with one observed level
    gets NaN. Sorting once and reducing per distinct time makes 17 factors cost a few array ops.
    """
    order = np.argsort(t, kind="stable")
    ts, es = t[order], e[order].astype(float)
    gs, ms = g[order] * m[order], m[order]
    starts = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1]])
    at = np.add.reduceat(ms, starts, axis=0)
    at1 = np.add.reduceat(gs, starts, axis=0)
    d = np.add.reduceat(es[:, None] * ms, starts, axis=0)
    d1 = np.add.reduceat(es[:, None] * gs, starts, axis=0)
    n = np.cumsum(at[::-1], axis=0)[::-1]
    n1 = np.cumsum(at1[::-1], axis=0)[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(n > 0, n1 / n, 0.0)
        var = np.where(n > 1, d * frac * (1 - frac) * (n - d) / (n - 1), 0.0).sum(axis=0)
        chi = (d1 - d * frac).sum(axis=0) ** 2 / var
    chi = np.where(var > 0, chi, np.nan)
    return special.chdtrc(1, chi)


def _status(fit: lean.CoxRefit) -> str:
    """``"monotone"`` when a coefficient runs off to infinity or the iterations did not converge
    (the resample is kept and counted; a coefficient reported NA counts as 0, as R's ``coef`` NA
    does); ``"ok"`` otherwise."""
    infinite = any("infinite" in f for f in fit.flags)
    return "monotone" if infinite or not fit.converged else "ok"


def _r2(ll: float, ll0: float, n: int) -> float:
    """Nagelkerke's R2 as ``rms::cph`` reports it: ``(1 - exp(-LR/n)) / (1 - exp(2 L0 / n))``."""
    lr = max(2.0 * (ll - ll0), 0.0)
    return float((1.0 - np.exp(-lr / n)) / (1.0 - np.exp(2.0 * ll0 / n)))


def _linear_predictor(x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """``x @ beta`` with equal rows given exactly equal values (NaN where a row is missing).

    Harrell's C counts ties in the predictor, so two patients with the same covariates (or one
    patient drawn twice by the bootstrap) must get bit-identical scores. A BLAS product does not
    promise that (rows in different positions may be summed with different rounding), so the
    sum is built column by column, every row alike, as R's reference BLAS does.
    """
    lp = np.zeros(len(x))
    for j, b in enumerate(beta):
        lp += x[:, j] * b
    return lp


@dataclass(frozen=True)
class _Design:
    """The data of one validation, built once; :meth:`evaluate` runs the procedure on a resample.

    ``cox_design`` holds every candidate (``helpers.reproduction.refit.prepare_cox``); ``candidates[j]`` names
    candidate ``j`` and ``columns[j]`` its columns in ``cox_design.X``. With ``screen``, ``codes``
    (rows x candidates, 0/1, NaN = missing) are screened by the log-rank test at ``alpha``;
    without, every candidate enters (a pre-specified model).
    """

    cox_design: lean.CoxDesign = field(repr=False)
    candidates: tuple[str, ...]
    columns: tuple[np.ndarray, ...] = field(repr=False)
    codes: np.ndarray | None = field(repr=False)
    alpha: float
    screen: bool

    @property
    def n(self) -> int:
        return len(self.cox_design.time)

    @property
    def screen_time(self) -> np.ndarray:
        return _aeq_times(self.cox_design.time.astype(float))

    def select(self, idx: np.ndarray, screen_time: np.ndarray | None = None) -> np.ndarray:
        """Candidates entering the model fitted on rows ``idx``."""
        if not self.screen:
            return np.ones(len(self.candidates), dtype=bool)
        t = self.screen_time if screen_time is None else screen_time
        xb = self.codes[idx]
        observed = ~np.isnan(xb)
        p = _logrank_p(t[idx], self.cox_design.event[idx], np.where(observed, xb, 0.0), observed.astype(float))
        return np.nan_to_num(p, nan=1.0) < self.alpha

    def _train(self, idx: np.ndarray, screen_time: np.ndarray | None) -> dict[str, Any]:
        """Select and fit on resample rows ``idx``; training measures, and the model's linear
        predictor on the original rows (``"lp"``, NaN where a chosen factor is missing)."""
        chosen = self.select(idx, screen_time)
        out: dict[str, Any] = {"selected": chosen, "n_selected": int(chosen.sum())}
        if not chosen.any():
            return out | {"status": "nothing_selected", **_EMPTY_MODEL, "loglik": np.nan}
        failed = out | {"status": "fit_failed", **dict.fromkeys(_TRAIN_TEST, np.nan), "loglik": np.nan}
        terms = [c for c, s in zip(self.candidates, chosen, strict=True) if s]
        try:
            fit = self.cox_design.refit(idx, terms=terms, concordance=self.screen)
        except ValueError:  # no events among the rows (R: coxph fails too)
            return failed
        beta = np.nan_to_num(fit.coef, nan=0.0)  # an NA (aliased, infinite) term counts as 0, as R's coef
        if not (np.all(np.isfinite(beta)) and np.isfinite(fit.log_likelihood)):
            return failed
        cols = np.concatenate([self.columns[j] for j in np.flatnonzero(chosen)])
        lp = _linear_predictor(self.cox_design.X[:, cols], beta)
        if self.screen and not np.isnan(fit.coef).any():
            # 0/1 terms, every coefficient estimated: the refit's C (R's concordance(fit)) is the
            # C of x beta exactly (R and the refit leave 0/1 columns uncentred, so equal rows tie).
            c_train = fit.concordance
        else:
            # An NA coefficient counts as 0 here and on the test side, while R's concordance(fit)
            # (the refit's) uses the value the iterations reached; continuous terms are centred.
            train = lp[idx]
            keep = ~np.isnan(train)  # the rows the refit used
            c_train = lean.concordance_index(self.cox_design.time[idx][keep], self.cox_design.event[idx][keep],
                                            train[keep])
        return out | {"status": _status(fit), "c_train": c_train, "slope_train": 1.0,
                      "r2_train": _r2(fit.log_likelihood, fit.log_likelihood_null, fit.n),
                      "loglik": fit.log_likelihood, "coef": beta, "lp": lp}

    def _test(self, design: lean.CoxDesign, name: str, lp: np.ndarray) -> dict[str, float]:
        """C, calibration slope and R2 of a linear predictor on the original rows (column
        ``name`` of ``design``, :meth:`evaluate_many`)."""
        keep = ~np.isnan(lp)
        if not keep.any() or np.ptp(lp[keep]) == 0:
            return {"c_test": 0.5, "slope_test": 1.0, "r2_test": 0.0}
        refit = design.refit(terms=[name])  # rows where lp is missing are left out
        gamma = float(refit.coef[0])
        # The refit's C is that of gamma * lp: the C of lp itself when gamma > 0, its mirror
        # 1 - C when gamma < 0 (concordant and discordant pairs swap, ties stay). Saves a second
        # validation of the same times; concordance_index when gamma is 0 or not estimated.
        if gamma > 0 or gamma < 0:
            c = refit.concordance if gamma > 0 else 1.0 - refit.concordance
        else:
            c = lean.concordance_index(design.time[keep], design.event[keep], lp[keep])
        return {"c_test": float(c), "slope_test": gamma if _status(refit) == "ok" else np.nan,
                "r2_test": _r2(refit.log_likelihood, refit.log_likelihood_null, refit.n)}

    def evaluate_many(self, indices: np.ndarray | Sequence[np.ndarray]) -> list[dict[str, Any]]:
        """Run the procedure on each resample (rows of ``indices``); measure on it and on the
        original rows. The test side refits every resample's linear predictor on the original
        rows from one design (``CoxDesign.from_arrays`` with one column per resample), so the
        times are validated once per block, not once per resample."""
        screen_time = self.screen_time
        results = [self._train(np.asarray(idx), screen_time) for idx in indices]
        fitted = [r for r in results if "lp" in r]
        if fitted:
            design = lean.CoxDesign.from_arrays(self.cox_design.time, self.cox_design.event,
                                               np.column_stack([r["lp"] for r in fitted]), ties=self.cox_design.ties)
            for j, r in enumerate(fitted):
                r.update(self._test(design, f"x{j}", r.pop("lp")))
        return results

    def evaluate(self, idx: np.ndarray) -> dict[str, Any]:
        """:meth:`evaluate_many` of one resample."""
        return self.evaluate_many([idx])[0]


def _evaluate_chunk(design: _Design, indices: np.ndarray) -> list[dict[str, Any]]:
    """Evaluate a block of resamples (one task of the dask fan-out)."""
    return design.evaluate_many(indices)


# ---------------------------------------------------------------------------------------------
# resampling and the dask fan-out
# ---------------------------------------------------------------------------------------------


def resample_indices(n: int, n_bootstrap: int, seed: int) -> np.ndarray:
    """Bootstrap row indices, one independent seed per resample.

    Resample ``b`` draws from ``numpy.random.default_rng(SeedSequence(seed).spawn(B)[b])``, so it
    is the same whatever the number of resamples before it or the worker that evaluates it.

    Parameters
    ----------
    n
        Rows of the data.
    n_bootstrap
        Number of resamples.
    seed
        Non-negative integer seed.

    Returns
    -------
    numpy.ndarray
        ``(n_bootstrap, n)`` integer matrix of 0-based row positions.

    Example
    -------
    >>> resample_indices(5, 3, seed=1).shape
    (3, 5)
    """
    if int(n) < 2 or int(n_bootstrap) < 1:
        raise ValueError(f"need n >= 2 rows and n_bootstrap >= 1, found n={n}, n_bootstrap={n_bootstrap}")
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, found {seed}")
    children = np.random.SeedSequence(int(seed)).spawn(int(n_bootstrap))
    return np.stack([np.random.default_rng(s).integers(0, n, n) for s in children])


def _chunks(n_rows: int, n_workers: int) -> list[slice]:
    """Two blocks per worker: tasks big enough that dask's per-task cost is small, and enough of
    them that a worker slowed by another program does not hold the others up for long."""
    k = max(1, min(n_rows, 2 * max(1, n_workers)))
    edges = np.linspace(0, n_rows, k + 1).astype(int)
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _fan_out(design: _Design, indices: np.ndarray, scheduler: Any, progress: bool) -> list[dict[str, Any]]:
    """Evaluate every resample: in this process (``"synchronous"``) or on dask.distributed.

    ``scheduler``: ``"synchronous"``; ``None`` (a LocalCluster of :func:`open_client`); a
    scheduler address (``"tcp://127.0.0.1:8786"``); or a ``distributed.Client``. The design
    (a few kilobytes) is sent to each worker once (``scatter``); each task is a block of
    resamples (:func:`_chunks`). Results come back in resample order, so they do not depend on
    the number of workers.
    """
    if isinstance(scheduler, str) and scheduler == "synchronous":
        return _evaluate_chunk(design, indices)
    own_client = None
    if scheduler is None or isinstance(scheduler, str):
        client = own_client = open_client("local" if scheduler is None else scheduler)
    else:
        client = scheduler
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        shared = client.scatter(design, broadcast=True)
        blocks = [indices[s] for s in _chunks(len(indices), n_workers)]
        futures = client.map(_evaluate_chunk, [shared] * len(blocks), blocks, pure=False)
        if progress:
            from distributed import progress as show_progress

            show_progress(futures)
        return [r for block in client.gather(futures) for r in block]
    finally:
        if own_client is not None:
            close_client(own_client)


# ---------------------------------------------------------------------------------------------
# summaries
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ValidationResult:
    """A bootstrap validation (see :func:`validate_procedure`).

    Attributes
    ----------
    table
        One row per measure: ``measure, apparent, optimism, corrected, ci_low, ci_high,
        n_resamples, n_failed`` (``n_resamples``: resamples used; ``n_failed``: fits that failed
        and are left out of the optimism, counted here rather than dropped silently).
    resamples
        One row per resample: ``resample, status, n_selected``, the training and test measures
        (``c_train, c_test, slope_train, slope_test, r2_train, r2_test``) and one boolean column
        per candidate, True when it entered the resample's model.
    selection
        ``variable, selected_pct`` (percent of all resamples), most often selected first.
    n_terms
        ``n_selected, n_resamples, pct``: the distribution of the model size.
    apparent_model
        Candidates chosen on the original data, in input order.
    aic
        ``-2 log L + 2 p`` of the model fitted on the original data (NaN when nothing entered).
    indices
        The resample index matrix (0-based rows), what ``tests/r_reference`` reads.
    settings
        ``alpha, ties, seed, n_bootstrap, conf_level, procedure``.
    """

    table: pd.DataFrame
    resamples: pd.DataFrame
    selection: pd.DataFrame
    n_terms: pd.DataFrame
    apparent_model: tuple[str, ...]
    aic: float
    indices: np.ndarray = field(repr=False)
    settings: Mapping[str, Any] = field(default_factory=dict)


def _dual_sd(x: np.ndarray, nmin: int = 10) -> tuple[float, float]:
    """Two standard deviations, of the lower and of the upper half (R ``Hmisc::dualSD``).

    Both are root mean squares of deviations from the mean ``m``, one over ``x <= m`` and one
    over ``x >= m`` (values equal to ``m`` count in both), each divided by its count minus one.
    With fewer than ``nmin`` values the ordinary SD is returned twice. Written by hand because
    no Python package has it; it is the spread ``rms`` uses for its bootstrap intervals.

    Returns
    -------
    tuple of float
        ``(bottom, top)``.
    """
    x = np.asarray(x, dtype=float)
    if x.size < nmin:
        sd = float(np.std(x, ddof=1)) if x.size > 1 else np.nan
        return sd, sd
    m = x.mean()

    def half(v: np.ndarray) -> float:
        return float(np.sqrt(np.sum((v - m) ** 2) / (v.size - 1))) if v.size > 1 else np.nan

    return half(x[x <= m]), half(x[x >= m])


def _ci_rms(train: np.ndarray, test: np.ndarray, corrected: float,
            conf_level: float) -> tuple[float, float]:
    """Approximate CI of an optimism-corrected index, as ``rms`` 8.1 computes it.

    Harrell (2025), https://fharrell.com/post/bootcal, implemented in ``rms::predab.resample``
    (rms 8.1-0 and later, behind ``validate.cph``): with ``d = training - 1.25 * test`` per
    resample and its dual SDs (:func:`_dual_sd`), ``lower = corrected - z * sd_top(d)`` and
    ``upper = corrected + z * sd_bottom(d)``, ``z`` the normal quantile of ``(1 + conf) / 2``
    (top and bottom swap because the optimism is subtracted). Read from the rms sources and
    written here (rms is R; Debian's 6.5 predates the interval); tested on a case computed by
    hand. Defined for the calibration slope too: its training value is 1, its test value varies.
    """
    bottom, top = _dual_sd(np.asarray(train, float) - 1.25 * np.asarray(test, float))
    z = float(special.ndtri((1 + conf_level) / 2))
    return corrected - z * top, corrected + z * bottom


def _summary(apparent: dict[str, Any], res: pd.DataFrame, conf_level: float) -> pd.DataFrame:
    """The ``validation.csv`` table from the apparent run and the per-resample frame."""
    used = res[res["status"] != "fit_failed"]
    n_failed = int((res["status"] == "fit_failed").sum())
    rows = []
    for measure, key, scale, shift in (("c_index", "c", 1.0, 0.0), ("dxy", "c", 2.0, -1.0),
                                       ("calibration_slope", "slope", 1.0, 0.0),
                                       ("r2_nagelkerke", "r2", 1.0, 0.0)):
        train = scale * used[f"{key}_train"].to_numpy(float) + shift
        test = scale * used[f"{key}_test"].to_numpy(float) + shift
        app = scale * float(apparent[f"{key}_train"]) + shift
        ok = np.isfinite(train) & np.isfinite(test)
        optimism = float(np.mean(train[ok] - test[ok])) if ok.any() else np.nan
        lo, hi = (_ci_rms(train[ok], test[ok], app - optimism, conf_level) if ok.any()
                  else (np.nan, np.nan))
        rows.append({"measure": measure, "apparent": app, "optimism": optimism,
                     "corrected": app - optimism, "ci_low": lo, "ci_high": hi,
                     "n_resamples": int(ok.sum()), "n_failed": n_failed + int((~ok).sum())})
    return pd.DataFrame(rows)


def _resample_frame(results: list[dict[str, Any]], names: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame([{k: r[k] for k in ("status", "n_selected", *_TRAIN_TEST)} for r in results])
    chosen = pd.DataFrame(np.stack([r["selected"] for r in results]), columns=list(names))
    return pd.concat([frame, chosen], axis=1).rename_axis("resample").reset_index()


def _selection_tables(res: pd.DataFrame, names: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    pct = 100.0 * res[list(names)].mean(axis=0)
    selection = (pd.DataFrame({"variable": list(names), "selected_pct": pct.to_numpy()})
                 .sort_values("selected_pct", ascending=False, kind="stable").reset_index(drop=True))
    counts = res["n_selected"].value_counts().reindex(range(len(names) + 1), fill_value=0)
    n_terms = pd.DataFrame({"n_selected": counts.index, "n_resamples": counts.to_numpy()})
    n_terms["pct"] = 100.0 * n_terms["n_resamples"] / len(res)
    return selection, n_terms[n_terms["n_resamples"] > 0].reset_index(drop=True)


def model_frequency(result: ValidationResult, variables: Sequence[str]) -> float:
    """Percent of resamples whose chosen model is exactly ``variables`` (no more, no fewer).

    Parameters
    ----------
    result
        A :class:`ValidationResult` of :func:`validate_procedure`.
    variables
        Candidate names, e.g. the factors of the paper's Table 3.

    Returns
    -------
    float
        Percent of all resamples (failed ones included in the denominator).

    Example
    -------
    >>> res = pd.DataFrame({"a": [True, True], "b": [True, False]})
    >>> r = ValidationResult(pd.DataFrame(), res, pd.DataFrame(), pd.DataFrame(), (), 0.0, np.empty(0))
    >>> model_frequency(r, ["a"])
    50.0
    """
    names = [c for c in result.resamples.columns if result.resamples[c].dtype == bool]
    unknown = [v for v in variables if v not in names]
    if unknown:
        raise KeyError(f"variables {unknown} are not candidates of this validation; candidates: {names}")
    target = np.isin(names, list(variables))
    chosen = result.resamples[names].to_numpy(bool)
    return float(100.0 * np.mean((chosen == target).all(axis=1)))


# ---------------------------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------------------------


def _binary_column(df: pd.DataFrame, factor: str, reference: Any, id_column: str | None) -> np.ndarray:
    """0/1 (1 = not the reference level; NaN = missing) of a two-level factor, or a clear error."""
    col = df[factor]
    observed = pd.unique(col.dropna())
    if len(observed) != 2:
        raise ValueError(
            f"column {factor!r} must have exactly two observed levels to be screened and entered as "
            f"one term; found {len(observed)}: {sorted(map(str, observed))}"
        )
    if reference is None:
        reference = col.cat.categories[0] if isinstance(col.dtype, pd.CategoricalDtype) else sorted(observed)[0]
    if reference not in set(observed):
        raise ValueError(f"column {factor!r}: reference level {reference!r} not among its levels "
                         f"{sorted(map(str, observed))}")
    out = np.where(col.isna(), np.nan, (col != reference).astype(float))
    if np.isnan(out).all():
        raise ValueError(f"column {factor!r} is missing in every row")
    return out


def _require(df: pd.DataFrame, time: str, event: str, columns: list[str], what: str,
             id_column: str | None) -> None:
    """Columns present, and no missing time or event (a missing one is an error, not a drop)."""
    if not columns:
        raise ValueError(f"{what} is empty: name at least one column")
    absent = [c for c in [time, event, *columns, *([id_column] if id_column else [])] if c not in df.columns]
    if absent:
        raise KeyError(f"column(s) {absent} not found in the data; available columns: {list(df.columns)}")
    labels = df[id_column] if id_column else pd.Series(df.index, index=df.index)
    for c in (time, event):
        na = df[c].isna().to_numpy()
        if na.any():
            raise ValueError(f"column {c!r} is missing in {int(na.sum())} row(s): {labels[na].tolist()[:10]}; "
                             "complete or remove them first")


def _columns_of(design: lean.CoxDesign, candidates: Sequence[str]) -> tuple[np.ndarray, ...]:
    """Positions in ``design.X`` of each candidate's terms."""
    names = list(design.design.columns)
    return tuple(np.array([names.index(t) for t in design.term_groups[c]], dtype=np.intp) for c in candidates)


def _check_settings(ties: str, n_bootstrap: int, conf_level: float, alpha: float) -> None:
    if ties not in cox.TIES:
        raise ValueError(f"ties must be one of {cox.TIES}, found {ties!r}")
    if int(n_bootstrap) != n_bootstrap or n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be a positive integer, found {n_bootstrap!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), found {conf_level!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), found {alpha!r}")


def _run(design: _Design, n_bootstrap: int, seed: int, conf_level: float, scheduler: Any,
         progress: bool, procedure: str) -> ValidationResult:
    """Apparent run on the original rows, the resamples, and the summaries."""
    n = design.n
    apparent = design.evaluate(np.arange(n))
    if apparent["status"] == "fit_failed":
        raise ValueError("the model cannot be fitted on the original data (Newton-Raphson failed); "
                         "check the candidates for aliased or constant terms")
    indices = resample_indices(n, n_bootstrap, seed)
    res = _resample_frame(_fan_out(design, indices, scheduler, progress), design.candidates)
    selection, n_terms = _selection_tables(res, design.candidates)
    chosen = tuple(str(c) for c, s in zip(design.candidates, apparent["selected"], strict=True) if s)
    aic = -2.0 * apparent["loglik"] + 2.0 * len(chosen) if apparent["status"] == "ok" else np.nan
    settings = {"alpha": design.alpha, "ties": design.cox_design.ties, "seed": int(seed), "n_bootstrap": int(n_bootstrap),
                "conf_level": conf_level, "procedure": procedure}
    return ValidationResult(table=_summary(apparent, res, conf_level), resamples=res, selection=selection,
                            n_terms=n_terms, apparent_model=chosen, aic=float(aic), indices=indices,
                            settings=settings)


def validate_procedure(
    df: pd.DataFrame,
    time: str,
    event: str,
    factors: Sequence[str],
    *,
    references: Mapping[str, Any] | None = None,
    alpha: float = 0.05,
    ties: str = "breslow",
    n_bootstrap: int = 200,
    seed: int = 2022,
    conf_level: float = 0.95,
    scheduler: Any = None,
    progress: bool = False,
    id_column: str | None = None,
) -> ValidationResult:
    """Bootstrap validation of screen -> select -> Cox, the paper's whole procedure.

    In every resample (and once on the original data, the *apparent* run): the log-rank test of
    each factor (as :func:`helpers.survival.screen_factors`), the entry rule ``p < alpha`` (as
    :func:`helpers.cox.select_for_multivariable`), a Cox fit of the chosen factors (as
    :func:`helpers.cox.fit_cox`, ``ties``); then Harrell's C (R ``concordance``), the calibration
    slope (the Cox coefficient of the linear predictor refitted on the data measured; 1 on the
    training data) and Nagelkerke's R2 (``rms::cph``'s ``R2``; on test data from that refit, as
    ``rms::validate.cph``) on the resample and on the original data. ``optimism`` is the mean of
    training minus test, ``corrected = apparent - optimism``; Somers' ``Dxy = 2 (C - 0.5)``. The
    corrected slope is the shrinkage the procedure needs. ``ci_low, ci_high``: the approximate
    interval ``rms`` 8.1 reports (Harrell 2025; :func:`_ci_rms`), from the dual SDs of
    ``training - 1.25 test``; written from the rms sources and checked on a case computed by
    hand, not against rms itself (Debian's rms 6.5 predates it). A resample where nothing enters counts as the
    empty model (C 0.5, slope 1, R2 0, as ``rms::validate``); a failed fit is left out of the
    optimism and counted in ``n_failed``. The apparent measures equal ``rms::validate``'s
    ``index.orig`` for a fixed model and the per-resample numbers equal R ``coxph`` /
    ``concordance`` to 1e-6 (``tests/r_reference/validation_reference.R``).

    Parameters
    ----------
    df
        One row per patient.
    time, event
        Follow-up time and event (1 = event, 0 = censored).
    factors
        Two-level factor columns screened (missing values leave a row out of that factor only).
    references
        Factor -> reference level (the term is "not the reference"); default: the first level.
    alpha
        Entry rule ``p < alpha``.
    ties
        ``"breslow"`` (SPSS, the paper) or ``"efron"`` (R).
    n_bootstrap, seed
        Resamples and the seed (:func:`resample_indices`).
    conf_level
        Level of the interval of the corrected measures.
    scheduler
        ``None`` (a local dask cluster), a scheduler address, a ``distributed.Client`` or
        ``"synchronous"`` (this process); the result does not depend on it.
    progress
        Show dask's progress bar (off by default; library code stays silent).
    id_column
        Patient ids to name rows in errors.

    Returns
    -------
    ValidationResult

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"t": rng.exponential(10, 80), "e": rng.integers(0, 2, 80),
    ...                   "a": rng.choice(["x", "y"], 80), "b": rng.choice(["u", "v"], 80)})
    >>> v = validate_procedure(d, "t", "e", ["a", "b"], alpha=0.5, n_bootstrap=20,
    ...                        scheduler="synchronous")
    >>> list(v.table["measure"])
    ['c_index', 'dxy', 'calibration_slope', 'r2_nagelkerke']
    """
    _check_settings(ties, n_bootstrap, conf_level, alpha)
    design = _screen_design(df, time, event, factors, dict(references or {}), ties, alpha, id_column)
    return _run(design, n_bootstrap, seed, conf_level, scheduler, progress, "screen")


def _screen_design(df: pd.DataFrame, time: str, event: str, factors: Sequence[str], refs: dict[str, Any],
                   ties: str, alpha: float, id_column: str | None) -> _Design:
    """Check the input of :func:`validate_procedure`, code the factors 0/1 once, prepare the Cox design."""
    factors = [factors] if isinstance(factors, str) else list(factors)
    _require(df, time, event, factors, "factors", id_column)
    codes = [_binary_column(df, f, refs.get(f), id_column) for f in factors]
    references = {}
    for f, x in zip(factors, codes, strict=True):
        references[f] = df[f][x == 0].iloc[0]  # the level coded 0
    design = lean.prepare_cox(df, time, event, factors, ties=ties, categorical=references, id_column=id_column)
    return _Design(design, tuple(factors), _columns_of(design, factors), np.column_stack(codes), float(alpha), True)


def validate_model(
    df: pd.DataFrame,
    time: str,
    event: str,
    covariates: Sequence[str],
    *,
    ties: str = "breslow",
    n_bootstrap: int = 200,
    seed: int = 2022,
    conf_level: float = 0.95,
    scheduler: Any = None,
    progress: bool = False,
    id_column: str | None = None,
) -> ValidationResult:
    """Bootstrap validation of a fixed, pre-specified Cox model (no screen): every resample
    refits the same numeric columns. Measures, CI and failures as :func:`validate_procedure`.

    Parameters
    ----------
    df
        One row per patient.
    time, event
        Follow-up time and event (1 = event, 0 = censored).
    covariates
        Numeric columns of the model (0/1 dummies, spline basis columns, ...).
    ties, n_bootstrap, seed, conf_level, scheduler, progress, id_column
        As :func:`validate_procedure`.

    Returns
    -------
    ValidationResult
        ``selection`` is 100 % for every covariate.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"t": rng.exponential(10, 60), "e": rng.integers(0, 2, 60),
    ...                   "x": rng.normal(size=60)})
    >>> validate_model(d, "t", "e", ["x"], n_bootstrap=10, scheduler="synchronous").aic > 0
    True
    """
    _check_settings(ties, n_bootstrap, conf_level, 0.05)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    _require(df, time, event, covariates, "covariates", id_column)
    bad = [c for c in covariates if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])]
    if bad:
        raise TypeError(f"column(s) {bad} must be numeric (code factors as 0/1 first); found "
                        f"{[str(df[c].dtype) for c in bad]}")
    prepared = lean.prepare_cox(df, time, event, covariates, ties=ties, id_column=id_column)
    design = _Design(prepared, tuple(covariates), _columns_of(prepared, covariates), None, 0.05, False)
    return _run(design, n_bootstrap, seed, conf_level, scheduler, progress, "fixed")


# ---------------------------------------------------------------------------------------------
# the pre-specified alternative: restricted cubic splines
# ---------------------------------------------------------------------------------------------


def rcs_basis(x: np.ndarray | pd.Series, knots: Sequence[float]) -> np.ndarray:
    """Restricted cubic spline basis (Harrell's, R ``Hmisc::rcspline.eval(..., inclx=TRUE)``).

    Linear beyond the outer knots; ``k`` knots give ``k - 1`` columns: ``x`` and ``k - 2``
    cubic terms scaled by ``(t_k - t_1)^2`` (``norm = 2``). Written here (ten lines) because
    patsy's ``cr`` and formulaic parametrise the same space differently and place the outer
    knots at the data range, while ``rms::rcs``'s coefficients and knots are the ones readers
    know; the basis is tested equal to ``rcspline.eval`` (``validation_reference.R``).

    Parameters
    ----------
    x
        Values (no missing values).
    knots
        At least 3 increasing knots.

    Returns
    -------
    numpy.ndarray
        ``(len(x), len(knots) - 1)``.

    Example
    -------
    >>> rcs_basis(np.array([0.0, 5.0, 10.0]), [1, 5, 9]).shape
    (3, 2)
    """
    t = np.asarray(knots, dtype=float)
    x = np.asarray(x, dtype=float)
    if len(t) < 3 or np.any(np.diff(t) <= 0):
        raise ValueError(f"knots must be at least 3 increasing values, found {list(t)}")
    if np.isnan(x).any():
        raise ValueError(f"rcs_basis: {int(np.isnan(x).sum())} missing value(s); impute or drop them first")
    k = len(t)

    def cube(u: np.ndarray) -> np.ndarray:
        return np.maximum(u, 0.0) ** 3

    cols = [x]
    for j in range(k - 2):
        cols.append((cube(x - t[j]) - cube(x - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
                     + cube(x - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2])) / (t[k - 1] - t[0]) ** 2)
    return np.column_stack(cols)


def _quantile7(x: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """R's ``quantile(x, probs)`` (type 7, numpy's default ``linear``)."""
    return np.quantile(x, probs)


def _outer_ties(xx: np.ndarray, fractied: float) -> tuple[list[float], list[float], np.ndarray]:
    """``rcspline.eval``'s rule for a heavily tied end: when no interior value holds a share
    ``fractied`` of the data but the smallest (largest) does, the first (last) knot is the next
    value in, and the quantiles are taken over the values strictly inside it."""
    if not 0 < fractied < 1:
        return [], [], xx
    values, counts = np.unique(xx, return_counts=True)
    share = counts / len(xx)
    if len(share) > 2 and share[1:-1].max() >= fractied:
        return [], [], xx
    first: list[float] = []
    last: list[float] = []
    if share[0] >= fractied:
        first = [float(xx[xx > xx.min()].min())]
        xx = xx[xx > first[0]]
    if share[-1] >= fractied:
        last = [float(xx[xx < xx.max()].max())]
        xx = xx[xx < last[0]]
    return first, last, xx


def _inner_knots(xx: np.ndarray, nke: int, outer: float, first: list[float], last: list[float],
                 unique: np.ndarray) -> np.ndarray:
    """The ``nke`` knots of ``rcspline.eval`` between the tied ends (quantiles, then the small-n
    rule: outer knots at the 5th smallest and 5th largest value when fewer than 100 remain)."""
    if nke == 1:
        return np.array([np.median(xx)])
    if len(unique) <= nke:
        knots = unique.copy()
    else:
        p = np.linspace(0.5, 1 - outer, nke) if nke == 2 else np.linspace(outer, 1 - outer, nke)
        knots = _quantile7(xx, p)
        if len(np.unique(knots)) < min(nke, 3):
            knots = _quantile7(xx, np.linspace(outer, 1 - outer, 2 * nke))
            if first and len(np.unique(knots)) < 3:
                mid = (first[0] + last[0]) / 2 if last else float(np.median(xx))
                knots = np.sort([first[0], mid, last[0] if last else float(_quantile7(xx, np.array([1 - outer]))[0])])
            if len(np.unique(knots)) < 3:
                raise ValueError(f"fewer than 3 distinct knots can be placed (values: {np.unique(xx).tolist()[:10]})")
            warnings.warn(f"could not obtain {nke} interior knots with the default algorithm; used "
                          f"{len(np.unique(knots))} (rcspline.eval's alternate algorithm)", UserWarning, stacklevel=3)
    knots = np.array(knots, dtype=float)
    if len(xx) < 100:
        ordered = np.sort(xx)
        if not first:
            knots[0] = ordered[4]
        if not last:
            knots[nke - 1] = ordered[len(ordered) - 5]
    return knots


def rcs_knots(x: np.ndarray | pd.Series, n_knots: int = 5, *, fractied: float = 0.05) -> np.ndarray:
    """Knots where ``rms::rcs(x, n_knots)`` puts them (``Hmisc::rcspline.eval``'s default rule).

    Quantiles spread evenly between ``outer`` and ``1 - outer`` (``outer`` 0.10 for 3 knots, 0.05
    for 4-6, 0.025 for 7 or more: 0.05, 0.35, 0.65, 0.95 for 4 knots), with R's special cases,
    which change the knots on a registry of this size:

    - fewer than 100 values: the outer knots move to the 5th smallest and 5th largest value;
    - a tied end (the smallest or largest value holds at least ``fractied`` of the data while no
      interior value does): that knot is the next value in, and the quantiles skip the end;
    - ``n_knots`` or fewer values besides the two extremes: the interior values are the knots
      (R warns; so does this function);
    - too few distinct quantiles: R's alternate algorithm (a warning says so).

    Written from ``rcspline.eval`` in Hmisc 4.8 (what ``rms`` 6.5 calls) and tested equal to it
    on those cases (``tests/r_reference/validation_rcs.R``).

    Parameters
    ----------
    x
        Values (missing values ignored; at least 6 needed).
    n_knots
        Number of knots requested, at least 3 (``rms``'s default is 5).
    fractied
        ``rcspline.eval``'s ``fractied`` (``rms``'s default 0.05).

    Returns
    -------
    numpy.ndarray
        The knots, increasing and distinct.

    Example
    -------
    >>> rcs_knots(np.arange(1001.0), 3).tolist()
    [100.0, 500.0, 900.0]
    """
    xx = np.asarray(x, dtype=float)
    xx = xx[~np.isnan(xx)]
    if len(xx) < 6:
        raise ValueError(f"knots not specified, and fewer than 6 non-missing values ({len(xx)})")
    if int(n_knots) != n_knots or n_knots < 3:
        raise ValueError(f"n_knots must be an integer >= 3, found {n_knots!r}")
    unique = np.unique(xx)
    if len(unique) - 2 <= n_knots:
        warnings.warn(f"{n_knots} knots requested with {len(unique)} distinct values; knots set to the "
                      f"{len(unique) - 2} interior values", UserWarning, stacklevel=2)
        knots = unique[1:-1]
    else:
        outer = 0.025 if n_knots > 6 else 0.05 if n_knots > 3 else 0.1
        first, last, inner = _outer_ties(xx, fractied)
        nke = int(n_knots) - len(first) - len(last)
        knots = np.concatenate([first, _inner_knots(inner, nke, outer, first, last, unique), last])
    knots = np.unique(knots)
    if len(knots) < 3:
        raise ValueError(f"fewer than 3 distinct knots ({knots.tolist()}); the values are too few or too tied")
    return knots


def add_spline_terms(df: pd.DataFrame, column: str, n_knots: int = 3) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """Add the restricted-cubic-spline columns of ``column`` (knots by :func:`rcs_knots`, where
    ``rms::rcs(column, n_knots)`` puts them).

    Parameters
    ----------
    df
        The data.
    column
        A numeric column without missing values.
    n_knots
        3, 4 or 5.

    Returns
    -------
    (pandas.DataFrame, list of str, numpy.ndarray)
        The data with ``column`` (linear) and ``column'``, ``column''``, ... (cubic terms) added
        as ``<column>_rcs1, <column>_rcs2, ...``; their names; the knots.

    Example
    -------
    >>> d, names, knots = add_spline_terms(pd.DataFrame({"x": np.arange(50.0)}), "x")
    >>> names
    ['x_rcs1', 'x_rcs2']
    """
    if column not in df.columns:
        raise KeyError(f"column {column!r} not found in the data; available columns: {list(df.columns)}")
    if df[column].isna().any():
        raise ValueError(f"column {column!r} has missing values in rows {list(df.index[df[column].isna()])[:10]}")
    knots = rcs_knots(df[column], n_knots)  # rms::rcs's placement
    basis = rcs_basis(df[column], knots)
    names = [f"{column}_rcs{j + 1}" for j in range(basis.shape[1])]
    return df.assign(**dict(zip(names, basis.T, strict=True))), names, knots
