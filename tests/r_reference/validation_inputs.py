"""Write the inputs of ``validation_reference.R``: a constructed data set and the resample
index matrix of :func:`helpers.validation.resample_indices` (run from the project root:
``.venv/bin/python tests/r_reference/validation_inputs.py``, then
``Rscript tests/r_reference/validation_reference.R``).

The data are invented (seeded): 66 patients, times rounded to whole months (so that deaths tie
and Breslow and Efron differ), five 0/1 factors with effects on the hazard, like Table 3.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from helpers.validation import resample_indices

HERE = Path(__file__).parent
N, B, SEED = 66, 40, 20220712


def make_data(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.binomial(1, [0.4, 0.2, 0.6, 0.35, 0.15], size=(N, 5)).astype(float)
    lp = x @ np.array([1.0, 0.6, 0.7, 0.8, 1.1])
    death = rng.exponential(240 * np.exp(-lp))
    censor = rng.uniform(12, 150, N)
    t = np.ceil(np.minimum(death, censor))
    cols = {f"x{j + 1}": x[:, j] for j in range(5)}
    return pd.DataFrame({"time": t, "event": (death <= censor).astype(int), **cols})


if __name__ == "__main__":
    make_data().to_csv(HERE / "validation_data.csv", index=False)
    pd.DataFrame(resample_indices(N, B, SEED) + 1).to_csv(HERE / "validation_indices.csv", index=False, header=False)
