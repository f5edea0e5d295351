"""Tests for nnlib.dashboards.convolution: the logic behind notebook 05's sliders and checkers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib.conv import Conv2d, avg_pool2d, conv2d_reference, conv_output_size, max_pool2d
from nnlib.dashboards import convolution as dc


def ref2d(image, kernel, stride=1, padding=0):
    """nnlib's readable reference convolution on one 2-D image and kernel."""
    return conv2d_reference(np.asarray(image, float)[None, None], np.asarray(kernel, float)[None, None],
                            stride=stride, padding=padding)[0, 0]


# ------------------------------------------------------------------------- 1-D weight matrices
@pytest.mark.parametrize("n", [1, 2, 3, 5, 12])
def test_parameter_counts_match_the_notes(n):
    counts = [dc.count_parameters(dc.parameter_ids_1d(n, kind)) for kind in dc.WEIGHT_KINDS]
    assert counts == [n * n, 3 * n - 2, min(3, 2 * n - 1)]


def test_shared_weight_matrix_is_the_notes_band_and_computes_the_convolution():
    ids = dc.parameter_ids_1d(5, "shared weights")
    assert ids[0, :2].tolist() == [1, 2] and ids[1, :3].tolist() == [0, 1, 2]
    assert (ids[0, 2:] == -1).all()
    theta = np.array([0.5, -1.0, 2.0])
    T = np.where(ids >= 0, theta[np.clip(ids, 0, 2)], 0.0)
    x = np.arange(5.0)
    # same-size output: zero-padded correlation
    assert np.allclose(T @ x, np.correlate(np.pad(x, 1), theta, "valid"))


def test_locally_connected_band_width_follows_m():
    ids = dc.parameter_ids_1d(7, "locally connected", m=5)
    assert dc.count_parameters(ids) == 7 + 2 * 6 + 2 * 5
    assert ids[0, 3] == -1 and ids[0, 2] >= 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n=0, kind="shared weights"), "'n'"),
        (dict(n=2.5, kind="shared weights"), "'n'"),
        (dict(n=4, kind="dense"), "'kind'"),
        (dict(n=4, kind="shared weights", m=2), "odd"),
    ],
)
def test_parameter_ids_reject_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dc.parameter_ids_1d(**kwargs)


# ------------------------------------------------------------------------- worked examples
@pytest.mark.parametrize("name", list(dc.WORKED_EXAMPLES))
def test_fast_path_equals_reference_on_every_worked_example(name):
    ex = dc.WORKED_EXAMPLES[name]
    out = dc._correlate2d(ex["image"], ex["kernel"], ex["stride"], ex["padding"])
    assert np.array_equal(out, ref2d(ex["image"], ex["kernel"], ex["stride"], ex["padding"]))
    assert out.shape == ex["printed"].shape


def test_the_notes_differ_in_exactly_the_two_known_cells():
    found = {}
    for name, ex in dc.WORKED_EXAMPLES.items():
        out = ref2d(ex["image"], ex["kernel"], ex["stride"], ex["padding"])
        found[name] = dc.compare_with_notes(out, ex["printed"])
    assert found["6x6 image, Laplacian, valid"] == [(2, 3, 3.0, 2.0)]
    assert found["6x6 image, Laplacian, padding 1"] == [(3, 4, 3.0, 2.0)]
    others = [v for k, v in found.items() if "Laplacian" not in k]
    assert all(v == [] for v in others)


def test_compare_with_notes_skips_blank_cells_and_handles_1d():
    printed = np.array([[1.0, np.nan], [3.0, 4.0]])
    assert dc.compare_with_notes([[1, 99], [3, 4]], printed) == []
    assert dc.compare_with_notes([[1, 2], [3, 5]], printed) == [(1, 1, 4.0, 5.0)]
    assert dc.compare_with_notes([2, 1, 1], [2, 1, 0]) == [(0, 2, 0.0, 1.0)]
    assert "matches" in dc.describe_differences([])
    assert "printed 4, computed 5" in dc.describe_differences([(1, 1, 4.0, 5.0)])


def test_compare_with_notes_rejects_different_shapes():
    with pytest.raises(ValueError, match="shape"):
        dc.compare_with_notes(np.zeros((2, 2)), np.zeros((3, 3)))


@pytest.mark.parametrize("name", list(dc.WORKED_EXAMPLES))
def test_window_step_sums_to_every_output_cell(name):
    ex = dc.WORKED_EXAMPLES[name]
    out = ref2d(ex["image"], ex["kernel"], ex["stride"], ex["padding"])
    for index in range(out.size):
        step = dc.window_step(ex["image"], ex["kernel"], index, ex["stride"], ex["padding"])
        assert step["out_shape"] == out.shape
        assert step["total"] == out[step["row"], step["col"]]
        assert np.array_equal(step["products"], step["patch"] * ex["kernel"])
        assert (step["top"], step["left"]) == (step["row"] * ex["stride"], step["col"] * ex["stride"])


def test_window_step_rejects_bad_input():
    img, k = np.zeros((4, 4)), np.ones((3, 3))
    with pytest.raises(ValueError, match="'index' must be < 4"):
        dc.window_step(img, k, 4)
    with pytest.raises(ValueError, match="'index'"):
        dc.window_step(img, k, -1)
    with pytest.raises(ValueError, match="does not fit"):
        dc.window_step(np.zeros((2, 2)), k, 0)
    with pytest.raises(ValueError, match="'image' expected a 2-D"):
        dc.window_step(np.zeros((1, 4, 4)), k, 0)
    with pytest.raises(ValueError, match="NaN"):
        dc.window_step(np.full((4, 4), np.nan), k, 0)
    with pytest.raises(ValueError, match="'stride'"):
        dc.window_step(img, k, 0, stride=0)


# ------------------------------------------------------------------------- output size
def test_output_size_agrees_with_nnlib_conv_everywhere():
    for n in range(1, 14):
        for k in range(1, 8):
            for s in range(1, 5):
                for p in range(0, 4):
                    size, text = dc.explain_output_size(n, k, s, p)
                    if k > n + 2 * p:
                        assert size is None and "Does not fit" in text
                        with pytest.raises(ValueError):
                            conv_output_size(n, k, s, p)
                    else:
                        assert size == conv_output_size(n, k, s, p)
                        assert text.split(".")[0].endswith(f"= {size}")


def test_output_size_presets_are_valid_and_named_truthfully():
    for name, (n, k, s, p) in dc.OUTPUT_SIZE_PRESETS.items():
        size, _ = dc.explain_output_size(n, k, s, p)
        assert (size is None) == name.startswith("does not fit"), name
    assert dc.explain_output_size(*dc.OUTPUT_SIZE_PRESETS["LeNet C1: 28 px, 5x5 kernel, padding 2"])[0] == 28


def test_output_size_explains_awkward_combinations():
    _, text = dc.explain_output_size(8, 3, 2, 0)
    assert "not a multiple of the stride 2" in text and "last 1 row" in text
    _, text = dc.explain_output_size(6, 3, 1, 0)
    assert "Note" not in text
    _, text = dc.explain_output_size(6, 2, 1, 3)
    assert "padding 3 ≥ kernel 2" in text
    _, text = dc.explain_output_size(9, 2, 3, 0)
    assert "skips 1 input" in text
    size, text = dc.explain_output_size(3, 7, 1, 0)
    assert size is None and "padding ≥ 2" in text


@pytest.mark.parametrize("bad", [dict(n=0), dict(kernel=0), dict(stride=0), dict(padding=-1),
                                 dict(n=3.5), dict(kernel=True)])
def test_output_size_rejects_nonsense(bad):
    args = dict(n=5, kernel=3, stride=1, padding=0) | bad
    with pytest.raises(ValueError, match=f"'{next(iter(bad))}'"):
        dc.explain_output_size(**args)


# ------------------------------------------------------------------------- photo and filters
def test_load_photo_shapes_range_and_luma():
    grey = dc.load_photo("grace_hopper", scale=4)
    rgb = dc.load_photo("grace_hopper", scale=4, gray=False)
    assert grey.shape == (150, 128) and rgb.shape == (3, 150, 128)
    assert grey.dtype == np.float64 and 0 <= grey.min() and grey.max() <= 1
    assert np.allclose(grey, np.tensordot(dc.LUMA, rgb, axes=1))
    rgb[0] = 0  # a copy: the cache must not change
    assert dc.load_photo("grace_hopper", scale=4, gray=False)[0].max() > 0
    china = dc.load_photo("china", scale=8)
    assert china.shape == (427 // 8, 640 // 8)


@pytest.mark.parametrize("kwargs, match", [(dict(name="lena"), "'name'"), (dict(scale=0), "'scale'")])
def test_load_photo_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dc.load_photo(**kwargs)


def test_filters_sum_as_the_notes_say():
    sums = {name: k.sum() for name, k in dc.FILTERS.items()}
    for name, total in sums.items():
        assert np.isclose(total, 0.0 if name.startswith("edge") else 1.0), name
    assert dc.EDGE_8_AS_PRINTED_IN_002.sum() == 2  # the slide's typo


def test_filter_image_keeps_size_and_equals_reference(rng):
    img = rng.random((12, 9))
    assert np.array_equal(dc.filter_image(img, dc.FILTERS["identity"]), img)
    for k in dc.FILTERS.values():
        out = dc.filter_image(img, k)
        assert out.shape == img.shape
        assert np.allclose(out, ref2d(img, k, padding=1))
    five = rng.standard_normal((5, 5))
    assert np.allclose(dc.filter_image(img, five), ref2d(img, five, padding=2))


def test_filter_image_rejects_bad_input():
    with pytest.raises(ValueError, match="odd side"):
        dc.filter_image(np.zeros((5, 5)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="odd side"):
        dc.filter_image(np.zeros((5, 5)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="infinity"):
        dc.filter_image(np.zeros((5, 5)), np.full((3, 3), np.inf))
    with pytest.raises(ValueError, match="'image' expected a 2-D"):
        dc.filter_image(np.zeros((5,)), np.ones((3, 3)))


def test_display_range_signed_for_edges_grey_for_the_rest(rng):
    img = rng.random((20, 20))
    edge = dc.FILTERS["edge: Laplacian (4 neighbours)"]
    r = dc.display_range(edge, dc.filter_image(img, edge))
    assert r["signed"] and r["vmin"] == -r["vmax"] > -np.inf and r["cmap"] == dc.CMAP_DIVERGING
    sharp = dc.FILTERS["sharpen"]
    out = dc.filter_image(img, sharp)
    r = dc.display_range(sharp, out)
    assert not r["signed"] and (r["vmin"], r["vmax"]) == (0.0, 1.0)
    assert r["clipped"] == pytest.approx(np.mean((out < 0) | (out > 1)))
    assert dc.display_range(edge, np.zeros((3, 3)))["vmax"] == 1.0  # flat response: no zero range
    with pytest.raises(ValueError, match="NaN"):
        dc.display_range(edge, np.full((3, 3), np.nan))


def test_kernel_from_entries():
    k, text = dc.kernel_from_entries(range(9))
    assert k.shape == (3, 3) and k[2, 2] == 8 and "sum = 36" in text
    assert dc.kernel_from_entries([1, 2])[0] is None
    k, text = dc.kernel_from_entries(["1", "x"] + [0] * 7)
    assert k is None and "(0, 1)" in text and "'x'" in text
    k, text = dc.kernel_from_entries([0] * 8 + [float("nan")])
    assert k is None and "finite" in text
    assert dc.kernel_from_entries([None] * 9)[0] is None


def test_kernel_labels_show_blur_fractions():
    assert dc._kernel_label(dc.FILTERS["box blur"]).splitlines()[1].startswith("1/9 ×")
    assert "1/16" in dc._kernel_label(dc.FILTERS["Gaussian blur"])
    assert dc._kernel_label(dc.LAPLACIAN).splitlines()[1] == "[ 1 -4  1]"
    assert len(dc._kernel_label(np.full((3, 3), 0.3)).splitlines()) == 3


# ------------------------------------------------------------------------- pooling
@pytest.mark.parametrize("size, stride", [(2, 2), (3, 2), (2, 1), (3, None), (1, 1)])
def test_pool_views_equal_nnlib_pooling(rng, size, stride):
    fmap = rng.random((11, 9))
    mx, avg, text = dc.pool_views(fmap, size, stride)
    assert np.allclose(mx, max_pool2d(fmap[None, None], size, stride)[0, 0])
    assert np.allclose(avg, avg_pool2d(fmap[None, None], size, stride)[0, 0])
    assert f"→ {mx.shape[0]}x{mx.shape[1]}" in text


def test_pool_views_when_the_window_does_not_fit_and_bad_input():
    mx, avg, text = dc.pool_views(np.zeros((3, 3)), 4)
    assert mx is None and avg is None and "does not fit" in text
    assert "skipped" in dc.pool_views(np.zeros((8, 8)), 2, 3)[2]
    with pytest.raises(ValueError, match="'size'"):
        dc.pool_views(np.zeros((4, 4)), 0)
    with pytest.raises(ValueError, match="'feature_map'"):
        dc.pool_views(np.zeros((1, 4, 4)), 2)


# ------------------------------------------------------------------------- learning trajectory
def test_trajectory_frame_and_its_validation():
    kernels = np.arange(18.0).reshape(2, 3, 3)
    frame = dc.trajectory_frame(kernels, [1.0, 0.5], 1)
    assert np.array_equal(frame["kernel"], kernels[1]) and frame["loss"] == 0.5
    with pytest.raises(ValueError, match="'iteration'"):
        dc.trajectory_frame(kernels, [1.0, 0.5], 2)
    with pytest.raises(ValueError, match="'iteration' must be an integer"):
        dc.trajectory_frame(kernels, [1.0, 0.5], 0.5)
    with pytest.raises(ValueError, match="'losses' expected shape"):
        dc.trajectory_frame(kernels, [1.0], 0)
    with pytest.raises(ValueError, match="'kernels'"):
        dc.trajectory_frame(np.zeros((3, 3)), [1.0], 0)


# ------------------------------------------------------------------------- figures
def test_weight_matrix_plot_titles_carry_the_counts():
    plot = dc.WeightMatrixPlot(4)
    assert plot.update(6) == [36, 16, 3]
    assert "36 parameters" in plot.axes[0].get_title()
    assert plot.texts[2][1][0].get_text() == "θ0" and not plot.texts[2][6][6].get_visible()
    assert plot.images[0].get_array().shape == (6, 6)
    assert plot.update(12) == [144, 34, 3]
    assert not plot.texts[0][0][0].get_visible()  # too many cells to label legibly
    with pytest.raises(ValueError, match="n_max"):
        plot.update(13)


def test_window_explorer_moves_the_window_and_marks_the_typo():
    w = dc.WindowExplorer("6x6 image, Laplacian, valid")
    assert (2, 3) in w.diffs
    step = w.show(11)
    assert w.rect.get_xy() == (step["left"] - 0.5, step["top"] - 0.5)
    assert "notes print 3" in w.axes[3].get_title()
    shown = [t.get_text() for t in w.out_texts.ravel()]
    assert shown[:12] == [dc._fmt(v) for v in w.out.ravel()[:12]] and shown[12] == ""
    w.set_example("6x6 image, 2x2 kernel, stride 2")
    assert w.n_cells == 9 and w.diffs == {} and not w.fig.texts
    with pytest.raises(ValueError, match="unknown example"):
        w.set_example("7x7")


def test_output_size_plot_and_other_figures_update(rng):
    p = dc.OutputSizePlot()
    assert p.update(8, 3, 2, 1)[0] == 4
    assert p.update(3, 7, 1, 0)[0] is None
    img = rng.random((16, 16))
    k = dc.KernelEditorPlot(img)
    assert "kernel sum = 0" in k.update(dc.FILTERS["edge: diagonal"])
    assert k.im.get_cmap().name == dc.CMAP_DIVERGING
    k.update(dc.FILTERS["box blur"])
    assert k.im.get_clim() == (0.0, 1.0)
    pool = dc.PoolingPlot(img, 2)
    assert "16x16 → 5x5" in pool.update(3, 3)
    assert pool.ims[1].get_array().shape == (5, 5)
    assert "does not fit" in pool.update(20)
    assert len(dc.plot_filter_gallery(img).axes) == 8
    kernels = rng.standard_normal((4, 3, 3))
    lp = dc.LearningPlot(kernels, [4.0, 2.0, 1.0, 0.5], kernels[-1])
    assert lp.update(3)["max_error"] == 0.0
    fig, ax = dc.figure()
    dc.plot_conv_matrix(ax, np.eye(3))
    assert "3 of 9" in ax.get_title()
    dc.plot_timings(ax, [3, 5], {"a": [1e-3, 2e-3]}, "t")


def test_widgets_build_and_answer_their_controls(rng):
    pytest.importorskip("ipywidgets")
    img = rng.random((20, 20))
    box = dc.weight_matrix_widget(4)
    box.children[0].value = 7
    box = dc.window_widget(index=11)
    choose, cell = box.children[0].children
    assert (cell.value, cell.max) == (11, 15)
    with pytest.raises(ValueError, match="'index'"):
        dc.window_widget(index=16)
    cell.value = 5
    choose.value = "6x6 image, Laplacian, padding 1"
    assert (cell.value, cell.max) == (0, 35)
    cell.value = 35
    box = dc.output_size_widget()
    presets, row1, row2, note, _ = box.children
    row1.children[1].value = 11  # kernel 11 > input 7: a message, no traceback
    assert "Does not fit" in note.value
    presets.value = "LeNet C1: 28 px, 5x5 kernel, padding 2"
    assert [w.value for w in row1.children + row2.children] == [28, 5, 1, 2]
    assert "= 28" in note.value
    box = dc.kernel_editor_widget(img)
    menu, grid, note = box.children[0].children[0].children
    menu.value = "sharpen"
    assert [b.value for b in grid.children][4] == 5.0
    grid.children[0].value = 1.0
    assert "kernel sum = 2" in note.value
    box = dc.pooling_widget(rng.random((6, 6)))
    box.children[0].children[0].value = 8  # window 8 > map 6: a message, no traceback
    assert "does not fit" in box.children[1].value
    kernels = rng.standard_normal((5, 3, 3))
    box = dc.learning_widget(kernels, np.linspace(1, 0.1, 5), kernels[-1])
    box.children[0].value = 4


# ------------------------------------------------------------------------- exercise checkers
def _run(checker, answer, capsys):
    ok = checker(answer)
    return ok, capsys.readouterr().out


def test_checker_output_size(capsys):
    right = conv_output_size(conv_output_size(64, 7, 2, 3), 3, 2)
    ok, out = _run(dc.check_exercise_output_size, right, capsys)
    assert ok and out.startswith("Right")
    for wrong, hint in [(None, "Replace None"), ("fifteen", "integer"), (32, "after the convolution"),
                        (16, "3 wide"), (7, "twice")]:
        ok, out = _run(dc.check_exercise_output_size, wrong, capsys)
        assert not ok and hint in out and str(right) not in out


def test_checker_parameters(capsys):
    layer = Conv2d(3, 16, 5, rng=0)
    right = sum(p.size for p in layer.parameters())
    ok, out = _run(dc.check_exercise_parameters, right, capsys)
    assert ok
    for wrong, hint in [(None, "Replace None"), (1200, "counted the weights"),
                        (16 * 3 * 26, "c(hw+1)"), (76, "one output channel"), (5, "weight tensor"),
                        (True, "integer")]:
        ok, out = _run(dc.check_exercise_parameters, wrong, capsys)
        assert not ok and hint in out and str(right) not in out


def test_checker_shift_kernel(capsys):
    right = np.zeros((3, 3))
    right[1, 0] = 1
    x = np.random.default_rng(0).random((6, 6))
    assert np.allclose(ref2d(x, right, padding=1)[:, 1:], x[:, :-1])  # the answer really shifts right
    ok, out = _run(dc.check_exercise_shift_kernel, right, capsys)
    assert ok
    left = np.zeros((3, 3))
    left[1, 2] = 1
    for wrong, hint in [(None, "Replace None"), (left, "LEFT"), (np.eye(3), "one entry"),
                        (np.zeros((2, 2)), "3x3"), ("k", "3x3"), (np.full((3, 3), np.nan), "finite")]:
        ok, out = _run(dc.check_exercise_shift_kernel, wrong, capsys)
        assert not ok and hint in out and "[1, 0]" not in out


def test_checker_sparsity(capsys):
    # the fraction from an actual (small) convolution matrix, scaled by the rule it illustrates
    M = np.zeros((4, 16))
    for r in range(4):
        i, j = divmod(r, 2)
        for a in range(3):
            for b in range(3):
                M[r, (i + a) * 4 + (j + b)] = 1
    assert (M != 0).mean() == 9 / 16
    right = 9 / (100 * 100)
    ok, out = _run(dc.check_exercise_sparsity, right, capsys)
    assert ok
    for wrong, hint in [(None, "Replace None"), (100 * right, "percentage"), (0.5, "k·k"),
                        ([0.1], "between 0 and 1")]:
        ok, out = _run(dc.check_exercise_sparsity, wrong, capsys)
        assert not ok and hint in out and "0.0009" not in out


# ------------------------------------------------------------------------- properties

@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4),
       stride=st.integers(1, 3), padding=st.integers(0, 2), seed=st.integers(0, 2**16))
def test_window_steps_rebuild_nnlib_reference_convolution(h, w, kh, kw, stride, padding, seed):
    rng = np.random.default_rng(seed)
    image, kernel = rng.standard_normal((h, w)), rng.standard_normal((kh, kw))
    sizes = [dc.explain_output_size(n, k, stride, padding)[0] for n, k in ((h, kh), (w, kw))]
    if None in sizes:
        with pytest.raises(ValueError, match="does not fit"):
            dc.window_step(image, kernel, 0, stride, padding)
        return
    ref = ref2d(image, kernel, stride, padding)
    assert tuple(sizes) == ref.shape
    assert np.allclose(dc._correlate2d(image, kernel, stride, padding), ref)
    totals = [dc.window_step(image, kernel, i, stride, padding)["total"] for i in range(ref.size)]
    assert np.allclose(np.reshape(totals, ref.shape), ref)
