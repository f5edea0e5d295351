"""The README's example must run and say what it claims."""

import os
import re

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
