"""Journal exports of a run: Tables 1-3 (and the validation table) as Word and LaTeX files.

Read from the run folder's CSV tables, never recomputed, and laid out as the paper prints them by
the core's display views (``helpers.display``: labels from ``helpers.cohort.factor_spec`` for the
run's cut-offs, levels indented under their variable, p as ``<0.001`` or three decimals). The footnotes
state the conventions the numbers depend on (endpoint, tie handling, interval methods), read from
the run's tables and manifest. ``tables/<name>.docx`` is written with python-docx,
``tables/<name>.tex`` as a booktabs ``table`` environment (``\\usepackage{booktabs}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers import display
from helpers.cohort import factor_spec
from helpers.outputs import run_folder
from helpers.reproduction.run_report import values_as_run

#: The exported tables, in the paper's order (``validation`` only when notebook 06 ran).
EXPORTS: tuple[str, ...] = ("table1", "table2", "table3", "validation")
_CUTOFF_PARAMETERS = ("age_cutoff_years", "dfi_cutoff_months", "primary_size_cutoff_cm", "lesion_size_cutoff_mm")


@dataclass(frozen=True)
class JournalTable:
    """A table as a journal prints it: caption, header, text rows, each row's indent (0, 1, 2)."""

    name: str
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    indent: tuple[int, ...]
    footnotes: tuple[str, ...]


def _as_run(manifest: dict) -> dict:
    """Every parameter as the notebooks ran it (the first notebook's value where they differ)."""
    return {name: json.loads(next(iter(values))) for name, values in values_as_run(manifest).items()}


def _endpoint_note(params: dict) -> str:
    if params.get("endpoint", "all_cause") == "all_cause":
        return ("Endpoint: death from any cause, from the first pulmonary metastasectomy (the paper calls it "
                "disease-specific survival but defines it so).")
    return ("Endpoint: death from sarcoma or of unknown cause (deaths from other causes censored), from the first "
            "pulmonary metastasectomy.")


def _journal(name: str, caption: str, header: tuple[str, ...], view: pd.DataFrame, notes: tuple[str, ...]) -> JournalTable:
    cells = view.drop(columns="indent")
    return JournalTable(name, caption, header, tuple(tuple(map(str, r)) for r in cells.itertuples(index=False)),
                        tuple(int(i) for i in view["indent"]), notes)


def _read(path: Path, numeric: tuple[str, ...]) -> pd.DataFrame:
    """A run table with empty cells as NaN in ``numeric`` columns and as "" elsewhere."""
    return pd.read_csv(path, keep_default_na=False, na_values={c: [""] for c in numeric})


def _table1(tables: Path, params: dict) -> JournalTable:
    view = display.table1_view(_read(tables / "table1.csv", ("n", "percent", "median", "min", "max")))
    n = pd.read_csv(tables / "km_overall.csv")["n"].iloc[0] if (tables / "km_overall.csv").is_file() else None
    return _journal("table1", f"Table 1. Characteristics of the analysed patients{f' (n = {n})' if n else ''}.",
                    ("Characteristic", "n (%) or median (range)"), view,
                    ("Percentages of the analysed patients, rounded half up; liposarcoma subtypes are indented "
                     "under liposarcoma; pre- and postoperative chemotherapy each include the patients given both.",))


def _spec(params: dict) -> pd.DataFrame:
    return factor_spec(**{k: params[k] for k in _CUTOFF_PARAMETERS if k in params})


def _table2(tables: Path, params: dict) -> JournalTable:
    km = pd.read_csv(tables / "km_overall.csv").iloc[0] if (tables / "km_overall.csv").is_file() else None
    landmark = f"{km['landmark_months']:g}-month" if km is not None else "5-year"
    method = km["survival_ci_method"] if km is not None else "log-log"
    level = round(100 * (1 - float(params.get("alpha", 0.05))))
    view = display.table2_view(pd.read_csv(tables / "table2.csv"), _spec(params))
    return _journal("table2", "Table 2. Univariate analysis of survival after pulmonary metastasectomy.",
                    ("Variable", "n", f"{landmark} survival, % ({level}% CI)", "p (log-rank)"), view,
                    (_endpoint_note(params), f"Kaplan-Meier estimates with {method} pointwise confidence intervals; "
                     "p from the log-rank test of each factor alone."))


def _table3(tables: Path, params: dict) -> JournalTable:
    t3 = _read(tables / "table3.csv", ("hr", "ci_low", "ci_high", "p_value"))
    ties = str(t3["ties"].iloc[0]) if "ties" in t3 and len(t3) else "breslow"
    alpha = float(params.get("alpha", 0.05))
    return _journal("table3", "Table 3. Multivariable Cox proportional-hazards model.",
                    ("Variable", f"Hazard ratio ({round(100 * (1 - alpha))}% CI)", "p"),
                    display.table3_view(t3, _spec(params)),
                    (_endpoint_note(params), f"Cox model with {ties.capitalize()}'s handling of tied event times; "
                     f"Wald confidence intervals and p-values. Factors entered when their log-rank p was below "
                     f"{alpha:g} (Table 2)."))


def _validation(tables: Path, params: dict) -> JournalTable:
    v = pd.read_csv(tables / "validation.csv")
    rows = tuple((r.measure.replace("_", " "), f"{r.apparent:.3f}", f"{r.optimism:.3f}",
                  display.format_interval(r.corrected, r.ci_low, r.ci_high, 3)) for r in v.itertuples())
    return JournalTable("validation", "Table 4. Bootstrap validation of the whole modelling procedure.",
                        ("Measure", "Apparent", "Optimism", "Optimism-corrected (95% CI)"), rows, (0,) * len(rows),
                        (f"{int(v['n_resamples'].iloc[0])} bootstrap resamples of the screen, the selection and the Cox "
                         "fit (as rms::validate with bw = TRUE).",))


def journal_tables(output_dir: str | Path) -> list[JournalTable]:
    """The run's tables in the paper's layout (those whose CSV the run folder holds)."""
    folder = run_folder(output_dir)
    params = _as_run(json.loads(folder.manifest.read_text(encoding="utf-8"))) if folder.manifest.is_file() else {}
    build = {"table1": _table1, "table2": _table2, "table3": _table3, "validation": _validation}
    return [build[name](folder.tables, params) for name in EXPORTS if (folder.tables / f"{name}.csv").is_file()]


def _latex_text(text: str) -> str:
    for char, code in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                       ("<", r"\textless{}"), ("≥", r"$\geq$"), ("–", "--"), ("·", r"$\cdot$")):
        text = text.replace(char, code)
    return text


def to_latex(table: JournalTable) -> str:
    """The table as a booktabs ``table`` environment (caption, rules, footnotes)."""
    cols = "l" + "r" * (len(table.header) - 1)
    lines = [r"\begin{table}[htbp]", r"\centering", rf"\caption{{{_latex_text(table.caption)}}}",
             rf"\label{{tab:{table.name}}}", rf"\begin{{tabular}}{{{cols}}}", r"\toprule",
             " & ".join(_latex_text(h) for h in table.header) + r" \\", r"\midrule"]
    for row, depth in zip(table.rows, table.indent, strict=True):
        cells = [_latex_text(c) for c in row]
        cells[0] = r"\quad " * depth + cells[0]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\par\smallskip\footnotesize"]
    lines += [_latex_text(note) + r"\par" for note in table.footnotes]
    return "\n".join([*lines, r"\end{table}", ""])


def write_docx(table: JournalTable, path: Path) -> Path:
    """The table as a Word document: caption, a header row in bold, indented levels, footnotes."""
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    doc.add_paragraph().add_run(table.caption).bold = True
    grid = doc.add_table(rows=1 + len(table.rows), cols=len(table.header))
    for j, text in enumerate(table.header):
        grid.cell(0, j).paragraphs[0].add_run(text).bold = True
    for i, (row, depth) in enumerate(zip(table.rows, table.indent, strict=True), start=1):
        for j, text in enumerate(row):
            grid.cell(i, j).text = ("    " * depth if j == 0 else "") + text
    for note in table.footnotes:
        doc.add_paragraph().add_run(note).font.size = Pt(8)
    doc.save(path)
    return path


def write_exports(output_dir: str | Path) -> list[Path]:
    """Write ``tables/<name>.docx`` and ``tables/<name>.tex`` for every table the run has.

    Example
    -------
    >>> write_exports("outputs")  # doctest: +SKIP
    [PosixPath('outputs/tables/table1.docx'), PosixPath('outputs/tables/table1.tex'), ...]
    """
    folder = run_folder(output_dir)
    written = []
    for table in journal_tables(output_dir):
        tex = folder.tables / f"{table.name}.tex"
        tex.write_text(to_latex(table), encoding="utf-8")
        written += [write_docx(table, folder.tables / f"{table.name}.docx"), tex]
    return written
