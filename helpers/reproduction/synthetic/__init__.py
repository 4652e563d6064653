"""The seeded generator of the shipped SYNTHETIC registry (``python -m helpers.reproduction.synthetic``).

THE REGISTRY THIS MODULE WRITES IS SYNTHETIC: 95 invented patients whose outcomes are drawn from
an explicit outcome model calibrated to the published tables of Nakayama et al., Cancers
2022;14:3329. No clinical conclusion may be drawn from it.

How the file is made, in four steps (every random stream seeded from one seed):

1. **Covariates, exactly.** The 66 eligible patients reproduce every Table 1 count, median and
   range and every Table 2 group size (:func:`make_covariates`). Continuous margins are drawn as
   constrained order statistics, so that the sorted values hit the printed minimum, median and
   maximum and the printed number below each Table 2 cut-off. The disease-free interval (DFI) is
   stored as dates; its length in days is ``ceil(m * 30.4375)`` for a whole number of months
   ``m``, so that ``helpers.schema.months_between`` gives ``m <= DFI < m + 0.033`` months. Ages
   suit the histology; the three R2 resections (pleural dissemination) and half of the UPS
   patients have a DFI < 12 months, several metastases and a lesion >= 20 mm. Chemotherapy
   before and after PM goes preferentially to higher-risk patients (confounding by
   indication, :func:`chemotherapy_risk_score`), with Table 1's counts; sex, site, resection
   type and chemotherapy are functions of per-patient random keys (:func:`apply_keys`). The 29
   excluded patients carry the paper's reasons and counts.
2. **Outcomes drawn from an explicit model** (:class:`helpers.reproduction.realism.OutcomeModel`):
   proportional hazards of sarcoma death with smooth log-scale effects of DFI, lesion size,
   primary size and age and binary effects of UPS, several metastases and a non-curative
   resection on a Weibull baseline (shape 1.3-1.5), competing other-cause death (Gompertz in
   age), exponential loss to follow-up, first PM uniform over the study window and
   administrative censoring at the data cut-off. Each time is the model's inverse CDF at a
   per-patient uniform (:class:`Latents`, :func:`outcome_days`): no floor, no ceiling.
   Chemotherapy has no causal effect.
3. **Calibration** (:func:`calibrate`): simulated annealing over the model's parameters within
   plausible ranges (:data:`PARAMETER_RANGES`) and over its draws, by moves that replace one
   patient's uniform (or covariate key) with a fresh draw, so that every state is a draw of the
   model. It minimises a loss over every published statistic (:func:`calibration_loss`,
   tolerances of :data:`helpers.reproduction.published.TOLERANCES`) with every plausibility constraint
   (:func:`check_plausibility`) and realism constraint (:func:`helpers.reproduction.realism.realism_checks`,
   and a Kolmogorov-Smirnov guard that the uniforms still look like draws) as a hard
   constraint. Independent chains run in parallel and the best is kept; each stops after a
   fixed number of iterations, so the result does not depend on the number of processes.
4. **Dates** (:func:`build_registry`): times in days become dates of first PM, last contact and
   death; every follow-up ends on or before the data cut-off. The provenance records the
   calibrated model, every realism check and what the calibration traded.
5. **Perioperative details** (:func:`add_perioperative_details`): the reason of each R2 resection
   and the kind of each complication, last and from a random stream of their own, so that they
   change no other column.

The evaluator inside the search (:class:`VectorisedEvaluator`) is hand-written numpy: lifelines
and statsmodels evaluate about 2-3 candidate cohorts per second, far too slow for the hundreds of
thousands of candidates the search visits. It is verified against lifelines (Kaplan-Meier,
log-rank), statsmodels ``PHReg(ties="breslow")`` (Cox) and :func:`helpers.cox.test_proportional_hazards`
(proportional-hazards score test) in ``tests/test_synthetic.py``, and held equal to the core
estimators (``helpers.survival``, ``helpers.cox``) in ``tests/test_synthetic_evaluator.py``.

Modules, by job: :mod:`.settings` (columns, counts, factors, parameter ranges),
:mod:`.covariates` (step 1 and 5), :mod:`.outcomes` (step 2: latents, times, plausibility),
:mod:`.evaluator` (the vectorised statistics), :mod:`.loss` (targets and loss), :mod:`.search`
(step 3: annealing chains), :mod:`.scoring` (a registry against the paper), :mod:`.build`
(step 4: dates, provenance, writing), :mod:`.cli` (the command line), :mod:`.report` (tables
for notebook 05). Every public name is importable from this package.
"""

from helpers.reproduction.published import PUBLISHED_PATH
from helpers.reproduction.synthetic.build import (
    SyntheticRegistry,
    _to_csv_text,
    build_registry,
    write_registry,
)
from helpers.reproduction.synthetic.cli import (
    main,
)
from helpers.reproduction.synthetic.covariates import (
    KEY_COLUMNS,
    PERIOPERATIVE_DETAIL_COLUMNS,
    PUBLISHED_COMPLICATION_KINDS,
    PUBLISHED_R2_REASON,
    add_perioperative_details,
    apply_keys,
    chemotherapy_risk_score,
    keyed_levels,
    make_covariates,
)
from helpers.reproduction.synthetic.evaluator import (
    CohortStatistics,
    VectorisedEvaluator,
    cox_design,
    factor_design,
)
from helpers.reproduction.synthetic.loss import (
    Targets,
    _loss_parts,
    _statistic_vector,
    calibration_loss,
    load_targets,
)
from helpers.reproduction.synthetic.outcomes import (
    _N_RATES,
    END_CODES,
    Latents,
    check_plausibility,
    draw_latents,
    latent_ks_p,
    outcome_days,
)
from helpers.reproduction.synthetic.report import (
    cox_events_table,
    joint_structure,
)
from helpers.reproduction.synthetic.scoring import (
    analysed_cohort,
    evaluate_registry,
    registry_realism,
    score_statistics,
)
from helpers.reproduction.synthetic.search import (
    CalibrationResult,
    calibrate,
)
from helpers.reproduction.synthetic.settings import (
    COX_COVARIATES,
    FACTORS,
    HISTOLOGY_AGE_RANGE,
    HISTOLOGY_COUNTS,
    PARAMETER_RANGES,
    PROVENANCE_PATH,
    REGISTRY_COLUMNS,
    REGISTRY_PATH,
    SyntheticSettings,
)

__all__ = [
    "COX_COVARIATES",
    "FACTORS",
    "HISTOLOGY_AGE_RANGE",
    "HISTOLOGY_COUNTS",
    "PARAMETER_RANGES",
    "PROVENANCE_PATH",
    "PUBLISHED_PATH",
    "REGISTRY_COLUMNS",
    "REGISTRY_PATH",
    "SyntheticSettings",
    "KEY_COLUMNS",
    "PERIOPERATIVE_DETAIL_COLUMNS",
    "PUBLISHED_COMPLICATION_KINDS",
    "PUBLISHED_R2_REASON",
    "add_perioperative_details",
    "apply_keys",
    "chemotherapy_risk_score",
    "keyed_levels",
    "make_covariates",
    "CohortStatistics",
    "VectorisedEvaluator",
    "cox_design",
    "factor_design",
    "Targets",
    "_loss_parts",
    "_statistic_vector",
    "calibration_loss",
    "load_targets",
    "END_CODES",
    "Latents",
    "_N_RATES",
    "check_plausibility",
    "draw_latents",
    "latent_ks_p",
    "outcome_days",
    "CalibrationResult",
    "calibrate",
    "analysed_cohort",
    "evaluate_registry",
    "registry_realism",
    "score_statistics",
    "SyntheticRegistry",
    "_to_csv_text",
    "build_registry",
    "write_registry",
    "main",
    "cox_events_table",
    "joint_structure",
]
