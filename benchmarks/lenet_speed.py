"""Training throughput of nnlib's LeNet-5 against PyTorch's, and the other speed figures.

One run prints (figures of issue 17):
  1. images/s of one training step (LeNet-5 modern, float32, batch 64, forward + backward +
     SGD with momentum 0.9) for nnlib and for PyTorch (when installed, same initial weights),
     with 1 and 2 threads, under the environment's OpenBLAS settings and with
     OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed (as on a user's laptop), and the ratios;
  2. a layer-by-layer profile of nnlib's step;
  3. one full-size epoch through ``nnlib.fit`` (60,000 images: the official MNIST test set
     in ../shared/data/mnist-test repeated 6 times; skipped without it), Adam, batch 64;
  4. ``nnlib.predict`` on 10,000 images, and PyTorch scoring the same images;
  5. peak memory of a batch-64 training run (a process that imports nnlib only);
  6. the readable reference convolution's throughput, for scale;

Every timing runs in a fresh subprocess (OpenBLAS reads its variables once, at start), and the
libraries are measured in alternating rounds, keeping each one's best round: the machine is
shared, and a burst of load elsewhere then hurts both alike. The load average is printed.
The LeNet dashboard against plain ``fit`` is measured by ``benchmarks/dashboard_throughput.py``.

nnlib's first layer is built with ``input_grad=False``, the equivalent of PyTorch's default
(an input tensor does not require grad, so PyTorch never computes its gradient).

Usage::

    python benchmarks/lenet_speed.py [--rounds 2] [--batches 30] [--skip-torch] [--coretype Haswell]

PyTorch is never a dependency of nnlib; to compare, ``pip install torch==2.13.0`` in the venv.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 64
OFFICIAL = ROOT.parent / "shared" / "data" / "mnist-test"

OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ---- what each worker process measures --------------------------------------------------------
def _batches(n_batches: int, seed: int = 0):
    import nnlib

    X, y, _, _ = nnlib.mnist.load_mnist("5k")
    order = np.random.default_rng(seed).permutation(len(X))
    idx = np.resize(order, n_batches * BATCH).reshape(n_batches, BATCH)  # cycles past 4,000
    return [(X[i], y[i]) for i in idx]


def nnlib_step(implementation: str = "fast"):
    import nnlib
    from nnlib.lenet import lenet5

    model = lenet5("modern", rng=0).to(np.float32)
    model[0].input_grad = False
    for m in model.modules():
        if hasattr(m, "implementation") and implementation == "reference":
            m.implementation = "reference"
    loss = nnlib.CrossEntropyLoss()
    opt = nnlib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(xb, yb):
        opt.zero_grad()
        loss(model(xb), yb)
        model.backward(loss.backward())
        opt.step()

    return model, step


def torch_step(threads: int):
    import torch

    from nnlib.lenet import lenet5

    torch.set_num_threads(threads)
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    with torch.no_grad():  # nnlib's initial weights: the very same computation
        for p, q in zip(net.parameters(), lenet5("modern", rng=0).parameters()):
            p.copy_(torch.from_numpy(np.ascontiguousarray(q.value, dtype=np.float32)))
    loss = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def step(xb, yb):
        opt.zero_grad()
        loss(net(xb), yb).backward()
        opt.step()

    return torch.__version__, step, net


def worker_throughput(library: str, threads: int, n_batches: int, blas_threads: int, passes: int = 2) -> dict:
    """Best images/s over a few passes of n_batches training steps (after a warm-up)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from nnlib import kernels

    threadpool_limits(blas_threads, user_api="blas")
    kernels.set_num_threads(threads)
    data = _batches(n_batches)
    info = {"blas": [f"{i['internal_api']} {i.get('version')} {i.get('architecture')}"
                     for i in threadpool_info() if i["user_api"] == "blas"]}
    if library == "torch":
        import torch

        info["version"], step, _ = torch_step(threads)
        data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]
    else:
        _, step = nnlib_step(library.removeprefix("nnlib-"))
    return dict(info, images_per_second=best_rate(step, data, passes))


def best_rate(step, data, passes: int = 2) -> float:
    """Best images/s of ``step`` over a few passes through ``data``, after 3 warm-up steps."""
    for xb, yb in data[:3]:
        step(xb, yb)
    best = 0.0
    for _ in range(passes):
        start = time.perf_counter()
        for xb, yb in data:
            step(xb, yb)
        best = max(best, len(data) * BATCH / (time.perf_counter() - start))
    return best


def _peak_rss_mib() -> float:
    """This process's peak resident memory. /proc's VmHWM where there is one: ru_maxrss
    carries the parent's peak across fork + exec on Linux."""
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_memory(n_batches: int) -> dict:
    """Peak resident memory of a process that trains n_batches steps (nnlib only)."""
    _, step = nnlib_step()
    data = _batches(n_batches)
    before = _peak_rss_mib()
    for xb, yb in data:
        step(xb, yb)
    return {"peak_rss_mib": _peak_rss_mib(), "rss_before_training_mib": before}


def worker_predict(library: str, threads: int) -> dict:
    """Best of 3 wall times to score 10,000 images (the official test set, or 5k digits
    repeated), nnlib.predict (batches of 1,024) or PyTorch in eval mode without autograd."""
    from threadpoolctl import threadpool_limits

    import nnlib
    from nnlib import kernels
    from nnlib.lenet import lenet5

    threadpool_limits(1 if library == "nnlib" else threads, user_api="blas")
    kernels.set_num_threads(threads)
    official = official_test_set()
    X = official[0] if official is not None else np.resize(nnlib.mnist.load_mnist("5k")[0], (10000, 1, 28, 28))
    if library == "torch":
        import torch

        torch.set_num_threads(threads)
        _, _, net = torch_step(threads)
        net.eval()
        Xt = torch.from_numpy(X)

        def score():
            with torch.no_grad():
                return torch.cat([net(Xt[i : i + 1024]) for i in range(0, len(Xt), 1024)])
    else:
        model = lenet5("modern", pretrained=True).to(np.float32)

        def score():
            return nnlib.predict(model, X)
    score()
    return {"seconds": min(_timed(score) for _ in range(3))}


def run_worker(args, env_change: dict | None = None) -> dict:
    env = dict(os.environ)
    for k, v in (env_change or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    cmd = [sys.executable, __file__, "--worker", *args]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- in-process figures -----------------------------------------------------------------------
def _steps_of(model, x) -> list[list]:
    """The model's layers as Sequential.run_forward runs them: a fused pair (ReLU then
    max-pool) is one step."""
    layers, groups, i = list(model), [], 0
    while i < len(layers):
        after = layers[i + 1] if i + 1 < len(layers) else None
        pair = getattr(after, "fuses_with", None) is not None and after.fuses_with(layers[i], x)
        groups.append(list(range(i, i + 1 + pair)))
        x = after.forward_fused(layers[i], x) if pair else layers[i](x)
        i += 1 + pair
    return groups


def _forward(layers, group, x):
    if len(group) == 2:
        return layers[group[1]].forward_fused(layers[group[0]], x)
    return layers[group[0]](x)


def profile_layers(n_batches: int = 20, repeats: int = 3) -> None:
    """CPU time of every layer's forward and backward in nnlib's training step, as the step
    runs them: each half of the batch through all layers (half 1 on the layers' twins), on
    one thread (time.thread_time: what the work costs, whatever the load); then the whole
    step's wall time with 1 and 2 threads."""
    import nnlib
    from nnlib import kernels, parallel

    model, step = nnlib_step()
    loss = nnlib.CrossEntropyLoss()
    opt = nnlib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    data = _batches(n_batches)
    halves = parallel.halves(BATCH)
    groups = _steps_of(model, data[0][0][halves[0]])
    twins = parallel._twins(model)
    clock = time.thread_time
    best = None
    for _ in range(repeats):
        fwd, bwd, split, other = np.zeros(len(groups)), np.zeros(len(groups)), 0.0, 0.0
        for xb, yb in data:
            t = clock()
            opt.zero_grad()
            for twin, layer in zip(twins, model.layers):
                twin.refresh(layer)
            for twin in twins:
                for p in twin.params.values():
                    p.grad.fill(0)
            split += clock() - t
            lists = (model.layers, [tw.module for tw in twins])
            outs = []
            parallel._in_worker.whole = True
            with parallel.one_blas_thread():
                for k, s in enumerate(halves):
                    h = xb[s]
                    for i, group in enumerate(groups):
                        t = clock()
                        h = _forward(lists[k], group, h)
                        fwd[i] += clock() - t
                    outs.append(h)
                t = clock()
                out = np.concatenate(outs)
                split += clock() - t
                t = clock()
                loss(out, yb)
                g = loss.backward()
                other += clock() - t
                for k, s in enumerate(halves):
                    gk = g[s]
                    for i in reversed(range(len(groups))):
                        t = clock()
                        for j in reversed(groups[i]):
                            gk = lists[k][j].backward(gk)
                        bwd[i] += clock() - t
            parallel._in_worker.whole = False
            t = clock()
            for twin, layer in zip(twins, model.layers):
                for name, p in twin.params.items():
                    getattr(layer, name).grad += p.grad
            split += clock() - t
            t = clock()
            opt.step()
            other += clock() - t
        total = fwd.sum() + bwd.sum() + split + other
        if best is None or total < best[0]:
            best = (total, fwd, bwd, split, other)
    walls = {}
    for threads in (1, 2):
        kernels.set_num_threads(threads)
        for xb, yb in data[:3]:
            step(xb, yb)
        walls[threads] = min(_timed(lambda: [step(xb, yb) for xb, yb in data]) for _ in range(repeats))
    kernels.set_num_threads(2)
    per = 1e3 / len(data)
    total, fwd, bwd, split, other = best
    print(f"\nnnlib layer by layer, CPU ms per batch of {BATCH} (both halves of {halves[0].stop}, one "
          f"thread; best of {repeats} passes of {len(data)} batches; load {os.getloadavg()[0]:.2f})")
    print(f"  {'layer':<44} {'forward':>8} {'backward':>9}")
    for group, f, b in zip(groups, fwd, bwd):
        names = [repr(model.layers[j]) for j in group]
        name = " + ".join(n.split("(")[0] for n in names) if len(group) == 2 else names[0]
        print(f"  {name[:44]:<44} {f * per:8.3f} {b * per:9.3f}")
    print(f"  {'the split: twins, concatenation, gradient sums':<44} {split * per:8.3f}")
    print(f"  {'loss + zero_grad + SGD step':<44} {other * per:8.3f}")
    print(f"  {'total CPU':<44} {total * per:8.3f}")
    print(f"  whole step, wall ms: 1 thread {walls[1] * per:.3f}, 2 threads {walls[2] * per:.3f} "
          f"(2 threads run {walls[1] / walls[2]:.2f}x as fast as 1)")


def official_test_set():
    from nnlib.mnist import read_idx

    images, labels = OFFICIAL / "t10k-images-idx3-ubyte.gz", OFFICIAL / "t10k-labels-idx1-ubyte.gz"
    if not (images.is_file() and labels.is_file()):
        return None
    X = read_idx(images).reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255)
    return X, read_idx(labels).astype(np.int64)


def epoch_and_predict() -> None:
    import nnlib
    from nnlib.lenet import lenet5

    official = official_test_set()
    if official is None:
        print(f"\nSKIPPED the full-size epoch and predict: no official MNIST test set at {OFFICIAL}")
        return
    X, y = official
    X60, y60 = np.concatenate([X] * 6), np.concatenate([y] * 6)
    model = lenet5("modern", rng=0).to(np.float32)
    model[0].input_grad = False
    opt = nnlib.optim.Adam(model.parameters(), lr=1e-3)
    nnlib.fit(model, nnlib.CrossEntropyLoss(), opt, X60[:640], y60[:640], epochs=1, batch_size=64,
              progress=False)  # warm-up: buffers, thread pool
    load, start = os.getloadavg()[0], time.perf_counter()
    nnlib.fit(model, nnlib.CrossEntropyLoss(), opt, X60, y60, epochs=1, batch_size=64, seed=0,
              progress=False)
    epoch = time.perf_counter() - start
    print(f"\none epoch of 60,000 images through nnlib.fit (Adam, batch 64, 2 threads, load "
          f"{load:.2f} -> {os.getloadavg()[0]:.2f}): {epoch:.2f} s ({60000 / epoch:,.0f} img/s; target < 2.5 s)")
    print(f"accuracy on the official test set after that epoch: {nnlib.evaluate(model, X, y):.4f}")


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per setting")
    parser.add_argument("--batches", type=int, default=30, help="batches per timed pass")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--coretype", metavar="NAME",
                        help="also measure with OPENBLAS_CORETYPE=NAME (e.g. Haswell, as some shared "
                             "machines force), for the measuring subprocesses only")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "memory":
            result = worker_memory(int(rest[0]))
        elif kind == "predict":
            result = worker_predict(rest[0], int(rest[1]))
        else:
            result = worker_throughput(kind, *map(int, rest))
        print(json.dumps(result))
        return

    import importlib.util

    have_torch = not args.skip_torch and importlib.util.find_spec("torch") is not None
    set_by_env = {k: os.environ[k] for k in OPENBLAS_VARS if k in os.environ}
    settings = {"environment's OpenBLAS settings " + (str(set_by_env) if set_by_env else "(none set)"): {},
                "OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset": dict.fromkeys(OPENBLAS_VARS)}
    if not set_by_env:  # the environment sets neither: one setting, measured once
        settings = {"OpenBLAS variables unset (the environment sets none)": {}}
    if args.coretype:
        settings[f"OPENBLAS_CORETYPE={args.coretype} (forced)"] = {"OPENBLAS_CORETYPE": args.coretype}
    # (name, library, BLAS threads for a given thread count)
    contenders = [("nnlib", "nnlib", lambda n: 1), ("nnlib, BLAS threaded", "nnlib", lambda n: n)]
    if have_torch:
        contenders.append(("PyTorch", "torch", lambda n: n))
    print(f"numpy {np.__version__}; load average at start {os.getloadavg()[0]:.2f} (2 shared cores)")
    results, info = {}, {}
    for _ in range(args.rounds):
        for setting, env in settings.items():
            for threads in (1, 2):
                for name, lib, blas in contenders:
                    if name == "nnlib, BLAS threaded" and threads == 1:
                        continue  # the same as plain nnlib
                    r = run_worker([lib, str(threads), str(args.batches), str(blas(threads))], env)
                    results.setdefault((setting, threads, name), []).append(r["images_per_second"])
                    info[lib] = r.get("version", info.get(lib)), r["blas"]
                    info[setting] = r["blas"]
    ref = run_worker(["nnlib-reference", "2", "3", "1"])
    blas = "; ".join(f"{setting}: {', '.join(info[setting])}" for setting in settings)
    print(f"load average at end {os.getloadavg()[0]:.2f}; BLAS under {blas}")
    if have_torch:
        print(f"PyTorch {info['torch'][0]}")
    print(f"\nTraining throughput, LeNet-5 modern, float32, batch {BATCH}, SGD momentum 0.9; "
          f"images/s, best of {args.rounds} alternating rounds (all rounds in brackets).\n"
          "threads: nnlib.kernels.set_num_threads and torch.set_num_threads. 'nnlib' starts numpy's\n"
          "BLAS at 1 thread; 'BLAS threaded' starts it at n. nnlib holds OpenBLAS to one thread\n"
          "while it computes (nnlib.parallel.one_blas_thread) either way, so the two should agree\n"
          "up to noise.")
    print(f"  {'OpenBLAS setting':<54} {'threads':>7} {'nnlib':>8} {'BLAS thr.':>9} {'PyTorch':>8} {'ratio':>6}")
    for setting in settings:
        for threads in (1, 2):
            nn = results[(setting, threads, "nnlib")]
            bt = results.get((setting, threads, "nnlib, BLAS threaded"), nn)
            pt = results.get((setting, threads, "PyTorch"), [float("nan")])
            print(f"  {setting:<54} {threads:>7} {max(nn):8.0f} {max(bt):9.0f} {max(pt):8.0f} "
                  f"{max(nn) / max(pt):6.2f}")
            print(f"  {'':<54} {'':>7}  rounds: nnlib {', '.join(f'{v:.0f}' for v in nn)}; "
                  f"BLAS threaded {', '.join(f'{v:.0f}' for v in bt)}; PyTorch {', '.join(f'{v:.0f}' for v in pt)}")
    print(f"  nnlib with the readable reference (loop) convolution and pools, 2 threads: "
          f"{ref['images_per_second']:.0f} img/s")

    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")  # the in-process figures below: as the 'nnlib' column
    profile_layers()
    epoch_and_predict()
    libraries = ["nnlib"] + (["torch"] if have_torch else [])
    scored = {}
    for _ in range(2):
        for threads in ("1", "2"):
            for lib in libraries:
                t = run_worker(["predict", lib, threads])["seconds"]
                scored[lib, threads] = min(t, scored.get((lib, threads), t))
    print("\nscoring 10,000 images (nnlib.predict; PyTorch in eval mode without autograd), best of 6, "
          f"load {os.getloadavg()[0]:.2f}:")
    for (lib, threads), t in scored.items():
        print(f"  {lib:<6} {threads} thread(s): {t:.3f} s" + ("  (target for nnlib < 0.3 s)" if lib == "nnlib" else ""))
    mem = run_worker(["memory", "200"], {"OPENBLAS_NUM_THREADS": "1"})
    print(f"\npeak resident memory of a process training 200 batches of 64 (nnlib, no PyTorch, load "
          f"{os.getloadavg()[0]:.2f}): "
          f"{mem['peak_rss_mib']:.0f} MiB ({mem['rss_before_training_mib']:.0f} MiB before the first "
          "step: Python, numpy, the 5k digits); target < 300 MB")


if __name__ == "__main__":
    main()
