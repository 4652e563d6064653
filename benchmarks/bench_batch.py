"""Benchmark of the batch runner (prints numbers; asserts nothing).

1. the whole collection with default parameters through ``helpers.reproduction.batch`` (HTML export on);
2. the same notebooks through ``papermill.execute_notebook`` directly, one after the other, and
   the runner's overhead over that;
3. where the time goes: kernel start-up, imports in a fresh kernel, the rest (computation and
   rendering) per notebook;
4. a sweep with 2 workers (default: 16 runs of notebooks 01-03, the ones a sweep collates).

Targets (issue 5): collection < 60 s, overhead < 10 %, 16-run sweep with 2 workers < 4 min.

Usage::

    python benchmarks/bench_batch.py [--sweep-runs 16] [--sweep-notebooks 01,02,03]
                                     [--workers 2] [--skip-sweep] [--repeat 1]
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

import papermill as pm
from jupyter_client.manager import start_new_kernel

from helpers.reproduction import batch


def import_cell(notebook: Path) -> str:
    """Source of the notebook's import cell (its first code cell)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            return "".join(cell["source"])
    return "pass"


def time_kernel(imports: str = "pass") -> tuple[float, float]:
    """Seconds to start a kernel (until it answers) and to run ``imports`` in it."""
    t0 = time.perf_counter()
    km, kc = start_new_kernel(kernel_name=batch.KERNEL_NAME, startup_timeout=120)
    try:
        kc.execute_interactive("pass", timeout=120)
        started = time.perf_counter() - t0
        t1 = time.perf_counter()
        reply = kc.execute_interactive(imports, timeout=300, output_hook=lambda msg: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"imports failed in the kernel: {reply['content']}")
        elapsed = time.perf_counter() - t1
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return started, elapsed


def time_direct(out: Path) -> dict[str, float]:
    """Each notebook through papermill directly (same parameters the runner passes)."""
    out.mkdir(parents=True, exist_ok=True)
    resolved = batch.resolve_parameters({"output_dir": str(out)})
    durations = {}
    for nb in batch.list_notebooks():
        declared = set(pm.inspect_notebook(str(nb)))
        t0 = time.perf_counter()
        pm.execute_notebook(
            str(nb),
            str(out / nb.name),
            parameters={k: v for k, v in resolved.items() if k in declared},
            cwd=str(batch.NOTEBOOKS_DIR),
            progress_bar=False,
        )
        durations[nb.name] = time.perf_counter() - t0
    return durations


def sweep_grid(runs: int) -> dict[str, list]:
    """A grid of about ``runs`` runs over cut-offs and conventions."""
    axes = {
        "dfi_cutoff_months": [6, 12, 18, 24],
        "ties": ["breslow", "efron"],
        "endpoint": ["all_cause", "disease_specific"],
        "lesion_size_cutoff_mm": [10, 20, 30],
    }
    grid: dict[str, list] = {}
    size = 1
    for name, values in axes.items():
        take = min(len(values), max(1, runs // size))
        grid[name] = values[:take]
        size *= take
        if size >= runs:
            break
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sweep-runs", type=int, default=16)
    parser.add_argument("--sweep-notebooks", default="01,02,03")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="repeat the collection timings")
    args = parser.parse_args()

    notebooks = batch.list_notebooks()
    print(f"notebooks: {', '.join(nb.name for nb in notebooks)}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # warm-up (file caches, .pyc, font cache) so neither side pays it alone
        time_kernel()

        direct_total = runner_total = runner_nohtml = float("inf")
        for i in range(args.repeat):  # alternate the three, keep each one's fastest
            t0 = time.perf_counter()
            timings = time_direct(root / f"direct{i}")
            if time.perf_counter() - t0 < direct_total:
                direct_total, direct = time.perf_counter() - t0, timings

            t0 = time.perf_counter()
            run = batch.run_collection({}, root / f"runner{i}")
            if not run.ok:
                print(f"runner FAILED: {run.error}")
                return
            if time.perf_counter() - t0 < runner_total:
                runner_total, result = time.perf_counter() - t0, run

            t0 = time.perf_counter()
            batch.run_collection({}, root / f"runner_nohtml{i}", html=False)
            runner_nohtml = min(runner_nohtml, time.perf_counter() - t0)

        costs = {nb.name: time_kernel(import_cell(nb)) for nb in notebooks}

        print("\n== whole collection, default parameters (target < 60 s)")
        print(f"runner (with HTML export)   {runner_total:7.1f} s")
        print(f"runner (no HTML export)     {runner_nohtml:7.1f} s")
        print(f"papermill directly          {direct_total:7.1f} s")
        overhead = runner_total / direct_total - 1
        overhead_nohtml = runner_nohtml / direct_total - 1
        print(f"runner overhead             {overhead:+7.1%}  (no HTML: {overhead_nohtml:+.1%};"
              " target < 10 %)")

        print("\n== where the time goes (per notebook, runner)")
        print("kernel = start-up until the kernel answers; imports = the notebook's import cell in")
        print("a fresh kernel; rest = computation, figures, writing (runner time - kernel - imports)")
        print(f"{'notebook':45s} {'runner':>7s} {'direct':>7s} {'kernel':>7s} {'imports':>7s} "
              f"{'rest':>7s}")
        totals = [0.0, 0.0, 0.0]
        for nb in result.notebooks:
            kernel, imports = costs[nb.name]
            rest = nb.duration_s - kernel - imports
            totals = [totals[0] + kernel, totals[1] + imports, totals[2] + rest]
            print(f"{nb.name:45s} {nb.duration_s:7.1f} {direct[nb.name]:7.1f} "
                  f"{kernel:7.1f} {imports:7.1f} {rest:7.1f}")
        in_notebooks = sum(nb.duration_s for nb in result.notebooks)
        print(f"total: kernel start-up {totals[0]:.1f} s, imports {totals[1]:.1f} s, "
              f"computation and rendering {totals[2]:.1f} s, runner outside the notebooks "
              f"(checks, manifest, waiting for HTML export) {runner_total - in_notebooks:.1f} s")

        if args.skip_sweep:
            return
        grid = sweep_grid(args.sweep_runs)
        runs = len(list(itertools.product(*grid.values())))
        only = [x for x in args.sweep_notebooks.split(",") if x]
        print(f"\n== sweep: {runs} runs of notebooks {','.join(only)} with {args.workers} "
              f"workers (target for 16 runs < 240 s)")
        print(f"grid: {json.dumps(grid)}")
        sweep = batch.run_sweep(grid, root / "sweep", workers=args.workers, only=only)
        per_run = sweep.runs["duration_s"]
        print(f"sweep wall time {sweep.duration_s:.1f} s; {sweep.n_failed} failed; per run "
              f"median {per_run.median():.1f} s (min {per_run.min():.1f}, max "
              f"{per_run.max():.1f}); {runs * per_run.median() / sweep.duration_s:.2f} runs "
              "in parallel on average")


if __name__ == "__main__":
    main()
