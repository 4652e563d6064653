"""The run folder: where tables and figures go, and the privacy guard for patient-level rows.

A run writes ``tables/<name>.csv|.html`` (:func:`save_table`), ``figures/<name>.png|.svg``
(:func:`save_figure`) and, from the runner, ``manifest.json``, ``notebooks/`` and ``html/``
(CONTRIBUTING.md, "The run folder"). Only the shipped synthetic registry, recognised by its
SHA-256 in ``data/registry_provenance.json``, may have patient rows shown
(:func:`show_patient_rows`); any other registry gets an aggregate.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from helpers import DATA_DIR
from helpers.schema import RegistryError, resolve_registry_path

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

#: Provenance record of the shipped registry (written with data/registry.csv by helpers.reproduction.synthetic).
PROVENANCE_PATH: Path = DATA_DIR / "registry_provenance.json"
#: Environment variable through which the runner tells its kernels the id of their run.
RUN_ID_VARIABLE: str = "METASTASECTOMY_RUN_ID"
#: Resolution of the PNG figures.
FIGURE_DPI: int = 150

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

_HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
  body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em; color: #222; }}
  h1 {{ font-size: 1.3em; }} p.note {{ color: #555; font-size: 0.9em; }}
  table {{ border-collapse: collapse; font-size: 0.9em; }} th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; }}
  th {{ background: #f0f0f0; text-align: left; }} td {{ text-align: right; font-variant-numeric: tabular-nums; }}
  tr:nth-child(even) td {{ background: #fafafa; }}
</style></head>
<body><h1>{title}</h1>
{note}
{table}
</body></html>
"""


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run folder: the folder, its sub-folders and ``manifest.json``."""

    root: Path
    tables: Path
    figures: Path
    notebooks: Path
    html: Path
    manifest: Path


def run_folder(output_dir: str | Path, *, create: bool = False) -> RunFolder:
    """The layout of a run folder (``create``: make it and its sub-folders).

    ``""`` is ``outputs/interactive/`` of the checkout (of the working folder outside one), so an
    ad-hoc run never writes into a ``make run`` folder; a relative path starts from the working folder.

    >>> run_folder("outputs").tables.as_posix()
    'outputs/tables'
    >>> run_folder("").root.parts[-2:]
    ('outputs', 'interactive')
    """
    root = Path(output_dir) if str(output_dir) else _interactive_root()
    folder = RunFolder(root, root / "tables", root / "figures", root / "notebooks", root / "html",
                       root / "manifest.json")
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


class RunFolderError(RuntimeError):
    """A notebook tried to write into the run folder of another run."""


def check_run_folder(output_dir: str | Path) -> None:
    """Refuse to write into a folder that a ``make run`` (or another runner run) owns.

    A run folder's ``manifest.json`` names its run (``run_id``); only that run's kernels (environment
    variable :data:`RUN_ID_VARIABLE`) may write there. A folder without a manifest is anyone's.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> check_run_folder(folder)  # no manifest: free
    >>> _ = (folder / "manifest.json").write_text('{"run_id": "r1", "started": "2026-01-01"}')
    >>> check_run_folder(folder)
    Traceback (most recent call last):
    ...
    helpers.outputs.RunFolderError: ...
    """
    manifest = run_folder(output_dir).manifest
    if not manifest.is_file():
        return
    try:
        record = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        record = {}
    owner = record.get("run_id") if isinstance(record, dict) else None
    if owner and owner != os.environ.get(RUN_ID_VARIABLE):
        raise RunFolderError(
            f"{run_folder(output_dir).root} is the run folder of run {owner} (started {record.get('started')}, "
            f"its manifest describes those results); an ad-hoc run must not write there. Pass another "
            f"output_dir, or \"\" for the interactive run folder outputs/interactive/")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name.endswith((".csv", ".html")):
        raise ValueError(f"name: expected a plain file stem such as 'table1' (letters, digits, '_', '-', '.', "
                         f"no folder and no extension), found {name!r}")


def save_table(df: pd.DataFrame, output_dir: str | Path, name: str, *, title: str | None = None,
               note: str | None = None, view: Any = None) -> list[Path]:
    """Write a table as ``<output_dir>/tables/<name>.csv`` and a readable ``.html`` page; return both.

    The CSV holds the frame as it is (no index); the HTML page has ``title`` (default ``name``), an
    optional ``note`` (e.g. the conventions used) and shows ``view`` (a ``Styler`` from
    :mod:`helpers.display`: labels, not keys) when given, else the frame.

    >>> import tempfile
    >>> paths = save_table(pd.DataFrame({"a": [1]}), tempfile.mkdtemp(), "demo")
    >>> [p.name for p in paths]
    ['demo.csv', 'demo.html']
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df: expected a pandas DataFrame, found {type(df).__name__}")
    _check_name(name)
    check_run_folder(output_dir)
    folder = run_folder(output_dir).tables
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = folder / f"{name}.csv", folder / f"{name}.html"
    df.to_csv(csv_path, index=False)
    if view is not None:
        table_html = view.to_html() if hasattr(view, "to_html") and not isinstance(view, pd.DataFrame) else \
            view.to_html(index=False, border=0, escape=True)
    else:
        table_html = df.astype(object).where(df.notna(), "").to_html(
            index=False, border=0, escape=True, float_format=lambda x: f"{x:.6g}")
    note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
    html_path.write_text(_HTML_PAGE.format(title=html.escape(title or name), note=note_html, table=table_html),
                         encoding="utf-8")
    return [csv_path, html_path]


def save_figure(fig: Figure, output_dir: str | Path, name: str, *, dpi: int = FIGURE_DPI) -> list[Path]:
    """Write a figure as ``<output_dir>/figures/<name>.png`` and ``.svg`` (text as text, no date); return both.

    >>> import tempfile
    >>> from matplotlib.figure import Figure
    >>> [p.name for p in save_figure(Figure(), tempfile.mkdtemp(), "demo")]
    ['demo.png', 'demo.svg']
    """
    import matplotlib

    if not hasattr(fig, "savefig"):
        raise TypeError(f"fig: expected a matplotlib Figure, found {type(fig).__name__}")
    _check_name(name)
    check_run_folder(output_dir)
    folder = run_folder(output_dir).figures
    folder.mkdir(parents=True, exist_ok=True)
    png_path, svg_path = folder / f"{name}.png", folder / f"{name}.svg"
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):
        fig.savefig(png_path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        fig.savefig(svg_path, bbox_inches="tight", metadata={"Date": None})
    return [png_path, svg_path]


def registry_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as 64 lower-case hex digits.

    >>> len(registry_sha256(DATA_DIR / "registry.csv"))
    64
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def shipped_registry_sha256(provenance_path: str | Path = PROVENANCE_PATH) -> str | None:
    """The SHA-256 (lower case) the provenance record gives the shipped registry; ``None`` without one.

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


def is_shipped_registry(path: str | Path, *, provenance_path: str | Path = PROVENANCE_PATH) -> bool:
    """Whether ``path`` (as ``resolve_registry_path`` reads it) is the shipped synthetic registry, byte for byte.

    A missing file or record, or any other content, gives ``False``: when in doubt, data are real.

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


def show_patient_rows(df: pd.DataFrame, registry_path: str | Path, n: int = 5, *,
                      provenance_path: str | Path = PROVENANCE_PATH) -> pd.DataFrame:
    """Rows to show: ``df.head(n)`` for the shipped registry, else ``column, dtype, n_rows, n_missing``.

    ``registry_path`` is the file ``df`` came from; any other registry shows no patient value.

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
    return pd.DataFrame({"column": [str(c) for c in df.columns], "dtype": [str(t) for t in df.dtypes],
                         "n_rows": len(df), "n_missing": [int(df[c].isna().sum()) for c in df.columns]})


def show_warnings_once() -> None:
    """Show each warning once, as one Markdown line, in place of Python's stderr block.

    For a notebook's setup cell (it sets ``warnings.showwarning``; filters stay): a
    :class:`helpers.cox.CoxWarning` reads "**CoxWarning**: only 6.4 events per parameter ...",
    without the kernel's temporary file name, once per message.

    >>> show_warnings_once()
    >>> isinstance(warnings.showwarning, _ShowOnce)
    True
    >>> warnings.showwarning = warnings._showwarning_orig
    """
    warnings.showwarning = _ShowOnce()  # the filters stay; the hook drops repeats itself


class _ShowOnce:
    """``warnings.showwarning`` that shows each (category, message) once (see show_warnings_once)."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ARG002
        key = (category.__name__, str(message))
        if key not in self.seen:
            self.seen.add(key)
            _show_warning(f"> **{category.__name__}**: {message}", file)


def _show_warning(text: str, file=None) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython is a dependency
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(Markdown(text))
    else:
        (file or sys.stderr).write(text + "\n")
