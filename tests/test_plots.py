"""Structure tests of helpers.plots (axes, labels, lines, boxes), not pixels."""

from __future__ import annotations

import io
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from helpers import plots, survival  # noqa: E402
from helpers.reproduction import plots as reproduction_plots  # noqa: E402
from helpers.teaching import dichotomy  # noqa: E402


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 80
    return pd.DataFrame(
        {
            "time_months": np.round(rng.exponential(50, n).clip(1, 150)),
            "event": rng.integers(0, 2, n),
            "sex": pd.Categorical(rng.choice(["male", "female"], n), categories=["male", "female"]),
            "site": rng.choice(["trunk_wall", "extremities"], n),
            "grade": rng.choice(["g1", "g2", "g3"], n),
        }
    )


@pytest.fixture()
def flow() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "step": [0, 1, 1, 1, 1, 2, 3],
            "reason": [
                "screened",
                "primary_in_parenchymal_organs",
                "primary_in_mediastinum",
                "primary_in_retroperitoneum",
                "primary_in_head_and_neck",
                "initial_pm_at_another_hospital",
                "analysed",
            ],
            "n_excluded": [0, 13, 1, 9, 3, 3, 0],
            "n_remaining": [95, 82, 81, 72, 69, 66, 66],
        }
    )


@pytest.fixture()
def table3() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variable": ["disease_free_interval", "largest_lung_lesion_size", "curative_resection"],
            "level": ["lt_12_months", "ge_20_mm", "no"],
            "reference": ["ge_12_months", "lt_20_mm", "yes"],
            "hr": [3.544, 3.159, 12.161],
            "ci_low": [1.422, 1.117, 2.011],
            "ci_high": [8.832, 8.930, 74.817],
            "p_value": [0.007, 0.03, 0.007],
        }
    )


def _renders(fig) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getbuffer().nbytes > 1000


def test_import_leaves_global_state_alone():
    code = (
        "import matplotlib as mpl; before = dict(mpl.rcParams); "
        "import helpers.plots; assert dict(mpl.rcParams) == before, 'rcParams changed'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_set_style_changes_rcparams():
    with mpl.rc_context():
        mpl.rcParams["axes.spines.top"] = True
        plots.set_style()
        assert mpl.rcParams["axes.spines.top"] is False
        assert mpl.rcParams["svg.fonttype"] == "none"


def test_plot_km_structure(cohort):
    fig = plots.plot_km(cohort, "time_months", "event", landmark=60)
    assert len(fig.axes) == 2
    ax, ax_risk = fig.axes
    ticks = ax.get_xticks()
    assert ticks[0] == 0 and np.allclose(np.diff(ticks), 12)
    assert "Months" in ax.get_xlabel() and "Survival" in ax.get_ylabel()
    km = survival.kaplan_meier(cohort, "time_months", "event", landmarks=(60,))
    curve = next(line for line in ax.lines if line.get_label() == "Kaplan-Meier estimate")
    np.testing.assert_allclose(curve.get_ydata()[1:], km.table["survival"])
    censor = next(line for line in ax.lines if line.get_label() == "censored")
    assert censor.get_marker() == "|"
    np.testing.assert_allclose(censor.get_xdata(), km.table.loc[km.table["n_censored"] > 0, "time"])
    guides = [line for line in ax.lines if list(line.get_xdata()) == [km.median, km.median]]
    assert len(guides) == 1
    point = next(line for line in ax.lines if line.get_label() == "60-month survival")
    assert point.get_ydata()[0] == pytest.approx(km.landmarks["survival"].iloc[0])
    counts = [int(t.get_text()) for t in ax_risk.texts]
    t = np.sort(cohort["time_months"].to_numpy())
    assert counts == [int(t.size - np.searchsorted(t, tk, side="left")) for tk in ticks]
    assert ax_risk.get_title(loc="left") == "Number at risk"
    summary = " ".join(tx.get_text() for tx in ax.texts)
    assert f"Median: {km.median:.1f} months" in summary
    _renders(fig)


def test_plot_km_without_median(cohort):
    df = cohort.assign(event=0)
    fig = plots.plot_km(df, "time_months", "event")
    ax = fig.axes[0]
    assert "Median: not reached" in " ".join(tx.get_text() for tx in ax.texts)
    assert not any(line.get_linestyle() == "--" for line in ax.lines)


def test_plot_km_panel_structure(cohort):
    factors = ["sex", "site", "grade"]
    tab = survival.screen_factors(cohort, "time_months", "event", factors)
    fig = plots.plot_km_panel(cohort, "time_months", "event", factors, tab, ncols=2)
    assert len(fig.axes) == 3  # the fourth grid cell is removed
    for ax, f in zip(fig.axes, factors, strict=True):
        p = tab.loc[tab["variable"] == f, "p_value"].iloc[0]
        assert ax.get_title().startswith(f) and plots._format_p(p) in ax.get_title()
        curves = [line for line in ax.lines if not line.get_label().startswith("_")]
        assert len(curves) == cohort[f].nunique()
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[0].startswith("male (n=")  # categorical order kept
    with pytest.raises(ValueError, match="no rows for variable"):
        plots.plot_km_panel(cohort, "time_months", "event", ["sex"], tab[tab["variable"] != "sex"])
    _renders(fig)


def test_plot_forest_structure(table3):
    fig = plots.plot_forest(table3)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        "disease_free_interval: lt_12_months vs ge_12_months",
        "largest_lung_lesion_size: ge_20_mm vs lt_20_mm",
        "curative_resection: no vs yes",
    ]
    points = [line for line in ax.lines if line.get_marker() == "s"]
    assert len(points) == 1 and len(points[0].get_xdata()) == 3
    assert any(line.get_xdata()[0] == 1.0 for line in ax.lines if line.get_linestyle() == "--")
    texts = [t.get_text() for t in ax.texts]
    assert "12.16 (2.01-74.82), p = 0.007" in texts
    _renders(fig)


def test_plot_forest_level_labels_and_readable_ticks(table3):
    fig = plots.plot_forest(
        table3,
        labels={
            "disease_free_interval": "Disease-free interval",
            "curative_resection": "Curative resection: No vs Yes",
        },
        level_labels={
            ("disease_free_interval", "lt_12_months"): "<12 months",
            ("disease_free_interval", "ge_12_months"): "≥12 months",
            ("curative_resection", "no"): "No",
            ("curative_resection", "yes"): "Yes",
        },
    )
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "Disease-free interval: <12 months vs ≥12 months"
    assert labels[1] == "largest_lung_lesion_size: ge_20_mm vs lt_20_mm"  # no label given
    assert labels[2] == "Curative resection: No vs Yes"  # the name already says the contrast
    ticks = list(ax.get_xticks())
    assert 1 in ticks and 10 in ticks and 2 in ticks
    _renders(fig)


def test_plot_forest_flags_non_estimable_rows_and_bad_input(table3):
    t = table3.copy()
    t.loc[2, ["hr", "ci_high"]] = [np.inf, np.inf]
    fig = plots.plot_forest(t.drop(columns="reference"))
    ax = fig.axes[0]
    assert "not estimable" in [tx.get_text() for tx in ax.texts]
    assert ax.get_yticklabels()[0].get_text() == "disease_free_interval: lt_12_months"
    with pytest.raises(ValueError, match="lacks column"):
        plots.plot_forest(table3.drop(columns="hr"))


def test_plot_cohort_flow_structure(flow):
    fig = plots.plot_cohort_flow(flow, screened=95)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert len(boxes) == 2 + 2  # screened, analysed, one side box per exclusion step
    texts = [t.get_text() for t in ax.texts]
    assert "Screened\nn = 95" in texts and "Analysed\nn = 66" in texts
    step1 = next(t for t in texts if t.startswith("Excluded, step 1"))
    assert "n = 26" in step1 and "primary in retroperitoneum (n = 9)" in step1
    with pytest.raises(ValueError, match="lacks column"):
        plots.plot_cohort_flow(flow.drop(columns="n_remaining"), screened=95)
    _renders(fig)


def test_plot_calibration_trace_one_line_per_chain_and_kept_chain_labelled():
    trace = pd.DataFrame(
        {
            "iteration": [0, 10, 20] * 3,
            "loss": [100.0, 10.0, 1.0, 90.0, 20.0, 5.0, 80.0, 30.0, 9.0],
            "chain": [0] * 3 + [1] * 3 + [2] * 3,
        }
    )
    fig = reproduction_plots.plot_calibration_trace(trace, kept=1)
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    assert ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["chain 0", "chain 1 (kept)", "chain 2"]


def test_plot_calibration_trace_names_missing_columns():
    with pytest.raises(ValueError, match="loss"):
        reproduction_plots.plot_calibration_trace(pd.DataFrame({"iteration": [0]}))


def test_plot_cutoff_distributions_marks_each_cutoff_and_counts_both_sides():
    from helpers.cohort import FACTOR_SPECS, prepare

    derived = prepare("", dfi_cutoff_months=18).factors
    fig = dichotomy.plot_cutoff_distributions(derived.data, derived.cutoffs)
    cut_specs = [s for s in FACTOR_SPECS if s.rule == "cutoff"]
    assert len(fig.axes) == len(cut_specs) == 4
    for ax, spec in zip(fig.axes, cut_specs, strict=True):
        cut = derived.cutoffs[spec.cutoff]
        lines = [ln for ln in ax.get_lines() if ln.get_xdata()[0] == cut]
        assert lines, f"no line at the cut-off of {spec.name}"
        values = derived.data[spec.source].dropna()
        below = int((values < cut).sum())
        assert f"<{cut:g}: {below}, ≥{cut:g}: {len(values) - below}" in ax.get_title()
        # the split the title counts is the one derive_factors made
        assert below == int(derived.data[spec.name].astype(str).str.startswith("lt_").sum())
    with pytest.raises(ValueError, match="dfi_months"):
        dichotomy.plot_cutoff_distributions(derived.data.drop(columns="dfi_months"), derived.cutoffs)


def test_plot_km_panel_uses_the_labels_of_the_factor_spec():
    from helpers.cohort import prepare

    derived = prepare("").factors
    screen = survival.screen_factors(derived.data, "time_months", "event", ["disease_free_interval"])
    fig = plots.plot_km_panel(
        derived.data, "time_months", "event", ["disease_free_interval"], screen,
        labels={"disease_free_interval": "Disease-free interval"},
        level_labels=derived.spec.set_index(["variable", "level"])["level_label"].to_dict())
    ax = fig.axes[0]
    assert ax.get_title().startswith("Disease-free interval\n")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["<12 months (n=22)", "≥12 months (n=44)"]
