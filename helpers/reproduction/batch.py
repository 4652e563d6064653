"""Batch runner: execute the notebook collection with papermill, one run or a parameter sweep.

Command line::

    python -m helpers.reproduction.batch run   [--params FILE.yaml] [-p name=value ...] [--output DIR]
                                  [--notebooks 01,02,03] [--no-html]
    python -m helpers.reproduction.batch sweep --grid FILE.yaml [--workers N] [--output DIR]
                                  [--params FILE.yaml] [-p name=value ...] [--notebooks 01,02,03]
    python -m helpers.reproduction.batch params          # the table of parameters

``run`` executes ``notebooks/NN-*.ipynb`` in reading order (kernel started in ``notebooks/``;
the kernel is the one named in each notebook's metadata), into one run folder (see
:mod:`helpers.outputs`): executed notebooks, an HTML export of each, the tables and figures the
notebooks write, and ``manifest.json`` (parameters, registry path and SHA-256, package versions,
Python, start/end time, per-notebook duration and status, overall status). Parameters are
checked against :data:`PARAMETERS` before anything runs; each notebook receives only the
parameters its ``parameters`` cell declares. A failing notebook stops the run: the partially
executed notebook is kept, the manifest says ``failed`` and the command exits non-zero.

``sweep`` runs the cartesian product of a YAML grid (parameter -> list of values) in parallel
(one process, hence one kernel at a time, per worker), each run in its own folder, and collates
``tables/sweep_summary.csv`` (one row per run and factor: the run's parameters, the factor's
univariate log-rank p from ``table2.csv`` and its multivariable HR, CI and p from
``table3.csv``) and ``figures/sweep_summary.png|svg``. A failed run is reported in the summary
and does not stop the others.

Library functions return frozen dataclasses (:class:`RunResult`, :class:`SweepResult`) and
never print; progress goes to an optional callback. The command line prints.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

from helpers import PROJECT_ROOT
from helpers.outputs import registry_sha256, run_folder, save_figure, save_table
from helpers.reproduction.published import format_p

#: Folder of the notebook collection.
NOTEBOOKS_DIR: Path = PROJECT_ROOT / "notebooks"
#: Default parent of run folders.
OUTPUTS_DIR: Path = PROJECT_ROOT / "outputs"
#: The project's Jupyter kernel (notebook metadata ``kernelspec.name``).
KERNEL_NAME: str = "metastasectomy-survival"
#: How to register the kernel, quoted in the error when it is missing.
KERNEL_HINT: str = (
    f'.venv/bin/python -m ipykernel install --sys-prefix --name {KERNEL_NAME} '
    f'--display-name "Python ({KERNEL_NAME})"   (or: make setup)'
)
#: Packages whose versions the manifest records.
MANIFEST_PACKAGES: tuple[str, ...] = (
    "metastasectomy-survival",
    "numpy",
    "pandas",
    "scipy",
    "lifelines",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "pandera",
    "tableone",
    "pyyaml",
    "papermill",
    "nbformat",
    "nbconvert",
    "ipykernel",
    "jupyter_client",
)

_NOTEBOOK_RE = re.compile(r"^(\d{2})-[a-z0-9][a-z0-9-]*\.ipynb$")


# --------------------------------------------------------------------------------------------
# the parameters: ONE table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One notebook parameter of CONTRIBUTING.md ("Notebook parameters").

    Attributes
    ----------
    name, kind, default, meaning
        Name, Python type (``str`` or ``float``), default, one-line meaning.
    allowed
        The allowed values of a ``str`` parameter (``None``: any string).
    minimum, maximum
        Bounds of a ``float`` parameter; ``exclusive`` makes them strict.
    is_path
        A file or folder; passed to notebooks as an absolute path.
    optional
        The empty string is allowed and means "none" (kept as ``""``, never made a path).
    """

    name: str
    kind: type
    default: object
    meaning: str
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive: bool = False
    is_path: bool = False
    optional: bool = False


#: The declared parameters (CONTRIBUTING.md): the only names the runner accepts.
PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in (
        Parameter("registry_path", str, "../data/registry.csv", "registry file (CSV, Excel or Parquet)", is_path=True),
        Parameter("registry_mapping", str, "", "registry mapping for local names and codes (YAML); empty: none", is_path=True, optional=True),
        Parameter("output_dir", str, "../outputs", "the run folder", is_path=True),
        Parameter("landmark_months", float, 60, "landmark of the survival rates (months)", minimum=0, exclusive=True),
        Parameter("alpha", float, 0.05, "significance level (CIs and the selection rule)", minimum=0, maximum=1, exclusive=True),
        Parameter("age_cutoff_years", float, 50, "age cut-off (years)", minimum=0, maximum=110, exclusive=True),
        Parameter("dfi_cutoff_months", float, 12, "disease-free interval cut-off (months)", minimum=0, exclusive=True),
        Parameter("primary_size_cutoff_cm", float, 10, "primary tumour size cut-off (cm)", minimum=0, exclusive=True),
        Parameter("lesion_size_cutoff_mm", float, 20, "largest lung lesion cut-off (mm)", minimum=0, exclusive=True),
        Parameter("ties", str, "breslow", "Cox ties: breslow (SPSS, the paper) or efron (R)", allowed=("breslow", "efron")),
        Parameter("median_ci", str, "symmetric", "CI of the median survival", allowed=("symmetric", "log", "log-log", "plain")),
        Parameter("endpoint", str, "all_cause", "all_cause (the paper) or disease_specific", allowed=("all_cause", "disease_specific")),
        Parameter("n_bootstrap", float, 200, "bootstrap resamples of the whole procedure (notebook 06)", minimum=20, maximum=100000),
        Parameter("seed", float, 2022, "seed of the bootstrap resamples (notebook 06)", minimum=0),
        Parameter("scheduler_address", str, "local", "dask scheduler of notebook 06: local (a LocalCluster) or tcp://host:port"),
    )
}  # fmt: skip


class ParameterError(ValueError):
    """Unknown parameter names or ill-typed values; the message lists every problem."""


def parameter_table() -> pd.DataFrame:
    """The declared parameters as a table (name, type, default, allowed, range, meaning).

    Returns
    -------
    pandas.DataFrame

    Example
    -------
    >>> parameter_table().set_index("name").loc["ties", "allowed"]
    'breslow, efron'
    """
    rows = []
    for p in PARAMETERS.values():
        bounds = ""
        if p.minimum is not None or p.maximum is not None:
            lo = "" if p.minimum is None else f"{p.minimum:g} {'<' if p.exclusive else '<='} "
            hi = "" if p.maximum is None else f" {'<' if p.exclusive else '<='} {p.maximum:g}"
            bounds = f"{lo}x{hi}"
        rows.append(
            {
                "name": p.name,
                "type": p.kind.__name__,
                "default": p.default,
                "allowed": ", ".join(p.allowed) if p.allowed else "",
                "range": bounds,
                "meaning": p.meaning,
            }
        )
    return pd.DataFrame(rows)


def _coerce(spec: Parameter, value: object) -> tuple[object, str | None]:
    """Check and normalise one value; returns (value, problem or None)."""
    if spec.kind is str:
        if isinstance(value, Path):
            value = str(value)
        if spec.optional and value == "":
            return value, None
        if not isinstance(value, str) or value == "":
            return value, f"{spec.name}: expected a non-empty string, found {value!r}"
        if spec.allowed is not None and value not in spec.allowed:
            return value, (
                f"{spec.name}: expected one of {', '.join(spec.allowed)}, found {value!r}"
            )
        return value, None
    # float parameters: ints and floats (not bools); numeric strings from the command line
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value, f"{spec.name}: expected a number, found {value!r}"
    if isinstance(number, bool) or not isinstance(number, int | float):
        return value, f"{spec.name}: expected a number, found {value!r} ({type(value).__name__})"
    number = float(number)
    if not math.isfinite(number):
        return value, f"{spec.name}: expected a finite number, found {value!r}"
    if spec.minimum is not None and (
        number <= spec.minimum if spec.exclusive else number < spec.minimum
    ):
        return value, f"{spec.name}: expected {'>' if spec.exclusive else '>='} {spec.minimum:g}, found {number:g}"
    if spec.maximum is not None and (
        number >= spec.maximum if spec.exclusive else number > spec.maximum
    ):
        return value, f"{spec.name}: expected {'<' if spec.exclusive else '<='} {spec.maximum:g}, found {number:g}"
    # whole numbers go to the notebooks as ints, so level keys read lt_12_months, not lt_12.0_
    return (int(number) if number.is_integer() else number), None


def validate_parameters(params: Mapping[str, object]) -> dict[str, object]:
    """Check parameter names and values against :data:`PARAMETERS`; return normalised values.

    Every problem is collected before raising, so one error lists them all. Numbers given as
    strings (``-p dfi_cutoff_months=18``) are converted; whole numbers become ``int``.

    Parameters
    ----------
    params
        Mapping name -> value (only the names to set; defaults are not filled in).

    Returns
    -------
    dict
        The normalised values, same keys.

    Raises
    ------
    ParameterError
        Unknown names (with the declared ones listed) or ill-typed / out-of-range values.

    Example
    -------
    >>> validate_parameters({"dfi_cutoff_months": "18", "ties": "efron"})
    {'dfi_cutoff_months': 18, 'ties': 'efron'}
    """
    problems: list[str] = []
    clean: dict[str, object] = {}
    for name, value in params.items():
        spec = PARAMETERS.get(name)
        if spec is None:
            problems.append(
                f"{name}: unknown parameter; expected one of {', '.join(PARAMETERS)}"
            )
            continue
        value, problem = _coerce(spec, value)
        if problem:
            problems.append(problem)
        else:
            clean[name] = value
    if problems:
        raise ParameterError(
            f"{len(problems)} parameter problem(s):\n  " + "\n  ".join(problems)
        )
    return clean


def parse_assignments(pairs: Iterable[str]) -> dict[str, object]:
    """Parse ``name=value`` strings from the command line (values read as YAML scalars).

    Parameters
    ----------
    pairs
        e.g. ``["dfi_cutoff_months=18", "ties=efron"]``.

    Returns
    -------
    dict

    Raises
    ------
    ParameterError
        A pair without ``=`` or with an empty name.

    Example
    -------
    >>> parse_assignments(["dfi_cutoff_months=18", "ties=efron"])
    {'dfi_cutoff_months': 18, 'ties': 'efron'}
    """
    out: dict[str, object] = {}
    problems = []
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            problems.append(f"-p {pair!r}: expected name=value")
            continue
        spec = PARAMETERS.get(name)
        if spec is not None and spec.kind is str:
            out[name] = raw.strip()
        else:
            try:
                out[name] = yaml.safe_load(raw) if raw.strip() else raw
            except yaml.YAMLError:
                out[name] = raw
    if problems:
        raise ParameterError("\n".join(problems))
    return out


def read_yaml_mapping(path: str | Path, what: str) -> dict:
    """Read a YAML file that must hold a mapping (a parameter file or a sweep grid).

    Parameters
    ----------
    path
        The YAML file.
    what
        What the file is, for error messages (``"parameter file"``, ``"grid"``).

    Returns
    -------
    dict

    Raises
    ------
    ParameterError
        Missing file, invalid YAML, or not a mapping.

    Example
    -------
    >>> read_yaml_mapping("grid.yaml", "grid")  # doctest: +SKIP
    {'dfi_cutoff_months': [6, 12]}
    """
    file = Path(path)
    if not file.is_file():
        raise ParameterError(f"{what} {file}: file not found")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterError(f"{what} {file}: not valid YAML ({exc})") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParameterError(
            f"{what} {file}: expected a mapping name -> value, found {type(data).__name__}"
        )
    return data


def resolve_parameters(
    params: Mapping[str, object], *, base_dir: str | Path | None = None
) -> dict[str, object]:
    """All declared parameters: defaults filled in, paths made absolute.

    Default paths are relative to ``notebooks/`` (as in the notebooks); paths the user gives
    are relative to ``base_dir`` (default: the current working directory).

    Parameters
    ----------
    params
        Validated values (output of :func:`validate_parameters`).
    base_dir
        Folder user-given relative paths are relative to.

    Returns
    -------
    dict
        Every name of :data:`PARAMETERS`, in the table's order.

    Example
    -------
    >>> resolve_parameters({})["registry_path"].endswith("data/registry.csv")
    True
    """
    base = Path.cwd() if base_dir is None else Path(base_dir)
    out: dict[str, object] = {}
    for name, spec in PARAMETERS.items():
        if name in params:
            value = params[name]
            if spec.is_path and value != "":
                value = str((base / Path(str(value)).expanduser()).resolve())
        else:
            value = spec.default
            if spec.is_path and value != "":
                value = str((NOTEBOOKS_DIR / str(value)).resolve())
        out[name] = value
    return out


def run_name(params: Mapping[str, object]) -> str:
    """A folder name for a run: the non-default parameters, or ``default``.

    Parameters
    ----------
    params
        Validated values (only those set by the user).

    Returns
    -------
    str

    Example
    -------
    >>> run_name({"dfi_cutoff_months": 18, "ties": "efron"})
    'dfi_cutoff_months-18_ties-efron'
    """
    parts = []
    for name, value in params.items():
        spec = PARAMETERS.get(name)
        if spec is None or spec.is_path or value == spec.default:
            continue
        parts.append(f"{name}-{value}")
    if "registry_path" in params:
        stem = Path(str(params["registry_path"])).stem
        parts.insert(0, re.sub(r"[^A-Za-z0-9_.-]", "_", stem))
    return "_".join(parts) or "default"


# --------------------------------------------------------------------------------------------
# notebooks and kernels
# --------------------------------------------------------------------------------------------


def list_notebooks(
    notebooks_dir: str | Path = NOTEBOOKS_DIR, only: Sequence[str] | None = None
) -> list[Path]:
    """The collection in reading order: ``NN-*.ipynb``, optionally only some numbers.

    Parameters
    ----------
    notebooks_dir
        Folder of the notebooks.
    only
        Numbers to keep (``["01", "02"]`` or ``["1", "2"]``); ``None`` keeps all.

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    ParameterError
        No notebook found, or a requested number that does not exist.

    Example
    -------
    >>> [p.name for p in list_notebooks()][:1]  # doctest: +SKIP
    ['01-cohort-assembly.ipynb']
    """
    folder = Path(notebooks_dir)
    found = sorted(p for p in folder.glob("*.ipynb") if _NOTEBOOK_RE.match(p.name))
    if only is not None:
        wanted = {str(x).strip().zfill(2) for x in only if str(x).strip()}
        have = {_NOTEBOOK_RE.match(p.name).group(1) for p in found}  # type: ignore[union-attr]
        unknown = sorted(wanted - have)
        if unknown:
            raise ParameterError(
                f"--notebooks: no notebook numbered {', '.join(unknown)} in {folder}; "
                f"found {', '.join(sorted(have)) or 'none'}"
            )
        found = [p for p in found if _NOTEBOOK_RE.match(p.name).group(1) in wanted]  # type: ignore[union-attr]
    if not found:
        raise ParameterError(f"no notebooks NN-*.ipynb found in {folder}")
    return found


def notebook_kernel(path: str | Path) -> str:
    """The kernel named in a notebook's metadata (``kernelspec.name``), else the project's.

    Parameters
    ----------
    path
        The notebook file.

    Returns
    -------
    str
        The kernelspec name.

    Example
    -------
    >>> notebook_kernel("notebooks/01-cohort-assembly.ipynb")  # doctest: +SKIP
    'metastasectomy-survival'
    """
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    return nb.get("metadata", {}).get("kernelspec", {}).get("name") or KERNEL_NAME


#: Notebook metadata key: ``{"run_after": ["06"]}`` makes a notebook run after those numbers.
RUN_AFTER_KEY = "metastasectomy_survival"


def execution_order(notebooks: Sequence[Path]) -> list[Path]:
    """The order to execute ``notebooks`` in: reading order, except that a notebook whose
    metadata names others under ``metadata["metastasectomy_survival"]["run_after"]`` (numbers,
    e.g. ``["05", "06"]``: the report links their outputs) runs after every one of them that is
    in the run. Numbers absent from the run are ignored, so a partial run keeps working.

    Parameters
    ----------
    notebooks
        Notebooks in reading order (:func:`list_notebooks`).

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    ParameterError
        The ``run_after`` entries form a cycle.

    Example
    -------
    >>> [p.name[:2] for p in execution_order(list_notebooks())]  # doctest: +SKIP
    ['01', '02', '03', '05', '06', '04']
    """
    number = {nb: _NOTEBOOK_RE.match(nb.name).group(1) for nb in notebooks}  # type: ignore[union-attr]
    present = set(number.values())
    after = {}
    for nb in notebooks:
        meta = json.loads(Path(nb).read_text(encoding="utf-8")).get("metadata", {}).get(RUN_AFTER_KEY, {})
        after[number[nb]] = {str(x).zfill(2) for x in meta.get("run_after", [])} & present
    done: list[Path] = []
    pending = list(notebooks)
    while pending:
        ready = [nb for nb in pending if after[number[nb]] <= {number[d] for d in done}]
        if not ready:
            raise ParameterError(f"notebooks {[nb.name for nb in pending]} wait on each other (run_after cycle)")
        done.append(ready[0])
        pending.remove(ready[0])
    return done


def check_kernels(notebooks: Sequence[Path]) -> None:
    """Raise a clear error when a notebook's kernel is not installed.

    Parameters
    ----------
    notebooks
        The notebooks about to run.

    Returns
    -------
    None

    Raises
    ------
    RuntimeError
        Names the missing kernel(s) and how to register the project's kernel.

    Example
    -------
    >>> check_kernels(list_notebooks())  # doctest: +SKIP
    """
    from jupyter_client.kernelspec import KernelSpecManager

    installed = set(KernelSpecManager().find_kernel_specs())
    missing = sorted({notebook_kernel(nb) for nb in notebooks} - installed)
    if missing:
        raise RuntimeError(
            f"Jupyter kernel(s) not installed: {', '.join(missing)} (installed: "
            f"{', '.join(sorted(installed)) or 'none'}). Register the project's kernel with:\n  "
            + KERNEL_HINT
        )


def package_versions(packages: Iterable[str] = MANIFEST_PACKAGES) -> dict[str, str | None]:
    """Installed versions of the given distributions (``None`` when not installed).

    Parameters
    ----------
    packages
        Distribution names.

    Returns
    -------
    dict
        Name -> version string or ``None``.

    Example
    -------
    >>> "pandas" in package_versions()
    True
    """
    out: dict[str, str | None] = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


# --------------------------------------------------------------------------------------------
# one run
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotebookResult:
    """Outcome of one notebook in a run.

    Attributes
    ----------
    name
        Notebook file name.
    status
        ``ok``, ``failed`` or ``not_run`` (after an earlier failure).
    duration_s
        Wall time of the papermill execution (seconds).
    output_path, html_path
        Executed notebook and its HTML export (``None`` when not written).
    parameters
        The parameters passed (the ones the notebook declares).
    error
        The failing cell's error, ``None`` when it ran.
    """

    name: str
    status: str
    duration_s: float
    output_path: Path | None
    html_path: Path | None
    parameters: dict = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class RunResult:
    """Outcome of one run of the collection.

    Attributes
    ----------
    output_dir, manifest_path
        The run folder and its manifest.
    status
        ``ok`` or ``failed``.
    notebooks
        One :class:`NotebookResult` per notebook, in reading order.
    parameters
        Every declared parameter as resolved (paths absolute).
    duration_s
        Wall time of the whole run.
    error
        The first error, ``None`` when the run succeeded.
    """

    output_dir: Path
    manifest_path: Path
    status: str
    notebooks: tuple[NotebookResult, ...]
    parameters: dict
    duration_s: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every notebook ran."""
        return self.status == "ok"


_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _format_error(exc: BaseException, notebook: str) -> str:
    """The failing cell's error as plain text (papermill's traceback without colours)."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    count = getattr(exc, "exec_count", None)
    trace = getattr(exc, "traceback", None)
    where = f" in cell [{count}]" if count is not None else ""
    text = f"{notebook} failed{where}: {ename}: {evalue}"
    if trace:
        text += "\n" + _ANSI_RE.sub("", "\n".join(trace))
    return text


def _clear_previous_run(folder) -> None:
    """Remove the managed parts of an earlier run in the same folder (only if it is one)."""
    if not folder.manifest.exists():
        return
    for sub in (folder.notebooks, folder.html, folder.tables, folder.figures, folder.root / "logs"):
        if sub.is_dir():
            shutil.rmtree(sub)
    folder.manifest.unlink()


def _write_manifest(path: Path, manifest: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class _HtmlExports:
    """Exports executed notebooks to HTML in one background thread.

    The kernel runs in its own process, so the runner's process mostly waits while a notebook
    executes; exporting the previous notebook (and importing nbconvert) meanwhile hides most
    of the export time.
    """

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1)
        self._exporter = None
        self._futures: list = []

    def _export(self, notebook_path: Path, html_path: Path) -> None:
        import nbformat

        if self._exporter is None:
            from nbconvert import HTMLExporter

            self._exporter = HTMLExporter()
        nb = nbformat.read(notebook_path, as_version=4)
        body, _ = self._exporter.from_notebook_node(nb)
        html_path.write_text(body, encoding="utf-8")

    def submit(self, notebook_path: Path, html_path: Path) -> None:
        self._futures.append(self._pool.submit(self._export, notebook_path, html_path))

    def warm_up(self) -> None:
        """Import nbconvert in the background while the first notebook runs."""
        self._futures.append(self._pool.submit(lambda: __import__("nbconvert")))

    def wait(self) -> list[str]:
        """Wait for every export; return the errors (an export error does not fail the run)."""
        errors = []
        for future in self._futures:
            try:
                future.result()
            except Exception as exc:  # noqa: BLE001 - reported in the manifest
                errors.append(f"{type(exc).__name__}: {exc}")
        self._pool.shutdown()
        return errors


def _logged_kernel_manager_class(log_handle):
    """A kernel-manager class whose kernels write their stderr to ``log_handle``.

    Keeps kernel start-up warnings out of the progress display while keeping them for
    inspection (``<run>/logs/<notebook>.log``). Passed to papermill (nbclient) as
    ``kernel_manager_class``, so nbclient still owns the kernel and shuts it down after the
    notebook.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _LoggedKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):  # type: ignore[override]
            kw["stderr"] = log_handle
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return _LoggedKernelManager


_SNAPSHOT_CODE = """
def __batch_snapshot():
    import os, sys, warnings
    import numpy, pandas, matplotlib, matplotlib.pyplot
    ip = get_ipython()
    ip._batch_snapshot = {
        "cwd": os.getcwd(),
        "warnings": list(warnings.filters),
        "rc": dict(matplotlib.rcParams),
        "np_random": numpy.random.get_state(),
        "sys_path": list(sys.path),
    }
__batch_snapshot()
del __batch_snapshot
"""

_RESTORE_CODE = """
def __batch_restore():
    import os, sys, warnings
    import numpy, pandas, matplotlib, matplotlib.pyplot as plt
    ip = get_ipython()
    snap = ip._batch_snapshot
    plt.close("all")
    matplotlib.rcParams.update(snap["rc"])
    os.chdir(snap["cwd"])
    sys.path[:] = snap["sys_path"]
    warnings.filters[:] = snap["warnings"]
    warnings._filters_mutated()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pandas.reset_option("all")
    numpy.random.set_state(snap["np_random"])
    ip.execution_count = 1
__batch_restore()
del __batch_restore
"""


class SharedKernel:
    """One Jupyter kernel reused for many notebooks (used by sweeps: one kernel per worker).

    Starting a kernel and importing the scientific stack costs seconds per notebook; a sweep
    worker runs many notebooks, so it keeps one kernel and, before each notebook, restores a
    clean state: the user namespace and output history are cleared (``%reset -f``), figures
    closed, and matplotlib's rcParams, pandas options, numpy's global random state, warning
    filters, ``sys.path``, the working directory and the execution counter are restored to a
    snapshot taken in the fresh kernel. Imported modules stay loaded (that is the saving).
    ``helpers.reproduction.batch run`` does not use this: every notebook of a run gets a fresh kernel.

    Parameters
    ----------
    kernel_name
        The kernelspec to start.
    cwd
        Working directory of the kernel (the notebooks folder).
    log_path
        File receiving the kernel's stderr.

    Example
    -------
    >>> shared = SharedKernel("metastasectomy-survival", "notebooks", "k.log")  # doctest: +SKIP
    >>> run_collection({}, "outputs/a", shared_kernel=shared)  # doctest: +SKIP
    >>> shared.shutdown()  # doctest: +SKIP
    """

    def __init__(self, kernel_name: str, cwd: str | Path, log_path: str | Path) -> None:
        self.kernel_name = kernel_name
        self.cwd = str(Path(cwd).resolve())
        self.log_path = Path(log_path)
        self.km = None
        self._log = None
        self.notebooks_run = 0

    def _run(self, coroutine_function, *args, **kwargs):
        from jupyter_core.utils import run_sync

        return run_sync(coroutine_function)(*args, **kwargs)

    async def _execute(self, code: str, timeout: float = 120) -> None:
        kc = self.km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=timeout)
            reply = await kc.execute_interactive(
                code, silent=True, store_history=False, timeout=timeout,
                output_hook=lambda msg: None,
            )
        finally:
            kc.stop_channels()
        if reply["content"]["status"] != "ok":
            raise RuntimeError(
                f"kernel reset failed: {reply['content'].get('ename')}: "
                f"{reply['content'].get('evalue')}"
            )

    def _start(self) -> None:
        from jupyter_client.manager import AsyncKernelManager

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self._log is None:
            self._log = self.log_path.open("a", encoding="utf-8")
        self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        self._run(self.km.start_kernel, cwd=self.cwd, stderr=self._log)
        self._run(self._execute, _SNAPSHOT_CODE)
        self.notebooks_run = 0

    def prepare(self):
        """A kernel in a clean state for the next notebook (started or restarted if needed).

        Example
        -------
        >>> km = SharedKernel("metastasectomy-survival", "notebooks", "k.log").prepare()  # doctest: +SKIP

        Returns
        -------
        jupyter_client.manager.AsyncKernelManager
        """
        alive = self.km is not None and self._run(self.km.is_alive)
        if not alive:
            self.shutdown(close_log=False)
            self._start()
        elif self.notebooks_run:
            try:
                self._run(self._execute, "get_ipython().run_line_magic('reset', '-f')")
                self._run(self._execute, _RESTORE_CODE)
            except Exception:  # a kernel that cannot be reset is replaced by a fresh one
                self.shutdown(close_log=False)
                self._start()
        self.notebooks_run += 1
        return self.km

    def shutdown(self, close_log: bool = True) -> None:
        """Stop the kernel (and close the log unless ``close_log`` is false).

        Parameters
        ----------
        close_log
            Also close the log file.

        Returns
        -------
        None
        """
        if self.km is not None:
            try:
                self._run(self.km.shutdown_kernel, now=True)
            except Exception:  # noqa: BLE001 - already dead
                pass
            self.km = None
        if close_log and self._log is not None:
            self._log.close()
            self._log = None


def _register_shared_engine() -> str:
    """Register (once) a papermill engine that executes on a given, already started kernel."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    name = "metastasectomy-shared-kernel"
    if name in papermill_engines._engines:
        return name

    class _SharedKernelEngine(NBClientEngine):
        """papermill's nbclient engine, on the kernel manager passed as ``km``; the kernel is
        kept alive afterwards and only the client's channels are closed."""

        @classmethod
        def execute_managed_notebook(
            cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
            start_timeout=60, execution_timeout=None, **kwargs,
        ):  # fmt: skip
            km = kwargs.pop("km")
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs,
                timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = PapermillNotebookClient(nb_man, km=km, **final_kwargs)
            try:
                return client.execute(cleanup_kc=False)
            finally:
                if getattr(client, "kc", None) is not None:
                    client.kc.stop_channels()

    papermill_engines.register(name, _SharedKernelEngine)
    return name


def run_collection(
    params: Mapping[str, object] | None = None,
    output_dir: str | Path | None = None,
    *,
    notebooks_dir: str | Path = NOTEBOOKS_DIR,
    only: Sequence[str] | None = None,
    html: bool = True,
    base_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    shared_kernel: SharedKernel | None = None,
) -> RunResult:
    """Execute the notebooks in reading order into one run folder (a notebook that reads
    later notebooks' outputs runs after them: :func:`execution_order`).

    Parameters
    ----------
    params
        Parameter values to set (validated here; unknown names or bad values raise before
        anything runs). ``output_dir`` may be given here or as the argument.
    output_dir
        The run folder (default ``outputs/<run_name(params)>``). Wins over
        ``params["output_dir"]``.
    notebooks_dir
        Folder of the ``NN-*.ipynb`` notebooks (the kernel's working directory).
    only
        Numbers of the notebooks to run (e.g. ``["01", "02"]``); default all. A full run first
        removes an earlier run's notebooks, HTML, tables, figures and manifest from the folder;
        a partial run keeps them (e.g. re-running 04 on the tables of 01-03).
    html
        Export every executed notebook to ``html/`` with nbconvert.
    base_dir
        Folder user-given relative paths are relative to (default: current directory).
    progress
        Called with short progress strings (``"[2/5] 02-survival ..."``, then ``" 4.1 s ok"``).
    shared_kernel
        Reuse this kernel (reset between notebooks) instead of a fresh kernel per notebook;
        sweeps use one per worker. Default: a fresh kernel per notebook.

    Returns
    -------
    RunResult

    Raises
    ------
    ParameterError
        Bad parameters, missing registry file, unknown notebook numbers.
    RuntimeError
        A notebook's kernel is not installed.

    Example
    -------
    >>> result = run_collection({"dfi_cutoff_months": 18}, "outputs/dfi18")  # doctest: +SKIP
    >>> result.status  # doctest: +SKIP
    'ok'
    """
    import papermill as pm

    started = time.perf_counter()
    given = validate_parameters(dict(params or {}))
    if output_dir is not None:
        given["output_dir"] = str(output_dir)
    elif "output_dir" not in given:
        given["output_dir"] = str(OUTPUTS_DIR / run_name(given))
    resolved = resolve_parameters(given, base_dir=base_dir)
    registry = Path(str(resolved["registry_path"]))
    if not registry.is_file():
        raise ParameterError(f"registry_path: file not found: {registry}")
    mapping = str(resolved.get("registry_mapping") or "")
    if mapping and not Path(mapping).is_file():
        raise ParameterError(f"registry_mapping: file not found: {mapping}")
    notebooks = execution_order(list_notebooks(notebooks_dir, only))
    check_kernels(notebooks)
    declared = {nb: set(pm.inspect_notebook(str(nb)).keys()) for nb in notebooks}

    folder = run_folder(resolved["output_dir"])
    folder.root.mkdir(parents=True, exist_ok=True)
    if only is None:
        # a full run replaces an earlier run in the same folder (never a folder that looks
        # complete but mixes runs); a partial run (--notebooks) builds on the earlier tables
        _clear_previous_run(folder)
    folder = run_folder(folder.root, create=True)
    notebook_cwd = Path(notebooks_dir).resolve()

    manifest: dict = {
        "status": "running",
        "started": _now(),
        "finished": None,
        "duration_s": None,
        "parameters": resolved,
        "parameters_set": {k: v for k, v in given.items()},
        "registry": {"path": str(registry), "sha256": registry_sha256(registry)},
        "registry_mapping": (
            {"path": mapping, "sha256": registry_sha256(Path(mapping))} if mapping else None
        ),
        "notebooks_dir": str(notebook_cwd),
        "kernel": "shared (reset between notebooks)" if shared_kernel else "fresh per notebook",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "notebooks": [
            {"name": nb.name, "status": "pending", "duration_s": None} for nb in notebooks
        ],
        "error": None,
    }
    _write_manifest(folder.manifest, manifest)

    exports = _HtmlExports() if html else None
    if exports is not None:
        exports.warm_up()
    logs = folder.root / "logs"
    logs.mkdir(exist_ok=True)

    results: list[NotebookResult] = []
    error: str | None = None
    total = len(notebooks)
    for i, nb in enumerate(notebooks, start=1):
        passed = {k: v for k, v in resolved.items() if k in declared[nb]}
        out_path = folder.notebooks / nb.name
        if progress:
            progress(f"[{i}/{total}] {nb.stem} ...")
        t0 = time.perf_counter()
        status, nb_error = "ok", None
        use_shared = shared_kernel is not None and shared_kernel.kernel_name == notebook_kernel(nb)
        log_handle = None if use_shared else (logs / f"{nb.stem}.log").open("w", encoding="utf-8")
        try:
            if use_shared:
                engine = {"engine_name": _register_shared_engine(), "km": shared_kernel.prepare()}
            else:
                engine = {"kernel_manager_class": _logged_kernel_manager_class(log_handle)}
            pm.execute_notebook(
                str(nb),
                str(out_path),
                parameters=passed,
                cwd=str(notebook_cwd),
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
                **engine,
            )
        except Exception as exc:  # papermill raises PapermillExecutionError, kernels others
            status, nb_error = "failed", _format_error(exc, nb.name)
        finally:
            if log_handle is not None:
                log_handle.close()
        duration = time.perf_counter() - t0
        html_path = None
        if exports is not None and out_path.exists():
            html_path = folder.html / f"{nb.stem}.html"
            exports.submit(out_path, html_path)
        results.append(
            NotebookResult(
                name=nb.name,
                status=status,
                duration_s=round(duration, 3),
                output_path=out_path if out_path.exists() else None,
                html_path=html_path,
                parameters=passed,
                error=nb_error,
            )
        )
        manifest["notebooks"][i - 1] = {
            "name": nb.name,
            "status": status,
            "duration_s": round(duration, 3),
            "parameters": sorted(passed),
            "executed": str(out_path.relative_to(folder.root)) if out_path.exists() else None,
            "html": str(html_path.relative_to(folder.root)) if html_path else None,
        }
        if progress:
            progress(f" {duration:.1f} s {status}\n")
        if status != "ok":
            error = nb_error
            for j in range(i, total):
                manifest["notebooks"][j]["status"] = "not_run"
                results.append(
                    NotebookResult(
                        name=notebooks[j].name,
                        status="not_run",
                        duration_s=0.0,
                        output_path=None,
                        html_path=None,
                    )
                )
            break
        _write_manifest(folder.manifest, manifest)

    if exports is not None:
        export_errors = exports.wait()
        if export_errors:
            manifest["html_export_errors"] = export_errors
    duration = time.perf_counter() - started
    status = "ok" if error is None else "failed"
    manifest.update(
        status=status, finished=_now(), duration_s=round(duration, 3), error=error
    )
    _write_manifest(folder.manifest, manifest)
    return RunResult(
        output_dir=folder.root,
        manifest_path=folder.manifest,
        status=status,
        notebooks=tuple(results),
        parameters=resolved,
        duration_s=round(duration, 3),
        error=error,
    )


# --------------------------------------------------------------------------------------------
# sweeps
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    """Outcome of a sweep.

    Attributes
    ----------
    output_dir
        The sweep folder (runs in ``runs/<name>/``).
    runs
        Per run: name, status, parameters, duration, error (a DataFrame).
    summary
        The collated ``sweep_summary`` table.
    summary_path, figure_paths
        Written files.
    duration_s
        Wall time of the sweep.
    """

    output_dir: Path
    runs: pd.DataFrame
    summary: pd.DataFrame
    summary_path: Path
    figure_paths: tuple[Path, ...]
    duration_s: float

    @property
    def n_failed(self) -> int:
        """Number of runs that failed."""
        return int((self.runs["status"] != "ok").sum())


def expand_grid(grid: Mapping[str, object]) -> list[dict[str, object]]:
    """Cartesian product of a grid (parameter -> list of values), validated.

    Parameters
    ----------
    grid
        e.g. ``{"dfi_cutoff_months": [6, 12], "ties": ["breslow", "efron"]}``; a scalar is a
        one-value list.

    Returns
    -------
    list of dict
        One parameter set per run, in the order of ``itertools.product``.

    Raises
    ------
    ParameterError
        Unknown names, path parameters, empty lists or bad values (all listed).

    Example
    -------
    >>> len(expand_grid({"dfi_cutoff_months": [6, 12], "ties": ["breslow", "efron"]}))
    4
    """
    problems = []
    axes: dict[str, list] = {}
    for name, values in grid.items():
        values = list(values) if isinstance(values, list | tuple) else [values]
        if name == "output_dir":
            problems.append("output_dir: cannot be swept (each run gets its own folder)")
            continue
        if not values:
            problems.append(f"{name}: expected a non-empty list of values, found []")
            continue
        clean = []
        for v in values:
            try:
                clean.append(validate_parameters({name: v})[name])
            except ParameterError as exc:
                problems.append(str(exc).split("\n  ", 1)[-1])
        axes[name] = clean
    if problems:
        raise ParameterError(f"grid: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    names = list(axes)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())]


_WORKER_KERNEL: SharedKernel | None = None


def _init_sweep_worker(kernel_name: str | None, cwd: str, log_dir: str) -> None:
    """Worker-process initialiser: one shared kernel per worker, stopped when the worker ends."""
    global _WORKER_KERNEL
    import multiprocessing.util
    import os

    if kernel_name is None:
        return
    _WORKER_KERNEL = SharedKernel(kernel_name, cwd, Path(log_dir) / f"worker-{os.getpid()}.log")
    multiprocessing.util.Finalize(None, _WORKER_KERNEL.shutdown, exitpriority=10)


def _sweep_worker(kwargs: dict) -> dict:
    """Run one sweep member in a worker process; never raises."""
    t0 = time.perf_counter()
    try:
        result = run_collection(**kwargs, shared_kernel=_WORKER_KERNEL)
        return {
            "status": result.status,
            "duration_s": result.duration_s,
            "error": result.error,
        }
    except Exception as exc:  # a bad run must not stop the sweep
        return {
            "status": "failed",
            "duration_s": round(time.perf_counter() - t0, 3),
            "error": f"{type(exc).__name__}: {exc}",
        }


def collate_sweep(runs: pd.DataFrame, grid_names: Sequence[str]) -> pd.DataFrame:
    """One row per run and factor: parameters, univariate p, multivariable HR, CI and p.

    Parameters
    ----------
    runs
        Columns ``run, status, output_dir, error`` plus one column per swept parameter.
    grid_names
        The swept parameter names (copied into every row).

    Returns
    -------
    pandas.DataFrame
        ``run, status, <grid names>, variable, level, univariate_p, in_model, hr, ci_low,
        ci_high, multivariable_p, error``; a failed run (or one without ``table2.csv``) has a
        single row with ``variable`` empty and the error.

    Example
    -------
    >>> collate_sweep(result.runs, ["dfi_cutoff_months"])  # doctest: +SKIP
    """
    rows = []
    for run in runs.itertuples(index=False):
        base = {"run": run.run, "status": run.status}
        base.update({name: getattr(run, name) for name in grid_names})
        tables = Path(run.output_dir) / "tables"
        t2_path, t3_path = tables / "table2.csv", tables / "table3.csv"
        if run.status != "ok" or not t2_path.is_file():
            error = run.error if run.status != "ok" else "no tables/table2.csv in the run"
            error = str(error).strip().splitlines()[0] if error else error
            rows.append({**base, "variable": None, "error": error})
            continue
        t2 = pd.read_csv(t2_path)
        t3 = pd.read_csv(t3_path) if t3_path.is_file() else pd.DataFrame(
            columns=["variable", "level", "hr", "ci_low", "ci_high", "p_value"]
        )
        for variable, part in t2.groupby("variable", sort=False):
            p = pd.to_numeric(part["p_value"], errors="coerce").dropna()
            row = {
                **base,
                "variable": variable,
                "univariate_p": float(p.iloc[0]) if len(p) else float("nan"),
                "in_model": False,
                "error": None,
            }
            model = t3.loc[t3["variable"] == variable]
            if len(model):
                m = model.iloc[0]
                row.update(
                    level=m["level"],
                    in_model=True,
                    hr=float(m["hr"]),
                    ci_low=float(m["ci_low"]),
                    ci_high=float(m["ci_high"]),
                    multivariable_p=float(m["p_value"]),
                )
            rows.append(row)
    columns = (
        ["run", "status", *grid_names, "variable", "level", "univariate_p", "in_model"]
        + ["hr", "ci_low", "ci_high", "multivariable_p", "error"]
    )
    return pd.DataFrame(rows).reindex(columns=columns)


def plot_sweep(summary: pd.DataFrame, grid_names: Sequence[str], *, alpha: float = 0.05):
    """Per factor that entered a model: HR with CI across the runs, filled when p < alpha.

    Parameters
    ----------
    summary
        Output of :func:`collate_sweep`.
    grid_names
        The swept parameters (used to label the runs).
    alpha
        Significance level of the filled markers.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per factor (HR on a log axis; a grey x marks runs where the factor was not
        selected into the model); built without pyplot, so no global state changes.

    Example
    -------
    >>> fig = plot_sweep(result.summary, ["dfi_cutoff_months"])  # doctest: +SKIP
    """
    from matplotlib import ticker
    from matplotlib.figure import Figure

    ok = summary.loc[summary["status"] == "ok"]
    runs = list(dict.fromkeys(summary["run"]))
    factors = list(dict.fromkeys(ok.loc[ok["in_model"].astype(bool), "variable"]))
    n = max(len(factors), 1)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    fig = Figure(
        figsize=(4.6 * ncols, nrows * (0.22 * len(runs) + 1.4) + 0.6), layout="constrained"
    )
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    labels = []
    for r in runs:
        first = summary.loc[summary["run"] == r].iloc[0]
        text = ", ".join(f"{g}={first[g]}" for g in grid_names) or r
        labels.append(text if first["status"] == "ok" else f"{text} (failed)")
    y = {r: i for i, r in enumerate(runs)}
    for idx, (ax, factor) in enumerate(zip(axes, factors, strict=False)):
        part = ok.loc[ok["variable"] == factor]
        for row in part.itertuples(index=False):
            yi = y[row.run]
            if not row.in_model:
                ax.plot([1.0], [yi], marker="x", color="0.6", linestyle="none")
                continue
            significant = row.multivariable_p < alpha
            ax.plot([row.ci_low, row.ci_high], [yi, yi], color="C0", linewidth=1.2)
            ax.plot(
                [row.hr],
                [yi],
                marker="o",
                color="C0",
                markerfacecolor="C0" if significant else "white",
                linestyle="none",
            )
            ax.annotate(
                f"p {format_p(row.multivariable_p)}",
                (1.0, yi),
                xycoords=("axes fraction", "data"),
                xytext=(3, 0),
                textcoords="offset points",
                fontsize=7,
                va="center",
            )
        ax.axvline(1.0, color="0.4", linestyle="--", linewidth=0.8)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_title(factor, fontsize=9)
        ax.set_yticks(range(len(runs)))
        ax.set_yticklabels(labels if idx % ncols == 0 else [], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("HR (95% CI), log scale")
    for ax in axes[len(factors) :]:
        ax.set_visible(False)
    if not factors:
        axes[0].set_visible(True)
        axes[0].text(0.5, 0.5, "no run produced a multivariable model", ha="center")
        axes[0].set_axis_off()
    fig.suptitle(
        f"Sensitivity sweep: filled = p < {alpha:g}, open = not significant, x = not selected",
        fontsize=9,
    )
    return fig


def run_sweep(
    grid: Mapping[str, object],
    output_dir: str | Path,
    *,
    workers: int = 2,
    base_params: Mapping[str, object] | None = None,
    notebooks_dir: str | Path = NOTEBOOKS_DIR,
    only: Sequence[str] | None = None,
    html: bool = False,
    base_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    reuse_kernels: bool = True,
) -> SweepResult:
    """Run every combination of a grid in parallel and collate the results.

    Parameters
    ----------
    grid
        Parameter -> list of values (see :func:`expand_grid`).
    output_dir
        The sweep folder: runs go to ``runs/NN_<name>/``, the summary to
        ``tables/sweep_summary.csv|html``, the figure to ``figures/sweep_summary.png|svg``.
    workers
        Parallel processes (each runs one kernel at a time).
    base_params
        Fixed parameters for every run (the grid overrides them).
    notebooks_dir, only, html, base_dir
        As in :func:`run_collection` (HTML export is off by default to keep sweeps fast).
    progress
        Called with one line per finished run.
    reuse_kernels
        One kernel per worker, reset between notebooks (:class:`SharedKernel`); ``False``
        starts a fresh kernel for every notebook, as ``run`` does (slower).

    Returns
    -------
    SweepResult

    Raises
    ------
    ParameterError
        Bad grid or base parameters (before anything runs).

    Example
    -------
    >>> run_sweep({"ties": ["breslow", "efron"]}, "outputs/sweep", workers=2)  # doctest: +SKIP
    """
    import multiprocessing

    started = time.perf_counter()
    base = validate_parameters(dict(base_params or {}))
    if "output_dir" in base:
        raise ParameterError("output_dir: cannot be set for a sweep; use the sweep's --output")
    combos = expand_grid(grid)
    if workers < 1:
        raise ParameterError(f"workers: expected >= 1, found {workers}")
    registries = {
        resolve_parameters({**base, **combo}, base_dir=base_dir)["registry_path"]
        for combo in combos
    }
    absent = sorted(str(r) for r in registries if not Path(str(r)).is_file())
    if absent:
        raise ParameterError(f"registry_path: file not found: {', '.join(absent)}")
    notebooks = list_notebooks(notebooks_dir, only)
    check_kernels(notebooks)
    root = Path(output_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    base_dir = Path.cwd() if base_dir is None else Path(base_dir)
    width = len(str(len(combos)))
    jobs = []
    for i, combo in enumerate(combos, start=1):
        label = "_".join(f"{k}-{v}" for k, v in combo.items()) or "default"
        name = f"{i:0{width}d}_{re.sub(r'[^A-Za-z0-9_.-]', '_', label)}"
        params = {**base, **combo}
        jobs.append(
            (
                name,
                combo,
                dict(
                    params=params,
                    output_dir=str(root / "runs" / name),
                    notebooks_dir=str(notebooks_dir),
                    only=list(only) if only else None,
                    html=html,
                    base_dir=str(base_dir),
                ),
            )
        )
    records: dict[str, dict] = {}
    if progress:
        progress(f"Sweep: {len(jobs)} runs on {workers} worker(s) into {root}\n")
    context = multiprocessing.get_context("spawn")
    kernels = {notebook_kernel(nb) for nb in notebooks}
    shared = kernels.pop() if reuse_kernels and len(kernels) == 1 else None
    init_args = (shared, str(Path(notebooks_dir).resolve()), str(root / "logs"))
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_sweep_worker,
        initargs=init_args,
    ) as pool:
        futures = {pool.submit(_sweep_worker, kw): (name, combo, kw) for name, combo, kw in jobs}
        for done, future in enumerate(as_completed(futures), start=1):
            name, combo, kw = futures[future]
            outcome = future.result()
            records[name] = {
                "run": name,
                **combo,
                "status": outcome["status"],
                "duration_s": outcome["duration_s"],
                "output_dir": kw["output_dir"],
                "error": outcome["error"],
            }
            if progress:
                progress(
                    f"[{done}/{len(jobs)}] {name} {outcome['duration_s']:.1f} s "
                    f"{outcome['status']}\n"
                )
    runs = pd.DataFrame([records[name] for name, _, _ in jobs])
    grid_names = list(grid)
    summary = collate_sweep(runs, grid_names)
    paths = save_table(
        summary,
        root,
        "sweep_summary",
        title="Sensitivity sweep: univariate p and multivariable HR per factor and run",
    )
    alpha = float(base.get("alpha", PARAMETERS["alpha"].default))
    fig = plot_sweep(summary, grid_names, alpha=alpha)
    figure_paths = save_figure(fig, root, "sweep_summary")
    duration = time.perf_counter() - started
    _write_manifest(
        root / "sweep_manifest.json",
        {
            "grid": {k: (v if isinstance(v, list) else [v]) for k, v in grid.items()},
            "base_parameters": base,
            "workers": workers,
            "kernel_reuse": shared is not None,
            "notebooks": [nb.name for nb in notebooks],
            "finished": _now(),
            "duration_s": round(duration, 3),
            "runs": runs.to_dict(orient="records"),
        },
    )
    return SweepResult(
        output_dir=root,
        runs=runs,
        summary=summary,
        summary_path=paths[0],
        figure_paths=tuple(figure_paths),
        duration_s=round(duration, 3),
    )


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.reproduction.batch",
        description="Execute the notebook collection with papermill (one run or a sweep).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--params", metavar="FILE.yaml", help="YAML mapping name -> value")
        p.add_argument(
            "-p",
            "--parameter",
            action="append",
            default=[],
            metavar="name=value",
            help="set one parameter (repeatable; wins over --params)",
        )
        p.add_argument(
            "--notebooks",
            metavar="01,02,03",
            help="run only these notebook numbers (comma-separated)",
        )
        p.add_argument(
            "--notebooks-dir", default=str(NOTEBOOKS_DIR), help=argparse.SUPPRESS
        )

    run = sub.add_parser("run", help="run the collection once")
    common(run)
    run.add_argument("--output", metavar="DIR", help="run folder (default outputs/<run-name>/)")
    run.add_argument("--no-html", action="store_true", help="skip the HTML export")

    sweep = sub.add_parser("sweep", help="run a grid of parameter sets in parallel")
    common(sweep)
    sweep.add_argument("--grid", required=True, metavar="FILE.yaml", help="parameter -> list")
    sweep.add_argument("--workers", type=int, default=2, help="parallel runs (default 2)")
    sweep.add_argument(
        "--output", metavar="DIR", help="sweep folder (default outputs/sweep-<grid name>/)"
    )
    sweep.add_argument("--html", action="store_true", help="export HTML for every run")
    sweep.add_argument(
        "--fresh-kernels",
        action="store_true",
        help="a fresh kernel per notebook instead of one reused kernel per worker (slower)",
    )

    sub.add_parser("params", help="print the table of declared parameters")
    return parser


def _gather_params(args: argparse.Namespace) -> dict[str, object]:
    params: dict[str, object] = {}
    if args.params:
        params.update(read_yaml_mapping(args.params, "parameter file"))
    params.update(parse_assignments(args.parameter))
    return validate_parameters(params)


def _only(args: argparse.Namespace) -> list[str] | None:
    return [x for x in args.notebooks.split(",") if x.strip()] if args.notebooks else None


def _err(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 ok, 1 failed run, 2 bad input).

    Parameters
    ----------
    argv
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 when everything ran, 1 when a run (or a sweep member) failed, 2 for bad input.

    Example
    -------
    >>> main(["params"])  # doctest: +SKIP
    """
    args = _build_parser().parse_args(argv)
    if args.command == "params":
        print(parameter_table().to_string(index=False))
        return 0
    try:
        params = _gather_params(args)
        if args.command == "run":
            result = run_collection(
                params,
                args.output,
                notebooks_dir=args.notebooks_dir,
                only=_only(args),
                html=not args.no_html,
                progress=_err,
            )
        else:
            grid = read_yaml_mapping(args.grid, "grid")
            output = args.output or str(OUTPUTS_DIR / f"sweep-{Path(args.grid).stem}")
            sweep = run_sweep(
                grid,
                output,
                workers=args.workers,
                base_params=params,
                notebooks_dir=args.notebooks_dir,
                only=_only(args),
                html=args.html,
                progress=_err,
                reuse_kernels=not args.fresh_kernels,
            )
    except (ParameterError, RuntimeError) as exc:
        _err(f"error: {exc}\n")
        return 2
    if args.command == "run":
        if not result.ok:
            _err(f"\nRun FAILED ({result.duration_s:.1f} s).\n{result.error}\n")
            print(f"Partial results (manifest status 'failed'): {result.output_dir}")
            return 1
        print(f"Done in {result.duration_s:.1f} s. Results: {result.output_dir}")
        print(f"  executed notebooks: {run_folder(result.output_dir).notebooks}")
        print(f"  HTML reports:       {run_folder(result.output_dir).html}")
        print(f"  tables / figures:   {run_folder(result.output_dir).tables} , "
              f"{run_folder(result.output_dir).figures}")
        print(f"  manifest:           {result.manifest_path}")
        return 0
    failed = sweep.n_failed
    print(
        f"Sweep of {len(sweep.runs)} runs done in {sweep.duration_s:.1f} s "
        f"({failed} failed). Summary: {sweep.summary_path}  Figure: {sweep.figure_paths[0]}"
    )
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


# --------------------------------------------------------------------------------------------
# reading sweeps back (for the reproduction report)
# --------------------------------------------------------------------------------------------


def find_latest_sweep(folders: Iterable[str | Path]) -> Path | None:
    """The newest ``sweep_summary.csv`` under any of the given folders (by modification time).

    Parameters
    ----------
    folders
        Folders searched recursively (missing ones are skipped).

    Returns
    -------
    pathlib.Path or None

    Example
    -------
    >>> find_latest_sweep(["../outputs"])  # doctest: +SKIP
    PosixPath('.../outputs/sweep-grid/tables/sweep_summary.csv')
    """
    found = []
    for folder in folders:
        root = Path(folder)
        if root.is_dir():
            found += [p for p in root.rglob("sweep_summary.csv") if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def summarise_sweep(summary: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """How each factor's conclusion holds across the runs of a sweep.

    Parameters
    ----------
    summary
        A ``sweep_summary.csv`` (output of :func:`collate_sweep`).
    alpha
        Significance level.

    Returns
    -------
    pandas.DataFrame
        One row per factor: ``variable, runs, univariate_significant, in_model,
        multivariable_significant`` (counts of successful runs), ``hr_min, hr_median,
        hr_max`` (over the runs where it was in the model), sorted by how often it was
        significant in the model.

    Example
    -------
    >>> summarise_sweep(pd.read_csv(find_latest_sweep(["../outputs"])))  # doctest: +SKIP
    """
    ok = summary.loc[(summary["status"] == "ok") & summary["variable"].notna()].copy()
    ok["in_model"] = ok["in_model"].astype(str).str.lower().isin(["true", "1"])
    rows = []
    for variable, part in ok.groupby("variable", sort=False):
        model = part.loc[part["in_model"]]
        hr = pd.to_numeric(model["hr"], errors="coerce")
        rows.append(
            {
                "variable": variable,
                "runs": int(part["run"].nunique()),
                "univariate_significant": int((part["univariate_p"] < alpha).sum()),
                "in_model": int(len(model)),
                "multivariable_significant": int((model["multivariable_p"] < alpha).sum()),
                "hr_min": hr.min(),
                "hr_median": hr.median(),
                "hr_max": hr.max(),
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.sort_values(
        ["multivariable_significant", "univariate_significant"], ascending=False, kind="stable"
    ).reset_index(drop=True)
