"""Journal exports (tables/<name>.docx and .tex), read back from the files."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import docx
import pandas as pd
import pytest

from helpers import display
from helpers.reproduction import exports

pytestmark = [pytest.mark.notebook]


def read_docx(path: Path) -> tuple[str, list[list[str]], list[str]]:
    """Caption, table cells and footnotes of an exported Word file."""
    document = docx.Document(path)
    paragraphs = [p.text for p in document.paragraphs if p.text]
    cells = [[c.text for c in row.cells] for row in document.tables[0].rows]
    return paragraphs[0], cells, paragraphs[1:]


def test_the_run_writes_every_table_in_both_formats(collection_run: Path) -> None:
    manifest = json.loads((collection_run / "manifest.json").read_text())
    names = ("table1", "table2", "table3", "validation")
    assert sorted(manifest["exports"]) == sorted(f"tables/{n}.{ext}" for n in names for ext in ("docx", "tex"))


def test_table3_read_back_holds_the_csv_numbers(collection_run: Path) -> None:
    t3 = pd.read_csv(collection_run / "tables" / "table3.csv")
    caption, cells, notes = read_docx(collection_run / "tables" / "table3.docx")
    assert caption.startswith("Table 3.") and cells[0] == ["Variable", "Hazard ratio (95% CI)", "p"]
    assert len(cells) == 1 + len(t3)
    for row, r in zip(cells[1:], t3.itertuples(), strict=True):
        assert row[1] == f"{r.hr:.2f} ({r.ci_low:.2f}–{r.ci_high:.2f})"
        assert row[2] == display.format_p(r.p_value)
    assert cells[1][0] == "Disease-free interval: <12 months vs ≥12 months"  # labels, not keys
    assert any("Breslow's handling of tied event times" in n for n in notes)
    assert any("death from any cause" in n for n in notes)
    tex = (collection_run / "tables" / "table3.tex").read_text()
    assert [line for line in tex.splitlines() if line.endswith("rule")] == [r"\toprule", r"\midrule", r"\bottomrule"]
    body = tex[tex.index(r"\midrule"):tex.index(r"\bottomrule")]
    assert re.findall(r"& (\d+\.\d\d) \(", body) == [f"{h:.2f}" for h in t3["hr"]]


def test_table1_and_table2_keep_the_papers_layout(collection_run: Path) -> None:
    _, t1, _ = read_docx(collection_run / "tables" / "table1.docx")
    first = [row[0] for row in t1]
    liposarcoma = first.index("    Liposarcoma")
    assert first[liposarcoma + 1].startswith("        ") and "liposarcoma" in first[liposarcoma + 1]
    assert ["    Male", "38 (58)"] in t1
    _, t2, notes = read_docx(collection_run / "tables" / "table2.docx")
    assert t2[0][3] == "p (log-rank)"
    dfi = next(i for i, row in enumerate(t2) if row[0] == "Disease-free interval")
    assert t2[dfi][3] == "<0.001" and t2[dfi + 1][0] == "    <12 months" and t2[dfi + 1][1] == "22"
    assert any("log-log pointwise confidence intervals" in n for n in notes)


def test_footnotes_and_labels_follow_the_run_not_the_defaults(collection_run: Path, tmp_path: Path) -> None:
    """An Efron run with the DFI cut at 18 months says so (read from its files, not hard-coded)."""
    shutil.copytree(collection_run / "tables", tmp_path / "tables")
    manifest = json.loads((collection_run / "manifest.json").read_text())
    for entry in manifest["notebooks"]:
        if "dfi_cutoff_months" in entry["parameters"]:
            entry["parameters"]["dfi_cutoff_months"] = 18
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    t3 = pd.read_csv(tmp_path / "tables" / "table3.csv")
    t3["ties"] = "efron"
    t3["level"] = t3["level"].replace({"lt_12_months": "lt_18_months"})
    t3["reference"] = t3["reference"].replace({"ge_12_months": "ge_18_months"})
    t3.to_csv(tmp_path / "tables" / "table3.csv", index=False)
    (tmp_path / "tables" / "validation.csv").unlink()
    written = exports.write_exports(tmp_path)
    assert {p.name for p in written} == {f"{n}.{e}" for n in ("table1", "table2", "table3") for e in ("docx", "tex")}
    tex = (tmp_path / "tables" / "table3.tex").read_text()
    assert "Efron's handling" in tex and r"\textless{}18 months vs $\geq$18 months" in tex


def test_format_p() -> None:
    assert [display.format_p(p) for p in (0.0004, 0.001, 0.0125, 0.5)] == ["<0.001", "0.001", "0.013", "0.500"]
