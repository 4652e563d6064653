"""Execute one notebook through papermill as a user does from the repository root.

The kernel starts in the checkout's top folder (not ``notebooks/``, where the batch runner starts
it), so every notebook test also checks that the default parameters work from the repository root
(``papermill notebooks/02-….ipynb out.ipynb -p dfi_cutoff_months 18``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
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
        cwd=str(notebook.parent.parent),
        kernel_name=KERNEL,
        progress_bar=False,
    )
    return nbformat.read(executed, as_version=4)


def run_once(notebook: Path, root: Path, **parameters: object) -> Path:
    """Execute ``notebook`` with ``parameters`` into a folder under ``root`` unless done already.

    The folder is named by the notebook and a hash of the parameters; a lock file serialises
    processes (pytest-xdist workers) asking for the same run, so it executes once and the others
    reuse it. A failure is written to ``FAILED`` in the folder and raised again on every request.
    """
    key = json.dumps(parameters, sort_keys=True, default=str)
    output_dir = root / f"{notebook.stem}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"
    root.mkdir(parents=True, exist_ok=True)
    with (root / f"{output_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done, failed = output_dir / "DONE", output_dir / "FAILED"
        if not done.exists() and not failed.exists():
            shutil.rmtree(output_dir, ignore_errors=True)
            try:
                execute_notebook(notebook, output_dir, **parameters)
            except Exception as exc:
                failed.write_text(f"{type(exc).__name__}: {exc}", encoding="utf-8")
                raise
            done.write_text(key, encoding="utf-8")
    if failed.exists():
        raise RuntimeError(f"{notebook.name} {key} failed earlier in this session:\n"
                           + failed.read_text(encoding="utf-8"))
    return output_dir


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
