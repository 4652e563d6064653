"""Figures of the lessons: scaled Schoenfeld residuals against time."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from statsmodels.nonparametric.smoothers_lowess import lowess


def plot_schoenfeld(residuals: pd.DataFrame, coefficients: Mapping[str, float], *,
                    labels: Mapping[str, str] | None = None, p_values: Mapping[str, float] | None = None,
                    ncols: int = 3) -> Figure:
    """One panel per term: scaled Schoenfeld residuals against time, a lowess smooth and the coefficient.

    ``residuals`` is :func:`helpers.teaching.stats.schoenfeld_residuals`; ``coefficients`` the
    fitted log hazard ratios (the dashed line: where the smooth stays under proportional
    hazards); ``p_values`` the per-term test (:func:`helpers.cox.test_proportional_hazards`), shown
    in the titles. The y axis is the log hazard ratio, the x axis R's ``cox.zph`` time scale.

    >>> r = pd.DataFrame({"time": [1.0, 2, 3, 4], "transformed_time": [0.1, 0.3, 0.5, 0.7], "x": [0.2, -0.1, 0.4, 0.0]})
    >>> len(plot_schoenfeld(r, {"x": 0.1}).axes)
    1
    """
    terms = [c for c in residuals.columns if c not in ("time", "transformed_time")]
    if not terms:
        raise ValueError("residuals has no term columns besides 'time' and 'transformed_time'")
    labels, p_values = dict(labels or {}), dict(p_values or {})
    ncols = min(ncols, len(terms))
    nrows = -(-len(terms) // ncols)
    fig = Figure(figsize=(3.6 * ncols, 2.9 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    x = residuals["time"].to_numpy(float)
    for ax, term in zip(axes, terms, strict=False):
        y = residuals[term].to_numpy(float)
        ax.scatter(x, y, s=10, color="C0", alpha=0.6)
        smooth = lowess(y, x, frac=2 / 3, return_sorted=True)
        ax.plot(smooth[:, 0], smooth[:, 1], color="C3", lw=1.8, label="lowess smooth")
        ax.axhline(coefficients[term], color="0.3", ls="--", lw=1, label="fitted log HR")
        ax.axhline(0.0, color="0.7", lw=0.8)
        title = labels.get(term, term)
        if term in p_values:
            title += f"\nPH test p = {p_values[term]:.3f}"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("Months after first PM", fontsize=8)
        ax.set_ylabel("log hazard ratio", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in axes[len(terms):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, loc="best")
    return fig
