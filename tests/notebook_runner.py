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

    (output_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    executed = output_dir / "notebooks" / notebook.name  # where the runner puts it, too
    pm.execute_notebook(
        str(notebook),
        str(executed),
        parameters={"output_dir": str(output_dir), **parameters},
        cwd=str(notebook.parent.parent),
        kernel_name=KERNEL,
        progress_bar=False,
    )
    return nbformat.read(executed, as_version=4)


def _once(output_dir: Path, key: str, job) -> Path:
    """Run ``job(output_dir)`` once per test session, whichever process asks first.

    A lock file serialises processes (pytest-xdist workers) asking for the same folder, so the
    job runs once and the others reuse its folder. A failure is written to ``FAILED`` in the
    folder and raised again on every request, without running the job again.
    """
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    with (output_dir.parent / f"{output_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done, failed = output_dir / "DONE", output_dir / "FAILED"
        if not done.exists() and not failed.exists():
            shutil.rmtree(output_dir, ignore_errors=True)
            try:
                job(output_dir)
            except Exception as exc:
                output_dir.mkdir(parents=True, exist_ok=True)
                failed.write_text(f"{type(exc).__name__}: {exc}", encoding="utf-8")
                raise
            done.write_text(key, encoding="utf-8")
    if failed.exists():
        raise RuntimeError(f"{output_dir.name} {key} failed earlier in this session:\n"
                           + failed.read_text(encoding="utf-8"))
    return output_dir


def collection_once(root: Path) -> Path:
    """The whole collection run once by the runner (``make run``'s path) on the defaults."""
    from helpers.reproduction import runner

    def job(folder: Path) -> None:
        result = runner.run_collection({}, folder)
        if result.status != "ok":
            raise RuntimeError(f"make run failed: {result.error}")

    return _once(root / "collection", "{}", job)


def run_once(notebook: Path, root: Path, **parameters: object) -> Path:
    """The run folder of ``notebook`` with ``parameters``, executed once per test session.

    With no parameters (the defaults) that is the collection's run (:func:`collection_once`),
    so the default run of each notebook happens once, through the runner; any other parameter set
    runs the notebook alone through papermill into a folder named by the notebook and a hash of
    the parameters.
    """
    if not parameters:
        return collection_once(root)
    key = json.dumps(parameters, sort_keys=True, default=str)
    output_dir = root / f"{notebook.stem}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"
    return _once(output_dir, key, lambda folder: execute_notebook(notebook, folder, **parameters))


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
