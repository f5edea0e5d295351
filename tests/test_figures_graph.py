"""nnlib.figures.graph: local derivatives, layout, the narration of both passes, GraphPlot."""

import numpy as np
import pytest

from nnlib.figures.graph import GraphPlot, describe_step, draw_graph, layout, local_derivatives, pass_state
from nnlib.graph import Value, topological_order


def small_graph():
    w, x, b = Value(0.5, label="w"), Value(2.0, label="x"), Value(0.1, label="b")
    y = (w * x + b).tanh()
    y.label = "y"
    y.backward()
    return y, (w, b)


def least_squares():
    x1, y = Value(1.0, label="x1"), Value(3.0, label="y")
    w1, b = Value(0.5, label="w1"), Value(0.1, label="b")
    loss = (y - (w1 * x1 + b)) ** 2
    loss.label = "ℓ"
    loss.backward()
    return loss, (w1, b)


# ---- local derivatives ---------------------------------------------------------------------
def test_local_derivatives_of_a_product_are_the_other_factor_and_grads_are_restored():
    a = Value(0.5, label="a")
    b1, b2 = a.exp(), a**2
    c = b1 * b2
    c.backward()
    before = (a.grad, b1.grad, b2.grad, c.grad)
    local = {id(p): d for p, d in local_derivatives(c)}
    assert local[id(b1)] == pytest.approx(b2.data) and local[id(b2)] == pytest.approx(b1.data)
    assert (a.grad, b1.grad, b2.grad, c.grad) == before


def test_local_derivative_of_a_squared_counts_both_uses():
    a = Value(1.5)
    ((p, d),) = local_derivatives(a * a)
    assert p is a and d == 3.0


def test_products_of_local_derivatives_over_all_paths_sum_to_the_gradient():
    x = Value(0.1)
    z = x
    for _ in range(6):
        z = z.tanh() + z.sigmoid()
    z.backward()

    def paths(node):  # (products of every path from x up to node)
        if node is x:
            return [1.0]
        return [p * d for parent, d in local_derivatives(node) for p in paths(parent)]

    products = paths(z)
    assert len(products) == 2**6
    assert sum(products) == pytest.approx(x.grad, rel=1e-12)


# ---- layout and the walk through the passes ----------------------------------------------------
def test_layout_points_every_edge_right_and_keeps_nodes_apart():
    y, _ = small_graph()
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


def test_describe_step_names_the_node_its_number_and_its_formula():
    y, _ = small_graph()
    n = len(topological_order(y))
    assert describe_step(y, 0).startswith("forward pass, step 1 of")
    last_forward = describe_step(y, n - 1)
    assert "y = tanh([+])" in last_forward and f"{y.data:.4g}" in last_forward
    assert "start with ∂y/∂y = 1" in describe_step(y, n)
    assert "is an input" in describe_step(y, 2 * n - 1)
    assert all(describe_step(y, s).count("\n") == 1 for s in range(2 * n))  # two lines, always


def test_the_trace_says_that_only_parameters_are_updated():
    loss, params = least_squares()
    order = topological_order(loss)
    lines = {node.label: describe_step(loss, 2 * len(order) - 1 - i, params) for i, node in enumerate(order)}
    constant = lines["-1"]
    assert "∂ℓ/∂(-1) = 2.88 falls out of the pass, but -1 is a constant: nothing updates it" in constant
    assert "updates the parameter w1" in lines["w1"] and "updates the parameter b" in lines["b"]
    assert "x1 is data, not a parameter: nothing updates it" in lines["x1"]
    forward = [describe_step(loss, i, params) for i in range(len(order))]
    assert any(s.endswith("constant -1") for s in forward) and any("parameter w1 = 0.5" in s for s in forward)


def test_graphplot_hides_what_the_passes_have_not_reached():
    y, params = small_graph()
    plot = draw_graph(y, step=0, params=params)
    texts = lambda: [t.get_text() for t in plot._texts.values()]  # noqa: E731
    assert sum("v = ?" not in t for t in texts()) == 1
    assert all("g = ?" in t for t in texts())
    n = len(plot.order)
    assert plot.n_steps == 2 * n
    plot.set_step(n)  # first backward step: only the root's gradient is known
    assert all("v = ?" not in t for t in texts())
    assert sum("g = ?" not in t for t in texts()) == 1
    caption = plot.set_step(None)
    assert "g = ?" not in "".join(texts()) and caption == plot.title.get_text()


def test_graphplot_touches_only_the_boxes_a_step_changes():
    y, _ = small_graph()
    plot = GraphPlot(y, step=0)
    for artist in [*plot._texts.values(), *plot._boxes.values()]:
        artist.stale = False
    plot.set_step(1)  # forward: node 1 done, node 2 current
    changed = [id(n) for n in plot.order if plot._texts[id(n)].stale or plot._boxes[id(n)].stale]
    assert changed == [id(plot.order[0]), id(plot.order[1])]


def test_array_values_show_their_first_entries():
    x = Value(np.arange(5.0), label="x")
    s = (x * 2.0).sum()
    s.backward()
    plot = draw_graph(s)
    assert "[0, 1, 2, …]" in plot._texts[id(x)].get_text()


@pytest.mark.parametrize(
    "make, err, words",
    [
        (lambda: local_derivatives(Value(np.ones(2)).exp()), ValueError, "scalar"),
        (lambda: local_derivatives("x"), TypeError, "'node'"),
        (lambda: pass_state(3, 6), ValueError, "'step'"),
        (lambda: pass_state(3, 1.5), ValueError, "'step'"),
        (lambda: pass_state(3, True), ValueError, "'step'"),
        (lambda: pass_state(0, 0), ValueError, "'n_nodes'"),
        (lambda: GraphPlot(1.0), TypeError, "'root'"),
        (lambda: layout("y"), TypeError, "'root'"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(make, err, words):
    with pytest.raises(err, match=words):
        make()
