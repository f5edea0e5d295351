"""nnlib.exercises: one checker convention (a printed verdict line, a bool, a hint, no answer)."""

import numpy as np
import pytest

from nnlib.exercises import (
    NOT_YET,
    RIGHT,
    as_number,
    check_function,
    check_gradient,
    check_number,
    numerical_gradient,
    verdict,
)


def relu(x):
    return np.maximum(x, 0)


def inputs(rng):
    return (rng.normal(size=(int(rng.integers(1, 5)), 3)),)


def test_verdict_prints_one_line_and_returns_a_bool(capsys):
    assert verdict(1, "think again", "well done") is True
    assert verdict(0, "think again") is False
    assert capsys.readouterr().out.splitlines() == [f"{RIGHT} well done", f"{NOT_YET} think again"]


@pytest.mark.parametrize("answer, value", [(3, 3.0), (np.float32(2.5), 2.5), (np.array([4]), 4.0),
                                           ("3", None), (True, None), (np.nan, None), ([1, 2], None),
                                           (np.array([1, 2]), None)])
def test_as_number(answer, value):
    assert as_number(answer) == value


def test_check_number(capsys):
    assert check_number(32, 32, hint="count the kinks")
    assert not check_number(31, 32, hint="count the kinks")
    assert not check_number("32", 32, hint="count the kinks")
    out = capsys.readouterr().out
    assert "count the kinks" in out and "answer with one number" in out and "32" not in out.split("\n")[1]


def test_a_correct_function_is_right(capsys):
    assert check_function(lambda x: x * (x > 0), relu, inputs, hint="h") is True
    assert capsys.readouterr().out.startswith(RIGHT)


def test_a_wrong_function_gets_the_hint_and_never_the_answer(capsys):
    assert check_function(lambda x: np.abs(x), relu, inputs, hint="what happens below zero?") is False
    out = capsys.readouterr().out
    assert out.startswith(NOT_YET) and "what happens below zero?" in out and "random input 1" in out


def test_a_wrong_shape_is_named(capsys):
    assert not check_function(lambda x: x.sum(axis=1), relu, inputs, hint="h")
    assert "should have shape" in capsys.readouterr().out


def test_a_stub_is_told_to_write_code(capsys):
    def stub(x):
        raise NotImplementedError

    assert check_function(stub, relu, inputs, hint="h") is False
    assert "NotImplementedError" in capsys.readouterr().out


def test_an_exception_becomes_a_hint(capsys):
    assert not check_function(lambda x: x @ np.ones(5), relu, inputs, hint="h")
    assert "your function raised ValueError" in capsys.readouterr().out


def test_a_function_that_writes_into_its_input_cannot_fool_the_reference(capsys):
    def in_place(x):
        x[x < 0] = 0
        return x

    assert check_function(in_place, relu, inputs, hint="h")


def test_tuples_are_compared_value_by_value(capsys):
    ref = lambda x: (x, 2 * x)
    assert check_function(lambda x: (x, 2 * x), ref, inputs, hint="h")
    assert not check_function(lambda x: (x, 3 * x), ref, inputs, hint="h")
    assert not check_function(lambda x: x, ref, inputs, hint="h")
    out = capsys.readouterr().out
    assert "value 2 of the result differs" in out and "should be 2 values" in out


def test_nan_results_are_named(capsys):
    assert not check_function(lambda x: x * np.nan, relu, inputs, hint="h")
    assert "NaN" in capsys.readouterr().out


def test_passing_something_that_is_not_a_function(capsys):
    assert not check_function(3, relu, inputs, hint="h")
    assert "pass your function itself" in capsys.readouterr().out


def test_check_gradient_uses_finite_differences(capsys):
    f = lambda x: float(np.sum(np.sin(x) * x))
    point = lambda rng: rng.normal(size=(2, 3))
    assert check_gradient(lambda x: np.cos(x) * x + np.sin(x), f, point, hint="product rule")
    assert not check_gradient(lambda x: np.cos(x) * x, f, point, hint="product rule")
    assert "product rule" in capsys.readouterr().out
    np.testing.assert_allclose(numerical_gradient(lambda x: float(x @ x), np.array([1.0, -2.0])), [2, -4],
                               rtol=1e-8)
