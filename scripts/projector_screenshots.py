"""One figure of a notebook at both scales, as PNGs: artifacts/projector/<name>_<scale>.png.

    python scripts/projector_screenshots.py notebooks/07_convolution_filters.ipynb \
        "figures.gallery(" gallery

Executes a copy of the notebook (in a temporary directory) once per scale, with
``NNLIB_SCALE`` set as ``make present`` sets it, and saves the first image output of the first
code cell whose source contains the given text. The PNG is stored at the size the notebook
shows it (the inline backend renders at twice that for sharp screens), in 256 colours, so
that the committed files stay small.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import sys
import tempfile
from pathlib import Path

from audit_figures import execute_copy  # scripts/ is on the path when a script runs
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def figure_png(notebook: Path, marker: str, scale: str) -> bytes:
    """The first PNG output of the first code cell containing ``marker``, at ``scale``."""
    with tempfile.TemporaryDirectory(prefix="nnlib-shot-") as tmp:
        execute_copy(notebook, Path(tmp), scale).check_returncode()
        nb = json.loads((Path(tmp) / notebook.name).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and marker in "".join(cell["source"]):
            for out in cell.get("outputs", []):
                if "image/png" in out.get("data", {}):
                    return base64.b64decode(out["data"]["image/png"])
    raise SystemExit(f"no code cell of {notebook.name} containing {marker!r} shows an image")


def shrink(png: bytes) -> Image.Image:
    """Half size (the inline backend's 2x), 256 colours."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.resize((image.width // 2, image.height // 2), Image.LANCZOS)
    return image.quantize(256, method=Image.Quantize.MEDIANCUT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("marker", help="text of the figure's code cell")
    parser.add_argument("name", help="file name stem")
    parser.add_argument("--out", type=Path, default=REPO / "artifacts" / "projector")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for scale in ("screen", "projector"):
        path = args.out / f"{args.name}_{scale}.png"
        image = shrink(figure_png(args.notebook, args.marker, scale))
        image.save(path, optimize=True)
        print(f"{path}: {image.width}x{image.height}, {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
