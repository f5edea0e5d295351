"""Training throughput of notebook 08's dashboard against plain ``nnlib.fit`` on the same data.

Both train a modern LeNet-5 (float32, seed 0, Adam lr 1e-3, batch 64) on the notebook's 3,500
training digits for the same number of epochs, and both score the 500 validation digits after
every epoch. ``fit`` runs in the calling thread with no progress bar. The dashboard is the real
widget (``nnlib.widgets.lenet.dashboard``) over the notebook's ``train_step`` / ``train_epoch``
(the same lines, as ``nnlib.exercises.lenet`` holds them for its checker): **Train** starts a
background :class:`nnlib.jobs.TrainingJob`, and the live figure is redrawn at the dashboard's
frame rate while it trains, as in a notebook. Both runs give the same weights, bit for bit
(checked), so the only difference is the dashboard's cost: the job's guard, the redraws, the
held-back records.

Rounds alternate (fit, dashboard, fit, ...) so that a change of load hits both; the ratio is of
the medians of images/second, and also given round by round together with the median of the
rounds' own ratios (each compares two runs next to each other in time). On a shared machine wall-clock
throughput swings with the other processes' load, so the script also gives images per CPU-second
of this process (``time.process_time``: every thread, the dashboard's redraws included), which
measures the dashboard's extra work with less of the neighbours' noise. Least sensitive of all:
the share of the dashboard's own run that its training thread spent redrawing (the sum of the
redraw times over the run's wall time; load slows both alike). With the loop and the guard costing
nothing measurable, the dashboard's throughput is (1 - that share) of fit's.

Usage::

    python benchmarks/dashboard_throughput.py [--rounds 9] [--epochs 2] [--fps 1] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nnlib  # noqa: E402
from nnlib.exercises.lenet import reference_train_epoch as train_epoch  # noqa: E402 (the notebook's loop)
from nnlib.lenet import lenet5  # noqa: E402
from nnlib.mnist import load_mnist  # noqa: E402


def run_fit(data, epochs, batch):
    X, y, X_val, y_val = data
    model = lenet5("modern", rng=0).to(np.float32)
    model[0].input_grad = False
    t0, c0 = time.perf_counter(), time.process_time()
    nnlib.fit(model, nnlib.CrossEntropyLoss(), nnlib.optim.Adam(model.parameters(), lr=1e-3), X, y,
              epochs=epochs, batch_size=batch, seed=0, validation=(X_val, y_val), progress=False)
    n = epochs * len(X)
    return n / (time.perf_counter() - t0), n / (time.process_time() - c0), model


def run_dashboard(data, epochs, batch, fps):
    from nnlib.widgets import lenet as widgets

    panel = widgets.dashboard(train_epoch, data, fps=fps, optimizer="Adam", lr=1e-3, batch_size=batch,
                              epochs=epochs)
    frames = len(panel.live.timings)
    t0, c0 = time.perf_counter(), time.process_time()
    panel.train()
    panel.job.join()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert panel.job.state == "finished" and panel.job.error is None, panel.job.error
    redraws = panel.live.timings[frames:]
    n = epochs * len(data[0])
    return n / seconds, n / cpu, panel.job.model, redraws, seconds


def job_overhead(steps=5000):
    """Microseconds per step that the background job adds around a step that does nothing."""
    from nnlib.widgets import lenet as widgets

    def empty_epoch(model, loss_fn, optimizer, X, y, batch_size, rng):
        for _ in range(0, len(X), batch_size):
            yield 1.0

    X = np.zeros((steps, 1, 1, 1), np.float32)
    job = widgets.training_job(empty_epoch, (X, np.zeros(steps, int), np.zeros((1, 1, 28, 28), np.float32),
                                             np.zeros(1, int)), batch_size=1, epochs=1)
    t0 = time.perf_counter()
    job.start()
    job.join()
    return 1e6 * (time.perf_counter() - t0) / job.n_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--fps", type=float, default=1.0, help="redraws per second (the dashboard's default: 1)")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: numpy's own choice)")
    args = parser.parse_args()
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    X, y, _, _ = load_mnist("5k")
    data = (X[:-500], y[:-500], X[-500:], y[-500:])
    print(f"LeNet-5 modern, float32, Adam, batch {args.batch}, {args.epochs} epochs of {len(data[0]):,} digits, "
          f"validation on {len(data[2])} after each; dashboard at {args.fps:g} redraws/s; "
          f"load average {os.getloadavg()[0]:.2f}")
    fits, dashes, cpu_fits, cpu_dashes, redraws, ratios, shares = [], [], [], [], [], [], []
    for r in range(args.rounds):
        speed_fit, cpu_fit, m_fit = run_fit(data, args.epochs, args.batch)
        speed_dash, cpu_dash, m_dash, times, seconds = run_dashboard(data, args.epochs, args.batch, args.fps)
        same = all(np.array_equal(p.value, q.value) for p, q in zip(m_fit.parameters(), m_dash.parameters()))
        assert same, "the dashboard's run and fit's gave different weights"
        fits.append(speed_fit)
        dashes.append(speed_dash)
        cpu_fits.append(cpu_fit)
        cpu_dashes.append(cpu_dash)
        redraws += times
        ratios.append(speed_dash / speed_fit)
        shares.append(sum(times) / 1000 / seconds)
        print(f"round {r + 1}: fit {speed_fit:,.0f} img/s ({cpu_fit:,.0f} per CPU-s), dashboard {speed_dash:,.0f} "
              f"img/s ({cpu_dash:,.0f} per CPU-s, {len(times)} redraws); ratio {speed_dash / speed_fit:.3f} "
              f"(CPU {cpu_dash / cpu_fit:.3f}); redrawing {shares[-1]:.1%} of the run; same weights: {same}")
    med = statistics.median
    print(f"the job's own cost around each step (guard, generator, record): {job_overhead():.1f} µs, against "
          f"{1000 * args.batch / med(fits):.1f} ms for one training step of fit")
    print(f"median: fit {med(fits):,.0f} img/s, dashboard {med(dashes):,.0f} img/s: "
          f"ratio {med(dashes) / med(fits):.3f} (median of the rounds' ratios {med(ratios):.3f}); "
          f"per CPU-second: fit {med(cpu_fits):,.0f}, dashboard {med(cpu_dashes):,.0f}: ratio "
          f"{med(cpu_dashes) / med(cpu_fits):.3f} (target >= 0.90); redraw median {med(redraws):.1f} ms, "
          f"max {max(redraws):.1f} ms; share of the dashboard's run spent redrawing: median {med(shares):.1%}, "
          f"max {max(shares):.1%}; load average now {os.getloadavg()[0]:.2f}")

if __name__ == "__main__":
    main()
