"""Sliders of notebook 04 (optimizers): thin wiring of the notebook's own functions to figures.

Each builder takes what the notebook computed or wrote (a table of mini-batch runs, the
``race`` function that runs the four update rules, the saddle's ``run``) and redraws its
figure from it; nothing here knows an update rule.
"""

from __future__ import annotations

import math

import ipywidgets

from ..figures import optimizers as figures
from .live import Live, dropdown, log_slider, slider

ESCAPED = 0.5  # |w₂| beyond which the saddle run counts as escaped (the minima sit at ±1)
_STYLE = {"description_width": "initial"}


def choice_slider(options, value, label):
    """A slider over a fixed list of values (batch sizes, noise levels)."""
    return ipywidgets.SelectionSlider(options=list(options), value=value, description=label,
                                      continuous_update=True, style=_STYLE)


# ---- section 1: batch size --------------------------------------------------------------------------
def minibatch_caption(table, B, floor):
    """What the batch-size widget says under its figure, as plain text."""
    row = table[B]
    measured, formula = row["noise"]
    return (f"B = {B}: {len(row['path']) - 1} steps of {B} example-gradient{'s' * (B > 1)} each; "
            f"gradient noise {measured:.3f} (formula {formula:.3f}); "
            f"final loss {row['final'] - floor:.3g} above the least-squares floor")


def minibatch(table, loss, solution, floor, initial=16):
    """Batch-size slider over the notebook's table ``{B: {"path", "noise", "final"}}``."""
    sizes = sorted(table)
    fig, artists = figures.minibatch_figure(loss, solution, sizes, {B: table[B]["noise"] for B in sizes})

    def draw(B):
        row = table[B]
        figures.update_minibatch(artists, row["path"], B, len(row["path"]) - 1, row["noise"][0])
        return minibatch_caption(table, B, floor)

    return Live(draw, fig, cache=True, layout="top", B=choice_slider(sizes, initial, "batch size B"))


# ---- section 3: the race ------------------------------------------------------------------------------
def race_summary(paths, f, fmin, steps):
    """One line per racer: diverged (at which step), growing, or how far above the minimum."""
    lines = []
    for name, path in paths.items():
        taken = len(path) - 1
        gap = float(f(path[-1]) - fmin)
        if taken < steps:
            lines.append(f"{name}: diverged at step {taken + 1} (|w| passed 1e6): lower its learning rate")
        elif f(path[-1]) > f(path[0]):
            lines.append(f"{name}: the loss grew to {gap:.2g} above the minimum: diverging, lower its learning rate")
        else:
            lines.append(f"{name}: {gap:.2g} above the minimum after {taken} steps")
    return "\n".join(lines)


def race(run, surfaces, points, presets):
    """The race: ``run(surface, steps, lr_sgd, momentum, lr_adaptive, alpha, beta1, beta2)``
    returns ``{racer: path}`` (the notebook's function, with its step functions inside);
    ``points[key]`` lists a surface's critical points ``(w, kind)``; ``presets`` name
    settings of every control. The first preset is the starting state."""
    first = next(iter(presets.values()))
    fmins = {key: min(float(surfaces[key].f(w)) for w, kind in points[key] if kind == "minimum") for key in surfaces}
    fig = figures.RaceFigure()

    def draw(surface, steps, **settings):
        s = surfaces[surface]
        fig.set_surface(s, points[surface], fmins[surface])
        paths = run(surface=surface, steps=steps, **settings)
        fig.update(paths)
        return race_summary(paths, s.f, fmins[surface], steps).replace("\n", "<br>")

    controls = dict(
        surface=dropdown({s.name: key for key, s in surfaces.items()}, first["surface"], "surface"),
        lr_sgd=log_slider(first["lr_sgd"], 1e-4, 1.0, "learning rate: SGD, momentum", steps_per_decade=20),
        momentum=slider(first["momentum"], 0.0, 0.99, 0.01, "momentum β"),
        lr_adaptive=log_slider(first["lr_adaptive"], 1e-3, 1.0, "learning rate: RMSProp, Adam", steps_per_decade=20),
        alpha=slider(first["alpha"], 0.0, 0.999, 0.001, "RMSProp α", fmt=".3f"),
        beta1=slider(first["beta1"], 0.0, 0.99, 0.01, "Adam β₁"),
        beta2=slider(first["beta2"], 0.5, 0.9999, 0.0001, "Adam β₂", fmt=".4f"),
        steps=ipywidgets.IntSlider(value=first["steps"], min=10, max=500, step=10, description="steps", style=_STYLE),
    )
    return Live(draw, fig.fig, presets=presets, cache=True, **controls)


# ---- section 5: the saddle -------------------------------------------------------------------------------
def saddle_summary(path, steps):
    """Where a run on the saddle went: the step it escaped at, or that it stayed."""
    away = [t for t, w in enumerate(path) if abs(w[1]) > ESCAPED]
    if away:
        return f"escaped the saddle at step {away[0]} (|w₂| > {ESCAPED:g})"
    if len(path) - 1 < steps:
        return f"diverged at step {len(path)}: lower the learning rate"
    dist = math.hypot(*path[-1])
    return f"after {steps} steps still {dist:.1g} from the saddle point: it looks converged, and is not a minimum"


def saddle(run, surface, points, fmin, steps=300):
    """Rule, learning rate, gradient noise and starting offset from the ridge on the saddle;
    ``run(rule, lr, noise, offset, steps)`` is the notebook's function and returns a path."""
    fig, artists = figures.saddle_figure(surface, points, fmin, steps)
    rules = ("gradient descent", "momentum (β = 0.9)", "Adam")

    def draw(rule, lr, noise, offset):
        path = run(rule, lr=lr, noise=noise, offset=offset, steps=steps)
        text = saddle_summary(path, steps)
        figures.update_saddle(artists, path, lr, text.split(":")[0])
        return text

    return Live(draw, fig, cache=True,
                rule=dropdown(rules, rules[0], "rule"),
                lr=choice_slider((0.02, 0.05, 0.1, 0.2), 0.1, "learning rate η"),
                noise=choice_slider((0.0, 1e-4, 1e-3, 1e-2, 1e-1), 0.0, "gradient noise σ"),
                offset=choice_slider((0.0, 1e-12, 1e-8, 1e-4, 1e-2), 1e-8, "start: w₂ ="))
