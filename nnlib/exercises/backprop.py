"""Checkers of notebook 03 (computation graphs and backpropagation).

Coding exercises: :func:`divide_backward` (a new operation of the scalar engine, checked by
finite differences in a graph that uses it three times, once on a reused node) and
:func:`delta_down` (one line of the δ recursion, run inside the backward pass of random
nnlib networks and compared with nnlib's own gradients). Questions: :func:`ls_grad_b`,
:func:`reverse_cost`, :func:`triangle_paths`, :func:`vanishing_layers`.
"""

from __future__ import annotations

import numpy as np

from ..graph import Value, topological_order
from . import check_function, check_gradient, check_number, verdict

__all__ = ["divide_backward", "delta_down", "ls_grad_b", "reverse_cost", "triangle_paths", "vanishing_layers"]


# ---- coding exercise 1: the backward of an operation ------------------------------------------
def _divide_graph(divide, x):
    """Gradient of 3·(a/b) + b/a - 2·(a/a) at (a, b) = x, through the student's ``divide``."""
    a, b = Value(float(x[0]), label="a"), Value(float(x[1]), label="b")
    parts = [divide(a, b), divide(b, a), divide(a, a)]
    for part, want in zip(parts, (x[0] / x[1], x[1] / x[0], 1.0), strict=True):
        if not isinstance(part, Value):
            raise TypeError(f"divide should return a Value, got {type(part).__name__}")
        if not np.isclose(part.data, want, rtol=1e-12):
            raise ValueError(f"the forward value of divide is {part.data:.6g}, but a / b is {want:.6g}")
    (parts[0] * 3.0 + parts[1] - parts[2] * 2.0).backward()
    return np.array([a.grad, b.grad])


def _nonzero_point(rng):
    return rng.choice([-1.0, 1.0], size=2) * rng.uniform(0.5, 2.0, size=2)


def divide_backward(divide) -> bool:
    """Does ``divide(a, b)`` give a Value whose backward adds the right gradients into a and b?

    The operation is used three times in one graph (once as ``divide(a, a)``, a node feeding
    both inputs, and under factors 3 and 2), and the gradients are compared with finite
    differences at random points.
    """
    if not callable(divide):
        return verdict(False, f"pass your function itself (got {type(divide).__name__}).")
    return check_gradient(
        lambda x: _divide_graph(divide, x), lambda x: 3 * x[0] / x[1] + x[1] / x[0] - 2.0, _nonzero_point,
        hint="each parent receives (local derivative) × out.grad, added with += as in Value.__mul__; "
             "work out ∂(a/b)/∂a and ∂(a/b)/∂b on paper first (the second one has a minus sign).",
        praise="Your divide's backward matches finite differences, also on a node used twice.", trials=4)


# ---- coding exercise 2: one line of the δ recursion -------------------------------------------
ACTIVATION_LAYERS = ("Sigmoid", "Tanh", "ReLU")


def _random_network(rng):
    """A small nnlib MLP (Linear, activation, ..., Linear), a batch X and an upstream gradient G."""
    import nnlib

    widths = rng.integers(1, 6, size=rng.integers(3, 6))
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nnlib.Linear(int(n_in), int(n_out), rng=rng))
        if i < len(widths) - 2:
            layers.append(getattr(nnlib, ACTIVATION_LAYERS[rng.integers(len(ACTIVATION_LAYERS))])())
    n = int(rng.integers(1, 5))
    return nnlib.Sequential(*layers), rng.standard_normal((n, widths[0])), rng.standard_normal((n, widths[-1]))


def _nnlib_weight_grads(model, X, G):
    model.zero_grad()
    model(X)
    model.backward(G)
    return [m.weight.grad.copy() for m in model.layers[0::2]]


def _weight_grads_with(delta_down, model, X, G):
    """∂L/∂W of every Linear layer, by the notes' recursion with the student's δ step.

    Examples are columns here, as in the notes: δ_l is (units of layer l, N).
    """
    linears, activations = model.layers[0::2], model.layers[1::2]
    inputs, slopes, a = [], [], X
    for lin, act in zip(linears, activations + [None]):
        inputs.append(a)
        a = lin.forward(a)
        if act is not None:
            a = act.forward(a)
            slopes.append(act.backward(np.ones_like(a)).T)  # f'(z_l), read from nnlib's layer
    delta, grads = G.T, []
    for l in reversed(range(len(linears))):
        grads.append(delta @ inputs[l])
        if l > 0:
            delta = delta_down(delta, linears[l].weight.value, slopes[l - 1])
    return grads[::-1]


def delta_down(delta_down_fn) -> bool:
    """Is ``delta_down_fn(delta_next, W_next, df_z)`` the step δ_l = (W_{l+1}ᵀ δ_{l+1}) ⊙ f'(z_l)?

    It runs inside the backward pass of random networks (widths 1-5, 2-4 layers, sigmoid,
    tanh and ReLU mixed, batches of 1-4) and every weight gradient is compared with the one
    nnlib's own ``backward`` accumulates.
    """
    if not callable(delta_down_fn):
        return verdict(False, f"pass your function itself (got {type(delta_down_fn).__name__}).")
    return check_function(
        lambda model, X, G: _weight_grads_with(delta_down_fn, model, X, G), _nnlib_weight_grads,
        lambda rng: _random_network(rng), trials=6,
        hint="δ_l must have one row per unit of layer l and one column per example. Bring δ_{l+1} back "
             "through the weights between layers l and l+1 (check which way round they must be for the "
             "shapes to fit), then scale entry by entry with the slope of layer l's activation.",
        praise="Your δ step gives nnlib's weight gradients on 6 random networks.")


# ---- questions with computed answers ---------------------------------------------------------
def ls_grad_b(answer) -> bool:
    """∂ℓ/∂b of ℓ = (y - (w·x + b))² at w = (1, 1), b = 0, x = (2, 3), y = 1."""
    w1, w2, b = Value(1.0), Value(1.0), Value(0.0)
    ((1.0 - (w1 * 2.0 + w2 * 3.0 + b)) ** 2).backward()
    return check_number(answer, b.grad, rtol=1e-9,
                        hint="compute ŷ and r = y - ŷ first; then ∂ℓ/∂b = (∂ℓ/∂r)(∂r/∂ŷ)(∂ŷ/∂b). Watch the sign of r.")


def reverse_cost(answer) -> bool:
    """Scalar multiplications of reverse mode for widths D = [10, 20, 30, 1] (input first)."""
    D = [10, 20, 30, 1]
    cost, rows = 0, D[-1]
    for l in range(len(D) - 2, 0, -1):  # (J_3 J_2) then (.. J_1): every product keeps D_L rows
        cost += rows * D[l] * D[l - 1]
    return check_number(answer, cost, rtol=0,
                        hint="reverse mode starts at the output end, so every intermediate product has "
                             "D_3 = 1 row; a (p × q)·(q × r) product costs p·q·r. There are two products.")


def triangle_paths(answer) -> bool:
    """Paths from x to the output of 6 blocks z ← z + tanh(z) + σ(z)."""
    x = z = Value(0.1)
    for _ in range(6):
        z = z + z.tanh() + z.sigmoid()
    paths = {}
    for node in topological_order(z):  # paths(node) = Σ over its parents of paths(parent)
        paths[id(node)] = 1 if node is x else sum(paths[id(p)] for p in node.parents)
    return check_number(answer, paths[id(z)], rtol=0,
                        hint="count the routes through one block first (draw it), then ask how the "
                             "choices in consecutive blocks combine.")


def vanishing_layers(answer) -> bool:
    """Fewest sigmoid layers (weights |w| <= 1) after which the gradient is surely below 1e-6."""
    k = 1
    while 0.25**k >= 1e-6:  # the largest slope of σ is σ'(0) = 1/4
        k += 1
    return check_number(answer, k, rtol=0,
                        hint="each layer multiplies the gradient by w·σ'(z) with |w| <= 1: how large can σ' be? "
                             "Then find the smallest whole k for which (that bound)^k < 1e-6.")
