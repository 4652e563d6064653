"""Benchmark of the runner (prints numbers; asserts nothing).

1. the whole collection with default parameters, as ``make run`` does (fresh kernel per notebook,
   independent notebooks at once, HTML export on), ``--repeat`` times: the wall time the
   manifest reports, per notebook and in total, with the load average before each run;
2. the same with one notebook at a time (``--parallel 1``), for comparison;
3. a sweep of ``--sweep-runs`` runs of notebooks 01-03 (``dfi_cutoff_months`` from 6 months up)
   on a LocalCluster of ``--workers``, or on ``--scheduler tcp://host:port``.

Target: the whole collection in at most 25 s of wall time on 2 cores.

Usage::

    python benchmarks/bench_batch.py [--repeat 3] [--skip-sequential] [--sweep-runs 4]
                                     [--workers 2] [--scheduler tcp://...] [--skip-sweep]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from helpers.reproduction import runner, sweep


def load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def show_run(label: str, result: runner.RunResult) -> None:
    parts = ", ".join(f"{nb.name[:2]} {nb.started_s:.1f}+{nb.duration_s:.1f}" for nb in result.notebooks)
    print(f"  {label}: {result.duration_s:5.1f} s wall ({result.status}); start+duration per notebook: {parts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-sequential", action="store_true")
    parser.add_argument("--sweep-runs", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", default="local")
    parser.add_argument("--skip-sweep", action="store_true")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print("whole collection, as make run (manifest duration_s):")
        for i in range(args.repeat):
            before = load()
            show_run(f"run {i + 1} (load before {before})", runner.run_collection({}, root / f"run{i}"))
        if not args.skip_sequential:
            print("one notebook at a time (--parallel 1):")
            show_run(f"load before {load()}", runner.run_collection({}, root / "sequential", parallel=1))
        if not args.skip_sweep:
            grid = {"dfi_cutoff_months": [6 * (i + 1) for i in range(args.sweep_runs)]}
            before = load()
            result = sweep.run_sweep(grid, root / "sweep", scheduler=args.scheduler, workers=args.workers,
                                     only=["01", "02", "03"])
            print(f"sweep of {len(result.runs)} runs (notebooks 01-03) on {args.scheduler} "
                  f"({args.workers} local workers): {result.duration_s:.1f} s wall, {result.n_failed} failed "
                  f"(load before {before})")


if __name__ == "__main__":
    main()
