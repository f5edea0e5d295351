"""Execute notebooks top to bottom in a kernel of THIS Python, without comparing outputs.

``make test-min`` runs it in the venv that holds the oldest supported versions: a notebook
passes when no cell raises. Outputs go to a temporary folder; the repository's notebooks are
never written. Before the first cell, a probe cell asks the kernel which Python and which
versions it runs, so the report proves what was tested (a user-level "python3" kernelspec
pointing elsewhere would otherwise go unnoticed).

Usage: python scripts/execute_notebooks.py [--timeout 600] notebooks/*.ipynb
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

PROBE = """\
import importlib.metadata as _md, json as _json, sys as _sys
print(_json.dumps({"python": _sys.executable,
                   **{d: _md.version(d) for d in ("numpy", "matplotlib", "ipywidgets")}}))
"""


def execute(path: Path, out_dir: Path, timeout: int) -> tuple[bool, str]:
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    ok, note = True, ""
    try:
        client.execute()
    except CellExecutionError as err:
        ok, note = False, re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip().splitlines()[-1]  # no colours
    probe = nb.cells[0].get("outputs", [])
    env = json.loads(probe[0]["text"]) if probe and probe[0].get("name") == "stdout" else {}
    if env.get("python") and Path(env["python"]).resolve() != Path(sys.executable).resolve():
        ok, note = False, f"the kernel ran {env['python']}, not {sys.executable}"
    del nb.cells[0]
    nbformat.write(nb, out_dir / path.name)
    versions = " ".join(f"{k} {v}" for k, v in env.items() if k != "python")
    return ok, note or versions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args()
    failed = []
    with tempfile.TemporaryDirectory(prefix="nnlib-executed-") as out:
        for path in args.notebooks:
            start = time.perf_counter()
            ok, note = execute(path, Path(out), args.timeout)
            print(f"{'ok  ' if ok else 'FAIL'} {path.name} ({time.perf_counter() - start:.0f} s): {note}", flush=True)
            if not ok:
                failed.append(path.name)
    print(f"{len(args.notebooks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
