"""Paired A/B of one tuning constant of nnlib's kernels, in one process, alternating rounds.

On a shared machine two separate runs differ by +-15%, more than most kernel tricks gain.
This script trains LeNet-5 (float32, batch 64, SGD with momentum) in ONE process and flips a
module-level constant of :mod:`nnlib.kernels` or :mod:`nnlib.parallel` between the given
values round after round (order reversed every other round), so every value sees the same
load. It prints each value's median and best images/s and the median of the per-round
ratios against the first value: the figure to quote.

Usage::

    python benchmarks/paired_ab.py _BLOCK 8,16,32 [--threads 2] [--rounds 12] [--batches 20]

The constant must be read at call time (as ``kernels._BLOCK`` is), not copied at import.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # nnlib from this checkout; lenet_speed beside us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="a module-level constant of nnlib.kernels or nnlib.parallel")
    parser.add_argument("values", help="comma-separated Python literals, the first is the baseline")
    parser.add_argument("--threads", type=int, default=2, choices=(1, 2))
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()

    from lenet_speed import _batches, nnlib_step  # the same model, step and batches as lenet_speed.py

    from nnlib import kernels, parallel

    module = next((m for m in (kernels, parallel) if hasattr(m, args.name)), None)
    if module is None:
        sys.exit(f"paired_ab: neither nnlib.kernels nor nnlib.parallel has a constant {args.name!r}")
    values = [ast.literal_eval(v) for v in args.values.split(",")]
    parallel.set_num_threads(args.threads)
    data = _batches(args.batches)
    _, step = nnlib_step()

    original = getattr(module, args.name)
    results = {i: [] for i in range(len(values))}
    try:
        for v in values:  # warm-up: buffers of every shape
            setattr(module, args.name, v)
            for xb, yb in data[:3]:
                step(xb, yb)
        for r in range(args.rounds):
            order = list(range(len(values)))
            for i in order if r % 2 == 0 else order[::-1]:
                setattr(module, args.name, values[i])
                step(*data[0])
                start = time.perf_counter()
                for xb, yb in data:
                    step(xb, yb)
                results[i].append(len(data) * 64 / (time.perf_counter() - start))
    finally:
        setattr(module, args.name, original)
    print(f"{module.__name__}.{args.name}, {args.threads} thread(s), {args.rounds} paired rounds of "
          f"{len(data)} batches of 64 (LeNet-5, float32, SGD momentum), images/s:")
    base = np.array(results[0])
    for i, v in enumerate(values):
        a = np.array(results[i])
        ratio = "" if i == 0 else f"   paired ratio to {values[0]!r}: {np.median(a / base):.3f}"
        print(f"  {v!r:>10}: median {np.median(a):,.0f}, best {a.max():,.0f}{ratio}")


if __name__ == "__main__":
    main()
