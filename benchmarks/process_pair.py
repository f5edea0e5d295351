"""What the GIL costs nnlib's 2-thread training step: the same two halves on two processes.

nnlib splits each batch of a convolutional ``Sequential`` in two and runs the halves on two
threads (:mod:`nnlib.parallel`). numpy releases the GIL inside its calls, but every return
takes it back, and the Python between calls runs one thread at a time: when both halves
want it at once, one thread sleeps and is woken again, which on a virtual machine costs tens
of microseconds each time (about 50 times a LeNet-5 step, measured with /proc's context
switch counts).

This script measures the ceiling a GIL-free second worker would reach on this machine. Its
"process pair" computes half 1 in a helper process instead of a thread, on a replica of the
model fed through shared memory: the parameters go over before each forward, half 1's
logits come back, its gradient of the logits goes over, and its parameter gradients come
back and are added after half 0's, as the threads add the twins'. Same code, same order of
sums, so the same numbers: after the timed rounds it trains both ways from the same start
and exits with status 1 unless the weights agree bit for bit.

This is a measurement, not a feature: nnlib trains on threads (a helper process per Python
process would be an architectural choice for the library's owner, see issue 17).

Usage::

    python benchmarks/process_pair.py [--rounds 3] [--batches 60] [--check-steps 5]

Every timing runs in a fresh process, threads and process pair in alternating rounds, the
best round of each kept and all printed; numpy's BLAS is held at one thread throughout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from multiprocessing import get_context, shared_memory
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # nnlib from this checkout; lenet_speed beside us

BATCH, HALF = 64, 32


def _model():
    """lenet_speed.py's LeNet-5: float32, initial weights of seed 0, no input gradient in C1."""
    from lenet_speed import nnlib_step

    return nnlib_step()[0]


class _Shared:
    """One shared-memory block, seen as: parameters | their gradients | x | logits | dlogits."""

    def __init__(self, params, name=None):
        sizes = [p.value.size for p in params]
        self.P = total = sum(sizes)
        n = 2 * total + HALF * (784 + 10 + 10)
        self.shm = (shared_memory.SharedMemory(name=name) if name
                    else shared_memory.SharedMemory(create=True, size=4 * n))
        buf = np.ndarray((n,), np.float32, self.shm.buf)
        self.values, self.grads, at = [], [], 0
        for p, size in zip(params, sizes):
            self.values.append(buf[at : at + size].reshape(p.value.shape))
            self.grads.append(buf[total + at : total + at + size].reshape(p.value.shape))
            at += size
        rest = buf[2 * total :]
        self.x = rest[: HALF * 784].reshape(HALF, 1, 28, 28)
        self.logits = rest[HALF * 784 : HALF * 794].reshape(HALF, 10)
        self.dlogits = rest[HALF * 794 :].reshape(HALF, 10)

    def close(self, unlink=False):
        self.values = self.grads = self.x = self.logits = self.dlogits = None  # views first
        self.shm.close()
        if unlink:
            self.shm.unlink()


def _helper(conn, name):
    """The helper process: half 1 through a replica of the model, on request."""
    from threadpoolctl import threadpool_limits

    from nnlib import parallel

    threadpool_limits(1, user_api="blas")
    model = _model()
    params = model.parameters()
    shared = _Shared(params, name)
    parallel._in_worker.whole = True  # the layers' kernels take the half whole, as a thread's half does
    while (msg := conn.recv_bytes()) != b"quit":
        if msg == b"forward":
            for p, v in zip(params, shared.values):
                np.copyto(p.value, v)
            shared.logits[...] = model.run_forward(model.layers, shared.x)
        else:
            for p in params:
                p.grad.fill(0)
            model.run_backward(model.layers, shared.dlogits.copy())
            for p, g in zip(params, shared.grads):
                np.copyto(g, p.grad)
        conn.send_bytes(b"done")
    shared.close()


class ProcessPair:
    """A LeNet-5 training step (SGD with momentum, batch 64), half 1 in a helper process."""

    def __init__(self):
        import nnlib

        self.model = _model()
        self.params = self.model.parameters()
        self.shared = _Shared(self.params)
        context = get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.helper = context.Process(target=_helper, args=(theirs, self.shared.shm.name), daemon=True)
        self.helper.start()
        self.loss = nnlib.CrossEntropyLoss()
        self.opt = nnlib.optim.SGD(self.params, lr=0.01, momentum=0.9)

    def step(self, xb, yb):
        from nnlib import parallel

        shared, model = self.shared, self.model
        self.opt.zero_grad()
        for p, v in zip(self.params, shared.values):
            np.copyto(v, p.value)
        shared.x[...] = xb[HALF:]
        self.conn.send_bytes(b"forward")
        parallel._in_worker.whole = True
        try:
            out0 = model.run_forward(model.layers, xb[:HALF])
            self.conn.recv_bytes()
            self.loss(np.concatenate([out0, shared.logits]), yb)
            g = self.loss.backward()
            shared.dlogits[...] = g[HALF:]
            self.conn.send_bytes(b"backward")
            model.run_backward(model.layers, g[:HALF])
            self.conn.recv_bytes()
        finally:
            parallel._in_worker.whole = False
        for p, g1 in zip(self.params, shared.grads):  # half 0 + half 1, as the threads add them
            p.grad += g1
        self.opt.step()

    def close(self):
        self.conn.send_bytes(b"quit")
        self.helper.join(timeout=30)
        self.shared.close(unlink=True)


def worker_pair(n_batches: int, passes: int = 2) -> dict:
    from lenet_speed import _batches, best_rate
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    pair = ProcessPair()
    try:
        return {"images_per_second": best_rate(pair.step, _batches(n_batches), passes)}
    finally:
        pair.close()


def same_weights(steps: int) -> bool:
    """Train `steps` batches both ways from the same start: the same bits?"""
    from lenet_speed import _batches, nnlib_step
    from threadpoolctl import threadpool_limits

    from nnlib import kernels

    threadpool_limits(1, user_api="blas")
    kernels.set_num_threads(2)
    data = _batches(steps)
    model, step = nnlib_step()
    pair = ProcessPair()
    try:
        for xb, yb in data:
            step(xb, yb)
            pair.step(xb, yb)
        return all(np.array_equal(a.value, b.value) for a, b in zip(model.parameters(), pair.params))
    finally:
        pair.close()


def _run(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True, text=True,
                         timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=60, help="batches per timed pass")
    parser.add_argument("--check-steps", type=int, default=5, help="steps trained both ways for the bit check")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, n = args.worker[0], int(args.worker[1])
        if kind == "pair":
            result = worker_pair(n)
        else:
            from lenet_speed import worker_throughput

            result = worker_throughput("nnlib", 2, n, 1)
        print(json.dumps(result))
        return

    print(f"numpy {np.__version__}; load average at start {os.getloadavg()[0]:.2f}")
    rounds = {"threads": [], "pair": []}
    for _ in range(args.rounds):
        for kind in rounds:
            rounds[kind].append(_run([kind, str(args.batches)])["images_per_second"])
    best = {kind: max(v) for kind, v in rounds.items()}
    print(f"LeNet-5 training step (float32, batch {BATCH}, SGD momentum), images/s, best of {args.rounds} "
          f"alternating rounds (all rounds in brackets), load at end {os.getloadavg()[0]:.2f}:")
    print(f"  nnlib, halves on 2 threads (as it trains): {best['threads']:8,.0f}  "
          f"({', '.join(f'{v:,.0f}' for v in rounds['threads'])})")
    print(f"  process pair, half 1 in a helper process:  {best['pair']:8,.0f}  "
          f"({', '.join(f'{v:,.0f}' for v in rounds['pair'])})")
    print(f"  process pair / threads: {best['pair'] / best['threads']:.2f}")
    same = same_weights(args.check_steps)
    print(f"weights after {args.check_steps} steps trained both ways: "
          + ("the same bits" if same else "DIFFERENT (the pair does not compute what the threads do)"))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
