"""Fixtures of the browser suite: Chromium, one JupyterLab server, the timings report.

Run alone with ``pytest -m browser tests/browser`` (``make browser``). Without Chromium
or Playwright every test here skips with the reason; with them, nothing is skipped.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from . import env

# Filled by the tests, printed at the end of the run and written to timings.json.
SECTIONS = ("notebooks", "present", "playground")
REPORT: dict = {section: {} for section in SECTIONS}
_SESSION_START = time.perf_counter()


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = env.chromium_path()
    if path is None:
        pytest.skip("no Chromium found (install Debian's chromium, or set CHROMIUM=/path)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_executable):
    """Headless Chromium driven by Playwright; Playwright's own browser download is never used."""
    sync_api = pytest.importorskip("playwright.sync_api")
    pw = sync_api.sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=chromium_executable, headless=True,
                               args=env.CHROMIUM_FLAGS)
    except Exception:
        pw.stop()
        raise
    try:
        yield b
    finally:
        b.close()
        pw.stop()


@pytest.fixture(scope="session")
def artifacts_dir():
    env.ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return env.ARTIFACTS_DIR


@pytest.fixture(scope="session")
def lab(tmp_path_factory, artifacts_dir):
    """JupyterLab on a temporary copy of the notebooks (autosave never touches the repo)."""
    work = tmp_path_factory.mktemp("lab")
    root = work / "notebooks"
    source = env.notebooks_dir()
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = env.JupyterLab(root, work / "jupyter", artifacts_dir / "jupyterlab.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page_factory(browser):
    """New isolated pages (own context each), all closed after the test."""
    contexts = []

    def make(width: int = 1400, height: int = 1000):
        ctx = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def _summary_lines() -> list[str]:
    lines = []
    for name, rec in REPORT["notebooks"].items():
        redraw = rec.get("slider_redraw_ms")
        redraw_txt = (f"slider->figure {', '.join(f'{ms:.0f}' for ms in redraw)} ms "
                      f"(median {rec['slider_redraw_median_ms']:.0f}; slider "
                      f"{rec.get('slider', '?')!r})") if redraw else "no slider moved"
        lines.append(f"{name:<40} run all {rec['run_all_s']:6.1f} s   {redraw_txt}")
    for name, rec in REPORT["present"].items():
        # A test that failed early leaves some figures out: print what was measured.
        parts = [f"{label} {rec[key]:.2f} s" for key, label in (
            ("first_visit_s", "first visit"), ("later_visit_s", "later visit"),
            ("later_visit_slide_s", "later visit's first slide"), ("test_s", "test"))
            if key in rec]
        if "slider_redraw_ms" in rec:
            parts.append(f"slider drag->figure {rec['slider_redraw_ms']:.0f} ms")
        lines.append(f"{'slides ' + name:<40} {', '.join(parts) or 'not opened'}")
    for name, rec in REPORT["playground"].items():
        lines.append(f"{'training ' + name:<40} {rec['frames_per_s']:5.1f} frames/s while training "
                     f"({rec['frames_in_2s']} new pictures in 2 s)")
    return lines


def pytest_sessionfinish(session, exitstatus):
    if not any(REPORT[section] for section in SECTIONS):
        return
    REPORT["suite_s"] = round(time.perf_counter() - _SESSION_START, 1)
    env.ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    (env.ARTIFACTS_DIR / "timings.json").write_text(json.dumps(REPORT, indent=2) + "\n",
                                                    encoding="utf-8")


def pytest_terminal_summary(terminalreporter):
    if not any(REPORT[section] for section in SECTIONS):
        return
    terminalreporter.section("browser timings (figures to read, not assertions)")
    for line in _summary_lines():
        terminalreporter.write_line(line)
    terminalreporter.write_line(
        f"browser suite {time.perf_counter() - _SESSION_START:.1f} s; "
        f"written to {env.ARTIFACTS_DIR / 'timings.json'}")
