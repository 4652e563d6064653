"""How close do plain draws of the explicit outcome model come to the paper? (prints; asserts nothing)

Feasibility measurement for generating the registry from :class:`helpers.reproduction.realism.OutcomeModel`
instead of moving single patients: the covariates of the shipped generator (Table 1 exact,
``helpers.reproduction.synthetic.make_covariates``) get outcomes drawn from the model, with small random
perturbations of its parameters, first PM uniform over the study window and administrative
censoring at the data cut-off. For each draw it scores the five-year rates (within +-3 points,
of 34), the log-rank conclusions (p on the paper's side of 0.05, of 17), the median, the
five-year rate and the median follow-up; for the best draws it runs every realism check.

Run from the project root::

    .venv/bin/python benchmarks/bench_model_draws.py [--draws 3000] [--best 5]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from helpers.reproduction import realism, synthetic
from helpers.schema import DAYS_PER_MONTH


def _model(rng: np.random.Generator) -> realism.OutcomeModel:
    base = realism.OutcomeModel()
    return realism.OutcomeModel(
        scale_months=base.scale_months * np.exp(rng.normal(0, 0.1)),
        log_hr_per_log_dfi=base.log_hr_per_log_dfi + rng.normal(0, 0.1),
        log_hr_per_log_lesion=base.log_hr_per_log_lesion + rng.normal(0, 0.1),
        log_hr_ups=base.log_hr_ups + rng.normal(0, 0.15),
        log_hr_multiple=base.log_hr_multiple + rng.normal(0, 0.1),
    )


def _draw(cov: pd.DataFrame, seed: int, st: synthetic.SyntheticSettings) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 7])
    ws, we, cut = (pd.Timestamp(d) for d in (st.window_start, st.window_end, st.cutoff_date))
    pm = rng.integers(0, (we - ws).days + 1, len(cov))
    adm = (
        (cut - ws).days - pm - rng.integers(0, st.admin_lag_days_max + 1, len(cov))
    ) / DAYS_PER_MONTH
    out = realism.simulate_outcomes(cov, _model(rng), adm, rng)
    first_pm = ws + pd.to_timedelta(pm, unit="D")
    days = np.rint(out["time_months"].to_numpy() * DAYS_PER_MONTH)
    death = pd.Series(first_pm + pd.to_timedelta(days, unit="D"))
    return cov.assign(
        time_months=out["time_months"].to_numpy(),
        event=out["event"].to_numpy(),
        cause_of_death=out["cause"].replace("", None).to_numpy(),
        date_first_pm=first_pm.strftime("%Y-%m-%d"),
        date_of_death=np.where(out["event"].eq(1), death.dt.strftime("%Y-%m-%d"), None),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=3000)
    ap.add_argument("--best", type=int, default=5)
    args = ap.parse_args()
    st, tg = synthetic.SyntheticSettings(), synthetic.load_targets()
    cov = synthetic.make_covariates(st.seed)
    cov["dfi_months"] = cov["dfi_days"] / DAYS_PER_MONTH
    fd = synthetic.factor_design(cov)
    ev = synthetic.VectorisedEvaluator(fd.to_numpy(float), synthetic.cox_design(fd).to_numpy(float))
    target = np.r_[tg.rate_first, tg.rate_second]
    t0, rows = time.perf_counter(), []
    for seed in range(args.draws):
        d = _draw(cov, seed, st)
        s = ev.evaluate(d["time_months"].to_numpy(), d["event"].to_numpy())
        rates = np.r_[s.rate_first, s.rate_second] * 100
        rows.append(
            {
                "seed": seed,
                "rates_within_3": int((np.abs(rates - target) <= 3).sum()),
                "logrank_side": int(((s.p_value < 0.05) == (tg.p_value < 0.05)).sum()),
                "median": s.median,
                "five_year": 100 * s.overall_rate,
                "follow_up_median": s.follow_up_median,
                "deaths": s.n_deaths,
            }
        )
    elapsed = time.perf_counter() - t0
    table = pd.DataFrame(rows)
    print(f"{args.draws} draws in {elapsed:.1f} s ({args.draws / elapsed:.0f} per second)")
    print(
        table[["rates_within_3", "logrank_side", "median", "five_year", "deaths"]]
        .describe()
        .round(1)
        .to_string()
    )
    best = table.sort_values(["rates_within_3", "logrank_side"], ascending=False).head(args.best)
    print(best.round(1).to_string(index=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in best["seed"]:
            checks = realism.realism_checks(_draw(cov, int(seed), st))
            print(
                f"seed {seed}: realism checks passed {int(checks['passed'].sum())}/{len(checks)}:",
                ", ".join(
                    f"{c}={v:.3g}" for c, v in zip(checks["check"], checks["value"], strict=True)
                ),
            )


if __name__ == "__main__":
    main()
