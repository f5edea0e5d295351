"""Write CONTRIBUTING.md's setup cell into the first code cell of every notebook.

The first code cell of each notebook must be exactly that cell (tests/test_notebook_structure.py
checks it). Where nnlib is installed the cell prints nothing, so the stored outputs stay valid
and the notebook need not be re-executed.

Usage: python scripts/sync_setup_cell.py [notebooks...]   (default: notebooks/*.ipynb)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def setup_cell() -> str:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    m = re.search(r"```python\n(# Setup:.*?)\n```", text, re.S)
    if not m:
        raise SystemExit("CONTRIBUTING.md shows no setup cell in a ```python block")
    return m.group(1)


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    cell = setup_cell()
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        if first.source != cell:
            first.source = cell
            nbformat.write(nb, path)
            print(f"{path.name}: setup cell updated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
