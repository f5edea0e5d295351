"""Unit tests for nnlib.dashboards.perceptron (notebook 01's slider logic and checkers)."""

import numpy as np
import pytest

import nnlib
from nnlib.dashboards import perceptron as P


# ---- one perceptron as a gate -------------------------------------------------------------
def test_notes_and_gate_truth_table():
    t = P.truth_table(1, 1, 2)
    np.testing.assert_array_equal(t.weighted_sum, [0, 1, 1, 2])  # the slide's table
    np.testing.assert_array_equal(t.output, [0, 0, 0, 1])
    assert t.gate == "AND"
    assert t.rows()[0].startswith("i1")
    assert len(t.rows()) == 5


@pytest.mark.parametrize("w1, w2, theta, gate", [
    (1, 1, 1, "OR"), (-1, -1, -1.5, "NAND"), (-1, -1, 0, "NOR"), (1, 1, -1, "always 1"),
    (1, 1, 3, "always 0"), (1, 0, 0.5, None),
])
def test_truth_table_names_the_gate(w1, w2, theta, gate):
    assert P.truth_table(w1, w2, theta).gate == gate


def test_threshold_is_inclusive():
    # the notes' convention: the unit fires when the sum *reaches* theta
    _, fires = P.perceptron([[1.0, 1.0]], [1.0, 1.0], 2.0)
    assert fires[0] == 1


@pytest.mark.parametrize("bad", [
    dict(X=[[0, 1, 2]], w=[1, 1], theta=0), dict(X=[[0, 1]], w=[1, 1, 1], theta=0),
    dict(X=[[0, 1]], w=[1, 1], theta=np.nan), dict(X=[[np.inf, 1]], w=[1, 1], theta=0),
])
def test_perceptron_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        P.perceptron(**bad)


def test_truth_table_rejects_non_numbers():
    with pytest.raises(ValueError, match="w1"):
        P.truth_table("a", 1, 1)
    with pytest.raises(ValueError, match="theta"):
        P.truth_table(1, 1, np.inf)


def test_gate_name_validates():
    with pytest.raises(ValueError):
        P.gate_name([0, 1, 2, 0])
    with pytest.raises(ValueError):
        P.gate_name([0, 1, 1])


def test_decision_line_lies_on_the_line_and_in_the_square():
    x1, x2 = P.decision_line(1.0, 2.0, 1.5)
    np.testing.assert_allclose(1.0 * x1 + 2.0 * x2, 1.5)
    assert np.all((x1 >= -0.5) & (x1 <= 1.5) & (x2 >= -0.5) & (x2 <= 1.5))
    x1, x2 = P.decision_line(1.0, 0.0, 0.5)  # vertical line
    np.testing.assert_allclose(x1, [0.5, 0.5])
    assert P.decision_line(0.0, 0.0, 1.0) is None  # no line at all
    assert P.decision_line(1.0, 1.0, 10.0) is None  # misses the square
    with pytest.raises(ValueError, match="hi"):
        P.decision_line(1, 1, 1, lo=1, hi=0)


def test_gate_constraints_explain_each_row():
    cons = P.gate_constraints("SAME (XNOR)", 1, 1, 2)
    assert [c[0] for c in cons] == ["0 >= theta", "w2 < theta", "w1 < theta", "w1 + w2 >= theta"]
    assert [c[1] for c in cons] == [False, True, True, True]
    assert all(ok for _, ok in P.gate_constraints("AND", 1, 1, 2))
    with pytest.raises(ValueError, match="gate"):
        P.gate_constraints("NOPE", 1, 1, 1)


# ---- exhaustive search ----------------------------------------------------------------------
def test_grid_search_finds_and_but_never_same():
    grid = np.linspace(-2, 2, 41)
    same = P.grid_search("SAME (XNOR)", grid)
    assert same.n_tried == 41**3
    assert same.n_solutions == 0 and same.example is None
    assert same.best_correct == 3  # three rows right is the best any single unit does
    land = P.grid_search("AND", grid)
    assert land.n_solutions > 0
    w1, w2, th = land.example
    assert P.truth_table(w1, w2, th).gate == "AND"


def test_grid_search_accepts_a_column_and_validates():
    res = P.grid_search([0, 1, 1, 1], [-1.0, 0.0, 0.5, 1.0])
    assert res.n_solutions > 0
    with pytest.raises(ValueError):
        P.grid_search([0, 1, 1], [0.0, 1.0])
    with pytest.raises(ValueError, match="values"):
        P.grid_search("AND", np.zeros(500))
    with pytest.raises(ValueError):
        P.grid_search("AND", [[0.0, 1.0]])


def test_fourteen_of_sixteen_gates_are_linear():
    assert P.count_linear_gates() == 14  # all but XOR and XNOR


# ---- two layers -----------------------------------------------------------------------------
def test_notes_two_layer_table():
    t = P.two_layer_table(**P.NOTES_NETWORK)
    np.testing.assert_array_equal(t.hidden_in, [[0, 0], [1, -1], [1, -1], [2, -2]])
    np.testing.assert_array_equal(t.hidden_out, [[0, 1], [0, 0], [0, 0], [1, 0]])
    np.testing.assert_array_equal(t.output, [1, 0, 0, 1])


def test_two_layer_table_validates_shapes():
    with pytest.raises(ValueError, match="theta_hidden"):
        P.two_layer_table([[1, 1], [1, 1]], [1.0], [1, 1], 1)
    with pytest.raises(ValueError, match="w_out"):
        P.two_layer_table([[1, 1], [1, 1]], [1, 1], [1, 1, 1], 1)


def test_linear_separability():
    t = P.two_layer_table(**P.NOTES_NETWORK)
    y = np.array(P.GATES["SAME (XNOR)"])
    assert not P.linearly_separable(P.INPUTS, y)[0]
    ok, w, b = P.linearly_separable(t.hidden_out, y)
    assert ok
    s = 2 * y - 1
    assert np.all(s * (t.hidden_out @ w + b) >= 1 - 1e-9)
    with pytest.raises(ValueError):
        P.linearly_separable(P.INPUTS, [0, 1, 2, 0])


# ---- the ReLU example -----------------------------------------------------------------------
def test_relu_example_needs_the_hidden_layer():
    X, y = P.relu_example_data()
    assert X.shape == (36, 2) and set(np.unique(y)) == {0, 1}
    d = P.relu_demo(*P.RELU_PRESETS["notes' solution"], X, y)
    assert not d.separable_in and d.separable_hidden
    assert d.n_collapsed == 12  # the middle cluster lands on (0, 0)
    d_same = P.relu_demo(*P.RELU_PRESETS["both the same"], X, y)
    assert not d_same.separable_hidden


def test_relu_features_and_hyperplane():
    n, b = P.hyperplane(0.0, 1.0)
    np.testing.assert_allclose(n, [1.0, 0.0], atol=1e-15)
    assert b == -1.0
    H = P.relu_features(np.array([[2.0, 0.0], [0.0, 0.0]]), n.reshape(1, 2), [b])
    np.testing.assert_allclose(H, [[1.0], [0.0]])
    with pytest.raises(ValueError):
        P.relu_features(np.zeros((2, 2)), np.zeros((1, 3)), [0.0])
    with pytest.raises(ValueError):
        P.relu_example_data(0)


# ---- activations ----------------------------------------------------------------------------
LAYERS = {"sigmoid": nnlib.Sigmoid, "tanh": nnlib.Tanh, "relu": nnlib.ReLU,
          "leaky_relu": nnlib.LeakyReLU, "elu": nnlib.ELU}


@pytest.mark.parametrize("name", list(P.ACTIVATIONS))
def test_activations_match_nnlib_layers(name):
    z = np.linspace(-5, 5, 41)
    layer = LAYERS[name]()
    np.testing.assert_allclose(P.activation(name, z), layer(z), atol=1e-15)
    np.testing.assert_allclose(P.activation_derivative(name, z), layer.backward(np.ones_like(z)),
                               atol=1e-15)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu"])
def test_derivatives_match_finite_differences(name):
    z = np.linspace(-4, 4, 17) + 0.013  # avoid the kink of ELU at 0
    h = 1e-6
    num = (P.activation(name, z + h) - P.activation(name, z - h)) / (2 * h)
    np.testing.assert_allclose(P.activation_derivative(name, z), num, atol=1e-7)


def test_activation_params_and_validation():
    assert P.activation("leaky_relu", np.array([-1.0]), 0.1)[0] == -0.1
    np.testing.assert_allclose(P.activation("elu", np.array([-50.0]), 2.0), [-2.0])
    with pytest.raises(ValueError, match="name"):
        P.activation("swish", np.zeros(3))
    with pytest.raises(ValueError, match="name"):
        P.activation_derivative("swish", np.zeros(3))
    with pytest.raises(TypeError):
        P.activation("relu", np.array(["a"]))


def test_saturation():
    assert P.saturation_fraction("sigmoid", np.array([0.0, 1.0])) == 0.0
    assert P.saturation_fraction("sigmoid", np.array([10.0, -10.0, 0.0, 0.0])) == 0.5
    assert P.saturation_fraction("relu", np.array([-1.0, 1.0])) == 0.5
    # leaky ReLU's negative side has slope 0.01: below a tolerance of 0.05, above one of 0.005
    assert P.saturation_fraction("leaky_relu", np.array([-1.0, 1.0]), tol=0.05) == 0.5
    assert P.saturation_fraction("leaky_relu", np.array([-1.0, 1.0]), tol=0.005) == 0.0
    with pytest.raises(ValueError, match="tol"):
        P.saturation_fraction("relu", np.zeros(2), tol=0)


def test_activation_panel():
    p = P.activation_panel("sigmoid")
    assert p.z.shape == p.f.shape == p.df.shape == p.saturated.shape == (601,)
    assert abs(p.max_slope - 0.25) < 1e-12
    assert 0 < p.saturated_fraction < 0.5
    assert P.activation_panel("relu").saturated_fraction == pytest.approx(301 / 601)
    with pytest.raises(ValueError, match="hi"):
        P.activation_panel("relu", 1, 0)


def test_dead_units():
    Z = np.array([[-1.0, 2.0, 0.0], [-3.0, -1.0, 0.0]])
    np.testing.assert_array_equal(P.dead_units(Z), [True, False, True])
    frac = P.dead_fraction_vs_bias([-10.0, 0.0, 10.0])
    assert frac[0] == 1.0 and frac[2] == 0.0 and 0 <= frac[1] < 0.1
    assert np.all(np.diff(P.dead_fraction_vs_bias(np.linspace(-4, 4, 9))) <= 0)
    with pytest.raises(ValueError):
        P.dead_units(np.zeros(3))
    with pytest.raises(ValueError, match="n_units"):
        P.dead_fraction_vs_bias([0.0], n_units=0)


# ---- learned features on XOR ----------------------------------------------------------------
def test_train_xor_records_every_step_and_is_repeatable():
    r1 = P.train_xor(seed=1, steps=50)
    r2 = P.train_xor(seed=1, steps=50)
    assert r1.hidden.shape == (51, 4, 2) and r1.logits.shape == (51, 4) and r1.loss.shape == (51,)
    np.testing.assert_array_equal(r1.loss, r2.loss)
    assert r1.loss[-1] < r1.loss[0]


def test_train_xor_solves_with_a_good_seed():
    r = P.train_xor(seed=1)
    assert r.solved and r.separable_hidden and r.loss[-1] < 0.05


def test_restarts_failures_are_merged_points():
    s = P.xor_restarts(8)
    assert s.solved.shape == (8,)
    assert 0 < s.n_failed < 8
    # every failed run put two opposite-class inputs on one hidden point
    assert np.all(s.merged[~s.solved])
    assert not np.any(s.separable_hidden[~s.solved])
    assert np.all(s.final_loss[~s.solved] > 0.3)


def test_wider_hidden_layer_fails_less():
    assert P.xor_restarts(10, hidden=4).n_failed < P.xor_restarts(10, hidden=2).n_failed


@pytest.mark.parametrize("kw", [dict(hidden=0), dict(steps=0), dict(lr=-1.0),
                                dict(activation="swish")])
def test_train_xor_validates(kw):
    with pytest.raises(ValueError):
        P.train_xor(**kw)


# ---- checkers -------------------------------------------------------------------------------
def test_check_gate():
    assert P.check_gate("NAND", -1, -1, -1.5).startswith("Right")
    msg = P.check_gate("NAND", 1, 1, 2)
    assert msg.startswith("Not yet") and "(0, 0)" in msg
    assert "-1.5" not in msg
    with pytest.raises(ValueError):
        P.check_gate("nand", 1, 1, 1)


def test_check_count_and_slope_never_reveal():
    assert P.check_count_linear_gates(14) == "Right."
    wrong = P.check_count_linear_gates(16)
    assert wrong.startswith("Not yet") and "14" not in wrong
    assert "whole number" in P.check_count_linear_gates(14.0)
    assert P.check_sigmoid_max_slope(0.25) == "Right."
    wrong = P.check_sigmoid_max_slope(1.0)
    assert wrong.startswith("Not yet") and "0.25" not in wrong
    assert "number" in P.check_sigmoid_max_slope("x")


# ---- widgets: the wiring calls the logic without error -------------------------------------
def test_widgets_build_and_respond():
    w = P.gate_widget()
    sliders = w.children[0].children[:3]
    sliders[2].value = 1.5
    assert "1" in w.children[0].children[3].value
    xw = P.xor_training_widget(P.train_xor(seed=1, steps=20))
    xw.children[0].value = 20
    X, y = P.relu_example_data()
    rw = P.relu_widget(X, y)
    rw.children[0].children[0].value = "both the same"
    assert rw.children[0].children[1].value == P.RELU_PRESETS["both the same"][0]
    aw = P.activation_widget()
    aw.children[0].value = "elu"


def test_static_figures():
    fig = P.feature_diagram()
    assert len(fig.axes) == 2
    t = P.two_layer_table(**P.NOTES_NETWORK)
    fig = P.plot_spaces(P.INPUTS, t.hidden_out, P.GATES["SAME (XNOR)"])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].endswith("not separable") and titles[1].endswith(": separable")
    with pytest.raises(ValueError, match="H"):
        P.plot_spaces(P.INPUTS, np.zeros((3, 2)), [0, 1, 1, 0])
