"""Privacy: a registry that is not the shipped one leaves no patient identifier in any output.

The shipped registry is copied with every patient id replaced by a planted identifier
("ZZPRIV-0001", ...); the whole collection runs on the copy through the batch runner, and every
file of the run folder (executed notebooks, HTML, tables, figures, logs, manifest) is scanned
for the planted identifiers and for absolute paths of the machine (the run folder, the checkout,
the registry's folder, the home folder, the kernels' temporary files).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import shared_root
from notebook_runner import _once

from helpers import DATA_DIR, PROJECT_ROOT, outputs
from helpers.reproduction import runner

REGISTRY_CSV = DATA_DIR / "registry.csv"
NOTEBOOK_01 = PROJECT_ROOT / "notebooks" / "01-cohort-assembly.ipynb"
PREFIX = "ZZPRIV-"

pytestmark = [
    pytest.mark.notebook,
]


@pytest.fixture(scope="module")
def planted(pytestconfig: pytest.Config) -> tuple[Path, list[str]]:
    """A copy of the shipped registry whose patient ids are all planted identifiers."""
    registry = pd.read_csv(REGISTRY_CSV, dtype=str, keep_default_na=False)
    ids = [f"{PREFIX}{i:04d}" for i in range(1, len(registry) + 1)]
    registry["patient_id"] = ids
    folder = shared_root(pytestconfig) / "private-registry"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hospital_registry.csv"
    if not path.exists():  # every worker writes the same bytes; an atomic rename, the first one wins
        own = path.with_suffix(f".{os.getpid()}.tmp")
        registry.to_csv(own, index=False)
        own.replace(path)
    return path, ids


@pytest.fixture(scope="module")
def private_run(planted, pytestconfig: pytest.Config) -> SimpleNamespace:
    """The whole collection on the planted registry, run once per session whichever worker asks."""
    path, _ = planted

    def job(folder: Path) -> None:
        runner.run_collection({"registry_path": str(path)}, folder)

    out = _once(shared_root(pytestconfig) / "private-run", "private", job)
    manifest = json.loads((out / "manifest.json").read_text())
    return SimpleNamespace(status=manifest["status"], error=manifest.get("error"), output_dir=out,
                           manifest_path=out / "manifest.json")


def test_planted_registry_is_not_the_shipped_one(planted) -> None:
    path, _ = planted
    assert not outputs.is_shipped_registry(path)


def test_run_on_other_registry_completes(private_run: runner.RunResult) -> None:
    assert private_run.status == "ok", private_run.error
    manifest = json.loads(private_run.manifest_path.read_text())
    assert manifest["status"] == "ok"
    assert all(n["status"] == "ok" for n in manifest["notebooks"])
    assert (private_run.output_dir / "tables" / "table1.csv").is_file()


def test_no_output_file_contains_a_patient_identifier(private_run, planted) -> None:
    _, ids = planted
    files = [p for p in private_run.output_dir.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {".ipynb", ".html", ".csv", ".png", ".svg", ".json"} <= kinds
    leaks = {}
    for path in files:
        data = path.read_bytes()
        if PREFIX.encode() in data:
            text = data.decode("utf-8", errors="replace")
            found = sorted({i for i in ids if i in text}) or [PREFIX]
            leaks[str(path.relative_to(private_run.output_dir))] = found[:5]
    assert not leaks, f"patient identifiers found in outputs: {leaks}"


def test_no_output_file_contains_an_absolute_path_of_the_machine(private_run, planted) -> None:
    """Paths in a run folder are relative to it: a report can be sent out without the machine's layout."""
    registry, _ = planted
    root = private_run.output_dir
    needles = {str(p) for p in (root.resolve(), PROJECT_ROOT.resolve(), registry.resolve().parent,
                                 Path.home().resolve())} | {"ipykernel_", "dask-scratch-space"}
    leaks = {needle: found for needle in sorted(needles) if (found := scan_absolute(root, needle))}
    assert not leaks, f"absolute paths found in the run folder: {leaks}"
    manifest = json.loads(private_run.manifest_path.read_text())
    assert (root / manifest["registry"]["path"]).resolve() == registry.resolve()  # relative, and right


def scan_absolute(folder: Path, needle: str) -> list[str]:
    """Files under ``folder`` holding ``needle`` as an absolute path (not inside ``../needle``)."""
    pattern = re.compile(rb"(?<![\w.])" + re.escape(needle.encode()))
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and pattern.search(p.read_bytes()))


def scan(folder: Path, needle: str) -> list[str]:
    """Files under ``folder`` whose bytes contain ``needle``."""
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and needle.encode() in p.read_bytes()
    )


def test_control_the_scan_sees_rows_of_the_shipped_registry(notebook_run) -> None:
    """On the shipped registry notebook 01 does show patient rows, and the scan finds them.

    The run is the suite's shared default run of notebook 01 (see ``notebook_run``).
    """
    shipped_id = pd.read_csv(REGISTRY_CSV, dtype=str)["patient_id"].iloc[0]
    output_dir = notebook_run(NOTEBOOK_01)
    assert f"notebooks/{NOTEBOOK_01.name}" in scan(output_dir, shipped_id)


def test_control_the_path_scan_finds_an_absolute_path_and_not_a_relative_one(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"path": "/srv/hospital/registry.csv"}))
    (tmp_path / "b.json").write_text(json.dumps({"path": "../../srv/hospital/registry.csv"}))
    assert scan_absolute(tmp_path, "/srv/hospital") == ["a.json"]
