"""Frames per second of notebook 06's Playground while it trains in the background.

Runs the notebook's own definition cells (data, model, training loop, decision grid, units,
presets: everything before the preset claims), builds the widget as the notebook does,
presses Train, and counts the redraws the training thread makes in a few seconds, for the
preset settings given (the default: all of them). Prints frames per second, the median and
90th percentile redraw time (draw + render + PNG), the CPU time of one redraw (what a busy
machine cannot inflate), and training steps per second; then the
time from a knob moved (the noise slider, while paused) to its new picture: a new run, new
data and a full render.

Usage: PYTHONPATH=. python benchmarks/playground_fps.py [--seconds 3] [--scale screen|projector] [preset ...]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
import numpy as np

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_playground.ipynb"
STOP_AT = "run_preset("  # the first cell that calls it runs the (slow) preset claims


def notebook_namespace() -> dict:
    """The notebook's definitions, from running its code cells up to the preset claims."""
    namespace: dict = {}
    code = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    for source in code[1:]:  # the setup cell installs nothing here
        if STOP_AT in source and "def run_preset" not in source:
            break
        exec(compile(source, str(NOTEBOOK), "exec"), namespace)  # noqa: S102 - our own notebook
    return namespace


def measure(panel, seconds: float) -> dict:
    """Train for ``seconds`` and report the redraws the training thread made meanwhile."""
    before, steps_before = len(panel.live.timings), panel.job.n_steps
    t0 = time.perf_counter()
    panel.train()
    time.sleep(seconds)
    panel.pause()
    elapsed = time.perf_counter() - t0
    redraws = np.array(panel.live.timings[before:])
    cpu = []
    for _ in range(5):  # the CPU a redraw costs, whatever else the machine is doing
        t0 = time.process_time()
        panel.live.refresh()
        cpu.append(1000 * (time.process_time() - t0))
    return {"fps": len(redraws) / elapsed, "median_ms": float(np.median(redraws)),
            "p90_ms": float(np.percentile(redraws, 90)), "steps_per_s": (panel.job.n_steps - steps_before) / elapsed,
            "cpu_ms": float(np.median(cpu))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="*", help="preset names (default: every preset)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--scale", choices=("screen", "projector"), default="screen")
    args = parser.parse_args()
    from nnlib import viz

    ns = notebook_namespace()
    viz.use_style(args.scale)
    panel = ns["widgets"].playground(ns["make_data"], ns["make_job"], ns["decision_grid"], ns["unit_responses"],
                                     ns["DATASETS"], presets=ns["PRESETS"])
    for name in args.presets or list(ns["PRESETS"]):
        panel.live.apply_preset(name)
        r = measure(panel, args.seconds)
        print(f"{name:36s} {r['fps']:5.1f} frames/s   redraw median {r['median_ms']:5.1f} ms "
              f"(90%: {r['p90_ms']:5.1f}; CPU {r['cpu_ms']:4.1f})   {r['steps_per_s']:6.0f} steps/s")
        panel.reset()
    noise = panel.live.controls["noise"]
    knob_ms = []
    for value in (0.15, 0.2, 0.25, 0.2, 0.15):
        t0 = time.perf_counter()
        noise.value = value
        knob_ms.append(1000 * (time.perf_counter() - t0))
    print(f"knob -> new picture (noise slider, 5 moves): median {np.median(knob_ms):.0f} ms, "
          f"max {np.max(knob_ms):.0f} ms")
    panel.close()
    print(f"load average while measuring (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
