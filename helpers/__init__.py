"""Helpers for the metastasectomy-survival notebooks: the map of the house.

The teaching core, one module per stage of the study in the order data flows (notebooks 01-03):
:mod:`~helpers.schema` (data dictionary, ``load_registry``, months from dates),
:mod:`~helpers.cohort` (eligibility, exclusion flow, ``derive_factors``, ``prepare``),
:mod:`~helpers.describe` (Table 1), :mod:`~helpers.perioperative` (section 3.2),
:mod:`~helpers.survival` (Kaplan-Meier, log-rank, Table 2), :mod:`~helpers.cox` (Table 3, the
proportional-hazards test), :mod:`~helpers.plots`, :mod:`~helpers.display` (tables for people),
:mod:`~helpers.outputs` (the run folder, the privacy guard).

Beside it, each importing the core and never imported by it: :mod:`helpers.intake` (a hospital's
export: file formats, the problem report, column mappings, the data manager's check),
:mod:`helpers.teaching` (lessons beyond the paper) and :mod:`helpers.reproduction` (notebooks
04-06: the paper's numbers, scorecard, audit, synthetic generator, validation, runner, sweeps).
Modules are imported explicitly (``from helpers import survival``); the package loads nothing heavy.
"""

from importlib import resources
from pathlib import Path

__version__ = "0.1.0"

_SOURCE_ROOT = Path(__file__).resolve().parent.parent
_DICTIONARY = "data_dictionary.yaml"


def _data_dir() -> Path:
    """The shipped data: package data ``helpers.data`` (``pip install .``), else the checkout's ``data/``."""
    try:  # a folder without __init__.py: files() gives a MultiplexedPath; its file is a Path
        return Path(resources.files("helpers.data").joinpath(_DICTIONARY)).parent
    except ModuleNotFoundError:
        pass
    if (_SOURCE_ROOT / "data" / _DICTIONARY).is_file():
        return _SOURCE_ROOT / "data"
    raise ModuleNotFoundError("the shipped data (package helpers.data) are not installed; reinstall the package "
                              "with `pip install .` from a complete checkout")


#: Folder of the shipped data files (registry, data dictionary, published targets, provenance, example export).
DATA_DIR: Path = _data_dir()


class NotACheckoutError(RuntimeError):
    """Raised for :data:`PROJECT_ROOT` when ``helpers`` is installed outside a project checkout."""


def _project_root() -> Path:
    """The checkout holding this package, or a clear error when it is installed elsewhere."""
    if (_SOURCE_ROOT / "pyproject.toml").is_file() and (_SOURCE_ROOT / "notebooks").is_dir():
        return _SOURCE_ROOT
    raise NotACheckoutError(f"helpers is installed at {Path(__file__).resolve().parent}, not in a project checkout, "
                            "so there is no notebooks/ folder beside it. Run this from a clone installed with "
                            "`pip install -e .` (or `make setup`), or pass the notebook's path explicitly.")


def __getattr__(name: str) -> Path:
    """``PROJECT_ROOT``: the checkout's root, looked up on use (:class:`NotACheckoutError` outside one)."""
    if name == "PROJECT_ROOT":
        return _project_root()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
