"""Student versions: no solution code left, the notebook runs except at the stubs, checkers say "not yet".

``scripts/make_student.py`` (``make student``) writes them from the instructor notebooks,
whose solutions sit between ``### BEGIN SOLUTION`` / ``### END SOLUTION``.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import nbformat
import pytest

from nnlib.exercises import NOT_YET, RIGHT

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
_spec = importlib.util.spec_from_file_location("make_student", ROOT / "scripts" / "make_student.py")
make_student = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_student)

CODING_EXERCISE = re.compile(r"^\s*(def|class) ", re.M)


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
        else:
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "".join(parts)


# ---- the transformation itself ------------------------------------------------------------
def test_a_solution_becomes_a_stub_with_its_indentation():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n\nprint(f)"
    out = make_student.strip_solutions(src)
    assert "return 2 * x" not in out and "SOLUTION" not in out
    assert '    raise NotImplementedError("replace this line with your code")' in out
    assert out.endswith("print(f)")
    assert make_student.solution_lines(src) == ["return 2 * x"]


def test_markdown_answers_are_blanked():
    out = make_student.strip_solutions("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", "markdown")
    assert out == "Why?\nYOUR ANSWER HERE"


@pytest.mark.parametrize("src, where", [
    ("### BEGIN SOLUTION\nx = 1", "without an END"),
    ("x = 1\n### END SOLUTION", "without a BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
])
def test_unbalanced_markers_are_refused(src, where):
    with pytest.raises(make_student.MarkerError, match=where):
        make_student.strip_solutions(src)


def test_outputs_and_widget_state_are_cleared():
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"state": {}}
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    cell.execution_count = 1
    nb.cells.append(cell)
    student = make_student.student_version(nb)
    assert student.cells[0].outputs == [] and student.cells[0].execution_count is None
    assert "widgets" not in student.metadata and nb.cells[0].outputs  # the original is untouched


def test_the_command_writes_every_notebook(tmp_path):
    if not NOTEBOOKS:
        pytest.skip("no notebooks")
    assert make_student.main(["--out", str(tmp_path), str(NOTEBOOKS[0])]) == 0
    assert (tmp_path / NOTEBOOKS[0].name).exists()


# ---- every notebook ---------------------------------------------------------------------------
notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])


@notebook
def test_every_notebook_has_at_least_two_coding_exercises(path):
    nb = nbformat.read(path, as_version=4)
    coding = [c for c in nb.cells if c.cell_type == "code" and make_student.solution_regions(c.source)
              and CODING_EXERCISE.search(c.source)]
    assert len(coding) >= 2, f"{path.name}: {len(coding)} coding exercise(s); the standard asks for at least two"


@notebook
def test_the_student_version_holds_no_solution_code(path):
    nb = nbformat.read(path, as_version=4)
    student = make_student.student_version(nb)
    cells = [c for c in nb.cells if c.cell_type in ("code", "markdown")]
    solutions = {ln for c in cells for ln in make_student.solution_lines(c.source)}
    # a solution line that also stands outside every solution (e.g. "return out") gives nothing away
    elsewhere = {ln.strip() for c in cells for ln in make_student.strip_solutions(c.source, c.cell_type).splitlines()}
    text = "\n".join(c.source for c in student.cells)
    assert "SOLUTION" not in text
    leaked = sorted(ln for ln in solutions - elsewhere if ln in {s.strip() for s in text.splitlines()})
    assert not leaked, f"{path.name}: solution lines left in the student version: {leaked[:3]}"


@pytest.mark.slow
@notebook
def test_the_student_version_runs_and_every_checker_says_not_yet(path, tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    student = make_student.student_version(nb)
    client = NotebookClient(student, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    env = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        client.execute()
    finally:
        if env is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env
    for i, (mine, theirs) in enumerate(zip(nb.cells, student.cells)):
        if theirs.cell_type != "code":
            continue
        for out in theirs.outputs:
            if out.output_type == "error":
                assert out.ename == "NotImplementedError", (
                    f"{path.name} cell {i}: the student version fails with {out.ename}: {out.evalue} "
                    "(only the stubs may raise; later cells must not use variables an exercise computes)")
        if RIGHT in _text(mine):
            got = _text(theirs)
            assert NOT_YET in got or "NotImplementedError" in got, (
                f"{path.name} cell {i}: the checker said right with the solution and should say "
                f"'not yet' on the stub; it printed {got[:200]!r}")
