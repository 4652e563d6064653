"""The run folder: where tables and figures go, and the privacy guard for patient-level rows.

Every run of the collection writes into one output folder (see CONTRIBUTING.md, "The run
folder")::

    <output_dir>/
      manifest.json             written by helpers.reproduction.batch
      notebooks/NN-*.ipynb      executed notebooks (helpers.reproduction.batch)
      html/NN-*.html            HTML export of every executed notebook (helpers.reproduction.batch)
      tables/<name>.csv|.html   save_table
      figures/<name>.png|.svg   save_figure

Privacy rule: only the shipped synthetic registry, recognised by the SHA-256 recorded in
``data/registry_provenance.json``, may have patient-level rows shown. Notebooks call
:func:`show_patient_rows`, which returns an aggregate without any patient value for every
other registry.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from helpers import DATA_DIR
from helpers.schema import RegistryError, resolve_registry_path

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

#: Provenance record of the shipped registry (written with data/registry.csv by helpers.reproduction.synthetic).
PROVENANCE_PATH: Path = DATA_DIR / "registry_provenance.json"
#: Resolution of the PNG figures.
FIGURE_DPI: int = 150

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

_HTML_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em;
         color: #222; }}
  h1 {{ font-size: 1.3em; }}
  p.note {{ color: #555; font-size: 0.9em; }}
  table {{ border-collapse: collapse; font-size: 0.9em; }}
  th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; }}
  th {{ background: #f0f0f0; text-align: left; }}
  td {{ text-align: right; font-variant-numeric: tabular-nums; }}
  tr:nth-child(even) td {{ background: #fafafa; }}
</style>
</head>
<body>
<h1>{title}</h1>
{note}
{table}
</body>
</html>
"""


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run folder.

    Attributes
    ----------
    root, tables, figures, notebooks, html : pathlib.Path
        The run folder and its sub-folders.
    manifest : pathlib.Path
        ``<root>/manifest.json``.
    """

    root: Path
    tables: Path
    figures: Path
    notebooks: Path
    html: Path
    manifest: Path


def run_folder(output_dir: str | Path, *, create: bool = False) -> RunFolder:
    """The layout of a run folder (optionally creating its sub-folders).

    Parameters
    ----------
    output_dir
        The run folder. ``""`` (the notebooks' default) is the interactive run folder,
        ``outputs/interactive/`` of the checkout (or of the working folder when ``helpers`` is
        installed outside a checkout), so that an interactive or ad-hoc run never writes into the
        folder of a ``make run``. A relative path is relative to the working folder.
    create
        Create the folder and its ``tables``, ``figures``, ``notebooks`` and ``html`` sub-folders.

    Returns
    -------
    RunFolder
        Paths of the run folder.

    Example
    -------
    >>> run_folder("outputs").tables.as_posix()
    'outputs/tables'
    >>> run_folder("").root.parts[-2:]
    ('outputs', 'interactive')
    """
    root = Path(output_dir) if str(output_dir) else _interactive_root()
    folder = RunFolder(
        root=root,
        tables=root / "tables",
        figures=root / "figures",
        notebooks=root / "notebooks",
        html=root / "html",
        manifest=root / "manifest.json",
    )
    if create:
        for sub in (folder.tables, folder.figures, folder.notebooks, folder.html):
            sub.mkdir(parents=True, exist_ok=True)
    return folder


def _interactive_root() -> Path:
    """``outputs/interactive`` of the checkout, else of the working folder."""
    from helpers import NotACheckoutError, _project_root

    try:
        base = _project_root()
    except NotACheckoutError:
        base = Path.cwd()
    return base / "outputs" / "interactive"


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name.endswith((".csv", ".html")):
        raise ValueError(
            f"name: expected a plain file stem such as 'table1' (letters, digits, '_', '-', '.', "
            f"no folder and no extension), found {name!r}"
        )


def save_table(
    df: pd.DataFrame,
    output_dir: str | Path,
    name: str,
    *,
    title: str | None = None,
    note: str | None = None,
) -> list[Path]:
    """Write a table as ``<output_dir>/tables/<name>.csv`` and a readable ``.html`` page.

    The CSV holds the frame as it is (no index, empty cells for missing values), so that other
    notebooks and outside checks read numbers back. The HTML is a standalone page with a
    title and light styling, for a reader in a browser; missing values show as empty cells.

    Parameters
    ----------
    df
        The table (tidy; its index is not written).
    output_dir
        The run folder; ``tables/`` is created when absent.
    name
        File stem, e.g. ``"table1"``.
    title
        Heading of the HTML page (default: ``name``).
    note
        Optional sentence shown under the heading (e.g. which conventions were used).

    Returns
    -------
    list of pathlib.Path
        The CSV and the HTML path, in that order.

    Example
    -------
    >>> import tempfile
    >>> paths = save_table(pd.DataFrame({"a": [1]}), tempfile.mkdtemp(), "demo")
    >>> [p.name for p in paths]
    ['demo.csv', 'demo.html']
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df: expected a pandas DataFrame, found {type(df).__name__}")
    _check_name(name)
    folder = run_folder(output_dir).tables
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"{name}.csv"
    html_path = folder / f"{name}.html"
    df.to_csv(csv_path, index=False)
    shown = df.astype(object).where(df.notna(), "")
    table_html = shown.to_html(
        index=False, border=0, escape=True, float_format=lambda x: f"{x:.6g}"
    )
    note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
    page = _HTML_PAGE.format(
        title=html.escape(title or name), note=note_html, table=table_html
    )
    html_path.write_text(page, encoding="utf-8")
    return [csv_path, html_path]


def save_figure(
    fig: Figure, output_dir: str | Path, name: str, *, dpi: int = FIGURE_DPI
) -> list[Path]:
    """Write a matplotlib figure as ``<output_dir>/figures/<name>.png`` and ``.svg``.

    The SVG keeps text as text (``svg.fonttype = "none"``, set only for this call), so that it
    stays searchable and editable; no date is embedded, so identical figures give identical
    files.

    Parameters
    ----------
    fig
        The figure.
    output_dir
        The run folder; ``figures/`` is created when absent.
    name
        File stem, e.g. ``"figure1_km"``.
    dpi
        Resolution of the PNG.

    Returns
    -------
    list of pathlib.Path
        The PNG and the SVG path, in that order.

    Example
    -------
    >>> import tempfile
    >>> from matplotlib.figure import Figure
    >>> [p.name for p in save_figure(Figure(), tempfile.mkdtemp(), "demo")]
    ['demo.png', 'demo.svg']
    """
    import matplotlib

    if not hasattr(fig, "savefig"):
        raise TypeError(f"fig: expected a matplotlib Figure, found {type(fig).__name__}")
    _check_name(name)
    folder = run_folder(output_dir).figures
    folder.mkdir(parents=True, exist_ok=True)
    png_path = folder / f"{name}.png"
    svg_path = folder / f"{name}.svg"
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):
        fig.savefig(png_path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        fig.savefig(svg_path, bbox_inches="tight", metadata={"Date": None})
    return [png_path, svg_path]


def registry_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as 64 lower-case hex digits.

    Parameters
    ----------
    path
        The file (e.g. the registry).

    Returns
    -------
    str
        The hex digest.

    Example
    -------
    >>> len(registry_sha256(DATA_DIR / "registry.csv"))
    64
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def shipped_registry_sha256(provenance_path: str | Path = PROVENANCE_PATH) -> str | None:
    """The SHA-256 recorded for the shipped registry, or ``None`` when no record exists.

    Parameters
    ----------
    provenance_path
        The provenance record (JSON with a top-level ``"sha256"``).

    Returns
    -------
    str or None
        The recorded digest (lower case), or ``None`` if the file or the key is missing.

    Example
    -------
    >>> shipped_registry_sha256() == registry_sha256(DATA_DIR / "registry.csv")
    True
    """
    path = Path(provenance_path)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    value = record.get("sha256") if isinstance(record, dict) else None
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return None
    return value.lower()


def is_shipped_registry(
    path: str | Path, *, provenance_path: str | Path = PROVENANCE_PATH
) -> bool:
    """Whether ``path`` is the shipped synthetic registry, byte for byte.

    The file's SHA-256 must equal the ``sha256`` recorded in ``data/registry_provenance.json``.
    A missing file, a missing or unreadable provenance record, or any other content gives
    ``False``: when in doubt, the data are treated as real patient data.

    Parameters
    ----------
    path
        The registry file, as :func:`helpers.schema.resolve_registry_path` reads it (``""``:
        the shipped registry).
    provenance_path
        The provenance record.

    Returns
    -------
    bool

    Example
    -------
    >>> is_shipped_registry(""), is_shipped_registry(DATA_DIR / "data_dictionary.yaml")
    (True, False)
    """
    expected = shipped_registry_sha256(provenance_path)
    if expected is None or path is None:
        return False
    try:
        file = resolve_registry_path(path)
    except RegistryError:
        return False
    return file.is_file() and registry_sha256(file) == expected


def show_patient_rows(
    df: pd.DataFrame,
    registry_path: str | Path,
    n: int = 5,
    *,
    provenance_path: str | Path = PROVENANCE_PATH,
) -> pd.DataFrame:
    """Rows to show in a notebook: patient rows for the shipped registry, an aggregate otherwise.

    For the shipped synthetic registry this is ``df.head(n)``. For any other registry it is a
    description of the frame that contains no patient-level value: one row per column with the
    column name, its dtype, the number of rows and the number of missing cells.

    Parameters
    ----------
    df
        Any patient-level frame (registry, cohort, derived factors).
    registry_path
        The registry file the frame came from (decides which of the two is returned).
    n
        Number of rows to show for the shipped registry.
    provenance_path
        The provenance record of the shipped registry.

    Returns
    -------
    pandas.DataFrame
        ``df.head(n)``, or columns ``column, dtype, n_rows, n_missing``.

    Example
    -------
    >>> show_patient_rows(pd.DataFrame({"age": [61, 47]}), "", n=1)
       age
    0   61
    >>> show_patient_rows(pd.DataFrame({"age": [61, 47]}), DATA_DIR / "data_dictionary.yaml")
      column  dtype  n_rows  n_missing
    0    age  int64       2          0
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df: expected a pandas DataFrame, found {type(df).__name__}")
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n: expected a non-negative integer, found {n!r}")
    if is_shipped_registry(registry_path, provenance_path=provenance_path):
        return df.head(n)
    return pd.DataFrame(
        {
            "column": [str(c) for c in df.columns],
            "dtype": [str(t) for t in df.dtypes],
            "n_rows": len(df),
            "n_missing": [int(df[c].isna().sum()) for c in df.columns],
        }
    )
