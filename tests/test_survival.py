"""Tests of helpers.survival: R-reference fixtures, lifelines cross-checks, edge cases, bad input.

The R numbers come from ``tests/r_reference/survival_reference.R`` (R survival 3.5-3), stored in
``survival_reference.json`` together with the input data, so these tests never need R.
Tolerance: relative 1e-6 everywhere (``RTOL``); no comparison needed a looser one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from scipy import stats

from helpers import survival
from helpers.survival import kaplan_meier, logrank, median_ci_table, screen_factors
from helpers.teaching import dichotomy

RTOL = 1e-6
FIXTURE = Path(__file__).parent / "r_reference" / "survival_reference.json"
REF = json.loads(FIXTURE.read_text())


def _nan(x):
    return np.nan if x is None else x


def _arr(xs):
    return np.array([_nan(x) for x in xs], dtype=float)


def _data(name: str) -> pd.DataFrame:
    return pd.DataFrame(REF["data"][name])


def _close(ours, theirs, rtol=RTOL):
    np.testing.assert_allclose(
        np.asarray(ours, dtype=float),
        _arr(np.atleast_1d(theirs)),
        rtol=rtol,
        atol=1e-12,
        equal_nan=True,
    )


# --------------------------------------------------------------------------------------------
# against R
# --------------------------------------------------------------------------------------------

KM_CASES = [(c["dataset"], c["conf_type"]) for c in REF["km"]]


@pytest.mark.parametrize(("dataset", "conf_type"), KM_CASES)
def test_km_median_and_ci_match_r(dataset, conf_type):
    case = next(c for c in REF["km"] if c["dataset"] == dataset and c["conf_type"] == conf_type)
    km = kaplan_meier(
        _data(dataset), "time", "event", conf_type=conf_type, landmarks=case["landmarks"]["time"]
    )
    assert km.n == case["n"] and km.events == case["events"]
    _close(km.median, case["median"])
    _close(km.median_ci_low, case["median_lcl"])
    _close(km.median_ci_high, case["median_ucl"])


@pytest.mark.parametrize(("dataset", "conf_type"), KM_CASES)
def test_km_landmarks_match_r(dataset, conf_type):
    case = next(c for c in REF["km"] if c["dataset"] == dataset and c["conf_type"] == conf_type)
    lm_ref = case["landmarks"]
    lm = kaplan_meier(
        _data(dataset), "time", "event", conf_type=conf_type, landmarks=lm_ref["time"]
    ).landmarks
    assert list(lm.columns) == ["time", "n_at_risk", "survival", "se", "ci_low", "ci_high"]
    assert lm["n_at_risk"].tolist() == lm_ref["n_risk"]
    _close(lm["survival"], lm_ref["surv"])
    _close(lm["se"], lm_ref["std_err"])
    _close(lm["ci_low"], lm_ref["lower"])
    _close(lm["ci_high"], lm_ref["upper"])


@pytest.mark.parametrize(("dataset", "conf_type"), KM_CASES)
def test_km_whole_curve_matches_r(dataset, conf_type):
    case = next(c for c in REF["km"] if c["dataset"] == dataset and c["conf_type"] == conf_type)
    tab = kaplan_meier(_data(dataset), "time", "event", conf_type=conf_type).table
    ref = case["curve"]
    _close(tab["time"], ref["time"])
    assert tab["n_at_risk"].tolist() == ref["n_risk"]
    assert tab["n_events"].tolist() == ref["n_event"]
    _close(tab["survival"], ref["surv"])
    _close(tab["ci_low"], ref["lower"])
    _close(tab["ci_high"], ref["upper"])


@pytest.mark.parametrize("case", REF["survdiff"], ids=lambda c: f"{c['dataset']}-{c['group']}")
def test_logrank_matches_r_survdiff(case):
    df = _data(case["dataset"]).dropna(subset=[case["group"]])
    res = logrank(df, "time", "event", case["group"])
    _close(res.statistic, case["chisq"])
    assert res.dof == case["df"]
    _close(res.p_value, case["p"])
    assert res.table["n"].tolist() == case["n"]
    _close(res.table["observed"], case["observed"])
    _close(res.table["expected"], case["expected"])
    _close(res.table["variance"], case["variance_diag"])


@pytest.mark.parametrize("case", REF["survdiff"], ids=lambda c: f"{c['dataset']}-{c['group']}")
def test_screen_p_values_match_r_survdiff(case):
    df = _data(case["dataset"])
    tab = screen_factors(df, "time", "event", [case["group"]])
    _close(tab["p_value"].iloc[0], case["p"])
    _close(tab["chisq"].iloc[0], case["chisq"])
    assert (tab["p_value"] == tab["p_value"].iloc[0]).all()


@pytest.mark.parametrize("case", REF["strata"], ids=lambda c: f"{c['dataset']}-{c['group']}")
def test_screen_levels_match_r_strata(case):
    df = _data(case["dataset"])
    tab = screen_factors(
        df, "time", "event", [case["group"]], landmark=case["landmark"], conf_type=case["conf_type"]
    )
    ref = pd.DataFrame(case["levels"])
    assert len(tab) == len(ref)
    assert tab["n"].tolist() == ref["n"].tolist()
    assert tab["events"].tolist() == ref["events"].tolist()
    _close(tab["median"], ref["median"].tolist())
    assert tab["n_at_risk_landmark"].tolist() == ref["n_risk"].tolist()
    defined = ~tab["flag_landmark_beyond_followup"].to_numpy() | (ref["surv"].to_numpy() == 0)
    _close(tab["survival_pct"][defined] / 100, ref["surv"][defined].tolist())
    _close(tab["survival_ci_low"][defined] / 100, ref["lower"][defined].tolist())
    _close(tab["survival_ci_high"][defined] / 100, ref["upper"][defined].tolist())


def test_screen_reports_missing_factor_values():
    df = _data("lung")
    assert df["ph_ecog"].isna().sum() == 1
    tab = screen_factors(df, "time", "event", ["ph_ecog", "sex"])
    assert (tab.loc[tab["variable"] == "ph_ecog", "n_missing"] == 1).all()
    assert (tab.loc[tab["variable"] == "sex", "n_missing"] == 0).all()
    assert tab.loc[tab["variable"] == "ph_ecog", "n"].sum() == len(df) - 1
    with pytest.raises(ValueError, match=r"'ph_ecog'.*missing.*\[13\]"):
        screen_factors(df, "time", "event", ["ph_ecog"], missing="raise")


@pytest.mark.parametrize("case", REF["followup"], ids=lambda c: c["dataset"])
def test_followup_matches_r(case):
    km = kaplan_meier(_data(case["dataset"]), "time", "event")
    _close(km.median_followup_reverse_km, case["reverse_km_median"])
    _close(km.median_followup_observed, case["observed_median"])
    fu = km.followup.set_index("method")
    assert fu.loc["reverse_km", "label"].startswith("reverse Kaplan-Meier")
    assert fu.loc["observed", "label"].startswith("median observed time")


# --------------------------------------------------------------------------------------------
# against lifelines
# --------------------------------------------------------------------------------------------


def test_curve_and_loglog_band_equal_lifelines():
    df = _data("lung")
    km = kaplan_meier(df, "time", "event", conf_type="log-log")
    kmf = KaplanMeierFitter().fit(df["time"], df["event"])
    sf = kmf.survival_function_.iloc[1:, 0]  # lifelines adds time 0
    np.testing.assert_allclose(km.table["survival"], sf.to_numpy(), rtol=1e-12)
    ci = kmf.confidence_interval_.iloc[1:]
    ok = km.table["survival"].between(0, 1, inclusive="neither").to_numpy()
    np.testing.assert_allclose(km.table["ci_low"][ok], ci.iloc[:, 0].to_numpy()[ok], rtol=1e-9)
    np.testing.assert_allclose(km.table["ci_high"][ok], ci.iloc[:, 1].to_numpy()[ok], rtol=1e-9)


def test_logrank_equals_lifelines_k_groups():
    df = _data("veteran")
    ours = logrank(df, "time", "event", "celltype")
    theirs = multivariate_logrank_test(df["time"], df["celltype"], df["event"])
    assert ours.p_value == pytest.approx(theirs.p_value, rel=1e-10)
    assert ours.statistic == pytest.approx(theirs.test_statistic, rel=1e-10)


# --------------------------------------------------------------------------------------------
# the SPSS-style median SE, by hand
# --------------------------------------------------------------------------------------------


def test_symmetric_median_ci_by_hand():
    # ten deaths at 1..10, no censoring: S(t) = 1 - t/10, median = (5 + 6) / 2 = 5.5
    df = _data("flat")
    km = kaplan_meier(df, "time", "event")
    se_s = np.sqrt(0.5 * 0.5 / 10)  # Greenwood = binomial without censoring
    u, s_u = 4, 0.6  # last event time with S >= 0.55
    low, s_l = 6, 0.4  # first event time with S <= 0.45
    se_med = se_s / ((s_u - s_l) / (low - u))
    z = stats.norm.ppf(0.975)
    assert km.median == 5.5
    assert km.median_se == pytest.approx(se_med, rel=1e-12)
    assert km.median_ci_symmetric_low == pytest.approx(5.5 - z * se_med, rel=1e-12)
    assert km.median_ci_symmetric_high == pytest.approx(5.5 + z * se_med, rel=1e-12)


def test_symmetric_se_uses_time_zero_when_first_drop_is_below_055():
    df = pd.DataFrame({"t": [1, 1, 1, 2, 3, 4], "d": [1, 1, 1, 1, 1, 1]})
    km = kaplan_meier(df, "t", "d")
    # S(1) = 0.5 exactly, S(2) = 1/3: median = midpoint 1.5; u = 0 (S=1), l = 2 (S=1/3)
    assert km.median == 1.5
    expected = 0.5 * np.sqrt(3 / (6 * 3)) / ((1 - 1 / 3) / (2 - 0))
    assert km.median_se == pytest.approx(expected, rel=1e-12)


def test_median_ci_table_lists_every_convention():
    tab = median_ci_table(_data("lung"), "time", "event")
    assert tab["method"].tolist() == ["symmetric", "log", "log-log", "plain"]
    log = next(c for c in REF["km"] if c["dataset"] == "lung" and c["conf_type"] == "log")
    row = tab.set_index("method").loc["log"]
    assert (row["ci_low"], row["ci_high"]) == (log["median_lcl"], log["median_ucl"])
    sym = tab.set_index("method").loc["symmetric"]
    assert sym["ci_high"] - sym["median"] == pytest.approx(sym["median"] - sym["ci_low"])


def test_overall_row_contract():
    km = kaplan_meier(_data("lung"), "time", "event", landmarks=(365,))
    row = km.overall_row(median_ci="symmetric", landmark=365, followup="reverse_km")
    for col in [
        "n",
        "events",
        "median_months",
        "median_ci_low",
        "median_ci_high",
        "median_ci_method",
        "survival_5y_pct",
        "survival_5y_ci_low",
        "survival_5y_ci_high",
        "median_followup_months",
        "median_followup_method",
    ]:
        assert col in row.columns
    assert row["survival_5y_pct"].iloc[0] == pytest.approx(100 * 0.409241624460064, rel=RTOL)
    assert row["median_followup_months"].iloc[0] == 588
    with pytest.raises(ValueError, match="median_ci"):
        km.overall_row(median_ci="plain", landmark=365)
    with pytest.raises(ValueError, match="landmark"):
        km.overall_row(landmark=60)


# --------------------------------------------------------------------------------------------
# edge cases
# --------------------------------------------------------------------------------------------


def test_all_censored():
    df = pd.DataFrame({"t": [1.0, 2, 3, 4], "d": [0, 0, 0, 0]})
    km = kaplan_meier(df, "t", "d", landmarks=(2,), conf_type="log")
    assert km.events == 0
    assert np.isnan(km.median) and np.isnan(km.median_ci_low) and np.isnan(km.median_ci_high)
    assert np.isnan(km.median_se)
    lm = km.landmarks.iloc[0]
    assert lm["survival"] == 1 and lm["se"] == 0 and lm["n_at_risk"] == 3
    tab = screen_factors(df.assign(g=["a", "a", "b", "b"]), "t", "d", ["g"], landmark=2)
    assert tab["flag_zero_events"].all() and tab["p_value"].isna().all()


def test_median_not_reached():
    df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8], "d": [1, 0, 1, 0, 0, 0, 0, 0]})
    km = kaplan_meier(df, "t", "d")
    assert km.table["survival"].min() > 0.5
    assert np.isnan(km.median) and np.isnan(km.median_ci_symmetric_low)


def test_flat_stretch_at_half_with_final_censoring_is_not_a_midpoint():
    # S drops to exactly 0.5 at t=2 and stays there (only censoring afterwards): R returns 2
    df = pd.DataFrame({"t": [1, 2, 3, 4], "d": [1, 1, 0, 0]})
    assert kaplan_meier(df, "t", "d").median == 2.0


def test_landmark_beyond_last_followup_is_nan_and_flagged():
    df = pd.DataFrame({"t": [1, 2, 3, 4, 50, 55], "d": [1, 0, 1, 0, 0, 0], "g": list("aaabbb")})
    km = kaplan_meier(df, "t", "d", landmarks=(60,))
    assert np.isnan(km.landmarks["survival"].iloc[0]) and km.landmarks["n_at_risk"].iloc[0] == 0
    tab = screen_factors(df, "t", "d", ["g"], landmark=60).set_index("level")
    assert tab["flag_landmark_beyond_followup"].all()
    assert tab["flag_few_at_risk"].all() and tab["flag_few_events"].all()
    assert tab.loc["b", "flag_zero_events"] and not tab.loc["a", "flag_zero_events"]


def test_landmark_beyond_followup_after_curve_reached_zero_is_zero():
    df = pd.DataFrame({"t": [1, 2, 3], "d": [1, 1, 1]})
    lm = kaplan_meier(df, "t", "d", landmarks=(60,)).landmarks.iloc[0]
    assert lm["survival"] == 0 and np.isnan(lm["se"])


def test_group_with_zero_events_logrank_matches_lifelines():
    df = pd.DataFrame(
        {"t": [1, 2, 3, 4, 5, 6, 7, 8], "d": [1, 1, 1, 0, 0, 0, 0, 1], "g": list("aaaabbbb")}
    )
    ours = logrank(df.assign(d=np.where(df.g == "b", 0, df.d)), "t", "d", "g")
    theirs = multivariate_logrank_test(df.t, df.g, np.where(df.g == "b", 0, df.d))
    assert ours.p_value == pytest.approx(theirs.p_value, rel=1e-10)
    assert ours.table.set_index("group").loc["b", "observed"] == 0


def test_group_never_at_risk_at_an_event_is_dropped_like_r():
    # group c is censored before the first death: expected 0, so R drops it from the test
    df = pd.DataFrame(
        {"t": [0.5, 0.6, 1, 2, 3, 4, 5, 6], "d": [0, 0, 1, 1, 0, 1, 1, 0], "g": list("ccaabbab")}
    )
    res = logrank(df, "t", "d", "g")
    assert res.dof == 1
    two = logrank(df[df.g != "c"], "t", "d", "g")
    assert res.statistic == pytest.approx(two.statistic, rel=1e-12)


def test_single_group():
    df = pd.DataFrame({"t": [1, 2, 3], "d": [1, 0, 1], "g": ["a", "a", "a"]})
    with pytest.raises(ValueError, match="'g' has only 1 group"):
        logrank(df, "t", "d", "g")
    tab = screen_factors(df, "t", "d", ["g"])
    assert len(tab) == 1 and np.isnan(tab["p_value"].iloc[0]) and tab["dof"].iloc[0] == 0


def test_level_order_categorical_then_sorted_and_unused_levels_kept():
    df = pd.DataFrame(
        {
            "t": [1, 2, 3, 4, 5, 6],
            "d": [1, 1, 0, 1, 0, 1],
            "c": pd.Categorical(list("yyxxyx"), categories=["y", "x", "z"], ordered=True),
            "s": ["b", "a", "b", "a", "b", "a"],
        }
    )
    tab = screen_factors(df, "t", "d", ["c", "s"])
    assert tab["level"].tolist() == ["y", "x", "z", "a", "b"]
    z = tab[tab["level"] == "z"].iloc[0]
    assert z["n"] == 0 and np.isnan(z["survival_pct"])
    p_two = logrank(df.assign(c=df["c"].astype(str)), "t", "d", "c").p_value
    assert tab.loc[tab["variable"] == "c", "p_value"].iloc[0] == pytest.approx(p_two, rel=1e-12)


def test_screen_on_many_factors_equals_one_at_a_time():
    rng = np.random.default_rng(3)
    n = 2000
    df = pd.DataFrame({"t": np.round(rng.exponential(30, n)), "d": rng.integers(0, 2, n)})
    for j in range(5):
        df[f"f{j}"] = rng.integers(0, 2 + j % 3, n)
    tab = screen_factors(df, "t", "d", [f"f{j}" for j in range(5)])
    for j in range(5):
        p = tab.loc[tab["variable"] == f"f{j}", "p_value"].iloc[0]
        assert p == pytest.approx(logrank(df, "t", "d", f"f{j}").p_value, rel=1e-10)
        sub = df[df[f"f{j}"] == 0]
        km = kaplan_meier(sub, "t", "d")
        row = tab[(tab["variable"] == f"f{j}") & (tab["level"] == "0")].iloc[0]
        assert row["survival_pct"] == pytest.approx(
            100 * km.landmarks["survival"].iloc[0], rel=1e-12
        )
        assert row["median"] == km.median


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------

GOOD = pd.DataFrame(
    {
        "pid": ["p1", "p2", "p3", "p4"],
        "t": [1.0, 2, 3, 4],
        "d": [1, 0, 1, 0],
        "g": ["a", "a", "b", "b"],
    }
)


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"t": [1.0, -2, 3, 4]}, r"'t' must be >= 0.*\['p2'\]"),
        ({"d": [1, 2, 1, 0]}, r"'d' must be coded 1 = event, 0 = censored.*'2'.*\['p2'\]"),
        ({"d": [1, np.nan, 1, 0]}, r"'d' has missing values.*\['p2'\]"),
        ({"t": [1.0, np.nan, 3, np.nan]}, r"'t' has missing values.*\['p2', 'p4'\]"),
        ({"t": ["1", "x", "3", "4"]}, r"'t' must be numeric.*\['p2'\]"),
        ({"t": [1.0, np.inf, 3, 4]}, r"'t' has infinite values.*\['p2'\]"),
    ],
)
def test_bad_input_raises_naming_column_and_rows(change, pattern):
    bad = GOOD.assign(**change)
    for call in (
        lambda: kaplan_meier(bad, "t", "d", id_column="pid"),
        lambda: logrank(bad, "t", "d", "g", id_column="pid"),
        lambda: screen_factors(bad, "t", "d", ["g"], id_column="pid"),
    ):
        with pytest.raises(ValueError, match=pattern):
            call()


def test_missing_group_raises_in_logrank_with_index_labels():
    bad = GOOD.assign(g=["a", None, "b", "b"])
    with pytest.raises(ValueError, match=r"'g' has missing values in rows \(index\) \[1\]"):
        logrank(bad, "t", "d", "g")


def test_other_bad_calls():
    with pytest.raises(ValueError, match="not found"):
        kaplan_meier(GOOD, "time", "d")
    with pytest.raises(ValueError, match="no rows"):
        kaplan_meier(GOOD.iloc[:0], "t", "d")
    with pytest.raises(ValueError, match="conf_type"):
        kaplan_meier(GOOD, "t", "d", conf_type="logit")
    with pytest.raises(ValueError, match="alpha"):
        kaplan_meier(GOOD, "t", "d", alpha=1.5)
    with pytest.raises(ValueError, match="missing must be"):
        screen_factors(GOOD, "t", "d", ["g"], missing="drop")
    bool_event = GOOD.assign(d=[True, False, True, False])
    assert kaplan_meier(bool_event, "t", "d").events == 2


def test_constants_exposed():
    assert survival.CONF_TYPES == ("log", "log-log", "plain")
    assert survival.MEDIAN_CI_METHODS[0] == "symmetric"


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([True, False, True, True]),
        pd.Series([3, -2, 3, 0], dtype=np.int8),
        pd.Series([0, 5, 5, 100]),
        pd.Series([1, None, 2, 1], dtype="Int64"),
        pd.Series([2.5, 1.0, np.nan, 2.5]),
        pd.Series(["b", "a", None, "b"]),
    ],
)
def test_factor_codes_equal_pandas_factorize(values):
    codes, levels = survival.factor_codes(values)
    ref_codes, ref_levels = pd.factorize(values, sort=True)
    np.testing.assert_array_equal(codes, ref_codes)
    assert list(levels) == list(ref_levels)


def test_cutoff_sweep_equals_logrank_per_cutoff():
    df = _data("veteran").assign(karno=pd.DataFrame(REF["data"]["veteran"])["time"] % 97)
    df.loc[3, "karno"] = np.nan
    sweep = dichotomy.cutoff_sweep(df, "time", "event", "karno", [20, 50], landmark=90)
    assert sweep["cutoff"].tolist() == [20.0, 50.0]
    assert (sweep["n_missing"] == 1).all()
    for row in sweep.itertuples():
        sub = df.dropna(subset=["karno"]).assign(g=lambda d, c=row.cutoff: d["karno"] < c)
        assert row.p_value == pytest.approx(logrank(sub, "time", "event", "g").p_value, rel=1e-12)
        assert row.n_below == int((sub["karno"] < row.cutoff).sum())
        assert row.n_below + row.n_at_or_above == len(df) - 1
    with pytest.raises(ValueError, match="cutoffs is empty"):
        dichotomy.cutoff_sweep(df, "time", "event", "karno", [])
    with pytest.raises(ValueError, match="'celltype' must be numeric"):
        dichotomy.cutoff_sweep(df, "time", "event", "celltype", [1])
