"""The teaching layer: exact log-rank, Schoenfeld residuals (against R), landmark and competing-risk
data steps, the self-checking exercises, the student edition and the glossary."""

from __future__ import annotations

import itertools
import json
import re
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter, NelsonAalenFitter
from lifelines.statistics import logrank_test

from helpers import cohort, cox, survival
from helpers.teaching import exercises, student
from helpers.teaching import plots as teaching_plots
from helpers.teaching import stats as ts

ROOT = Path(__file__).resolve().parents[1]
R_REFERENCE = ROOT / "tests" / "r_reference"
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture(scope="module")
def prepared():
    return cohort.prepare("")


@pytest.fixture(scope="module")
def model(prepared):
    data = prepared.data
    screen = survival.screen_factors(data, "time_months", "event", prepared.factors.factors)
    chosen = cox.select_for_multivariable(screen).query("selected")["variable"].tolist()
    references = {f: prepared.factors.reference(f) for f in chosen}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cox.CoxWarning)
        fit = cox.fit_cox(data, "time_months", "event", chosen, ties="breslow", categorical=references)
    return {"chosen": chosen, "references": references, "fit": fit}


def tiny() -> pd.DataFrame:
    return pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10.0], "e": [1, 1, 0, 1, 1, 0, 1, 0, 1, 0],
                         "g": list("aabababbbb")})


# ---- permutation log-rank -----------------------------------------------------------------------------

def test_permutation_statistic_equals_the_log_rank_of_helpers_and_lifelines(prepared):
    data = prepared.data
    for factor in ("disease_free_interval", "curative_resection", "primary_histology_mfs"):
        res = ts.permutation_logrank(data, "time_months", "event", factor)
        ours = survival.logrank(data, "time_months", "event", factor)
        small = data[factor].astype(str) == res.group
        theirs = logrank_test(data.loc[small, "time_months"], data.loc[~small, "time_months"],
                              data.loc[small, "event"], data.loc[~small, "event"])
        assert res.statistic == pytest.approx(ours.statistic, rel=1e-10)
        assert res.statistic == pytest.approx(theirs.test_statistic, rel=1e-8)
        assert res.p_asymptotic == pytest.approx(ours.p_value, rel=1e-8)
        assert res.observed == ours.table.set_index("group").loc[res.group, "observed"]


def test_exact_p_equals_brute_force_enumeration():
    d = tiny()
    observed = survival.logrank(d, "t", "e", "g").statistic
    k = int((d["g"] == "a").sum())
    hits = total = 0
    for members in itertools.combinations(range(len(d)), k):
        g = np.array(["b"] * len(d), dtype=object)
        g[list(members)] = "a"
        total += 1
        hits += survival.logrank(d.assign(g=g), "t", "e", "g").statistic >= observed - 1e-9
    res = ts.permutation_logrank(d, "t", "e", "g")
    assert res.exact and res.n_permutations == total
    assert res.p_permutation == pytest.approx(hits / total)


def test_monte_carlo_p_is_within_three_standard_errors_of_the_exact_p(monkeypatch):
    d = tiny()
    exact = ts.permutation_logrank(d, "t", "e", "g")
    monkeypatch.setattr(ts, "MAX_EXACT", 0)
    mc = ts.permutation_logrank(d, "t", "e", "g", n_resamples=20_000, seed=1)
    assert not mc.exact and mc.n_permutations == 20_000
    assert abs(mc.p_permutation - exact.p_permutation) < 3 * mc.mc_se + 1e-4


def test_sparse_level_gets_a_far_larger_exact_p(prepared):
    res = ts.permutation_logrank(prepared.data, "time_months", "event", "curative_resection")
    assert res.exact and res.n_group == 3 and res.expected < 0.5
    assert res.p_asymptotic < 1e-8
    assert 1e-4 < res.p_permutation < 1e-3  # 3 of 66 dying first: about 1 in C(66, 3) orderings
    table = ts.sparse_level_tests(prepared.data, "time_months", "event", prepared.factors.factors)
    assert "curative_resection" in set(table["variable"])
    assert (table["expected"] < 5).all()


def test_permutation_logrank_rejects_bad_groups():
    d = tiny()
    with pytest.raises(ValueError, match="exactly two levels"):
        ts.permutation_logrank(d.assign(g=list("abcabcabca")), "t", "e", "g")
    with pytest.raises(ValueError, match=r"column 'g' has missing values in rows \(index\) \[3\]"):
        ts.permutation_logrank(d.assign(g=d["g"].where(d.index != 3)), "t", "e", "g")
    with pytest.raises(ValueError, match="column 't' must be >= 0"):
        ts.permutation_logrank(d.assign(t=-d["t"]), "t", "e", "g")


# ---- Schoenfeld residuals against R --------------------------------------------------------------------

@pytest.mark.parametrize("case", ["efron_km", "efron_rank", "breslow_km", "breslow_rank"])
def test_schoenfeld_residuals_equal_r_cox_zph(case):
    reference = json.loads((R_REFERENCE / "teaching_reference.json").read_text())
    veteran = pd.DataFrame(json.loads((R_REFERENCE / "cox_reference.json").read_text())["datasets"]["veteran"])
    ties, transform = case.split("_")
    covariates = reference["meta"]["covariates"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cox.CoxWarning)
        fit = cox.fit_cox(veteran, "time", "event", covariates, ties=ties)
    ours = ts.schoenfeld_residuals(fit, transform)
    r = reference[case]
    np.testing.assert_allclose(ours["time"], r["time"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours["transformed_time"], r["x"], rtol=0, atol=1e-12)
    for name in covariates:
        np.testing.assert_allclose(ours[name], r["y"][name], rtol=1e-9, atol=1e-9)


def test_schoenfeld_plot_has_a_panel_per_term(model):
    residuals = ts.schoenfeld_residuals(model["fit"])
    coefficients = dict(zip(model["fit"].table["term"], model["fit"].table["coef"], strict=True))
    fig = teaching_plots.plot_schoenfeld(residuals, coefficients, p_values={t: 0.5 for t in coefficients})
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(coefficients)
    assert all("PH test p = 0.500" in ax.get_title() for ax in visible)
    with pytest.raises(TypeError, match="CoxResult"):
        ts.schoenfeld_residuals(residuals)


# ---- landmark and competing risks ----------------------------------------------------------------------

def test_landmark_cohort_keeps_those_alive_beyond_it_and_restarts_the_clock():
    d = pd.DataFrame({"id": ["a", "b", "c", "d"], "t": [2.0, 6.0, 8.0, 30.0], "e": [1, 0, 1, 0]})
    out = ts.landmark_cohort(d, "t", "e", 6)
    assert out["id"].tolist() == ["c", "d"] and out["t"].tolist() == [2.0, 24.0]
    assert d["t"].tolist() == [2.0, 6.0, 8.0, 30.0]  # the input is not changed
    with pytest.raises(ValueError, match="landmark must be a finite number"):
        ts.landmark_cohort(d, "t", "e", -1)
    with pytest.raises(ValueError, match=r"column 't' has missing values in rows \(id\) \['b'\]"):
        ts.landmark_cohort(d.assign(t=d["t"].where(d["id"] != "b")), "t", "e", 6, id_column="id")


def test_competing_event_codes():
    d = pd.DataFrame({"vital_status": ["alive", "dead", "dead", "dead"],
                      "cause_of_death": [None, "sarcoma", "other", "unknown"]})
    assert ts.competing_event_codes(d).tolist() == [0, 1, 2, 1]
    assert ts.competing_event_codes(d, unknown_as_sarcoma=False).tolist() == [0, 1, 2, 2]
    with pytest.raises(ValueError, match=r"empty for dead patients in rows \[1\]"):
        ts.competing_event_codes(d.assign(cause_of_death=[None, None, "other", "unknown"]))


# ---- exercises ------------------------------------------------------------------------------------------

def _independent_answers(prepared, model) -> dict[str, tuple[float, dict]]:
    """The right answer of every exercise, computed without the exercise's own solver."""
    data, registry = prepared.data, prepared.registry
    large = data[data["largest_lung_lesion_mm"] >= 20]
    short = data["dfi_months"] < 18
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cox.CoxWarning)
        efron = cox.fit_cox(data, "time_months", "event", model["chosen"], ties="efron", categorical=model["references"])
    return {
        "01-excluded-step1": (26, {"registry": registry}),  # the four excluded sites of the shipped registry
        "01-dfi-below-18": (float(short.sum()), {"analysed": data}),
        "01-median-lesion": (float(np.median(data["largest_lung_lesion_mm"])), {"analysed": data}),
        "02-dfi18-chisq": (logrank_test(data.loc[short, "time_months"], data.loc[~short, "time_months"],
                                        data.loc[short, "event"], data.loc[~short, "event"]).test_statistic, {"data": data}),
        "02-reverse-km-followup": (45.5, {"data": data}),  # pinned: reverse Kaplan-Meier of the shipped registry
        "02-lesion-5y": (100 * KaplanMeierFitter().fit(large["time_months"], large["event"]).survival_function_at_times(60).iloc[0],
                         {"data": data}),
        "02-nelson-aalen-60": (NelsonAalenFitter().fit(data["time_months"], data["event"]).cumulative_hazard_at_times(60).iloc[0],
                               {"data": data}),
        "03-efron-hr-dfi": (float(np.exp(efron.table.set_index("variable").loc["disease_free_interval", "coef"])),
                            {"data": data, "chosen": model["chosen"], "references": model["references"]}),
        "03-epv-all": (data["event"].sum() / 17, {"data": data, "factors": prepared.factors.factors}),
        "03-ph-rank": (0.947, {"fit": model["fit"]}),  # pinned: GLOBAL p on the rank scale, shipped registry
        # notebooks 04-06 read their answers off result tables: small tables of known content
        "04-misses": (2, {"scorecard": pd.DataFrame({"status": ["pass", "fail", "fail", "not_scored"]})}),
        "04-audit": (1, {"audit": pd.DataFrame({"consistent": [True, False, True]})}),
        "04-dfi-robust": (5, {"robustness": pd.DataFrame({"variable": ["sex", "disease_free_interval"],
                                                          "multivariable_significant": [0, 5]})}),
        "05-chemo-higher": (62.5, {"chemo": pd.DataFrame({"risk": ["higher", "lower"], "proportion": [0.625, 0.1]})}),
        "05-realism-passed": (3, {"realism_table": pd.DataFrame({"passed": [True, True, False, True]})}),
        "05-spline-gain": (7.3, {"spline": pd.DataFrame({"variable": ["dfi_months", "largest_lung_lesion_mm"],
                                                          "aic_gain_spline": [7.3, 2.0]})}),
        "06-corrected-c": (0.701, {"procedure": _procedure()}),
        "06-optimism-c": (0.062, {"procedure": _procedure()}),
        "06-dfi-selected": (88.5, {"procedure": _procedure()}),
    }


def _procedure():
    """The two tables of a bootstrap validation the notebook-06 exercises read."""
    from types import SimpleNamespace

    return SimpleNamespace(
        table=pd.DataFrame({"measure": ["c_index", "calibration_slope"], "apparent": [0.763, 1.0],
                            "optimism": [0.062, 0.2], "corrected": [0.701, 0.8]}),
        selection=pd.DataFrame({"variable": ["disease_free_interval", "sex"], "selected_pct": [88.5, 4.0]}))


def test_every_exercise_accepts_the_right_answer_and_rejects_a_wrong_one(prepared, model):
    answers = _independent_answers(prepared, model)
    assert set(answers) == {ex.id for ex in exercises.EXERCISES}
    for ex in exercises.EXERCISES:
        truth, data = answers[ex.id]
        rounded = round(float(truth), ex.decimals)
        right = exercises.check(ex.id, rounded, **data)
        assert right.correct is True and right.message == "correct", ex.id
        wrong = exercises.check(ex.id, rounded + 3 * 10 ** -ex.decimals + 1, **data)
        assert wrong.correct is False and wrong.message.startswith("not yet: "), ex.id
        assert f"{rounded}" not in wrong.message  # the hint never gives the answer away
        assert exercises.check(ex.id, None, **data).correct is None


def test_check_rejects_unknown_exercises_and_missing_data(prepared):
    with pytest.raises(KeyError, match="unknown exercise"):
        exercises.check("99-nothing", 1)
    with pytest.raises(TypeError, match=r"needs the notebook's \['data'\]"):
        exercises.check("02-dfi18-chisq", 1.0)
    feedback = exercises.check("02-dfi18-chisq", "twelve", data=prepared.data)
    assert feedback.correct is False and "must be a number" in feedback.message
    assert "✅" in exercises.check("03-epv-all", 1.9, data=prepared.data, factors=prepared.factors.factors)._repr_markdown_()


@pytest.mark.parametrize("notebook", ["01", "02", "03", "04", "05", "06"])
def test_each_notebook_has_its_exercises_with_solution_and_check_cells(notebook):
    path = next(NOTEBOOKS.glob(f"{notebook}-*.ipynb"))
    nb = nbformat.read(path, as_version=4)
    solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    listed = exercises.list_exercises(notebook)["id"].tolist()
    assert 3 <= len(listed) <= 6 and len(solutions) == len(listed)
    text = "\n".join(c.source for c in nb.cells)
    for ex_id in listed:
        assert f'exercises.check("{ex_id}"' in text


# ---- the student edition --------------------------------------------------------------------------------

def _toy_notebook() -> nbformat.NotebookNode:
    cells = [
        nbformat.v4.new_code_cell('import pandas as pd\nfrom helpers.teaching import exercises\n'
                                  'data = pd.DataFrame({"time_months": [5.0, 20, 70, 80], "event": [1, 1, 0, 1]})'),
        nbformat.v4.new_markdown_cell("**Exercise.** The cumulative hazard at 60 months?"),
        nbformat.v4.new_code_cell("hazard = 1 / 4 + 1 / 3\nanswer_na60, answer_other = round(hazard, 2), 1",
                                  metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell('feedback = exercises.check("02-nelson-aalen-60", answer_na60, data=data)\nfeedback'),
        nbformat.v4.new_markdown_cell("The reasoning.", metadata={"tags": ["solution"]}),
        nbformat.v4.new_code_cell("print(feedback.correct)"),
    ]
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "metastasectomy-survival", "display_name": "Python (metastasectomy-survival)", "language": "python"}})


def test_student_notebook_blanks_solutions_and_keeps_everything_else():
    nb = _toy_notebook()
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="old output")]
    out = student.student_notebook(nb)
    nbformat.validate(out)
    assert out.cells[0].source == student.STUDENT_NOTE
    assert [c.cell_type for c in out.cells[1:]] == [c.cell_type for c in nb.cells]
    assert out.cells[3].source == "answer_na60 = None  # your answer here\nanswer_other = None  # your answer here"
    assert out.cells[5].source == "*Your answer:* "
    assert out.cells[1].outputs == []
    assert [c.source for i, c in enumerate(out.cells[1:]) if i not in (2, 4)] == \
        [c.source for i, c in enumerate(nb.cells) if i not in (2, 4)]
    assert "hazard = 1 / 4" in nb.cells[2].source  # the instructor notebook is untouched


def test_a_solution_cell_without_an_answer_variable_is_an_error():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["solution"]})])
    with pytest.raises(ValueError, match="assigns no answer"):
        student.student_notebook(nb)


def test_write_student_edition_writes_notebooks_and_pages(tmp_path):
    source = tmp_path / "instructor"
    source.mkdir()
    nbformat.write(_toy_notebook(), source / "01-toy.ipynb")
    (source / "GLOSSARY.md").write_text("# Glossary\n")
    written = student.write_student_edition(source, tmp_path / "student")
    assert [p.name for p in written] == ["01-toy.ipynb"] and (tmp_path / "student" / "GLOSSARY.md").is_file()
    blank = nbformat.read(written[0], as_version=4)
    assert blank.cells[3].source.startswith("answer_na60 = None")
    with pytest.raises(FileNotFoundError, match="no notebooks"):
        student.write_student_edition(tmp_path / "student" / "empty", tmp_path / "out")


def test_student_edition_of_the_collection_keeps_every_non_solution_cell(tmp_path):
    written = student.write_student_edition(NOTEBOOKS, tmp_path)
    assert {p.name for p in written} == {p.name for p in NOTEBOOKS.glob("*.ipynb")}
    for path in written:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        original = nbformat.read(NOTEBOOKS / path.name, as_version=4)
        assert len(nb.cells) == len(original.cells) + 1
        assert not any("solution" in c.metadata.get("tags", []) for c in nb.cells)
        for cell in nb.cells:  # every code cell still parses (magics aside)
            if cell.cell_type == "code":
                compile("\n".join(line for line in cell.source.splitlines() if not line.startswith("%")), path.name, "exec")
    assert (tmp_path / "GLOSSARY.md").is_file()


# ---- the glossary ---------------------------------------------------------------------------------------

def _anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).strip().replace(" ", "-")


def test_every_glossary_link_in_the_notebooks_has_its_entry():
    glossary = (NOTEBOOKS / "GLOSSARY.md").read_text(encoding="utf-8")
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", glossary, flags=re.M)}
    linked = set()
    for path in NOTEBOOKS.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            linked |= set(re.findall(r"GLOSSARY\.md#([a-z0-9-]+)", cell.source))
    linked |= set(re.findall(r"\]\(#([a-z0-9-]+)\)", glossary))
    assert linked, "no glossary links found"
    assert linked <= anchors, f"links without an entry: {sorted(linked - anchors)}"
    for number in ("01", "02", "03", "04", "05", "06"):
        first = nbformat.read(next(NOTEBOOKS.glob(f"{number}-*.ipynb")), as_version=4).cells[1].source
        assert first.startswith("## What you will learn") and "GLOSSARY.md" in first


@pytest.mark.notebook
def test_student_edition_of_the_collection_runs_top_to_bottom(tmp_path):
    """`make student`'s notebooks run as they are, through the runner: every check says "not answered
    yet". 01-03 (the analysis exercises) run; 04-06, whose student editions differ from the
    instructor's only in the blanked answer cells, are held to that structurally below."""
    from helpers.reproduction import runner

    student_dir = tmp_path / "student"
    student.write_student_edition(NOTEBOOKS, student_dir)
    result = runner.run_collection({}, tmp_path / "run", notebooks_dir=student_dir, only=["01", "02", "03"], html=False)
    assert result.status == "ok", result.error
    for path in sorted((tmp_path / "run" / "notebooks").glob("*.ipynb")):
        executed = nbformat.read(path, as_version=4)
        shown = "\n".join(o.get("data", {}).get("text/markdown", "") for c in executed.cells
                          if c.cell_type == "code" for o in c.get("outputs", []))
        count = len(exercises.list_exercises(path.name[:2]))
        assert shown.count("not answered yet") == count and "✅" not in shown, path.name
    for number in ("04", "05", "06"):
        blank = nbformat.read(next(student_dir.glob(f"{number}-*.ipynb")), as_version=4)
        full = nbformat.read(next(NOTEBOOKS.glob(f"{number}-*.ipynb")), as_version=4)
        changed = [c.source for c, o in zip(blank.cells[1:], full.cells, strict=True) if c.source != o.source]
        assert len(changed) == len(exercises.list_exercises(number))
        assert all(line.endswith("= None  # your answer here") for text in changed for line in text.splitlines())
