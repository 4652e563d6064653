"""Self-checking exercises, three or four per notebook.

Each exercise asks for one number; :func:`check` recomputes the right answer from the data the
notebook passes in (never a stored number, so it holds for any registry and any cut-off) and says
whether the student's answer is right to the precision the question asks, without revealing it.

>>> list_exercises("02")["id"].tolist()[:2]
['02-dfi18-chisq', '02-reverse-km-followup']
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from helpers import cohort, cox, survival


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``correct`` is ``None`` when there is no answer yet."""

    exercise: str
    correct: bool | None
    message: str

    def __str__(self) -> str:
        return self.message

    def _repr_markdown_(self) -> str:
        mark = {True: "✅", False: "❌", None: "✏️"}[self.correct]
        return f"{mark} **{self.exercise}**: {self.message}"


@dataclass(frozen=True)
class Exercise:
    """One question: its answer is ``solve(**data)``, compared to ``decimals`` decimal places."""

    id: str
    notebook: str
    question: str
    hint: str
    data: tuple[str, ...]
    solve: Callable[..., float]
    decimals: int


def _excluded_step1(registry: pd.DataFrame) -> float:
    ledger = cohort.assemble_cohort(registry).ledger
    return float((ledger["step"] == 1).sum())


def _below(analysed: pd.DataFrame) -> float:
    return float((analysed["dfi_months"] < 18).sum())


def _median_lesion(analysed: pd.DataFrame) -> float:
    return float(analysed["largest_lung_lesion_mm"].median())


def _dfi18_chisq(data: pd.DataFrame) -> float:
    split = data.assign(_dfi18=np.where(data["dfi_months"] < 18, "lt_18", "ge_18"))
    return survival.logrank(split, "time_months", "event", "_dfi18").statistic


def _reverse_km(data: pd.DataFrame) -> float:
    return survival.kaplan_meier(data, "time_months", "event").median_followup_reverse_km


def _lesion_5y(data: pd.DataFrame) -> float:
    big = data[data["largest_lung_lesion_mm"] >= 20]
    return 100 * float(survival.kaplan_meier(big, "time_months", "event", landmarks=(60,)).landmarks["survival"].iloc[0])


def _nelson_aalen_60(data: pd.DataFrame) -> float:
    t, e = data["time_months"].to_numpy(float), data["event"].to_numpy(float)
    times = np.unique(t[(e == 1) & (t <= 60)])
    return float(sum(e[t == u].sum() / (t >= u).sum() for u in times))


def _efron_hr(data: pd.DataFrame, chosen: list[str], references: dict[str, str]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cox.CoxWarning)
        fit = cox.fit_cox(data, "time_months", "event", chosen, ties="efron", categorical=references)
    rows = fit.table[fit.table["variable"] == "disease_free_interval"]
    if rows.empty:
        raise ValueError("the disease-free interval is not among the chosen factors")
    return float(rows["hr"].iloc[0])


def _epv_all(data: pd.DataFrame, factors: list[str]) -> float:
    return float(data["event"].sum()) / len(factors)


def _ph_rank(fit: cox.CoxResult) -> float:
    table = cox.test_proportional_hazards(fit, "rank").set_index("term")
    return float(table.loc["GLOBAL", "p_value"])


def _misses(scorecard: pd.DataFrame) -> float:
    return float((scorecard["status"] == "fail").sum())


def _inconsistent(audit: pd.DataFrame) -> float:
    return float((~audit["consistent"].astype(bool)).sum())


def _dfi_robust(robustness: pd.DataFrame) -> float:
    return float(robustness.set_index("variable").loc["disease_free_interval", "multivariable_significant"])


def _chemo_higher(chemo: pd.DataFrame) -> float:
    return 100 * float(chemo.set_index("risk").loc["higher", "proportion"])


def _realism_passed(realism_table: pd.DataFrame) -> float:
    return float(realism_table["passed"].astype(bool).sum())


def _spline_gain(spline: pd.DataFrame) -> float:
    return float(spline.set_index("variable").loc["dfi_months", "aic_gain_spline"])


def _measure(procedure: Any, measure: str, column: str) -> float:
    return float(procedure.table.set_index("measure").loc[measure, column])


def _dfi_selected(procedure: Any) -> float:
    return float(procedure.selection.set_index("variable").loc["disease_free_interval", "selected_pct"])


EXERCISES: tuple[Exercise, ...] = (
    Exercise("01-excluded-step1", "01", "How many screened patients does step 1 (the primary site) exclude?",
             "count the ledger's rows of step 1, or add up the four site rows of the flow table",
             ("registry",), _excluded_step1, 0),
    Exercise("01-dfi-below-18", "01", "How many analysed patients have a disease-free interval below 18 months?",
             "derive the factors again with dfi_cutoff_months=18, or compare dfi_months with 18",
             ("analysed",), _below, 0),
    Exercise("01-median-lesion", "01", "What is the median size (mm) of the largest lung lesion in the analysed cohort?",
             "Table 1 reports it as a median with its range", ("analysed",), _median_lesion, 1),
    Exercise("02-dfi18-chisq", "02", "Cut the disease-free interval at 18 months: what is the log-rank chi-square (1 decimal)?",
             "split dfi_months < 18 against >= 18 and call survival.logrank", ("data",), _dfi18_chisq, 1),
    Exercise("02-reverse-km-followup", "02", "What is the median follow-up (months, 1 decimal) by reverse Kaplan-Meier?",
             "treat censoring as the event: KMSummary.followup has it", ("data",), _reverse_km, 1),
    Exercise("02-lesion-5y", "02", "What is the 5-year survival (%, 1 decimal) of patients whose largest lesion is >= 20 mm?",
             "keep those patients and read the Kaplan-Meier estimate at 60 months", ("data",), _lesion_5y, 1),
    Exercise("02-nelson-aalen-60", "02", "What is the Nelson-Aalen cumulative hazard at 60 months (2 decimals)?",
             "sum deaths / number at risk over the death times up to 60 months (lifelines' NelsonAalenFitter)",
             ("data",), _nelson_aalen_60, 2),
    Exercise("03-efron-hr-dfi", "03", "Refit the model with Efron ties: what is the disease-free interval's hazard ratio (2 decimals)?",
             "cox.fit_cox(..., ties='efron') with the same factors and references", ("data", "chosen", "references"),
             _efron_hr, 2),
    Exercise("03-epv-all", "03", "Without the screen, all factors would enter (one coefficient each): how many events per parameter (1 decimal)?",
             "deaths divided by the number of coefficients", ("data", "factors"), _epv_all, 1),
    Exercise("03-ph-rank", "03", "What is the GLOBAL p-value (3 decimals) of the proportional-hazards test on the rank time scale?",
             "cox.test_proportional_hazards(fit, transform='rank')", ("fit",), _ph_rank, 3),
    Exercise("04-misses", "04", "How many published numbers does this run miss (scorecard status 'fail')?",
             "count the scorecard's rows whose status is 'fail'", ("scorecard",), _misses, 0),
    Exercise("04-audit", "04", "How many of the audit's checks find the paper's own numbers inconsistent?",
             "count the audit rows that are not consistent", ("audit",), _inconsistent, 0),
    Exercise("04-dfi-robust", "04", "In how many runs of the sweep does the disease-free interval stay significant in the Cox model?",
             "read the robustness table's multivariable_significant column", ("robustness",), _dfi_robust, 0),
    Exercise("05-chemo-higher", "05", "What percentage of the higher-risk patients received chemotherapy before PM (1 decimal)?",
             "the chemotherapy-indication table gives a proportion per risk group", ("chemo",), _chemo_higher, 1),
    Exercise("05-realism-passed", "05", "How many of the realism checks does this registry pass?",
             "count the rows of the realism table with passed True", ("realism_table",), _realism_passed, 0),
    Exercise("05-spline-gain", "05", "How many AIC points does a spline of the disease-free interval gain over the dichotomy (1 decimal)?",
             "the spline-against-dichotomy table, column aic_gain_spline", ("spline",), _spline_gain, 1),
    Exercise("06-corrected-c", "06", "What is the optimism-corrected C index of the screened model (3 decimals)?",
             "the validation table's c_index row, column corrected",
             ("procedure",), lambda procedure: _measure(procedure, "c_index", "corrected"), 3),
    Exercise("06-optimism-c", "06", "By how much is the apparent C index optimistic (3 decimals)?",
             "apparent minus corrected, or the optimism column",
             ("procedure",), lambda procedure: _measure(procedure, "c_index", "optimism"), 3),
    Exercise("06-dfi-selected", "06", "In what percentage of the resamples did the screen select the disease-free interval (1 decimal)?",
             "the selection table gives selected_pct per factor", ("procedure",), _dfi_selected, 1),
)
_BY_ID = {ex.id: ex for ex in EXERCISES}


def list_exercises(notebook: str | None = None) -> pd.DataFrame:
    """The exercises (of one notebook, ``"01"`` ... ``"06"``) as ``id, question, hint, data``."""
    rows = [(ex.id, ex.question, ex.hint, ", ".join(ex.data)) for ex in EXERCISES
            if notebook is None or ex.notebook == notebook]
    return pd.DataFrame(rows, columns=["id", "question", "hint", "data"])


def check(exercise_id: str, answer: Any, **data: Any) -> Feedback:
    """Whether ``answer`` is right, to the precision the question asks; ``None`` is "not answered yet".

    ``data`` are the notebook's objects the exercise names (``list_exercises()["data"]``).

    >>> d = pd.DataFrame({"time_months": [5.0, 20, 70, 80], "event": [1, 1, 0, 1]})
    >>> check("02-nelson-aalen-60", None, data=d).message
    'not answered yet'
    >>> check("02-nelson-aalen-60", 0.58, data=d).correct, check("02-nelson-aalen-60", 0.6, data=d).correct
    (True, False)
    """
    if exercise_id not in _BY_ID:
        raise KeyError(f"unknown exercise {exercise_id!r}; known: {list(_BY_ID)}")
    ex = _BY_ID[exercise_id]
    missing = [name for name in ex.data if name not in data]
    if missing:
        raise TypeError(f"check({exercise_id!r}, ...) needs the notebook's {missing} as keyword argument(s)")
    if answer is None:
        return Feedback(ex.id, None, "not answered yet")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return Feedback(ex.id, False, f"not yet: the answer must be a number, found {answer!r}")
    truth = float(ex.solve(**{name: data[name] for name in ex.data}))
    if not math.isfinite(value):
        return Feedback(ex.id, False, "not yet: the answer must be a finite number")
    if abs(value - truth) <= 0.5 * 10 ** -ex.decimals + 1e-9 * max(1.0, abs(truth)):
        return Feedback(ex.id, True, "correct")
    return Feedback(ex.id, False, f"not yet: {ex.hint}")
