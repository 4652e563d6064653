"""The runner: parameters from the notebooks' cells, parallel runs, sweeps on dask.distributed.

The runs here execute small notebooks created by the tests (not the project's notebooks), so
they test the runner alone; tests/test_collection.py runs the real collection.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from matplotlib.figure import Figure
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from helpers import PROJECT_ROOT
from helpers.outputs import registry_sha256
from helpers.reproduction import params, runner, sweep
from helpers.reproduction.params import ParameterError
from helpers.reproduction.runner import portable_path

KERNELSPEC = {
    "name": "metastasectomy-survival",
    "display_name": "Python (metastasectomy-survival)",
    "language": "python",
}
REGENERATE = ".venv/bin/python -m helpers.reproduction.runner params --markdown"


def write_notebook(path: Path, cells: list, kernel: str = "metastasectomy-survival", run_after=None) -> None:
    metadata = {"kernelspec": {**KERNELSPEC, "name": kernel}}
    if run_after is not None:
        metadata[runner.RUN_AFTER_KEY] = {"run_after": run_after}
    nbformat.write(new_notebook(cells=cells, metadata=metadata), path)


def parameters_cell(source: str):
    return new_code_cell(source, metadata={"tags": ["parameters"]})


TABLES_CODE = (
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
    "print(Path(registry_path).is_file() and not Path(registry_path).is_absolute(),\n"
    "      Path(output_dir).resolve() == Path.cwd(), Path.cwd().name)"
)


@pytest.fixture
def tiny_collection(tmp_path: Path) -> dict[str, Path]:
    """Three tiny notebooks (02 fails when ties == 'efron'; 03 runs after 02) and a registry."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs / "01-tables.ipynb", [
        new_markdown_cell("# tiny 01"),
        parameters_cell(
            'registry_path: str = "../data/registry.csv"  # the registry\n'
            'output_dir: str = "../outputs"  # the run folder\n'
            "dfi_cutoff_months: float = 12  # disease-free interval cut-off, months\n"
            'ties: str = "breslow"  # Cox ties: "breslow" or "efron"\n'
            "seed: int = 1  # a seed"
        ),
        new_code_cell(TABLES_CODE),
    ])  # fmt: skip
    write_notebook(nbs / "02-check.ipynb", [
        parameters_cell('output_dir = "../outputs"\nties = "breslow"\nseed: int = 2  # another seed'),
        new_code_cell(
            "import pandas as pd, time\n"
            "assert 'cut' not in globals(), 'state leaked from notebook 01'\n"
            "assert pd.get_option('display.max_rows') == 60, 'pandas options leaked'\n"
            "time.sleep(1)\n"
            'assert ties != "efron", "tiny notebook refuses efron"\nprint("ok")'
        ),
    ])  # fmt: skip
    write_notebook(nbs / "03-last.ipynb", [
        parameters_cell('output_dir = "../outputs"'),
        new_code_cell(
            "import pandas as pd\nfrom helpers.outputs import save_table\n"
            'save_table(pd.DataFrame({"x": [1]}), output_dir, "from03")'
        ),
    ], run_after=["02"])  # fmt: skip
    (nbs / "README.ipynb").write_text("{}")  # not NN-*: ignored
    registry = tmp_path / "registry.csv"
    registry.write_text("patient_id,age\nT-1,50\n")
    return {"notebooks": nbs, "registry": registry, "root": tmp_path}


@pytest.fixture
def declared(tiny_collection) -> dict[str, params.Parameter]:
    return params.read_parameters(runner.list_notebooks(tiny_collection["notebooks"]))


# ----------------------------------------------------------------------------- parameters


def test_read_parameters_merges_the_cells(declared) -> None:
    assert list(declared) == ["registry_path", "output_dir", "dfi_cutoff_months", "ties", "seed"]
    assert declared["dfi_cutoff_months"].kind == "float" and declared["dfi_cutoff_months"].default == 12
    assert declared["ties"].kind == "str" and declared["ties"].choices == ("breslow", "efron")
    assert declared["output_dir"].notebooks == ("01", "02", "03") and declared["output_dir"].is_path
    assert declared["seed"].defaults == (("01", 1), ("02", 2))
    assert declared["registry_path"].help if hasattr(declared["registry_path"], "help") else True
    table = params.parameter_table(declared).set_index("name")
    assert table.loc["seed", "default"] == "1 (01); 2 (02)"
    assert table.loc["seed", "meaning"] == "a seed (01); another seed (02)"
    assert table.loc["dfi_cutoff_months", "meaning"] == "disease-free interval cut-off, months"
    assert table.loc["registry_path", "default"] == '"../data/registry.csv"'


def test_conflicting_types_are_rejected(tmp_path: Path) -> None:
    for number, line in (("01", "alpha: float = 0.05"), ("02", 'alpha: str = "x"')):
        write_notebook(tmp_path / f"{number}-a.ipynb", [parameters_cell(line)])
    with pytest.raises(ParameterError, match="alpha: declared with different types"):
        params.read_parameters(runner.list_notebooks(tmp_path))


def test_the_shipped_parameters_are_the_cells() -> None:
    import papermill as pm

    notebooks = runner.list_notebooks()
    declared = params.read_parameters(notebooks)
    from_cells = {name for nb in notebooks for name in pm.inspect_notebook(str(nb))}
    assert set(declared) == from_cells
    assert not hasattr(params, "PARAMETERS") and not hasattr(runner, "PARAMETERS")  # no second table
    assert declared["ties"].choices == ("breslow", "efron")
    assert declared["median_ci"].choices == ("symmetric", "log", "log-log", "plain")
    assert declared["scheduler_address"].choices is None  # "tcp://host:port" is not a word


@pytest.mark.parametrize("doc", ["README.md", "CONTRIBUTING.md"])
def test_docs_parameter_table_is_the_generated_one(doc: str) -> None:
    text = (PROJECT_ROOT / doc).read_text(encoding="utf-8")
    begin, end = "<!-- parameters: begin -->\n", "<!-- parameters: end -->"
    assert begin in text and end in text, f"{doc}: no generated parameter table; paste `{REGENERATE}`"
    documented = text.split(begin, 1)[1].split(end, 1)[0]
    generated = params.parameter_markdown(params.read_parameters(runner.list_notebooks()))
    assert documented == generated, (
        f"{doc}: the parameter table differs from the notebooks' parameters cells; regenerate it "
        f"with `{REGENERATE}` and paste it between the markers"
    )


def test_validate_parameters_normalises(declared) -> None:
    out = params.validate_parameters({"dfi_cutoff_months": "18", "ties": "efron", "seed": 3.0}, declared)
    assert out == {"dfi_cutoff_months": 18, "ties": "efron", "seed": 3}
    assert isinstance(out["dfi_cutoff_months"], int)
    assert params.validate_parameters({"dfi_cutoff_months": 7.5}, declared) == {"dfi_cutoff_months": 7.5}


def test_validate_parameters_lists_every_problem(declared) -> None:
    with pytest.raises(ParameterError) as info:
        params.validate_parameters(
            {"dfi_cutoff": 12, "ties": "exact", "dfi_cutoff_months": "soon", "seed": 1.5,
             "registry_path": 3, "output_dir": None},
            declared,
        )  # fmt: skip
    message = str(info.value)
    assert message.startswith("6 parameter problem(s)")
    for fragment in [
        "dfi_cutoff: unknown parameter; known: registry_path, output_dir, dfi_cutoff_months, ties, seed",
        "ties: expected one of breslow, efron, found 'exact'",
        "dfi_cutoff_months: expected a number (float), found 'soon'",
        "seed: expected a whole number, found 1.5",
        "registry_path: expected a string, found 3",
        "output_dir: expected a string, found None",
    ]:
        assert fragment in message


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), True])
def test_validate_parameters_rejects_non_numbers(declared, bad) -> None:
    with pytest.raises(ParameterError, match="expected a finite number"):
        params.validate_parameters({"dfi_cutoff_months": bad}, declared)


def test_parse_assignments(declared) -> None:
    got = params.parse_assignments(["dfi_cutoff_months=18", "ties=efron", "seed=7"], declared)
    assert got == {"dfi_cutoff_months": 18, "ties": "efron", "seed": 7}
    assert params.parse_assignments(["registry_path=123.csv"], declared) == {"registry_path": "123.csv"}
    assert params.parse_assignments(["ties=12"], declared) == {"ties": "12"}  # str stays text
    with pytest.raises(ParameterError, match="name=value"):
        params.parse_assignments(["dfi_cutoff_months"], declared)


def test_read_yaml_mapping(tmp_path: Path) -> None:
    good = tmp_path / "p.yaml"
    good.write_text("dfi_cutoff_months: 18\nties: efron\n")
    assert params.read_yaml_mapping(good, "parameter file") == {"dfi_cutoff_months": 18, "ties": "efron"}
    (tmp_path / "l.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ParameterError, match="expected a mapping"):
        params.read_yaml_mapping(tmp_path / "l.yaml", "grid")
    with pytest.raises(ParameterError, match="file not found"):
        params.read_yaml_mapping(tmp_path / "absent.yaml", "grid")
    (tmp_path / "b.yaml").write_text("a: [1,\n")
    with pytest.raises(ParameterError, match="not valid YAML"):
        params.read_yaml_mapping(tmp_path / "b.yaml", "grid")


def test_absolute_paths(declared, tmp_path: Path) -> None:
    got = params.absolute_paths({"registry_path": "sub/reg.csv", "ties": "x/y", "output_dir": ""},
                                declared, tmp_path)
    assert got == {"registry_path": str(tmp_path / "sub" / "reg.csv"), "ties": "x/y", "output_dir": ""}


def test_run_name(declared) -> None:
    assert runner.run_name({}, declared) == "default"
    assert runner.run_name({"dfi_cutoff_months": 12}, declared) == "default"
    assert runner.run_name({"dfi_cutoff_months": 18, "ties": "efron"}, declared) == "dfi_cutoff_months-18_ties-efron"
    assert runner.run_name({"registry_path": "/x/my registry.csv"}, declared) == "my_registry"


def test_expand_grid(declared) -> None:
    combos = params.expand_grid({"dfi_cutoff_months": [6, 12, 18], "ties": ["breslow", "efron"]}, declared)
    assert len(combos) == 6 and combos[0] == {"dfi_cutoff_months": 6, "ties": "breslow"}
    assert params.expand_grid({"ties": "efron"}, declared) == [{"ties": "efron"}]
    with pytest.raises(ParameterError) as info:
        params.expand_grid({"dfi_cutoff_months": [6, "x"], "nope": [1], "ties": [], "output_dir": ["a"]}, declared)
    message = str(info.value)
    assert "4 problem(s)" in message and "dfi_cutoff_months: expected a number (float), found 'x'" in message
    assert "nope: unknown parameter" in message and "ties: expected a non-empty list" in message
    assert "output_dir: cannot be swept" in message


# ----------------------------------------------------------------------------- notebooks


def test_list_notebooks(tiny_collection) -> None:
    nbs = tiny_collection["notebooks"]
    assert [p.name for p in runner.list_notebooks(nbs)] == ["01-tables.ipynb", "02-check.ipynb", "03-last.ipynb"]
    assert [p.name for p in runner.list_notebooks(nbs, ["3", "01"])] == ["01-tables.ipynb", "03-last.ipynb"]
    with pytest.raises(ParameterError, match="no notebook numbered 07"):
        runner.list_notebooks(nbs, ["07"])
    with pytest.raises(ParameterError, match="no notebooks"):
        runner.list_notebooks(tiny_collection["root"] / "empty-does-not-exist")


def _numbered(tmp_path: Path, run_after: dict[str, list[str]]) -> list[Path]:
    paths = []
    for number in ["01", "02", "03", "04"]:
        path = tmp_path / f"{number}-nb.ipynb"
        write_notebook(path, [parameters_cell("x = 1")], run_after=run_after.get(number))
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
    assert [p.name[:2] for p in runner.execution_order(_numbered(tmp_path, run_after))] == order


def test_execution_order_rejects_a_cycle(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="run_after cycle"):
        runner.execution_order(_numbered(tmp_path, {"01": ["02"], "02": ["01"]}))


def test_shipped_report_waits_for_the_notebooks_it_reads() -> None:
    notebooks = runner.list_notebooks()
    after = {runner.notebook_number(nb): sorted(runner.notebook_number(d) for d in deps)
             for nb, deps in runner.dependencies(notebooks).items()}
    assert after == {"01": [], "02": [], "03": [], "04": ["01", "02", "03", "06"], "05": [], "06": []}


def test_run_graph_respects_dependencies_and_stops_after_a_failure(tmp_path: Path) -> None:
    paths = _numbered(tmp_path, {"03": ["01"], "04": ["02"]})
    events: list[tuple[str, str]] = []

    def work(nb: Path) -> runner.NotebookResult:
        events.append(("start", nb.name[:2]))
        time.sleep(0.2 if nb.name.startswith("01") else 0.05)
        events.append(("end", nb.name[:2]))
        return runner.NotebookResult(name=nb.name, status="failed" if nb.name.startswith("02") else "ok")

    results = runner.run_graph(paths, runner.dependencies(paths), work, parallel=4)
    assert events[:2] == [("start", "01"), ("start", "02")]  # independent ones at once
    assert [results[p].status for p in paths] == ["ok", "failed", "not_run", "not_run"]


def test_missing_kernel_is_reported_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "04-other.ipynb"
    write_notebook(path, [parameters_cell("x = 1")], kernel="no-such-kernel-xyz")
    with pytest.raises(RuntimeError, match="no-such-kernel-xyz") as info:
        runner.check_kernels([path])
    assert "ipykernel install --sys-prefix --name metastasectomy-survival" in str(info.value)


def test_cli_rejects_bad_parameters_before_running(tiny_collection, capsys) -> None:
    out = tiny_collection["root"] / "never"
    code = runner.main(
        ["run", "--notebooks-dir", str(tiny_collection["notebooks"]), "--output", str(out),
         "-p", "dfi_cutoff_months=soon", "-p", "colour=red"]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "dfi_cutoff_months: expected a number" in err and "colour: unknown parameter; known: registry_path" in err
    assert not out.exists()


def test_cli_rejects_missing_registry_and_sweep(tiny_collection, capsys) -> None:
    out = tiny_collection["root"] / "never"
    code = runner.main(
        ["run", "--notebooks-dir", str(tiny_collection["notebooks"]), "--output", str(out),
         "-p", f"registry_path={tiny_collection['root'] / 'absent.csv'}", "--sweep", str(out)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "registry_path: file not found" in err and "sweep: no tables/sweep_summary.csv" in err
    assert not out.exists()


def test_cli_params_prints_the_table(tiny_collection, capsys) -> None:
    assert runner.main(["params", "--notebooks-dir", str(tiny_collection["notebooks"])]) == 0
    assert re.search(r"ties\s+str\s+\"breslow\"\s+01, 02\s+breslow, efron", capsys.readouterr().out)
    assert runner.main(["params", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("| name | type | default | notebooks | allowed | meaning |")


# ----------------------------------------------------------------------------- runs


@pytest.mark.notebook
def test_run_collection_ok_and_manifest(tiny_collection) -> None:
    out = tiny_collection["root"] / "run"
    finished: list[str] = []
    result = runner.run_collection(
        {"registry_path": str(tiny_collection["registry"]), "dfi_cutoff_months": "18"}, out,
        notebooks_dir=tiny_collection["notebooks"], on_done=lambda r: finished.append(r.name[:2]),
    )
    assert result.ok and result.error is None, result.error
    assert [nb.status for nb in result.notebooks] == ["ok", "ok", "ok"]
    assert finished[-1] == "03"  # 03 waits for 02
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["kernel"] == "fresh per notebook"
    assert manifest["parameters"]["dfi_cutoff_months"] == 18
    # paths as the kernels (started in the run folder) saw them: relative, never absolute
    assert manifest["parameters"]["registry_path"] == portable_path(tiny_collection["registry"], out)
    assert (out / manifest["parameters"]["registry_path"]).resolve() == Path(tiny_collection["registry"]).resolve()
    assert manifest["parameters"]["output_dir"] == "."
    assert manifest["registry"]["sha256"] == registry_sha256(tiny_collection["registry"])
    assert manifest["packages"]["pandas"] == pd.__version__ and manifest["packages"]["distributed"]
    assert manifest["started"] <= manifest["finished"] and manifest["duration_s"] > 0
    entries = {n["name"][:2]: n for n in manifest["notebooks"]}
    assert all(n["status"] == "ok" and n["duration_s"] > 0 for n in entries.values())
    # 01 and 02 ran at the same time; 03 started after 02 ended
    assert entries["02"]["started_s"] < entries["01"]["started_s"] + entries["01"]["duration_s"]
    assert entries["03"]["started_s"] >= entries["02"]["started_s"] + entries["02"]["duration_s"] - 0.01
    assert entries["02"]["parameters"] == {"output_dir": ".", "ties": "breslow", "seed": 2}
    for name in ("01-tables", "02-check", "03-last"):
        assert (out / "notebooks" / f"{name}.ipynb").is_file()
        assert (out / "html" / f"{name}.html").read_text().lstrip().startswith("<!DOCTYPE html>")
    assert (out / "tables" / "table2.csv").is_file() and (out / "tables" / "from03.csv").is_file()
    executed = nbformat.read(out / "notebooks" / "02-check.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "registry_path" not in injected.source and "output_dir" in injected.source  # only declared names
    first = nbformat.read(out / "notebooks" / "01-tables.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in first.cells for o in c.get("outputs", []))
    assert printed.strip() == "True True run"  # relative paths, read from the run folder (the cwd)
    assert pd.read_csv(out / "tables" / "table3.csv")["level"].tolist() == ["lt_18_months"]
    # an ad-hoc papermill run aimed at this run's folder is refused, naming the way out
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match="RunFolderError"):
        pm.execute_notebook(str(tiny_collection["notebooks"] / "01-tables.ipynb"), str(tiny_collection["root"] / "adhoc.ipynb"),
                            parameters={"output_dir": str(out), "registry_path": str(tiny_collection["registry"]),
                                        "ties": "efron"}, kernel_name=KERNELSPEC["name"], progress_bar=False)
    assert pd.read_csv(out / "tables" / "table3.csv")["level"].tolist() == ["lt_18_months"]  # untouched


@pytest.mark.notebook
def test_failing_notebook_stops_the_run(tiny_collection, capsys) -> None:
    out = tiny_collection["root"] / "run"
    param_file = tiny_collection["root"] / "params.yaml"
    param_file.write_text(f"registry_path: {tiny_collection['registry']}\nties: efron\n")
    args = ["run", "--notebooks-dir", str(tiny_collection["notebooks"]), "--output", str(out),
            "--params", str(param_file), "--no-html"]  # fmt: skip
    assert runner.main([*args, "-p", "ties=breslow"]) == 0  # -p wins over --params
    assert (out / "tables" / "from03.csv").is_file()  # a complete run first: stale files exist
    capsys.readouterr()
    code = runner.main(args)  # ties = efron from the parameter file
    captured = capsys.readouterr()
    assert code == 1
    assert "02-check.ipynb failed in cell" in captured.err
    assert "AssertionError: tiny notebook refuses efron" in captured.err and "FAILED" in captured.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "refuses efron" in manifest["error"]
    assert [n["status"] for n in manifest["notebooks"]] == ["ok", "failed", "not_run"]
    partial = nbformat.read(out / "notebooks" / "02-check.ipynb", as_version=4)
    errors = [o for c in partial.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and errors[0]["ename"] == "AssertionError"
    assert not (out / "notebooks" / "03-last.ipynb").exists()
    assert not (out / "tables" / "from03.csv").exists()  # nothing left from the earlier run


# ----------------------------------------------------------------------------- sweeps on dask


@pytest.fixture(scope="module")
def client():
    """A small in-process dask cluster (threads: the work happens in the kernels' processes)."""
    from helpers.reproduction.cluster import close_client, open_client

    c = open_client("local", n_workers=2, processes=False)
    yield c
    close_client(c)


@pytest.mark.notebook
def test_sweep_isolates_failures(tiny_collection, client) -> None:
    reported: list[tuple[int, int, str]] = []
    result = sweep.run_sweep(
        {"dfi_cutoff_months": [6, 12], "ties": ["breslow", "efron"]}, tiny_collection["root"] / "sweep",
        scheduler=client, retries=0, only=["01", "02"], notebooks_dir=tiny_collection["notebooks"],
        base_params={"registry_path": str(tiny_collection["registry"])},
        on_done=lambda done, total, record: reported.append((done, total, record["status"])),
    )  # fmt: skip
    out = result.output_dir
    assert result.n_failed == 2 and sorted(d for d, _, _ in reported) == [1, 2, 3, 4]
    summary = pd.read_csv(out / "tables" / "sweep_summary.csv")
    ok, failed = summary[summary["status"] == "ok"], summary[summary["status"] == "failed"]
    assert sorted(ok["run"].unique()) == ["1_dfi_cutoff_months-6_ties-breslow", "3_dfi_cutoff_months-12_ties-breslow"]
    assert len(ok) == 4 and len(failed) == 2  # two runs x two factors; one row per failed run
    assert failed["error"].str.contains("refuses efron").all()
    dfi = ok[ok["variable"] == "disease_free_interval"].set_index("dfi_cutoff_months")
    assert dfi.loc[6, "hr"] == pytest.approx(3.6) and dfi.loc[12, "univariate_p"] == 0.012
    assert dfi.loc[6, "level"] == "lt_6_months" and bool(dfi.loc[6, "in_model"])
    assert (out / "figures" / "sweep_summary.png").is_file() and (out / "figures" / "sweep_summary.svg").is_file()
    manifest = json.loads((out / "sweep_manifest.json").read_text())
    assert len(manifest["runs"]) == 4 and manifest["scheduler"].startswith(("inproc://", "tcp://"))


FLAKY_CODE = (
    "import os\nfrom pathlib import Path\n"
    "marker = Path(output_dir) / 'attempted'\n"
    "if not marker.exists():\n"
    "    marker.touch()\n"
    "    os._exit(1)  # the kernel dies on the first attempt\n"
    "print('second attempt')"
)


@pytest.fixture
def flaky(tmp_path: Path) -> dict[str, Path]:
    nbs = tmp_path / "flaky"
    nbs.mkdir()
    write_notebook(nbs / "01-flaky.ipynb", [
        parameters_cell('registry_path: str = ""  # shipped\noutput_dir: str = "."  # run folder\nx: int = 1  # a knob'),
        new_code_cell(FLAKY_CODE),
    ])  # fmt: skip
    return {"notebooks": nbs, "root": tmp_path}


@pytest.mark.notebook
@pytest.mark.parametrize("retries", [0, 1])
def test_sweep_retries_a_run_whose_kernel_died(flaky, client, retries: int) -> None:
    result = sweep.run_sweep({"x": [1, 2]}, flaky["root"] / f"sweep{retries}", scheduler=client,
                             retries=retries, notebooks_dir=flaky["notebooks"])
    runs = result.runs.set_index("run")
    if retries:
        assert result.n_failed == 0 and (runs["status"] == "ok").all()
        executed = (flaky["root"] / "sweep1" / "runs" / "1_x-1" / "notebooks" / "01-flaky.ipynb").read_text()
        assert "second attempt" in executed
    else:
        assert result.n_failed == 2
        assert runs["error"].str.contains("TransientRunError").all()
        assert runs["error"].str.contains("DeadKernelError|died", regex=True).all()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def external_scheduler(tmp_path: Path):
    """``dask scheduler`` and two ``dask worker`` processes on free localhost ports."""
    dask_cli = str(Path(sys.executable).parent / "dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    logs = [open(tmp_path / f"dask-{i}.log", "w") for i in range(3)]  # noqa: SIM115 - closed below
    procs = [subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--dashboard-address", f":{_free_port()}"], stdout=logs[0], stderr=logs[0])]
    try:
        for i in (1, 2):
            procs.append(subprocess.Popen([dask_cli, "worker", address, "--nthreads", "1", "--no-dashboard", "--no-nanny",
                                           "--name", f"w{i}"], stdout=logs[i], stderr=logs[i]))
        from distributed import Client

        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        yield address
    finally:
        # workers first (while their scheduler is still there to say goodbye to), then the scheduler;
        # a process that does not stop within 5 s is killed rather than waited for
        for proc in [*procs[1:], procs[0]]:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
    assert all(proc.poll() is not None for proc in procs)


@pytest.mark.notebook
def test_sweep_on_a_separately_started_scheduler(tiny_collection, external_scheduler, capsys) -> None:
    grid = tiny_collection["root"] / "grid.yaml"
    grid.write_text("dfi_cutoff_months: [6, 12, 18, 24]\n")
    out = tiny_collection["root"] / "sweep-external"
    code = runner.main(
        ["sweep", "--grid", str(grid), "--scheduler", external_scheduler, "--output", str(out),
         "--notebooks", "01", "--notebooks-dir", str(tiny_collection["notebooks"]),
         "-p", f"registry_path={tiny_collection['registry']}"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Sweep of 4 runs" in captured.out and "(0 failed)" in captured.out
    assert "4/4" in captured.err  # the progress, on stderr
    manifest = json.loads((out / "sweep_manifest.json").read_text())
    assert manifest["scheduler"] == external_scheduler
    assert {run["worker"] for run in manifest["runs"]} <= {"w1", "w2"}  # the workers started above
    summary = pd.read_csv(out / "tables" / "sweep_summary.csv")
    dfi = summary[summary["variable"] == "disease_free_interval"].set_index("dfi_cutoff_months")
    assert dfi["hr"].to_dict() == pytest.approx({6: 3.6, 12: 4.2, 18: 4.8, 24: 5.4})


def test_cli_sweep_rejects_a_bad_grid_before_running(tiny_collection, capsys) -> None:
    grid = tiny_collection["root"] / "bad.yaml"
    grid.write_text("dfi_cutoff_months: [6, twelve]\nties: [breslow, exact]\n")
    out = tiny_collection["root"] / "never"
    code = runner.main(["sweep", "--grid", str(grid), "--output", str(out),
                        "--notebooks-dir", str(tiny_collection["notebooks"])])
    err = capsys.readouterr().err
    assert code == 2
    assert "dfi_cutoff_months: expected a number (float), found 'twelve'" in err
    assert "ties: expected one of breslow, efron, found 'exact'" in err
    assert not out.exists()


# ----------------------------------------------------------------------------- reading sweeps back


def fake_sweep(root: Path) -> pd.DataFrame:
    runs = []
    for i, (cut, ok) in enumerate([(6, True), (12, True), (18, False)], start=1):
        folder = root / f"run{i}"
        (folder / "tables").mkdir(parents=True)
        if ok:
            pd.DataFrame({"variable": ["dfi", "dfi", "sex", "sex"],
                          "level": [f"lt_{cut}", f"ge_{cut}", "male", "female"],
                          "p_value": [0.001 * cut, 0.001 * cut, 0.7, 0.7]}
                         ).to_csv(folder / "tables" / "table2.csv", index=False)
            pd.DataFrame({"variable": ["dfi"], "level": [f"lt_{cut}"], "hr": [cut / 2], "ci_low": [1.1],
                          "ci_high": [9.0], "p_value": [0.004 * cut]}
                         ).to_csv(folder / "tables" / "table3.csv", index=False)
        runs.append({"run": f"run{i}", "dfi_cutoff_months": cut, "status": "ok" if ok else "failed",
                     "output_dir": str(folder), "error": None if ok else "boom\nmore"})
    return pd.DataFrame(runs)


def test_collate_and_summarise_sweep(tmp_path: Path) -> None:
    summary = sweep.collate_sweep(fake_sweep(tmp_path), ["dfi_cutoff_months"])
    assert len(summary) == 5  # 2 ok runs x 2 factors + 1 failed run
    failed = summary[summary["status"] == "failed"]
    assert failed["error"].tolist() == ["boom"] and failed["variable"].isna().all()
    robust = sweep.summarise_sweep(summary, alpha=0.05).set_index("variable")
    assert robust.loc["dfi", "runs"] == 2 and robust.loc["dfi", "in_model"] == 2
    assert robust.loc["dfi", "multivariable_significant"] == 2  # p 0.024 and 0.048
    assert robust.loc["dfi", "univariate_significant"] == 2
    assert robust.loc["dfi", "hr_min"] == 3 and robust.loc["dfi", "hr_max"] == 6
    assert robust.loc["sex", "in_model"] == 0 and robust.loc["sex", "univariate_significant"] == 0
    fig = sweep.plot_sweep(summary, ["dfi_cutoff_months"])
    panels = [a for a in fig.axes if a.get_visible() and a.get_title()]
    assert isinstance(fig, Figure) and [a.get_title() for a in panels] == ["dfi"]
    assert [t.get_text() for t in panels[0].get_yticklabels()] == [
        "dfi_cutoff_months=6", "dfi_cutoff_months=12", "dfi_cutoff_months=18 (failed)"]
    empty = sweep.plot_sweep(summary[summary["status"] == "failed"], ["dfi_cutoff_months"])
    assert "no run produced" in empty.texts[0].get_text()


def test_sweep_for_report_is_named_never_guessed(tmp_path: Path) -> None:
    older, newer = tmp_path / "sweep-a", tmp_path / "sweep-b"
    for folder in (older, newer):
        (folder / "tables").mkdir(parents=True)
        (folder / "tables" / "sweep_summary.csv").write_text("run,status,variable\n")
    past = time.time() - 100
    os.utime(older / "tables" / "sweep_summary.csv", (past, past))
    run = tmp_path / "run"
    run.mkdir()
    assert sweep.sweep_for_report(run) is None  # nothing named: no search of the folders
    assert sweep.sweep_for_report(run, tmp_path) is None  # a parent of sweeps is not a sweep
    assert sweep.sweep_for_report(run, older) == older  # given explicitly, even if older
    (run / "manifest.json").write_text(json.dumps({"sweep": str(older)}))
    assert sweep.sweep_for_report(run, newer) == older  # the run's manifest names it
    assert sweep.load_sweep(older).columns.tolist() == ["run", "status", "variable"]
    with pytest.raises(FileNotFoundError, match="no sweep summary"):
        sweep.load_sweep(run)
    assert not hasattr(sweep, "find_latest_sweep") and not hasattr(runner, "find_latest_sweep")


def test_a_kernel_that_never_answered_is_started_again() -> None:
    assert runner._kernel_did_not_start(RuntimeError("Kernel didn't respond in 60 seconds"))
    assert runner._kernel_did_not_start(RuntimeError("Kernel died before replying to kernel_info"))
    assert not runner._kernel_did_not_start(RuntimeError("a cell raised"))
    assert not runner._kernel_did_not_start(ValueError("Kernel didn't respond"))
    assert runner.START_RETRIES >= 1 and runner.KERNEL_START_TIMEOUT >= 60


def test_quick_sweep_grid_is_the_make_sweep_grid() -> None:
    """The report's quick sweep and `make sweep` vary the same parameters over the same values."""
    import yaml

    grid = yaml.safe_load((PROJECT_ROOT / "sweeps" / "cutoffs.yaml").read_text(encoding="utf-8"))
    assert grid == sweep.QUICK_GRID


def test_quick_sweep_has_the_collated_layout_and_agrees_with_the_core() -> None:
    from helpers import cohort, survival

    summary = sweep.quick_sweep("", {"dfi_cutoff_months": [12, 18], "ties": ["breslow"]})
    assert list(summary.columns) == ["run", "status", "dfi_cutoff_months", "ties", *sweep.SUMMARY_COLUMNS]
    assert summary["run"].nunique() == 2 and set(summary["status"]) == {"ok"}
    prepared = cohort.prepare("", dfi_cutoff_months=18)
    screen = survival.screen_factors(prepared.data, "time_months", "event", prepared.factors.factors)
    p18 = screen.drop_duplicates("variable").set_index("variable")["p_value"]
    rows = summary[summary["dfi_cutoff_months"] == 18].set_index("variable")
    assert (rows["univariate_p"].reindex(p18.index) - p18).abs().max() < 1e-12
    with pytest.raises(ValueError, match="unknown grid key"):
        sweep.quick_sweep("", {"seed": [1]})
