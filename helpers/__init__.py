"""Helpers for the metastasectomy-survival notebooks: the map of the house.

The teaching core, one module per stage of the study in the order data flows (notebooks 01-03):

- :mod:`helpers.schema`        data dictionary, ``load_registry`` and validation, months from dates
- :mod:`helpers.cohort`        eligibility, exclusion ledger and flow, ``derive_factors``, ``prepare``
- :mod:`helpers.describe`      Table 1
- :mod:`helpers.perioperative` surgery and perioperative outcomes (the paper's section 3.2)
- :mod:`helpers.survival`      Kaplan-Meier, log-rank, the univariate screen (Table 2)
- :mod:`helpers.cox`           multivariable Cox model (Table 3), proportional-hazards test
- :mod:`helpers.plots`         figures (flow diagram, Kaplan-Meier, forest plot)
- :mod:`helpers.outputs`       the run folder: tables and figures, the privacy guard

Registry intake, :mod:`helpers.intake` (called by ``schema.load_registry``): reading CSV, Excel or
Parquet as text, the problem report of ``RegistryError``, a hospital's column mapping, and the
data manager's check (``python -m helpers.intake.registry``).

The reproduction toolkit, :mod:`helpers.reproduction` (notebooks 04-06, ``make run``/``sweep``/
``registry``), reuses the core and is never imported by it: the paper's numbers and scorecard,
the audit, the synthetic generator, bootstrap validation, the runner and sweeps.

Modules are imported explicitly (``from helpers import survival``); importing the package
itself loads nothing heavy.
"""

from importlib import resources
from pathlib import Path

__version__ = "0.1.0"

_SOURCE_ROOT = Path(__file__).resolve().parent.parent
_DICTIONARY = "data_dictionary.yaml"


def _data_dir() -> Path:
    """Where the shipped data files are: the package data ``helpers.data``, else ``data/``.

    A regular install (``pip install .``) copies ``data/`` into the package as ``helpers.data``,
    found through :mod:`importlib.resources`. In an editable install, or when ``helpers`` is
    imported straight from a source tree, ``helpers.data`` (a folder without ``__init__.py``) is
    not importable and the data are the checkout's ``data/`` folder beside ``helpers/``.
    """
    try:  # a folder without __init__.py: files() gives a MultiplexedPath; its file is a Path
        return Path(resources.files("helpers.data").joinpath(_DICTIONARY)).parent
    except ModuleNotFoundError:
        pass
    if (_SOURCE_ROOT / "data" / _DICTIONARY).is_file():
        return _SOURCE_ROOT / "data"
    raise ModuleNotFoundError(
        "the shipped data (package helpers.data) are not installed; reinstall the package "
        "with `pip install .` from a complete checkout"
    )


#: Folder of the shipped data files (registry, data dictionary, published targets, provenance,
#: example hospital export and mapping): the checkout's top-level ``data/`` folder, or its copy
#: installed as ``helpers.data`` by a regular ``pip install .``.
DATA_DIR: Path = _data_dir()


class NotACheckoutError(RuntimeError):
    """Raised for :data:`PROJECT_ROOT` when ``helpers`` is installed outside a project checkout."""


def _project_root() -> Path:
    """The checkout holding this package, or a clear error when it is installed elsewhere."""
    if (_SOURCE_ROOT / "pyproject.toml").is_file() and (_SOURCE_ROOT / "notebooks").is_dir():
        return _SOURCE_ROOT
    raise NotACheckoutError(
        f"helpers is installed at {Path(__file__).resolve().parent}, not in a project checkout, "
        "so there is no notebooks/ folder beside it. Run this from a clone installed with "
        "`pip install -e .` (or `make setup`), or pass the notebook's path explicitly."
    )


def __getattr__(name: str) -> Path:
    """``PROJECT_ROOT``: the checkout's root (the folder holding ``notebooks/``), looked up on use.

    A regular (non-editable) install has no checkout; asking for it then raises
    :class:`NotACheckoutError` instead of guessing a folder.
    """
    if name == "PROJECT_ROOT":
        return _project_root()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
