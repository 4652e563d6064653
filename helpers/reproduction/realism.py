"""Realism of a SYNTHETIC registry: hard checks, and an explicit outcome model to draw from.

A synthetic registry calibrated to published numbers can hit the digits and still teach false
lessons: hazards that are not proportional, deaths piled up at a floor of the generator,
effects that jump at the paper's cut-offs, no other-cause deaths, treatment unrelated to
prognosis. This module measures those artefacts and offers the pieces of a generator that
avoids them by construction.

* :func:`realism_checks` computes every hard realism constraint on an analysed cohort
  (proportional hazards of the Table 3 model, clustering and timing of deaths, other-cause
  deaths, chemotherapy given by indication) and returns one row per check.
* :class:`OutcomeModel` is an explicit proportional-hazards outcome model on the log scale:
  smooth (log-linear) effects of the disease-free interval, largest lesion, primary size and
  age, binary effects of histology, number of metastases and resection status, a Weibull
  baseline, competing other-cause mortality rising with age (Gompertz) and exponential loss to
  follow-up. :func:`simulate_outcomes` draws from it; :func:`spline_vs_dichotomy` shows, on a
  large sample, that a spline fits the continuous effects better than the paper's dichotomies.
* :func:`chemotherapy_by_indication` gives chemotherapy preferentially to higher-risk patients
  (confounding by indication) with a fixed number of treated patients; it has no causal effect
  on outcome in :class:`OutcomeModel`.

The statistics come from the project's core (:func:`helpers.cox.fit_cox`,
:func:`helpers.cox.test_proportional_hazards`), so the checks are the ones notebook 03 shows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers.cohort import _require_columns
from helpers.cox import CoxWarning, fit_cox, test_proportional_hazards
from helpers.teaching.dichotomy import (  # dichotomy_verdict re-exported
    continuous_vs_dichotomy,
    dichotomy_verdict,  # noqa: F401
)

#: Histologies treated as higher-risk / chemotherapy-sensitive in practice.
CHEMO_SENSITIVE_HISTOLOGIES: tuple[str, ...] = (
    "synovial_sarcoma",
    "ewing_sarcoma",
    "cic_rearranged_sarcoma",
    "sarcoma_with_bcor_genetic_alterations",
    "extraskeletal_osteosarcoma",
)

#: Columns :func:`realism_checks` reads.
REALISM_COLUMNS: tuple[str, ...] = (
    "time_months",
    "event",
    "dfi_months",
    "date_first_pm",
    "date_of_death",
    "cause_of_death",
    "histology",
    "lung_metastasis_number",
    "lung_metastasis_distribution",
    "largest_lung_lesion_mm",
    "resection_status",
    "chemotherapy_before_pm",
    "chemotherapy_after_pm",
    "age_at_pm_years",
    "sex",
    "primary_site",
    "primary_tumor_size_cm",
    "resection_type",
)


@dataclass(frozen=True)
class RealismThresholds:
    """Limits of the hard realism constraints (see :func:`realism_checks`)."""

    ph_min_p: float = 0.05
    cluster_window_days: int = 14
    cluster_max_deaths: int = 2
    earliest_death_days: int = 30
    early_window_days: int = 90
    early_max_deaths: int = 1
    min_other_cause_deaths: int = 2
    chemo_min_difference: float = 0.15


def death_days(cohort: pd.DataFrame) -> np.ndarray:
    """Days from first PM to death of the patients who died (sorted).

    Parameters
    ----------
    cohort
        Rows with ``date_first_pm`` and ``date_of_death`` (empty for survivors).

    Returns
    -------
    numpy.ndarray

    Example
    -------
    >>> death_days(pd.DataFrame({"date_first_pm": ["2010-01-01", "2010-01-01"],
    ...                          "date_of_death": ["2010-03-02", None]})).tolist()
    [60]
    """
    pm = pd.to_datetime(cohort["date_first_pm"])
    dead = pd.to_datetime(cohort["date_of_death"])
    days = (dead - pm).dt.days.dropna().to_numpy(int)
    return np.sort(days)


def max_deaths_in_window(days: np.ndarray, window_days: int) -> int:
    """Largest number of deaths falling in any window of ``window_days`` consecutive days.

    Example
    -------
    >>> max_deaths_in_window(np.array([91, 93, 99, 200]), 14)
    3
    """
    d = np.sort(np.asarray(days))
    if d.size == 0:
        return 0
    ends = np.searchsorted(d, d + window_days, side="left")
    return int((ends - np.arange(d.size)).max())


def _ph_rows(cohort: pd.DataFrame, th: RealismThresholds, ties: str) -> list[dict]:
    from helpers.reproduction.synthetic import (  # the generator imports this module
        cox_design,
        factor_design,
    )

    design = cox_design(factor_design(cohort))
    df = design.assign(time=cohort["time_months"].to_numpy(), event=cohort["event"].to_numpy())
    with warnings.catch_warnings():  # the events-per-parameter caveat is not what is checked
        warnings.simplefilter("ignore", CoxWarning)
        fit = fit_cox(df, "time", "event", list(design.columns), ties=ties)
    zph = test_proportional_hazards(fit, "km")
    glob = float(zph.loc[zph["term"].eq("GLOBAL"), "p_value"].iloc[0])
    terms = zph.loc[zph["term"].ne("GLOBAL")]
    worst = terms.loc[terms["p_value"].idxmin()]
    return [
        _row("ph_global_p", glob, f">= {th.ph_min_p}", glob >= th.ph_min_p),
        _row(
            f"ph_min_term_p ({worst['term']})",
            float(worst["p_value"]),
            f">= {th.ph_min_p}",
            float(worst["p_value"]) >= th.ph_min_p,
        ),
    ]


def _row(check: str, value: float, limit: str, passed: bool) -> dict:
    return {"check": check, "value": value, "limit": limit, "passed": bool(passed)}


def _death_rows(cohort: pd.DataFrame, th: RealismThresholds) -> list[dict]:
    days = death_days(cohort)
    clusters = max_deaths_in_window(days, th.cluster_window_days)
    first = float(days.min()) if days.size else float("nan")
    early = int((days < th.early_window_days).sum())
    other = int(cohort["cause_of_death"].eq("other").sum())
    return [
        _row(
            f"max_deaths_in_{th.cluster_window_days}_days",
            clusters,
            f"<= {th.cluster_max_deaths}",
            clusters <= th.cluster_max_deaths,
        ),
        _row(
            "earliest_death_days",
            first,
            f">= {th.earliest_death_days}",
            not days.size or first >= th.earliest_death_days,
        ),
        _row(
            f"deaths_within_{th.early_window_days}_days",
            early,
            f"<= {th.early_max_deaths}",
            early <= th.early_max_deaths,
        ),
        _row(
            "other_cause_deaths",
            other,
            f">= {th.min_other_cause_deaths}",
            other >= th.min_other_cause_deaths,
        ),
    ]


def chemotherapy_indication(
    cohort: pd.DataFrame, *, dfi_column: str = "dfi_months"
) -> pd.DataFrame:
    """Proportion given chemotherapy before PM among higher- and lower-risk patients.

    Higher risk: a chemotherapy-sensitive histology (:data:`CHEMO_SENSITIVE_HISTOLOGIES`),
    DFI < 12 months, several or bilateral metastases.

    Returns
    -------
    pandas.DataFrame
        ``risk, n, treated, proportion`` (rows ``higher``, ``lower``) with the one-sided Fisher
        exact p (treatment more frequent among higher risk) in ``attrs["p_value"]``.

    Example
    -------
    >>> d = pd.DataFrame({"histology": ["ewing_sarcoma", "leiomyosarcoma"], "dfi_months": [30, 30],
    ...                   "lung_metastasis_number": [1, 1], "lung_metastasis_distribution": ["unilateral"] * 2,
    ...                   "chemotherapy_before_pm": ["yes", "no"]})
    >>> chemotherapy_indication(d)["treated"].tolist()
    [1, 0]
    """
    high = (
        cohort["histology"].isin(CHEMO_SENSITIVE_HISTOLOGIES)
        | (cohort[dfi_column] < 12)
        | (cohort["lung_metastasis_number"] > 1)
        | cohort["lung_metastasis_distribution"].eq("bilateral")
    )
    treated = cohort["chemotherapy_before_pm"].eq("yes")
    table = [[int((treated & h).sum()), int((~treated & h).sum())] for h in (high, ~high)]
    out = pd.DataFrame(
        {
            "risk": ["higher", "lower"],
            "n": [sum(r) for r in table],
            "treated": [r[0] for r in table],
        }
    )
    out["proportion"] = out["treated"] / out["n"].where(out["n"] > 0)
    out.attrs["p_value"] = float(stats.fisher_exact(table, alternative="greater").pvalue)
    return out


def realism_checks(
    cohort: pd.DataFrame, *, thresholds: RealismThresholds | None = None, ties: str = "breslow"
) -> pd.DataFrame:
    """Every hard realism constraint of a synthetic registry, measured on its analysed cohort.

    Parameters
    ----------
    cohort
        Analysed patients with ``time_months``, ``event`` (all-cause), ``dfi_months``, the
        dates of first PM and death, ``cause_of_death`` and the covariate columns (e.g.
        :func:`helpers.reproduction.synthetic.analysed_cohort`).
    thresholds
        Limits (:class:`RealismThresholds` defaults when None).
    ties
        Cox ties of the Table 3 model (``"breslow"``, as the paper).

    Returns
    -------
    pandas.DataFrame
        ``check, value, limit, passed``: the proportional-hazards score test (GLOBAL and the
        worst term, km transform, as R's ``cox.zph``), the most deaths in any window, the
        earliest death, deaths in the early window, other-cause deaths, and the difference in
        the proportion given chemotherapy before PM between higher- and lower-risk patients.

    Raises
    ------
    ValueError
        When a column of :data:`REALISM_COLUMNS` is missing.

    Example
    -------
    >>> from helpers.reproduction.synthetic import REGISTRY_PATH, analysed_cohort
    >>> checks = realism_checks(analysed_cohort(pd.read_csv(REGISTRY_PATH)))
    >>> bool(checks["passed"].all())
    True
    """
    _require_columns(cohort, REALISM_COLUMNS, "realism checks")
    th = thresholds or RealismThresholds()
    chemo = chemotherapy_indication(cohort)
    diff = float(chemo["proportion"].iloc[0] - chemo["proportion"].iloc[1])
    chemo_row = _row(
        "chemo_before_pm_higher_minus_lower_risk",
        diff,
        f">= {th.chemo_min_difference}",
        diff >= th.chemo_min_difference,
    )
    rows = _ph_rows(cohort, th, ties) + _death_rows(cohort, th) + [chemo_row]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# The explicit outcome model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeModel:
    """Proportional hazards of sarcoma death on the log scale, with competing risks.

    Log hazard ratios: per e-fold of DFI (reference 12 months), of the largest lesion
    (reference 20 mm) and of the primary size (reference 10 cm); per decade of age (reference
    50); and binary effects of UPS, several metastases and a non-curative resection.
    Chemotherapy has no causal effect. Baseline: Weibull (``scale_months``, ``shape``) for a
    patient at every reference; the default shape 1.4 gives a hazard that starts near zero
    after surgery (1.1 put several deaths in the first 90 days). Other-cause death: Gompertz
    in age (``other_rate_at_50`` per year at age 50, doubling every ``other_doubling_years``).
    Loss to follow-up: exponential.
    """

    scale_months: float = 120.0
    shape: float = 1.4
    log_hr_per_log_dfi: float = -0.6
    log_hr_per_log_lesion: float = 1.0
    log_hr_per_log_primary: float = 0.15
    log_hr_per_decade_age: float = 0.05
    log_hr_ups: float = 0.9
    log_hr_multiple: float = 0.3
    log_hr_non_curative: float = 2.2
    other_rate_at_50: float = 0.006
    other_doubling_years: float = 8.0
    loss_rate_per_year: float = 0.03

    #: Names of the log hazard ratios, in the column order of :meth:`features`.
    EFFECTS = (
        "log_hr_per_log_dfi",
        "log_hr_per_log_lesion",
        "log_hr_per_log_primary",
        "log_hr_per_decade_age",
        "log_hr_ups",
        "log_hr_multiple",
        "log_hr_non_curative",
    )

    @staticmethod
    def features(cov: pd.DataFrame, *, dfi_column: str = "dfi_months") -> np.ndarray:
        """(n, 7) matrix of the model's covariates, in :attr:`EFFECTS` order (0 at the references).

        DFI below half a month counts as half a month (the log needs a positive interval).
        """
        dfi = np.maximum(cov[dfi_column].to_numpy(float), 0.5)
        return np.column_stack(
            [
                np.log(dfi / 12.0),
                np.log(cov["largest_lung_lesion_mm"].to_numpy(float) / 20.0),
                np.log(cov["primary_tumor_size_cm"].to_numpy(float) / 10.0),
                (cov["age_at_pm_years"].to_numpy(float) - 50.0) / 10.0,
                cov["histology"].eq("undifferentiated_pleomorphic_sarcoma").to_numpy(float),
                (cov["lung_metastasis_number"].to_numpy() > 1).astype(float),
                cov["resection_status"].ne("r0").to_numpy(float),
            ]
        )

    @property
    def coefficients(self) -> np.ndarray:
        """The log hazard ratios in :attr:`EFFECTS` order."""
        return np.array([getattr(self, name) for name in self.EFFECTS])

    def linear_predictor(self, cov: pd.DataFrame, *, dfi_column: str = "dfi_months") -> np.ndarray:
        """Log relative hazard of sarcoma death of each row of ``cov`` (0 at the references)."""
        return self.features(cov, dfi_column=dfi_column) @ self.coefficients

    def sarcoma_time(self, lp: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Months to sarcoma death: the Weibull inverse CDF at ``u`` for linear predictor ``lp``."""
        return self.scale_months * (-np.log1p(-np.asarray(u)) / np.exp(lp)) ** (1.0 / self.shape)

    def other_time(self, age_years: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Months to other-cause death: the Gompertz inverse CDF at ``v`` for age at PM."""
        b = np.log(2.0) / (self.other_doubling_years * 12.0)
        h0 = self.other_rate_at_50 / 12.0 * np.exp(b * 12.0 * (np.asarray(age_years, float) - 50.0))
        return np.log1p(-np.log1p(-np.asarray(v)) * b / h0) / b

    def loss_time(self, w: np.ndarray) -> np.ndarray:
        """Months to loss to follow-up: the exponential inverse CDF at ``w``."""
        return -np.log1p(-np.asarray(w)) * 12.0 / self.loss_rate_per_year


def simulate_outcomes(
    cov: pd.DataFrame,
    model: OutcomeModel,
    admin_months: np.ndarray,
    rng: np.random.Generator,
    *,
    dfi_column: str = "dfi_months",
) -> pd.DataFrame:
    """Draw follow-up from :class:`OutcomeModel`: sarcoma death, other death, loss, cut-off.

    Parameters
    ----------
    cov
        Covariates (``age_at_pm_years``, ``histology``, sizes, number, resection status, DFI).
    model
        The outcome model.
    admin_months
        Per row, months from first PM to the data cut-off (administrative censoring).
    rng
        Seeded generator.
    dfi_column
        Disease-free interval in months.

    Returns
    -------
    pandas.DataFrame
        ``time_months, event`` (1 = death of any cause) and ``cause`` (``sarcoma``, ``other``,
        or empty when censored), same index as ``cov``.

    Example
    -------
    >>> cov = pd.DataFrame({"dfi_months": [6.0, 40.0], "largest_lung_lesion_mm": [25, 10],
    ...     "primary_tumor_size_cm": [12, 5], "age_at_pm_years": [60, 40], "histology": ["x", "y"],
    ...     "lung_metastasis_number": [2, 1], "resection_status": ["r0", "r0"]})
    >>> out = simulate_outcomes(cov, OutcomeModel(), np.array([120.0, 120.0]), np.random.default_rng(1))
    >>> sorted(out.columns)
    ['cause', 'event', 'time_months']
    """
    n = len(cov)
    u, v, w = rng.uniform(size=(3, n))
    lp = model.linear_predictor(cov, dfi_column=dfi_column)
    times = np.column_stack(
        [
            model.sarcoma_time(lp, u),
            model.other_time(cov["age_at_pm_years"].to_numpy(float), v),
            model.loss_time(w),
            np.asarray(admin_months, float),
        ]
    )
    which = times.argmin(axis=1)
    cause = np.array(["sarcoma", "other", "", ""])[which]
    return pd.DataFrame(
        {"time_months": times.min(axis=1), "event": (which < 2).astype(int), "cause": cause},
        index=cov.index,
    )


def chemotherapy_by_indication(
    risk_score: np.ndarray,
    n_treated: int,
    rng: np.random.Generator | None,
    *,
    strength: float = 1.0,
    noise: np.ndarray | None = None,
) -> np.ndarray:
    """Choose ``n_treated`` patients with probability rising with their risk score.

    Draws without replacement with weights ``exp(strength * risk_score)`` (Gumbel top-k), so the
    number treated matches a published count while treatment goes preferentially to higher-risk
    patients (confounding by indication). ``strength = 0`` is treatment at random. ``noise``:
    the patients' Gumbel draws, when the caller keeps them (``rng`` may then be None).

    Returns
    -------
    numpy.ndarray
        Boolean mask, ``n_treated`` True.

    Example
    -------
    >>> int(chemotherapy_by_indication(np.arange(10.0), 3, np.random.default_rng(0)).sum())
    3
    """
    if noise is None:
        noise = rng.gumbel(size=len(risk_score))
    score = strength * np.asarray(risk_score, float) + np.asarray(noise, float)
    mask = np.zeros(len(risk_score), bool)
    mask[np.argsort(-score, kind="stable")[:n_treated]] = True
    return mask


def draw_population(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Covariates of a large plausible population (for :func:`spline_vs_dichotomy`).

    DFI and sizes are log-normal around the paper's medians (DFI 19 months, lesion 15 mm,
    primary 8 cm), age normal around 50; 15 % UPS, 40 % several metastases, 5 % non-curative.

    Example
    -------
    >>> len(draw_population(5, np.random.default_rng(0)))
    5
    """
    return pd.DataFrame(
        {
            "dfi_months": np.exp(rng.normal(np.log(19.0), 0.9, n)),
            "largest_lung_lesion_mm": np.clip(np.exp(rng.normal(np.log(15.0), 0.55, n)), 3, 90),
            "primary_tumor_size_cm": np.clip(np.exp(rng.normal(np.log(8.0), 0.6, n)), 1, 40),
            "age_at_pm_years": np.clip(rng.normal(50, 15, n), 15, 85),
            "histology": np.where(
                rng.uniform(size=n) < 0.15, "undifferentiated_pleomorphic_sarcoma", "other"
            ),
            "lung_metastasis_number": np.where(rng.uniform(size=n) < 0.4, 2, 1),
            "resection_status": np.where(rng.uniform(size=n) < 0.05, "r2", "r0"),
        }
    )


def spline_vs_dichotomy(
    model: OutcomeModel, *, n: int = 100_000, seed: int = 0, follow_up_months: float = 120.0
) -> pd.DataFrame:
    """Does a spline fit a continuous effect better than the paper's dichotomy? (large sample)

    Draws ``n`` patients from :func:`draw_population` and :func:`simulate_outcomes` (censored at
    ``follow_up_months``), then, for DFI and for the largest lesion, compares the paper's
    dichotomy (12 months, 20 mm) with a cubic B-spline of the log (3 df) by
    :func:`continuous_vs_dichotomy`.

    Returns
    -------
    pandas.DataFrame
        ``variable, lr_dichotomy, lr_spline, aic_gain_spline`` (positive gain: spline better).

    Example
    -------
    >>> spline_vs_dichotomy(OutcomeModel(), n=2000)["variable"].tolist()
    ['dfi_months', 'largest_lung_lesion_mm']
    """
    rng = np.random.default_rng(seed)
    pop = draw_population(n, rng)
    data = pop.join(simulate_outcomes(pop, model, np.full(n, follow_up_months), rng))
    rows = []
    for var, cut in (("dfi_months", 12.0), ("largest_lung_lesion_mm", 20.0)):
        fits = continuous_vs_dichotomy(data, "time_months", "event", var, cut).set_index("form")
        rows.append(
            {
                "variable": var,
                "lr_dichotomy": fits.loc["dichotomy", "lr_statistic"],
                "lr_spline": fits.loc["spline", "lr_statistic"],
                "aic_gain_spline": fits.loc["dichotomy", "aic"] - fits.loc["spline", "aic"],
            }
        )
    return pd.DataFrame(rows)


#: What each realism check protects: the lesson a registry that fails it would teach wrongly.
LESSONS: dict[str, str] = {
    "ph_global_p": "reading a Cox hazard ratio as a constant ratio of death rates at every moment "
    "(the proportional-hazards assumption fails in this registry)",
    "ph_min_term_p": "reading each Table 3 hazard ratio as constant over follow-up",
    "max_deaths_in": "the shape of the survival curve (deaths cluster in a few days, a drop a "
    "clinician would read as a perioperative catastrophe)",
    "earliest_death_days": "perioperative mortality (deaths within a month of surgery)",
    "deaths_within": "early mortality after metastasectomy",
    "other_cause_deaths": "the difference between all-cause and disease-specific survival "
    "(no other-cause deaths, so both endpoints give the same answer)",
    "chemo_before_pm": "confounding by indication (chemotherapy is unrelated to prognosis here)",
}


def lessons_at_risk(checks: pd.DataFrame) -> pd.DataFrame:
    """The lessons a registry cannot teach because it fails a realism check.

    Parameters
    ----------
    checks
        Output of :func:`realism_checks`.

    Returns
    -------
    pandas.DataFrame
        ``check, value, lesson``: one row per failed check (empty when every check passes).

    Example
    -------
    >>> t = pd.DataFrame({"check": ["other_cause_deaths"], "value": [0], "limit": [">= 2"], "passed": [False]})
    >>> lessons_at_risk(t)["lesson"].str.startswith("the difference").tolist()
    [True]
    """
    failed = checks.loc[~checks["passed"], ["check", "value"]].copy()
    failed["lesson"] = [
        next(text for key, text in LESSONS.items() if c.startswith(key)) for c in failed["check"]
    ]
    return failed.reset_index(drop=True)


#: What one unit of each effect of :class:`OutcomeModel` is, in :attr:`OutcomeModel.EFFECTS` order.
EFFECT_UNITS: dict[str, str] = {
    "log_hr_per_log_dfi": "DFI x e (e-fold longer)",
    "log_hr_per_log_lesion": "largest lesion x e",
    "log_hr_per_log_primary": "primary size x e",
    "log_hr_per_decade_age": "10 years older",
    "log_hr_ups": "UPS vs other histology",
    "log_hr_multiple": "several vs one metastasis",
    "log_hr_non_curative": "non-curative (R2) vs R0",
}


def model_hazard_ratios(model: OutcomeModel) -> pd.DataFrame:
    """The hazard ratio of sarcoma death per unit of each effect of the outcome model.

    Returns
    -------
    pandas.DataFrame
        ``effect, unit, log_hr, hazard_ratio`` in :attr:`OutcomeModel.EFFECTS` order.

    Example
    -------
    >>> model_hazard_ratios(OutcomeModel())["effect"].iloc[0]
    'log_hr_per_log_dfi'
    """
    coef = model.coefficients
    return pd.DataFrame(
        {
            "effect": list(OutcomeModel.EFFECTS),
            "unit": [EFFECT_UNITS[e] for e in OutcomeModel.EFFECTS],
            "log_hr": coef,
            "hazard_ratio": np.exp(coef),
        }
    )


#: Continuous effects of :class:`OutcomeModel`: (column, coefficient, reference, paper's cut-off,
#: plotted range, unit).
_CURVES: tuple[tuple[str, str, float, float, tuple[float, float], str], ...] = (
    ("dfi_months", "log_hr_per_log_dfi", 12.0, 12.0, (0.5, 105.0), "months"),
    ("largest_lung_lesion_mm", "log_hr_per_log_lesion", 20.0, 20.0, (3.0, 60.0), "mm"),
    ("primary_tumor_size_cm", "log_hr_per_log_primary", 10.0, 10.0, (2.0, 35.0), "cm"),
    ("age_at_pm_years", "log_hr_per_decade_age", 50.0, 50.0, (17.0, 82.0), "years"),
)


def effect_curves(model: OutcomeModel, *, points: int = 200) -> pd.DataFrame:
    """Hazard ratio of sarcoma death along each continuous variable, against its reference.

    The effects are smooth by construction (log-linear in DFI, lesion and primary size, linear
    in age): nothing jumps at the paper's cut-offs, which are returned for reference.

    Parameters
    ----------
    model
        The outcome model.
    points
        Grid points per variable.

    Returns
    -------
    pandas.DataFrame
        ``variable, value, hazard_ratio, reference, cutoff, unit``.

    Example
    -------
    >>> c = effect_curves(OutcomeModel(), points=3)
    >>> c.groupby("variable").size().tolist()
    [3, 3, 3, 3]
    """
    frames = []
    for var, coef, ref, cut, (lo, hi), unit in _CURVES:
        x = np.linspace(lo, hi, points)
        z = (x - ref) / 10.0 if var == "age_at_pm_years" else np.log(x / ref)
        frames.append(
            pd.DataFrame(
                {
                    "variable": var,
                    "value": x,
                    "hazard_ratio": np.exp(getattr(model, coef) * z),
                    "reference": ref,
                    "cutoff": cut,
                    "unit": unit,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
