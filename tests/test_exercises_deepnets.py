"""nnlib.exercises.deepnets: each checker is right on a correct answer, not yet on the stub and on
plausible mistakes, and its hint never holds the answer."""

import numpy as np
import pytest

from nnlib.exercises import NOT_YET, RIGHT
from nnlib.exercises import deepnets as checks


def said(capsys):
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1, f"a checker prints one line, got {out!r}"
    return out


def stub(*args, **kwargs):
    raise NotImplementedError("replace this line with your code")


def batch_norm(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta


# ---- exercise 1: the training-mode forward with running statistics ------------------------------------
def bn_train(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
    m = x.shape[0]
    new_mean = (1 - momentum) * running_mean + momentum * x.mean(axis=0)
    new_var = (1 - momentum) * running_var + momentum * x.var(axis=0) * m / (m - 1)
    return batch_norm(x, gamma, beta, eps), new_mean, new_var


def test_batch_norm_train_right(capsys):
    assert checks.batch_norm_train(bn_train) is True
    assert said(capsys).startswith(RIGHT)


def biased_running_var(x, gamma, beta, rm, rv, momentum=0.1, eps=1e-5):
    y, mean, _ = bn_train(x, gamma, beta, rm, rv, momentum, eps)
    return y, mean, (1 - momentum) * rv + momentum * x.var(axis=0)


def momentum_swapped(x, gamma, beta, rm, rv, momentum=0.1, eps=1e-5):
    y, _, var = bn_train(x, gamma, beta, rm, rv, momentum, eps)
    return y, momentum * rm + (1 - momentum) * x.mean(axis=0), var


def no_affine(x, gamma, beta, rm, rv, momentum=0.1, eps=1e-5):
    _, mean, var = bn_train(x, gamma, beta, rm, rv, momentum, eps)
    return batch_norm(x, 1.0, 0.0, eps), mean, var


def normalised_per_example(x, gamma, beta, rm, rv, momentum=0.1, eps=1e-5):
    _, mean, var = bn_train(x, gamma, beta, rm, rv, momentum, eps)
    z = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    return gamma * z + beta, mean, var


@pytest.mark.parametrize("wrong, part", [
    (biased_running_var, "running variance"),
    (momentum_swapped, "running mean"),
    (no_affine, "y differs"),
    (normalised_per_example, "y differs"),
    (lambda *a, **k: bn_train(*a, **k)[:2], "return 3 arrays"),
    (lambda *a, **k: [][0], "raised IndexError"),
])
def test_batch_norm_train_not_yet(capsys, wrong, part):
    with np.errstate(all="ignore"):
        assert checks.batch_norm_train(wrong) is False
    out = said(capsys)
    assert out.startswith(NOT_YET) and part in out
    assert "m - 1" not in out and "m / (m - 1)" not in out and "ddof=1" not in out


def test_batch_norm_train_stub_and_not_a_function(capsys):
    assert checks.batch_norm_train(stub) is False
    assert "NotImplementedError" in said(capsys)
    assert checks.batch_norm_train(3.0) is False
    assert "pass your function" in said(capsys)


def test_batch_norm_train_cannot_be_fooled_by_writing_into_the_inputs(capsys):
    def in_place(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5):
        y, mean, var = bn_train(x, gamma, beta, running_mean, running_var, momentum, eps)
        running_mean[:] = mean  # the checker passes copies: the reference is unaffected
        return y, mean, var

    assert checks.batch_norm_train(in_place) is True
    said(capsys)


# ---- exercise 2: batch norm's backward -------------------------------------------------------------
def bn_backward(grad_y, x, gamma, eps=1e-5):
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    g = grad_y * gamma
    dx = (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) / sigma
    return dx, (grad_y * x_hat).sum(axis=0), grad_y.sum(axis=0)


def test_batch_norm_backward_right(capsys):
    assert checks.batch_norm_backward(bn_backward) is True
    assert said(capsys).startswith(RIGHT)


def statistics_as_constants(grad_y, x, gamma, eps=1e-5):  # the eval-mode gradient: the classic slip
    _, dgamma, dbeta = bn_backward(grad_y, x, gamma, eps)
    return grad_y * gamma / np.sqrt(x.var(axis=0) + eps), dgamma, dbeta


def mean_path_only(grad_y, x, gamma, eps=1e-5):
    _, dgamma, dbeta = bn_backward(grad_y, x, gamma, eps)
    g = grad_y * gamma
    return (g - g.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps), dgamma, dbeta


def dgamma_unsummed(grad_y, x, gamma, eps=1e-5):
    dx, _, dbeta = bn_backward(grad_y, x, gamma, eps)
    return dx, (grad_y * x).sum(axis=0), dbeta


def dbeta_mean(grad_y, x, gamma, eps=1e-5):
    dx, dgamma, _ = bn_backward(grad_y, x, gamma, eps)
    return dx, dgamma, grad_y.mean(axis=0)


@pytest.mark.parametrize("wrong, part", [
    (statistics_as_constants, "dx differs"),
    (mean_path_only, "dx differs"),
    (dgamma_unsummed, "dgamma differs"),
    (dbeta_mean, "dbeta differs"),
    (lambda g, x, gamma, eps=1e-5: bn_backward(g, x, gamma, eps)[0], "return 3 arrays"),
    (lambda g, x, gamma, eps=1e-5: (bn_backward(g, x, gamma, eps)[0].T,) + bn_backward(g, x, gamma, eps)[1:],
     "shape"),
])
def test_batch_norm_backward_not_yet(capsys, wrong, part):
    assert checks.batch_norm_backward(wrong) is False
    out = said(capsys)
    assert out.startswith(NOT_YET) and part in out
    assert "g.mean" not in out and "x_hat * (g * x_hat)" not in out


def test_batch_norm_backward_stub(capsys):
    assert checks.batch_norm_backward(stub) is False
    assert "NotImplementedError" in said(capsys)


# ---- exercise 3: the residual block's backward -------------------------------------------------------
def residual_backward(grad_y, x, W1, b1, W2, b2):
    z = x @ W1.T + b1
    return grad_y + ((grad_y @ W2) * (z > 0)) @ W1


def test_residual_backward_right(capsys):
    assert checks.residual_backward(residual_backward) is True
    assert said(capsys).startswith(RIGHT)


@pytest.mark.parametrize("wrong", [
    lambda g, x, W1, b1, W2, b2: ((g @ W2) * (x @ W1.T + b1 > 0)) @ W1,          # forgets the identity path
    lambda g, x, W1, b1, W2, b2: g,                                              # only the identity path
    lambda g, x, W1, b1, W2, b2: g + (g @ W2) @ W1,                             # forgets ReLU
    lambda g, x, W1, b1, W2, b2: g + ((g @ W2) * (x @ W1.T + b1 > 0)) @ W1 * 2,  # counts the body twice
])
def test_residual_backward_not_yet(capsys, wrong):
    assert checks.residual_backward(wrong) is False
    out = said(capsys)
    assert out.startswith(NOT_YET) and "dx differs" in out and "grad_y +" not in out


def test_residual_backward_stub(capsys):
    assert checks.residual_backward(stub) is False
    assert "NotImplementedError" in said(capsys)


# ---- questions ----------------------------------------------------------------------------------
def test_vit_parameters(capsys):
    assert checks.vit_parameters(16 * 64 + 64 + 49 * 64) is True
    assert said(capsys).startswith(RIGHT)
    for wrong in (16 * 64 + 64, 16 * 64 + 49 * 64, 16 * 64 + 64 + 16 * 64, 16 * 64 + 64 + 50 * 64):
        assert checks.vit_parameters(wrong) is False
        out = said(capsys)
        assert out.startswith(NOT_YET) and "4224" not in out and "3136" not in out
    assert checks.vit_parameters([4224]) is False
    assert "one number" in said(capsys)


def test_layers_to_grow(capsys):
    assert checks.layers_to_grow(18) is True
    assert said(capsys).startswith(RIGHT)
    for wrong in (17, 17.04, 19, np.log(1000) / np.log(1.5), None):
        assert checks.layers_to_grow(wrong) is False
        out = said(capsys)
        assert out.startswith(NOT_YET) and "18" not in out
