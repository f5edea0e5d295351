"""What the browser suite does inside a page: open, run, count controls, move a slider.

The functions take a Playwright ``Page``. JupyterLab is driven through its own command
registry (``window.jupyterapp``, exposed by the server flag the suite passes), which is
what the menu item Run > Run All Cells calls; reading results goes through the cells'
models (outputs as nbformat JSON) and the DOM (what a person sees).
"""

from __future__ import annotations

import time
from collections import Counter

from . import env

# A dialog that asks for a kernel or shows a notice: accept it.
_DIALOG_ACCEPT = ".jp-Dialog .jp-Dialog-button.jp-mod-accept"


class PageLog:
    """Collects what the page reports: uncaught JavaScript errors and console errors."""

    def __init__(self, page):
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("console", self._console)

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.console_errors.append(msg.text)


def accept_dialogs(page) -> int:
    """Click the accept button of every open JupyterLab dialog; return how many."""
    clicked = 0
    buttons = page.locator(_DIALOG_ACCEPT)
    while buttons.count() and clicked < 5:
        try:
            buttons.first.click(timeout=2000)
            clicked += 1
        except Exception:  # noqa: BLE001 - the dialog closed by itself meanwhile
            break
    return clicked


def wait_for(page, js: str, timeout_s: float, what: str, arg=None, poll_s: float = 0.1):
    """Poll a JavaScript predicate, accepting dialogs meanwhile; return its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(js, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        accept_dialogs(page)
        page.wait_for_timeout(int(poll_s * 1000))


_PANEL_READY = """async () => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return false;
  const p = app.shell.currentWidget;
  if (!p || !p.sessionContext || !p.context || !p.content) return false;
  if (!p.context.isReady) return false;
  const s = p.sessionContext.session;
  return !!(s && s.kernel && s.kernel.status === 'idle' && p.content.widgets.length);
}"""


def open_notebook(page, lab, name: str, timeout_s: float = 120.0) -> None:
    """Load JupyterLab on one notebook and wait for its kernel to be idle."""
    page.goto(lab.url(name), wait_until="domcontentloaded", timeout=timeout_s * 1000)
    wait_for(page, _PANEL_READY, timeout_s, f"{name} to open with an idle kernel")


_START_RUN_ALL = """() => {
  const app = window.jupyterapp;
  window.__nnlibRun = {done: false, ok: null, error: null};
  app.commands.execute('notebook:run-all-cells')
    .then(ok => { window.__nnlibRun = {done: true, ok: ok, error: null}; })
    .catch(e => { window.__nnlibRun = {done: true, ok: false, error: String(e)}; });
  return true;
}"""

_RUN_FINISHED = """() => {
  const r = window.__nnlibRun;
  const p = window.jupyterapp.shell.currentWidget;
  const k = p.sessionContext.session && p.sessionContext.session.kernel;
  if (k && ['dead', 'autorestarting', 'restarting'].includes(k.status)) {
    return {done: true, ok: false, error: 'the kernel died (' + k.status + ')'};
  }
  if (!r || !r.done || !k || k.status !== 'idle') return false;
  const running = Array.from(p.content.node.querySelectorAll('.jp-InputPrompt'))
    .some(e => e.textContent.includes('*'));
  return running ? false : r;
}"""


def run_all(page, timeout_s: float) -> tuple[float, dict]:
    """Run every cell (JupyterLab's Run All Cells) and wait until the kernel is idle.

    Returns
    -------
    seconds : float
        Wall time from the command to the last cell finished.
    result : dict
        ``ok`` (False when a cell failed and execution stopped there), ``error``.
    """
    t0 = time.perf_counter()
    page.evaluate(_START_RUN_ALL)
    result = wait_for(page, _RUN_FINISHED, timeout_s, "Run All Cells to finish")
    return time.perf_counter() - t0, result


_CELLS = """() => {
  const p = window.jupyterapp.shell.currentWidget;
  return p.content.widgets.map((c, i) => ({
    index: i,
    type: c.model.type,
    source: c.model.sharedModel.getSource(),
    execution_count: c.model.type === 'code' ? c.model.executionCount : null,
    outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : [],
  }));
}"""


def cells(page) -> list[dict]:
    """The notebook's cells as the front end holds them (outputs in nbformat JSON)."""
    return page.evaluate(_CELLS)


def error_outputs(cell_list: list[dict]) -> list[str]:
    """One line per error output: which cell, which exception."""
    found = []
    for cell in cell_list:
        for out in cell["outputs"]:
            if out.get("output_type") == "error":
                found.append(f"cell {cell['index']}: {out.get('ename')}: {out.get('evalue')}")
    return found


_VISIBLE_ERRORS = """() => {
  const found = [];
  for (const el of document.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')) {
    const t = el.textContent || '';
    if (/Traceback|Error:/.test(t)) found.push(t.slice(0, 300));
  }
  const body = document.body.innerText || '';
  for (const phrase of ['Error displaying widget', 'There was an error when executing cell',
                        'Failed to load model class', 'Could not create a model']) {
    if (body.includes(phrase)) found.push(phrase);
  }
  return found;
}"""


def visible_errors(page) -> list[str]:
    """Error text a person would see on the page: tracebacks, widget load failures."""
    return page.evaluate(_VISIBLE_ERRORS)


def count_controls(page) -> Counter:
    """The controls rendered in the page, by kind (see ``env.CONTROL_SELECTORS``)."""
    counts = page.evaluate(
        "(sel) => Object.fromEntries(Object.entries(sel).map("
        "([k, s]) => [k, document.querySelectorAll(s).length]))",
        env.CONTROL_SELECTORS,
    )
    return Counter({k: v for k, v in counts.items() if v})


def wait_for_controls(page, expected: Counter, timeout_s: float = 60.0) -> Counter:
    """Wait until at least the expected controls are rendered; return what is there."""
    deadline = time.monotonic() + timeout_s
    while True:
        seen = count_controls(page)
        if all(seen[k] >= n for k, n in expected.items()) or time.monotonic() > deadline:
            # Widget views render asynchronously: give stragglers a moment, then count.
            page.wait_for_timeout(500)
            return count_controls(page)
        page.wait_for_timeout(200)


_PICK_SLIDER = """() => {
  // The first enabled slider whose cell (or output area) shows a figure; else the first
  // slider. Indices count all sliders, as move_slider's locator does.
  const sliders = Array.from(document.querySelectorAll('.widget-slider'));
  const scope = el => el.closest('.jp-Cell') || el.closest('.jp-OutputArea') || document.body;
  const enabled = el => {
    const t = el.querySelector('.noUi-target');
    return t && !t.hasAttribute('disabled') && el.querySelector('.noUi-handle');
  };
  const label = el => ((el.querySelector('.widget-label') || {}).textContent || '').trim();
  for (let i = 0; i < sliders.length; i++) {
    if (enabled(sliders[i]) && scope(sliders[i]).querySelector('img')) {
      return {index: i, has_figure: true, label: label(sliders[i])};
    }
  }
  return sliders.length ? {index: 0, has_figure: false, label: label(sliders[0])} : null;
}"""

_ARM_REDRAW_PROBE = """(index) => {
  const slider = document.querySelectorAll('.widget-slider')[index];
  const scope = slider.closest('.jp-Cell') || slider.closest('.jp-OutputArea') || document.body;
  const srcs = () => Array.from(scope.querySelectorAll('img')).map(i => i.src);
  const before = srcs();
  const probe = {t0: null, ms: null};
  window.__nnlibProbe = probe;
  document.addEventListener('keydown', () => { probe.t0 = performance.now(); },
                            {capture: true, once: true});
  const obs = new MutationObserver(() => {
    const now = srcs();
    const changed = now.length > 0 &&
      (now.length !== before.length || now.some((s, k) => s !== before[k]));
    if (changed && probe.t0 !== null) { probe.ms = performance.now() - probe.t0; obs.disconnect(); }
  });
  obs.observe(scope, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  const h = slider.querySelector('.noUi-handle');
  return h ? {now: Number(h.getAttribute('aria-valuenow')), min: Number(h.getAttribute('aria-valuemin')),
              max: Number(h.getAttribute('aria-valuemax'))} : null;
}"""


def pick_slider(page) -> dict | None:
    """Which slider to move: ``{"index", "has_figure", "label"}``, or None without sliders."""
    return page.evaluate(_PICK_SLIDER)


def move_slider(page, index: int, moves: int = 3, timeout_s: float = 30.0) -> list[float]:
    """Move one slider by one step ``moves`` times; time each move to its redrawn figure.

    Each move is a key press on the slider's handle (ArrowRight, or ArrowLeft at the
    top of the range), as a person using the keyboard would; the time runs from the key
    press to the moment an image in the slider's cell differs from the one before.

    Returns
    -------
    list of float
        Milliseconds per move, as the browser measured them.

    Raises
    ------
    AssertionError
        When a move does not change any image in the slider's cell within ``timeout_s``.
    """
    handle = page.locator(".widget-slider").nth(index).locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    timings = []
    for move in range(moves):
        pos = page.evaluate(_ARM_REDRAW_PROBE, index)
        assert pos is not None, f"slider {index} has no handle to move"
        key = "ArrowLeft" if pos["now"] >= pos["max"] else "ArrowRight"
        handle.focus()
        page.keyboard.press(key)
        deadline = time.monotonic() + timeout_s
        while True:
            ms = page.evaluate("() => window.__nnlibProbe.ms")
            if ms is not None:
                timings.append(float(ms))
                break
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"move {move + 1} of slider {index} ({key} from {pos['now']}) did not "
                    f"change the figure in its cell within {timeout_s:.0f} s")
            page.wait_for_timeout(20)
        # Let the callback's trailing messages settle before the next move.
        page.wait_for_timeout(300)
    return timings
