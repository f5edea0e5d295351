"""Sliders of notebook 03 (computation graphs and backpropagation).

Each builder takes the notebook's own function (the idea, written in a cell), draws with
``nnlib.figures.backprop`` and binds controls through :class:`nnlib.widgets.Live`. What a
slider shows is computed by the student's code; this module only wires and precomputes.
Every picture depends on the controls alone, so each is stored (``cache=True``): a setting
seen before costs no render.
"""

from __future__ import annotations

import numpy as np

from ..figures import backprop as figures
from .live import Live, dropdown, int_slider, log_slider, slider

__all__ = ["sensitivity", "stepper", "chain_costs", "gradients", "dying_relu", "subgradients"]


def sensitivity(sensitivity_fn, kinds=("affine", "nonlinear"), deltas=None):
    """Move one input of g by δ: each output's true change against (∂b_i/∂a_j)·δ.

    ``sensitivity_fn(kind, j, delta) -> (true_change, estimate)``, each of shape (3,).
    """
    deltas = np.linspace(-3, 3, 31) if deltas is None else deltas
    plot = figures.SensitivityPlot(deltas)
    # the curves for every (map, input) pair, from the notebook's function, once
    curves = {(k, j): np.array([sensitivity_fn(k, j, float(t))[0] for t in deltas]) for k in kinds for j in (0, 1)}
    slopes = {key: np.asarray(sensitivity_fn(*key, 1.0)[1]) for key in curves}  # the estimate at δ = 1

    def draw(kind, j, delta):
        true, estimate = sensitivity_fn(kind, j, delta)
        plot.show(curves[kind, j], slopes[kind, j], delta, true, estimate,
                  title=f"{kind} map, moving $a_{j + 1}$")
        errors = ", ".join(f"{e:.2g}" for e in np.where(np.abs(true - estimate) < 1e-12, 0, true - estimate))
        return f"δ = {delta:.2f}: slopes ∂b_i/∂a_{j + 1} = " + ", ".join(
            f"{s:.3g}" for s in slopes[kind, j]) + f"; errors of the estimate: {errors}"

    return Live(draw, plot.fig, cache=True, kind=dropdown(list(kinds), label="map"),
                j=dropdown({"a1": 0, "a2": 1}, label="move"), delta=slider(0.5, -3, 3, 0.05, label="δ"))


def stepper(root, params=None, start=0):
    """A slider over the forward then the backward pass of ``root``'s graph.

    Call ``root.backward()`` first: the slider only reveals numbers the passes stored, it
    computes nothing, which is the point (the backward pass reads the forward pass's cache).
    """
    plot = figures.GraphPlot(root, params=params)

    def draw(step):
        plot.set_step(step)

    return Live(draw, plot.fig, cache=True, layout="top",
                step=int_slider(start, 0, plot.n_steps - 1, label="step"))


def chain_costs(chain_costs_fn, presets: dict):
    """Widths D0..D4 and presets: the cost of multiplying the chain of Jacobians in each order.

    ``chain_costs_fn(widths) -> dict`` with ``forward``, ``reverse``, ``optimal`` and ``order``;
    ``presets``: name -> five widths.
    """
    plot = figures.ChainCostPlot()

    def draw(**widths):
        D = [widths[f"D{i}"] for i in range(5)]
        c = chain_costs_fn(D)
        plot.show([c["forward"], c["reverse"], c["optimal"]], title="widths D = " + ", ".join(map(str, D)))
        return f"optimal order (A1 = the Jacobian at the output end): {c['order']}"

    first = next(iter(presets.values()))
    controls = {f"D{i}": int_slider(v, 1, 1024, label=f"D{i}") for i, v in enumerate(first)}
    return Live(draw, plot.fig, cache=True, **controls,
                presets={name: {f"D{i}": v for i, v in enumerate(D)} for name, D in presets.items()})


def gradients(gradient_norms_fn, activations, inits, presets: dict, max_depth: int = 40):
    """Depth, activation and initialisation: the gradient norm and the signal spread per layer.

    ``gradient_norms_fn(depth, act, init) -> (grad_norms, output_stds)``, each ``(depth,)``.
    """
    plot = figures.GradientPlot(max_depth)

    def draw(depth, act, init):
        norms, stds = gradient_norms_fn(depth, act, init)
        plot.show(norms, stds)
        zeros = int(np.sum(norms == 0))
        if norms[-1] == 0 or norms[0] == 0:
            return f"exactly zero gradient in {zeros} of {depth} layers: these weights cannot learn"
        return f"first layer / last layer gradient: {norms[0] / norms[-1]:.2g}"

    first = next(iter(presets.values()))
    return Live(draw, plot.fig, cache=True, presets=presets,
                depth=int_slider(first["depth"], 2, max_depth, label="depth"),
                act=dropdown(list(activations), first["act"], label="activation"),
                init=dropdown(list(inits), first["init"], label="init"))


def dying_relu(dying_relu_fn):
    """Bias and step size: dead ReLU units per layer before and after one SGD step.

    ``dying_relu_fn(bias, lr) -> (before, after)``, one fraction per hidden layer.
    """
    plot = figures.DeadUnitsPlot(len(dying_relu_fn(0.0, 0.01)[0]))

    def draw(bias, lr):
        before, after = dying_relu_fn(bias, lr)
        plot.show(before, after)
        return f"dead units: {np.mean(before):.0%} before the step, {np.mean(after):.0%} after it"

    return Live(draw, plot.fig, cache=True, bias=slider(0.0, -2.0, 1.0, 0.1, label="bias"),
                lr=log_slider(0.01, 1e-3, 100.0, label="SGD step lr"))


def subgradients(is_subgradient_fn, kinks: dict, xs=None):
    """A convex function with a kink and the line through it with slope g: subgradient or not?

    ``kinks``: name -> (h, v, ...), the function and where its kink is;
    ``is_subgradient_fn(h, v, g) -> bool``.
    """
    plot = figures.SubgradientPlot(np.linspace(-3, 3, 301) if xs is None else xs)

    def draw(kink, g):
        h, v = kinks[kink][:2]
        ok = is_subgradient_fn(h, v, g)
        plot.show(h, v, g, ok, name=kink)
        return f"slope {g:.2f} {'is' if ok else 'is not'} a subgradient of {kink}"

    return Live(draw, plot.fig, cache=True, kink=dropdown(list(kinks), label="function"),
                g=slider(0.5, -2.0, 2.0, 0.05, label="slope g"))
