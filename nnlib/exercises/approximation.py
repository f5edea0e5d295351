"""Checkers of notebook 02 (universal approximation).

Coding exercises: ``sum_of_sigmoids`` (a one-hidden-layer sigmoid network built by hand) and
``deep_sawtooth`` (the sawtooth as k layers of two ReLU units). Questions with computed
answers: ``fewest_units``, ``units_with_a_direct_term`` and ``softmax_gradient``. Each prints
``✓ Right.`` or ``✗ Not yet: <hint>`` and returns a bool; no hint holds the answer.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from ..layers import Linear, ReLU
from ..module import Sequential
from . import as_number, attempt, check_function, check_number, verdict

__all__ = ["sum_of_sigmoids", "deep_sawtooth", "fewest_units", "units_with_a_direct_term", "softmax_gradient"]


# ---- references (never shown to the student) ------------------------------------------------
def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _network(x, v, b, w, c):
    """c + Σ_j w_j σ(v_j x + b_j). Shape: x (N,) -> (N,)."""
    return c + _sigmoid(np.outer(x, v) + b) @ w


def _staircase_weights(knots, values, steepness):
    middles = (knots[:-1] + knots[1:]) / 2
    return np.full(middles.size, float(steepness)), -steepness * middles, np.diff(values), values[0]


def _centres(pieces):
    """Centres of ``pieces`` equal pieces of [-1, 1]: the knots the notebook's staircase uses."""
    return -1 + (np.arange(pieces) + 0.5) * 2 / pieces


def _sawtooth(x, k):
    for _ in range(k):
        x = np.where(x < 0.5, 2 * x, 2 - 2 * x)
    return x


# ---- coding exercise 1: a sum of sigmoids ----------------------------------------------------
SMOOTH_UNITS, SMOOTH_STEEPNESS, SMOOTH_TOLERANCE = 40, 200.0, 0.1


def _output_of(build):
    """Run ``build(knots, values, steepness)`` and evaluate the network it returns at ``x``."""
    def output(knots, values, steepness, x):
        weights = build(knots, values, steepness)
        if not isinstance(weights, (tuple, list)) or len(weights) != 4:
            raise ValueError(f"sum_of_sigmoids should return four things (v, b, w, c), got {type(weights).__name__}")
        v, b, w, c = (np.asarray(a, dtype=float) for a in weights)
        if not v.shape == b.shape == w.shape == (knots.size - 1,):
            raise ValueError(f"v, b and w should each hold one number per gap between knots ({knots.size - 1}), "
                             f"got shapes {v.shape}, {b.shape}, {w.shape}")
        return _network(x, v, b, w, c)
    return output


def _random_staircase(rng):
    n = int(rng.integers(2, 12))
    knots = np.sort(rng.uniform(-2, 2, n))
    return knots, rng.normal(size=n), float(10 ** rng.uniform(0, 2)), rng.uniform(-2.5, 2.5, 50)


def sum_of_sigmoids(student) -> bool:
    """Exercise: ``student(knots, values, steepness) -> (v, b, w, c)``, the staircase network.

    Right when, on random knots, values and steepness, the network it returns computes what the
    reference staircase computes (any equivalent weights are fine), and when its staircase with
    40 units follows sin(πx) within 0.1 everywhere on [-1, 1].
    """
    hint = ("far to the left every sigmoid is 0, so the output is c: which value should that be? Crossing "
            "the gap between two knots should add the change in value between them, and a unit "
            "σ(v x + b) is halfway up where v x + b = 0.")
    with contextlib.redirect_stdout(io.StringIO()) as said:
        agrees = check_function(_output_of(student), _output_of(_staircase_weights), _random_staircase, hint=hint)
    if not agrees:
        print(said.getvalue(), end="")
        return False
    knots = _centres(SMOOTH_UNITS + 1)
    x = np.linspace(-1, 1, 2001)
    try:
        fit = _output_of(student)(knots, np.sin(np.pi * knots), SMOOTH_STEEPNESS, x)
    except Exception as err:  # noqa: BLE001 - a student's bug is a hint, not a traceback
        return verdict(False, f"with {SMOOTH_UNITS} units your function raised {type(err).__name__}: {err}. {hint}")
    error = np.abs(fit - np.sin(np.pi * x)).max()
    return verdict(error < SMOOTH_TOLERANCE, f"it matches on random knots, but with {SMOOTH_UNITS} units its "
                   f"largest error on sin(πx) is {error:.2g}. {hint}",
                   f"It agrees with the reference on 5 random staircases, and with {SMOOTH_UNITS} units it "
                   f"stays within {SMOOTH_TOLERANCE} of sin(πx) on all of [-1, 1].")


# ---- coding exercise 2: the sawtooth by composition -------------------------------------------
def deep_sawtooth(student, ks=range(1, 7)) -> bool:
    """Exercise: ``student(k)`` returns an ``nnlib.Sequential`` of Linear and ReLU layers that
    computes the k-fold tent map exactly on [0, 1] with at most 6k + 1 parameters.

    Checked for k = 1..6 on 2049 grid points and 500 random points of [0, 1], to 1e-9.
    """
    hint = ("one layer of two ReLU units makes one tent, 2·relu(u) − 4·relu(u − 1/2); the next layer must read "
            "that combination, so fold it into the next layer's weights instead of adding a layer for it.")
    x = np.r_[np.linspace(0, 1, 2049), np.random.default_rng(0).uniform(0, 1, 500)].reshape(-1, 1)
    for k in ks:
        net, raised = attempt(student, (k,), what=f"deep_sawtooth({k})", hint=hint)
        if raised:
            return verdict(False, raised)
        if not isinstance(net, Sequential) or not all(isinstance(m, (Linear, ReLU)) for m in net):
            return verdict(False, f"deep_sawtooth({k}) should return an nnlib.Sequential of nnlib.Linear and "
                           f"nnlib.ReLU layers, got {type(net).__name__}.")
        try:
            out = np.asarray(net(x), dtype=float)
        except Exception as err:  # noqa: BLE001
            return verdict(False, f"running deep_sawtooth({k}) on a column of x values raised "
                           f"{type(err).__name__}: {err}. Its first Linear layer should read 1 input.")
        if out.shape != (x.shape[0], 1):
            return verdict(False, f"deep_sawtooth({k}) should map (N, 1) to (N, 1), got {out.shape}.")
        worst = np.abs(out[:, 0] - _sawtooth(x[:, 0], k)).max()
        if not worst < 1e-9:
            return verdict(False, f"for k = {k} the network is off the sawtooth by up to {worst:.2g}. {hint}")
        params = sum(p.value.size for p in net.parameters())
        if params > 6 * k + 1:
            return verdict(False, f"for k = {k} the network is exact but has {params} parameters; the cheap "
                           f"construction grows by one small layer per k. {hint}")
    return verdict(True, hint, f"Exact on [0, 1] for k = {min(ks)} to {max(ks)}, with at most 6k + 1 parameters.")


# ---- questions with computed answers -----------------------------------------------------------
FEWEST_STEEPNESS, FEWEST_TOLERANCE = 1000.0, 0.05


def fewest_units_answer(steepness=FEWEST_STEEPNESS, tolerance=FEWEST_TOLERANCE, limit=1000) -> int:
    """The fewest units whose staircase (knots at the centres of units + 1 pieces) stays within
    ``tolerance`` of x² on 2001 points of [-1, 1]."""
    x = np.linspace(-1, 1, 2001)
    for units in range(1, limit + 1):
        knots = _centres(units + 1)
        if np.abs(_network(x, *_staircase_weights(knots, knots**2, steepness)) - x**2).max() < tolerance:
            return units
    raise RuntimeError(f"fewest_units_answer: no staircase of up to {limit} units is within {tolerance}")


def fewest_units(answer) -> bool:
    """Question: the fewest hidden units for which the steepness-1000 staircase stays within 0.05 of x²."""
    true = fewest_units_answer()
    hint = ("loop over the number of units, build the staircase with steepness 1000, and stop at the first "
            "whose largest error over the 2001 points is below 0.05.")
    if as_number(answer) is not None and as_number(answer) > true:
        hint = "fewer units are already enough. " + hint
    return check_number(answer, true, hint=hint, praise="With steep steps the error is set by the gap "
                        "between knots, so it halves only when the units double.")


def units_with_a_direct_term(answer) -> bool:
    """Question: ReLU units for the k = 5 sawtooth when the output may also read x directly."""
    hint = ("count the kinks the sawtooth has inside (0, 1): each unit makes at most one. Then ask what the one "
            "extra unit of the plain network was for, and whether the direct term can do that job.")
    if as_number(answer) == 2**5:
        hint = "that is the count for the plain network, without the direct term. " + hint
    return check_number(answer, 2**5 - 1, hint=hint, praise="The direct term c + d·x supplies the first slope, "
                        "which is all the extra unit did; every kink still needs its own unit.")


SOFTMAX_LOGITS, SOFTMAX_CLASS = np.array([2.0, 0.0, -1.0]), 1


def softmax_gradient(answer) -> bool:
    """Question: d cross-entropy / d z_1 for logits (2, 0, -1) and true class 1."""
    z = SOFTMAX_LOGITS
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    true = p[SOFTMAX_CLASS] - 1.0
    hint = ("the gradient of softmax + cross-entropy with respect to a logit is the predicted probability "
            "minus the target, and the target of the true class is 1.")
    if as_number(answer) is not None and np.isclose(as_number(answer), p[SOFTMAX_CLASS], rtol=1e-3):
        hint = "that is the probability itself; what is the target of the true class? " + hint
    return check_number(answer, true, rtol=1e-3, hint=hint, praise="Prediction minus target: the true class's "
                        "logit is pushed up, by how far its probability falls short of 1.")

