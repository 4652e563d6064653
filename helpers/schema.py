"""Stage 1: the registry's data dictionary, validation, and months from dates.

The data dictionary (``data/data_dictionary.yaml``) is the single description of a registry.
``load_registry`` reads a file with every cell as text (so nothing is silently converted), checks
it with a :mod:`pandera` schema built from the dictionary (required columns, empty cells, types,
allowed values, ranges, unique ids: every failure collected, not just the first) and with the
cross-column rules (:data:`CROSS_COLUMN_RULES`: the order of the dates, vital status against
date and cause of death, ...), raises one :class:`RegistryError` listing every problem, and
otherwise returns typed columns. Times in months come from dates here and nowhere else
(:func:`months_between`). Reading other formats, the message layout and local mappings are in
:mod:`helpers.intake`.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import yaml
from pandera.errors import SchemaErrors

from helpers import DATA_DIR
from helpers.intake.files import raise_file_problem, read_text_table
from helpers.intake.problems import (
    RegistryError,
    RegistryWarning,
    format_report,
    normalise,
    order_problems,
    problems_frame,
    suggest_allowed,
    type_hint,
)

#: Mean Gregorian month in days; every time in months in this project is days / DAYS_PER_MONTH.
DAYS_PER_MONTH: float = 30.4375
#: The shipped data dictionary.
DATA_DICTIONARY_PATH: Path = DATA_DIR / "data_dictionary.yaml"
#: The shipped synthetic registry: what an empty ``registry_path`` means.
SHIPPED_REGISTRY_PATH: Path = DATA_DIR / "registry.csv"
#: Endpoints ``add_survival_columns`` knows.
ENDPOINTS: tuple[str, ...] = ("all_cause", "disease_specific")

#: Column types a data dictionary may use.
COLUMN_TYPES: tuple[str, ...] = ("string", "integer", "number", "date", "category")


# ---- Months from dates, survival columns -------------------------------------------------------------


def months_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """Months from ``start`` to ``end``: calendar days / 30.4375, the project's one month length.

    Missing dates give NaN; negative when ``end`` precedes ``start``.

    >>> months_between(pd.Series(["2020-01-01"]), pd.Series(["2021-01-01"])).round(3).tolist()
    [12.025]
    """
    days = (pd.to_datetime(end) - pd.to_datetime(start)).dt.days
    return (days / DAYS_PER_MONTH).astype(float).rename(None)


def add_survival_columns(
    registry: pd.DataFrame, endpoint: str = "all_cause", *, unknown_cause_as_event: bool = True
) -> pd.DataFrame:
    """Add ``time_months``, ``event`` and ``dfi_months`` to a validated registry (a copy).

    ``time_months`` runs from the first PM to death, or to last contact for survivors;
    ``dfi_months`` from primary surgery to the diagnosis of lung metastasis.

    Parameters
    ----------
    endpoint
        ``"all_cause"``: death from any cause is the event (overall survival, which is what the
        paper's printed definition of its "disease-specific survival" describes).
        ``"disease_specific"``: death from sarcoma is the event; other deaths are censored at
        death (a cause-specific analysis; competing risks then matter).
    unknown_cause_as_event
        With ``"disease_specific"``: count deaths of unknown cause as sarcoma deaths.

    >>> reg = load_registry("")
    >>> [int(add_survival_columns(reg, e)["event"].sum()) for e in ("all_cause", "disease_specific")]
    [49, 42]
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
    out["dfi_months"] = months_between(out["date_primary_surgery"], out["date_lung_metastasis_diagnosis"]).to_numpy()
    return out


# ---- The data dictionary -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    """One registry column as the data dictionary describes it (keys as in its YAML header).

    ``allowed``: a category column's values in order, else ``None``; ``minimum``/``maximum``: the
    inclusive range (floats, or Timestamps for dates; ``None`` when unbounded).
    """

    name: str
    type: str
    required: bool
    nullable: bool
    unit: str | None
    allowed: tuple[str, ...] | None
    minimum: float | pd.Timestamp | None
    maximum: float | pd.Timestamp | None
    unique: bool
    meaning: str
    paper: str | None
    rule: str | None

    @property
    def allowed_or_range(self) -> str:
        """The allowed values or the range, as a reader would write them (``""`` if none)."""
        if self.allowed is not None:
            return ", ".join(self.allowed)
        if self.minimum is None and self.maximum is None:
            return ""
        low, high = _show_limit(self.minimum), _show_limit(self.maximum)
        if self.minimum is None:
            return f"<= {high}"
        if self.maximum is None:
            return f">= {low}"
        return f"{low} to {high}"


@dataclass(frozen=True)
class DataDictionary:
    """The registry's data dictionary, as read by :func:`load_data_dictionary`."""

    path: Path
    name: str
    synthetic: bool
    days_per_month: float
    id_column: str
    columns: tuple[ColumnSpec, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in the dictionary's order."""
        return tuple(c.name for c in self.columns)

    @property
    def required_names(self) -> tuple[str, ...]:
        """Names of the required columns."""
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> ColumnSpec:
        """The :class:`ColumnSpec` named ``name`` (``KeyError`` naming the known columns)."""
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(f"column {name!r} is not in the data dictionary; known: {', '.join(self.names)}")


def _show_limit(value: float | pd.Timestamp | None) -> str:
    if value is None:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return f"{value:g}"


def _dictionary_error(path: Path, what: str) -> ValueError:
    return ValueError(f"data dictionary {path}: {what}")


def _parse_limit(path: Path, name: str, key: str, kind: str, raw: Any) -> float | pd.Timestamp | None:
    if raw is None:
        return None
    if kind == "date":
        try:
            return pd.Timestamp(str(raw))
        except (ValueError, TypeError) as exc:
            raise _dictionary_error(path, f"column {name!r}: {key} must be a date YYYY-MM-DD, found {raw!r}") from exc
    if kind in ("integer", "number"):
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise _dictionary_error(path, f"column {name!r}: {key} must be a number, found {raw!r}")
        return float(raw)
    raise _dictionary_error(path, f"column {name!r}: {key} is only allowed for integer, number or date columns, "
                            f"not {kind!r}")


def _category_allowed(path: Path, name: str, kind: str, raw: Any) -> tuple[str, ...] | None:
    if kind != "category":
        if raw is not None:
            raise _dictionary_error(path, f"column {name!r}: 'allowed' is only for category columns")
        return None
    if not isinstance(raw, list) or not raw:
        raise _dictionary_error(path, f"category column {name!r} needs a non-empty 'allowed' list")
    bad = [v for v in raw if not isinstance(v, str)]
    if bad:
        raise _dictionary_error(path, f"column {name!r}: allowed values must be text, found {bad!r} "
                                '(quote words YAML reads as booleans or null, e.g. "yes", "no")')
    if len(set(raw)) != len(raw):
        raise _dictionary_error(path, f"column {name!r}: allowed values repeat: {raw!r}")
    return tuple(raw)


def _column_spec(path: Path, position: int, entry: Any) -> ColumnSpec:
    """One ``columns`` entry of the dictionary, checked."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
        raise _dictionary_error(path, f"column entry {position} has no 'name'")
    name, kind = entry["name"], entry.get("type")
    if kind not in COLUMN_TYPES:
        raise _dictionary_error(path, f"column {name!r}: type must be one of {', '.join(COLUMN_TYPES)}, "
                                f"found {kind!r}")
    allowed = _category_allowed(path, name, kind, entry.get("allowed"))
    minimum = _parse_limit(path, name, "minimum", kind, entry.get("minimum"))
    maximum = _parse_limit(path, name, "maximum", kind, entry.get("maximum"))
    if minimum is not None and maximum is not None and minimum > maximum:
        raise _dictionary_error(path, f"column {name!r}: minimum {minimum} exceeds maximum {maximum}")
    return ColumnSpec(
        name=name, type=kind, required=bool(entry.get("required", True)),
        nullable=bool(entry.get("nullable", False)), unit=entry.get("unit"),
        allowed=allowed, minimum=minimum, maximum=maximum,
        unique=bool(entry.get("unique", False)), meaning=" ".join(str(entry.get("meaning") or "").split()),
        paper=entry.get("paper"), rule=entry.get("rule"),
    )


def load_data_dictionary(path: str | Path = DATA_DICTIONARY_PATH) -> DataDictionary:
    """Read and check the registry's data dictionary (YAML; the shipped one by default).

    Raises ``ValueError`` naming the fault when the file is malformed: unknown type, ``allowed``
    on a non-category column or with non-text values (an unquoted ``yes`` is a YAML boolean), a
    minimum above its maximum, repeated column names, an unknown id column, or a month length
    other than ``DAYS_PER_MONTH``.

    >>> load_data_dictionary().column("sex").allowed
    ('male', 'female')
    """
    path = Path(path)
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (a safe loader)
    except FileNotFoundError as exc:
        raise _dictionary_error(path, "file not found") from exc
    except yaml.YAMLError as exc:
        raise _dictionary_error(path, f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("columns"), list) or not doc["columns"]:
        raise _dictionary_error(path, "expected a mapping with a non-empty list under 'columns'")
    dataset = doc.get("dataset") or {}
    days = float(dataset.get("days_per_month", DAYS_PER_MONTH))
    if days != DAYS_PER_MONTH:
        raise _dictionary_error(path, f"days_per_month must be {DAYS_PER_MONTH} (helpers.schema.DAYS_PER_MONTH), "
                                f"found {days}")
    specs = [_column_spec(path, position, entry) for position, entry in enumerate(doc["columns"], start=1)]
    names = [s.name for s in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise _dictionary_error(path, f"column names repeat: {', '.join(repeated)}")
    id_column = dataset.get("id_column", names[0])
    if id_column not in names:
        raise _dictionary_error(path, f"id_column {id_column!r} is not one of the columns")
    return DataDictionary(path=path, name=str(dataset.get("name", path.stem)),
                          synthetic=bool(dataset.get("synthetic", False)), days_per_month=days,
                          id_column=id_column, columns=tuple(specs))


# ---- Parsing text cells (vectorised; invalid text gives NaN / NaT, reported by the checks) -----------

_INTEGER_RE = r"[+-]?\d+(?:\.0*)?"
_NUMBER_RE = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_DATE_RE = r"\d{4}-\d{2}-\d{2}"
# Excel and Parquet hand over dates as date-times at midnight; the time part carries nothing.
_MIDNIGHT_RE = r"[ T]00:00(?::00(?:\.0+)?)?$"


def _on_distinct(series: pd.Series, parse: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply ``parse`` to the distinct values only (registries repeat values), spread back to rows."""
    codes, uniques = pd.factorize(series.to_numpy(dtype=object))
    parsed = parse(pd.Series(uniques, dtype=object))
    if len(uniques) == 0:
        return parsed.reindex(range(len(series))).set_axis(series.index)
    values = parsed.to_numpy()[np.maximum(codes, 0)]
    return pd.Series(values, index=series.index).where(codes >= 0)


def _integer_values(text: pd.Series) -> pd.Series:
    ok = text.str.fullmatch(_INTEGER_RE, na=False).astype(bool)
    return pd.to_numeric(text.where(ok), errors="coerce").astype(float)


def _number_values(text: pd.Series) -> pd.Series:
    ok = text.str.fullmatch(_NUMBER_RE, na=False).astype(bool)
    values = pd.to_numeric(text.where(ok), errors="coerce").astype(float)
    return values.where(np.isfinite(values))


def _date_values(text: pd.Series) -> pd.Series:
    text = text.str.replace(_MIDNIGHT_RE, "", regex=True)
    ok = text.str.fullmatch(_DATE_RE, na=False).astype(bool)
    return pd.to_datetime(text.where(ok), format="%Y-%m-%d", errors="coerce", cache=False)


def _parse_integer(series: pd.Series) -> pd.Series:
    return _on_distinct(series, _integer_values).astype(float)


def _parse_number(series: pd.Series) -> pd.Series:
    return _on_distinct(series, _number_values).astype(float)


def _parse_date(series: pd.Series) -> pd.Series:
    return _on_distinct(series, _date_values).astype("datetime64[ns]")


_PARSERS: dict[str, Callable[[pd.Series], pd.Series]] = {"integer": _parse_integer, "number": _parse_number,
                                                          "date": _parse_date}

_TYPE_EXPECTED = {
    "integer": "a whole number (e.g. 54)",
    "number": "a number with a decimal point (e.g. 12.5)",
    "date": "a date written YYYY-MM-DD (e.g. 2019-04-23)",
}


# ---- Cross-column rules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrossColumnRule:
    """A rule linking several columns: a pandera dataframe-level check.

    ``id`` is the check's name in ``RegistryError.problems``, ``column`` the column a failure is
    reported under, ``columns`` every column it reads (the rule is skipped when one is absent;
    the absence is reported itself). ``passes(text_frame)`` is True where the row satisfies the
    rule or the rule does not apply (unparseable values are reported by their column's checks).
    """

    id: str
    column: str
    columns: tuple[str, ...]
    expected: str
    passes: Callable[[pd.DataFrame], pd.Series]


def _dates(df: pd.DataFrame, *names: str) -> list[pd.Series]:
    return [_parse_date(df[name]) for name in names]


def _not_before(later: str, earlier: str, *, strict: bool = False) -> Callable[[pd.DataFrame], pd.Series]:
    def passes(df: pd.DataFrame) -> pd.Series:
        late, early = _dates(df, later, earlier)
        ok = late > early if strict else late >= early
        return ok | late.isna() | early.isna()

    return passes


def _dead(df: pd.DataFrame) -> pd.Series:
    return df["vital_status"].eq("dead")


def _alive(df: pd.DataFrame) -> pd.Series:
    return df["vital_status"].eq("alive")


def _complicated(df: pd.DataFrame) -> pd.Series:
    """A complication is recorded (a grade other than none; an empty grade is its own problem)."""
    return df["clavien_dindo_grade"].notna() & df["clavien_dindo_grade"].ne("none")


def _r2(df: pd.DataFrame) -> pd.Series:
    return df["resection_status"].eq("r2")


def _not_r2(df: pd.DataFrame) -> pd.Series:
    return df["resection_status"].notna() & df["resection_status"].ne("r2")


def _rule(rule_id: str, column: str, other: str, expected: str, passes: Callable) -> CrossColumnRule:
    return CrossColumnRule(rule_id, column, (column, other), expected, passes)


#: The cross-column rules of the data dictionary (its ``rule`` keys), as code.
CROSS_COLUMN_RULES: tuple[CrossColumnRule, ...] = (
    _rule("metastasis_not_before_primary_surgery", "date_lung_metastasis_diagnosis", "date_primary_surgery",
          "date_lung_metastasis_diagnosis on or after date_primary_surgery",
          _not_before("date_lung_metastasis_diagnosis", "date_primary_surgery")),
    _rule("metastasis_not_after_first_pm", "date_lung_metastasis_diagnosis", "date_first_pm",
          "date_lung_metastasis_diagnosis on or before date_first_pm",
          _not_before("date_first_pm", "date_lung_metastasis_diagnosis")),
    _rule("first_pm_after_primary_surgery", "date_first_pm", "date_primary_surgery",
          "date_first_pm after date_primary_surgery",
          _not_before("date_first_pm", "date_primary_surgery", strict=True)),
    _rule("last_contact_not_before_first_pm", "date_last_contact", "date_first_pm",
          "date_last_contact on or after date_first_pm",
          _not_before("date_last_contact", "date_first_pm")),
    _rule("death_not_before_first_pm", "date_of_death", "date_first_pm",
          "date_of_death on or after date_first_pm",
          _not_before("date_of_death", "date_first_pm")),
    _rule("last_contact_not_after_death", "date_last_contact", "date_of_death",
          "date_last_contact on or before date_of_death",
          _not_before("date_of_death", "date_last_contact")),
    _rule("dead_has_date_of_death", "date_of_death", "vital_status",
          "a date_of_death when vital_status is dead",
          lambda df: ~(_dead(df) & df["date_of_death"].isna())),
    _rule("dead_has_cause_of_death", "cause_of_death", "vital_status",
          "a cause_of_death when vital_status is dead",
          lambda df: ~(_dead(df) & df["cause_of_death"].isna())),
    _rule("alive_has_no_date_of_death", "date_of_death", "vital_status",
          "an empty date_of_death when vital_status is alive",
          lambda df: ~(_alive(df) & df["date_of_death"].notna())),
    _rule("alive_has_no_cause_of_death", "cause_of_death", "vital_status",
          "an empty cause_of_death when vital_status is alive",
          lambda df: ~(_alive(df) & df["cause_of_death"].notna())),
    _rule("r2_has_reason", "r2_reason", "resection_status",
          "an r2_reason when resection_status is r2",
          lambda df: ~(_r2(df) & df["r2_reason"].isna())),
    _rule("non_r2_has_no_reason", "r2_reason", "resection_status",
          "an empty r2_reason when resection_status is not r2",
          lambda df: ~(_not_r2(df) & df["r2_reason"].notna())),
    _rule("complication_has_kind", "complication_kind", "clavien_dindo_grade",
          "a complication_kind when clavien_dindo_grade is not none",
          lambda df: ~(_complicated(df) & df["complication_kind"].isna())),
    _rule("no_complication_has_no_kind", "complication_kind", "clavien_dindo_grade",
          "an empty complication_kind when clavien_dindo_grade is none",
          lambda df: ~(df["clavien_dindo_grade"].eq("none") & df["complication_kind"].notna())),
    _rule("bilateral_has_two_or_more", "lung_metastasis_distribution", "lung_metastasis_number",
          "lung_metastasis_number of 2 or more when lung_metastasis_distribution is bilateral",
          lambda df: ~(df["lung_metastasis_distribution"].eq("bilateral")
                       & _parse_integer(df["lung_metastasis_number"]).lt(2))),
)


# ---- The pandera schema ------------------------------------------------------------------------------


def _range_expected(spec: ColumnSpec) -> str:
    unit = f" {spec.unit}" if spec.unit and spec.type != "date" and spec.unit != "count" else ""
    low, high = _show_limit(spec.minimum), _show_limit(spec.maximum)
    if spec.minimum is None:
        return f"a value of at most {high}{unit}"
    if spec.maximum is None:
        return f"a value of at least {low}{unit}"
    return f"a value between {low} and {high}{unit}"


def _range_check(spec: ColumnSpec) -> pa.Check:
    parse = _PARSERS[spec.type]
    low, high = spec.minimum, spec.maximum

    def within_limits(series: pd.Series) -> pd.Series:
        values = parse(series)
        ok = values.isna()  # unparseable text is reported by the type check
        inside = pd.Series(True, index=series.index)
        if low is not None:
            inside &= values >= low
        if high is not None:
            inside &= values <= high
        return ok | inside

    return pa.Check(within_limits, name="range", error="range", ignore_na=True)


def _type_check(spec: ColumnSpec) -> pa.Check:
    parse = _PARSERS[spec.type]

    def parses(series: pd.Series) -> pd.Series:
        codes, uniques = pd.factorize(series.to_numpy(dtype=object))
        valid = parse(pd.Series(uniques, dtype=object)).notna().to_numpy()
        ok = valid[np.maximum(codes, 0)] if len(valid) else np.zeros(len(codes), dtype=bool)
        return pd.Series(ok | (codes < 0), index=series.index)

    return pa.Check(parses, name="type", error="type", ignore_na=True)


def build_registry_schema(dictionary: DataDictionary, present_columns: list[str] | tuple[str, ...] | None = None,
                          *, cross_column: bool = True) -> pa.DataFrameSchema:
    """The pandera schema (non-strict, no coercion) that validates a registry read as text.

    Column checks, named as in ``RegistryError.problems``: ``column_in_dataframe``,
    ``not_nullable``, ``field_uniqueness``, ``type``, ``range``, ``allowed``; and one
    dataframe-level check per cross-column rule whose columns are all in ``present_columns``
    (``None``: all). ``load_registry`` passes ``cross_column=False`` and evaluates the rules
    itself, vectorised: pandera reshapes dataframe-level failures row by row, slowly.

    >>> "sex" in build_registry_schema(load_data_dictionary()).columns
    True
    """
    columns: dict[str, pa.Column] = {}
    for spec in dictionary.columns:
        checks: list[pa.Check] = []
        if spec.type in _PARSERS:
            checks.append(_type_check(spec))
            if spec.minimum is not None or spec.maximum is not None:
                checks.append(_range_check(spec))
        if spec.allowed is not None:
            checks.append(pa.Check.isin(list(spec.allowed), name="allowed", error="allowed", ignore_na=True))
        unique = spec.unique or spec.name == dictionary.id_column
        columns[spec.name] = pa.Column(None, nullable=spec.nullable, unique=unique, required=spec.required,
                                       checks=checks, name=spec.name)
    present = set(dictionary.names if present_columns is None else present_columns)
    frame_checks = [pa.Check(rule.passes, name=rule.id, error=rule.id, ignore_na=False) for rule in CROSS_COLUMN_RULES
                    if cross_column and set(rule.columns) <= present and set(rule.columns) <= set(dictionary.names)]
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, coerce=False, name="registry")


# ---- From pandera failure cases to problems ----------------------------------------------------------


def _quote(values: pd.Series) -> pd.Series:
    text = values.astype(object)
    return ("'" + text.where(text.notna(), "").astype(str) + "'").where(text.notna(), "empty")


def _missing_column_problems(missing: pd.Series, frame: pd.DataFrame, specs: dict) -> pd.DataFrame:
    """One problem per required column absent, with the file's closest column name as a hint."""
    extras = [c for c in frame.columns if c not in specs]
    records = []
    for name in missing:
        close = difflib.get_close_matches(normalise(name), [normalise(c) for c in extras], n=1, cutoff=0.6)
        original = next((c for c in extras if close and normalise(c) == close[0]), None)
        records.append({"column": name, "patient_id": None, "row": None, "check": "column_present",
                        "expected": f"a column named {name!r} ({specs[name].type}, required)",
                        "found": "no such column",
                        "hint": f"the file has a column {original!r}; rename it {name!r}" if original else None})
    return problems_frame(records)


def _allowed_hint(value: str, allowed: tuple[str, ...]) -> str | None:
    guess = suggest_allowed(value, allowed)
    if guess:
        return f"did you mean {guess!r}?"
    return "remove the spaces around the value" if value != value.strip() else None


def _cell_problems(column: str, check: str, index: np.ndarray, frame: pd.DataFrame, rows: np.ndarray,
                   ids: pd.Series, spec: ColumnSpec, id_col: str) -> pd.DataFrame:
    """The problems of one (column, check) pair of pandera's cell-level failures."""
    values = frame[column].to_numpy()[index]
    hints: dict | None = None
    expected = {"not_nullable": "a value (this column may not be empty)", "field_uniqueness": f"each {column} once",
                "type": _TYPE_EXPECTED.get(spec.type), "range": _range_expected(spec) if check == "range" else None,
                "allowed": "one of: " + ", ".join(spec.allowed or ())}.get(check, str(check))
    if check == "type":
        hints = {v: type_hint(v, spec.type) for v in pd.unique(values)}
    elif check == "allowed":
        hints = {v: _allowed_hint(v, spec.allowed or ()) for v in pd.unique(values)}
    hint = [hints[v] for v in values] if hints is not None else [None] * len(index)
    found = _quote(pd.Series(values, dtype=object))
    if check == "field_uniqueness":
        counts = frame[column].value_counts()
        found = found + " on " + pd.Series(counts.reindex(values).to_numpy()).astype(str) + " rows"
    patient = ids.to_numpy()[index]
    if column == id_col and check == "not_nullable":
        patient = np.full(len(index), None, dtype=object)
    return problems_frame(pd.DataFrame({
        "column": column, "patient_id": patient, "row": rows[index], "check": check, "expected": expected,
        "found": found.to_numpy(), "hint": pd.Series(hint, dtype=object).to_numpy()}))


def _collect_problems(failures: pd.DataFrame, frame: pd.DataFrame, rows: np.ndarray,
                      dictionary: DataDictionary) -> list[pd.DataFrame]:
    """pandera's failure cases as problem frames: missing columns, cells, cross-column rules, the rest."""
    specs = {s.name: s for s in dictionary.columns}
    rules = {r.id: r for r in CROSS_COLUMN_RULES}
    id_col = dictionary.id_column
    ids = frame[id_col] if id_col in frame.columns else pd.Series(None, index=frame.index, dtype=object)
    parts: list[pd.DataFrame] = []
    missing = failures[failures["check"].eq("column_in_dataframe")]
    if len(missing):
        parts.append(_missing_column_problems(missing["failure_case"], frame, specs))
    cell = failures[failures["schema_context"].eq("Column") & failures["index"].notna()]
    for (column, check), group in cell.groupby(["column", "check"], sort=False):
        index = group["index"].astype(int).to_numpy()
        parts.append(_cell_problems(column, check, index, frame, rows, ids, specs[column], id_col))
    frame_level = failures[failures["schema_context"].eq("DataFrameSchema") & failures["index"].notna()]
    for check, group in frame_level.groupby("check", sort=False):
        parts.append(_rule_problems(rules[check], np.unique(group["index"].astype(int).to_numpy()), frame, rows, ids))
    # Anything pandera reports without a row (other than a missing column) is kept as it is,
    # so that no failure can be lost on the way to the message.
    other = failures[~failures["check"].eq("column_in_dataframe") & failures["index"].isna()]
    if len(other):
        checks = other["check"].astype(str).to_numpy()
        parts.append(problems_frame(pd.DataFrame({
            "column": other["column"].fillna("(table)").astype(str).to_numpy(), "patient_id": None, "row": None,
            "check": checks, "expected": checks, "found": other["failure_case"].astype(str).to_numpy(),
            "hint": None})))
    return parts


def _rule_problems(rule: CrossColumnRule, index: np.ndarray, frame: pd.DataFrame, rows: np.ndarray,
                   ids: pd.Series) -> pd.DataFrame:
    """Problems of one cross-column rule at the failing positions ``index``."""
    sub = frame.iloc[index]
    found = pd.Series("", index=sub.index, dtype=object)
    for k, name in enumerate(rule.columns):
        sep = "" if k == 0 else ", "
        found = found + sep + name + " " + _quote(sub[name])
    return problems_frame(pd.DataFrame({"column": rule.column, "patient_id": ids.to_numpy()[index], "row": rows[index],
                                        "check": rule.id, "expected": rule.expected, "found": found.to_numpy(),
                                        "hint": None}))


def _cross_column_problems(frame: pd.DataFrame, rows: np.ndarray, dictionary: DataDictionary) -> list[pd.DataFrame]:
    """:data:`CROSS_COLUMN_RULES` evaluated directly, vectorised (through pandera: ~3 s per 5,000 failing rows)."""
    id_col = dictionary.id_column
    ids = frame[id_col] if id_col in frame.columns else pd.Series(None, index=frame.index, dtype=object)
    parts = []
    for rule in CROSS_COLUMN_RULES:
        if not set(rule.columns) <= set(frame.columns):
            continue
        failing = np.flatnonzero(~rule.passes(frame).to_numpy(dtype=bool))
        if len(failing):
            parts.append(_rule_problems(rule, failing, frame, rows, ids))
    return parts


# ---- Typing a validated frame ------------------------------------------------------------------------


def _typed(frame: pd.DataFrame, dictionary: DataDictionary) -> pd.DataFrame:
    out = frame.copy()
    for spec in dictionary.columns:
        if spec.name not in out.columns:
            continue
        if spec.type == "integer":
            values = _parse_integer(frame[spec.name])
            out[spec.name] = values.astype("Int64" if values.isna().any() or spec.nullable else "int64")
        elif spec.type == "number":
            out[spec.name] = _parse_number(frame[spec.name]).astype("float64")
        elif spec.type == "date":
            out[spec.name] = _parse_date(frame[spec.name]).astype("datetime64[ns]")
        else:
            out[spec.name] = frame[spec.name].astype(object)
    return out


# ---- load_registry -----------------------------------------------------------------------------------


def resolve_registry_path(path: str | Path = "") -> Path:
    """The registry file a notebook's ``registry_path`` names, as an existing absolute path.

    ``""`` is the shipped synthetic registry; a relative path starts from the working directory;
    ``~`` is expanded. No file there: :class:`RegistryError` (``check == "file_exists"``) naming
    the absolute path tried and the working directory.

    >>> resolve_registry_path("") == SHIPPED_REGISTRY_PATH.resolve()
    True
    """
    given = str(path).strip()
    file = Path(given).expanduser() if given else SHIPPED_REGISTRY_PATH
    file = (file if file.is_absolute() else Path.cwd() / file).resolve()
    if not file.exists():
        raise_file_problem(file, "file_exists", "an existing registry file",
                           f"no file at {file} (working directory {Path.cwd()})",
                           'a relative path starts from the working directory; "" means the shipped synthetic registry')
    if file.is_dir():
        raise_file_problem(file, "file_exists", "a registry file", f"{file} is a folder")
    return file


def load_registry(path: str | Path, *, mapping: Any = None,
                  dictionary_path: str | Path = DATA_DICTIONARY_PATH) -> pd.DataFrame:
    """Read a registry file, validate it against the data dictionary, return typed columns.

    Every failure is collected and raised together (about 3 s of CPU for 100,000 rows).

    Parameters
    ----------
    path
        ``.csv`` (UTF-8), ``.xlsx``/``.xlsm`` (first sheet) or ``.parquet``; ``""`` is the shipped
        registry (see :func:`resolve_registry_path`).
    mapping
        A registry mapping for local column names, codes, date formats and units (YAML file, dict
        or :class:`helpers.intake.mapping.RegistryMapping`), applied to the text before
        validation; ``None``/``""``: none. Its notes: :func:`load_registry_with_notes`.
    dictionary_path
        The data dictionary (the shipped one by default).

    Returns
    -------
    pandas.DataFrame
        One row per patient in file order, every column kept. Dates ``datetime64[ns]``, integers
        ``int64`` (``Int64`` if the column may be empty), numbers ``float64``; categories and
        strings stay plain text (``object``, not ``Categorical``, so ``.eq("dead")`` behaves as on
        text and grouping makes no rows for unused levels). Columns not in the dictionary are
        kept as text, named in a :class:`RegistryWarning`.

    Raises
    ------
    RegistryError
        Naming every problem, its column and its patients or rows: the file (missing, empty,
        unreadable, no rows, repeated columns), missing required columns, empty required cells,
        wrong types, values outside the allowed set (with a suggestion) or the range, repeated
        ids, violated cross-column rules. ``.problems`` holds them as a frame.

    Notes
    -----
    Integers as ``54`` (``54.0`` too), numbers as ``12.5`` or ``1e2`` (no decimal comma), dates as
    ``YYYY-MM-DD`` (a midnight time part is accepted). Surrounding spaces are reported, not
    trimmed. Completely empty rows are skipped with a warning; row numbers stay the file's.

    >>> registry = load_registry("")
    >>> len(registry), int(registry["vital_status"].eq("dead").sum())
    (95, 49)
    """
    return load_registry_with_notes(path, mapping=mapping, dictionary_path=dictionary_path)[0]


def load_registry_with_notes(path: str | Path, *, mapping: Any = None,
                             dictionary_path: str | Path = DATA_DICTIONARY_PATH) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`load_registry`, also returning the mapping's notes.

    The notes: one row per column renamed and per distinct value the mapping changed (columns of
    ``RegistryError.problems``, ``check == "mapped"``); empty without a mapping.

    >>> registry, notes = load_registry_with_notes(DATA_DIR / "registry.csv")
    >>> notes.empty
    True
    """
    path = resolve_registry_path(path)
    dictionary = load_data_dictionary(dictionary_path)
    raw = read_text_table(path)
    frame, notes, checked = _mapped(raw.frame, mapping, dictionary_path)
    header_problems = problems_frame(list(raw.problems))

    extra = [c for c in frame.columns if c not in dictionary.names and not c.startswith("(unnamed")]
    if extra:
        warnings.warn(RegistryWarning(f"registry {path.name}: {len(extra)} column(s) not in the data dictionary "
                                      f"are kept as text: {', '.join(extra)}"), stacklevel=2)

    parts = _validation_problems(frame, raw.rows, dictionary, header_problems)
    if parts:
        problems = problems_frame(pd.concat(parts, ignore_index=True))
        if len(frame.columns) == 1 and ";" in str(frame.columns[0]):
            semicolons = problems["check"].eq("column_present") & problems["hint"].isna()
            problems.loc[semicolons, "hint"] = "the file seems to use ';' between values; save it with ',' as separator"
        problems = order_problems(problems, list(dictionary.names))
        if checked is not None:
            from helpers.intake.mapping import annotate_problems  # it imports this module

            problems = annotate_problems(problems, checked)
        message = format_report(problems, path.name, raw.row_numbering, raw.row_word)
        if len(notes):
            message += f"\n({len(notes)} notes on values the mapping changed are in .problems)"
            problems = problems_frame(pd.concat([problems, notes], ignore_index=True))
        raise RegistryError(message, problems, source=path.name, row_numbering=raw.row_numbering)
    return _typed(frame, dictionary), notes


def _validation_problems(frame: pd.DataFrame, rows: Any, dictionary: Any,
                         header_problems: pd.DataFrame) -> list[pd.DataFrame]:
    """The non-empty problem frames of the header, the column schema and the cross-column rules."""
    schema = build_registry_schema(dictionary, list(frame.columns), cross_column=False)
    parts: list[pd.DataFrame] = [header_problems]
    try:
        with warnings.catch_warnings():
            # pandera's own concatenation of failure cases triggers a pandas FutureWarning
            warnings.simplefilter("ignore", FutureWarning)
            schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        parts += _collect_problems(exc.failure_cases, frame, rows, dictionary)
    parts += _cross_column_problems(frame, rows, dictionary)
    return [p for p in parts if len(p)]


def _mapped(frame: pd.DataFrame, mapping: Any, dictionary_path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """The frame after the registry mapping (none: unchanged), its notes, the checked mapping."""
    if mapping is None or mapping == "":
        return frame, problems_frame([]), None
    from helpers.intake.mapping import apply_mapping, load_mapping  # it imports this module

    checked = load_mapping(mapping, dictionary_path=dictionary_path)
    out, notes = apply_mapping(frame, checked)
    return out, problems_frame(notes), checked
