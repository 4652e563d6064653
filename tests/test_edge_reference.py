"""Hard cases against R ``survival`` (fixtures: ``tests/r_reference/edge_reference.R``)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import cox, survival
from helpers.reproduction import refit, screening

REF = json.loads((Path(__file__).parent / "r_reference" / "edge_reference.json").read_text())
REL = 1e-6

ALIASED = pd.DataFrame({
    "t": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0.5, 0.7, 2, 4, 6],
    "e": [1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 0],
    "g": pd.Categorical(["a", "b", "a", "b", "a", "b", "a", "b", "a", "d", "c", "c", "d", "a", "d"],
                        categories=["a", "b", "c", "d"]),
    "x": [1, 5, 2, 4, 3, 6, 2, 1, 3, 4, 5, 5, 2, 2, 3],
})
NEAR = pd.DataFrame({
    "t": [0.1 + 0.2, 0.3, 0.3, 0.7, 0.7 + 1e-12, 1.1, 1.5, 2.0],
    "e": [1, 1, 0, 1, 1, 0, 1, 0],
    "x": [1, 0, 1, 0, 1, 1, 0, 0],
})


def _fit(df, covs, ties, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cox.fit_cox(df, "t", "e", covs, ties=ties, **kw)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    return res, [str(w.message) for w in caught if issubclass(w.category, cox.CoxWarning)]


def _check_against(res, ref):
    coef = np.array([np.nan if c is None else c for c in np.atleast_1d(ref["coef"])], dtype=float)
    np.testing.assert_allclose(res.table["coef"], coef, rtol=REL)
    fitted = ~np.isnan(coef)
    np.testing.assert_allclose(res.table["se"][fitted], np.atleast_1d(ref["se"])[fitted], rtol=REL)
    np.testing.assert_allclose([res.log_likelihood_null, res.log_likelihood], ref["loglik"], rtol=REL)
    assert res.lr_test.dof == ref["df"]
    assert res.concordance == pytest.approx(ref["concordance"], rel=REL)
    zph = cox.test_proportional_hazards(res)
    np.testing.assert_allclose(zph["statistic"], np.atleast_1d(ref["zph_chisq"]), rtol=REL)
    np.testing.assert_array_equal(zph["dof"], np.atleast_1d(ref["zph_df"]))


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_aliased_level_is_na_flagged_and_rest_matches_r(ties):
    res, msgs = _fit(ALIASED, ["g", "x"], ties, categorical={"g": "a"})
    _check_against(res, REF[f"aliased_{ties}"])
    row = res.table.set_index("term").loc["g[c]"]
    assert np.isnan(row["p_value"]) and "not identifiable" in row["flag"]
    assert any("g[c]" in m and "censored before the first event" in m for m in msgs)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_near_equal_times_merged_as_r_timefix(ties):
    res, _ = _fit(NEAR, ["x"], ties)
    _check_against(res, REF[f"near_{ties}"])
    off, _ = _fit(NEAR, ["x"], ties, timefix=False)
    assert off.table["coef"].iloc[0] != pytest.approx(res.table["coef"].iloc[0], rel=1e-6)


def test_near_equal_times_km_and_logrank():
    km = survival.kaplan_meier(NEAR, "t", "e")
    np.testing.assert_allclose(km.table["time"], REF["near_km"]["time"], rtol=REL)
    np.testing.assert_allclose(km.table["survival"], REF["near_km"]["surv"], rtol=REL)
    assert len(survival.kaplan_meier(NEAR, "t", "e", timefix=False).table) > len(km.table)
    lr = survival.logrank(NEAR, "t", "e", "x")
    assert lr.statistic == pytest.approx(REF["near_logrank_chisq"], rel=REL)


@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
def test_landmarks_around_first_event_match_r(conf_type):
    d = pd.DataFrame({"t": [2, 3, 5, 7, 8, 10], "e": [0, 0, 1, 0, 1, 0]})
    ref = REF["landmark"][conf_type]
    lm = survival.kaplan_meier(d, "t", "e", conf_type=conf_type, landmarks=ref["times"]).landmarks
    for col, key in (("survival", "surv"), ("ci_low", "lower"), ("ci_high", "upper")):
        want = np.array([np.nan if v is None else v for v in ref[key]], dtype=float)
        np.testing.assert_allclose(lm[col], want, rtol=REL)
    past = survival.kaplan_meier(d, "t", "e", conf_type=conf_type, landmarks=(12,)).landmarks
    assert past["survival"].isna().all()


def test_screen_zero_event_level_log_log_is_na_after_first_observation():
    d = pd.DataFrame({"t": [2, 3, 5, 7, 8, 10, 4, 6], "e": [0, 0, 1, 0, 1, 0, 1, 1],
                      "g": ["a"] * 6 + ["b"] * 2})
    d.loc[d.g == "a", "e"] = 0
    tab = survival.screen_factors(d, "t", "e", ["g"], landmark=4).set_index("level")
    assert np.isnan(tab.loc["a", "survival_ci_low"]) and np.isnan(tab.loc["a", "survival_ci_high"])
    tab = survival.screen_factors(d, "t", "e", ["g"], landmark=1).set_index("level")
    assert tab.loc["a", "survival_ci_low"] == 100 and tab.loc["a", "survival_ci_high"] == 100


def test_km_one_patient_no_numpy_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        km = survival.kaplan_meier(pd.DataFrame({"t": [3.0], "e": [1]}), "t", "e")
    assert km.median == 3.0


def test_property_unidentifiable_terms_never_unflagged():
    """Random data with a level censored before the first death: never p < 1 without a flag."""
    rng = np.random.default_rng(20261203)
    for _ in range(60):
        n = int(rng.integers(12, 40))
        t = rng.exponential(10, n) + 1.0
        e = rng.integers(0, 2, n)
        e[0] = 1
        g = rng.choice(["a", "b"], n)
        k = int(rng.integers(1, 4))
        lost = pd.DataFrame({"t": rng.uniform(0, 0.9, k), "e": 0, "g": "c", "x": rng.normal(size=k)})
        d = pd.concat([pd.DataFrame({"t": t, "e": e, "g": g, "x": rng.normal(size=n)}), lost])
        for ties in ("breslow", "efron"):
            res, msgs = _fit(d, ["g", "x"], ties, categorical={"g": "a"})
            row = res.table.set_index("term").loc["g[c]"]
            assert row["flag"] and not (row["p_value"] < 1)
            assert any("g[c]" in m for m in msgs)
            assert res.lr_test.dof == 2


@pytest.fixture(scope="module")
def table3_data():
    from helpers import cohort, schema

    registry = schema.load_registry(Path(__file__).parents[1] / "data" / "registry.csv")
    derived = cohort.derive_factors(schema.add_survival_columns(cohort.assemble_cohort(registry).analysed))
    covs = ["disease_free_interval", "primary_histology_ups", "lung_metastasis_number",
            "largest_lung_lesion_size", "curative_resection"]
    return derived.data.reset_index(drop=True), derived.factors, covs, {f: derived.reference(f) for f in covs}


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_lean_cox_refit_equals_fit_cox(table3_data, ties):
    data, _, covs, refs = table3_data
    design = refit.prepare_cox(data, "time_months", "event", covs, ties=ties, categorical=refs)
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(40):
        rows = rng.integers(0, len(data), len(data))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", cox.CoxWarning)
                full = cox.fit_cox(data.iloc[rows], "time_months", "event", covs, ties=ties, categorical=refs)
        except ValueError:
            continue  # a resample where a factor does not vary: fit_cox refuses, refit gives NA
        lean = design.refit(rows)
        for col in ("coef", "se", "z", "p_value"):
            np.testing.assert_allclose(getattr(lean, col), full.table[col], rtol=1e-12, atol=1e-300)
        assert lean.flags == tuple(full.table["flag"])
        assert lean.warnings == full.warnings
        assert lean.log_likelihood == pytest.approx(full.log_likelihood, rel=1e-12)
        assert lean.lr_test == full.lr_test or lean.lr_test.statistic == pytest.approx(full.lr_test.statistic, rel=1e-12)
        assert lean.concordance == pytest.approx(full.concordance, rel=1e-12)
        checked += 1
    assert checked >= 20


def test_lean_screen_refit_equals_screen_factors(table3_data):
    data, factors, _, _ = table3_data
    design = screening.prepare_screen(data, "time_months", "event", factors)
    rng = np.random.default_rng(8)
    for _ in range(20):
        rows = rng.integers(0, len(data), len(data))
        lean = pd.DataFrame(design.refit(rows))
        full = survival.screen_factors(data.iloc[rows], "time_months", "event", factors)
        pd.testing.assert_frame_equal(lean, full, check_dtype=False, rtol=1e-12)


def test_missing_covariates_dropped_counted_and_named():
    d = ALIASED.assign(x=ALIASED["x"].astype(float))
    d.loc[[1, 4], "x"] = np.nan
    res, msgs = _fit(d, ["g", "x"], "breslow", categorical={"g": "a"})
    assert res.n_dropped_missing == 2 and res.n == len(d) - 2
    assert any("missing" in m for m in msgs)


MIXED = pd.read_csv(Path(__file__).parent / "r_reference" / "edge_mixed.csv")


def test_mixed_levels_logrank_and_landmark_match_r():
    d = MIXED.assign(g4=pd.Categorical(MIXED["g4"], categories=["base", "all", "tiny", "zero"]))
    assert survival.logrank(d, "t", "e", "g4").statistic == pytest.approx(REF["mixed_logrank_chisq"], rel=REL)
    tab = survival.screen_factors(d, "t", "e", ["g4"], landmark=2.5, conf_type="log").set_index("level")
    ref = REF["mixed_km_landmark"]
    for col, key in (("survival_pct", "surv"), ("survival_ci_low", "lower"), ("survival_ci_high", "upper")):
        np.testing.assert_allclose(tab.loc[ref["strata"], col] / 100, ref[key], rtol=REL)
    assert bool(tab.loc["zero", "flag_zero_events"])


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_three_level_factor_with_missing_covariate_matches_r(ties):
    res, msgs = _fit(MIXED, ["g3", "x"], ties, categorical={"g3": "p"})
    ref = REF[f"mixed_{ties}"]
    assert res.n == ref["n"] and res.n_dropped_missing == len(MIXED) - ref["n"]
    np.testing.assert_allclose(res.table["coef"], ref["coef"], rtol=REL)
    np.testing.assert_allclose(res.table["se"], ref["se"], rtol=REL)
    np.testing.assert_allclose([res.log_likelihood_null, res.log_likelihood], ref["loglik"], rtol=REL)
    assert any("missing" in m for m in msgs)


def test_property_infinite_estimates_always_flagged():
    """Monotone likelihood (one level dies before anyone else): flagged and named, every time."""
    rng = np.random.default_rng(31)
    for _ in range(30):
        k, n = int(rng.integers(2, 6)), int(rng.integers(10, 30))
        early = pd.DataFrame({"t": rng.uniform(0.1, 0.9, k), "e": 1, "g": "b"})
        late = pd.DataFrame({"t": rng.uniform(1, 20, n), "e": rng.integers(0, 2, n), "g": "a"})
        d = pd.concat([early, late], ignore_index=True).assign(x=rng.normal(size=k + n))
        for ties in ("breslow", "efron"):
            res, msgs = _fit(d, ["g", "x"], ties, categorical={"g": "a"})
            row = res.table.set_index("term").loc["g[b]"]
            assert row["flag"], (ties, row)
            assert any("g[b]" in m for m in msgs)


# --- terms R cannot estimate (coxph's default control: eps 1e-9, iter.max 20) ----------------------

MONO = pd.read_csv(Path(__file__).parent / "r_reference" / "edge_monotone.csv")
NONID = {
    "constant": (ALIASED.assign(k=1.0), ["x", "k"]),
    "collinear": (ALIASED.assign(x2=2 * ALIASED["x"] + 1), ["x", "x2"]),
    "monotone": (MONO[MONO["case"] == "monotone"], ["x", "g", "w"]),
    "singular_at_estimate": (MONO[MONO["case"] == "singular_at_estimate"], ["x", "g", "w"]),
    "no_convergence": (MONO[MONO["case"] == "no_convergence"], [f"x{j}" for j in range(6)]),
}


def _r_messages(ref):
    w = ref["warnings"]
    return [w] if isinstance(w, str) else list(w)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("case", list(NONID))
def test_terms_r_cannot_estimate_match_r(case, ties):
    """NA where R gives NA, R's values (its iterates) elsewhere, and a flag and a named warning on
    every term that is not an estimate; an infinite coefficient itself is only flagged."""
    ref = REF["nonidentifiable"][f"{case}_{ties}"]
    data, covs = NONID[case]
    res, msgs = _fit(data, covs, ties)
    want = np.array([np.nan if c is None else c for c in ref["coef"]], dtype=float)
    table = res.table.set_index("term")
    na = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(table["coef"].to_numpy()), na)
    r_warned = " ".join(_r_messages(ref))
    infinite = np.zeros(len(covs), dtype=bool)
    if "coefficient may be infinite" in r_warned:  # "Loglik converged before variable  2 ; ..."
        infinite[[int(v) - 1 for v in r_warned.split("variable")[1].split(";")[0].split(",")]] = True
    if "did not converge" in r_warned:
        infinite = np.abs(want) > 10  # R's "ran out of iterations": the runaway coefficients
        assert not res.converged and (table["flag"] == "did not converge").all()
        assert any("did not converge" in m for m in msgs)
    finite = ~na & ~infinite
    # R's own iterates (same start, steps, halving and stopping rule): agreement to rounding.
    np.testing.assert_allclose(table["coef"][finite], want[finite], rtol=1e-10)
    np.testing.assert_allclose(table["se"][finite], np.array(ref["se"])[finite], rtol=1e-10)
    np.testing.assert_allclose([res.log_likelihood_null, res.log_likelihood], ref["loglik"], rtol=1e-10)
    assert res.lr_test.dof == ref["df"]
    assert res.concordance == pytest.approx(ref["concordance"], rel=REL)
    for term in np.asarray(covs)[na | infinite]:
        assert table.loc[term, "flag"], term
        assert not (table.loc[term, "p_value"] < 1) or "infinite" in table.loc[term, "flag"] or not res.converged
        assert any(term in m for m in msgs) or not res.converged, (term, msgs)


def test_monotone_and_singular_terms_say_what_happened():
    res, msgs = _fit(*NONID["singular_at_estimate"], "breslow")
    assert "ran off towards infinity" in " ".join(msgs) and "NA" in res.table.set_index("term").loc["g", "flag"]
    res, msgs = _fit(*NONID["monotone"], "breslow")
    assert "may be infinite" in res.table.set_index("term").loc["g", "flag"]
    assert any("converged before term(s) ['g']" in m for m in msgs)
    res, msgs = _fit(*NONID["constant"], "efron")
    assert any("'k' (takes a single value in every analysed row)" in m for m in msgs)


def test_property_constant_and_collinear_terms_never_unflagged():
    """Random data with a constant covariate or an exact linear combination: NA, flagged, named,
    the rest as if the term were absent, for both tie methods."""
    rng = np.random.default_rng(20261204)
    for _ in range(30):
        n = int(rng.integers(10, 40))
        d = pd.DataFrame({"t": rng.exponential(10, n).round(1) + 0.1, "e": rng.integers(0, 2, n),
                          "x": rng.normal(size=n), "z": rng.integers(0, 2, n).astype(float)})
        d.loc[0, "e"] = 1
        d["c"] = float(rng.integers(-3, 4))
        d["lin"] = rng.normal() * d["x"] - 2.0 * d["z"] + rng.normal()
        for ties in ("breslow", "efron"):
            base, _ = _fit(d, ["x", "z"], ties)
            for extra in ("c", "lin"):
                res, msgs = _fit(d, ["x", extra, "z"] if extra == "c" else ["x", "z", extra], ties)
                row = res.table.set_index("term").loc[extra]
                assert row["flag"] and np.isnan(row["p_value"]) and any(repr(extra) in m for m in msgs)
                np.testing.assert_allclose(res.table.set_index("term").loc[["x", "z"], "coef"],
                                           base.table["coef"], rtol=1e-6)
                assert res.lr_test.dof == 2


def test_lean_screen_with_missing_values_and_many_levels_equals_screen_factors():
    d = MIXED.assign(g4=pd.Categorical(MIXED["g4"], categories=["base", "all", "tiny", "zero", "unused"]),
                     xcat=np.where(MIXED["x"].isna(), None, np.where(MIXED["x"] > 0, "pos", "neg")))
    d.loc[[3, 7], "g3"] = None
    factors = ["g4", "g3", "xcat"]
    design = screening.prepare_screen(d, "t", "e", factors, landmark=4)
    rng = np.random.default_rng(9)
    for rows in [np.arange(len(d))] + [rng.integers(0, len(d), len(d)) for _ in range(15)]:
        lean = pd.DataFrame(design.refit(rows))
        full = survival.screen_factors(d.iloc[rows], "t", "e", factors, landmark=4)
        pd.testing.assert_frame_equal(lean, full, check_dtype=False, rtol=1e-12)
    assert screening.prepare_screen(d, "t", "e", []).refit()["p_value"].size == 0
