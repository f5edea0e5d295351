"""Figure code of notebook 02: the pieces with logic (colour maps of probabilities, panels, scales)."""

import numpy as np
import pytest

from nnlib import viz
from nnlib.figures import approximation as figures


@pytest.fixture(autouse=True)
def screen_scale():
    viz.use_style("screen")
    yield
    viz.use_style("screen")


def test_confidence_image_is_pure_colour_when_sure_and_white_when_undecided():
    colours = figures.class_colours(3)
    p = np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [[1 / 3, 1 / 3, 1 / 3], [0.2, 0.6, 0.2]]])
    img = figures.confidence_image(p, colours)
    assert img.shape == (2, 2, 3)
    np.testing.assert_allclose(img[0, 0], colours[0])
    np.testing.assert_allclose(img[0, 1], colours[2])
    np.testing.assert_allclose(img[1, 0], [1, 1, 1])
    halfway = 1 - 0.4 * (1 - colours[1])  # top probability 0.6 is 40% of the way from 1/3 to 1
    np.testing.assert_allclose(img[1, 1], halfway)
    assert np.all((img >= 0) & (img <= 1))


def test_region_image_colours_by_the_sign_of_the_logit():
    colours = figures.class_colours(2)
    img = figures.region_image(np.array([[-1.0, 2.0]]), colours, alpha=1.0)
    np.testing.assert_allclose(img[0, 0], colours[0])
    np.testing.assert_allclose(img[0, 1], colours[1])


def test_bishop_panels_draw_points_units_and_output_per_target():
    x = np.linspace(-1, 1, 11)
    X = np.linspace(-1, 1, 5).reshape(-1, 1)
    panels = {f"target {i}": (X, X**2, np.tanh(np.outer(x, [1.0, -2.0, 0.5])), x**2) for i in range(3)}
    fig = figures.bishop_panels(x, panels)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3 and len(fig.axes) == 4  # two rows of two; the fourth is hidden
    for ax, title in zip(visible, panels):
        assert ax.get_title() == title
        assert len(ax.lines) == 1 + 3 + 1  # points, one dashed curve per unit, the output


def test_error_against_width_floors_exact_fits_on_the_log_axis():
    errors = {("a", "tanh"): np.array([0.1, 0.0]), ("a", "relu"): np.array([0.2, 1e-3])}
    fig = figures.error_against_width([1, 2], errors, ["tanh", "relu"], ["a"])
    y = fig.axes[0].lines[0].get_ydata()
    assert y[1] == 1e-12 and fig.axes[0].get_yscale() == "log"


def test_lines_grow_with_the_projector_scale():
    fig, art = figures.bump_figure()
    screen = art["bump"].get_linewidth()
    viz.use_style("projector")
    fig, art = figures.bump_figure()
    assert art["bump"].get_linewidth() == pytest.approx(1.5 * screen)
    assert fig.get_figwidth() == pytest.approx(1.5 * 8)


def test_widget_figures_fix_their_axis_limits():
    # a redraw only blits when no axis rescales: every widget figure sets its limits itself
    for fig, _ in (figures.width_figure([1, 2, 4]), figures.bump_figure(), figures.staircase_figure(),
                   figures.probability_figure(np.zeros((3, 2)), np.array([0, 1, 2]), (-1, 1, -1, 1), 3,
                                              np.array([0.0, 0.0])),
                   figures.moons_figure([1, 2], [0.5, 1.0], [0.5, 0.7], np.zeros((2, 2)), np.array([0, 1]),
                                        np.ones((2, 2)), np.array([1, 0]), (-1, 1, -1, 1))):
        for ax in fig.axes:
            assert not ax.get_autoscalex_on() and not ax.get_autoscaley_on()


def test_bishop_panels_legend_sits_above_the_panels_at_the_projector_scale():
    x = np.linspace(-1, 1, 50)
    hidden = np.tanh(np.outer(x, [2.0, -1.0, 0.5]))
    panels = {name: (x[::5, None], x[::5, None] ** 2, hidden, x**2) for name in ("a", "b", "c", "d")}
    viz.use_style("projector")
    try:
        fig = figures.bishop_panels(x, panels)
        assert viz.legibility_problems(fig) == []
        [legend] = fig.legends
        fig.canvas.draw()
        top = max(ax.get_tightbbox().y1 for ax in fig.axes if ax.get_visible())
        assert legend.get_window_extent().y0 >= top - 1  # above every panel, over no data
    finally:
        viz.use_style("screen")


def test_losses_against_margin_legend_covers_no_curve():
    m = np.linspace(-2, 3, 501)
    curves = {"0-1": (m < 0).astype(float), "hinge": np.maximum(0, 1 - m),
              "logistic": np.log1p(np.exp(-m)), "squared": (1 - m) ** 2}
    for scale in ("screen", "projector"):
        viz.use_style(scale)
        try:
            assert viz.legibility_problems(figures.losses_against_margin(m, curves)) == [], scale
        finally:
            viz.use_style("screen")
