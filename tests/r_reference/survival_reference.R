# Reference numbers for helpers.survival from R's survival package.
#
# Run from the project root:   Rscript tests/r_reference/survival_reference.R
# Needs r-base-core and r-cran-survival (Debian/Ubuntu: apt-get install r-base-core r-cran-survival).
# Writes tests/r_reference/survival_reference.json. The input data (survival's `lung` and
# `veteran` datasets and a few small hand-made sets) are written into the JSON too, so the
# Python tests never need R.
#
# What is computed:
#   - survfit() Kaplan-Meier: median and its CI (print.survfit / summary()$table) for
#     conf.type "log", "log-log" and "plain"; summary(fit, times=) survival, std.err, CI, n.risk
#   - per-stratum medians and landmark survival (survfit(~ group))
#   - survdiff() log-rank: chi-square, df, p, observed and expected per group
#   - reverse Kaplan-Meier median follow-up (survfit(Surv(time, 1 - event) ~ 1))

suppressPackageStartupMessages(library(survival))

out_path <- file.path("tests", "r_reference", "survival_reference.json")
if (!dir.exists(dirname(out_path))) stop("run from the project root (tests/r_reference not found)")

# ---- a tiny JSON writer (jsonlite is not a dependency) -----------------------------------
num1 <- function(x) {
  if (length(x) == 0 || is.na(x)) return("null")
  if (is.infinite(x)) return("null")
  sprintf("%.15g", x)
}
numv <- function(x) paste0("[", paste(vapply(as.numeric(x), num1, ""), collapse = ","), "]")
strv <- function(x) paste0("[", paste(ifelse(is.na(x), "null", paste0('"', x, '"')), collapse = ","), "]")
obj <- function(...) {
  items <- list(...)
  paste0("{", paste(sprintf('"%s":%s', names(items), unlist(items)), collapse = ","), "}")
}
arr <- function(items) paste0("[", paste(unlist(items), collapse = ",\n"), "]")
str1 <- function(x) paste0('"', x, '"')

# ---- data ---------------------------------------------------------------------------------
lung_df <- data.frame(time = lung$time, event = as.integer(lung$status == 2),
                      sex = ifelse(lung$sex == 1, "male", "female"),
                      ph_ecog = lung$ph.ecog)
vet_df <- data.frame(time = veteran$time, event = as.integer(veteran$status),
                     celltype = as.character(veteran$celltype),
                     trt = ifelse(veteran$trt == 1, "standard", "test"))
# hand-made: curve flat at exactly 0.5 (median is a midpoint), with and without censoring
flat_df <- data.frame(time = c(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), event = rep(1L, 10))
flat2_df <- data.frame(time = c(1, 2, 2.5, 3, 4, 5, 6, 7), event = c(1, 1, 0, 0, 1, 1, 0, 1))
# hand-made: heavy ties of events and censorings at the same times (whole months)
ties_df <- data.frame(
  time = c(1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 5, 5, 6, 6, 6, 7, 8, 8, 9, 12, 12, 12, 15, 15, 18),
  event = c(1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0),
  grp = c("a", "b", "a", "a", "b", "b", "a", "a", "b", "b", "a", "a", "b", "a", "b",
          "a", "b", "a", "b", "a", "b", "a", "b", "b", "a"))

datasets <- list(lung = lung_df, veteran = vet_df, flat = flat_df, flat2 = flat2_df, ties = ties_df)

data_json <- function(d) {
  cols <- lapply(names(d), function(nm) {
    v <- d[[nm]]
    if (is.character(v)) sprintf('"%s":%s', nm, strv(v)) else sprintf('"%s":%s', nm, numv(v))
  })
  paste0("{", paste(cols, collapse = ","), "}")
}

# ---- Kaplan-Meier ------------------------------------------------------------------------
landmark_times <- list(lung = c(0, 90, 180, 365, 730), veteran = c(30, 90, 180, 365),
                       flat = c(2, 5, 5.5), flat2 = c(2, 3, 6), ties = c(1, 3, 6, 12))

km_case <- function(name, ct) {
  d <- datasets[[name]]
  fit <- survfit(Surv(time, event) ~ 1, data = d, conf.type = ct)
  tab <- summary(fit)$table
  s <- summary(fit, times = landmark_times[[name]])
  obj(dataset = str1(name), conf_type = str1(ct),
      n = num1(tab[["n.max"]]), events = num1(tab[["events"]]),
      median = num1(tab[["median"]]), median_lcl = num1(tab[["0.95LCL"]]),
      median_ucl = num1(tab[["0.95UCL"]]),
      landmarks = obj(time = numv(s$time), n_risk = numv(s$n.risk), surv = numv(s$surv),
                      std_err = numv(s$std.err), lower = numv(s$lower), upper = numv(s$upper)),
      curve = obj(time = numv(fit$time), n_risk = numv(fit$n.risk), n_event = numv(fit$n.event),
                  surv = numv(fit$surv), lower = numv(fit$lower), upper = numv(fit$upper)))
}
km_items <- list()
for (name in names(datasets)) for (ct in c("log", "log-log", "plain")) {
  km_items[[length(km_items) + 1]] <- km_case(name, ct)
}

# ---- per-stratum KM (what screen_factors reports per level) -------------------------------
strata_case <- function(name, group, landmark, ct = "log-log") {
  d <- datasets[[name]]
  d <- d[!is.na(d[[group]]), ]
  levs <- sort(unique(as.character(d[[group]])))
  rows <- lapply(levs, function(lv) {
    dd <- d[d[[group]] == lv, ]
    fit <- survfit(Surv(time, event) ~ 1, data = dd, conf.type = ct)
    tab <- summary(fit)$table
    s <- summary(fit, times = landmark, extend = TRUE)
    obj(level = str1(lv), n = num1(nrow(dd)), events = num1(sum(dd$event)),
        median = num1(tab[["median"]]), surv = num1(s$surv), lower = num1(s$lower),
        upper = num1(s$upper), n_risk = num1(s$n.risk))
  })
  obj(dataset = str1(name), group = str1(group), landmark = num1(landmark), conf_type = str1(ct),
      levels = arr(rows))
}
strata_items <- list(strata_case("lung", "sex", 365), strata_case("veteran", "celltype", 90),
                     strata_case("veteran", "trt", 180), strata_case("ties", "grp", 6),
                     strata_case("lung", "ph_ecog", 365, "log"))

# ---- log-rank ----------------------------------------------------------------------------
sd_case <- function(name, group) {
  d <- datasets[[name]]
  d <- d[!is.na(d[[group]]), ]
  d$g <- factor(as.character(d[[group]]), levels = sort(unique(as.character(d[[group]]))))
  f <- survdiff(Surv(time, event) ~ g, data = d)
  df <- sum(f$exp > 0) - 1
  obj(dataset = str1(name), group = str1(group), levels = strv(levels(d$g)),
      chisq = num1(f$chisq), df = num1(df), p = num1(pchisq(f$chisq, df, lower.tail = FALSE)),
      n = numv(f$n), observed = numv(f$obs), expected = numv(f$exp), variance_diag = numv(diag(f$var)))
}
sd_items <- list(sd_case("lung", "sex"), sd_case("veteran", "celltype"), sd_case("veteran", "trt"),
                 sd_case("ties", "grp"), sd_case("lung", "ph_ecog"))

# ---- follow-up ---------------------------------------------------------------------------
fu_case <- function(name) {
  d <- datasets[[name]]
  rev <- survfit(Surv(time, 1 - event) ~ 1, data = d)
  obj(dataset = str1(name), reverse_km_median = num1(summary(rev)$table[["median"]]),
      observed_median = num1(median(d$time)))
}
fu_items <- lapply(c("lung", "veteran", "ties"), fu_case)

json <- paste0(
  "{\n",
  '"meta":', obj(r_version = str1(R.version.string),
                 survival_version = str1(as.character(packageVersion("survival"))),
                 generated_by = str1("tests/r_reference/survival_reference.R"),
                 alpha = num1(0.05)), ",\n",
  '"data":{', paste(sprintf('"%s":%s', names(datasets), vapply(datasets, data_json, "")),
                    collapse = ",\n"), "},\n",
  '"km":', arr(km_items), ",\n",
  '"strata":', arr(strata_items), ",\n",
  '"survdiff":', arr(sd_items), ",\n",
  '"followup":', arr(fu_items), "\n}\n")
writeLines(json, out_path)
cat("wrote", out_path, "\n")
