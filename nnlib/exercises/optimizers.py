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
from . import check_function, check_number, verdict

__all__ = ["momentum_step", "adam_step", "momentum_warmup", "notes_best_beta", "saddle_closer"]

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


def notes_best_beta(answer) -> bool:
    """Exercise 4: the β at which the notes' form of momentum allows the largest learning rate.

    Its limit is a = η·λ_max < min(1/β, 2/(1 − β)): one curve falls with β, the other rises, so the
    best β is where they cross, 1/3 (a = 3).
    """
    return check_number(answer, 1 / 3, rtol=0.01,
                        hint="the notes' limit is the smaller of two curves in β, one falling and one rising; "
                             "find where the smaller one is largest.",
                        praise="There a = 3: the notes' momentum then runs up to η = 3/λ_max, less than "
                               "heavy-ball momentum's 2(1 + β)/λ_max for any β above 1/2.")


def saddle_closer(answer, lr: float = 0.05, later: int = 100) -> bool:
    """Exercise 5: how many times closer to the ridge w₂ = 0 a run of gradient descent (η = ``lr``)
    on ½w₁² + ¼w₂⁴ − ½w₂² must start to escape ``later`` steps later: (1 + η)^later, since near
    the ridge each step multiplies w₂ by 1 + η. Accepted within 5% (a count of whole steps
    cannot pin the factor closer than one step's 1 + η)."""
    return check_number(answer, (1 + lr) ** later, rtol=0.05,
                        hint="near the ridge each step multiplies w₂ by the same factor (the curvature there is "
                             "−1); the extra steps must make up for the smaller start.",
                        praise=f"Every halving of the distance to the ridge costs the same "
                               f"log 2 / log(1 + η) ≈ {np.log(2) / np.log(1 + lr):.0f} steps.")
