"""nnlib.exercises.perceptron: each checker is right on a correct answer, not yet on the stub and
on plausible mistakes, and its hint never holds the answer."""

import numpy as np
import pytest

from nnlib.exercises import NOT_YET, RIGHT
from nnlib.exercises import perceptron as checks


def said(capsys):
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1, f"a checker prints one line, got {out!r}"
    return out


def stub(*args):
    raise NotImplementedError("replace this line with your code")


# ---- the perceptron learning rule ----------------------------------------------------------------
def step(w, b, x, y):
    error = y - int(x @ w + b >= 0)
    return w + error * x, b + error


def test_perceptron_step_right(capsys):
    assert checks.perceptron_step(step) is True
    out = said(capsys)
    assert out.startswith(RIGHT) and "Novikoff" in out


@pytest.mark.parametrize("wrong, why", [
    (lambda w, b, x, y: step(w, b, x, y) if x @ w + b != 0 else (w + (y - 0) * x, b + (y - 0)), "fires only above θ"),
    (lambda w, b, x, y: (w + (y - int(x @ w + b >= 0)) * x, b), "forgets the bias"),
    (lambda w, b, x, y: (w + 0.5 * (y - int(x @ w + b >= 0)) * x, b + 0.5 * (y - int(x @ w + b >= 0))), "half steps"),
    (lambda w, b, x, y: (w - (y - int(x @ w + b >= 0)) * x, b - (y - int(x @ w + b >= 0))), "wrong sign"),
    (lambda w, b, x, y: (w + (y - int(x @ w + b >= 0)) * x, b + (y - int(x @ w + b >= 0)), 0), "three values"),
    (lambda w, b, x, y: (w, b), "no update"),
])
def test_perceptron_step_not_yet(capsys, wrong, why):
    assert checks.perceptron_step(wrong) is False, why
    out = said(capsys)
    assert out.startswith(NOT_YET) and "error * x" not in out


def test_perceptron_step_stub_and_in_place(capsys):
    assert checks.perceptron_step(stub) is False
    assert "NotImplementedError" in said(capsys)

    def in_place(w, b, x, y):
        error = y - int(x @ w + b >= 0)
        w += error * x
        return w, b + error

    assert checks.perceptron_step(in_place) is False
    assert "changed the w it was given" in said(capsys)


def test_perceptron_step_must_also_learn_on_separable_data(capsys):
    # right on the 12 inputs of the comparison, but it stops updating on inputs far from the origin
    def lazy(w, b, x, y):
        return (w, b) if np.abs(x).max() > 2.5 else step(w, b, x, y)

    assert checks.perceptron_step(lazy) is False
    out = said(capsys)
    assert "did not stop within Novikoff's bound" in out


# ---- XOR by hand ---------------------------------------------------------------------------------
def or_nand_and():
    return np.array([[1.0, 1.0], [-1.0, -1.0]]), np.array([0.5, -1.5]), np.array([1.0, 1.0]), 1.5


def or_and_difference():
    return [[2, 2], [1, 1]], [1, 1.5], [1, -1], 0.5


@pytest.mark.parametrize("answer", [or_nand_and, or_and_difference])
def test_xor_by_hand_right(capsys, answer):
    assert checks.xor_by_hand(answer) is True
    assert said(capsys).startswith(RIGHT)


@pytest.mark.parametrize("answer, message", [
    (lambda: (np.array([[1.0, 1.0], [-1.0, -1.0]]), np.array([1.0, -1.0]), np.array([1.0, 1.0]), 2.0),
     "wrong near (0, 1)"),  # right on the corners, thresholds on the sums themselves: no margin
    (lambda: (np.array([[1.0, 1.0], [-1.0, -1.0]]), np.array([2.0, 0.0]), np.array([1.0, 1.0]), 1.0),
     "wrong on input(s)"),  # the notes' network computes XNOR
    (lambda: (np.ones((3, 2)), np.ones(3), np.ones(3), 1.0), "two hidden units"),
    (lambda: (np.ones((2, 2)), np.ones(2), np.ones(2)), "return four things"),
    (lambda: (np.ones((2, 2)), np.ones(2), np.ones(2), np.nan), "NaN"),
    (lambda: 1 / 0, "ZeroDivisionError"),
    (stub, "NotImplementedError"),
    ("not a function", "pass your function"),
])
def test_xor_by_hand_not_yet(capsys, answer, message):
    assert checks.xor_by_hand(answer) is False
    out = said(capsys)
    assert out.startswith(NOT_YET) and message in out and "0.5" not in out and "1.5" not in out


# ---- questions -------------------------------------------------------------------------------------
def test_nand(capsys):
    for answer in [(-1, -1, -1.5), (np.float64(-2.0), -2.0, -3.0)]:
        assert checks.nand(*answer) is True
        assert said(capsys).startswith(RIGHT)
    for answer in [(1, 1, 2), (-1, -1, -2.5), ("a", 1, 1), (-1, -1, np.nan)]:
        assert checks.nand(*answer) is False
        out = said(capsys)
        assert out.startswith(NOT_YET) and "-1.5" not in out


def test_linear_gates(capsys):
    for answer in (14, np.int64(14), 14.0):
        assert checks.linear_gates(answer) is True
        said(capsys)
    for answer in (16, 13, 14.5, "14", [14], None):
        assert checks.linear_gates(answer) is False
        out = said(capsys)
        assert out.startswith(NOT_YET) and "14" not in out.replace(repr(answer), "")


def test_tanh_from_sigmoid(capsys):
    for answer in ((2, 2, -1), [2.0, 2.0, -1.0], np.array([2, 2, -1])):
        assert checks.tanh_from_sigmoid(answer) is True
        said(capsys)
    for answer in ((2, 1, -1), (1, 2, -1), (2, 2, 1), (1, 1, 0), (2, 2), "2, 2, -1", None):
        assert checks.tanh_from_sigmoid(answer) is False
        out = said(capsys)
        assert out.startswith(NOT_YET) and "(2, 2, -1)" not in out.replace(repr(answer), "")
