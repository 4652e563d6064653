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
