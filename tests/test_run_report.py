"""The results report of a run (``report/index.html``): read from the session's collection run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers.reproduction import run_report

pytestmark = [pytest.mark.notebook]


@pytest.fixture(scope="module")
def report(collection_run: Path) -> tuple[Path, str]:
    manifest = json.loads((collection_run / "manifest.json").read_text())
    assert manifest["report"] == "report/index.html", manifest.get("report_error")
    return collection_run, (collection_run / manifest["report"]).read_text(encoding="utf-8")


def test_report_has_a_title_contents_and_every_notebook_in_reading_order(report) -> None:
    root, page = report
    run_id = json.loads((root / "manifest.json").read_text())["run_id"]
    assert f"<title>Results of run {run_id}</title>" in page
    anchors = re.findall(r'<a href="#(notebook-\d\d)">', page)
    assert anchors == [f"notebook-{n}" for n in run_report.REPORT_ORDER]
    for anchor in anchors:
        assert f'id="{anchor}"' in page
    positions = [page.index("01 · Cohort assembly"), page.index("03 · The multivariable Cox model"),
                 page.index("06 · Would Table 3 hold"), page.index("04 · Reproduction report")]
    assert positions == sorted(positions)


def test_report_shows_results_without_code(report) -> None:
    _, page = report
    for code in ("cohort.prepare(", "outputs.save_table(", "import pandas", "cox.fit_cox("):
        assert code not in page, code
    assert page.count("<img") >= 5  # flow, cut-offs, Kaplan-Meier, panel, forest, ...
    assert "What we found" in page and "disease_free_interval" in page  # conclusions and tables


def test_report_lists_the_parameters_once_and_links_files_relatively(report) -> None:
    root, page = report
    front = page[: page.index('id="notebook-01"')]
    for name in ("dfi_cutoff_months", "ties", "landmark_months", "registry_path"):
        assert front.count(f"<code>{name}</code>") == 1, name
    assert "ties = " not in page  # no parameters cell, no injected cell
    links = re.findall(r'href="(\.\./[^"]+)"', page)
    assert "../tables/table3.csv" in links and all((root / "report" / link).exists() for link in links)
    assert str(root.resolve()) not in page


def test_parameters_as_run_merges_the_notebooks_values() -> None:
    manifest = {"notebooks": [{"name": "01-a.ipynb", "parameters": {"ties": "breslow"}},
                              {"name": "03-b.ipynb", "parameters": {"ties": "breslow", "seed": 3}}]}
    assert run_report.parameters_as_run(manifest) == {"seed": "3", "ties": '"breslow"'}


def test_report_without_executed_notebooks_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run the collection first"):
        run_report.write_report(tmp_path)
