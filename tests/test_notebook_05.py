"""Notebook 05 (how the synthetic registry was made) executed through papermill."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from notebook_runner import committed_parameters_cell, execute_notebook

from helpers import DATA_DIR, PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "05-how-the-synthetic-registry-was-made.ipynb"
REGISTRY_CSV = DATA_DIR / "registry.csv"
PROVENANCE = DATA_DIR / "registry_provenance.json"

pytestmark = [
    pytest.mark.notebook,
]


def run_notebook(output_dir: Path, **parameters: object) -> nbformat.NotebookNode:
    """Execute this notebook (cwd notebooks/, as the batch runner does) into ``output_dir``."""
    return execute_notebook(NOTEBOOK, output_dir, **parameters)


@pytest.fixture(scope="session")
def default_run(notebook_run) -> tuple[Path, nbformat.NotebookNode]:
    output_dir = notebook_run(NOTEBOOK)
    return output_dir, nbformat.read(output_dir / "notebooks" / NOTEBOOK.name, as_version=4)


def test_committed_notebook_is_clean() -> None:
    committed_parameters_cell(NOTEBOOK, ("registry_path", "output_dir", "seed", "n_iterations"))


def test_default_run_scorecard_matches_provenance(
    default_run: tuple[Path, nbformat.NotebookNode],
) -> None:
    output_dir, _ = default_run
    card = pd.read_csv(output_dir / "tables" / "synthetic_scorecard.csv")
    assert {"group", "statistic", "published", "value", "within_tolerance"} <= set(card.columns)
    prov = json.loads(PROVENANCE.read_text(encoding="utf-8"))
    recorded = {r["group"]: r["within_tolerance"] for r in prov["achieved"]["summary"]}
    ours = card.groupby("group")["within_tolerance"].sum().to_dict()
    assert ours == recorded
    assert not card.set_index("statistic").loc["follow_up_max", "within_tolerance"]
    assert (output_dir / "figures" / "synthetic_calibration_trace.png").exists()


def test_default_run_closing_note(default_run: tuple[Path, nbformat.NotebookNode]) -> None:
    _, nb = default_run
    last = nb.cells[-1]
    text = "".join(o.get("data", {}).get("text/markdown", "") for o in last.outputs)
    assert "plausibility checks" in text and "211-month" in text
    assert "reach the paper's conclusion" in text and "Traded:" in text


def test_default_run_names_what_was_traded(default_run: tuple[Path, nbformat.NotebookNode]) -> None:
    """The trade-off cell lists exactly the scorecard's misses (follow_up_max aside)."""
    output_dir, nb = default_run
    card = pd.read_csv(output_dir / "tables" / "synthetic_scorecard.csv")
    missed = card[~card["within_tolerance"] & (card["statistic"] != "follow_up_max")]
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("traded = "))
    text = "".join(o.get("data", {}).get("text/markdown", "") for o in cell.outputs)
    assert text.startswith("Traded in this registry: ")
    for r in missed.itertuples():
        assert f"{r.group} {r.statistic} (" in text
    if missed.empty:
        assert "nothing" in text


def test_non_default_parameters(tmp_path: Path) -> None:
    nb = run_notebook(tmp_path / "nb05_other", seed=11, n_iterations=300, spline_n=2000)
    params = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert params and "n_iterations = 300" in params[0].source and "spline_n = 2000" in params[0].source
    assert (tmp_path / "nb05_other" / "tables" / "synthetic_scorecard.csv").exists()


def test_default_run_realism_checks(default_run: tuple[Path, nbformat.NotebookNode]) -> None:
    """The realism table equals the helper's on the shipped file, and the text states it."""
    from helpers.reproduction import realism, synthetic

    output_dir, nb = default_run
    saved = pd.read_csv(output_dir / "tables" / "synthetic_realism_checks.csv")
    expected = realism.realism_checks(synthetic.analysed_cohort(pd.read_csv(REGISTRY_CSV)))
    assert saved["check"].tolist() == expected["check"].tolist()
    assert saved["passed"].tolist() == expected["passed"].tolist()
    texts = [
        "".join(o.get("data", {}).get("text/markdown", "") for o in c.outputs)
        for c in nb.cells
        if c.cell_type == "code"
    ]
    n_pass = int(expected["passed"].sum())
    assert any(
        t.startswith(f"This registry passes {n_pass} of {len(expected)} realism checks")
        for t in texts
    )
    box = next(t for t in texts if "What this registry cannot teach" in t)
    for lesson in realism.lessons_at_risk(expected)["lesson"]:
        assert lesson in box
