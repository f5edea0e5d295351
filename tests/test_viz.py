import matplotlib as mpl
import numpy as np

import nnlib
from nnlib import viz


def test_style_is_projector_sized_and_colour_blind_safe():
    viz.use_style()
    assert mpl.rcParams["font.size"] >= 12 and mpl.rcParams["xtick.labelsize"] >= 12
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"][:3] == viz.PALETTE[:3]


def test_decision_boundary_and_history_plots():
    X, y = nnlib.datasets.moons(40)
    m = nnlib.models.mlp([2, 4, 2], rng=0)
    fig, axes = viz.figure(1, 2)
    viz.plot_decision_boundary(axes[0], m, X, y, steps=20, title="t")
    h = nnlib.training.History()
    h.append(loss=1.0, val_loss=2.0)
    viz.plot_history(axes[1], h)
    assert axes[0].get_title() == "t" and len(axes[1].lines) == 2


def test_decision_grid_covers_the_data():
    X = np.array([[0.0, 0.0], [1.0, 2.0]])
    grid, xx, yy = viz.decision_grid(X, steps=5, margin=0.5)
    assert grid.shape == (25, 2) and xx.min() == -0.5 and yy.max() == 2.5


def test_nice_ceil_snaps_up_to_1_2_5_steps():
    import pytest

    assert [viz.nice_ceil(v) for v in (0.07, 0.1, 0.11, 0.3, 0.9, 1.5, 4.2, 7, 10, 123)] == pytest.approx(
        [0.1, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 10.0, 200.0])
    with pytest.raises(ValueError, match="x"):
        viz.nice_ceil(0.0)
    with pytest.raises(ValueError, match="x"):
        viz.nice_ceil(-1.0)


def test_legibility_problems_finds_small_clipped_and_covering_texts():
    viz.use_style("projector")
    try:
        fig, ax = viz.figure(figsize=(4, 3))
        x = np.linspace(0, 1, 50)
        ax.plot(x, x, label="diagonal")
        ax.set_xlim(0, 1)
        ax.set_title("fine")
        assert viz.legibility_problems(fig) == []

        ax.text(0.5, 0.5, "tiny", fontsize=10)
        ax.text(0.9, 0.1, "runs off the right edge of the canvas", fontsize=20)
        ax.legend(loc="center")  # right over the diagonal
        kinds = {(kind, what) for kind, what, _ in viz.legibility_problems(fig)}
        assert kinds == {("small", "tiny"), ("clipped", "runs off the right edge of the canvas"),
                         ("legend", "fine")}
        # at the screen scale 12 pt is the floor
        assert ("small", "tiny") not in {(k, w) for k, w, _ in viz.legibility_problems(fig, min_pt=10)}
    finally:
        viz.use_style("screen")


def test_legibility_problems_ignores_tick_labels_outside_the_view():
    viz.use_style("projector")
    try:
        fig, ax = viz.figure(figsize=(4, 3))
        ax.plot([0, 1], [0, 1])
        ax.set_xticks([-5, 0, 1, 50])  # two ticks outside the limits: never drawn
        ax.set_xlim(0, 1)
        assert viz.legibility_problems(fig) == []
    finally:
        viz.use_style("screen")
