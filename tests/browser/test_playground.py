"""The Playground (notebook 06) trains live in JupyterLab: Train, two seconds, a new boundary.

Opens the notebook in headless Chromium, runs it, presses the Playground's Train button and
watches the figure for two seconds: every new picture the kernel sends replaces the image's
``src``, and a MutationObserver counts them. The boundary must have changed (another picture
than before Train), and the frame rate the browser saw (pictures / seconds) goes to the
suite's report (``playground`` in timings.json), as a figure to read, not as an assertion.
"""

from __future__ import annotations

import pytest

from . import env, pages
from .conftest import REPORT

pytestmark = pytest.mark.browser

NOTEBOOK = "06_playground.ipynb"
TRAIN_S = 2.0

# Watch the images of the cell holding the Train button; count every new src.
_ARM = """() => {
  const button = Array.from(document.querySelectorAll('button.jupyter-button'))
    .find(b => b.textContent.trim() === 'Train');
  if (!button) return null;
  const cell = button.closest('.jp-Cell') || document.body;
  const img = Array.from(cell.querySelectorAll('img')).sort((a, b) =>
    b.naturalWidth * b.naturalHeight - a.naturalWidth * a.naturalHeight)[0];
  if (!img) return null;
  const watch = {before: img.src, frames: 0, t0: null, t1: null, last: img.src};
  window.__nnlibPlayground = watch;
  new MutationObserver(() => {
    if (img.src !== watch.last && watch.t0 !== null) {
      watch.frames += 1; watch.t1 = performance.now(); watch.last = img.src;
    }
  }).observe(img, {attributes: true, attributeFilter: ['src']});
  return {width: img.naturalWidth, height: img.naturalHeight};
}"""

_CLICK = """(label) => {
  const button = Array.from(document.querySelectorAll('button.jupyter-button'))
    .find(b => b.textContent.trim() === label);
  if (label === 'Train') window.__nnlibPlayground.t0 = performance.now();
  button.click();
  return true;
}"""

_STATUS = """() => {
  const button = Array.from(document.querySelectorAll('button.jupyter-button'))
    .find(b => b.textContent.trim() === 'Train');
  const row = button.parentElement;
  return (row.innerText || '').replace(/\\s+/g, ' ');
}"""


def test_the_playground_trains_live_and_its_boundary_moves(lab, page_factory, artifacts_dir):
    if not (lab.root_dir / NOTEBOOK).exists():
        pytest.skip(f"no {NOTEBOOK}")
    page = page_factory()
    log = pages.PageLog(page)
    try:
        pages.open_notebook(page, lab, NOTEBOOK)
        run_s, result = pages.run_all(page, 300)
        assert result.get("ok") is not False, f"Run All Cells stopped early ({result.get('error')})"
        assert not pages.error_outputs(pages.cells(page))
        pages.wait_for(page, _ARM, 60, "the Playground's figure and its Train button")
        page.locator("button.jupyter-button", has_text="Train").first.scroll_into_view_if_needed()
        page.evaluate(_CLICK, "Train")
        page.wait_for_timeout(int(TRAIN_S * 1000))
        watch = page.evaluate("() => window.__nnlibPlayground")
        page.evaluate(_CLICK, "Pause")
        status = pages.wait_for(page, f"() => ({_STATUS})().includes('paused') && ({_STATUS})()", 30,
                                "the run to pause")
        seconds = ((watch["t1"] or watch["t0"]) - watch["t0"]) / 1000 if watch["frames"] else TRAIN_S
        fps = watch["frames"] / TRAIN_S
        REPORT["playground"][NOTEBOOK] = {
            "run_all_s": round(run_s, 2), "frames_in_2s": watch["frames"], "frames_per_s": round(fps, 1),
            "last_frame_at_s": round(seconds, 2), "status_after_pause": status}
        assert watch["frames"] >= 2, f"the figure changed {watch['frames']} times in {TRAIN_S} s of training"
        assert watch["last"] != watch["before"], "the boundary picture is the one from before Train"
        assert "step" in status and "loss" in status
        assert not pages.visible_errors(page)
    finally:
        try:
            page.screenshot(path=str(artifacts_dir / "06_playground_training.png"))
        finally:
            lab.shutdown_kernels()
    assert not log.page_errors, "JavaScript errors:\n" + "\n".join(log.page_errors)
    assert env.chromium_path()  # the suite ran in a real browser
