"""Hypothesis strategies for nnlib's fuzz tests (minitorch's tests/strategies.py, grown).

Shapes favour the edges: batches of 0 and 1, odd sizes, a dimension of 0. Arrays come in
float64, float32 and int64, contiguous or not (Fortran order, strided views, transposes),
with finite values in [-100, 100] and, on request, NaN or infinity somewhere. Conv and
pool geometries are valid by construction. ``garbage`` is what a hurried user passes
where a number, a flag or an array belongs.

Every fuzz test exists twice: a few dozen examples in the default suite (derandomized, so
CI is repeatable) and thousands in the long profile, ``pytest -m fuzz_long``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LONG = settings(max_examples=1500, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def fuzz(prop, fast: int = 25, **strategies):
    """(the default-suite test, the fuzz_long test) of one property, from its strategies."""
    quick = settings(FAST, max_examples=fast)(given(**strategies)(prop))
    long = pytest.mark.fuzz_long(settings(LONG)(given(**strategies)(prop)))
    return quick, long


small_ints = st.integers(1, 3)
medium_ints = st.integers(1, 7)
batches = st.sampled_from([0, 1, 1, 2, 3, 5])  # 0: an empty batch; 1 twice: the usual edge
dtypes = st.sampled_from([np.float64, np.float32, np.int64])
float_dtypes = st.sampled_from([np.float64, np.float32])


def shapes(min_dims: int = 1, max_dims: int = 4, batch=batches, size=small_ints):
    """(N, d1, ...) with N from ``batch`` and each d from ``size``; ``()`` when min_dims is 0."""
    some = st.tuples(batch, st.lists(size, min_size=max(min_dims, 1) - 1, max_size=max_dims - 1)).map(
        lambda t: (t[0], *t[1]))
    return st.one_of(st.just(()), some) if min_dims == 0 else some


@st.composite
def arrays(draw, shape, dtype=dtypes, nan: bool = False, lo: float = -100, hi: float = 100):
    """An array of ``shape`` in a random memory layout; with ``nan``, maybe a NaN or ±inf."""
    dtype = draw(dtype) if isinstance(dtype, st.SearchStrategy) else dtype
    shape = draw(shape) if isinstance(shape, st.SearchStrategy) else tuple(shape)
    kind, width = np.dtype(dtype).kind, np.dtype(dtype).itemsize * 8
    lo, hi = (float(np.dtype(dtype).type(v)) for v in (lo, hi))  # bounds exact in float32 too
    elements = st.integers(-100, 100) if kind == "i" else st.floats(lo, hi, allow_nan=False, width=width)
    x = draw(hnp.arrays(dtype, shape, elements=elements))
    if nan and x.size and np.dtype(dtype).kind == "f" and draw(st.booleans()):
        x.flat[draw(st.integers(0, x.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return draw(layouts(x))


@st.composite
def layouts(draw, x: np.ndarray):
    """The same values, laid out in memory one of four ways."""
    how = draw(st.sampled_from(["C", "F", "strided", "transposed"]))
    if how == "F":
        return np.asfortranarray(x)
    if how == "strided":  # every other element of a twice-as-long buffer
        wide = np.zeros((2 * x.shape[0], *x.shape[1:]) if x.ndim else (2,), dtype=x.dtype)
        wide[::2] = x
        return wide[::2] if x.ndim else wide[:1].reshape(())
    if how == "transposed":
        return np.ascontiguousarray(x.T).T
    return x


@st.composite
def conv_geometry(draw):
    """(in_channels, out_channels, kernel, stride, padding, input shape), valid by construction."""
    kh, kw = draw(small_ints), draw(small_ints)
    stride, padding = draw(st.integers(1, 2)), draw(st.integers(0, 1))
    h = draw(st.integers(max(1, kh - 2 * padding), kh + 3))
    w = draw(st.integers(max(1, kw - 2 * padding), kw + 3))
    c_in, c_out = draw(small_ints), draw(small_ints)
    return c_in, c_out, (kh, kw), stride, padding, (draw(batches), c_in, h, w)


@st.composite
def pool_geometry(draw):
    """(kernel, stride, input shape), valid by construction."""
    k = draw(small_ints)
    stride = draw(st.one_of(st.none(), st.integers(1, 3)))
    return k, stride, (draw(batches), draw(small_ints), k + draw(st.integers(0, 3)), k + draw(st.integers(0, 3)))


garbage = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 0), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=2), st.just([1, 2]), st.just(np.ones(2)), st.just(object()), st.just(1.5),
)
