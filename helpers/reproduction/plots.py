"""Figures of the reproduction toolkit: calibration trace, bootstrap validation, outcome model.

Notebooks 05 and 06 draw them; the teaching figures are in :mod:`helpers.plots`, whose
:func:`~helpers.plots.set_style` is re-exported here so those notebooks need one plots module.
Every function returns a new :class:`matplotlib.figure.Figure` (no ``pyplot`` state).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from helpers.plots import set_style

__all__ = ["plot_calibration_trace", "plot_effect_curves", "plot_model_hazard_ratios", "plot_validation", "set_style"]


def plot_calibration_trace(
    trace: pd.DataFrame,
    *,
    iteration: str = "iteration",
    loss: str = "loss",
    chain: str = "chain",
    kept: int | None = None,
    title: str = "Calibration of the synthetic registry",
) -> Figure:
    """Loss of each annealing chain against the iteration, on a log scale.

    Parameters
    ----------
    trace
        One row per recorded iteration and chain (``helpers.reproduction.synthetic.CalibrationResult.trace``
        or the ``calibration.trace`` of ``data/registry_provenance.json``).
    iteration, loss, chain
        Column names. ``chain`` may be absent (one chain).
    kept
        The chain whose result was kept: drawn darker and labelled, the others in grey.
    title
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one line per chain.

    Example
    -------
    >>> fig = plot_calibration_trace(pd.DataFrame({"iteration": [0, 1], "loss": [10.0, 1.0]}))
    >>> len(fig.axes[0].lines)
    1
    """
    absent = [c for c in (iteration, loss) if c not in trace.columns]
    if absent:
        raise ValueError(f"trace lacks column(s) {absent}")
    fig = Figure(figsize=(6.5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    parts = list(trace.groupby(chain, sort=True)) if chain in trace.columns else [(0, trace)]
    for k, part in parts:
        is_kept = kept is not None and int(k) == int(kept)
        ax.plot(
            part[iteration],
            part[loss],
            lw=1.6 if is_kept else 0.9,
            color="C0" if is_kept or kept is None else "0.65",
            label=f"chain {k} (kept)" if is_kept else f"chain {k}",
            zorder=3 if is_kept else 2,
        )
    ax.set_yscale("log")
    ax.set(xlabel="iteration of the chain", ylabel="loss (log scale)", title=title)
    ax.legend(fontsize=8, ncols=2 if len(parts) > 4 else 1)
    return fig


def plot_validation(
    validation: pd.DataFrame,
    selection: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    title: str = "Bootstrap validation",
) -> Figure:
    """Apparent vs optimism-corrected measures per strategy, and how often each factor is chosen.

    Parameters
    ----------
    validation
        ``strategy, measure, apparent, corrected, ci_low, ci_high`` (rows of
        ``helpers.reproduction.validation.ValidationResult.table`` with a ``strategy`` column); the panel
        shows ``c_index`` and ``calibration_slope``.
    selection
        ``variable, selected_pct``.
    labels
        Variable -> readable label.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Example
    -------
    >>> v = pd.DataFrame({"strategy": ["a", "a"], "measure": ["c_index", "calibration_slope"],
    ...                   "apparent": [0.8, 1.0], "corrected": [0.75, 0.7], "ci_low": [0.7, 0.6],
    ...                   "ci_high": [0.8, 0.8]})
    >>> fig = plot_validation(v, pd.DataFrame({"variable": ["x"], "selected_pct": [50.0]}))
    >>> len(fig.axes)
    3
    """
    labels = dict(labels or {})
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    grid = fig.add_gridspec(1, 3, width_ratios=[1, 1, 1.6])
    strategies = list(dict.fromkeys(validation["strategy"]))
    for k, (measure, name, ref) in enumerate([("c_index", "Harrell's C", 0.5), ("calibration_slope", "calibration slope", 1.0)]):
        ax = fig.add_subplot(grid[0, k])
        rows = validation[validation["measure"] == measure].set_index("strategy").reindex(strategies)
        y = np.arange(len(strategies))
        app, cor, lo, hi = (rows[c].to_numpy(float) for c in ("apparent", "corrected", "ci_low", "ci_high"))
        ax.scatter(app, y + 0.12, marker="o", facecolor="white", edgecolor="0.3", label="apparent", zorder=3)
        ax.errorbar(cor, y - 0.12, xerr=np.nan_to_num([cor - lo, hi - cor]),
                    fmt="s", color="C0", capsize=3, label="optimism-corrected (approx. CI)")
        ax.axvline(ref, color="0.6", lw=0.8, ls="--")
        ax.set_yticks(y, strategies)
        ax.set_ylim(-0.7, len(strategies) - 0.3)
        ax.invert_yaxis()
        ax.set_xlabel(name)
        if k == 0:
            ax.legend(loc="lower left", bbox_to_anchor=(0, 1.02), fontsize="small", frameon=False)
    ax = fig.add_subplot(grid[0, 2])
    sel = selection.sort_values("selected_pct")
    ax.barh([labels.get(v, v) for v in sel["variable"]], sel["selected_pct"], color="C0")
    ax.set_xlim(0, 100)
    ax.set_xlabel("selected in % of resamples")
    ax.tick_params(axis="y", labelsize="small")
    fig.suptitle(title)
    return fig


def plot_effect_curves(curves: pd.DataFrame, *, title: str = "Smooth effects of the outcome model") -> Figure:
    """Hazard ratio along each continuous variable, with the paper's cut-off marked.

    Parameters
    ----------
    curves
        ``variable, value, hazard_ratio, cutoff, unit`` (``helpers.reproduction.realism.effect_curves``).
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per variable; hazard ratio on a log axis, 1 at the variable's reference.

    Example
    -------
    >>> from helpers.reproduction.realism import OutcomeModel, effect_curves
    >>> len(plot_effect_curves(effect_curves(OutcomeModel(), points=5)).axes)
    4
    """
    absent = [c for c in ("variable", "value", "hazard_ratio", "cutoff", "unit") if c not in curves.columns]
    if absent:
        raise ValueError(f"curves lack column(s) {absent}")
    parts = list(curves.groupby("variable", sort=False))
    fig = Figure(figsize=(3.2 * len(parts), 3.2), layout="constrained")
    for k, (var, part) in enumerate(parts):
        ax = fig.add_subplot(1, len(parts), k + 1)
        ax.plot(part["value"], part["hazard_ratio"], color="C0", lw=1.8)
        ax.axhline(1.0, color="0.6", lw=0.8, ls="--")
        ax.axvline(float(part["cutoff"].iloc[0]), color="C3", lw=0.9, ls=":", label="paper's cut-off")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set(xlabel=f"{var} ({part['unit'].iloc[0]})", ylabel="hazard ratio" if k == 0 else "")
        if k == 0:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    return fig


def plot_model_hazard_ratios(
    table: pd.DataFrame, *, title: str = "Hazard ratios of the outcome model"
) -> Figure:
    """Dot plot of the outcome model's hazard ratio per unit of each effect (log axis).

    Parameters
    ----------
    table
        ``unit, hazard_ratio`` (``helpers.reproduction.realism.model_hazard_ratios``).
    title
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Example
    -------
    >>> from helpers.reproduction.realism import OutcomeModel, model_hazard_ratios
    >>> len(plot_model_hazard_ratios(model_hazard_ratios(OutcomeModel())).axes)
    1
    """
    absent = [c for c in ("unit", "hazard_ratio") if c not in table.columns]
    if absent:
        raise ValueError(f"table lacks column(s) {absent}")
    fig = Figure(figsize=(6.0, 0.45 * len(table) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(table))[::-1]
    ax.scatter(table["hazard_ratio"], y, color="C0", zorder=3)
    ax.hlines(y, 1.0, table["hazard_ratio"], color="C0", lw=1.2)
    ax.axvline(1.0, color="0.5", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_yticks(y, table["unit"])
    for yi, hr in zip(y, table["hazard_ratio"], strict=True):
        ax.annotate(f"{hr:.2f}", (hr, yi), xytext=(5, 4), textcoords="offset points", fontsize=8)
    ax.set(xlabel="hazard ratio of sarcoma death (log scale)", title=title)
    return fig
