"""Checkers of notebook 05 (regularization and generalization).

The patience rule is run against a reference on random validation curves (the reference is
held equal to ``nnlib.EarlyStopping`` by the tests); the L2 gradient against the penalty's
derivative on random networks; inverted dropout against ``nnlib.Dropout``'s semantics
(the mask is random, so its properties are checked rather than its values).
"""

from __future__ import annotations

import math

import numpy as np

from ..layers import Linear
from ..models import mlp
from . import check_function, check_number, check_properties, verdict

__all__ = ["patience_rule", "early_stop", "l2_penalty_grad", "inverted_dropout", "weight_decay_halving",
           "smallest_patience", "l1_threshold"]


def patience_rule(val_losses, patience):
    """Reference: ``(kept_epoch, stop_epoch)``, 1-based, of early stopping with ``patience``."""
    best, kept, waited = math.inf, 0, 0
    for epoch, value in enumerate(val_losses, start=1):
        if value < best:
            best, kept, waited = value, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return kept, epoch
    return kept, len(val_losses)


def _random_curve(rng):
    """A validation curve that falls, wobbles and rises, sometimes with exact repeats (ties)."""
    n = int(rng.integers(5, 80))
    t = np.arange(n)
    curve = 1 / (1 + t) + 0.002 * t + 0.05 * rng.random() * rng.standard_normal(n)
    if rng.random() < 0.3:
        curve = np.round(curve, 1)  # plateaus: equal values are not improvements
    return curve, int(rng.integers(1, 12))


def early_stop(student) -> bool:
    """Exercise 1: ``early_stop(val_losses, patience) -> (kept_epoch, stop_epoch)``."""
    if not callable(student):
        return verdict(False, "pass your function itself: checks.early_stop(early_stop).")
    return check_function(
        lambda curve, patience: tuple(int(v) for v in student(curve, patience)), patience_rule, _random_curve,
        trials=40, hint="count the epochs since the last strict improvement; stop at the epoch where that count "
                        "reaches the patience, and remember epochs from 1. A curve that never triggers the "
                        "rule stops at its last epoch.",
        praise="It picks the same epochs as the reference on 40 random curves, ties and plateaus included.")


def _linear_grads(model):
    return tuple(g for layer in model.modules() if isinstance(layer, Linear)
                 for g in (layer.weight.grad.copy(), layer.bias.grad.copy()))


def _random_model(rng):
    """An MLP of random sizes with random gradients already in ``.grad``, and a strength."""
    sizes = [int(n) for n in rng.integers(1, 6, size=rng.integers(2, 5))]
    seed = int(rng.integers(2**31))
    return sizes, seed, float(rng.uniform(0.001, 0.5))


def _model_with_grads(sizes, seed):
    model = mlp(sizes, rng=seed)
    rng = np.random.default_rng(seed + 1)
    for p in model.parameters():
        p.grad += rng.standard_normal(p.grad.shape)
    return model


def _penalised(add_penalty):
    def run(sizes, seed, lam):
        model = _model_with_grads(sizes, seed)
        add_penalty(model, lam)
        return _linear_grads(model)
    return run


def _reference_l2(model, lam):
    # d/dw of lam * w**2 is 2 * lam * w, for the weights only: note 004 leaves the intercepts alone
    for layer in model.modules():
        if isinstance(layer, Linear):
            layer.weight.grad += 2 * lam * layer.weight.value


def l2_penalty_grad(student) -> bool:
    """Exercise 2: add the gradient of ``lam * sum(w**2)`` over every Linear weight, biases untouched."""
    if not callable(student):
        return verdict(False, "pass your function itself: checks.l2_penalty_grad(l2_penalty_grad).")
    return check_function(
        _penalised(student), _penalised(_reference_l2), _random_model,
        hint="differentiate lam * w**2 with respect to w, add it to each Linear layer's weight.grad "
             "(add, do not overwrite: the loss's gradient is already there), and leave every bias alone.",
        praise="Every weight gradient gained the penalty's derivative; every bias gradient is unchanged.")


def _dropout_problem(student_class, p, seed, shape=(200, 300)):
    """Run the student's layer once in training mode; return (x, layer, out) or a hint string."""
    x = np.random.default_rng(seed).standard_normal(shape) + 3.0  # no zeros among the inputs
    layer = student_class(p, rng=seed)
    layer.train()
    return x, layer, layer.forward(x.copy())


def _dropout_verdict(student_class):
    """None when the layer behaves like nnlib.Dropout, else a hint naming what differs."""
    rng = np.random.default_rng(7)
    for p in (0.5, float(rng.uniform(0.1, 0.4)), float(rng.uniform(0.6, 0.9))):
        x, layer, out = _dropout_problem(student_class, p, int(rng.integers(2**31)))
        out = np.asarray(out, dtype=float)
        if out.shape != x.shape:
            return f"forward returned shape {out.shape} for an input of shape {x.shape}"
        kept = out != 0
        if not np.allclose(out[kept], x[kept] / (1 - p)):
            return f"with p = {p:.2f} the units that are kept should be scaled so the expected output equals the input"
        share, sd = kept.mean(), math.sqrt(p * (1 - p) / x.size)
        if abs(share - (1 - p)) > 6 * sd:
            return f"with p = {p:.2f} a unit should be dropped with probability p; your layer kept {share:.1%} of them"
        grad = np.random.default_rng(1).standard_normal(x.shape)
        back = np.asarray(layer.backward(grad.copy()), dtype=float)
        if back.shape != x.shape or not np.allclose(back, grad * out / x):
            return "backward should route the gradient through the same units as forward, with the same scale"
        again = np.asarray(layer.forward(x.copy()), dtype=float)
        if np.array_equal(again != 0, kept):
            return "every forward pass in training mode needs a fresh mask"
    x = np.random.default_rng(3).standard_normal((4, 5))
    for mode, p in (("eval", 0.5), ("train", 0.0)):
        layer = student_class(p, rng=0)
        layer.train(mode == "train")
        if not np.allclose(np.asarray(layer.forward(x.copy()), dtype=float), x):
            return f"in {mode} mode with p = {p:g} the input should pass unchanged"
        if not np.allclose(np.asarray(layer.backward(x.copy()), dtype=float), x):
            return f"in {mode} mode with p = {p:g} the gradient should pass unchanged"
    return None


def inverted_dropout(student_class) -> bool:
    """Exercise 3: an ``InvertedDropout(p, rng)`` Module with nnlib.Dropout's semantics."""
    if not isinstance(student_class, type):
        return verdict(False, "pass the class itself: checks.inverted_dropout(InvertedDropout).")
    return check_properties(
        _dropout_verdict, student_class, what="your layer",
        praise="It drops, scales and routes gradients as nnlib.Dropout does, and is the identity in eval mode.")


def weight_decay_halving(answer, lr: float = 0.1, weight_decay: float = 0.006) -> bool:
    """Exercise 4: after how many steps of ``nnlib.optim.SGD(lr, weight_decay)`` with no data
    gradient has a weight first halved? Each step multiplies it by 1 − lr·weight_decay."""
    w, steps = 1.0, 0
    while w > 0.5:
        w, steps = w - lr * (weight_decay * w), steps + 1
    return check_number(answer, steps, rtol=0.0, atol=0.5,
                        hint="with no data gradient, what does one step do to a weight? The same thing "
                             "happens at every step; count the steps until the weight is at most half.",
                        praise="Weight decay alone shrinks every weight geometrically, with a half-life of "
                               "about ln 2 / (lr · weight_decay) steps.")


def smallest_patience(answer, val_losses) -> bool:
    """Exercise 5: the smallest patience whose rule keeps the epoch of the lowest validation loss."""
    val = np.asarray(val_losses, dtype=float)
    best = int(np.argmin(val)) + 1
    expected = next(p for p in range(1, len(val) + 1) if patience_rule(val, p)[0] == best)
    return check_number(answer, expected, rtol=0.0,
                        hint="try patience 1, 2, 3, ... with your early_stop until the kept epoch is the one where "
                             "the validation loss is lowest; the first patience that gets there is the answer.",
                        praise="Any smaller patience gives up inside one of the early bumps.")


def l1_threshold(answer, a: float = 0.3) -> bool:
    """Exercise 6: the smallest λ for which (w − a)² + λ|w| is minimised at w = 0: 2|a|."""
    return check_number(answer, 2 * abs(a), rtol=0.01,
                        hint="for w > 0 the slope of the loss is 2(w − a) + λ; at w = 0 it must not point "
                             "downhill on either side.",
                        praise="L1 zeroes every weight whose data pull at zero is weaker than λ.")
