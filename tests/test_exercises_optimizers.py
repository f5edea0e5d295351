"""Checkers of notebook 04: right on a correct answer, not yet on a stub and on plausible mistakes,
and a hint that never holds the answer."""

import numpy as np
import pytest

from nnlib import optim
from nnlib.exercises import NOT_YET, RIGHT
from nnlib.exercises import optimizers as checks


def said(capsys):
    return capsys.readouterr().out


# ---- the step functions, right and wrong -----------------------------------------------------------
def momentum(w, g, state, lr, beta=0.9):
    state["v"] = beta * state.get("v", 0.0) + g
    return w - lr * state["v"]


def momentum_notes(w, g, state, lr, beta=0.9):  # the lecture's form: only the previous gradient
    previous = state.get("g", 0.0)
    state["g"] = g
    return w - lr * (beta * previous + g)


def momentum_forgetful(w, g, state, lr, beta=0.9):  # the velocity is not kept between calls
    return w - lr * (beta * 0.0 + g)


def momentum_in_place(w, g, state, lr, beta=0.9):  # right numbers, but changes the caller's array
    state["v"] = beta * state.get("v", 0.0) + g
    w -= lr * state["v"]
    return w


def adam(w, g, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] = state.get("t", 0) + 1
    state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    state["s"] = beta2 * state.get("s", 0.0) + (1 - beta2) * g * g
    return w - lr * (state["m"] / (1 - beta1**t)) / (np.sqrt(state["s"] / (1 - beta2**t)) + eps)


def adam_uncorrected(w, g, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    state["s"] = beta2 * state.get("s", 0.0) + (1 - beta2) * g * g
    return w - lr * state["m"] / (np.sqrt(state["s"]) + eps)


def adam_from_zero(w, g, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):  # the notes' t = 0 at step 1
    t = state.get("t", 0)
    state["t"] = t + 1
    state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    state["s"] = beta2 * state.get("s", 0.0) + (1 - beta2) * g * g
    with np.errstate(divide="ignore", invalid="ignore"):
        return w - lr * (state["m"] / (1 - beta1**t)) / (np.sqrt(state["s"] / (1 - beta2**t)) + eps)


def adam_eps_inside(w, g, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] = state.get("t", 0) + 1
    state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    state["s"] = beta2 * state.get("s", 0.0) + (1 - beta2) * g * g
    return w - lr * (state["m"] / (1 - beta1**t)) / np.sqrt(state["s"] / (1 - beta2**t) + eps)


def stub(w, g, state, lr, **hyper):
    raise NotImplementedError("replace this line with your code")


def test_the_reference_runs_are_nnlibs_own():
    rng = np.random.default_rng(0)
    w0, grads = rng.standard_normal(3), rng.standard_normal((4, 3))
    got = checks.run_step(momentum, w0, grads, lr=0.1, beta=0.5)
    want = checks.run_optimizer(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.5), w0, grads)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    assert got.shape == (4, 3)


def test_momentum_right_on_heavy_ball(capsys):
    assert checks.momentum_step(momentum) is True
    assert said(capsys).startswith(RIGHT)


@pytest.mark.parametrize("wrong", [stub, momentum_notes, momentum_forgetful, momentum_in_place, "momentum_step", None])
def test_momentum_not_yet(wrong, capsys):
    assert checks.momentum_step(wrong) is False
    text = said(capsys)
    assert text.startswith(NOT_YET)
    assert "beta * state" not in text and "state.get" not in text  # no code of the answer


def test_a_step_that_writes_into_w_is_told_so(capsys):
    checks.momentum_step(momentum_in_place)
    assert "return a new array" in said(capsys)


def test_momentum_stub_is_told_so(capsys):
    checks.momentum_step(stub)
    assert "NotImplementedError" in said(capsys)


def test_adam_right(capsys):
    assert checks.adam_step(adam) is True
    assert said(capsys).startswith(RIGHT)


@pytest.mark.parametrize("wrong", [stub, adam_uncorrected, adam_from_zero, adam_eps_inside, momentum])
def test_adam_not_yet(wrong, capsys):
    assert checks.adam_step(wrong) is False
    assert said(capsys).startswith(NOT_YET)


def test_adam_from_zero_is_reported_as_nan(capsys):
    checks.adam_step(adam_from_zero)
    assert "NaN" in said(capsys)


# ---- questions with computed answers ----------------------------------------------------------------
@pytest.mark.parametrize("checker, right, wrongs, answer_text", [
    (checks.momentum_warmup, 22, [21, 23, 10, 22.5, "22", None], "22"),
    (checks.notes_best_beta, 1 / 3, [0.5, 0.25, 3.0, np.nan, "1/3"], "0.333"),
    (checks.saddle_closer, 1.05 ** 100, [100, 1.05, 5.0, 2 ** 100, "many"], "131"),
])
def test_questions(checker, right, wrongs, answer_text, capsys):
    assert checker(right) is True
    assert said(capsys).startswith(RIGHT)
    for wrong in wrongs:
        assert checker(wrong) is False, wrong
        text = said(capsys)
        assert text.startswith(NOT_YET)
        assert isinstance(wrong, str) or answer_text not in text  # a string answer is echoed back


def test_saddle_closer_accepts_what_whole_steps_can_measure():
    # the factor found by starting runs closer and counting whole extra steps is pinned only to
    # within one step's factor 1.05; the exact (1 + lr)^100 and a simulated estimate both pass
    def escape(offset, lr=0.05):
        w2, t = offset, 0
        while abs(w2) <= 0.5:
            w2, t = w2 - lr * (w2 ** 3 - w2), t + 1
        return t
    base = escape(1e-6)
    simulated = next(k for k in np.geomspace(1, 1000, 20001) if escape(1e-6 / k) >= base + 100)
    assert checks.saddle_closer(simulated) is True
    assert checks.saddle_closer(1.05 ** 100) is True
    assert checks.saddle_closer(1.05 ** 90) is False
