"""nnlib.figures.lenet: notebook 08's figures draw digits bright on dark and give signed maps a colourbar."""

import numpy as np
import pytest
from matplotlib.image import AxesImage

from nnlib import viz
from nnlib.figures import lenet as figures
from nnlib.figures.convolution import text_colour

RNG = np.random.default_rng(0)
DIGITS = RNG.random((20, 1, 28, 28)).astype(np.float32)
LABELS = np.repeat(np.arange(10), 2)


@pytest.fixture(autouse=True, params=["screen", "projector"])
def scale(request):
    viz.use_style(request.param)
    yield request.param
    viz.use_style("screen")


def images(fig):
    return [im for ax in fig.axes for im in ax.get_images()]


def colourbar_of(image):
    return getattr(image, "colorbar", None)


def test_mosaic_scales_each_map_to_its_own_largest_value_and_leaves_gaps_blank():
    maps = np.stack([np.full((3, 4), 2.0), -np.arange(12.0).reshape(3, 4), np.zeros((3, 4))])
    tiles = figures.mosaic(maps, ncols=2)
    assert tiles.shape == (3 * 2 + 1, 4 * 2 + 1)
    np.testing.assert_array_equal(tiles[:3, :4], 1.0)
    assert tiles[:3, 5:].min() == -1.0 and np.isnan(tiles[3]).all() and np.isnan(tiles[:, 4]).all()
    np.testing.assert_array_equal(tiles[4:, :4], 0.0)  # an all-zero map stays zero, no division by 0
    with pytest.raises(ValueError, match="'maps'"):
        figures.mosaic(np.zeros((3, 4)), 2)
    with pytest.raises(ValueError, match="'ncols'"):
        figures.mosaic(maps, 0)


def test_digits_are_drawn_bright_ink_on_dark_paper_on_a_fixed_scale():
    for fig in (figures.samples(DIGITS, LABELS, per_class=2), figures.digits(DIGITS[:3], ["a", "b", "c"]),
                figures.pixel_statistics(DIGITS, DIGITS[:10])):
        shown = images(fig)
        assert shown
        for im in shown:
            assert im.get_cmap().name == "gray" and im.norm.vmin == 0 and im.norm.vmax == 1
            lo, hi = im.get_cmap()(0.0), im.get_cmap()(1.0)
            assert sum(lo[:3]) < sum(hi[:3])  # 0 (paper) is dark, 1 (ink) is bright


def test_the_adversarial_perturbation_has_a_colourbar_centred_at_zero():
    x = RNG.random((1, 1, 28, 28))
    x_adv = np.clip(x + 0.1 * np.sign(RNG.standard_normal(x.shape)), 0, 1)
    p = np.full(10, 0.1)
    fig = figures.adversarial(x, x_adv, p, p, 0.1)
    signed = [im for im in images(fig) if im.get_cmap().name == viz.CMAP_DIVERGING]
    assert len(signed) == 1 and colourbar_of(signed[0]) is not None
    assert signed[0].norm.vmin == pytest.approx(-0.1) and signed[0].norm.vmax == pytest.approx(0.1)
    np.testing.assert_allclose(signed[0].get_array(), (x_adv - x)[0, 0])
    grey = [im for im in images(fig) if im.get_cmap().name == "gray"]
    assert len(grey) == 2  # original and adversarial, both bright on dark


def test_every_kernel_and_response_of_the_filter_figure_has_its_own_centred_colourbar():
    hand = np.stack([np.full((3, 3), 1 / 9), np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])])
    maps = RNG.standard_normal((2, 28, 28))
    fig = figures.filters(hand, maps, RNG.standard_normal((3, 5, 5)), RNG.standard_normal((3, 28, 28)),
                          ["blur", "Laplacian"])
    shown = images(fig)
    assert len(shown) == 2 + 2 + 3 + 3
    for im in shown:
        assert colourbar_of(im) is not None and im.norm.vcenter == 0
    blur, laplacian = shown[0], shown[1]
    assert blur.norm.vmax == pytest.approx(1 / 9) and laplacian.norm.vmax == pytest.approx(4)  # own scales
    assert np.nanmax(np.abs(shown[2].get_array())) == pytest.approx(1)  # responses ÷ their max


def test_training_curves_follow_the_losses_and_keep_a_diverging_run_on_the_plot():
    fig, update = figures.training_curves(50, loss_max=3.0)
    losses = np.r_[np.linspace(2.3, 0.5, 30), [np.inf, 12.0]]
    update(losses, [25], [0.8], caption_text="a run")
    raw, smooth = [line for line in fig.axes[0].get_lines() if len(line.get_xdata())][-2:]
    np.testing.assert_array_equal(raw.get_xdata(), np.arange(1, 33))
    assert raw.get_ydata().max() == 3.0  # infinity and 12 are drawn at the top edge
    np.testing.assert_allclose(smooth.get_ydata()[:20], figures.moving_average(losses[:20]))
    acc = [line for line in fig.axes[1].get_lines() if len(line.get_xdata())]
    assert list(acc[-1].get_xdata()) == [25] and list(acc[-1].get_ydata()) == [0.8]
    assert fig._suptitle.get_text() == "a run"
    assert fig.axes[0].get_xlim() == (0, 50) and fig.legends  # the legend sits outside the axes


def test_moving_average_is_a_trailing_mean_with_a_shorter_window_at_the_start():
    v = np.arange(1.0, 7.0)
    np.testing.assert_allclose(figures.moving_average(v, 3), [1, 1.5, 2, 3, 4, 5])
    assert figures.moving_average([], 3).size == 0


def test_confusion_numbers_are_readable_on_their_cells():
    cm = np.diag([100, 50, 3]) + np.array([[0, 4, 0], [1, 0, 0], [0, 0, 0]])
    fig = figures.confusion(cm)
    ax = fig.axes[0]
    im = ax.get_images()[0]
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in ax.texts}
    assert set(texts) == {tuple(ij) for ij in np.argwhere(cm)}
    for (i, j), t in texts.items():
        assert t.get_text() == str(cm[i, j])
        assert t.get_color() == text_colour(im.cmap(im.norm(np.log1p(cm[i, j]))))


def test_feature_maps_update_moves_the_images_the_bars_and_the_title():
    stages = [("C1", figures.mosaic(RNG.standard_normal((6, 28, 28)), 4)), ("S2", figures.mosaic(
        RNG.standard_normal((6, 14, 14)), 4))]
    p = np.eye(10)[3]
    fig, update = figures.feature_maps(stages, DIGITS[0], p, 3)
    assert "label 3, says 3" in fig.axes[0].get_title()
    q = np.eye(10)[5]
    update(stages[::-1][:1] + stages[1:], DIGITS[1], q, 3)
    assert "says 5" in fig.axes[0].get_title()
    assert [b.get_height() for b in fig.axes[1].patches] == list(q)
    maps = [ax.get_images()[0] for ax in fig.axes[2:4]]
    assert all(isinstance(im, AxesImage) and (im.norm.vmin, im.norm.vmax) == (-1, 1) for im in maps)
    assert colourbar_of(maps[-1]) is not None  # one colourbar for all stages: they share the -1 to 1 scale


def test_robustness_explorer_swaps_the_curve_with_the_perturbation():
    curves = {"noise": (np.linspace(0, 1, 3), np.array([1.0, 0.5, 0.1])),
              "shift": (np.array([-2, 0, 2]), np.array([0.9, 1.0, 0.8]))}
    labels = {"noise": "σ", "shift": "pixels"}
    fig, update = figures.robustness_explorer(curves, labels, "noise")
    update("shift", 2, 0.8, DIGITS[0], "shift 2")
    ax = fig.axes[0]
    curve, ring = ax.get_lines()
    assert list(curve.get_xdata()) == [-2, 0, 2] and ax.get_xlabel() == "pixels"
    assert list(ring.get_xdata()) == [2] and list(ring.get_ydata()) == [0.8]
    assert fig.axes[1].get_title() == "shift 2"


def test_static_figures_are_built_in_both_scales(scale):
    figs = [figures.connection_table(np.eye(16, 6, dtype=bool)),
            figures.robustness({"noise": ([0, 1], [1.0, 0.2])}, {"noise": "σ"})]
    for fig in figs:
        fig.canvas.draw()
        sizes = {t.get_fontsize() for ax in fig.axes for t in [ax.title, ax.xaxis.label]}
        assert min(sizes) >= (18 if scale == "projector" else 12)
