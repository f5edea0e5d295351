"""Input checks for nnlib's public entry points, in one place (as scikit-learn does).

Every message names who is asking, the argument, what was expected and what arrived.
The hot loops of a layer's maths never call these; only forward() entry points,
losses, optimizer constructors and fit() do.
"""

from __future__ import annotations

import numbers

import numpy as np


def _fmt_shape(shape) -> str:
    """(None, 3) -> '(N, 3)' so expected shapes read like the docstrings."""
    names = iter("NMKL")
    parts = [next(names, "?") if s is None else str(s) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def as_array(x, name: str, owner: str) -> np.ndarray:
    """np.asarray(x), with a message naming the argument when x is a ragged nested list."""
    try:
        return np.asarray(x)
    except ValueError:  # numpy refuses nested lists of unequal lengths
        raise ValueError(
            f"{owner}: argument '{name}' is a ragged nested list (rows of different lengths); "
            "expected a rectangular array"
        ) from None


def as_float_array(x, name: str, owner: str) -> np.ndarray:
    """Return x as a floating ndarray, keeping float32/float64; ints and bools become float64."""
    arr = as_array(x, name, owner)
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(
            f"{owner}: argument '{name}' must hold real numbers, got an array of dtype {arr.dtype}"
        )
    return arr


def check_array(
    x,
    name: str,
    owner: str,
    *,
    shape: tuple | None = None,
    ndim: int | None = None,
    min_ndim: int | None = None,
    finite: bool = False,
) -> np.ndarray:
    """Validate a float array's rank/shape (None = any size) and, optionally, finiteness."""
    arr = as_float_array(x, name, owner)
    if shape is not None:
        ok = arr.ndim == len(shape) and all(
            s is None or s == a for s, a in zip(shape, arr.shape)
        )
        if not ok:
            raise ValueError(
                f"{owner}: argument '{name}' expected shape {_fmt_shape(shape)}, "
                f"got {tuple(arr.shape)}"
            )
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"{owner}: argument '{name}' expected a {ndim}-D array, "
            f"got {arr.ndim}-D with shape {tuple(arr.shape)}"
        )
    if min_ndim is not None and arr.ndim < min_ndim:
        raise ValueError(
            f"{owner}: argument '{name}' expected at least {min_ndim} dimensions, "
            f"got shape {tuple(arr.shape)}"
        )
    if finite:
        check_finite(arr, name, owner)
    return arr


def check_finite(arr: np.ndarray, name: str, owner: str) -> None:
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        kind = "NaN" if np.isnan(arr[tuple(bad)]) else "infinity"
        raise ValueError(
            f"{owner}: argument '{name}' contains {kind} (first at index {tuple(int(i) for i in bad)}); "
            "expected finite values"
        )


def check_labels(y, name: str, owner: str, *, n: int | None = None, n_classes: int | None = None):
    """Integer class labels of shape (N,), in range [0, n_classes)."""
    arr = as_array(y, name, owner)
    if arr.ndim != 1:
        hint = " (one-hot rows? pass y.argmax(axis=1))" if arr.ndim == 2 and arr.shape[1] > 1 else ""
        raise ValueError(
            f"{owner}: argument '{name}' expected integer labels of shape (N,), got shape {tuple(arr.shape)}{hint}"
        )
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(
                f"{owner}: argument '{name}' expected integer class labels, got non-integer values"
            )
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iub":
        raise TypeError(f"{owner}: argument '{name}' expected integer labels, got dtype {arr.dtype}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"{owner}: argument '{name}' expected {n} labels (one per row of the input), got {arr.shape[0]}"
        )
    if n_classes is not None and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= n_classes:
            raise ValueError(
                f"{owner}: argument '{name}' expected labels in [0, {n_classes - 1}], "
                f"got values from {lo} to {hi}"
            )
    return arr.astype(np.int64, copy=False)


def check_positive(value, name: str, owner: str, *, integer: bool = False, allow_zero: bool = False):
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a number"
        raise ValueError(f"{owner}: argument '{name}' must be {what}, got {value!r}")
    bad = value < 0 if allow_zero else value <= 0
    if bad or (not integer and not np.isfinite(value)):
        rel = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{owner}: argument '{name}' must be {rel}, got {value!r}")
    return value


def check_in_range(value, name: str, owner: str, lo: float, hi: float, *, hi_open: bool = True):
    """lo <= value < hi (or <= hi when hi_open is False)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{owner}: argument '{name}' must be a finite number, got {value!r}")
    ok = lo <= value < hi if hi_open else lo <= value <= hi
    if not ok:
        bracket = ")" if hi_open else "]"
        raise ValueError(f"{owner}: argument '{name}' must be in [{lo}, {hi}{bracket}, got {value!r}")
    return value


def check_rng(rng, name: str, owner: str) -> np.random.Generator:
    """A numpy Generator from None (fresh entropy), a non-negative int seed or a Generator."""
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral) or rng < 0:
        raise ValueError(
            f"{owner}: argument '{name}' must be None, a non-negative int seed or a numpy Generator, got {rng!r}"
        )
    return np.random.default_rng(int(rng))


def check_grad(grad_y, shape: tuple | None, owner: str) -> np.ndarray:
    """The gradient handed to a backward(), checked against the shape forward() returned.

    ``shape`` is None when forward() has not run yet: there is nothing to differentiate.
    Called first in every backward, so a wrong gradient changes no ``.grad``.
    """
    if shape is None:
        raise RuntimeError(f"{owner}: call forward() before backward(); nothing is cached yet")
    return check_array(grad_y, "grad_y", owner, shape=tuple(shape))


def check_flag(value, name: str, owner: str) -> bool:
    """A True/False switch (numpy's bool_ too); 0/1 and strings are refused, they are usually slips."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{owner}: argument '{name}' must be True or False, got {value!r}")
    return bool(value)
