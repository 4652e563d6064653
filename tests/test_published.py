"""helpers.reproduction.published: loaders, rounding, side_by_side."""
# ruff: noqa: F811  (pytest fixtures imported from published_fixtures are test arguments)

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from published_fixtures import paper  # noqa: F401  (a fixture)

from helpers.reproduction import published as P

# ----------------------------------------------------------------------------- loaders


def test_load_published_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="published targets"):
        P.load_published(tmp_path / "absent.json")


def test_published_table1_contract(paper: dict) -> None:
    t1 = P.published_table1(paper)
    assert list(t1.columns) == P.TABLE1_COLUMNS
    assert len(t1) == len(paper["table1"])
    age = t1[t1["variable"] == "age_years"].iloc[0]
    assert (age["median"], age["min"], age["max"]) == (49, 17, 82) and pd.isna(age["level"])
    r0 = t1[(t1["variable"] == "resection_status") & (t1["level"] == "r0")].iloc[0]
    assert (r0["n"], r0["percent"]) == (63, 96)
    labelled = P.published_table1(paper, labels=True)
    assert {"variable_label", "level_label", "flags"} <= set(labelled.columns)


def test_published_table2_contract(paper: dict) -> None:
    t2 = P.published_table2(paper)
    assert list(t2.columns[:7]) == P.TABLE2_COLUMNS
    assert len(t2) == 34 and t2["variable"].nunique() == 17
    row = t2.set_index(["variable", "level"]).loc[("largest_lung_lesion_size", "ge_20_mm")]
    assert row["survival_pct"] == 10 and row["p_value_operator"] == "<"
    assert row["p_value_reported_as"] == "<0.001"


def test_published_table3_contract(paper: dict) -> None:
    t3 = P.published_table3(paper)
    assert list(t3.columns[:7]) == P.TABLE3_COLUMNS
    assert t3.set_index("variable").loc["curative_resection", "hr"] == pytest.approx(12.161)
    assert t3.set_index("variable").loc["curative_resection", "level"] == "no"


def test_published_overall(paper: dict) -> None:
    o = P.published_overall(paper)
    assert (o.median_months, o.median_ci_low, o.median_ci_high) == (48, 29.4, 66.6)
    assert (o.survival_5y_pct, o.median_followup_months) == (45, 28)
    assert (o.followup_min_months, o.followup_max_months) == (1, 211)
    assert o.to_frame().shape == (1, 8)
    with pytest.raises(AttributeError):
        o.n = 1  # type: ignore[misc]


# ----------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [(37.5, 0, 38.0), (95.45, 0, 95.0), (0.0505, 3, 0.051), (2.5, 0, 3.0), (-2.5, 0, -3.0)],
)
def test_round_half_up(value: float, decimals: int, expected: float) -> None:
    assert P.round_half_up(value, decimals) == expected


def test_round_half_up_nan() -> None:
    assert math.isnan(P.round_half_up(float("nan")))


@pytest.mark.parametrize(
    ("p", "decimals", "expected"),
    [
        (0.0004, 3, "<0.001"),
        (0.00149, 3, "0.001"),
        (0.0505, 3, "0.051"),
        (0.4, 2, "0.40"),
        (0.7649, 3, "0.765"),
        (float("nan"), 3, ""),
    ],
)
def test_format_p(p: float, decimals: int, expected: str) -> None:
    assert P.format_p(p, decimals) == expected


# ----------------------------------------------------------------------------- side_by_side


def test_side_by_side_diff_match_and_sources() -> None:
    ours = pd.DataFrame(
        {"variable": ["a", "a", "b", "c"], "level": ["x", "y", None, "z"], "n": [1, 2, 3, 9]}
    )
    paper = pd.DataFrame(
        {"variable": ["a", "a", "b", "d"], "level": ["x", "y", np.nan, "w"], "n": [1, 3, 3, 4]}
    )
    out = P.side_by_side(ours, paper, ["variable", "level"], "n")
    assert list(out.columns) == [
        "variable", "level", "ours_n", "published_n", "diff_n", "match", "source"
    ]  # fmt: skip
    assert out["variable"].tolist() == ["a", "a", "b", "c", "d"]  # our order, then the paper's
    assert out["diff_n"].tolist()[:3] == [0, -1, 0]
    assert out["match"].tolist() == [True, False, True, False, False]
    assert out["source"].tolist() == ["both", "both", "both", "ours_only", "published_only"]
    assert pd.isna(out.loc[2, "level"])  # missing level keys pair up and stay missing


def test_side_by_side_tolerance_and_missing_values() -> None:
    ours = pd.DataFrame({"k": ["a", "b"], "x": [1.04, np.nan], "y": [5.0, 1.0]})
    paper = pd.DataFrame({"k": ["a", "b"], "x": [1.0, np.nan], "y": [5.0, 2.0]})
    exact = P.side_by_side(ours, paper, "k", ["x", "y"])
    assert exact["match"].tolist() == [False, False]
    loose = P.side_by_side(ours, paper, "k", ["x", "y"], tolerance={"x": 0.05, "y": 1.0})
    assert loose["match"].tolist() == [True, True]


def test_side_by_side_errors() -> None:
    ours = pd.DataFrame({"k": ["a", "a"], "x": [1, 2]})
    with pytest.raises(KeyError, match="lacks column"):
        P.side_by_side(ours, pd.DataFrame({"k": ["a"]}), "k", "x")
    with pytest.raises(ValueError, match="not unique"):
        P.side_by_side(ours, pd.DataFrame({"k": ["a"], "x": [1]}), "k", "x")


def test_side_by_side_accepts_categorical_keys_and_nullable_ints() -> None:
    ours = pd.DataFrame(
        {
            "variable": ["sex", "sex"],
            "level": pd.Categorical(["male", "female"], ordered=True),
            "n": pd.array([38, 27], dtype="Int64"),
        }
    )
    out = P.side_by_side(ours, P.published_table2(), ["variable", "level"], ["n"])
    both = out[out["source"] == "both"].set_index("level")
    assert both["match"].to_dict() == {"male": True, "female": False}
    assert both.loc["female", "diff_n"] == -1
