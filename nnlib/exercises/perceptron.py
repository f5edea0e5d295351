"""Checkers of notebook 01's exercises (one convention: see :mod:`nnlib.exercises`).

Coding exercises: :func:`perceptron_step` (the learning rule) and :func:`xor_by_hand`
(weights of a two-layer threshold network). Questions: :func:`nand`, :func:`linear_gates`,
:func:`tanh_from_sigmoid`. Each prints one line, right or not yet with a hint that never
holds the answer, and returns a bool.
"""

from __future__ import annotations

import contextlib
import io
import itertools

import numpy as np

from ..layers import sigmoid
from . import as_number, attempt, check_function, verdict

__all__ = ["perceptron_step", "xor_by_hand", "nand", "linear_gates", "tanh_from_sigmoid"]

CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
NOISE = 0.2  # how far a "dim" or "bright" light may read from 0 or 1 in xor_by_hand


def _fires(X, w, theta):
    return (np.asarray(X, float) @ np.asarray(w, float).T >= theta).astype(int)


# ---- the perceptron learning rule -------------------------------------------------------------
def _reference_step(w, b, x, y):
    error = y - int(x @ w + b >= 0)
    return w + error * x, b + error


def _step_inputs():
    """Inputs for the step, cycling through the cases a rule must get right: a missed 1, a false
    alarm, a right answer of each kind, and a sum exactly at the threshold (the unit fires)."""
    # (sum of the unit: below, above or at the threshold; target)
    cases = itertools.cycle([(-1, 1), (1, 0), (1, 1), (-1, 0), (0, 0), (0, 1)])

    def make(rng):
        side, y = next(cases)
        d = int(rng.integers(1, 5))
        if side == 0:  # whole numbers, so the sum lands exactly on the threshold
            x = rng.integers(0, 2, size=d).astype(float)
            w = rng.integers(-2, 3, size=d).astype(float)
            return w, -float(x @ w), x, y
        w, x = rng.normal(size=d), rng.normal(size=d)
        return w, side * float(rng.uniform(0.1, 2)) - float(x @ w), x, y

    return make


def _separable_data(rng, n=40, d=2, gap=0.2):
    """Random points labelled by a random line, none closer to it than ``gap``; returns the
    points, labels and the line's margin with the bias folded in (for Novikoff's bound)."""
    u = rng.normal(size=d)
    u /= np.linalg.norm(u)
    c = float(rng.uniform(-1, 1))
    X = rng.uniform(-3, 3, size=(4 * n, d))
    dist = X @ u + c
    keep = np.abs(dist) >= gap
    X, dist = X[keep][:n], dist[keep][:n]
    return X, (dist > 0).astype(int), float(np.abs(dist).min()) / np.hypot(1.0, c)


def _train(step, X, y, max_updates):
    w, b, updates = np.zeros(X.shape[1]), 0.0, 0
    while updates <= max_updates:
        mistakes = 0
        for x_i, y_i in zip(X, y):
            w_new, b_new = step(w, b, x_i, y_i)
            if b_new != b or np.any(w_new != w):
                mistakes += 1
            w, b = np.asarray(w_new, float), float(b_new)
        updates += mistakes
        if mistakes == 0:
            return w, b, updates
    return w, b, updates


def perceptron_step(student) -> bool:
    """Checks ``perceptron_step(w, b, x, y) -> (w, b)``: against the rule on 12 random inputs
    (mistakes of both kinds, right answers, sums exactly at the threshold), that it leaves its
    inputs unchanged, and that training with it stops on random separable data within
    Novikoff's bound."""
    hint = ("the unit fires when x @ w + b >= 0 (a sum exactly at the threshold fires). When its "
            "output is right, w and b stay; when it is wrong, move w by the input times the error "
            "(target minus output) and b by the error.")
    with contextlib.redirect_stdout(io.StringIO()) as said:  # one verdict line in all: this one is a first step
        agrees = check_function(student, _reference_step, _step_inputs(), hint=hint, trials=12, seed=1)
    if not agrees:
        print(said.getvalue(), end="")
        return False
    w, x = np.array([0.5, -1.0]), np.array([1.0, 1.0])
    student(w, 0.0, x, 1)  # a missed 1: the rule must change w
    if not np.array_equal(w, [0.5, -1.0]):
        return verdict(False, "your function changed the w it was given. Return new arrays "
                              "(w + ..., not w += ...): the training loop keeps every unit it passes through.")
    rng = np.random.default_rng(7)
    for trial in range(3):
        X, y, gamma = _separable_data(rng)
        R = float(np.linalg.norm(np.c_[X, np.ones(len(X))], axis=1).max())
        bound = int((R / gamma) ** 2)
        w, b, updates = _train(student, X, y, bound)
        if updates > bound or np.any(_fires(X, w, -b) != y):
            return verdict(False, f"on separable data set {trial + 1}, training with your rule did not stop "
                                  f"within Novikoff's bound of {bound} updates. {hint}")
    return verdict(True, hint, "It agrees with the rule on 12 inputs, and training with it stops within "
                               "Novikoff's bound on 3 random separable data sets.")


# ---- XOR by hand ----------------------------------------------------------------------------
def _two_layer(X, W_hidden, theta_hidden, w_out, theta_out):
    return _fires(_fires(X, W_hidden, theta_hidden), w_out, theta_out)


def _corner_inputs(corner, rng, n=100):
    """The corner, the four extremes of the box of half-width NOISE around it (where a linear
    unit's sum is largest and smallest) and n random points inside that box."""
    signs = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=float)
    return np.vstack([corner, corner + NOISE * signs, corner + rng.uniform(-NOISE, NOISE, size=(n, 2))])


def xor_by_hand(student) -> bool:
    """Checks ``xor_by_hand() -> (W_hidden (2, 2), theta_hidden (2,), w_out (2,), theta_out)``:
    the network of threshold units computes XOR on the four inputs and on inputs up to
    NOISE away from them."""
    hint = ("each hidden unit draws one line; XOR fires when at least one light is on but not both. "
            "For noisy inputs, put each threshold midway between the sums it must tell apart.")
    if not callable(student):
        return verdict(False, "pass your function itself, e.g. checks.xor_by_hand(xor_by_hand).")
    weights, raised = attempt(student)
    if raised:
        return verdict(False, raised)
    try:
        W_hidden, theta_hidden, w_out, theta_out = (np.asarray(v, dtype=float) for v in weights)
    except (TypeError, ValueError):
        return verdict(False, "return four things: W_hidden, theta_hidden, w_out, theta_out (numbers or arrays).")
    shapes = {"W_hidden": (W_hidden.shape, (2, 2)), "theta_hidden": (theta_hidden.shape, (2,)),
              "w_out": (w_out.shape, (2,)), "theta_out": (theta_out.shape, ())}
    for name, (got, want) in shapes.items():
        if got != want:
            return verdict(False, f"{name} should have shape {want} (two hidden units), got {got}.")
    if not all(np.all(np.isfinite(v)) for v in (W_hidden, theta_hidden, w_out, theta_out)):
        return verdict(False, "the weights hold NaN or infinity.")
    target = (CORNERS[:, 0] != CORNERS[:, 1]).astype(int)
    out = _two_layer(CORNERS, W_hidden, theta_hidden, w_out, theta_out)
    wrong = [tuple(int(v) for v in c) for c, o, t in zip(CORNERS, out, target) if o != t]
    if wrong:
        return verdict(False, f"the network is wrong on input(s) {wrong}. {hint}")
    rng = np.random.default_rng(0)
    for corner, t in zip(CORNERS, target):
        if np.any(_two_layer(_corner_inputs(corner, rng), W_hidden, theta_hidden, w_out, theta_out) != t):
            return verdict(False, f"right on the four inputs, but wrong near {tuple(int(v) for v in corner)} "
                                  f"when the lights read up to {NOISE} off. {hint}")
    return verdict(True, hint, f"Two threshold units compute XOR, also with inputs up to {NOISE} off.")


# ---- questions --------------------------------------------------------------------------------
def nand(w1, w2, theta) -> bool:
    """One unit ``[w1 i1 + w2 i2 >= theta]`` computing NAND (fires unless both inputs are 1)."""
    values = [as_number(v) for v in (w1, w2, theta)]
    if any(v is None for v in values):
        return verdict(False, f"give three numbers w1, w2, theta (got {w1!r}, {w2!r}, {theta!r}).")
    out = _fires(CORNERS, values[:2], values[2])
    wrong = [tuple(int(v) for v in c) for c, o, t in zip(CORNERS, out, [1, 1, 1, 0]) if o != t]
    return verdict(not wrong, f"the unit is wrong on input(s) {wrong}. Write the four inequalities NAND "
                              "needs (sum >= theta or sum < theta) and start with the input (0, 0).",
                   "The unit computes NAND.")


def _count_linear_gates() -> int:
    """How many of the 16 columns one unit realises, by trying a grid of whole-number weights
    and half-integer thresholds (enough for every gate two inputs allow)."""
    values, thetas = np.arange(-2, 3), np.arange(-2.5, 3.0, 1.0)
    units = np.array([(a, b, t) for a in values for b in values for t in thetas])
    columns = _fires(CORNERS, units[:, :2], units[:, 2])  # (4, units)
    return len({tuple(c) for c in columns.T})


def linear_gates(answer) -> bool:
    """How many of the 16 two-input Boolean functions one threshold unit computes."""
    value = as_number(answer)
    if value is None or value != int(value):
        return verdict(False, f"answer with a whole number (got {answer!r}).")
    return verdict(int(value) == _count_linear_gates(),
                   "each function is one column of four outputs. Count the different columns that the "
                   "units of section 4's grid search produce; a fine enough grid meets every gate one "
                   "unit can compute.", "That many gates are linearly separable; the others need a hidden layer.")


def tanh_from_sigmoid(answer) -> bool:
    """Numbers (a, b, c) with tanh(z) = a * sigmoid(b z) + c for every z."""
    try:
        a, b, c = (as_number(v) for v in answer)
    except (TypeError, ValueError):
        a = None
    if a is None or b is None or c is None:
        return verdict(False, f"answer with three numbers (a, b, c) (got {answer!r}).")
    z = np.linspace(-5, 5, 201)
    ok = np.allclose(a * sigmoid(b * z) + c, np.tanh(z), atol=1e-9)
    return verdict(ok, "compare both sides at z = 0 and as z goes to plus and minus infinity: that fixes "
                       "two of the numbers. Then match the slopes at z = 0, using the largest slopes of "
                       "sigmoid and tanh.", "tanh is a sigmoid, stretched and shifted.")
