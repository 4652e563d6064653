#!/usr/bin/env Rscript
# Reference numbers for helpers.teaching.stats, computed with R's survival package.
#
# Run from the project root:   Rscript tests/r_reference/teaching_reference.R
# Needs r-base-core and r-cran-survival. Writes tests/r_reference/teaching_reference.json, which
# tests/test_teaching.py reads (the tests never need R). The data are survival's `veteran`
# (time ties included), the same rows tests/r_reference/cox_reference.json exports.
#
# What is stored: cox.zph(fit, transform)$y (scaled Schoenfeld residuals), $x and $time for a Cox
# model of four numeric covariates, Efron and Breslow ties, transforms "km" and "rank", with R's
# default coxph.control (helpers.cox.fit_cox reproduces R's iterate, so the residuals match).

suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else file.path("tests", "r_reference")
out_path <- file.path(out_dir, "teaching_reference.json")

num <- function(x) paste0("[", paste(sprintf("%.17g", as.double(x)), collapse = ", "), "]")
str <- function(x) paste0('"', x, '"')

vet <- survival::veteran
covariates <- c("trt", "karno", "age", "prior")
entries <- character(0)
for (ties in c("efron", "breslow")) {
  fit <- coxph(Surv(time, status) ~ trt + karno + age + prior, data = vet, ties = ties)
  for (transform in c("km", "rank")) {
    zph <- cox.zph(fit, transform = transform)
    cols <- vapply(seq_along(covariates), function(j) {
      paste0(str(covariates[j]), ": ", num(zph$y[, j]))
    }, character(1))
    entries <- c(entries, paste0(
      str(paste(ties, transform, sep = "_")), ": {",
      str("coef"), ": ", num(coef(fit)), ", ",
      str("time"), ": ", num(zph$time), ", ",
      str("x"), ": ", num(zph$x), ", ",
      str("y"), ": {", paste(cols, collapse = ", "), "}}"))
  }
}
meta <- paste0(str("meta"), ": {", str("r_version"), ": ", str(R.version.string), ", ",
               str("survival_version"), ": ", str(as.character(packageVersion("survival"))), ", ",
               str("covariates"), ": [", paste(str(covariates), collapse = ", "), "]}")
writeLines(paste0("{", meta, ",\n", paste(entries, collapse = ",\n"), "}"), out_path)
cat("wrote", out_path, "\n")
