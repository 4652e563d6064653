"""Tables about a registry's structure for notebook 05 (joint structure, events per Cox covariate)."""

from __future__ import annotations

import math

import pandas as pd

from helpers.reproduction.synthetic.evaluator import VectorisedEvaluator, cox_design, factor_design
from helpers.reproduction.synthetic.loss import Targets, load_targets
from helpers.reproduction.synthetic.settings import _Z975


def joint_structure(df: pd.DataFrame, *, dfi_column: str = "dfi_months") -> pd.DataFrame:
    """How often the Table 3 risk levels occur together: the structure no table publishes.

    Parameters
    ----------
    df
        Patients with the dictionary's covariate columns and ``dfi_column`` (months).
    dfi_column
        Column with the disease-free interval in months.

    Returns
    -------
    pandas.DataFrame
        One row per pair of Table 3 covariates: ``covariate_a``, ``covariate_b``, ``n_both``
        (patients at the risk level of both), ``n_a``, ``n_b``.

    Example
    -------
    >>> from helpers.reproduction.synthetic import make_covariates, factor_design, cox_design, VectorisedEvaluator
    >>> import numpy as np
    >>> cov = make_covariates(1)
    >>> cov["dfi_months"] = cov["dfi_days"] / 30.4375
    >>> joint_structure(cov).shape
    (10, 5)
    """
    x = cox_design(factor_design(df, dfi_column=dfi_column))
    rows = []
    cols = list(x.columns)
    for i, a in enumerate(cols):
        for b in cols[i + 1 :]:
            rows.append((a, b, int((x[a] & x[b]).sum()), int(x[a].sum()), int(x[b].sum())))
    return pd.DataFrame(rows, columns=["covariate_a", "covariate_b", "n_both", "n_a", "n_b"])


def cox_events_table(
    df: pd.DataFrame,
    targets: Targets | None = None,
    *,
    time: str = "time_months",
    event: str = "event",
    dfi_column: str = "dfi_months",
) -> pd.DataFrame:
    """Deaths behind each Table 3 coefficient, with its standard error beside the paper's.

    A Cox coefficient's standard error shrinks as the deaths in both of its groups grow
    (for one binary factor roughly ``sqrt(1/d1 + 1/d0)``) and grows with its confounding by the
    other factors. Published confidence limits therefore say something about how many deaths
    each group had and how the factors overlapped, which no published table states.

    Parameters
    ----------
    df
        Analysed patients with the dictionary's covariate columns, ``time``, ``event`` and
        ``dfi_column`` (e.g. :func:`analysed_cohort`).
    targets
        Targets (:func:`load_targets` when None), for the published standard errors.
    time, event, dfi_column
        Survival columns (months, 0/1) and the DFI in months.

    Returns
    -------
    pandas.DataFrame
        One row per Table 3 covariate: ``covariate``, ``n_risk_level``, ``deaths_risk_level``,
        ``deaths_reference``, ``se_unadjusted_approx`` (``sqrt(1/d1 + 1/d0)``), ``se`` (the
        multivariable model's, Breslow ties) and ``se_published`` (from the printed 95 % CI).

    Example
    -------
    >>> import pandas as pd
    >>> from helpers.reproduction.synthetic import REGISTRY_PATH, analysed_cohort
    >>> cox_events_table(analysed_cohort(pd.read_csv(REGISTRY_PATH))).shape[0] > 0
    True
    """
    tg = targets or load_targets()
    fd = factor_design(df, dfi_column=dfi_column)
    x = cox_design(fd)
    t = df[time].to_numpy(float)
    e = df[event].to_numpy(int)
    s = VectorisedEvaluator(fd.to_numpy(float), x.to_numpy(float)).evaluate(t, e)
    se_pub = (tg.log_ci_high - tg.log_ci_low) / (2.0 * _Z975)
    rows = []
    for k, col in enumerate(x.columns):
        at = x[col].to_numpy() == 1
        d1, d0 = int(e[at].sum()), int(e[~at].sum())
        approx = math.sqrt(1.0 / d1 + 1.0 / d0) if d1 and d0 else math.inf
        rows.append((col, int(at.sum()), d1, d0, approx, float(s.beta_se[k]), float(se_pub[k])))
    return pd.DataFrame(
        rows,
        columns=[
            "covariate", "n_risk_level", "deaths_risk_level", "deaths_reference",
            "se_unadjusted_approx", "se", "se_published",
        ],
    )
