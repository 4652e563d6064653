"""Lean Cox refits on one design (bootstrap, variable selection) and Harrell's C of any score.

:func:`prepare_cox` validates the data and builds the design once, with the same checks and terms
as :func:`helpers.cox.fit_cox`; :meth:`CoxDesign.refit` then refits any rows and any subset of the
covariates with the same core (timefix, R's aliasing check, Newton-Raphson, flags), skipping only
the table, the input checks and the design building. :meth:`CoxDesign.from_arrays` builds a design
from numeric arrays. :func:`concordance_index` is Harrell's C as R's ``concordance``. Notebook 06
and the bootstrap validation use them; the teaching notebooks need only ``fit_cox``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from helpers.cox import (
    _SHOWN_ROWS,
    TIES,
    CoxWarning,
    LRTest,
    _build_design,
    _concordance,
    _fit_core,
    _missing_message,
    _time_event,
    _wald,
)
from helpers.survival import TIMEFIX_TOLERANCE, _aeq_times


def concordance_index(
    time: np.ndarray | Sequence[float],
    event: np.ndarray | Sequence[int],
    risk: np.ndarray | Sequence[float],
    *,
    timefix: bool = True,
) -> float:
    """Harrell's C of a risk score (higher = earlier event), as R's ``concordance(y ~ risk,
    reverse = TRUE)`` and ``concordance(coxph_fit)`` report it (``timewt = "n"``).

    Parameters
    ----------
    time, event
        Follow-up times (finite, >= 0) and 0/1 events.
    risk
        The score, e.g. a Cox linear predictor (finite).
    timefix
        Merge near-equal times first, as R's ``coxph`` does before its concordance.

    Returns
    -------
    float
        ``(concordant + tied / 2) / comparable``; NaN when no pair is comparable.

    Example
    -------
    >>> concordance_index([1, 2, 3, 4], [1, 1, 0, 1], [4.0, 3.0, 1.0, 2.0])
    1.0
    """
    frame = pd.DataFrame({"time": np.asarray(time, dtype=float), "event": np.asarray(event, dtype=float)})
    t, e = _time_event(frame, "time", "event", pd.Series(frame.index))
    lp = np.asarray(risk, dtype=float).ravel()
    if len(lp) != len(t) or not np.isfinite(lp).all():
        raise ValueError(f"risk must hold one finite value per row ({len(t)}); found {len(lp)} values, "
                         f"{int((~np.isfinite(lp)).sum())} not finite")
    return _concordance(_aeq_times(t) if timefix else t, e.astype(np.int64), lp)


@dataclass(frozen=True)
class CoxRefit:
    """One refit of a :class:`CoxDesign` on a set of rows (the numbers :func:`fit_cox` reports).

    Attributes
    ----------
    terms
        Term names, in the order fitted (a factor's dummy terms together).
    coef, se, z, p_value
        Per term; NaN for a term not identifiable in these rows (flagged).
    flags, warnings
        As ``CoxResult.table["flag"]`` and ``CoxResult.warnings`` (not raised as warnings, so a
        thousand refits stay quiet; read them here).
    log_likelihood, log_likelihood_null, lr_test, concordance, n, events, converged
        As on :class:`CoxResult` (``concordance`` is NaN when not requested; ``n`` counts the
        rows fitted, after dropping rows missing a fitted term).
    n_dropped_missing
        Rows of the request left out because a fitted term is missing in them.
    """

    terms: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    flags: tuple[str, ...]
    warnings: tuple[str, ...]
    log_likelihood: float
    log_likelihood_null: float
    lr_test: LRTest
    concordance: float
    n: int
    events: int
    converged: bool
    n_dropped_missing: int = 0


@dataclass(frozen=True)
class CoxDesign:
    """A validated Cox design built once, refitted cheaply on rows and terms (see :func:`prepare_cox`).

    ``time`` and ``event`` hold the rows with a valid time and event (rows missing either were
    dropped when the design was built, counted in ``n_dropped_missing``); ``X`` has one column per
    term, NaN where the row's covariate is missing. ``rows`` passed to :meth:`refit` are positions
    in these arrays (``design.index`` gives their labels). ``term_groups`` maps each covariate to
    its terms (a factor: one 0/1 term per non-reference level); ``row_names`` names rows in
    messages.
    """

    time: np.ndarray = field(repr=False)
    event: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)
    design: pd.DataFrame = field(repr=False)
    ties: str
    timefix: bool
    n_dropped_missing: int
    term_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    row_names: pd.Series | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        names = list(self.design.columns)
        groups = dict(self.term_groups) or {n: (n,) for n in names}
        object.__setattr__(self, "term_groups", groups)
        positions = {c: np.array([names.index(m) for m in members], dtype=np.intp) for c, members in groups.items()}
        object.__setattr__(self, "_positions", positions)
        object.__setattr__(self, "_names", tuple(names))
        object.__setattr__(self, "_has_missing", bool(np.isnan(self.X).any()))
        # R's timefix merges neighbouring times closer than TIMEFIX_TOLERANCE, absolutely or relative
        # to the mean absolute time of the rows fitted (at most the largest time). When no two
        # times of the design are that close even relative to the largest time, no subset has
        # such a pair, and refits skip the merge.
        uniq = np.unique(self.time)
        gap = float(np.min(np.diff(uniq), initial=np.inf))
        close = gap <= TIMEFIX_TOLERANCE * max(1.0, float(np.max(np.abs(uniq), initial=0.0)))
        object.__setattr__(self, "_timefix_rows", self.timefix and close)
        if self.row_names is None:
            object.__setattr__(self, "row_names", pd.Series(self.design.index, index=self.design.index))

    @classmethod
    def from_arrays(
        cls,
        time: np.ndarray | Sequence[float],
        event: np.ndarray | Sequence[int],
        X: np.ndarray,
        names: Sequence[str] | None = None,
        *,
        ties: str = "efron",
        timefix: bool = True,
    ) -> CoxDesign:
        """A design from numeric arrays (one column per covariate; NaN = missing), for refits of
        covariates that are not data-frame columns (e.g. a linear predictor, spline terms).

        Times must be finite and >= 0, events 0/1; names default to ``x0, x1, ...``.
        """
        if ties not in TIES:
            raise ValueError(f"ties must be one of {TIES}, found {ties!r}")
        X = np.asarray(X, dtype=float)
        X = X[:, None] if X.ndim == 1 else X
        names = [f"x{j}" for j in range(X.shape[1])] if names is None else list(names)
        if X.ndim != 2 or len(names) != X.shape[1] or len(set(names)) != len(names):
            raise ValueError(f"X must be 2-D with one distinct name per column; shape {X.shape}, names {names}")
        frame = pd.DataFrame({"time": np.asarray(time, dtype=float), "event": np.asarray(event, dtype=float)})
        if len(frame) != len(X):
            raise ValueError(f"time, event and X must have the same rows; found {len(frame)} and {len(X)}")
        t, e = _time_event(frame, "time", "event", pd.Series(frame.index))
        if np.isinf(X).any():
            raise ValueError(f"X holds infinite values in rows {np.flatnonzero(np.isinf(X).any(axis=1))[:_SHOWN_ROWS].tolist()}")
        return cls(t, e, X, pd.DataFrame(X, columns=names), ties, timefix, 0)

    def _columns(self, terms: Sequence[str] | None) -> np.ndarray | None:
        """Column positions of the covariates ``terms`` (None: every column)."""
        if terms is None:
            return None
        terms = [terms] if isinstance(terms, str) else list(terms)
        if not terms:
            raise ValueError("terms is empty: name at least one covariate of the design")
        unknown = [c for c in terms if c not in self._positions]
        if unknown:
            owners = {m: c for c, members in self.term_groups.items() for m in members if m != c}
            hint = "; ".join(f"{u!r} is a level of factor {owners[u]!r}: name the factor (its terms travel together)"
                             for u in unknown if u in owners)
            raise KeyError(f"terms {unknown} are not covariates of this design ({list(self.term_groups)})"
                           + (f"; {hint}" if hint else ""))
        if len(set(terms)) != len(terms):
            raise ValueError(f"terms lists a covariate more than once: {terms}")
        return np.concatenate([self._positions[c] for c in terms])

    def refit(
        self,
        rows: Sequence[int] | np.ndarray | None = None,
        *,
        terms: Sequence[str] | None = None,
        concordance: bool = True,
    ) -> CoxRefit:
        """Fit the covariates ``terms`` on ``rows``: what ``fit_cox`` gives on those rows and covariates.

        Parameters
        ----------
        rows
            Positions in the design (repeats allowed, e.g. a bootstrap sample); all rows when None.
        terms
            Covariates to fit, by the names given to :func:`prepare_cox` (a factor by its column
            name: its dummy terms travel together), in the order wanted (it matters, as in R, for
            which of two aliased terms is NA); all, in design order, when None.
        concordance
            Compute Harrell's C (``False`` saves its time).

        Returns
        -------
        CoxRefit
            Rows missing a fitted term are dropped (as ``fit_cox`` drops them, with the same
            message in ``warnings``); a factor level absent from ``rows`` keeps its term, NA and
            flagged, where ``fit_cox`` would omit the term (R's ``coxph`` gives NA, as here).

        Raises
        ------
        KeyError
            A name in ``terms`` is not a covariate of the design.
        ValueError
            ``rows`` hold no events.

        Notes
        -----
        Runs the same core as :func:`fit_cox` (timefix, R's aliasing check, Newton-Raphson,
        flags); only the table, the input checks and the design building are skipped.
        """
        cols = self._columns(terms)
        idx = np.arange(len(self.time)) if rows is None else np.asarray(rows, dtype=np.intp)
        X = self.X[idx] if cols is None else self.X[np.ix_(idx, cols)]
        names = self._names if cols is None else tuple(self._names[j] for j in cols)
        t, e = self.time[idx], self.event[idx]
        messages: tuple[str, ...] = ()
        n_missing = 0
        if self._has_missing:
            X, t, e, messages, n_missing = self._drop_missing(idx, X, t, e, names, terms)
        if not e.any():
            raise ValueError("these rows have no events; a Cox model needs at least one")
        core = _fit_core(t, e, X, names, self.ties, self._timefix_rows)
        se, z, p_value = _wald(core.coef, core.variance)
        conc = _concordance(core.time, e.astype(np.int64), core.lp) if concordance else float("nan")
        return CoxRefit(names, core.coef, se, z, p_value, core.flags, messages + core.messages,
                        core.loglik, core.loglik_null, core.lr_test(), conc, len(t), core.events,
                        core.converged, n_missing)

    def _drop_missing(
        self, idx: np.ndarray, X: np.ndarray, t: np.ndarray, e: np.ndarray, names: tuple[str, ...],
        terms: Sequence[str] | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], int]:
        """Leave out rows missing a fitted term, with ``fit_cox``'s message."""
        na = np.isnan(X)
        if not na.any():
            return X, t, e, (), 0
        covs = list(self.term_groups) if terms is None else ([terms] if isinstance(terms, str) else list(terms))
        col_of = {n: j for j, n in enumerate(names)}
        masks = {c: na[:, [col_of[m] for m in self.term_groups[c]]].any(axis=1) for c in covs}
        message = _missing_message(self.row_names.iloc[idx], masks, len(idx))
        keep = ~na.any(axis=1)
        return X[keep], t[keep], e[keep], (message,), int((~keep).sum())


def prepare_cox(
    df: pd.DataFrame,
    time: str,
    event: str,
    covariates: Sequence[str],
    *,
    ties: str = "efron",
    categorical: Mapping[str, Any] | None = None,
    id_column: str | None = None,
    timefix: bool = True,
) -> CoxDesign:
    """Validate the data and build the Cox design once, for many refits (bootstrap, variable selection).

    The same checks and terms as :func:`fit_cox`; :meth:`CoxDesign.refit` then fits any rows and
    any subset of the covariates with the same core as ``fit_cox``, in a fraction of its time
    (``benchmarks/bench_refit.py``). Rows missing time or event are dropped here (counted, with a
    :class:`CoxWarning`); rows missing a covariate are kept and left out only of the refits that
    fit that covariate, as ``fit_cox`` (R's ``na.omit``) on those covariates would.

    Parameters
    ----------
    df, time, event, ties, categorical, id_column, timefix
        As :func:`fit_cox`.
    covariates
        Every candidate covariate (refits choose among them by name).

    Returns
    -------
    CoxDesign

    Example
    -------
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"t": rng.exponential(10, 80), "e": rng.integers(0, 2, 80),
    ...                   "x": rng.normal(size=80), "arm": rng.choice(["a", "b", "c"], 80)})
    >>> design = prepare_cox(d, "t", "e", ["x", "arm"], ties="breslow", categorical={"arm": "a"})
    >>> design.refit(rng.integers(0, 80, 80), terms=["arm"]).terms
    ('arm[b]', 'arm[c]')
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, found {ties!r}")
    categorical = dict(categorical or {})
    t, e, design, groups, _, dropped, msgs = _build_design(
        df, time, event, covariates, categorical, id_column, complete_cases=False, strict=False)
    for m in msgs:
        warnings.warn(m, CoxWarning, stacklevel=2)
    ids = df[id_column] if id_column is not None else pd.Series(df.index, index=df.index)
    valid = ~df[[time, event]].isna().any(axis=1).to_numpy()  # the rows _build_design kept
    return CoxDesign(t, e, design.to_numpy(dtype=float), design, ties, timefix, len(dropped), groups, ids[valid])
