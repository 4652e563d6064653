#!/usr/bin/env Rscript
# Reference knots and bases of restricted cubic splines, for helpers.reproduction.validation.rcs_knots and
# rcs_basis, computed with Hmisc::rcspline.eval (what rms::rcs calls).
#
# Run from the project root, after `.venv/bin/python tests/r_reference/validation_inputs.py`
# (which writes validation_rcs_inputs.csv: case, x):
#     Rscript tests/r_reference/validation_rcs.R
# Needs r-base-core, r-cran-hmisc (an rms dependency), r-cran-jsonlite. Writes
# tests/r_reference/validation_rcs.json; tests/test_validation.py reads it.
#
# For each case and nk = 3..7: the default knots, rcspline.eval(x, nk = nk) (rms::rcs's
# placement, fractied = 0.05), R's warnings about them verbatim, and the basis at those knots
# with inclx = TRUE (norm = 2, the rms::rcs columns).

suppressPackageStartupMessages({library(Hmisc); library(jsonlite)})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else file.path("tests", "r_reference")

inputs <- read.csv(file.path(here, "validation_rcs_inputs.csv"))
out <- list(hmisc = as.character(packageVersion("Hmisc")), r_version = R.version.string, cases = list())
for (case in unique(inputs$case)) {
  x <- inputs$x[inputs$case == case]
  for (nk in 3:7) {
    msgs <- character(0)
    knots <- withCallingHandlers(
      tryCatch(rcspline.eval(x, nk = nk, knots.only = TRUE), error = function(e) NULL),
      warning = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") })
    entry <- list(case = case, nk = nk, x = x, warnings = I(msgs))
    if (!is.null(knots) && length(knots) >= 3) {
      entry$knots <- as.numeric(knots)
      entry$basis <- unclass(rcspline.eval(x, knots = knots, inclx = TRUE))
      attr(entry$basis, "knots") <- NULL
    }
    out$cases[[length(out$cases) + 1]] <- entry
  }
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, matrix = "rowmajor"),
           file.path(here, "validation_rcs.json"))
