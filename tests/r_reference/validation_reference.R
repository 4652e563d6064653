#!/usr/bin/env Rscript
# Reference numbers for helpers.reproduction.validation (bootstrap validation), computed with R's survival
# and rms packages.
#
# Run from the project root, after `.venv/bin/python tests/r_reference/validation_inputs.py`
# (which writes the constructed data set and the resample index matrix drawn by Python):
#     Rscript tests/r_reference/validation_reference.R
# Needs r-base-core, r-cran-survival, r-cran-rms (and r-cran-jsonlite, an rms dependency).
# Writes tests/r_reference/validation_reference.json, which tests/test_validation.py reads; the
# tests never need R.
#
# For a fixed 5-term Cox model and each resample b (row b of validation_indices.csv, 1-based):
#   train: coxph on the resample rows; C = concordance(fit) (R's Harrell C, timewt "n");
#          Nagelkerke R2 = (1 - exp(-LR/n)) / (1 - exp(2 L0 / n)); calibration slope 1.
#   test:  the resample's coefficients applied to the original rows, lp = X beta;
#          C = concordance(Surv ~ lp, reverse = TRUE); calibration slope = coef of
#          coxph(Surv ~ lp); R2 from that refit.
# For Breslow and Efron ties. Resamples where coxph warns (a coefficient running off to
# infinity) are flagged: the two Newton-Raphson loops stop at different large values there.
# rms 6.5: validate(cph(...), B = 10)'s index.orig (Dxy, R2, Slope) for the full data.
# Convergence: coxph.control(eps = 1e-11, iter.max = 100), so the comparison tests the
# statistics, not where two loops stopped.

suppressPackageStartupMessages({library(survival); library(rms); library(jsonlite)})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else file.path("tests", "r_reference")

d <- read.csv(file.path(here, "validation_data.csv"))
idx <- as.matrix(read.csv(file.path(here, "validation_indices.csv"), header = FALSE))
terms <- paste0("x", 1:5)
form <- as.formula(paste("Surv(time, event) ~", paste(terms, collapse = " + ")))
ctl <- coxph.control(eps = 1e-11, iter.max = 100)

r2 <- function(fit, n) {
  lr <- 2 * (fit$loglik[2] - fit$loglik[1])
  (1 - exp(-lr / n)) / (1 - exp(2 * fit$loglik[1] / n))
}

one <- function(rows, ties) {
  warned <- FALSE
  fit <- withCallingHandlers(coxph(form, data = d[rows, ], ties = ties, control = ctl),
                             warning = function(w) { warned <<- TRUE; invokeRestart("muffleWarning") })
  beta <- coef(fit)
  beta[is.na(beta)] <- 0
  d$lp <- as.vector(as.matrix(d[, terms]) %*% beta)
  refit <- coxph(Surv(time, event) ~ lp, data = d, ties = ties, control = ctl)
  c(c_train = unname(concordance(fit)$concordance),
    c_test = unname(concordance(Surv(time, event) ~ lp, data = d, reverse = TRUE)$concordance),
    slope_test = unname(coef(refit)), r2_train = r2(fit, length(rows)), r2_test = r2(refit, nrow(d)),
    warned = warned)
}

out <- list(n = nrow(d), n_bootstrap = nrow(idx), terms = terms,
            r_version = R.version.string, survival = as.character(packageVersion("survival")),
            rms = as.character(packageVersion("rms")))
for (ties in c("breslow", "efron")) {
  per <- t(vapply(seq_len(nrow(idx)), function(b) one(idx[b, ], ties), numeric(6)))
  full <- one(seq_len(nrow(d)), ties)
  out[[ties]] <- list(resamples = as.data.frame(per), apparent = as.list(full))
}

# rms 6.5: index.orig of validate() for the fixed model (cph fits Efron ties by default).
set.seed(1)
dd <- datadist(d); options(datadist = "dd")
f <- cph(form, data = d, x = TRUE, y = TRUE, surv = FALSE)
v <- rms::validate(f, B = 10)
out$rms_index_orig <- as.list(v[c("Dxy", "R2", "Slope"), "index.orig"])

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(here, "validation_reference.json"))

# Restricted cubic spline basis (Hmisc::rcspline.eval, inclx = TRUE, norm = 2) of the times at
# fixed knots, for helpers.reproduction.validation.rcs_basis; then re-write the JSON with it.
out$rcs <- list(knots = c(5, 20, 40, 70), x = d$time,
                basis = unname(Hmisc::rcspline.eval(d$time, knots = c(5, 20, 40, 70), inclx = TRUE)))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, matrix = "rowmajor"),
           file.path(here, "validation_reference.json"))
