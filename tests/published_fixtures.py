"""Shared fixtures of the published-numbers tests: the paper and a run that reproduces it."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.reproduction import published as P
from helpers.reproduction.scorecard import PUBLISHED_KEYS, published_number


@pytest.fixture(scope="module")
def paper() -> dict:
    return P.load_published()


def perfect_run(paper: dict) -> dict[str, pd.DataFrame]:
    """Run tables that reproduce every printed number (p-values strictly inside their rules)."""
    t1 = P.published_table1(paper)[P.TABLE1_COLUMNS].copy()
    t1.loc[(t1["variable"] == "resection_status") & (t1["level"] == "r0"), "percent"] = 95.45
    t2 = P.published_table2(paper)[["variable", "level", "n", "survival_pct", "p_value"]].copy()
    t2.loc[t2["level"] == "partial", "n"] = 54
    t2.loc[P.published_table2(paper)["p_value_operator"] == "<", "p_value"] = 0.0002
    t3 = P.published_table3(paper)[["variable", "level", "hr", "ci_low", "ci_high", "p_value"]]
    km = pd.DataFrame(
        [
            {
                "n": 66,
                "events": 31,
                "median_months": 48.0,
                "median_ci_low": 29.4,
                "median_ci_high": 66.6,
                "median_ci_method": "symmetric",
                "survival_5y_pct": 45.2,
                "survival_5y_ci_low": 32.0,
                "survival_5y_ci_high": 57.0,
                "median_followup_months": 28.0,
                "median_followup_method": "observed",
            }
        ]
    )
    return {"table1": t1, "table2": t2, "table3": t3.copy(), "km_overall": km,
            "perioperative": perfect_perioperative(paper), "cohort_flow": perfect_flow(paper)}


def perfect_flow(paper: dict) -> pd.DataFrame:
    """tables/cohort_flow.csv as notebook 01 writes it, with the paper's counts."""
    flow = paper["cohort_flow"]
    rows = [(0, "screened", 0, flow["screened_n"])]
    left = flow["screened_n"]
    for x in flow["exclusions"]:
        left -= x["n"]
        step = 2 if x["reason"] == "initial_pm_at_another_hospital" else 1
        rows.append((step, x["reason"], x["n"], left))
    rows.append((3, "analysed", 0, left))
    return pd.DataFrame(rows, columns=["step", "reason", "n_excluded", "n_remaining"])


def perfect_perioperative(paper: dict) -> pd.DataFrame:
    """A section 3.2 table holding every reproducible printed number."""
    cells: dict[tuple[str, str], dict[str, object]] = {}
    for key, (variable, level, column) in PUBLISHED_KEYS.items():
        cells.setdefault((variable, level), {})[column] = published_number(
            key, paper["perioperative"])
    return pd.DataFrame(
        [{"variable": v, "level": lv, **cols} for (v, lv), cols in cells.items()],
        columns=["variable", "level", "n", "percent", "percent_1dp", "median", "min", "max"],
    )
