"""Wall time of the registry check with a mapping: the example hospital export, tiled to N rows.

Prints numbers; asserts nothing. Usage: python benchmarks/bench_registry_check.py [N ...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from helpers.intake.registry import EXAMPLE_EXPORT_PATH, EXAMPLE_MAPPING_PATH, check_registry


def main(sizes: list[int]) -> None:
    export = pd.read_csv(EXAMPLE_EXPORT_PATH, dtype=str, keep_default_na=False, na_values=[""])
    for n in sizes:
        tiled = pd.concat([export] * (n // len(export) + 1), ignore_index=True).head(n)
        tiled["Patient No"] = [f"P{i:07d}" for i in range(n)]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "export.csv"
            tiled.to_csv(path, index=False)
            for label, mapping in (("no mapping", None), ("with mapping", EXAMPLE_MAPPING_PATH)):
                started = time.perf_counter()
                result = check_registry(path, mapping)
                seconds = time.perf_counter() - started
                print(
                    f"{n:>8} rows  {label:<12}  {seconds:6.2f} s  valid={result.valid}  "
                    f"problems={len(result.problems)}  notes={len(result.notes)}"
                )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [95, 10_000, 100_000])
