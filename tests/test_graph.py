"""nnlib.graph: values and gradients of every operation, deep and shared graphs, drawing."""

import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlib
from nnlib.graph import (
    GraphPlot,
    Value,
    chain_rule_paths,
    describe_step,
    draw_graph,
    layout,
    local_derivatives,
    pass_state,
    topological_order,
)


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


def test_diamond_chain_has_exponentially_many_paths_but_linear_nodes():
    x = Value(0.1)
    z = x
    for _ in range(10):
        z = z.tanh() + z.sigmoid()
    z.backward()
    paths = chain_rule_paths(z, x)
    assert len(paths) == 2**10
    assert len(topological_order(z)) == 1 + 3 * 10
    assert sum(p for _, p in paths) == pytest.approx(x.grad, rel=1e-12)


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


# ---- chain rule helpers -------------------------------------------------------------------------
def test_local_derivatives_and_paths_on_two_path_graph():
    a = Value(0.5, label="a")
    b1, b2 = a.exp(), a**2
    c = b1 * b2
    c.backward()
    before = (a.grad, b1.grad, b2.grad, c.grad)
    local = dict((id(p), d) for p, d in local_derivatives(c))
    assert local[id(b1)] == pytest.approx(b2.data) and local[id(b2)] == pytest.approx(b1.data)
    assert (a.grad, b1.grad, b2.grad, c.grad) == before  # restored
    paths = chain_rule_paths(c, a)
    assert len(paths) == 2
    assert all(p[0] is a and p[-1] is c for p, _ in paths)
    assert sum(d for _, d in paths) == pytest.approx(a.grad)


def test_local_derivative_of_a_squared_counts_both_uses():
    a = Value(1.5)
    (p, d), = local_derivatives(a * a)
    assert p is a and d == 3.0


# ---- drawing -------------------------------------------------------------------------------------
def small_graph():
    w, x, b = Value(0.5, label="w"), Value(2.0, label="x"), Value(0.1, label="b")
    y = (w * x + b).tanh()
    y.label = "y"
    y.backward()
    return y


def test_layout_points_every_edge_right_and_keeps_nodes_apart():
    y = small_graph()
    pos = layout(y)
    assert len(set(pos.values())) == len(pos) == len(topological_order(y))
    for n in topological_order(y):
        for p in n.parents:
            assert pos[id(p)][0] < pos[id(n)][0]
    assert pos[id(y)][0] == max(p[0] for p in pos.values())


def test_pass_state_walks_forward_then_backward():
    assert pass_state(4, 0) == ("forward", 1)
    assert pass_state(4, 3) == ("forward", 4)
    assert pass_state(4, 4) == ("backward", 1)
    assert pass_state(4, 7) == ("backward", 4)


def test_describe_step_names_the_node_and_its_number():
    y = small_graph()
    n = len(topological_order(y))
    assert describe_step(y, 0).startswith("forward 1/")
    last_fwd = describe_step(y, n - 1)
    assert "y = tanh([+])" in last_fwd and f"{y.data:.4g}" in last_fwd
    assert "start with" in describe_step(y, n)
    assert "input" in describe_step(y, 2 * n - 1)


def test_graphplot_hides_what_the_passes_have_not_reached():
    y = small_graph()
    plot = draw_graph(y, step=0)
    texts = [t.get_text() for t in plot._texts.values()]
    assert sum("v = ?" not in t for t in texts) == 1
    assert all("g = ?" in t for t in texts)
    n = len(plot.order)
    plot.set_step(n)  # first backward step: only the root's gradient is known
    texts = [t.get_text() for t in plot._texts.values()]
    assert all("v = ?" not in t for t in texts)
    assert sum("g = ?" not in t for t in texts) == 1
    caption = plot.set_step(None)
    assert "g = ?" not in "".join(t.get_text() for t in plot._texts.values())
    assert caption and plot.n_steps == 2 * n


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
        (lambda: Value(0.0) ** -1, ValueError, "negative power"),
        (lambda: Value(0.0) / Value(0.0), ValueError, "negative power"),
        (lambda: Value(-2.0) ** 0.5, ValueError, "negative base"),
        (lambda: Value(0.0).log(), ValueError, "> 0"),
        (lambda: Value(np.ones(3)).backward(), ValueError, "'grad'"),
        (lambda: Value(np.ones(3)).backward(np.ones(2)), ValueError, "expected shape"),
        (lambda: Value(1.0).backward(float("nan")), ValueError, "NaN"),
        (lambda: topological_order(3.0), TypeError, "'root'"),
        (lambda: local_derivatives(Value(np.ones(2)).exp()), ValueError, "scalar"),
        (lambda: local_derivatives("x"), TypeError, "'node'"),
        (lambda: chain_rule_paths(Value(1.0).exp(), Value(2.0)), ValueError, "'leaf'"),
        (lambda: pass_state(3, 6), ValueError, "'step'"),
        (lambda: pass_state(3, 1.5), ValueError, "'step'"),
        (lambda: pass_state(0, 0), ValueError, "'n_nodes'"),
        (lambda: GraphPlot(1.0), TypeError, "'root'"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(make, err, words):
    with pytest.raises(err, match=words):
        make()


def test_chain_rule_paths_stops_at_max_paths():
    x = Value(0.1)
    z = x
    for _ in range(6):
        z = z.tanh() + z.sigmoid()
    with pytest.raises(ValueError, match="max_paths=10"):
        chain_rule_paths(z, x, max_paths=10)
    with pytest.raises(ValueError, match="'max_paths'"):
        chain_rule_paths(z, x, max_paths=0)


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
