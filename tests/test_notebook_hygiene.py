"""The committed notebooks carry no outputs, checked on what ``git add`` would commit.

JupyterLab's autosave writes outputs into the working files; the ``nbstripout`` git filter that
``make setup`` installs (named in ``.gitattributes``) strips them on the way into git. So the test
passes the working file through the filter git would apply, and fails, saying what to run, only
when outputs would really reach the repository.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
FIX = "run `make setup` (installs the output-stripping git filter) or `make clean-notebooks`"


def _git(*args: str) -> str | None:
    """Output of ``git args`` in the checkout, or None outside a git checkout."""
    if shutil.which("git") is None:
        return None
    done = subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def clean_filter_command(path: Path) -> str | None:
    """The clean-filter command git applies to ``path`` on ``git add``, or None if there is none."""
    attr = _git("check-attr", "filter", "--", str(path.relative_to(PROJECT_ROOT)))
    name = attr.rsplit(": ", 1)[-1] if attr else "unspecified"
    if name in ("unspecified", "unset", "set"):
        return None
    return _git("config", "--get", f"filter.{name}.clean")


def committed_text(path: Path) -> str:
    """The text ``git add path`` would store: the working file through git's clean filter."""
    raw = path.read_text(encoding="utf-8")
    command = clean_filter_command(path)
    if command is None:
        return raw
    done = subprocess.run(command.replace("%f", str(path)), shell=True, input=raw, text=True,
                          capture_output=True, cwd=_git("rev-parse", "--show-toplevel"))
    assert done.returncode == 0, f"the git filter `{command}` failed on {path.name}: {done.stderr}"
    return done.stdout


def cells_with_outputs(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of code cells holding outputs or an execution count."""
    return [i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_committed_notebook_has_no_outputs(path: Path) -> None:
    committed = nbformat.reads(committed_text(path), as_version=4)
    dirty = cells_with_outputs(committed)
    filtered = clean_filter_command(path) is not None
    assert not dirty, (
        f"notebooks/{path.name} would be committed with outputs or execution counts in cells "
        f"{dirty}: " + ("the git filter left them in; run `make clean-notebooks`" if filtered
                        else f"no output-stripping git filter is installed in this clone; {FIX}")
    )


def test_gitattributes_names_the_filter() -> None:
    lines = (PROJECT_ROOT / ".gitattributes").read_text(encoding="utf-8").splitlines()
    assert "*.ipynb filter=nbstripout diff=ipynb" in lines


def test_makefile_installs_the_filter_and_strips_in_place() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "git config filter.nbstripout.clean" in makefile
    assert "clean-notebooks:" in makefile and "$(STRIP) notebooks/*.ipynb" in makefile
    assert "--allow-root" in makefile


def strip_command() -> list[str]:
    """The Makefile's ``STRIP`` command (the filter and ``make clean-notebooks``) as arguments."""
    import shlex

    text = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    values = dict(line.split(":=", 1) for line in text.splitlines() if ":=" in line)
    command = values["STRIP  "].replace("$(STRIP_KEYS)", " ".join(values["STRIP_KEYS "].split()))
    args = shlex.split(command)
    assert args[:3] == [".venv/bin/python", "-m", "nbstripout"]
    return [sys.executable, *args[1:]]


def executed_like_copy(path: Path, target: Path) -> None:
    """Write ``path`` as JupyterLab saves it after Run All: outputs, counts, full language_info."""
    nb = nbformat.read(path, as_version=4)
    for n, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = n + 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="Warning\n"),
                        nbformat.v4.new_output("execute_result", data={"text/plain": "1"},
                                               execution_count=n + 1)]
        cell.metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
    nb.metadata.language_info.update(version="3.11.7", pygments_lexer="ipython3",
                                     codemirror_mode={"name": "ipython", "version": 3})
    nbformat.write(nb, target)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_strip_command_restores_the_committed_notebook(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / path.name
    executed_like_copy(path, copy)
    assert cells_with_outputs(nbformat.read(copy, as_version=4))
    done = subprocess.run([*strip_command(), "-t", str(copy)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    stripped = json.loads(done.stdout)
    committed = json.loads(committed_text(path))
    assert stripped == committed  # outputs gone; tags, ids, kernelspec and run_after kept
    tags = [c["metadata"].get("tags") for c in stripped["cells"]]
    assert ["parameters"] in tags


def test_filter_failure_message_names_the_fix(tmp_path: Path, monkeypatch) -> None:
    copy = tmp_path / NOTEBOOKS[0].name
    executed_like_copy(NOTEBOOKS[0], copy)
    monkeypatch.setattr(sys.modules[__name__], "PROJECT_ROOT", tmp_path)  # no git here
    with pytest.raises(AssertionError, match="make setup"):
        test_committed_notebook_has_no_outputs(copy)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_papermill_reads_every_line_of_the_parameters_cell(path: Path) -> None:
    """Each assignment of the parameters cell is a parameter papermill sees (one it cannot parse,
    e.g. because its comment holds ``=``, would silently be left out of the runner's checks)."""
    import ast

    import papermill as pm

    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assigned = [node.target.id if isinstance(node, ast.AnnAssign) else node.targets[0].id
                for node in ast.parse(cell.source).body if isinstance(node, (ast.Assign, ast.AnnAssign))]
    assert list(pm.inspect_notebook(str(path))) == assigned


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_path_defaults_work_from_any_folder(path: Path) -> None:
    """``registry_path`` and ``output_dir`` default to "" (the shipped registry, outputs/interactive/),
    never to a path relative to ``notebooks/``."""
    import papermill as pm

    declared = pm.inspect_notebook(str(path))
    for name in ("registry_path", "output_dir", "sweeps_dir"):
        if name in declared:
            assert declared[name]["default"] == '""', f"{path.name}: {name} = {declared[name]['default']}"
