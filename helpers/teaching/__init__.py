"""The teaching layer: lessons beyond the paper's analysis, built on the teaching core.

The core (``helpers/*.py``) reproduces the study's stages; what the notebooks teach beyond the
paper lives here, imports the core and never the reproduction toolkit:

- :mod:`helpers.teaching.dichotomy`  what splitting a continuous measurement costs
"""
