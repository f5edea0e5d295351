"""nnlib.widgets.playground: the knobs define a run, the buttons drive it, the figure follows it."""

import time

import numpy as np
import pytest

import nnlib
from nnlib.exercises.playground import grid_reference
from nnlib.jobs import TrainingJob
from nnlib.widgets import playground as widgets
from tests.helpers import training_steps

SETS = {"moons": nnlib.datasets.moons, "blobs": nnlib.datasets.blobs}


def make_data(dataset, noise, test_ratio):
    X, y = SETS[dataset](80, noise=noise, seed=1)
    X_train, X_test, y_train, y_test = nnlib.datasets.train_test_split(X, y, test_size=test_ratio, seed=1)
    return X_train, y_train, X_test, y_test


def make_job(data, width, depth, activation, lr, optimizer, l2, dropout, batch_size):
    X, y, X_test, y_test = data
    model = nnlib.models.mlp([2] + [width] * depth + [2], activation=activation, rng=0)
    params = model.parameters()
    opt = nnlib.optim.Adam(params, lr=lr) if optimizer == "Adam" else nnlib.optim.SGD(params, lr=lr)
    loss_fn = nnlib.CrossEntropyLoss()

    def record(loss):
        time.sleep(0.002)  # a step as slow as a real one, so the widget gets to redraw in between
        return {"loss": loss, "test_loss": loss_fn(nnlib.predict(model, X_test), y_test)}

    return TrainingJob(model, training_steps(model, opt, loss_fn, X, y, 300, record))


def unit_responses(model, points):
    out, h = [], points
    for layer in model.layers[:-1]:
        h = layer(h)
        if not isinstance(layer, nnlib.Linear):
            out.append(h)
    return out


PRESETS = {"wide blobs": dict(dataset="blobs", width=8, depth=1), "deep moons": dict(dataset="moons", depth=3)}


@pytest.fixture
def playground():
    panel = widgets.playground(make_data, make_job, grid_reference, unit_responses, list(SETS), presets=PRESETS,
                               resolution=20, unit_resolution=8, fps=20)
    yield panel
    panel.close()


def wait_until(predicate, timeout=20.0):
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_it_opens_on_the_first_data_set_at_the_playgrounds_defaults(playground):
    assert playground.live.values == {"dataset": "moons", "noise": 0.1, "test_ratio": 0.5, "width": 4, "depth": 2,
                                      "activation": "tanh", "lr": 0.03, "optimizer": "Adam", "l2": 0.0,
                                      "dropout": 0.0, "batch_size": 10}
    fig = playground.live.fig
    train = sum(len(c.get_offsets()) for c in fig.axes[0].collections[:2])
    assert train == 40  # half of the 80 points train
    assert "training accuracy" in playground.live.text and "test accuracy" in playground.live.text
    assert playground.job.state == "ready"


def test_training_in_the_background_moves_the_boundary_the_curves_and_the_units(playground):
    shade = playground.live.fig.axes[0].images[0]
    before_boundary, before_png = shade.get_array().copy(), playground.live.png
    units_before = playground.live.fig.axes[2].images[0].get_array().copy()
    playground.train()
    wait_until(lambda: playground.job.n_steps >= 60)
    frames = len(playground.live.timings)
    wait_until(lambda: len(playground.live.timings) > frames)  # one more redraw after 60 steps
    playground.pause()
    assert playground.job.state == "paused"
    assert not np.allclose(shade.get_array(), before_boundary)
    assert playground.live.png != before_png
    loss_line = playground.live.fig.axes[1].lines[0]
    assert len(loss_line.get_xdata()) == playground.job.n_steps
    units_after = playground.live.fig.axes[2].images[0].get_array()
    assert not np.allclose(np.nan_to_num(units_after), np.nan_to_num(units_before))


def test_step_runs_one_step_and_reset_starts_again(playground):
    playground.step()
    assert playground.job.n_steps == 1 and len(playground.live.fig.axes[1].lines[0].get_xdata()) == 1
    playground.reset()
    assert playground.job.n_steps == 0 and len(playground.live.fig.axes[1].lines[0].get_xdata()) == 0


def test_another_data_set_brings_its_points_and_its_plane(playground):
    ax = playground.live.fig.axes[0]
    moons_limits = ax.get_xlim()
    playground.live.controls["dataset"].value = "blobs"
    X_train, y_train, X_test, _ = make_data("blobs", 0.1, 0.5)
    np.testing.assert_allclose(ax.collections[1].get_offsets(), X_train[y_train == 1])
    assert ax.get_xlim() != moons_limits and ax.get_xlim()[0] < X_test[:, 0].min()
    assert playground.job.n_steps == 0


def test_a_preset_sets_the_network_and_the_data(playground):
    assert playground.live.preset.value == "(the knobs below)"  # no preset is claimed before one is chosen
    playground.live.apply_preset("wide blobs")
    assert playground.live.values["dataset"] == "blobs" and playground.live.values["width"] == 8
    assert playground.job.model.layers[0].out_features == 8
    playground.live.apply_preset("deep moons")
    assert sum(isinstance(m, nnlib.Linear) for m in playground.job.model.layers) == 4


def test_without_hidden_layers_no_unit_is_drawn(playground):
    playground.live.controls["depth"].value = 0
    units = playground.live.fig.axes[2].images[0].get_array()
    assert units.shape[0] > 8 and np.isnan(np.ma.getdata(units)).all()  # the tiles keep their size, blank
    assert "accuracy" in playground.live.text


def test_probability_is_the_softmax_of_the_two_logits_in_eval_mode():
    model = nnlib.Sequential(nnlib.Linear(2, 2, rng=0), nnlib.Dropout(0.9, rng=0))
    X = np.random.default_rng(0).normal(size=(5, 2))
    logits = model.layers[0](X)
    expected = np.exp(logits[:, 1]) / np.exp(logits).sum(1)
    np.testing.assert_allclose(widgets.probability(model, X), expected)  # dropout is off when drawing


def test_status_text_rounds_accuracies_to_whole_percents():
    model = nnlib.Sequential(nnlib.Linear(2, 2, rng=0))
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0], [-1.0, 2.0]])
    p = widgets.probability(model, X) > 0.5
    text = widgets.status_text(model, (X, p.astype(int), X, 1 - p.astype(int)))
    assert text == "training accuracy 100% · test accuracy 0%"


def test_show_run_draws_a_job_once_as_the_widget_does():
    from nnlib.figures.playground import PlaygroundFigure, extent_of

    data = make_data("moons", 0.1, 0.5)
    job = make_job(data, width=3, depth=2, activation="tanh", lr=0.03, optimizer="Adam", l2=0.0, dropout=0.0,
                   batch_size=10)
    job.step(5)
    extent = extent_of(data[0], data[2])
    fig = PlaygroundFigure(extent)
    widgets.show_run(fig, job, grid_reference, unit_responses, extent, resolution=15, unit_resolution=6)
    assert fig.shade.get_array().shape == (15, 15)
    assert len(fig.train_curve.get_xdata()) == 5
    assert (~np.isnan(np.ma.getdata(fig.unit_image.get_array()))).sum() == 2 * 3 * 6 * 6


@pytest.mark.parametrize("datasets, values, match", [
    ([], {}, "argument 'datasets' must name at least one"),
    (["moons"], {"widht": 3}, r"unknown knobs \['widht'\]"),
])
def test_bad_knobs_are_named(datasets, values, match):
    with pytest.raises(ValueError, match=match):
        widgets.knobs(datasets, **values)
