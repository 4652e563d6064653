"""The seeded generator of the shipped SYNTHETIC registry (``python -m helpers.synthetic``).

THE REGISTRY THIS MODULE WRITES IS SYNTHETIC: 95 invented patients whose tables are calibrated
to the published tables of Nakayama et al., Cancers 2022;14:3329. No clinical conclusion may be
drawn from it.

How the file is made, in four steps (all driven by one seeded ``numpy.random.Generator``):

1. **Covariates, exactly.** The 66 eligible patients reproduce every Table 1 count, median and
   range and every Table 2 group size (:func:`make_covariates`). Continuous margins are drawn as
   constrained order statistics, so that the sorted values hit the printed minimum, median and
   maximum and the printed number below each Table 2 cut-off. The disease-free interval (DFI) is
   stored as dates; its length in days is ``ceil(m * 30.4375)`` for a whole number of months
   ``m``, so that ``helpers.schema.months_between`` gives ``m <= DFI < m + 0.033`` months: the
   value rounds to the printed whole month and never falls on the wrong side of the 12-month
   cut-off. The 29 excluded patients carry the paper's reasons and counts. The starting joint
   structure follows clinical expectation: ages suit the histology, and the three R2 resections
   (pleural dissemination) and half of the UPS patients have a DFI < 12 months, several
   metastases and a lesion >= 20 mm. No published table fixes this structure; it is invented.
2. **Outcomes from a documented model** (:func:`simulate_outcomes`): proportional hazards with the
   Table 3 log hazard ratios as effects (DFI < 12 months, UPS, multiple metastases, largest
   lesion >= 20 mm, non-curative resection), a Weibull baseline, the first PM uniform over the
   study window (January 2007 - January 2021), administrative censoring at the data cut-off
   (alive patients last seen 0-90 days before it) and exponential loss to follow-up.
3. **Calibration** (:func:`calibrate`): simulated annealing over swaps of outcomes between
   patients, swaps of covariate blocks between patients (blocks keep every Table 1 margin:
   number + distribution + two-stage move together, the pre/post chemotherapy pair moves
   together), perturbations of single times and flips of single events. It minimises a loss
   over every published statistic (:func:`calibration_loss`) under hard plausibility
   constraints (:func:`check_plausibility`). Independent chains run in parallel and the best
   is kept. Each stops after a fixed number of iterations, never on time, so the result is
   deterministic whatever the number of processes.
4. **Dates** (:func:`build_registry`): times in days become dates of first PM, last contact and
   death; every follow-up ends on or before the data cut-off.
5. **Perioperative details** (:func:`add_perioperative_details`): the reason of each R2 resection
   and the kind of each complication, last and from a random stream of their own, so that they
   change no other column.

The evaluator inside the search (:class:`VectorisedEvaluator`) is hand-written numpy: lifelines
and statsmodels evaluate about 2-3 candidate cohorts per second, far too slow for the hundreds of
thousands of candidates the search visits. It is verified against lifelines (Kaplan-Meier,
log-rank) and statsmodels ``PHReg(ties="breslow")`` (Cox) in ``tests/test_synthetic.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special, stats

from helpers import DATA_DIR
from helpers.describe import round_half_up
from helpers.schema import DAYS_PER_MONTH, add_survival_columns

#: Where ``python -m helpers.synthetic`` writes the registry.
REGISTRY_PATH: Path = DATA_DIR / "registry.csv"
#: Seed, settings, achieved loss, per-target results and SHA-256 of the registry.
PROVENANCE_PATH: Path = DATA_DIR / "registry_provenance.json"
#: The paper's numbers.
PUBLISHED_PATH: Path = DATA_DIR / "published_targets.json"

#: Registry columns, in the order of ``data/data_dictionary.yaml``.
REGISTRY_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "age_at_pm_years",
    "sex",
    "primary_site",
    "first_pm_elsewhere",
    "histology",
    "primary_tumor_size_cm",
    "date_primary_surgery",
    "date_lung_metastasis_diagnosis",
    "date_first_pm",
    "two_stage_pm",
    "lung_metastasis_distribution",
    "lung_metastasis_number",
    "largest_lung_lesion_mm",
    "resection_type",
    "resection_status",
    "r2_reason",
    "chemotherapy_before_pm",
    "chemotherapy_after_pm",
    "clavien_dindo_grade",
    "complication_kind",
    "postoperative_stay_days",
    "vital_status",
    "date_last_contact",
    "date_of_death",
    "cause_of_death",
)

_LIPOSARCOMAS = ("dedifferentiated_liposarcoma", "pleomorphic_liposarcoma", "myxoid_liposarcoma")

#: Histology counts of the 66 eligible patients (Table 1).
HISTOLOGY_COUNTS: dict[str, int] = {
    "synovial_sarcoma": 16,
    "undifferentiated_pleomorphic_sarcoma": 10,
    "dedifferentiated_liposarcoma": 5,
    "pleomorphic_liposarcoma": 3,
    "myxoid_liposarcoma": 2,
    "myxofibrosarcoma": 7,
    "leiomyosarcoma": 6,
    "dermatofibrosarcoma_protuberans": 5,
    "ewing_sarcoma": 3,
    "cic_rearranged_sarcoma": 2,
    "malignant_peripheral_nerve_sheath_tumor": 2,
    "sarcoma_with_bcor_genetic_alterations": 1,
    "epithelioid_sarcoma": 1,
    "extraskeletal_osteosarcoma": 1,
    "alveolar_soft_part_sarcoma": 1,
    "angiosarcoma": 1,
}

#: Plausible age at PM (years, inclusive) by histology: round-cell sarcomas, alveolar soft part
#: and synovial sarcoma are diseases of the young; pleomorphic sarcomas of the old. The search
#: never moves age or histology so that a patient leaves these ranges.
HISTOLOGY_AGE_RANGE: dict[str, tuple[int, int]] = {
    "synovial_sarcoma": (0, 65),
    "undifferentiated_pleomorphic_sarcoma": (35, 110),
    "dedifferentiated_liposarcoma": (35, 110),
    "pleomorphic_liposarcoma": (35, 110),
    "myxoid_liposarcoma": (18, 75),
    "myxofibrosarcoma": (35, 110),
    "leiomyosarcoma": (30, 110),
    "dermatofibrosarcoma_protuberans": (18, 80),
    "ewing_sarcoma": (0, 40),
    "cic_rearranged_sarcoma": (0, 45),
    "malignant_peripheral_nerve_sheath_tumor": (0, 110),
    "sarcoma_with_bcor_genetic_alterations": (0, 40),
    "epithelioid_sarcoma": (0, 65),
    "extraskeletal_osteosarcoma": (35, 110),
    "alveolar_soft_part_sarcoma": (0, 45),
    "angiosarcoma": (35, 110),
}

#: Typical age (years) used to pair histologies with ages before the search.
_TYPICAL_AGE: dict[str, float] = {
    "synovial_sarcoma": 36,
    "undifferentiated_pleomorphic_sarcoma": 66,
    "dedifferentiated_liposarcoma": 63,
    "pleomorphic_liposarcoma": 62,
    "myxoid_liposarcoma": 45,
    "myxofibrosarcoma": 68,
    "leiomyosarcoma": 58,
    "dermatofibrosarcoma_protuberans": 45,
    "ewing_sarcoma": 22,
    "cic_rearranged_sarcoma": 27,
    "malignant_peripheral_nerve_sheath_tumor": 40,
    "sarcoma_with_bcor_genetic_alterations": 20,
    "epithelioid_sarcoma": 33,
    "extraskeletal_osteosarcoma": 62,
    "alveolar_soft_part_sarcoma": 27,
    "angiosarcoma": 66,
}

#: The 17 dichotomies of Table 2, in the paper's order: (variable, first level, second level).
FACTORS: tuple[tuple[str, str, str], ...] = (
    ("age_years", "lt_50", "ge_50"),
    ("sex", "male", "female"),
    ("disease_free_interval", "lt_12_months", "ge_12_months"),
    ("primary_histology_synovial_sarcoma", "ss", "non_ss"),
    ("primary_histology_ups", "ups", "non_ups"),
    ("primary_histology_liposarcoma", "liposarcoma", "non_liposarcoma"),
    ("primary_histology_mfs", "mfs", "non_mfs"),
    ("primary_histology_leiomyosarcoma", "leiomyosarcoma", "non_leiomyosarcoma"),
    ("primary_site", "trunk_wall", "extremities"),
    ("primary_lesion_size", "lt_10_cm", "ge_10_cm"),
    ("lung_metastasis_distribution", "unilateral", "bilateral"),
    ("lung_metastasis_number", "solitary", "multiple"),
    ("largest_lung_lesion_size", "lt_20_mm", "ge_20_mm"),
    ("pulmonary_resection_type", "partial", "anatomical"),
    ("curative_resection", "yes", "no"),
    ("preoperative_chemotherapy", "yes", "no"),
    ("postoperative_chemotherapy", "yes", "no"),
)

#: The five Table 3 covariates: (variable, risk level, reference level).
COX_COVARIATES: tuple[tuple[str, str, str], ...] = (
    ("disease_free_interval", "lt_12_months", "ge_12_months"),
    ("primary_histology_ups", "ups", "non_ups"),
    ("lung_metastasis_number", "multiple", "solitary"),
    ("largest_lung_lesion_size", "ge_20_mm", "lt_20_mm"),
    ("curative_resection", "no", "yes"),
)

#: Hazard ratios of the outcome model, in :data:`COX_COVARIATES` order: Table 3's printed
#: values (a test checks them against ``data/published_targets.json``).
START_HAZARD_RATIOS: tuple[float, ...] = (3.544, 2.882, 1.195, 3.159, 12.161)

#: Covariate blocks that move between patients as one unit in the search. Swapping a whole
#: block between two patients keeps every Table 1 margin.
COVARIATE_BLOCKS: dict[str, tuple[str, ...]] = {
    "age": ("age_at_pm_years",),
    "sex": ("sex",),
    "dfi": ("dfi_days",),
    "histology": ("histology",),
    "site": ("primary_site",),
    "primary_size": ("primary_tumor_size_cm",),
    "lung": ("lung_metastasis_number", "lung_metastasis_distribution", "two_stage_pm"),
    "lesion": ("largest_lung_lesion_mm",),
    "resection_type": ("resection_type",),
    "resection_status": ("resection_status",),
    "chemotherapy": ("chemotherapy_before_pm", "chemotherapy_after_pm"),
}

_Z975 = 1.959963984540054
#: Significance level of the paper (two-sided).
_ALPHA = 0.05
#: Tolerance for "S equals 0.5 / 0.55 / 0.45" (sqrt of machine epsilon, as R and helpers.survival).
_R_TOL = math.sqrt(np.finfo(float).eps)


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticSettings:
    """Every setting of the generator (stored in ``data/registry_provenance.json``).

    Parameters
    ----------
    seed
        Seed of the one ``numpy.random.Generator`` behind every draw.
    cutoff_date
        Data cut-off: no follow-up extends beyond it. 2021-12-31 lies after the study window
        (PMs up to January 2021) and before the paper's submission (2022-06-01).
    window_start, window_end
        Dates of first PM are drawn inside this window (the paper's study period).
    weibull_shape, weibull_scale_months
        Baseline hazard of the reference patient (all five Table 3 factors absent).
    loss_hazard_per_month
        Hazard of loss to follow-up (exponential).
    admin_lag_days_max
        Patients alive at the cut-off were last seen 0 to this many days before it.
    min_death_days
        No death within this many days of PM (the paper reports no Clavien-Dindo grade >= III
        complication, so no perioperative death).
    min_censor_days
        No patient is censored earlier than this (the paper's minimum follow-up is 1 month).
    n_start_draws
        Draws of the outcome model screened for the lowest loss before the search.
    n_iterations
        Iterations of simulated annealing over all chains together (0: no calibration, model
        outcomes only).
    temperature_start, temperature_end
        Geometric cooling schedule of the annealing.
    polish_fraction
        Last fraction of each chain's iterations: the strict p-value terms replace the gentle
        ones used before (the p-value tolerance terms are 10x steeper; switching them on
        only at the end keeps the search from freezing early), at the final temperature.
    move_mix
        Relative frequencies of the four moves of the search: swap two patients' outcomes, swap
        one covariate block between two patients, perturb one time, flip one event.
    n_chains
        Independent annealing chains (each from its own best start draw, with
        ``n_iterations // n_chains`` iterations); the best result is kept. Restarts guard
        against the traps of small groups, whose five-year rates take few values, and against
        an early choice of joint structure: final losses of chains that differ only in their
        random stream spread over two orders of magnitude, so the best of 8 chains of 100,000
        iterations beats 2 chains of 150,000 or 16 of 50,000 (measured on this registry). The
        chains run in parallel (:func:`calibrate`'s ``workers``).
    max_lost_before_6_months
        At most this many analysed patients censored before 6 months.
    max_deaths_after_120_months
        At most this many deaths later than 120 months after PM.
    min_deaths, max_deaths
        Range of deaths among the 66 analysed patients (the range the published numbers imply).
    """

    seed: int = 20220708
    cutoff_date: str = "2021-12-31"
    window_start: str = "2007-01-01"
    window_end: str = "2021-01-31"
    weibull_shape: float = 1.1
    weibull_scale_months: float = 190.0
    loss_hazard_per_month: float = 0.008
    admin_lag_days_max: int = 90
    min_death_days: int = 91
    min_censor_days: int = 30
    n_start_draws: int = 64
    n_iterations: int = 800_000
    temperature_start: float = 3.0
    temperature_end: float = 0.003
    n_chains: int = 8
    polish_fraction: float = 0.25
    move_mix: tuple[float, float, float, float] = (0.4, 0.3, 0.2, 0.1)
    max_lost_before_6_months: int = 3
    max_deaths_after_120_months: int = 1
    min_deaths: int = 24
    max_deaths: int = 39

    @property
    def max_time_days(self) -> int:
        """Longest possible follow-up: a PM on ``window_start``, last seen before the cut-off."""
        span = (pd.Timestamp(self.cutoff_date) - pd.Timestamp(self.window_start)).days
        return int(span - self.admin_lag_days_max)


# --------------------------------------------------------------------------------------------
# Covariates
# --------------------------------------------------------------------------------------------


def _segments(rng: np.random.Generator, segments: Sequence[tuple[int, float, float]]) -> np.ndarray:
    """Sorted values made of consecutive segments of ``count`` uniform integers in [low, high]."""
    parts = [np.sort(rng.integers(int(lo), int(hi) + 1, size=k)) for k, lo, hi in segments]
    return np.concatenate(parts)


def _skewed_segment(rng: np.random.Generator, k: int, lo: int, hi: int, scale: float) -> np.ndarray:
    """``k`` sorted integers in [lo, hi], right-skewed (truncated exponential above ``lo``)."""
    u = rng.uniform(size=k)
    span = hi - lo
    x = -scale * np.log1p(-u * (1 - math.exp(-span / scale)))
    return np.sort(np.clip(np.rint(lo + x), lo, hi).astype(int))


def _table1_margins(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The multisets of every Table 1 variable (unpaired; pairing is done later)."""
    age = np.concatenate(
        [[17], _segments(rng, [(31, 18, 49)]), [49, 49, 49], _segments(rng, [(30, 50, 82)]), [82]]
    )
    # DFI in whole months: 22 < 12, positions 33 and 34 (1-based) equal 17, range 0-105.
    dfi_months = np.concatenate(
        [
            [0],
            _segments(rng, [(21, 0, 11), (10, 12, 17)]),
            [17, 17],
            _skewed_segment(rng, 31, 17, 104, 25.0),
            [105],
        ]
    )
    # Largest lesion (mm): 48 < 20, median 15, range 1-60.
    lesion = np.concatenate(
        [
            [1],
            _segments(rng, [(31, 3, 15)]),
            [15, 15],
            _segments(rng, [(14, 15, 19)]),
            _skewed_segment(rng, 17, 20, 59, 12.0),
            [60],
        ]
    )
    # Number of metastases: 39 solitary; 27 multiple with range 2-12.
    multiple = np.concatenate([_skewed_segment(rng, 26, 2, 11, 2.5), [12]])
    number = np.concatenate([np.ones(39, dtype=int), multiple])
    # Primary tumour size (cm, one decimal): 42 < 10, 24 >= 10.
    small = np.round(rng.uniform(2.0, 9.9, size=42), 1)
    large = np.round(10.0 + rng.gamma(2.0, 2.5, size=24), 1)
    size = np.concatenate([small, np.minimum(large, 35.0)])
    return {"age": age, "dfi_months": dfi_months, "lesion": lesion, "number": number, "size": size}


def make_covariates(seed: int = SyntheticSettings.seed) -> pd.DataFrame:
    """Covariates of the 66 eligible patients, reproducing Table 1 exactly.

    Every count, median and range of Table 1 and every Table 2 group size hold by construction
    (the 54 partial = wedge resections of Table 1 are used, see the paper audit). Chemotherapy is
    the exclusive partition none 45 / preoperative only 17 / postoperative only 1 / both 3.
    Bilateral disease (8) always has at least two metastases; the 2 two-stage PMs are bilateral.
    Two patients have complications (Clavien-Dindo I: prolonged air leak; II: haemothorax);
    postoperative stay has median 3 (2-13) days. Ages respect :data:`HISTOLOGY_AGE_RANGE`.

    Parameters
    ----------
    seed
        Seed of the draw.

    Returns
    -------
    pandas.DataFrame
        66 rows; registry covariate columns plus ``dfi_days`` (primary surgery to diagnosis of
        lung metastasis, in days); rows grouped by histology (patient ids are assigned later,
        in order of the date of first PM).

    Example
    -------
    >>> cov = make_covariates(1)
    >>> int((cov["lung_metastasis_number"] == 1).sum()), int(cov["age_at_pm_years"].median())
    (39, 49)
    """
    rng = np.random.default_rng([seed, 1])
    return _make_covariates(rng)


def _make_covariates(rng: np.random.Generator) -> pd.DataFrame:
    n = 66
    m = _table1_margins(rng)
    histology = np.repeat(list(HISTOLOGY_COUNTS), list(HISTOLOGY_COUNTS.values()))
    # Pair histology with age: sort by typical age plus noise, until every age is plausible.
    ages = np.sort(m["age"])
    for _ in range(1000):
        key = np.array([_TYPICAL_AGE[h] for h in histology]) + rng.normal(0.0, 12.0, size=n)
        paired = np.empty(n, dtype=int)
        paired[np.argsort(key, kind="stable")] = ages
        lo = np.array([HISTOLOGY_AGE_RANGE[h][0] for h in histology])
        hi = np.array([HISTOLOGY_AGE_RANGE[h][1] for h in histology])
        if np.all((paired >= lo) & (paired <= hi)):
            break
    else:  # pragma: no cover - the sorted pairing always succeeds within a few draws
        raise RuntimeError("could not pair ages with histologies")
    cov = pd.DataFrame({"histology": histology, "age_at_pm_years": paired})

    def perm(values: Sequence) -> np.ndarray:
        return rng.permutation(np.asarray(values))

    cov["sex"] = perm(["male"] * 38 + ["female"] * 28)
    # Sites: DFSP mostly on the trunk, pleomorphic sarcomas mostly in the limbs (a starting
    # tendency only; the search moves site blocks freely).
    trunk_pref = np.where(
        cov["histology"].eq("dermatofibrosarcoma_protuberans"),
        2.0,
        np.where(cov["histology"].isin(["myxofibrosarcoma", *_LIPOSARCOMAS]), -1.0, 0.0),
    ) + rng.normal(0.0, 1.0, size=n)
    site = np.full(n, "extremities", dtype=object)
    site[np.argsort(-trunk_pref, kind="stable")[:34]] = "trunk_wall"
    cov["primary_site"] = site
    cov["primary_tumor_size_cm"] = perm(m["size"])
    cov["dfi_days"] = perm(np.ceil(m["dfi_months"] * DAYS_PER_MONTH).astype(int))
    # Lung block: number, distribution, two-stage. Bilateral: 8 of the multiple, favouring the
    # largest numbers; the two two-stage PMs are bilateral.
    number = np.sort(m["number"])
    multiple_idx = np.flatnonzero(number >= 2)
    weights = number[multiple_idx].astype(float) ** 1.5
    bilateral_idx = rng.choice(multiple_idx, size=8, replace=False, p=weights / weights.sum())
    if number.max() not in number[bilateral_idx]:
        bilateral_idx[0] = int(np.argmax(number))
        bilateral_idx = np.unique(bilateral_idx)
        extra = rng.choice(np.setdiff1d(multiple_idx, bilateral_idx), size=8 - len(bilateral_idx))
        bilateral_idx = np.concatenate([bilateral_idx, extra])
    distribution = np.full(n, "unilateral", dtype=object)
    distribution[bilateral_idx] = "bilateral"
    two_stage = np.full(n, "no", dtype=object)
    two_stage[rng.choice(bilateral_idx, size=2, replace=False)] = "yes"
    order = rng.permutation(n)
    cov["lung_metastasis_number"] = number[order]
    cov["lung_metastasis_distribution"] = distribution[order]
    cov["two_stage_pm"] = two_stage[order]
    cov["largest_lung_lesion_mm"] = perm(m["lesion"]).astype(float)
    cov["resection_type"] = perm(
        ["wide_wedge_resection"] * 54 + ["segmentectomy"] * 7 + ["lobectomy"] * 5
    )
    cov["resection_status"] = perm(["r0"] * 63 + ["r2"] * 3)
    chemo = perm(
        [("no", "no")] * 45 + [("yes", "no")] * 17 + [("no", "yes")] * 1 + [("yes", "yes")] * 3
    )
    cov["chemotherapy_before_pm"] = chemo[:, 0]
    cov["chemotherapy_after_pm"] = chemo[:, 1]
    _link_r2_to_advanced_disease(cov, rng)
    # Perioperative course: two complications with the longest stays, median stay 3 (2-13).
    n2 = int(rng.integers(18, 27))
    n3 = 36 - n2 + int(rng.integers(0, 6))
    rest = n - 2 - n2 - n3
    stays = np.concatenate(
        [np.full(n2, 2), np.full(n3, 3), np.sort(rng.integers(4, 8, size=rest))]
    )
    grades = np.array(["none"] * (n - 2) + ["I", "II"], dtype=object)
    stays = np.concatenate([stays, [13, 9]])
    periop = rng.permutation(n)
    cov["clavien_dindo_grade"] = grades[periop]
    cov["postoperative_stay_days"] = stays[periop]
    return cov


def _link_r2_to_advanced_disease(cov: pd.DataFrame, rng: np.random.Generator) -> None:
    """Give the three R2 patients (pleural dissemination) the features of advanced disease.

    An R2 resection for pleural dissemination is expected in patients with an early
    recurrence, several metastases and a large lesion. The R2 patients take a DFI < 12 months,
    multiple metastases and a largest lesion >= 20 mm by swapping those blocks with randomly
    chosen other patients (margins unchanged). This is the starting structure; the search may
    change it where the published numbers demand.
    """
    r2 = np.flatnonzero(cov["resection_status"].eq("r2").to_numpy())
    ups = np.flatnonzero(cov["histology"].eq("undifferentiated_pleomorphic_sarcoma").to_numpy())
    _give_risk_factors(cov, r2, r2, rng)
    # UPS is high grade: half of the UPS patients recur early with a large lesion.
    _give_risk_factors(cov, rng.choice(ups, size=len(ups) // 2, replace=False), np.r_[r2, ups], rng)


def _give_risk_factors(
    cov: pd.DataFrame, rows: np.ndarray, keep: np.ndarray, rng: np.random.Generator
) -> None:
    """Swap DFI < 12 months, multiple metastases and a lesion >= 20 mm into ``rows``.

    Donors are other patients outside ``keep``; every margin is unchanged.
    """
    risky = {
        ("dfi_days",): cov["dfi_days"].to_numpy() < 12 * DAYS_PER_MONTH,
        COVARIATE_BLOCKS["lung"]: cov["lung_metastasis_number"].to_numpy() >= 2,
        ("largest_lung_lesion_mm",): cov["largest_lung_lesion_mm"].to_numpy() >= 20,
    }
    for cols, mask in risky.items():
        for i in rows:
            if mask[i]:
                continue
            donors = np.setdiff1d(np.flatnonzero(mask), keep)
            j = int(rng.choice(donors))
            for col in cols:
                a, b = cov.at[i, col], cov.at[j, col]
                cov.at[i, col], cov.at[j, col] = b, a
            mask[i], mask[j] = True, False


_EXCLUDED_SITES: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    (
        "parenchymal_organ",
        13,
        ("leiomyosarcoma", "undifferentiated_pleomorphic_sarcoma", "angiosarcoma", "other_sarcoma"),
    ),
    ("mediastinum", 1, ("synovial_sarcoma",)),
    (
        "retroperitoneum",
        9,
        ("dedifferentiated_liposarcoma", "leiomyosarcoma", "undifferentiated_pleomorphic_sarcoma"),
    ),
    ("head_and_neck", 3, ("synovial_sarcoma", "angiosarcoma", "solitary_fibrous_tumor")),
)


def _make_excluded(rng: np.random.Generator) -> pd.DataFrame:
    """Covariates of the 29 excluded patients (not part of any published table)."""
    rows = []
    for site, k, hists in _EXCLUDED_SITES:
        for _ in range(k):
            rows.append({"primary_site": site, "first_pm_elsewhere": "no", "histology": rng.choice(hists)})
    for _ in range(3):
        rows.append(
            {
                "primary_site": rng.choice(["trunk_wall", "extremities"]),
                "first_pm_elsewhere": "yes",
                "histology": rng.choice(["synovial_sarcoma", "myxofibrosarcoma", "leiomyosarcoma"]),
            }
        )
    exc = pd.DataFrame(rows)
    k = len(exc)
    ages = []
    for h in exc["histology"]:
        lo, hi = HISTOLOGY_AGE_RANGE.get(h, (18, 85))
        ages.append(int(np.clip(rng.normal(_TYPICAL_AGE.get(h, 55), 10), max(lo, 18), min(hi, 85))))
    exc["age_at_pm_years"] = ages
    exc["sex"] = rng.choice(["male", "female"], size=k)
    exc["primary_tumor_size_cm"] = np.round(rng.uniform(3.0, 20.0, size=k), 1)
    exc["dfi_days"] = np.ceil(rng.integers(0, 60, size=k) * DAYS_PER_MONTH).astype(int)
    number = np.where(rng.uniform(size=k) < 0.6, 1, rng.integers(2, 6, size=k))
    bilateral = (number >= 2) & (rng.uniform(size=k) < 0.3)
    exc["lung_metastasis_number"] = number
    exc["lung_metastasis_distribution"] = np.where(bilateral, "bilateral", "unilateral")
    exc["two_stage_pm"] = "no"
    exc["largest_lung_lesion_mm"] = rng.integers(5, 40, size=k).astype(float)
    exc["resection_type"] = rng.choice(
        ["wide_wedge_resection", "segmentectomy", "lobectomy"], size=k, p=[0.8, 0.1, 0.1]
    )
    exc["resection_status"] = "r0"
    pre = rng.uniform(size=k) < 0.3
    exc["chemotherapy_before_pm"] = np.where(pre, "yes", "no")
    exc["chemotherapy_after_pm"] = np.where(rng.uniform(size=k) < 0.1, "yes", "no")
    exc["clavien_dindo_grade"] = "none"
    exc["postoperative_stay_days"] = rng.integers(2, 6, size=k)
    return exc


#: Columns filled last, by :func:`add_perioperative_details`, from their own random stream.
PERIOPERATIVE_DETAIL_COLUMNS: tuple[str, ...] = ("r2_reason", "complication_kind")

#: The kinds of complication the paper reports for its cohort (section 3.2), longest stay first:
#: a prolonged air leak (the usual cause of a long stay after a wedge resection) and a
#: postoperative haemothorax, both managed conservatively.
PUBLISHED_COMPLICATION_KINDS: tuple[str, ...] = ("prolonged_air_leak", "bleeding")
#: The paper's reason of every R2 resection: pleural dissemination found at operation.
PUBLISHED_R2_REASON = "pleural_dissemination"

#: Kind of the worst complication by its Clavien-Dindo grade, for complications the paper does not
#: describe (a rough mix of published pulmonary-metastasectomy and wedge-resection series:
#: minor complications are mostly air leaks; treated ones pneumonia and arrhythmia; interventions
#: mostly for bleeding and air leaks).
_KIND_BY_GRADE: dict[str, dict[str, float]] = {
    "I": {"prolonged_air_leak": 0.5, "pneumonia_atelectasis": 0.15, "arrhythmia": 0.1,
          "bleeding": 0.1, "wound_complication": 0.1, "other": 0.05},
    "II": {"prolonged_air_leak": 0.2, "pneumonia_atelectasis": 0.3, "arrhythmia": 0.25,
           "bleeding": 0.1, "wound_complication": 0.05, "other": 0.1},
    "III+": {"prolonged_air_leak": 0.3, "pneumonia_atelectasis": 0.15, "arrhythmia": 0.05,
             "bleeding": 0.3, "chylothorax": 0.1, "other": 0.1},
}
#: Reason of an R2 resection the paper does not describe.
_R2_REASONS: dict[str, float] = {"pleural_dissemination": 0.6, "unresectable_residual_nodule": 0.25,
                                 "intentional_debulking": 0.05, "other": 0.1}


def _draw(rng: np.random.Generator, weights: dict[str, float], size: int) -> np.ndarray:
    """``size`` draws from the categorical distribution ``weights`` (object array)."""
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return np.asarray(keys, dtype=object)[rng.choice(len(keys), size=size, p=p / p.sum())]


def add_perioperative_details(registry: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Fill ``r2_reason`` and ``complication_kind`` of a generated registry.

    The analysed cohort's R2 resections take the paper's reason (pleural dissemination); its
    complicated patients take the paper's kinds (:data:`PUBLISHED_COMPLICATION_KINDS`), the
    longest stay first (ties in random order). Any other R2 resection or complication (excluded
    patients, cohorts of other settings) is drawn: reasons from :data:`_R2_REASONS`, kinds from
    the grade's row of :data:`_KIND_BY_GRADE`. Non-R2 rows and rows without a complication stay
    empty, as the data dictionary's rules demand. The draws use their own random stream
    (``default_rng([seed, 4])``), so the columns can be added without changing any other.

    Parameters
    ----------
    registry
        A registry in dictionary form (``resection_status``, ``clavien_dindo_grade``,
        ``postoperative_stay_days``, ``primary_site``, ``first_pm_elsewhere``).
    seed
        The generator's seed (:attr:`SyntheticSettings.seed`).

    Returns
    -------
    pandas.DataFrame
        A copy with the two columns, in :data:`REGISTRY_COLUMNS` order (other columns after).

    Example
    -------
    >>> reg = pd.DataFrame({"primary_site": ["extremities"] * 3, "first_pm_elsewhere": "no",
    ...     "resection_status": ["r0", "r2", "r0"], "clavien_dindo_grade": ["none", "none", "I"],
    ...     "postoperative_stay_days": [3, 4, 9]})
    >>> add_perioperative_details(reg, 1)[["r2_reason", "complication_kind"]].fillna("").values.tolist()
    [['', ''], ['pleural_dissemination', ''], ['', 'prolonged_air_leak']]
    """
    rng = np.random.default_rng([seed, 4])
    out = registry.copy()
    eligible = out["primary_site"].isin(["trunk_wall", "extremities"]) & out[
        "first_pm_elsewhere"
    ].eq("no")
    r2 = out["resection_status"].eq("r2").to_numpy()
    reason = np.full(len(out), None, dtype=object)
    reason[r2 & eligible.to_numpy()] = PUBLISHED_R2_REASON
    other_r2 = r2 & ~eligible.to_numpy()
    reason[other_r2] = _draw(rng, _R2_REASONS, int(other_r2.sum()))
    out["r2_reason"] = reason
    out["complication_kind"] = _complication_kinds(out, eligible.to_numpy(), rng)
    order = [c for c in REGISTRY_COLUMNS if c in out.columns]
    return out[order + [c for c in out.columns if c not in order]]


def _complication_kinds(
    registry: pd.DataFrame, eligible: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Kinds of complication: the paper's for the cohort (longest stay first), drawn otherwise."""
    grade = registry["clavien_dindo_grade"].to_numpy(dtype=object)
    kind = np.full(len(registry), None, dtype=object)
    cohort = np.flatnonzero(eligible & (grade != "none"))
    cohort = cohort[rng.permutation(len(cohort))]
    stay = registry["postoperative_stay_days"].to_numpy(dtype=float)[cohort]
    cohort = cohort[np.argsort(-stay, kind="stable")]
    published = cohort[: len(PUBLISHED_COMPLICATION_KINDS)]
    kind[published] = PUBLISHED_COMPLICATION_KINDS[: len(published)]
    drawn = np.setdiff1d(np.flatnonzero(grade != "none"), published)
    for i in drawn:
        row = grade[i] if grade[i] in ("I", "II") else "III+"
        kind[i] = _draw(rng, _KIND_BY_GRADE[row], 1)[0]
    return kind


# --------------------------------------------------------------------------------------------
# Design matrices
# --------------------------------------------------------------------------------------------


def factor_design(
    df: pd.DataFrame,
    *,
    dfi_column: str = "dfi_months",
    age_cutoff_years: float = 50,
    dfi_cutoff_months: float = 12,
    primary_size_cutoff_cm: float = 10,
    lesion_size_cutoff_mm: float = 20,
) -> pd.DataFrame:
    """Indicators of the first level of each Table 2 factor (1 = the paper's first row).

    Parameters
    ----------
    df
        Registry rows with the dictionary's covariate columns and ``dfi_column`` (months).
    dfi_column
        Column with the disease-free interval in months.
    age_cutoff_years, dfi_cutoff_months, primary_size_cutoff_cm, lesion_size_cutoff_mm
        The paper's cut-offs (defaults) or others.

    Returns
    -------
    pandas.DataFrame
        One int column (0/1) per factor key of :data:`FACTORS`, same index as ``df``.

    Example
    -------
    >>> cov = make_covariates(1)
    >>> cov["dfi_months"] = cov["dfi_days"] / 30.4375
    >>> int(factor_design(cov)["disease_free_interval"].sum())
    22
    """
    h = df["histology"]
    cols = {
        "age_years": df["age_at_pm_years"] < age_cutoff_years,
        "sex": df["sex"].eq("male"),
        "disease_free_interval": df[dfi_column] < dfi_cutoff_months,
        "primary_histology_synovial_sarcoma": h.eq("synovial_sarcoma"),
        "primary_histology_ups": h.eq("undifferentiated_pleomorphic_sarcoma"),
        "primary_histology_liposarcoma": h.isin(_LIPOSARCOMAS),
        "primary_histology_mfs": h.eq("myxofibrosarcoma"),
        "primary_histology_leiomyosarcoma": h.eq("leiomyosarcoma"),
        "primary_site": df["primary_site"].eq("trunk_wall"),
        "primary_lesion_size": df["primary_tumor_size_cm"] < primary_size_cutoff_cm,
        "lung_metastasis_distribution": df["lung_metastasis_distribution"].eq("unilateral"),
        "lung_metastasis_number": df["lung_metastasis_number"] == 1,
        "largest_lung_lesion_size": df["largest_lung_lesion_mm"] < lesion_size_cutoff_mm,
        "pulmonary_resection_type": df["resection_type"].eq("wide_wedge_resection"),
        "curative_resection": df["resection_status"].eq("r0"),
        "preoperative_chemotherapy": df["chemotherapy_before_pm"].eq("yes"),
        "postoperative_chemotherapy": df["chemotherapy_after_pm"].eq("yes"),
    }
    return pd.DataFrame({k: v.astype(int) for k, v in cols.items()}, index=df.index)


def cox_design(factors: pd.DataFrame) -> pd.DataFrame:
    """The five Table 3 covariates (1 = risk level) from :func:`factor_design` output.

    Parameters
    ----------
    factors
        Output of :func:`factor_design`.

    Returns
    -------
    pandas.DataFrame
        Columns named by :data:`COX_COVARIATES` variable keys; 1 = DFI < 12 months, UPS,
        multiple metastases, largest lesion >= 20 mm, non-curative (R2) resection.

    Example
    -------
    >>> cov = make_covariates(1)
    >>> cov["dfi_months"] = cov["dfi_days"] / 30.4375
    >>> cox_design(factor_design(cov)).sum().tolist()
    [22, 10, 27, 18, 3]
    """
    out = pd.DataFrame(index=factors.index)
    for var, _, _ in COX_COVARIATES:
        col = factors[var]
        # Risk level is the paper's first Table 2 row for DFI and UPS, the second otherwise.
        out[var] = col if var in ("disease_free_interval", "primary_histology_ups") else 1 - col
    return out.astype(int)


# --------------------------------------------------------------------------------------------
# The vectorised evaluator
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortStatistics:
    """Every statistic of one candidate cohort (arrays in :data:`FACTORS` order).

    Attributes
    ----------
    rate_first, rate_second
        Kaplan-Meier survival at the landmark of each factor's first and second level (0-1).
    chi2
        Log-rank chi-square (1 df) of each factor.
    p_value
        Log-rank p-values.
    overall_rate
        Overall Kaplan-Meier survival at the landmark.
    median, median_se
        Overall Kaplan-Meier median (first event time with S <= 0.5; inf if never reached) and
        its SPSS-type standard error (see :func:`_median_se`).
    beta, beta_se
        Cox log hazard ratios (Breslow ties) of :data:`COX_COVARIATES` and their SEs.
    cox_converged
        Whether Newton-Raphson converged to finite estimates.
    follow_up_median
        Median of all observed times (deaths included), the paper's "median follow-up".
    n_deaths
        Number of events.
    at_risk_first, at_risk_second
        Patients of each level still under observation at the landmark (time >= landmark).
    """

    rate_first: np.ndarray
    rate_second: np.ndarray
    chi2: np.ndarray
    p_value: np.ndarray
    overall_rate: float
    median: float
    median_se: float
    beta: np.ndarray
    beta_se: np.ndarray
    cox_converged: bool
    follow_up_median: float
    n_deaths: int
    at_risk_first: np.ndarray = field(default_factory=lambda: np.zeros(0))
    at_risk_second: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def undefined_rates(self) -> int:
        """Levels whose landmark rate is undefined: nobody followed to the landmark, S > 0.

        ``helpers.survival`` reports such a rate as missing (the landmark lies beyond the
        level's last observation).
        """
        if self.at_risk_first.size == 0:
            return 0
        bad = ((self.at_risk_first == 0) & (self.rate_first > 0)).sum()
        bad += ((self.at_risk_second == 0) & (self.rate_second > 0)).sum()
        return int(bad)


def _median_se(ut: np.ndarray, surv: np.ndarray, var_surv: np.ndarray, kmed: int) -> float:
    """SPSS-type standard error of the Kaplan-Meier median (Collett's density estimate).

    SE = SE(S(median)) / f, with f = (S(u) - S(l)) / (l - u), u the latest event time with
    S >= 0.55 (time 0 with S = 1 if none), l the earliest event time with S <= 0.45 and SE(S)
    Greenwood's at the median (event index ``kmed``). Same rule as
    ``helpers.survival.kaplan_meier(...).median_se``.
    """
    upper = surv >= 0.55 - _R_TOL
    lower = surv <= 0.45 + _R_TOL
    if not lower.any():
        return math.nan
    iu = np.flatnonzero(upper)
    u, s_u = (ut[iu[-1]], surv[iu[-1]]) if iu.size else (0.0, 1.0)
    il = int(np.argmax(lower))
    dens = (s_u - surv[il]) / (ut[il] - u)
    se_s = math.sqrt(var_surv[kmed])
    return se_s / dens if dens > 0 else math.nan


class VectorisedEvaluator:
    """All published statistics of a candidate cohort in one pass of numpy.

    Hand-written for speed (about 1-2 thousand cohorts per second against 2-3 with lifelines
    and statsmodels): the calibration search evaluates hundreds of thousands of candidates.
    Kaplan-Meier at the landmark and the 17 log-rank tests are computed for all factors at once
    from cumulative sums over the time-sorted patients (ties handled exactly: deaths and
    censorings at the same time count as at risk); the Cox model is fitted by Newton-Raphson
    with Breslow's tie handling (as SPSS) and step halving, warm-started from the last fit.
    Verified against lifelines and statsmodels ``PHReg(ties="breslow")`` in the test suite.

    Parameters
    ----------
    groups
        (n, 17) 0/1 array: first level of each factor (:func:`factor_design`).
    cox
        (n, 5) 0/1 array of the Table 3 covariates (:func:`cox_design`).
    landmark
        Landmark of the survival rates (months).

    Example
    -------
    >>> cov = make_covariates(1)
    >>> cov["dfi_months"] = cov["dfi_days"] / 30.4375
    >>> g = factor_design(cov)
    >>> ev = VectorisedEvaluator(g.to_numpy(), cox_design(g).to_numpy())
    >>> t = np.linspace(1, 100, 66); d = np.arange(66) % 2
    >>> round(ev.evaluate(t, d).overall_rate, 3)
    0.648
    """

    def __init__(self, groups: np.ndarray, cox: np.ndarray, landmark: float = 60.0) -> None:
        self.groups = np.asarray(groups, dtype=float)
        self.cox = np.asarray(cox, dtype=float)
        self.landmark = float(landmark)
        self.beta = np.zeros(self.cox.shape[1])

    def evaluate(self, time: np.ndarray, event: np.ndarray, *, cox: bool = True) -> CohortStatistics:
        """Statistics of the cohort with these times (months) and events (0/1).

        Parameters
        ----------
        time
            Observed times in months, one per row of ``groups``.
        event
            1 = death, 0 = censored.
        cox
            Fit the Cox model. With False, ``beta``/``beta_se`` are NaN until
            :meth:`add_cox` completes the statistics (the search skips the fit when the other
            terms of the loss already reject a candidate).

        Returns
        -------
        CohortStatistics
        """
        time = np.asarray(time, dtype=float)
        event = np.asarray(event, dtype=float)
        n = time.shape[0]
        order = np.argsort(time, kind="stable")
        t = time[order]
        d = event[order]
        g = self.groups[order]
        x = self.cox[order]
        first = np.empty(n, dtype=bool)
        first[0] = True
        np.not_equal(t[1:], t[:-1], out=first[1:])
        start = np.flatnonzero(first)
        stop = np.empty_like(start)
        stop[:-1] = start[1:]
        stop[-1] = n
        k = g.shape[1]
        # One cumulative sum gives deaths, at-risk and deaths by group for every distinct time.
        m = np.empty((n + 1, 2 * k + 1))
        m[0] = 0.0
        m[1:, 0] = d
        m[1:, 1 : k + 1] = g
        np.multiply(g, d[:, None], out=m[1:, k + 1 :])
        np.cumsum(m, axis=0, out=m)
        dd = m[stop, 0] - m[start, 0]
        ev = dd > 0
        start, stop, dd = start[ev], stop[ev], dd[ev]
        ut = t[start]
        nr = (n - start).astype(float)
        n1 = m[-1, 1 : k + 1] - m[start, 1 : k + 1]
        d1 = m[stop, k + 1 :] - m[start, k + 1 :]
        n0 = nr[:, None] - n1
        d0 = dd[:, None] - d1
        # Kaplan-Meier at the landmark for both levels of every factor.
        nlm = int(np.searchsorted(ut, self.landmark, side="right"))
        h1 = np.divide(d1[:nlm], n1[:nlm], out=np.zeros((nlm, k)), where=n1[:nlm] > 0)
        h0 = np.divide(d0[:nlm], n0[:nlm], out=np.zeros((nlm, k)), where=n0[:nlm] > 0)
        rate1 = (1.0 - h1).prod(axis=0)
        rate0 = (1.0 - h0).prod(axis=0)
        # Log-rank (Mantel-Haenszel variance with the ties correction).
        frac = n1 / nr[:, None]
        e1 = dd @ frac
        vfac = dd * (nr - dd) / np.maximum(nr - 1.0, 1.0)
        var = vfac @ (frac * (1.0 - frac))
        obs = d1.sum(axis=0)
        chi2 = np.divide((obs - e1) ** 2, var, out=np.zeros(k), where=var > 0)
        pval = special.erfc(np.sqrt(chi2 / 2.0))
        # Overall Kaplan-Meier, median and its SPSS-type SE.
        surv = np.cumprod(1.0 - dd / nr)
        gw = np.cumsum(
            np.divide(dd, nr * (nr - dd), out=np.zeros(dd.shape[0]), where=nr > dd)
        )
        var_s = surv**2 * gw
        overall = float(surv[nlm - 1]) if nlm else 1.0
        below = np.flatnonzero(surv < 0.5 + _R_TOL)
        median, median_se = math.inf, math.nan
        if below.size:
            kmed = int(below[0])
            median = float(ut[kmed])
            if abs(surv[kmed] - 0.5) < _R_TOL and kmed + 1 < ut.size:
                median = float(0.5 * (ut[kmed] + ut[kmed + 1]))  # flat at 0.5: R's midpoint
            median_se = _median_se(ut, surv, var_s, kmed)
        self._sorted = (x, d, start, dd)
        if cox:
            beta, beta_se, ok = self._cox(x, d, start, dd)
        else:
            beta = beta_se = np.full(x.shape[1], math.nan)
            ok = False
        half = n // 2
        fu = float(t[half]) if n % 2 else float(0.5 * (t[half - 1] + t[half]))
        i60 = int(np.searchsorted(t, self.landmark, side="left"))
        risk1 = m[-1, 1 : k + 1] - m[i60, 1 : k + 1]
        risk0 = (n - i60) - risk1
        return CohortStatistics(
            rate1, rate0, chi2, pval, overall, median, median_se, beta, beta_se, ok, fu,
            int(d.sum()), risk1, risk0,
        )

    def add_cox(self, s: CohortStatistics) -> CohortStatistics:
        """Complete statistics from ``evaluate(..., cox=False)`` with the Cox fit.

        Parameters
        ----------
        s
            The statistics returned by the last call of :meth:`evaluate`.

        Returns
        -------
        CohortStatistics
        """
        beta, beta_se, ok = self._cox(*self._sorted)
        return replace(s, beta=beta, beta_se=beta_se, cox_converged=ok)

    def _cox(
        self, x: np.ndarray, d: np.ndarray, start: np.ndarray, dd: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Newton-Raphson for the Breslow partial likelihood (rows sorted by time).

        The risk-set sums of w, w x and w x x' at each distinct event time come from one
        cumulative sum over the time-sorted rows (total minus the sum of earlier rows).
        """
        n, p = x.shape
        feats = np.empty((n, 1 + p + p * p))
        feats[:, 0] = 1.0
        feats[:, 1 : p + 1] = x
        feats[:, p + 1 :] = (x[:, :, None] * x[:, None, :]).reshape(n, p * p)
        sx = d @ x
        buf = np.empty((n + 1, feats.shape[1]))
        buf[0] = 0.0

        def parts(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
            eta = x @ b
            w = np.exp(eta)
            np.multiply(feats, w[:, None], out=buf[1:])
            np.cumsum(buf, axis=0, out=buf)
            risk = buf[-1] - buf[start]
            s0 = risk[:, 0]
            xbar = risk[:, 1 : p + 1] / s0[:, None]
            s2 = risk[:, p + 1 :] / s0[:, None]
            ll = float(d @ eta - dd @ np.log(s0))
            grad = sx - dd @ xbar
            info = (dd @ s2).reshape(p, p) - (xbar * dd[:, None]).T @ xbar
            buf[0] = 0.0
            return ll, grad, info

        b = self.beta.copy()
        ll, grad, info = parts(b)
        converged = False
        for _ in range(50):
            try:
                step = np.linalg.solve(info, grad)
            except np.linalg.LinAlgError:
                break
            big = np.abs(step).max()
            if big > 2.0:
                step = step * (2.0 / big)
            for _ in range(30):
                bn = b + step
                lln, gn, infon = parts(bn)
                if lln >= ll - 1e-10:
                    break
                step = step / 2.0
            b, ll, grad, info = bn, lln, gn, infon
            if np.abs(step).max() < 1e-7:
                converged = True
                break
        if not converged or np.abs(b).max() > 12.0:
            self.beta = np.zeros(p)
            return b, np.full(p, math.nan), False
        try:
            se = np.sqrt(np.diag(np.linalg.inv(info)))
        except np.linalg.LinAlgError:
            return b, np.full(p, math.nan), False
        self.beta = b
        return b, se, bool(np.all(np.isfinite(se)))


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
    gentle_band: np.ndarray = field(repr=False)  # steep band with a 10x gentler p-value scale
    cox_p_value: np.ndarray = field(default_factory=lambda: np.zeros(0))  # Table 3 Wald p (reported, not calibrated)


def load_targets(path: str | Path = PUBLISHED_PATH) -> Targets:
    """Read the calibration targets from the published numbers.

    Parameters
    ----------
    path
        ``published_targets.json``.

    Returns
    -------
    Targets

    Example
    -------
    >>> load_targets().rate_first[:3].tolist()
    [50.0, 53.0, 23.0]
    """
    pub = json.loads(Path(path).read_text(encoding="utf-8"))
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
    t3 = {r["variable"]: r for r in pub["table3"]}
    lhr, llo, lhi, cox_p = [], [], [], []
    for var, _, _ in COX_COVARIATES:
        cox_p.append(float(t3[var]["p_value"]))
        lhr.append(math.log(t3[var]["hr"]))
        llo.append(math.log(t3[var]["ci_low"]))
        lhi.append(math.log(t3[var]["ci_high"]))
    ov = pub["overall"]
    args = (
        np.array(r1), np.array(r2), np.array(zex), _p_bands(pv, ops, dec), np.array(lhr),
        np.array(llo), np.array(lhi), ov,
    )
    soft, steep = _loss_bands(*args)
    _, gentle = _loss_bands(*args, p_steep_scale=0.003)
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
        gentle,
        cox_p_value=np.array(cox_p),
    )


def _p_bands(pv: list, ops: list, dec: list) -> tuple[np.ndarray, np.ndarray]:
    """p-value bands: printed digits, and the +-0.01 tolerance with safety margins.

    The tolerance band is p +- 0.009, kept on the published side of 0.05 with a margin of
    0.0005 (``<0.001`` rows: p < 0.00095).
    """
    digits, tol = [], []
    for p, op, k in zip(pv, ops, dec, strict=True):
        if op == "<":
            digits.append((0.0, p))
            tol.append((0.0, 0.95 * p))
            continue
        half = 0.5 * 10.0 ** (-k)
        digits.append((max(p - half, 0.0), p + half))
        lo, hi = max(p - 0.009, 0.0), p + 0.009
        if p < 0.05:
            hi = min(hi, 0.0495)
        else:
            lo = max(lo, 0.0505)
        tol.append((lo, hi))
    return np.array(digits), np.array(tol)


def _loss_bands(
    r1, r2, zex, pbands, lhr, llo, lhi, ov, p_steep_scale: float = 0.0003
) -> tuple[np.ndarray, np.ndarray]:
    """Soft and steep bands of every statistic in the order of :func:`_statistic_vector`."""
    pdig, ptol = pbands
    nz = len(zex)
    free = np.column_stack([np.full(nz, -np.inf), np.full(nz, np.inf), np.ones(nz)])
    rates = np.concatenate([r1, r2])
    five = float(ov["five_year_dss_pct"])
    med = float(ov["median_dss_months"])
    mlo, mhi = float(ov["median_dss_ci95_low"]), float(ov["median_dss_ci95_high"])
    fu = float(ov["median_follow_up_months"])
    nb = len(lhr)

    def band(center, free, scale):
        center = np.atleast_1d(np.asarray(center, dtype=float))
        return np.column_stack([center - free, center + free, np.full(center.shape, scale)])

    soft = np.vstack(
        [
            band(rates, 0.5, 1.5),
            band(five, 0.25, 0.5),
            np.column_stack([zex, np.full(nz, 0.1)]),
            np.column_stack([pdig, np.full(nz, 0.003)]),
            band(lhr, 0.0, 0.01),
            band(llo, 0.0, 0.05),
            band(lhi, 0.0, 0.05),
            band(med, 0.0, 0.5),
            band([mlo, mhi], 0.0, 1.0),
            band(fu, 0.0, 1.0),
        ]
    )
    steep = np.vstack(
        [
            band(rates, 1.9, 0.05),
            band(five, 0.4, 0.05),
            free,
            np.column_stack([ptol, np.full(nz, p_steep_scale)]),
            band(lhr, 0.015, 0.0025),
            band(llo, 0.08, 0.01),
            band(lhi, 0.08, 0.01),
            band(med, 0.4, 0.05),
            band([mlo, mhi], 0.8, 0.05),
            band(fu, 0.8, 0.05),
        ]
    )
    assert soft.shape == steep.shape == (2 * len(r1) + 1 + 2 * nz + 3 * nb + 4, 3)
    return soft, steep


def _statistic_vector(s: CohortStatistics) -> np.ndarray:
    """Every calibrated statistic as one vector (percent, |z|, log scale, months)."""
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
        ]
    )


def calibration_loss(s: CohortStatistics, t: Targets) -> float:
    """The loss the calibration minimises: every published statistic on comparable scales.

    Each statistic contributes a soft term ``(distance outside a band / scale)**2`` (band: the
    printed rounding, or the point itself) and a steep term of the same form beyond (a little
    inside) the tolerance of the project's targets:

    =====================  ==========================================  ==========================
    statistic              soft band, scale                            steep band, scale
    =====================  ==========================================  ==========================
    34 five-year rates, %  printed +- 0.5, 1.5 points                  +- 1.9, 0.05
    overall 5-year, %      45 +- 0.25, 0.5                             45 +- 0.4, 0.05
    17 log-rank |z|        printed-digit band of p, 0.1                (none)
    17 log-rank p          printed-digit band, 0.003                   p +- 0.009 on the published
                                                                       side of 0.05 (margin
                                                                       0.0005), 0.0003
    5 log HR               point, 0.01                                 +- 0.015, 0.0025
    10 log CI limits       point, 0.05                                 +- 0.08, 0.01
    median, months         48, 0.5                                     +- 0.4, 0.05
    median CI limits       29.4 / 66.6, 1                              +- 0.8, 0.05
    median follow-up       28, 1                                       +- 0.8, 0.05
    =====================  ==========================================  ==========================

    The steep bands end a little inside the tolerances of the project's targets: a search
    settles just outside the steep band of a statistic it cannot fit exactly, and the margin
    keeps that inside the tolerance (tried: bands equal to the tolerances left more targets
    just outside them). ``<0.001`` rows: digits band p < 0.001, steep band p < 0.00095.

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


def _loss_parts(
    v: np.ndarray, t: Targets, part: slice | np.ndarray, *, gentle: bool = False
) -> tuple[float, float]:
    """(soft, steep) loss terms of the statistics ``v[part]``."""
    soft = t.soft_band[part]
    steep = t.gentle_band[part] if gentle else t.steep_band[part]
    v = v[part]
    ds = (np.maximum(soft[:, 0] - v, 0.0) + np.maximum(v - soft[:, 1], 0.0)) / soft[:, 2]
    dh = (np.maximum(steep[:, 0] - v, 0.0) + np.maximum(v - steep[:, 1], 0.0)) / steep[:, 2]
    return float(ds @ ds), float(dh @ dh)


# --------------------------------------------------------------------------------------------
# Outcome model
# --------------------------------------------------------------------------------------------


@dataclass
class _Outcomes:
    """Mutable outcome state of the eligible patients (days)."""

    time_days: np.ndarray  # int
    event: np.ndarray  # int 0/1
    admin: np.ndarray  # bool: censored by the data cut-off (else lost to follow-up)
    lag_days: np.ndarray  # int: days between last contact of the alive and the cut-off


def simulate_outcomes(
    cox: np.ndarray, settings: SyntheticSettings, rng: np.random.Generator
) -> pd.DataFrame:
    """Draw outcomes from the documented proportional-hazards model.

    Death time T has hazard h0(t) exp(x'b) with b the Table 3 log hazard ratios and h0 Weibull
    (shape ``weibull_shape``, scale ``weibull_scale_months``); no death in the first
    ``min_death_days`` (draws below are redrawn). The first PM is uniform over the study window;
    the alive are censored at the data cut-off minus a lag of 0-``admin_lag_days_max`` days;
    loss to follow-up is exponential (``loss_hazard_per_month``) and not earlier than
    ``min_censor_days``. The observed time is the minimum of the three.

    Parameters
    ----------
    cox
        (n, 5) 0/1 array of the Table 3 covariates (:func:`cox_design`).
    settings
        Generator settings.
    rng
        The generator's random stream.

    Returns
    -------
    pandas.DataFrame
        ``time_days``, ``event`` (0/1), ``admin`` (censored by the cut-off), ``lag_days``,
        ``pm_day_offset`` (days from ``window_start`` to the first PM).

    Example
    -------
    >>> out = simulate_outcomes(np.zeros((5, 5)), SyntheticSettings(), np.random.default_rng(0))
    >>> list(out.columns)
    ['time_days', 'event', 'admin', 'lag_days', 'pm_day_offset']
    """
    n = cox.shape[0]
    lp = np.asarray(cox, dtype=float) @ np.log(np.array(START_HAZARD_RATIOS))
    e = rng.exponential(size=n)
    t_death = settings.weibull_scale_months * (e / np.exp(lp)) ** (1.0 / settings.weibull_shape)
    t_death_days = np.maximum(np.rint(t_death * DAYS_PER_MONTH), settings.min_death_days)
    ws = pd.Timestamp(settings.window_start)
    we = pd.Timestamp(settings.window_end)
    cut = pd.Timestamp(settings.cutoff_date)
    pm = rng.integers(0, (we - ws).days + 1, size=n)
    lag = rng.integers(0, settings.admin_lag_days_max + 1, size=n)
    admin_days = (cut - ws).days - pm - lag
    loss = rng.exponential(1.0 / settings.loss_hazard_per_month, size=n) * DAYS_PER_MONTH
    loss_days = np.maximum(np.rint(loss), settings.min_censor_days)
    time = np.minimum.reduce([t_death_days, admin_days, loss_days]).astype(int)
    event = (t_death_days <= np.minimum(admin_days, loss_days)).astype(int)
    admin = (event == 0) & (admin_days <= loss_days)
    return pd.DataFrame(
        {"time_days": time, "event": event, "admin": admin, "lag_days": lag, "pm_day_offset": pm}
    )


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
    """Check the plausibility constraints of issue 4 on an analysed cohort.

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
    >>> from helpers.schema import add_survival_columns
    >>> reg = add_survival_columns(pd.read_csv(REGISTRY_PATH))  # doctest: +SKIP
    >>> check_plausibility(reg[reg.primary_site.isin(["trunk_wall", "extremities"])])  # doctest: +SKIP
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

_BLOCK_G: dict[str, tuple[int, ...]] = {
    "age": (0,),
    "sex": (1,),
    "dfi": (2,),
    "histology": (3, 4, 5, 6, 7),
    "site": (8,),
    "primary_size": (9,),
    "lung": (10, 11),
    "lesion": (12,),
    "resection_type": (13,),
    "resection_status": (14,),
    "chemotherapy": (15, 16),
}
_BLOCK_C: dict[str, tuple[int, ...]] = {
    "dfi": (0,),
    "histology": (1,),
    "lung": (2,),
    "lesion": (3,),
    "resection_status": (4,),
}
_N_RATES = 2 * len(FACTORS) + 1 + 2 * len(FACTORS)
#: Positions of the Cox statistics (log HR, log CI limits) in :func:`_statistic_vector`.
_COX = slice(_N_RATES, _N_RATES + 3 * len(COX_COVARIATES))
_NON_COX = np.r_[np.arange(_N_RATES), np.arange(_N_RATES + 3 * len(COX_COVARIATES), _N_RATES + 3 * len(COX_COVARIATES) + 4)]
#: Penalty per unit of a violated plausibility constraint (dwarfs every fidelity term).
_VIOLATION_PENALTY = 1.0e4


@dataclass(frozen=True)
class CalibrationResult:
    """Outcome of :func:`calibrate`.

    Attributes
    ----------
    covariates
        The 66 eligible patients' covariates after the block swaps (``dfi_days`` included).
    outcomes
        ``time_days``, ``event``, ``admin``, ``lag_days`` per patient (same row order).
    start_loss, final_loss
        Loss (fidelity + constraint penalty) of the best start draw and of the result.
    violations
        Units of violated plausibility constraints in the result (0 when all hold).
    trace
        Loss of the current state every 1 % of the iterations of each chain (``iteration``,
        ``loss``, ``temperature``, ``accepted``, ``chain``).
    chain, chain_losses
        The chain kept and the final loss of every chain.
    """

    covariates: pd.DataFrame
    outcomes: pd.DataFrame
    start_loss: float
    final_loss: float
    violations: int
    trace: pd.DataFrame = field(repr=False)
    chain: int = 0
    chain_losses: tuple[float, ...] = ()


class _State:
    """Mutable search state: block assignment, design matrices and outcomes."""

    def __init__(self, cov: pd.DataFrame, out: _Outcomes) -> None:
        n = len(cov)
        self.cov = cov.reset_index(drop=True)
        tmp = self.cov.copy()
        tmp["dfi_months"] = tmp["dfi_days"] / DAYS_PER_MONTH
        fd = factor_design(tmp)
        self.g = fd.to_numpy(float)
        self.c = cox_design(fd).to_numpy(float)
        self.src = {b: np.arange(n) for b in COVARIATE_BLOCKS}
        self.age = self.cov["age_at_pm_years"].to_numpy(int).copy()
        rng_ = [HISTOLOGY_AGE_RANGE[h] for h in self.cov["histology"]]
        self.age_lo = np.array([r[0] for r in rng_])
        self.age_hi = np.array([r[1] for r in rng_])
        self.out = out
        self._cache_constraints()

    def _cache_constraints(self) -> None:
        """Covariate-only parts of :meth:`violations` (they change only with block swaps)."""
        self.r2 = np.flatnonzero(self.c[:, 4])
        self.age_bad = int(np.count_nonzero((self.age < self.age_lo) | (self.age > self.age_hi)))

    def swap_block(self, b: str, i: int, j: int) -> None:
        ij, ji = [i, j], [j, i]
        cols = list(_BLOCK_G[b])
        self.g[np.ix_(ij, cols)] = self.g[np.ix_(ji, cols)]
        if b in _BLOCK_C:
            cc = list(_BLOCK_C[b])
            self.c[np.ix_(ij, cc)] = self.c[np.ix_(ji, cc)]
        self.src[b][ij] = self.src[b][ji]
        if b == "age":
            self.age[ij] = self.age[ji]
        elif b == "histology":
            self.age_lo[ij] = self.age_lo[ji]
            self.age_hi[ij] = self.age_hi[ji]
        if b in ("age", "histology", "resection_status"):
            self._cache_constraints()

    def swap_outcomes(self, i: int, j: int) -> None:
        o = self.out
        for a in (o.time_days, o.event, o.admin, o.lag_days):
            a[[i, j]] = a[[j, i]]

    def violations(self, st: SyntheticSettings) -> int:
        o = self.out
        ev = o.event
        td = o.time_days
        deaths = int(ev.sum())
        early = int(np.count_nonzero(td[ev == 0] < 6.0 * DAYS_PER_MONTH))
        late = int(np.count_nonzero(td[ev == 1] > 120.0 * DAYS_PER_MONTH))
        r2_ok = _r2_rule(td[self.r2] / DAYS_PER_MONTH, ev[self.r2])
        v = max(0, early - st.max_lost_before_6_months)
        v += max(0, late - st.max_deaths_after_120_months)
        v += max(0, st.min_deaths - deaths) + max(0, deaths - st.max_deaths)
        v += 0 if r2_ok else 1
        return v + self.age_bad

    def covariates(self) -> pd.DataFrame:
        out = self.cov.copy()
        for b, cols in COVARIATE_BLOCKS.items():
            for col in cols:
                out[col] = self.cov[col].to_numpy()[self.src[b]]
        return out


def _total_loss(
    state: _State, ev: VectorisedEvaluator, targets: Targets, st: SyntheticSettings
) -> tuple[float, int]:
    v = state.violations(st)
    stats_ = ev.evaluate(state.out.time_days / DAYS_PER_MONTH, state.out.event)
    return calibration_loss(stats_, targets) + _VIOLATION_PENALTY * v, v


def calibrate(
    settings: SyntheticSettings | None = None,
    covariates: pd.DataFrame | None = None,
    targets: Targets | None = None,
    *,
    workers: int = 1,
) -> CalibrationResult:
    """Seeded simulated annealing of outcomes and covariate blocks towards the published tables.

    Start: the lowest-loss of ``n_start_draws`` draws of :func:`simulate_outcomes`. Moves (each
    iteration one, chosen at random with the frequencies of ``move_mix``, by default): swap the
    outcomes of two patients (40 %), swap one covariate block of :data:`COVARIATE_BLOCKS`
    between two patients (30 %), perturb one time by a normal step of 15, 60 or 240 days
    (20 %), flip one event (10 %; a death becomes a censoring at the same time and vice versa). A move is accepted with the Metropolis rule at a
    temperature cooling geometrically from ``temperature_start`` to ``temperature_end``;
    violated plausibility constraints cost :data:`_VIOLATION_PENALTY` each, so the result
    satisfies them whenever the search can. ``n_chains`` independent chains (own start draws,
    own random stream ``[seed, 2, chain]``) share the iterations; the chain with the lowest final
    loss is kept, and within it the best state seen. The number of iterations is fixed (never
    a time limit), so equal settings give an identical result, whatever ``workers`` is.

    Parameters
    ----------
    settings
        Generator settings (defaults when None).
    covariates
        Eligible covariates (:func:`make_covariates` with the settings' seed when None).
    targets
        Calibration targets (:func:`load_targets` when None).
    workers
        Chains run at once, each in its own process (1: all in this process). The result does
        not depend on it: every chain has its own random stream.

    Returns
    -------
    CalibrationResult

    Example
    -------
    >>> res = calibrate(SyntheticSettings(n_iterations=200, n_start_draws=2))
    >>> len(res.outcomes)
    66
    """
    st = settings or SyntheticSettings()
    cov = make_covariates(st.seed) if covariates is None else covariates
    tg = targets or load_targets()
    chains = max(1, st.n_chains)
    per_chain = replace(st, n_iterations=st.n_iterations // chains)
    jobs = [(per_chain, cov, tg, k) for k in range(chains)]
    if workers > 1 and chains > 1:
        # spawn, not fork: the caller may be a Jupyter kernel with threads of its own.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, chains), mp_context=ctx) as pool:
            results = list(pool.map(_chain, jobs))
    else:
        results = [_chain(job) for job in jobs]
    best = min(range(chains), key=lambda k: results[k].final_loss)
    trace = pd.concat([r.trace for r in results], ignore_index=True)
    return replace(results[best], trace=trace, chain=best, chain_losses=tuple(r.final_loss for r in results))


def _chain(job: tuple[SyntheticSettings, pd.DataFrame, Targets, int]) -> CalibrationResult:
    """Chain ``k`` of :func:`calibrate` with its own random stream (a process-pool task)."""
    st, cov, tg, k = job
    res = _anneal(st, cov, tg, np.random.default_rng([st.seed, 2, k]))
    return replace(res, trace=res.trace.assign(chain=k))


def _anneal(
    st: SyntheticSettings, cov: pd.DataFrame, tg: Targets, rng: np.random.Generator
) -> CalibrationResult:
    """One annealing chain (see :func:`calibrate`)."""
    state = _State(cov, _Outcomes(np.zeros(0, int), np.zeros(0, int), np.zeros(0, bool), np.zeros(0, int)))
    ev = VectorisedEvaluator(state.g, state.c)
    ev.groups = state.g  # share the arrays the moves edit in place
    ev.cox = state.c
    best_start = None
    for _ in range(max(1, st.n_start_draws)):
        sim = simulate_outcomes(state.c, st, rng)
        state.out = _Outcomes(
            sim["time_days"].to_numpy(int).copy(),
            sim["event"].to_numpy(int).copy(),
            sim["admin"].to_numpy(bool).copy(),
            sim["lag_days"].to_numpy(int).copy(),
        )
        ev.beta = np.zeros(5)
        loss, _ = _total_loss(state, ev, tg, st)
        if best_start is None or loss < best_start[0]:
            best_start = (loss, state.out)
    start_loss, state.out = best_start
    ev.beta = np.zeros(5)
    viol = state.violations(st)
    first = ev.evaluate(state.out.time_days / DAYS_PER_MONTH, state.out.event)
    viol += first.undefined_rates
    vec = _statistic_vector(first)
    n_main = int(round(st.n_iterations * (1.0 - st.polish_fraction)))
    gentle = n_main > 0
    cur_soft, cur_steep = _loss_parts(vec, tg, slice(None), gentle=gentle)
    cur_pen = _VIOLATION_PENALTY * viol
    cur = cur_soft + cur_steep + cur_pen
    best = (cur, viol, _copy_outcomes(state.out), {b: s.copy() for b, s in state.src.items()})

    n = len(state.cov)
    blocks = list(COVARIATE_BLOCKS)
    o = state.out
    max_days = st.max_time_days
    trace = []
    every = max(1, st.n_iterations // 100)
    accepted = 0
    ratio = st.temperature_end / st.temperature_start
    cum = np.cumsum(st.move_mix) / sum(st.move_mix)
    for it in range(st.n_iterations):
        temp = st.temperature_start * ratio ** min(1.0, it / max(1, n_main - 1))
        if it == n_main:
            # Polish: from here on the strict p-value terms, at the final temperature.
            gentle = False
            ev.beta = np.zeros(5)
            vec = _statistic_vector(ev.evaluate(o.time_days / DAYS_PER_MONTH, o.event))
            cur_soft, cur_steep = _loss_parts(vec, tg, slice(None))
            cur = cur_soft + cur_steep + cur_pen
            viol = int(round(cur_pen / _VIOLATION_PENALTY))
            best = (cur, viol, _copy_outcomes(o), {b: s.copy() for b, s in state.src.items()})
        u = rng.uniform()
        i = int(rng.integers(n))
        j = int(rng.integers(n - 1))
        j += j >= i
        if u < cum[0]:
            if o.time_days[i] == o.time_days[j] and o.event[i] == o.event[j]:
                continue
            state.swap_outcomes(i, j)
            undo = ("out", i, j)
        elif u < cum[1]:
            b = blocks[int(rng.integers(len(blocks)))]
            state.swap_block(b, i, j)
            undo = ("block", b, i, j)
        elif u < cum[2]:
            sigma = (15.0, 60.0, 240.0)[int(rng.integers(3))]
            old = int(o.time_days[i])
            low = st.min_death_days if o.event[i] else st.min_censor_days
            new = int(np.clip(old + round(rng.normal(0.0, sigma)), low, max_days))
            if new == old:
                continue
            o.time_days[i] = new
            undo = ("time", i, old)
        else:
            if o.event[i] == 0 and o.time_days[i] < st.min_death_days:
                continue
            o.event[i] = 1 - o.event[i]
            old_admin = bool(o.admin[i])
            o.admin[i] = bool(rng.uniform() < 0.5)
            undo = ("event", i, old_admin)
        # Metropolis: accept when the candidate's loss is below cur - temp * log(u). Every term
        # is non-negative, so a candidate whose non-Cox terms already exceed the threshold is
        # rejected without the Cox fit.
        threshold = cur - temp * math.log(1.0 - rng.uniform())
        stats_ = ev.evaluate(o.time_days / DAYS_PER_MONTH, o.event, cox=False)
        new_pen = _VIOLATION_PENALTY * (state.violations(st) + stats_.undefined_rates)
        ok = False
        if np.isfinite(stats_.median_se):
            ps, ph = _loss_parts(_statistic_vector(stats_), tg, _NON_COX, gentle=gentle)
            if ps + ph + new_pen < threshold:
                stats_ = ev.add_cox(stats_)
                if stats_.cox_converged:
                    cs, ch = _loss_parts(_statistic_vector(stats_), tg, _COX, gentle=gentle)
                    ok = ps + cs + ph + ch + new_pen < threshold
        if ok:
            cur_soft, cur_steep, cur_pen = ps + cs, ph + ch, new_pen
            cur = cur_soft + cur_steep + cur_pen
            accepted += 1
            if cur < best[0]:
                viol = int(round(cur_pen / _VIOLATION_PENALTY))
                best = (cur, viol, _copy_outcomes(o), {b: s.copy() for b, s in state.src.items()})
        else:
            kind = undo[0]
            if kind == "out":
                state.swap_outcomes(undo[1], undo[2])
            elif kind == "block":
                state.swap_block(undo[1], undo[2], undo[3])
            elif kind == "time":
                o.time_days[undo[1]] = undo[2]
            else:
                o.event[undo[1]] = 1 - o.event[undo[1]]
                o.admin[undo[1]] = undo[2]
        if it % every == 0:
            trace.append((it, cur, temp, accepted))
    final_loss, final_viol, out_best, src_best = best
    state.out = out_best
    state.src = src_best
    outcomes = pd.DataFrame(
        {
            "time_days": out_best.time_days,
            "event": out_best.event,
            "admin": out_best.admin,
            "lag_days": out_best.lag_days,
        }
    )
    return CalibrationResult(
        covariates=state.covariates(),
        outcomes=outcomes,
        start_loss=float(start_loss),
        final_loss=float(final_loss),
        violations=int(final_viol),
        trace=pd.DataFrame(trace, columns=["iteration", "loss", "temperature", "accepted"]),
    )


def _copy_outcomes(o: _Outcomes) -> _Outcomes:
    """A deep copy of an outcome state."""
    return _Outcomes(o.time_days.copy(), o.event.copy(), o.admin.copy(), o.lag_days.copy())


# --------------------------------------------------------------------------------------------
# Dates, the registry file and its provenance
# --------------------------------------------------------------------------------------------


def _assign_dates(
    frame: pd.DataFrame, outcomes: pd.DataFrame, st: SyntheticSettings, rng: np.random.Generator
) -> pd.DataFrame:
    """Turn (time in days, event, censoring kind) into the registry's dates.

    Alive patients censored by the cut-off were last seen ``lag_days`` before it and their PM
    is that many days earlier; when such a PM would fall outside the study window the patient
    is lost to follow-up instead. For the dead and the lost, the PM is uniform over the part of
    the window that keeps the end of follow-up on or before the cut-off.
    """
    ws = np.datetime64(st.window_start, "D")
    we = np.datetime64(st.window_end, "D")
    cut = np.datetime64(st.cutoff_date, "D")
    out = frame.reset_index(drop=True).copy()
    n = len(out)
    pm = np.empty(n, dtype="datetime64[D]")
    end = np.empty(n, dtype="datetime64[D]")
    last = np.empty(n, dtype="datetime64[D]")
    lost = np.zeros(n, dtype=bool)
    for i in range(n):
        tau = int(outcomes["time_days"].iat[i])
        dead = bool(outcomes["event"].iat[i])
        lag = int(outcomes["lag_days"].iat[i])
        start = None
        if not dead and bool(outcomes["admin"].iat[i]):
            cand = cut - np.timedelta64(lag, "D") - np.timedelta64(tau, "D")
            if ws <= cand <= we:
                start = cand
        if start is None:
            latest = min(we, cut - np.timedelta64(tau, "D"))
            span = int((latest - ws).astype(int))
            if span < 0:
                raise ValueError(f"follow-up of {tau} days does not fit the study window")
            start = ws + np.timedelta64(int(rng.integers(0, span + 1)), "D")
            lost[i] = not dead
        pm[i] = start
        end[i] = start + np.timedelta64(tau, "D")
        if dead:
            back = int(rng.integers(0, 61))
            last[i] = end[i] - np.timedelta64(min(back, tau), "D")
        else:
            last[i] = end[i]
    gap = rng.integers(14, 91, size=n)
    dx = pm - gap.astype("timedelta64[D]")
    surgery = dx - out["dfi_days"].to_numpy(int).astype("timedelta64[D]")
    dead = outcomes["event"].to_numpy(int) == 1
    r2 = out["resection_status"].eq("r2").to_numpy()
    cause = rng.choice(["sarcoma", "other", "unknown"], size=n, p=[0.85, 0.08, 0.07])
    cause = np.where(r2, "sarcoma", cause)
    out["date_primary_surgery"] = surgery
    out["date_lung_metastasis_diagnosis"] = dx
    out["date_first_pm"] = pm
    out["vital_status"] = np.where(dead, "dead", "alive")
    out["date_last_contact"] = last
    out["date_of_death"] = np.where(dead, end, np.datetime64("NaT"))
    out["cause_of_death"] = np.where(dead, cause, None)
    out["_lost_to_follow_up"] = lost
    return out


def _format(registry: pd.DataFrame) -> pd.DataFrame:
    """Registry in the dictionary's column order, dates as ISO strings, empty cells for missing.

    The columns of :data:`PERIOPERATIVE_DETAIL_COLUMNS` are left to :func:`add_perioperative_details`.
    """
    out = pd.DataFrame(index=registry.index)
    for col in REGISTRY_COLUMNS:
        if col in PERIOPERATIVE_DETAIL_COLUMNS:
            continue
        v = registry[col]
        if col.startswith("date_"):
            v = pd.to_datetime(v).dt.strftime("%Y-%m-%d")
        elif col in ("primary_tumor_size_cm", "largest_lung_lesion_mm"):
            v = v.astype(float).map(lambda x: f"{x:.1f}")
        elif col in ("age_at_pm_years", "lung_metastasis_number", "postoperative_stay_days"):
            v = v.astype(int)
        out[col] = v
    return out


@dataclass(frozen=True)
class SyntheticRegistry:
    """The generated registry and the record of how it was made.

    Attributes
    ----------
    registry
        95 rows in the dictionary's column order (dates as ISO strings, empty = missing).
    calibration
        The search result of the 66 eligible patients.
    provenance
        Seed, settings, loss, per-target results and constraint checks (without ``sha256``,
        which :func:`write_registry` adds from the written bytes).
    """

    registry: pd.DataFrame
    calibration: CalibrationResult
    provenance: dict


def build_registry(settings: SyntheticSettings | None = None, *, workers: int = 1) -> SyntheticRegistry:
    """Generate the whole synthetic registry (covariates, calibration, dates).

    Parameters
    ----------
    settings
        Generator settings (defaults: the shipped registry).
    workers
        Calibration chains run at once (:func:`calibrate`; the result does not depend on it).

    Returns
    -------
    SyntheticRegistry

    Example
    -------
    >>> reg = build_registry(SyntheticSettings(n_iterations=0, n_start_draws=1)).registry
    >>> reg.shape
    (95, 26)
    """
    st = settings or SyntheticSettings()
    targets = load_targets()
    cal = calibrate(st, make_covariates(st.seed), targets, workers=workers)
    rng = np.random.default_rng([st.seed, 3])
    eligible = cal.covariates.copy()
    eligible["first_pm_elsewhere"] = "no"
    eligible = _assign_dates(eligible, cal.outcomes, st, rng)
    excluded = _make_excluded(rng)
    exc_fd = excluded.assign(dfi_months=excluded["dfi_days"] / DAYS_PER_MONTH)
    exc_out = simulate_outcomes(cox_design(factor_design(exc_fd)).to_numpy(float), st, rng)
    excluded = _assign_dates(excluded, exc_out, st, rng)
    both = pd.concat([eligible, excluded], ignore_index=True)
    both["_order"] = np.arange(len(both))
    both = both.sort_values(["date_first_pm", "_order"], kind="stable").reset_index(drop=True)
    both["patient_id"] = [f"SYN-{i + 1:03d}" for i in range(len(both))]
    # Last, from a stream of their own: the two columns change no other column.
    registry = add_perioperative_details(_format(both), st.seed)
    analysed = both.loc[both["_order"] < len(eligible)]
    provenance = _provenance(st, cal, registry, targets, int(analysed["_lost_to_follow_up"].sum()))
    return SyntheticRegistry(registry, cal, provenance)


def analysed_cohort(registry: pd.DataFrame) -> pd.DataFrame:
    """Eligible patients of a registry with ``time_months``, ``event`` and ``dfi_months``.

    Applies the paper's two eligibility criteria directly (primary in the trunk wall or an
    extremity; first PM at this hospital). The project's ``helpers.cohort.assemble_cohort``
    does the same with a ledger; this lightweight version keeps the generator independent.

    Parameters
    ----------
    registry
        Registry rows (as read from the CSV).

    Returns
    -------
    pandas.DataFrame

    Example
    -------
    >>> len(analysed_cohort(pd.read_csv(REGISTRY_PATH)))  # doctest: +SKIP
    66
    """
    keep = registry["primary_site"].isin(["trunk_wall", "extremities"]) & registry[
        "first_pm_elsewhere"
    ].eq("no")
    return add_survival_columns(registry.loc[keep].reset_index(drop=True))


def evaluate_registry(
    registry: pd.DataFrame, targets: Targets | None = None
) -> tuple[CohortStatistics, pd.DataFrame]:
    """Every calibrated statistic of a registry beside its published target.

    Parameters
    ----------
    registry
        Registry rows (as read from the CSV).
    targets
        Targets (:func:`load_targets` when None).

    Returns
    -------
    tuple
        The :class:`CohortStatistics` of the analysed cohort and the tidy frame of
        :func:`score_statistics` (one row per published statistic).

    Example
    -------
    >>> stats_, table = evaluate_registry(pd.read_csv(REGISTRY_PATH))  # doctest: +SKIP
    """
    tg = targets or load_targets()
    cohort = analysed_cohort(registry)
    fd = factor_design(cohort)
    ev = VectorisedEvaluator(fd.to_numpy(float), cox_design(fd).to_numpy(float))
    s = ev.evaluate(cohort["time_months"].to_numpy(float), cohort["event"].to_numpy(int))
    return s, score_statistics(s, tg, follow_up_max=float(cohort["time_months"].max()))


def score_statistics(
    s: CohortStatistics, targets: Targets | None = None, *, follow_up_max: float = math.nan
) -> pd.DataFrame:
    """Every calibrated statistic beside its published target and the target's tolerance.

    Parameters
    ----------
    s
        Statistics of a cohort (:meth:`VectorisedEvaluator.evaluate`).
    targets
        Targets (:func:`load_targets` when None).
    follow_up_max
        Longest observed time of the cohort (months; reported, never within tolerance).

    Returns
    -------
    pandas.DataFrame
        Columns ``group``, ``statistic``, ``published``, ``value``, ``error``, ``tolerance``,
        ``within_tolerance`` and ``printed_digits_match``. A value exactly on the edge of its
        tolerance is within it (comparisons allow 1e-9 for floating point). The ``cox_p`` rows
        (Table 3 Wald p-values) are not calibrated targets: their tolerance is missing and
        ``within_tolerance`` says whether the paper's conclusion at 0.05 holds.

    Example
    -------
    >>> cov = make_covariates(1)
    >>> cov["dfi_months"] = cov["dfi_days"] / 30.4375
    >>> g = factor_design(cov)
    >>> ev = VectorisedEvaluator(g.to_numpy(), cox_design(g).to_numpy())
    >>> score_statistics(ev.evaluate(np.linspace(1, 100, 66), np.arange(66) % 2)).shape
    (77, 8)
    """
    tg = targets or load_targets()
    eps = 1e-9
    rows = []
    for k, (var, a, b) in enumerate(FACTORS):
        for lev, ours, risk, pub in (
            (a, s.rate_first[k], s.at_risk_first[k], tg.rate_first[k]),
            (b, s.rate_second[k], s.at_risk_second[k], tg.rate_second[k]),
        ):
            # Undefined (missing) when nobody is followed to the landmark and S > 0.
            v = 100.0 * ours if (risk > 0 or ours == 0) else math.nan
            rows.append(("five_year_rate", f"{var}:{lev}", pub, v, v - pub, 2.0, abs(v - pub) <= 2.0 + eps, round_half_up(v) == pub))
    for k, (var, _, _) in enumerate(FACTORS):
        p, pub, op, dec = s.p_value[k], tg.p_value[k], tg.p_operator[k], int(tg.p_decimals[k])
        if op == "<":
            ok = digits = bool(p < pub)
        else:
            side = (p < 0.05) == (pub < 0.05)
            ok = bool(abs(p - pub) <= 0.01 + eps and side)
            digits = round_half_up(p, dec) == round(pub, dec)
        rows.append(("logrank_p", var, pub, p, p - pub, 0.01, ok, digits))
    for k, (var, _, _) in enumerate(COX_COVARIATES):
        hr = math.exp(s.beta[k])
        pub_hr = math.exp(tg.log_hr[k])
        rows.append(("cox_hr", var, pub_hr, hr, hr / pub_hr - 1.0, 0.02, abs(hr / pub_hr - 1) <= 0.02 + eps, round(hr, 3) == round(pub_hr, 3)))
        for name, lim, pub_lim in (
            ("ci_low", s.beta[k] - _Z975 * s.beta_se[k], tg.log_ci_low[k]),
            ("ci_high", s.beta[k] + _Z975 * s.beta_se[k], tg.log_ci_high[k]),
        ):
            val, pv = math.exp(lim), math.exp(pub_lim)
            rows.append(("cox_" + name, var, pv, val, val / pv - 1.0, 0.10, abs(val / pv - 1) <= 0.10 + eps, round(val, 3) == round(pv, 3)))
        # Wald p (as SPSS prints it): not calibrated; "within tolerance" = the paper's conclusion.
        p_wald = float(2.0 * stats.norm.sf(abs(s.beta[k] / s.beta_se[k])))
        pub_p = float(tg.cox_p_value[k]) if len(tg.cox_p_value) else math.nan
        same_side = (p_wald < _ALPHA) == (pub_p < _ALPHA)
        rows.append(("cox_p", var, pub_p, p_wald, p_wald - pub_p, math.nan, bool(same_side), round_half_up(p_wald, 3) == pub_p))
    ov = 100.0 * s.overall_rate
    rows.append(("overall", "five_year_rate", tg.overall_rate, ov, ov - tg.overall_rate, 0.5, round_half_up(ov) == tg.overall_rate, round_half_up(ov) == tg.overall_rate))
    rows.append(("overall", "median", tg.median, s.median, s.median - tg.median, 0.5, abs(s.median - tg.median) <= 0.5 + eps, round(s.median) == tg.median))
    mlo = s.median - _Z975 * s.median_se
    mhi = s.median + _Z975 * s.median_se
    rows.append(("overall", "median_ci_low", tg.median_ci_low, mlo, mlo - tg.median_ci_low, 1.0, abs(mlo - tg.median_ci_low) <= 1.0 + eps, round(mlo, 1) == tg.median_ci_low))
    rows.append(("overall", "median_ci_high", tg.median_ci_high, mhi, mhi - tg.median_ci_high, 1.0, abs(mhi - tg.median_ci_high) <= 1.0 + eps, round(mhi, 1) == tg.median_ci_high))
    fu = s.follow_up_median
    rows.append(("overall", "follow_up_median", tg.follow_up_median, fu, fu - tg.follow_up_median, 1.0, abs(fu - tg.follow_up_median) <= 1.0 + eps, round(fu) == tg.follow_up_median))
    fmax = follow_up_max
    rows.append(("overall", "follow_up_max", tg.follow_up_max, fmax, fmax - tg.follow_up_max, 0.0, False, False))
    table = pd.DataFrame(
        rows,
        columns=["group", "statistic", "published", "value", "error", "tolerance", "within_tolerance", "printed_digits_match"],
    )
    table["within_tolerance"] = table["within_tolerance"].astype(bool)
    table["printed_digits_match"] = table["printed_digits_match"].astype(bool)
    return table


def _provenance(
    st: SyntheticSettings,
    cal: CalibrationResult,
    registry: pd.DataFrame,
    targets: Targets,
    n_lost: int,
) -> dict:
    reg = pd.read_csv(io.StringIO(_to_csv_text(registry)))
    s, table = evaluate_registry(reg, targets)
    cohort = analysed_cohort(reg)
    checks = check_plausibility(cohort, st)
    summary = (
        table.groupby("group")
        .agg(n=("statistic", "size"), within_tolerance=("within_tolerance", "sum"), printed_digits=("printed_digits_match", "sum"))
        .reset_index()
    )
    at_risk_60 = int((cohort["time_months"] >= 60).sum())
    return {
        "synthetic": True,
        "note": (
            "SYNTHETIC registry: invented patients calibrated to the published tables of "
            "Nakayama et al., Cancers 2022;14:3329. No clinical conclusion may be drawn from it."
        ),
        "generator": "helpers.synthetic (python -m helpers.synthetic)",
        "seed": st.seed,
        "settings": asdict(st),
        "conventions": {
            "time": "days / 30.4375 (helpers.schema.months_between), from the date of first PM",
            "event": "death from any cause (the paper's 'DSS' definition)",
            "cox_ties": "breslow",
            "median_ci": "symmetric: median +- 1.96 SE, SE by Collett's density estimate (eps = 0.05)",
            "five_year_rate": "Kaplan-Meier at 60 months, percent, rounded half up for the digits check",
            "dfi_rounding": (
                "DFI days = ceil(m * 30.4375) for a whole number of months m, so DFI in months "
                "lies in [m, m + 0.033) and rounds to the printed whole month"
            ),
            "cutoff_date": st.cutoff_date,
            "partial_resection_n": "54 (Table 1 wedge resections; Table 2 prints 44, see the paper audit)",
        },
        "calibration": {
            "start_loss": cal.start_loss,
            "final_loss": cal.final_loss,
            "constraint_violations": cal.violations,
            "n_iterations": st.n_iterations,
            "chain_kept": cal.chain,
            "chain_final_losses": list(cal.chain_losses),
            "trace": json.loads(cal.trace.to_json(orient="records", double_precision=6)),
        },
        "achieved": {
            "n_deaths": int(cohort["event"].sum()),
            "n_censored": int((cohort["event"] == 0).sum()),
            "n_lost_to_follow_up": n_lost,
            "n_at_risk_at_60_months": at_risk_60,
            "follow_up_max_months": round(float(cohort["time_months"].max()), 2),
            "summary": summary.to_dict(orient="records"),
        },
        "targets": json.loads(table.to_json(orient="records", double_precision=6)),
        "plausibility": json.loads(checks.to_json(orient="records")),
        "not_reproducible": [
            {
                "target": "follow_up_max_months = 211",
                "reason": (
                    "with the first PM inside January 2007 - January 2021 and follow-up ending on "
                    f"or before the data cut-off {st.cutoff_date}, at most "
                    f"{st.max_time_days / DAYS_PER_MONTH:.0f} months are possible; the printed "
                    "211 months cannot be contained in the study window (paper audit, section 7)"
                ),
            }
        ],
    }


def write_registry(
    settings: SyntheticSettings | None = None,
    registry_path: str | Path = REGISTRY_PATH,
    provenance_path: str | Path = PROVENANCE_PATH,
    *,
    workers: int = 1,
) -> SyntheticRegistry:
    """Generate the registry and write it with its provenance record.

    Parameters
    ----------
    settings
        Generator settings (defaults: the shipped registry).
    registry_path, provenance_path
        Where to write the CSV and the JSON (``sha256`` of the CSV bytes included).
    workers
        Calibration chains run at once (:func:`calibrate`; the result does not depend on it).

    Returns
    -------
    SyntheticRegistry

    Example
    -------
    >>> write_registry(SyntheticSettings(n_iterations=0), "reg.csv", "prov.json")  # doctest: +SKIP
    """
    result = build_registry(settings, workers=workers)
    data = _to_csv_text(result.registry).encode("utf-8")
    Path(registry_path).write_bytes(data)
    prov = {"sha256": hashlib.sha256(data).hexdigest()}
    prov.update(result.provenance)
    Path(provenance_path).write_text(json.dumps(prov, indent=1, default=_json_default) + "\n", encoding="utf-8")
    return replace(result, provenance=prov)


def _to_csv_text(registry: pd.DataFrame) -> str:
    """The registry as CSV text (LF line ends, empty cells for missing values)."""
    return registry.to_csv(index=False, lineterminator="\n")


def _json_default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m helpers.synthetic [--iterations N] [--seed S] [--workers W] [--output PATH]``.

    Parameters
    ----------
    argv
        Arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    int
        Exit status (0).
    """
    parser = argparse.ArgumentParser(description="Write the SYNTHETIC registry and its provenance.")
    default = SyntheticSettings()
    parser.add_argument("--seed", type=int, default=default.seed)
    parser.add_argument("--iterations", type=int, default=default.n_iterations)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="calibration chains run at once (default: the number of CPUs; the result does not depend on it)",
    )
    parser.add_argument("--output", type=Path, default=REGISTRY_PATH)
    parser.add_argument("--provenance", type=Path, default=PROVENANCE_PATH)
    args = parser.parse_args(argv)
    st = replace(default, seed=args.seed, n_iterations=args.iterations)
    res = write_registry(st, args.output, args.provenance, workers=args.workers)
    summary = res.provenance["achieved"]["summary"]
    text = "; ".join(f"{r['group']} {r['within_tolerance']}/{r['n']}" for r in summary)
    print(f"wrote {args.output} (sha256 {res.provenance['sha256'][:12]}...): within tolerance {text}")
    return 0


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
    >>> cox_events_table(analysed_cohort(pd.read_csv(REGISTRY_PATH)))  # doctest: +SKIP
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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
