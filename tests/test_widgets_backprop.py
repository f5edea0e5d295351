"""nnlib.widgets.backprop: each widget runs the function it is given, through Live's public API
(set, values, text, png, last_full); never through children indices."""

import numpy as np
import pytest

from nnlib.graph import Value
from nnlib.widgets import backprop as widgets

PNG = b"\x89PNG"


# ---- the notebook's functions, in small -------------------------------------------------------
def make_sensitivity(calls):
    M = np.array([[1.0, -2.0], [0.5, 1.0], [-1.5, 0.5]])

    def sensitivity(kind="affine", j=0, delta=0.5):
        calls.append((kind, j, delta))
        g = (lambda a: M @ a) if kind == "affine" else (lambda a: np.tanh(M @ a))
        a0 = np.array([0.4, -0.3])
        slope = M[:, j] if kind == "affine" else (1 - np.tanh(M @ a0) ** 2) * M[:, j]
        return g(a0 + delta * np.eye(2)[j]) - g(a0), slope * delta

    return sensitivity


def chain_costs(widths):
    D, L = widths, len(widths) - 1
    reverse = sum(D[L] * D[l] * D[l - 1] for l in range(1, L))
    forward = sum(D[l + 1] * D[l] * D[0] for l in range(1, L))
    return dict(forward=forward, reverse=reverse, optimal=min(forward, reverse), order="(A1 A2)")


def gradient_norms(depth, act, init):
    if init == "zeros":
        return np.zeros(depth), np.zeros(depth)
    shrink = {"sigmoid": 0.25, "tanh": 0.5, "relu": 1.0}[act]
    return shrink ** np.arange(depth)[::-1], np.full(depth, 0.5)


PRESETS = {"vanishing": dict(depth=20, act="sigmoid", init="xavier"),
           "dead": dict(depth=10, act="relu", init="zeros")}


# ---- sensitivity ---------------------------------------------------------------------------
def test_sensitivity_runs_the_given_function_and_reports_the_slopes():
    calls = []
    live = widgets.sensitivity(make_sensitivity(calls))
    assert live.values == {"kind": "affine", "j": 0, "delta": 0.5}
    assert ("affine", 0, 0.5) in calls and len(calls) >= 4 * 31  # curves precomputed from it
    assert live.png.startswith(PNG) and "slopes ∂b_i/∂a_1 = 1, 0.5, -1.5" in live.text
    assert "errors of the estimate: 0, 0, 0" in live.text
    live.set(kind="nonlinear", j=1, delta=1.0)
    assert calls[-1] == ("nonlinear", 1, 1.0)
    assert "∂b_i/∂a_2" in live.text and "errors of the estimate: 0, 0, 0" not in live.text


def test_sensitivity_small_moves_of_delta_are_blitted():
    live = widgets.sensitivity(make_sensitivity([]))
    live.set(delta=0.3)  # the bar axis keeps its limit (±1) for both
    live.set(delta=0.32)
    assert not live.last_full


def test_a_failing_function_shows_a_message_not_a_traceback():
    def broken(kind, j, delta):
        if delta > 2:
            raise ValueError("δ too large for this demo")
        return make_sensitivity([])(kind, j, delta)

    live = widgets.sensitivity(broken, deltas=np.linspace(-2, 2, 5))
    live.set(delta=2.5)
    assert "δ too large" in live.text and "Traceback" not in live.text


# ---- the stepper -----------------------------------------------------------------------------
def test_stepper_walks_both_passes_and_stores_each_picture():
    x, w = Value(2.0, label="x"), Value(-0.5, label="w")
    y = (w * x).tanh()
    y.label = "y"
    y.backward()
    live = widgets.stepper(y, params=[w])
    n = 4  # x, w, w*x, y
    assert live.controls["step"].max == 2 * n - 1 and live.values == {"step": 0}
    first = live.png
    live.set(step=2 * n - 1)
    assert live.png != first
    live.set(step=0)
    assert live.png == first and live.last_ms < 50  # stored: no render at all


# ---- forward vs reverse mode ------------------------------------------------------------------
def test_chain_costs_presets_set_every_width_with_one_redraw():
    presets = {"scalar loss": [784, 256, 128, 64, 1], "scalar input": [1, 64, 128, 256, 784]}
    live = widgets.chain_costs(chain_costs, presets)
    assert live.values == {"D0": 784, "D1": 256, "D2": 128, "D3": 64, "D4": 1}
    assert "optimal order" in live.text
    live.timings.clear()
    live.apply_preset("scalar input")
    assert live.values == {"D0": 1, "D1": 64, "D2": 128, "D3": 256, "D4": 784} and len(live.timings) == 1


# ---- unstable gradients ---------------------------------------------------------------------
def test_gradients_reports_the_ratio_and_exact_zeros():
    live = widgets.gradients(gradient_norms, ["sigmoid", "tanh", "relu"], ["zeros", "xavier"], PRESETS)
    assert live.values == {"depth": 20, "act": "sigmoid", "init": "xavier"}
    assert "first layer / last layer gradient: 3.6e-12" in live.text
    live.apply_preset("dead")
    assert live.values == {"depth": 10, "act": "relu", "init": "zeros"}
    assert "exactly zero gradient in 10 of 10 layers" in live.text
    live.set(init="xavier", depth=12)
    assert "first layer / last layer gradient: 1" in live.text


def test_gradients_moving_depth_within_a_band_keeps_the_axes():
    live = widgets.gradients(gradient_norms, ["sigmoid", "tanh", "relu"], ["zeros", "xavier"], PRESETS)
    live.set(act="relu")  # flat norms: the log axis stays put as depth moves
    live.set(depth=13)
    live.set(depth=14)
    assert not live.last_full


# ---- dying ReLUs and subgradients --------------------------------------------------------------
def test_dying_relu_shows_the_fractions_it_is_given():
    def dying_relu(bias, lr):
        dead = min(1.0, max(0.0, -bias))
        return [0.0, dead, dead], [0.0, dead, min(1.0, dead + (0.5 if lr > 1 else 0.0))]

    live = widgets.dying_relu(dying_relu)
    assert live.values["bias"] == 0.0 and "0% before the step, 0% after it" in live.text
    live.set(bias=-0.5, lr=10.0)
    assert "33% before the step, 50% after it" in live.text


@pytest.mark.parametrize("g, is_one", [(0.5, True), (1.5, False), (-0.2, False)])
def test_subgradients_asks_the_given_test(g, is_one):
    kinks = {"relu": (lambda x: np.maximum(x, 0), 0.0)}
    asked = []

    def is_subgradient(h, v, slope):
        asked.append(slope)
        return 0.0 <= slope <= 1.0

    live = widgets.subgradients(is_subgradient, kinks)
    live.set(g=g)
    assert asked[-1] == g
    assert live.text == f"slope {g:.2f} {'is' if is_one else 'is not'} a subgradient of relu"


# ---- a blitted redraw shows what a full render shows ------------------------------------------
def dying_relu_fn(bias, lr):
    dead = min(1.0, max(0.0, -bias))
    return [0.0, dead], [0.1, min(1.0, dead + lr / 100)]


def least_squares():
    x1, y = Value(1.0, label="x1"), Value(3.0, label="y")
    w1, b = Value(0.5, label="w1"), Value(0.1, label="b")
    loss = (y - (w1 * x1 + b)) ** 2
    loss.backward()
    return loss, [w1, b]


BUILDERS = {
    "sensitivity": (lambda: widgets.sensitivity(make_sensitivity([]), deltas=np.linspace(-3, 3, 13)),
                    [dict(delta=0.3), dict(delta=0.32), dict(kind="nonlinear", j=1)]),
    "stepper": (lambda: widgets.stepper(*least_squares()),
                [dict(step=11), dict(step=12), dict(step=3)]),
    "chain_costs": (lambda: widgets.chain_costs(chain_costs, {"a": [784, 256, 128, 64, 1]}),
                    [dict(D2=10), dict(D2=11), dict(D0=3, D4=500)]),
    "gradients": (lambda: widgets.gradients(gradient_norms, ["sigmoid", "relu"], ["zeros", "xavier"], PRESETS),
                  [dict(depth=13), dict(depth=14), dict(act="relu", init="zeros")]),
    "dying_relu": (lambda: widgets.dying_relu(dying_relu_fn), [dict(bias=-0.5), dict(lr=10.0), dict(bias=-0.6)]),
    "subgradients": (lambda: widgets.subgradients(lambda h, v, g: 0 <= g <= 1, {
        "relu": (lambda x: np.maximum(x, 0), 0.0), "abs": (np.abs, 0.0)}),
        [dict(g=0.6), dict(kink="abs"), dict(g=-1.5)]),
}


def pixels(png):
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png))).astype(int)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_redraw_equals_a_fresh_full_render(name):
    make, moves = BUILDERS[name]
    live, blitted = make(), 0
    for move in moves:
        live.set(**move)
        blitted += not live.last_full
        fresh = make()
        fresh.set(**live.values)  # its first change: a full render
        assert fresh.last_full
        np.testing.assert_array_equal(pixels(live.png), pixels(fresh.png), err_msg=f"{name} after {move}")
    assert blitted >= 1  # the comparison did cover a blitted redraw
