"""Execute one notebook through papermill the way the batch runner does (cwd notebooks/)."""

from __future__ import annotations

from pathlib import Path

import nbformat

#: The project's kernel, as named in every notebook's metadata (registered by `make setup`).
KERNEL = "metastasectomy-survival"


def execute_notebook(notebook: Path, output_dir: Path, **parameters: object) -> nbformat.NotebookNode:
    """Run ``notebook`` with ``parameters`` into ``output_dir`` and return the executed notebook.

    ``output_dir`` is passed as the notebook's ``output_dir`` parameter too, so every file the
    notebook writes lands in the test's temporary folder.
    """
    import papermill as pm

    output_dir.mkdir(parents=True, exist_ok=True)
    executed = output_dir / notebook.name
    pm.execute_notebook(
        str(notebook),
        str(executed),
        parameters={"output_dir": str(output_dir), **parameters},
        cwd=str(notebook.parent),
        kernel_name=KERNEL,
        progress_bar=False,
    )
    return nbformat.read(executed, as_version=4)


def committed_parameters_cell(notebook: Path, parameters: tuple[str, ...]) -> tuple[nbformat.NotebookNode, str]:
    """Check the committed form every notebook shares and return it with its parameters cell.

    Asserted: the project's kernel, exactly one cell tagged
    ``parameters`` that declares every name in ``parameters`` (``name:`` at a line start), and
    a first markdown cell with a title that says the shipped data are SYNTHETIC. Outputs are
    checked on what git would commit, in ``test_notebook_hygiene.py``.
    """
    nb = nbformat.read(notebook, as_version=4)
    assert nb.metadata["kernelspec"] == {
        "name": KERNEL,
        "display_name": "Python (metastasectomy-survival)",
        "language": "python",
    }
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for name in parameters:
        assert f"\n{name}:" in f"\n{tagged[0].source}", name
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert "SYNTHETIC" in nb.cells[0].source
    return nb, tagged[0].source
