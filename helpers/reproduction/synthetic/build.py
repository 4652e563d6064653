"""Building and writing the registry: dates, formatting, provenance, ``write_registry``."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.reproduction.realism import (
    OutcomeModel,
)
from helpers.reproduction.synthetic.covariates import (
    PERIOPERATIVE_DETAIL_COLUMNS,
    _make_excluded,
    add_perioperative_details,
    make_covariates,
)
from helpers.reproduction.synthetic.loss import Targets, load_targets
from helpers.reproduction.synthetic.outcomes import (
    END_CODES,
    check_plausibility,
    draw_latents,
    outcome_days,
)
from helpers.reproduction.synthetic.scoring import (
    analysed_cohort,
    evaluate_registry,
    registry_realism,
)
from helpers.reproduction.synthetic.search import CalibrationResult, calibrate
from helpers.reproduction.synthetic.settings import (
    PARAMETER_RANGES,
    PROVENANCE_PATH,
    REGISTRY_COLUMNS,
    REGISTRY_PATH,
    SyntheticSettings,
)
from helpers.schema import DAYS_PER_MONTH

# --------------------------------------------------------------------------------------------
# Dates, the registry file and its provenance
# --------------------------------------------------------------------------------------------


def _assign_dates(
    frame: pd.DataFrame, outcomes: pd.DataFrame, st: SyntheticSettings, rng: np.random.Generator
) -> pd.DataFrame:
    """Turn (first PM, follow-up in days, how it ended) into the registry's dates.

    The first PM is ``window_start + pm_day``; follow-up ends ``time_days`` later, on or before
    the cut-off by construction (:func:`outcome_days`). The dead were last seen 0-60 days
    before death; a share ``unknown_cause_fraction`` of sarcoma deaths is recorded with an
    unknown cause (never for R2 resections); the lung metastasis was diagnosed 14-90 days
    before PM and the primary operated ``dfi_days`` before that.
    """
    out = frame.reset_index(drop=True).copy()
    n = len(out)
    pm = np.datetime64(st.window_start, "D") + outcomes["pm_day"].to_numpy(int).astype("timedelta64[D]")
    tau = outcomes["time_days"].to_numpy(int)
    end = pm + tau.astype("timedelta64[D]")
    dead = outcomes["event"].to_numpy(int) == 1
    back = np.minimum(rng.integers(0, 61, size=n), tau)
    last = np.where(dead, end - back.astype("timedelta64[D]"), end)
    gap = rng.integers(14, 91, size=n)
    dx = pm - gap.astype("timedelta64[D]")
    kind = np.asarray(END_CODES)[outcomes["end"].to_numpy(int)]
    unknown = (rng.uniform(size=n) < st.unknown_cause_fraction) & out["resection_status"].eq("r0").to_numpy()
    cause = np.where((kind == "sarcoma") & unknown, "unknown", kind)
    out["date_primary_surgery"] = dx - out["dfi_days"].to_numpy(int).astype("timedelta64[D]")
    out["date_lung_metastasis_diagnosis"] = dx
    out["date_first_pm"] = pm
    out["vital_status"] = np.where(dead, "dead", "alive")
    out["date_last_contact"] = last
    out["date_of_death"] = np.where(dead, end, np.datetime64("NaT"))
    out["cause_of_death"] = np.where(dead, cause, None)
    out["_lost_to_follow_up"] = kind == "lost"
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
    >>> st = SyntheticSettings(n_iterations=0, n_start_draws=1, n_chains=1, spline_check_n=2000)
    >>> reg = build_registry(st).registry
    >>> reg.shape
    (95, 26)
    """
    st = settings or SyntheticSettings()
    targets = load_targets()
    covariates = make_covariates(st.seed, chemo_strength=st.chemo_strength)
    cal = calibrate(st, covariates, targets, workers=workers)
    rng = np.random.default_rng([st.seed, 3])
    eligible = cal.covariates.copy()
    eligible["first_pm_elsewhere"] = "no"
    eligible = _assign_dates(eligible, cal.outcomes, st, rng)
    excluded = _make_excluded(rng)
    exc = excluded.assign(dfi_months=excluded["dfi_days"] / DAYS_PER_MONTH)
    lat = draw_latents(len(exc), st, rng)
    td, ev, end = outcome_days(cal.model, OutcomeModel.features(exc), exc["age_at_pm_years"].to_numpy(float), lat, st)
    exc_out = pd.DataFrame({"time_days": td, "event": ev, "end": end, "pm_day": lat.pm_day})
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


def _model_record(st: SyntheticSettings, cal: CalibrationResult) -> dict:
    """The outcome model's part of the provenance: calibrated and start parameters, ranges."""
    return {
            "calibrated": asdict(cal.model),
            "start": asdict(st.model),
            "parameter_ranges": {k: list(v) for k, v in PARAMETER_RANGES.items()},
            "hazard_ratio_per_unit": dict(zip(OutcomeModel.EFFECTS, np.exp(cal.model.coefficients).round(4).tolist(), strict=True)),
            "chemotherapy": "assigned by indication (chemotherapy_risk_score); no causal effect on outcome",
    }


def _conventions(st: SyntheticSettings) -> dict:
    """How the registry's numbers are computed (the provenance's ``conventions``)."""
    return {
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
    }


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
    realism = registry_realism(cohort, cal, spline_n=st.spline_check_n)
    summary = (
        table.groupby("group")
        .agg(
            n=("statistic", "size"),
            within_tolerance=("within_tolerance", "sum"),
            within_stretch=("within_stretch", "sum"),
            printed_digits=("printed_digits_match", "sum"),
        )
        .reset_index()
    )
    traded = table.loc[~table["within_tolerance"] & table["statistic"].ne("follow_up_max")]
    return {
        "synthetic": True,
        "note": (
            "SYNTHETIC registry: invented patients whose outcomes are drawn from an explicit outcome "
            "model calibrated to the published tables of Nakayama et al., Cancers 2022;14:3329. "
            "No clinical conclusion may be drawn from it."
        ),
        "generator": "helpers.reproduction.synthetic (python -m helpers.reproduction.synthetic)",
        "seed": st.seed,
        "settings": asdict(st),
        "outcome_model": _model_record(st, cal),
        "conventions": _conventions(st),
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
            "n_other_cause_deaths": int(cohort["cause_of_death"].eq("other").sum()),
            "n_censored": int((cohort["event"] == 0).sum()),
            "n_lost_to_follow_up": n_lost,
            "n_at_risk_at_60_months": int((cohort["time_months"] >= 60).sum()),
            "follow_up_max_months": round(float(cohort["time_months"].max()), 2),
            "summary": summary.to_dict(orient="records"),
        },
        "traded": json.loads(traded[["group", "statistic", "published", "value", "error", "tolerance"]].to_json(orient="records", double_precision=6)),
        "targets": json.loads(table.to_json(orient="records", double_precision=6)),
        "plausibility": json.loads(checks.to_json(orient="records")),
        "realism": json.loads(realism.to_json(orient="records", double_precision=6)),
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
