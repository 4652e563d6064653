"""helpers.display: the views people read (labels, grouping, precision) and their Styler."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers import cohort, describe, display, schema, survival


@pytest.fixture(scope="module")
def prepared():
    return cohort.prepare("", dfi_cutoff_months=18)


def test_format_p_and_interval() -> None:
    assert [display.format_p(p) for p in (0.0, 0.000999, 0.001, 0.0571, 1.0, math.nan, None)] == [
        "<0.001", "<0.001", "0.001", "0.057", "1.000", "", ""]
    assert display.format_interval(45.415, 29.5477, 59.9875, 1) == "45.4 (29.5–60.0)"
    assert display.format_interval(0.0, math.nan, math.nan, 1) == "0.0"
    assert display.format_interval(math.nan, 1, 2, 2) == "not estimable"


def test_table2_view_labels_groups_and_says_not_reached(prepared) -> None:
    derived = prepared.factors
    screen = survival.screen_factors(derived.data, "time_months", "event", derived.factors)
    view = display.table2_view(screen, derived.spec)
    assert list(view.columns) == ["label", "n", "survival", "median", "p", "indent"]
    dfi = view.index[view["label"] == "Disease-free interval"][0]
    assert view.loc[dfi, "indent"] == 0 and view.loc[dfi, "p"] == display.format_p(
        screen.loc[screen["variable"] == "disease_free_interval", "p_value"].iloc[0])
    assert view.loc[dfi + 1, ["label", "indent"]].tolist() == ["<18 months", 1]
    assert "lt_18_months" not in view.to_string() and "primary_histology_ups" not in view.to_string()
    assert len(view) == len(screen) + screen["variable"].nunique()
    screen.loc[1, "median"] = math.nan  # a level whose curve stays above 0.5
    assert display.table2_view(screen, derived.spec).loc[2, "median"] == display.NOT_REACHED
    assert len(view) == len(screen) + screen["variable"].nunique()


def test_table1_view_indents_liposarcoma_subtypes(prepared) -> None:
    table1 = describe.make_table1(schema.add_survival_columns(prepared.cohort.analysed))
    view = display.table1_view(table1)
    row = view.index[view["label"] == "Liposarcoma"][0]
    assert view.loc[row, "indent"] == 1 and view.loc[row + 1, "indent"] == 2
    assert view.loc[row + 1, "label"] == "Dedifferentiated liposarcoma"


def test_styled_hides_the_index_and_bolds_group_rows() -> None:
    view = pd.DataFrame({"label": ["Sex", "Male", "Female", "Age"], "n": ["", "38", "28", "66"],
                         "indent": [0, 1, 1, 0]})
    html = display.styled(view, caption="Table", columns={"n": "patients"}).to_html()
    assert "<caption>Table</caption>" in html and ">patients<" in html
    assert html.count("font-weight: bold") == 1  # "Sex" groups levels; "Age" stands alone
    assert "padding-left: 1.5em" in html and "indent" not in html and "overflow-x: auto" in html
    assert view.columns.tolist() == ["label", "n", "indent"]  # the view itself is unchanged


def test_views_render_angle_brackets_as_text() -> None:
    """"<12 months" and "<0.001" are text in the HTML, not the start of a tag."""
    view = pd.DataFrame({"label": ["<12 months"], "p": ["<0.001"], "indent": [1]})
    assert "&lt;12 months" in display.styled(view).to_html()
    html = display.frame(pd.DataFrame({"cutoff": [6.0], "p_value": [0.00012], "survival_pct": [math.nan]})).to_html()
    assert "&lt;0.001" in html and "6.00" in html and "–" in html
    assert "&lt;0.001" in display.record(pd.Series({"p_value": 0.0001})).to_html()


def test_caution_view_lists_fragile_levels_with_their_reasons(prepared) -> None:
    derived = prepared.factors
    screen = survival.screen_factors(derived.data, "time_months", "event", derived.factors)
    view = display.caution_view(screen, derived.spec, 60)
    listed = screen["flag_few_events"] | screen["flag_zero_events"] | screen["flag_landmark_beyond_followup"]
    assert len(view) == listed.sum() < screen["flag_few_at_risk"].sum()  # the at-risk flag alone lists nothing
    ups = view[view["level"] == "Primary histology: UPS"].iloc[0]
    assert "no patient followed to 60 months" in ups["why the estimate is fragile"]
    assert "deaths (fewer than" not in ups["why the estimate is fragile"]  # UPS has 8 deaths
