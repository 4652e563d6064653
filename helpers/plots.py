"""Figures: cohort flow diagram, Kaplan-Meier curve with numbers at risk, stratified panel, forest plot.

Every function returns a new :class:`matplotlib.figure.Figure` (no ``pyplot`` state); saving is
:func:`helpers.outputs.save_figure`'s job; only :func:`set_style` changes global settings. Curves
come from :mod:`helpers.survival`, so figures show the tables' numbers; numbers at risk follow R
(time >= t at the tick), not lifelines' ``add_at_risk_counts`` default, hence drawn here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from helpers.display import contrast_label
from helpers.survival import KMSummary, factor_codes, kaplan_meier

#: Reason keys of the flow table's first and last rows (see ``helpers.cohort``).
_FLOW_FRAME_ROWS = ("screened", "analysed")
#: Hazard-ratio ticks of the forest plot's log axis (those inside the data range are shown).
_HR_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)
_ARROW = {"arrowstyle": "-|>", "color": "0.2", "lw": 1.0}


def set_style() -> None:
    """Set the project's matplotlib style (the only function here that changes global state)."""
    mpl.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 200, "savefig.bbox": "tight", "font.size": 10,
        "axes.titlesize": 11, "axes.labelsize": 10, "axes.spines.top": False, "axes.spines.right": False,
        "legend.frameon": False, "svg.fonttype": "none",
    })


def _format_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "p = n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _ticks(t_max: float, every: float) -> np.ndarray:
    return np.arange(0, np.floor(t_max / every) * every + every / 2, every)


def _step_xy(table: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Step coordinates starting at (0, 1)."""
    return np.r_[0.0, table["time"].to_numpy()], np.r_[1.0, table[column].to_numpy()]


def _at_risk(times: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    s = np.sort(times)
    return s.size - np.searchsorted(s, ticks, side="left")


def _draw_km(ax: Axes, km: KMSummary, landmark: float, alpha: float, conf_type: str, show_ci: bool) -> None:
    """The curve, its band, censoring ticks, median guides, the landmark point and a summary box."""
    tab = km.table
    x, y = _step_xy(tab, "survival")
    ax.step(x, y, where="post", color="C0", lw=1.8, label="Kaplan-Meier estimate")
    if show_ci:
        lo, hi = _step_xy(tab, "ci_low")[1], _step_xy(tab, "ci_high")[1]
        # R leaves the band undefined where S is 1 (log-log) or 0; draw it as the curve there
        lo, hi = np.where(np.isnan(lo), y, lo), np.where(np.isnan(hi), y, hi)
        ax.fill_between(x, lo, hi, step="post", color="C0", alpha=0.15, lw=0,
                        label=f"{100 * (1 - alpha):.0f}% CI ({conf_type})")
    cens = tab[tab["n_censored"] > 0]
    ax.plot(cens["time"], cens["survival"], ls="none", marker="|", ms=8, mew=1.2, color="C0", label="censored")
    if np.isfinite(km.median):
        ax.plot([0, km.median], [0.5, 0.5], ls="--", lw=0.9, color="0.4")
        ax.plot([km.median, km.median], [0, 0.5], ls="--", lw=0.9, color="0.4")
    s_lm = float(km.landmarks["survival"].iloc[0])
    if np.isfinite(s_lm):
        ax.plot([landmark], [s_lm], marker="o", color="C3", ls="none", label=f"{landmark:g}-month survival")
    summary = [
        f"Median: {km.median:.1f} months" if np.isfinite(km.median) else "Median: not reached",
        f"{landmark:g}-month survival: " + (f"{100 * s_lm:.0f}%" if np.isfinite(s_lm) else "not estimable"),
        f"n = {km.n}, events = {km.events}",
    ]
    ax.text(0.02, 0.04, "\n".join(summary), transform=ax.transAxes, fontsize=9, va="bottom",
            bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "0.7"})


def plot_km(
    df: pd.DataFrame, time: str, event: str, *, landmark: float = 60, conf_type: str = "log-log", alpha: float = 0.05,
    tick_every: float = 12, time_label: str = "Months after first pulmonary metastasectomy",
    title: str | None = "Survival after pulmonary metastasectomy", show_ci: bool = True,
) -> Figure:
    """The paper's Figure 1: Kaplan-Meier curve with a number-at-risk row under it.

    Censored patients are ticks on the curve; dashed guides mark the median, a point the
    survival at ``landmark``; ``conf_type`` and ``alpha`` set the band
    (:func:`helpers.survival.kaplan_meier`); x ticks and at-risk counts every ``tick_every``.

    >>> df = pd.DataFrame({"t": [5, 12, 20, 33, 40, 61], "d": [1, 0, 1, 1, 0, 0]})
    >>> len(plot_km(df, "t", "d").axes)
    2
    """
    km = kaplan_meier(df, time, event, conf_type=conf_type, alpha=alpha, landmarks=(landmark,))
    t_all = df[time].to_numpy(dtype=float)
    ticks = _ticks(max(float(t_all.max()), landmark), tick_every)
    fig = Figure(figsize=(7.5, 5.2), layout="constrained")
    gs = fig.add_gridspec(2, 1, height_ratios=[5, 1])
    ax = fig.add_subplot(gs[0])
    ax_risk = fig.add_subplot(gs[1], sharex=ax)
    _draw_km(ax, km, landmark, alpha, conf_type, show_ci)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, ticks[-1] + tick_every * 0.25)
    ax.set_xticks(ticks)
    ax.set_ylabel("Survival probability")
    ax.tick_params(labelbottom=True)
    ax.set_xlabel(time_label)
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title)
    for tk, n in zip(ticks, _at_risk(t_all, ticks), strict=True):
        ax_risk.text(tk, 0.5, str(int(n)), ha="center", va="center", fontsize=9)
    ax_risk.set_ylim(0, 1)
    ax_risk.set_yticks([])
    ax_risk.tick_params(axis="x", labelbottom=False, length=0)
    for side in ("top", "right", "bottom", "left"):
        ax_risk.spines[side].set_visible(False)
    ax_risk.set_title("Number at risk", fontsize=9, loc="left")
    return fig


def plot_km_panel(
    df: pd.DataFrame, time: str, event: str, factors: Sequence[str], screen_table: pd.DataFrame, *, ncols: int = 3,
    tick_every: float = 24, labels: Mapping[str, str] | None = None,
    level_labels: Mapping[tuple[str, str], str] | None = None,
) -> Figure:
    """Small multiples: Kaplan-Meier curves by level of each factor, with the log-rank p.

    ``screen_table`` is :func:`helpers.survival.screen_factors` for these factors (the p-values);
    ``labels`` and ``level_labels`` (keyed by ``(factor, level)``, e.g. from ``DerivedFactors.spec``)
    optional display names. One panel per factor, one line per non-empty level.

    >>> from helpers.survival import screen_factors
    >>> df = pd.DataFrame({"t": [5, 12, 20, 33, 40, 61], "d": [1, 0, 1, 1, 0, 0], "g": list("ababab")})
    >>> len(plot_km_panel(df, "t", "d", ["g"], screen_factors(df, "t", "d", ["g"])).axes)
    1
    """
    factors = list(factors)
    if not factors:
        raise ValueError("factors is empty; give at least one factor column")
    missing = [f for f in factors if f not in set(screen_table["variable"])]
    if missing:
        raise ValueError(f"screen_table has no rows for variable(s) {missing}")
    labels, level_labels = dict(labels or {}), dict(level_labels or {})
    nrows, ncol = int(np.ceil(len(factors) / ncols)), min(ncols, len(factors))
    fig = Figure(figsize=(3.6 * ncol, 2.9 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncol, squeeze=False, sharey=True)
    ticks = _ticks(float(df[time].max()), tick_every)
    for ax, f in zip(axes.flat, factors, strict=False):
        codes, levels = factor_codes(df[f])
        for j, level in enumerate(levels):
            sub = df[codes == j]
            if sub.empty:
                continue
            tab = kaplan_meier(sub, time, event, landmarks=()).table
            ax.step(*_step_xy(tab, "survival"), where="post", lw=1.4, color=f"C{j}", label=f"{level_labels.get((f, level), level)} (n={len(sub)})")
            cens = tab[tab["n_censored"] > 0]
            ax.plot(cens["time"], cens["survival"], ls="none", marker="|", ms=5, color=f"C{j}")
        p_value = screen_table.loc[screen_table["variable"] == f, "p_value"].iloc[0]
        ax.set_title(f"{labels.get(f, f)}\nlog-rank {_format_p(p_value)}", fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.set_xticks(ticks)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=7, loc="lower left")
    for ax in list(axes.flat)[len(factors):]:
        fig.delaxes(ax)
    fig.supxlabel("Months", fontsize=9)
    fig.supylabel("Survival probability", fontsize=9)
    return fig


def _forest_labels(tab: pd.DataFrame, labels: Mapping[str, str], level_labels: Mapping) -> list[str]:
    """``variable: level vs reference`` per row (:func:`helpers.display.contrast_label`)."""
    out = []
    for _, r in tab.iterrows():
        ref = r.get("reference") if "reference" in tab.columns else None
        ref = level_labels.get((r["variable"], ref), ref) if isinstance(ref, str) and ref else None
        out.append(contrast_label(labels.get(r["variable"], r["variable"]),
                                  level_labels.get((r["variable"], r["level"]), r["level"]), ref))
    return out


def plot_forest(
    table3: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    level_labels: Mapping[tuple[str, str], str] | None = None,
    title: str | None = "Multivariable Cox model",
) -> Figure:
    """Forest plot of hazard ratios: HR on a log axis with CI bars, reference level named.

    ``table3`` has ``variable, level, hr, ci_low, ci_high, p_value`` (and optionally
    ``reference``), one row per HR, top to bottom; ``labels`` and ``level_labels`` (keyed by
    ``(variable, level)``, e.g. from ``DerivedFactors.spec``) are display names. ``HR (CI), p``
    is written at the right; a row without a finite positive HR and CI says "not estimable".

    >>> t3 = pd.DataFrame({"variable": ["dfi"], "level": ["short"], "hr": [3.4], "ci_low": [1.4],
    ...                    "ci_high": [7.9], "p_value": [0.006], "reference": ["long"]})
    >>> plot_forest(t3).axes[0].get_yticklabels()[0].get_text()
    'dfi: short vs long'
    """
    need = ["variable", "level", "hr", "ci_low", "ci_high", "p_value"]
    absent = [c for c in need if c not in table3.columns]
    if absent:
        raise ValueError(f"table3 lacks column(s) {absent}; expected {need} (+ optional reference)")
    if table3.empty:
        raise ValueError("table3 has no rows to plot")
    tab = table3.reset_index(drop=True)
    hr, lo, hi = (tab[c].to_numpy(dtype=float) for c in ("hr", "ci_low", "ci_high"))
    ok = (tab[["hr", "ci_low", "ci_high"]].gt(0).all(axis=1).to_numpy()
          & np.isfinite(np.c_[hr, lo, hi]).all(axis=1))
    y = np.arange(len(tab))[::-1].astype(float)
    fig = Figure(figsize=(8, 0.55 * len(tab) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    ax.errorbar(hr[ok], y[ok], xerr=[hr[ok] - lo[ok], hi[ok] - hr[ok]], fmt="s", color="C0", ecolor="C0",
                capsize=3, ms=6)
    ax.axvline(1.0, color="0.5", lw=0.9, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(y, _forest_labels(tab, dict(labels or {}), dict(level_labels or {})))
    ax.set_ylim(-0.7, len(tab) - 0.3)
    finite = np.r_[lo[ok], hi[ok], 1.0]
    ax.set_xlim(finite.min() / 1.6, finite.max() * 1.6)
    ax.xaxis.set_major_locator(FixedLocator([t for t in _HR_TICKS if finite.min() / 1.6 <= t <= finite.max() * 1.6]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    for yy, r, good in zip(y, tab.itertuples(), ok, strict=True):
        txt = f"{r.hr:.2f} ({r.ci_low:.2f}-{r.ci_high:.2f}), {_format_p(r.p_value)}" if good else "not estimable"
        ax.text(1.02, yy, txt, transform=ax.get_yaxis_transform(), va="center", fontsize=8)
    ax.text(1.02, len(tab) - 0.45, "HR (95% CI), p", transform=ax.get_yaxis_transform(), fontsize=8,
            fontweight="bold")
    ax.set_xlabel("Hazard ratio (log scale)")
    if title:
        ax.set_title(title)
    return fig


def _box(ax: Axes, x: float, y: float, w: float, h: float, text: str) -> None:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                fc="white", ec="0.2", lw=1.0))
    ax.text(x, y, text, ha="center", va="center", fontsize=9, wrap=True)


def plot_cohort_flow(flow: pd.DataFrame, *, screened: int, labels: Mapping[str, str] | None = None) -> Figure:
    """CONSORT-style flow diagram: screened -> one side box per exclusion step -> analysed.

    ``flow`` is ``CohortResult.flow`` (``step, reason, n_excluded, n_remaining``): rows other
    than ``screened`` and ``analysed`` are exclusion reasons, one side box per ``step``;
    ``labels`` optional display text per reason key (default: the key with spaces).

    >>> from helpers.cohort import prepare
    >>> result = prepare("").cohort
    >>> len(plot_cohort_flow(result.flow, screened=result.screened).axes[0].patches)
    4
    """
    need = ["step", "reason", "n_excluded", "n_remaining"]
    absent = [c for c in need if c not in flow.columns]
    if absent:
        raise ValueError(f"flow lacks column(s) {absent}; expected {need}")
    labels = dict(labels or {})
    excl = flow[~flow["reason"].isin(_FLOW_FRAME_ROWS)]
    analysed = int(flow["n_remaining"].iloc[-1]) if len(flow) else int(screened)
    steps = list(dict.fromkeys(excl["step"].tolist()))
    height = 1.3 * (len(steps) + 2) + 0.4
    fig = Figure(figsize=(8, height), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, height)
    ax.axis("off")
    top, bottom = height - 0.7, 0.7
    _box(ax, 2.6, top, 4.2, 0.8, f"Screened\nn = {int(screened)}")
    _box(ax, 2.6, bottom, 4.2, 0.8, f"Analysed\nn = {analysed}")
    ax.annotate("", xy=(2.6, bottom + 0.4), xytext=(2.6, top - 0.4), arrowprops=_ARROW)
    for yy, step in zip(np.linspace(top, bottom, len(steps) + 2)[1:-1], steps, strict=True):
        rows = excl[excl["step"] == step]
        lines = [f"{labels.get(r, str(r).replace('_', ' '))} (n = {int(n)})"
                 for r, n in zip(rows["reason"], rows["n_excluded"], strict=True)]
        text = f"Excluded, step {step}: n = {int(rows['n_excluded'].sum())}\n" + "\n".join(lines)
        _box(ax, 7.2, yy, 5.2, 0.3 + 0.22 * (len(lines) + 1), text)
        ax.annotate("", xy=(4.6, yy), xytext=(2.6, yy), arrowprops=_ARROW)
        ax.text(2.7, yy - 0.25, f"{int(rows['n_remaining'].iloc[-1])} remain", fontsize=8, color="0.3", va="top")
    return fig
