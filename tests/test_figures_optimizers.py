"""Figure code of notebook 04 that holds logic: contour levels, the race's axis limits."""

from types import SimpleNamespace

import numpy as np

from nnlib import viz
from nnlib.figures import optimizers as figures

BOWL = SimpleNamespace(name="bowl", f=lambda w: 0.5 * (w[..., 0] ** 2 + 20 * w[..., 1] ** 2),
                       xlim=(-5, 5), ylim=(-2, 2), start=(-4.5, 1.5))


def test_contours_are_log_spaced_above_the_given_minimum():
    fig, ax = figures.viz.figure()
    levels = figures.contours(ax, BOWL.f, BOWL.xlim, BOWL.ylim, fmin=0.0, levels=8).levels
    ratios = levels[1:] / levels[:-1]
    assert len(levels) == 8 and np.allclose(ratios, ratios[0]) and levels[0] >= 1e-3
    assert ax.get_xlim() == BOWL.xlim and ax.get_ylim() == BOWL.ylim


def test_race_figure_snaps_the_gap_axis_to_even_decades_and_floors_it():
    race = figures.RaceFigure()
    race.set_surface(BOWL, [(np.zeros(2), "minimum")], 0.0)
    path = np.array([[-4.5, 1.5], [-1.0, 0.1], [0.0, 0.0]])  # ends exactly at the minimum: gap 0
    race.update({name: path for name in figures.RACERS})
    lo, hi = race.ax_loss.get_ylim()
    assert lo % 2 == 0 and hi % 2 == 0 and lo <= -12 and hi >= np.log10(BOWL.f(path[0]))
    gap = race.gaps["SGD"].get_ydata()
    assert gap[-1] == -12  # log10 of 0 is drawn at the floor


def test_race_figure_keeps_its_limits_when_a_path_barely_moves():
    race = figures.RaceFigure()
    race.set_surface(BOWL, [], 0.0)
    path = np.array([[-4.5, 1.5], [-1.0, 0.1]])
    race.update({name: path for name in figures.RACERS})
    limits = race.ax_loss.get_xlim(), race.ax_loss.get_ylim()
    race.update({name: path * 1.0001 for name in figures.RACERS})
    assert (race.ax_loss.get_xlim(), race.ax_loss.get_ylim()) == limits


def test_the_minibatch_figure_leaves_the_noiseless_full_batch_off_its_log_axis():
    noise = {1: (4.0, 4.1), 4: (2.0, 2.05), 16: (0.0, 0.0)}
    fig, artists = figures.minibatch_figure(lambda t: np.sum(t**2, axis=-1), (0, 0), [1, 4, 16], noise)
    measured = fig.axes[1].lines[0]
    assert list(measured.get_xdata()) == [1, 4]
    figures.update_minibatch(artists, np.zeros((3, 2)), 16, 2, 0.0)
    assert len(artists.ring.get_xdata()) == 0  # no ring where there is no noise


def test_update_saddle_floors_the_distance_and_draws_the_growth_guide():
    surface = SimpleNamespace(name="s", f=lambda w: w[..., 0] ** 2 - w[..., 1] ** 2, xlim=(-1, 1), ylim=(-1, 1),
                              start=(1.0, 0.0))
    fig, artists = figures.saddle_figure(surface, [], -1.0, steps=10)
    path = np.array([[1.0, 0.0], [0.5, 1e-3], [0.2, 1e-2]])
    figures.update_saddle(artists, path, 0.1, "title")
    assert artists.dist.get_ydata()[0] == artists.floor
    np.testing.assert_allclose(artists.guide.get_ydata(), artists.floor * 1.1 ** np.arange(3))


def test_restarts_figure_keeps_its_legend_off_the_data_at_both_scales():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(30, 1))
    y = np.sin(2 * X)
    grid = np.linspace(-2.2, 2.2, 200)
    curves = [np.sin(2 * grid) + 0.2 * rng.normal() * grid for _ in range(12)]
    losses = rng.uniform(0.01, 0.06, size=12)
    for scale in ("screen", "projector"):
        viz.use_style(scale)
        try:
            fig = figures.restarts_figure(X, y, grid, curves, losses, int(np.argmin(losses)))
            assert viz.legibility_problems(fig) == [], scale
        finally:
            viz.use_style("screen")
