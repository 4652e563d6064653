"""Firth-penalised Cox regression for sparse levels, in the layout of Table 3.

Reproduction toolkit (notebook 06). With 32 deaths, a level held by a handful of patients (the
non-curative resections; an R2 level of three) can make the partial likelihood monotone: the
ordinary estimate runs off to infinity and its Wald interval means nothing
(:func:`helpers.cox.fit_cox` flags such terms). Firth's penalty (Heinze and Schemper 2001,
Biometrics 57:114) adds half the log-determinant of the information, which keeps every estimate
finite and removes the first-order bias; profile-penalised-likelihood intervals replace Wald's.

The fit is ``firthmodels.FirthCoxPH`` (Breslow ties, as R's ``coxphf``); this module only builds
the same design as :func:`helpers.cox.fit_cox` from the same inputs and returns the same table
columns plus ``method``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from helpers.cox import CoxWarning, _build_design, _check_alpha

#: The columns of :attr:`FirthResult.table` (``fit_cox``'s table plus ``method``).
TABLE_COLUMNS: tuple[str, ...] = ("term", "variable", "level", "reference", "coef", "se", "hr", "ci_low",
                                  "ci_high", "z", "p_value", "flag", "method")


@dataclass(frozen=True, eq=False)
class FirthResult:
    """A Firth-penalised Cox fit (see :func:`fit_cox_firth`).

    Attributes
    ----------
    table
        ``term, variable, level, reference, coef, se, hr, ci_low, ci_high, z, p_value, flag,
        method``: ``se`` and ``z`` are Wald's (penalised information), ``ci_low, ci_high`` the
        profile-penalised-likelihood interval, ``p_value`` the penalised likelihood-ratio test,
        ``method`` ``"firth"``.
    n, events
        Patients analysed and events among them.
    penalised_log_likelihood
        The maximised penalised log partial likelihood.
    converged
        Whether ``FirthCoxPH`` converged.
    n_dropped_missing
        Rows dropped for missing values (also in ``warnings``).
    warnings
        Human-readable caveats (also raised as :class:`helpers.cox.CoxWarning`).
    """

    table: pd.DataFrame
    n: int
    events: int
    penalised_log_likelihood: float
    converged: bool
    n_dropped_missing: int
    warnings: tuple[str, ...]


def fit_cox_firth(
    df: pd.DataFrame,
    time: str,
    event: str,
    covariates: Sequence[str],
    *,
    ties: str = "breslow",
    categorical: Mapping[str, Any] | None = None,
    alpha: float = 0.05,
    id_column: str | None = None,
) -> FirthResult:
    """Firth-penalised Cox model with the inputs of :func:`helpers.cox.fit_cox`.

    Parameters
    ----------
    df, time, event, covariates, categorical, alpha, id_column
        As :func:`helpers.cox.fit_cox` (same validation, same dummy terms and names).
    ties
        Only ``"breslow"``: the penalised likelihood of ``FirthCoxPH`` (and R's ``coxphf``) uses
        Breslow's handling of tied event times.

    Returns
    -------
    FirthResult

    Example
    -------
    >>> d = pd.DataFrame({"t": [1.0, 2.0], "e": [1, 0], "x": [1.0, 0.0]})
    >>> round(float(fit_cox_firth(d, "t", "e", ["x"]).table["coef"].iloc[0]), 6)  # log 3
    1.098612
    """
    from firthmodels import FirthCoxPH

    if ties != "breslow":
        raise ValueError(f"ties must be 'breslow' for the Firth fit (FirthCoxPH, R's coxphf), found {ties!r}")
    alpha = _check_alpha(alpha)
    t, e, design, _, term_info, dropped, msgs = _build_design(
        df, time, event, covariates, dict(categorical or {}), id_column)
    model = FirthCoxPH(max_iter=100).fit(design.to_numpy(dtype=float), (e.astype(bool), t))
    ci = model.conf_int(alpha=alpha, method="pl")
    model.lrt()
    if not model.converged_:
        msgs.append("the penalised Newton-Raphson iterations did not converge; estimates are unreliable")
    table = pd.DataFrame(term_info).assign(
        coef=model.coef_, se=model.bse_, hr=np.exp(model.coef_), ci_low=np.exp(ci[:, 0]), ci_high=np.exp(ci[:, 1]),
        z=model.coef_ / model.bse_, p_value=model.lrt_pvalues_,
        flag=np.where(np.isfinite(ci).all(axis=1), "", "profile interval not found"), method="firth")
    table.attrs["warnings"] = list(msgs)
    for m in msgs:
        warnings.warn(m, CoxWarning, stacklevel=2)
    return FirthResult(table=table[list(TABLE_COLUMNS)], n=len(t), events=int(e.sum()),
                       penalised_log_likelihood=float(model.loglik_), converged=bool(model.converged_),
                       n_dropped_missing=len(dropped), warnings=tuple(msgs))
