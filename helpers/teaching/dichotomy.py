"""What dichotomising a continuous measurement costs (notebooks 01 and 02).

The paper splits age, the disease-free interval and two sizes at round cut-offs. These lessons go
beyond it: where each cut-off falls in the data (:func:`plot_cutoff_distributions`), how the
log-rank p moves with the cut-off (:func:`cutoff_sweep`; the smallest of many p-values is not a
valid p), and how much worse the split fits than smooth forms of the same variable
(:func:`continuous_vs_dichotomy`, :func:`dichotomy_verdict`). Built on the core's estimators.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import patsy
import seaborn as sns
from matplotlib.figure import Figure

from helpers.cohort import FACTOR_SPECS, FactorSpec
from helpers.cox import CoxWarning, fit_cox
from helpers.survival import _require_columns, _row_labels, screen_factors


def plot_cutoff_distributions(data: pd.DataFrame, cutoffs: Mapping[str, float], *,
                              specs: Sequence[FactorSpec] = FACTOR_SPECS,
                              columns: Mapping[str, str] | None = None) -> Figure:
    """Where each cut-off falls: a histogram (seaborn) of every dichotomised continuous factor.

    One panel per ``"cutoff"`` row of ``specs``, the cut-off (``DerivedFactors.cutoffs``) as a
    vertical line and the patients below and at or above it in the title, so that a reader sees
    how much of a continuous measurement a split throws away. ``columns`` maps a dictionary
    column name to ``data``'s where they differ.

    Example
    -------
    >>> from helpers.cohort import prepare
    >>> derived = prepare("").factors
    >>> len(plot_cutoff_distributions(derived.data, derived.cutoffs).axes)
    4
    """
    cut_specs = [s for s in specs if s.rule == "cutoff"]
    columns = dict(columns or {})
    absent = [columns.get(s.source, s.source) for s in cut_specs if columns.get(s.source, s.source) not in data]
    if absent:
        raise ValueError(f"data lacks column(s) {absent} of the dichotomised continuous factors")
    fig = Figure(figsize=(3.2 * len(cut_specs), 2.9), layout="constrained")
    axes = fig.subplots(1, len(cut_specs), squeeze=False)[0]
    for ax, spec in zip(axes, cut_specs, strict=True):
        values = pd.to_numeric(data[columns.get(spec.source, spec.source)], errors="coerce").dropna()
        cut = float(cutoffs[spec.cutoff])
        sns.histplot(x=values, ax=ax, bins=20, color="C0", edgecolor="white")
        ax.axvline(cut, color="C3", lw=1.5, ls="--")
        below = int((values < cut).sum())
        ax.set_title(f"{spec.label}\n<{cut:g}: {below}, ≥{cut:g}: {len(values) - below}", fontsize=9)
        ax.set_xlabel(spec.unit, fontsize=8)
        ax.set_ylabel("patients", fontsize=8)
        ax.tick_params(labelsize=8)
    return fig


def cutoff_sweep(
    df: pd.DataFrame, time: str, event: str, column: str, cutoffs: Sequence[float], *, landmark: float = 60,
    alpha: float = 0.05, conf_type: str = "log-log", id_column: str | None = None,
) -> pd.DataFrame:
    """Dichotomise a numeric column at several cut-offs and log-rank test each split.

    Shows what dichotomising costs: p and survival depend on where the line is drawn, and the
    smallest p over many cut-offs is optimistic (not a valid p for "the best cut-off"). Splits are
    ``value < cut-off`` versus ``>=``, as ``derive_factors`` does; missing values are counted in
    ``n_missing``. Returns per cut-off: ``cutoff, n_below, n_at_or_above, events_below,
    events_at_or_above, survival_below_pct, survival_at_or_above_pct, p_value, n_missing``.

    >>> df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "d": [1, 1, 0, 1, 0, 1], "x": [1, 5, 9, 2, 7, 3]})
    >>> cutoff_sweep(df, "t", "d", "x", [3, 6])[["cutoff", "n_below", "n_at_or_above"]].values.tolist()
    [[3.0, 2.0, 4.0], [6.0, 4.0, 2.0]]
    """
    _require_columns(df, [column])
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna().to_numpy() & df[column].notna().to_numpy()
    if bad.any():
        raise ValueError(f"column {column!r} must be numeric; non-numeric values in {_row_labels(df, bad, id_column)}")
    cutoffs = [float(c) for c in cutoffs]
    if not cutoffs:
        raise ValueError("cutoffs is empty; give at least one cut-off")
    splits = {f"_cut{i}": pd.Categorical(np.where(values.isna(), None, np.where(values < c, "below", "at_or_above")),
                                         categories=["below", "at_or_above"]) for i, c in enumerate(cutoffs)}
    frame = pd.DataFrame(splits, index=df.index)
    for col in [time, event, *([id_column] if id_column else [])]:
        frame[col] = df[col].to_numpy()
    tab = screen_factors(frame, time, event, list(splits), landmark=landmark, alpha=alpha, conf_type=conf_type,
                         id_column=id_column)
    wide = tab.pivot(index="variable", columns="level", values=["n", "events", "survival_pct"]).reindex(list(splits))
    first = tab.groupby("variable", sort=False)[["p_value", "n_missing"]].first().reindex(list(splits))
    out: dict[str, object] = {"cutoff": cutoffs}
    for name, (col, level, kind) in {
        "n_below": ("n", "below", int), "n_at_or_above": ("n", "at_or_above", int),
        "events_below": ("events", "below", int), "events_at_or_above": ("events", "at_or_above", int),
        "survival_below_pct": ("survival_pct", "below", float),
        "survival_at_or_above_pct": ("survival_pct", "at_or_above", float),
    }.items():
        out[name] = wide[(col, level)].to_numpy(dtype=kind)
    out["p_value"] = first["p_value"].to_numpy(dtype=float)
    out["n_missing"] = first["n_missing"].to_numpy(dtype=int)
    return pd.DataFrame(out)


def continuous_vs_dichotomy(data: pd.DataFrame, time: str, event: str, column: str, cutoff: float) -> pd.DataFrame:
    """Cox models of one continuous variable: the dichotomy at ``cutoff`` against smooth forms.

    Four one-variable Cox fits (Breslow ties): ``column >= cutoff``, ``column``, ``log(1 + column)``
    and a cubic B-spline of ``log(1 + column)`` (3 df, patsy ``bs``). Returns ``form, dof,
    lr_statistic, aic``; a lower AIC fits better. ``column`` must be present and >= 0 (rows named).

    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"t": rng.exponential(20, 200), "e": rng.integers(0, 2, 200), "x": rng.gamma(2, 6, 200)})
    >>> continuous_vs_dichotomy(d, "t", "e", "x", 12)["form"].tolist()
    ['dichotomy', 'linear', 'log', 'spline']
    """
    absent = [c for c in (time, event, column) if c not in data.columns]
    if absent:
        raise ValueError(f"continuous_vs_dichotomy: column(s) {absent} expected but not found")
    x = data[column].to_numpy(float)
    bad = np.flatnonzero(~(x >= 0))
    if bad.size:
        raise ValueError(f"{column} must be >= 0 and present; rows at fault: {data.index[bad[:10]].tolist()}")
    basis = np.asarray(patsy.dmatrix("bs(np.log1p(x), df=3) - 1", {"x": x, "np": np}))
    design = pd.DataFrame(basis, columns=["s1", "s2", "s3"], index=data.index).assign(
        d=(x >= cutoff).astype(float), lin=x, log=np.log1p(x),
        time=data[time].to_numpy(float), event=data[event].to_numpy(int),
    )
    rows = []
    for form, cols in (("dichotomy", ["d"]), ("linear", ["lin"]), ("log", ["log"]), ("spline", ["s1", "s2", "s3"])):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CoxWarning)
            fit = fit_cox(design, "time", "event", cols, ties="breslow")
        rows.append((form, len(cols), fit.lr_test.statistic, -2.0 * fit.log_likelihood + 2.0 * len(cols)))
    return pd.DataFrame(rows, columns=["form", "dof", "lr_statistic", "aic"])


def dichotomy_verdict(fits: pd.DataFrame, cutoff: float, unit: str, variable: str = "") -> str:
    """What a split at ``cutoff`` ``unit`` costs, in words, from a :func:`continuous_vs_dichotomy` table.

    >>> fits = pd.DataFrame({"form": ["dichotomy", "linear"], "aic": [103.0, 100.5]})
    >>> dichotomy_verdict(fits, 12, "months", "dfi_months")
    'dfi_months: the linear form fits best among the continuous ones, and the split at 12 months is 2.5 AIC points worse'
    """
    aic = fits.set_index("form")["aic"]
    best = aic.drop("dichotomy").idxmin()
    gap = aic["dichotomy"] - aic[best]
    lead = f"{variable}: " if variable else ""
    return (f"{lead}the {best} form fits best among the continuous ones, and the split at {cutoff:g} {unit} is "
            + (f"{gap:.1f} AIC points worse" if gap > 0 else f"{-gap:.1f} AIC points better"))
