"""Lecture slides from the notebooks: ``make present NB=07`` (one deck), ``make present`` (all).

The notebooks are written to be read; a lecture needs slides. Instead of hand-editing every
notebook, this script writes *presentation copies* into ``build/present/`` each time it serves
(so a notebook changed or added since is presented as it is now) and serves them with Voila's
reveal.js template (``jupyter/voila/templates/nnlib-slides``), code stripped, the projector
figure scale on (``NNLIB_SCALE=projector`` in the kernel's environment), kernels preheated.

How a notebook becomes slides (``presentation()``):

- Markdown cells are split at their ``#``/``##``/``###`` heading lines. The title (``# ``)
  with its first paragraph opens the first slide (a long title cell's rest, the goals and
  prerequisites, follows as prose), every ``## `` section a new slide (left-right), every ``### ``
  sub-section a sub-slide (down).
- Prose longer than ``LONG_PROSE`` characters gets a sub-slide of its own. A figure or widget
  (a code cell whose stored outputs show an image or a widget) gets a sub-slide of its own,
  together with the short prose just before it, unless the slide it would join has neither a
  picture nor more than ``SHORT_PROSE`` characters of prose yet. Short prose after a picture on
  the same slide is a fragment (it appears on the next key press).
- A cell's own ``slideshow`` metadata, where the notebook sets it, wins (the cell is then not
  split either).
- Hidden: the code (Voila's strip_sources), the final Exercises section, every cell calling a
  checker (``checks.``) and markdown holding solution markers: they are dropped. Solution
  cells (``### BEGIN SOLUTION``) outside the Exercises section still run, because later cells
  may call what they define, but they are never shown (slide type "skip").
- A contents slide follows the title: one link per ``## `` section (reveal.js hash links,
  ``#/<slide number>``).

Keys in a deck (the index repeats them): Right/Space next, Left previous, Down/Up within a
section, Esc or O the overview of all slides, Home/End first/last slide, F full screen, S
speaker view, B or . black screen. The contents slide is slide 2 (``#/1``).

Usage::

    python scripts/present.py --nb 07 [--port 8866] [--build-only] [-- extra voila options]
    python scripts/present.py            # index of every notebook, every deck preheated
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
BUILD = REPO / "build" / "present"
TEMPLATE_ROOT = REPO / "jupyter"  # holds voila/templates/nnlib-slides (JUPYTER_PATH)
TEMPLATE = "nnlib-slides"
INDEX_NAME = "00_index.ipynb"

LONG_PROSE = 600  # characters: prose this long gets a sub-slide of its own
SHORT_PROSE = 400  # characters: a slide with this much prose has no room for a figure too
SLIDE_SIZE = (1280, 800)  # reveal.js' logical slide size; it scales to the screen

KEYS = [
    ("→ / Space", "next slide or fragment"),
    ("←", "previous"),
    ("↓ / ↑", "down / up within a section"),
    ("Esc or O", "overview of every slide (click one to jump)"),
    ("Home / End", "first / last slide"),
    ("F", "full screen"),
    ("S", "speaker view (notes, timer)"),
    ("B or .", "black screen (press again to return)"),
]

_NOTEBOOK = re.compile(r"^\d\d_[A-Za-z0-9_]+\.ipynb$")
_HEADING = re.compile(r"^(#{1,3}) +(\S.*?)\s*#*\s*$")
_EXERCISES = re.compile(r"^(\d+\.\s*)?exercises?\b", re.IGNORECASE)
_CHECKER = re.compile(r"\bchecks\.")
_SOLUTION = "### BEGIN SOLUTION"
_VISUAL_MIME = ("image/png", "image/svg+xml", "image/jpeg",
                "application/vnd.jupyter.widget-view+json")


# -- which notebooks ---------------------------------------------------------------------


def course_notebooks(directory: Path = NOTEBOOKS) -> list[Path]:
    """The course notebooks (``NN_topic.ipynb``) in ``directory``, in course order."""
    return sorted(p for p in Path(directory).iterdir() if _NOTEBOOK.match(p.name))


def find_notebook(prefix: str, directory: Path = NOTEBOOKS) -> Path:
    """The one notebook whose name starts with ``prefix`` (``"07"``, ``"07_conv"``).

    Raises
    ------
    SystemExit
        With a message naming the notebooks there are, when no notebook or more than one
        matches.
    """
    prefix = str(prefix).strip()
    paths = course_notebooks(directory)
    names = ", ".join(p.name for p in paths) or "none"
    if not prefix:
        raise SystemExit("present: NB is empty; give a notebook's number, e.g. NB=07 "
                         f"(notebooks: {names})")
    matches = [p for p in paths if p.name.startswith(prefix + "_") or p.name == prefix
               or (not prefix[-1:].isdigit() and p.name.startswith(prefix))]
    if not matches:
        raise SystemExit(f"present: no notebook matches NB={prefix!r} in {directory} "
                         f"(notebooks: {names})")
    if len(matches) > 1:
        raise SystemExit(f"present: NB={prefix!r} matches {len(matches)} notebooks "
                         f"({', '.join(p.name for p in matches)}); give a longer prefix")
    return matches[0]


# -- one notebook as slides ----------------------------------------------------------------


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _own_slide_type(cell: dict) -> str | None:
    slideshow = cell.get("metadata", {}).get("slideshow") or {}
    return slideshow.get("slide_type")


def _heading(text: str) -> tuple[int, str] | None:
    """(level, title) when the text starts with a heading line, else None."""
    first = text.lstrip("\n").split("\n", 1)[0]
    m = _HEADING.match(first)
    return (len(m.group(1)), m.group(2)) if m else None


def split_at_headings(text: str) -> list[str]:
    """Markdown split before every heading line of level 1-3 (not inside ``` fences)."""
    pieces, current, fenced = [], [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and _HEADING.match(line) and line.strip() != _SOLUTION \
                and any(s.strip() for s in current):
            pieces.append("\n".join(current).strip("\n"))
            current = []
        current.append(line)
    if any(s.strip() for s in current):
        pieces.append("\n".join(current).strip("\n"))
    return pieces


def _split_title(pieces: list[str]) -> list[str]:
    """A long title piece (``# ``) keeps its first paragraph; the rest (goals, prerequisites)
    becomes a piece of its own, so the title slide is the title and what the notebook is about."""
    out = []
    for text in pieces:
        heading = _heading(text)
        parts = re.split(r"\n\s*\n", text, maxsplit=2)
        if heading and heading[0] == 1 and len(text) > LONG_PROSE and len(parts) == 3:
            out += ["\n\n".join(parts[:2]), parts[2]]
        else:
            out.append(text)
    return out


def _is_visual(cell: dict) -> bool:
    """Whether a code cell's stored outputs show a picture or a widget."""
    return any(mime in out.get("data", {})
               for out in cell.get("outputs", []) for mime in _VISUAL_MIME)


def _text_length(cell: dict) -> int:
    """Characters of prose a cell puts on a slide (markdown, or printed output)."""
    if cell["cell_type"] == "markdown":
        return len(_source(cell))
    n = 0
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            n += len("".join(out.get("text", "")))
        else:
            n += len("".join(out.get("data", {}).get("text/plain", "")))
    return n


def _set_type(cell: dict, slide_type: str) -> None:
    cell.setdefault("metadata", {}).setdefault("slideshow", {})["slide_type"] = slide_type


def _markdown(text: str, slide_type: str, id: str = "nnlib-present") -> dict:
    return {"cell_type": "markdown", "id": id, "metadata": {"slideshow": {"slide_type": slide_type}},
            "source": text}


def _pieces(nb: dict) -> list[dict]:
    """The notebook's cells with markdown split at headings (cells with their own slide
    metadata stay whole); each piece remembers its heading."""
    out = []
    for cell in nb.get("cells", []):
        cell = copy.deepcopy(cell)
        if cell["cell_type"] != "markdown" or _own_slide_type(cell):
            cell["_heading"] = _heading(_source(cell)) if cell["cell_type"] == "markdown" else None
            cell["_own"] = bool(_own_slide_type(cell))
            out.append(cell)
            continue
        for k, text in enumerate(_split_title(split_at_headings(_source(cell)))):
            piece = copy.deepcopy(cell)
            piece["source"] = text
            if k:
                piece["id"] = f"{cell.get('id', 'cell')}-{k}"
            piece["_heading"] = _heading(text)
            piece["_own"] = False
            out.append(piece)
    return out


def _hidden(cells: list[dict]) -> list[dict]:
    """Drop the Exercises section, checker cells and markdown solutions; skip solution code."""
    kept, in_exercises = [], False
    for cell in cells:
        heading = cell["_heading"]
        if heading and heading[0] <= 2:
            in_exercises = heading[0] == 2 and bool(_EXERCISES.match(heading[1]))
        src = _source(cell)
        if in_exercises:
            continue
        if cell["cell_type"] == "code" and _CHECKER.search(src):
            continue
        if _SOLUTION in src:
            if cell["cell_type"] != "code":
                continue
            _set_type(cell, "skip")  # runs (later cells may use it), never shown
            cell["_own"] = True
        kept.append(cell)
    return kept


def _assign_types(cells: list[dict]) -> None:
    """Slide types for the cells whose notebook does not set one (see the module doc)."""
    prose = 0  # characters of prose on the current (sub-)slide
    has_visual = False
    previous: dict | None = None  # the last shown cell
    for position, cell in enumerate(cells):
        own = cell["_own"]
        heading = cell["_heading"]
        kind = "-"
        if cell["cell_type"] == "markdown":
            length = _text_length(cell)
            if heading and heading[0] <= 2 or position == 0:
                kind = "slide"
            elif heading:
                kind = "subslide"
            elif length > LONG_PROSE:
                kind = "subslide"
            elif has_visual:
                kind = "fragment"
        elif _is_visual(cell):
            crowded = has_visual or prose > SHORT_PROSE
            if crowded:
                kind = "subslide"
                lead = previous
                if (lead is not None and lead["cell_type"] == "markdown"
                        and not lead.get("_own") and not lead["_heading"]
                        and lead["metadata"]["slideshow"]["slide_type"] in ("-", "fragment")
                        and _text_length(lead) <= SHORT_PROSE):
                    _set_type(lead, "subslide")  # the prose that introduces the picture
                    kind = "-"
                    prose = _text_length(lead)
                    has_visual = False
        if own:
            kind = _own_slide_type(cell)
        else:
            _set_type(cell, kind)
        if kind in ("slide", "subslide"):
            prose, has_visual = 0, False
        if kind in ("skip", "notes"):
            continue
        prose += _text_length(cell) if not _is_visual(cell) else 0
        has_visual = has_visual or (cell["cell_type"] == "code" and _is_visual(cell))
        previous = cell


def slide_numbers(cells: list[dict]) -> list[int | None]:
    """The reveal.js horizontal index of each cell's slide (None for hidden cells), as
    nbconvert's reveal exporter counts them (the first shown cell always opens slide 0)."""
    numbers, h, started = [], -1, False
    for cell in cells:
        kind = cell.get("metadata", {}).get("slideshow", {}).get("slide_type", "-")
        if kind in ("skip", "notes"):
            numbers.append(None)
            continue
        if kind == "slide" or not started:
            h += 1
            started = True
        numbers.append(h)
    return numbers


def title_and_summary(nb: dict) -> tuple[str, str]:
    """The notebook's title (its first ``# `` heading) and its first sentence of prose."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        text = _source(cell).strip()
        heading = _heading(text)
        if not heading or heading[0] != 1:
            continue
        body = text.split("\n", 1)[1] if "\n" in text else ""
        paragraph = next((p for p in re.split(r"\n\s*\n", body) if p.strip()), "")
        paragraph = " ".join(paragraph.split())
        m = re.match(r"(.+?[.!?])(\s|$)", paragraph)
        return heading[1], (m.group(1) if m else paragraph)
    return "", ""


def presentation(nb: dict) -> dict:
    """The presentation copy of a notebook (a new dict; ``nb`` is not changed)."""
    cells = _hidden(_pieces(nb))
    if not cells:
        raise ValueError("presentation: the notebook has no cells to show")
    _assign_types(cells)
    # The contents slide goes right after the title slide (when there are sections).
    first = slide_numbers(cells)
    after_title = next((i for i, n in enumerate(first) if n is not None and n >= 1), len(cells))
    contents = _markdown("", "slide", id="nnlib-contents")
    contents.update(_heading=None, _own=True)
    cells.insert(after_title, contents)
    numbers = slide_numbers(cells)
    links = [f"- [{cell['_heading'][1]}](#/{n})" for cell, n in zip(cells, numbers)
             if cell["_heading"] and cell["_heading"][0] == 2 and n is not None
             and cell["metadata"]["slideshow"]["slide_type"] == "slide"]
    if links:
        contents["source"] = ("## Contents\n\n<div class=\"nnlib-contents\">\n\n"
                              + "\n".join(links) + "\n\n</div>\n\n*Esc: every slide at a "
                              "glance · → / Space: next · ↓: within a section*")
    else:
        cells.remove(contents)
    for cell in cells:
        for key in ("_heading", "_own"):
            cell.pop(key, None)
    out = copy.deepcopy({k: v for k, v in nb.items() if k != "cells"})
    out["cells"] = cells
    title, _ = title_and_summary(nb)
    if title:
        out.setdefault("metadata", {})["title"] = title
    return out


def index_notebook(notebooks: list[tuple[Path, dict]]) -> dict:
    """A markdown-only deck: one link per notebook (path, parsed notebook) with its one-line
    summary, and the keys."""
    rows = []
    for path, nb in notebooks:
        title, summary = title_and_summary(nb)
        rows.append(f"- [{title or path.stem}]({path.name}): {summary}")
    keys = "\n".join(f"| {k} | {what} |" for k, what in KEYS)
    cells = [
        _markdown("# nnlib lecture decks\n\nOne deck per notebook, code and exercises hidden, "
                  "figures at the projector scale. Click a title to open its deck; the "
                  "browser's Back returns here.\n\n<div class=\"nnlib-contents\">\n\n"
                  + "\n".join(rows) + "\n\n</div>", "slide", id="nnlib-index"),
        _markdown("## Keys in a deck\n\n| key | does |\n|---|---|\n" + keys
                  + "\n\nSlide 2 of every deck lists its sections as links.",
                  "slide", id="nnlib-keys"),
    ]
    return {"cells": cells, "metadata": {"title": "nnlib lecture decks",
                                         "kernelspec": {"name": "python3",
                                                        "display_name": "Python 3",
                                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def build(paths: list[Path], dest: Path = BUILD, index: bool = False) -> list[Path]:
    """Write the presentation copies (and the index deck) into ``dest``; return their paths.

    ``dest`` is emptied first: a deck of a notebook removed since must not linger.
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    written, notebooks = [], []
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        notebooks.append((path, nb))
        target = dest / path.name
        target.write_text(json.dumps(presentation(nb), indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")
        written.append(target)
    if index:
        target = dest / INDEX_NAME
        target.write_text(json.dumps(index_notebook(notebooks), indent=1) + "\n", encoding="utf-8")
        written.insert(0, target)
    return written


# -- serving ---------------------------------------------------------------------------------


def voila_command(target: Path, port: int, extra: list[str] | None = None,
                  pool_size: int = 1) -> list[str]:
    """The Voila command line serving ``target`` (one deck, or a directory of decks)."""
    width, height = SLIDE_SIZE
    resources = {"reveal": {"url_prefix": f"/voila/templates/{TEMPLATE}/static",
                            "theme": "nnlib", "transition": "none", "number": "c/t",
                            "width": width, "height": height, "scroll": False}}
    voila = Path(sys.executable).with_name("voila")
    cmd = [str(voila) if voila.exists() else "voila", str(target), f"--port={port}",
           f"--template={TEMPLATE}", "--strip_sources=True", "--preheat_kernel=True",
           f"--pool_size={pool_size}", "--show_tracebacks=False",
           f"--VoilaConfiguration.resources={resources!r}"]
    return cmd + list(extra or [])


def voila_environment(base: dict | None = None) -> dict:
    """The environment Voila and its kernels run in: projector scale, the slide template."""
    env = dict(os.environ if base is None else base)
    env["NNLIB_SCALE"] = "projector"
    env["JUPYTER_PATH"] = os.pathsep.join(
        [str(TEMPLATE_ROOT)] + [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nb", default="", help="notebook number or name prefix (empty: all)")
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--build-dir", type=Path, default=BUILD)
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS)
    parser.add_argument("--build-only", action="store_true",
                        help="write the presentation copies and stop")
    args, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    # Two preheated kernels for one deck: the page a lecturer reloads appears at once too
    # (the pool refills in the background, which takes one run of the notebook). One each
    # for the index's decks: every notebook runs at start-up, and memory is finite.
    if args.nb.strip():
        paths = [find_notebook(args.nb, args.notebooks)]
        written = build(paths, args.build_dir)
        target, url, pool = written[0], f"http://localhost:{args.port}/", 2
    else:
        paths = course_notebooks(args.notebooks)
        written = build(paths, args.build_dir, index=True)
        target, pool = args.build_dir, 1
        url = f"http://localhost:{args.port}/voila/render/{INDEX_NAME}"
    print(f"present: wrote {len(written)} deck(s) to {args.build_dir}")
    if args.build_only:
        return 0
    cmd = voila_command(target, args.port, extra, pool_size=pool)
    print("present: " + " ".join(cmd))
    print(f"present: open {url} once Voila has logged 'Kernel pool of ... is filled' (a page "
          "asked for earlier gets a cold kernel of its own). The first page then waits for its "
          "preheating kernel to finish the notebook; later pages appear at once.")
    print("present: keys: → / Space next, ← back, Esc overview, F full screen, S speaker view")
    sys.stdout.flush()
    os.execvpe(cmd[0], cmd, voila_environment())
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
