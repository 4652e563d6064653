"""Command line of the generator (``python -m helpers.reproduction.synthetic``)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from helpers.reproduction.synthetic.build import write_registry
from helpers.reproduction.synthetic.settings import (
    PROVENANCE_PATH,
    REGISTRY_PATH,
    SyntheticSettings,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m helpers.reproduction.synthetic [--iterations N] [--seed S] [--workers W] [--output PATH]``.

    Parameters
    ----------
    argv
        Arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    int
        Exit status (0).
    """
    parser = argparse.ArgumentParser(description="Write the SYNTHETIC registry and its provenance.")
    default = SyntheticSettings()
    parser.add_argument("--seed", type=int, default=default.seed)
    parser.add_argument("--iterations", type=int, default=default.n_iterations)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="calibration chains run at once (default: the number of CPUs; the result does not depend on it)",
    )
    parser.add_argument("--output", type=Path, default=REGISTRY_PATH)
    parser.add_argument("--provenance", type=Path, default=PROVENANCE_PATH)
    args = parser.parse_args(argv)
    st = replace(default, seed=args.seed, n_iterations=args.iterations)
    res = write_registry(st, args.output, args.provenance, workers=args.workers)
    summary = res.provenance["achieved"]["summary"]
    text = "; ".join(f"{r['group']} {r['within_tolerance']}/{r['n']}" for r in summary)
    print(f"wrote {args.output} (sha256 {res.provenance['sha256'][:12]}...): within tolerance {text}")
    return 0
