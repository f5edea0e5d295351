"""Presentation mode: ``make present NB=05`` serves one notebook as a clean Voila app.

The test takes the voila command line from the Makefile itself (``make -n present``), so
it checks the target's flags against the installed Voila, then serves the notebook on a
free port on 127.0.0.1, loads it in headless Chromium and asserts that the controls
render, that no code is shown, that no error is shown, and that a slider still redraws
its figure; a full-page screenshot lands in ``artifacts/browser/present_NN.png``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import subprocess
import time

import pytest

from . import env, pages
from .conftest import REPORT

pytestmark = pytest.mark.browser

PAGE_TIMEOUT_S = 240


def _presented_notebook():
    """The notebook to present: NNLIB_PRESENT_NB (a prefix like "05"), else 05, else the
    first notebook that shows a slider, else the first notebook."""
    paths = env.notebook_paths()
    wanted = os.environ.get("NNLIB_PRESENT_NB", "05")
    for p in paths:
        if p.name.startswith(wanted + "_"):
            return p
    for p in paths:
        if env.expected_controls(env.load_notebook(p))["slider"]:
            return p
    return paths[0] if paths else None


def _voila_command(nb_prefix: str, port: int) -> tuple[list[str], list[str]]:
    """The Makefile's ``present`` recipe as argv, and the notebooks it names."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed: cannot read the Makefile's present target")
    # Under `make test` this runs inside make: the parent's flags must not leak in.
    clean_env = {k: v for k, v in os.environ.items()
                 if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    out = subprocess.run(
        [make, "-n", "-s", "present", f"NB={nb_prefix}", f"PORT={port}"],
        cwd=env.REPO_ROOT, env=clean_env, capture_output=True, text=True, timeout=60,
        check=True,
    ).stdout
    lines = [ln for ln in out.splitlines() if "voila" in ln and not ln.lstrip().startswith(
        ("test ", "echo "))]
    assert len(lines) == 1, f"expected one voila command in `make -n present`, got:\n{out}"
    argv = shlex.split(lines[0])
    named = [a for a in argv if a.endswith(".ipynb")]
    command = [a for a in argv if not a.endswith(".ipynb")]
    if not os.path.isabs(command[0]):
        command[0] = str(env.REPO_ROOT / command[0])
    return command, named


NOTEBOOK = _presented_notebook()


@pytest.mark.skipif(NOTEBOOK is None, reason="no notebooks to present yet")
def test_make_present_serves_a_clean_app(browser, tmp_path, artifacts_dir):
    prefix = NOTEBOOK.name[:2]
    port = env.free_port()
    command, named = _voila_command(prefix, port)
    assert f"--port={port}" in command, f"the present target ignores PORT: {command}"
    if env.notebooks_dir() == env.REPO_ROOT / "notebooks":
        assert named == [f"notebooks/{NOTEBOOK.name}"], (
            f"`make present NB={prefix}` should name exactly notebooks/{NOTEBOOK.name}, "
            f"names {named}")

    # Serve a copy, laid out like the repository, so that the recipe's relative paths
    # hold and whatever the notebook writes next to itself stays out of the repo.
    shutil.copytree(env.notebooks_dir(), tmp_path / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    stored = env.load_notebook(tmp_path / "notebooks" / NOTEBOOK.name)
    expected = env.expected_controls(stored)
    server = env.Voila(command + [f"notebooks/{NOTEBOOK.name}"], port=port, cwd=tmp_path,
                       workdir=tmp_path / "jupyter",
                       log_path=artifacts_dir / f"voila_{NOTEBOOK.stem}.log")
    server.start()
    record: dict = {"notebook": NOTEBOOK.name, "command": " ".join(server.cmd[1:])}
    REPORT["present"][NOTEBOOK.stem] = record
    try:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        log = pages.PageLog(page)
        try:
            t0 = time.perf_counter()
            page.goto(server.base_url + "/", wait_until="domcontentloaded",
                      timeout=PAGE_TIMEOUT_S * 1000)
            seen = pages.wait_for_controls(page, expected, timeout_s=PAGE_TIMEOUT_S)
            record["page_ready_s"] = round(time.perf_counter() - t0, 2)
            record["controls_rendered"] = dict(seen)
            for kind in sorted(set(expected) | set(seen)):
                assert seen[kind] == expected[kind], (
                    f"voila {NOTEBOOK.name}: expected {expected[kind]} {kind} control(s), "
                    f"renders {seen[kind]}")
            assert expected or page.locator("img").count(), (
                f"voila {NOTEBOOK.name}: shows neither controls nor figures")

            # Markdown renders inside .jp-InputArea too: only code cells' inputs count.
            code_nodes = page.locator(
                ".jp-CodeCell .jp-InputArea, .jp-InputPrompt, .cm-editor, .CodeMirror").count()
            assert code_nodes == 0, f"voila {NOTEBOOK.name}: {code_nodes} code element(s) shown"
            text = page.evaluate("() => document.body.innerText")
            leaked = [
                c["source"].splitlines()[0]
                for c in stored["cells"]
                if c["cell_type"] == "code"
                and len("".join(c["source"]).strip().splitlines()) >= 2
                and "".join(c["source"]).strip() in text
            ]
            assert not leaked, f"voila {NOTEBOOK.name}: code cells shown: {leaked}"
            assert "importlib.util" not in text, "the setup cell's code is shown"

            choice = pages.pick_slider(page)
            if choice is not None and choice["has_figure"]:
                record["slider"] = f"#{choice['index']} {choice['label']}".strip()
                redraw_ms = pages.move_slider(page, choice["index"])
                record["slider_redraw_ms"] = [round(ms, 1) for ms in redraw_ms]
                record["slider_redraw_median_ms"] = round(statistics.median(redraw_ms), 1)

            shown = pages.visible_errors(page)
            assert not shown, f"voila {NOTEBOOK.name}: errors shown:\n" + "\n".join(shown)
            assert not log.page_errors, "JavaScript errors:\n" + "\n".join(log.page_errors)
        finally:
            # Voila's page scrolls inside an element, which full_page does not see:
            # grow the window to the content's height (capped) so the shot shows it all.
            height = page.evaluate("() => Math.max(...Array.from(document.querySelectorAll("
                                   "'*'), e => e.scrollHeight))")
            page.set_viewport_size({"width": 1280, "height": max(900, min(int(height), 12000))})
            page.wait_for_timeout(500)
            page.screenshot(path=str(artifacts_dir / f"present_{NOTEBOOK.stem}.png"),
                            full_page=True)
            ctx.close()
    finally:
        server.stop()
