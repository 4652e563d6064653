"""A regular (non-editable) install carries the package data and runs notebook 01 from anywhere.

The package is built from a copy of the files a source distribution holds and installed with
``pip install --no-deps --target`` into a temporary folder; the test environment's dependencies
are reused (the folder goes first on ``PYTHONPATH``), which keeps this fast. Then notebook 01 is
executed by the papermill command line from an unrelated temporary folder, with its default
parameters, on a kernel that imports the installed copy and not the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm
import pytest

from helpers import DATA_DIR, PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "01-cohort-assembly.ipynb"
#: What a source distribution of the project holds (the rest of the checkout is not needed).
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "helpers", "data", "kernelspec")

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --no-deps --target <tmp>/site`` of a clean copy of the sources."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    for name in SOURCES:
        src = PROJECT_ROOT / name
        if src.is_dir():
            shutil.copytree(src, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(src, source / name)
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(site), str(source)], check=True, capture_output=True)
    return site


def installed_env(site: Path) -> dict[str, str]:
    """Environment in which Python (and the kernels it starts) import the installed copy."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["JUPYTER_PATH"] = str(site / "share" / "jupyter")  # the kernelspec the wheel ships
    return env


def python_in(site: Path, code: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=installed_env(site),
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_installed_copy_holds_every_module_and_data_file(installed: Path, tmp_path: Path) -> None:
    package = PROJECT_ROOT / "helpers"
    modules = {p.relative_to(package) for p in package.rglob("*.py")}
    assert {p.relative_to(installed / "helpers") for p in (installed / "helpers").rglob("*.py")
            } == modules, "a subpackage of helpers/ is missing from [tool.setuptools] packages"
    data = {p.name: p.read_bytes() for p in DATA_DIR.iterdir() if p.is_file()}
    assert {p.name: p.read_bytes() for p in (installed / "helpers" / "data").iterdir()} == data
    assert (installed / "share/jupyter/kernels/metastasectomy-survival/kernel.json").is_file()
    where = python_in(installed, "import helpers; print(helpers.__file__, helpers.DATA_DIR)",
                      tmp_path)
    assert where == f"{installed / 'helpers' / '__init__.py'} {installed / 'helpers' / 'data'}"


def test_installed_copy_refuses_to_guess_the_checkout(installed: Path, tmp_path: Path) -> None:
    code = ("import helpers\ntry:\n    helpers.PROJECT_ROOT\n"
            "except helpers.NotACheckoutError as exc:\n    print(exc)")
    assert "not in a project checkout" in python_in(installed, code, tmp_path)


def test_notebook_01_runs_from_a_temporary_folder_with_defaults(installed: Path,
                                                                tmp_path: Path) -> None:
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    assert pm.inspect_notebook(str(NOTEBOOK))["registry_path"]["default"] == '""'
    subprocess.run([sys.executable, "-m", "papermill", str(NOTEBOOK), "out.ipynb", "--no-progress-bar"],
                   cwd=cwd, env=installed_env(installed), check=True, capture_output=True)
    executed = nbformat.read(cwd / "out.ipynb", as_version=4)
    assert not executed.metadata["papermill"]["exception"]
    flows = list(tmp_path.rglob("cohort_flow.csv"))
    # outside a checkout, output_dir "" is outputs/interactive/ of the working folder
    assert flows == [cwd / "outputs" / "interactive" / "tables" / "cohort_flow.csv"]
    assert pd.read_csv(flows[0])["n_remaining"].iloc[-1] == 66
