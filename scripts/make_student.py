"""Write the student versions of the notebooks: solutions replaced by stubs, outputs cleared.

The notebooks in ``notebooks/`` are the instructor versions: every exercise's solution sits
between nbgrader's markers, so nbval runs and checks it::

    def relu_backward(grad_y, x):
        ### BEGIN SOLUTION
        return grad_y * (x > 0)
        ### END SOLUTION

In the student version the lines between the markers become a stub that raises
NotImplementedError (in markdown cells: "YOUR ANSWER HERE"), every output and execution
count is cleared, and the stored widget state is dropped. The checker cells stay, so a
student who runs the notebook gets "Not yet" until the stub is replaced.

Usage::

    python scripts/make_student.py                       # every notebook -> student/
    python scripts/make_student.py --out DIR notebooks/03_*.ipynb
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BEGIN = re.compile(r"^(\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
CODE_STUB = ("# YOUR CODE HERE", 'raise NotImplementedError("replace this line with your code")')
MARKDOWN_STUB = "YOUR ANSWER HERE"


class MarkerError(ValueError):
    """A BEGIN SOLUTION without its END, or the other way round."""


def solution_regions(source: str) -> list[tuple[int, int, str]]:
    """(first line, last line, indentation) of every region between the markers, 0-based."""
    regions, start, indent = [], None, ""
    for i, line in enumerate(source.splitlines()):
        m = BEGIN.match(line)
        if m:
            if start is not None:
                raise MarkerError(f"line {i + 1}: BEGIN SOLUTION inside another solution")
            start, indent = i, m.group(1)
        elif END.match(line):
            if start is None:
                raise MarkerError(f"line {i + 1}: END SOLUTION without a BEGIN")
            regions.append((start, i, indent))
            start = None
    if start is not None:
        raise MarkerError(f"line {start + 1}: BEGIN SOLUTION without an END")
    return regions


def strip_solutions(source: str, cell_type: str = "code") -> str:
    """``source`` with every solution region (markers included) replaced by a stub."""
    lines = source.splitlines()
    for start, stop, indent in reversed(solution_regions(source)):
        stub = [indent + s for s in CODE_STUB] if cell_type == "code" else [indent + MARKDOWN_STUB]
        lines[start:stop + 1] = stub
    return "\n".join(lines)


def solution_lines(source: str) -> list[str]:
    """The non-blank lines inside the solution regions (what a student version must not hold)."""
    lines = source.splitlines()
    return [ln.strip() for a, b, _ in solution_regions(source) for ln in lines[a + 1:b] if ln.strip()]


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with solutions stubbed, outputs and execution counts cleared."""
    out = nbformat.from_dict(nb)
    for cell in out.cells:
        if cell.cell_type in ("code", "markdown"):
            cell.source = strip_solutions(cell.source, cell.cell_type)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    out.metadata.pop("widgets", None)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--out", type=Path, default=ROOT / "student", help="folder to write to (default: student/)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    args.out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        try:
            student = student_version(nb)
        except MarkerError as err:
            print(f"{path.name}: {err}", file=sys.stderr)
            return 1
        n = sum(len(solution_regions(c.source)) for c in nb.cells if c.cell_type in ("code", "markdown"))
        nbformat.write(student, args.out / path.name)
        print(f"{path.name}: {n} solution(s) replaced -> {args.out / path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
