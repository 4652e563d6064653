#!/usr/bin/env Rscript
# Per-resample reference numbers for helpers.reproduction.validation.validate_procedure (the whole procedure:
# log-rank screen of 17 factors -> entry p < 0.05 -> Cox -> measures), computed with R's survival.
#
# Run from the project root, after `.venv/bin/python tests/r_reference/validation_inputs.py`
# (which writes the data, the shipped registry's 17 factors coded 0/1, and the resample index
# matrix drawn by Python, 200 resamples with notebook 06's seed):
#     Rscript tests/r_reference/validation_procedure_reference.R
# Needs r-base-core, r-cran-survival, r-cran-jsonlite. Writes
# tests/r_reference/validation_procedure_reference.json; tests/test_validation.py reads it.
#
# R's own defaults throughout (coxph.control(): eps 1e-9, iter.max 20): this is the loop a user
# of R would run. For each resample b (row b of the index matrix, 1-based) and ties:
#   screen: survdiff(Surv ~ x) per factor on the resample rows (a factor with one level in the
#           resample gets p = 1), chosen: p < 0.05;
#   train:  coxph on the resample with the chosen factors; C of lp = X beta on the resample rows
#           (NA coefficients as 0, as on the test side): concordance(Surv ~ lp, reverse = TRUE);
#           also concordance(fit) as c_train_fit, which differs where a coefficient is NA
#           (infinite): coxph's linear.predictors keep the large value the iterations reached
#           for it while coef() reports NA; Nagelkerke R2 (1 - exp(-LR/n)) / (1 - exp(2 L0 / n));
#           any warning coxph gives is recorded verbatim;
#   test:   lp = X beta on the original rows (NA coefficients as 0), C = concordance(Surv ~ lp,
#           reverse = TRUE), calibration slope = coef of coxph(Surv ~ lp) and R2 of that refit.
# Nothing chosen: C 0.5, slope 1, R2 0 on both sides (rms::validate's empty model).

suppressPackageStartupMessages({library(survival); library(jsonlite)})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else file.path("tests", "r_reference")

d <- read.csv(file.path(here, "validation_procedure_data.csv"))
idx <- as.matrix(read.csv(file.path(here, "validation_procedure_indices.csv"), header = FALSE))
xs <- setdiff(names(d), c("time", "event"))
alpha <- 0.05

r2 <- function(fit) {
  lr <- 2 * (fit$loglik[2] - fit$loglik[1])
  (1 - exp(-lr / fit$n)) / (1 - exp(2 * fit$loglik[1] / fit$n))
}

quiet <- function(expr) {
  msgs <- character(0)
  value <- withCallingHandlers(expr, warning = function(w) {
    msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning")
  })
  list(value = value, warnings = msgs)
}

one <- function(rows, ties) {
  b <- d[rows, ]
  p <- vapply(xs, function(x) {
    ok <- !is.na(b[[x]])
    if (length(unique(b[[x]][ok])) < 2) return(1)
    s <- survdiff(Surv(time, event) ~ b[[x]][ok], data = b[ok, ])
    pchisq(s$chisq, 1, lower.tail = FALSE)
  }, numeric(1))
  chosen <- xs[p < alpha]
  out <- list(selected = paste(as.integer(p < alpha), collapse = ""))
  if (!length(chosen))
    return(c(out, list(status = "nothing_selected", warnings = "", iter = 0L, c_train = 0.5, c_train_fit = 0.5, c_test = 0.5, slope_test = 1,
                       r2_train = 0, r2_test = 0)))
  q <- quiet(coxph(reformulate(chosen, "Surv(time, event)"), data = b, ties = ties))
  fit <- q$value
  beta <- coef(fit); beta[is.na(beta)] <- 0
  xb <- as.matrix(b[, chosen, drop = FALSE])
  kb <- complete.cases(xb)
  tr <- data.frame(time = b$time[kb], event = b$event[kb], lp = as.vector(xb[kb, , drop = FALSE] %*% beta))
  c_train <- if (length(unique(tr$lp)) == 1) 0.5 else
    concordance(Surv(time, event) ~ lp, data = tr, reverse = TRUE)$concordance
  x <- as.matrix(d[, chosen, drop = FALSE])
  keep <- complete.cases(x)
  o <- data.frame(time = d$time[keep], event = d$event[keep], lp = as.vector(x[keep, , drop = FALSE] %*% beta))
  if (length(unique(o$lp)) == 1) {
    test <- c(0.5, 1, 0)
  } else {
    refit <- quiet(coxph(Surv(time, event) ~ lp, data = o, ties = ties))$value
    test <- c(concordance(Surv(time, event) ~ lp, data = o, reverse = TRUE)$concordance,
              coef(refit), r2(refit))
  }
  c(out, list(status = if (length(q$warnings)) "warned" else "ok", warnings = paste(q$warnings, collapse = " | "),
              iter = fit$iter, c_train = unname(c_train), c_train_fit = unname(concordance(fit)$concordance), c_test = unname(test[1]),
              slope_test = unname(test[2]), r2_train = r2(fit), r2_test = unname(test[3])))
}

out <- list(n = nrow(d), n_bootstrap = nrow(idx), alpha = alpha, factors = xs,
            r_version = R.version.string, survival = as.character(packageVersion("survival")))
for (ties in c("breslow", "efron")) {
  per <- lapply(seq_len(nrow(idx)), function(b) one(idx[b, ], ties))
  out[[ties]] <- list(resamples = do.call(rbind, lapply(per, as.data.frame)),
                      apparent = one(seq_len(nrow(d)), ties))
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(here, "validation_procedure_reference.json"))
