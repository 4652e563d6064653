"""Outcome draws of the synthetic registry: latent uniforms, event times from the outcome model, plausibility checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers.reproduction.realism import (
    OutcomeModel,
)
from helpers.reproduction.synthetic.covariates import KEY_COLUMNS
from helpers.reproduction.synthetic.evaluator import VectorisedEvaluator, cox_design, factor_design
from helpers.reproduction.synthetic.settings import (
    COX_COVARIATES,
    FACTORS,
    HISTOLOGY_AGE_RANGE,
    SyntheticSettings,
)
from helpers.schema import DAYS_PER_MONTH

# --------------------------------------------------------------------------------------------
# Outcomes drawn from the explicit model
# --------------------------------------------------------------------------------------------


@dataclass
class Latents:
    """The uniform draws behind each patient's follow-up (a draw of the outcome model).

    Attributes
    ----------
    u, v, w
        Uniforms of the sarcoma death, the other-cause death and the loss to follow-up: each
        time is the model's inverse CDF at its uniform, given the patient's covariates.
    pm_day
        Days from ``window_start`` to the first PM (uniform over the study window).
    lag_days
        Days between the last contact of a patient alive at the cut-off and the cut-off.
    keys
        (n, 5) uniform keys of the covariates without effect on outcome (:data:`KEY_COLUMNS`).
    """

    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    pm_day: np.ndarray
    lag_days: np.ndarray
    keys: np.ndarray

    def copy(self) -> Latents:
        """A deep copy."""
        arrays = (self.u, self.v, self.w, self.pm_day, self.lag_days, self.keys)
        return Latents(*(a.copy() for a in arrays))


def draw_latents(
    n: int, settings: SyntheticSettings, rng: np.random.Generator, keys: np.ndarray | None = None
) -> Latents:
    """Fresh uniforms and dates of first PM for ``n`` patients (and covariate keys if None).

    Example
    -------
    >>> lat = draw_latents(3, SyntheticSettings(), np.random.default_rng(0))
    >>> lat.u.shape, bool(lat.pm_day.min() >= 0)
    ((3,), True)
    """
    span = (pd.Timestamp(settings.window_end) - pd.Timestamp(settings.window_start)).days
    u, v, w = rng.uniform(size=(3, n))
    pm = rng.integers(0, span + 1, size=n)
    lag = rng.integers(0, settings.admin_lag_days_max + 1, size=n)
    keys = rng.uniform(size=(n, len(KEY_COLUMNS))) if keys is None else np.array(keys, float)
    return Latents(u, v, w, pm, lag, keys)


#: Codes of how follow-up ends (:func:`outcome_days`).
END_CODES: tuple[str, ...] = ("sarcoma", "other", "lost", "cutoff")


def outcome_days(
    model: OutcomeModel,
    features: np.ndarray,
    age_years: np.ndarray,
    latents: Latents,
    settings: SyntheticSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Follow-up in whole days from the model's inverse CDFs at the patients' uniforms.

    Sarcoma death (Weibull proportional hazards), other-cause death (Gompertz in age) and loss
    to follow-up (exponential) are drawn by :class:`helpers.reproduction.realism.OutcomeModel`; the data
    cut-off censors the rest (first PM plus follow-up never passes ``cutoff_date - lag``).
    No floor and no ceiling on any time.

    Parameters
    ----------
    model
        The outcome model.
    features
        (n, 7) covariates of the model (:meth:`helpers.reproduction.realism.OutcomeModel.features`).
    age_years
        Age at PM.
    latents
        The uniforms and dates (:func:`draw_latents`).
    settings
        Study dates.

    Returns
    -------
    tuple
        ``time_days`` (int, at least 1), ``event`` (1 = death of any cause) and ``end`` (index
        into :data:`END_CODES`).

    Example
    -------
    >>> st = SyntheticSettings()
    >>> lat = draw_latents(4, st, np.random.default_rng(1))
    >>> t, e, end = outcome_days(st.model, np.zeros((4, 7)), np.full(4, 50.0), lat, st)
    >>> t.dtype.kind, set(e.tolist()) <= {0, 1}
    ('i', True)
    """
    lp = features @ model.coefficients
    months = np.column_stack(
        [
            model.sarcoma_time(lp, latents.u),
            model.other_time(age_years, latents.v),
            model.loss_time(latents.w),
        ]
    )
    days = np.maximum(np.rint(np.minimum(months, 1e5) * DAYS_PER_MONTH), 1.0)
    span = (pd.Timestamp(settings.cutoff_date) - pd.Timestamp(settings.window_start)).days
    admin = span - latents.pm_day - latents.lag_days
    times = np.column_stack([days, admin])
    end = times.argmin(axis=1)
    time_days = times[np.arange(len(end)), end].astype(int)
    return time_days, (end < 2).astype(int), end


def latent_ks_p(latents: Latents) -> dict[str, float]:
    """Kolmogorov-Smirnov p of each patient uniform against U(0, 1) (are they still draws?).

    Example
    -------
    >>> lat = draw_latents(66, SyntheticSettings(), np.random.default_rng(2))
    >>> sorted(latent_ks_p(lat))
    ['loss_w', 'other_cause_v', 'sarcoma_u']
    """
    pairs = (("sarcoma_u", latents.u), ("other_cause_v", latents.v), ("loss_w", latents.w))
    return {k: float(stats.kstest(a, "uniform").pvalue) for k, a in pairs}


def _ks_statistic(a: np.ndarray) -> float:
    """Two-sided Kolmogorov-Smirnov D of ``a`` against U(0, 1) (fast, for the search)."""
    x = np.sort(a)
    n = x.size
    i = np.arange(1, n + 1)
    return float(max((i / n - x).max(), (x - (i - 1) / n).max()))


# --------------------------------------------------------------------------------------------
# Plausibility constraints
# --------------------------------------------------------------------------------------------


def _r2_rule(months: np.ndarray, event: np.ndarray) -> bool:
    """R2 (pleural dissemination): at least 2 die within 36 months, none seen alive past 60."""
    early_deaths = sum(1 for m, e in zip(months.tolist(), event.tolist(), strict=True) if e == 1 and m <= 36.0)
    alive_late = any(e == 0 and m > 60.0 for m, e in zip(months.tolist(), event.tolist(), strict=True))
    return early_deaths >= min(2, len(months)) and not alive_late


def check_plausibility(
    registry: pd.DataFrame,
    settings: SyntheticSettings | None = None,
    *,
    time: str = "time_months",
    event: str = "event",
) -> pd.DataFrame:
    """Check the plausibility constraints of a synthetic registry on its analysed cohort.

    Parameters
    ----------
    registry
        Analysed (eligible) patients with the dictionary's columns and ``time``/``event``
        (e.g. from ``helpers.schema.add_survival_columns``).
    settings
        Limits (defaults of :class:`SyntheticSettings` when None).
    time, event
        Survival columns (months, 0/1).

    Returns
    -------
    pandas.DataFrame
        One row per constraint: ``constraint``, ``value``, ``limit``, ``ok``.

    Example
    -------
    >>> from helpers.reproduction.synthetic import REGISTRY_PATH, analysed_cohort
    >>> checks = check_plausibility(analysed_cohort(pd.read_csv(REGISTRY_PATH)))
    >>> checks.shape
    (12, 4)
    """
    st = settings or SyntheticSettings()
    t = registry[time].to_numpy(float)
    e = registry[event].to_numpy(int)
    cut = pd.Timestamp(st.cutoff_date)
    dead = registry["vital_status"].eq("dead")
    end = pd.to_datetime(registry["date_of_death"]).where(dead, pd.to_datetime(registry["date_last_contact"]))
    pm = pd.to_datetime(registry["date_first_pm"])
    r2 = registry["resection_status"].eq("r2").to_numpy()
    bilateral = registry["lung_metastasis_distribution"].eq("bilateral")
    two_stage = registry["two_stage_pm"].eq("yes")
    rows = [
        ("follow-up ends on or before the cut-off (patients beyond)", int((end > cut).sum()), 0),
        (
            "first PM inside the study window (patients outside)",
            int(((pm < pd.Timestamp(st.window_start)) | (pm > pd.Timestamp(st.window_end))).sum()),
            0,
        ),
        ("censored before 6 months", int(np.sum((e == 0) & (t < 6.0))), st.max_lost_before_6_months),
        ("deaths after 120 months", int(np.sum((e == 1) & (t > 120.0))), st.max_deaths_after_120_months),
        ("deaths (min)", int(e.sum()), st.min_deaths),
        ("deaths (max)", int(e.sum()), st.max_deaths),
        ("bilateral with a single metastasis", int((bilateral & (registry["lung_metastasis_number"] < 2)).sum()), 0),
        ("two-stage PM without bilateral disease", int((two_stage & ~bilateral).sum()), 0),
        ("R2: >=2 deaths within 36 months, none alive past 60 (rule broken)", int(not _r2_rule(t[r2], e[r2])), 0),
        ("deaths within min_death_days of PM", int(np.sum((e == 1) & (t * DAYS_PER_MONTH < st.min_death_days - 0.5))), 0),
    ]
    ages = registry["age_at_pm_years"].to_numpy()
    bad_age = [
        not (HISTOLOGY_AGE_RANGE[h][0] <= a <= HISTOLOGY_AGE_RANGE[h][1])
        for h, a in zip(registry["histology"], ages, strict=True)
        if h in HISTOLOGY_AGE_RANGE
    ]
    rows.append(("age outside the plausible range of the histology", int(sum(bad_age)), 0))
    if "dfi_months" in registry.columns:
        fd = factor_design(registry)
        ev = VectorisedEvaluator(fd.to_numpy(float), cox_design(fd).to_numpy(float))
        undefined = ev.evaluate(t, e, cox=False).undefined_rates
        rows.append(("five-year rates undefined (nobody followed to 60 months)", undefined, 0))
    out = pd.DataFrame(rows, columns=["constraint", "value", "limit"])
    is_min = out["constraint"].eq("deaths (min)")
    out["ok"] = np.where(is_min, out["value"] >= out["limit"], out["value"] <= out["limit"])
    return out


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------

_N_RATES = 2 * len(FACTORS) + 1 + 2 * len(FACTORS)
_NB = len(COX_COVARIATES)
#: Positions of the Cox statistics (log HR, log CI limits, Wald z) in :func:`_statistic_vector`.
_COX = np.r_[np.arange(_N_RATES, _N_RATES + 3 * _NB), np.arange(_N_RATES + 3 * _NB + 4, _N_RATES + 4 * _NB + 4)]
_NON_COX = np.r_[np.arange(_N_RATES), np.arange(_N_RATES + 3 * _NB, _N_RATES + 3 * _NB + 4)]
#: Penalty per unit of a violated plausibility or realism constraint (dwarfs every fidelity term).
_VIOLATION_PENALTY = 1.0e4
