"""The README's example must run and say what it claims; the README and docs/api.md say what
the project does (make test's steps, what it needs, the public interface)."""

import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_python_example_runs(capsys):
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README has no python example"
    code = blocks[0].replace("epochs=60", "epochs=60, progress=False")
    exec(compile(code, "README.md", "exec"), {})
    accuracy, err = capsys.readouterr().out.split()
    assert float(accuracy) > 0.95
    assert float(err) < 1e-6


def test_readme_names_the_two_commands():
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    assert "make lab" in text and "make test" in text


def _readme() -> str:
    return open(os.path.join(REPO, "README.md"), encoding="utf-8").read()


def test_readme_says_what_make_test_runs_and_what_it_needs():
    text = _readme()
    for needed in ("ruff", "nbval", "NPY_DISABLE_CPU_FEATURES", "Chromium", "root", "--allow-root",
                   "ARGS=", "make test-min"):
        assert needed in text, f"the README does not mention {needed!r}"


def test_readme_conda_instructions_do_not_use_venv_paths():
    text = _readme()
    conda = text[text.index("In a conda environment"):]
    conda = conda[: conda.index("```", conda.index("```") + 3)]
    assert ".venv" not in conda.split("\n", 2)[2], conda


def test_public_interface_is_documented_inside_the_repository():
    text = _readme()
    assert "design/nnlib-api.md" not in text.replace("docs/api.md", "")
    assert "(docs/api.md)" in text
    assert os.path.isfile(os.path.join(REPO, "docs", "api.md"))


def test_docs_api_names_everything_the_course_contract_names():
    shared = os.path.join(REPO, "..", "shared", "design", "nnlib-api.md")
    if not os.path.isfile(shared):
        pytest.skip("../shared/design/nnlib-api.md is not beside this checkout")
    ours = open(os.path.join(REPO, "docs", "api.md"), encoding="utf-8").read()
    contract = open(shared, encoding="utf-8").read()
    # every name in backticks, every name opening a table row, every heading
    names = set(re.findall(r"`([A-Za-z_][\w.]*)", contract))
    names |= {n.strip() for row in re.findall(r"^\| ([^|]+) \|", contract, re.M) for n in row.split(",")}
    names |= set(re.findall(r"^#+ (.+)$", contract, re.M))
    names -= {"name", "---"}
    missing = sorted(n for n in names if n not in ours)
    assert not missing, f"docs/api.md lacks what the course's nnlib-api.md names: {missing}"
