"""Benchmark: bootstrap validation of the whole procedure (``helpers.validation``) beside R.

One resample of the paper's procedure on 66 patients is a 17-factor log-rank screen, a Cox fit
of the chosen factors, two concordances and the calibration-slope refit. Prints the wall time of
1,000 resamples: in this process, on a dask LocalCluster of 2 workers (with and without starting
the cluster), and the same loop in R (``benchmarks/bench_validation.R``: survdiff x 17 + coxph +
concordance per resample) on the same data and the same index matrix, run in the same session.
Targets (2 cores): under 5 s, and at least 5x faster than R. Not a test; nothing is asserted.

Usage (from the project root)::

    .venv/bin/python benchmarks/bench_validation.py [--n-bootstrap 1000] [--ties breslow] [--no-r]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from helpers import DATA_DIR, cohort, schema
from helpers import validation as V

HERE = Path(__file__).parent


def shipped_factors() -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    analysed = schema.add_survival_columns(cohort.assemble_cohort(schema.load_registry(DATA_DIR / "registry.csv")).analysed)
    derived = cohort.derive_factors(analysed)
    return derived.data, derived.factors, {f: derived.reference(f) for f in derived.factors}


def timed(label: str, fn) -> V.ValidationResult:
    start = time.perf_counter()
    out = fn()
    print(f"{label:<46} {time.perf_counter() - start:7.2f} s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-bootstrap", type=int, default=1000)
    ap.add_argument("--ties", default="breslow")
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()
    data, factors, refs = shipped_factors()
    kw = {"references": refs, "ties": args.ties, "n_bootstrap": args.n_bootstrap, "seed": 1}
    warnings.simplefilter("ignore")
    print(f"{args.n_bootstrap} resamples, {len(data)} patients, {len(factors)} factors, {args.ties} ties")
    sync = timed("python, this process (1 core)", lambda: V.validate_procedure(
        data, "time_months", "event", factors, scheduler="synchronous", **kw))
    timed("python, LocalCluster 2 workers incl. start-up", lambda: V.validate_procedure(
        data, "time_months", "event", factors, **kw))
    client = V.open_client("local", n_workers=2)
    try:
        V.validate_procedure(data, "time_months", "event", factors, scheduler=client, **{**kw, "n_bootstrap": 20})
        timed("python, LocalCluster 2 workers (running)", lambda: V.validate_procedure(
            data, "time_months", "event", factors, scheduler=client, **kw))
    finally:
        V.close_client(client)
    if args.no_r or shutil.which("Rscript") is None:
        print("R: skipped (--no-r or Rscript not found)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        x = pd.DataFrame({f: (data[f] != refs[f]).astype(int) for f in factors})
        x.columns = [f"x{j}" for j in range(len(factors))]
        pd.concat([data[["time_months", "event"]].set_axis(["time", "event"], axis=1), x], axis=1).to_csv(
            f"{tmp}/data.csv", index=False)
        pd.DataFrame(sync.indices + 1).to_csv(f"{tmp}/idx.csv", index=False, header=False)
        out = subprocess.run(["Rscript", str(HERE / "bench_validation.R"), f"{tmp}/data.csv", f"{tmp}/idx.csv",
                              args.ties, "0.05"], capture_output=True, text=True, check=True).stdout.split()
    r_seconds, r_optimism = float(out[0]), float(out[1])
    print(f"{'R survival loop (survdiff x17 + coxph + concordance)':<46} {r_seconds:7.2f} s")
    py_optimism = sync.table.set_index("measure").loc["c_index", "optimism"]
    print(f"optimism of C: python {py_optimism:.6f}, R {r_optimism:.6f} (R counts monotone fits as it stops)")


if __name__ == "__main__":
    main()
