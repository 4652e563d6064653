"""The teaching layer: lessons beyond the paper's analysis, built on the teaching core.

The core (``helpers/*.py``) reproduces the study's stages; what the notebooks teach beyond the
paper lives here, imports the core and never the reproduction toolkit:

- :mod:`helpers.teaching.dichotomy`  what splitting a continuous measurement costs
- :mod:`helpers.teaching.stats`      exact permutation log-rank, Schoenfeld residuals, landmark, competing events
- :mod:`helpers.teaching.plots`      Schoenfeld residual plots
- :mod:`helpers.teaching.exercises`  the self-checking exercises of every notebook
- :mod:`helpers.teaching.student`    the student edition (``make student``)
"""
