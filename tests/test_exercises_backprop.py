"""Checkers of notebook 03: right on a correct answer, not yet on a stub or a plausible mistake,
and a hint that never holds the answer."""

import numpy as np
import pytest

from nnlib.exercises import NOT_YET, RIGHT
from nnlib.exercises import backprop as checks
from nnlib.graph import Value


def verdict(capsys, check, answer):
    ok = check(answer)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith(RIGHT if ok else NOT_YET), out
    return ok, out


# ---- coding exercise 1: the backward of division -------------------------------------------
def make_divide(backward):
    def divide(a, b):
        out = Value(a.data / b.data, parents=(a, b), op="/")
        out._backward = lambda: backward(a, b, out)
        return out

    return divide


def right(a, b, out):
    a.grad += out.grad / b.data
    b.grad += -out.grad * a.data / b.data**2


def stub(a, b, out):
    raise NotImplementedError("replace this line with your code")


def assigns(a, b, out):  # = instead of +=: the contributions of a node used twice overwrite each other
    a.grad = out.grad / b.data
    b.grad = -out.grad * a.data / b.data**2


def forgets_out_grad(a, b, out):
    a.grad += 1 / b.data
    b.grad += -a.data / b.data**2


def wrong_sign(a, b, out):
    a.grad += out.grad / b.data
    b.grad += out.grad * a.data / b.data**2


def quotient_rule_slip(a, b, out):
    a.grad += out.grad / b.data
    b.grad += -out.grad / b.data**2


def test_divide_backward_accepts_a_correct_closure(capsys):
    ok, out = verdict(capsys, checks.divide_backward, make_divide(right))
    assert ok and "node used twice" in out


def test_divide_backward_on_a_stub_says_so(capsys):
    ok, out = verdict(capsys, checks.divide_backward, make_divide(stub))
    assert not ok and "NotImplementedError" in out


@pytest.mark.parametrize("backward", [assigns, forgets_out_grad, wrong_sign, quotient_rule_slip])
def test_divide_backward_refuses_plausible_mistakes(capsys, backward):
    ok, out = verdict(capsys, checks.divide_backward, make_divide(backward))
    assert not ok and "+=" in out and "out.grad" in out
    assert "a.data" not in out and "b.data**2" not in out and "1 / b" not in out  # no formula given away


def test_divide_backward_checks_the_value_and_the_type(capsys):
    ok, out = verdict(capsys, checks.divide_backward, lambda a, b: Value(a.data * b.data, parents=(a, b)))
    assert not ok and "forward value" in out
    ok, out = verdict(capsys, checks.divide_backward, lambda a, b: a.data / b.data)
    assert not ok and "should return a Value" in out
    ok, out = verdict(capsys, checks.divide_backward, "divide")
    assert not ok and "pass your function itself" in out


# ---- coding exercise 2: one line of the δ recursion ----------------------------------------
def delta_right(delta_next, W_next, df_z):
    return (W_next.T @ delta_next) * df_z


def delta_stub(delta_next, W_next, df_z):
    raise NotImplementedError("replace this line with your code")


@pytest.mark.parametrize("wrong", [
    lambda d, W, f: (W @ d) * f,                # not transposed
    lambda d, W, f: W.T @ d,                     # the activation's slope forgotten
    lambda d, W, f: (W.T @ d) @ f.T,             # a matrix product where ⊙ is meant
    lambda d, W, f: (W.T @ d) * f / d.shape[1],  # averaged twice
])
def test_delta_down_refuses_plausible_mistakes(capsys, wrong):
    ok, out = verdict(capsys, checks.delta_down, wrong)
    assert not ok and "δ_l must have one row per unit" in out
    assert ".T" not in out and "@" not in out  # the line itself is never given


def test_delta_down_accepts_the_recursion_and_says_not_yet_on_a_stub(capsys):
    ok, out = verdict(capsys, checks.delta_down, delta_right)
    assert ok and "6 random networks" in out
    ok, out = verdict(capsys, checks.delta_down, delta_stub)
    assert not ok and "NotImplementedError" in out


def test_the_reference_gradients_are_nnlibs_own(rng):
    # the student's path, with the right line, reproduces nnlib's weight gradients exactly
    for _ in range(5):
        model, X, G = checks._random_network(rng)
        got = checks._weight_grads_with(delta_right, model, X, G)
        want = checks._nnlib_weight_grads(model, X, G)
        assert len(got) == len(want) >= 2
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


# ---- questions -----------------------------------------------------------------------------
QUESTIONS = [  # checker, right answer, plausible wrong answers
    (checks.ls_grad_b, 8.0, [-8.0, 4.0, -4.0]),
    (checks.reverse_cost, 800, [3 * 10 * 20 + 1 * 30 * 10, 6000, 6200]),  # forward mode: 6600
    (checks.triangle_paths, 3**6, [2**6, 18, 6]),
    (checks.vanishing_layers, 10, [9, 11, 20]),
]


@pytest.mark.parametrize("check, answer, wrong", QUESTIONS, ids=[q[0].__name__ for q in QUESTIONS])
def test_questions_right_wrong_and_no_answer_in_the_hint(capsys, check, answer, wrong):
    assert verdict(capsys, check, answer)[0]
    for w in wrong:
        ok, out = verdict(capsys, check, w)
        assert not ok
        assert f"{answer:g}" not in out.replace(f"{w:g}", ""), out
    ok, out = verdict(capsys, check, None)  # a stub: nothing assigned
    assert not ok and "one number" in out


def test_question_answers_are_what_the_notebook_computes():
    # recomputed independently of the checkers
    w, b, x, y = np.array([1.0, 1.0]), 0.0, np.array([2.0, 3.0]), 1.0
    assert -2 * (y - (w @ x + b)) == 8.0
    D = [10, 20, 30, 1]
    assert D[3] * D[2] * D[1] + D[3] * D[1] * D[0] == 800
    assert min(k for k in range(1, 50) if 0.25**k < 1e-6) == 10
