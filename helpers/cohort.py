"""Stage 2: the study cohort (eligibility, exclusion ledger, flow table) and the derived factors.

:func:`assemble_cohort` applies the paper's two eligibility criteria in order and accounts for
every screened patient exactly once (analysed or in the ledger), reconciled in code.
:func:`derive_factors` turns the analysed cohort into the paper's 17 dichotomised factors, driven
by one table (:data:`FACTOR_SPECS`); :func:`prepare` runs the whole chain from a registry file.
Plain pandas: no well-kept library builds a CONSORT-style ledger.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.schema import add_survival_columns, load_registry, resolve_registry_path

#: Primary sites that are exclusion reasons of step 1, in the paper's order, with their reason key.
EXCLUDED_SITE_REASONS: dict[str, str] = {
    "parenchymal_organ": "primary_in_parenchymal_organs",
    "mediastinum": "primary_in_mediastinum",
    "retroperitoneum": "primary_in_retroperitoneum",
    "head_and_neck": "primary_in_head_and_neck",
}
#: Reason key of step 2 (first PM done at another hospital).
ELSEWHERE_REASON: str = "initial_pm_at_another_hospital"
#: Readable labels of the flow table's reasons (the paper's wording for the five exclusions).
REASON_LABELS: dict[str, str] = {
    "screened": "screened",
    "primary_in_parenchymal_organs": "primary lesion in parenchymal organs",
    "primary_in_mediastinum": "primary lesion in mediastinum",
    "primary_in_retroperitoneum": "primary lesion in retroperitoneum",
    "primary_in_head_and_neck": "primary lesion in head and neck",
    "initial_pm_at_another_hospital": "underwent initial PM at another hospital",
    "analysed": "analysed",
}
#: Reason keys of the first and last rows of the flow table (not exclusions).
SCREENED_ROW: str = "screened"
ANALYSED_ROW: str = "analysed"
#: Columns of the flow table and of the ledger (the output contract).
FLOW_COLUMNS: tuple[str, ...] = ("step", "reason", "n_excluded", "n_remaining")
LEDGER_COLUMNS: tuple[str, ...] = ("patient_id", "step", "reason")

_YES_NO = {"yes": True, "no": False, True: True, False: False}


class CohortError(ValueError):
    """A registry cannot be turned into a cohort (unknown or missing values, broken counts)."""


def _ids_text(ids: Iterable[object], limit: int = 20) -> str:
    ids = [str(i) for i in ids]
    shown = ", ".join(ids[:limit])
    return shown + (f", ... ({len(ids)} in all)" if len(ids) > limit else "")


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CohortError(f"{what}: column(s) {missing} expected but not found; the frame has {list(frame.columns)}")


@dataclass(frozen=True)
class CohortResult:
    """The analysed cohort, the exclusion ledger and the flow table of one registry.

    ``analysed``: the eligible patients (registry order, all columns). ``ledger``: one row per
    excluded patient, ``patient_id, step, reason`` (step 1 primary site, 2 first PM elsewhere).
    ``flow``: ``step, reason, n_excluded, n_remaining`` from a ``screened`` row through one row per
    reason (0 kept) to an ``analysed`` row. Construction reconciles the parts (:meth:`reconcile`).
    """

    screened: int
    analysed: pd.DataFrame
    ledger: pd.DataFrame
    flow: pd.DataFrame
    id_column: str = field(default="patient_id")

    def __post_init__(self) -> None:
        self.reconcile()

    @property
    def n_analysed(self) -> int:
        """Number of patients in the analysed cohort."""
        return len(self.analysed)

    @property
    def n_excluded(self) -> int:
        """Number of patients excluded (rows of the ledger)."""
        return len(self.ledger)

    def reconcile(self, screened_ids: Sequence[object] | None = None) -> None:
        """Check that every count agrees; raise :class:`CohortError` naming what disagrees.

        screened = analysed + excluded; no id twice; the flow's counts equal the ledger's and step
        down to the analysed n; with ``screened_ids``, the ids are exactly those.

        >>> reg = pd.DataFrame({"patient_id": ["a", "b"], "primary_site": ["trunk_wall", "mediastinum"],
        ...                     "first_pm_elsewhere": ["no", "no"]})
        >>> assemble_cohort(reg).reconcile(["a", "b", "c"])
        Traceback (most recent call last):
        ...
        helpers.cohort.CohortError: ...
        """
        problems: list[str] = []
        analysed_ids = list(self.analysed[self.id_column])
        ledger_ids = list(self.ledger["patient_id"])
        if self.screened != len(analysed_ids) + len(ledger_ids):
            problems.append(f"screened ({self.screened}) != analysed ({len(analysed_ids)}) + excluded ({len(ledger_ids)})")
        all_ids = pd.Series(analysed_ids + ledger_ids, dtype=object)
        twice = all_ids[all_ids.duplicated()].unique()
        if len(twice):
            problems.append(f"patient id(s) counted more than once (analysed and/or ledger): {_ids_text(twice)}")
        if screened_ids is not None:
            expected = set(screened_ids)
            found = set(all_ids)
            if expected - found:
                problems.append(f"screened patient id(s) neither analysed nor excluded: "
                                f"{_ids_text(sorted(map(str, expected - found)))}")
            if found - expected:
                problems.append(f"patient id(s) analysed or excluded but not screened: "
                                f"{_ids_text(sorted(map(str, found - expected)))}")
        flow = self.flow
        if list(flow.columns[:4]) != list(FLOW_COLUMNS):
            problems.append(f"flow columns expected {list(FLOW_COLUMNS)}, found {list(flow.columns)}")
        else:
            exclusions = flow[~flow["reason"].isin([SCREENED_ROW, ANALYSED_ROW])]
            ledger_counts = self.ledger["reason"].value_counts()
            for reason, n in zip(exclusions["reason"], exclusions["n_excluded"], strict=True):
                if int(ledger_counts.get(reason, 0)) != int(n):
                    problems.append(f"flow says {int(n)} excluded for {reason!r}, the ledger has "
                                    f"{int(ledger_counts.get(reason, 0))}")
            not_in_flow = sorted(set(ledger_counts.index) - set(exclusions["reason"]))
            if not_in_flow:
                problems.append(f"ledger reason(s) missing from the flow table: {not_in_flow}")
            remaining = self.screened - flow["n_excluded"].cumsum()
            if not remaining.reset_index(drop=True).equals(flow["n_remaining"].reset_index(drop=True)
                                                           .astype(remaining.dtype)):
                problems.append("flow n_remaining does not step down by n_excluded from screened: "
                                f"expected {remaining.tolist()}, found {flow['n_remaining'].tolist()}")
            if len(flow) and int(flow["n_remaining"].iloc[-1]) != len(analysed_ids):
                problems.append(f"flow ends with {int(flow['n_remaining'].iloc[-1])} remaining, the analysed "
                                f"cohort has {len(analysed_ids)}")
        if problems:
            raise CohortError("cohort counts do not reconcile: " + "; ".join(problems))


def _yes_no(values: pd.Series, column: str, ids: pd.Series) -> pd.Series:
    """Map a yes/no column to booleans; raise naming the ids of missing or other values."""
    mapped = values.map(lambda v: _YES_NO.get(v) if isinstance(v, str | bool) else None)
    bad = mapped.isna()
    if bad.any():
        found = sorted({str(v) for v in values[bad]})
        raise CohortError(f"column {column!r}: expected 'yes' or 'no', found {found} for patient id(s) "
                          f"{_ids_text(ids[bad])}")
    return mapped.astype(bool)


def _check_ids_and_sites(registry: pd.DataFrame, id_column: str, site_column: str,
                         eligible: list[str]) -> None:
    """Raise :class:`CohortError` naming rows or ids: missing/duplicate ids, unknown sites."""
    ids = registry[id_column]
    if ids.isna().any():
        raise CohortError(f"column {id_column!r}: missing patient id in row(s) "
                          f"{registry.index[ids.isna()].tolist()} (frame index; expected every row to carry an id)")
    duplicated = ids[ids.duplicated(keep=False)].unique()
    if len(duplicated):
        raise CohortError(f"column {id_column!r}: patient ids must be unique, found duplicates "
                          f"{_ids_text(duplicated)}")
    sites, known = registry[site_column], set(eligible) | set(EXCLUDED_SITE_REASONS)
    unknown = sites.isna() | ~sites.isin(known)
    if unknown.any():
        raise CohortError(f"column {site_column!r}: expected one of {sorted(known)}, found "
                          f"{sorted({str(v) for v in sites[unknown]})} for patient id(s) {_ids_text(ids[unknown])}")


def assemble_cohort(
    registry: pd.DataFrame, *, id_column: str = "patient_id", eligible_sites: Sequence[str] = ("trunk_wall", "extremities"),
    site_column: str = "primary_site", elsewhere_column: str = "first_pm_elsewhere",
) -> CohortResult:
    """Apply the study's eligibility criteria in order and account for every patient.

    Step 1 excludes primaries outside ``eligible_sites`` (one reason per excluded site, in the
    paper's order); step 2 excludes, among those left, patients whose first PM was done at
    another hospital (``elsewhere_column``, yes/no). A patient failing both is counted once, at
    step 1. The counts are reconciled before returning (screened = analysed + excluded).

    ``eligible_sites``: listing one of the four excluded sites keeps it (its flow row shows 0); a
    site neither eligible nor a known exclusion raises. :class:`CohortError` names the ids of a
    missing, duplicated or unknown value, or a missing column: nothing is dropped silently.

    >>> reg = pd.DataFrame({"patient_id": ["a", "b", "c"],
    ...                     "primary_site": ["trunk_wall", "mediastinum", "extremities"],
    ...                     "first_pm_elsewhere": ["no", "no", "yes"]})
    >>> result = assemble_cohort(reg)
    >>> result.analysed["patient_id"].tolist(), result.ledger["reason"].tolist()
    (['a'], ['primary_in_mediastinum', 'initial_pm_at_another_hospital'])
    """
    if not isinstance(registry, pd.DataFrame):
        raise TypeError(f"registry must be a pandas DataFrame, got {type(registry).__name__}")
    _require_columns(registry, [id_column, site_column, elsewhere_column], "assemble_cohort")
    eligible = list(dict.fromkeys(eligible_sites))
    if not eligible:
        raise CohortError("eligible_sites is empty: no patient could be analysed")
    _check_ids_and_sites(registry, id_column, site_column, eligible)
    ids, sites = registry[id_column], registry[site_column]
    elsewhere = _yes_no(registry[elsewhere_column], elsewhere_column, ids)
    remaining = pd.Series(True, index=registry.index)
    ledger, flow = [], [(0, SCREENED_ROW, 0, len(registry))]
    steps = [(1, reason, sites.eq(site) & (site not in eligible)) for site, reason in EXCLUDED_SITE_REASONS.items()]
    for step, reason, excluded in [*steps, (2, ELSEWHERE_REASON, elsewhere)]:
        hit = remaining & excluded
        ledger.append(pd.DataFrame({"patient_id": ids[hit], "step": step, "reason": reason}))
        remaining &= ~hit
        flow.append((step, reason, int(hit.sum()), int(remaining.sum())))
    flow.append((3, ANALYSED_ROW, 0, int(remaining.sum())))
    result = CohortResult(
        screened=len(registry),
        analysed=registry.loc[remaining].copy(),
        ledger=pd.concat(ledger, ignore_index=True).astype({"step": int}).loc[:, list(LEDGER_COLUMNS)],
        flow=pd.DataFrame(flow, columns=list(FLOW_COLUMNS)).astype({"step": int, "n_excluded": int, "n_remaining": int}),
        id_column=id_column,
    )
    result.reconcile(list(ids))
    return result


# ---- derived factors ---------------------------------------------------------------------------------

#: The three liposarcoma subtypes forming the paper's "Liposarcoma" group.
LIPOSARCOMA_SUBTYPES: tuple[str, ...] = ("dedifferentiated_liposarcoma", "pleomorphic_liposarcoma", "myxoid_liposarcoma")
#: Rules a :class:`FactorSpec` may use.
FACTOR_RULES: tuple[str, ...] = ("cutoff", "codes", "members", "count")


@dataclass(frozen=True)
class FactorSpec:
    """How one dichotomised factor of Table 2 is derived from one registry column (``source``).

    ``rule``: ``"cutoff"`` (``value < cut-off`` is the first level, ``lt_<c>_<unit>``; the
    cut-off is ``DerivedFactors.cutoffs[cutoff]``); ``"codes"`` (``codes`` maps each allowed value
    to a level key); ``"members"`` (a value in ``codes`` is the first level, other text the
    second); ``"count"`` (a whole number >= 1; 1 is the first level). ``levels``: ``(key, label)``,
    the paper's first row first (built from the cut-off for ``"cutoff"``). ``reference``: the
    reference key (``"lt"``/``"ge"`` for a cut-off), from ``"table3"`` (the paper) or ``"convention"``.
    """

    name: str
    label: str
    source: str
    rule: str
    levels: tuple[tuple[str, str], ...]
    reference: str
    reference_source: str = "convention"
    cutoff: str | None = None
    unit: str = ""
    codes: Mapping[object, str] | tuple[str, ...] = ()


def _cut(name: str, label: str, source: str, cutoff: str, unit: str, reference: str,
         ref_source: str = "convention") -> FactorSpec:
    return FactorSpec(name, label, source, "cutoff", (), reference, ref_source, cutoff, unit)


def _two(name: str, label: str, source: str, first: str, second: str, reference: str,
         ref_source: str = "convention") -> FactorSpec:
    """A factor whose registry codes are its level keys (labels: the keys capitalised)."""
    levels = tuple((k, k.replace("_", " ").capitalize()) for k in (first, second))
    return FactorSpec(name, label, source, "codes", levels, reference, ref_source,
                      codes={first: first, second: second})


def _histology(key: str, text: str, members: tuple[str, ...], ref_source: str) -> FactorSpec:
    other = f"Non-{text}" if text.isupper() else f"Non-{text.lower()}"
    level = key.removeprefix("primary_histology_").replace("synovial_sarcoma", "ss")
    return FactorSpec(key, f"Primary histology: {text} vs {other}", "histology", "members",
                      ((level, text), (f"non_{level}", other)), f"non_{level}", ref_source, codes=members)


_YES_NO_LEVELS = (("yes", "Yes"), ("no", "No"))
_YES_NO_CODES = {"yes": "yes", "no": "no", True: "yes", False: "no"}

#: The paper's 17 factors in Table 2 order: one row of the derivation table each.
FACTOR_SPECS: tuple[FactorSpec, ...] = (
    _cut("age_years", "Age (years)", "age_at_pm_years", "age_years", "", "lt"),
    _two("sex", "Sex", "sex", "male", "female", "male"),
    _cut("disease_free_interval", "Disease-free interval", "dfi_months", "dfi_months", "months", "ge", "table3"),
    _histology("primary_histology_synovial_sarcoma", "SS", ("synovial_sarcoma",), "convention"),
    _histology("primary_histology_ups", "UPS", ("undifferentiated_pleomorphic_sarcoma",), "table3"),
    _histology("primary_histology_liposarcoma", "Liposarcoma", LIPOSARCOMA_SUBTYPES, "convention"),
    _histology("primary_histology_mfs", "MFS", ("myxofibrosarcoma",), "convention"),
    _histology("primary_histology_leiomyosarcoma", "Leiomyosarcoma", ("leiomyosarcoma",), "convention"),
    _two("primary_site", "Primary site", "primary_site", "trunk_wall", "extremities", "trunk_wall"),
    _cut("primary_lesion_size", "Size of primary lesion", "primary_tumor_size_cm", "primary_size_cm", "cm", "lt"),
    _two("lung_metastasis_distribution", "Distribution of lung metastasis", "lung_metastasis_distribution",
         "unilateral", "bilateral", "unilateral"),
    FactorSpec("lung_metastasis_number", "Number of lung metastases", "lung_metastasis_number", "count",
               (("solitary", "Solitary"), ("multiple", "Multiple")), "solitary", "table3"),
    _cut("largest_lung_lesion_size", "Size of largest lung lesion", "largest_lung_lesion_mm", "lesion_size_mm",
         "mm", "lt", "table3"),
    FactorSpec("pulmonary_resection_type", "Type of pulmonary resection", "resection_type", "codes",
               (("partial", "Partial"), ("anatomical", "Anatomical")), "partial",
               codes={"wide_wedge_resection": "partial", "segmentectomy": "anatomical", "lobectomy": "anatomical"}),
    FactorSpec("curative_resection", "Curative resection", "resection_status", "codes", _YES_NO_LEVELS, "yes",
               "table3", codes={"r0": "yes", "r1": "no", "r2": "no"}),
    FactorSpec("preoperative_chemotherapy", "Preoperative chemotherapy", "chemotherapy_before_pm", "codes",
               _YES_NO_LEVELS, "no", codes=_YES_NO_CODES),
    FactorSpec("postoperative_chemotherapy", "Postoperative chemotherapy", "chemotherapy_after_pm", "codes",
               _YES_NO_LEVELS, "no", codes=_YES_NO_CODES),
)
#: Registry columns ``derive_factors`` reads, by their data-dictionary names.
FACTOR_INPUT_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(f.source for f in FACTOR_SPECS if f.source != "dfi_months"))


def format_cutoff(value: float) -> str:
    """Cut-off as it appears in a level key: no trailing ``.0``, ``p`` for a decimal point.

    >>> format_cutoff(12.0), format_cutoff(12.5)
    ('12', '12p5')
    """
    return _number_text(value).replace(".", "p")


def _number_text(value: float) -> str:
    """``12.0 -> '12'``, ``12.5 -> '12.5'`` (shortest repr, no trailing zero)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


@dataclass(frozen=True)
class DerivedFactors:
    """The analysed cohort with the paper's dichotomised factors, and their description.

    ``data``: the cohort plus one ordered ``Categorical`` of level keys per factor (replacing a
    registry column of the same name). ``spec``: one row per (factor, level): ``variable,
    variable_label, level, level_label, position, is_reference, reference_source``; the reference
    is the paper's for the five Table 3 factors (``"table3"``), a stated convention otherwise.
    ``cutoffs``: the cut-offs in use. ``factors``: the factor keys in Table 2 order.
    """

    data: pd.DataFrame
    spec: pd.DataFrame
    cutoffs: dict[str, float]
    factors: list[str]

    def levels(self, factor: str) -> list[str]:
        """Level keys of ``factor`` in the paper's row order.

        >>> prepare("").factors.levels("disease_free_interval")
        ['lt_12_months', 'ge_12_months']
        """
        if factor not in self.factors:
            raise KeyError(f"unknown factor {factor!r}; known: {self.factors}")
        return self.spec.loc[self.spec["variable"] == factor, "level"].tolist()

    def reference(self, factor: str) -> str:
        """Reference level key of ``factor`` (see ``spec.is_reference``).

        >>> prepare("").factors.reference("curative_resection")
        'yes'
        """
        if factor not in self.factors:
            raise KeyError(f"unknown factor {factor!r}; known: {self.factors}")
        rows = self.spec[(self.spec["variable"] == factor) & self.spec["is_reference"]]
        return str(rows["level"].iloc[0])


def _check_cutoff(name: str, value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number, got {value!r}") from exc
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return value


def resolve_input_columns(keys: Sequence[str], columns: Mapping[str, str] | None, *, dfi_column: str) -> dict[str, str]:
    """Map each input key to the frame's column name: the key itself unless ``columns`` renames it.

    ``columns`` overrides ``{key: column}`` (an unknown key is an error); ``dfi_column`` is added
    under ``"dfi_months"``. Shared by :func:`derive_factors` and ``describe.make_table1``.

    >>> resolve_input_columns(("sex",), {"sex": "gender"}, dfi_column="dfi_months")
    {'sex': 'gender', 'dfi_months': 'dfi_months'}
    """
    names = {c: c for c in keys}
    if columns:
        unknown = sorted(set(columns) - set(keys))
        if unknown:
            raise ValueError(f"columns: unknown key(s) {unknown}; expected names from {tuple(keys)}")
        names.update(columns)
    names["dfi_months"] = dfi_column
    return names


def derive_factors(
    cohort: pd.DataFrame, *, age_cutoff_years: float = 50, dfi_cutoff_months: float = 12,
    primary_size_cutoff_cm: float = 10, lesion_size_cutoff_mm: float = 20, dfi_column: str = "dfi_months",
    id_column: str = "patient_id", columns: Mapping[str, str] | None = None, specs: Sequence[FactorSpec] = FACTOR_SPECS,
) -> DerivedFactors:
    """Dichotomise the analysed cohort into the paper's 17 factors (Table 2), one row of ``specs`` each.

    :data:`FACTOR_SPECS` is the derivation table: continuous factors split at ``value < cut-off``
    versus ``>=`` (the paper's "<12 months / ≥12 months"); each histology versus the rest;
    partial versus anatomical resection; R0 versus R1/R2; solitary versus multiple; chemotherapy.
    Cut-offs must be finite and positive (keys: :func:`format_cutoff`). ``columns`` maps a
    dictionary name to ``cohort``'s column; ``specs`` may be a subset or rows of your own.
    :class:`CohortError` names the column, patient ids and what was expected for an absent
    column or a missing or unexpected value.

    >>> d = pd.DataFrame({"patient_id": ["a", "b"], "dfi_months": [6.0, 30.0], "sex": ["male", "female"]})
    >>> derived = derive_factors(d, dfi_cutoff_months=18, specs=FACTOR_SPECS[1:3])
    >>> derived.data["disease_free_interval"].tolist()
    ['lt_18_months', 'ge_18_months']
    """
    if not isinstance(cohort, pd.DataFrame):
        raise TypeError(f"cohort must be a pandas DataFrame, got {type(cohort).__name__}")
    cut = _cutoffs(age_cutoff_years, dfi_cutoff_months, primary_size_cutoff_cm, lesion_size_cutoff_mm)
    specs = _checked_specs(specs)
    keys = tuple(dict.fromkeys(f.source for f in specs if f.source != "dfi_months"))
    names = resolve_input_columns(keys, columns, dfi_column=dfi_column)
    if not any(f.source == "dfi_months" for f in specs):
        names.pop("dfi_months")
    _require_columns(cohort, [id_column, *names.values()], "derive_factors")
    ids = cohort[id_column]
    missing = {c: ids[cohort[c].isna()] for c in names.values() if cohort[c].isna().any()}
    if missing:
        detail = "; ".join(f"{c!r}: patient id(s) {_ids_text(v)}" for c, v in missing.items())
        raise CohortError(f"derive_factors: missing values (expected none) in {detail}")
    data = cohort.copy()
    for f in specs:
        levels = _factor_levels(f, cut)
        values = _apply_rule(f, cohort[names[f.source]], names[f.source], ids, cut, levels)
        data[f.name] = pd.Categorical(values, categories=[k for k, _ in levels], ordered=True)
    return DerivedFactors(data=data, spec=_spec_table(specs, cut), cutoffs=cut, factors=[f.name for f in specs])


def _cutoffs(age: float, dfi: float, primary_size: float, lesion_size: float) -> dict[str, float]:
    return {"age_years": _check_cutoff("age_cutoff_years", age), "dfi_months": _check_cutoff("dfi_cutoff_months", dfi),
            "primary_size_cm": _check_cutoff("primary_size_cutoff_cm", primary_size),
            "lesion_size_mm": _check_cutoff("lesion_size_cutoff_mm", lesion_size)}


def _checked_specs(specs: Sequence[FactorSpec]) -> list[FactorSpec]:
    specs = list(specs)
    bad_rules = [f.name for f in specs if f.rule not in FACTOR_RULES]
    if bad_rules:
        raise ValueError(f"specs: factor(s) {bad_rules} have an unknown rule; expected one of {FACTOR_RULES}")
    return specs


def _spec_table(specs: Sequence[FactorSpec], cut: Mapping[str, float]) -> pd.DataFrame:
    rows = []
    for f in specs:
        levels = _factor_levels(f, cut)
        reference = {"lt": levels[0][0], "ge": levels[1][0]}.get(f.reference, f.reference)
        rows += [{"variable": f.name, "variable_label": f.label, "level": level, "level_label": text,
                  "position": position, "is_reference": level == reference, "reference_source": f.reference_source}
                 for position, (level, text) in enumerate(levels, start=1)]
    return pd.DataFrame(rows)


def factor_spec(*, age_cutoff_years: float = 50, dfi_cutoff_months: float = 12, primary_size_cutoff_cm: float = 10,
                lesion_size_cutoff_mm: float = 20, specs: Sequence[FactorSpec] = FACTOR_SPECS) -> pd.DataFrame:
    """``DerivedFactors.spec`` without data: the keys and printed labels for a run's cut-offs.

    >>> spec = factor_spec(dfi_cutoff_months=18).set_index(["variable", "level"])
    >>> spec.loc[("disease_free_interval", "lt_18_months"), "level_label"]
    '<18 months'
    """
    cut = _cutoffs(age_cutoff_years, dfi_cutoff_months, primary_size_cutoff_cm, lesion_size_cutoff_mm)
    return _spec_table(_checked_specs(specs), cut)


def _factor_levels(f: FactorSpec, cut: Mapping[str, float]) -> tuple[tuple[str, str], ...]:
    """The two ``(key, label)`` levels of ``f`` (a cut-off's from its value and unit)."""
    if f.rule != "cutoff":
        return f.levels
    c = cut[f.cutoff]
    key, text = format_cutoff(c) + (f"_{f.unit}" if f.unit else ""), _number_text(c) + (f" {f.unit}" if f.unit else "")
    return ((f"lt_{key}", f"<{text}"), (f"ge_{key}", f"≥{text}"))


def _apply_rule(f: FactorSpec, col: pd.Series, column: str, ids: pd.Series, cut: Mapping[str, float],
                levels: tuple[tuple[str, str], ...]) -> pd.Series:
    """The level key of every patient under ``f``'s rule; :class:`CohortError` naming bad values."""
    first, second = levels[0][0], levels[1][0]

    def fail(bad: pd.Series, expected: str, found: object = None) -> CohortError:
        found = sorted({str(v) for v in col[bad]}) if found is None else found
        return CohortError(f"column {column!r}: expected {expected}, found {found} for patient id(s) "
                           f"{_ids_text(ids[bad])}")

    if f.rule == "codes":
        values = col.map(lambda v: f.codes.get(v) if isinstance(v, str | bool) else None)
        if values.isna().any():
            raise fail(values.isna(), f"one of {sorted(map(str, f.codes))}")
        return values
    if f.rule == "members":
        text = col.map(lambda v: isinstance(v, str))
        if not text.all():
            raise fail(~text, "histology keys (text)" if f.source == "histology" else "text")
        return col.isin(f.codes).map({True: first, False: second})
    number = pd.to_numeric(col, errors="coerce")
    if number.isna().any():
        raise fail(number.isna(), "numbers")
    number = number.astype(float)
    if f.rule == "cutoff":
        return number.lt(cut[f.cutoff]).map({True: first, False: second})
    bad = (number < 1) | (number != number.round())
    if bad.any():
        raise fail(bad, "a whole number >= 1", sorted(set(number[bad])))
    return number.eq(1).map({True: first, False: second})


# ---- The whole chain in one call ---------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedData:
    """What :func:`prepare` returns: the registry path and every stage up to the derived factors."""

    registry_path: Path
    registry: pd.DataFrame = field(repr=False)
    cohort: CohortResult = field(repr=False)
    factors: DerivedFactors = field(repr=False)
    endpoint: str

    @property
    def data(self) -> pd.DataFrame:
        """The analysed patients with ``time_months``, ``event`` and one column per factor."""
        return self.factors.data


def prepare(
    registry_path: str | Path = "", *, mapping: Any = None, endpoint: str = "all_cause", age_cutoff_years: float = 50,
    dfi_cutoff_months: float = 12, primary_size_cutoff_cm: float = 10, lesion_size_cutoff_mm: float = 20,
) -> PreparedData:
    """Registry file -> validated registry -> analysed cohort -> survival columns -> factors.

    The chain every analysis notebook starts with: ``schema.load_registry`` (``""``: the shipped
    registry; ``mapping``: a local export's registry mapping), :func:`assemble_cohort`,
    ``schema.add_survival_columns`` (``endpoint``) and :func:`derive_factors` (the cut-offs).

    >>> prepared = prepare("", dfi_cutoff_months=18)
    >>> prepared.cohort.n_analysed, prepared.factors.levels("disease_free_interval")
    (66, ['lt_18_months', 'ge_18_months'])
    """
    path = resolve_registry_path(registry_path)
    registry = load_registry(path, mapping=mapping or None)
    cohort = assemble_cohort(registry)
    analysed = add_survival_columns(cohort.analysed, endpoint)
    factors = derive_factors(
        analysed, age_cutoff_years=age_cutoff_years, dfi_cutoff_months=dfi_cutoff_months,
        primary_size_cutoff_cm=primary_size_cutoff_cm, lesion_size_cutoff_mm=lesion_size_cutoff_mm,
    )
    return PreparedData(path, registry, cohort, factors, endpoint)
