"""nnlib.figures.convolution: legible numbers on every cell, signed maps centred at zero with a
colourbar, and update functions that move the artists they promise, in both scales."""

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.colorbar import Colorbar
from matplotlib.colors import to_rgba

from nnlib import viz
from nnlib.figures import convolution as figures


@pytest.fixture(params=["screen", "projector"])
def scale(request):
    viz.use_style(request.param)
    yield request.param
    viz.use_style("screen")


def contrast(a, b):
    """WCAG 2 contrast ratio of two colours."""
    def luminance(c):
        rgb = np.array(to_rgba(c)[:3])
        return float(np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4) @ [0.2126, 0.7152, 0.0722])
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def visible_texts(fig):
    return [t for t in fig.findobj(mpl.text.Text) if t.get_visible() and t.get_text().strip()]


def assert_legible(fig, scale):
    """Every text at least 12 pt (18 on a projector), and every number on a cell readable on it."""
    smallest = 18 if scale == "projector" else 12
    for text in visible_texts(fig):
        assert text.get_fontsize() >= smallest - 1e-9, (text.get_text(), text.get_fontsize())


# ---- helpers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cmap", ["RdBu_r", "Greys", "magma", "viridis"])
def test_text_colour_is_the_more_legible_of_black_and_white(cmap):
    for colour in mpl.colormaps[cmap](np.linspace(0, 1, 64)):
        chosen = figures.text_colour(colour)
        other = "white" if chosen == "black" else "black"
        assert contrast(chosen, colour) >= contrast(other, colour) - 1e-9
        assert contrast(chosen, colour) >= 4.5  # WCAG AA for normal text


def test_text_colour_on_the_extremes():
    assert figures.text_colour("white") == "black" and figures.text_colour("#67001f") == "white"  # dark red
    assert figures.text_colour(viz.ORANGE) == "black" and figures.text_colour("#053061") == "white"


def test_fmt_and_signed_limit():
    assert [figures.fmt(v) for v in (3.0, -4.0, 0.0, 0.25, np.nan, 1 / 3)] == ["3", "-4", "0", "0.25", "", "0.333"]
    values = np.r_[np.linspace(-1, 1, 99), 50.0]
    assert figures.signed_limit(values) < 2 and figures.signed_limit(np.zeros(5)) == 1.0


def test_kernel_text_writes_blurs_as_fractions():
    assert figures.kernel_text(np.ones((3, 3)) / 9).splitlines()[1].startswith("1/9 ×")
    assert "1/16 ×" in figures.kernel_text(np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)
    assert figures.kernel_text(np.eye(3)).splitlines()[0] == "[ 1  0  0]"
    assert "0.3" in figures.kernel_text(np.full((3, 3), 0.3))


# ---- cells with numbers -----------------------------------------------------------------------------------
def test_window_numbers_read_on_their_cells_and_the_typo_is_framed(scale):
    fig, update = figures.window()
    image = np.array([[0, 1, 2], [3, 9, 5], [6, 7, 8.0]])
    kernel = np.array([[0, 1], [1, -4.0]])
    padded = np.pad(image, 1)
    out = np.array([[np.sum(padded[r:r + 2, c:c + 2] * kernel) for c in range(4)] for r in range(4)])
    step = dict(row=1, col=0, top=1, left=0, patch=padded[1:3, 0:2], products=padded[1:3, 0:2] * kernel)
    update("example", padded, 1, kernel, out, step, {(1, 0): 30.0})
    assert fig.axes[3].get_title() == f"output[1, 0] = {out[1, 0]:g} (slide: 30)"
    assert any("another number" in t.get_text() for t in fig.texts)
    for ax in fig.axes:
        image_artist = ax.images[0]
        for text in ax.texts:
            r, c = (int(round(v)) for v in text.get_position())
            cell = image_artist.cmap(image_artist.norm(np.ma.masked_invalid(image_artist.get_array())))[r, c]
            assert contrast(text.get_color(), cell) >= 4.5, (ax.get_title(), text.get_text())
    assert_legible(fig, scale)
    update("another", np.ones((3, 3)), 0, np.ones((1, 1)), np.ones((3, 3)), dict(row=0, col=0, top=0, left=0,
           patch=np.ones((1, 1)), products=np.ones((1, 1))), {})
    assert len(fig.axes[0].texts) == 9 and not any("another number" in t.get_text() for t in fig.texts)


def test_weight_matrices_label_and_colour_every_kind(scale):
    kinds = ["fully connected", "locally connected", "shared weights"]
    fig, update = figures.weight_matrices(kinds)
    n = 5
    i, j = np.indices((n, n))
    ids = [i * n + j, np.where(abs(i - j) <= 1, i * n + j, -1), np.where(abs(i - j) <= 1, j - i + 1, -1)]
    update(n, ids, ["a", "b", "c"])
    labels = [[t.get_text() for t in ax.texts if t.get_visible()] for ax in fig.axes]
    assert len(labels[0]) == 25 and len(labels[1]) == 13 and sorted(set(labels[2])) == ["θ0", "θ1", "θ2"]
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    assert_legible(fig, scale)
    update(10, [np.resize(a, (10, 10)) for a in ids], ["a", "b", "c"])
    assert not any(t.get_visible() for ax in fig.axes for t in ax.texts)  # too many cells: colours only


def test_conv_matrix_numbers_every_non_zero_entry(scale):
    M = np.zeros((4, 9))
    for r, cols in enumerate([(0, 1, 3, 4), (1, 2, 4, 5), (3, 4, 6, 7), (4, 5, 7, 8)]):
        M[r, cols] = [1, 2, 3, 4]
    fig = figures.conv_matrix(M, (3, 3))
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(["1", "2", "3", "4"] * 4)
    assert "16 of 36" in ax.get_title() and list(ax.get_yticks()) == [0, 2]
    assert_legible(fig, scale)


def test_learning_marks_the_step_on_the_loss_curve(scale):
    hidden = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    fig, update = figures.learning(hidden, np.geomspace(1, 1e-3, 50))
    update(hidden / 2, 7, 0.1, 1.0)
    assert fig.axes[1].get_title() == "learned, step 7: error 1"
    assert fig.axes[2].lines[1].get_xdata()[0] == 7
    assert [t.get_text() for t in fig.axes[1].texts][:3] == ["0.50", "0.00", "-0.50"]
    assert_legible(fig, scale)


# ---- signed maps ---------------------------------------------------------------------------------------
def colourbars(fig):
    return [ax for ax in fig.axes if isinstance(getattr(ax, "_colorbar", None), Colorbar)]


def test_gallery_centres_signed_maps_at_zero_with_a_colourbar(scale):
    photo = np.random.default_rng(0).random((30, 20))
    edge, blur = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0.0]]), np.ones((3, 3)) / 9
    fig = figures.gallery(photo, {"edge": (edge, photo - 0.5), "blur": (blur, photo)}, ncols=3)
    panels = [ax for ax in fig.axes if ax.images and ax not in colourbars(fig)]
    assert len(colourbars(fig)) == 3 == len(panels)
    norms = {ax.get_title(): ax.images[0].norm for ax in panels}
    assert norms["edge"].vmin == -norms["edge"].vmax and norms["edge"](0.0) == 0.5
    assert (norms["blur"].vmin, norms["blur"].vmax) == (0, 1)
    assert_legible(fig, scale)


def test_kernel_editor_switches_between_signed_and_brightness(scale):
    photo = np.random.default_rng(1).random((30, 20))
    fig, update = figures.kernel_editor(photo)
    im = fig.axes[1].images[0]
    update(np.array([[1.0, -1]]), (photo - 0.5) * 3)
    assert im.norm(0.0) == 0.5 and im.norm.vmax == 2 and "signed" in fig.axes[1].get_title()
    update(np.array([[1.0, -1]]), (photo - 0.5) * 3.2)  # the same rounded limit: the colourbar stays
    assert im.norm.vmax == 2
    update(np.ones((1, 1)) * 2, photo * 2)
    assert (im.norm.vmin, im.norm.vmax) == (0, 1) and "sums to 2" in fig.axes[1].get_title()
    assert len(colourbars(fig)) == 1
    assert_legible(fig, scale)


def test_channels_centre_signed_outputs(scale):
    rgb = np.random.default_rng(2).random((3, 10, 12))
    maps = np.stack([rgb[0] - rgb[1], rgb.mean(axis=0)])
    fig = figures.channels(rgb, maps, ["red − green", "mean"])
    signed = [ax for ax in fig.axes if ax.get_title() == "red − green"][0]
    assert signed.images[0].norm(0.0) == 0.5 and len(colourbars(fig)) == 2
    assert_legible(fig, scale)


# ---- geometry ------------------------------------------------------------------------------------------
def test_output_size_draws_one_bar_per_position_and_frames_the_missed_pixels(scale):
    fig, update = figures.output_size()
    ax = fig.axes[0]
    update(8, 3, 2, 0, [0, 2, 4])
    visible = [p for p in ax.patches if p.get_visible() and p.get_fill()]
    assert len(visible) == 8 + 3
    missed = [p for p in ax.patches if p.get_visible() and not p.get_fill()]
    assert len(missed) == 1 and missed[0].get_x() == 7 and missed[0].get_width() == 1
    limits = ax.get_xlim()
    update(9, 3, 2, 0, [0, 2, 4, 6])
    assert ax.get_xlim() == limits and not any(p.get_visible() and not p.get_fill() for p in ax.patches)
    update(3, 7, 1, 0, [])
    assert "does not fit" in ax.get_title()
    update(32, 3, 1, 5, list(range(40)))
    assert ax.get_xlim()[1] > 42
    assert_legible(fig, scale)


def test_pooling_draws_each_pooled_value_over_its_window(scale):
    fmap = np.random.default_rng(3).random((9, 7))
    fig, update = figures.pooling(fmap)
    update(np.zeros((4, 3)), np.zeros((4, 3)), 2, 2)
    assert fig.axes[1].images[0].get_extent() == [-0.5, 5.5, 7.5, -0.5]
    assert fig.axes[1].get_xlim() == fig.axes[0].get_xlim() and "4x3" in fig.axes[2].get_title()
    assert_legible(fig, scale)


def test_receptive_field_squares_grow_and_zeros_stay_white(scale):
    fig, update = figures.receptive_field()
    g = np.zeros((11, 11))
    g[2:9, 2:9] = 1.0
    update(g, [3, 5, 7], (5.0, 5.0), "three layers")
    squares = [p for p in fig.axes[0].patches if p.get_visible()]
    assert [round(p.get_width() * 11) for p in squares] == [3, 5, 7]
    assert np.ma.is_masked(fig.axes[0].images[0].get_array()[0, 0])
    assert "input 11x11" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[1].texts if t.get_text()] == ["3", "5", "7"]
    assert_legible(fig, scale)


def test_static_figures_build_in_both_scales(scale):
    target = np.random.default_rng(4).normal(size=(2, 3, 4, 4))
    fig = figures.fold({"linear": (target, target), "relu": (target, 0.5 * target)})
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "output of the two-layer stack"
    fig = figures.timings([3, 5], {"direct": [1e-3, 2e-3], "FFT": [2e-3, 2e-3]}, "title")
    assert fig.axes[0].get_yscale() == "log" and len(fig.axes[0].lines) == 2
    assert_legible(fig, scale)


def test_fold_wraps_long_titles_to_their_panel_at_both_scales():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=50)
    panels = {"linear stack: one convolution does the same": (a, a),
              "with a ReLU between: one convolution cannot do the same": (a, b)}
    for scale in ("screen", "projector"):
        viz.use_style(scale)
        try:
            fig = figures.fold(panels)
            assert viz.legibility_problems(fig) == [], scale
            fig.canvas.draw()
            left, right = (ax.title.get_window_extent() for ax in fig.axes)
            assert left.x1 < right.x0, f"{scale}: the titles overlap"
            assert "\n" in fig.axes[1].get_title()
        finally:
            viz.use_style("screen")
