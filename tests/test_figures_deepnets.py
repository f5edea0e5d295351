"""nnlib.figures.deepnets: the stored runs are read as the measurement script wrote them, and the
figures draw what they are given (the parts with logic: the stored-run index, the off-the-chart
note, the patch montage)."""

import numpy as np
import pytest

from nnlib.figures import deepnets as figures


@pytest.fixture
def tiny_runs(tmp_path):
    """An .npz in the layout of scripts/deep_networks_experiments.py --save."""
    arrays = {}
    for variant in ("plain", "residual"):
        for depth in (2, 4):
            arrays[f"mlp_grad_norms/{variant}/{depth}"] = np.arange(1, depth + 1, dtype=np.float32)
            arrays[f"mlp_curves/{variant}/{depth}"] = np.array([2.3, 2.0], dtype=np.float32)
            arrays[f"mlp_scaled_grad_norms/{variant}/{depth}/1.5"] = np.full(depth, 7.0, np.float32)
            arrays[f"mlp_scaled_curves/{variant}/{depth}/1.5"] = np.array([9e5, 4.0], dtype=np.float32)
        arrays[f"cnn_grad_norms/{variant}/6"] = np.ones(6, np.float32)
        arrays[f"cnn_curves/{variant}/6"] = np.array([1.0], np.float32)
    for seed in (2, 0, 1, 10):
        arrays[f"acc_LeNet-5_{seed}"] = np.array([seed], np.float32)
    path = tmp_path / "runs.npz"
    np.savez_compressed(path, **arrays)
    return figures.StoredRuns(path)


def test_stored_runs_index_the_scripts_layout(tiny_runs):
    assert tiny_runs.mlp_depths == [2, 4] and tiny_runs.cnn_depths == [6]
    assert tiny_runs.inits == [None, 1.5]
    norms, losses = tiny_runs.mlp("residual", 4)
    assert norms.dtype == np.float64 and norms.tolist() == [1, 2, 3, 4] and losses.shape == (2,)
    assert tiny_runs.mlp("plain", 2, 1.5)[0].tolist() == [7, 7]
    assert tiny_runs.mlp("plain", 2, init=1.5)[1][0] == pytest.approx(9e5)
    assert tiny_runs.cnn("plain", 6)[0].shape == (6,)
    assert [a[0] for a in tiny_runs.seeds("acc_LeNet-5")] == [0, 1, 2, 10]  # by seed, as numbers


def test_stored_runs_name_what_is_missing(tiny_runs):
    with pytest.raises(ValueError, match="'mlp_grad_norms/plain/50'.*deep_networks_experiments"):
        tiny_runs.mlp("plain", 50)
    with pytest.raises(ValueError, match="acc_resnet_small_<seed>"):
        tiny_runs.seeds("acc_resnet_small")


def test_the_shipped_runs_cover_every_widget_position():
    runs = figures.StoredRuns()
    assert runs.mlp_depths == [2, 4, 6, 10, 16, 20, 24, 30, 40, 50] and runs.cnn_depths == [2, 6, 10, 14, 20, 30]
    assert runs.inits == [None, 0.5, 1.0, 1.5]
    for variant in ("plain", "batchnorm", "residual", "bn+residual"):
        for depth in runs.mlp_depths:
            for init in runs.inits:
                norms, losses = runs.mlp(variant, depth, init)
                assert norms.shape == (depth,) and losses.shape == (10,)


def test_depth_panels_note_losses_off_the_chart():
    fig, update = figures.depth_panels([("C0", False), ("C1", True)], max_depth=4, epochs=2)
    update([("exploding", [1.0, 2.0], [9e5, 4.0]), ("calm", [1.0, 1.0], [2.3, 2.0])])
    note = fig.axes[1].texts[-1]
    assert note.get_text() == "off the chart: exploding: loss up to 9.0e+05"
    lines = fig.axes[1].get_lines()
    assert max(lines[1].get_ydata()) == 3.0  # drawn at the top edge
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["exploding", "calm"]
    update([("a", [1.0], [1.0]), ("b", [], [])])
    assert note.get_text() == ""
    with pytest.raises(ValueError, match="expected 2 curves, got 1"):
        update([("a", [1.0], [1.0])])


def test_montage_lays_tiles_out_in_rows_with_blank_gaps():
    tiles = np.arange(5 * 2 * 2, dtype=float).reshape(5, 2, 2)
    out = figures._montage(tiles, cols=3)
    assert out.shape == (2 * 3 - 1, 3 * 3 - 1)
    np.testing.assert_array_equal(out[0:2, 3:5], tiles[1])
    np.testing.assert_array_equal(out[3:5, 3:5], tiles[4])
    assert np.isnan(out[2]).all() and np.isnan(out[3:5, 6:8]).all()  # a gap row, an empty last tile


def test_static_figures_draw_what_they_are_given():
    rng = np.random.default_rng(0)
    fig = figures.batch_size_bug([100, 2], [0.9, 0.3], 0.9, stored_cnn=([100, 1], [0.93, 0.89], 0.93))
    assert len(fig.axes[0].get_lines()) == 4
    fig = figures.gradient_spread({"plain": (np.arange(1, 4), [rng.random(8) for _ in range(3)])})
    assert len(fig.axes[0].get_lines()) == 1
    fig = figures.resnet_vs_lenet({"a": [np.linspace(0.8, 0.9, 4)] * 3, "b": [np.linspace(0.8, 0.95, 4)]})
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["a (3 seeds)", "b (1 seed)"]
    fig = figures.moved_digits(np.zeros((1, 28, 28)), np.zeros((3, 1, 28, 28)), ["a", "b", "c"])
    assert len(fig.axes) == 4
    fig = figures.augmentation_curves([np.ones(5) * 0.8], [np.ones(5) * 0.9], [0.7], [0.92])
    assert len(fig.axes) == 2
    fig = figures.width_curves({16: [1.0, 0.05], 4: [2.0, 1.0]}, {"Adam": {16: 2, 4: None}})
    open_marker = [ln for ln in fig.axes[1].get_lines() if ln.get_markerfacecolor() == "none"]
    assert open_marker[0].get_xydata().tolist() == [[4, 40]]  # not reached: drawn at the limit, open


def test_vit_patches_shows_the_digit_the_sequence_and_the_tokens():
    image = np.arange(784, dtype=float).reshape(28, 28) / 784
    patches = image.reshape(4, 7, 4, 7).transpose(0, 2, 1, 3).reshape(16, 49)
    fig = figures.vit_patches(image, patches, np.linspace(-1, 2, 16 * 8).reshape(16, 8))
    digit_ax, strip_ax, token_ax = fig.axes[:3]
    assert "4 x 4 patches of 7 x 7" in digit_ax.get_title() and "16 patches" in strip_ax.get_title()
    strip = strip_ax.get_images()[0].get_array()
    np.testing.assert_array_equal(strip[0:7, 8:15], image[0:7, 7:14])  # patch 2 of the first row
    assert token_ax.get_images()[0].get_clim() == (-2.0, 2.0)  # signed, centred on 0
    assert len(fig.axes) == 4  # with a colourbar
