"""nnlib.widgets.perceptron: notebook 01's sliders, tested through what they show.

Each builder runs functions the notebook passes in; these tests pass small stand-ins written
here (the widest street by a fine search over directions, not the notebook's exact method)
and check the text, the picture and the calls.
"""


import numpy as np
import pytest

from nnlib.widgets import perceptron as widgets
from tests.helpers import shows_the_full_render  # a blitted redraw == a full render

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])
GATES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "always 0": [0, 0, 0, 0]}


def perceptron(X, w, theta):
    return (np.asarray(X) @ np.asarray(w).T >= theta).astype(int)


def street(X, y, n=7200):
    """Half the best gap between the classes over n directions, with its line (an oracle for tests)."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    normals = np.c_[np.cos(a), np.sin(a)]
    low1, high0 = (X[y == 1] @ normals.T).min(axis=0), (X[y == 0] @ normals.T).max(axis=0)
    k = np.argmax(low1 - high0)
    return (low1[k] - high0[k]) / 2, normals[k], -(low1[k] + high0[k]) / 2


def forward(params, X):
    W1, b1, W2, b2 = params
    H = np.tanh(X @ W1.T + b1)
    return H, H @ W2.T + b2




# ---- the gate --------------------------------------------------------------------------------
def test_gate_names_the_gate_the_notebooks_unit_computes():
    calls = []

    def spy(X, w, theta):
        calls.append((w.copy(), theta))
        return perceptron(X, w, theta)

    live = widgets.gate(spy, GATES)
    assert "the unit computes: AND" in live.text and live.values == {"w1": 0.5, "w2": 0.5, "theta": 0.8}
    live.set(w1=1.0, w2=1.0, theta=1.0)
    assert "OR" in live.text and calls[-1][1] == 1.0
    np.testing.assert_allclose(calls[-1][0], [1.0, 1.0])
    live.set(theta=2.0)
    assert "AND" in live.text and live.text.count("fires") == 1
    live.set(w1=0.0, w2=0.0, theta=0.5)
    assert "always 0" in live.text
    live.set(w1=1.0, w2=0.0, theta=0.5)
    assert "no named gate" in live.text


def test_gate_redraws_show_what_a_full_render_shows():
    live = widgets.gate(perceptron, GATES)
    for w1 in (0.7, -0.4, 1.5):
        live.set(w1=w1)
        assert shows_the_full_render(live)
    assert not live.last_full  # the later moves were blitted


def test_gate_refuses_something_that_is_not_a_function():
    with pytest.raises(TypeError, match="perceptron"):
        widgets.gate("perceptron", GATES)


# ---- the learning rule ------------------------------------------------------------------------
def test_learning_counts_the_points_each_unit_gets_wrong():
    X = np.array([[1.0, 1.0], [2.0, 0.5], [-1.0, -1.0], [-2.0, 0.0]])
    y = np.array([1, 1, 0, 0])
    units = [(np.zeros(2), 0.0), (np.array([-1.0, -1.0]), -1.0), (np.array([1.0, 1.0]), 0.0)]
    live = widgets.learning(X, y, units, perceptron)
    assert live.controls["k"].max == 2
    assert "2 of 4 points on the wrong side" in live.text  # w = 0, b = 0 fires everywhere
    live.set(k=2)
    assert "after 2 of 2 updates" in live.text and "0 of 4 points" in live.text
    live.set(k=1)
    assert "4 of 4 points" in live.text and shows_the_full_render(live)


def test_learning_needs_units():
    with pytest.raises(ValueError, match="units"):
        widgets.learning(XOR_X, XOR_Y, [], perceptron)


# ---- XOR training -------------------------------------------------------------------------------
def xor_run():
    """Three steps: all zeros (every input at one hidden point), half way, and a solution
    (hidden units OR and AND, output OR minus AND)."""
    solved = [np.array([[10.0, 10.0], [10.0, 10.0]]), np.array([-5.0, -15.0]), np.array([[5.0, -5.0]]),
              np.array([-5.0])]
    zeros = [np.zeros_like(p) for p in solved]
    half = [p / 2 for p in solved]
    return {"params": [zeros, half, solved], "loss": [0.693, 0.2, 0.01]}


def test_xor_training_shows_each_step_with_the_notebooks_functions():
    seen = []

    def spy(params, X):
        seen.append(len(X))
        return forward(params, X)

    live = widgets.xor_training(xor_run(), spy, street)
    assert live.controls["step"].max == 2 and "loss 0.693" in live.text
    assert 10_000 in seen  # the probability map runs the notebook's forward pass on a 100 x 100 grid
    axes_in, axes_hidden = live.fig.axes[:2]
    assert axes_hidden.get_title() == "hidden space: not separable"
    live.set(step=2)
    assert "4 of 4 points classified right" in live.text
    assert axes_hidden.get_title().startswith("hidden space: separable")
    assert axes_in.get_title().endswith("4 of 4 right")
    assert shows_the_full_render(live)


def test_xor_training_draws_two_hidden_units_only():
    run = {"params": [[np.zeros((3, 2)), np.zeros(3), np.zeros((1, 3)), np.zeros(1)]], "loss": [0.7]}
    with pytest.raises(ValueError, match="2 hidden units"):
        widgets.xor_training(run, forward, street)


# ---- two ReLUs -----------------------------------------------------------------------------------
def relu_units(angles, offsets):
    a = np.deg2rad(angles)
    return np.c_[np.cos(a), np.sin(a)], -np.asarray(offsets, float)


def relu_layer(X, W, b):
    return np.maximum(X @ W.T + b, 0)


PRESETS = {"notes": dict(angle1=0, offset1=1, angle2=180, offset2=1),
           "flipped": dict(angle1=180, offset1=-1, angle2=0, offset2=-1),
           "same": dict(angle1=0, offset1=1, angle2=0, offset2=1)}


def three_clusters():
    X = np.array([[x, y] for x in (-2.0, 0.0, 2.0) for y in (-0.5, 0.5)]) + [[0.1, 0.0], [-0.1, 0.0]] * 3
    return X, np.array([1, 1, 0, 0, 1, 1])


def test_two_relus_presets_move_every_slider_and_recompute():
    X, y = three_clusters()
    live = widgets.two_relus(X, y, relu_units, relu_layer, street, PRESETS)
    assert live.values == {"angle1": 0, "offset1": 1, "angle2": 180, "offset2": 1}
    assert "2 of 6 points sent to (0, 0)" in live.text
    assert live.fig.axes[1].get_title().startswith("hidden space: separable")
    live.apply_preset("same")
    assert live.values["angle2"] == 0 and "4 of 6 points" in live.text  # both lines at x1 = 1
    assert live.fig.axes[1].get_title() == "hidden space: not separable"
    live.apply_preset("flipped")
    assert "0 of 6 points" in live.text and live.fig.axes[1].get_xlim()[1] == 5.0
    live.set(offset2=-0.9)
    assert shows_the_full_render(live)


# ---- activations ------------------------------------------------------------------------------------
def test_activations_draws_the_notebooks_table():
    table = {"relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0),
             "half": (lambda z: z / 2, lambda z: np.full_like(z, 0.5))}
    live = widgets.activations(table)
    assert live.text.startswith("relu: largest slope 1")
    first = live.png
    live.set(name="half")
    assert live.text.startswith("half: largest slope 0.5") and shows_the_full_render(live)
    live.set(name="relu")
    assert live.png == first  # stored: the menu has a handful of states
    with pytest.raises(ValueError, match="empty"):
        widgets.activations({})
