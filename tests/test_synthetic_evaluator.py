"""The vectorised evaluator of the calibration equals the core estimators.

The evaluator (``helpers.reproduction.synthetic.evaluator``) is an accelerated path: every
statistic it returns is checked here against the teaching core (``helpers.survival.kaplan_meier``,
``helpers.survival.logrank``, ``helpers.cox.fit_cox`` with Breslow ties,
``helpers.cox.test_proportional_hazards``) on the shipped registry and on perturbed draws of it.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from helpers import survival
from helpers.cox import fit_cox, test_proportional_hazards
from helpers.reproduction import synthetic
from helpers.reproduction.synthetic.evaluator import VectorisedEvaluator

LANDMARK = 60.0


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    cohort = synthetic.analysed_cohort(pd.read_csv(synthetic.REGISTRY_PATH))
    groups = synthetic.factor_design(cohort)
    cox = synthetic.cox_design(groups)
    return pd.concat([cohort[["time_months", "event"]], groups.add_prefix("g_"), cox.add_prefix("x_")], axis=1)


def _draws(shipped: pd.DataFrame) -> list[pd.DataFrame]:
    """The shipped cohort and perturbed draws: jittered times, flipped events, forced ties."""
    out = [shipped]
    for seed in (1, 2, 3):
        rng = np.random.default_rng(seed)
        d = shipped.copy()
        d["time_months"] = np.round(d["time_months"] * rng.uniform(0.6, 1.4, len(d)), 1)
        flip = rng.random(len(d)) < 0.15
        d.loc[flip, "event"] = 1 - d.loc[flip, "event"]
        d.loc[d.index[:5], "time_months"] = d["time_months"].iloc[5:10].to_numpy()  # ties
        out.append(d)
    return out


def _evaluate(d: pd.DataFrame) -> tuple[VectorisedEvaluator, synthetic.CohortStatistics]:
    g = d.filter(like="g_").to_numpy(float)
    x = d.filter(like="x_").to_numpy(float)
    ev = VectorisedEvaluator(g, x, landmark=LANDMARK)
    return ev, ev.evaluate(d["time_months"].to_numpy(float), d["event"].to_numpy(int))


def _km_at(d: pd.DataFrame) -> float:
    lm = survival.kaplan_meier(d, "time_months", "event", landmarks=(LANDMARK,)).landmarks
    return float(lm["survival"].iloc[0])


@pytest.mark.parametrize("draw", range(4))
def test_landmark_rates_and_logrank_equal_the_core(shipped: pd.DataFrame, draw: int) -> None:
    d = _draws(shipped)[draw]
    _, s = _evaluate(d)
    for k, column in enumerate(d.filter(like="g_").columns):
        first = d[column].eq(1)
        for rate, rows in ((s.rate_first[k], d[first]), (s.rate_second[k], d[~first])):
            core = _km_at(rows)
            if math.isnan(core):  # nobody followed to the landmark: the core says "undefined"
                continue
            assert rate == pytest.approx(core, abs=1e-12), column
        lr = survival.logrank(d.assign(group=first), "time_months", "event", "group")
        assert s.chi2[k] == pytest.approx(lr.statistic, rel=1e-10, abs=1e-12), column
        assert s.p_value[k] == pytest.approx(lr.p_value, rel=1e-9, abs=1e-12), column
    assert s.overall_rate == pytest.approx(_km_at(d), abs=1e-12)


@pytest.mark.parametrize("draw", range(4))
def test_median_and_its_spss_se_equal_the_core(shipped: pd.DataFrame, draw: int) -> None:
    d = _draws(shipped)[draw]
    _, s = _evaluate(d)
    km = survival.kaplan_meier(d, "time_months", "event")
    if math.isnan(km.median):
        assert math.isinf(s.median)
        return
    assert s.median == pytest.approx(km.median, abs=1e-12)
    assert s.median_se == pytest.approx(km.median_se, rel=1e-12)


@pytest.mark.parametrize("draw", range(4))
def test_cox_and_ph_test_equal_the_core(shipped: pd.DataFrame, draw: int) -> None:
    d = _draws(shipped)[draw]
    ev, s = _evaluate(d)
    terms = list(d.filter(like="x_").columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the events-per-parameter caveat is not what is tested
        fit = fit_cox(d, "time_months", "event", terms, ties="breslow")
    table = fit.table.set_index("term").loc[terms]
    assert s.cox_converged
    np.testing.assert_allclose(s.beta, table["coef"].to_numpy(), atol=1e-7)
    np.testing.assert_allclose(s.beta_se, table["se"].to_numpy(), rtol=1e-6)
    glob, each = ev.ph_test(s)
    zph = test_proportional_hazards(fit, "km").set_index("term")["p_value"]
    assert glob == pytest.approx(zph["GLOBAL"], rel=1e-6)
    np.testing.assert_allclose(each, zph.loc[terms].to_numpy(), rtol=1e-6)


def test_follow_up_and_deaths_equal_plain_pandas(shipped: pd.DataFrame) -> None:
    _, s = _evaluate(shipped)
    assert s.follow_up_median == pytest.approx(float(shipped["time_months"].median()))
    assert s.n_deaths == int(shipped["event"].sum())
