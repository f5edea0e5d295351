"""What the browser suite needs from the machine, and the servers it starts.

Kept free of pytest and Playwright imports: the Makefile asks
``python -c 'import tests.browser.env as e; e.chromium_path()'`` whether to run the
suite at all, and that question must not fail on a machine without Playwright.

Everything here is plain Python: finding Chromium, picking a free port, reading which
controls a notebook shows (from the widget state stored in the notebook itself, so the
expectation follows the notebooks as they change), and starting/stopping JupyterLab and
Voila on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "artifacts" / "browser"

# What this machine's headless Chromium needs: no sandbox as root, no GPU, and no
# traffic to Google's services (the machine has no network beyond package registries).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"

# ipywidgets model name -> the kind of control reported to people.
CONTROL_KINDS = {
    "IntSliderModel": "slider",
    "FloatSliderModel": "slider",
    "FloatLogSliderModel": "slider",
    "IntRangeSliderModel": "slider",
    "FloatRangeSliderModel": "slider",
    "SelectionSliderModel": "slider",
    "SelectionRangeSliderModel": "slider",
    "DropdownModel": "dropdown",
    "ButtonModel": "button",
    "ToggleButtonModel": "toggle button",
    "ToggleButtonsModel": "toggle buttons",
    "RadioButtonsModel": "radio buttons",
    "CheckboxModel": "checkbox",
}
# kind -> CSS selector of the outer element ipywidgets 8 renders for one such control
# (a ToggleButtons group's own buttons are not separate toggle buttons).
CONTROL_SELECTORS = {
    "slider": ".widget-slider",
    "dropdown": ".widget-dropdown",
    "button": ".widget-button",
    "toggle button": ".widget-toggle-button:not(.widget-toggle-buttons .widget-toggle-button)",
    "toggle buttons": ".widget-toggle-buttons",
    "radio buttons": ".widget-radio",
    "checkbox": ".widget-checkbox",
}

_NOTEBOOK_NAME = re.compile(r"^\d\d_[A-Za-z0-9_]+\.ipynb$")


def chromium_path() -> str | None:
    """The Chromium executable the suite drives, or None when there is none.

    Order: the ``CHROMIUM`` environment variable (when it names an executable file),
    Debian's ``/usr/bin/chromium``, then ``chromium`` on ``PATH``.

    Returns
    -------
    str or None
        Absolute path of the executable.
    """
    env = os.environ.get("CHROMIUM", "").strip()
    if env:
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else None
    default = "/usr/bin/chromium"
    if os.path.isfile(default) and os.access(default, os.X_OK):
        return default
    return shutil.which("chromium")


def notebooks_dir() -> Path:
    """Where the notebooks under test live: ``NNLIB_BROWSER_NOTEBOOKS`` or ``notebooks/``."""
    return Path(os.environ.get("NNLIB_BROWSER_NOTEBOOKS") or REPO_ROOT / "notebooks").resolve()


def notebook_paths(directory: Path | None = None) -> list[Path]:
    """The course notebooks (``NN_topic.ipynb``) in ``directory``, in course order."""
    directory = notebooks_dir() if directory is None else Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if _NOTEBOOK_NAME.match(p.name))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- what a notebook is expected to show -------------------------------------------------


def _widget_state(nb: dict) -> dict:
    return nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE_MIME, {}).get("state", {})


def _view_ids(outputs) -> list[str]:
    ids = []
    for out in outputs or []:
        view = out.get("data", {}).get(WIDGET_VIEW_MIME)
        if view and "model_id" in view:
            ids.append(view["model_id"])
    return ids


def expected_controls(nb: dict) -> Counter:
    """Count the controls a notebook displays, by kind, from its stored widget state.

    Every widget-view output is a view on screen; its container's children (and the
    views shown inside Output widgets) are followed recursively, so a control shown
    twice counts twice, as it appears twice in the page. Models that were created but
    never displayed do not count.

    Parameters
    ----------
    nb : dict
        The notebook as JSON (``json.load`` of the ``.ipynb``).

    Returns
    -------
    collections.Counter
        kind (``"slider"``, ``"dropdown"``, ``"button"``, ...) -> number of views.
        Empty when the notebook shows no controls or stores no widget state.

    Raises
    ------
    ValueError
        When a displayed view names a model the stored state does not hold (the notebook
        was saved without widget state, so the expectation cannot be derived).
    """
    state = _widget_state(nb)
    counts: Counter = Counter()
    stack = [
        (mid, cell_index)
        for cell_index, cell in enumerate(nb.get("cells", []))
        if cell.get("cell_type") == "code"
        for mid in _view_ids(cell.get("outputs"))
    ]
    steps = 0
    while stack:
        steps += 1
        if steps > 100_000:  # a reference cycle in corrupt state must not hang the suite
            raise ValueError("widget state references form a cycle")
        mid, cell_index = stack.pop()
        if mid not in state:
            raise ValueError(
                f"cell {cell_index} displays widget model {mid}, but the notebook's metadata "
                f"holds no state for it; re-execute the notebook with nbconvert to store it"
            )
        model = state[mid]
        kind = CONTROL_KINDS.get(model.get("model_name", ""))
        if kind:
            counts[kind] += 1
        fields = model.get("state", {})
        for child in fields.get("children", []) or []:
            if isinstance(child, str) and child.startswith("IPY_MODEL_"):
                stack.append((child[len("IPY_MODEL_"):], cell_index))
        stack.extend((m, cell_index) for m in _view_ids(fields.get("outputs")))
    return counts


def load_notebook(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# -- servers -----------------------------------------------------------------------------


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _http_ok(url: str | None, headers: dict | None = None, port: int = 0) -> bool:
    if url is None:  # readiness is "the port accepts connections"
        return _port_open(port)
    try:
        req = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(req, timeout=5) as r:
            return 200 <= r.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _server_env(workdir: Path) -> dict:
    env = os.environ.copy()
    # The kernel chooses matplotlib's inline backend only when MPLBACKEND is unset; an
    # inherited MPLBACKEND=Agg (common in CI) would leave every figure undisplayed.
    env.pop("MPLBACKEND", None)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    # Keep the user's own Jupyter/IPython configuration out of the run.
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
        env[var] = str(workdir / sub)
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env["BROWSER"] = "true"  # belt and braces: never open a desktop browser
    return env


class _Server:
    """A server subprocess in its own process group, logged to a file."""

    name = "server"

    def __init__(self, workdir: Path, log_path: Path):
        self.workdir = Path(workdir)
        self.log_path = Path(log_path)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._log = None

    def _start(self, cmd: list[str], ready_url: str | None, headers: dict | None,
               timeout: float, cwd: Path) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w", encoding="utf-8")
        self._log.write("$ " + " ".join(cmd) + "\n")
        self._log.flush()
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=_server_env(self.workdir), stdout=self._log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                self.stop()
                raise RuntimeError(f"{self.name} exited with {code} before it answered; "
                                   f"see {self.log_path}")
            if _http_ok(ready_url, headers, self.port):
                return
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on port {self.port} within "
                           f"{timeout:.0f} s; see {self.log_path}")

    def _graceful(self) -> None:
        """Ask the server to shut down by itself (kernels included)."""

    def stop(self) -> None:
        """Stop the server and everything it started; safe to call twice."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                self._graceful()
                proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - any failure falls through to signals
                pass
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                if proc.poll() is not None:
                    break
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    continue
        if proc is not None:
            # Whatever else the server left in its process group goes too. Kernels have
            # their own groups: the graceful shutdown (or, for Voila, SIGTERM) ends them, and
            # a kernel whose server died exits by itself (ipykernel watches its parent).
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._log is not None:
            self._log.close()
            self._log = None


class JupyterLab(_Server):
    """JupyterLab from this Python environment on 127.0.0.1, with a token.

    Parameters
    ----------
    root_dir : Path
        The directory JupyterLab serves (the suite passes a temporary copy of the
        notebooks: JupyterLab autosaves, and the repository's files must not change).
    workdir : Path
        Scratch space for settings, workspaces and Jupyter's own directories.
    log_path : Path
        Where the server's output goes.
    """

    name = "JupyterLab"

    def __init__(self, root_dir: Path, workdir: Path, log_path: Path):
        super().__init__(workdir, log_path)
        self.root_dir = Path(root_dir)
        self.token = secrets.token_hex(16)
        self.base_url = f"http://127.0.0.1:{self.port}"

    def _write_settings(self) -> Path:
        settings = self.workdir / "lab-settings"
        files = {
            # Attach every cell to the DOM, so every control can be counted and found.
            "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
                "windowingMode": "none",
            },
            # No news or update checks: no network here, and no toasts over the notebook.
            "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
                "checkForUpdates": False,
                "fetchNews": "false",
            },
            # The copy is thrown away, but an autosave racing a test's read is still noise.
            "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {
                "autosave": False,
            },
        }
        for rel, value in files.items():
            path = settings / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value), encoding="utf-8")
        return settings

    def start(self, timeout: float = 90.0) -> JupyterLab:
        settings = self._write_settings()
        workspaces = self.workdir / "workspaces"
        workspaces.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "jupyterlab",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.open_browser=False",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={workspaces}",
            # window.jupyterapp: lets the suite run JupyterLab's own commands
            # (notebook:run-all-cells) and read the cells' models.
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._start(cmd, f"{self.base_url}/api/status", self.auth_headers, timeout,
                    cwd=self.root_dir)
        return self

    @property
    def auth_headers(self) -> dict:
        return {"Authorization": f"token {self.token}"}

    def url(self, notebook_name: str) -> str:
        from urllib.parse import quote

        return f"{self.base_url}/lab/tree/{quote(notebook_name)}?reset&token={self.token}"

    def api(self, method: str, path: str) -> object:
        req = urllib.request.Request(f"{self.base_url}{path}", method=method,
                                     headers=self.auth_headers)
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every running kernel (two cores: one notebook's kernel at a time)."""
        for kernel in self.api("GET", "/api/kernels") or []:
            try:
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
            except urllib.error.URLError:
                pass

    def _graceful(self) -> None:
        self.api("POST", "/api/shutdown")


class Voila(_Server):
    """Voila serving one notebook on 127.0.0.1, from a command line like ``make present``'s.

    Parameters
    ----------
    cmd : list of str
        The voila command (executable, flags, notebook). ``--no-browser`` and the
        address 127.0.0.1 are added unless it sets them (Voila refuses a flag given twice).
    port : int
        The port the command makes Voila listen on.
    cwd : Path
        Directory to run it in (the command's relative paths are relative to it).
    """

    name = "Voila"

    def __init__(self, cmd: list[str], port: int, cwd: Path, workdir: Path, log_path: Path):
        super().__init__(workdir, log_path)
        self.port = port
        self.cmd = list(cmd)
        if not any(a.startswith(("--no-browser", "--Voila.open_browser")) for a in cmd):
            self.cmd.append("--no-browser")
        if not any(a.startswith("--Voila.ip") for a in cmd):
            self.cmd.append("--Voila.ip=127.0.0.1")
        self.cwd = Path(cwd)
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> Voila:
        # Requesting the page executes the notebook, so readiness is only "the port listens".
        self._start(self.cmd, None, None, timeout, cwd=self.cwd)
        return self
