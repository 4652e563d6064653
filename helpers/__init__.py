"""Helpers for the metastasectomy-survival notebooks.

One module per stage of the study, in the order data flows:

- :mod:`helpers.schema`     data dictionary, ``load_registry`` and validation, months from dates
- :mod:`helpers.cohort`     eligibility criteria, exclusion ledger, flow table, ``derive_factors``
- :mod:`helpers.describe`   Table 1
- :mod:`helpers.survival`   Kaplan-Meier, log-rank, the univariate screen (Table 2)
- :mod:`helpers.cox`        multivariable Cox model (Table 3), proportional-hazards test
- :mod:`helpers.plots`      figures (flow diagram, Kaplan-Meier, forest plot)
- :mod:`helpers.reproduction.published`  the paper's numbers, the fidelity scorecard, the audit of the paper
- :mod:`helpers.outputs`    writing tables and figures into a run's output folder
- :mod:`helpers.reproduction.synthetic`  the seeded generator of the shipped synthetic registry
- :mod:`helpers.reproduction.batch`      the papermill batch runner and sensitivity sweeps

Modules are imported explicitly (``from helpers import survival``); importing the package
itself loads nothing heavy.
"""

from pathlib import Path

__version__ = "0.1.0"

#: Root of the project checkout (the folder holding ``data/`` and ``notebooks/``).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Folder of the shipped data files.
DATA_DIR = PROJECT_ROOT / "data"
