"""Checkers of notebook 04 (optimizers).

The coding exercises are checked against ``nnlib.optim`` itself: the student's step function
``step(w, g, state, **hyperparameters) -> new w`` and the library's optimizer are fed the same
random parameters and the same random gradients for several steps, and every intermediate
parameter must agree.
"""

from __future__ import annotations

import numpy as np

from .. import optim
from ..module import Parameter
from . import as_number, check_function, check_number, verdict

__all__ = ["momentum_step", "adam_step", "momentum_warmup", "momentum_max_lr", "saddle_escape"]

STEPS = 6  # steps per random trial: enough for the state to matter, few enough to read a failure


class ChangedInPlace(Exception):
    """A step function wrote into the ``w`` it was given."""


def run_step(step, w0, grads, **hyper):
    """The parameters after each of ``len(grads)`` calls of ``step``, stacked: ``(steps, *w0.shape)``.

    A step must return a new array: the notebook's loop keeps every ``w`` of a path, and a step
    that writes into ``w`` would change all of them.
    """
    w, state, out = np.array(w0, dtype=np.float64), {}, []
    for g in grads:
        before = w.copy()
        new = step(w, np.array(g), state, **hyper)
        if not np.array_equal(w, before, equal_nan=True):
            raise ChangedInPlace("it wrote into w; return a new array (w - ..., not w -= ...)")
        w = new
        out.append(np.array(w, dtype=np.float64))
    return np.stack(out)


def run_optimizer(make, w0, grads):
    """The same with an ``nnlib.optim`` optimizer: ``make([parameter])``, gradients added to ``.grad``."""
    p = Parameter(np.array(w0, dtype=np.float64))
    opt = make([p])
    out = []
    for g in grads:
        opt.zero_grad()
        p.grad += g
        opt.step()
        out.append(p.value.copy())
    return np.stack(out)


def _random_run(rng):
    """A parameter of a random shape and STEPS random gradients for it."""
    shape = tuple(int(n) for n in rng.integers(1, 5, size=rng.integers(1, 3)))
    return rng.standard_normal(shape), rng.standard_normal((STEPS, *shape))


def _check_step(student, name, reference, hyper, hint):
    if not callable(student):
        return verdict(False, f"pass your function itself: checks.{name}({name}), without calling it.")

    def make_inputs(rng):
        w0, grads = _random_run(rng)
        return (w0, grads, hyper(rng))

    return check_function(lambda w0, grads, h: run_step(student, w0, grads, **h),
                          lambda w0, grads, h: reference(w0, grads, h),
                          make_inputs, hint=hint, rtol=1e-9, atol=1e-12,
                          praise=f"It agrees with nnlib.optim over {STEPS} steps on 5 random problems.")


def _momentum_reference(w0, grads, h):
    return run_optimizer(lambda ps: optim.SGD(ps, lr=h["lr"], momentum=h["beta"]), w0, grads)


def momentum_step(student) -> bool:
    """Exercise 1: heavy-ball momentum, against ``nnlib.optim.SGD(momentum=beta)``."""
    return _check_step(
        student, "momentum_step", _momentum_reference,
        lambda rng: {"lr": float(rng.uniform(0.01, 0.5)), "beta": float(rng.uniform(0.1, 0.95))},
        hint="the velocity must remember every past gradient, not only the last one: keep it in `state` "
             "between calls (zero before the first), update it as the table says, then step along it.")


def _adam_reference(w0, grads, h):
    return run_optimizer(lambda ps: optim.Adam(ps, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"]),
                         w0, grads)


def adam_step(student) -> bool:
    """Exercise 2: Adam, against ``nnlib.optim.Adam``."""
    return _check_step(
        student, "adam_step", _adam_reference,
        lambda rng: {"lr": float(rng.uniform(0.01, 0.5)), "beta1": float(rng.uniform(0.5, 0.95)),
                     "beta2": float(rng.uniform(0.8, 0.999)), "eps": float(10 ** rng.uniform(-8, -2))},
        hint="keep m, s and the step count t in `state`; t is 1 at the first step, both moments are "
             "divided by their own (1 - beta**t), and eps is added after the square root.")


def momentum_warmup(answer) -> bool:
    """Exercise 3: the first step at which heavy-ball momentum (β = 0.9) on a constant slope
    reaches 90% of its limiting step length."""
    expected = next(t for t in range(1, 1000) if 1 - 0.9**t >= 0.9)
    return check_number(answer, expected, rtol=0.0,
                        hint="after t steps the velocity is (1 + β + ... + β^(t-1)) g; compare that sum with its "
                             "limit 1/(1-β) and find the first whole t where the ratio reaches 0.9.",
                        praise="The speed builds up geometrically; the missing part shrinks by β at every step.")


def momentum_max_lr(answer) -> bool:
    """Exercise 4: the largest learning rate for heavy-ball momentum (β = 0.5) on ½(w₁² + 20w₂²)."""
    return check_number(answer, 2 * (1 + 0.5) / 20, rtol=0.01,
                        hint="the stability table gives the largest a = η·λ for heavy-ball momentum as a "
                             "function of β; the steepest direction of this ravine decides: divide by its "
                             "curvature.",
                        praise="Beyond it the steep direction's error grows at every step.")


def saddle_escape(answer, lr: float = 0.05, offset: float = 1e-6) -> bool:
    """Exercise 5: the first step of gradient descent (η = ``lr``) from (2, ``offset``) on
    ½w₁² + ¼w₂⁴ − ½w₂² at which |w₂| > 0.5. Accepted within 3%."""
    w2, t = offset, 0
    while abs(w2) <= 0.5:
        w2, t = w2 - lr * (w2 * w2 * w2 - w2), t + 1
    value = as_number(answer)
    if value is None:
        return verdict(False, "answer with one number of steps.")
    return verdict(abs(value - t) <= 0.03 * t,
                   "only w₂ matters: near the ridge each step multiplies it by (1 + η·|curvature|), with "
                   "curvature −1 there; count the steps from 1e-6 to 0.5 (a logarithm does it).",
                   "Escaping takes a number of steps proportional to log(1/distance from the ridge).")
