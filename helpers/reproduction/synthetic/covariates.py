"""Covariates of the synthetic registry: Table 1 margins exactly, chemotherapy by indication, keys, excluded patients, perioperative details."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from helpers.reproduction.realism import (
    CHEMO_SENSITIVE_HISTOLOGIES,
    chemotherapy_by_indication,
)
from helpers.reproduction.synthetic.settings import (
    _LIPOSARCOMAS,
    _LUNG_BLOCK,
    _TYPICAL_AGE,
    HISTOLOGY_AGE_RANGE,
    HISTOLOGY_COUNTS,
    REGISTRY_COLUMNS,
    SyntheticSettings,
)
from helpers.schema import DAYS_PER_MONTH

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


def make_covariates(
    seed: int = SyntheticSettings.seed, *, chemo_strength: float = SyntheticSettings.chemo_strength
) -> pd.DataFrame:
    """Covariates of the 66 eligible patients, reproducing Table 1 exactly.

    Every count, median and range of Table 1 and every Table 2 group size hold by construction
    (the 54 partial = wedge resections of Table 1 are used, see the paper audit). Chemotherapy is
    the exclusive partition none 45 / preoperative only 17 / postoperative only 1 / both 3,
    given by indication (:func:`chemotherapy_risk_score`, strength ``chemo_strength``). Sex,
    site, resection type and chemotherapy are functions of per-patient keys
    (:data:`KEY_COLUMNS`, :func:`apply_keys`) that the calibration may redraw.
    Bilateral disease (8) always has at least two metastases; the 2 two-stage PMs are bilateral.
    Two patients have complications (Clavien-Dindo I: prolonged air leak; II: haemothorax);
    postoperative stay has median 3 (2-13) days. Ages respect :data:`HISTOLOGY_AGE_RANGE`.

    Parameters
    ----------
    seed
        Seed of the draw.
    chemo_strength
        How strongly chemotherapy follows the risk score (0 = at random).

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
    return _make_covariates(rng, chemo_strength)


def _make_covariates(rng: np.random.Generator, strength: float) -> pd.DataFrame:
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

    # Sites: DFSP mostly on the trunk, pleomorphic sarcomas mostly in the limbs.
    cov["_site_base"] = np.where(
        cov["histology"].eq("dermatofibrosarcoma_protuberans"),
        2.0,
        np.where(cov["histology"].isin(["myxofibrosarcoma", *_LIPOSARCOMAS]), -1.0, 0.0),
    )
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
    cov["resection_status"] = perm(["r0"] * 63 + ["r2"] * 3)
    _link_r2_to_advanced_disease(cov, rng)
    keys = rng.uniform(size=(n, len(KEY_COLUMNS)))
    for j, col in enumerate(KEY_COLUMNS):
        cov[col] = keys[:, j]
    apply_keys(cov, strength)
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


def chemotherapy_risk_score(cov: pd.DataFrame) -> np.ndarray:
    """The risk a clinician weighs when offering chemotherapy around PM (higher: more likely).

    A chemotherapy-sensitive histology (:data:`helpers.reproduction.realism.CHEMO_SENSITIVE_HISTOLOGIES`)
    counts 1.5, a disease-free interval below 12 months 1, several metastases 0.5, bilateral
    disease 0.5 and younger age 0.3 per decade below 50. The score drives who is treated, not
    how long anyone lives: chemotherapy has no causal effect in the outcome model.

    Parameters
    ----------
    cov
        Covariates with ``histology``, ``dfi_days``, ``lung_metastasis_number``,
        ``lung_metastasis_distribution`` and ``age_at_pm_years``.

    Returns
    -------
    numpy.ndarray

    Example
    -------
    >>> d = pd.DataFrame({"histology": ["ewing_sarcoma", "leiomyosarcoma"], "dfi_days": [100, 900],
    ...     "lung_metastasis_number": [3, 1], "lung_metastasis_distribution": ["bilateral", "unilateral"],
    ...     "age_at_pm_years": [30, 50]})
    >>> chemotherapy_risk_score(d).round(2).tolist()
    [4.1, 0.0]
    """
    young = np.clip((50.0 - cov["age_at_pm_years"].to_numpy(float)) / 10.0, 0.0, None)
    return (
        1.5 * cov["histology"].isin(CHEMO_SENSITIVE_HISTOLOGIES).to_numpy()
        + 1.0 * (cov["dfi_days"].to_numpy() < 12 * DAYS_PER_MONTH)
        + 0.5 * (cov["lung_metastasis_number"].to_numpy() > 1)
        + 0.5 * cov["lung_metastasis_distribution"].eq("bilateral").to_numpy()
        + 0.3 * young
    )


#: Per-patient uniform keys of the covariates with no effect on outcome (sex, site, resection
#: type, chemotherapy before and after PM): each assignment is a function of the keys
#: (:func:`apply_keys`), so redrawing one patient's key is a fresh draw of the assignment,
#: with every Table 1 count unchanged.
KEY_COLUMNS: tuple[str, ...] = (
    "_key_sex",
    "_key_site",
    "_key_resection",
    "_key_chemo_before",
    "_key_chemo_after",
)


def _top(score: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the ``k`` largest scores (ties: first row first)."""
    mask = np.zeros(len(score), bool)
    mask[np.argsort(-score, kind="stable")[:k]] = True
    return mask


def keyed_levels(
    keys: np.ndarray, site_base: np.ndarray, chemo_score: np.ndarray, strength: float
) -> tuple[np.ndarray, ...]:
    """Sex, site, resection type and chemotherapy from the patients' keys (Table 1 counts).

    38 men (smallest keys); 34 trunk-wall primaries (largest ``site_base`` plus a normal draw);
    54 wedge, 7 segmentectomy, 5 lobectomy (in key order); chemotherapy before PM for 20 and
    after for 4 (3 of them also before), by indication: the largest ``strength * chemo_score``
    plus a Gumbel draw (:func:`helpers.reproduction.realism.chemotherapy_by_indication`).

    Returns
    -------
    tuple
        ``male``, ``trunk`` (bool), ``resection`` (0 wedge, 1 segmentectomy, 2 lobectomy),
        ``before``, ``after`` (bool).

    Example
    -------
    >>> keys = np.random.default_rng(0).uniform(size=(66, 5))
    >>> [int(a.sum()) for a in keyed_levels(keys, np.zeros(66), np.zeros(66), 1.0)]
    [38, 34, 17, 20, 4]
    """
    n = len(keys)
    male = _top(-keys[:, 0], 38)
    trunk = _top(site_base + stats.norm.ppf(keys[:, 1]), 34)
    resection = np.empty(n, int)
    resection[np.argsort(keys[:, 2], kind="stable")] = np.repeat([0, 1, 2], [54, 7, 5])
    gumbel = -np.log(-np.log(keys[:, 3:5]))
    before = chemotherapy_by_indication(chemo_score, 20, None, strength=strength, noise=gumbel[:, 0])
    after = np.zeros(n, bool)
    for pool, k in ((before, 3), (~before, 1)):
        idx = np.flatnonzero(pool)
        after[idx[chemotherapy_by_indication(chemo_score[idx], k, None, strength=strength, noise=gumbel[idx, 1])]] = True
    return male, trunk, resection, before, after


def apply_keys(cov: pd.DataFrame, strength: float) -> pd.DataFrame:
    """Set sex, site, resection type and chemotherapy of ``cov`` from its keys, in place.

    Parameters
    ----------
    cov
        Covariates with :data:`KEY_COLUMNS`, ``_site_base`` and the columns of
        :func:`chemotherapy_risk_score`.
    strength
        How strongly chemotherapy follows the risk score.

    Returns
    -------
    pandas.DataFrame
        ``cov`` itself.
    """
    male, trunk, resection, before, after = keyed_levels(
        cov[list(KEY_COLUMNS)].to_numpy(float), cov["_site_base"].to_numpy(float),
        chemotherapy_risk_score(cov), strength,
    )
    cov["sex"] = np.where(male, "male", "female")
    cov["primary_site"] = np.where(trunk, "trunk_wall", "extremities")
    cov["resection_type"] = np.array(["wide_wedge_resection", "segmentectomy", "lobectomy"])[resection]
    cov["chemotherapy_before_pm"] = np.where(before, "yes", "no")
    cov["chemotherapy_after_pm"] = np.where(after, "yes", "no")
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
        _LUNG_BLOCK: cov["lung_metastasis_number"].to_numpy() >= 2,
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
