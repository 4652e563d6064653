"""Tables for people: labels instead of keys, grouped rows, numbers at the precision a journal prints.

A run's CSVs keep keys and full precision; what a reader sees goes through here. A *view* is a
DataFrame of text (``label`` first, ``indent`` 0 for a variable, 1 for its levels, 2 for
liposarcoma's subtypes); :func:`styled` makes it a pandas ``Styler`` (renders in JupyterLab,
nbconvert and ``to_html`` alike), and the journal exports lay the same views out in Word and
LaTeX. ``from helpers import display`` hides IPython's ``display()``; call it by its full name.
"""

from __future__ import annotations

import html
import math

import pandas as pd
from pandas.io.formats.style import Styler

from helpers.describe import format_table1

#: A wide table scrolls sideways inside its output instead of being clipped (JupyterLab, reports).
_SCROLL = 'style="display: block; overflow-x: auto; max-width: 100%"'
#: A survival rate or median that the data cannot give: said in words, not NaN.
NOT_REACHED = "not reached"


def format_p(p: float) -> str:
    """A p-value as journals print it: ``<0.001``, else three decimals (``""`` when missing).

    >>> format_p(0.00056), format_p(0.0571), format_p(float("nan"))
    ('<0.001', '0.057', '')
    """
    if p is None or pd.isna(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def format_interval(value: float, low: float, high: float, decimals: int) -> str:
    """``value (low–high)``; the value alone without a finite interval; "not estimable" without a value.

    >>> format_interval(3.3596, 1.4255, 7.9183, 2), format_interval(0.0, math.nan, math.nan, 1)
    ('3.36 (1.43–7.92)', '0.0')
    """
    if value is None or pd.isna(value):
        return "not estimable"
    if pd.isna(low) or pd.isna(high):
        return f"{value:.{decimals}f}"
    return f"{value:.{decimals}f} ({low:.{decimals}f}–{high:.{decimals}f})"


def _label(spec: pd.DataFrame, variable: str, level: str, column: str) -> str:
    key = (variable, level)
    return str(spec.loc[key, column]) if key in spec.index else str(level if column == "level_label" else variable)


def table1_view(table1: pd.DataFrame) -> pd.DataFrame:
    """Table 1 as the paper prints it: ``label, value, indent`` (a variable, then its levels).

    >>> t1 = pd.DataFrame({"variable": ["age_years", "sex", "sex"], "level": ["", "male", "female"],
    ...                    "n": [None, 38, 28], "percent": [None, 58, 42], "median": [49, None, None],
    ...                    "min": [17, None, None], "max": [82, None, None]})
    >>> table1_view(t1).values.tolist()
    [['Age (years, median/range)', '49 (17–82)', 0], ['Sex', '', 0], ['Male', '38 (58)', 1], ['Female', '28 (42)', 1]]
    """
    rows, seen = [], set()
    for r in format_table1(table1).itertuples():
        if r.level_label == "":
            rows.append((r.variable_label, r.value, 0))
            continue
        if r.variable not in seen:
            rows.append((r.variable_label, "", 0))
            seen.add(r.variable)
        rows.append((r.level_label.strip(), r.value, 2 if r.level_label.startswith(" ") else 1))
    return pd.DataFrame(rows, columns=["label", "value", "indent"])


def table2_view(table2: pd.DataFrame, spec: pd.DataFrame) -> pd.DataFrame:
    """The log-rank screen as Table 2: ``label, n, survival, median, p, indent``.

    ``table2``: :func:`helpers.survival.screen_factors` or ``tables/table2.csv``; ``spec``:
    ``DerivedFactors.spec`` or :func:`helpers.cohort.factor_spec` (labels). Survival in percent
    with its interval, one decimal; a median the curve never reaches says "not reached"; p on the
    variable's row.
    """
    spec = spec.set_index(["variable", "level"])
    rows = []
    for variable, group in table2.groupby("variable", sort=False):
        first = group["level"].iloc[0]
        rows.append((_label(spec, variable, first, "variable_label"), "", "", "", format_p(group["p_value"].iloc[0]), 0))
        for r in group.itertuples():
            median = getattr(r, "median", math.nan)
            rows.append((_label(spec, variable, r.level, "level_label"), str(int(r.n)),
                         format_interval(r.survival_pct, r.survival_ci_low, r.survival_ci_high, 1),
                         NOT_REACHED if pd.isna(median) else f"{median:.1f}", "", 1))
    view = pd.DataFrame(rows, columns=["label", "n", "survival", "median", "p", "indent"])
    return view if "median" in table2 else view.drop(columns="median")


def contrast_label(name: str, level: str, reference: str | None = None) -> str:
    """"Variable: level vs reference", or the name alone when it already says so.

    >>> contrast_label("Curative resection", "No", "Yes"), contrast_label("Histology: UPS vs Non-UPS", "UPS", "Non-UPS")
    ('Curative resection: No vs Yes', 'Histology: UPS vs Non-UPS')
    """
    contrast = f"{level} vs {reference}" if reference else level
    return name if name.endswith(contrast) else f"{name}: {contrast}"


def table3_view(table3: pd.DataFrame, spec: pd.DataFrame) -> pd.DataFrame:
    """The Cox model as Table 3: ``label`` ("Variable: level vs reference"), ``hr`` (CI), ``p``.

    >>> from helpers.cohort import factor_spec
    >>> t3 = pd.DataFrame({"variable": ["disease_free_interval"], "level": ["lt_12_months"], "hr": [3.36],
    ...                    "ci_low": [1.43], "ci_high": [7.92], "p_value": [0.0056], "reference": ["ge_12_months"]})
    >>> table3_view(t3, factor_spec()).values.tolist()
    [['Disease-free interval: <12 months vs ≥12 months', '3.36 (1.43–7.92)', '0.006', 0]]
    """
    spec = spec.set_index(["variable", "level"])
    rows = []
    for r in table3.itertuples():
        label = contrast_label(_label(spec, r.variable, r.level, "variable_label"),
                               _label(spec, r.variable, r.level, "level_label"),
                               _label(spec, r.variable, r.reference, "level_label"))
        rows.append((label, format_interval(r.hr, r.ci_low, r.ci_high, 2), format_p(r.p_value), 0))
    return pd.DataFrame(rows, columns=["label", "hr", "p", "indent"])


def styled(view: pd.DataFrame, *, caption: str | None = None, columns: dict[str, str] | None = None) -> Styler:
    """A view as a Styler: no index, indented levels, bold variable rows that group levels.

    ``columns`` renames the headers (e.g. ``{"hr": "Hazard ratio (95% CI)"}``).

    >>> html = styled(pd.DataFrame({"label": ["Sex", "Male"], "n": ["", "38"], "indent": [0, 1]})).to_html()
    >>> "padding-left: 1.5em" in html and "indent" not in html
    True
    """
    shown = view.drop(columns="indent").rename(columns={"label": "", **(columns or {})})
    indent = view["indent"].to_numpy()
    grouped = [i + 1 < len(view) and indent[i] == 0 and indent[i + 1] > 0 for i in range(len(view))]

    def css(column: pd.Series) -> list[str]:
        if column.name != "":
            return ["text-align: right"] * len(column)
        return [f"text-align: left; padding-left: {1.5 * d}em" + ("; font-weight: bold" if g else "")
                for d, g in zip(indent, grouped, strict=True)]

    out = shown.style.hide(axis="index").format(escape="html").apply(css, axis=0).set_table_attributes(_SCROLL)
    return out.set_caption(caption) if caption else out


def _is_p(column: str) -> bool:
    return column == "p" or column.startswith("p_value") or column.endswith("_p") or column.endswith("_p_value")


def frame(df: pd.DataFrame, *, decimals: int = 2, caption: str | None = None, missing: str = "–") -> Styler:
    """Any result table at a readable precision: p-values as :func:`format_p`, other floats to
    ``decimals``, missing values as ``missing``, no index. The frame itself is unchanged.

    >>> html = frame(pd.DataFrame({"cutoff": [6.0], "p_value": [0.00012], "survival_pct": [float("nan")]})).to_html()
    >>> "&lt;0.001" in html and "6.00" in html and "–" in html
    True
    """
    if not isinstance(df.index, pd.RangeIndex):  # an index that carries names becomes a column
        df = df.reset_index()
    formats = {c: ((lambda v: html.escape(format_p(v))) if _is_p(str(c)) else f"{{:.{decimals}f}}")
               for c in df.columns if pd.api.types.is_float_dtype(df[c])}
    out = df.style.hide(axis="index").format(escape="html", na_rep=missing).format(formats, na_rep=missing, escape="html")
    out = out.set_table_attributes(_SCROLL)
    return out.set_caption(caption) if caption else out


def record(row: pd.DataFrame | pd.Series, *, decimals: int = 2) -> Styler:
    """A one-row result (``km_overall``, a test's statistics) as a two-column list: name, value.

    >>> record(pd.Series({"chi_square": 13.0367, "dof": 1.0, "p_value": 0.000305})).to_html().count("<tr>")
    4
    """
    series = row.iloc[0] if isinstance(row, pd.DataFrame) else row

    def text(name: str, value: object) -> str:
        if isinstance(value, float):
            if pd.isna(value):
                return NOT_REACHED if "median" in name else "–"
            return format_p(value) if _is_p(name) else (f"{value:g}" if value.is_integer() else f"{value:.{decimals}f}")
        return str(value)

    shown = pd.DataFrame({"": [str(k) for k in series.index], "value": [text(str(k), v) for k, v in series.items()]})
    return shown.style.hide(axis="index").format(escape="html")


def caution_view(screen: pd.DataFrame, spec: pd.DataFrame, landmark: float) -> pd.DataFrame:
    """Levels of a screen whose estimates rest on little information, each with its reason in words.

    Few deaths (``survival.FEW_EVENTS``), none, or no follow-up at the landmark: the levels to read
    with caution. Few patients at risk at the landmark (``survival.FEW_AT_RISK``) is said in the
    reason, not used to list a level: in a small cohort nearly every level has it.
    """
    from helpers.survival import FEW_AT_RISK, FEW_EVENTS

    spec = spec.set_index(["variable", "level"])
    listed = screen["flag_few_events"] | screen["flag_zero_events"] | screen["flag_landmark_beyond_followup"]
    rows = []
    for r in screen[listed].itertuples():
        why = (["no deaths"] if r.flag_zero_events
               else [f"{int(r.events)} deaths (fewer than {FEW_EVENTS})"] if r.flag_few_events else [])
        if r.flag_landmark_beyond_followup:
            why.append(f"no patient followed to {landmark:g} months")
        if r.flag_few_at_risk:
            why.append(f"{int(r.n_at_risk_landmark)} at risk at {landmark:g} months (fewer than {FEW_AT_RISK})")
        name = _label(spec, r.variable, r.level, "variable_label").split(":")[0]  # "Primary histology: UPS vs ..."
        rows.append((f"{name}: {_label(spec, r.variable, r.level, 'level_label')}", str(int(r.n)), "; ".join(why)))
    return pd.DataFrame(rows, columns=["level", "patients", "why the estimate is fragile"])
