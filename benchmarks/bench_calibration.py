"""Benchmark: how long the calibration of the shipped registry takes, and what parallel chains buy.

The calibration (:func:`helpers.reproduction.synthetic.calibrate`) runs ``n_chains`` independent annealing
chains and keeps the best; with ``workers`` processes the chains run side by side. This script
times a shortened calibration (the shipped settings with fewer iterations) with 1 worker and
with as many workers as CPUs, prints annealing iterations per second for both, and extrapolates
the wall time of the full calibration (target: under 10 minutes on 2 cores). The
extrapolation is rough: a short run spends more of its time on the start draws and on starting
the worker processes, and the share of candidates that get as far as the Cox fit changes as the
chains cool. Other jobs on the machine slow every number down.
``--full`` times the real thing instead, writing to a temporary folder so that ``data/`` is
left alone, and says whether it reproduced ``data/registry.csv``.

Run from the project root::

    .venv/bin/python benchmarks/bench_calibration.py [--iterations-per-chain 5000] [--full]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from helpers.outputs import registry_sha256
from helpers.reproduction import synthetic


def _timed_calibration(settings: synthetic.SyntheticSettings, workers: int) -> tuple[float, float]:
    """Wall seconds of one calibration and its final loss."""
    start = time.perf_counter()
    result = synthetic.calibrate(settings, workers=workers)
    return time.perf_counter() - start, result.final_loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations-per-chain", type=int, default=5000)
    parser.add_argument("--full", action="store_true", help="time the full calibration of the shipped registry")
    args = parser.parse_args()
    shipped = synthetic.SyntheticSettings()
    cpus = os.cpu_count() or 1
    print(f"shipped settings: {shipped.n_chains} chains x {shipped.n_iterations // shipped.n_chains:,} iterations; {cpus} CPUs")
    if args.full:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            res = synthetic.write_registry(shipped, Path(tmp) / "registry.csv", Path(tmp) / "provenance.json", workers=cpus)
            wall = time.perf_counter() - start
        same = res.provenance["sha256"] == registry_sha256(synthetic.REGISTRY_PATH)
        print(f"full calibration with {cpus} workers: {wall / 60:.1f} min; reproduces data/registry.csv: {same}")
        return
    short = replace(shipped, n_iterations=args.iterations_per_chain * shipped.n_chains)
    for workers in sorted({1, cpus}):
        wall, loss = _timed_calibration(short, workers)
        rate = short.n_iterations / wall
        full = shipped.n_iterations / rate
        print(
            f"workers={workers}: {short.n_iterations:,} iterations in {wall:.1f} s = {rate:,.0f} iterations/s "
            f"(all chains); full calibration extrapolated: {full / 60:.1f} min (final loss of the short run {loss:.0f})"
        )


if __name__ == "__main__":
    main()
