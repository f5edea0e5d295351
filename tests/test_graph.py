"""nnlib.graph: values and gradients of every operation, deep and shared graphs, bad input.

Drawing and narration of a graph are tested in test_figures_graph.py.
"""

import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlib
from nnlib.graph import Value, topological_order


def numeric_derivative(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


UNARY = {
    "exp": (lambda v: v.exp(), np.exp),
    "log": (lambda v: v.log(), np.log),
    "tanh": (lambda v: v.tanh(), np.tanh),
    "sigmoid": (lambda v: v.sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    "relu": (lambda v: v.relu(), lambda x: max(x, 0.0)),
    "square": (lambda v: v**2, lambda x: x**2),
    "cube": (lambda v: v**3, lambda x: x**3),
    "sqrt": (lambda v: v**0.5, np.sqrt),
    "inverse": (lambda v: v**-1, lambda x: 1 / x),
    "neg": (lambda v: -v, lambda x: -x),
    "rsub": (lambda v: 3 - v, lambda x: 3 - x),
    "rdiv": (lambda v: 3 / v, lambda x: 3 / x),
    "radd": (lambda v: 3 + v, lambda x: 3 + x),
    "rmul": (lambda v: 3 * v, lambda x: 3 * x),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("x0", [0.7, 1.9])
def test_unary_value_and_gradient_match_finite_differences(name, x0):
    op, ref = UNARY[name]
    x = Value(x0)
    y = op(x)
    y.backward()
    assert y.data == pytest.approx(ref(x0), rel=1e-12)
    assert x.grad == pytest.approx(numeric_derivative(ref, x0), rel=1e-7)


BINARY = {
    "+": (lambda a, b: a + b),
    "-": (lambda a, b: a - b),
    "*": (lambda a, b: a * b),
    "/": (lambda a, b: a / b),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_value_and_gradients_match_finite_differences(name):
    f = BINARY[name]
    a0, b0 = 1.3, -0.6
    a, b = Value(a0), Value(b0)
    y = f(a, b)
    y.backward()
    assert y.data == pytest.approx(f(a0, b0))
    assert a.grad == pytest.approx(numeric_derivative(lambda t: f(t, b0), a0), rel=1e-7)
    assert b.grad == pytest.approx(numeric_derivative(lambda t: f(a0, t), b0), rel=1e-7)


def composite(x, y):
    """A function touching every primitive, written once for Values and once for floats."""
    if isinstance(x, Value):
        return ((x * y).tanh() + (x - y).sigmoid() * (x**2 + 1).log() + (y / 3).exp()
                + (x + y).relu()) / 2
    return (math.tanh(x * y) + 1 / (1 + math.exp(-(x - y))) * math.log(x**2 + 1) + math.exp(y / 3)
            + max(x + y, 0.0)) / 2


@settings(max_examples=150, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3))
def test_composite_gradient_matches_finite_differences(x0, y0):
    if abs(x0 + y0) < 1e-3:  # relu's kink: finite differences straddle it
        return
    x, y = Value(x0), Value(y0)
    out = composite(x, y)
    out.backward()
    assert out.data == pytest.approx(composite(x0, y0), rel=1e-12, abs=1e-12)
    dx = numeric_derivative(lambda t: composite(t, y0), x0)
    dy = numeric_derivative(lambda t: composite(x0, t), y0)
    assert x.grad == pytest.approx(dx, rel=1e-5, abs=1e-7)
    assert y.grad == pytest.approx(dy, rel=1e-5, abs=1e-7)


def test_sigmoid_is_stable_for_huge_inputs():
    for x0, expected in [(800.0, 1.0), (-800.0, 0.0)]:
        x = Value(x0)
        s = x.sigmoid()
        s.backward()
        assert s.data == expected and x.grad == 0.0


def test_relu_uses_subgradient_zero_at_the_kink():
    x = Value(0.0)
    x.relu().backward()
    assert x.grad == 0.0


# ---- reuse, accumulation, second backward ---------------------------------------------------
def test_node_used_twice_in_one_operation_gets_both_contributions():
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0
    b = Value(3.0)
    (b + b).backward()
    assert b.grad == 2.0


def test_gradient_is_summed_over_multiple_children():
    x = Value(0.5)
    u = x.exp()  # u has three children
    y = u * x + u.tanh() + u**2
    y.backward()
    ref = lambda t: math.exp(t) * t + math.tanh(math.exp(t)) + math.exp(2 * t)
    assert x.grad == pytest.approx(numeric_derivative(ref, 0.5), rel=1e-7)
    assert u.grad == pytest.approx(0.5 + (1 - math.tanh(u.data) ** 2) + 2 * u.data)


def test_second_backward_doubles_leaves_and_keeps_interior_nodes():
    x, w = Value(2.0), Value(-1.5)
    h = (w * x).tanh()
    y = h * h
    y.backward()
    first = (x.grad, w.grad, h.grad, y.grad)
    y.backward()
    assert x.grad == pytest.approx(2 * first[0])
    assert w.grad == pytest.approx(2 * first[1])
    assert h.grad == first[2] and y.grad == first[3] == 1.0
    y.zero_grad()
    assert (x.grad, w.grad, h.grad, y.grad) == (0.0, 0.0, 0.0, 0.0)
    y.backward()
    assert (x.grad, w.grad) == pytest.approx(first[:2])


def test_backward_of_a_leaf_accumulates_the_seed():
    x = Value(4.0)
    x.backward()
    x.backward(2.5)
    assert x.grad == 3.5


# ---- deep and wide graphs -------------------------------------------------------------------
def test_chain_of_ten_thousand_nodes_needs_no_recursion():
    limit = sys.getrecursionlimit()
    x = Value(0.3)
    z = x
    for _ in range(10_000):
        z = z * 1.0001
    order = topological_order(z)
    assert len(order) == 20_001  # x, 10,000 products and 10,000 constants
    z.backward()
    assert x.grad == pytest.approx(1.0001**10_000, rel=1e-9)
    assert sys.getrecursionlimit() == limit


def test_deep_tanh_chain_matches_closed_form():
    x = Value(0.2)
    z, vals = x, []
    for _ in range(10_000):
        vals.append(z.data)
        z = z.tanh()
    z.backward()
    expected = np.prod([1 - np.tanh(v) ** 2 for v in vals])
    assert x.grad == pytest.approx(expected, rel=1e-9)


def test_topological_order_lists_each_node_once_after_its_parents(rng):
    leaves = [Value(float(v)) for v in rng.normal(size=6)]
    nodes = list(leaves)
    for i in range(60):  # random DAG with heavy reuse
        a, b = rng.integers(0, len(nodes), size=2)
        nodes.append(nodes[a] * nodes[b] if i % 2 else nodes[a] + nodes[b])
    root = nodes[-1]
    order = topological_order(root)
    position = {id(n): i for i, n in enumerate(order)}
    assert len(position) == len(order) and order[-1] is root
    for n in order:
        assert all(position[id(p)] < position[id(n)] for p in n.parents)


def test_diamond_chain_has_linear_nodes_and_gradient_matches_finite_differences():
    def diamonds(v, k=10):
        for _ in range(k):
            v = v.tanh() + v.sigmoid()
        return v

    x = Value(0.1)
    z = diamonds(x)
    assert len(topological_order(z)) == 1 + 3 * 10
    x = Value(0.1)
    z = diamonds(x, k=3)  # the gradient shrinks with k; keep it far above finite differences' noise
    z.backward()
    assert x.grad == pytest.approx(numeric_derivative(lambda t: diamonds(Value(t), k=3).data, 0.1), rel=1e-7)


def test_reused_node_passes_its_gradient_on_once():
    # b = a + a, c = b + b: c = 4a. Recursing without the topological order gives 8.
    a = Value(1.0)
    b = a + a
    c = b + b
    c.backward()
    assert (a.grad, b.grad) == (4.0, 2.0)
    assert [n is m for n, m in zip(topological_order(c), [a, b, c], strict=True)] == [True] * 3


# ---- arrays -----------------------------------------------------------------------------------
def test_array_ops_broadcast_and_sum_gradients_back(rng):
    A0, b0, c0 = rng.normal(size=(3, 1)), rng.normal(size=(1, 4)), 0.7
    A, b, c = Value(A0), Value(b0), Value(c0)
    L = ((A * b + c).tanh() * A).sum()
    L.backward()

    def f(A_, b_, c_):
        return float(np.sum(np.tanh(A_ * b_ + c_) * A_))

    for leaf, x0, fx in [(A, A0, lambda t: f(t, b0, c0)), (b, b0, lambda t: f(A0, t, c0))]:
        num = np.zeros_like(x0)
        for i in np.ndindex(x0.shape):
            e = np.zeros_like(x0)
            e[i] = 1e-6
            num[i] = (fx(x0 + e) - fx(x0 - e)) / 2e-6
        assert leaf.grad.shape == x0.shape
        np.testing.assert_allclose(leaf.grad, num, rtol=1e-6)
    assert c.grad == pytest.approx(numeric_derivative(lambda t: f(A0, b0, t), c0), rel=1e-7)


def test_array_output_backward_with_seed():
    x = Value(np.array([1.0, 2.0]))
    y = x * x
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad, [2.0, 40.0])


def test_single_element_array_output_needs_no_seed():
    x = Value(np.array([3.0]))
    y = x * x
    y.backward()
    np.testing.assert_allclose(x.grad, [6.0])


def test_micrograd_style_reuse_of_interior_grads_does_not_overcount():
    x = Value(1.5)
    y = x.tanh()
    L = y * 2.0
    L.backward()
    once = x.grad
    L.backward()
    assert x.grad == pytest.approx(2 * once)  # not 3x: y.grad was reset, not accumulated


def test_float32_array_stays_float32():
    x = Value(np.ones(3, dtype=np.float32))
    assert (x * 2.0).exp().data.dtype == np.float32


# ---- against nnlib's layers ------------------------------------------------------------------
@pytest.mark.parametrize("act", ["Tanh", "Sigmoid", "ReLU"])
def test_scalar_engine_matches_nnlib_linear_and_activation(rng, act):
    layer = nnlib.Linear(3, 2, rng=1)
    f = getattr(nnlib, act)()
    x0 = rng.normal(size=(1, 3))
    y_ref = f(layer(x0))
    g = rng.normal(size=y_ref.shape)
    layer.zero_grad()
    gx_ref = layer.backward(f.backward(g))

    W = [[Value(layer.weight.value[i, j]) for j in range(3)] for i in range(2)]
    b = [Value(layer.bias.value[i]) for i in range(2)]
    x = [Value(x0[0, j]) for j in range(3)]
    method = {"Tanh": "tanh", "Sigmoid": "sigmoid", "ReLU": "relu"}[act]
    ys = [getattr(sum((W[i][j] * x[j] for j in range(3)), b[i]), method)() for i in range(2)]
    L = sum((y * float(gi) for y, gi in zip(ys, g[0], strict=True)), Value(0.0))
    L.backward()
    np.testing.assert_allclose([y.data for y in ys], y_ref[0], rtol=1e-12)
    np.testing.assert_allclose([[w.grad for w in row] for row in W], layer.weight.grad, rtol=1e-10)
    np.testing.assert_allclose([v.grad for v in b], layer.bias.grad, rtol=1e-10)
    np.testing.assert_allclose([v.grad for v in x], gx_ref[0], rtol=1e-10)


# ---- operations written outside the class -------------------------------------------------
def test_an_operation_written_outside_the_class_joins_the_graph():
    def cube(a):
        out = Value(a.data**3, parents=(a,), op="cube")

        def _backward():
            a.grad += 3 * a.data**2 * out.grad

        out._backward = _backward
        return out

    x = Value(1.5)
    y = cube(x) * x  # x**4
    y.backward()
    assert x.grad == pytest.approx(4 * 1.5**3)
    assert topological_order(y)[1].op == "cube" and topological_order(y)[1].parents == (x,)


def test_numpy_scalars_on_the_left_defer_to_value():
    x = Value(2.0)
    for y in (np.float64(3.0) * x, np.float64(3.0) + x, np.float64(3.0) - x, np.float64(3.0) / x):
        assert isinstance(y, Value)
    (np.float64(3.0) * x).backward()
    assert x.grad == 3.0


# ---- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, err, words",
    [
        (lambda: Value("a"), TypeError, "'data'"),
        (lambda: Value(None), TypeError, "'data'"),
        (lambda: Value(float("nan")), ValueError, "NaN"),
        (lambda: Value(np.array([1.0, np.inf])), ValueError, "infinity"),
        (lambda: Value(1.0, label=3), TypeError, "'label'"),
        (lambda: Value(Value(1.0)), TypeError, "already a Value"),
        (lambda: Value(1.0) + "a", TypeError, "'other'"),
        (lambda: Value(1.0) * float("nan"), ValueError, "NaN"),
        (lambda: Value(1.0) ** Value(2.0), TypeError, "exponent"),
        (lambda: Value(1.0) ** float("inf"), TypeError, "exponent"),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, r"Value.__pow__: 0 cannot be raised to the negative power -1"),
        (lambda: Value(1.0) / Value(0.0), ZeroDivisionError, r"Value.__truediv__: division by zero"),
        (lambda: Value(0.0) / Value(0.0), ZeroDivisionError, r"Value.__truediv__: division by zero"),
        (lambda: Value(1.0) / 0, ZeroDivisionError, r"Value.__truediv__: division by zero"),
        (lambda: 1.0 / Value(0.0), ZeroDivisionError, r"Value.__rtruediv__: division by zero"),
        (lambda: Value(np.array([1.0, 2.0])) / np.array([1.0, 0.0]), ZeroDivisionError, "division by zero"),
        (lambda: Value(-2.0) ** 0.5, ValueError, "negative base"),
        (lambda: Value(0.0).log(), ValueError, "> 0"),
        (lambda: Value(np.ones(3)).backward(), ValueError, "'grad'"),
        (lambda: Value(np.ones(3)).backward(np.ones(2)), ValueError, "expected shape"),
        (lambda: Value(1.0).backward(float("nan")), ValueError, "NaN"),
        (lambda: topological_order(3.0), TypeError, "'root'"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(make, err, words):
    with pytest.raises(err, match=words):
        make()


def test_a_refused_division_changes_no_gradient():
    a, b = Value(1.0), Value(0.0)
    with pytest.raises(ZeroDivisionError):
        a / b
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_repr_shows_value_gradient_and_label():
    x = Value(2.0, label="x")
    assert repr(x) == "Value(data=2, grad=0, label='x')"
    assert "op='exp'" in repr(x.exp())
    assert "shape=(2,)" in repr(Value(np.ones(2)))


@settings(max_examples=60, deadline=None)
@given(st.tuples(st.integers(1, 3), st.integers(1, 3)), st.booleans(), st.integers(0, 10_000))
def test_broadcast_gradients_match_finite_differences_for_random_shapes(shape, row, seed):
    """Shapes with a size-1 axis (batch size 1 included) broadcast against a full array."""
    rng = np.random.default_rng(seed)
    A0 = rng.normal(size=shape)
    B0 = rng.normal(size=(1, shape[1]) if row else (shape[0], 1))
    A, B = Value(A0), Value(B0)
    ((A * B).sigmoid() + B).sum().backward()

    def f(B_):
        return float(np.sum(1 / (1 + np.exp(-(A0 * B_))) + np.broadcast_to(B_, A0.shape)))

    num = np.zeros_like(B0)
    for i in np.ndindex(B0.shape):
        e = np.zeros_like(B0)
        e[i] = 1e-6
        num[i] = (f(B0 + e) - f(B0 - e)) / 2e-6
    assert B.grad.shape == B0.shape and A.grad.shape == A0.shape
    np.testing.assert_allclose(B.grad, num, rtol=1e-6, atol=1e-9)
