"""Stage 2: the study cohort (eligibility, exclusion ledger, flow table) and the derived factors.

:func:`assemble_cohort` applies the paper's two eligibility criteria in order and accounts for
every screened patient: each one is either in the analysed cohort or in the exclusion ledger,
exactly once, and the flow table's counts are reconciled in code.

:func:`derive_factors` turns the analysed cohort into the paper's 17 dichotomised factors
(Table 2), each an ordered categorical column whose level keys carry the cut-off in use.

Both are written with pandas rather than a library: no well-kept package builds a CONSORT-style
exclusion ledger, and the dichotomies are one-line comparisons whose only subtlety (strict ``<``,
the level keys and labels) is the study's own convention.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

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
        raise CohortError(
            f"{what}: column(s) {missing} expected but not found; the frame has "
            f"{list(frame.columns)}"
        )


@dataclass(frozen=True)
class CohortResult:
    """The analysed cohort, the exclusion ledger and the flow table of one registry.

    Constructing a ``CohortResult`` checks that the parts reconcile (see :meth:`reconcile`);
    inconsistent parts raise :class:`CohortError`.

    Attributes
    ----------
    screened
        Number of patients screened (rows of the registry).
    analysed
        The eligible patients, all registry columns kept, in registry order.
    ledger
        One row per excluded patient: ``patient_id``, ``step`` (1 primary site, 2 first PM
        elsewhere) and ``reason`` (a key of ``published_targets.json`` ``cohort_flow``).
    flow
        Columns ``step, reason, n_excluded, n_remaining``: a first row ``step 0 / screened``
        (0 excluded, all screened remaining), one row per exclusion reason in the order the
        criteria are applied (reasons with no patient are kept with 0), and a last row
        ``step 3 / analysed`` (0 excluded, the analysed n remaining). ``n_excluded`` sums to the
        number excluded, and ``n_remaining`` of each row is the previous row's minus this row's
        ``n_excluded``.
    id_column
        Name of the patient-id column of ``analysed``.
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

        Checks: screened = analysed + excluded; no patient id is twice in the analysed cohort
        or the ledger, nor in both; the flow's ``n_excluded`` per reason equals the ledger's
        count; ``n_remaining`` steps down by ``n_excluded`` from ``screened`` to the analysed n;
        and, when ``screened_ids`` is given, the analysed and excluded ids are exactly those.

        Parameters
        ----------
        screened_ids
            The ids of the screened registry, if known.

        Returns
        -------
        None

        Example
        -------
        >>> result.reconcile(registry["patient_id"])  # doctest: +SKIP
        """
        problems: list[str] = []
        analysed_ids = list(self.analysed[self.id_column])
        ledger_ids = list(self.ledger["patient_id"])
        if self.screened != len(analysed_ids) + len(ledger_ids):
            problems.append(
                f"screened ({self.screened}) != analysed ({len(analysed_ids)}) + excluded "
                f"({len(ledger_ids)})"
            )
        all_ids = pd.Series(analysed_ids + ledger_ids, dtype=object)
        twice = all_ids[all_ids.duplicated()].unique()
        if len(twice):
            problems.append(
                f"patient id(s) counted more than once (analysed and/or ledger): {_ids_text(twice)}"
            )
        if screened_ids is not None:
            expected = set(screened_ids)
            found = set(all_ids)
            if expected - found:
                problems.append(
                    f"screened patient id(s) neither analysed nor excluded: "
                    f"{_ids_text(sorted(map(str, expected - found)))}"
                )
            if found - expected:
                problems.append(
                    f"patient id(s) analysed or excluded but not screened: "
                    f"{_ids_text(sorted(map(str, found - expected)))}"
                )
        flow = self.flow
        if list(flow.columns[:4]) != list(FLOW_COLUMNS):
            problems.append(f"flow columns expected {list(FLOW_COLUMNS)}, found {list(flow.columns)}")
        else:
            exclusions = flow[~flow["reason"].isin([SCREENED_ROW, ANALYSED_ROW])]
            ledger_counts = self.ledger["reason"].value_counts()
            for reason, n in zip(exclusions["reason"], exclusions["n_excluded"], strict=True):
                if int(ledger_counts.get(reason, 0)) != int(n):
                    problems.append(
                        f"flow says {int(n)} excluded for {reason!r}, the ledger has "
                        f"{int(ledger_counts.get(reason, 0))}"
                    )
            not_in_flow = sorted(set(ledger_counts.index) - set(exclusions["reason"]))
            if not_in_flow:
                problems.append(f"ledger reason(s) missing from the flow table: {not_in_flow}")
            remaining = self.screened - flow["n_excluded"].cumsum()
            if not remaining.reset_index(drop=True).equals(
                flow["n_remaining"].reset_index(drop=True).astype(remaining.dtype)
            ):
                problems.append(
                    "flow n_remaining does not step down by n_excluded from screened: "
                    f"expected {remaining.tolist()}, found {flow['n_remaining'].tolist()}"
                )
            if len(flow) and int(flow["n_remaining"].iloc[-1]) != len(analysed_ids):
                problems.append(
                    f"flow ends with {int(flow['n_remaining'].iloc[-1])} remaining, the analysed "
                    f"cohort has {len(analysed_ids)}"
                )
        if problems:
            raise CohortError("cohort counts do not reconcile: " + "; ".join(problems))


def _yes_no(values: pd.Series, column: str, ids: pd.Series) -> pd.Series:
    """Map a yes/no column to booleans; raise naming the ids of missing or other values."""
    mapped = values.map(lambda v: _YES_NO.get(v) if isinstance(v, str | bool) else None)
    bad = mapped.isna()
    if bad.any():
        found = sorted({str(v) for v in values[bad]})
        raise CohortError(
            f"column {column!r}: expected 'yes' or 'no', found {found} for patient id(s) "
            f"{_ids_text(ids[bad])}"
        )
    return mapped.astype(bool)


def assemble_cohort(
    registry: pd.DataFrame,
    *,
    id_column: str = "patient_id",
    eligible_sites: Sequence[str] = ("trunk_wall", "extremities"),
    site_column: str = "primary_site",
    elsewhere_column: str = "first_pm_elsewhere",
) -> CohortResult:
    """Apply the study's eligibility criteria in order and account for every patient.

    Step 1 excludes primaries outside ``eligible_sites`` (reasons, in the paper's order:
    ``primary_in_parenchymal_organs``, ``primary_in_mediastinum``, ``primary_in_retroperitoneum``,
    ``primary_in_head_and_neck``); step 2 excludes, among those left, patients whose first PM was
    done at another hospital (``initial_pm_at_another_hospital``). A patient failing both is
    counted once, at step 1. The counts are reconciled before returning (screened = analysed +
    excluded, every id in exactly one place); a mismatch raises :class:`CohortError`.

    Parameters
    ----------
    registry
        One row per screened patient (e.g. from ``helpers.schema.load_registry``).
    id_column
        Patient-id column; ids must be present and unique.
    eligible_sites
        Primary sites kept. Any of the four excluded sites may be listed here to keep it (its
        flow row then shows 0); a site that is neither eligible nor one of the four known
        exclusion sites raises, so that nothing is dropped silently.
    site_column
        Column of the primary site (values of the data dictionary, e.g. ``"trunk_wall"``).
    elsewhere_column
        Column saying whether the first PM was done at another hospital (``"yes"``/``"no"`` or
        booleans).

    Returns
    -------
    CohortResult
        ``.screened`` (int), ``.analysed`` (DataFrame, registry order, all columns),
        ``.ledger`` (``patient_id, step, reason``), ``.flow`` (``step, reason, n_excluded,
        n_remaining``, with a ``screened`` first row and an ``analysed`` last row).

    Raises
    ------
    CohortError
        A column is missing; an id is missing or duplicated; a site or a yes/no value is missing
        or unknown (the message names the patient ids); the counts do not reconcile.

    Example
    -------
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

    ids = registry[id_column]
    if ids.isna().any():
        rows = registry.index[ids.isna()].tolist()
        raise CohortError(
            f"column {id_column!r}: missing patient id in row(s) {rows} (frame index; "
            "expected every row to carry an id)"
        )
    duplicated = ids[ids.duplicated(keep=False)].unique()
    if len(duplicated):
        raise CohortError(
            f"column {id_column!r}: patient ids must be unique, found duplicates "
            f"{_ids_text(duplicated)}"
        )

    sites = registry[site_column]
    known = set(eligible) | set(EXCLUDED_SITE_REASONS)
    unknown = sites.isna() | ~sites.isin(known)
    if unknown.any():
        found = sorted({str(v) for v in sites[unknown]})
        raise CohortError(
            f"column {site_column!r}: expected one of {sorted(known)}, found {found} for "
            f"patient id(s) {_ids_text(ids[unknown])}"
        )
    elsewhere = _yes_no(registry[elsewhere_column], elsewhere_column, ids)

    ledger_parts: list[pd.DataFrame] = []
    flow_rows: list[dict[str, object]] = [
        {"step": 0, "reason": SCREENED_ROW, "n_excluded": 0, "n_remaining": len(registry)}
    ]
    remaining = pd.Series(True, index=registry.index)
    for site, reason in EXCLUDED_SITE_REASONS.items():
        hit = remaining & sites.eq(site) & (site not in eligible)
        ledger_parts.append(pd.DataFrame({"patient_id": ids[hit], "step": 1, "reason": reason}))
        remaining &= ~hit
        flow_rows.append(
            {"step": 1, "reason": reason, "n_excluded": int(hit.sum()),
             "n_remaining": int(remaining.sum())}
        )
    hit = remaining & elsewhere
    ledger_parts.append(pd.DataFrame({"patient_id": ids[hit], "step": 2, "reason": ELSEWHERE_REASON}))
    remaining &= ~hit
    flow_rows.append(
        {"step": 2, "reason": ELSEWHERE_REASON, "n_excluded": int(hit.sum()),
         "n_remaining": int(remaining.sum())}
    )
    flow_rows.append(
        {"step": 3, "reason": ANALYSED_ROW, "n_excluded": 0, "n_remaining": int(remaining.sum())}
    )

    ledger = pd.concat(ledger_parts, ignore_index=True).astype({"step": int})
    ledger = ledger.loc[:, list(LEDGER_COLUMNS)]
    flow = pd.DataFrame(flow_rows, columns=list(FLOW_COLUMNS)).astype(
        {"step": int, "n_excluded": int, "n_remaining": int}
    )
    result = CohortResult(
        screened=len(registry),
        analysed=registry.loc[remaining].copy(),
        ledger=ledger,
        flow=flow,
        id_column=id_column,
    )
    result.reconcile(list(ids))
    return result


# --------------------------------------------------------------------------------------------
# derived factors
# --------------------------------------------------------------------------------------------

#: Registry columns ``derive_factors`` reads, by their data-dictionary names.
FACTOR_INPUT_COLUMNS: tuple[str, ...] = (
    "age_at_pm_years",
    "sex",
    "histology",
    "primary_site",
    "primary_tumor_size_cm",
    "lung_metastasis_distribution",
    "lung_metastasis_number",
    "largest_lung_lesion_mm",
    "resection_type",
    "resection_status",
    "chemotherapy_before_pm",
    "chemotherapy_after_pm",
)
#: The three liposarcoma subtypes forming the paper's "Liposarcoma" group.
LIPOSARCOMA_SUBTYPES: tuple[str, ...] = (
    "dedifferentiated_liposarcoma",
    "pleomorphic_liposarcoma",
    "myxoid_liposarcoma",
)
_RESECTION_GROUPS = {
    "wide_wedge_resection": "partial",
    "segmentectomy": "anatomical",
    "lobectomy": "anatomical",
}
_CURATIVE = {"r0": "yes", "r1": "no", "r2": "no"}


def format_cutoff(value: float) -> str:
    """Cut-off as it appears in a level key: no trailing ``.0``, a decimal point becomes ``p``.

    Parameters
    ----------
    value
        A finite cut-off.

    Returns
    -------
    str
        ``12 -> "12"``, ``12.0 -> "12"``, ``12.5 -> "12p5"``, ``0.25 -> "0p25"`` (so level keys
        stay valid identifiers, e.g. ``lt_12p5_months``).

    Example
    -------
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

    Attributes
    ----------
    data
        The input cohort plus one column per factor key: an ordered pandas ``Categorical`` of
        level keys, the paper's first row first. Where a factor key equals a registry column
        (``sex``, ``primary_site``, ``lung_metastasis_distribution``) the column is replaced by
        the categorical of the same values.
    spec
        One row per (factor, level): ``variable, variable_label, level, level_label, position``
        (1 = the paper's first row) ``, is_reference, reference_source``. Exactly one level per
        factor has ``is_reference``: for the five Table 3 factors the paper's reference
        (``reference_source == "table3"``: ``ge_<dfi>_months``, ``non_ups``, ``solitary``,
        ``lt_<lesion>_mm``, curative ``yes``); for the others a stated convention
        (``"convention"``: the younger, male, non-<histology>, trunk wall, smaller, unilateral,
        partial, no chemotherapy level).
    cutoffs
        The cut-offs in use: ``age_years``, ``dfi_months``, ``primary_size_cm``,
        ``lesion_size_mm``.
    factors
        The 17 factor keys in the paper's Table 2 order.
    """

    data: pd.DataFrame
    spec: pd.DataFrame
    cutoffs: dict[str, float]
    factors: list[str]

    def levels(self, factor: str) -> list[str]:
        """Level keys of ``factor`` in the paper's row order.

        Parameters
        ----------
        factor
            A factor key, e.g. ``"disease_free_interval"``.

        Returns
        -------
        list of str

        Example
        -------
        >>> derived.levels("disease_free_interval")  # doctest: +SKIP
        ['lt_12_months', 'ge_12_months']
        """
        if factor not in self.factors:
            raise KeyError(f"unknown factor {factor!r}; known: {self.factors}")
        return self.spec.loc[self.spec["variable"] == factor, "level"].tolist()

    def reference(self, factor: str) -> str:
        """Reference level key of ``factor`` (see ``spec.is_reference``).

        Parameters
        ----------
        factor
            A factor key.

        Returns
        -------
        str

        Example
        -------
        >>> derived.reference("curative_resection")  # doctest: +SKIP
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


def resolve_input_columns(
    keys: Sequence[str], columns: Mapping[str, str] | None, *, dfi_column: str
) -> dict[str, str]:
    """Map each input key to the frame's column name: the key itself unless ``columns`` renames it.

    Shared by :func:`derive_factors` and ``helpers.describe.make_table1``, which both let a
    registry with other column names be used without renaming it first.

    Parameters
    ----------
    keys
        The data-dictionary names the function reads.
    columns
        Optional ``{key: column in the frame}`` overrides; an unknown key is an error.
    dfi_column
        The frame's disease-free-interval column (in months), under the key ``"dfi_months"``.

    Returns
    -------
    dict
        ``{key: column}`` for every key plus ``"dfi_months"``.

    Example
    -------
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
    cohort: pd.DataFrame,
    *,
    age_cutoff_years: float = 50,
    dfi_cutoff_months: float = 12,
    primary_size_cutoff_cm: float = 10,
    lesion_size_cutoff_mm: float = 20,
    dfi_column: str = "dfi_months",
    id_column: str = "patient_id",
    columns: Mapping[str, str] | None = None,
) -> DerivedFactors:
    """Dichotomise the analysed cohort into the paper's 17 factors (Table 2).

    Continuous factors split at ``value < cut-off`` (level ``lt_<c>...``, label ``"<c ..."``)
    versus ``value >= cut-off`` (``ge_<c>...``, ``"≥c ..."``), as the paper's "<12 months /
    ≥12 months". Categorical factors: each histology versus the rest (liposarcoma = the three
    liposarcoma subtypes; UPS = undifferentiated pleomorphic sarcoma; MFS = myxofibrosarcoma),
    resection partial (wide wedge) versus anatomical (segmentectomy, lobectomy), curative
    resection yes (R0) versus no (R1 or R2), solitary (one metastasis) versus multiple, and
    chemotherapy before / after PM yes versus no (a patient given both counts as yes in both).

    Parameters
    ----------
    cohort
        The analysed cohort (``CohortResult.analysed``) with ``dfi_column`` added (e.g. by
        ``helpers.schema.add_survival_columns``).
    age_cutoff_years, dfi_cutoff_months, primary_size_cutoff_cm, lesion_size_cutoff_mm
        Cut-offs (finite, positive). A cut-off appears in its level keys with no trailing
        ``.0`` and ``p`` for a decimal point (:func:`format_cutoff`: ``lt_12p5_months``) and in
        its labels as a number (``"<12.5 months"``).
    dfi_column
        Column of the disease-free interval in months.
    id_column
        Patient-id column (used to name patients in error messages).
    columns
        Optional map from a data-dictionary column name (``FACTOR_INPUT_COLUMNS``, e.g.
        ``"largest_lung_lesion_mm"``) to the name used in ``cohort``.

    Returns
    -------
    DerivedFactors
        ``.data`` (cohort + one ordered categorical column per factor), ``.spec``,
        ``.cutoffs``, ``.factors``.

    Raises
    ------
    CohortError
        A needed column is absent, or has missing or unexpected values (the message names the
        column, the patient ids and what was expected).
    ValueError
        A cut-off is not a finite positive number.

    Example
    -------
    >>> derived = derive_factors(cohort, dfi_cutoff_months=18)  # doctest: +SKIP
    >>> derived.data["disease_free_interval"].cat.categories.tolist()  # doctest: +SKIP
    ['lt_18_months', 'ge_18_months']
    """
    if not isinstance(cohort, pd.DataFrame):
        raise TypeError(f"cohort must be a pandas DataFrame, got {type(cohort).__name__}")
    cut = {
        "age_years": _check_cutoff("age_cutoff_years", age_cutoff_years),
        "dfi_months": _check_cutoff("dfi_cutoff_months", dfi_cutoff_months),
        "primary_size_cm": _check_cutoff("primary_size_cutoff_cm", primary_size_cutoff_cm),
        "lesion_size_mm": _check_cutoff("lesion_size_cutoff_mm", lesion_size_cutoff_mm),
    }
    names = resolve_input_columns(FACTOR_INPUT_COLUMNS, columns, dfi_column=dfi_column)
    _require_columns(cohort, [id_column, *names.values()], "derive_factors")
    ids = cohort[id_column]

    missing = {c: ids[cohort[c].isna()] for c in names.values() if cohort[c].isna().any()}
    if missing:
        detail = "; ".join(f"{c!r}: patient id(s) {_ids_text(v)}" for c, v in missing.items())
        raise CohortError(f"derive_factors: missing values (expected none) in {detail}")

    def col(key: str) -> pd.Series:
        return cohort[names[key]]

    def numeric(key: str) -> pd.Series:
        values = pd.to_numeric(col(key), errors="coerce")
        bad = values.isna()
        if bad.any():
            found = sorted({str(v) for v in col(key)[bad]})
            raise CohortError(
                f"column {names[key]!r}: expected numbers, found {found} for patient id(s) "
                f"{_ids_text(ids[bad])}"
            )
        return values.astype(float)

    def mapped(key: str, mapping: Mapping[object, str]) -> pd.Series:
        values = col(key).map(lambda v: mapping.get(v) if isinstance(v, str | bool) else None)
        bad = values.isna()
        if bad.any():
            found = sorted({str(v) for v in col(key)[bad]})
            raise CohortError(
                f"column {names[key]!r}: expected one of {sorted(map(str, mapping))}, found "
                f"{found} for patient id(s) {_ids_text(ids[bad])}"
            )
        return values

    specs: list[tuple[str, str, list[tuple[str, str]], str, str]] = []
    values: dict[str, pd.Series] = {}

    def add(key: str, label: str, levels: list[tuple[str, str]], reference: str, source: str,
            series: pd.Series) -> None:
        specs.append((key, label, levels, reference, source))
        values[key] = series

    def split(key: str, series: pd.Series, cutoff: float, unit_key: str, unit_label: str,
              label: str, reference: str, source: str) -> None:
        c_key, c_text = format_cutoff(cutoff), _number_text(cutoff)
        suffix_key = f"_{unit_key}" if unit_key else ""
        suffix_label = f" {unit_label}" if unit_label else ""
        lt, ge = f"lt_{c_key}{suffix_key}", f"ge_{c_key}{suffix_key}"
        levels = [(lt, f"<{c_text}{suffix_label}"), (ge, f"≥{c_text}{suffix_label}")]
        ref = lt if reference == "lt" else ge
        add(key, label, levels, ref, source, series.lt(cutoff).map({True: lt, False: ge}))

    split("age_years", numeric("age_at_pm_years"), cut["age_years"], "", "", "Age (years)",
          "lt", "convention")
    sex = mapped("sex", {"male": "male", "female": "female"})
    add("sex", "Sex", [("male", "Male"), ("female", "Female")], "male", "convention", sex)
    split("disease_free_interval", numeric("dfi_months"), cut["dfi_months"], "months", "months",
          "Disease-free interval", "ge", "table3")

    histology = col("histology")
    if not all(isinstance(v, str) for v in histology):
        bad = ~histology.map(lambda v: isinstance(v, str))
        raise CohortError(
            f"column {names['histology']!r}: expected histology keys (text), found "
            f"{sorted({str(v) for v in histology[bad]})} for patient id(s) {_ids_text(ids[bad])}"
        )
    groups = [
        ("primary_histology_synovial_sarcoma", "SS", "ss", ("synovial_sarcoma",),
         "Primary histology: SS vs Non-SS", "convention"),
        ("primary_histology_ups", "UPS", "ups", ("undifferentiated_pleomorphic_sarcoma",),
         "Primary histology: UPS vs Non-UPS", "table3"),
        ("primary_histology_liposarcoma", "Liposarcoma", "liposarcoma", LIPOSARCOMA_SUBTYPES,
         "Primary histology: Liposarcoma vs Non-liposarcoma", "convention"),
        ("primary_histology_mfs", "MFS", "mfs", ("myxofibrosarcoma",),
         "Primary histology: MFS vs Non-MFS", "convention"),
        ("primary_histology_leiomyosarcoma", "Leiomyosarcoma", "leiomyosarcoma",
         ("leiomyosarcoma",), "Primary histology: Leiomyosarcoma vs Non-leiomyosarcoma",
         "convention"),
    ]
    for key, text, level, members, label, source in groups:
        other_label = f"Non-{text}" if text.isupper() else f"Non-{text.lower()}"
        add(key, label, [(level, text), (f"non_{level}", other_label)], f"non_{level}", source,
            histology.isin(members).map({True: level, False: f"non_{level}"}))

    site = mapped("primary_site", {"trunk_wall": "trunk_wall", "extremities": "extremities"})
    add("primary_site", "Primary site", [("trunk_wall", "Trunk wall"),
                                         ("extremities", "Extremities")],
        "trunk_wall", "convention", site)
    split("primary_lesion_size", numeric("primary_tumor_size_cm"), cut["primary_size_cm"], "cm",
          "cm", "Size of primary lesion", "lt", "convention")
    distribution = mapped("lung_metastasis_distribution",
                          {"unilateral": "unilateral", "bilateral": "bilateral"})
    add("lung_metastasis_distribution", "Distribution of lung metastasis",
        [("unilateral", "Unilateral"), ("bilateral", "Bilateral")], "unilateral", "convention",
        distribution)
    number = numeric("lung_metastasis_number")
    bad = (number < 1) | (number != number.round())
    if bad.any():
        raise CohortError(
            f"column {names['lung_metastasis_number']!r}: expected a whole number >= 1, found "
            f"{sorted(set(number[bad]))} for patient id(s) {_ids_text(ids[bad])}"
        )
    add("lung_metastasis_number", "Number of lung metastases",
        [("solitary", "Solitary"), ("multiple", "Multiple")], "solitary", "table3",
        number.eq(1).map({True: "solitary", False: "multiple"}))
    split("largest_lung_lesion_size", numeric("largest_lung_lesion_mm"), cut["lesion_size_mm"],
          "mm", "mm", "Size of largest lung lesion", "lt", "table3")
    add("pulmonary_resection_type", "Type of pulmonary resection",
        [("partial", "Partial"), ("anatomical", "Anatomical")], "partial", "convention",
        mapped("resection_type", _RESECTION_GROUPS))
    add("curative_resection", "Curative resection", [("yes", "Yes"), ("no", "No")], "yes",
        "table3", mapped("resection_status", _CURATIVE))
    for key, source_col, label in (
        ("preoperative_chemotherapy", "chemotherapy_before_pm", "Preoperative chemotherapy"),
        ("postoperative_chemotherapy", "chemotherapy_after_pm", "Postoperative chemotherapy"),
    ):
        add(key, label, [("yes", "Yes"), ("no", "No")], "no", "convention",
            mapped(source_col, {"yes": "yes", "no": "no", True: "yes", False: "no"}))

    data = cohort.copy()
    spec_rows: list[dict[str, object]] = []
    for key, label, levels, reference, source in specs:
        level_keys = [lv for lv, _ in levels]
        data[key] = pd.Categorical(values[key], categories=level_keys, ordered=True)
        for position, (level, level_label) in enumerate(levels, start=1):
            spec_rows.append({
                "variable": key, "variable_label": label, "level": level,
                "level_label": level_label, "position": position,
                "is_reference": level == reference,
                "reference_source": source,
            })
    spec = pd.DataFrame(spec_rows)
    return DerivedFactors(data=data, spec=spec, cutoffs=cut, factors=[s[0] for s in specs])
