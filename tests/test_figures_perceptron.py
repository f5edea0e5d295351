"""nnlib.figures.perceptron: notebook 01's figures, their geometry and their update functions."""

import numpy as np
import pytest

from nnlib import viz
from nnlib.figures import perceptron as figures


@pytest.fixture(params=["screen", "projector"])
def scale(request):
    viz.use_style(request.param)
    yield request.param
    viz.use_style("screen")


# ---- line_in_box ------------------------------------------------------------------------------
@pytest.mark.parametrize("w, b", [((1.0, 2.0), -1.5), ((1.0, -1.0), 0.2), ((-3.0, 0.5), 0.7), ((0.0, 1.0), -0.3),
                                  ((1.0, 0.0), -1.2)])
def test_line_in_box_lies_on_the_line_and_spans_the_box(w, b):
    xs, ys = figures.line_in_box(w, b, (-0.5, 1.5))
    assert xs.shape == ys.shape == (2,)
    np.testing.assert_allclose(w[0] * xs + w[1] * ys + b, 0, atol=1e-12)
    assert np.all((xs >= -0.5 - 1e-12) & (xs <= 1.5 + 1e-12) & (ys >= -0.5 - 1e-12) & (ys <= 1.5 + 1e-12))
    # the two ends sit on the box's edges: the line is drawn across the whole box
    on_edge = np.isclose(np.abs(np.r_[xs, ys] - 0.5), 1.0)
    assert on_edge[[0, 2]].any() and on_edge[[1, 3]].any()


def polygon_area(P):
    x, y = P[:, 0], P[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


@pytest.mark.parametrize("w, b, area", [((1.0, 1.0), -2.0, 0.5), ((1.0, 0.0), -0.5, 2.0), ((0.0, -1.0), 0.5, 2.0),
                                        ((1.0, 1.0), 5.0, 4.0), ((1.0, 1.0), -5.0, 0.0), ((0.0, 0.0), 0.0, 4.0)])
def test_half_plane_is_the_part_of_the_box_where_the_unit_fires(w, b, area):
    P = figures.half_plane(w, b, (-0.5, 1.5))
    assert P.shape[1] == 2 and np.isclose(polygon_area(P) if len(P) else 0.0, area)
    assert np.all(P @ np.array(w) + b >= -1e-12)


def test_line_in_box_is_empty_when_there_is_no_line_or_it_misses():
    for w, b in (((0.0, 0.0), 1.0), ((1.0, 1.0), -10.0)):
        xs, ys = figures.line_in_box(w, b, (-0.5, 1.5))
        assert xs.size == ys.size == 0


@pytest.mark.parametrize("w, b, box, word", [
    ((1.0, 2.0, 3.0), 0.0, (0, 1), "shape"), ((1.0, np.nan), 0.0, (0, 1), "finite"),
    ((1.0, 1.0), np.inf, (0, 1), "finite"), ((1.0, 1.0), 0.0, (1, 0), "lo < hi"),
])
def test_line_in_box_rejects_bad_input(w, b, box, word):
    with pytest.raises(ValueError, match=word):
        figures.line_in_box(w, b, box)


# ---- figures a widget updates --------------------------------------------------------------------
def test_gate_update_draws_the_line_the_outputs_and_the_name(scale):
    fig, update = figures.gate()
    w, theta = np.array([1.0, 1.0]), 1.5
    update(w, theta, np.array([0.0, 1.0, 1.0, 2.0]), np.array([0, 0, 0, 1]), "AND")
    ax = fig.axes[0]
    (line,) = [a for a in ax.lines if a.get_label().startswith("$w_1")]
    np.testing.assert_allclose(np.dot(w, [line.get_xdata(), line.get_ydata()]), theta)
    assert "AND" in ax.get_title()
    assert [t.get_text() for t in ax.texts][3] == "sum 2: fires"
    (fires,) = [p for p in ax.patches if p.get_zorder() > 0]  # the shaded half-plane over the silent box
    corners = fires.get_xy()
    assert np.all(corners @ w >= theta - 1e-12) and [1.5, 1.5] in corners.tolist()
    update(np.zeros(2), 0.5, np.zeros(4), np.zeros(4, int), None)
    assert len(line.get_xdata()) == 0 and "no named gate" in ax.get_title()


def test_learning_rings_the_wrong_points(scale):
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]])
    fig, update = figures.learning(X, np.array([0, 1, 1]))
    update(np.array([1.0, 0.0]), -0.5, np.array([False, False, True]), 4)
    ax = fig.axes[0]
    rings = max(ax.collections, key=lambda c: c.get_zorder())
    np.testing.assert_array_equal(rings.get_offsets(), [[2.0, -1.0]])
    assert ax.get_title() == "after 4 updates: 1 wrong"


def test_xor_training_update_moves_points_grid_and_line(scale):
    fig, update = figures.xor_training((-1.1, 1.1), n_lines=3)
    hidden = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, -1.0], [1.0, 1.0]])
    polylines = [np.c_[np.linspace(-1, 1, 5), np.full(5, v)] for v in (-0.5, 0.0, 0.5)] * 2
    update(np.full((10, 10), 0.25), hidden, polylines, (np.array([1.0, -1.0]), -1.0), "in", "hidden")
    ax_in, ax_h = fig.axes[:2]  # the third is the colourbar
    assert ax_in.images[0].get_array().shape == (10, 10) and ax_h.get_title() == "hidden"
    class1 = [c for c in ax_h.collections if c.get_label() == "class 1"][0]
    np.testing.assert_array_equal(class1.get_offsets(), hidden[1:3])
    dashed = [ln for ln in ax_h.lines if ln.get_linestyle() == "--"][0]
    np.testing.assert_allclose(dashed.get_xdata() - dashed.get_ydata() - 1.0, 0, atol=1e-12)


def test_two_relus_snaps_the_hidden_axes_to_hold_every_point(scale):
    X, y = np.array([[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]]), np.array([1, 0, 1])
    fig, update = figures.two_relus(X, y)
    W, b = np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([-1.0, -1.0])
    update(W, b, np.array([[0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]), (np.array([1.0, 1.0]) / np.sqrt(2), -0.35), "t")
    assert fig.axes[1].get_xlim() == (-0.1, 2.0)
    update(W, b, np.array([[0.0, 3.2], [0.0, 0.0], [1.0, 0.0]]), None, "t")
    assert fig.axes[1].get_xlim() == (-0.25, 5.0)
    arrow = fig.axes[0].collections[-1]
    np.testing.assert_allclose(arrow.get_offsets(), [[-1.0, 0.0]])  # the foot of unit 2's line x1 = -1


def test_activations_shades_where_the_slope_is_small(scale):
    fig, update = figures.activations()
    z = np.linspace(-6, 6, 13)
    update(z, np.maximum(z, 0), (z > 0).astype(float), "relu")
    shade = fig.axes[1].images[0].get_array()
    np.testing.assert_array_equal(shade[0], (z <= 0).astype(float))
    assert fig.axes[0].get_title() == "relu" and "54%" in fig.axes[1].get_title()


# ---- static figures ----------------------------------------------------------------------------
def test_static_figures_build_in_both_scales(scale):
    fig = figures.restaurant()
    assert len(fig.axes) == 2 and "food quality" in [t.get_text() for t in fig.axes[0].texts]
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([1, 0, 0, 1])
    fig = figures.spaces(X, X, y, lines=(None, (np.array([0.0, 1.0]), -0.5)))
    assert len(fig.axes[0].lines) == 0 and len(fig.axes[1].lines) == 1
    fig = figures.restarts(np.full((3, 5), 0.5), np.array([True, False, False]), X, "stuck")
    assert fig.axes[0].get_title().startswith("1 of 3")
    fig = figures.saturation([0.1, 1.0], {"tanh": [0.0, 0.5]}, [-1.0, 0.0], {"relu": [0.2, 0.0]})
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [0.0, 50.0])
    assert viz.scale() == scale
