"""Shared pytest fixtures, and the count of notebook executions printed after the run.

Every notebook run of the suite goes through papermill, which logs ``Input Notebook: <path>``;
a log handler appends each one to a file that all pytest-xdist workers share, and the terminal
summary prints how often each notebook was executed (the suite runs each notebook once per
parameter set: see :func:`notebook_run`).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from notebook_runner import run_once

from helpers import DATA_DIR, PROJECT_ROOT

#: Name of the shared log of notebook executions, in the run's base temporary folder.
EXECUTION_LOG = "notebook-executions.log"


def shared_root(config: pytest.Config) -> Path:
    """The temporary folder shared by every xdist worker of this run (the base temp folder)."""
    basetemp = config._tmp_path_factory.getbasetemp()
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


class _ExecutionLog(logging.Handler):
    """Append the name of every notebook papermill executes to the shared log."""

    def __init__(self, path: Path) -> None:
        super().__init__(logging.INFO)
        self.path = path

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()  # papermill.inspection logs the same line: not counted
        if record.module == "execute" and message.startswith("Input Notebook:"):
            with self.path.open("a", encoding="utf-8") as log:
                log.write(Path(message.split(":", 1)[1].strip()).name + "\n")


@pytest.hookimpl(trylast=True)  # after the tmp_path plugin has set up the base temp folder
def pytest_configure(config: pytest.Config) -> None:
    logger = logging.getLogger("papermill")
    logger.setLevel(logging.INFO)
    logger.addHandler(_ExecutionLog(shared_root(config) / EXECUTION_LOG))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups (its hook runs last)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep each notebook test module on one xdist worker (``--dist loadgroup``).

    A module-scoped fixture runs once per worker that gets one of the module's tests; a module
    whose fixture runs the notebook collection would otherwise run it on both workers. Modules
    with their own ``xdist_group`` mark keep it.
    """
    for item in items:
        if item.get_closest_marker("notebook") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(Path(str(item.fspath)).stem))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    path = shared_root(config) / EXECUTION_LOG
    runs = Counter(path.read_text(encoding="utf-8").split()) if path.exists() else Counter()
    shown = ", ".join(f"{name} x{n}" for name, n in sorted(runs.items())) or "none"
    terminalreporter.write_line(f"notebook executions ({sum(runs.values())}): {shown}")


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The checkout's root folder."""
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def registry_path() -> Path:
    """The shipped synthetic registry."""
    return DATA_DIR / "registry.csv"


@pytest.fixture(scope="session")
def notebook_run(pytestconfig: pytest.Config) -> Callable[..., Path]:
    """Execute a notebook with given parameters once per test session; return its output folder.

    ``notebook_run(path, **parameters)`` runs the notebook through papermill the first time a
    (notebook, parameters) pair is asked for, by any xdist worker, and returns the same folder
    (tables/, figures/ and the executed notebook) every later time. A failed run is recorded and
    re-raised for every test that asks for it, without running the notebook again.
    """
    root = shared_root(pytestconfig) / "notebook-runs"

    def run(notebook: Path, **parameters: object) -> Path:
        return run_once(notebook, root, **parameters)

    return run
