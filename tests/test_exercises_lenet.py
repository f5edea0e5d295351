"""nnlib.exercises.lenet: notebook 08's checkers accept the solutions, name the usual mistakes, never
print an answer, and say "not yet" to a stub."""

import numpy as np
import pytest

from nnlib.exercises import NOT_YET, RIGHT, STUB_HINT
from nnlib.exercises import lenet as checks
from nnlib.lenet import C3_CONNECTIONS, lenet5
from nnlib.mnist import load_mnist

train_step, train_epoch = checks.reference_train_step, checks.reference_train_epoch  # the notebook's loop


def fgsm(model, loss_fn, x, y, eps):
    loss_fn(model(x), y)
    grad = model.backward(loss_fn.backward())
    model.zero_grad()
    return np.clip(x + eps * np.sign(grad), 0, 1)


def stub(*args):
    raise NotImplementedError("replace this line with your code")


def said(capsys):
    return capsys.readouterr().out.strip()


# ---- the training step ---------------------------------------------------------------------------
def test_train_step_accepts_the_four_lines(capsys):
    assert checks.train_step(train_step) is True
    assert said(capsys).startswith(RIGHT)


def no_zero_grad(model, loss_fn, optimizer, X, y):
    loss = loss_fn(model(X), y)
    model.backward(loss_fn.backward())
    optimizer.step()
    return loss


def no_step(model, loss_fn, optimizer, X, y):
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    model.backward(loss_fn.backward())
    return loss


def zero_grad_too_late(model, loss_fn, optimizer, X, y):
    loss = loss_fn(model(X), y)
    model.backward(loss_fn.backward())
    optimizer.zero_grad()
    optimizer.step()
    return loss


def returns_nothing(model, loss_fn, optimizer, X, y):
    train_step(model, loss_fn, optimizer, X, y)


def loss_after_the_step(model, loss_fn, optimizer, X, y):
    train_step(model, loss_fn, optimizer, X, y)
    return loss_fn(model(X), y)


@pytest.mark.parametrize("student, words", [
    (no_zero_grad, "clear them before each backward"),
    (no_step, "did not move"),
    (zero_grad_too_late, "did not move"),
    (returns_nothing, "return the loss"),
    (loss_after_the_step, "return the loss"),
    (stub, STUB_HINT),
    (42, "pass your function itself"),
])
def test_train_step_names_the_mistake(capsys, student, words):
    assert checks.train_step(student) is False
    out = said(capsys)
    assert out.startswith(NOT_YET) and words in out


def test_train_step_refuses_a_step_of_size_zero(capsys):
    def tiny_step(model, loss_fn, optimizer, X, y):  # every line right, but the learning rate set to 0
        optimizer.lr = 0.0
        return train_step(model, loss_fn, optimizer, X, y)

    assert checks.train_step(tiny_step) is False
    assert NOT_YET in said(capsys)


# ---- FGSM ----------------------------------------------------------------------------------------------
def test_fgsm_accepts_the_formula(capsys):
    assert checks.fgsm(fgsm) is True
    assert said(capsys).startswith(RIGHT)


def descends(model, loss_fn, x, y, eps):
    loss_fn(model(x), y)
    grad = model.backward(loss_fn.backward())
    return np.clip(x - eps * np.sign(grad), 0, 1)


def no_clip(model, loss_fn, x, y, eps):
    loss_fn(model(x), y)
    return x + eps * np.sign(model.backward(loss_fn.backward()))


def raw_gradient(model, loss_fn, x, y, eps):
    loss_fn(model(x), y)
    grad = model.backward(loss_fn.backward())
    return np.clip(x + eps * grad / np.abs(grad).max(), 0, 1)


def takes_a_step(model, loss_fn, x, y, eps):
    out = fgsm(model, loss_fn, x, y, eps)
    loss_fn(model(x), y)
    model.backward(loss_fn.backward())
    for p in model.parameters():
        p.value -= 0.1 * p.grad
    return out


@pytest.mark.parametrize("student, words", [
    (descends, "climbs the gradient"),
    (no_clip, "[0, 1]"),
    (raw_gradient, "sign of the gradient"),
    (takes_a_step, "changed the model's parameters"),
    (lambda model, loss_fn, x, y, eps: x[0], "should have shape"),
    (lambda model, loss_fn, x, y, eps: "x", "should be numbers"),
    (stub, STUB_HINT),
])
def test_fgsm_names_the_mistake(capsys, student, words):
    assert checks.fgsm(student) is False
    out = said(capsys)
    assert out.startswith(NOT_YET) and words in out


def test_reference_fgsm_moves_every_free_pixel_by_eps_and_clears_the_gradients():
    model = lenet5("modern", rng=0)
    x = np.random.default_rng(1).random((2, 1, 28, 28))
    out = checks.reference_fgsm(model, __import__("nnlib").CrossEntropyLoss(), x, np.array([3, 4]), 0.1)
    moved = np.abs(out - x)
    assert out.min() >= 0 and out.max() <= 1 and moved.max() == pytest.approx(0.1)
    assert all(not np.any(p.grad) for p in model.parameters())


# ---- questions -----------------------------------------------------------------------------------------
C3_RIGHT = 10 * 10 * int(C3_CONNECTIONS.sum()) * 25


@pytest.mark.parametrize("check, right, wrong, words", [
    (checks.c3_multiply_adds, C3_RIGHT, C3_RIGHT + 1600, "bias"),
    (checks.c3_multiply_adds, C3_RIGHT, 10 * 10 * 96 * 25, "without its table"),
    (checks.flatten_size, 16 * 5 * 5, 16 * 6 * 6, "32×32"),
])
def test_questions_accept_the_answer_and_explain_known_wrong_ones(capsys, check, right, wrong, words):
    assert check(right) is True and said(capsys).startswith(RIGHT)
    assert check(wrong) is False
    out = said(capsys)
    assert words in out and str(right) not in out
    assert check(None) is False and "whole number" in said(capsys)


def test_flip_eps_finds_the_first_eps_that_fools_the_network(capsys):
    model = lenet5("modern", pretrained=True)
    _, _, X, y = load_mnist()
    x, label = X[7:8].astype(np.float64), y[7:8]
    grid = np.round(np.arange(0, 0.51, 0.01), 2)
    loss_fn = __import__("nnlib").CrossEntropyLoss()
    model.eval()
    first = next(e for e in grid if model(fgsm(model, loss_fn, x, label, e)).argmax() != label[0])
    assert checks.flip_eps(first, model, x, label) is True
    assert checks.flip_eps(first + 0.01, model, x, label) is False
    assert "smaller eps already" in said(capsys)
    assert checks.flip_eps(first - 0.01, model, x, label) is False
    out = said(capsys)
    assert "still answers correctly" in out and str(first) not in out.split("\n")[-1]
    assert model.training is False


@pytest.fixture(scope="module")
def data():
    X, y, _, _ = load_mnist()
    return X[:-500], y[:-500], X[-500:], y[-500:]


def test_fast_run_refuses_the_dashboards_default_and_long_runs(capsys, data):
    assert checks.fast_run({}, train_epoch, data) is False  # trains 2 epochs of plain SGD: far from 93%
    assert "short of 93%" in said(capsys)
    assert checks.fast_run({"epochs": 5, "optimizer": "Adam"}, train_epoch, data) is False
    assert "at most 2 epochs" in said(capsys)
    assert checks.fast_run({"momentum": 0.9}, train_epoch, data) is False
    assert "dashboard's knobs" in said(capsys)
    assert checks.fast_run({"optimizer": "Adam", "lr": 1e-3}, stub, data) is False
    assert STUB_HINT in said(capsys)


def test_fast_run_accepts_a_run_that_reaches_the_target(capsys, data, monkeypatch):
    small = (data[0][:640], data[1][:640], data[2][:200], data[3][:200])
    monkeypatch.setattr(checks, "FAST_TARGET", 0.5)
    assert checks.fast_run({"optimizer": "Adam", "lr": 3e-3}, train_epoch, small) is True
    assert said(capsys).startswith(RIGHT)
