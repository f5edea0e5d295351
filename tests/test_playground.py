"""Notebook 06 (the Playground): its figure functions and its checkers."""

import numpy as np
import pytest

import nnlib
from nnlib import viz
from nnlib.exercises import playground as checks
from nnlib.figures import playground as figures


# ---- figure logic ------------------------------------------------------------------------
def test_extent_is_a_square_round_every_point_with_padding():
    X = np.array([[-1.0, 0.2], [2.0, 0.4]])
    x0, x1, y0, y1 = figures.extent_of(X, np.array([[0.5, -0.3]]))
    assert x1 - x0 == pytest.approx(y1 - y0)  # square: the plane is not stretched
    assert x0 < -1 and x1 > 2 and y0 < -0.3 and y1 > 0.4
    assert all(abs(2 * v - round(2 * v)) < 1e-9 for v in (x0, y0))  # halves: more noise seldom moves it


def test_extent_of_nothing_is_refused():
    with pytest.raises(ValueError, match="extent_of: expected at least one point"):
        figures.extent_of(np.zeros((0, 2)))


@pytest.mark.parametrize("limit, value, expected", [(100, 50, 100), (100, 100, 100), (100, 101, 200),
                                                    (100, 790, 800), (1.0, np.inf, 1.0), (1.0, np.nan, 1.0)])
def test_grow_limit_doubles_until_the_value_fits(limit, value, expected):
    assert figures.grow_limit(limit, value) == expected


def test_grow_limit_needs_a_positive_limit():
    with pytest.raises(ValueError, match="grow_limit: argument 'limit' must be > 0"):
        figures.grow_limit(0, 5)


def test_scaled_divides_by_the_largest_magnitude():
    np.testing.assert_allclose(figures.scaled([[-4.0, 2.0], [1.0, 0.0]]), [[-1, 0.5], [0.25, 0]])
    np.testing.assert_array_equal(figures.scaled(np.zeros((2, 2))), np.zeros((2, 2)))  # a dead unit stays 0


def test_montage_puts_layer_l_in_tile_row_l_from_the_top_and_leaves_the_rest_blank():
    first = [np.full((3, 3), 2.0), np.full((3, 3), -1.0)]
    second = [np.full((3, 3), 5.0)]
    image = figures.montage([first, second], rows=3, cols=4, gap=1)
    assert image.shape == (3 * 4 - 1, 4 * 4 - 1)
    # origin="lower": the image's last rows are drawn on top, where layer 1 belongs
    np.testing.assert_array_equal(image[8:11, 0:3], 1.0)
    np.testing.assert_array_equal(image[8:11, 4:7], -1.0)
    np.testing.assert_array_equal(image[4:7, 0:3], 1.0)
    assert np.isnan(image[0:3]).all() and np.isnan(image[8:11, 8:]).all() and np.isnan(image[3]).all()


def test_montage_leaves_out_what_does_not_fit():
    maps = [[np.ones((2, 2))] * 5] * 3
    image = figures.montage(maps, rows=2, cols=3, gap=0)
    assert image.shape == (4, 6) and not np.isnan(image).any()


# ---- the figure --------------------------------------------------------------------------
@pytest.fixture(params=["screen", "projector"])
def scale(request):
    viz.use_style(request.param)
    yield request.param
    viz.use_style("screen")


def data():
    X, y = nnlib.datasets.moons(60, noise=0.1, seed=0)
    return X[:40], y[:40], X[40:], y[40:]


def test_playground_figure_shows_points_boundary_losses_and_units(scale):
    X_train, y_train, X_test, y_test = data()
    extent = figures.extent_of(X_train, X_test)
    fig = figures.PlaygroundFigure((-1, 1, -1, 1))
    fig.show_data(X_train, y_train, X_test, y_test, extent)
    assert fig.boundary.get_xlim() == pytest.approx(extent[:2]) and fig.shade.get_extent() == pytest.approx(extent)
    assert len(fig.points["train", 1].get_offsets()) == (y_train == 1).sum()
    assert len(fig.points["test", 0].get_offsets()) == (y_test == 0).sum()
    P = np.linspace(0, 1, 30)[None, :] * np.ones((30, 1))
    fig.show_boundary(P)
    np.testing.assert_array_equal(fig.shade.get_array(), P)
    fig.show_losses(np.linspace(0.7, 0.1, 150), np.linspace(0.7, 0.3, 150))
    assert fig.losses.get_xlim() == (0, 200) and fig.losses.get_ylim() == (0, 1)
    fig.show_units([[np.eye(8)] * 3, [np.ones((8, 8))] * 2])
    shown = fig.unit_image.get_array()
    assert (~np.isnan(shown)).sum() == 5 * 64
    fig.reset_losses()
    assert fig.losses.get_xlim() == (0, 100) and len(fig.train_curve.get_xdata()) == 0
    fig.fig.canvas.draw()
    minimum = 18 if scale == "projector" else 12  # legible on a projector: fonts of 18 pt at least
    sizes = [t.get_fontsize() for t in fig.fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
             if t.get_text()]
    assert sizes and min(sizes) >= minimum


def test_the_boundary_has_a_colourbar_and_class_colours_are_okabe_ito():
    fig = figures.PlaygroundFigure((-1, 1, -1, 1))
    labels = [ax.get_ylabel() for ax in fig.fig.axes]
    assert "P(orange class)" in labels and "unit / max |unit|" in labels
    faces = {tuple(np.round(fig.points["train", k].get_facecolor()[0][:3], 3)) for k in (0, 1)}
    palette = {tuple(np.round(np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)]) / 255, 3)) for c in viz.PALETTE}
    assert faces <= palette


def test_data_sets_draws_one_plane_per_set():
    fig = figures.data_sets({"moons": data(), "again": data()})
    assert [ax.get_title() for ax in fig.axes] == ["moons", "again"]
    assert all(len(ax.collections) == 4 for ax in fig.axes)  # train and test, two classes each


# ---- the checkers --------------------------------------------------------------------------
def test_decision_grid_checker_accepts_the_reference_and_refuses_swapped_axes(capsys):
    assert checks.decision_grid(checks.grid_reference)
    assert not checks.decision_grid(lambda prob, extent, n: checks.grid_reference(prob, extent, n).T)
    x0_only = lambda prob, extent, n: checks.grid_reference(prob, (extent[0], extent[1]) * 2, n)  # noqa: E731
    assert not checks.decision_grid(x0_only)
    one_short = lambda prob, extent, n: checks.grid_reference(prob, extent, n + 1)[:n, :n]  # noqa: E731
    assert not checks.decision_grid(one_short)
    out = capsys.readouterr().out
    assert out.count("✗ Not yet:") == 3 and "x2" in out


def test_grid_reference_puts_x1_along_columns_and_x2_along_rows():
    P = checks.grid_reference(lambda pts: pts[:, 0] + 10 * pts[:, 1], (0, 1, 0, 2), 3)
    np.testing.assert_allclose(P[0], [0, 0.5, 1])
    np.testing.assert_allclose(P[:, 0], [0, 10, 20])


def _circles_with(radius_outer=1.0, radius_inner=0.5, turn=2 * np.pi, noise_scale=1.0, shuffle_labels=False,
                  seeded=True):
    def circles(n, noise=0.1, seed=0):
        rng = np.random.default_rng(seed if seeded else None)
        y = np.r_[np.zeros(n // 2, np.int64), np.ones(n - n // 2, np.int64)]
        angle = rng.uniform(0, turn, n)
        r = np.where(y == 0, radius_outer, radius_inner)
        X = r[:, None] * np.c_[np.cos(angle), np.sin(angle)] + noise_scale * noise * rng.standard_normal((n, 2))
        return X, (rng.permutation(y) if shuffle_labels else y)

    return circles


@pytest.mark.parametrize("student, hint", [
    (_circles_with(radius_inner=0.6), "radius 0.5"),
    (_circles_with(turn=np.pi), "all round"),
    (_circles_with(noise_scale=2.0), "spread by about the noise"),
    (_circles_with(shuffle_labels=True), "radius 1"),
    (_circles_with(seeded=False), "same seed"),
    (lambda n, noise=0.1, seed=0: np.zeros((n, 2)), "two arrays"),
    (lambda n, noise=0.1, seed=0: (np.zeros((n, 2)), np.zeros(n)), "integer labels"),
    (lambda n, noise=0.1, seed=0: (np.zeros((n, 2)), np.zeros(n, int)), "half of the points"),
])
def test_circles_checker_names_what_is_wrong(student, hint, capsys):
    assert not checks.circles(student)
    assert hint in capsys.readouterr().out


def test_circles_checker_accepts_nnlib_and_the_notebooks_solution(capsys):
    assert checks.circles(nnlib.datasets.circles)
    assert checks.circles(_circles_with())
    assert capsys.readouterr().out.count("✓ Right.") == 2


def test_checkers_say_not_yet_on_a_stub(capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert not checks.circles(stub) and not checks.decision_grid(stub)
    assert capsys.readouterr().out.count("NotImplementedError") == 2
    assert not checks.circles("circles") and not checks.decision_grid(None)
