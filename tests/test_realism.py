"""Tests of helpers.reproduction.realism: the hard realism checks and the explicit outcome model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers.reproduction import realism, synthetic
from helpers.reproduction.realism import OutcomeModel, RealismThresholds


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return synthetic.analysed_cohort(pd.read_csv(synthetic.REGISTRY_PATH))


def _check(table: pd.DataFrame, prefix: str) -> pd.Series:
    return table.loc[table["check"].str.startswith(prefix)].iloc[0]


@pytest.mark.parametrize(
    ("days", "window", "expected"),
    [
        ([], 14, 0),
        ([100], 14, 1),
        ([91, 93, 99, 200], 14, 3),
        ([10, 24], 14, 1),  # 14 days apart: not in the same 14-day window
        ([10, 23], 14, 2),
        ([5, 5, 5], 1, 3),  # same day
    ],
)
def test_max_deaths_in_window(days, window, expected):
    assert realism.max_deaths_in_window(np.array(days, int), window) == expected


def test_death_days_ignores_survivors():
    df = pd.DataFrame(
        {
            "date_first_pm": ["2010-01-01", "2010-01-01", "2012-05-01"],
            "date_of_death": ["2011-01-01", None, "2012-06-10"],
        }
    )
    assert realism.death_days(df).tolist() == [40, 365]


def test_realism_checks_layout(shipped):
    table = realism.realism_checks(shipped)
    assert list(table.columns) == ["check", "value", "limit", "passed"]
    assert len(table) == 7
    assert table["passed"].dtype == bool


def test_realism_checks_match_the_provenance(shipped):
    """The values recorded when the registry was generated are those of the shipped file."""
    recorded = {r["check"]: r for r in json.loads(synthetic.PROVENANCE_PATH.read_text())["realism"]}
    for row in realism.realism_checks(shipped).itertuples():
        assert recorded[row.check]["value"] == pytest.approx(row.value, rel=1e-5), row.check
        assert recorded[row.check]["passed"] == row.passed


def test_shipped_registry_meets_every_realism_constraint(shipped):
    table = realism.realism_checks(shipped)
    assert table["passed"].all(), table.loc[~table["passed"]].to_string()


@pytest.mark.parametrize(
    "prefix",
    ["ph_global_p", "ph_min_term_p", "max_deaths_in_14_days", "earliest_death_days",
     "deaths_within_90_days", "other_cause_deaths", "chemo_before_pm"],
)
def test_each_realism_constraint_holds_on_the_shipped_file(shipped, prefix):
    assert bool(_check(realism.realism_checks(shipped), prefix)["passed"]), prefix


def test_generator_realism_checks_recorded_and_passed():
    """The draws' and the model's checks (latent KS, spline against dichotomy) all passed."""
    recorded = json.loads(synthetic.PROVENANCE_PATH.read_text())["realism"]
    names = [r["check"] for r in recorded]
    assert sum(n.startswith("latent_ks_p") for n in names) == 3
    assert sum(n.startswith("spline_aic_gain") for n in names) == 2
    assert all(r["passed"] for r in recorded)


def _edit_deaths(cohort: pd.DataFrame, days: dict[int, int], cause: str) -> pd.DataFrame:
    """Make rows ``days`` keys die ``days`` values after their first PM of ``cause``."""
    out = cohort.copy()
    pm = pd.to_datetime(out["date_first_pm"])
    for i, d in days.items():
        out.loc[i, "date_of_death"] = (pm[i] + pd.Timedelta(days=d)).strftime("%Y-%m-%d")
        out.loc[i, "cause_of_death"] = cause
        out.loc[i, "event"] = 1
        out.loc[i, "time_months"] = d / 30.4375
    return out


def test_early_death_is_flagged(shipped):
    alive = shipped.index[shipped["event"].eq(0)][:2]
    edited = _edit_deaths(shipped, {alive[0]: 10, alive[1]: 40}, "sarcoma")
    before = _check(realism.realism_checks(shipped), "deaths_within_90_days")["value"]
    table = realism.realism_checks(edited)
    assert _check(table, "earliest_death_days")["value"] == 10
    assert not _check(table, "earliest_death_days")["passed"]
    assert _check(table, "deaths_within_90_days")["value"] == before + 2
    assert not _check(table, "deaths_within_90_days")["passed"]


def test_other_cause_deaths_counted(shipped):
    alive = shipped.index[shipped["event"].eq(0)][:2]
    edited = _edit_deaths(shipped, {alive[0]: 700, alive[1]: 1500}, "other")
    row = _check(realism.realism_checks(edited), "other_cause_deaths")
    assert row["value"] == shipped["cause_of_death"].eq("other").sum() + 2 and row["passed"]
    none = edited.assign(cause_of_death=edited["cause_of_death"].replace("other", "sarcoma"))
    assert not _check(realism.realism_checks(none), "other_cause_deaths")["passed"]


def test_thresholds_are_applied(shipped):
    loose = RealismThresholds(ph_min_p=0.0, cluster_max_deaths=10, chemo_min_difference=-1.0)
    table = realism.realism_checks(shipped, thresholds=loose)
    assert _check(table, "ph_global_p")["passed"]
    assert _check(table, "max_deaths_in_14_days")["passed"]
    assert _check(table, "chemo_before_pm")["passed"]


def test_missing_column_is_named(shipped):
    with pytest.raises(ValueError, match="cause_of_death"):
        realism.realism_checks(shipped.drop(columns="cause_of_death"))


def test_chemotherapy_indication_counts(shipped):
    table = realism.chemotherapy_indication(shipped)
    assert table["n"].sum() == len(shipped)
    assert table["treated"].sum() == shipped["chemotherapy_before_pm"].eq("yes").sum()
    assert 0 <= table.attrs["p_value"] <= 1


# --- the outcome model -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return realism.draw_population(4000, np.random.default_rng(11))


def test_linear_predictor_is_zero_at_the_references():
    ref = pd.DataFrame(
        {
            "dfi_months": [12.0],
            "largest_lung_lesion_mm": [20.0],
            "primary_tumor_size_cm": [10.0],
            "age_at_pm_years": [50.0],
            "histology": ["synovial_sarcoma"],
            "lung_metastasis_number": [1],
            "resection_status": ["r0"],
        }
    )
    assert OutcomeModel().linear_predictor(ref)[0] == pytest.approx(0.0)


def test_linear_predictor_is_smooth_across_the_cutoffs():
    """No step at 12 months or 20 mm: tiny changes across a cut-off change the hazard tinily."""
    base = realism.draw_population(1, np.random.default_rng(0))
    model = OutcomeModel()
    for col, cut in (("dfi_months", 12.0), ("largest_lung_lesion_mm", 20.0)):
        lo, hi = base.assign(**{col: cut - 1e-6}), base.assign(**{col: cut + 1e-6})
        assert abs(model.linear_predictor(hi)[0] - model.linear_predictor(lo)[0]) < 1e-5


def test_simulated_outcomes_have_both_causes_and_no_ceiling(population):
    model = OutcomeModel()
    out = realism.simulate_outcomes(
        population, model, np.full(len(population), 400.0), np.random.default_rng(1)
    )
    assert set(out["cause"]) == {"sarcoma", "other", ""}
    assert (out["event"] == out["cause"].ne("").astype(int)).all()
    late = out.loc[out["event"].eq(1), "time_months"]
    assert late.max() > 180  # deaths possible long after any calibration window
    assert (out["time_months"] <= 400.0).all()


def test_other_cause_mortality_rises_with_age():
    n = 20000
    rng = np.random.default_rng(3)
    pop = realism.draw_population(n, rng)
    young, old = pop.assign(age_at_pm_years=30.0), pop.assign(age_at_pm_years=75.0)
    adm = np.full(n, 120.0)
    p_young = realism.simulate_outcomes(young, OutcomeModel(), adm, np.random.default_rng(4))
    p_old = realism.simulate_outcomes(old, OutcomeModel(), adm, np.random.default_rng(4))
    assert (p_old["cause"] == "other").mean() > 3 * (p_young["cause"] == "other").mean()


def test_administrative_censoring_caps_follow_up(population):
    adm = np.linspace(1.0, 150.0, len(population))
    out = realism.simulate_outcomes(population, OutcomeModel(), adm, np.random.default_rng(5))
    assert (out["time_months"] <= adm + 1e-12).all()


def test_outcomes_from_the_model_are_proportional_hazards(population):
    """Sarcoma deaths drawn from the model: the linear predictor has coefficient 1 and passes
    the cox.zph score test (other-cause deaths and losses are independent censoring)."""
    from helpers.cox import fit_cox, test_proportional_hazards

    model = OutcomeModel()
    out = realism.simulate_outcomes(
        population, model, np.full(len(population), 120.0), np.random.default_rng(6)
    )
    df = pd.DataFrame(
        {
            "lp": model.linear_predictor(population),
            "time": out["time_months"],
            "event": out["cause"].eq("sarcoma").astype(int),
        }
    )
    fit = fit_cox(df, "time", "event", ["lp"], ties="breslow")
    assert fit.table["coef"].iloc[0] == pytest.approx(1.0, abs=0.08)
    assert (test_proportional_hazards(fit, "km")["p_value"] >= 0.05).all()


def test_spline_beats_the_dichotomy_on_a_large_sample():
    table = realism.spline_vs_dichotomy(OutcomeModel(), n=100_000, seed=0)
    assert (table["aic_gain_spline"] > 10).all(), table


def test_spline_does_not_beat_a_true_step():
    """Control: with no DFI or lesion effect at all, the spline gains nothing worth the 2 df."""
    null = OutcomeModel(log_hr_per_log_dfi=0.0, log_hr_per_log_lesion=0.0)
    table = realism.spline_vs_dichotomy(null, n=20_000, seed=1)
    assert (table["aic_gain_spline"] < 10).all(), table


@pytest.mark.parametrize("strength", [0.0, 1.0, 3.0])
def test_chemotherapy_by_indication_treats_the_stated_number(strength):
    risk = np.random.default_rng(8).normal(size=66)
    mask = realism.chemotherapy_by_indication(risk, 20, np.random.default_rng(9), strength=strength)
    assert mask.sum() == 20


def test_chemotherapy_by_indication_prefers_higher_risk():
    risk = np.random.default_rng(10).normal(size=5000)
    strong = realism.chemotherapy_by_indication(risk, 1500, np.random.default_rng(11), strength=2.0)
    none = realism.chemotherapy_by_indication(risk, 1500, np.random.default_rng(11), strength=0.0)
    assert risk[strong].mean() - risk[~strong].mean() > 1.0
    assert abs(risk[none].mean() - risk[~none].mean()) < 0.15


def test_dichotomy_verdict_names_the_best_smooth_form_and_the_cost():
    fits = pd.DataFrame({"form": ["dichotomy", "linear", "log", "spline"], "dof": [1, 1, 1, 3],
                         "lr_statistic": [10.0, 4.0, 12.0, 13.0], "aic": [205.0, 211.0, 203.0, 206.0]})
    assert realism.dichotomy_verdict(fits, 12, "months", "dfi_months") == (
        "dfi_months: the log form fits best among the continuous ones, and the split at 12 months is "
        "2.0 AIC points worse")
    better = fits.assign(aic=[200.0, 211.0, 203.5, 206.0])
    assert realism.dichotomy_verdict(better, 20, "mm").endswith("split at 20 mm is 3.5 AIC points better")
