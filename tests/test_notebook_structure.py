"""Every notebook in notebooks/ follows the notebook standard's structural rules.

What nbval cannot see: the name, the title, the exact setup cell that makes the notebook
work in Colab, outputs stored from one top-to-bottom run with no error in them, the
``nbval-ignore-output`` tag used only on widget and timing cells (each with its reason),
widget state stored (the browser suite derives its expectations from it), no absolute
paths, and a summary with exercises at the end. The setup cell itself is run in
subprocesses: with nnlib importable it does nothing, without it it installs nnlib from the
repository named in pyproject, and in Colab it enables the custom widget manager.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.browser.env import WIDGET_VIEW_MIME, expected_controls

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NAME = re.compile(r"^(\d\d)_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb$")
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
MAX_BYTES = 5 * 1024 * 1024  # outputs are stored in git: keep each notebook small
IGNORE = "nbval-ignore-output"
# Why a cell may be excluded from nbval's comparison, besides showing a widget.
IGNORE_REASON = re.compile(r"tim(e|es|ed|ing|ings)\b|progress|widget|clock|speed|\bms\b", re.I)
ABSOLUTE_IN_SOURCE = re.compile(
    r"""["'](?:/(?:home|Users|root|tmp|work|mnt|opt|var|usr|data|srv)\b|~/|[A-Za-z]:\\)""")
ABSOLUTE_IN_OUTPUT = re.compile(r"/(?:home|Users|root|tmp|work)/|site-packages|[A-Za-z]:\\\\")


def setup_cell() -> str:
    """The exact first code cell, as CONTRIBUTING.md prints it."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    m = re.search(r"```python\n(# Setup:.*?)\n```", text, re.S)
    assert m, "CONTRIBUTING.md no longer shows the setup cell in a ```python block"
    return m.group(1)


def _load(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _src(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _code_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def _shows_widget(cell) -> bool:
    return any(WIDGET_VIEW_MIME in out.get("data", {}) for out in cell.get("outputs", []))


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _output_text(out) -> str:
    if out.output_type == "stream":
        return out.text if isinstance(out.text, str) else "".join(out.text)
    if out.output_type == "error":
        return "\n".join(out.traceback)
    data = out.get("data", {})
    text = data.get("text/plain", "")
    return text if isinstance(text, str) else "".join(text)


def _ids(paths):
    return [p.stem for p in paths]


notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))


def test_there_are_notebooks_and_their_numbers_are_unique():
    if not NOTEBOOKS:
        pytest.skip("no notebooks yet")
    numbers = [NAME.match(p.name).group(1) for p in NOTEBOOKS if NAME.match(p.name)]
    assert len(numbers) == len(set(numbers)), f"two notebooks share a number: {numbers}"


@notebook
def test_name_is_number_then_topic(path):
    assert NAME.match(path.name), (
        f"{path.name}: notebooks are named NN_topic.ipynb (two digits, lower-case words "
        f"joined by _)")


@notebook
def test_is_valid_nbformat_4_with_a_python3_kernel(path):
    nb = _load(path)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", (
        f"{path.name}: kernelspec must be python3 (what Binder, Colab and nbval start)")
    assert path.stat().st_size < MAX_BYTES, (
        f"{path.name} is {path.stat().st_size / 1e6:.1f} MB; keep stored outputs small")


@notebook
def test_opens_with_a_title_then_the_setup_cell(path):
    nb = _load(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and re.match(r"# \S", _src(first)), (
        f"{path.name}: the first cell is a markdown title ('# ...')")
    code = _code_cells(nb)
    assert code, f"{path.name} has no code"
    assert _src(code[0][1]).strip("\n") == setup_cell(), (
        f"{path.name}: the first code cell must be exactly the setup cell in CONTRIBUTING.md "
        "(python scripts/sync_setup_cell.py writes it)")


def test_notebooks_are_numbered_in_sequence():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS if NAME.match(p.name)]
    assert numbers == list(range(1, len(numbers) + 1)), f"notebook numbers {numbers} should run 01, 02, ..."


@notebook
def test_says_what_it_assumes_and_how_long_it_takes(path):
    intro = _src(_load(path).cells[0])
    assert re.search(r"prerequisite|assumes|before this notebook", intro, re.I), (
        f"{path.name}: the first cell should state the prerequisites")
    assert re.search(r"\b\d+(?:\s*[-–]\s*\d+)?\s*minutes\b", intro), (
        f"{path.name}: the first cell should give a realistic time ('about 40 minutes')")


TOP_LEVEL_DEFINITION = re.compile(r"^(?:def|class) \w+", re.M)
ALIASES = {"figures": "figures", "widgets": "widgets", "exercises": "checks"}
ALIAS_IMPORT = re.compile(r"^from nnlib\.(figures|widgets|exercises) import (\w+)(?: as (\w+))?", re.M)


@notebook
def test_writes_the_idea_in_its_own_cells(path):
    code = "\n".join(_src(c) for _, c in _code_cells(_load(path)))
    found = TOP_LEVEL_DEFINITION.findall(code)
    assert len(found) >= 2, (
        f"{path.name}: defines {len(found)} function(s)/class(es) in its cells; the idea's code belongs "
        "in the notebook (at least two definitions)")


@notebook
def test_imports_follow_the_one_alias_convention(path):
    code = "\n".join(_src(c) for _, c in _code_cells(_load(path)))
    assert "nnlib.dashboards" not in code, f"{path.name}: imports the retired nnlib.dashboards"
    for package, module, alias in ALIAS_IMPORT.findall(code):
        assert alias == ALIASES[package], (
            f"{path.name}: 'from nnlib.{package} import {module}' must be imported as {ALIASES[package]!r} "
            f"(got {alias or 'no alias'!r})")


@notebook
def test_ends_with_a_summary_and_exercises(path):
    markdown = "\n".join(_src(c) for c in _load(path).cells if c.cell_type == "markdown")
    summary = re.search(r"^#+ .*Summary", markdown, re.M | re.I)
    assert summary, f"{path.name}: no '## Summary' heading"
    assert re.search(r"exercise", markdown[summary.start():], re.I), (
        f"{path.name}: no exercises after the summary")


@notebook
def test_outputs_are_stored_from_one_top_to_bottom_run(path):
    nb = _load(path)
    counts = [(i, c.execution_count) for i, c in _code_cells(nb) if _src(c).strip()]
    unexecuted = [i for i, n in counts if n is None]
    assert not unexecuted, (
        f"{path.name}: cells {unexecuted} have no stored run; store outputs with "
        f"`make execute NB={path.name[:2]}`")
    assert [n for _, n in counts] == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {[n for _, n in counts]} are not 1..{len(counts)}: "
        f"re-execute it top to bottom in a fresh kernel")
    assert any(c.get("outputs") for _, c in _code_cells(nb)), f"{path.name}: no outputs stored"


@notebook
def test_no_error_is_stored(path):
    for i, cell in _code_cells(_load(path)):
        for out in cell.get("outputs", []):
            assert out.output_type != "error", (
                f"{path.name} cell {i}: stored {out.ename}: {out.evalue}")
            if out.output_type == "stream" and out.name == "stderr":
                assert "Traceback" not in _output_text(out), (
                    f"{path.name} cell {i}: a traceback is stored on stderr")


@notebook
def test_only_widget_and_timing_cells_skip_nbval(path):
    nb = _load(path)
    code = _code_cells(nb)
    for pos, (i, cell) in enumerate(code):
        tags = _tags(cell)
        others = [t for t in tags if t.startswith("nbval") and t != IGNORE]
        assert not others, f"{path.name} cell {i}: nbval tags {others} hide it from the tests"
        src = _src(cell)
        if _shows_widget(cell):
            assert IGNORE in tags, (
                f"{path.name} cell {i} shows a widget: tag it {IGNORE} (its state differs "
                f"on every run)")
            # CONTRIBUTING: the cell before calls the same logic at the defaults and
            # prints a result nbval does compare.
            if pos > 0:
                prev_i, prev = code[pos - 1]
                assert IGNORE not in _tags(prev) or _shows_widget(prev), (
                    f"{path.name} cell {prev_i}, before the widget in cell {i}, is hidden "
                    f"from nbval: it should print the callback's result at the defaults")
        if IGNORE in tags:
            comments = " ".join(ln for ln in src.splitlines() if ln.lstrip().startswith("#"))
            assert comments, f"{path.name} cell {i}: say in a comment why nbval ignores it"
            assert _shows_widget(cell) or IGNORE_REASON.search(comments), (
                f"{path.name} cell {i} is tagged {IGNORE} but shows no widget and its "
                f"comment names no timing or progress bar: {comments[:120]!r}")


@notebook
def test_widget_state_is_stored_for_every_control_shown(path):
    # The browser suite counts the controls each notebook must render from this state.
    nb = json.loads(path.read_text(encoding="utf-8"))
    expected_controls(nb)  # raises ValueError naming the cell when state is missing


@notebook
def test_no_absolute_paths_and_no_extra_installs(path):
    nb = _load(path)
    for i, cell in _code_cells(nb):
        src = _src(cell)
        m = ABSOLUTE_IN_SOURCE.search(src)
        assert not m, f"{path.name} cell {i}: absolute path {src[m.start():m.start() + 40]!r}"
        for out in cell.get("outputs", []):
            text = _output_text(out)
            m = ABSOLUTE_IN_OUTPUT.search(text)
            assert not m, (f"{path.name} cell {i}: a machine-specific path is stored in its "
                           f"output: {text[max(0, m.start() - 20):m.end() + 40]!r}")
        if i != _code_cells(nb)[0][0]:
            assert not re.search(r"^\s*[!%]\s*pip\b|%matplotlib\s+widget|ipympl", src, re.M), (
                f"{path.name} cell {i}: installs or switches backend outside the setup cell")


# -- the setup cell itself ---------------------------------------------------------------

# Replaces subprocess.check_call so nothing is installed, and records what would run.
_RECORDER = """
import json, subprocess, sys, types
CALLS = []
def _record(cmd, *a, **k):
    CALLS.append(list(cmd))
    return 0
subprocess.check_call = _record
COLAB = []
if {colab}:
    google = types.ModuleType("google"); colab = types.ModuleType("google.colab")
    output = types.ModuleType("google.colab.output")
    output.enable_custom_widget_manager = lambda: COLAB.append("enabled")
    colab.output = output; google.colab = colab
    sys.modules.update({{"google": google, "google.colab": colab, "google.colab.output": output}})
"""
_REPORT = "\nprint(json.dumps({'calls': CALLS, 'colab': COLAB}))\n"


def _run_setup(tmp_path, *, nnlib_importable: bool, colab: bool) -> dict:
    code = _RECORDER.format(colab=colab) + setup_cell() + _REPORT
    # -I -S: no site-packages, no cwd on the path, so nnlib cannot be found.
    flags = [] if nnlib_importable else ["-I", "-S"]
    proc = subprocess.run([sys.executable, *flags, "-c", code], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_setup_cell_does_nothing_where_nnlib_is_installed(tmp_path):
    result = _run_setup(tmp_path, nnlib_importable=True, colab=False)
    assert result == {"calls": [], "colab": []}


def test_setup_cell_installs_nnlib_from_the_repository_when_missing(tmp_path):
    # One key, read without tomllib (Python 3.10 has none).
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    homepage = re.search(r'^Homepage\s*=\s*"([^"]+)"', pyproject, re.M).group(1).rstrip("/")
    result = _run_setup(tmp_path, nnlib_importable=False, colab=False)
    assert len(result["calls"]) == 1, result
    cmd = result["calls"][0]
    assert cmd[1:5] == ["-m", "pip", "install", "-q"], cmd
    assert cmd[-1] == f"nnlib @ git+{homepage}", (
        f"the setup cell installs {cmd[-1]!r}; pyproject's Homepage is {homepage}")
    assert result["colab"] == []


def test_setup_cell_enables_colabs_widget_manager(tmp_path):
    result = _run_setup(tmp_path, nnlib_importable=True, colab=True)
    assert result == {"calls": [], "colab": ["enabled"]}
