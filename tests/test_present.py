"""scripts/present.py: how a notebook becomes lecture slides (no server started here)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("present", ROOT / "scripts" / "present.py")
present = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(present)

PNG = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"},
       "metadata": {}}
WIDGET = {"output_type": "display_data", "metadata": {},
          "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "m1"}}}


def md(text, **meta):
    return {"cell_type": "markdown", "metadata": meta, "source": text}


def code(text, outputs=(), **meta):
    return {"cell_type": "code", "metadata": meta, "source": text, "outputs": list(outputs),
            "execution_count": None}


def notebook(*cells):
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def kinds(nb):
    return [(c["metadata"].get("slideshow", {}).get("slide_type"), "".join(c["source"]))
            for c in nb["cells"]]


def sources(nb):
    return ["".join(c["source"]) for c in nb["cells"]]


LECTURE = notebook(
    md("# 01 · Topic\n\nThe first sentence says what it is about. More prose."),
    code("import nnlib"),
    md("## 1. First section\n\nShort intro."),
    code("figures.plot()", [PNG]),
    md("A short remark after the figure."),
    md("### A sub-section\n\nText."),
    md("A" * 700),
    md("Intro to the widget."),
    code("widgets.explore()", [WIDGET]),
    md("## 2. Second section\n\n**Your turn.**"),
    code("def step(w):\n    ### BEGIN SOLUTION\n    return w\n    ### END SOLUTION"),
    code("ok = checks.step(step)", [{"output_type": "stream", "name": "stdout",
                                      "text": "✗ Not yet: a hint\n"}]),
    md("## Summary\n\nWhat we saw.\n\n## Exercises\n\n1. Compute it."),
    code("### BEGIN SOLUTION\nanswer = 3\n### END SOLUTION\nok = checks.answer(answer)"),
    md("2. *(Open.)* Discuss."),
)


def test_headings_open_slides_and_subslides():
    out = present.presentation(LECTURE)
    headed = [(kind, src.split("\n")[0]) for kind, src in kinds(out) if src.startswith("#")]
    assert headed == [("slide", "# 01 · Topic"), ("slide", "## Contents"),
                      ("slide", "## 1. First section"), ("subslide", "### A sub-section"),
                      ("slide", "## 2. Second section"), ("slide", "## Summary")]


def test_a_heading_in_the_middle_of_a_cell_splits_it():
    out = present.presentation(LECTURE)
    assert "## Summary\n\nWhat we saw." in sources(out)
    assert not any("## Exercises" in s for s in sources(out))


def test_pictures_long_prose_and_fragments():
    out = present.presentation(LECTURE)
    by_source = {"".join(c["source"]): c["metadata"]["slideshow"]["slide_type"]
                 for c in out["cells"]}
    # The first figure joins its short section; the remark after it is a fragment.
    assert by_source["figures.plot()"] == "-"
    assert by_source["A short remark after the figure."] == "fragment"
    assert by_source["A" * 700] == "subslide"  # long prose: a sub-slide of its own
    # The widget after long prose moves to a sub-slide with the prose that introduces it.
    assert by_source["Intro to the widget."] == "subslide"
    assert by_source["widgets.explore()"] == "-"


def test_exercises_and_checkers_are_dropped_solutions_run_hidden():
    out = present.presentation(LECTURE)
    text = "\n".join(sources(out))
    assert "checks." not in text
    assert "Exercises" not in text and "Compute it" not in text and "Discuss" not in text
    assert "Not yet" not in json.dumps(out)
    [solution] = [c for c in out["cells"] if "BEGIN SOLUTION" in "".join(c["source"])]
    assert solution["metadata"]["slideshow"]["slide_type"] == "skip"
    assert "def step" in "".join(solution["source"])


def test_a_cells_own_slideshow_metadata_wins():
    nb = notebook(
        md("# T\n\nIntro."),
        md("## S\n\nText.", slideshow={"slide_type": "subslide"}),
        code("figures.plot()", [PNG], slideshow={"slide_type": "fragment"}),
        md("Notes for me.\n\n### Not split", slideshow={"slide_type": "notes"}),
        md("A" * 900, slideshow={"slide_type": "-"}),
    )
    out = present.presentation(nb)
    got = [c["metadata"]["slideshow"]["slide_type"] for c in out["cells"]]
    # (no "## " section stands alone as a slide, so there is no contents slide either)
    assert got == ["slide", "subslide", "fragment", "notes", "-"]
    assert "Notes for me.\n\n### Not split" in sources(out)  # kept whole


def test_contents_slide_links_each_section_to_its_slide_number():
    out = present.presentation(LECTURE)
    [contents] = [s for s in sources(out) if s.startswith("## Contents")]
    assert sources(out).index(contents) == 2  # after the title slide: title, setup code
    numbers = present.slide_numbers(out["cells"])
    expected = {}
    for cell, n in zip(out["cells"], numbers):
        src = "".join(cell["source"])
        if src.startswith("## ") and not src.startswith("## Contents"):
            expected[src.split("\n")[0][3:]] = n
    assert expected == {"1. First section": 2, "2. Second section": 3, "Summary": 4}
    for title, n in expected.items():
        assert f"[{title}](#/{n})" in contents


def test_slide_numbers_count_like_nbconvert():
    cells = [md("x", slideshow={"slide_type": k}) for k in ("skip", "-", "slide", "subslide",
                                                            "fragment", "notes", "slide")]
    assert present.slide_numbers(cells) == [None, 0, 1, 1, 1, None, 2]


def test_the_input_notebook_is_not_changed():
    before = json.dumps(LECTURE, sort_keys=True)
    present.presentation(LECTURE)
    assert json.dumps(LECTURE, sort_keys=True) == before


def test_split_at_headings_ignores_code_fences_and_solution_markers():
    text = "Intro\n```\n## not a heading\n```\n### BEGIN SOLUTION\nx\n## Real\nbody"
    assert present.split_at_headings(text) == [
        "Intro\n```\n## not a heading\n```\n### BEGIN SOLUTION\nx", "## Real\nbody"]


def test_title_and_summary():
    assert present.title_and_summary(LECTURE) == (
        "01 · Topic", "The first sentence says what it is about.")


def _write(directory, names):
    for name in names:
        (directory / name).write_text(json.dumps(notebook(
            md(f"# {name[:2]} · Title {name[:2]}\n\nSummary of {name[:2]}. More."))),
            encoding="utf-8")


def test_index_lists_every_notebook_with_its_summary_and_the_keys(tmp_path):
    _write(tmp_path, ["01_a.ipynb", "02_b.ipynb", "10_c.ipynb"])
    (tmp_path / "notes.ipynb").write_text("{}", encoding="utf-8")  # not a course notebook
    written = present.build(present.course_notebooks(tmp_path), tmp_path / "out", index=True)
    assert [p.name for p in written] == [present.INDEX_NAME, "01_a.ipynb", "02_b.ipynb",
                                         "10_c.ipynb"]
    index = json.loads(written[0].read_text(encoding="utf-8"))
    text = "\n".join(sources(index))
    for n in ("01", "02", "10"):
        assert f"- [{n} · Title {n}]({n}_" in text and f"Summary of {n}." in text
    assert "notes.ipynb" not in text
    for key, what in present.KEYS:
        assert f"| {key} | {what} |" in text


def test_build_replaces_an_old_build(tmp_path):
    _write(tmp_path, ["01_a.ipynb"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "99_gone.ipynb").write_text("{}", encoding="utf-8")
    present.build(present.course_notebooks(tmp_path), out)
    assert sorted(p.name for p in out.iterdir()) == ["01_a.ipynb"]


def test_find_notebook(tmp_path):
    _write(tmp_path, ["01_a.ipynb", "07_conv.ipynb", "07_pool.ipynb", "08_lenet.ipynb"])
    assert present.find_notebook("08", tmp_path).name == "08_lenet.ipynb"
    assert present.find_notebook("07_conv", tmp_path).name == "07_conv.ipynb"
    with pytest.raises(SystemExit, match=r"no notebook matches NB='99'.*01_a\.ipynb"):
        present.find_notebook("99", tmp_path)
    with pytest.raises(SystemExit, match=r"NB='07' matches 2 notebooks.*07_conv.*07_pool"):
        present.find_notebook("07", tmp_path)
    with pytest.raises(SystemExit, match="NB is empty"):
        present.find_notebook(" ", tmp_path)


def test_main_reports_a_bad_nb_without_a_traceback(tmp_path, capsys):
    _write(tmp_path, ["01_a.ipynb"])
    with pytest.raises(SystemExit) as info:
        present.main(["--nb=5", f"--notebooks={tmp_path}", "--build-only"])
    assert "no notebook matches NB='5'" in str(info.value)


def test_voila_command_and_environment(tmp_path):
    cmd = present.voila_command(tmp_path / "07_x.ipynb", 8123, ["--Voila.ip=0.0.0.0"])
    assert "--port=8123" in cmd and "--strip_sources=True" in cmd
    assert "--preheat_kernel=True" in cmd and f"--template={present.TEMPLATE}" in cmd
    assert cmd[-1] == "--Voila.ip=0.0.0.0"
    env = present.voila_environment({"JUPYTER_PATH": "/elsewhere", "NNLIB_SCALE": "screen"})
    assert env["NNLIB_SCALE"] == "projector"
    assert env["JUPYTER_PATH"].split(":")[0] == str(present.TEMPLATE_ROOT)
    assert (present.TEMPLATE_ROOT / "voila" / "templates" / present.TEMPLATE
            / "static" / "dist" / "reveal.css").is_file()


@pytest.mark.parametrize("path", present.course_notebooks(), ids=lambda p: p.name[:2])
def test_every_course_notebook_makes_a_deck_without_checkers(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = present.presentation(nb)
    shown = [c for c in out["cells"]
             if c["metadata"]["slideshow"]["slide_type"] not in ("skip", "notes")]
    assert not [c for c in out["cells"] if "checks." in "".join(c["source"])]
    text = json.dumps(shown)
    assert "Not yet" not in text and "✓ Right" not in text
    assert sum(c["metadata"]["slideshow"]["slide_type"] == "slide" for c in shown) >= 4


def test_a_long_title_cell_keeps_its_first_paragraph_on_the_title_slide():
    goals = "**After this notebook you can**\n\n" + "\n".join(f"- goal {i} " + "x" * 60
                                                              for i in range(10))
    nb = notebook(md("# 07 · Title\n\nWhat it is about.\n\n" + goals), md("## 1. S\n\nText."))
    out = present.presentation(nb)
    assert sources(out)[:2] == ["# 07 · Title\n\nWhat it is about.", goals]
    assert [c["metadata"]["slideshow"]["slide_type"] for c in out["cells"][:2]] == [
        "slide", "subslide"]
    assert present.title_and_summary(nb) == ("07 · Title", "What it is about.")
