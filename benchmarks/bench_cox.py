"""Benchmark: ``helpers.cox.fit_cox`` at registry size, beside R's ``coxph`` and lifelines.

Prints one line per (patients, method): wall time, peak memory of the fit (the rise of the
process's peak resident set size above its size before the fit; each fit runs in a fresh forked
process), iterations, concordance and the largest coefficient difference from the Efron fit. Not a test; nothing is asserted. Targets at 10^6 patients on a 2-core machine:
under 5 s and under 2 GB, and ahead of R's ``coxph`` (timed in the same run with ``Rscript``
on the same cohort, inside R around ``coxph`` only; skipped when R is not installed or with
``--no-r``; lifelines' defaults take ~16 s).

Usage (from the project root)::

    .venv/bin/python benchmarks/bench_cox.py                      # 1e4, 1e5, 1e6
    .venv/bin/python benchmarks/bench_cox.py --sizes 10000 --no-lifelines --no-r

Data: seeded synthetic cohorts with 5 covariates (2 continuous, 2 binary, age in years),
exponential event times in days (integer, so tied event times occur as in a real registry),
uniform censoring over 1 month to 10 years; about 80 % events.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.cox import fit_cox

COVARIATES = ["biomarker", "score", "male", "multiple_lesions", "age_years"]
BETA = np.array([0.30, -0.20, 0.15, 0.50, 0.01])


def make_cohort(n: int, seed: int = 2022) -> pd.DataFrame:
    """A synthetic cohort of ``n`` patients with 5 covariates and times in days."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([
        rng.normal(size=n),
        rng.normal(size=n),
        rng.integers(0, 2, n),
        rng.integers(0, 2, n),
        rng.integers(20, 85, n),
    ]).astype(float)
    hazard = np.exp(x @ BETA - 0.01 * 50) / 900.0
    t_event = np.ceil(rng.exponential(1.0 / hazard))
    t_censor = np.ceil(rng.uniform(30, 3650, n))
    df = pd.DataFrame(x, columns=COVARIATES)
    df["time_days"] = np.minimum(t_event, t_censor)
    df["event"] = (t_event <= t_censor).astype(int)
    return df


R_FIT = """
suppressMessages(library(survival))
d <- read.csv(commandArgs(TRUE)[1])
f <- Surv(time_days, event) ~ biomarker + score + male + multiple_lesions + age_years
for (ties in c("efron", "breslow")) {
  t0 <- proc.time()[["elapsed"]]
  fit <- coxph(f, data = d, ties = ties)
  cat(ties, proc.time()[["elapsed"]] - t0, fit$iter, fit$concordance[["concordance"]], "\\n")
}
"""


def r_seconds(n: int) -> dict[str, tuple[float, int, float]]:
    """R ``coxph`` (Efron, Breslow) on the same cohort: method -> (seconds, iterations, C)."""
    with tempfile.TemporaryDirectory() as tmp:
        make_cohort(n).to_csv(Path(tmp) / "d.csv", index=False)
        (Path(tmp) / "fit.R").write_text(R_FIT)
        out = subprocess.run(["Rscript", str(Path(tmp) / "fit.R"), str(Path(tmp) / "d.csv")],
                             capture_output=True, text=True, check=True).stdout.split("\n")
    return {w[0]: (float(w[1]), int(w[2]), float(w[3])) for w in (line.split() for line in out) if len(w) == 4}


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _child(n: int, method: str, queue: mp.Queue) -> None:
    df = make_cohort(n)
    before = _rss_mib()
    t0 = time.perf_counter()
    if method == "lifelines":
        from lifelines import CoxPHFitter

        cph = CoxPHFitter().fit(df[COVARIATES + ["time_days", "event"]], "time_days", "event")
        out = (cph.params_[COVARIATES].to_numpy(), cph.concordance_index_, np.nan, 0)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fit_cox(df, "time_days", "event", COVARIATES, ties=method)
        out = (res.coef, res.concordance, res.iterations, res.events)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    queue.put((elapsed, max(peak - before, 0.0), *out))


def measure(n: int, method: str) -> tuple:
    """Fit in a fresh process; return (seconds, peak MiB, coef, concordance, iterations, events)."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(n, method, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--no-lifelines", action="store_true", help="skip the lifelines comparison")
    parser.add_argument("--no-r", action="store_true", help="skip R's coxph")
    args = parser.parse_args()
    use_r = not args.no_r and shutil.which("Rscript") is not None

    header = f"{'patients':>10} {'method':<28} {'seconds':>8} {'peak MiB':>9} {'iter':>5} {'C':>8} {'max|dcoef| vs efron':>20}"
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        methods = ["efron", "breslow"] + ([] if args.no_lifelines else ["lifelines"])
        efron = None
        for method in methods:
            sec, mib, coef, conc, iters, events = measure(n, method)
            efron = coef if efron is None else efron
            label = "lifelines CoxPHFitter()" if method == "lifelines" else f"helpers fit_cox {method}"
            it = "" if method == "lifelines" else f"{iters}"
            print(f"{n:>10} {label:<28} {sec:>8.2f} {mib:>9.0f} {it:>5} {conc:>8.4f} "
                  f"{np.abs(coef - efron).max():>20.2e}", flush=True)
            if method == "efron":
                print(f"{n:>10} ({events} events)", flush=True)
        for method, (sec, iters, conc) in (r_seconds(n) if use_r else {}).items():
            print(f"{n:>10} {'R coxph ' + method:<28} {sec:>8.2f} {'':>9} {iters:>5} {conc:>8.4f}", flush=True)


if __name__ == "__main__":
    main()
