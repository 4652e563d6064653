#!/usr/bin/env Rscript
# The R side of benchmarks/bench_validation.py: the same bootstrap loop of the whole procedure in
# R (survival), on the data and resample index matrix the Python benchmark writes.
#   Rscript benchmarks/bench_validation.R DATA.csv INDICES.csv TIES ALPHA
# Per resample: survdiff for each of the factors (x1..xk, 0/1), entry p < alpha, coxph of the
# chosen ones, C of X beta (NA as 0) on the resample and on the original rows (concordance),
# coxph of the linear predictor on the original rows (calibration slope); the definitions of
# tests/r_reference/validation_procedure_reference.R. Prints the elapsed seconds of the loop, the
# mean optimism of C and the CPU seconds of the loop.
suppressPackageStartupMessages(library(survival))
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1]); idx <- as.matrix(read.csv(a[2], header = FALSE))
ties <- a[3]; alpha <- as.numeric(a[4])
xs <- setdiff(names(d), c("time", "event"))
cidx <- function(time, event, lp) {
  if (length(unique(lp)) == 1) return(0.5)
  concordance(Surv(time, event) ~ lp, reverse = TRUE)$concordance
}
one <- function(rows) {
  b <- d[rows, ]
  p <- vapply(xs, function(x) {
    if (length(unique(b[[x]])) < 2) return(1)
    s <- survdiff(Surv(b$time, b$event) ~ b[[x]]); pchisq(s$chisq, 1, lower.tail = FALSE)
  }, numeric(1))
  chosen <- xs[p < alpha]
  if (!length(chosen)) return(c(0.5, 0.5, 1))
  fit <- suppressWarnings(coxph(reformulate(chosen, "Surv(time, event)"), data = b, ties = ties))
  beta <- coef(fit); beta[is.na(beta)] <- 0
  lp <- as.vector(as.matrix(d[, chosen, drop = FALSE]) %*% beta)
  slope <- if (length(unique(lp)) == 1) 1 else
    suppressWarnings(coef(coxph(Surv(d$time, d$event) ~ lp, ties = ties)))
  c(cidx(b$time, b$event, lp[rows]), cidx(d$time, d$event, lp), slope)
}
start <- proc.time()
res <- t(vapply(seq_len(nrow(idx)), function(i) one(idx[i, ]), numeric(3)))
used <- proc.time() - start
cat(sprintf("%.3f %.6f %.3f\n", used[["elapsed"]], mean(res[, 1] - res[, 2]), used[["user.self"]] + used[["sys.self"]]))
