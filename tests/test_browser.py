"""JupyterLab and the run's HTML in a real browser (headless Chromium driven by Playwright).

Marked ``browser``: skipped with a reason when Chromium or Playwright is missing, unless the
environment variable ``CI`` is set (then their absence fails). Skip locally with
``pytest -m "not browser"``. Playwright drives the system's Chromium (Debian package ``chromium``)
through ``executable_path``; ``playwright install`` is never needed.

The notebooks are opened on copies in a temporary folder, so the committed notebooks are never
written; with their default parameters they read the shipped registry and write into the
interactive run folder ``outputs/interactive/``, as a user's Run All does.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_notebook_hygiene import cells_with_outputs, strip_command

from helpers import PROJECT_ROOT

pytestmark = pytest.mark.browser

KERNEL = "metastasectomy-survival"
#: The notebooks run in JupyterLab. What this test adds to the papermill runs of every notebook
#: (tests/test_notebook_*) is the interactive path: Lab picks the project's kernel, Run All works,
#: autosave writes outputs and the git filter strips them again. The three analysis notebooks
#: exercise all of it; the report (04), the appendix (05) and the bootstrap (06) would only add
#: computing already tested.
ORDER = ("01", "02", "03")
NOTEBOOK_TIMEOUT_S = 1200
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in front
ERROR_OUTPUT = f'{PANEL} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'


def _unavailable(reason: str) -> None:
    """Skip locally; fail under CI, where the browser tests must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: .ci/run installs Chromium with apt-get; "
                    "playwright comes with `make setup`)")
    pytest.skip(reason)


def chromium_path() -> str:
    """The system Chromium: ``$CHROMIUM`` or the first of chromium / chromium-browser on PATH."""
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        found = shutil.which(name) if name else None
        if found:
            return found
    _unavailable("no Chromium found (apt-get install chromium, or set CHROMIUM)")
    raise AssertionError  # unreachable: _unavailable skips or fails


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A headless Chromium with a fresh profile, driven by Playwright."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (it is a dev dependency: make setup)")
    executable = chromium_path()
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=executable,
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(120_000)
        yield context
        context.close()


def free_port() -> int:
    """A free localhost TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server on localhost with a token, over a folder of notebook copies."""

    def __init__(self, root: Path, state: Path) -> None:
        self.root, self.port, self.token = root, free_port(), secrets.token_hex(16)
        settings = state / "settings" / "@jupyterlab" / "notebook-extension"
        settings.mkdir(parents=True)  # every cell in the DOM, so the test sees every output
        (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(state / "config"),
               "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
               "JUPYTER_RUNTIME_DIR": str(state / "runtime")}
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        self.log = state / "lab.log"
        self.process = subprocess.Popen(command, env=env, stdout=self.log.open("wb"),
                                        stderr=subprocess.STDOUT)

    def api(self, path: str) -> object:
        url = f"http://127.0.0.1:{self.port}/api/{path}?token={self.token}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"JupyterLab exited:\n{self.log.read_text()}"
            try:
                self.api("status")
                return
            except OSError:
                time.sleep(0.25)
        raise AssertionError(f"JupyterLab did not answer in {timeout_s} s:\n{self.log.read_text()}")

    def kernel_state(self, notebook: str) -> tuple[str, str] | None:
        """(kernel name, execution state) of the session of ``notebook``, or None."""
        for session in self.api("sessions"):
            if session["path"] == notebook and session.get("kernel"):
                return session["kernel"]["name"], session["kernel"]["execution_state"]
        return None

    def shutdown_kernels(self) -> None:
        """End every session (and its kernel), so finished notebooks free their memory."""
        for session in self.api("sessions"):
            url = f"http://127.0.0.1:{self.port}/api/sessions/{session['id']}?token={self.token}"
            urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30).close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab over copies of the notebooks (their runs write into ``outputs/interactive/``)."""
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(PROJECT_ROOT / "notebooks", work / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = Lab(work / "notebooks", tmp_path_factory.mktemp("lab-state"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def wait_for(condition, timeout_s: float, what: str, interval_s: float = 0.5) -> object:
    """Poll ``condition`` until it returns a truthy value; fail naming ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def run_all_cells(page, lab: Lab, name: str) -> float:
    """Run > Run All Cells, wait until every code cell ran and the kernel is idle; seconds taken."""
    started = time.monotonic()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    prompts = page.locator(f"{PANEL} .jp-CodeCell .jp-InputArea-prompt")
    page.wait_for_function(
        f"""() => [...document.querySelectorAll('{PANEL} .jp-CodeCell .jp-InputArea-prompt')]
              .some(p => p.textContent.includes('*') || /\\d/.test(p.textContent))""")

    def finished() -> bool:
        texts = [t.strip() for t in prompts.all_inner_texts()]
        return (not any("*" in t for t in texts) and lab.kernel_state(name)[1] == "idle"
                and (all(any(ch.isdigit() for ch in t) for t in texts)
                     or page.locator(ERROR_OUTPUT).count() > 0))

    wait_for(finished, NOTEBOOK_TIMEOUT_S, f"{name} to finish running", interval_s=1.0)
    return time.monotonic() - started


def error_outputs(page) -> list[str]:
    """Texts of the stderr and error outputs that carry a traceback or an exception."""
    texts = page.locator(ERROR_OUTPUT).all_inner_texts()
    return [t for t in texts if "Traceback" in t or "Error" in t.split("Warning")[0]]


def run_in_lab(number: str, lab: Lab, browser_context) -> float:
    """Open notebook ``number`` in Lab, Run All, check it; the seconds Run All took."""
    name = next(p.name for p in lab.root.glob(f"{number}-*.ipynb"))
    page = browser_context.new_page()
    dialogs: list[str] = []
    try:
        # ?reset: a fresh workspace, so only this notebook is open
        page.goto(f"http://127.0.0.1:{lab.port}/lab/tree/{name}?reset&token={lab.token}")
        page.locator(PANEL).wait_for()
        state = wait_for(lambda: lab.kernel_state(name) if page.locator(".jp-Dialog").count() == 0
                         else dialogs.append(page.locator(".jp-Dialog").inner_text()) or True,
                         120, f"the kernel of {name} to start")
        assert not dialogs, f"JupyterLab asked for a kernel instead of using the notebook's: {dialogs}"
        assert state[0] == KERNEL, f"{name} started kernel {state[0]!r}, not {KERNEL!r}"
        page.locator(f"{PANEL} .jp-Toolbar-kernelName", has_text=f"Python ({KERNEL})").wait_for()
        wait_for(lambda: lab.kernel_state(name)[1] == "idle", 120, "the kernel to be idle")
        seconds = run_all_cells(page, lab, name)
        errors = error_outputs(page)
        assert not errors, f"{name} shows error output in JupyterLab:\n" + "\n---\n".join(errors)
        page.keyboard.press("Control+s")  # what autosave does: outputs go into the working file
        saved = wait_for(lambda: _executed(lab.root / name), 60, f"{name} saved with every cell run")
        assert not [o for c in saved for o in c.get("outputs", []) if o["output_type"] == "error"]
        assert page.locator(".jp-Dialog").count() == 0
        assert_commit_is_clean(lab.root / name)
        return seconds
    finally:
        page.close()
        lab.shutdown_kernels()


def test_notebooks_run_in_jupyterlab(browser_context, lab: Lab) -> None:
    """One test, so that 04 runs after the notebooks whose tables it reads (also under xdist)."""
    for number in ORDER:
        seconds = run_in_lab(number, lab, browser_context)
        print(f"\nnotebook {number}: Run All took {seconds:.1f} s in JupyterLab")


def _executed(path: Path) -> list[dict] | None:
    """The code cells of the saved notebook once every one of them carries an execution count."""
    cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
             if c["cell_type"] == "code"]
    return cells if all(c.get("execution_count") for c in cells) else None


def assert_commit_is_clean(saved: Path) -> None:
    """The project's git filter turns the notebook Lab saved back into one without outputs."""
    import nbformat

    done = subprocess.run([*strip_command(), "-t", str(saved)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    stripped = nbformat.reads(done.stdout, as_version=4)
    assert cells_with_outputs(stripped) == []
    committed = json.loads((PROJECT_ROOT / "notebooks" / saved.name).read_text(encoding="utf-8"))
    assert json.loads(done.stdout)["cells"] == committed["cells"]


#: Pages of a run folder rendered in the browser, relative to the folder (glob patterns).
RUN_PAGES = ("report/index.html", "html/01-*.html", "html/02-*.html")


@pytest.fixture(scope="module")
def run_folder(collection_run: Path) -> Path:
    """The session's ``make run`` folder (the whole collection on the defaults), or ``$RUN_DIR``."""
    if os.environ.get("RUN_DIR"):
        return Path(os.environ["RUN_DIR"])
    return collection_run


def test_run_pages_show_tables_and_figures(browser_context, run_folder: Path) -> None:
    pages = [p for pattern in RUN_PAGES for p in sorted(run_folder.glob(pattern))]
    assert len(pages) == len(RUN_PAGES), f"missing pages in {run_folder}: {RUN_PAGES}"
    for path in pages:
        page = browser_context.new_page()
        try:
            page.goto(path.as_uri(), wait_until="load")
            tables = page.locator("table")
            assert tables.count() > 0, f"{path.name}: no table"
            assert all(t.locator("td").count() > 0 for t in tables.all()), f"{path.name}: empty table"
            sizes = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
            assert sizes, f"{path.name}: no figure"
            assert all(c and w > 0 and h > 0 for c, w, h in sizes), f"{path.name}: broken img {sizes}"
        finally:
            page.close()
