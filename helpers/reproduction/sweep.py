"""Sensitivity sweeps: one run of the collection per combination of a grid, on dask.distributed.

:func:`run_sweep` expands a grid (parameter -> list of values), submits one task per run to a
dask cluster (a LocalCluster by default, or an existing scheduler by address: see
:mod:`helpers.reproduction.cluster`), and collates ``tables/sweep_summary.csv`` (one row per run
and factor: the run's parameters, the factor's univariate log-rank p from ``table2.csv`` and its
multivariable HR, CI and p from ``table3.csv``) and ``figures/sweep_summary.png|svg``.

Failures are isolated: a run whose notebook fails is recorded in the summary with its error and
the others complete. A run whose kernel died (or whose task raised) is retried on the cluster
(``retries``); a run still failing after its retries is recorded the same way.

:func:`sweep_for_report` says which sweep a report summarises: the one named in the run's
manifest (``runner run --sweep DIR``), or a folder given explicitly. Nothing is chosen by file
modification time.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.outputs import save_figure, save_table
from helpers.reproduction.params import (
    ParameterError,
    expand_grid,
    read_parameters,
    validate_parameters,
)
from helpers.reproduction.runner import (
    NOTEBOOKS_DIR,
    _now,
    check_kernels,
    list_notebooks,
    registry_of,
    run_collection,
    write_manifest,
)

#: Exception types of a failed notebook that are worth retrying (the kernel, not the analysis).
TRANSIENT_ERRORS: tuple[str, ...] = ("DeadKernelError", "RuntimeError", "TimeoutError", "CellTimeoutError")
#: Columns of ``sweep_summary.csv`` after the swept parameters.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "variable", "level", "univariate_p", "in_model", "hr", "ci_low", "ci_high", "multivariable_p", "error",
)


class TransientRunError(RuntimeError):
    """A run failed for a reason outside the analysis (its kernel died); dask retries it."""


@dataclass(frozen=True)
class SweepResult:
    """Outcome of a sweep.

    Attributes
    ----------
    output_dir
        The sweep folder (runs in ``runs/<name>/``).
    runs
        Per run: name, parameters, status, duration, attempts, error (a DataFrame).
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


def sweep_member(kwargs: dict) -> dict:
    """Run one member of a sweep (the dask task); returns its record.

    A failed notebook is a result, recorded with its error; a dead kernel raises
    :class:`TransientRunError`, so that dask retries the task.

    Parameters
    ----------
    kwargs
        Keyword arguments of :func:`helpers.reproduction.runner.run_collection`.

    Returns
    -------
    dict
        ``status``, ``duration_s``, ``error`` and the ``worker`` (its dask name) that ran it.

    Raises
    ------
    TransientRunError
        The run failed because a kernel died or timed out.

    Example
    -------
    >>> sweep_member({"params": {}, "output_dir": "out/run1", "only": ["01"]})  # doctest: +SKIP
    """
    from distributed import get_worker

    result = run_collection(**kwargs, parallel=1)
    if not result.ok and set(result.error_kinds) & set(TRANSIENT_ERRORS):
        raise TransientRunError(result.error)
    return {"status": result.status, "duration_s": result.duration_s, "error": result.error,
            "worker": str(get_worker().name)}


def _jobs(combos: Sequence[dict], base: Mapping, root: Path, common: Mapping) -> list[tuple[str, dict, dict]]:
    """(name, combination, run_collection kwargs) for every run, in grid order."""
    width = len(str(len(combos)))
    jobs = []
    for i, combo in enumerate(combos, start=1):
        label = "_".join(f"{k}-{v}" for k, v in combo.items()) or "default"
        name = f"{i:0{width}d}_{re.sub(r'[^A-Za-z0-9_.-]', '_', label)}"
        kwargs = {"params": {**base, **combo}, "output_dir": str(root / "runs" / name), **common}
        jobs.append((name, combo, kwargs))
    return jobs


def _gather(client, jobs, retries: int, on_done) -> list[dict]:
    """Submit every run, collect each record as it finishes (errors recorded, not raised)."""
    from distributed import as_completed

    futures = {
        client.submit(sweep_member, kwargs, key=f"sweep-{name}", pure=False, retries=retries): (name, combo, kwargs)
        for name, combo, kwargs in jobs
    }
    records = {}
    for done, future in enumerate(as_completed(futures), start=1):
        name, combo, kwargs = futures[future]
        if future.status == "finished":
            outcome = future.result()
        else:
            exc = future.exception()
            outcome = {"status": "failed", "duration_s": float("nan"), "error": f"{type(exc).__name__}: {exc}"}
        records[name] = {"run": name, **combo, **outcome, "output_dir": kwargs["output_dir"]}
        if on_done is not None:
            on_done(done, len(jobs), records[name])
    return [records[name] for name, _, _ in jobs]


def _check_sweep(grid, base_params, notebooks_dir, only, base_dir):
    """Validate the grid, the fixed parameters and the registries before anything runs."""
    notebooks = list_notebooks(notebooks_dir, only)
    declared = read_parameters(notebooks)
    base = validate_parameters(dict(base_params or {}), declared)
    if "output_dir" in base:
        raise ParameterError("output_dir: cannot be set for a sweep; use the sweep's output folder")
    combos = expand_grid(grid, declared)
    cwd = Path(base_dir or Path.cwd())
    for combo in combos:
        given = {**base, **combo}
        if given.get("registry_path"):
            given["registry_path"] = str((cwd / str(given["registry_path"])).resolve())
        registry = registry_of(given, declared, Path(notebooks_dir).resolve())
        if not registry.is_file():
            raise ParameterError(f"registry_path: file not found: {registry}")
    check_kernels(notebooks)
    return notebooks, base, combos


def run_sweep(
    grid: Mapping[str, object],
    output_dir: str | Path,
    *,
    scheduler: str | object = "local",
    workers: int = 2,
    retries: int = 1,
    base_params: Mapping[str, object] | None = None,
    notebooks_dir: str | Path = NOTEBOOKS_DIR,
    only: Sequence[str] | None = None,
    html: bool = False,
    base_dir: str | Path | None = None,
    on_done: Callable[[int, int, dict], None] | None = None,
) -> SweepResult:
    """Run every combination of a grid on dask.distributed and collate the results.

    Parameters
    ----------
    grid
        Parameter -> list of values (see :func:`helpers.reproduction.params.expand_grid`).
    output_dir
        The sweep folder: runs go to ``runs/NN_<name>/``, the summary to
        ``tables/sweep_summary.csv|html``, the figure to ``figures/sweep_summary.png|svg``, the
        record of the sweep to ``sweep_manifest.json``.
    scheduler
        ``"local"`` (a LocalCluster of ``workers`` processes), a scheduler address
        (``"tcp://host:port"``) or a ``distributed.Client``.
    workers
        Workers of the local cluster (each runs one notebook at a time).
    retries
        How often dask retries a run whose kernel died.
    base_params
        Fixed parameters for every run (the grid overrides them).
    notebooks_dir, only, html, base_dir
        As in :func:`helpers.reproduction.runner.run_collection` (HTML off by default).
    on_done
        Called as ``on_done(done, total, record)`` when a run finishes.

    Returns
    -------
    SweepResult

    Raises
    ------
    ParameterError
        Bad grid or base parameters, missing registry (before anything runs).

    Example
    -------
    >>> run_sweep({"ties": ["breslow", "efron"]}, "outputs/sweep", only=["01", "02", "03"])  # doctest: +SKIP
    """
    from helpers.reproduction.cluster import close_client, open_client

    started = time.perf_counter()
    notebooks, base, combos = _check_sweep(grid, base_params, notebooks_dir, only, base_dir)
    root = Path(output_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    common = {"notebooks_dir": str(Path(notebooks_dir).resolve()), "only": list(only) if only else None,
              "html": html, "base_dir": str(Path(base_dir or Path.cwd()).resolve())}
    jobs = _jobs(combos, base, root, common)
    own = isinstance(scheduler, str)
    client = open_client(scheduler, n_workers=workers) if own else scheduler
    try:
        address = client.scheduler.address
        records = _gather(client, jobs, retries, on_done)
    finally:
        if own:
            close_client(client)
    record = {"grid": {k: (v if isinstance(v, list) else [v]) for k, v in grid.items()}, "base_parameters": base,
              "scheduler": address if not own or scheduler != "local" else "local", "workers": workers,
              "retries": retries, "notebooks": [nb.name for nb in notebooks]}
    return _write_sweep(root, pd.DataFrame(records), record, started)


def _write_sweep(root: Path, runs: pd.DataFrame, record: dict, started: float) -> SweepResult:
    """Collate the runs, write the summary table, its figure and ``sweep_manifest.json``."""
    grid_names = list(record["grid"])
    summary = collate_sweep(runs, grid_names)
    paths = save_table(summary, root, "sweep_summary",
                       title="Sensitivity sweep: univariate p and multivariable HR per factor and run")
    alpha = float(record["base_parameters"].get("alpha", 0.05))
    figure_paths = save_figure(plot_sweep(summary, grid_names, alpha=alpha), root, "sweep_summary")
    duration = round(time.perf_counter() - started, 3)
    write_manifest(root / "sweep_manifest.json",
                   {**record, "finished": _now(), "duration_s": duration, "runs": runs.to_dict(orient="records")})
    return SweepResult(output_dir=root, runs=runs, summary=summary, summary_path=paths[0],
                       figure_paths=tuple(figure_paths), duration_s=duration)


# --------------------------------------------------------------------------------------------
# collating and reading sweeps
# --------------------------------------------------------------------------------------------


def _factor_rows(base: dict, tables: Path) -> list[dict]:
    """One row per factor of a successful run: univariate p (Table 2), model row (Table 3)."""
    t2 = pd.read_csv(tables / "table2.csv")
    t3_path = tables / "table3.csv"
    t3 = pd.read_csv(t3_path) if t3_path.is_file() else pd.DataFrame(columns=["variable"])
    return _summary_rows(base, t2, t3)


def _summary_rows(base: dict, t2: pd.DataFrame, t3: pd.DataFrame) -> list[dict]:
    """One row per factor of Table 2, with its Table 3 row when it entered the model."""
    rows = []
    for variable, part in t2.groupby("variable", sort=False):
        p = pd.to_numeric(part["p_value"], errors="coerce").dropna()
        row = {**base, "variable": variable, "univariate_p": float(p.iloc[0]) if len(p) else float("nan"),
               "in_model": False, "error": None}
        model = t3.loc[t3["variable"] == variable]
        if len(model):
            m = model.iloc[0]
            row.update(level=m["level"], in_model=True, hr=float(m["hr"]), ci_low=float(m["ci_low"]),
                       ci_high=float(m["ci_high"]), multivariable_p=float(m["p_value"]))
        rows.append(row)
    return rows


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
        single row with ``variable`` empty and the first line of its error.

    Example
    -------
    >>> collate_sweep(result.runs, ["dfi_cutoff_months"])  # doctest: +SKIP
    """
    rows = []
    for run in runs.to_dict(orient="records"):
        base = {"run": run["run"], "status": run["status"], **{g: run[g] for g in grid_names}}
        tables = Path(run["output_dir"]) / "tables"
        if run["status"] != "ok" or not (tables / "table2.csv").is_file():
            error = run.get("error") if run["status"] != "ok" else "no tables/table2.csv in the run"
            error = str(error).strip().splitlines()[0] if error else error
            rows.append({**base, "variable": None, "error": error})
        else:
            rows += _factor_rows(base, tables)
    return pd.DataFrame(rows).reindex(columns=["run", "status", *grid_names, *SUMMARY_COLUMNS])


def _run_labels(summary: pd.DataFrame, grid_names: Sequence[str]) -> pd.Series:
    """A readable label per run: its swept values, marked when the run failed."""
    first = summary.drop_duplicates("run").set_index("run")
    text = first.apply(lambda r: ", ".join(f"{g}={r[g]}" for g in grid_names) or r.name, axis=1)
    return text.where(first["status"] == "ok", text + " (failed)")


def _draw_runs(data: pd.DataFrame, color, label=None, **_) -> None:
    """One FacetGrid panel layer: CI as a line, HR as a dot, at each run's row."""
    import matplotlib.pyplot as plt

    ax = plt.gca()
    ax.hlines(data["row"], data["ci_low"], data["ci_high"], color=color, linewidth=1.2)
    ax.scatter(data["hr"], data["row"], color=color, label=label, zorder=3, s=22)


def plot_sweep(summary: pd.DataFrame, grid_names: Sequence[str], *, alpha: float = 0.05):
    """Per factor that entered a model: HR with CI across the runs, coloured by significance.

    A seaborn ``FacetGrid``: one panel per factor, one row per run, HR on a log axis, red where
    the factor was significant in the model (p < alpha), grey where not; a run where the factor
    was not selected has no dot. The figure is closed in pyplot before it is returned, so no
    pyplot state is left behind.

    Parameters
    ----------
    summary
        Output of :func:`collate_sweep`.
    grid_names
        The swept parameters (used to label the runs).
    alpha
        Significance level.

    Returns
    -------
    matplotlib.figure.Figure

    Example
    -------
    >>> fig = plot_sweep(result.summary, ["dfi_cutoff_months"])  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib import ticker
    from matplotlib.lines import Line2D

    labels = _run_labels(summary, grid_names)
    in_model = summary["in_model"].astype("boolean").fillna(False).astype(bool)
    data = summary.loc[(summary["status"] == "ok") & in_model & summary["variable"].notna()].copy()
    if data.empty:
        fig = plt.figure(figsize=(5, 1.5))
        fig.text(0.5, 0.5, "no run produced a multivariable model", ha="center")
        plt.close(fig)
        return fig
    height = 0.25 * len(labels) + 1.4
    data["row"] = data["run"].map({run: i for i, run in enumerate(labels.index)})
    yes, no = f"p < {alpha:g}", f"p \u2265 {alpha:g}"
    data["model"] = (data["multivariable_p"] < alpha).map({True: yes, False: no})
    grid = sns.FacetGrid(data, col="variable", col_wrap=min(data["variable"].nunique(), 3),
                         hue="model", hue_order=[yes, no], palette={yes: "C3", no: "0.55"},
                         height=height, aspect=(3.0 + 0.08 * labels.str.len().max()) / height, sharex=False)
    grid.map_dataframe(_draw_runs)
    grid.set(xscale="log", yticks=range(len(labels)), yticklabels=list(labels), ylim=(len(labels) - 0.5, -0.5))
    grid.set_titles("{col_name}")
    grid.set_axis_labels("HR (95% CI), log scale", "")
    grid.refline(x=1.0, color="0.4", linestyle="--", linewidth=0.8)
    for ax in grid.axes.flat:
        ax.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    handles = {k: Line2D([], [], color=c, marker="o", linewidth=1.2) for k, c in ((yes, "C3"), (no, "0.55"))}
    grid.add_legend(legend_data=handles, title="in the model")
    grid.figure.suptitle("Sensitivity sweep: hazard ratio of each factor in the model, per run", fontsize=9, y=1.02)
    plt.close(grid.figure)
    return grid.figure


def load_sweep(folder: str | Path) -> pd.DataFrame:
    """The summary of one sweep folder (``tables/sweep_summary.csv``).

    Parameters
    ----------
    folder
        The sweep folder (the ``--output`` of the sweep).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    FileNotFoundError
        The folder holds no ``tables/sweep_summary.csv``.

    Example
    -------
    >>> load_sweep("outputs/sweep-cutoffs")  # doctest: +SKIP
    """
    path = Path(folder) / "tables" / "sweep_summary.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no sweep summary in {folder}: expected {path}")
    return pd.read_csv(path)


def sweep_for_report(output_dir: str | Path, sweep_dir: str | Path | None = None) -> Path | None:
    """The sweep folder a report summarises, named explicitly; ``None`` when none is named.

    The run's manifest (``<output_dir>/manifest.json``, key ``sweep``, written by
    ``runner run --sweep DIR``, relative to the run folder) names it; otherwise ``sweep_dir``, when it is itself a sweep
    folder (it holds ``tables/sweep_summary.csv``). No folder is searched and nothing is chosen
    by file modification time.

    Parameters
    ----------
    output_dir
        The run folder.
    sweep_dir
        A sweep folder given explicitly (a relative path is relative to the working directory).

    Returns
    -------
    pathlib.Path or None

    Example
    -------
    >>> import tempfile
    >>> run, sweep = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
    >>> (sweep / "tables").mkdir(); (sweep / "tables" / "sweep_summary.csv").touch()
    >>> sweep_for_report(run) is None, sweep_for_report(run, sweep) == sweep
    (True, True)
    """
    manifest = Path(output_dir) / "manifest.json"
    if manifest.is_file():
        named = json.loads(manifest.read_text(encoding="utf-8")).get("sweep")
        if named:  # recorded relative to the run folder (absolute in older manifests)
            return Path(output_dir) / named
    if sweep_dir and (Path(sweep_dir) / "tables" / "sweep_summary.csv").is_file():
        return Path(sweep_dir)
    return None


#: The grid of ``sweeps/cutoffs.yaml``, for :func:`quick_sweep` (a test keeps the two equal).
QUICK_GRID: dict[str, list] = {"dfi_cutoff_months": [6, 12, 18, 24], "lesion_size_cutoff_mm": [20, 30],
                               "ties": ["breslow", "efron"]}


def quick_sweep(registry_path: str | Path = "", grid: Mapping[str, Sequence] | None = None, *, mapping: Any = None,
                alpha: float = 0.05, landmark: float = 60, endpoint: str = "all_cause") -> pd.DataFrame:
    """The screen -> selection -> Cox chain over a grid, in-process, in the layout of :func:`collate_sweep`.

    A second or so where :func:`run_sweep` runs every notebook per combination: what a report
    shows when no full sweep is named. ``grid`` maps ``dfi_cutoff_months``,
    ``lesion_size_cutoff_mm``, ``age_cutoff_years``, ``primary_size_cutoff_cm`` and ``ties`` to
    the values to try (default :data:`QUICK_GRID`); ``mapping`` is the registry mapping of a local
    export (as for ``cohort.prepare``).

    >>> quick_sweep("", {"dfi_cutoff_months": [12, 18]})["run"].nunique()
    2
    """
    import itertools
    import warnings

    from helpers import cohort, cox, survival

    grid = dict(QUICK_GRID if grid is None else grid)
    allowed = {"dfi_cutoff_months", "lesion_size_cutoff_mm", "age_cutoff_years", "primary_size_cutoff_cm", "ties"}
    unknown = sorted(set(grid) - allowed)
    if unknown:
        raise ValueError(f"quick_sweep: unknown grid key(s) {unknown}; expected some of {sorted(allowed)}")
    names, rows = list(grid), []
    for values in itertools.product(*grid.values()):
        combo = dict(zip(names, values, strict=True))
        run = "-".join(f"{k}={v}" for k, v in combo.items())
        base = {"run": run, "status": "ok", **combo}
        cuts = {k: v for k, v in combo.items() if k != "ties"}
        data = cohort.prepare(registry_path, mapping=mapping or None, endpoint=endpoint, **cuts)
        frame, factors = data.data, data.factors.factors
        screen = survival.screen_factors(frame, "time_months", "event", factors, landmark=landmark, alpha=alpha)
        chosen = cox.select_for_multivariable(screen, alpha).query("selected")["variable"].tolist()
        table = pd.DataFrame(columns=["variable"])
        if chosen:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", cox.CoxWarning)
                table = cox.fit_cox(frame, "time_months", "event", chosen, ties=combo.get("ties", "breslow"),
                                    categorical={f: data.factors.reference(f) for f in chosen}, alpha=alpha).table
        rows += _summary_rows(base, screen, table)
    return pd.DataFrame(rows).reindex(columns=["run", "status", *names, *SUMMARY_COLUMNS])


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
        multivariable_significant`` (counts over successful runs), ``hr_min, hr_median,
        hr_max`` (over the runs where it was in the model), the most often significant first.

    Example
    -------
    >>> summary = pd.DataFrame({"run": ["a", "b"], "status": "ok", "variable": "dfi",
    ...     "univariate_p": [0.01, 0.2], "in_model": [True, False], "hr": [2.0, None],
    ...     "multivariable_p": [0.02, None]})
    >>> summarise_sweep(summary)[["variable", "runs", "in_model", "multivariable_significant"]]
      variable  runs  in_model  multivariable_significant
    0      dfi     2         1                          1
    """
    ok = summary.loc[(summary["status"] == "ok") & summary["variable"].notna()].copy()
    ok["in_model"] = ok["in_model"].astype(str).str.lower().isin(["true", "1"])
    rows = []
    for variable, part in ok.groupby("variable", sort=False):
        model = part.loc[part["in_model"]]
        hr = pd.to_numeric(model["hr"], errors="coerce")
        rows.append({
            "variable": variable, "runs": int(part["run"].nunique()),
            "univariate_significant": int((part["univariate_p"] < alpha).sum()), "in_model": int(len(model)),
            "multivariable_significant": int((model["multivariable_p"] < alpha).sum()),
            "hr_min": hr.min(), "hr_median": hr.median(), "hr_max": hr.max(),
        })
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.sort_values(["multivariable_significant", "univariate_significant"], ascending=False,
                           kind="stable").reset_index(drop=True)
