"""Logic behind notebook 03's sliders (nnlib.dashboards.backprop), and its widgets' wiring."""

import itertools

import numpy as np
import pytest

import nnlib
from nnlib.dashboards import backprop as bp
from nnlib.graph import Value, chain_rule_paths


# ---- sensitivity ------------------------------------------------------------------------------
def test_affine_map_slope_is_the_matrix_column_and_the_estimate_is_exact():
    for j, delta in itertools.product((0, 1), (-2.0, 0.3, 3.0)):
        r = bp.sensitivity("affine", j, delta)
        np.testing.assert_allclose(r["slope"], bp.M_DEMO[:, j])
        np.testing.assert_allclose(r["b_moved"], r["b"] + bp.M_DEMO[:, j] * delta)
        np.testing.assert_allclose(r["error"], 0.0, atol=1e-12)


def test_nonlinear_estimate_error_shrinks_like_delta_squared():
    errs = [np.max(np.abs(bp.sensitivity("nonlinear", 1, d)["error"])) for d in (0.4, 0.2, 0.1)]
    assert errs[0] > errs[1] > errs[2] > 0
    assert errs[1] / errs[2] == pytest.approx(4, rel=0.25)


def test_nonlinear_slope_matches_tanh_derivative():
    r = bp.sensitivity("nonlinear", 0, 0.0)
    z = bp.M_DEMO @ bp.A_DEMO + bp.C_DEMO
    np.testing.assert_allclose(r["slope"], (1 - np.tanh(z) ** 2) * bp.M_DEMO[:, 0], rtol=1e-12)
    np.testing.assert_allclose(r["b"], np.tanh(z))


def test_sensitivity_curves_pass_through_the_base_point():
    ys = bp.sensitivity_curves("nonlinear", 1, [-1.0, 0.0, 1.0])
    assert ys.shape == (3, 3)
    np.testing.assert_allclose(ys[1], bp.sensitivity("nonlinear", 1, 0.0)["b"])


@pytest.mark.parametrize("kwargs, words", [
    (dict(kind="quadratic"), "'kind'"),
    (dict(j=2), "'j'"),
    (dict(j=True), "'j'"),
    (dict(delta=5.0), "'delta'"),
    (dict(delta=float("nan")), "'delta'"),
    (dict(a=[1.0, 2.0, 3.0]), "'a'"),
])
def test_sensitivity_refuses_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        bp.sensitivity(**kwargs)


# ---- paths ------------------------------------------------------------------------------------
def two_path_graph():
    a = Value(0.5, label="a")
    b1, b2 = a.exp(), a**2
    b1.label, b2.label = "b1", "b2"
    c = b1 * b2
    c.label = "c"
    c.backward()
    return a, c


def test_path_table_lists_each_path_with_its_product():
    a, c = two_path_graph()
    rows = bp.path_table(chain_rule_paths(c, a))
    assert len(rows) == 2
    assert any(r.startswith("a → b1 → c") for r in rows)
    products = [float(r.rsplit("= ", 1)[1]) for r in rows]
    assert sum(products) == pytest.approx(a.grad, rel=1e-3)


def test_count_paths_by_dynamic_programming_matches_enumeration():
    x = Value(0.1)
    z = x
    for _ in range(8):
        z = z.tanh() + z.sigmoid()
    assert bp.count_paths(z, x) == len(chain_rule_paths(z, x)) == 2**8
    assert bp.count_edges(z) == 8 * 4  # tanh, sigmoid: 1 edge each; +: 2 edges


# ---- forward vs reverse mode --------------------------------------------------------------------
def brute_force_chain(dims):
    """Cheapest order by trying every parenthesisation (for small chains)."""
    def best(i, j):
        if i == j:
            return 0
        return min(best(i, s) + best(s + 1, j) + dims[i - 1] * dims[s] * dims[j] for s in range(i, j))
    return best(1, len(dims) - 1)


@pytest.mark.parametrize("seed", range(5))
def test_matrix_chain_dp_matches_brute_force(seed):
    dims = list(np.random.default_rng(seed).integers(1, 50, size=6))
    cost, order = bp.matrix_chain_order([int(d) for d in dims])
    assert cost == brute_force_chain([int(d) for d in dims])
    assert order.count("A") == 5 and order.count("(") == 4


def test_chain_costs_for_a_scalar_loss_and_a_scalar_input():
    c = bp.chain_costs([784, 256, 128, 64, 1])
    assert c["reverse"] == 1 * 64 * 128 + 1 * 128 * 256 + 1 * 256 * 784
    assert c["forward"] == 128 * 256 * 784 + 64 * 128 * 784 + 1 * 64 * 784
    assert c["optimal"] == c["reverse"] < c["forward"]
    c = bp.chain_costs([1, 64, 128, 256, 784])
    assert c["optimal"] == c["forward"] < c["reverse"]
    c = bp.chain_costs([512, 512, 2, 512, 512])
    assert c["optimal"] < min(c["forward"], c["reverse"])
    assert c["order"] == "((A1 A2) (A3 A4))"


def test_chain_costs_of_two_matrices_is_one_product():
    assert bp.chain_costs([3, 4, 5]) == dict(forward=60, reverse=60, optimal=60, order="(A1 A2)")
    assert bp.chain_costs([3, 4])["optimal"] == 0


@pytest.mark.parametrize("widths", [[5], [], [3, 0, 2], [3, 2.5], [3, -1]])
def test_chain_costs_refuses_bad_widths(widths):
    with pytest.raises(ValueError, match="widths"):
        bp.chain_costs(widths)


# ---- unstable gradients ---------------------------------------------------------------------------
def test_sigmoid_gradients_vanish_towards_the_input_and_he_relu_does_not():
    sig = bp.gradient_norms(20, "sigmoid", "xavier")["grad_norm"]
    assert sig.shape == (20,)
    assert sig[0] < 1e-6 * sig[-1]
    relu = bp.gradient_norms(20, "relu", "he")["grad_norm"]
    assert 1e-2 < relu[0] / relu[-1] < 1e2


def test_zero_init_gives_exactly_zero_gradients_below_the_last_layer():
    for act in bp.ACTIVATIONS:
        g = bp.gradient_norms(6, act, "zeros")["grad_norm"]
        assert np.all(g[:-1] == 0)
    # sigmoid(0) = 0.5 feeds the last layer, so its gradient is not zero; relu(0) = 0 is.
    assert bp.gradient_norms(6, "sigmoid", "zeros")["grad_norm"][-1] > 0
    assert bp.gradient_norms(6, "relu", "zeros")["grad_norm"][-1] == 0


def test_gradient_norms_match_finite_differences_on_a_small_net():
    r = bp.gradient_norms(3, "tanh", "xavier", width=4, batch=5, seed=3)
    model = bp.deep_mlp(3, "tanh", "xavier", width=4, seed=3)
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 1))
    W = model.layers[0].weight.value
    num = np.zeros_like(W)
    for i in np.ndindex(W.shape):
        old = W[i]
        W[i] = old + 1e-6
        lp = np.mean((model(X) - y) ** 2)
        W[i] = old - 1e-6
        lm = np.mean((model(X) - y) ** 2)
        W[i] = old
        num[i] = (lp - lm) / 2e-6
    assert r["grad_norm"][0] == pytest.approx(np.linalg.norm(num), rel=1e-6)


def test_activation_spread_and_dead_units_have_one_entry_per_layer():
    r = bp.gradient_norms(5, "relu", "he", bias=-1.0)
    assert r["act_std"].shape == r["dead"].shape == (5,)
    assert r["dead"][-2] > 0.5  # a negative bias kills most deep units
    assert np.all(bp.gradient_norms(5, "tanh", "he")["dead"] == 0)


def test_dead_relu_fraction_counts_units_silent_on_every_sample():
    lin = nnlib.Linear(2, 3, rng=0)
    lin.weight.value[...] = [[1.0, 0.0], [0.0, 0.0], [-1.0, 0.0]]
    lin.bias.value[...] = [0.0, -1.0, 0.0]
    model = nnlib.Sequential(lin, nnlib.ReLU())
    X = np.array([[1.0, 0.0], [2.0, 5.0]])
    assert bp.dead_relu_fraction(model, X) == [pytest.approx(2 / 3)]


def test_dead_units_get_no_gradient_and_stay_dead():
    r = bp.dying_relu(bias=-2.0, lr=1.0)
    assert r["before"][-1] == 1.0 and r["after"] == r["before"]


def test_a_large_step_kills_units_a_small_one_does_not():
    small, big = bp.dying_relu(0.0, 0.001), bp.dying_relu(0.0, 10.0)
    assert small["after"] == small["before"]
    assert np.mean(big["after"]) > np.mean(big["before"]) + 0.1


@pytest.mark.parametrize("call, err, words", [
    (lambda: bp.deep_mlp(0), ValueError, "'depth'"),
    (lambda: bp.deep_mlp(3, activation="softplus"), ValueError, "'activation'"),
    (lambda: bp.deep_mlp(3, init="orthogonal"), ValueError, "'init'"),
    (lambda: bp.deep_mlp(3, bias=float("inf")), ValueError, "'bias'"),
    (lambda: bp.gradient_norms(3, batch=0), ValueError, "'batch'"),
    (lambda: bp.dying_relu(lr=-1.0), ValueError, "'lr'"),
    (lambda: bp.dead_relu_fraction(nnlib.ReLU(), np.ones((2, 2))), TypeError, "'model'"),
    (lambda: bp.dead_relu_fraction(nnlib.Sequential(nnlib.ReLU()), np.ones(2)), ValueError, "'X'"),
])
def test_unstable_gradient_helpers_refuse_bad_arguments(call, err, words):
    with pytest.raises(err, match=words):
        call()


# ---- gradient-check table ----------------------------------------------------------------------------
def test_every_exported_layer_has_an_example_and_passes():
    rows = bp.gradcheck_table()
    names = {r["layer"] for r in rows}
    assert {c.__name__ for c in bp.layer_classes()} <= names
    assert {"Linear", "ReLU", "Dropout (train)"} <= names
    for r in rows:
        assert r["error"] is not None, f"{r['layer']}: add an example to _cases()"
        assert r["passed"], r
    linear = next(r for r in rows if r["layer"] == "Linear")
    assert linear["checked"] == ["x", "weight", "bias"]


def test_conv_layers_join_the_table_once_exported():
    exported = {c.__name__ for c in bp.layer_classes()}
    rows = {r["layer"] for r in bp.gradcheck_table()}
    for name in ("Conv2d", "MaxPool2d", "AvgPool2d"):
        assert (name in rows) == (name in exported)


class ForgetfulTanh(nnlib.Module):
    """A broken layer: its backward forgets the local derivative 1 - tanh²."""

    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad_y):
        return grad_y


def test_table_flags_a_broken_layer_and_formats_it():
    rows = bp.gradcheck_table(extra={"ForgetfulTanh": (ForgetfulTanh, "broken on purpose", (3, 2))})
    bad = rows[-1]
    assert bad["layer"] == "ForgetfulTanh" and not bad["passed"] and bad["error"] > 0.01
    text = bp.format_gradcheck_table(rows)
    assert "FAILED" in text and text.count("ok (rel. error < 1e-06)") == len(rows) - 1
    assert len(text.splitlines()) == len(rows) + 2


def test_table_marks_a_class_without_example():
    text = bp.format_gradcheck_table([dict(layer="Mystery", config="no example configured",
                                           input_shape=None, checked=[], error=None, passed=False)])
    assert "NOT CHECKED" in text


def test_gradcheck_table_refuses_bad_tolerance():
    with pytest.raises(ValueError, match="'tol'"):
        bp.gradcheck_table(tol=0)


# ---- widgets: built, and the callbacks run -----------------------------------------------------------
def test_sensitivity_widget_callback_updates_the_message():
    w = bp.sensitivity_widget()
    msg = w.children[2]
    before = msg.value
    w.children[1].value = 2.0
    assert msg.value != before and "δ = 2.00" in msg.value
    assert "errors = 0, 0, 0" in msg.value  # affine: the estimate is exact
    w.children[0].children[0].value = "nonlinear"
    assert "errors = 0, 0, 0" not in msg.value


def test_chain_cost_widget_preset_sets_sliders():
    w = bp.chain_cost_widget()
    preset, msg = w.children[0], w.children[3]
    preset.value = "hourglass (wide, narrow, wide)"
    sliders = list(w.children[1].children) + list(w.children[2].children)
    assert [s.value for s in sliders] == bp.CHAIN_PRESETS[preset.value]
    assert "((A1 A2) (A3 A4))" in msg.value


def test_backprop_stepper_slider_walks_the_passes():
    a, c = two_path_graph()
    w = bp.backprop_stepper(c, start=0)
    slider = w.children[0]
    assert slider.max == 2 * 4 - 1
    slider.value = slider.max
    assert slider.value == 7


def test_gradient_widget_presets_and_message():
    w = bp.gradient_widget()
    preset, depth, msg = w.children[0], w.children[1], w.children[4]
    preset.value = "relu, zeros: no gradient at all"
    assert "20 of 20" in msg.value
    depth.value = 5
    assert "5 of 5" in msg.value


def test_dying_relu_widget_reports_dead_units():
    w = bp.dying_relu_widget()
    w.children[0].value = -2.0
    assert "dead units after the step" in w.children[2].value


# ---- exercise checkers -------------------------------------------------------------------------------
def test_checkers_accept_the_computed_answers_and_refuse_others():
    assert bp.check("ls_grad_b", 8.0).startswith("✓")  # r = 1 - 5 = -4, -2r = 8
    assert bp.check("ls_grad_b", -8.0).startswith("✗") and "Hint" in bp.check("ls_grad_b", -8.0)
    assert bp.check("reverse_cost", 1 * 30 * 20 + 1 * 20 * 10).startswith("✓")
    assert bp.check("diamond_paths", 2**12).startswith("✓")
    assert bp.check("diamond_paths", 24).startswith("✗")
    depth = bp._vanishing_depth()
    assert bp.check("vanishing_depth", depth).startswith("✓")
    assert bp.check("vanishing_depth", depth - 1).startswith("✗")
    g = bp.gradient_norms(depth, "sigmoid", "xavier")["grad_norm"]
    assert g[0] < 1e-6 * g[-1]
    g = bp.gradient_norms(depth - 1, "sigmoid", "xavier")["grad_norm"]
    assert g[0] >= 1e-6 * g[-1]


def test_checker_messages_for_bad_answers():
    assert "finite number" in bp.check("ls_grad_b", "eight")
    assert "finite number" in bp.check("ls_grad_b", float("nan"))
    with pytest.raises(ValueError, match="'exercise'"):
        bp.check("nope", 1.0)


@pytest.mark.parametrize("call, err, words", [
    (lambda: bp.sensitivity_curves("affine", 3, [0.0]), ValueError, "'j'"),
    (lambda: bp.sensitivity_curves("affine", 0, [[0.0]]), ValueError, "'ts'"),
    (lambda: bp.sensitivity_curves("affine", 0, [np.nan]), ValueError, "'ts'"),
    (lambda: bp.sensitivity_curves("cubic", 0, [0.0]), ValueError, "'kind'"),
    (lambda: bp.count_paths(Value(1.0).exp(), Value(2.0)), ValueError, "'leaf'"),
    (lambda: bp.backprop_stepper(two_path_graph()[1], start=99), ValueError, "'start'"),
    (lambda: bp.backprop_stepper(3.0), TypeError, "'root'"),
    (lambda: bp.plot_cost_vs_depth(None, [1, 2], {"a": [1, 2, 3]}, "y", "t"), ValueError, "counts"),
    (lambda: bp.matrix_chain_order([2]), ValueError, "'widths'"),
])
def test_helpers_refuse_bad_arguments(call, err, words):
    with pytest.raises(err, match=words):
        call()


def test_plot_cost_vs_depth_draws_one_line_per_method():
    from nnlib import viz

    fig, ax = viz.figure()
    bp.plot_cost_vs_depth(ax, [2, 4, 8], {"a": [1, 2, 3], "b": [1, 4, 9]}, "ops", "t")
    assert len(ax.get_lines()) == 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4", "8"]


def test_sensitivity_map_evaluates_many_points_at_once():
    ts = np.linspace(-1, 1, 5)
    ys = bp.sensitivity_curves("nonlinear", 0, ts)
    for t, row in zip(ts, ys, strict=True):
        a = bp.A_DEMO + np.array([t, 0.0])
        np.testing.assert_allclose(row, np.tanh(bp.M_DEMO @ a + bp.C_DEMO), rtol=1e-12)
    with pytest.raises(ValueError, match="'a'"):
        bp.sensitivity_map(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="'a'"):
        bp.sensitivity(a=np.zeros((2, 3)))
