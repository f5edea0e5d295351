"""Widgets of notebook 02, tested through their behaviour: live.set, live.values, live.text, live.png."""

import numpy as np
import pytest

import nnlib
from nnlib.widgets import approximation as widgets

WIDTHS = [1, 2, 4]
X_PLOT = np.linspace(-1, 1, 51)


def sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def bump(x, left, right, height, steepness):
    return height * (sigmoid(steepness * (x - left)) - sigmoid(steepness * (x - right)))


def network(x, v, b, w, c):
    return c + sigmoid(np.outer(x, v) + b) @ w


def staircase(f, units, steepness):
    knots = -1 + (np.arange(units + 1) + 0.5) * 2 / (units + 1)
    middles = (knots[:-1] + knots[1:]) / 2
    return np.full(units, float(steepness)), -steepness * middles, np.diff(f(knots)), f(knots)[0]


def softmax(z, temperature=1.0):
    z = np.asarray(z) / temperature
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


TARGETS = {"x²": np.square, "|x|": np.abs}


@pytest.fixture
def width_widget():
    data = {name: nnlib.datasets.function_samples(f, n=10) for name, f in TARGETS.items()}
    fits = {(name, act): np.outer(f(X_PLOT), [0.5, 0.9, 1.0]) for name, f in TARGETS.items()
            for act in ("tanh", "relu")}
    errors = {(name, act): np.array([0.1, 1e-3, 0.0]) * (2 if act == "relu" else 1)
              for name in TARGETS for act in ("tanh", "relu")}
    return widgets.width(fits, errors, data, WIDTHS, X_PLOT, target="|x|", activation="tanh", units=2)


def test_width_shows_the_precomputed_error_of_each_choice(width_widget):
    live = width_widget
    assert live.values == {"target": "|x|", "activation": "tanh", "units": 2}
    assert live.text == "training MSE with 2 tanh units: 0.001" and live.png.startswith(b"\x89PNG")
    first = live.png
    live.set(activation="relu", units=4)
    assert live.text == "training MSE with 4 relu units: 0" and live.png != first
    live.set(activation="tanh", units=2)  # a combination seen before comes from the stored pictures
    assert live.png == first


def test_width_offers_only_the_trained_widths_and_activations(width_widget):
    assert list(width_widget.controls["units"].options) == WIDTHS
    assert list(width_widget.controls["activation"].options) == ["tanh", "relu"]
    assert list(width_widget.controls["target"].options) == list(TARGETS)


def test_bump_runs_the_notebooks_function_and_refuses_an_inside_out_bump():
    calls = []

    def counted(x, *args):
        calls.append(args)
        return bump(x, *args)

    live = widgets.bump(counted, sigmoid, left=-0.3, right=0.3, height=1.0, steepness=10.0)
    assert calls[-1] == (-0.3, 0.3, 1.0, 10.0)
    assert live.text == f"in the middle, x = 0.00, the bump is {bump(0.0, -0.3, 0.3, 1.0, 10.0):.2f}"
    live.set(steepness=1000.0)
    assert live.text.endswith("the bump is 1.00") and calls[-1][-1] == 1000.0
    picture = live.png
    live.set(left=0.5, right=0.2)
    assert "left edge below the right edge" in live.text and "Traceback" not in live.text
    assert live.png == picture  # the figure keeps its last state


def test_staircase_compares_the_hand_built_and_the_trained_network():
    trained = {name: np.outer(f(X_PLOT), np.ones(len(WIDTHS))) for name, f in TARGETS.items()}  # exact fits
    live = widgets.staircase(staircase, network, TARGETS, trained, WIDTHS, X_PLOT, target="x²", units=2,
                             steepness=30.0)
    hand = np.abs(network(X_PLOT, *staircase(np.square, 2, 30.0)) - X_PLOT**2).max()
    assert live.text == f"largest error on [-1, 1]: built by hand {hand:.2g}, trained 0"
    live.set(units=4, steepness=1000.0)
    sharper = np.abs(network(X_PLOT, *staircase(np.square, 4, 1000.0)) - X_PLOT**2).max()
    assert f"built by hand {sharper:.2g}" in live.text


def test_staircase_shows_a_students_error_as_a_message():
    def stub(f, units, steepness):
        raise NotImplementedError("replace this line with your code")

    trained = {name: np.zeros((X_PLOT.size, len(WIDTHS))) for name in TARGETS}
    live = widgets.staircase(stub, network, TARGETS, trained, WIDTHS, X_PLOT, units=1)
    assert "NotImplementedError" in live.text and "replace this line" in live.text


class Linear2D:
    """Scores that grow with the distance along a direction: the larger the scale, the surer."""

    def __init__(self, scale):
        self.W = scale * np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])

    def __call__(self, X):
        return X @ self.W.T


def test_temperature_rescales_confidence_but_not_the_winner():
    X = np.random.default_rng(0).normal(size=(30, 2))
    y = np.arange(30) % 3
    query = np.array([1.0, 0.2])
    models = {"small scores": Linear2D(0.5), "large scores": Linear2D(5.0)}
    live = widgets.temperature(softmax, models, X, y, query, T=1.0, model="large scores", steps=20)

    def shown():
        return np.array([float(p) for p in live.text.split(": ")[1].split(", ")])

    p = softmax(models["large scores"](query[None]))[0]
    np.testing.assert_allclose(shown(), p, atol=0.005)
    live.set(T=10.0)
    hot = shown()
    live.set(T=0.1)
    cold = shown()
    assert hot.argmax() == cold.argmax() == p.argmax()
    assert hot.max() < p.max() < cold.max()
    assert live.values["model"] == "large scores"


def test_moons_reads_accuracy_from_the_scores():
    X_train = np.array([[-1.0, 0.0], [1.0, 0.0], [-2.0, 1.0], [2.0, 1.0]])
    y_train = np.array([0, 1, 0, 1])
    X_test = np.array([[-0.5, 0.0], [0.5, 0.0]])
    y_test = np.array([1, 1])

    def scores(points):  # width 1 sees x1, width 2 sees -x1, width 4 says class 1 everywhere
        return np.c_[points[:, 0], -points[:, 0], np.ones(len(points))]

    live = widgets.moons(scores, [1, 2, 4], X_train, y_train, X_test, y_test, units=1, steps=10)
    assert live.text == "1 hidden units: training accuracy 100%, test accuracy 50%"
    live.set(units=2)
    assert live.text == "2 hidden units: training accuracy 0%, test accuracy 50%"
    live.set(units=4)
    assert live.text == "4 hidden units: training accuracy 50%, test accuracy 100%"
