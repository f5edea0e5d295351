"""nnlib.exercises.convolution: each checker is right on a correct answer, not yet on the stub and on
plausible mistakes, and its hint never holds the answer."""

import numpy as np
import pytest

from nnlib.conv import im2col
from nnlib.exercises import NOT_YET, RIGHT
from nnlib.exercises import convolution as checks
from tests.test_exercises_perceptron import said, stub  # one line per verdict; the NotImplementedError stub


# ---- conv2d forward ---------------------------------------------------------------------------------
def conv_loops(x, weight, bias, stride=1, padding=0):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    c_out, _, kh, kw = weight.shape
    h_out, w_out = (x.shape[2] - kh) // stride + 1, (x.shape[3] - kw) // stride + 1
    out = np.zeros((x.shape[0], c_out, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            patch = x[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, weight) + bias
    return out


def conv_im2col(x, weight, bias, stride=1, padding=0):
    n, (c_out, _, kh, kw) = x.shape[0], weight.shape
    h_out = (x.shape[2] + 2 * padding - kh) // stride + 1
    w_out = (x.shape[3] + 2 * padding - kw) // stride + 1
    rows = im2col(x, (kh, kw), stride, padding) @ weight.reshape(c_out, -1).T + bias
    return rows.reshape(n, h_out, w_out, c_out).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("student", [conv_loops, conv_im2col], ids=["loops", "im2col"])
def test_conv2d_forward_right_with_loops_or_im2col(capsys, student):
    assert checks.conv2d_forward(student) is True
    assert said(capsys).startswith(RIGHT)


def test_conv2d_forward_stub_and_non_function(capsys):
    assert checks.conv2d_forward(stub) is False
    assert "NotImplementedError" in said(capsys)
    assert checks.conv2d_forward("conv") is False
    assert "function itself" in said(capsys)


def test_conv2d_forward_sees_strides_that_do_not_divide_and_rectangles():
    rng = np.random.default_rng(7)
    inputs = [checks._conv_inputs(rng) for _ in range(8)]
    assert any((x.shape[2] + 2 * p - w.shape[2]) % s for x, w, _, s, p in inputs)
    assert any(w.shape[2] != w.shape[3] for _, w, _, _, _ in inputs)
    assert {s for *_, s, _ in inputs} >= {1, 2, 3} and {p for *_, p in inputs} >= {0, 1, 2}


def test_conv2d_forward_input_may_not_be_changed_in_place(capsys):
    def in_place(x, w, b, s=1, p=0):
        out = conv_loops(x, w, b, s, p)
        x *= 0  # a student's function must not fool the check by writing into its inputs
        return out

    assert checks.conv2d_forward(in_place) is True  # the checker hands each function its own copy
    said(capsys)


# ---- max-pool backward ------------------------------------------------------------------------------
def pool_backward(grad_out, x, size, stride, first=True, add=True):
    dx = np.zeros_like(x, dtype=float)
    n_, c_, h_out, w_out = grad_out.shape
    n, c = np.indices((n_, c_))
    for i in range(h_out):
        for j in range(w_out):
            window = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].reshape(n_, c_, -1)
            k = window.argmax(axis=2) if first else window.shape[2] - 1 - window[:, :, ::-1].argmax(axis=2)
            a, b = np.unravel_index(k, (size, size))
            if add:
                dx[n, c, i * stride + a, j * stride + b] += grad_out[:, :, i, j]
            else:
                dx[n, c, i * stride + a, j * stride + b] = grad_out[:, :, i, j]
    return dx


def pool_to_every_maximum(grad_out, x, size, stride):
    dx = np.zeros_like(x, dtype=float)
    for i in range(grad_out.shape[2]):
        for j in range(grad_out.shape[3]):
            win = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
            hit = win == win.max(axis=(2, 3), keepdims=True)
            g = grad_out[:, :, i:i + 1, j:j + 1]
            dx[:, :, i * stride:i * stride + size, j * stride:j * stride + size] += hit * g
    return dx


def pool_average(grad_out, x, size, stride):
    dx = np.zeros_like(x, dtype=float)
    for i in range(grad_out.shape[2]):
        for j in range(grad_out.shape[3]):
            g = grad_out[:, :, i:i + 1, j:j + 1]
            dx[:, :, i * stride:i * stride + size, j * stride:j * stride + size] += g / size**2
    return dx


def test_max_pool_backward_right(capsys):
    assert checks.max_pool_backward(pool_backward) is True
    out = said(capsys)
    assert out.startswith(RIGHT) and "first maximum" in out


CONV_MISTAKES = [
    (lambda x, w, b, s=1, p=0: conv_loops(x, w[:, :, ::-1, ::-1], b, s, p), "flipped"),
    (lambda x, w, b, s=1, p=0: conv_loops(x, w, 0 * b, s, p), "bias is missing"),
    (lambda x, w, b, s=1, p=0: conv_loops(x, w, b, s, 0), "padding is not applied"),
    (lambda x, w, b, s=1, p=0: conv_loops(x, w, b, 1, p), "stride is ignored"),
    (lambda x, w, b, s=1, p=0: conv_loops(x, w, b, s, p)[:, :, :-1], "should have shape"),
    (lambda x, w, b, s=1, p=0: conv_loops(x, w, b, s, p) * 1.01, "differs"),
    (lambda x, w, b, s=1, p=0: 1 / 0, "ZeroDivisionError"),
]
POOL_MISTAKES = [
    (lambda g, x, s, t: pool_backward(g, x, s, t, first=False), "first one"),
    (pool_to_every_maximum, "first one"),
    (lambda g, x, s, t: pool_backward(g, x, s, t, add=False), "add their gradients"),
    (pool_average, "largest entry"),
    (lambda g, x, s, t: pool_backward(g, x, s, t)[:, :, :-1], "should have shape"),
    (lambda g, x, s, t: "dx", "should be numbers"),
    (lambda g, x, s, t: pool_backward(np.ones_like(g), x, s, t), "largest entry"),
]
CODING_MISTAKES = ([(checks.conv2d_forward, *m) for m in CONV_MISTAKES]
                   + [(checks.max_pool_backward, *m) for m in POOL_MISTAKES])


@pytest.mark.parametrize("check, wrong, hint", CODING_MISTAKES,
                         ids=[f"{c.__name__}-{h}" for c, _, h in CODING_MISTAKES])
def test_coding_checkers_not_yet_name_the_mistake(capsys, check, wrong, hint):
    assert check(wrong) is False
    out = said(capsys)
    assert out.startswith(NOT_YET) and hint in out


def test_max_pool_backward_stub_and_non_function(capsys):
    assert checks.max_pool_backward(stub) is False
    assert "NotImplementedError" in said(capsys)
    assert checks.max_pool_backward(None) is False
    assert "function itself" in said(capsys)


def test_max_pool_inputs_hold_ties_and_overlaps():
    rng = np.random.default_rng(0)
    g, x, size, stride = checks._pool_inputs("ties")(rng)
    assert len(np.unique(x)) < x.size and g.shape[2] == (x.shape[2] - size) // stride + 1
    g, x, size, stride = checks._pool_inputs("overlap")(rng)
    assert stride < size


# ---- questions ----------------------------------------------------------------------------------------
QUESTIONS = [  # checker, right answer, plausible wrong answers
    (checks.output_size, 15, [32, 16, 14, 31]),
    (checks.parameters, 1216, [1200, 1248, 76, 1215]),
    (checks.sparsity, 9 / 10_000, [0.09, 9 / 9604, 0.001]),
    (checks.receptive_field, 16, [11, 14, 12, 18]),
    (checks.folded_parameters, 147_520, [53_376, 147_456, 16_448]),
]


@pytest.mark.parametrize("check, right, wrongs", QUESTIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_questions_right_and_not_yet_without_giving_the_answer(capsys, check, right, wrongs):
    assert check(right) is True
    assert said(capsys).startswith(RIGHT)
    forms = {str(right), f"{right:,}", f"{right:g}"}
    for wrong in wrongs + [None, "15", float("nan"), [1, 2]]:
        assert check(wrong) is False
        out = said(capsys)
        assert out.startswith(NOT_YET)
        assert not any(form in out.replace(repr(wrong), "") for form in forms), (wrong, out)


def test_known_wrong_answers_get_their_own_hint(capsys):
    checks.output_size(32)
    assert "after the convolution" in said(capsys)
    checks.parameters(1248)
    assert "c(hw + 1)" in said(capsys)
    checks.receptive_field(14)
    assert "after C3" in said(capsys)
    checks.folded_parameters(53_376)
    assert "two-layer stack" in said(capsys)
    checks.sparsity(0.09)
    assert "percentage" in said(capsys)


def test_shift_kernel(capsys):
    right = np.zeros((3, 3))
    right[1, 0] = 1
    assert checks.shift_kernel(right) is True
    assert said(capsys).startswith(RIGHT)
    left = np.zeros((3, 3))
    left[1, 2] = 1
    assert checks.shift_kernel(left) is False
    assert "LEFT" in said(capsys)
    for wrong in (np.eye(3), np.zeros((2, 2)), None, "kernel", np.full((3, 3), np.nan)):
        assert checks.shift_kernel(wrong) is False
        out = said(capsys)
        assert out.startswith(NOT_YET) and "[1, 0]" not in out
