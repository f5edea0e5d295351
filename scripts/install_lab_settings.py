"""Install jupyter/overrides.json as this environment's JupyterLab settings overrides.

JupyterLab reads ``<app dir>/settings/overrides.json`` (app dir: ``$JUPYTERLAB_DIR``, else
``<sys.prefix>/share/jupyter/lab``) as the defaults of its settings; a user's own choices in
the Settings Editor still win. nnlib's file turns off the first-run question "Would you like
to get notified about official Jupyter news?" and the update check: students on a
projector or offline should not meet a pop-up that is not about the lesson.

Run by ``make lab`` / ``make test`` (with the venv's Python) and by binder/postBuild.
Keys already in an existing overrides.json are kept; ours are merged in.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "jupyter" / "overrides.json"


def app_dir() -> Path:
    try:  # JupyterLab's own answer, when it is importable here
        from jupyterlab.commands import get_app_dir

        return Path(get_app_dir())
    except ImportError:
        return Path(os.environ.get("JUPYTERLAB_DIR") or Path(sys.prefix) / "share" / "jupyter" / "lab")


def install(dest: Path) -> dict:
    merged = json.loads(dest.read_text(encoding="utf-8")) if dest.is_file() else {}
    for plugin, values in json.loads(SOURCE.read_text(encoding="utf-8")).items():
        merged.setdefault(plugin, {}).update(values)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    return merged


if __name__ == "__main__":
    target = app_dir() / "settings" / "overrides.json"
    install(target)
    print(f"JupyterLab settings overrides (no news prompt, no update check): {target}")
