"""Write the inputs of ``validation_reference.R`` and ``validation_procedure_reference.R``
(run from the project root: ``.venv/bin/python tests/r_reference/validation_inputs.py``, then
``Rscript tests/r_reference/validation_reference.R`` and
``Rscript tests/r_reference/validation_procedure_reference.R``).

- ``validation_data.csv`` / ``validation_indices.csv``: invented data (seeded): 66 patients,
  times rounded to whole months (so that deaths tie and Breslow and Efron differ), five 0/1
  factors with effects on the hazard, like Table 3; 40 resamples.
- ``validation_procedure_data.csv`` / ``validation_procedure_indices.csv``: the shipped
  registry's 66 analysed patients with the 17 screened factors coded 0/1 (1 = not the reference
  level, default cut-offs), copied so that the fixture does not change when the registry is
  regenerated; the 200 resamples of notebook 06's defaults (seed 2022).
- ``validation_rcs_inputs.csv`` (``case, x``): values whose spline knots and basis
  ``validation_rcs.R`` computes with ``Hmisc::rcspline.eval``: the shipped registry's DFI and
  largest lesion (66 patients, so R's small-sample rule applies), 150 spread values (n >= 100),
  values tied at the minimum, at both ends, in the middle (R's alternate algorithm), and with
  few distinct values.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from helpers.reproduction.validation import resample_indices

HERE = Path(__file__).parent
N, B, SEED = 66, 40, 20220712
PROCEDURE_B, PROCEDURE_SEED = 200, 2022


def make_data(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.binomial(1, [0.4, 0.2, 0.6, 0.35, 0.15], size=(N, 5)).astype(float)
    lp = x @ np.array([1.0, 0.6, 0.7, 0.8, 1.1])
    death = rng.exponential(240 * np.exp(-lp))
    censor = rng.uniform(12, 150, N)
    t = np.ceil(np.minimum(death, censor))
    cols = {f"x{j + 1}": x[:, j] for j in range(5)}
    return pd.DataFrame({"time": t, "event": (death <= censor).astype(int), **cols})


def procedure_data() -> tuple[pd.DataFrame, list[str]]:
    """The shipped registry as notebook 06 screens it: ``time, event, x1..x17`` (0/1)."""
    from helpers import DATA_DIR, cohort, schema

    analysed = schema.add_survival_columns(cohort.assemble_cohort(schema.load_registry(DATA_DIR / "registry.csv")).analysed)
    derived = cohort.derive_factors(analysed)
    x = {f"x{j + 1}": (derived.data[f] != derived.reference(f)).astype(float).where(derived.data[f].notna())
         for j, f in enumerate(derived.factors)}
    return pd.DataFrame({"time": derived.data["time_months"].to_numpy(), "event": derived.data["event"].to_numpy(),
                         **{k: v.to_numpy() for k, v in x.items()}}), list(derived.factors)


def rcs_inputs() -> pd.DataFrame:
    """The spline cases of ``validation_rcs.R``, long format (``case, x``)."""
    from helpers import DATA_DIR, cohort, schema

    analysed = schema.add_survival_columns(cohort.assemble_cohort(schema.load_registry(DATA_DIR / "registry.csv")).analysed)
    spread = np.round(np.exp(np.linspace(0, 5, 150)), 2)
    cases = {
        "dfi_months": analysed["dfi_months"].to_numpy(float),
        "largest_lung_lesion_mm": analysed["largest_lung_lesion_mm"].to_numpy(float),
        "spread_150": spread,
        "tied_min": np.r_[np.zeros(10), np.arange(1.0, 71.0)],
        "tied_both": np.r_[np.zeros(8), np.arange(1.0, 65.0), np.full(8, 100.0)],
        "few_values": np.tile(np.arange(1.0, 8.0), 6),
        "tied_middle": np.r_[np.arange(1.0, 11.0), np.full(40, 20.0), np.arange(30.0, 40.0)],
        "one_mass": np.r_[np.arange(1.0, 6.0), np.full(70, 20.0), np.arange(30.0, 35.0)],
        "mass_and_tail": np.r_[np.arange(1.0, 4.0), np.full(60, 20.0), np.arange(30.0, 50.0)],
    }
    return pd.concat([pd.DataFrame({"case": k, "x": v}) for k, v in cases.items()], ignore_index=True)


if __name__ == "__main__":
    make_data().to_csv(HERE / "validation_data.csv", index=False)
    pd.DataFrame(resample_indices(N, B, SEED) + 1).to_csv(HERE / "validation_indices.csv", index=False, header=False)
    data, factors = procedure_data()
    data.to_csv(HERE / "validation_procedure_data.csv", index=False)
    (HERE / "validation_procedure_factors.txt").write_text("\n".join(factors) + "\n")
    pd.DataFrame(resample_indices(len(data), PROCEDURE_B, PROCEDURE_SEED) + 1).to_csv(
        HERE / "validation_procedure_indices.csv", index=False, header=False)
    rcs_inputs().to_csv(HERE / "validation_rcs_inputs.csv", index=False)
