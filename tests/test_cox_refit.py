"""The lean refit path: ``prepare_cox(...).refit(rows, terms=...)`` equals ``fit_cox`` on the same
rows and covariates (to 1e-12, flags and warnings included)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import cox
from helpers.reproduction import refit


@pytest.fixture(scope="module")
def candidates():
    from helpers import cohort, schema

    registry = schema.load_registry(Path(__file__).parents[1] / "data" / "registry.csv")
    derived = cohort.derive_factors(schema.add_survival_columns(cohort.assemble_cohort(registry).analysed))
    return derived.data.reset_index(drop=True), derived.factors, {f: derived.reference(f) for f in derived.factors}


def _full(df, covs, ties, refs, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cox.CoxWarning)
        return cox.fit_cox(df, "t" if "t" in df else "time_months", "e" if "e" in df else "event", covs,
                           ties=ties, categorical={c: refs[c] for c in covs if c in refs}, **kw)


def _assert_same(lean: refit.CoxRefit, full: cox.CoxResult) -> None:
    """Equal to 1e-12 on the terms fit_cox has (a level absent from the rows is NA only in the refit)."""
    where = [lean.terms.index(t) for t in full.table["term"]]
    absent = np.setdiff1d(np.arange(len(lean.terms)), where)
    assert np.isnan(lean.coef[absent]).all()
    for col in ("coef", "se", "z", "p_value"):
        np.testing.assert_allclose(getattr(lean, col)[where], full.table[col], rtol=1e-12, atol=1e-300)
    assert tuple(np.asarray(lean.flags)[where]) == tuple(full.table["flag"])
    assert lean.log_likelihood == pytest.approx(full.log_likelihood, rel=1e-12)
    assert lean.log_likelihood_null == pytest.approx(full.log_likelihood_null, rel=1e-12)
    assert lean.lr_test.dof == full.lr_test.dof
    assert lean.lr_test.statistic == pytest.approx(full.lr_test.statistic, rel=1e-12, abs=1e-12)
    assert lean.concordance == pytest.approx(full.concordance, rel=1e-12)
    assert (lean.n, lean.events, lean.converged) == (full.n, full.events, full.converged)
    if len(absent) == 0:
        assert lean.warnings == full.warnings


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_column_subset_refit_equals_fit_cox(candidates, ties):
    data, factors, refs = candidates
    design = refit.prepare_cox(data, "time_months", "event", factors, ties=ties, categorical=refs)
    rng = np.random.default_rng(12)
    checked = 0
    for _ in range(40):
        rows = rng.integers(0, len(data), len(data))
        terms = list(rng.choice(factors, size=rng.integers(1, 7), replace=False))
        try:
            full = _full(data.iloc[rows], terms, ties, refs)
        except ValueError:
            continue  # a factor with one level in this resample: fit_cox refuses (as R); refit gives NA
        _assert_same(design.refit(rows, terms=terms), full)
        checked += 1
    assert checked >= 25


def test_terms_order_is_kept_and_all_terms_is_the_default(candidates):
    data, factors, refs = candidates
    first = {f: refs[f] for f in factors[:4]}
    design = refit.prepare_cox(data, "time_months", "event", factors[:4], ties="breslow", categorical=first)
    swapped = design.refit(terms=[factors[2], factors[0]])
    assert swapped.terms == tuple(design.term_groups[factors[2]] + design.term_groups[factors[0]])
    assert design.refit().terms == tuple(design.design.columns)
    _assert_same(design.refit(), _full(data, factors[:4], "breslow", refs))


MISSING = pd.DataFrame({
    "t": [5, 8, 2, 9, 4, 7, 3, 6, 1, 10, 11, 2.5, 6.5, 8.5, 12, 4.5, 7.5, 9.5, 3.5, 5.5],
    "e": [1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0],
    "g": ["a", "b", "c", "a", None, "b", "c", "a", "b", "c", "a", "b", "c", "a", "b", "c", "a", None, "c", "a"],
    "x": [0.5, 1.2, np.nan, 2.0, 1.1, 0.3, 0.8, 1.7, 2.2, np.nan, 0.9, 1.4, 0.2, 1.8, 0.6, 1.0, 2.4, 0.7, 1.3, 1.6],
    "z": [1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0],
}, index=[f"p{i:02d}" for i in range(20)])


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_missing_values_leave_out_rows_only_for_the_terms_fitted(ties):
    design = refit.prepare_cox(MISSING, "t", "e", ["g", "x", "z"], ties=ties, categorical={"g": "a"})
    assert design.n_dropped_missing == 0 and len(design.time) == 20
    refs = {"g": "a"}
    for terms in (["z"], ["g", "z"], ["x"], ["z", "x", "g"]):
        lean = design.refit(terms=terms)
        full = _full(MISSING, terms, ties, refs)
        _assert_same(lean, full)
        assert lean.n_dropped_missing == full.n_dropped_missing
    rows = np.r_[0:20, 1, 2, 4]  # repeats: a bootstrap-like sample
    _assert_same(design.refit(rows, terms=["x", "g"]), _full(MISSING.iloc[rows], ["x", "g"], ties, refs))


def test_missing_time_is_dropped_when_the_design_is_built():
    d = MISSING.copy()
    d.loc["p03", "t"] = np.nan
    with pytest.warns(cox.CoxWarning, match=r"1 of 20 rows dropped .* t \(1: rows \[p03\]\)"):
        design = refit.prepare_cox(d, "t", "e", ["z"])
    assert design.n_dropped_missing == 1 and len(design.time) == 19


def test_a_level_absent_from_the_rows_is_na_and_flagged():
    design = refit.prepare_cox(MISSING, "t", "e", ["g", "z"], ties="breslow", categorical={"g": "a"})
    rows = np.flatnonzero(MISSING["g"].isin(["a", "b"]).to_numpy())
    res = design.refit(rows, terms=["g"])
    assert np.isnan(res.coef[res.terms.index("g[c]")]) and np.isnan(res.p_value[res.terms.index("g[c]")])
    assert "aliased" in res.flags[res.terms.index("g[c]")]
    assert any("'g[c]' (takes a single value" in w for w in res.warnings)
    assert res.lr_test.dof == 1


def test_bad_terms_are_clear_errors():
    design = refit.prepare_cox(MISSING, "t", "e", ["g", "z"], categorical={"g": "a"})
    with pytest.raises(KeyError, match=r"'g\[b\]' is a level of factor 'g': name the factor"):
        design.refit(terms=["g[b]"])
    with pytest.raises(KeyError, match=r"\['w'\] are not covariates"):
        design.refit(terms=["w"])
    with pytest.raises(ValueError, match="terms is empty"):
        design.refit(terms=[])
    with pytest.raises(ValueError, match="more than once"):
        design.refit(terms=["z", "z"])
    with pytest.raises(ValueError, match="no events"):
        design.refit(np.flatnonzero(MISSING["e"].to_numpy() == 0))


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_from_arrays_equals_fit_cox(ties):
    rng = np.random.default_rng(3)
    d = pd.DataFrame({"t": rng.exponential(5, 50).round(1), "e": rng.integers(0, 2, 50),
                      "lp": rng.normal(size=50), "w": rng.normal(size=50)})
    design = refit.CoxDesign.from_arrays(d["t"], d["e"], d[["lp", "w"]].to_numpy(), ["lp", "w"], ties=ties)
    _assert_same(design.refit(terms=["lp"]), _full(d, ["lp"], ties, {}))
    _assert_same(design.refit(), _full(d, ["lp", "w"], ties, {}))
    assert refit.CoxDesign.from_arrays(d["t"], d["e"], d["lp"]).refit().terms == ("x0",)
    with pytest.raises(ValueError, match="non-negative"):
        refit.CoxDesign.from_arrays(-d["t"], d["e"], d["lp"])
    with pytest.raises(ValueError, match="same rows"):
        refit.CoxDesign.from_arrays(d["t"], d["e"], d["lp"][:10])


def test_concordance_index_equals_the_fit_concordance():
    rng = np.random.default_rng(5)
    d = pd.DataFrame({"t": rng.exponential(5, 60).round(0), "e": rng.integers(0, 2, 60), "x": rng.normal(size=60)})
    res = _full(d, ["x"], "efron", {})
    assert refit.concordance_index(d["t"], d["e"], d["x"] * res.table["coef"].iloc[0]) == pytest.approx(
        res.concordance, rel=1e-12)
    with pytest.raises(ValueError, match="one finite value per row"):
        refit.concordance_index(d["t"], d["e"], d["x"][:5])


@pytest.mark.parametrize("timefix", [True, False])
def test_refits_merge_near_equal_times_as_fit_cox(timefix):
    near = pd.DataFrame({"t": [0.1 + 0.2, 0.3, 0.3, 0.7, 0.7 + 1e-12, 1.1, 1.5, 2.0, 0.9, 1.2],
                         "e": [1, 1, 0, 1, 1, 0, 1, 0, 1, 1], "x": [1, 0, 1, 0, 1, 1, 0, 0, 2, 1]})
    design = refit.prepare_cox(near, "t", "e", ["x"], ties="efron", timefix=timefix)
    for rows in (np.arange(10), np.r_[0, 1, 1, 3, 4, 6, 8, 9, 9]):
        _assert_same(design.refit(rows), _full(near.iloc[rows], ["x"], "efron", {}, timefix=timefix))


def test_small_breslow_sums_equal_the_general_risk_set_sums(candidates, monkeypatch):
    """The one-matrix-product path of small Breslow fits gives the general path's numbers."""
    data, factors, refs = candidates
    covs = factors[:6]
    rng = np.random.default_rng(4)
    rows = [rng.integers(0, len(data), len(data)) for _ in range(10)]
    design = refit.prepare_cox(data, "time_months", "event", covs, ties="breslow",
                             categorical={c: refs[c] for c in covs})
    small = [design.refit(r) for r in rows]
    monkeypatch.setattr(cox, "_SMALL_CELLS", 0)
    for r, a in zip(rows, small, strict=True):
        b = design.refit(r)
        np.testing.assert_allclose(a.coef, b.coef, rtol=1e-10, atol=1e-12)
        assert a.flags == b.flags and a.log_likelihood == pytest.approx(b.log_likelihood, rel=1e-12)
