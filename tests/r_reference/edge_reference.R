# Reference numbers for the hard cases: aliased factor levels, zero-event levels, near-equal
# float times, landmarks around the first event, and the terms R cannot estimate (a covariate
# constant in the data, collinear covariates, coefficients running off to infinity: with R's
# "Loglik converged before variable" warning, set to NA because the information vanished at the
# estimate, and a fit that runs out of iterations). Every Cox fit here uses coxph's default
# control (eps = 1e-9, iter.max = 20), so the numbers are R's iterates, not polished maxima.
# Run from the repository root:
#   Rscript tests/r_reference/edge_reference.R
# tests/r_reference/edge_monotone.csv holds the three infinite-coefficient data sets (found by a
# seeded search over small data sets with rare 0/1 levels; columns per case: t, e and x, g, w or
# x0..x5).
library(survival)
library(jsonlite)
cox_case <- function(d, formula, ties) {
  f <- coxph(formula, data = d, ties = ties, x = TRUE, y = TRUE, model = TRUE)
  z <- cox.zph(f)
  list(coef = unname(coef(f)), terms = names(coef(f)), se = unname(sqrt(diag(f$var))),
       loglik = f$loglik, df = sum(!is.na(coef(f))), concordance = unname(f$concordance["concordance"]),
       zph_chisq = unname(z$table[, "chisq"]), zph_df = unname(z$table[, "df"]))
}
aliased <- data.frame(t = c(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0.5, 0.7, 2, 4, 6),
                      e = c(1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 0),
                      g = factor(c("a","b","a","b","a","b","a","b","a","d","c","c","d","a","d"), levels = c("a","b","c","d")),
                      x = c(1, 5, 2, 4, 3, 6, 2, 1, 3, 4, 5, 5, 2, 2, 3))
near <- data.frame(t = c(0.1 + 0.2, 0.3, 0.3, 0.7, 0.7 + 1e-12, 1.1, 1.5, 2.0),
                   e = c(1, 1, 0, 1, 1, 0, 1, 0), x = c(1, 0, 1, 0, 1, 1, 0, 0))
lm <- data.frame(t = c(2, 3, 5, 7, 8, 10), e = c(0, 0, 1, 0, 1, 0))
km <- list()
for (ct in c("log-log", "log", "plain")) {
  s <- summary(survfit(Surv(t, e) ~ 1, data = lm, conf.type = ct), times = c(1, 2, 2.5, 4, 5, 6, 10))
  km[[ct]] <- list(times = s$time, surv = s$surv, lower = s$lower, upper = s$upper)
}
nk <- survfit(Surv(t, e) ~ 1, data = near)
# Heavy ties (integer times), a 4-level factor with a zero-event, an all-event and a one-patient
# level, a 3-level factor and missing covariate values (R drops them: na.omit).
set.seed(11)
n <- 40
mixed <- data.frame(t = c(1, 2, 2, 3, 5, 6), e = c(1, 1, 1, 1, 1, 1), g4 = "all")
mixed <- rbind(mixed, data.frame(t = c(3, 8, 9, 12), e = 0, g4 = "zero"))
mixed <- rbind(mixed, data.frame(t = 4, e = 1, g4 = "tiny"))
mixed <- rbind(mixed, data.frame(t = sample(1:10, n, TRUE), e = rbinom(n, 1, 0.6), g4 = "base"))
mixed$g4 <- factor(mixed$g4, levels = c("base", "all", "tiny", "zero"))
mixed$g3 <- factor(rep(c("p", "q", "r"), length.out = nrow(mixed)))
mixed$x <- round(rnorm(nrow(mixed)), 3)
mixed$x[c(5, 20)] <- NA
write.csv(mixed, "tests/r_reference/edge_mixed.csv", row.names = FALSE)
sm <- summary(survfit(Surv(t, e) ~ g4, data = mixed), times = 2.5, extend = TRUE)
mixed_fit <- function(ties) {
  f <- coxph(Surv(t, e) ~ g3 + x, data = mixed, ties = ties)
  list(coef = unname(coef(f)), se = unname(sqrt(diag(f$var))), loglik = f$loglik, n = f$n)
}
# The terms R cannot estimate. A fit's warnings are recorded (and muffled).
nonid_case <- function(d, formula, ties) {
  msgs <- character(0)
  f <- withCallingHandlers(coxph(formula, data = d, ties = ties),
                           warning = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(coef = unname(coef(f)), terms = names(coef(f)), se = unname(sqrt(diag(f$var))), loglik = f$loglik,
       df = sum(!is.na(coef(f))), iter = f$iter, concordance = unname(f$concordance["concordance"]),
       warnings = msgs)
}
constant <- transform(aliased, k = 1)
collinear <- transform(aliased, x2 = 2 * x + 1)
mono <- read.csv("tests/r_reference/edge_monotone.csv")
mcase <- function(name) mono[mono$case == name, ]
nonid <- list()
for (ties in c("breslow", "efron")) {
  nonid[[paste0("constant_", ties)]] <- nonid_case(constant, Surv(t, e) ~ x + k, ties)
  nonid[[paste0("collinear_", ties)]] <- nonid_case(collinear, Surv(t, e) ~ x + x2, ties)
  nonid[[paste0("monotone_", ties)]] <- nonid_case(mcase("monotone"), Surv(t, e) ~ x + g + w, ties)
  nonid[[paste0("singular_at_estimate_", ties)]] <- nonid_case(mcase("singular_at_estimate"), Surv(t, e) ~ x + g + w, ties)
  nonid[[paste0("no_convergence_", ties)]] <- nonid_case(mcase("no_convergence"), Surv(t, e) ~ x0 + x1 + x2 + x3 + x4 + x5, ties)
}
out <- list(
  aliased_breslow = cox_case(aliased, Surv(t, e) ~ g + x, "breslow"),
  aliased_efron = cox_case(aliased, Surv(t, e) ~ g + x, "efron"),
  near_breslow = cox_case(near, Surv(t, e) ~ x, "breslow"),
  near_efron = cox_case(near, Surv(t, e) ~ x, "efron"),
  near_km = list(time = nk$time, surv = nk$surv),
  near_logrank_chisq = survdiff(Surv(t, e) ~ x, data = near)$chisq,
  landmark = km,
  mixed_logrank_chisq = survdiff(Surv(t, e) ~ g4, data = mixed)$chisq,
  mixed_km_landmark = list(strata = sub("g4=", "", as.character(sm$strata)), surv = sm$surv,
                      lower = sm$lower, upper = sm$upper),
  mixed_breslow = mixed_fit("breslow"),
  mixed_efron = mixed_fit("efron"),
  nonidentifiable = nonid,
  r_version = R.version.string, survival = as.character(packageVersion("survival"))
)
write_json(out, "tests/r_reference/edge_reference.json", digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE)
