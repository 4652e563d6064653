"""Stage 1: the registry's data dictionary, loading and validation, months from dates.

The data dictionary (``data/data_dictionary.yaml``) is the single description of a registry
file. ``load_registry`` reads a file and validates it against the dictionary; times in months are
derived from dates here and nowhere else (:func:`months_between`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers import DATA_DIR

#: Mean Gregorian month in days; every time in months in this project is days / DAYS_PER_MONTH.
DAYS_PER_MONTH: float = 30.4375
#: The shipped data dictionary.
DATA_DICTIONARY_PATH: Path = DATA_DIR / "data_dictionary.yaml"
#: Endpoints ``add_survival_columns`` knows.
ENDPOINTS: tuple[str, ...] = ("all_cause", "disease_specific")


def months_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """Months from ``start`` to ``end``: calendar days divided by 30.4375.

    This is the one place where the project turns dates into months, so that every time in
    every table uses the same month length.

    Parameters
    ----------
    start, end
        Date columns (anything ``pd.to_datetime`` accepts). Missing dates give NaN.

    Returns
    -------
    pandas.Series
        Float months, named ``None``; negative when ``end`` precedes ``start``.

    Example
    -------
    >>> months_between(pd.Series(["2020-01-01"]), pd.Series(["2021-01-01"])).round(3).tolist()
    [12.025]
    """
    days = (pd.to_datetime(end) - pd.to_datetime(start)).dt.days
    return (days / DAYS_PER_MONTH).astype(float).rename(None)


def add_survival_columns(
    registry: pd.DataFrame,
    endpoint: str = "all_cause",
    *,
    unknown_cause_as_event: bool = True,
) -> pd.DataFrame:
    """Add ``time_months``, ``event`` and ``dfi_months`` to a validated registry.

    Parameters
    ----------
    registry
        A frame with the dictionary's date columns, ``vital_status`` and ``cause_of_death``
        (as returned by ``load_registry``).
    endpoint
        ``"all_cause"``: death from any cause is the event (the paper's printed definition of
        its "disease-specific survival"). ``"disease_specific"``: death from sarcoma is the event;
        deaths from other causes are censored on the date of death.
    unknown_cause_as_event
        With ``endpoint="disease_specific"``, count deaths of unknown cause as sarcoma deaths
        (the conservative convention). Ignored for ``"all_cause"``.

    Returns
    -------
    pandas.DataFrame
        A copy with ``time_months`` (first PM to death, or to last contact for survivors),
        ``event`` (int 0/1) and ``dfi_months`` (primary surgery to diagnosis of lung metastasis).
    """
    if endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint must be one of {ENDPOINTS}, got {endpoint!r}")
    out = registry.copy()
    dead = out["vital_status"].eq("dead").to_numpy()
    end = pd.to_datetime(out["date_of_death"]).where(dead, pd.to_datetime(out["date_last_contact"]))
    out["time_months"] = months_between(out["date_first_pm"], end).to_numpy()
    if endpoint == "all_cause":
        event = dead
    else:
        causes = ["sarcoma", "unknown"] if unknown_cause_as_event else ["sarcoma"]
        event = dead & out["cause_of_death"].isin(causes).to_numpy()
    out["event"] = np.asarray(event, dtype=int)
    out["dfi_months"] = months_between(
        out["date_primary_surgery"], out["date_lung_metastasis_diagnosis"]
    ).to_numpy()
    return out
