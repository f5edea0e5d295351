"""Checkers of notebook 09's exercises (one convention: see :mod:`nnlib.exercises`).

Coding exercises:

- :func:`batch_norm_train`: batch norm's training-mode forward with its running statistics,
  run against :class:`nnlib.BatchNorm1d` on fresh random batches;
- :func:`batch_norm_backward`: its gradients with respect to x, γ and β, against central
  finite differences of the forward pass;
- :func:`residual_backward`: the input gradient of a residual block, against finite differences.

Questions: :func:`vit_parameters`, :func:`layers_to_grow`. Each checker prints one line, right
or not yet with a hint that never holds the answer, and returns a bool.
"""

from __future__ import annotations

import math

import numpy as np

from ..norm import BatchNorm1d
from . import _compare, attempt, check_number, numerical_gradient, verdict

__all__ = ["batch_norm_train", "batch_norm_backward", "residual_backward", "vit_parameters", "layers_to_grow"]

TRIALS = 5


def _run(student, args):
    """(result, None), or (None, hint) when the student's function raised."""
    if not callable(student):
        return None, f"pass your function itself (got {type(student).__name__})."
    return attempt(student, tuple(args))


def _first_difference(got, want, names, hints, rtol, atol):
    """The hint of the first part of ``got`` that differs from ``want`` (None: all agree)."""
    if not isinstance(got, (tuple, list)) or len(got) != len(want):
        return f"return {len(want)} arrays, ({', '.join(names)}), as a tuple."
    for name, g, w, hint in zip(names, got, want, hints):
        problem = _compare(g, w, rtol, atol, name)
        if problem:
            return f"{problem}. {hint}"
    return None


def _check_parts(student, make_inputs, expected, names, hints, praise, rtol=1e-7, atol=1e-9, single=False):
    """Run ``student`` on TRIALS random inputs; ``single``: it returns one array, not a tuple."""
    rng = np.random.default_rng(0)
    for trial in range(TRIALS):
        args = make_inputs(rng)
        got, problem = _run(student, args)
        if problem is None:
            got = (got,) if single else got
            problem = _first_difference(got, expected(*args), names, hints, rtol, atol)
            if problem is not None:
                problem = f"on random input {trial + 1} of {TRIALS}, {problem}"
        if problem is not None:
            return verdict(False, problem)
    return verdict(True, "", praise)


# ---- batch norm, training-mode forward ------------------------------------------------------------
def _bn_inputs(rng):
    n, c = int(rng.integers(2, 9)), int(rng.integers(1, 6))
    x = rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 4), (n, c))
    gamma, beta = rng.uniform(0.5, 2, c), rng.normal(size=c)
    return x, gamma, beta, rng.normal(size=c), rng.uniform(0.5, 2, c), float(rng.choice([0.1, 0.25, 0.5])), 1e-5


def _bn_reference(x, gamma, beta, running_mean, running_var, momentum, eps):
    bn = BatchNorm1d(x.shape[1], eps=eps, momentum=momentum)
    bn.weight.value, bn.bias.value = gamma.copy(), beta.copy()
    bn.running_mean, bn.running_var = running_mean.copy(), running_var.copy()
    y = bn(x)  # a new layer is in training mode
    return y, bn.running_mean, bn.running_var


def batch_norm_train(student) -> bool:
    """``student(x, gamma, beta, running_mean, running_var, momentum, eps) -> (y, new_mean, new_var)``
    against :class:`nnlib.BatchNorm1d` in training mode (PyTorch's rule) on random batches."""
    return _check_parts(
        student, _bn_inputs, _bn_reference, ("y", "the new running mean", "the new running variance"),
        ("y is the training-mode output: every feature (column) normalised with this batch's own mean and "
         "variance, then scaled by gamma and shifted by beta.",
         "The running mean keeps (1 - momentum) of the old value and takes momentum times the batch's mean.",
         "The running variance follows the same momentum rule, but it stores a different variance estimate "
         "than the one the normalisation divides by: look up what 'unbiased' means for a sample variance."),
        f"y and both running statistics agree with nnlib.BatchNorm1d on {TRIALS} random batches.")


# ---- batch norm, backward ----------------------------------------------------------------------------
def _bn_forward(x, gamma, beta, eps):
    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta


def _bn_grad_inputs(rng):
    n, c = int(rng.integers(2, 7)), int(rng.integers(1, 5))
    return (rng.normal(size=(n, c)), rng.normal(rng.uniform(-2, 2), rng.uniform(0.5, 3), (n, c)),
            rng.uniform(0.5, 2, c), 1e-5)


def _bn_numerical(grad_y, x, gamma, eps):
    beta = np.zeros_like(gamma)
    loss = lambda x_, g_, b_: float(np.sum(grad_y * _bn_forward(x_, g_, b_, eps)))  # noqa: E731
    return (numerical_gradient(lambda v: loss(v, gamma, beta), x),
            numerical_gradient(lambda v: loss(x, v, beta), gamma),
            numerical_gradient(lambda v: loss(x, gamma, v), beta))


def batch_norm_backward(student) -> bool:
    """``student(grad_y, x, gamma, eps) -> (dx, dgamma, dbeta)`` of training-mode batch norm,
    against central finite differences of the forward pass at random points."""
    return _check_parts(
        student, _bn_grad_inputs, _bn_numerical, ("dx", "dgamma", "dbeta"),
        ("In training mode every x moves the batch's mean and variance too, so dx has three terms: the direct "
         "path, and the paths through the mean and through the variance (the derivation above the exercise).",
         "gamma multiplies the normalised x-hat of every example: sum over the batch.",
         "beta is added to every example's output: sum over the batch."),
        f"dx, dgamma and dbeta match finite differences on {TRIALS} random batches.", rtol=1e-5, atol=1e-7)


# ---- the residual block's backward -----------------------------------------------------------------
def _residual_forward(x, W1, b1, W2, b2):
    return x + np.maximum(x @ W1.T + b1, 0) @ W2.T + b2


def _residual_inputs(rng):
    n, d, h = int(rng.integers(1, 5)), int(rng.integers(2, 6)), int(rng.integers(2, 7))
    while True:  # keep every pre-activation away from ReLU's kink, where finite differences lie
        x, W1, b1 = rng.normal(size=(n, d)), rng.normal(size=(h, d)), rng.normal(size=h)
        if np.min(np.abs(x @ W1.T + b1)) > 1e-3:
            return rng.normal(size=(n, d)), x, W1, b1, rng.normal(size=(d, h)), rng.normal(size=d)


def _residual_numerical(grad_y, x, W1, b1, W2, b2):
    return (numerical_gradient(lambda v: float(np.sum(grad_y * _residual_forward(v, W1, b1, W2, b2))), x),)


def residual_backward(student) -> bool:
    """``student(grad_y, x, W1, b1, W2, b2) -> dx`` for ``y = x + relu(x W1ᵀ + b1) W2ᵀ + b2``,
    against central finite differences at random points."""
    return _check_parts(
        student, _residual_inputs, _residual_numerical, ("dx",),
        ("y depends on x along two paths, the identity and the body; the gradient adds what comes back along "
         "each. Inside the body, go back through W2, then ReLU's on/off pattern, then W1.",),
        f"dx matches finite differences on {TRIALS} random blocks.", rtol=1e-5, atol=1e-7, single=True)


# ---- questions ---------------------------------------------------------------------------------------
def vit_parameters(answer) -> bool:
    """Patch size 4 on a 28x28 digit, embeddings of 64 numbers: patch-embedding weights and
    biases plus one position embedding per patch."""
    patches, pixels, width = (28 // 4) ** 2, 4 * 4, 64
    return check_number(answer, pixels * width + width + patches * width, praise="That is the whole input side of "
                        "such a ViT: weights and biases of the embedding, and one learned position vector per patch.",
                        hint="count three groups: the embedding's weights (one per pixel of a patch and output "
                             "number), its biases (one per output number), and the position embeddings (one vector "
                             "of output numbers per patch). How many 4 x 4 patches tile a 28 x 28 image?")


def layers_to_grow(answer) -> bool:
    """He × 1.5: the smallest number of layers after which the spread has grown 1,000-fold."""
    return check_number(answer, math.ceil(math.log(1000) / math.log(1.5)), rtol=0,
                        praise="After that many layers of 1.5 x each, the spread has passed 1,000 x.",
                        hint="every layer multiplies the spread by s = 1.5, so after L layers it is s^L times "
                             "the first: find the smallest whole L with s^L >= 1000 (take logarithms).")
