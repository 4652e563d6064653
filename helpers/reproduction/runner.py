"""Run the notebook collection with papermill: a fresh kernel per notebook, independent ones at once.

Command line (``make run``, ``make sweep``)::

    python -m helpers.reproduction.runner run   [--params FILE.yaml] [-p name=value ...] [--output DIR]
                                                [--notebooks 01,02,03] [--sweep SWEEP_DIR] [--no-html]
                                                [--parallel N]
    python -m helpers.reproduction.runner sweep --grid FILE.yaml [--scheduler local|tcp://host:port]
                                                [--workers N] [--retries N] [--output DIR] ...
    python -m helpers.reproduction.runner params [--markdown]

``run`` executes ``notebooks/NN-*.ipynb`` into one run folder (see :mod:`helpers.outputs`). Each
notebook gets its own, fresh kernel (the one its metadata names, started in ``notebooks/``);
notebooks that do not depend on each other run at the same time. A notebook depends on the
numbers listed under ``metadata["metastasectomy_survival"]["run_after"]`` (the report reads the
tables of the others). The run folder receives the executed notebooks, an HTML export of each,
the tables and figures the notebooks write, and ``manifest.json``: parameters (as set, and per
notebook as run), registry path and SHA-256, package versions, per-notebook and total wall time,
status. Parameters are those declared by the notebooks' ``parameters`` cells
(:mod:`helpers.reproduction.params`); each notebook receives only the ones it declares. A
failing notebook stops the run: notebooks not yet started are marked ``not_run``, the manifest
says ``failed``, the command exits 1.

Library functions return frozen dataclasses and never print; the command line prints.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from helpers import DATA_DIR, PROJECT_ROOT
from helpers.outputs import RUN_ID_VARIABLE, registry_sha256, run_folder
from helpers.reproduction.params import (
    Parameter,
    ParameterError,
    absolute_paths,
    parameter_markdown,
    parameter_table,
    parse_assignments,
    read_parameters,
    read_yaml_mapping,
    validate_parameters,
)

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
    "metastasectomy-survival", "numpy", "pandas", "scipy", "lifelines", "statsmodels", "matplotlib",
    "seaborn", "pandera", "pyyaml", "papermill", "nbformat", "nbconvert", "ipykernel",
    "jupyter_client", "dask", "distributed",
)
#: Notebook metadata key: ``{"run_after": ["06"]}`` makes a notebook wait for those numbers.
RUN_AFTER_KEY = "metastasectomy_survival"

#: Seconds a kernel may take to start and answer (generous: 2 busy cores start several at once).
KERNEL_START_TIMEOUT: int = 180
#: Further attempts at a notebook whose kernel never answered (no cell has run, so it is safe).
START_RETRIES: int = 1
_START_FAILURES = ("Kernel didn't respond", "Kernel died before replying to kernel_info")
_NOTEBOOK_RE = re.compile(r"^(\d{2})-[a-z0-9][a-z0-9-]*\.ipynb$")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# --------------------------------------------------------------------------------------------
# notebooks, their dependencies and kernels
# --------------------------------------------------------------------------------------------


def notebook_number(path: str | Path) -> str:
    """The two-digit number of a notebook file (``"01"`` for ``01-cohort-assembly.ipynb``)."""
    match = _NOTEBOOK_RE.match(Path(path).name)
    if match is None:
        raise ParameterError(f"{Path(path).name}: not a collection notebook (NN-name.ipynb)")
    return match.group(1)


def list_notebooks(notebooks_dir: str | Path = NOTEBOOKS_DIR, only: Sequence[str] | None = None) -> list[Path]:
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
    >>> [p.name for p in list_notebooks()][:1]
    ['01-cohort-assembly.ipynb']
    """
    folder = Path(notebooks_dir)
    found = sorted(p for p in folder.glob("*.ipynb") if _NOTEBOOK_RE.match(p.name))
    if only is not None:
        wanted = {str(x).strip().zfill(2) for x in only if str(x).strip()}
        have = {notebook_number(p) for p in found}
        unknown = sorted(wanted - have)
        if unknown:
            raise ParameterError(
                f"--notebooks: no notebook numbered {', '.join(unknown)} in {folder}; "
                f"found {', '.join(sorted(have)) or 'none'}"
            )
        found = [p for p in found if notebook_number(p) in wanted]
    if not found:
        raise ParameterError(f"no notebooks NN-*.ipynb found in {folder}")
    return found


def _metadata(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8")).get("metadata", {})


def notebook_kernel(path: str | Path) -> str:
    """The kernel named in a notebook's metadata (``kernelspec.name``), else the project's.

    Parameters
    ----------
    path
        The notebook file.

    Returns
    -------
    str

    Example
    -------
    >>> notebook_kernel(list_notebooks()[0])
    'metastasectomy-survival'
    """
    return _metadata(Path(path)).get("kernelspec", {}).get("name") or KERNEL_NAME


def dependencies(notebooks: Sequence[Path]) -> dict[Path, set[Path]]:
    """What each notebook waits for: the notebooks of the run its ``run_after`` metadata names.

    Numbers absent from the run are ignored, so a partial run keeps working.

    Parameters
    ----------
    notebooks
        The notebooks of the run.

    Returns
    -------
    dict
        Notebook -> set of notebooks that must finish first.

    Example
    -------
    >>> deps = dependencies(list_notebooks())
    >>> sorted(notebook_number(p) for p in deps[list_notebooks(only=["04"])[0]])
    ['01', '02', '03', '06']
    """
    by_number = {notebook_number(nb): nb for nb in notebooks}
    out = {}
    for nb in notebooks:
        wanted = _metadata(nb).get(RUN_AFTER_KEY, {}).get("run_after", [])
        out[nb] = {by_number[n] for n in (str(x).zfill(2) for x in wanted) if n in by_number}
    return out


def execution_order(notebooks: Sequence[Path]) -> list[Path]:
    """A sequential order that respects :func:`dependencies`: reading order, dependants later.

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
    >>> [notebook_number(p) for p in execution_order(list_notebooks())]
    ['01', '02', '03', '05', '06', '04']
    """
    after = dependencies(notebooks)
    done: list[Path] = []
    pending = list(notebooks)
    while pending:
        ready = [nb for nb in pending if after[nb] <= set(done)]
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
    >>> check_kernels(list_notebooks())
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
# results
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
        Wall time of the execution and its HTML export (seconds).
    started_s
        When it started, seconds after the run started.
    output_path, html_path
        Executed notebook and its HTML export (``None`` when not written).
    parameters
        The parameters passed (the ones the notebook declares and the run sets).
    error, error_kind
        The failing cell's error and the exception's type name; ``None`` when it ran.
    """

    name: str
    status: str
    duration_s: float = 0.0
    started_s: float = 0.0
    output_path: Path | None = None
    html_path: Path | None = None
    parameters: dict = field(default_factory=dict)
    error: str | None = None
    error_kind: str | None = None


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
        One :class:`NotebookResult` per notebook, in execution order.
    parameters
        The parameters set for the run (paths absolute).
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

    @property
    def error_kinds(self) -> tuple[str, ...]:
        """The exception type names of the failed notebooks."""
        return tuple(nb.error_kind for nb in self.notebooks if nb.error_kind)


# --------------------------------------------------------------------------------------------
# one notebook
# --------------------------------------------------------------------------------------------


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


def _logged_kernel_manager_class(log_handle, cwd: Path, run_id: str = ""):
    """A kernel-manager class whose kernels start in ``cwd`` and write stderr to ``log_handle``.

    The working directory is given to the kernel process itself: papermill's own ``cwd``
    argument changes the directory of the whole runner process, which notebooks executed in
    parallel threads would race on. Kernel start-up warnings go to ``<run>/logs/<notebook>.log``.
    nbclient still owns the kernel and shuts it down after the notebook.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _LoggedKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):  # type: ignore[override]
            kw.update(stderr=log_handle, cwd=str(cwd))
            if run_id:  # the kernel may write into its run's folder (helpers.outputs.check_run_folder)
                kw["env"] = {**(kw.get("env") or os.environ), RUN_ID_VARIABLE: run_id}
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return _LoggedKernelManager


def _kernel_did_not_start(exc: BaseException) -> bool:
    """Whether papermill failed before any cell ran, because the kernel never answered."""
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(m in text for m in _START_FAILURES)


def _portable_metadata(executed: Path, source: Path, root: Path) -> None:
    """Record papermill's input and output paths relative to the run folder (they are absolute)."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    info = nb.metadata.get("papermill", {})
    info.update(input_path=portable_path(source, root), output_path=portable_path(executed, root))
    nbformat.write(nb, executed)


def _scrub_log(log: Path, root: Path) -> None:
    """Replace the machine's folders in a kernel's stderr log by placeholders (the run folder is ``.``)."""
    if not log.is_file():
        return
    text = log.read_text(encoding="utf-8", errors="replace")
    places = {str(root.resolve()): ".", sys.prefix: "<python>", sys.base_prefix: "<python>",
              str(PROJECT_ROOT): "<checkout>", str(Path.home()): "~"}
    for place in sorted(places, key=len, reverse=True):  # the longest (most specific) first
        text = text.replace(place, places[place])
    log.write_text(text, encoding="utf-8")


def notebook_title(nb) -> str:
    """The text of the notebook's first Markdown heading (the page title of its HTML export)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return "Notebook"


def export_html(notebook_path: Path, html_path: Path) -> Path:
    """Export an executed notebook to a standalone HTML page with nbconvert.

    Parameters
    ----------
    notebook_path, html_path
        The executed notebook and the page to write.

    Returns
    -------
    pathlib.Path
        ``html_path``.

    Example
    -------
    >>> export_html(Path("out/notebooks/01.ipynb"), Path("out/html/01.html"))  # doctest: +SKIP
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook_path, as_version=4)
    body, _ = HTMLExporter().from_notebook_node(nb, resources={"metadata": {"name": notebook_title(nb)}})
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def execute_notebook(
    notebook: Path, folder_root: Path, parameters: Mapping[str, object], *, cwd: Path, html: bool, t0: float,
    run_id: str = "",
) -> NotebookResult:
    """Execute one notebook in a fresh kernel into ``<run>/notebooks/``; never raises.

    Parameters
    ----------
    notebook
        The source notebook.
    folder_root
        The run folder (``notebooks/``, ``html/`` and ``logs/`` go inside).
    parameters
        The values to inject (only names the notebook declares).
    cwd
        The kernel's working directory.
    html
        Also export the executed notebook to ``html/``.
    t0
        ``time.perf_counter()`` at the start of the run (for ``started_s``).

    Returns
    -------
    NotebookResult

    Example
    -------
    >>> execute_notebook(nb, Path("out"), {}, cwd=NOTEBOOKS_DIR, html=False, t0=0)  # doctest: +SKIP
    """
    import papermill as pm

    folder = run_folder(folder_root)
    out_path, started = folder.notebooks / notebook.name, time.perf_counter()
    status, error, kind, html_path = "ok", None, None, None
    (folder.root / "logs").mkdir(exist_ok=True)
    with (folder.root / "logs" / f"{notebook.stem}.log").open("w", encoding="utf-8") as log:
        for attempt in range(1 + START_RETRIES):
            try:
                pm.execute_notebook(
                    str(notebook), str(out_path), parameters=dict(parameters),
                    kernel_name=notebook_kernel(notebook), progress_bar=False, log_output=False,
                    request_save_on_cell_execute=False, start_timeout=KERNEL_START_TIMEOUT,
                    kernel_manager_class=_logged_kernel_manager_class(log, cwd, run_id),
                )
                status, error, kind = "ok", None, None
                break
            except Exception as exc:  # papermill raises PapermillExecutionError, kernels others
                status, error, kind = "failed", _format_error(exc, notebook.name), type(exc).__name__
                if not _kernel_did_not_start(exc):
                    break
                log.write(f"kernel start failed (attempt {attempt + 1}): {exc}\n")
    _scrub_log(folder.root / "logs" / f"{notebook.stem}.log", folder.root)
    if out_path.exists():
        _portable_metadata(out_path, notebook, folder.root)
    if html and out_path.exists():
        try:
            html_path = export_html(out_path, folder.html / f"{notebook.stem}.html")
        except Exception as exc:  # noqa: BLE001 - an export error does not fail the notebook
            error = f"HTML export of {notebook.name} failed: {type(exc).__name__}: {exc}"
    return NotebookResult(
        name=notebook.name, status=status, duration_s=round(time.perf_counter() - started, 3),
        started_s=round(started - t0, 3), output_path=out_path if out_path.exists() else None,
        html_path=html_path, parameters=dict(parameters), error=error, error_kind=kind,
    )


def run_graph(notebooks: Sequence[Path], after: Mapping[Path, set[Path]], work, *, parallel: int,
              on_done=None) -> dict[Path, NotebookResult]:
    """Execute ``work(notebook)`` for every notebook, each as soon as its dependencies are done.

    At most ``parallel`` at once, started in the order given. After a failure nothing new
    starts; what is running finishes and the rest is ``not_run``.

    Parameters
    ----------
    notebooks
        The notebooks, in the order to start them in.
    after
        Output of :func:`dependencies`.
    work
        Callable, notebook -> :class:`NotebookResult`.
    parallel
        Notebooks at once.
    on_done
        Optional callback receiving each :class:`NotebookResult` as it finishes.

    Returns
    -------
    dict
        Notebook -> result, for every notebook.

    Example
    -------
    >>> run_graph(nbs, dependencies(nbs), work, parallel=2)  # doctest: +SKIP
    """
    results: dict[Path, NotebookResult] = {}
    running: dict[Future, Path] = {}
    failed = False
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        while True:
            started = set(results) | set(running.values())
            ready = [nb for nb in notebooks if nb not in started and after[nb] <= set(results)]
            for nb in [] if failed else ready[: max(0, parallel - len(running))]:
                running[pool.submit(work, nb)] = nb
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                result = results[running.pop(future)] = future.result()
                failed = failed or result.status != "ok"
                if on_done is not None:
                    on_done(result)
    for nb in notebooks:
        results.setdefault(nb, NotebookResult(name=nb.name, status="not_run"))
    return results


# --------------------------------------------------------------------------------------------
# one run
# --------------------------------------------------------------------------------------------


def _clear_previous_run(root: Path) -> None:
    """Remove the managed parts of an earlier run in the same folder (only if it is one)."""
    folder = run_folder(root)
    if not folder.manifest.exists():
        return
    for sub in (folder.notebooks, folder.html, folder.tables, folder.figures, folder.root / "logs"):
        if sub.is_dir():
            shutil.rmtree(sub)
    folder.manifest.unlink()


def write_manifest(path: Path, manifest: Mapping) -> None:
    """Write a manifest atomically (a reader never sees half a file)."""
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def registry_of(given: Mapping[str, object], parameters: Mapping[str, Parameter], notebooks_dir: Path) -> Path:
    """The registry file a run reads: the one given, else the notebooks' default.

    An empty default means the shipped registry (``helpers.DATA_DIR / "registry.csv"``); a
    relative default is relative to the notebooks' folder (the kernels' working directory).

    Parameters
    ----------
    given
        The parameters set for the run (paths absolute).
    parameters
        The declared parameters (:func:`helpers.reproduction.params.read_parameters`).
    notebooks_dir
        The kernels' working directory.

    Returns
    -------
    pathlib.Path

    Example
    -------
    >>> registry_of({"registry_path": "/data/r.csv"}, {}, NOTEBOOKS_DIR)
    PosixPath('/data/r.csv')
    """
    if given.get("registry_path"):
        return Path(str(given["registry_path"]))
    spec = parameters.get("registry_path")
    default = str(spec.default) if spec is not None else ""
    return DATA_DIR / "registry.csv" if default == "" else (notebooks_dir / default).resolve()


def _check_files(given: Mapping[str, object], registry: Path, sweep: Path | None) -> None:
    """Raise before anything runs when an input file or the named sweep is missing."""
    problems = [] if registry.is_file() else [f"registry_path: file not found: {registry}"]
    mapping = str(given.get("registry_mapping") or "")
    if mapping and not Path(mapping).is_file():
        problems.append(f"registry_mapping: file not found: {mapping}")
    if sweep is not None and not (sweep / "tables" / "sweep_summary.csv").is_file():
        problems.append(f"sweep: no tables/sweep_summary.csv in {sweep}")
    if problems:
        raise ParameterError("\n".join(problems))


def portable_path(path: str | Path, root: Path) -> str:
    """``path`` as a run folder records it: relative to the run folder ``root``, never absolute.

    Example
    -------
    >>> portable_path("/data/hospital/export.csv", Path("/data/runs/r1"))
    '../../hospital/export.csv'
    """
    return Path(os.path.relpath(Path(path).resolve(), Path(root).resolve())).as_posix()


def kernel_parameters(passed: Mapping[str, object], root: Path) -> dict[str, object]:
    """The values injected into a notebook: paths relative to the run folder, the kernel's cwd.

    The kernels start in the run folder, so ``output_dir`` is ``"."``, the shipped registry is
    ``""`` and any other file is named relative to the run folder: no executed notebook, HTML page
    or manifest holds an absolute path of the machine.

    Example
    -------
    >>> kernel_parameters({"output_dir": "/r/run1", "registry_path": str(DATA_DIR / "registry.csv"),
    ...                    "ties": "efron"}, Path("/r/run1"))
    {'output_dir': '.', 'registry_path': '', 'ties': 'efron'}
    """
    shipped = (DATA_DIR / "registry.csv").resolve()
    out: dict[str, object] = {}
    for name, value in passed.items():
        if name == "output_dir":
            value = "."
        elif name == "registry_path" and value and Path(str(value)).resolve() == shipped:
            value = ""
        elif name in _PATH_PARAMETERS and value:
            value = portable_path(str(value), root)
        out[name] = value
    return out


#: Parameters that name files or folders (made relative to the run folder for the kernels).
_PATH_PARAMETERS = ("registry_path", "registry_mapping", "sweeps_dir")


def _start_manifest(given: Mapping, registry: Path, sweep: Path | None, notebooks: Sequence[Path],
                    cwd: Path, parallel: int, root: Path) -> dict:
    mapping = str(given.get("registry_mapping") or "")
    return {
        "run_id": uuid.uuid4().hex[:12], "status": "running", "started": _now(), "finished": None, "duration_s": None,
        "parameters": kernel_parameters(given, root),
        "registry": {"path": portable_path(registry, root), "sha256": registry_sha256(registry)},
        "registry_mapping": ({"path": portable_path(mapping, root), "sha256": registry_sha256(Path(mapping))}
                             if mapping else None),
        "sweep": portable_path(sweep, root) if sweep is not None else None,
        "notebooks_dir": portable_path(cwd, root), "kernel": "fresh per notebook", "parallel": parallel,
        "cpu_count": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform(),
        "packages": package_versions(),
        "notebooks": [{"name": nb.name, "status": "pending", "duration_s": None} for nb in notebooks],
        "error": None,
    }


def _notebook_entry(result: NotebookResult, root: Path, declared: Mapping[str, Parameter], number: str) -> dict:
    """The manifest entry of one notebook: status, timing and its parameters as run."""
    as_run = {name: dict(p.defaults).get(number) for name, p in declared.items() if number in p.notebooks}
    as_run.update(result.parameters)
    return {
        "name": result.name, "status": result.status, "duration_s": result.duration_s,
        "started_s": result.started_s, "parameters": as_run,
        "executed": str(result.output_path.relative_to(root)) if result.output_path else None,
        "html": str(result.html_path.relative_to(root)) if result.html_path else None,
        "error": result.error,
    }


def _prepare(params, output_dir, notebooks_dir, only, base_dir, sweep):
    """Validate everything a run needs; returns (notebooks, declared, given, registry, sweep)."""
    notebooks = execution_order(list_notebooks(notebooks_dir, only))
    declared = read_parameters(notebooks)
    given = validate_parameters(dict(params or {}), declared)
    if output_dir is not None:
        given["output_dir"] = str(output_dir)
    given.setdefault("output_dir", str(OUTPUTS_DIR / run_name(given, declared)))
    given = absolute_paths(given, declared, base_dir)
    given["output_dir"] = str(Path(str(given["output_dir"])).resolve())
    sweep_dir = None if sweep is None else (Path(base_dir or Path.cwd()) / Path(sweep)).resolve()
    registry = registry_of(given, declared, Path(notebooks_dir).resolve())
    _check_files(given, registry, sweep_dir)
    given["registry_path"] = str(registry)  # every notebook reads the same, resolved file
    check_kernels(notebooks)
    return notebooks, declared, given, registry, sweep_dir


def run_collection(
    params: Mapping[str, object] | None = None,
    output_dir: str | Path | None = None,
    *,
    notebooks_dir: str | Path = NOTEBOOKS_DIR,
    only: Sequence[str] | None = None,
    html: bool = True,
    base_dir: str | Path | None = None,
    parallel: int | None = None,
    sweep: str | Path | None = None,
    on_done=None,
) -> RunResult:
    """Execute the notebooks into one run folder, each in a fresh kernel, independent ones at once.

    Parameters
    ----------
    params
        Parameter values to set (checked against the notebooks' parameters cells before
        anything runs). ``output_dir`` may be given here or as the argument.
    output_dir
        The run folder (default ``outputs/<run_name>``); wins over ``params["output_dir"]``.
    notebooks_dir
        Folder of the ``NN-*.ipynb`` notebooks (the kernels' working directory).
    only
        Numbers of the notebooks to run (default all). A full run first removes an earlier run's
        notebooks, HTML, tables, figures and manifest from the folder; a partial run keeps them.
    html
        Export every executed notebook to ``html/``.
    base_dir
        Folder user-given relative paths are relative to (default: current directory).
    parallel
        Notebooks executed at once (default: every notebook whose dependencies are done).
    sweep
        A sweep folder (holding ``tables/sweep_summary.csv``) for the report to summarise;
        recorded in the manifest as ``sweep``.
    on_done
        Optional callback receiving each :class:`NotebookResult` as it finishes.

    Returns
    -------
    RunResult

    Raises
    ------
    ParameterError
        Bad parameters, missing registry, mapping or sweep, unknown notebook numbers.
    RuntimeError
        A notebook's kernel is not installed.

    Example
    -------
    >>> run_collection({"dfi_cutoff_months": 18}, "outputs/dfi18").status  # doctest: +SKIP
    'ok'
    """
    t0 = time.perf_counter()
    notebooks, declared, given, registry, sweep_dir = _prepare(
        params, output_dir, notebooks_dir, only, base_dir, sweep)
    root, source = Path(str(given["output_dir"])), Path(notebooks_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if only is None:
        _clear_previous_run(root)
    folder = run_folder(root, create=True)
    parallel = int(parallel or len(notebooks))
    manifest = _start_manifest(given, registry, sweep_dir, notebooks, source, parallel, root)
    write_manifest(folder.manifest, manifest)
    numbers = {nb: notebook_number(nb) for nb in notebooks}

    def work(nb: Path) -> NotebookResult:
        passed = {k: v for k, v in given.items() if numbers[nb] in declared[k].notebooks}
        return execute_notebook(nb, root, kernel_parameters(passed, root), cwd=root, html=html, t0=t0,
                                run_id=manifest["run_id"])

    results = run_graph(notebooks, dependencies(notebooks), work, parallel=parallel, on_done=on_done)
    result = _finish(manifest, [results[nb] for nb in notebooks], folder.manifest, declared, given, t0)
    manifest.update(_report(root) if html else {"report": None, "exports": None})  # from the finished manifest
    write_manifest(folder.manifest, manifest)
    return result


def _report(root: Path) -> dict[str, object]:
    """Write the results report and the journal exports; their paths for the manifest.

    An error here does not fail the run (the notebooks' results stand); it is recorded instead.
    """
    from helpers.reproduction.exports import write_exports
    from helpers.reproduction.run_report import write_report

    out: dict[str, object] = {}
    for key, write in (("report", lambda: portable_path(write_report(root), root)),
                       ("exports", lambda: [portable_path(p, root) for p in write_exports(root)])):
        try:
            out[key] = write()
        except Exception as exc:  # noqa: BLE001
            out[key], out[f"{key}_error"] = None, f"{type(exc).__name__}: {exc}"
    return out


def _finish(manifest: dict, ordered: Sequence[NotebookResult], path: Path, declared, given, t0: float) -> RunResult:
    """Complete and write the manifest; the run's result."""
    error = next((r.error for r in ordered if r.status == "failed"), None)
    root = path.parent
    manifest.update(
        status="ok" if error is None else "failed", finished=_now(), error=error,
        duration_s=round(time.perf_counter() - t0, 3),
        notebooks=[_notebook_entry(r, root, declared, r.name[:2]) for r in ordered],
    )
    write_manifest(path, manifest)
    return RunResult(output_dir=root, manifest_path=path, status=manifest["status"], notebooks=tuple(ordered),
                     parameters=given, duration_s=manifest["duration_s"], error=error)


def run_name(params: Mapping[str, object], parameters: Mapping[str, Parameter]) -> str:
    """A folder name for a run: the parameters set (except paths), or ``default``.

    Parameters
    ----------
    params
        Validated values (only those set by the user).
    parameters
        The declared parameters.

    Returns
    -------
    str

    Example
    -------
    >>> run_name({"dfi_cutoff_months": 18, "ties": "efron"}, {})
    'dfi_cutoff_months-18_ties-efron'
    """
    parts = [f"{k}-{v}" for k, v in params.items()
             if not (k in parameters and (parameters[k].is_path or v == parameters[k].default))
             and not k.endswith(("_path", "_dir", "_mapping"))]
    if params.get("registry_path"):
        parts.insert(0, re.sub(r"[^A-Za-z0-9_.-]", "_", Path(str(params["registry_path"])).stem))
    return re.sub(r"[^A-Za-z0-9_.=-]", "_", "_".join(parts)) or "default"


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", metavar="FILE.yaml", help="YAML mapping name -> value")
    p.add_argument("-p", "--parameter", action="append", default=[], metavar="name=value",
                   help="set one parameter (repeatable; wins over --params)")
    p.add_argument("--notebooks", metavar="01,02,03", help="run only these notebook numbers")
    p.add_argument("--notebooks-dir", default=str(NOTEBOOKS_DIR), help=argparse.SUPPRESS)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.reproduction.runner",
        description="Execute the notebook collection with papermill (one run or a sweep).")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the collection once")
    _common(run)
    run.add_argument("--output", metavar="DIR", help="run folder (default outputs/<run-name>/)")
    run.add_argument("--no-html", action="store_true", help="skip the HTML export")
    run.add_argument("--parallel", type=int, help="notebooks at once (default: all that are ready)")
    run.add_argument("--sweep", metavar="DIR", help="sweep folder the report (04) summarises")
    sweep = sub.add_parser("sweep", help="run a grid of parameter sets on dask.distributed")
    _common(sweep)
    sweep.add_argument("--grid", required=True, metavar="FILE.yaml", help="parameter -> list of values")
    sweep.add_argument("--scheduler", default="local",
                       help="'local' (a LocalCluster, the default) or a scheduler address tcp://host:port")
    sweep.add_argument("--workers", type=int, default=2, help="workers of the local cluster (default 2)")
    sweep.add_argument("--retries", type=int, default=1, help="retries of a run whose kernel died (default 1)")
    sweep.add_argument("--output", metavar="DIR", help="sweep folder (default outputs/sweep-<grid name>/)")
    sweep.add_argument("--html", action="store_true", help="export HTML for every run")
    params = sub.add_parser("params", help="list the parameters declared by the notebooks")
    params.add_argument("--markdown", action="store_true", help="as the Markdown table of the docs")
    params.add_argument("--notebooks-dir", default=str(NOTEBOOKS_DIR), help=argparse.SUPPRESS)
    return parser


def _gather_params(args: argparse.Namespace, declared: Mapping[str, Parameter]) -> dict[str, object]:
    params: dict[str, object] = {}
    if args.params:
        params.update(read_yaml_mapping(args.params, "parameter file"))
    params.update(parse_assignments(args.parameter, declared))
    return validate_parameters(params, declared)


def _only(args: argparse.Namespace) -> list[str] | None:
    return [x for x in args.notebooks.split(",") if x.strip()] if args.notebooks else None


def _err(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def _cli_run(args: argparse.Namespace, params: dict) -> int:
    def show(result: NotebookResult) -> None:
        _err(f"  {result.name:<48} {result.duration_s:6.1f} s  {result.status}\n")

    result = run_collection(params, args.output, notebooks_dir=args.notebooks_dir, only=_only(args),
                            html=not args.no_html, parallel=args.parallel, sweep=args.sweep, on_done=show)
    folder = run_folder(result.output_dir)
    if not result.ok:
        _err(f"\nRun FAILED ({result.duration_s:.1f} s).\n{result.error}\n")
        print(f"Partial results (manifest status 'failed'): {result.output_dir}")
        return 1
    print(f"Done in {result.duration_s:.1f} s. Results: {result.output_dir}")
    print(f"  results report:     {folder.root / 'report' / 'index.html'} (no code; open it in a browser)")
    print(f"  executed notebooks: {folder.notebooks}\n  notebook pages:     {folder.html}")
    print(f"  tables / figures:   {folder.tables} , {folder.figures}\n  manifest:           {result.manifest_path}")
    return 0


def _cli_sweep(args: argparse.Namespace, params: dict) -> int:
    from helpers.reproduction.sweep import run_sweep

    grid = read_yaml_mapping(args.grid, "grid")
    output = args.output or str(OUTPUTS_DIR / f"sweep-{Path(args.grid).stem}")

    def show(done: int, n: int, record: dict) -> None:
        bar = "#" * round(20 * done / n)
        _err(f"[{bar:<20}] {done}/{n} {record['run']} {record['duration_s']:.1f} s {record['status']}\n")

    _err(f"Sweep into {output} on {args.scheduler} ...\n")
    result = run_sweep(grid, output, scheduler=args.scheduler, workers=args.workers, retries=args.retries,
                       base_params=params, notebooks_dir=args.notebooks_dir, only=_only(args),
                       html=args.html, on_done=show)
    print(f"Sweep of {len(result.runs)} runs done in {result.duration_s:.1f} s ({result.n_failed} failed). "
          f"Summary: {result.summary_path}  Figure: {result.figure_paths[0]}")
    return 1 if result.n_failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 ok, 1 failed run, 2 bad input).

    Parameters
    ----------
    argv
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int

    Example
    -------
    >>> main(["params"])  # doctest: +SKIP
    """
    args = _build_parser().parse_args(argv)
    try:
        declared = read_parameters(list_notebooks(args.notebooks_dir))
        if args.command == "params":
            text = parameter_markdown(declared) if args.markdown else parameter_table(declared).to_string(index=False)
            print(text.rstrip("\n"))
            return 0
        params = _gather_params(args, declared)
        return _cli_run(args, params) if args.command == "run" else _cli_sweep(args, params)
    except (ParameterError, RuntimeError, ValueError, OSError) as exc:
        _err(f"error: {exc}\n")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
