"""nnlib.widgets.deepnets: notebook 09's sliders, tested through what they show.

The depth widgets read the measured runs that ship with nnlib; the batch-norm and augmentation
widgets run functions the notebook passes in, for which these tests pass small stand-ins.
"""


import numpy as np
import pytest

from nnlib.figures.deepnets import StoredRuns
from nnlib.widgets import deepnets as widgets
from tests.helpers import shows_the_full_render  # a blitted redraw == a full render


@pytest.fixture(scope="module")
def runs():
    return StoredRuns()




# ---- the verdicts ------------------------------------------------------------------------------
@pytest.mark.parametrize("loss, verdict", [(2.30, "flat"), (0.9 * np.log(10) + 1e-9, "flat"), (float("nan"), "flat"),
                                           (2.0, "slow"), (1.0, "slow"), (0.99, "trains"), (0.1, "trains")])
def test_status_matches_the_measurement_scripts_thresholds(loss, verdict):
    assert widgets.status(loss) == verdict


def test_depth_text_at_the_defaults_says_the_plain_network_is_flat(runs):
    text = widgets.depth_text(runs, 20)
    assert text.startswith("depth 20, plain, PyTorch default init") and text.endswith("flat")


# ---- the MLP depth explorer --------------------------------------------------------------------
def test_depth_explorer_shows_the_chosen_network(runs):
    live = widgets.depth_explorer(runs)
    assert live.values == {"depth": 20, "init": "default", "batch_norm": False, "residual": False}
    assert live.text == widgets.depth_text(runs, 20)
    first = live.png
    live.set(residual=True)
    assert "residual, PyTorch default init" in live.text and live.text.endswith("trains")
    assert live.png != first
    assert shows_the_full_render(live)
    live.set(depth=50, batch_norm=True, residual=False)
    assert live.text.startswith("depth 50, batch norm") and live.text.endswith("flat")
    assert shows_the_full_render(live)


def test_depth_explorer_every_combination_draws(runs):
    live = widgets.depth_explorer(runs)
    for init in widgets.INITS.values():
        for depth in (runs.mlp_depths[0], runs.mlp_depths[-1]):
            live.set(depth=depth, init=init, batch_norm=True, residual=True)
            assert "bn" not in live.text and f"depth {depth}, batch norm + residual" in live.text
    assert not any("Error" in t for t in (live.text,))


def test_depth_explorer_presets_and_stored_pictures(runs):
    live = widgets.depth_explorer(runs)
    live.apply_preset("He × 1.5: exploding, depth 30")
    assert live.values == {"depth": 30, "init": 1.5, "batch_norm": False, "residual": False}
    assert "He × 1.5" in live.text
    exploding = live.png
    live.apply_preset("residual, depth 50")
    assert live.values["residual"] and live.values["depth"] == 50
    live.apply_preset("He × 1.5: exploding, depth 30")
    assert live.png == exploding and live.last_ms < 1000  # the stored picture, no render


def test_depth_explorer_redraws_fast_enough_to_report(runs):
    live = widgets.depth_explorer(runs)
    for depth in runs.mlp_depths:
        live.set(depth=depth)
    assert len(live.timings) >= len(runs.mlp_depths)  # reported by the notebook's helper, not asserted


# ---- the CNN depth widget ------------------------------------------------------------------------
def test_cnn_depth_lists_the_three_networks(runs):
    live = widgets.cnn_depth(runs)
    assert live.values == {"depth": 20}
    assert live.text == widgets.cnn_text(runs, 20).replace("\n", "<br>")
    lines = widgets.cnn_text(runs, 20).splitlines()
    assert lines[0] == "CNN of depth 20" and [ln.split(":")[0] for ln in lines[1:]] == ["plain", "batch norm",
                                                                                     "residual"]
    live.set(depth=runs.cnn_depths[0])
    assert live.text.startswith(f"CNN of depth {runs.cnn_depths[0]}")
    assert shows_the_full_render(live)


# ---- the batch-norm statistics ---------------------------------------------------------------------
class FakeModel:
    def __init__(self, scale, batch_norm):
        self.scale, self.batch_norm = scale, batch_norm


def fake_stats(model, X):
    layers = np.arange(5)
    before = model.scale ** layers * X.std()
    return before, (np.ones(5) if model.batch_norm else np.array([]))


def test_bn_statistics_runs_the_notebooks_functions_once_per_scale():
    calls = []

    def build(scale, batch_norm):
        calls.append((scale, batch_norm))
        return FakeModel(scale, batch_norm)

    live = widgets.bn_statistics(fake_stats, build, np.ones((4, 3)) * [0, 1, 2])
    assert len(calls) == 2 * len(widgets.SCALES)
    assert live.values == {"scale": 1.0}
    assert live.text == widgets.bn_text(1.0, *[np.ones(5) * np.std([0, 1, 2])] * 1, np.ones(5) * 0, np.ones(5))
    live.set(scale=2.0)
    assert "init scale 2: the plain network's last hidden layer has 2e+01" in live.text
    assert live.text.endswith("every layer's spread is 1.000")
    assert widgets.bn_text(1.0, [1, 2], [1, 1], [0.9, 1.0]).endswith("between 0.900 and 1.000")
    assert len(calls) == 2 * len(widgets.SCALES)  # nothing recomputed on a redraw
    assert shows_the_full_render(live)


def test_bn_statistics_refuses_what_is_not_the_notebooks_functions():
    with pytest.raises(TypeError, match="activation_stats"):
        widgets.bn_statistics(None, FakeModel, np.ones((2, 2)))
    with pytest.raises(TypeError, match="build"):
        widgets.bn_statistics(fake_stats, 3, np.ones((2, 2)))
    with pytest.raises(ValueError, match="scale"):
        widgets.bn_statistics(fake_stats, FakeModel, np.ones((2, 2)), scale=0.3)


# ---- data augmentation -----------------------------------------------------------------------------
def shift_right(images, dx=0, dy=0, degrees=0.0):
    return np.roll(images, dx, axis=3)


def column_classifier(images):
    """'Probabilities' that put the digit where the ink's mean column is (a stand-in network)."""
    cols = (images.sum(axis=(1, 2)) * np.arange(28)).sum(axis=1) / images.sum(axis=(1, 2, 3))
    p = np.full((len(images), 10), 0.01)
    p[np.arange(len(images)), np.clip((cols / 2.8).astype(int), 0, 9)] = 0.91
    return p


def test_augment_moves_the_digit_and_asks_the_classifier():
    images = np.zeros((2, 1, 28, 28))
    images[:, :, 10:18, 12:14] = 1.0                  # a bar whose mean column is 12.5 -> "4"
    live = widgets.augment(shift_right, column_classifier, images, np.array([4, 4]))
    assert live.text == widgets.augment_text(0, 0, 0, 0, column_classifier(images[:1])[0], 4)
    assert "says 4" in live.text and "p(4) = 0.91" in live.text
    live.set(dx=6)
    assert "moved +6 px right" in live.text and "says 6" in live.text and "p(4) = 0.01" in live.text
    assert shows_the_full_render(live)
    live.apply_preset("as it is")
    assert live.values["dx"] == 0 and "says 4" in live.text


def test_augment_refuses_bad_arguments():
    images = np.zeros((2, 1, 28, 28))
    with pytest.raises(TypeError, match="move"):
        widgets.augment(None, column_classifier, images, [1, 2])
    with pytest.raises(ValueError, match="labels"):
        widgets.augment(shift_right, column_classifier, images, [1])
