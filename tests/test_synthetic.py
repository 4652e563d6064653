"""Tests of the synthetic registry generator (helpers.reproduction.synthetic) and of the shipped registry.

Table 1 and the Table 2 group sizes are recomputed here from the CSV with plain pandas, not with
the generator's own code, so that a generator bug cannot hide itself.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from statsmodels.duration.hazard_regression import PHReg

from helpers.reproduction import synthetic
from helpers.schema import DAYS_PER_MONTH

DATA = Path(__file__).resolve().parent.parent / "data"
CSV = DATA / "registry.csv"
PROVENANCE = DATA / "registry_provenance.json"
PUBLISHED = DATA / "published_targets.json"
ELIGIBLE_SITES = ("trunk_wall", "extremities")


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(CSV, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def registry() -> pd.DataFrame:
    return pd.read_csv(CSV)


@pytest.fixture(scope="module")
def cohort(registry: pd.DataFrame) -> pd.DataFrame:
    keep = registry["primary_site"].isin(ELIGIBLE_SITES) & registry["first_pm_elsewhere"].eq("no")
    c = registry.loc[keep].copy()
    pm = pd.to_datetime(c["date_first_pm"])
    end = pd.to_datetime(c["date_of_death"]).fillna(pd.to_datetime(c["date_last_contact"]))
    c["t"] = (end - pm).dt.days / 30.4375
    c["e"] = c["vital_status"].eq("dead").astype(int)
    dfi_days = (
        pd.to_datetime(c["date_lung_metastasis_diagnosis"]) - pd.to_datetime(c["date_primary_surgery"])
    ).dt.days
    c["dfi"] = dfi_days / 30.4375
    return c


@pytest.fixture(scope="module")
def published() -> dict:
    return json.loads(PUBLISHED.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ the file and its format


def test_columns_follow_the_data_dictionary(raw: pd.DataFrame) -> None:
    import yaml

    dictionary = yaml.safe_load((DATA / "data_dictionary.yaml").read_text(encoding="utf-8"))
    assert list(raw.columns) == [c["name"] for c in dictionary["columns"]]
    for col in dictionary["columns"]:
        if "allowed" in col:
            values = set(raw[col["name"]]) - {""}
            assert values <= {str(a) for a in col["allowed"]}, col["name"]
        if not col["nullable"]:
            assert raw[col["name"]].ne("").all(), col["name"]


def test_dates_are_iso_and_missing_cells_empty(raw: pd.DataFrame) -> None:
    for col in [c for c in raw.columns if c.startswith("date_")]:
        filled = raw[col][raw[col] != ""]
        assert filled.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all(), col
        pd.to_datetime(filled, format="%Y-%m-%d")
    alive = raw["vital_status"].eq("alive")
    assert raw.loc[alive, "date_of_death"].eq("").all()
    assert raw.loc[alive, "cause_of_death"].eq("").all()
    assert raw.loc[~alive, "date_of_death"].ne("").all()
    assert raw.loc[~alive, "cause_of_death"].ne("").all()


def test_ids_unique_and_synthetic(raw: pd.DataFrame) -> None:
    assert raw["patient_id"].is_unique
    assert raw["patient_id"].str.fullmatch(r"SYN-\d{3}").all()


def test_date_order_rules(registry: pd.DataFrame) -> None:
    d = {c: pd.to_datetime(registry[c]) for c in registry.columns if c.startswith("date_")}
    assert (d["date_primary_surgery"] <= d["date_lung_metastasis_diagnosis"]).all()
    assert (d["date_lung_metastasis_diagnosis"] <= d["date_first_pm"]).all()
    assert (d["date_first_pm"] <= d["date_last_contact"]).all()
    dead = registry["vital_status"].eq("dead")
    assert (d["date_last_contact"][dead] <= d["date_of_death"][dead]).all()


def test_sha256_recorded_in_provenance() -> None:
    prov = json.loads(PROVENANCE.read_text(encoding="utf-8"))
    assert prov["sha256"] == hashlib.sha256(CSV.read_bytes()).hexdigest()
    assert prov["seed"] == prov["settings"]["seed"]
    assert prov["synthetic"] is True


# ------------------------------------------------------------------ cohort flow


def test_flow_95_to_66(registry: pd.DataFrame) -> None:
    assert len(registry) == 95
    site = registry["primary_site"].value_counts()
    assert site["parenchymal_organ"] == 13
    assert site["mediastinum"] == 1
    assert site["retroperitoneum"] == 9
    assert site["head_and_neck"] == 3
    eligible_site = registry["primary_site"].isin(ELIGIBLE_SITES)
    assert (eligible_site & registry["first_pm_elsewhere"].eq("yes")).sum() == 3
    assert (eligible_site & registry["first_pm_elsewhere"].eq("no")).sum() == 66


# ------------------------------------------------------------------ Table 1 exactly


def _median(x: pd.Series) -> float:
    return float(np.median(x.to_numpy(float)))


def test_table1_counts(cohort: pd.DataFrame, published: dict) -> None:
    hist = cohort["histology"].value_counts()
    lipo = hist.get("dedifferentiated_liposarcoma", 0) + hist.get("pleomorphic_liposarcoma", 0)
    lipo += hist.get("myxoid_liposarcoma", 0)
    ours = {
        ("sex", "male"): (cohort["sex"] == "male").sum(),
        ("sex", "female"): (cohort["sex"] == "female").sum(),
        ("primary_histology", "liposarcoma"): lipo,
        ("primary_histology", "undifferentiated_pleomorphic_sarcoma"): hist.get(
            "undifferentiated_pleomorphic_sarcoma", 0
        ),
        ("primary_site", "trunk_wall"): (cohort["primary_site"] == "trunk_wall").sum(),
        ("primary_site", "extremities"): (cohort["primary_site"] == "extremities").sum(),
        ("lung_metastasis_distribution", "unilateral"): (
            cohort["lung_metastasis_distribution"] == "unilateral"
        ).sum(),
        ("lung_metastasis_distribution", "bilateral"): (
            cohort["lung_metastasis_distribution"] == "bilateral"
        ).sum(),
        ("lung_metastasis_number", "solitary"): (cohort["lung_metastasis_number"] == 1).sum(),
        ("lung_metastasis_number", "multiple"): (cohort["lung_metastasis_number"] > 1).sum(),
        ("resection_status", "r0"): (cohort["resection_status"] == "r0").sum(),
        ("resection_status", "r1"): (cohort["resection_status"] == "r1").sum(),
        ("resection_status", "r2"): (cohort["resection_status"] == "r2").sum(),
    }
    pre = cohort["chemotherapy_before_pm"].eq("yes")
    post = cohort["chemotherapy_after_pm"].eq("yes")
    ours[("chemotherapy", "none")] = (~pre & ~post).sum()
    ours[("chemotherapy", "preoperative")] = pre.sum()
    ours[("chemotherapy", "postoperative")] = post.sum()
    ours[("chemotherapy", "both")] = (pre & post).sum()
    for level in ("wide_wedge_resection", "segmentectomy", "lobectomy"):
        ours[("pulmonary_resection_type", level)] = (cohort["resection_type"] == level).sum()
    for row in published["table1"]:
        if row.get("n") is None:
            continue
        key = (row["variable"], row["level"])
        if key[0] == "primary_histology" and key not in ours:
            ours[key] = hist.get(row["level"], 0)
        assert int(ours[key]) == row["n"], key


@pytest.mark.parametrize(
    ("column", "variable"),
    [
        ("age_at_pm_years", "age_years"),
        ("dfi", "disease_free_interval_months"),
        ("lung_metastasis_number", "lung_metastasis_number"),
        ("largest_lung_lesion_mm", "largest_lung_lesion_size_mm"),
    ],
)
def test_table1_medians_and_ranges(
    cohort: pd.DataFrame, published: dict, column: str, variable: str
) -> None:
    row = next(
        r for r in published["table1"] if r["variable"] == variable and r.get("median") is not None
    )
    x = cohort[column]
    assert round(_median(x)) == row["median"]
    assert round(float(x.min())) == row["min"]
    assert round(float(x.max())) == row["max"]


def test_dfi_months_round_to_whole_months_and_never_straddle_12(cohort: pd.DataFrame) -> None:
    frac = cohort["dfi"] - np.floor(cohort["dfi"])
    assert (frac < 0.05).all()
    assert _median(cohort["dfi"]) == pytest.approx(17, abs=0.05)


def test_perioperative_text_numbers(cohort: pd.DataFrame) -> None:
    assert (cohort["two_stage_pm"] == "yes").sum() == 2
    grades = cohort["clavien_dindo_grade"]
    assert grades.isin(["I", "II"]).sum() == 2
    assert grades.isin(["none", "I", "II"]).all()
    stay = cohort["postoperative_stay_days"]
    assert (_median(stay), stay.min(), stay.max()) == (3, 2, 13)


def test_perioperative_details_match_the_paper(raw: pd.DataFrame, cohort: pd.DataFrame) -> None:
    kinds = cohort.loc[cohort["clavien_dindo_grade"].ne("none"), "complication_kind"]
    assert sorted(kinds) == ["bleeding", "prolonged_air_leak"]  # section 3.2
    longest = cohort.loc[cohort["postoperative_stay_days"].idxmax()]
    assert longest["complication_kind"] == "prolonged_air_leak"
    r2 = cohort["resection_status"].eq("r2")
    assert r2.sum() == 3 and cohort.loc[r2, "r2_reason"].eq("pleural_dissemination").all()
    assert raw.loc[raw["resection_status"].ne("r2"), "r2_reason"].eq("").all()
    assert raw.loc[raw["clavien_dindo_grade"].eq("none"), "complication_kind"].eq("").all()


def test_perioperative_details_are_the_last_draw(raw: pd.DataFrame) -> None:
    """The shipped columns are what the generator's last step gives on the rest of the file."""
    seed = json.loads(PROVENANCE.read_text(encoding="utf-8"))["seed"]
    rest = raw.drop(columns=list(synthetic.PERIOPERATIVE_DETAIL_COLUMNS))
    again = synthetic.add_perioperative_details(rest, seed).fillna("")
    pd.testing.assert_frame_equal(again, raw)
    assert list(rest.columns) == [c for c in raw.columns if c in rest.columns]


def _many_patients(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame({
        "primary_site": rng.choice(["extremities", "trunk_wall", "retroperitoneum"], size=n),
        "first_pm_elsewhere": rng.choice(["no", "yes"], size=n, p=[0.9, 0.1]),
        "resection_status": rng.choice(["r0", "r1", "r2"], size=n, p=[0.8, 0.1, 0.1]),
        "clavien_dindo_grade": rng.choice(["none", "I", "II", "IIIa", "IVa"], size=n,
                                          p=[0.6, 0.15, 0.15, 0.05, 0.05]),
        "postoperative_stay_days": rng.integers(2, 20, size=n),
    })  # fmt: skip


def test_perioperative_details_follow_the_dictionary_rules() -> None:
    from helpers.schema import CROSS_COLUMN_RULES, load_data_dictionary

    before = _many_patients()
    out = synthetic.add_perioperative_details(before, 3)
    pd.testing.assert_frame_equal(out[before.columns], before)  # nothing else changes
    assert list(out.columns) == [  # dictionary order
        "primary_site", "first_pm_elsewhere", "resection_status", "r2_reason",
        "clavien_dindo_grade", "complication_kind", "postoperative_stay_days",
    ]  # fmt: skip
    dd = load_data_dictionary()
    for name in synthetic.PERIOPERATIVE_DETAIL_COLUMNS:
        assert set(out[name].dropna()) <= set(dd.column(name).allowed)
    for rule in CROSS_COLUMN_RULES:
        if set(rule.columns) <= set(out.columns):
            assert rule.passes(out).all(), rule.id
    # R2 resections outside the analysed cohort draw their reason; grade III+ never a wound.
    eligible = out["primary_site"].ne("retroperitoneum") & out["first_pm_elsewhere"].eq("no")
    assert out.loc[out["resection_status"].eq("r2") & ~eligible, "r2_reason"].nunique() > 1
    major = out["clavien_dindo_grade"].isin(["IIIa", "IVa"])
    assert not out.loc[major, "complication_kind"].eq("wound_complication").any()


def test_perioperative_details_have_their_own_seeded_stream() -> None:
    frame = _many_patients()
    a = synthetic.add_perioperative_details(frame, 11)
    pd.testing.assert_frame_equal(a, synthetic.add_perioperative_details(frame, 11))
    assert not a.equals(synthetic.add_perioperative_details(frame, 12))


# ------------------------------------------------------------------ Table 2 group sizes


def test_table2_group_sizes(cohort: pd.DataFrame, published: dict) -> None:
    h = cohort["histology"]
    first = {
        "age_years": cohort["age_at_pm_years"] < 50,
        "sex": cohort["sex"] == "male",
        "disease_free_interval": cohort["dfi"] < 12,
        "primary_histology_synovial_sarcoma": h == "synovial_sarcoma",
        "primary_histology_ups": h == "undifferentiated_pleomorphic_sarcoma",
        "primary_histology_liposarcoma": h.str.endswith("liposarcoma"),
        "primary_histology_mfs": h == "myxofibrosarcoma",
        "primary_histology_leiomyosarcoma": h == "leiomyosarcoma",
        "primary_site": cohort["primary_site"] == "trunk_wall",
        "primary_lesion_size": cohort["primary_tumor_size_cm"] < 10,
        "lung_metastasis_distribution": cohort["lung_metastasis_distribution"] == "unilateral",
        "lung_metastasis_number": cohort["lung_metastasis_number"] == 1,
        "largest_lung_lesion_size": cohort["largest_lung_lesion_mm"] < 20,
        "pulmonary_resection_type": cohort["resection_type"] == "wide_wedge_resection",
        "curative_resection": cohort["resection_status"] == "r0",
        "preoperative_chemotherapy": cohort["chemotherapy_before_pm"] == "yes",
        "postoperative_chemotherapy": cohort["chemotherapy_after_pm"] == "yes",
    }
    for test in published["table2_tests"]:
        n1, n2 = test["n_groups"]
        if test["comparison_id"] == "pulmonary_resection_type":
            n1 = 54  # Table 1 wedge resections; Table 2 prints 44 (paper audit section 1)
        k = int(first[test["comparison_id"]].sum())
        assert (k, len(cohort) - k) == (n1, n2), test["comparison_id"]


# ------------------------------------------------------------------ plausibility, one test each


def test_every_five_year_rate_is_defined(registry: pd.DataFrame) -> None:
    """Every Table 2 level with a published rate > 0 has someone followed to 60 months."""
    _, table = synthetic.evaluate_registry(registry)
    rates = table[table["group"] == "five_year_rate"]
    assert rates.loc[rates["published"] > 0, "value"].notna().all()


def test_every_follow_up_ends_by_the_cutoff(registry: pd.DataFrame) -> None:
    prov = json.loads(PROVENANCE.read_text(encoding="utf-8"))
    cutoff = pd.Timestamp(prov["settings"]["cutoff_date"])
    assert cutoff < pd.Timestamp("2022-06-01")
    end = pd.to_datetime(registry["date_of_death"]).fillna(pd.to_datetime(registry["date_last_contact"]))
    assert (end <= cutoff).all()
    assert (pd.to_datetime(registry["date_last_contact"]) <= cutoff).all()


def test_first_pm_inside_the_study_window(registry: pd.DataFrame) -> None:
    pm = pd.to_datetime(registry["date_first_pm"])
    assert pm.between(pd.Timestamp("2007-01-01"), pd.Timestamp("2021-01-31")).all()


def test_at_most_three_censored_before_six_months(cohort: pd.DataFrame) -> None:
    assert ((cohort["e"] == 0) & (cohort["t"] < 6)).sum() <= 3


def test_deaths_after_120_months_are_rare(cohort: pd.DataFrame) -> None:
    assert ((cohort["e"] == 1) & (cohort["t"] > 120)).sum() <= 1


def test_deaths_between_24_and_39(cohort: pd.DataFrame) -> None:
    assert 24 <= cohort["e"].sum() <= 39


def test_bilateral_implies_multiple_and_two_stage_is_bilateral(registry: pd.DataFrame) -> None:
    bilateral = registry["lung_metastasis_distribution"] == "bilateral"
    assert (registry.loc[bilateral, "lung_metastasis_number"] >= 2).all()
    assert (registry.loc[registry["two_stage_pm"] == "yes", "lung_metastasis_distribution"] == "bilateral").all()


def test_r2_resections_have_a_poor_outcome(cohort: pd.DataFrame) -> None:
    r2 = cohort[cohort["resection_status"] == "r2"]
    assert ((r2["e"] == 1) & (r2["t"] <= 36)).sum() >= 2
    assert not ((r2["e"] == 0) & (r2["t"] > 60)).any()
    assert (r2.loc[r2["e"] == 1, "cause_of_death"] == "sarcoma").all()


def test_no_perioperative_death(cohort: pd.DataFrame) -> None:
    days = (cohort["t"] * 30.4375).round()
    assert not ((cohort["e"] == 1) & (days < 30)).any()  # no death within a month of PM
    assert ((cohort["e"] == 1) & (days < 90)).sum() <= 1  # early deaths rare, never clustered


def test_ages_plausible_for_histology(cohort: pd.DataFrame) -> None:
    for h, a in zip(cohort["histology"], cohort["age_at_pm_years"], strict=True):
        lo, hi = synthetic.HISTOLOGY_AGE_RANGE[h]
        assert lo <= a <= hi, (h, a)


def test_check_plausibility_all_ok(cohort: pd.DataFrame) -> None:
    c = cohort.rename(columns={"t": "time_months", "e": "event"})
    checks = synthetic.check_plausibility(c)
    assert checks["ok"].all(), checks[~checks["ok"]]


def test_check_plausibility_flags_a_broken_registry(cohort: pd.DataFrame) -> None:
    c = cohort.rename(columns={"t": "time_months", "e": "event"}).copy()
    c.loc[c.index[:5], ["time_months", "event"]] = [2.0, 0]
    c.loc[c.index[0], "lung_metastasis_distribution"] = "bilateral"
    c.loc[c.index[0], "lung_metastasis_number"] = 1
    checks = synthetic.check_plausibility(c).set_index("constraint")
    assert not checks.loc["censored before 6 months", "ok"]
    assert not checks.loc["bilateral with a single metastasis", "ok"]


# ------------------------------------------------------------------ determinism


def test_covariates_are_seeded() -> None:
    a = synthetic.make_covariates(7)
    b = synthetic.make_covariates(7)
    c = synthetic.make_covariates(8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


@pytest.mark.parametrize("iterations", [0, 600])
def test_registry_file_regenerates_byte_for_byte(tmp_path: Path, iterations: int) -> None:
    st = synthetic.SyntheticSettings(
        n_iterations=iterations, n_start_draws=2, n_chains=2, spline_check_n=2000
    )
    a = synthetic.write_registry(st, tmp_path / "a.csv", tmp_path / "a.json")
    b = synthetic.write_registry(st, tmp_path / "b.csv", tmp_path / "b.json")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert a.provenance["sha256"] == b.provenance["sha256"]
    assert len(a.registry) == 95


def test_short_calibration_is_reproducible() -> None:
    st = synthetic.SyntheticSettings(n_iterations=1500, n_start_draws=3)
    a = synthetic.calibrate(st)
    b = synthetic.calibrate(st)
    pd.testing.assert_frame_equal(a.outcomes, b.outcomes)
    pd.testing.assert_frame_equal(a.covariates, b.covariates)
    assert a.final_loss == b.final_loss
    assert a.final_loss <= a.start_loss


def test_parallel_chains_give_the_same_result() -> None:
    """Chains in worker processes give exactly the result of chains run one after another."""
    st = synthetic.SyntheticSettings(n_iterations=800, n_start_draws=2, n_chains=2)
    serial = synthetic.calibrate(st, workers=1)
    parallel = synthetic.calibrate(st, workers=2)
    pd.testing.assert_frame_equal(serial.outcomes, parallel.outcomes)
    pd.testing.assert_frame_equal(serial.covariates, parallel.covariates)
    assert serial.chain_losses == parallel.chain_losses
    assert serial.chain == parallel.chain


def test_calibration_keeps_table1_margins() -> None:
    st = synthetic.SyntheticSettings(n_iterations=1500, n_start_draws=2, seed=3)
    cov0 = synthetic.make_covariates(3)
    res = synthetic.calibrate(st, cov0)
    for col in cov0.columns:
        if col.startswith("_"):  # the keys behind the assignment are redrawn by the search
            continue
        assert sorted(cov0[col].tolist()) == sorted(res.covariates[col].tolist()), col
    bil = res.covariates["lung_metastasis_distribution"] == "bilateral"
    assert (res.covariates.loc[bil, "lung_metastasis_number"] >= 2).all()


def test_shipped_registry_matches_recorded_settings_covariates(cohort: pd.DataFrame) -> None:
    """The recorded seed's covariate multisets are exactly those in the shipped file."""
    prov = json.loads(PROVENANCE.read_text(encoding="utf-8"))
    cov = synthetic.make_covariates(prov["seed"])
    for col in ("age_at_pm_years", "histology", "lung_metastasis_number", "postoperative_stay_days"):
        assert sorted(cov[col].tolist()) == sorted(cohort[col].tolist()), col


# ------------------------------------------------------------------ evaluator vs lifelines / statsmodels


def _random_cohort(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cov = synthetic.make_covariates(seed)
    cov["dfi_months"] = cov["dfi_days"] / DAYS_PER_MONTH
    g = synthetic.factor_design(cov)
    x = synthetic.cox_design(g).to_numpy(float)
    lp = x @ np.log([3.5, 2.9, 1.2, 3.2, 4.0])
    t = np.rint(rng.weibull(1.1, size=66) * 60 / np.exp(lp / 1.1) * DAYS_PER_MONTH) + 10
    c = rng.uniform(30, 180 * DAYS_PER_MONTH, size=66)
    days = np.minimum(t, np.rint(c))
    days[:6] = days[6:12]  # force ties
    e = (t <= c).astype(int)
    e[:3] = 1 - e[6:9]  # ties between deaths and censorings
    return g.to_numpy(float), x, days / DAYS_PER_MONTH, e


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_evaluator_km_and_logrank_match_lifelines(seed: int) -> None:
    g, x, t, e = _random_cohort(seed)
    s = synthetic.VectorisedEvaluator(g, x).evaluate(t, e)
    for k in range(g.shape[1]):
        for level, ours in ((1, s.rate_first[k]), (0, s.rate_second[k])):
            m = g[:, k] == level
            km = KaplanMeierFitter().fit(t[m], e[m])
            assert ours == pytest.approx(float(km.survival_function_at_times(60.0).iloc[0]), abs=1e-12)
        m = g[:, k] == 1
        lr = logrank_test(t[m], t[~m], e[m], e[~m])
        assert s.chi2[k] == pytest.approx(lr.test_statistic, rel=1e-10, abs=1e-12)
        assert s.p_value[k] == pytest.approx(lr.p_value, rel=1e-9, abs=1e-12)
    km = KaplanMeierFitter().fit(t, e)
    assert s.overall_rate == pytest.approx(float(km.survival_function_at_times(60.0).iloc[0]), abs=1e-12)
    if math.isfinite(s.median):
        assert s.median == pytest.approx(km.median_survival_time_, abs=1e-12)
    assert s.follow_up_median == pytest.approx(float(np.median(t)))
    assert s.n_deaths == int(e.sum())


@pytest.mark.parametrize("seed", [1, 2, 3, 5])
def test_evaluator_cox_matches_statsmodels_breslow(seed: int) -> None:
    """Our Newton solution is statsmodels' Breslow MLE: zero score, same information.

    statsmodels' own optimiser returns NaN on some of these cohorts (its first steps
    overflow), so the check evaluates statsmodels' score and Hessian at our estimate, and
    compares with ``fit()`` wherever that converges.
    """
    g, x, t, e = _random_cohort(seed)
    s = synthetic.VectorisedEvaluator(g, x).evaluate(t, e)
    assert s.cox_converged
    model = PHReg(t, x, status=e, ties="breslow")
    np.testing.assert_allclose(model.score(s.beta), 0.0, atol=1e-6)
    se = np.sqrt(np.diag(np.linalg.inv(-model.hessian(s.beta))))
    np.testing.assert_allclose(s.beta_se, se, rtol=1e-8)
    fit = model.fit()
    if np.all(np.isfinite(fit.params)):
        np.testing.assert_allclose(s.beta, fit.params, atol=1e-6)
        np.testing.assert_allclose(s.beta_se, fit.bse, rtol=1e-5)


def test_evaluator_median_se_follows_collett() -> None:
    """SE(median) = Greenwood SE of S at the median / density between S=0.55 and S=0.45."""
    n = 21
    t = np.arange(1.0, n + 1.0)
    e = np.ones(n, dtype=int)
    g = np.zeros((n, 17))
    g[:10] = 1
    x = np.zeros((n, 5))
    x[np.arange(n), np.arange(n) % 5] = 1.0
    x[:3] = 0.0
    s = synthetic.VectorisedEvaluator(g, x).evaluate(t, e)
    # S(t_k) = 1 - k/21: median at t=11 (S=10/21); u = 9 (S=12/21 >= 0.55); l = 12 (S=9/21).
    s11 = 10 / 21
    se_s = math.sqrt(s11 * (1 - s11) / n)
    density = (12 / 21 - 9 / 21) / (12 - 9)
    assert s.median == 11.0
    assert s.median_se == pytest.approx(se_s / density)


def test_evaluator_median_midpoint_when_curve_flat_at_half() -> None:
    t = np.arange(1.0, 21.0)
    e = np.ones(20, dtype=int)
    x = np.zeros((20, 5))
    x[np.arange(20), np.arange(20) % 5] = 1.0
    x[:4] = 0.0
    s = synthetic.VectorisedEvaluator(np.zeros((20, 17)), x).evaluate(t, e)
    assert s.median == 10.5  # S = 0.5 exactly on [10, 11): R's (and helpers.survival's) midpoint


def test_evaluator_median_se_agrees_with_project_km() -> None:
    from helpers import survival
    g, x, t, e = _random_cohort(4)
    s = synthetic.VectorisedEvaluator(g, x).evaluate(t, e)
    df = pd.DataFrame({"t": t, "e": e})
    km = survival.kaplan_meier(df, "t", "e")
    assert km.median == pytest.approx(s.median)
    assert km.median_se == pytest.approx(s.median_se, rel=1e-9)


# ------------------------------------------------------------------ targets and loss


def test_targets_read_from_published_numbers(published: dict) -> None:
    tg = synthetic.load_targets()
    rows = {(r["variable"], r["level"]): r["five_year_survival_pct"] for r in published["table2"]}
    for k, (var, a, b) in enumerate(synthetic.FACTORS):
        assert tg.rate_first[k] == rows[(var, a)]
        assert tg.rate_second[k] == rows[(var, b)]
    assert math.exp(tg.log_hr[4]) == pytest.approx(12.161)
    # the <0.001 rows need chi2 > 10.83
    k = [f[0] for f in synthetic.FACTORS].index("curative_resection")
    assert tg.z_tolerance[k, 0] ** 2 == pytest.approx(10.828, abs=1e-3)


def _exact_statistics(tg: synthetic.Targets) -> synthetic.CohortStatistics:
    k = len(synthetic.FACTORS)
    return synthetic.CohortStatistics(
        rate_first=tg.rate_first / 100,
        rate_second=tg.rate_second / 100,
        chi2=np.mean(tg.z_exact.clip(max=4.0), axis=1) ** 2,
        p_value=np.where(np.array(tg.p_operator) == "<", 0.0005, tg.p_value),
        overall_rate=0.45,
        median=48.0,
        median_se=18.6 / 1.959963984540054,
        beta=tg.log_hr,
        beta_se=(tg.log_ci_high - tg.log_ci_low) / (2 * 1.959963984540054),
        cox_converged=True,
        follow_up_median=28.0,
        n_deaths=30,
        at_risk_first=np.ones(k),
        at_risk_second=np.ones(k),
    )


def test_loss_is_zero_only_at_the_targets() -> None:
    tg = synthetic.load_targets()
    k = len(synthetic.FACTORS)
    exact = _exact_statistics(tg)
    base = synthetic.calibration_loss(exact, tg)
    # only the two p-values printed within 0.005 of 0.05 (0.047, 0.051) cost anything: the
    # steep band keeps a margin from 0.05 on the paper's side
    assert base < 6.0
    worse = synthetic.CohortStatistics(**{**exact.__dict__, "overall_rate": 0.40})
    assert synthetic.calibration_loss(worse, tg) > base + 100
    off = synthetic.CohortStatistics(**{**exact.__dict__, "follow_up_median": 35.0})
    assert synthetic.calibration_loss(off, tg) > base + 100
    lost = synthetic.CohortStatistics(**{**exact.__dict__, "at_risk_first": np.zeros(k)})
    assert lost.undefined_rates > 0
    assert synthetic.calibration_loss(lost, tg) > base + 1000


def test_steep_loss_band_lies_inside_the_target_tolerance() -> None:
    """A statistic the steep term accepts is within its target's tolerance; one beyond is costly."""
    tg = synthetic.load_targets()
    exact = _exact_statistics(tg)
    base = synthetic.calibration_loss(exact, tg)
    k = [f[0] for f in synthetic.FACTORS].index("primary_histology_leiomyosarcoma")
    label = "primary_histology_leiomyosarcoma:leiomyosarcoma"
    for delta, inside in ((0.026, True), (0.031, False)):
        r1 = exact.rate_first.copy()
        r1[k] += delta
        cand = synthetic.CohortStatistics(**{**exact.__dict__, "rate_first": r1})
        extra = synthetic.calibration_loss(cand, tg) - base
        row = synthetic.score_statistics(cand, tg).set_index("statistic").loc[label]
        assert bool(row["within_tolerance"]) is inside
        # the soft term alone costs ((2.6 - 0.5) / 1.5) ** 2 < 2; 0.4 point past the steep
        # band (2.7) costs (0.4 / 0.2) ** 2 = 4 more
        assert (extra < 2.0) if inside else (extra > 6.0), (delta, extra)
    for factor, inside in ((math.exp(0.11), True), (1.16, False)):
        beta, se = exact.beta.copy(), exact.beta_se.copy()
        hi = tg.log_ci_high[1] + math.log(factor)
        lo = tg.log_ci_low[1]
        beta[1], se[1] = (hi + lo) / 2, (hi - lo) / (2 * 1.959963984540054)
        cand = synthetic.CohortStatistics(**{**exact.__dict__, "beta": beta, "beta_se": se})
        table = synthetic.score_statistics(cand, tg)
        row = table[(table["group"] == "cox_ci_high") & (table["statistic"] == "primary_histology_ups")]
        assert bool(row["within_tolerance"].iloc[0]) is inside
        hi_ups = np.array([synthetic._N_RATES + 2 * len(synthetic.COX_COVARIATES) + 1])
        steep = synthetic._loss_parts(synthetic._statistic_vector(cand), tg, hi_ups)[1]
        assert (steep < 1e-6) if inside else (steep > 1.0), (factor, steep)


def test_score_statistics_counts_the_edge_of_a_tolerance_as_within() -> None:
    tg = synthetic.load_targets()
    exact = _exact_statistics(tg)
    k = [f[0] for f in synthetic.FACTORS].index("primary_histology_leiomyosarcoma")
    r1 = exact.rate_first.copy()
    r1[k] = 0.41  # 41 % against the published 38 %: exactly 3 points away
    table = synthetic.score_statistics(synthetic.CohortStatistics(**{**exact.__dict__, "rate_first": r1}), tg)
    row = table[table["statistic"] == "primary_histology_leiomyosarcoma:leiomyosarcoma"].iloc[0]
    assert row["value"] == pytest.approx(41.0)
    assert bool(row["within_tolerance"])
    assert not bool(row["within_stretch"])
    assert not bool(row["printed_digits_match"])
    r1[k] = 0.40  # exactly 2 points: the edge of the stretch tolerance
    table = synthetic.score_statistics(synthetic.CohortStatistics(**{**exact.__dict__, "rate_first": r1}), tg)
    assert table.loc[table["statistic"] == "primary_histology_leiomyosarcoma:leiomyosarcoma", "within_stretch"].item()
    scored = table[table["statistic"] != "follow_up_max"]
    assert scored["within_tolerance"].all()


# ------------------------------------------------------------------ re-verification with the project's pipeline


def test_shipped_numbers_agree_with_project_pipeline(registry: pd.DataFrame) -> None:
    """Statistics of the generator's evaluator equal helpers.survival / helpers.cox on the file."""
    import warnings

    from helpers import cohort as cohort_mod
    from helpers import cox, schema, survival
    stats, table = synthetic.evaluate_registry(registry)
    reg = schema.load_registry(CSV)
    analysed = schema.add_survival_columns(cohort_mod.assemble_cohort(reg).analysed)
    derived = cohort_mod.derive_factors(analysed)
    t2 = survival.screen_factors(derived.data, "time_months", "event", derived.factors)
    for k, (var, a, b) in enumerate(synthetic.FACTORS):
        rows = t2[t2["variable"] == var].set_index("level")
        assert rows.loc[a, "survival_pct"] == pytest.approx(100 * stats.rate_first[k], abs=1e-9)
        assert rows.loc[b, "survival_pct"] == pytest.approx(100 * stats.rate_second[k], abs=1e-9)
        assert rows.loc[a, "p_value"] == pytest.approx(stats.p_value[k], rel=1e-8, abs=1e-12)
    refs = {var: ref for var, _, ref in synthetic.COX_COVARIATES}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = cox.fit_cox(derived.data, "time_months", "event", list(refs), ties="breslow", categorical=refs)
    np.testing.assert_allclose(fit.table["coef"].to_numpy(), stats.beta, atol=1e-6)
    np.testing.assert_allclose(fit.table["se"].to_numpy(), stats.beta_se, rtol=1e-5)
    km = survival.kaplan_meier(analysed, "time_months", "event")
    assert km.median == pytest.approx(stats.median)
    assert km.median_se == pytest.approx(stats.median_se, rel=1e-9)


def test_cox_events_table_counts_deaths_and_matches_the_model(registry: pd.DataFrame) -> None:
    cohort = synthetic.analysed_cohort(registry)
    table = synthetic.cox_events_table(cohort)
    stats, _ = synthetic.evaluate_registry(registry)
    assert table["covariate"].tolist() == [c for c, _, _ in synthetic.COX_COVARIATES]
    deaths = int(cohort["event"].sum())
    assert ((table["deaths_risk_level"] + table["deaths_reference"]) == deaths).all()
    np.testing.assert_allclose(table["se"], stats.beta_se)
    tg = synthetic.load_targets()
    k = table.index[table["covariate"] == "primary_histology_ups"][0]
    assert table.loc[k, "se_published"] == pytest.approx(
        (math.log(9.684) - math.log(0.858)) / (2 * 1.959963984540054)
    )
    assert math.log(tg.cox_p_value[k]) == pytest.approx(math.log(0.087))
    d1, d0 = table.loc[k, ["deaths_risk_level", "deaths_reference"]]
    assert table.loc[k, "se_unadjusted_approx"] == pytest.approx(math.sqrt(1 / d1 + 1 / d0))


def test_readme_quotes_the_recorded_fidelity() -> None:
    """The README's table of the shipped registry's fidelity says what the provenance records."""
    readme = (DATA.parent / "README.md").read_text(encoding="utf-8")
    summary = {r["group"]: r for r in json.loads(PROVENANCE.read_text(encoding="utf-8"))["achieved"]["summary"]}
    for group, label in (
        ("five_year_rate", "five-year rates (±3 points)"),
        ("logrank_p", "log-rank p (same side of 0.05)"),
        ("cox_hr", "Table 3 hazard ratios (±10 %)"),
        ("cox_p", "Table 3 conclusions at 0.05"),
    ):
        r = summary[group]
        assert f"| {label} | {r['within_tolerance']} of {r['n']}" in readme, label
    limits = summary["cox_ci_low"]["within_tolerance"] + summary["cox_ci_high"]["within_tolerance"]
    assert f"| Table 3 confidence limits (±15 %) | {limits} of 10" in readme


def test_start_model_lies_inside_the_plausible_ranges() -> None:
    model = synthetic.SyntheticSettings().model
    for name, (lo, hi) in synthetic.PARAMETER_RANGES.items():
        assert lo <= getattr(model, name) <= hi, name
    assert synthetic.PARAMETER_RANGES["shape"] == (1.3, 1.5)


def test_recorded_model_lies_inside_the_plausible_ranges() -> None:
    prov = json.loads(PROVENANCE.read_text(encoding="utf-8"))
    calibrated = prov["outcome_model"]["calibrated"]
    for name, (lo, hi) in prov["outcome_model"]["parameter_ranges"].items():
        assert lo <= calibrated[name] <= hi, name


def test_ph_test_of_the_evaluator_matches_the_project_cox_zph() -> None:
    import warnings

    from helpers.cox import fit_cox, test_proportional_hazards

    g, x, t, e = _random_cohort(4)
    ev = synthetic.VectorisedEvaluator(g, x)
    glob, terms = ev.ph_test(ev.evaluate(t, e))
    d = pd.DataFrame(x, columns=[c for c, _, _ in synthetic.COX_COVARIATES]).assign(time=t, event=e)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_cox(d, "time", "event", list(d.columns[:5]), ties="breslow")
    zph = test_proportional_hazards(fit, "km").set_index("term")["p_value"]
    assert glob == pytest.approx(zph["GLOBAL"], rel=1e-6)
    np.testing.assert_allclose(terms, zph.drop("GLOBAL").to_numpy(), rtol=1e-6)


def test_keyed_levels_keep_table1_counts_and_treat_by_indication() -> None:
    rng = np.random.default_rng(5)
    score = np.r_[np.full(33, 3.0), np.zeros(33)]
    for _ in range(5):
        male, trunk, resection, before, after = synthetic.keyed_levels(
            rng.uniform(size=(66, 5)), np.zeros(66), score, 2.0
        )
        assert (male.sum(), trunk.sum(), before.sum(), after.sum(), (after & before).sum()) == (38, 34, 20, 4, 3)
        assert np.bincount(resection).tolist() == [54, 7, 5]
        assert before[:33].sum() > before[33:].sum()


def test_outcome_days_have_no_floor_and_no_ceiling() -> None:
    st = synthetic.SyntheticSettings()
    n = 5
    lat = synthetic.draw_latents(n, st, np.random.default_rng(0))
    lat.u[:] = [1e-9, 0.5, 0.999999, 0.3, 0.3]
    lat.v[:] = lat.w[:] = 1 - 1e-12  # other-cause death and loss far beyond the cut-off
    lat.pm_day[:] = 0
    lat.lag_days[:] = 0
    t, e, end = synthetic.outcome_days(st.model, np.zeros((n, 7)), np.full(n, 50.0), lat, st)
    assert t[0] == 1 and e[0] == 1  # a very small uniform: death on day 1 (then flagged)
    assert end[2] == synthetic.END_CODES.index("cutoff")  # only the cut-off stops a late death
    span = (pd.Timestamp(st.cutoff_date) - pd.Timestamp(st.window_start)).days
    assert t.max() <= span


def test_short_calibration_satisfies_every_constraint() -> None:
    """The generator on small settings: the result passes the plausibility and realism checks."""
    from helpers.reproduction import realism

    st = synthetic.SyntheticSettings(n_iterations=6000, n_start_draws=8, n_chains=1, spline_check_n=2000)
    res = synthetic.build_registry(st)
    assert res.calibration.violations == 0
    cohort = synthetic.analysed_cohort(pd.read_csv(io.StringIO(synthetic._to_csv_text(res.registry))))
    assert realism.realism_checks(cohort)["passed"].all()
    assert synthetic.check_plausibility(cohort, st)["ok"].all()
    table = synthetic.registry_realism(cohort, res.calibration, spline_n=2000)
    assert table["passed"].all(), table[~table["passed"]]
    assert min(synthetic.latent_ks_p(res.calibration.latents).values()) >= st.min_latent_ks_p
