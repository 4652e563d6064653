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
from notebook_runner import collection_once, run_once

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
            test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
            with self.path.open("a", encoding="utf-8") as log:
                log.write(f"{Path(message.split(':', 1)[1].strip()).name}\t{test}\n")


@pytest.hookimpl(trylast=True)  # after the tmp_path plugin has set up the base temp folder
def pytest_configure(config: pytest.Config) -> None:
    logger = logging.getLogger("papermill")
    logger.setLevel(logging.INFO)
    logger.addHandler(_ExecutionLog(shared_root(config) / EXECUTION_LOG))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    path = shared_root(config) / EXECUTION_LOG
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    runs = Counter(line.split("\t")[0] for line in lines)
    shown = ", ".join(f"{name} x{n}" for name, n in sorted(runs.items())) or "none"
    terminalreporter.write_line(f"notebook executions ({sum(runs.values())}): {shown}")
    terminalreporter.write_line(f"(which test ran which notebook: {path})")


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


@pytest.fixture(scope="session")
def collection_run(pytestconfig: pytest.Config) -> Path:
    """The run folder of the whole collection on the defaults (``make run``), once per session.

    It is also what ``notebook_run(path)`` returns with no parameters: each notebook's default
    run happens once, through the runner.
    """
    return collection_once(shared_root(pytestconfig) / "notebook-runs")
