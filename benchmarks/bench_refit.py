"""Benchmark: lean refits for resampling, beside R ``coxph`` in the same run.

Times, on the analysed patients of the shipped registry:

1. 1,000 Breslow refits of the paper's 5-covariate Table 3 model on bootstrap samples with
   ``refit.prepare_cox(...).refit(rows)``, with ``cox.fit_cox`` on the same samples, and with R
   ``coxph(ties = "breslow")`` on the same samples (``Rscript``, timed inside R around the loop
   only; "R not available" when ``Rscript`` is not on PATH);
2. the full 17-factor log-rank screen per resample with ``screening.prepare_screen(...).refit``
   and with ``survival.screen_factors``.

Targets: lean refits at most 1/3 of R's time; the screen under 2 ms per resample. Nothing is
asserted; the numbers are printed.

Usage (from the project root)::

    .venv/bin/python benchmarks/bench_refit.py [--reps 1000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import cohort, cox, schema, survival
from helpers.reproduction import refit, screening

ROOT = Path(__file__).resolve().parents[1]
TABLE3 = ["disease_free_interval", "primary_histology_ups", "lung_metastasis_number",
          "largest_lung_lesion_size", "curative_resection"]
R_LOOP = """
d <- read.csv(commandArgs(TRUE)[1]); idx <- as.matrix(read.csv(commandArgs(TRUE)[2])) + 1L
suppressMessages(library(survival))
f <- Surv(time_months, event) ~ disease_free_interval + primary_histology_ups +
  lung_metastasis_number + largest_lung_lesion_size + curative_resection
t0 <- proc.time()[["elapsed"]]
for (b in seq_len(ncol(idx))) fit <- suppressWarnings(coxph(f, data = d[idx[, b], ], ties = "breslow"))
cat(proc.time()[["elapsed"]] - t0, "\\n")
"""


def analysed_data() -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    registry = schema.load_registry(ROOT / "data" / "registry.csv")
    analysed = schema.add_survival_columns(cohort.assemble_cohort(registry).analysed)
    derived = cohort.derive_factors(analysed)
    return derived.data, derived.factors, {f: derived.reference(f) for f in TABLE3}


def r_seconds(data: pd.DataFrame, refs: dict[str, str], samples: np.ndarray) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        d = data[["time_months", "event", *TABLE3]].copy()
        for f, ref in refs.items():  # 0/1 indicators: a resample may miss a level
            d[f] = (d[f].astype(str) != ref).astype(int)
        d.to_csv(Path(tmp) / "d.csv", index=False)
        pd.DataFrame(samples.T).to_csv(Path(tmp) / "idx.csv", index=False)
        (Path(tmp) / "loop.R").write_text(R_LOOP)
        out = subprocess.run(["Rscript", str(Path(tmp) / "loop.R"), str(Path(tmp) / "d.csv"),
                              str(Path(tmp) / "idx.csv")], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def full_fit(d: pd.DataFrame, refs: dict[str, str]) -> None:
    try:
        cox.fit_cox(d, "time_months", "event", TABLE3, ties="breslow", categorical=refs)
    except ValueError:  # a resample where a factor does not vary (refit reports NA instead)
        pass


def timed(fn, items) -> float:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for it in items:
            fn(it)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000)
    args = ap.parse_args()
    data, factors, refs = analysed_data()
    n = len(data)
    rng = np.random.default_rng(2022)
    samples = rng.integers(0, n, size=(args.reps, n))
    design = refit.prepare_cox(data, "time_months", "event", TABLE3, ties="breslow", categorical=refs)
    lean = timed(design.refit, samples)
    full = timed(lambda r: full_fit(data.iloc[r], refs), samples[: max(args.reps // 10, 1)])
    r = r_seconds(data, refs, samples)
    print(f"patients: {n}; refits: {args.reps}; model: {len(TABLE3)} covariates, Breslow ties")
    print(f"  lean CoxDesign.refit  : {lean:7.3f} s  ({1e3 * lean / args.reps:.3f} ms per refit)")
    print(f"  fit_cox (per refit)   : {1e3 * full / max(args.reps // 10, 1):.3f} ms (timed on {max(args.reps // 10, 1)})")
    if r is None:
        print("  R coxph               : R not available")
    else:
        print(f"  R coxph               : {r:7.3f} s  -> lean / R = {lean / r:.3f} (target <= 0.333)")
    screen = screening.prepare_screen(data, "time_months", "event", factors)
    s_lean = timed(screen.refit, samples)
    s_full = timed(lambda r: survival.screen_factors(data.iloc[r], "time_months", "event", factors),
                   samples[: max(args.reps // 10, 1)])
    print(f"screen of {len(factors)} factors per resample: lean {1e3 * s_lean / args.reps:.3f} ms "
          f"(target < 2 ms); screen_factors {1e3 * s_full / max(args.reps // 10, 1):.3f} ms")


if __name__ == "__main__":
    main()
