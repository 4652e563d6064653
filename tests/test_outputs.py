"""helpers.outputs: table and figure writers, registry fingerprint, privacy guard."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from helpers import DATA_DIR, outputs

REGISTRY_CSV = DATA_DIR / "registry.csv"


@pytest.fixture
def tiny_registry(tmp_path: Path) -> tuple[Path, Path, pd.DataFrame]:
    """A small 'registry' file, a provenance record for it, and its frame."""
    frame = pd.DataFrame(
        {"patient_id": ["P-ALPHA", "P-BRAVO", "P-CHARLIE"], "age": [41, 67, 55]}
    )
    path = tmp_path / "registry.csv"
    frame.to_csv(path, index=False)
    provenance = tmp_path / "provenance.json"
    provenance.write_text(json.dumps({"sha256": outputs.registry_sha256(path)}))
    return path, provenance, frame


def test_save_table_writes_csv_and_standalone_html(tmp_path: Path) -> None:
    df = pd.DataFrame({"variable": ["a", "b"], "n": [1, np.nan], "label": ["x", np.nan]})
    paths = outputs.save_table(df, tmp_path, "demo", title="Demo table", note="a note")
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "tables/demo.csv",
        "tables/demo.html",
    ]
    back = pd.read_csv(paths[0])
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    page = paths[1].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Demo table</title>" in page and "<h1>Demo table</h1>" in page
    assert "a note" in page and "<style>" in page
    assert ">nan<" not in page.lower() and ">None<" not in page
    assert page.count("<td></td>") == 2  # the two missing cells are empty


def test_save_table_escapes_html(tmp_path: Path) -> None:
    page = outputs.save_table(pd.DataFrame({"x": ["<b>&"]}), tmp_path, "esc", title="<t>")[1]
    text = page.read_text()
    assert "&lt;b&gt;&amp;" in text and "<title>&lt;t&gt;</title>" in text


@pytest.mark.parametrize("name", ["../evil", "a/b", "table1.csv", "", ".hidden"])
def test_save_table_rejects_bad_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        outputs.save_table(pd.DataFrame({"a": [1]}), tmp_path, name)


def test_save_table_rejects_non_frames(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="DataFrame"):
        outputs.save_table([1, 2], tmp_path, "x")  # type: ignore[arg-type]


def test_save_figure_writes_png_and_svg_with_text(tmp_path: Path) -> None:
    fig = Figure()
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_title("SEARCHABLE-TITLE")
    png, svg = outputs.save_figure(fig, tmp_path, "fig1")
    assert png == tmp_path / "figures" / "fig1.png" and svg == tmp_path / "figures" / "fig1.svg"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = svg.read_text()
    assert "<svg" in text and "SEARCHABLE-TITLE" in text


def test_save_figure_is_deterministic(tmp_path: Path) -> None:
    fig = Figure()
    fig.subplots().plot([1, 2, 3])
    first = outputs.save_figure(fig, tmp_path / "a", "f")[1].read_bytes()
    second = outputs.save_figure(fig, tmp_path / "b", "f")[1].read_bytes()
    assert first == second


def test_save_figure_rejects_non_figures(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="Figure"):
        outputs.save_figure("not a figure", tmp_path, "x")  # type: ignore[arg-type]


def test_registry_sha256_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 1000)
    assert outputs.registry_sha256(path) == hashlib.sha256(b"abc" * 1000).hexdigest()


def test_is_shipped_registry_true_only_for_identical_bytes(tiny_registry, tmp_path) -> None:
    path, provenance, _ = tiny_registry
    assert outputs.is_shipped_registry(path, provenance_path=provenance)
    copy = tmp_path / "copy.csv"
    shutil.copy(path, copy)
    assert outputs.is_shipped_registry(copy, provenance_path=provenance)
    copy.write_text(copy.read_text().replace("P-ALPHA", "P-ALPHB"))
    assert not outputs.is_shipped_registry(copy, provenance_path=provenance)


def test_is_shipped_registry_false_without_provenance_or_file(tiny_registry, tmp_path) -> None:
    path, provenance, _ = tiny_registry
    assert not outputs.is_shipped_registry(path, provenance_path=tmp_path / "absent.json")
    assert not outputs.is_shipped_registry(tmp_path / "absent.csv", provenance_path=provenance)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert not outputs.is_shipped_registry(path, provenance_path=bad)
    bad.write_text(json.dumps({"sha256": "short"}))
    assert not outputs.is_shipped_registry(path, provenance_path=bad)


def test_shipped_registry_is_recognised() -> None:
    assert outputs.is_shipped_registry(REGISTRY_CSV)


def test_show_patient_rows_shipped_gives_head(tiny_registry) -> None:
    path, provenance, frame = tiny_registry
    shown = outputs.show_patient_rows(frame, path, n=2, provenance_path=provenance)
    pd.testing.assert_frame_equal(shown, frame.head(2))


def test_show_patient_rows_other_registry_has_no_patient_values(tiny_registry, tmp_path) -> None:
    path, provenance, frame = tiny_registry
    other = tmp_path / "other.csv"
    other.write_text(path.read_text() + "P-DELTA,30\n")
    shown = outputs.show_patient_rows(frame, other, n=2, provenance_path=provenance)
    assert list(shown.columns) == ["column", "dtype", "n_rows", "n_missing"]
    assert shown["column"].tolist() == ["patient_id", "age"]
    assert shown["n_rows"].tolist() == [3, 3]
    rendered = shown.to_string() + shown.to_html()
    for value in ["P-ALPHA", "P-BRAVO", "P-CHARLIE", "41", "67", "55"]:
        assert value not in rendered


def test_show_patient_rows_validates_arguments(tiny_registry) -> None:
    path, provenance, frame = tiny_registry
    with pytest.raises(ValueError, match="n"):
        outputs.show_patient_rows(frame, path, n=-1, provenance_path=provenance)
    with pytest.raises(TypeError, match="DataFrame"):
        outputs.show_patient_rows([1], path)  # type: ignore[arg-type]


def test_run_folder_layout(tmp_path: Path) -> None:
    folder = outputs.run_folder(tmp_path / "run", create=True)
    assert folder.manifest == tmp_path / "run" / "manifest.json"
    for sub in ("tables", "figures", "notebooks", "html"):
        assert (tmp_path / "run" / sub).is_dir()


def test_save_table_shows_none_as_empty(tmp_path: Path) -> None:
    page = outputs.save_table(pd.DataFrame({"x": ["a", None]}), tmp_path, "none")[1].read_text()
    assert ">None<" not in page and "<td></td>" in page


def test_show_warnings_once_writes_each_message_once_without_a_path(capsys) -> None:
    import warnings

    from helpers.cox import CoxWarning

    with warnings.catch_warnings():  # restores the filters and showwarning afterwards
        outputs.show_warnings_once()
        warnings.simplefilter("always")  # repeats reach the hook (pytest's filters may not let them)
        for _ in range(3):
            warnings.warn("only 6.4 events per parameter", CoxWarning, stacklevel=1)
        warnings.warn("another caveat", CoxWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert err.splitlines() == ["> **CoxWarning**: only 6.4 events per parameter", "> **CoxWarning**: another caveat"]
    assert ".py" not in err


def test_a_run_folder_refuses_writes_from_outside_its_run(tmp_path: Path, monkeypatch) -> None:
    table, fig = pd.DataFrame({"a": [1]}), Figure()
    outputs.save_table(table, tmp_path, "free")  # no manifest: anyone may write
    (tmp_path / "manifest.json").write_text(json.dumps({"run_id": "abc123", "started": "2026-12-03T10:00"}))
    monkeypatch.delenv(outputs.RUN_ID_VARIABLE, raising=False)
    for write in (lambda: outputs.save_table(table, tmp_path, "t3"), lambda: outputs.save_figure(fig, tmp_path, "f")):
        with pytest.raises(outputs.RunFolderError, match=r"run abc123 .*output_dir.*outputs/interactive"):
            write()
    assert not (tmp_path / "tables" / "t3.csv").exists()
    monkeypatch.setenv(outputs.RUN_ID_VARIABLE, "another-run")
    with pytest.raises(outputs.RunFolderError):
        outputs.save_table(table, tmp_path, "t3")
    monkeypatch.setenv(outputs.RUN_ID_VARIABLE, "abc123")  # a kernel of that run
    assert outputs.save_table(table, tmp_path, "t3")[0].is_file()


def test_save_table_writes_the_view_for_people_and_the_frame_for_machines(tmp_path: Path) -> None:
    from helpers import display

    df = pd.DataFrame({"variable": ["sex"], "level": ["male"], "n": [38]})
    view = display.styled(pd.DataFrame({"label": ["Male"], "n": ["38"], "indent": [1]}))
    csv, page = outputs.save_table(df, tmp_path, "t", title="Table", view=view)
    assert pd.read_csv(csv).equals(df)  # keys stay in the CSV
    html = page.read_text()
    assert "Male" in html and "male<" not in html and "<title>Table</title>" in html
