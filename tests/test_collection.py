"""The whole collection, run once through the runner on the shipped registry.

The run is the session's shared one (``collection_run`` in conftest.py), which the notebook
tests read for their default runs too. Asserts the run-folder contract (CONTRIBUTING.md, "The run folder") that outside checks read.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pandas as pd
import pytest

from helpers import DATA_DIR
from helpers.outputs import registry_sha256
from helpers.reproduction import runner, sweep

REGISTRY_CSV = DATA_DIR / "registry.csv"

pytestmark = [
    pytest.mark.notebook,
]

CONTRACT = {
    "tables/cohort_flow.csv": ["step", "reason", "n_excluded", "n_remaining"],
    "tables/table1.csv": ["variable", "level", "n", "percent", "median", "min", "max"],
    "tables/km_overall.csv": [
        "n", "events", "median_months", "median_ci_low", "median_ci_high", "median_ci_method",
        "survival_5y_pct", "survival_5y_ci_low", "survival_5y_ci_high",
        "median_followup_months", "median_followup_method",
    ],
    "tables/table2.csv": [
        "variable", "level", "n", "events", "survival_pct", "survival_ci_low",
        "survival_ci_high", "p_value",
    ],
    "tables/table3.csv": ["variable", "level", "hr", "ci_low", "ci_high", "p_value"],
    "tables/fidelity_scorecard.csv": ["target_group", "variable", "level", "status"],
}  # fmt: skip
FIGURES = ["cohort_flow", "cutoff_distributions", "figure1_km", "forest_table3"]


@pytest.fixture(scope="module")
def run(collection_run) -> SimpleNamespace:
    """The session's one run of the collection (shared with the notebook tests), from its manifest."""
    manifest = json.loads((collection_run / "manifest.json").read_text())
    return SimpleNamespace(output_dir=collection_run, status=manifest["status"], error=manifest["error"],
                           notebooks=[SimpleNamespace(name=n["name"]) for n in manifest["notebooks"]])


def test_every_notebook_ran(run: SimpleNamespace) -> None:
    assert run.status == "ok", run.error
    names = [p.name for p in runner.execution_order(runner.list_notebooks())]
    assert [nb.name for nb in run.notebooks] == names
    for name in names:
        assert (run.output_dir / "notebooks" / name).is_file()
        assert (run.output_dir / "html" / name.replace(".ipynb", ".html")).is_file()


def test_manifest(run: SimpleNamespace) -> None:
    manifest = json.loads((run.output_dir / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["kernel"] == "fresh per notebook"
    assert (run.output_dir / manifest["registry"]["path"]).resolve() == REGISTRY_CSV.resolve()
    assert manifest["registry"]["sha256"] == registry_sha256(REGISTRY_CSV)
    # as the kernels saw them: they start in the run folder; "" is the shipped registry
    assert manifest["parameters"] == {"output_dir": ".", "registry_path": ""}
    assert all(n["status"] == "ok" and n["duration_s"] > 0 for n in manifest["notebooks"])
    entries = {n["name"][:2]: n for n in manifest["notebooks"]}
    # every notebook's parameters as run: the cell's defaults, with the run folder set
    assert entries["03"]["parameters"]["ties"] == "breslow"
    assert entries["03"]["parameters"]["output_dir"] == "."
    # the report started after the notebooks it reads had finished
    report_start = entries["04"]["started_s"]
    for number in ("01", "02", "03", "06"):
        assert entries[number]["started_s"] + entries[number]["duration_s"] <= report_start + 0.01


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_contract_tables(run: SimpleNamespace, name: str) -> None:
    table = pd.read_csv(run.output_dir / name)
    assert set(CONTRACT[name]) <= set(table.columns), name
    assert len(table) > 0
    assert (run.output_dir / name.replace(".csv", ".html")).is_file()


@pytest.mark.parametrize("name", FIGURES)
def test_contract_figures(run: SimpleNamespace, name: str) -> None:
    for suffix in (".png", ".svg"):
        path = run.output_dir / "figures" / f"{name}{suffix}"
        assert path.is_file() and path.stat().st_size > 1000, path


def test_flow_and_overall_numbers(run: SimpleNamespace) -> None:
    flow = pd.read_csv(run.output_dir / "tables" / "cohort_flow.csv")
    assert flow["n_remaining"].iloc[-1] == 66
    km = pd.read_csv(run.output_dir / "tables" / "km_overall.csv").iloc[0]
    assert km["n"] == 66 and 24 <= km["events"] <= 39


def test_report_scores_the_papers_text(run: SimpleNamespace) -> None:
    card = pd.read_csv(run.output_dir / "tables" / "fidelity_scorecard.csv")
    text = card[card["target_group"].str.startswith("text_") & ~card["stretch"]]
    assert {"text_abstract", "text_3.1", "text_3.2", "text_3.3", "text_4"} <= set(text["target_group"])
    assert set(text["status"]) == {"pass", "not_scored"}
    assert text.loc[text["status"] == "not_scored", "note"].notna().all()
    audit = pd.read_csv(run.output_dir / "tables" / "paper_audit.csv")
    assert {"text_vs_table1", "text_vs_table2", "text_vs_table3"} <= set(audit["check"])
    executed = (run.output_dir / "notebooks" / "04-reproduction-report.ipynb").read_text()
    assert "The paper's text: " in executed


def test_report_links_the_validation_written_before_it(run: SimpleNamespace) -> None:
    """make run executes notebook 06 before the report (04), so the report shows its table."""
    import nbformat

    nb = nbformat.read(run.output_dir / "notebooks" / "04-reproduction-report.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "validation_table = pd.read_csv" in c.source)
    shown = "".join(str(o.get("data", {})) + str(o.get("text", "")) for o in cell.get("outputs", []))
    assert "is not in this run folder" not in shown
    assert "c_index" in shown and "calibration_slope" in shown
    assert (run.output_dir / "tables" / "validation.csv").is_file()


def test_report_runs_with_missing_tables_and_reads_the_named_sweep(tmp_path) -> None:
    """Notebook 04 alone on an empty run folder: says what is missing; summarises only a named sweep."""
    sweep = tmp_path / "sweep-x" / "tables"
    sweep.mkdir(parents=True)
    pd.DataFrame(
        {
            "run": ["r1", "r2"],
            "status": ["ok", "ok"],
            "dfi_cutoff_months": [6, 18],
            "variable": ["disease_free_interval"] * 2,
            "level": ["lt_6_months", "lt_18_months"],
            "univariate_p": [0.01, 0.2],
            "in_model": [True, True],
            "hr": [2.5, 1.4],
            "ci_low": [1.2, 0.8],
            "ci_high": [5.0, 2.4],
            "multivariable_p": [0.01, 0.3],
            "error": [None, None],
        }
    ).to_csv(sweep / "sweep_summary.csv", index=False)
    out = tmp_path / "report"
    result = runner.run_collection({}, out, only=["04"], html=False)
    assert result.status == "ok", result.error
    executed = (out / "notebooks" / "04-reproduction-report.ipynb").read_text()
    assert "missing: table1, km_overall, table2, table3" in executed
    # a sweep beside the run folder is not picked up: the report computes its quick sweep instead
    assert "quick in-process sweep" in executed
    assert "disease_free_interval: significant in the model in 1/2 runs" not in executed
    result = runner.run_collection({}, out, only=["04"], html=False, sweep=tmp_path / "sweep-x")
    executed = (out / "notebooks" / "04-reproduction-report.ipynb").read_text()
    assert "disease_free_interval: significant in the model in 1/2 runs" in executed
    assert json.loads((out / "manifest.json").read_text())["sweep"] == "../sweep-x"
    assert (out / "tables" / "fidelity_scorecard.csv").is_file()


def test_default_report_shows_robustness_from_the_quick_sweep(run: SimpleNamespace) -> None:
    """Without a named sweep, notebook 04 still says which conclusions survive other cut-offs."""
    executed = (run.output_dir / "notebooks" / "04-reproduction-report.ipynb").read_text()
    assert "quick in-process sweep" in executed
    runs = len(sweep.quick_sweep("", {"dfi_cutoff_months": [12]})["run"].unique())
    assert runs == 1
    assert re.search(r"disease_free_interval: significant in the model in \d+/16 runs", executed)


def test_figures_are_shown_in_the_executed_notebooks(run: SimpleNamespace) -> None:
    """A figure drawn in a notebook appears as an image, not as the text '<Figure size ...>'."""
    import nbformat

    for name in [p.name for p in runner.list_notebooks()]:
        nb = nbformat.read(run.output_dir / "notebooks" / name, as_version=4)
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        as_text = [
            o for o in outputs
            if "<Figure size" in o.get("data", {}).get("text/plain", "")
            and "image/png" not in o.get("data", {})
        ]  # fmt: skip
        assert not as_text, f"{name}: {len(as_text)} figure(s) shown as text, not as an image"
        draws = any("plots.plot_" in c.source for c in nb.cells if c.cell_type == "code")
        if draws:
            assert any("image/png" in o.get("data", {}) for o in outputs), name


def test_every_exercise_check_passes_in_the_instructor_run(run: SimpleNamespace) -> None:
    """The instructor edition's solutions are right: each check cell of every notebook says correct."""
    from helpers.teaching import exercises

    for name in [p.name for p in runner.list_notebooks()]:
        text = (run.output_dir / "notebooks" / name).read_text(encoding="utf-8")
        expected = len(exercises.list_exercises(name[:2]))
        assert expected >= 3, name
        assert text.count("✅") == expected and "❌" not in text and "not answered yet" not in text, name
