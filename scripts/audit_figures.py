"""Audit every figure the notebooks draw, at one scale: text too small, text cut off.

    python scripts/audit_figures.py --scale projector notebooks/01_*.ipynb notebooks/07_*.ipynb

Each notebook is executed (a copy, in a temporary directory: the repository is not touched)
with ``NNLIB_SCALE`` set and a kernel start-up file that wraps ``Figure.draw``: after every
render (static figures, widget redraws, blits excepted) each visible, non-empty text of the
figure is checked for

- its size: at least ``MIN_PT[scale]`` points (the projector scale promises 18, the screen
  scale 12: see nnlib.viz.SCALES);
- being whole: its box lies inside the figure's canvas (a title or label cut at the edge);

and every legend inside an axes for data points under it (line vertices, scatter points).

A problem is reported once per figure (its axes titles) and text, from the figure's last
render (widgets: the last redraw the notebook made). The exit status
is 1 when there is any.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from nnlib.viz import SCALES

# the smallest font each scale allows: its "small" size (passed on explicitly, so a notebook
# that never calls use_style is still held to the scale it is audited at)
MIN_PT = {scale: float(sizes["small"]) for scale, sizes in SCALES.items()}

_HOOK = r'''
import json, os
import matplotlib.figure as _mf
from matplotlib.text import Text as _Text

_LOG = os.environ["NNLIB_AUDIT_LOG"]
_MIN = float(os.environ["NNLIB_AUDIT_MIN_PT"])
_latest = {}  # id(figure) -> (name, problems of its last render)
_draw = _mf.Figure.draw
_text_draw = _Text.draw
_drawn = []  # the texts the current render drew (tick labels outside the view are not)


def _record(self, renderer):
    _drawn.append(self)
    return _text_draw(self, renderer)


_Text.draw = _record


def _name(fig):
    titles = [ax.get_title() or ax.get_title("left") for ax in fig.axes]
    sup = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    return (sup + " | " if sup else "") + " / ".join(t for t in titles if t)[:120]


def _audit(fig, renderer):
    from nnlib import viz

    problems = viz.legibility_problems(fig, _MIN, texts=list(_drawn), renderer=renderer)
    # Only a figure's last render counts: the inline backend saves with bbox_inches="tight",
    # whose final render takes in what a first one left outside the canvas.
    _latest[id(fig)] = (_name(fig), problems)
    with open(_LOG, "w", encoding="utf-8") as f:
        seen = set()
        for name, found in _latest.values():
            for kind, label, detail in found:
                if (name, kind, label) not in seen:
                    seen.add((name, kind, label))
                    f.write(json.dumps({"figure": name, "kind": kind, "text": label,
                                        "detail": detail}) + "\n")


def draw(self, renderer):
    _drawn.clear()
    result = _draw(self, renderer)
    try:
        _audit(self, renderer)
    except Exception as exc:  # noqa: BLE001 - the audit must never break a notebook
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps({"figure": "?", "kind": "audit-error", "text": repr(exc)}) + "\n")
    return result


_mf.Figure.draw = draw
'''


def execute_copy(notebook: Path, outdir: Path, scale: str, **env) -> subprocess.CompletedProcess:
    """Execute a copy of ``notebook`` into ``outdir`` at ``scale`` (the inline backend, as in
    Jupyter: MPLBACKEND removed), with ``env`` added to the environment."""
    env = dict(os.environ, NNLIB_SCALE=scale, **env)
    env.pop("MPLBACKEND", None)
    return subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook",
                           "--execute", "--ExecutePreprocessor.timeout=600", "--output-dir",
                           str(outdir), str(notebook)], env=env, capture_output=True, text=True)


def audit(notebook: Path, scale: str, workdir: Path) -> list[dict]:
    """Execute one notebook copy with the hook; return its problems."""
    ipython = workdir / "ipython"
    startup = ipython / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-nnlib-audit.py").write_text(_HOOK, encoding="utf-8")
    log = workdir / f"{notebook.stem}.jsonl"
    log.unlink(missing_ok=True)
    log.touch()
    run = execute_copy(notebook, workdir, scale, IPYTHONDIR=str(ipython), NNLIB_AUDIT_LOG=str(log),
                       NNLIB_AUDIT_MIN_PT=str(MIN_PT[scale]))
    if run.returncode:
        raise SystemExit(f"audit: {notebook} failed to execute:\n" + run.stderr[-3000:])
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--scale", choices=sorted(MIN_PT), default="projector")
    args = parser.parse_args(argv)
    total = 0
    with tempfile.TemporaryDirectory(prefix="nnlib-audit-") as tmp:
        for notebook in args.notebooks:
            problems = audit(notebook, args.scale, Path(tmp))
            total += len(problems)
            print(f"== {notebook.name} ({args.scale}): {len(problems)} problem(s)")
            for p in problems:
                print(f"   {p['kind']:<8} {p.get('detail')!s:<22} {p['text']!r:<40} in {p['figure']!r}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
