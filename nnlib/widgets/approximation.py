"""Sliders of notebook 02 (universal approximation): thin wiring of controls to draw functions.

Every widget runs what the notebook computed or wrote: the trained fits are passed in
(a redraw only looks them up), and the bump, the staircase and softmax are the notebook's
own functions, passed in by the cell that builds the widget. Figures come from
:mod:`nnlib.figures.approximation`.
"""

from __future__ import annotations

import ipywidgets
import numpy as np

from ..figures import approximation as figures
from .live import Live, dropdown, log_slider, slider


def _choice(options, value, label):
    """A slider over a list of values (widths, unit counts)."""
    return ipywidgets.SelectionSlider(options=list(options), value=value, description=label,
                                      style={"description_width": "initial"})


def width(fits, errors, data, widths, x, target=None, activation="tanh", units=3):
    """Target and activation dropdowns and a width slider over precomputed fits.

    Parameters
    ----------
    fits : dict (target, activation) -> array (len(x), len(widths)): every width's fit on ``x``
    errors : dict (target, activation) -> array (len(widths),): training MSE of every width
    data : dict target -> (X, y), the training points
    widths : list of int;  x : array (M,), where ``fits`` were evaluated
    """
    widths = list(widths)
    targets = list(data)
    activations = list(dict.fromkeys(act for _, act in fits))  # in the order the notebook trained them
    fig, art = figures.width_figure(widths)

    def draw(target, activation, units):
        k = widths.index(units)
        X, y = data[target]
        mse = errors[target, activation]
        art["points"].set_data(X[:, 0], np.ravel(y))
        art["fit"].set_data(x, fits[target, activation][:, k])
        art["curve"].set_data(widths, np.maximum(mse, 1e-12))
        art["now"].set_data([units], [max(mse[k], 1e-12)])
        art["title"].set_text(f"{target}: {units} {activation} units")
        return f"training MSE with {units} {activation} units: {mse[k]:.2g}"

    return Live(draw, fig, cache=True, layout="top", target=dropdown(targets, target or targets[0], "target"),
                activation=dropdown(activations, activation, "activation"),
                units=_choice(widths, units, "hidden units"))


def bump(bump_fn, sigmoid, left=-0.3, right=0.3, height=1.0, steepness=10.0):
    """Two sigmoid units and their difference, drawn with the notebook's ``bump`` and ``sigmoid``."""
    fig, art = figures.bump_figure()
    x = np.linspace(-1, 1, 401)

    def draw(left, right, height, steepness):
        if left >= right:
            raise ValueError("move the left edge below the right edge to make a bump")
        art["up"].set_data(x, height * sigmoid(steepness * (x - left)))
        art["down"].set_data(x, height * sigmoid(steepness * (x - right)))
        art["bump"].set_data(x, bump_fn(x, left, right, height, steepness))
        art["title"].set_text(f"input weight s = {steepness:.3g}: the larger, the sharper the edges")
        middle = (left + right) / 2
        top = float(bump_fn(middle, left, right, height, steepness))
        return f"in the middle, x = {middle:.2f}, the bump is {top:.2f}"

    return Live(draw, fig, cache=True, left=slider(left, -1, 1, 0.05, "left edge"),
                right=slider(right, -1, 1, 0.05, "right edge"), height=slider(height, -1.5, 1.5, 0.05, "height h"),
                steepness=log_slider(steepness, 1, 1000, "steepness s", steps_per_decade=8))


def staircase(build, network, targets, trained, widths, x, target=None, units=8, steepness=30.0):
    """The hand-built staircase of sigmoids against the trained sigmoid network with as many units.

    Parameters
    ----------
    build : the notebook's ``staircase(f, units, steepness) -> (v, b, w, c)``
    network : the notebook's ``one_hidden_layer(x, v, b, w, c)``
    targets : dict name -> function;  trained : dict name -> array (len(x), len(widths))
    """
    widths = list(widths)
    names = list(targets)
    fig, art = figures.staircase_figure()

    def draw(target, units, steepness):
        f = targets[target]
        v, b, w, c = build(f, units, steepness)
        hand, fit = network(x, v, b, w, c), trained[target][:, widths.index(units)]
        steps_at = -b / v  # unit j is halfway through its step where v_j x + b_j = 0
        art["target"].set_data(x, f(x))
        art["steps"].set_data(steps_at, network(steps_at, v, b, w, c))
        art["hand"].set_data(x, hand)
        art["trained"].set_data(x, fit)
        art["title"].set_text(f"{target}: {units} hidden units, steepness {steepness:.3g}")
        hand_error, trained_error = np.abs(hand - f(x)).max(), np.abs(fit - f(x)).max()
        return f"largest error on [-1, 1]: built by hand {hand_error:.2g}, trained {trained_error:.2g}"

    return Live(draw, fig, cache=True, layout="top", target=dropdown(names, target or names[0], "target"),
                units=_choice(widths, units, "hidden units"),
                steepness=log_slider(steepness, 1, 1000, "steepness s", steps_per_decade=8))


def temperature(softmax, models, X, y, query, T=1.0, model=None, steps=120):
    """The temperature knob: softmax(z / T) of trained classifiers over the plane and at one point.

    Parameters
    ----------
    softmax : the notebook's ``softmax(z, temperature)``
    models : dict name -> network mapping (N, 2) points to (N, K) scores
    X, y : the training points (drawn);  query : (2,), the point whose probabilities are shown
    """
    names = list(models)
    lo, hi = X.min(axis=0) - 0.3, X.max(axis=0) + 0.3
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    grid = np.c_[gx.ravel(), gy.ravel()]
    scores = {name: net(np.vstack([grid, query])) for name, net in models.items()}
    k = scores[names[0]].shape[1]
    colours = figures.class_colours(k)
    fig, art = figures.probability_figure(X, y, (lo[0], hi[0], lo[1], hi[1]), k, query)

    def draw(model, T):
        p = softmax(scores[model], T)
        art["image"].set_data(figures.confidence_image(p[:-1].reshape(steps, steps, k), colours))
        for bar, height in zip(art["bars"], p[-1]):
            bar.set_height(height)
        art["map_title"].set_text(f"{model}, T = {T:.2g}")
        art["bar_title"].set_text(f"most likely: class {p[-1].argmax()}, p = {p[-1].max():.2f}")
        return "probabilities at ★: " + ", ".join(f"{q:.2f}" for q in p[-1])

    return Live(draw, fig, cache=True, layout="top", model=dropdown(names, model or names[-1], "model"),
                T=log_slider(T, 0.1, 10, "temperature T", steps_per_decade=8))


def moons(scores, widths, X_train, y_train, X_test, y_test, units=4, steps=100):
    """A width slider over binary classifiers trained side by side on two moons.

    ``scores(points) -> (M, len(widths))`` gives every width's logit; it is evaluated once, on a grid.
    """
    widths = list(widths)
    both = np.vstack([X_train, X_test])
    lo, hi = both.min(axis=0) - 0.3, both.max(axis=0) + 0.3
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    grid_scores = scores(np.c_[gx.ravel(), gy.ravel()]).reshape(steps, steps, len(widths))
    train_acc = np.mean((scores(X_train) > 0) == y_train[:, None], axis=0)
    test_acc = np.mean((scores(X_test) > 0) == y_test[:, None], axis=0)
    fig, art = figures.moons_figure(widths, train_acc, test_acc, X_train, y_train, X_test, y_test,
                                    (lo[0], hi[0], lo[1], hi[1]))
    colours = figures.class_colours(2)

    def draw(units):
        k = widths.index(units)
        art["regions"].set_data(figures.region_image(grid_scores[:, :, k], colours))
        art["now"].set_xdata([units, units])
        art["map_title"].set_text(f"{units} hidden units")
        return f"{units} hidden units: training accuracy {train_acc[k]:.0%}, test accuracy {test_acc[k]:.0%}"

    return Live(draw, fig, cache=True, layout="top", units=_choice(widths, units, "hidden units"))
