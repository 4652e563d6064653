"""The results report of a run: ``report/index.html``, the executed notebooks without their code.

A colleague who wants the results, not the code, opens one page: a title, the run's parameters
listed once, a table of contents, then every notebook in reading order with its prose, tables,
figures and computed conclusions, and links to the files of the run folder (relative, so the
folder can be moved or sent). Built with nbconvert's ``HTMLExporter(exclude_input=True)`` from
the executed notebooks: the numbers are those of the run, nothing is recomputed. The parameters
cell, papermill's injected cell and code cells without output are left out; the executed
notebooks (``notebooks/``) and their full pages (``html/``) stay for those who want the code.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

import nbformat

from helpers.outputs import run_folder
from helpers.reproduction.runner import notebook_title

#: Reading order of the report: the analysis (01-03), its robustness (06), the comparison with
#: the paper (04), then the appendix (05).
REPORT_ORDER: tuple[str, ...] = ("01", "02", "03", "06", "04", "05")
#: Cell tags papermill and the notebooks use for cells a reader of results does not need.
_HIDDEN_TAGS = {"parameters", "injected-parameters"}


def _kept_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Markdown cells (the first heading demoted), and code cells that show something."""
    kept = []
    for cell in nb.cells:
        if _HIDDEN_TAGS & set(cell.metadata.get("tags", [])):
            continue
        if cell.cell_type == "code" and not cell.get("outputs"):
            continue
        if cell.cell_type == "code":  # no stream text from setup cells (e.g. "shipped synthetic registry")
            cell = nbformat.from_dict({**cell, "outputs": [o for o in cell.outputs if o.output_type != "stream"]})
            if not cell.outputs:
                continue
        kept.append(cell)
    return kept


def values_as_run(manifest: dict) -> dict[str, dict[str, list[str]]]:
    """Parameter -> {its value as JSON -> the notebooks (``NN``) that ran with it}, from a manifest."""
    values: dict[str, dict[str, list[str]]] = {}
    for entry in manifest.get("notebooks", []):
        for name, value in (entry.get("parameters") or {}).items():
            values.setdefault(name, {}).setdefault(json.dumps(value), []).append(entry["name"][:2])
    return values


def parameters_as_run(manifest: dict) -> dict[str, str]:
    """Every parameter of the run as the notebooks ran it (one value, or ``value (NN); ...``).

    Example
    -------
    >>> parameters_as_run({"notebooks": [{"name": "05-a.ipynb", "parameters": {"seed": 1, "alpha": 0.05}},
    ...                                  {"name": "06-b.ipynb", "parameters": {"seed": 2, "alpha": 0.05}}]})
    {'alpha': '0.05', 'seed': '1 (05); 2 (06)'}
    """
    values = values_as_run(manifest)
    out = {}
    for name in sorted(values):
        shown = values[name]
        out[name] = (next(iter(shown)) if len(shown) == 1
                     else "; ".join(f"{v} ({', '.join(nbs)})" for v, nbs in shown.items()))
    return out


def _parameters_table(manifest: dict) -> str:
    rows = "".join(f"<tr><td><code>{html.escape(k)}</code></td><td><code>{html.escape(v)}</code></td></tr>"
                   for k, v in parameters_as_run(manifest).items())
    return (f'<table class="dataframe"><thead><tr><th>parameter</th><th>value as run</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _front_matter(manifest: dict, sections: Sequence[tuple[str, str]], files: Sequence[str]) -> str:
    """Markdown (with HTML) opening the report: what it is, the parameters once, contents, files."""
    registry = manifest.get("registry") or {}
    shipped = (manifest.get("parameters") or {}).get("registry_path") == ""
    where = "the shipped synthetic registry" if shipped else f"`{registry.get('path')}` (relative to the run folder)"
    toc = "\n".join(f'{i}. <a href="#{anchor}">{html.escape(title)}</a>' for i, (anchor, title) in enumerate(sections, 1))
    links = " · ".join(f'<a href="../{f}">{html.escape(f)}</a>' for f in files)
    return (
        f"# Results of run {manifest.get('run_id', '')}\n\n"
        "Pulmonary metastasectomy for soft-tissue sarcoma: a reproduction of Nakayama et al., "
        "*Cancers* 2022;14:3329, computed by this run. The executed notebooks with their code are in "
        '<a href="../notebooks/">notebooks/</a> and <a href="../html/">html/</a>.\n\n'
        f"Run started {manifest.get('started')}, status **{manifest.get('status')}**; registry: {where} "
        f"(SHA-256 `{str(registry.get('sha256', ''))[:16]}…`). Paths are relative to the run folder.\n\n"
        f"## Parameters\n\n{_parameters_table(manifest)}\n\n## Contents\n\n{toc}\n\n"
        f"## Files of this run\n\n{links}\n"
    )


def write_report(output_dir: str | Path) -> Path:
    """Write ``report/index.html`` for a run folder from its executed notebooks; return its path.

    Example
    -------
    >>> write_report("outputs")  # doctest: +SKIP
    PosixPath('outputs/report/index.html')
    """
    from nbconvert import HTMLExporter

    folder = run_folder(output_dir)
    manifest = json.loads(folder.manifest.read_text(encoding="utf-8")) if folder.manifest.is_file() else {}
    executed = {p.name[:2]: p for p in sorted(folder.notebooks.glob("[0-9][0-9]-*.ipynb"))}
    order = [n for n in REPORT_ORDER if n in executed] + [n for n in sorted(executed) if n not in REPORT_ORDER]
    if not order:
        raise FileNotFoundError(f"no executed notebooks in {folder.notebooks}: run the collection first")
    cells, sections = [], []
    for number in order:
        nb = nbformat.read(executed[number], as_version=4)
        title = notebook_title(nb)
        sections.append((f"notebook-{number}", title))
        cells.append(nbformat.v4.new_markdown_cell(f'<a id="notebook-{number}"></a>\n\n---'))
        cells.extend(_kept_cells(nb))
    files = sorted(str(p.relative_to(folder.root)) for sub in (folder.tables, folder.figures)
                   for p in sub.glob("*") if p.suffix in {".csv", ".png"})
    report = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(_front_matter(manifest, sections, files)), *cells])
    report.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(report, resources={"metadata": {"name": f"Results of run {manifest.get('run_id', '')}".strip()}})
    path = folder.root / "report" / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path
