"""The univariate screen built once and re-run cheaply on resamples (bootstrap validation).

:func:`prepare_screen` validates the data and codes the factors once; :meth:`ScreenDesign.refit`
runs, for all factors in one pass, the same vectorised code as
:func:`helpers.survival.screen_factors`, skipping only the validation, the coding and the frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.survival import (
    SCREEN_COLUMNS,
    _check_conf,
    _grid,
    _require_columns,
    _screen_many,
    _small_codes,
    _validate_time_event,
    factor_codes,
)


@dataclass(frozen=True)
class ScreenDesign:
    """A validated screen built once, re-run cheaply on row subsets (see :func:`prepare_screen`).

    ``codes`` is a (rows, factors) matrix of level codes, each factor's shifted past the levels
    of the factors before it (-1 = missing); ``sizes`` counts each factor's levels. ``rows``
    passed to :meth:`refit` are positions in the input frame (repeats allowed).
    """

    time: np.ndarray
    event: np.ndarray
    codes: np.ndarray
    factors: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    landmark: float
    conf_type: str
    z: float
    timefix: bool

    @property
    def sizes(self) -> np.ndarray:
        """Levels per factor."""
        return np.array([len(lv) for lv in self.levels])

    def refit(self, rows: Sequence[int] | np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The screen on ``rows``: Table 2 columns as arrays, one entry per (factor, level).

        Runs the same code as :func:`screen_factors` (for all factors in one pass), so
        ``pandas.DataFrame(refit(rows))`` equals ``screen_factors(df.iloc[rows], ...)``; only the
        validation, the factor coding and the frames are skipped.
        """
        idx = np.arange(len(self.time)) if rows is None else np.asarray(rows, dtype=np.intp)
        if not self.factors:
            return {k: np.array([]) for k in SCREEN_COLUMNS}
        grid = _grid(self.time[idx], self.event[idx], self.timefix)
        codes = self.codes[idx]
        sizes = self.sizes
        out = _screen_many(codes, sizes, grid, self.landmark, self.conf_type, self.z)
        out["n_missing"] = (codes < 0).sum(axis=0)
        for k in ("p_value", "chisq", "dof", "n_missing"):
            out[k] = np.repeat(out[k], sizes)
        out["variable"] = np.repeat(np.array(self.factors, dtype=object), sizes)
        out["level"] = np.array([lv for levels in self.levels for lv in levels], dtype=object)
        return {k: out[k] for k in SCREEN_COLUMNS}


def prepare_screen(
    df: pd.DataFrame,
    time: str,
    event: str,
    factors: Sequence[str],
    *,
    landmark: float = 60,
    alpha: float = 0.05,
    conf_type: str = "log-log",
    id_column: str | None = None,
    timefix: bool = True,
) -> ScreenDesign:
    """Validate the data and code the factors once, for many screens on resamples (bootstrap).

    Parameters
    ----------
    df, time, event, factors, landmark, alpha, conf_type, id_column, timefix
        As :func:`screen_factors` (missing factor values are counted per resample, as
        ``missing="report"`` does).

    Returns
    -------
    ScreenDesign
        Call ``.refit(rows)`` per resample (``benchmarks/bench_refit.py`` times it).

    Example
    -------
    >>> df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "d": [1, 1, 0, 1, 0, 1],
    ...                    "g": ["a", "a", "a", "b", "b", "b"]})
    >>> out = prepare_screen(df, "t", "d", ["g"], landmark=3).refit([0, 1, 2, 3, 4, 5])
    >>> round(float(out["p_value"][0]), 4)
    0.1161
    """
    z = _check_conf(conf_type, alpha)
    factors = [factors] if isinstance(factors, str) else list(factors)
    _require_columns(df, factors)
    t, e = _validate_time_event(df, time, event, id_column)
    coded = [factor_codes(df[f]) for f in factors]
    keep = [i for i, (_, lv) in enumerate(coded) if len(lv) > 0]
    offsets = np.cumsum([0] + [len(coded[i][1]) for i in keep])
    codes = np.column_stack([np.where(coded[i][0] < 0, -1, coded[i][0] + off)
                             for i, off in zip(keep, offsets[:-1], strict=True)]) if keep else np.zeros((len(t), 0))
    return ScreenDesign(
        t, e, _small_codes(codes, int(offsets[-1])),
        tuple(factors[i] for i in keep), tuple(tuple(str(v) for v in coded[i][1]) for i in keep),
        float(landmark), conf_type, z, timefix,
    )
