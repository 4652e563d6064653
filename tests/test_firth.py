"""helpers.reproduction.firth: Firth-penalised Cox with fit_cox's inputs and Table 3 layout."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from helpers import cox
from helpers.reproduction.firth import TABLE_COLUMNS, fit_cox_firth


def test_two_patient_analytic_case_is_log_3():
    # L = e^b / (e^b + 1), I = p (1 - p): the penalised score 1.5 - 2p = 0 gives e^b = 3.
    d = pd.DataFrame({"t": [1.0, 2.0], "e": [1, 0], "x": [1.0, 0.0]})
    res = fit_cox_firth(d, "t", "e", ["x"])
    assert res.table["coef"].iloc[0] == pytest.approx(np.log(3), abs=1e-6)
    assert res.table["hr"].iloc[0] == pytest.approx(3.0, abs=1e-5)
    assert res.converged and res.n == 2 and res.events == 1


def _sim(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.binomial(1, 0.4, n)
    death = rng.exponential(np.exp(-0.7 * x))
    censor = rng.exponential(1.5, n)
    return pd.DataFrame({"t": np.minimum(death, censor), "e": (death <= censor).astype(int),
                         "arm": np.where(x == 1, "b", "a")})


def test_agrees_with_the_unpenalised_fit_as_events_grow():
    gaps = []
    for n in (60, 600, 6000):
        d = _sim(n)
        firth = fit_cox_firth(d, "t", "e", ["arm"], categorical={"arm": "a"}).table["coef"].iloc[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cox.CoxWarning)
            ml = cox.fit_cox(d, "t", "e", ["arm"], ties="breslow", categorical={"arm": "a"}).table["coef"].iloc[0]
        gaps.append(abs(firth - ml))
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-3
    # Firth shrinks towards 0 in small samples
    assert gaps[0] > 0


def test_monotone_likelihood_gets_a_finite_estimate():
    # Every patient of level "b" dies before any patient of level "a": the ML estimate is infinite.
    d = pd.DataFrame({"t": np.arange(1.0, 21.0), "e": np.tile([1, 1, 0, 1], 5),
                      "arm": ["b"] * 3 + ["a"] * 17})
    with pytest.warns(cox.CoxWarning, match="infinite"):
        ml = cox.fit_cox(d, "t", "e", ["arm"], ties="breslow", categorical={"arm": "a"})
    assert ml.table["flag"].iloc[0] != ""
    res = fit_cox_firth(d, "t", "e", ["arm"], categorical={"arm": "a"})
    row = res.table.iloc[0]
    assert np.isfinite(row["coef"]) and 0 < row["coef"] < 10
    assert row["ci_low"] < row["hr"] < row["ci_high"] and np.isfinite(row["ci_low"])
    assert 0 < row["p_value"] < 1 and row["method"] == "firth"


def test_same_layout_and_terms_as_fit_cox():
    d = _sim(80, seed=4).assign(age=lambda x: np.linspace(30, 80, len(x)))
    firth = fit_cox_firth(d, "t", "e", ["arm", "age"], categorical={"arm": "a"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cox.CoxWarning)
        ml = cox.fit_cox(d, "t", "e", ["arm", "age"], ties="breslow", categorical={"arm": "a"})
    assert list(firth.table.columns) == list(TABLE_COLUMNS) == [*ml.table.columns, "method"]
    pd.testing.assert_frame_equal(firth.table[["term", "variable", "level", "reference"]],
                                  ml.table[["term", "variable", "level", "reference"]])


def test_penalty_weight_zero_is_fit_cox_breslow():
    # the wrapper's design is fit_cox's: the unpenalised FirthCoxPH fit equals fit_cox (Breslow)
    from firthmodels import FirthCoxPH

    d = _sim(120, seed=7)
    x = (d["arm"] == "b").to_numpy(float)[:, None]
    m = FirthCoxPH(penalty_weight=0.0).fit(x, (d["e"].to_numpy(bool), d["t"].to_numpy()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cox.CoxWarning)
        ml = cox.fit_cox(d, "t", "e", ["arm"], ties="breslow", categorical={"arm": "a"})
    assert m.coef_[0] == pytest.approx(ml.table["coef"].iloc[0], abs=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"ties": "efron"}, ValueError, "breslow"), ({"alpha": 2}, ValueError, "alpha"),
     ({"covariates": ["nope"]}, KeyError, "nope")],
)
def test_bad_input(kwargs, error, match):
    args = {"covariates": ["arm"], "categorical": {"arm": "a"}} | kwargs
    cov = args.pop("covariates")
    with pytest.raises(error, match=match):
        fit_cox_firth(_sim(30), "t", "e", cov, **({"categorical": args.pop("categorical")}
                                                 if "nope" not in cov else {}), **args)


def test_missing_rows_are_counted_and_warned():
    d = _sim(40).astype({"t": float})
    d.loc[[2, 5], "arm"] = None
    with pytest.warns(cox.CoxWarning, match="2 of 40 rows dropped"):
        res = fit_cox_firth(d, "t", "e", ["arm"], categorical={"arm": "a"})
    assert res.n_dropped_missing == 2 and res.n == 38
