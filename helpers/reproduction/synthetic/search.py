"""The calibration search: simulated annealing chains over the outcome model and its draws."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from helpers.reproduction.realism import (
    CHEMO_SENSITIVE_HISTOLOGIES,
    OutcomeModel,
    RealismThresholds,
    max_deaths_in_window,
)
from helpers.reproduction.synthetic.covariates import (
    KEY_COLUMNS,
    apply_keys,
    chemotherapy_risk_score,
    keyed_levels,
    make_covariates,
)
from helpers.reproduction.synthetic.evaluator import VectorisedEvaluator, cox_design, factor_design
from helpers.reproduction.synthetic.loss import (
    Targets,
    _partial_loss,
    _statistic_vector,
    load_targets,
)
from helpers.reproduction.synthetic.outcomes import (
    _COX,
    _NON_COX,
    _VIOLATION_PENALTY,
    Latents,
    _ks_statistic,
    _r2_rule,
    draw_latents,
    outcome_days,
)
from helpers.reproduction.synthetic.settings import (
    _ALPHA,
    _Z975,
    PARAMETER_RANGES,
    SyntheticSettings,
)
from helpers.schema import DAYS_PER_MONTH


@dataclass(frozen=True)
class CalibrationResult:
    """Outcome of :func:`calibrate`.

    Attributes
    ----------
    covariates
        The 66 eligible patients' covariates (Table 1 exact; never moved by the search).
    outcomes
        ``time_days``, ``event``, ``end`` (:data:`END_CODES`), ``pm_day``, ``lag_days`` per
        patient (same row order).
    model
        The calibrated outcome model.
    latents
        The uniforms behind the outcomes.
    start_loss, final_loss
        Loss (fidelity + constraint penalty) of the best start draw and of the result.
    violations
        Units of violated constraints in the result (0 when every constraint holds).
    trace
        Loss of the current state every 1 % of the iterations of each chain (``iteration``,
        ``loss``, ``temperature``, ``accepted``, ``chain``).
    chain, chain_losses
        The chain kept and the final loss of every chain.
    """

    covariates: pd.DataFrame
    outcomes: pd.DataFrame
    model: OutcomeModel
    latents: Latents
    start_loss: float
    final_loss: float
    violations: int
    trace: pd.DataFrame = field(repr=False)
    chain: int = 0
    chain_losses: tuple[float, ...] = ()


class _Problem:
    """What the search evaluates: the fixed covariates, the evaluator and the constraints."""

    def __init__(self, cov: pd.DataFrame, st: SyntheticSettings, tg: Targets) -> None:
        self.cov = cov.reset_index(drop=True)
        tmp = self.cov.assign(dfi_months=self.cov["dfi_days"] / DAYS_PER_MONTH)
        fd = factor_design(tmp)
        self.ev = VectorisedEvaluator(fd.to_numpy(float), cox_design(fd).to_numpy(float))
        self.features = OutcomeModel.features(tmp)
        self.age = tmp["age_at_pm_years"].to_numpy(float)
        self.r2 = np.flatnonzero(tmp["resection_status"].ne("r0").to_numpy())
        self.st, self.tg, self.th = st, tg, RealismThresholds()
        self.ks_limit = float(stats.kstwo.isf(st.min_latent_ks_p, len(tmp)))
        # The paper's conclusions are hard constraints too: every log-rank p and every Table 3
        # Wald p on the paper's side of 0.05 (the selection of the model depends on them).
        self.paper_significant = tg.p_value < _ALPHA
        self.cox_significant = tg.cox_p_value < _ALPHA
        self.site_base = tmp["_site_base"].to_numpy(float)
        self.chemo_score = chemotherapy_risk_score(tmp)
        self.high_risk = (
            tmp["histology"].isin(CHEMO_SENSITIVE_HISTOLOGIES)
            | (tmp["dfi_months"] < 12)
            | (tmp["lung_metastasis_number"] > 1)
            | tmp["lung_metastasis_distribution"].eq("bilateral")
        ).to_numpy()

    def set_keyed_groups(self, keys: np.ndarray) -> np.ndarray:
        """Write the keyed covariates into the evaluator's groups; returns chemo before PM."""
        male, trunk, resection, before, after = keyed_levels(
            keys, self.site_base, self.chemo_score, self.st.chemo_strength
        )
        g = self.ev.groups
        g[:, 1], g[:, 8], g[:, 13], g[:, 15], g[:, 16] = male, trunk, resection == 0, before, after
        return before

    def outcomes(self, model: OutcomeModel, lat: Latents) -> tuple[np.ndarray, ...]:
        return outcome_days(model, self.features, self.age, lat, self.st)

    def violations(self, lat: Latents, td: np.ndarray, ev: np.ndarray, end: np.ndarray) -> int:
        """Units of violated constraints that need no Cox fit."""
        st, th = self.st, self.th
        deaths = int(ev.sum())
        dead_days = np.sort(td[ev == 1])
        v = max(0, st.min_deaths - deaths) + max(0, deaths - st.max_deaths)
        v += max(0, int(np.count_nonzero(td[ev == 0] < 6.0 * DAYS_PER_MONTH)) - st.max_lost_before_6_months)
        v += max(0, int(np.count_nonzero(dead_days > 120.0 * DAYS_PER_MONTH)) - st.max_deaths_after_120_months)
        v += 0 if _r2_rule(td[self.r2] / DAYS_PER_MONTH, ev[self.r2]) else 1
        v += max(0, max_deaths_in_window(dead_days, th.cluster_window_days) - th.cluster_max_deaths)
        v += int(np.count_nonzero(dead_days < max(th.earliest_death_days, st.min_death_days)))
        v += max(0, int(np.count_nonzero(dead_days < th.early_window_days)) - th.early_max_deaths)
        v += max(0, th.min_other_cause_deaths - int(np.count_nonzero(end == 1)))
        v += sum(_ks_statistic(a) > self.ks_limit for a in (lat.u, lat.v, lat.w))
        before = self.set_keyed_groups(lat.keys)
        diff = before[self.high_risk].mean() - before[~self.high_risk].mean()
        return v + int(diff < th.chemo_min_difference)

    def loss(self, model: OutcomeModel, lat: Latents, threshold: float = math.inf) -> tuple[float, int]:
        """(loss, violations) of a state; ``(inf, -1)`` as soon as it cannot beat ``threshold``."""
        td, ev, end = self.outcomes(model, lat)
        viol = self.violations(lat, td, ev, end)
        s = self.ev.evaluate(td / DAYS_PER_MONTH, ev, cox=False)
        viol += s.undefined_rates + int(np.count_nonzero((s.p_value < _ALPHA) != self.paper_significant))
        if not np.isfinite(s.median_se) or _VIOLATION_PENALTY * viol >= threshold:
            return math.inf, -1
        vec = _statistic_vector(s)
        base = _partial_loss(vec, self.tg, _NON_COX) + _VIOLATION_PENALTY * viol
        if base >= threshold:
            return math.inf, -1
        s = self.ev.add_cox(s)
        if not s.cox_converged:
            return math.inf, -1
        glob, terms = self.ev.ph_test(s)
        ph = int(glob < self.th.ph_min_p) + int(np.count_nonzero(terms < self.th.ph_min_p))
        ph += int(np.count_nonzero((np.abs(s.beta / s.beta_se) > _Z975) != self.cox_significant))
        cox = _partial_loss(_statistic_vector(s), self.tg, _COX)
        return base + cox + _VIOLATION_PENALTY * ph, viol + ph


def calibrate(
    settings: SyntheticSettings | None = None,
    covariates: pd.DataFrame | None = None,
    targets: Targets | None = None,
    *,
    workers: int = 1,
) -> CalibrationResult:
    """Search the outcome model's parameters and its draws towards the published tables.

    Every patient's follow-up is a draw of :class:`helpers.reproduction.realism.OutcomeModel` given its
    covariates: the model's inverse CDFs at the patient's uniforms (:class:`Latents`). The
    search is simulated annealing over two kinds of move, each keeping every state a draw of
    the model: replace one patient's uniform (sarcoma death, other-cause death, loss to
    follow-up, the date of first PM, or a key of :data:`KEY_COLUMNS` behind sex, site,
    resection type and chemotherapy) with a FRESH uniform draw, or move one model parameter
    within :data:`PARAMETER_RANGES`. No patient is ever put at a chosen time. It minimises
    :func:`calibration_loss` with the paper's conclusions (every log-rank and Table 3 p on the
    paper's side of 0.05), every plausibility constraint (:func:`check_plausibility`)
    and realism constraint (:func:`helpers.reproduction.realism.realism_checks`: proportional hazards of
    the Table 3 model, no clustering or early deaths, other-cause deaths) as a penalty far
    larger than any fidelity term, plus a guard that the uniforms still look like draws
    (Kolmogorov-Smirnov p >= ``min_latent_ks_p`` for each kind). Start: the lowest-loss of
    ``n_start_draws`` draws; ``n_chains`` independent chains (own random stream
    ``[seed, 2, chain]``) share the iterations and the lowest final loss is kept. The number of
    iterations is fixed (never a time limit), so the result does not depend on ``workers``.

    Parameters
    ----------
    settings
        Generator settings (defaults when None).
    covariates
        Eligible covariates (:func:`make_covariates` with the settings' seed when None).
    targets
        Calibration targets (:func:`load_targets` when None).
    workers
        Chains run at once, each in its own process of a dask LocalCluster (1: all in this
        process).

    Returns
    -------
    CalibrationResult

    Example
    -------
    >>> res = calibrate(SyntheticSettings(n_iterations=200, n_start_draws=2, n_chains=1))
    >>> len(res.outcomes)
    66
    """
    st = settings or SyntheticSettings()
    cov = make_covariates(st.seed, chemo_strength=st.chemo_strength) if covariates is None else covariates
    tg = targets or load_targets()
    chains = max(1, st.n_chains)
    per_chain = replace(st, n_iterations=st.n_iterations // chains)
    jobs = [(per_chain, cov, tg, k) for k in range(chains)]
    if workers > 1 and chains > 1:
        results = _chains_on_dask(jobs, min(workers, chains))
    else:
        results = [_chain(job) for job in jobs]
    best = min(range(chains), key=lambda k: results[k].final_loss)
    trace = pd.concat([r.trace for r in results], ignore_index=True)
    return replace(results[best], trace=trace, chain=best, chain_losses=tuple(r.final_loss for r in results))


def _chains_on_dask(jobs: list[tuple], n_workers: int) -> list[CalibrationResult]:
    """Run the chains on a dask LocalCluster of ``n_workers`` processes, results in chain order.

    Each chain is a pure function of its job (its own seeded stream), so where it runs does not
    change its result: the registry is the same with any number of workers.
    """
    from helpers.reproduction.validation import close_client, open_client

    client = open_client("local", n_workers)
    try:
        return client.gather(client.map(_chain, jobs, pure=False, retries=1))
    finally:
        close_client(client)


def _chain(job: tuple[SyntheticSettings, pd.DataFrame, Targets, int]) -> CalibrationResult:
    """Chain ``k`` of :func:`calibrate` with its own random stream (a dask task)."""
    st, cov, tg, k = job
    res = _anneal(st, cov, tg, np.random.default_rng([st.seed, 2, k]))
    return replace(res, trace=res.trace.assign(chain=k))


def _propose(
    model: OutcomeModel, lat: Latents, st: SyntheticSettings, rng: np.random.Generator, cum: np.ndarray
) -> tuple[OutcomeModel, Latents]:
    """One move: a fresh uniform (or date of first PM) for one patient, or one parameter step."""
    kind = int(np.searchsorted(cum, rng.uniform(), side="right"))
    if kind == 5:
        new = lat.copy()
        new.keys[int(rng.integers(len(lat.u))), int(rng.integers(new.keys.shape[1]))] = rng.uniform()
        return model, new
    if kind == 4:
        name = list(PARAMETER_RANGES)[int(rng.integers(len(PARAMETER_RANGES)))]
        lo, hi = PARAMETER_RANGES[name]
        step = rng.normal(0.0, st.parameter_step * (hi - lo))
        return replace(model, **{name: float(np.clip(getattr(model, name) + step, lo, hi))}), lat
    new = lat.copy()
    i = int(rng.integers(len(lat.u)))
    if kind == 3:
        fresh = draw_latents(1, st, rng)
        new.pm_day[i], new.lag_days[i] = fresh.pm_day[0], fresh.lag_days[0]
    else:
        (new.u, new.v, new.w)[kind][i] = rng.uniform()
    return model, new


def _anneal(
    st: SyntheticSettings, cov: pd.DataFrame, tg: Targets, rng: np.random.Generator
) -> CalibrationResult:
    """One annealing chain (see :func:`calibrate`)."""
    prob = _Problem(cov, st, tg)
    model = st.model
    keys = prob.cov[list(KEY_COLUMNS)].to_numpy(float)
    starts = [draw_latents(len(prob.cov), st, rng, keys) for _ in range(max(1, st.n_start_draws))]
    scored = [prob.loss(model, lat) for lat in starts]
    k = min(range(len(starts)), key=lambda j: scored[j][0])
    lat, (cur, viol) = starts[k], scored[k]
    start_loss = cur
    best = (cur, viol, model, lat.copy())
    trace, accepted = [], 0
    every = max(1, st.n_iterations // 100)
    ratio = st.temperature_end / st.temperature_start
    cum = np.cumsum(st.move_mix) / sum(st.move_mix)
    for it in range(st.n_iterations):
        temp = st.temperature_start * ratio ** (it / max(1, st.n_iterations - 1))
        cand_model, cand_lat = _propose(model, lat, st, rng, cum)
        threshold = cur - temp * math.log(1.0 - rng.uniform())
        loss, v = prob.loss(cand_model, cand_lat, threshold)
        if loss < threshold:
            model, lat, cur, viol = cand_model, cand_lat, loss, v
            accepted += 1
            if cur < best[0]:
                best = (cur, viol, model, lat.copy())
        if it % every == 0:
            trace.append((it, cur, temp, accepted))
    final_loss, final_viol, model, lat = best
    td, ev, end = prob.outcomes(model, lat)
    outcomes = pd.DataFrame(
        {"time_days": td, "event": ev, "end": end, "pm_day": lat.pm_day, "lag_days": lat.lag_days}
    )
    cov = prob.cov.copy()
    cov[list(KEY_COLUMNS)] = lat.keys
    return CalibrationResult(
        covariates=apply_keys(cov, st.chemo_strength), outcomes=outcomes, model=model, latents=lat,
        start_loss=float(start_loss), final_loss=float(final_loss), violations=int(final_viol),
        trace=pd.DataFrame(trace, columns=["iteration", "loss", "temperature", "accepted"]),
    )
