"""Widgets of notebook 04, through their public behaviour: live.set, values, text, png."""

from types import SimpleNamespace

import numpy as np
import pytest

from nnlib.widgets import optimizers as widgets


def descend(step, grad, start, n_steps, **hyper):
    w, state = np.array(start, dtype=float), {}
    path = [w]
    for _ in range(n_steps):
        w = step(w, grad(w), state, **hyper)
        if not (np.abs(w) < 1e6).all():
            break
        path.append(w)
    return np.array(path)


def sgd(w, g, state, lr, **_):
    return w - lr * g


def heavy_ball(w, g, state, lr, beta=0.9, **_):
    state["v"] = beta * state.get("v", 0.0) + g
    return w - lr * state["v"]


BOWL = SimpleNamespace(name="bowl", f=lambda w: 0.5 * (w[..., 0] ** 2 + 20 * w[..., 1] ** 2),
                       grad=lambda w: np.array([w[0], 20 * w[1]]), xlim=(-5, 5), ylim=(-2, 2), start=(-4.5, 1.5))
TILTED = SimpleNamespace(name="tilted bowl", f=lambda w: (w[..., 0] - 1) ** 2 + (w[..., 1] - 1) ** 2,
                         grad=lambda w: 2 * (w - 1), xlim=(-2, 3), ylim=(-2, 3), start=(-1.5, 2.5))
SURFACES = {"bowl": BOWL, "tilted": TILTED}
POINTS = {"bowl": [(np.zeros(2), "minimum")], "tilted": [(np.ones(2), "minimum")]}


def notebook_race(surface, steps, lr_sgd, momentum, lr_adaptive, alpha, beta1, beta2):
    s = SURFACES[surface]
    return {"SGD": descend(sgd, s.grad, s.start, steps, lr=lr_sgd),
            "momentum": descend(heavy_ball, s.grad, s.start, steps, lr=lr_sgd, beta=momentum),
            "RMSProp": descend(sgd, s.grad, s.start, steps, lr=lr_adaptive * alpha),
            "Adam": descend(sgd, s.grad, s.start, steps, lr=lr_adaptive * beta1 * beta2)}


BASE = dict(lr_sgd=0.05, momentum=0.5, lr_adaptive=0.05, alpha=0.9, beta1=0.9, beta2=0.999, steps=50)
PRESETS = {"bowl": dict(BASE, surface="bowl"),
           "too fast": dict(BASE, surface="bowl", lr_sgd=0.12),
           "tilted": dict(BASE, surface="tilted", steps=80)}


@pytest.fixture
def race_widget():
    return widgets.race(notebook_race, SURFACES, POINTS, PRESETS)


def test_race_starts_at_the_first_preset_and_reports_each_racer(race_widget):
    assert race_widget.values["surface"] == "bowl" and race_widget.values["steps"] == 50
    lines = race_widget.text.split("<br>")
    assert [ln.split(":")[0] for ln in lines] == ["SGD", "momentum", "RMSProp", "Adam"]
    assert all("above the minimum after 50 steps" in ln for ln in lines)
    assert race_widget.png.startswith(b"\x89PNG")


def test_a_diverging_learning_rate_is_named_not_raised(race_widget):
    race_widget.apply_preset("too fast")
    assert race_widget.values["lr_sgd"] == pytest.approx(0.12)
    assert "SGD: diverged at step" in race_widget.text and "lower its learning rate" in race_widget.text
    assert "Adam: " in race_widget.text and "Adam: diverged" not in race_widget.text


def coloured_pixels_left(png):
    """How many clearly coloured (not grey) pixels the left half of a PNG holds: the racers' paths."""
    from io import BytesIO

    from PIL import Image

    rgb = np.asarray(Image.open(BytesIO(png)).convert("RGB")).astype(int)
    left = rgb[:, : rgb.shape[1] // 2]
    return int(np.sum(left.max(axis=-1) - left.min(axis=-1) > 60))


def test_a_preset_on_another_surface_redraws_everything(race_widget):
    before = race_widget.png
    race_widget.apply_preset("tilted")
    assert race_widget.values["surface"] == "tilted" and race_widget.last_full
    assert race_widget.png != before
    assert "after 80 steps" in race_widget.text
    assert coloured_pixels_left(race_widget.png) > 200  # the new surface's panel shows the paths


def test_a_slider_move_on_the_same_surface_only_blits(race_widget):
    race_widget.set(lr_sgd=0.04)
    limits = race_widget.fig.axes[1].get_ylim()
    race_widget.set(lr_sgd=0.0401)
    assert race_widget.fig.axes[1].get_ylim() == limits
    assert not race_widget.last_full


def test_race_summary_says_growing_and_diverged():
    f = BOWL.f
    growing = {"SGD": np.array([[1.0, 0.1], [1.0, 0.2]])}
    assert "diverging" in widgets.race_summary(growing, f, 0.0, 1)
    assert "diverged at step 2" in widgets.race_summary(growing, f, 0.0, 5)


def test_minibatch_caption_and_widget():
    table = {B: {"path": np.cumsum(np.ones((256 // B + 1, 2)), axis=0) * 0.01,
                 "noise": (4.0 / np.sqrt(B), 4.0 / np.sqrt(B)), "final": 1.0 / B} for B in (1, 4, 16, 256)}
    table[256]["noise"] = (0.0, 0.0)
    loss = lambda theta: np.sum(theta**2, axis=-1)
    live = widgets.minibatch(table, loss, (0.0, 0.0), floor=0.0, initial=4)
    assert live.values == {"B": 4} and "64 steps of 4 example-gradients" in live.text
    first = live.png
    live.set(B=256)
    assert "B = 256" in live.text and "noise 0.000" in live.text and live.png != first
    assert widgets.minibatch_caption(table, 1, 0.0).startswith("B = 1: 256 steps of 1 example-gradient each")


def run_saddle(rule, lr=0.1, noise=0.0, offset=1e-8, steps=300):
    grad = lambda w: np.array([w[0], w[1] ** 3 - w[1]]) + noise
    step = heavy_ball if rule.startswith("momentum") else sgd
    return descend(step, grad, (2.0, offset), steps, lr=lr)


SADDLE = SimpleNamespace(name="saddle", f=lambda w: 0.5 * w[..., 0] ** 2 + 0.25 * w[..., 1] ** 4 - 0.5 * w[..., 1] ** 2,
                         xlim=(-2.5, 2.5), ylim=(-1.6, 1.6), start=(2.0, 0.0))


def test_saddle_widget_escapes_stalls_and_diverges():
    live = widgets.saddle(run_saddle, SADDLE, [(np.zeros(2), "saddle")], -0.25)
    assert live.values == {"rule": "gradient descent", "lr": 0.1, "noise": 0.0, "offset": 1e-8}
    assert live.text == "escaped the saddle at step 188 (|w₂| > 0.5)"
    live.set(offset=0.0)
    assert "still" in live.text and "not a minimum" in live.text
    live.set(rule="momentum (β = 0.9)", offset=1e-8)
    assert "escaped the saddle at step" in live.text
    live.set(lr=0.2, rule="gradient descent", offset=0.0)
    assert "escaped" not in live.text


def test_saddle_summary_reports_divergence():
    path = np.array([[2.0, 0.0], [5.0, 0.0]])
    assert widgets.saddle_summary(path, steps=10).startswith("diverged at step 2")
