"""Exercise checkers, one convention for every notebook.

A checker prints one line and returns a bool::

    ✓ Right. <what it confirmed>
    ✗ Not yet: <a hint>

The hint points at the idea, never at the answer. Coding exercises are checked the way
CS231n's assignments are: the student's function runs against nnlib's own on fresh random
inputs (and against finite differences where a gradient is asked for), so a function that
only works on the notebook's example is not marked right. A function still holding its
``raise NotImplementedError`` stub is told so, not shown a traceback.

Each notebook's checkers live in ``nnlib/exercises/<topic>.py`` and are built from the
helpers here: :func:`verdict`, :func:`attempt`, :func:`check_number`, :func:`check_function`,
:func:`check_gradient` and :func:`check_properties`.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["RIGHT", "NOT_YET", "STUB_HINT", "verdict", "attempt", "as_number", "check_number", "check_function",
           "check_gradient", "check_properties"]

RIGHT = "✓ Right."
NOT_YET = "✗ Not yet:"
STUB_HINT = "the function still raises NotImplementedError: replace that line with your code and run the cell again."


def verdict(ok: bool, hint: str, praise: str = "") -> bool:
    """Print the one-line verdict and return ``ok`` as a bool."""
    ok = bool(ok)
    print(f"{RIGHT} {praise}".rstrip() if ok else f"{NOT_YET} {hint}")
    return ok


def as_number(answer):
    """``answer`` as a float, or None when it is not one real number (strings, arrays, NaN)."""
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, (numbers.Real, np.ndarray)):
        return None
    arr = np.asarray(answer)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        return None
    value = float(arr.reshape(()))
    return value if np.isfinite(value) else None


def check_number(answer, expected, *, hint: str, praise: str = "", rtol: float = 1e-6, atol: float = 0.0) -> bool:
    """Is ``answer`` one number within ``rtol``/``atol`` of ``expected``?"""
    value = as_number(answer)
    if value is None:
        return verdict(False, f"answer with one number (got {_describe(answer)}).")
    return verdict(bool(np.isclose(value, expected, rtol=rtol, atol=atol)), hint, praise)


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    text = repr(x)
    return f"{type(x).__name__} {text if len(text) < 40 else text[:37] + '...'}"


def _call(fn, args):
    return fn(*args) if isinstance(args, tuple) else fn(**args)


def attempt(fn, args=(), what: str = "your function", hint: str = ""):
    """Run a student's ``fn(*args)`` (or ``fn(**args)``) on copies of the inputs.

    Returns ``(result, None)``, or ``(None, hint)`` when it raised: the stub's
    NotImplementedError gets :data:`STUB_HINT`, any other error a one-line description instead
    of a traceback (``what`` names the code in that line, e.g. "deep_sawtooth(3)"), followed
    by ``hint`` when one is given.
    """
    try:
        return _call(fn, _copy(args)), None
    except NotImplementedError:
        return None, STUB_HINT
    except Exception as err:  # noqa: BLE001 - a student's bug is a hint, not a traceback
        return None, f"{what} raised {type(err).__name__}: {err}." + (f" {hint}" if hint else "")


def _copy(args):
    """A fresh copy of the inputs, so a function that writes into them cannot fool the check."""
    if isinstance(args, dict):
        return {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v for k, v in args.items()}
    return tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args)


def _compare(got, want, rtol, atol, path="the result"):
    """None when ``got`` matches ``want``; else a sentence saying where it differs."""
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return f"{path} should be {len(want)} values (a tuple), got {_describe(got)}"
        for k, (g, w) in enumerate(zip(got, want)):
            problem = _compare(g, w, rtol, atol, f"value {k + 1} of {path}")
            if problem:
                return problem
        return None
    want = np.asarray(want)
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"{path} should be numbers, got {_describe(got)}"
    if got.shape != want.shape:
        return f"{path} should have shape {want.shape}, got {got.shape}"
    if not np.all(np.isfinite(got)):
        return f"{path} holds NaN or infinity"
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        return f"{path} differs from the expected values"
    return None


def check_function(student, reference, make_inputs, *, hint: str, praise: str = "", trials: int = 5,
                   seed: int = 0, rtol: float = 1e-7, atol: float = 1e-9) -> bool:
    """Run ``student`` and ``reference`` on ``trials`` fresh random inputs; right when all agree.

    Parameters
    ----------
    student, reference : callables taking the same arguments
    make_inputs : callable
        ``make_inputs(rng) -> tuple`` of positional arguments (or a dict of keywords), drawn
        from ``rng`` (a numpy Generator); each trial draws new shapes and values.
    hint : what to think about when the results differ (never the answer)
    trials, seed : how many inputs, and the seed they are drawn from (fixed, so a verdict
        repeats; the inputs are still not the notebook's examples)
    rtol, atol : tolerance of the comparison
    """
    if not callable(student):
        return verdict(False, f"pass your function itself (got {_describe(student)}).")
    rng = np.random.default_rng(seed)
    for trial in range(trials):
        args = make_inputs(rng)
        want = _call(reference, _copy(args))
        got, raised = attempt(student, args, hint=hint)
        if raised:
            return verdict(False, raised)
        problem = _compare(got, want, rtol, atol)
        if problem:
            return verdict(False, f"on random input {trial + 1} of {trials}, {problem}. {hint}")
    return verdict(True, hint, praise or f"It agrees with nnlib on {trials} random inputs.")


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``f(x)`` with respect to every entry of ``x`` (float64)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = f(x)
        x[i] = old - h
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


def check_gradient(student_grad, f, make_point, *, hint: str, praise: str = "", trials: int = 3, seed: int = 0,
                   rtol: float = 1e-5, atol: float = 1e-7) -> bool:
    """Is ``student_grad(x)`` the gradient of the scalar ``f`` at fresh random points ``x``?

    The expected gradient comes from central finite differences in float64, so no
    reference implementation is needed: this checks the calculus itself.
    """
    return check_function(student_grad, lambda x: numerical_gradient(f, x), lambda rng: (make_point(rng),),
                          hint=hint, praise=praise or f"It matches finite differences at {trials} random points.",
                          trials=trials, seed=seed, rtol=rtol, atol=atol)


def check_properties(find_problem, student, *, praise: str, what: str = "your function") -> bool:
    """Right when ``find_problem(student)`` finds nothing wrong (returns None, else a hint).

    For what is random or free in its details (a layer's dropout mask, a data generator's
    draw), whose properties are checked rather than its values. A stub is told so; any other
    exception the student's code raises becomes a hint naming it.
    """
    problem, raised = attempt(find_problem, (student,), what=what)
    if raised:
        return verdict(False, raised)
    return verdict(problem is None, f"{problem}." if problem else "", praise)
