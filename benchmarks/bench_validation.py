"""Benchmark: bootstrap validation of the whole procedure (``helpers.reproduction.validation``) beside R.

One resample of the paper's procedure on 66 patients is a 17-factor log-rank screen, a Cox fit
of the chosen factors, two concordances and the calibration-slope refit. Prints the wall time of
1,000 resamples: on a dask LocalCluster of 2 worker processes including its start-up and
shut-down (the first thing this script does, so the cluster starts cold, as in a fresh
notebook), on the same cluster already running, on 2 worker threads, in this process, and the
same loop in R (``benchmarks/bench_validation.R``: survdiff x 17 + coxph + concordance per
resample) on the same data and the same index matrix, run in the same session; then R's time
divided by each. Targets (2 cores): under 5 s, and at least 5x faster than R. The machine's load
average is printed too: on a shared machine every number moves with it. Not a test; nothing is
asserted.

Usage (from the project root)::

    .venv/bin/python benchmarks/bench_validation.py [--n-bootstrap 1000] [--ties breslow] [--no-r]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from helpers import DATA_DIR, cohort, schema
from helpers.reproduction import validation as V

HERE = Path(__file__).parent


def shipped_factors() -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    analysed = schema.add_survival_columns(cohort.assemble_cohort(schema.load_registry(DATA_DIR / "registry.csv")).analysed)
    derived = cohort.derive_factors(analysed)
    return derived.data, derived.factors, {f: derived.reference(f) for f in derived.factors}


def timed(fn) -> tuple[V.ValidationResult, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-bootstrap", type=int, default=1000)
    ap.add_argument("--ties", default="breslow")
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()
    data, factors, refs = shipped_factors()
    kw = {"references": refs, "ties": args.ties, "n_bootstrap": args.n_bootstrap, "seed": 1}
    warnings.simplefilter("ignore")
    print(f"{args.n_bootstrap} resamples, {len(data)} patients, {len(factors)} factors, {args.ties} ties, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    times = {}
    times["LocalCluster, 2 processes, incl. start-up"] = timed(lambda: V.validate_procedure(
        data, "time_months", "event", factors, **kw))[1]
    start = time.perf_counter()
    client = V.open_client("local", n_workers=2)
    try:
        client.wait_for_workers(2)
        print(f"{'  (starting a second cluster: ' + f'{time.perf_counter() - start:.2f} s)':<50}")
        times["LocalCluster, 2 processes, running"] = timed(lambda: V.validate_procedure(
            data, "time_months", "event", factors, scheduler=client, **kw))[1]
    finally:
        V.close_client(client)
    client = V.open_client("local", n_workers=2, processes=False)
    try:
        times["LocalCluster, 2 threads, running"] = timed(lambda: V.validate_procedure(
            data, "time_months", "event", factors, scheduler=client, **kw))[1]
    finally:
        V.close_client(client)
    cpu = time.process_time()
    sync, times["this process (1 core)"] = timed(lambda: V.validate_procedure(
        data, "time_months", "event", factors, scheduler="synchronous", **kw))
    cpu = time.process_time() - cpu
    r_seconds = r_optimism = r_cpu = None
    if not args.no_r and shutil.which("Rscript") is not None:
        r_seconds, r_optimism, r_cpu = run_r(data, factors, refs, sync.indices, args.ties)
    for label, seconds in times.items():
        ratio = f"   R / python = {r_seconds / seconds:5.1f}" if r_seconds else ""
        print(f"python, {label:<44} {seconds:7.2f} s{ratio}")
    if r_seconds is None:
        print("R: skipped (--no-r or Rscript not found)")
        return
    print(f"{'R survival loop (survdiff x17 + coxph + concordance)':<52} {r_seconds:7.2f} s")
    print(f"CPU seconds (not moved by other programs' load): python in this process {cpu:.2f} s, R {r_cpu:.2f} s, "
          f"R / python = {r_cpu / cpu:.1f}")
    py_optimism = sync.table.set_index("measure").loc["c_index", "optimism"]
    print(f"optimism of C: python {py_optimism:.6f}, R {r_optimism:.6f}")


def run_r(data: pd.DataFrame, factors: list[str], refs: dict[str, str], indices, ties: str) -> tuple[float, float, float]:
    """R's loop on the same data and resamples: its elapsed seconds, mean optimism of C, CPU seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        x = pd.DataFrame({f"x{j}": (data[f] != refs[f]).astype(int) for j, f in enumerate(factors)})
        pd.concat([data[["time_months", "event"]].set_axis(["time", "event"], axis=1), x], axis=1).to_csv(
            f"{tmp}/data.csv", index=False)
        pd.DataFrame(indices + 1).to_csv(f"{tmp}/idx.csv", index=False, header=False)
        out = subprocess.run(["Rscript", str(HERE / "bench_validation.R"), f"{tmp}/data.csv", f"{tmp}/idx.csv",
                              ties, "0.05"], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


if __name__ == "__main__":
    main()
