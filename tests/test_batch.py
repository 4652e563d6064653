"""helpers.reproduction.batch: parameter validation, runs and sweeps on tiny notebooks written into tmp.

The runs here execute small notebooks created by the tests (not the project's notebooks), so
they test the runner alone; tests/test_collection.py runs the real collection.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from matplotlib.figure import Figure
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from helpers import PROJECT_ROOT
from helpers.reproduction import batch

KERNELSPEC = {
    "name": "metastasectomy-survival",
    "display_name": "Python (metastasectomy-survival)",
    "language": "python",
}


def write_notebook(path: Path, cells: list, kernel: str = "metastasectomy-survival") -> None:
    nb = new_notebook(cells=cells, metadata={"kernelspec": {**KERNELSPEC, "name": kernel}})
    nbformat.write(nb, path)


def parameters_cell(source: str):
    return new_code_cell(source, metadata={"tags": ["parameters"]})


@pytest.fixture
def tiny_collection(tmp_path: Path) -> dict[str, Path]:
    """Three tiny notebooks (02 fails when ties == 'efron') and a fake registry."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(
        nbs / "01-tables.ipynb",
        [
            new_markdown_cell("# tiny 01"),
            parameters_cell(
                'registry_path: str = "../data/registry.csv"\n'
                'output_dir: str = "../outputs"\n'
                "dfi_cutoff_months: float = 12\n"
                'ties: str = "breslow"'
            ),
            new_code_cell(
                "import pandas as pd\n"
                "from pathlib import Path\n"
                "from helpers.outputs import save_table\n"
                "assert 'p' not in globals(), 'state leaked from an earlier notebook'\n"
                'pd.set_option("display.max_rows", 3)\n'
                "cut = dfi_cutoff_months\n"
                "p = 0.001 * cut\n"
                't2 = pd.DataFrame({"variable": ["disease_free_interval"] * 2 + ["sex"] * 2,\n'
                '    "level": [f"lt_{cut}_months", f"ge_{cut}_months", "male", "female"],\n'
                '    "n": [20, 46, 38, 28], "survival_pct": [23, 55, 53, 28],\n'
                '    "p_value": [p, p, 0.75, 0.75]})\n'
                'save_table(t2, output_dir, "table2")\n'
                't3 = pd.DataFrame({"variable": ["disease_free_interval"], "level": [f"lt_{cut}_months"],\n'
                '    "hr": [3.0 + cut / 10], "ci_low": [1.2], "ci_high": [8.0], "p_value": [p]})\n'
                'save_table(t3, output_dir, "table3")\n'
                "print(Path(registry_path).is_absolute(), Path(output_dir).is_absolute(), Path.cwd().name)"
            ),
        ],
    )
    write_notebook(
        nbs / "02-check.ipynb",
        [
            parameters_cell('output_dir = "../outputs"\nties = "breslow"'),
            new_code_cell(
                "import pandas as pd\n"
                "assert 'cut' not in globals(), 'state leaked from notebook 01'\n"
                "assert pd.get_option('display.max_rows') == 60, 'pandas options leaked'\n"
                'assert ties != "efron", "tiny notebook refuses efron"\nprint("ok")'
            ),
        ],
    )
    write_notebook(
        nbs / "03-last.ipynb",
        [
            parameters_cell('output_dir = "../outputs"'),
            new_code_cell(
                "import pandas as pd\nfrom helpers.outputs import save_table\n"
                'save_table(pd.DataFrame({"x": [1]}), output_dir, "from03")'
            ),
        ],
    )
    (nbs / "README.ipynb").write_text("{}")  # not NN-*: ignored
    registry = tmp_path / "registry.csv"
    registry.write_text("patient_id,age\nT-1,50\n")
    return {"notebooks": nbs, "registry": registry, "root": tmp_path}


# ----------------------------------------------------------------------------- parameters


def test_parameter_table_matches_contributing() -> None:
    text = (PROJECT_ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## Notebook parameters", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| ([^|]+) \|", section, flags=re.M)
    assert rows, "CONTRIBUTING.md parameter table not found"
    documented = {name: (kind, default.strip().strip("`").strip('"')) for name, kind, default in rows}
    assert list(documented) == list(batch.PARAMETERS)
    for name, (kind, default) in documented.items():
        spec = batch.PARAMETERS[name]
        assert spec.kind.__name__ == kind, name
        assert str(spec.default) == default, name
    table = batch.parameter_table()
    assert table["name"].tolist() == list(batch.PARAMETERS)


def test_validate_parameters_normalises() -> None:
    out = batch.validate_parameters(
        {"dfi_cutoff_months": "18", "alpha": 0.1, "age_cutoff_years": 55.0, "ties": "efron",
         "landmark_months": 36.5, "median_ci": "log-log"}
    )  # fmt: skip
    assert out == {
        "dfi_cutoff_months": 18,
        "alpha": 0.1,
        "age_cutoff_years": 55,
        "ties": "efron",
        "landmark_months": 36.5,
        "median_ci": "log-log",
    }
    assert isinstance(out["dfi_cutoff_months"], int) and isinstance(out["age_cutoff_years"], int)


def test_validate_parameters_lists_every_problem() -> None:
    with pytest.raises(batch.ParameterError) as info:
        batch.validate_parameters(
            {
                "dfi_cutoff": 12,
                "alpha": 1.5,
                "ties": "exact",
                "lesion_size_cutoff_mm": "big",
                "endpoint": 3,
                "landmark_months": True,
                "primary_size_cutoff_cm": 0,
                "median_ci": "",
            }
        )
    message = str(info.value)
    assert message.startswith("8 parameter problem(s)")
    for fragment in [
        "dfi_cutoff: unknown parameter; expected one of registry_path",
        "alpha: expected < 1, found 1.5",
        "ties: expected one of breslow, efron, found 'exact'",
        "lesion_size_cutoff_mm: expected a number, found 'big'",
        "endpoint: expected a non-empty string, found 3",
        "landmark_months: expected a number, found True",
        "primary_size_cutoff_cm: expected > 0, found 0",
        "median_ci: expected a non-empty string",
    ]:
        assert fragment in message


def test_validate_parameters_rejects_non_finite() -> None:
    with pytest.raises(batch.ParameterError, match="finite"):
        batch.validate_parameters({"landmark_months": float("inf")})


def test_parse_assignments() -> None:
    assert batch.parse_assignments(["dfi_cutoff_months=18", "ties=efron", "alpha=0.01"]) == {
        "dfi_cutoff_months": 18,
        "ties": "efron",
        "alpha": 0.01,
    }
    assert batch.parse_assignments(["registry_path=123.csv"]) == {"registry_path": "123.csv"}
    with pytest.raises(batch.ParameterError, match="name=value"):
        batch.parse_assignments(["dfi_cutoff_months"])


def test_read_yaml_mapping(tmp_path: Path) -> None:
    good = tmp_path / "p.yaml"
    good.write_text("dfi_cutoff_months: 18\nties: efron\n")
    assert batch.read_yaml_mapping(good, "parameter file") == {
        "dfi_cutoff_months": 18,
        "ties": "efron",
    }
    listy = tmp_path / "l.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(batch.ParameterError, match="expected a mapping"):
        batch.read_yaml_mapping(listy, "grid")
    with pytest.raises(batch.ParameterError, match="file not found"):
        batch.read_yaml_mapping(tmp_path / "absent.yaml", "grid")
    broken = tmp_path / "b.yaml"
    broken.write_text("a: [1,\n")
    with pytest.raises(batch.ParameterError, match="not valid YAML"):
        batch.read_yaml_mapping(broken, "grid")


def test_resolve_parameters_paths(tmp_path: Path) -> None:
    defaults = batch.resolve_parameters({})
    assert list(defaults) == list(batch.PARAMETERS)
    assert Path(defaults["registry_path"]) == (PROJECT_ROOT / "data" / "registry.csv")
    assert Path(defaults["output_dir"]) == PROJECT_ROOT / "outputs"
    given = batch.resolve_parameters({"registry_path": "sub/reg.csv"}, base_dir=tmp_path)
    assert given["registry_path"] == str(tmp_path / "sub" / "reg.csv")


def test_run_name() -> None:
    assert batch.run_name({}) == "default"
    assert batch.run_name({"dfi_cutoff_months": 12}) == "default"
    assert batch.run_name({"dfi_cutoff_months": 18, "ties": "efron"}) == (
        "dfi_cutoff_months-18_ties-efron"
    )
    assert batch.run_name({"registry_path": "/x/my registry.csv"}) == "my_registry"


def test_expand_grid() -> None:
    combos = batch.expand_grid({"dfi_cutoff_months": [6, 12, 18], "ties": ["breslow", "efron"]})
    assert len(combos) == 6
    assert combos[0] == {"dfi_cutoff_months": 6, "ties": "breslow"}
    assert batch.expand_grid({"ties": "efron"}) == [{"ties": "efron"}]
    with pytest.raises(batch.ParameterError) as info:
        batch.expand_grid(
            {"dfi_cutoff_months": [6, "x"], "nope": [1], "ties": [], "output_dir": ["a"]}
        )
    message = str(info.value)
    assert "4 problem(s)" in message
    assert "dfi_cutoff_months: expected a number, found 'x'" in message
    assert "nope: unknown parameter" in message and "ties: expected a non-empty list" in message
    assert "output_dir: cannot be swept" in message


# ----------------------------------------------------------------------------- notebooks


def test_list_notebooks(tiny_collection) -> None:
    nbs = tiny_collection["notebooks"]
    assert [p.name for p in batch.list_notebooks(nbs)] == [
        "01-tables.ipynb",
        "02-check.ipynb",
        "03-last.ipynb",
    ]
    assert [p.name for p in batch.list_notebooks(nbs, ["3", "01"])] == [
        "01-tables.ipynb",
        "03-last.ipynb",
    ]
    with pytest.raises(batch.ParameterError, match="no notebook numbered 07"):
        batch.list_notebooks(nbs, ["07"])
    with pytest.raises(batch.ParameterError, match="no notebooks"):
        batch.list_notebooks(tiny_collection["root"] / "empty-does-not-exist")


def _numbered(tmp_path: Path, run_after: dict[str, list[str]]) -> list[Path]:
    paths = []
    for number in ["01", "02", "03", "04"]:
        path = tmp_path / f"{number}-nb.ipynb"
        write_notebook(path, [parameters_cell("x = 1")])
        if number in run_after:
            nb = nbformat.read(path, as_version=4)
            nb.metadata[batch.RUN_AFTER_KEY] = {"run_after": run_after[number]}
            nbformat.write(nb, path)
        paths.append(path)
    return paths


@pytest.mark.parametrize(
    ("run_after", "order"),
    [
        ({}, ["01", "02", "03", "04"]),
        ({"02": ["04"]}, ["01", "03", "04", "02"]),
        ({"01": ["3"], "02": ["01"]}, ["03", "01", "02", "04"]),  # chained, number without zero
        ({"02": ["09"]}, ["01", "02", "03", "04"]),  # a number not in the run is ignored
    ],
)
def test_execution_order_follows_run_after(tmp_path: Path, run_after, order) -> None:
    got = batch.execution_order(_numbered(tmp_path, run_after))
    assert [p.name[:2] for p in got] == order


def test_execution_order_rejects_a_cycle(tmp_path: Path) -> None:
    with pytest.raises(batch.ParameterError, match="run_after cycle"):
        batch.execution_order(_numbered(tmp_path, {"01": ["02"], "02": ["01"]}))


def test_shipped_report_runs_after_the_validation_notebook() -> None:
    order = [p.name[:2] for p in batch.execution_order(batch.list_notebooks())]
    assert order.index("04") > order.index("06")
    assert sorted(order) == [p.name[:2] for p in batch.list_notebooks()]


def test_missing_kernel_is_reported_with_the_fix(tiny_collection, tmp_path: Path) -> None:
    path = tmp_path / "nbs" / "04-other.ipynb"
    write_notebook(path, [parameters_cell("x = 1")], kernel="no-such-kernel-xyz")
    with pytest.raises(RuntimeError, match="no-such-kernel-xyz") as info:
        batch.check_kernels([path])
    assert "ipykernel install --sys-prefix --name metastasectomy-survival" in str(info.value)


def test_cli_rejects_bad_parameters_before_running(tiny_collection, capsys) -> None:
    out = tiny_collection["root"] / "never"
    code = batch.main(
        ["run", "--notebooks-dir", str(tiny_collection["notebooks"]), "--output", str(out),
         "-p", "dfi_cutoff_months=soon", "-p", "colour=red"]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "dfi_cutoff_months: expected a number" in err and "colour: unknown parameter" in err
    assert not out.exists()


def test_cli_rejects_missing_registry(tiny_collection, capsys) -> None:
    out = tiny_collection["root"] / "never"
    code = batch.main(
        ["run", "--notebooks-dir", str(tiny_collection["notebooks"]), "--output", str(out),
         "-p", f"registry_path={tiny_collection['root'] / 'absent.csv'}"]
    )  # fmt: skip
    assert code == 2 and "registry_path: file not found" in capsys.readouterr().err
    assert not out.exists()


def test_cli_params_prints_the_table(capsys) -> None:
    assert batch.main(["params"]) == 0
    assert "dfi_cutoff_months" in capsys.readouterr().out


# ----------------------------------------------------------------------------- runs


@pytest.mark.notebook
def test_run_collection_ok_and_manifest(tiny_collection) -> None:
    out = tiny_collection["root"] / "run"
    messages: list[str] = []
    result = batch.run_collection(
        {"registry_path": str(tiny_collection["registry"]), "dfi_cutoff_months": "18"},
        out,
        notebooks_dir=tiny_collection["notebooks"],
        progress=messages.append,
    )
    assert result.ok and result.status == "ok" and result.error is None
    assert [nb.status for nb in result.notebooks] == ["ok", "ok", "ok"]
    assert messages[0] == "[1/3] 01-tables ..." and re.match(r" \d+\.\d s ok\n", messages[1])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert manifest["parameters"]["dfi_cutoff_months"] == 18
    assert manifest["parameters"]["registry_path"] == str(tiny_collection["registry"])
    assert manifest["parameters"]["output_dir"] == str(out.resolve())
    assert manifest["registry"]["sha256"] == batch.registry_sha256(tiny_collection["registry"])
    assert manifest["packages"]["pandas"] == pd.__version__
    assert manifest["python"].count(".") == 2
    assert manifest["started"] <= manifest["finished"]
    assert [n["status"] for n in manifest["notebooks"]] == ["ok", "ok", "ok"]
    assert all(n["duration_s"] > 0 for n in manifest["notebooks"])
    assert manifest["notebooks"][1]["parameters"] == ["output_dir", "ties"]
    for name in ("01-tables", "02-check", "03-last"):
        assert (out / "notebooks" / f"{name}.ipynb").is_file()
        assert (out / "html" / f"{name}.html").read_text().lstrip().startswith("<!DOCTYPE html>")
    assert (out / "tables" / "table2.csv").is_file() and (out / "tables" / "from03.csv").is_file()
    # only the declared parameters are injected; paths arrive absolute; cwd is the notebooks folder
    executed = nbformat.read(out / "notebooks" / "02-check.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "registry_path" not in injected.source and "ties" in injected.source
    first = nbformat.read(out / "notebooks" / "01-tables.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in first.cells for o in c.get("outputs", []))
    assert printed.strip() == "True True nbs"
    assert pd.read_csv(out / "tables" / "table3.csv")["level"].tolist() == ["lt_18_months"]


@pytest.mark.notebook
def test_failing_notebook_stops_the_run(tiny_collection, capsys) -> None:
    out = tiny_collection["root"] / "run"
    params = tiny_collection["root"] / "params.yaml"
    params.write_text(f"registry_path: {tiny_collection['registry']}\nties: efron\n")
    args = ["run", "--notebooks-dir", str(tiny_collection["notebooks"]), "--output", str(out),
            "--params", str(params)]  # fmt: skip
    assert batch.main([*args, "-p", "ties=breslow"]) == 0  # -p wins over --params
    assert (out / "tables" / "from03.csv").is_file()  # a complete run first: stale files exist
    capsys.readouterr()
    code = batch.main(args)  # ties = efron from the parameter file
    captured = capsys.readouterr()
    assert code == 1
    assert "02-check.ipynb failed in cell" in captured.err
    assert "AssertionError: tiny notebook refuses efron" in captured.err
    assert "[2/3] 02-check ..." in captured.err and "FAILED" in captured.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "refuses efron" in manifest["error"]
    assert [n["status"] for n in manifest["notebooks"]] == ["ok", "failed", "not_run"]
    partial = nbformat.read(out / "notebooks" / "02-check.ipynb", as_version=4)
    errors = [o for c in partial.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and errors[0]["ename"] == "AssertionError"
    assert not (out / "notebooks" / "03-last.ipynb").exists()
    assert not (out / "tables" / "from03.csv").exists()  # nothing left from the earlier run


@pytest.mark.notebook
def test_sweep_runs_in_parallel_and_reports_failures(tiny_collection, capsys) -> None:
    grid = tiny_collection["root"] / "grid.yaml"
    grid.write_text("dfi_cutoff_months: [6, 12]\nties: [breslow, efron]\n")
    out = tiny_collection["root"] / "sweep"
    code = batch.main(
        ["sweep", "--grid", str(grid), "--workers", "2", "--output", str(out),
         "--notebooks", "01,02", "--notebooks-dir", str(tiny_collection["notebooks"]),
         "-p", f"registry_path={tiny_collection['registry']}"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1  # two of the four runs fail (efron), the others complete
    assert "Sweep of 4 runs" in captured.out and "(2 failed)" in captured.out
    summary = pd.read_csv(out / "tables" / "sweep_summary.csv")
    ok = summary[summary["status"] == "ok"]
    failed = summary[summary["status"] == "failed"]
    assert sorted(ok["run"].unique()) == [
        "1_dfi_cutoff_months-6_ties-breslow",
        "3_dfi_cutoff_months-12_ties-breslow",
    ]
    assert len(ok) == 4  # two runs x two factors
    assert len(failed) == 2 and failed["error"].str.contains("refuses efron").all()
    dfi = ok[ok["variable"] == "disease_free_interval"].set_index("dfi_cutoff_months")
    assert dfi.loc[6, "hr"] == pytest.approx(3.6) and dfi.loc[12, "univariate_p"] == 0.012
    assert dfi.loc[6, "level"] == "lt_6_months" and bool(dfi.loc[6, "in_model"])
    sex = ok[ok["variable"] == "sex"]
    assert (~sex["in_model"].astype(bool)).all() and sex["hr"].isna().all()
    assert (out / "figures" / "sweep_summary.png").is_file()
    assert (out / "figures" / "sweep_summary.svg").is_file()
    assert (out / "runs" / "1_dfi_cutoff_months-6_ties-breslow" / "manifest.json").is_file()
    manifest = json.loads((out / "sweep_manifest.json").read_text())
    assert manifest["workers"] == 2 and len(manifest["runs"]) == 4
    assert manifest["kernel_reuse"] is True
    # a reused kernel starts every notebook clean: no names, options or counters carried over
    executed = nbformat.read(
        out / "runs" / "3_dfi_cutoff_months-12_ties-breslow" / "notebooks" / "02-check.ipynb",
        as_version=4,
    )
    counts = [c.execution_count for c in executed.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))
    assert len(list((out / "logs").glob("worker-*.log"))) >= 1


@pytest.mark.notebook
def test_shared_kernel_is_reset_between_notebooks(tiny_collection) -> None:
    """Run the tiny collection twice on one SharedKernel: the second run sees a clean kernel."""
    shared = batch.SharedKernel(
        "metastasectomy-survival", tiny_collection["notebooks"], tiny_collection["root"] / "k.log"
    )
    try:
        for name in ("a", "b"):
            result = batch.run_collection(
                {"registry_path": str(tiny_collection["registry"])},
                tiny_collection["root"] / name,
                notebooks_dir=tiny_collection["notebooks"],
                html=False,
                shared_kernel=shared,
            )
            assert result.ok, result.error
        assert shared.notebooks_run == 6
        manifest = json.loads((tiny_collection["root"] / "b" / "manifest.json").read_text())
        assert manifest["kernel"].startswith("shared")
    finally:
        shared.shutdown()
    assert shared.km is None


# ----------------------------------------------------------------------------- sweep read-back


def fake_sweep(root: Path) -> pd.DataFrame:
    runs = []
    for i, (cut, ok) in enumerate([(6, True), (12, True), (18, False)], start=1):
        folder = root / f"run{i}"
        (folder / "tables").mkdir(parents=True)
        if ok:
            pd.DataFrame(
                {
                    "variable": ["dfi", "dfi", "sex", "sex"],
                    "level": [f"lt_{cut}", f"ge_{cut}", "male", "female"],
                    "p_value": [0.001 * cut, 0.001 * cut, 0.7, 0.7],
                }
            ).to_csv(folder / "tables" / "table2.csv", index=False)
            pd.DataFrame(
                {"variable": ["dfi"], "level": [f"lt_{cut}"], "hr": [cut / 2],
                 "ci_low": [1.1], "ci_high": [9.0], "p_value": [0.004 * cut]}
            ).to_csv(folder / "tables" / "table3.csv", index=False)  # fmt: skip
        runs.append(
            {"run": f"run{i}", "dfi_cutoff_months": cut, "status": "ok" if ok else "failed",
             "output_dir": str(folder), "error": None if ok else "boom\nmore"}
        )  # fmt: skip
    return pd.DataFrame(runs)


def test_collate_and_summarise_sweep(tmp_path: Path) -> None:
    summary = batch.collate_sweep(fake_sweep(tmp_path), ["dfi_cutoff_months"])
    assert len(summary) == 5  # 2 ok runs x 2 factors + 1 failed run
    failed = summary[summary["status"] == "failed"]
    assert failed["error"].tolist() == ["boom"] and failed["variable"].isna().all()
    robust = batch.summarise_sweep(summary, alpha=0.05).set_index("variable")
    assert robust.loc["dfi", "runs"] == 2 and robust.loc["dfi", "in_model"] == 2
    assert robust.loc["dfi", "multivariable_significant"] == 2  # p 0.024 and 0.048
    assert robust.loc["dfi", "univariate_significant"] == 2
    assert robust.loc["dfi", "hr_min"] == 3 and robust.loc["dfi", "hr_max"] == 6
    assert robust.loc["sex", "in_model"] == 0 and robust.loc["sex", "univariate_significant"] == 0
    fig = batch.plot_sweep(summary, ["dfi_cutoff_months"])
    assert isinstance(fig, Figure) and len([a for a in fig.axes if a.get_visible()]) == 1


def test_find_latest_sweep(tmp_path: Path) -> None:
    assert batch.find_latest_sweep([tmp_path, tmp_path / "absent"]) is None
    old = tmp_path / "a" / "tables" / "sweep_summary.csv"
    new = tmp_path / "b" / "deeper" / "sweep_summary.csv"
    for path in (old, new):
        path.parent.mkdir(parents=True)
        path.write_text("run\n")
    past = time.time() - 100
    os.utime(old, (past, past))
    assert batch.find_latest_sweep([tmp_path]) == new


def test_cli_sweep_rejects_a_bad_grid_before_running(tiny_collection, capsys) -> None:
    grid = tiny_collection["root"] / "bad.yaml"
    grid.write_text("dfi_cutoff_months: [6, twelve]\nties: [breslow, exact]\n")
    out = tiny_collection["root"] / "never"
    code = batch.main(
        ["sweep", "--grid", str(grid), "--output", str(out),
         "--notebooks-dir", str(tiny_collection["notebooks"])]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "dfi_cutoff_months: expected a number, found 'twelve'" in err
    assert "ties: expected one of breslow, efron, found 'exact'" in err
    assert not out.exists()
