"""Presentation mode: every notebook served as slides (``make present NB=..``), in Chromium.

For each notebook the test writes its presentation copy with ``scripts/present.py`` (the
code ``make present`` runs), starts Voila with the same command line (slide template, code
stripped, two preheated kernels, ``NNLIB_SCALE=projector``) and then, in headless Chromium:

- opens the deck once its kernel pool exists (the first visit waits for the preheating
  kernel to run the notebook), then again (a later visit: it must show its first slide in under ``LATER_VISIT_S``
  seconds and every control in under ``LATER_VISIT_CONTROLS_S``, both from preheated kernels);
- steps through two slides with ArrowRight and Space, jumps to a section from the contents
  slide, opens and closes the overview (Esc);
- drags a slider that sits next to a figure and waits for the figure to change;
- asserts that no code, no checker verdict and no error shows anywhere in the deck.

Times land in the suite's REPORT (printed at the end, written to artifacts/browser/timings.json)
and a screenshot of the slider's slide in ``artifacts/browser/present_NN.png``.
"""

from __future__ import annotations

import importlib.util
import json
import time

import pytest

from . import env, pages
from .conftest import REPORT

pytestmark = pytest.mark.browser

_spec = importlib.util.spec_from_file_location("present", env.REPO_ROOT / "scripts" / "present.py")
present = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(present)

FIRST_VISIT_TIMEOUT_S = 300  # the first visit waits for the notebook to run (LeNet: ~90 s)
LATER_VISIT_S = 2.0  # first slide shown, keys working
# Every control live (they sit on later slides). Voila's widget manager loads ~1 MB of
# JavaScript before it connects to the kernel: about 2.5 s here on a loaded 2-core machine;
# without preheating it is the notebook's run time on top (13-35 s measured).
LATER_VISIT_CONTROLS_S = 5.0
CHECKER_TEXT = ("✓ Right", "✗ Not yet", "Not yet:")
CODE_SELECTOR = ".jp-CodeCell .jp-InputArea, .jp-InputPrompt, .cm-editor, .CodeMirror"

_HASH = "() => location.hash"
_CURRENT = "() => (document.querySelector('.reveal .slides section.present section.present')" \
           " || document.querySelector('.reveal .slides section.present') || {}).innerText || ''"

# Where each slider sits: its slide's hash, its label, whether its cell shows a figure.
_SLIDERS = """() => {
  const tops = Array.from(document.querySelectorAll('.reveal .slides > section'));
  return Array.from(document.querySelectorAll('.widget-slider')).map((s, index) => {
    const own = s.closest('section');
    const top = tops.find(t => t === own || t.contains(own));
    const subs = Array.from(top.querySelectorAll(':scope > section'));
    const v = subs.length ? subs.indexOf(own) : 0;
    const cell = s.closest('.jp-Cell') || s.closest('.jp-OutputArea') || own;
    const handle = s.querySelector('.noUi-handle');
    return {index, hash: '#/' + tops.indexOf(top) + (v > 0 ? '/' + v : ''),
            label: ((s.querySelector('.widget-label') || {}).textContent || '').trim(),
            has_figure: !!cell.querySelector('img'),
            enabled: !!handle && !s.querySelector('.noUi-target[disabled]')};
  });
}"""

_CELL_IMAGES = """(index) => {
  const s = document.querySelectorAll('.widget-slider')[index];
  const cell = s.closest('.jp-Cell') || s.closest('.jp-OutputArea') || s.closest('section');
  return Array.from(cell.querySelectorAll('img')).map(i => i.src.length + ':' + i.src.slice(-64));
}"""

# Output text that is exactly a verdict, as an unassigned checker call would print.
_BARE_VERDICTS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
  .map(e => (e.textContent || '').trim()).filter(t => t === 'False' || t === 'True')"""


def _deck_cells_text(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def _open(browser, url: str, expected, timeout_s: float) -> tuple:
    """A new page on ``url``: (page, PageLog, seconds to the first slide, seconds to the
    expected controls)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    log = pages.PageLog(page)
    t0 = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
    page.wait_for_selector(".reveal .slides section.present", state="visible",
                           timeout=timeout_s * 1000)
    visible = time.perf_counter() - t0
    deadline = time.monotonic() + timeout_s
    while not all(pages.count_controls(page)[k] >= n for k, n in expected.items()):
        assert time.monotonic() < deadline, f"controls did not render within {timeout_s} s"
        page.wait_for_timeout(50)
    controls = time.perf_counter() - t0
    page.wait_for_timeout(500)  # stragglers: the count below must not grow any more
    seen = pages.count_controls(page)
    for kind in sorted(set(expected) | set(seen)):
        assert seen[kind] == expected[kind], (
            f"expected {expected[kind]} {kind} control(s), the deck renders {seen[kind]}")
    return page, log, visible, controls


def _press(page, key: str) -> str:
    before = page.evaluate(_HASH)
    page.keyboard.press(key)
    page.wait_for_function(f"() => location.hash !== {json.dumps(before)}", timeout=5000)
    page.wait_for_timeout(150)
    return page.evaluate(_HASH)


def _drag_slider(page, slider: dict, timeout_s: float = 30.0) -> float:
    """Drag one slider's handle by a tenth of its track; ms until its cell's figure changes."""
    page.evaluate(f"() => {{ location.hash = {json.dumps(slider['hash'])}; }}")
    page.wait_for_timeout(600)  # reveal's layout of the new slide
    handle = page.locator(".widget-slider").nth(slider["index"]).locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    track = page.locator(".widget-slider").nth(slider["index"]).locator(".noUi-target").first
    box, width = handle.bounding_box(), track.bounding_box()["width"]
    before = page.evaluate(_CELL_IMAGES, slider["index"])
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    right_room = track.bounding_box()["x"] + width - x
    step = width / 10 if right_room > width / 10 else -width / 10
    t0 = time.perf_counter()
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + step, y, steps=4)
    page.mouse.up()
    deadline = time.monotonic() + timeout_s
    while page.evaluate(_CELL_IMAGES, slider["index"]) == before:
        assert time.monotonic() < deadline, (
            f"dragging slider {slider['label']!r} did not change its figure in {timeout_s} s")
        page.wait_for_timeout(20)
    return (time.perf_counter() - t0) * 1000


NOTEBOOKS = env.notebook_paths()


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks to present yet")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_notebook_as_slides(path, browser, tmp_path, artifacts_dir, monkeypatch):
    deck_path = present.build([path], tmp_path / "decks")[0]
    deck = env.load_notebook(deck_path)
    expected = env.expected_controls(deck)
    port = env.free_port()
    for name, value in present.voila_environment({}).items():
        monkeypatch.setenv(name, value)
    server = env.Voila(present.voila_command(deck_path, port, pool_size=2), port=port,
                       cwd=tmp_path, workdir=tmp_path / "jupyter",
                       log_path=artifacts_dir / f"voila_present_{path.stem}.log")
    record: dict = {"notebook": path.name}
    REPORT["present"][path.stem] = record
    t_start = time.perf_counter()
    server.start()
    record["server_up_s"] = round(time.perf_counter() - t_start, 2)
    # A request that comes before the pool's kernels exist gets a kernel of its own, which runs
    # the notebook from scratch (Voila 0.5): the first visit waits for the pool, as
    # scripts/present.py tells a lecturer to.
    deadline = time.monotonic() + 120
    while "is filled with" not in server.log_path.read_text(encoding="utf-8"):
        assert time.monotonic() < deadline, "Voila's kernel pool did not fill within 120 s"
        time.sleep(0.2)
    record["pool_started_s"] = round(time.perf_counter() - t_start, 2)
    try:
        first, _, visible, controls = _open(browser, server.base_url + "/", expected,
                                            FIRST_VISIT_TIMEOUT_S)
        record["first_visit_s"] = round(controls, 2)
        first.context.close()

        page, log, visible, controls = _open(browser, server.base_url + "/", expected,
                                             FIRST_VISIT_TIMEOUT_S)
        record["later_visit_slide_s"] = round(visible, 2)
        record["later_visit_s"] = round(controls, 2)
        try:
            assert visible < LATER_VISIT_S, (
                f"{path.name}: a later visit took {visible:.2f} s to show its first slide "
                f"(limit {LATER_VISIT_S} s)")
            assert controls < LATER_VISIT_CONTROLS_S, (
                f"{path.name}: a later visit took {controls:.2f} s to render its "
                f"{sum(expected.values())} control(s) (limit {LATER_VISIT_CONTROLS_S} s)")
            log_text = server.log_path.read_text(encoding="utf-8")
            assert log_text.count("Using pre-heated kernel") >= 2, (
                f"{path.name}: Voila did not serve both visits from preheated kernels")

            # Two slides forward, with both keys a speaker uses.
            title = page.evaluate(_CURRENT)
            assert _press(page, "ArrowRight") == "#/1"
            assert page.evaluate(_CURRENT).startswith("Contents")
            assert _press(page, "Space") == "#/2"
            assert page.evaluate(_CURRENT) not in ("", title)

            # A section from the contents slide, and the overview.
            page.evaluate("() => { location.hash = '#/1'; }")
            links = page.locator(".reveal section.present .nnlib-contents a")
            assert links.count() >= 3, "the contents slide links fewer than three sections"
            target = links.nth(2).get_attribute("href")
            links.nth(2).click()
            page.wait_for_function(f"() => location.hash === {json.dumps(target)}",
                                   timeout=5000)
            page.keyboard.press("Escape")
            page.wait_for_selector(".reveal.overview", timeout=5000)
            page.keyboard.press("Escape")
            page.wait_for_function("() => !document.querySelector('.reveal.overview')",
                                   timeout=5000)

            # Nothing of the code, the checkers or an error, on any slide (hidden ones too).
            assert page.locator(CODE_SELECTOR).count() == 0, "code elements are shown"
            text = page.evaluate("() => document.body.textContent")
            leaked = [src.splitlines()[0] for src in _deck_cells_text(deck)
                      if len(src.strip().splitlines()) >= 2 and src.strip() in text]
            assert not leaked, f"code shown: {leaked}"
            assert "importlib.util" not in text, "the setup cell's code is shown"
            shown = [phrase for phrase in CHECKER_TEXT if phrase in text]
            assert not shown, f"checker text shown: {shown}"
            assert not page.evaluate(_BARE_VERDICTS), "a bare True/False verdict is shown"
            errors = pages.visible_errors(page)
            assert not errors, "errors shown:\n" + "\n".join(errors)

            sliders = [s for s in page.evaluate(_SLIDERS) if s["enabled"] and s["has_figure"]]
            if sliders:
                record["slider"] = f"{sliders[0]['label']} on {sliders[0]['hash']}"
                record["slider_redraw_ms"] = round(_drag_slider(page, sliders[0]), 1)
            assert not log.page_errors, "JavaScript errors:\n" + "\n".join(log.page_errors)
        finally:
            page.screenshot(path=str(artifacts_dir / f"present_{path.stem}.png"))
            page.context.close()
    finally:
        server.stop()
    record["test_s"] = round(time.perf_counter() - t_start, 1)



@pytest.mark.skipif(len(NOTEBOOKS) < 2, reason="the index needs two notebooks")
def test_index_links_every_deck(browser, tmp_path, artifacts_dir, monkeypatch):
    """``make present`` without NB: the index deck, served with its decks (two here, the
    shortest to run: every deck preheats at start-up), links each one, and a link opens it."""
    chosen = sorted(NOTEBOOKS, key=lambda p: p.stat().st_size)[:2]
    chosen.sort()
    decks = tmp_path / "decks"
    present.build(chosen, decks, index=True)
    port = env.free_port()
    for name, value in present.voila_environment({}).items():
        monkeypatch.setenv(name, value)
    server = env.Voila(present.voila_command(decks, port, pool_size=1), port=port,
                       cwd=tmp_path, workdir=tmp_path / "jupyter",
                       log_path=artifacts_dir / "voila_present_index.log")
    server.start()
    try:
        deadline = time.monotonic() + 120
        while server.log_path.read_text(encoding="utf-8").count("is filled with") < 3:
            assert time.monotonic() < deadline, "the decks' kernel pools did not fill in 120 s"
            time.sleep(0.2)
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        page = ctx.new_page()
        log = pages.PageLog(page)
        page.goto(f"{server.base_url}/voila/render/{present.INDEX_NAME}",
                  wait_until="domcontentloaded", timeout=FIRST_VISIT_TIMEOUT_S * 1000)
        page.wait_for_selector(".reveal .slides section.present", state="visible",
                               timeout=FIRST_VISIT_TIMEOUT_S * 1000)
        links = page.locator(".reveal section.present .nnlib-contents a")
        assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
            p.name for p in chosen]
        text = page.evaluate("() => document.body.textContent")
        for key, what in present.KEYS:
            assert what in text, f"the index does not explain {key!r}"
        page.screenshot(path=str(artifacts_dir / "present_index.png"))
        links.nth(1).click()
        page.wait_for_url(f"**/voila/render/{chosen[1].name}*", timeout=30_000)
        page.wait_for_selector(".reveal .slides section.present", state="visible",
                               timeout=FIRST_VISIT_TIMEOUT_S * 1000)
        title = present.title_and_summary(env.load_notebook(chosen[1]))[0]
        assert title in page.evaluate(_CURRENT)
        assert not log.page_errors, "JavaScript errors:\n" + "\n".join(log.page_errors)
        ctx.close()
    finally:
        server.stop()
