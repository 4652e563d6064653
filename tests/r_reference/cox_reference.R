#!/usr/bin/env Rscript
# Reference numbers for helpers.cox, computed with R's survival package.
#
# Run from the project root:   Rscript tests/r_reference/cox_reference.R
# Needs the Debian packages r-base-core and r-cran-survival (nothing else: the JSON is written
# by hand below, so jsonlite is not required). Writes tests/r_reference/cox_reference.json,
# which tests/test_cox.py reads; the tests never need R.
#
# Datasets: `lung` and `veteran`, both shipped with survival, exported into the JSON so the
# Python tests fit the very same rows. lung$status is 1 = censored, 2 = dead; the export adds
# `event` = status - 1 (veteran$status is already 0/1). Rows with a missing covariate are dropped
# by coxph (na.action = na.omit) and their number is recorded as n_dropped_missing.
#
# Convergence: coxph.control(eps = 1e-11, iter.max = 100) instead of the default eps = 1e-9, so
# the reference is the maximiser of the partial likelihood to ~1e-10 and the 1e-6 comparison
# tests the statistics, not where two Newton-Raphson loops happened to stop.

suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else file.path("tests", "r_reference")
out_path <- file.path(out_dir, "cox_reference.json")

# ---- a minimal JSON writer (numbers with %.17g, so doubles round-trip exactly) -------------
jnum <- function(x) {
  if (length(x) == 0) return("[]")
  s <- ifelse(is.na(x), "null", sprintf("%.17g", as.double(x)))
  s[is.infinite(x)] <- "null"
  s
}
jstr <- function(x) paste0('"', gsub('"', '\\"', gsub("\\\\", "\\\\\\\\", x), fixed = TRUE), '"')
jvec <- function(x) {
  if (is.factor(x)) x <- as.character(x)
  if (is.character(x)) {
    s <- ifelse(is.na(x), "null", jstr(x))
  } else if (is.logical(x)) {
    s <- ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  } else {
    s <- jnum(x)
  }
  paste0("[", paste(s, collapse = ", "), "]")
}
jscalar <- function(x) {
  if (is.character(x)) return(jstr(x))
  if (is.logical(x)) return(if (x) "true" else "false")
  jnum(x)
}
jobj <- function(lst) {
  keys <- names(lst)
  parts <- vapply(seq_along(lst), function(i) {
    v <- lst[[i]]
    val <- if (is.list(v)) jobj(v) else if (length(v) == 1 && is.null(attr(v, "as_array"))) jscalar(v) else jvec(v)
    paste0(jstr(keys[i]), ": ", val)
  }, character(1))
  paste0("{", paste(parts, collapse = ",\n"), "}")
}
as_array <- function(x) { attr(x, "as_array") <- TRUE; x }
frame_to_list <- function(df) lapply(df, function(col) as_array(if (is.factor(col)) as.character(col) else col))

# ---- data ----------------------------------------------------------------------------------
lung_df <- survival::lung
lung_df$event <- as.integer(lung_df$status == 2)
vet_df <- survival::veteran
vet_df$event <- as.integer(vet_df$status)
vet_df$celltype <- as.character(vet_df$celltype)

ctrl <- coxph.control(eps = 1e-11, iter.max = 100)

# ---- models ----------------------------------------------------------------------------------
specs <- list(
  list(name = "lung", data = "lung", df = lung_df,
       covariates = c("age", "sex", "ph.ecog", "ph.karno", "wt.loss"),
       categorical = list(),
       formula = Surv(time, event) ~ age + sex + ph.ecog + ph.karno + wt.loss),
  list(name = "veteran", data = "veteran", df = vet_df,
       covariates = c("trt", "celltype", "karno", "age", "prior"),
       categorical = list(celltype = "large"),
       formula = Surv(time, event) ~ trt + celltype + karno + age + prior)
)

models <- list()
for (spec in specs) {
  df <- spec$df
  for (cv in names(spec$categorical)) {
    df[[cv]] <- relevel(factor(df[[cv]]), ref = spec$categorical[[cv]])
  }
  for (ties in c("efron", "breslow")) {
    fit <- coxph(spec$formula, data = df, ties = ties, control = ctrl, model = TRUE)
    s <- summary(fit, conf.int = 0.95)
    cf <- s$coefficients
    ci <- s$conf.int
    # R's names: "celltypesmallcell" -> Python's "celltype[smallcell]"
    terms <- rownames(cf)
    for (cv in names(spec$categorical)) {
      hit <- startsWith(terms, cv) & terms != cv
      terms[hit] <- paste0(cv, "[", substring(terms[hit], nchar(cv) + 1), "]")
    }
    zph <- list()
    for (tr in c("km", "rank", "identity")) {
      z <- cox.zph(fit, transform = tr)
      zph[[tr]] <- list(term = as_array(rownames(z$table)),
                        statistic = as_array(unname(z$table[, "chisq"])),
                        dof = as_array(unname(z$table[, "df"])),
                        p_value = as_array(unname(z$table[, "p"])))
    }
    lr <- 2 * (fit$loglik[2] - fit$loglik[1])
    models[[length(models) + 1]] <- list(
      name = paste(spec$name, ties, sep = "_"),
      dataset = spec$data,
      time = "time", event = "event",
      covariates = as_array(spec$covariates),
      categorical = spec$categorical,
      ties = ties,
      n = fit$n, events = fit$nevent,
      n_dropped_missing = length(fit$na.action),
      iterations = fit$iter,
      term = as_array(terms),
      coef = as_array(unname(cf[, "coef"])),
      se = as_array(unname(cf[, "se(coef)"])),
      hr = as_array(unname(cf[, "exp(coef)"])),
      ci_low = as_array(unname(ci[, "lower .95"])),
      ci_high = as_array(unname(ci[, "upper .95"])),
      p_value = as_array(unname(cf[, "Pr(>|z|)"])),
      loglik_null = fit$loglik[1], loglik = fit$loglik[2],
      lr_statistic = lr, lr_dof = length(fit$coefficients),
      lr_p_value = pchisq(lr, length(fit$coefficients), lower.tail = FALSE),
      concordance = unname(fit$concordance["concordance"]),
      zph = zph
    )
  }
}
names(models) <- vapply(models, function(m) m$name, character(1))

out <- list(
  meta = list(
    generated_by = "tests/r_reference/cox_reference.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    coxph_control = "eps = 1e-11, iter.max = 100",
    conf_level = 0.95,
    notes = "lung: event = status - 1 (status 2 = dead). veteran: event = status. cox.zph is the survival >= 3.0 score test."
  ),
  datasets = list(lung = frame_to_list(lung_df), veteran = frame_to_list(vet_df)),
  models = models
)
writeLines(jobj(out), out_path)
cat("wrote", out_path, "\n")
