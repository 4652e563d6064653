"""The reproduction toolkit: everything beyond the teaching core.

The teaching core (:mod:`helpers.schema` ... :mod:`helpers.outputs`) computes the study. This
subpackage serves notebooks 04-06 and the command line, and reuses the core:

- :mod:`helpers.reproduction.published`   the paper's numbers and the one tolerance table
- :mod:`helpers.reproduction.scorecard`   the fidelity scorecard (this run against the paper)
- :mod:`helpers.reproduction.audit`       the paper's internal inconsistencies, one small function per check
- :mod:`helpers.reproduction.realism`     the outcome model and the realism checks of the registry
- :mod:`helpers.reproduction.synthetic`   the seeded generator of the shipped synthetic registry
- :mod:`helpers.reproduction.validation`  bootstrap optimism of the Cox model (notebook 06)
- :mod:`helpers.reproduction.firth`       Firth-penalised Cox fits (notebook 06)
- :mod:`helpers.reproduction.refit`       lean Cox refits for bootstrap resamples
- :mod:`helpers.reproduction.screening`   the log-rank screen vectorised over many resamples
- :mod:`helpers.reproduction.plots`       figures of notebooks 05 and 06
- :mod:`helpers.reproduction.runner`      the papermill runner (``python -m helpers.reproduction.runner``)
- :mod:`helpers.reproduction.params`      the notebooks' parameters, read from their parameters cells
- :mod:`helpers.reproduction.sweep`       sensitivity sweeps on dask.distributed, read back for the report
- :mod:`helpers.reproduction.cluster`     the dask client (a LocalCluster or a scheduler by address)
"""
