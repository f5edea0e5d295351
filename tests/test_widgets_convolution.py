"""nnlib.widgets.convolution: notebook 07's sliders, tested through what they show.

Each builder runs functions the notebook passes in; these tests pass small stand-ins written here
(a convolution through nnlib, pools through numpy windows, the receptive field and the input
gradient computed another way) and check the text, the picture and the calls.
"""

import re
from types import SimpleNamespace

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from nnlib import viz
from nnlib.conv import conv2d, conv_output_size
from nnlib.widgets import convolution as widgets
from tests.helpers import shows_the_full_render  # a blitted redraw == a full render

KINDS = ["fully connected", "locally connected", "shared weights"]
IMAGE = np.arange(36.0).reshape(6, 6) % 5
KERNEL = np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])
EXAMPLES = {
    "valid": dict(image=IMAGE, kernel=KERNEL, stride=1, padding=0, printed=np.full((4, 4), np.nan)),
    "padded, stride 2": dict(image=IMAGE, kernel=KERNEL[:2, :2], stride=2, padding=1, printed=np.full((4, 4), np.nan)),
    "small": dict(image=IMAGE, kernel=KERNEL, stride=2, padding=0, printed=np.full((2, 2), np.nan)),
}


@pytest.fixture(autouse=True)
def screen():
    viz.use_style("screen")
    yield
    viz.use_style("screen")


def weight_ids(n, kind):
    i, j = np.indices((n, n))
    near = np.abs(i - j) <= 1
    if kind == "fully connected":
        return i * n + j
    if kind == "locally connected":
        return np.where(near, np.cumsum(near).reshape(n, n) - 1, -1)
    return np.where(near, j - i + 1, -1)


def count(ids):
    return len(np.unique(ids[ids >= 0]))


def correlate2d(image, kernel, stride=1, padding=0):
    return conv2d(np.asarray(image, float)[None, None], np.asarray(kernel, float)[None, None], stride=stride,
                  padding=padding)[0, 0]


def pool2d(fmap, size, stride, reduce):
    windows = sliding_window_view(fmap, (size, size))[::stride, ::stride]
    return reduce(windows, axis=(2, 3))


def field(layers):
    """The receptive field by brute force: the input pixels one output depends on, in 1-D."""
    reach = {0}
    for k, s in reversed(layers):
        reach = {p * s + q for p in reach for q in range(k)}
    return max(reach) - min(reach) + 1


def gradient(layers, size, unit):
    """A stand-in for the notebook's input gradient: 1 on the unit's field, 0 elsewhere."""
    jump = int(np.prod([s for _, s in layers]))
    g = np.zeros((size, size))
    r = field(layers)
    g[unit * jump:unit * jump + r, unit * jump:unit * jump + r] = 1.0
    return g


# ---- section 1 ------------------------------------------------------------------------------------
def test_weight_matrices_count_with_the_notebooks_functions():
    calls = []

    def spy(n, kind):
        calls.append((n, kind))
        return weight_ids(n, kind)

    live = widgets.weight_matrices(spy, count, KINDS, n=5)
    assert live.values == {"n": 5} and "fully connected 25, locally connected 13, shared weights 3" in live.text
    live.set(n=9)
    assert "fully connected 81, locally connected 25, shared weights 3" in live.text
    assert {kind for _, kind in calls} == set(KINDS) and {n for n, _ in calls} == set(range(2, 13))


def test_weight_matrices_pictures_are_rendered_ahead_and_right():
    from nnlib.figures import convolution as figures

    live = widgets.weight_matrices(weight_ids, count, KINDS, n=5)
    for n in (4, 7, 11):
        live.set(n=n)
        assert live.last_ms < 50 and not live.last_full  # every n was rendered when the widget was built
        fig, update = figures.weight_matrices(KINDS)
        ids = [weight_ids(n, kind) for kind in KINDS]
        update(n, ids, [f"{kind}:\n{count(i)} parameters" for kind, i in zip(KINDS, ids)])
        fig.tight_layout()
        # the picture shown for n equals a fresh figure drawn for n
        assert shows_the_full_render(SimpleNamespace(fig=fig, png=live.png))


def test_weight_matrices_refuses_what_is_not_a_function():
    with pytest.raises(TypeError, match="weight_ids"):
        widgets.weight_matrices(None, count, KINDS)


# ---- section 2 ------------------------------------------------------------------------------------
def test_window_sums_the_patch_and_stops_at_the_last_cell():
    live = widgets.window(correlate2d, EXAMPLES, "valid", cell=5)
    out = correlate2d(IMAGE, KERNEL)
    assert "output cell 5 is (1, 1)" in live.text and f"sums to {out[1, 1]:g}" in live.text
    live.set(cell=15)
    assert "(3, 3)" in live.text and f"sums to {out[3, 3]:g}" in live.text
    live.set(example="small", cell=12)
    assert "has 4 output cells" in live.text and "(1, 1)" in live.text
    live.set(example="padded, stride 2", cell=6)
    out = correlate2d(IMAGE, KERNEL[:2, :2], 2, 1)
    assert "window's corner sits at (2, 4)" in live.text and f"sums to {out[1, 2]:g}" in live.text
    live.set(cell=7)  # a new example rendered everything; a new cell only what moved
    assert f"sums to {out[1, 3]:g}" in live.text and not live.last_full and shows_the_full_render(live)


def test_window_marks_the_cells_a_slide_prints_wrongly():
    printed = correlate2d(IMAGE, KERNEL)
    printed[2, 3] += 1
    live = widgets.window(correlate2d, {"typo": dict(image=IMAGE, kernel=KERNEL, stride=1, padding=0, printed=printed)},
                          cell=11)
    titles = [ax.get_title() for ax in live.fig.axes]
    assert f"(slide: {printed[2, 3]:g})" in titles[3]
    assert any("slide prints another number" in t.get_text() for t in live.fig.texts)
    live.set(cell=10)
    assert "slide" not in live.fig.axes[3].get_title()


# ---- section 3 ------------------------------------------------------------------------------------
def output_size(n, k, s=1, p=0):
    return None if k > n + 2 * p else (n + 2 * p - k) // s + 1


@pytest.mark.parametrize("name", list(widgets.OUTPUT_SIZE_PRESETS))
def test_output_size_presets_tell_the_truth(name):
    live = widgets.output_size(output_size)
    live.apply_preset(name)
    v = widgets.OUTPUT_SIZE_PRESETS[name]
    assert live.values == v
    try:
        size = conv_output_size(v["n"], v["kernel"], v["stride"], v["padding"])
    except ValueError:
        assert "Does not fit" in live.text and "does not fit" in name
    else:
        assert re.search(r"⌋ \+ 1 = (\d+)", live.text).group(1) == str(size)
        assert ("never under the window" in live.text) == ("leaves a pixel out" in name)


def test_output_size_explains_awkward_settings_and_blits():
    live = widgets.output_size(output_size)
    live.set(n=7, kernel=2, stride=3, padding=2)
    assert "jumps over pixels" in live.text and "outermost outputs see only zeros" in live.text
    live.set(n=8)
    assert not live.last_full and shows_the_full_render(live)


# ---- section 4 ------------------------------------------------------------------------------------
def test_parse_kernel_reads_rows_and_fractions():
    blur = widgets.parse_kernel("1/9 1/9 1/9\n1/9, 1/9, 1/9\n\n 1/9 1/9 1/9 ")
    np.testing.assert_allclose(blur, np.full((3, 3), 1 / 9))
    assert widgets.parse_kernel("-1 0 2.5\n0 0 0\n1 1 1")[0, 2] == 2.5
    assert widgets.parse_kernel("7").shape == (1, 1)


@pytest.mark.parametrize("text, message", [
    ("", "type the kernel"), ("1 2\n3 4", "odd"), ("1 2 3\n4 5 6", "square"), ("1 x 0\n0 1 0\n0 0 1", "'x'"),
    ("1/0 0 0\n0 1 0\n0 0 1", "'1/0'"), ("0 1 0\n1 -4\n0 1 0", "square"),
])
def test_parse_kernel_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        widgets.parse_kernel(text)


FILTERS = {"identity": np.eye(3)[::-1] * 0 + np.pad([[1.0]], 1), "edge": KERNEL, "blur": np.full((3, 3), 1 / 9)}


def test_kernel_editor_runs_the_notebooks_filter_and_shows_errors_plainly():
    photo = np.random.default_rng(0).random((20, 16))
    calls = []

    def filter_image(image, kernel):
        calls.append(kernel.copy())
        return correlate2d(image, kernel, 1, kernel.shape[0] // 2)

    live = widgets.kernel_editor(photo, filter_image, FILTERS, preset="edge")
    assert live.preset.value == "edge" and "kernel sum = 0" in live.text
    np.testing.assert_array_equal(calls[-1], KERNEL)
    live.apply_preset("blur")
    assert "kernel sum = 1" in live.text and np.allclose(calls[-1], 1 / 9)
    before = live.png
    live.set(kernel="1 2\n3")
    assert "square" in live.text and "Traceback" not in live.text and live.png == before
    live.set(kernel="0 0 0 0 0\n0 0 0 0 0\n0 0 2 0 0\n0 0 0 0 0\n0 0 0 0 0")
    assert calls[-1].shape == (5, 5) and "outside 0..1" in live.text


def test_kernel_editor_signed_map_keeps_its_colourbar_while_typing():
    photo = np.random.default_rng(1).random((20, 16))
    live = widgets.kernel_editor(photo, lambda im, k: correlate2d(im, k, 1, 1), FILTERS, preset="edge")
    live.set(kernel="0 1 0\n1 -4 1\n0 1 0")
    live.set(kernel="0 1 0\n2 -4 1\n0 0 0")
    assert not live.last_full and shows_the_full_render(live)


# ---- section 5 ------------------------------------------------------------------------------------
def test_pooling_runs_the_notebooks_pool_with_max_and_mean():
    fmap = np.random.default_rng(2).random((20, 17))
    reductions = []

    def spy(m, size, stride, reduce):
        reductions.append(reduce)
        return pool2d(m, size, stride, reduce)

    live = widgets.pooling(fmap, spy, size=2, stride=2)
    assert set(reductions) == {np.max, np.mean} and "20x17 → 10x8" in live.text and "tile" in live.text
    live.set(size=3, stride=2)
    assert "9x8" in live.text and "overlap" in live.text
    live.set(size=2, stride=4)
    assert "skipped" in live.text and shows_the_full_render(live)
    live.set(size=8, stride=1)
    live.set(size=8)
    assert "13x10" in live.text
    widgets.pooling(fmap[:5, :5], pool2d).set(size=6)


def test_pooling_window_larger_than_the_map_is_a_message():
    live = widgets.pooling(np.ones((5, 7)), pool2d, size=2, stride=2)
    live.set(size=6)
    assert "does not fit" in live.text


# ---- section 8 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth, kernel, stride, width", [(1, 3, 1, 3), (3, 3, 1, 7), (4, 3, 2, 31), (2, 1, 2, 1)])
def test_receptive_field_compares_the_rule_with_the_gradient(depth, kernel, stride, width):
    live = widgets.receptive_field(field, gradient)
    live.set(depth=depth, kernel=kernel, stride=stride)
    assert f"receptive field {width}x{width}" in live.text and "(the same)" in live.text


def test_receptive_field_says_when_rule_and_gradient_differ_and_blits():
    live = widgets.receptive_field(lambda layers: field(layers) + 1, gradient)
    assert "they differ" in live.text
    live = widgets.receptive_field(field, gradient)
    live.set(depth=4)
    live.set(kernel=5)
    assert not live.last_full and shows_the_full_render(live)
    assert set(widgets.RECEPTIVE_FIELD_PRESETS) == set(live.preset.options)


# ---- section 11 -----------------------------------------------------------------------------------
def test_learning_slider_shows_each_recorded_step():
    hidden = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    kernels = np.stack([hidden * t for t in np.linspace(0, 1, 11)])
    losses = np.geomspace(1, 1e-6, 11)
    live = widgets.learning(kernels, losses, hidden)
    assert "step 0: loss 1;" in live.text and "error is 2" in live.text
    live.set(step=3)
    live.set(step=10)
    assert "error is 0" in live.text and not live.last_full and shows_the_full_render(live)
    with pytest.raises(ValueError, match="expected kernels"):
        widgets.learning(kernels[:, :2], losses, hidden)
