"""Checkers of notebook 08's exercises (one convention: see :mod:`nnlib.exercises`).

Coding exercises:

- :func:`train_step`: ``train_step(model, loss_fn, optimizer, X, y) -> loss``. From fresh seeded
  models, three steps of the student's function and of a reference step (zero the gradients,
  forward, loss, backward, step) must return the same losses and leave the same parameters, for
  SGD, SGD with momentum and Adam on random batches; then 30 of the student's steps on one batch
  must lower its loss.
- :func:`fgsm`: ``fgsm(model, loss_fn, x, y, eps) -> x_adv``. On fresh random inputs and small
  random tanh networks (smooth, so finite differences are exact to many digits), the result must
  equal ``clip(x + eps · sign(∇x L), 0, 1)`` with the gradient taken by central finite
  differences, not by nnlib, and the model's parameters must not change.

Questions: :func:`c3_multiply_adds`, :func:`flatten_size`, :func:`flip_eps`, :func:`fast_run`.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from .. import optim
from ..conv import Conv2d, MaxPool2d
from ..layers import Flatten, Linear, ReLU, Tanh
from ..losses import CrossEntropyLoss
from ..module import Sequential
from . import STUB_HINT, _compare, _describe, as_number, attempt, numerical_gradient, verdict

__all__ = ["train_step", "fgsm", "c3_multiply_adds", "flatten_size", "flip_eps", "fast_run", "reference_fgsm",
           "reference_train_step", "reference_train_epoch"]


# ---- the training step ------------------------------------------------------------------------------
def _small_cnn(seed, act=ReLU):
    """A LeNet in miniature for 8x8 images and 4 classes: fast enough to step many times."""
    rng = np.random.default_rng(seed)
    return Sequential(Conv2d(1, 3, 3, padding=1, rng=rng), act(), MaxPool2d(2), Flatten(),
                      Linear(48, 16, rng=rng), act(), Linear(16, 4, rng=rng))


_OPTIMIZERS = {"SGD": lambda p: optim.SGD(p, lr=0.1),
               "SGD with momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
               "Adam": lambda p: optim.Adam(p, lr=0.01)}


def reference_train_step(model, loss_fn, optimizer, X, y):
    """The step exercise A asks for (and ``nnlib.fit`` takes): zero the gradients, forward and loss,
    backward, step; returns the batch's loss. Benchmarks and tests train with it."""
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    model.backward(loss_fn.backward())
    optimizer.step()
    return loss


def reference_train_epoch(model, loss_fn, optimizer, X, y, batch_size, rng, step=reference_train_step):
    """Notebook 08's ``train_epoch``: one pass in shuffled mini-batches, yielding each step's loss."""
    model.train()
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        batch = order[start:start + batch_size]
        yield step(model, loss_fn, optimizer, X[batch], y[batch])


def _batch(rng, n=None):
    n = n or int(rng.integers(4, 17))
    return rng.standard_normal((n, 1, 8, 8)), rng.integers(0, 4, n)


def _step_problem(student, seed, name) -> str | None:
    """None when three student steps match three reference steps; else the hint."""
    rng = np.random.default_rng(seed)
    runs = []
    for fn in (reference_train_step, student):
        model = _small_cnn(seed)
        runs.append((fn, model, CrossEntropyLoss(), _OPTIMIZERS[name](model.parameters())))
    start = [p.value.copy() for p in runs[0][1].parameters()]
    for k in range(3):
        X, y = _batch(rng)
        ref_loss = reference_train_step(*runs[0][1:], X.copy(), y.copy())
        fn, model, loss_fn, opt = runs[1]
        got, problem = attempt(fn, (model, loss_fn, opt, X, y))  # on copies of X and y
        if problem:
            return problem
        moved = [not np.array_equal(p.value, s) for p, s in zip(model.parameters(), start)]
        same = all(np.allclose(p.value, q.value, rtol=1e-10, atol=1e-12)
                   for p, q in zip(model.parameters(), runs[0][1].parameters()))
        if k == 0 and not any(moved):
            return ("the parameters did not move: after the backward pass fills each parameter's .grad, "
                    "the optimizer has to take its step (and only after backward).")
        if not same:
            if k == 0:
                return (f"with {name}, one step leaves other parameters than the reference step: the order is "
                        "zero the gradients, forward, loss, backward (from the loss's gradient), step.")
            return (f"the first step is right, step {k + 1} is not: gradients add up in .grad from one backward "
                    "to the next unless they are cleared; clear them before each backward.")
        value = as_number(got)
        if value is None or not np.isclose(value, ref_loss, rtol=1e-10):
            return (f"the parameters are right, but return the loss of this batch as one number (got "
                    f"{_describe(got)}): the value the loss function gave before the step.")
    return None


def train_step(student) -> bool:
    """Checks ``train_step(model, loss_fn, optimizer, X, y) -> loss`` against a reference step, then
    that it lowers the loss."""
    if not callable(student):
        return verdict(False, f"pass your function itself (got {_describe(student)}).")
    for seed, name in enumerate(_OPTIMIZERS):
        problem = _step_problem(student, 10 + seed, name)
        if problem:
            return verdict(False, problem)
    model = _small_cnn(20)
    loss_fn, opt = CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05)
    X, y = _batch(np.random.default_rng(21), n=16)
    losses = [attempt(student, (model, loss_fn, opt, X, y))[0] for _ in range(30)]
    if not losses[-1] < 0.8 * losses[0]:
        return verdict(False, "steps that match the reference should lower the loss of a batch they see again "
                              "and again; run yours 30 times on one batch and print the losses.")
    return verdict(True, "", "Three steps agree with the reference for SGD, momentum and Adam, and 30 steps on "
                             "one batch lower its loss.")


# ---- the fast gradient-sign method -------------------------------------------------------------------
def reference_fgsm(model, loss_fn, x, y, eps):
    """``clip(x + eps · sign(dL/dx), 0, 1)`` through nnlib's backward pass (for the notebook's checks)."""
    loss_fn(model(x), y)
    grad = model.backward(loss_fn.backward())
    model.zero_grad()
    return np.clip(x + eps * np.sign(grad), 0.0, 1.0)


def _fgsm_problem(student, rng) -> str | None:
    model = _small_cnn(int(rng.integers(1000)), act=Tanh).eval()
    loss_fn = CrossEntropyLoss()
    n = int(rng.integers(1, 5))
    x = np.clip(rng.uniform(-0.3, 1.3, (n, 1, 8, 8)), 0.0, 1.0)  # some pixels sit at 0 or 1: clipping matters
    y, eps = rng.integers(0, 4, n), float(rng.uniform(0.05, 0.3))
    grad = numerical_gradient(lambda v: loss_fn(model(v), y), x)
    want = np.clip(x + eps * np.sign(grad), 0.0, 1.0)
    before = [p.value.copy() for p in model.parameters()]
    got, problem = attempt(student, (model, loss_fn, x, y, eps))  # on copies of x and y
    if problem:
        return problem
    problem = _compare(got, x, 0.0, 1e9, "the adversarial images")  # numbers shaped like x, whatever their values
    if problem:
        return problem + "."
    got = np.asarray(got, dtype=float)
    if any(not np.array_equal(p.value, b) for p, b in zip(model.parameters(), before)):
        return "your function changed the model's parameters; an attack only reads the gradient, it takes no step."
    if np.allclose(got, want, atol=1e-9):
        return None
    if np.allclose(got, np.clip(x - eps * np.sign(grad), 0, 1), atol=1e-9):
        return "your images lower the loss: the attack climbs the gradient, it does not descend it."
    if np.allclose(np.clip(got, 0, 1), want, atol=1e-9):
        return "some pixels leave [0, 1]; an image's pixels must stay in the range they came from."
    if np.all(np.abs(got - x) <= eps + 1e-9) and not np.allclose(np.abs(got - x)[got == want], eps):
        return "every pixel that can move should move by exactly eps: use the sign of the gradient, not its size."
    return ("compare with the formula: the gradient of the loss with respect to the images (backward from the "
            "loss's gradient returns it), its sign, times eps, added to x, clipped.")


def fgsm(student) -> bool:
    """Checks ``fgsm(model, loss_fn, x, y, eps) -> x_adv`` against finite differences on 5 random inputs."""
    if not callable(student):
        return verdict(False, f"pass your function itself (got {_describe(student)}).")
    rng = np.random.default_rng(8)
    for trial in range(5):
        problem = _fgsm_problem(student, rng)
        if problem:
            return verdict(False, f"on random input {trial + 1} of 5, {problem}" if problem != STUB_HINT else problem)
    return verdict(True, "", "It moves every pixel by eps up the loss gradient (checked by finite differences, "
                             "not by nnlib) and stays in [0, 1], on 5 random inputs.")


# ---- questions -----------------------------------------------------------------------------------------
def _whole_number(answer):
    value = as_number(answer)
    return None if value is None or value != int(value) else int(value)


def c3_multiply_adds(answer) -> bool:
    """Multiply-adds of the classic C3 (Table I) for one image; the bias is not a multiply-add."""
    from ..lenet import C3_CONNECTIONS

    value = _whole_number(answer)
    if value is None:
        return verdict(False, f"answer with a whole number (got {_describe(answer)}).")
    side, links = 14 - 5 + 1, int(np.sum(C3_CONNECTIONS))
    right = side * side * links * 25
    wrong = {right + side * side * 16: "close: the bias is an addition, not a multiply-add; leave it out.",
             side * side * 96 * 25: "that is C3 without its table (every S2 map feeding every C3 map); count only "
                                    "the X's.",
             links * 25: "that is the number of weights; each one is used at every output position."}
    return verdict(value == right, wrong.get(value, "each output position of each C3 map is one 5×5 dot product per "
                                                    "S2 map it reads: (positions per map) × (X's in the table) × 25."),
                   "The table saves work as well as parameters.")


def flatten_size(answer) -> bool:
    """Input size of the first Linear layer of the notes' PyTorch net (3x3 convolutions, no padding, each
    followed by 2x2 max pooling, 16 channels) on 28x28 MNIST digits."""
    value = _whole_number(answer)
    if value is None:
        return verdict(False, f"answer with a whole number (got {_describe(answer)}).")
    n = 28
    for _ in range(2):
        n = (n - 3 + 1) // 2
    hint = ("a 3×3 convolution without padding takes 2 off a side, a 2×2 pool halves it (rounding down); do that "
            "twice from 28, then multiply by the 16 channels.")
    if value == 16 * 6 * 6:
        hint = "16·6·6 is the snippet's value, right for 32×32 inputs. Redo the sizes from 28: " + hint
    return verdict(value == 16 * n * n, hint, "The flattened size follows the input size, so the snippet's 6·6 "
                                               "needs 32×32 inputs.")


def _flips(model, x, y, eps_grid):
    loss_fn = CrossEntropyLoss()
    for eps in eps_grid:
        if model(reference_fgsm(model, loss_fn, x, y, eps).astype(x.dtype)).argmax(axis=1)[0] != y[0]:
            return float(eps)
    return None


def flip_eps(answer, model, x, y) -> bool:
    """The smallest eps on the grid 0, 0.01, ..., 0.5 whose FGSM image of ``x`` is misclassified."""
    value = as_number(answer)
    if value is None:
        return verdict(False, f"answer with one number such as 0.05 (got {_describe(answer)}).")
    was = model.training
    model.eval()
    try:
        right = _flips(model, np.asarray(x, float), np.asarray(y), np.round(np.arange(0, 0.51, 0.01), 2))
    finally:
        model.train(was)
    if right is None:
        return verdict(False, "this digit resists every eps up to 0.5; try another one.")
    hint = "try eps = 0, 0.01, 0.02, ... in a loop and stop at the first whose prediction differs from the label."
    if value > right + 1e-9:
        hint += " Yours flips it, but a smaller eps already does."
    elif value < right - 1e-9:
        hint += " At yours the network still answers correctly."
    return verdict(abs(value - right) < 1e-9, hint, "A change this small is hard to see, yet it flips the answer.")


FAST_TARGET, FAST_EPOCHS = 0.93, 2


def fast_run(settings, train_epoch, data) -> bool:
    """Dashboard settings (a dict of its knobs) that reach ``FAST_TARGET`` validation accuracy in at most
    ``FAST_EPOCHS`` epochs, trained here with ``train_epoch`` (a few seconds)."""
    from ..widgets.lenet import DEFAULTS, training_job

    if not isinstance(settings, dict) or set(settings) - set(DEFAULTS):
        return verdict(False, f"give a dict with some of the dashboard's knobs {sorted(DEFAULTS)} "
                              f"(got {_describe(settings)}).")
    knobs = dict(DEFAULTS, **settings)
    if knobs["epochs"] > FAST_EPOCHS:
        return verdict(False, f"at most {FAST_EPOCHS} epochs: tune the optimizer, the learning rate and the batch "
                              "size instead of training longer.")
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            job = training_job(train_epoch, data, **knobs).run()
    except NotImplementedError:
        return verdict(False, STUB_HINT)
    except (ValueError, TypeError) as err:
        return verdict(False, f"those settings do not make a run: {err}")
    accuracy = job.latest("val_accuracy")
    return verdict(accuracy >= FAST_TARGET,
                   f"validation accuracy {accuracy:.2f}, short of {FAST_TARGET:.0%}. Compare the optimizers at "
                   "learning rates a factor 3 apart, and watch whether the loss is still falling steeply when the "
                   "run ends, or jumping about.",
                   f"Validation accuracy at least {FAST_TARGET:.0%} after {knobs['epochs']} epochs.")
