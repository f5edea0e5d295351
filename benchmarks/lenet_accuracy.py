"""Accuracy of nnlib's LeNet-5 trained on the offline 5k MNIST subset, scored on the official
MNIST test set (10,000 digits in ../shared/data/mnist-test/; skipped cleanly without it).

The recipe is the PyTorch reference's: modern LeNet-5, default initialisation, Adam (lr 1e-3),
batch 64, 10 epochs on all 5,000 digits of ``load_mnist("5k")`` (its 4,000 + 1,000 split put
back together), float32. That reference scores 0.964-0.967 on the official test set for
seeds 0, 1, 2; nnlib should land in the same place.

Prints the accuracy per seed, the seconds per epoch and the peak memory of the process.

Usage::

    python benchmarks/lenet_accuracy.py [--seeds 0 1 2] [--epochs 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nnlib  # noqa: E402
from nnlib.lenet import lenet5  # noqa: E402
from nnlib.mnist import load_mnist, read_idx  # noqa: E402

OFFICIAL = ROOT.parent / "shared" / "data" / "mnist-test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (default: numpy's own choice)")
    args = parser.parse_args()
    images = OFFICIAL / "t10k-images-idx3-ubyte.gz"
    labels = OFFICIAL / "t10k-labels-idx1-ubyte.gz"
    if not (images.is_file() and labels.is_file()):
        print(f"SKIPPED: the official MNIST test set is not at {OFFICIAL} (only the course "
              "repository has it)")
        return
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    X_test = read_idx(images).reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255)
    y_test = read_idx(labels).astype(np.int64)
    X_a, y_a, X_b, y_b = load_mnist("5k")
    X, y = np.concatenate([X_a, X_b]), np.concatenate([y_a, y_b])
    print(f"train: {len(X):,} digits of load_mnist('5k'); test: {len(X_test):,} official digits; "
          f"load average {os.getloadavg()[0]:.2f}")
    accs = []
    for seed in args.seeds:
        model = lenet5("modern", rng=seed).to(np.float32)
        opt = nnlib.optim.Adam(model.parameters(), lr=1e-3)
        start = time.perf_counter()
        nnlib.fit(model, nnlib.CrossEntropyLoss(), opt, X, y, epochs=args.epochs, batch_size=64,
                  seed=seed, progress=False)
        per_epoch = (time.perf_counter() - start) / args.epochs
        acc = nnlib.evaluate(model, X_test, y_test)
        accs.append(acc)
        print(f"seed {seed}: official test accuracy {acc:.4f}, {per_epoch:.2f} s per epoch", flush=True)
    print(f"mean accuracy {np.mean(accs):.4f} (PyTorch reference: 0.964-0.967)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(f"peak resident memory of this process: {rss:.0f} MiB (limit 500 MiB)")


if __name__ == "__main__":
    main()
