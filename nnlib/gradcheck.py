"""Check a backward pass against central finite differences, in float64.

For a scalar probe L = Σ r ⊙ f(x) with a fixed random r, the analytic gradients are
``backward(r)`` (for x) and the ``.grad`` each parameter accumulates; the numerical ones are
Σ r ⊙ (f(θ + h) - f(θ - h)) / 2h for every single coordinate θ.

How precise can the numerical side be? Each output of f is rounded to about ε = 2.2e-16
of its size, so the difference of two evaluations carries an error of about
δ = ε·‖r ⊙ f(x)‖₂ / h, whatever the coordinate (measured: within a factor 3 of δ for
Linear up to a 10-layer MLP and LeNet-5). An entry of the gradient much smaller than δ
cannot be told from zero. So each entry's relative error |a - n| / (|a| + |n|) is taken
against at least ``resolution = 1e8 · δ · sqrt(depth)`` (depth: the number of layers, as
round-off grows along the way): a correct backward then reads about 1e-8 or less at any
depth, and anything above 1e-6 means backward disagrees with forward. (Before this floor,
LeNet-5 "classic" read 7e-4 although its gradients match PyTorch's to 4e-15: its tanh
units make entries a million times smaller than the largest, where h = 1e-6 is all
round-off.) Near a kink (ReLU at 0, a max-pool tie) the derivative jumps and a correct
backward can read O(1): keep inputs further than h from kinks.
"""

from __future__ import annotations

import numpy as np

from .module import Module


def _rel_error(a: np.ndarray, n: np.ndarray, resolution: float = 0.0) -> float:
    """max_i |a_i - n_i| / (|a_i| + |n_i|), the denominator floored at ``resolution``
    (what finite differences can resolve, see the module's docstring) and at 1e-6 of the
    array's largest entry."""
    if not a.size:
        return 0.0
    mag = np.abs(a) + np.abs(n)
    scale = np.maximum(mag, max(1e-6 * float(mag.max()), resolution, 1e-300))
    return float(np.max(np.abs(a - n) / scale))


def resolution(y: np.ndarray, r: np.ndarray, h: float, depth: int = 1) -> float:
    """1e8 · ε‖r ⊙ y‖₂ / h · sqrt(depth): gradient entries below it are compared absolutely."""
    eps = np.finfo(np.float64).eps
    return 1e8 * eps * float(np.linalg.norm(r * y)) / h * np.sqrt(max(depth, 1))


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6, r: np.ndarray | None = None) -> np.ndarray:
    """Central differences of f at x, coordinate by coordinate (x is modified and restored).

    With ``r`` given, f returns an array and the result is d/dx Σ r ⊙ f(x); the outputs are
    subtracted *before* the weighted sum, so round-off scales with how much f moves rather
    than with the size of the sum. Without ``r``, f returns a scalar.
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = np.array(f(), dtype=np.float64)
        x[i] = old - h
        fm = np.array(f(), dtype=np.float64)
        x[i] = old
        diff = fp - fm
        grad[i] = (np.sum(r * diff) if r is not None else diff) / (2 * h)
    return grad


def gradcheck(module_or_fn, x, *, h: float = 1e-6, seed: int = 0, params: bool = True,
              return_details: bool = False):
    """Max relative error between analytic and numerical gradients, in float64.

    Parameters
    ----------
    module_or_fn : Module, or a pair ``(forward, backward)`` of plain functions
        ``forward(x) -> y`` and ``backward(grad_y) -> grad_x``.
    x : array, the input to check at (copied to float64).
    h : float, finite-difference step.
    seed : int, seed of the random probe r.
    params : bool, also check every parameter's ``.grad`` (modules only).
    return_details : bool, return ``{name: error}`` for x and each parameter as well.

    Returns
    -------
    float, or (float, dict) with ``return_details``: the largest relative error over
    every entry. Raises nothing on success. About 1e-8 or less for a correct backward at
    any depth; above 1e-6 backward disagrees with forward (or an input sits within ``h``
    of a kink). Entries too small for finite differences to resolve are compared against
    the resolution instead of their own size: see the module's docstring.

    Notes
    -----
    The module is cast to float64 in place (``module.to(np.float64)``) and put in eval mode
    for the duration, since dropout masks would differ between the probes; the mode is restored.
    """
    x = np.array(x, dtype=np.float64)
    if isinstance(module_or_fn, Module):
        module = module_or_fn.to(np.float64)
        was_training = module.training
        module.eval()
        forward, backward = module.forward, module.backward
    else:
        module = None
        try:
            forward, backward = module_or_fn
        except (TypeError, ValueError):
            raise TypeError(
                "gradcheck: argument 'module_or_fn' must be a Module or a (forward, backward) pair, "
                f"got {type(module_or_fn).__name__}"
            ) from None

    try:
        y = np.asarray(forward(x), dtype=np.float64)
        r = np.random.default_rng(seed).standard_normal(np.shape(y))
        out = lambda: forward(x)  # noqa: E731
        depth = 1 if module is None else sum(1 for m in module.modules() if not list(m.named_children()))
        floor = resolution(y, r, h, depth)

        if module is not None:
            module.zero_grad()
        forward(x)
        grad_x = np.asarray(backward(r), dtype=np.float64)
        details = {"x": _rel_error(grad_x, numerical_gradient(out, x, h, r), floor)}

        if module is not None and params:
            for name, p in module.named_parameters():
                analytic = p.grad.copy()
                numeric = numerical_gradient(out, p.value, h, r)
                details[name] = _rel_error(analytic, numeric, floor)
    finally:
        if module is not None:
            module.train(was_training)
            module.zero_grad()
    worst = max(details.values())
    return (worst, details) if return_details else worst
