"""Checkers of notebook 02: right on a correct answer, not yet on a stub and on plausible wrong ones,
and no hint holds the answer."""

import numpy as np
import pytest

import nnlib
from nnlib.exercises import NOT_YET, RIGHT, STUB_HINT
from nnlib.exercises import approximation as checks


def sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


# ---- coding exercise 1: sum_of_sigmoids ----------------------------------------------------
def staircase_weights(knots, values, steepness):
    middles = (knots[:-1] + knots[1:]) / 2
    return np.full(middles.size, float(steepness)), -steepness * middles, np.diff(values), values[0]


def flipped_units(knots, values, steepness):
    """The same network written differently: σ(z) = 1 - σ(-z), so every unit may be turned round."""
    v, b, w, c = staircase_weights(knots, values, steepness)
    return -v, -b, -w, c + w.sum()


def stub(*args):
    raise NotImplementedError("replace this line with your code")


def steps_at_knots(knots, values, steepness):
    v, b, w, c = staircase_weights(knots, values, steepness)
    return v, -steepness * knots[1:], w, c


def heights_not_changes(knots, values, steepness):
    v, b, w, c = staircase_weights(knots, values, steepness)
    return v, b, values[1:], c


def no_output_bias(knots, values, steepness):
    v, b, w, _ = staircase_weights(knots, values, steepness)
    return v, b, w, 0.0


def three_things(knots, values, steepness):
    return staircase_weights(knots, values, steepness)[:3]


def test_sum_of_sigmoids_is_right_for_the_staircase_in_any_form(capsys):
    assert checks.sum_of_sigmoids(staircase_weights) is True
    assert checks.sum_of_sigmoids(flipped_units) is True
    out = capsys.readouterr().out
    assert out.count(RIGHT) == 2 and len(out.splitlines()) == 2  # one line per verdict


def test_sum_of_sigmoids_says_not_yet_on_the_stub(capsys):
    assert checks.sum_of_sigmoids(stub) is False
    out = capsys.readouterr().out
    assert out.startswith(NOT_YET) and STUB_HINT in out and len(out.splitlines()) == 1


@pytest.mark.parametrize("wrong", [steps_at_knots, heights_not_changes, no_output_bias, three_things])
def test_sum_of_sigmoids_says_not_yet_on_plausible_mistakes_without_the_answer(wrong, capsys):
    assert checks.sum_of_sigmoids(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith(NOT_YET) and len(out.splitlines()) == 1
    for giveaway in ("np.diff", "values[0]", "knots[:-1]", "-steepness", "/ 2"):
        assert giveaway not in out


def test_sum_of_sigmoids_checks_the_smooth_target_too(capsys, monkeypatch):
    # a function right on the random staircases but useless on sin(πx) cannot exist for the real
    # reference; lower the tolerance to see that the second check runs and can fail
    monkeypatch.setattr(checks, "SMOOTH_TOLERANCE", 1e-6)
    assert checks.sum_of_sigmoids(staircase_weights) is False
    assert "sin(πx)" in capsys.readouterr().out


# ---- coding exercise 2: deep_sawtooth ---------------------------------------------------------
def deep(k):
    layers = []
    for j in range(k):
        layer = nnlib.Linear(1 if j == 0 else 2, 2)
        layer.weight.value = np.array([[1.0], [1.0]]) if j == 0 else np.array([[2.0, -4.0], [2.0, -4.0]])
        layer.bias.value = np.array([0.0, -0.5])
        layers += [layer, nnlib.ReLU()]
    out = nnlib.Linear(2, 1)
    out.weight.value, out.bias.value = np.array([[2.0, -4.0]]), np.zeros(1)
    return nnlib.Sequential(*layers, out)


def unfolded(k):
    """Each layer reads the raw hidden units instead of the tent's combination: not the sawtooth."""
    net = deep(k)
    for layer in list(net)[2:-1:2]:
        layer.weight.value = np.array([[1.0, 1.0], [1.0, 1.0]])
    return net


def shallow(k):
    m = 2**k
    hidden, out = nnlib.Linear(1, m), nnlib.Linear(m, 1)
    hidden.weight.value, hidden.bias.value = np.ones((m, 1)), -np.arange(m) / m
    changes = np.where(np.arange(m) % 2 == 0, 2.0 * m, -2.0 * m)
    changes[0] = m
    out.weight.value, out.bias.value = changes.reshape(1, -1), np.zeros(1)
    return nnlib.Sequential(hidden, nnlib.ReLU(), out)


class NotAnMLP(nnlib.Module):
    def forward(self, x):
        for _ in range(self.k):
            x = np.where(x < 0.5, 2 * x, 2 - 2 * x)
        return x


def numpy_sawtooth(k):
    net = NotAnMLP()
    net.k = k
    return net


def test_deep_sawtooth_is_right_for_the_composition(capsys):
    assert checks.deep_sawtooth(deep) is True
    assert capsys.readouterr().out.startswith(RIGHT)


def test_deep_sawtooth_says_not_yet_on_the_stub(capsys):
    assert checks.deep_sawtooth(stub) is False
    assert STUB_HINT in capsys.readouterr().out


@pytest.mark.parametrize("wrong, says", [(unfolded, "off the sawtooth"), (shallow, "parameters"),
                                         (numpy_sawtooth, "Sequential"), (lambda k: 1 / 0, "ZeroDivisionError")])
def test_deep_sawtooth_says_not_yet_and_why(wrong, says, capsys):
    assert checks.deep_sawtooth(wrong) is False
    out = capsys.readouterr().out
    assert out.startswith(NOT_YET) and says in out and len(out.splitlines()) == 1
    assert "[2.0, -4.0]" not in out and "2, -4" not in out


def test_deep_sawtooth_names_a_wrong_input_size(capsys):
    def reads_two_inputs(k):
        return nnlib.Sequential(nnlib.Linear(2, 2), nnlib.ReLU(), nnlib.Linear(2, 1))

    assert checks.deep_sawtooth(reads_two_inputs) is False
    assert "1 input" in capsys.readouterr().out


# ---- questions ---------------------------------------------------------------------------------
def fewest_units_by_hand():
    """Independent of the checker: the same staircase, written with an explicit loop over units."""
    x = np.linspace(-1, 1, 2001)
    for units in range(1, 500):
        knots = -1 + (np.arange(units + 1) + 0.5) * 2 / (units + 1)
        steps = [(knots[j] ** 2 - knots[j - 1] ** 2) * sigmoid(1000 * (x - (knots[j] + knots[j - 1]) / 2))
                 for j in range(1, units + 1)]
        g = knots[0] ** 2 + sum(steps)
        if np.abs(g - x**2).max() < 0.05:
            return units


def test_fewest_units(capsys):
    true = fewest_units_by_hand()
    assert checks.fewest_units_answer() == true
    assert checks.fewest_units(true) is True
    assert checks.fewest_units(np.int64(true)) is True
    assert not checks.fewest_units(true - 1)
    assert not checks.fewest_units(true + 1)
    assert not checks.fewest_units("forty")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(RIGHT) and all(line.startswith(NOT_YET) for line in out[2:])
    assert "fewer units" in out[3] and all(str(true) not in line for line in out)


def test_units_with_a_direct_term(capsys):
    assert checks.units_with_a_direct_term(31) is True
    assert checks.units_with_a_direct_term(32) is False
    assert checks.units_with_a_direct_term(30) is False
    out = capsys.readouterr().out.splitlines()
    assert "without the direct term" in out[1] and "without the direct term" not in out[2]
    assert all("31" not in line for line in out[1:])


def test_softmax_gradient(capsys):
    z = np.array([2.0, 0.0, -1.0])
    p = np.exp(z) / np.exp(z).sum()
    ce = nnlib.CrossEntropyLoss()
    ce(z.reshape(1, 3), np.array([1]))
    true = ce.backward()[0, 1]
    assert np.isclose(true, p[1] - 1)
    assert checks.softmax_gradient(true) is True
    assert checks.softmax_gradient(round(true, 4)) is True
    assert checks.softmax_gradient(p[1]) is False
    assert checks.softmax_gradient(-p[1]) is False
    out = capsys.readouterr().out.splitlines()
    assert "probability itself" in out[2]
    assert all(f"{true:.2f}" not in line and f"{true:.3f}" not in line for line in out[2:])
