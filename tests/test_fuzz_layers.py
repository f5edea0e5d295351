"""Fuzzing the layers (issue 16): any shape, dtype, layout, NaN, empty batch and wrong
gradient. A call either works (right shape, dtype kept, same answer for any memory layout)
or is refused with a ValueError/TypeError naming the layer, and then nothing changed.

Conv2d, MaxPool2d and AvgPool2d are fuzzed through their public API only.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlib
from tests.strategies import (
    arrays,
    batches,
    conv_geometry,
    dtypes,
    fuzz,
    garbage,
    medium_ints,
    pool_geometry,
    shapes,
)

ELEMENTWISE = [nnlib.ReLU, nnlib.Sigmoid, nnlib.Tanh, nnlib.LeakyReLU, nnlib.ELU, nnlib.Identity,
               lambda: nnlib.Dropout(0.3, rng=0), nnlib.Flatten]


def snapshot(module):
    return [(p.value.copy(), p.grad.copy()) for p in module.parameters()]


def unchanged(module, before) -> bool:
    return all(np.array_equal(p.value, v, equal_nan=True) and np.array_equal(p.grad, g, equal_nan=True)
               for p, (v, g) in zip(module.parameters(), before))


def tolerance(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


def contract(layer, x, expected_shape):
    """forward/backward on x: shapes, dtypes, layout independence, wrong gradients refused."""
    out_dtype = x.dtype if x.dtype.kind == "f" else np.float64
    y = layer(x)
    assert y.shape == expected_shape and y.dtype == out_dtype, (y.shape, y.dtype)
    if np.all(np.isfinite(x)):
        assert np.all(np.isfinite(y))
    g = np.random.default_rng(0).standard_normal(y.shape).astype(out_dtype)
    gx = layer.backward(g)
    assert gx.shape == x.shape and gx.dtype == out_dtype
    assert all(p.grad.shape == p.value.shape and p.grad.dtype == p.value.dtype for p in layer.parameters())
    # the same values in C order give the same answer (eval: dropout draws no mask)
    layer.eval()
    np.testing.assert_allclose(layer(x), layer(np.ascontiguousarray(x)), **tolerance(out_dtype))
    layer.train()
    # a gradient of another shape is refused before any .grad changes
    layer(x)
    before = snapshot(layer)
    bad = (y.shape[0] + 1, *y.shape[1:])
    with pytest.raises(ValueError, match=rf"{type(layer).__name__}\.backward: argument 'grad_y' expected shape"):
        layer.backward(np.ones(bad, out_dtype))
    assert unchanged(layer, before)


def _elementwise(make, x):
    layer = make()
    flat = (x.shape[0], int(np.prod(x.shape[1:]))) if isinstance(layer, nnlib.Flatten) else x.shape
    if isinstance(layer, nnlib.Flatten) and x.ndim == 1:
        flat = (x.shape[0], 1)
    contract(layer, x, flat)


test_elementwise, test_elementwise_long = fuzz(
    _elementwise, fast=25, make=st.sampled_from(ELEMENTWISE), x=arrays(shapes(1, 4), nan=True))


def _linear(d_in, d_out, bias, x_rows, dtype, data):
    layer = nnlib.Linear(d_in, d_out, bias=bias, rng=0)
    x = data.draw(arrays((x_rows, d_in), dtype=dtype, nan=True))
    contract(layer, x, (x_rows, d_out))
    # a wrong feature count is refused by name, and nothing changes
    wrong = data.draw(st.integers(1, 6).filter(lambda d: d != d_in))
    before = snapshot(layer)
    with pytest.raises(ValueError, match=rf"Linear\.forward: argument 'x' expected shape \(N, {d_in}\)"):
        layer(np.ones((x_rows, wrong)))
    assert unchanged(layer, before)


test_linear, test_linear_long = fuzz(
    _linear, fast=20, d_in=medium_ints, d_out=medium_ints, bias=st.booleans(), x_rows=batches,
    dtype=dtypes, data=st.data())


def _conv(geometry, bias, dtype, data):
    c_in, c_out, k, stride, padding, shape = geometry
    layer = nnlib.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=bias, rng=0)
    x = data.draw(arrays(shape, dtype=dtype, nan=True))
    h = (shape[2] + 2 * padding - k[0]) // stride + 1
    w = (shape[3] + 2 * padding - k[1]) // stride + 1
    contract(layer, x, (shape[0], c_out, h, w))
    before = snapshot(layer)
    with pytest.raises(ValueError, match="Conv2d"):
        layer(np.ones((shape[0], c_in + 1, shape[2], shape[3])))
    assert unchanged(layer, before)


test_conv, test_conv_long = fuzz(
    _conv, fast=20, geometry=conv_geometry(), bias=st.booleans(), dtype=dtypes, data=st.data())


def _pool(kind, geometry, dtype, data):
    k, stride, shape = geometry
    layer = kind(k, stride)
    x = data.draw(arrays(shape, dtype=dtype))
    s = stride or k
    contract(layer, x, (shape[0], shape[1], (shape[2] - k) // s + 1, (shape[3] - k) // s + 1))


test_pool, test_pool_long = fuzz(
    _pool, fast=20, kind=st.sampled_from([nnlib.MaxPool2d, nnlib.AvgPool2d]), geometry=pool_geometry(),
    dtype=dtypes, data=st.data())


def _float32_agrees_with_float64(widths, activation, rows, data):
    model = nnlib.models.mlp(widths, activation=activation, rng=0)
    x = data.draw(arrays((rows, widths[0]), dtype=np.float64, lo=-3, hi=3))
    y64 = nnlib.predict(model, x)
    y32 = nnlib.predict(model.to(np.float32), x.astype(np.float32))
    assert y32.dtype == np.float32 and y32.shape == (rows, widths[-1])
    np.testing.assert_allclose(y32, y64, rtol=1e-3, atol=1e-4)


test_float32_agrees_with_float64, test_float32_agrees_with_float64_long = fuzz(
    _float32_agrees_with_float64, fast=15, widths=st.lists(medium_ints, min_size=2, max_size=4),
    activation=st.sampled_from(sorted(nnlib.functional.ACTIVATIONS)), rows=batches, data=st.data())


def _laws(z):
    F = nnlib.functional
    with np.errstate(over="raise", invalid="raise", divide="ignore"):
        p, logp, s = F.softmax(z), F.log_softmax(z), F.sigmoid(z)
    if z.shape[-1]:
        np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-5)
    assert np.all(logp <= 1e-6) and np.all((s >= 0) & (s <= 1))
    assert p.dtype == logp.dtype == s.dtype == (z.dtype if z.dtype.kind == "f" else np.float64)


test_functional_laws, test_functional_laws_long = fuzz(
    _laws, fast=30, z=arrays(shapes(1, 3, size=st.integers(0, 4)), lo=-1e4, hi=1e4))


def _constructors_name_themselves(make, value):
    """Garbage anywhere in a constructor: it works, or the message starts with the class."""
    cls, build = make
    try:
        build(value)
    except (ValueError, TypeError) as err:
        assert str(err).startswith(cls), err


CONSTRUCTORS = [
    ("Parameter", lambda v: nnlib.Parameter(v)),
    ("Linear", lambda v: nnlib.Linear(v, 2)), ("Linear", lambda v: nnlib.Linear(2, v)),
    ("Linear", lambda v: nnlib.Linear(2, 2, bias=v)), ("Linear", lambda v: nnlib.Linear(2, 2, rng=v)),
    ("Dropout", lambda v: nnlib.Dropout(v)), ("Dropout", lambda v: nnlib.Dropout(0.5, rng=v)),
    ("LeakyReLU", lambda v: nnlib.LeakyReLU(v)), ("ELU", lambda v: nnlib.ELU(v)),
    ("mlp", lambda v: nnlib.models.mlp(v)), ("mlp", lambda v: nnlib.models.mlp([2, v])),
    ("mlp", lambda v: nnlib.models.mlp([2, 2], activation=v)), ("mlp", lambda v: nnlib.models.mlp([2, 2], rng=v)),
    ("Sequential", lambda v: nnlib.Sequential(v)), ("Sequential.append", lambda v: nnlib.Sequential().append(v)),
    ("Conv2d", lambda v: nnlib.Conv2d(v, 2, 3)), ("Conv2d", lambda v: nnlib.Conv2d(1, 2, v)),
    ("Conv2d", lambda v: nnlib.Conv2d(1, 2, 3, stride=v)), ("Conv2d", lambda v: nnlib.Conv2d(1, 2, 3, padding=v)),
    ("MaxPool2d", lambda v: nnlib.MaxPool2d(v)), ("AvgPool2d", lambda v: nnlib.AvgPool2d(2, v)),
    ("EarlyStopping", lambda v: nnlib.EarlyStopping(v)), ("EarlyStopping", lambda v: nnlib.EarlyStopping(2, v)),
    ("EarlyStopping", lambda v: nnlib.EarlyStopping(monitor=v)), ("ClipGradNorm", lambda v: nnlib.ClipGradNorm(v)),
]

test_constructors_name_themselves, test_constructors_name_themselves_long = fuzz(
    _constructors_name_themselves, fast=40, make=st.sampled_from(CONSTRUCTORS), value=garbage)


def _forward_refusals_change_nothing(make, x):
    """Layers given arrays of any rank, dtype and content: an output or a named refusal."""
    layer = make()
    before = snapshot(layer)
    try:
        layer(x)
    except (ValueError, TypeError) as err:
        assert type(layer).__name__ in str(err), err
    assert unchanged(layer, before)


LAYERS = ELEMENTWISE + [lambda: nnlib.Linear(3, 2, rng=0), lambda: nnlib.Conv2d(2, 2, 2, rng=0),
                        lambda: nnlib.MaxPool2d(2), lambda: nnlib.AvgPool2d(2)]
odd_inputs = st.one_of(
    arrays(shapes(0, 5, batch=st.integers(0, 3), size=st.integers(0, 3)), nan=True),
    st.sampled_from([np.array(["a", "b"]), np.ones(2, complex), np.array([None]), [[1.0, 2.0], [3.0]], 3.0, "x"]),
)

test_forward_refusals_change_nothing, test_forward_refusals_change_nothing_long = fuzz(
    _forward_refusals_change_nothing, fast=40, make=st.sampled_from(LAYERS), x=odd_inputs)


def test_strategies_produce_the_edges():
    # the strategies reach what they promise: empty batches, batch 1, non-contiguous arrays
    seen = {"empty": False, "one": False, "noncontiguous": False, "nan or inf": False}

    @settings(max_examples=60, deadline=None, derandomize=True, database=None)
    @given(arrays(shapes(1, 3), nan=True))
    def look(x):
        seen["empty"] |= x.shape[0] == 0
        seen["one"] |= x.shape[0] == 1
        seen["noncontiguous"] |= not x.flags.c_contiguous
        seen["nan or inf"] |= bool(x.dtype.kind == "f" and not np.isfinite(x).all())

    look()
    assert all(seen.values()), seen

