"""Tests for nnlib.dashboards.lenet: the logic behind notebook 06, on a tiny random CNN."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlib import optim
from nnlib.conv import Conv2d, MaxPool2d
from nnlib.dashboards import lenet as dl
from nnlib.layers import Flatten, Linear, ReLU, Tanh
from nnlib.module import Module, Sequential


def tiny_cnn(variant="modern"):
    """8x8 grey images, 3 classes; "classic" swaps ReLU for Tanh like LeNet does."""
    act = ReLU if variant == "modern" else Tanh
    return Sequential(Conv2d(1, 2, 3), act(), MaxPool2d(2), Flatten(), Linear(18, 8), act(), Linear(8, 3))


def tiny_data(n=60, seed=0):
    """Three learnable classes: bright left half, bright right half, dark image."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.uniform(0, 0.2, (n, 1, 8, 8))
    X[y == 0, :, :, :4] += 0.7
    X[y == 1, :, :, 4:] += 0.7
    Xv, yv = X[: n // 3].copy(), y[: n // 3].copy()
    return X, y, Xv, yv


# --------------------------------------------------------------------- config and builders
def test_config_defaults_are_valid_and_replace_validates():
    c = dl.TrainConfig()
    assert (c.variant, c.optimizer, c.epochs) == ("modern", "Adam", 1)
    assert c.replace(lr=0.1).lr == 0.1
    with pytest.raises(ValueError, match="lr"):
        c.replace(lr=0.0)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("variant", "vintage", "variant"),
        ("optimizer", "Lion", "optimizer"),
        ("lr", -1e-3, "lr"),
        ("lr", float("nan"), "lr"),
        ("batch_size", 0, "batch_size"),
        ("batch_size", 2.5, "batch_size"),
        ("epochs", 0, "epochs"),
        ("dropout", 1.0, "dropout"),
        ("dropout", -0.1, "dropout"),
        ("seed", -1, "seed"),
    ],
)
def test_config_rejects_bad_values_naming_the_argument(field, value, match):
    with pytest.raises(ValueError, match=match):
        dl.TrainConfig(**{field: value})


def test_build_model_is_seeded_and_variant_aware():
    a = dl.build_model(dl.TrainConfig(seed=3), tiny_cnn)
    b = dl.build_model(dl.TrainConfig(seed=3), tiny_cnn)
    c = dl.build_model(dl.TrainConfig(seed=4), tiny_cnn)
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.value, pb.value)
    assert any(not np.array_equal(pa.value, pc.value) for pa, pc in zip(a.parameters(), c.parameters()))
    classic = dl.build_model(dl.TrainConfig(variant="classic"), tiny_cnn)
    assert isinstance(classic[1], Tanh) and isinstance(a[1], ReLU)


def test_build_model_rejects_a_non_config():
    with pytest.raises(TypeError, match="config"):
        dl.build_model({"variant": "modern"}, tiny_cnn)


def test_add_dropout_goes_before_every_linear_but_the_first():
    model = dl.build_model(dl.TrainConfig(dropout=0.3), tiny_cnn)
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "ReLU", "Dropout", "Linear"]
    assert model[6].p == 0.3
    base = tiny_cnn()
    assert dl.add_dropout(base, 0.0) is base
    with pytest.raises(ValueError, match="'p'"):
        dl.add_dropout(base, 1.5)
    with pytest.raises(TypeError, match="Sequential"):
        dl.add_dropout(Linear(2, 2), 0.5)


def test_dropout_is_active_in_training_and_off_in_eval():
    model = dl.build_model(dl.TrainConfig(dropout=0.5), tiny_cnn)
    x = tiny_data()[0][:4]
    model.eval()
    np.testing.assert_array_equal(model(x), model(x))
    model.train()
    assert not np.allclose(model(x), model(x))


@pytest.mark.parametrize(
    "name, cls, momentum",
    [("SGD", optim.SGD, 0.0), ("SGD + momentum", optim.SGD, 0.9), ("Adam", optim.Adam, None),
     ("RMSProp", optim.RMSProp, None)],
)
def test_build_optimizer_maps_every_name(name, cls, momentum):
    model = tiny_cnn()
    opt = dl.build_optimizer(dl.TrainConfig(optimizer=name, lr=0.02), model.parameters())
    assert isinstance(opt, cls)
    assert opt.lr == 0.02
    if momentum is not None:
        assert opt.momentum == momentum


def test_build_optimizer_rejects_a_non_config():
    with pytest.raises(TypeError, match="config"):
        dl.build_optimizer("Adam", tiny_cnn().parameters())


# --------------------------------------------------------------------- recorder, stop flag, history
class FakeState:
    def __init__(self, loss=1.0, history=None):
        self.batch_loss, self.stop, self.history = loss, False, history or {}


def test_recorder_accumulates_and_reports_every_few_batches():
    calls = []
    rec = dl.LiveRecorder(every=3, on_update=lambda r: calls.append(len(r.batch_losses)))
    for i in range(7):
        rec.on_batch_end(FakeState(loss=float(i)))
    assert rec.batch_losses == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert calls == [3, 6]
    rec.on_epoch_end(FakeState(history={"val_accuracy": [0.5], "val_loss": [1.5]}))
    assert rec.epoch_ends == [7] and rec.val_accuracy == [0.5] and rec.val_loss == [1.5]
    assert calls[-1] == 7


def test_recorder_sets_state_stop_once_asked():
    rec = dl.LiveRecorder()
    s = FakeState()
    rec.on_batch_end(s)
    assert not s.stop and not rec.stopped_early
    rec.request_stop()
    rec.on_batch_end(s)
    assert s.stop and rec.stopped_early
    d = {"batch_loss": 1.0}
    rec.on_batch_end(d)  # dict-shaped states work too
    assert d["stop"] is True


def test_recorder_scores_the_probe_in_eval_mode_every_few_batches():
    model = dl.build_model(dl.TrainConfig(dropout=0.5), tiny_cnn)
    X, y = tiny_data()[:2]
    rec = dl.LiveRecorder(every=2, probe=(X[:12], y[:12]))
    state = FakeState()
    state.model = model
    model.train()
    for _ in range(5):
        rec.on_batch_end(state)
    assert rec.probe_batches == [2, 4]
    expected = float(np.mean(dl.predict_labels(model, X[:12]) == y[:12]))
    assert rec.probe_accuracy == [expected, expected]
    assert model.training  # put back in training mode
    with pytest.raises(ValueError, match="probe"):
        dl.LiveRecorder(probe=X)
    with pytest.raises(ValueError, match="probe"):
        dl.LiveRecorder(probe=(X, y[:3]))


def test_recorder_smoothing_and_divergence():
    rec = dl.LiveRecorder()
    assert rec.smoothed_losses().size == 0 and not rec.diverged
    for v in (4.0, 2.0, 0.0, 2.0):
        rec.on_batch_end(FakeState(loss=v))
    np.testing.assert_allclose(rec.smoothed_losses(2), [4.0, 3.0, 1.0, 1.0])
    rec.on_batch_end(FakeState(loss=float("nan")))
    assert rec.diverged
    with pytest.raises(ValueError, match="every"):
        dl.LiveRecorder(every=0)
    with pytest.raises(ValueError, match="window"):
        rec.smoothed_losses(0)


def test_job_runs_deterministically_and_learns():
    data = tiny_data()
    cfg = dl.TrainConfig(lr=0.05, batch_size=10, epochs=4, seed=1)
    a = dl.TrainingJob(cfg, data, tiny_cnn, every=2)
    b = dl.TrainingJob(cfg, data, tiny_cnn, every=2)
    ha, hb = a.run(), b.run()
    assert a.error is None and a.n_batches == 24
    assert a.recorder.batch_losses == b.recorder.batch_losses
    assert len(a.recorder.batch_losses) == 24 and a.recorder.epoch_ends == [6, 12, 18, 24]
    assert a.recorder.val_accuracy == ha["val_accuracy"] == hb["val_accuracy"]
    assert a.recorder.probe_batches == list(range(2, 25, 2))
    assert a.recorder.probe_accuracy == b.recorder.probe_accuracy
    assert a.final_val_accuracy == 1.0  # the three classes are trivially separable
    assert ha["loss"][-1] < ha["loss"][0]
    assert "24/24 batches" in a.summary() and "validation accuracy 1" in a.summary()


def test_job_stop_from_another_thread_ends_the_run_early():
    data = tiny_data(n=300)
    started = threading.Event()

    def slow(rec):
        started.set()
        time.sleep(0.01)

    job = dl.TrainingJob(dl.TrainConfig(batch_size=5, epochs=50), data, tiny_cnn, every=1, on_update=slow)
    done = []
    job.on_done = done.append
    job.start()
    assert started.wait(10)
    assert job.running
    with pytest.raises(RuntimeError, match="already running"):
        job.start()
    job.stop()
    job.join(10)
    assert not job.running and done == [job]
    assert job.recorder.stopped_early
    assert 0 < len(job.recorder.batch_losses) < job.n_batches
    assert "stopped early" in job.summary()
    if not job.recorder.val_accuracy:  # stopped inside the first epoch: the probe is all there is
        assert "200-image validation sample" not in job.summary()  # only 100 validation images here
        assert "validation sample" in job.summary() or "no validation yet" in job.summary()


class BlowsUpOnFourthBatch(Module):
    """Logits that turn infinite on the fourth training forward, as a too-large step would."""

    def __init__(self):
        self.net, self.calls = tiny_cnn(), 0

    def forward(self, x):
        self.calls += self.training
        out = self.net(x)
        return out * np.inf if self.calls >= 4 else out

    def backward(self, grad_y):
        return self.net.backward(grad_y)


def test_job_reports_divergence_instead_of_raising():
    job = dl.TrainingJob(dl.TrainConfig(batch_size=10, epochs=5), tiny_data(), lambda v: BlowsUpOnFourthBatch())
    job.run()
    assert job.error is None and job.history.diverged
    assert job.warnings and "batch 4" in job.warnings[0]
    assert "diverged after 3 batches" in job.summary()


def test_job_catches_errors_and_still_calls_on_done():
    X, y, Xv, yv = tiny_data()
    done = []
    job = dl.TrainingJob(dl.TrainConfig(), (X, y, Xv, yv), lambda v: Sequential(Flatten(), Linear(5, 3)),
                         on_done=done.append)
    job.run()
    assert job.error is not None and done == [job]
    assert "failed" in job.summary()


def test_job_validates_its_data():
    X, y, Xv, yv = tiny_data()
    with pytest.raises(ValueError, match="data"):
        dl.TrainingJob(dl.TrainConfig(), (X, y), tiny_cnn)
    with pytest.raises(ValueError, match="y_train"):
        dl.TrainingJob(dl.TrainConfig(), (X, y[:-1], Xv, yv), tiny_cnn)
    bad = X.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        dl.TrainingJob(dl.TrainConfig(), (bad, y, Xv, yv), tiny_cnn)
    with pytest.raises(TypeError, match="config"):
        dl.TrainingJob(None, (X, y, Xv, yv), tiny_cnn)
    with pytest.raises(ValueError, match="probe_size"):
        dl.TrainingJob(dl.TrainConfig(), (X, y, Xv, yv), tiny_cnn, probe_size=-1)


def test_training_plot_renders_png():
    rec = dl.LiveRecorder()
    for v in np.linspace(2, 0.5, 30):
        rec.on_batch_end(FakeState(loss=float(v)))
    rec.on_epoch_end(FakeState(history={"val_accuracy": [0.8]}))
    plot = dl.TrainingPlot(30)
    plot.update(rec)
    png = plot.png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_allclose(plot.acc.get_ydata(), [0.8])
    np.testing.assert_allclose(plot.acc.get_xdata(), [30])  # drawn where the epoch ended
    assert len(plot.raw.get_xdata()) == 30


# --------------------------------------------------------------------- data and inspection helpers
def test_pixel_statistics():
    X = np.array([[[[0.0, 1.0], [0.25, 0.75]]]])
    s = dl.pixel_statistics(X)
    assert s["mean"] == 0.5 and s["zero_fraction"] == 0.25 and s["ink_fraction"] == 0.5
    np.testing.assert_allclose(s["std"], np.std([0, 1, 0.25, 0.75]))
    with pytest.raises(ValueError, match="NaN"):
        dl.pixel_statistics(np.array([[np.nan, 0.0]]))


def test_confusion_matrix_counts_and_validates():
    cm = dl.confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2], n_classes=3)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 0, 1], [0, 0, 2]])
    assert cm.sum() == 4
    with pytest.raises(ValueError, match="y_pred"):
        dl.confusion_matrix([0, 1], [0], n_classes=3)
    with pytest.raises(ValueError, match="y_true"):
        dl.confusion_matrix([0, 5], [0, 1], n_classes=3)


def test_most_confident_mistakes_orders_by_wrong_confidence():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95], [0.7, 0.3]])
    y = np.array([0, 0, 1, 0, 0])
    np.testing.assert_array_equal(dl.most_confident_mistakes(probs, y, k=5), [3, 1, 2])
    np.testing.assert_array_equal(dl.most_confident_mistakes(probs, y, k=1), [3])
    with pytest.raises(ValueError, match="y_true"):
        dl.most_confident_mistakes(probs, y[:3])
    with pytest.raises(ValueError, match="'k'"):
        dl.most_confident_mistakes(probs, y, k=0)


def test_softmax_is_stable_and_normalised():
    p = dl.softmax(np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]]))
    np.testing.assert_allclose(p, [[0.5, 0.5], [0.25, 0.75]])
    with pytest.raises(ValueError, match="logits"):
        dl.softmax(np.zeros(3))


def test_layer_outputs_and_feature_map_stages():
    model = tiny_cnn()
    x = tiny_data()[0][:1]
    outs = dl.layer_outputs(model, x)
    assert [lbl for lbl, _ in outs][:3] == ["0 Conv2d", "1 ReLU", "2 MaxPool2d"]
    assert outs[0][1].shape == (1, 2, 6, 6) and outs[-1][1].shape == (1, 3)
    np.testing.assert_allclose(outs[-1][1], model(x))
    assert model.training  # the mode is restored
    stages = dl.feature_map_stages(model, x)
    assert [s[0] for s in stages] == ["C1 after ReLU: 2@6x6", "S2: 2@3x3", "probabilities"]
    np.testing.assert_allclose(stages[-1][1].sum(), 1.0)
    with pytest.raises(ValueError, match="one image"):
        dl.feature_map_stages(model, tiny_data()[0][:2])
    with pytest.raises(TypeError, match="Sequential"):
        dl.layer_outputs(Linear(2, 2), x)


def test_mosaic_tiles_and_scales_each_map():
    maps = np.stack([np.full((2, 2), 3.0), -np.eye(2)])
    m = dl.mosaic(maps, ncols=2, pad=1)
    assert m.shape == (2, 5)
    np.testing.assert_array_equal(m[:, :2], np.ones((2, 2)))
    assert np.isnan(m[:, 2]).all()
    np.testing.assert_array_equal(m[:, 3:], -np.eye(2))
    assert dl.mosaic(np.zeros((3, 2, 2)), ncols=2).shape == (5, 5)
    with pytest.raises(ValueError, match="maps"):
        dl.mosaic(np.zeros((2, 2)), 1)


def test_side_by_side_aligns_columns():
    text = dl.side_by_side("a\nbbb", "x\ny\nz", titles=("L", "R"), gap=2)
    lines = text.splitlines()
    assert lines[0] == "L    R" and lines[2] == "a    x" and lines[4] == "     z"


def test_connection_table_drawing_validates():
    import matplotlib

    matplotlib.use("Agg")
    from nnlib.viz import figure

    fig, ax = figure()
    table = np.zeros((16, 6), dtype=bool)
    table[:, 0] = True
    dl.plot_connection_table(ax, table)
    assert len(ax.texts) == 16
    with pytest.raises(ValueError, match="boolean"):
        dl.plot_connection_table(ax, np.ones((16, 6)))


# --------------------------------------------------------------------- robustness
def test_shift_moves_pixels_and_fills_zeros():
    X = np.arange(16.0).reshape(1, 1, 4, 4)
    s = dl.shift_images(X, 1, 0)
    np.testing.assert_array_equal(s[0, 0, :, 0], 0)
    np.testing.assert_array_equal(s[0, 0, :, 1:], X[0, 0, :, :3])
    s = dl.shift_images(X, -1, 2)
    np.testing.assert_array_equal(s[0, 0, 2:, :3], X[0, 0, :2, 1:])
    assert s[0, 0, :2].sum() == 0 and s[0, 0, :, 3].sum() == 0
    assert dl.shift_images(X, 4, 0).sum() == 0
    np.testing.assert_array_equal(dl.shift_images(X, 0, 0), X)
    with pytest.raises(ValueError, match="dx"):
        dl.shift_images(X, 1.5)
    with pytest.raises(ValueError, match="4-D"):
        dl.shift_images(X[0], 1)


def test_rotation_matches_rot90_and_keeps_mass_for_small_angles():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(2, 1, 7, 7))
    np.testing.assert_allclose(dl.rotate_images(X, 90), np.rot90(X, 1, axes=(2, 3)), atol=1e-12)
    np.testing.assert_allclose(dl.rotate_images(X, 180), X[:, :, ::-1, ::-1], atol=1e-12)
    np.testing.assert_allclose(dl.rotate_images(X, 0), X)
    np.testing.assert_allclose(dl.rotate_images(dl.rotate_images(X, 30), -30)[:, :, 3, 3], X[:, :, 3, 3], atol=0.2)
    digit = np.zeros((1, 1, 28, 28))
    digit[..., 10:18, 12:16] = 1.0
    np.testing.assert_allclose(dl.rotate_images(digit, 17).sum(), digit.sum(), rtol=0.01)
    assert dl.rotate_images(X.astype(np.float32), 10).dtype == np.float32
    with pytest.raises(ValueError, match="degrees"):
        dl.rotate_images(X, float("inf"))


def test_noise_is_seeded_clipped_and_zero_sigma_is_identity():
    X = tiny_data()[0][:5]
    a, b = dl.add_noise(X, 0.3, seed=1), dl.add_noise(X, 0.3, seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 1 and not np.array_equal(a, X)
    np.testing.assert_array_equal(dl.add_noise(X, 0.0), X)
    with pytest.raises(ValueError, match="sigma"):
        dl.add_noise(X, -1.0)
    with pytest.raises(ValueError, match="kind"):
        dl.perturb(X, "blur", 1)


def test_robustness_curves_start_at_clean_accuracy():
    data = tiny_data()
    job = dl.TrainingJob(dl.TrainConfig(lr=0.05, batch_size=10, epochs=4, seed=1), data, tiny_cnn)
    job.run()
    X, y = data[0], data[1]
    levels = {"noise": [0.0, 0.5], "shift": [0, 3], "rotation": [0, 90]}
    curves = dl.robustness_curves(job.model, X, y, levels=levels)
    clean = float((dl.predict_labels(job.model, X) == y).mean())
    for kind, (lv, acc) in curves.items():
        assert list(lv) == levels[kind] and acc.shape == (2,)
        assert acc[0] == clean
    # a right shift by 3 of an 8-pixel image moves "bright left half" into the right half
    assert curves["shift"][1][1] < clean


def test_fgsm_moves_each_pixel_by_eps_and_raises_the_loss():
    from nnlib.losses import CrossEntropyLoss

    data = tiny_data()
    job = dl.TrainingJob(dl.TrainConfig(lr=0.05, batch_size=10, epochs=4, seed=1), data, tiny_cnn)
    job.run()
    model = job.model
    x, y = np.random.default_rng(5).uniform(0.2, 0.8, (1, 1, 8, 8)), np.array([0])  # no pooling ties
    adv = dl.fgsm(model, x, y, 0.05)
    g = dl.input_gradient(model, x, y)
    np.testing.assert_allclose(np.abs(adv - x)[g != 0], 0.05)
    loss = CrossEntropyLoss()
    assert loss(model(adv), y) > loss(model(x), y)
    assert all(np.all(p.grad == 0) for p in model.parameters())  # backward's leftovers cleared
    # the gradient is the real one: compare with a central difference on one pixel
    h = 1e-6
    xp, xm = x.copy(), x.copy()
    xp[0, 0, 2, 3] += h
    xm[0, 0, 2, 3] -= h
    model.eval()
    fd = (loss(model(xp), y) - loss(model(xm), y)) / (2 * h)
    np.testing.assert_allclose(g[0, 0, 2, 3], fd, rtol=1e-5, atol=1e-10)
    with pytest.raises(ValueError, match="eps"):
        dl.fgsm(model, x, y, -0.1)


def test_smallest_flipping_eps_is_the_first_flip_on_the_grid():
    data = tiny_data()
    job = dl.TrainingJob(dl.TrainConfig(lr=0.05, batch_size=10, epochs=4, seed=1), data, tiny_cnn)
    job.run()
    model = job.model
    x, y = data[0][1:2], data[1][1:2]  # digit 0 of this toy set resists every eps up to 0.5
    eps = dl.smallest_flipping_eps(model, x, y)
    assert eps is not None and eps > 0
    flipped = dl.predict_labels(model, dl.fgsm(model, x, y, eps))[0] != y[0]
    before = dl.predict_labels(model, dl.fgsm(model, x, y, round(eps - 0.01, 2)))[0] == y[0]
    assert flipped and before
    assert dl.smallest_flipping_eps(model, x, y, eps_grid=[0.0]) is None
    with pytest.raises(ValueError, match="one image"):
        dl.smallest_flipping_eps(model, data[0][:2], data[1][:2])


# --------------------------------------------------------------------- checkers
def test_checkers_say_right_or_wrong_without_the_answer(capsys, monkeypatch):
    import nnlib.lenet as lenet_mod

    table = np.zeros((16, 6), dtype=bool)
    table[:, :3] = True  # 48 connections
    monkeypatch.setattr(lenet_mod, "C3_CONNECTIONS", table)
    assert dl.check_c3_multiply_adds(100 * 48 * 25)  # 10x10 positions, 48 connections, 5x5 each
    assert not dl.check_c3_multiply_adds(100 * 96 * 25)
    assert not dl.check_c3_multiply_adds(100 * 48 * 25 + 100 * 16)
    out = capsys.readouterr().out
    assert out.startswith("Right.") and "Not yet. Hint:" in out and "bias" in out
    assert str(100 * 48 * 25) not in out
    assert not dl.check_flatten_size(16 * 6 * 6)
    out = capsys.readouterr().out
    assert "Not yet" in out and "400" not in out
    assert not dl.check_flatten_size("400") and not dl.check_flatten_size(None)
    out = capsys.readouterr().out
    assert "got '400'" in out and "Replace None" in out


def test_check_flip_eps_and_training_run(capsys):
    data = tiny_data()
    job = dl.TrainingJob(dl.TrainConfig(lr=0.05, batch_size=10, epochs=3, seed=1), data, tiny_cnn)
    job.run()
    x, y = data[0][1:2], data[1][1:2]
    eps = dl.smallest_flipping_eps(job.model, x, y)
    assert dl.check_flip_eps(eps, job.model, x, y)
    assert not dl.check_flip_eps(eps + 0.01, job.model, x, y)
    out = capsys.readouterr().out
    assert "smaller eps" in out and f"{eps:g}" not in out.split("Not yet")[1]
    assert dl.check_training_run(job, target=0.9)
    long = dl.TrainingJob(dl.TrainConfig(epochs=4), data, tiny_cnn)
    long.recorder.val_accuracy.append(1.0)
    assert not dl.check_training_run(long)
    assert not dl.check_training_run(0.99)
    assert "dashboard.job" in capsys.readouterr().out


# --------------------------------------------------------------------- widget wiring (no front end)
def test_dashboard_trains_and_stops_through_its_buttons():
    pytest.importorskip("ipywidgets")
    data = tiny_data(n=300)
    dash = dl.TrainingDashboard(data, tiny_cnn, dl.TrainConfig(batch_size=5, epochs=30), every=5)
    dash.train_button.click()
    assert dash.job is not None and dash.train_button.disabled and not dash.stop_button.disabled
    deadline = time.time() + 10
    while not dash.job.recorder.batch_losses and time.time() < deadline:
        time.sleep(0.01)
    dash.stop_button.click()
    dash.job.join(10)
    assert dash.job.recorder.stopped_early
    assert not dash.train_button.disabled and dash.stop_button.disabled
    assert "stopped early" in dash.status.value
    assert dash.image.value[:4] == b"\x89PNG"
    assert dash.progress.value == len(dash.job.recorder.batch_losses)


def test_dashboard_preset_sets_knobs_and_bad_values_show_a_message():
    pytest.importorskip("ipywidgets")
    dash = dl.TrainingDashboard(tiny_data(), tiny_cnn)
    dash.preset.value = "classic LeNet, plain SGD"
    assert dash.config() == dl.TrainConfig(**dl.PRESETS["classic LeNet, plain SGD"])
    dash.seed.value = -5
    dash.train_button.click()
    assert dash.job is None and "seed" in dash.status.value


def test_response_similarity_ignores_sign_and_scale():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(2, 5, 5))
    b = np.stack([-3 * a[1] + 2, a[0], np.ones((5, 5))])
    r = dl.response_similarity(a, b)
    assert r.shape == (2, 3)
    np.testing.assert_allclose([r[1, 0], r[0, 1]], 1.0)
    np.testing.assert_array_equal(r[:, 2], 0.0)  # a constant map correlates with nothing
    with pytest.raises(ValueError, match="maps_b"):
        dl.response_similarity(a, np.zeros((1, 4, 4)))


def test_filter_comparison_figure_has_four_rows():
    k = np.ones((2, 3, 3))
    m = np.zeros((2, 6, 6))
    fig = dl.plot_filter_comparison(k, m, np.ones((3, 5, 5)), np.zeros((3, 6, 6)), ["a", "b"])
    assert len(fig.axes) == 12
    assert fig.axes[0].get_title() == "a"


def test_compare_layer_tables_lines_up_two_networks():
    a = [{"index": 0, "layer": "Conv2d", "output_shape": (1, 6, 28, 28), "params": 156},
         {"index": 1, "layer": "ReLU", "output_shape": (1, 6, 28, 28), "params": 0}]
    b = [dict(a[0], params=1516), dict(a[1], layer="Tanh")]
    text = dl.compare_layer_tables(a, b)
    lines = text.splitlines()
    assert lines[0].split() == ["#", "modern", "layer", "output", "shape", "params", "classic", "layer", "params"]
    assert lines[2].split()[-2:] == ["Conv2d", "1,516"] and "Tanh" in lines[3]
    assert lines[-1].split() == ["total", "156", "1,516"]
    with pytest.raises(ValueError, match="output shapes"):
        dl.compare_layer_tables(a, b[:1])


def test_feature_map_explorer_updates_its_artists():
    pytest.importorskip("ipywidgets")
    X, y = tiny_data()[:2]
    ex = dl.FeatureMapExplorer(tiny_cnn(), X, y, index=0)
    assert len(ex.images) == 2 and len(ex.bars) == 3
    ex.slider.value = 4
    np.testing.assert_array_equal(ex.in_img.get_array(), X[4, 0])
    assert ex.ax_in.get_title().startswith("#4: label 1")
    np.testing.assert_allclose([b.get_height() for b in ex.bars], ex.stages[-1][1])


def test_robustness_explorer_switches_curves_and_snaps_to_levels():
    pytest.importorskip("ipywidgets")
    X, y = tiny_data()[:2]
    model = tiny_cnn()
    curves = dl.robustness_curves(model, X[:9], y[:9], levels={"noise": [0.0, 0.5], "shift": [-2, 0, 2],
                                                               "rotation": [0, 45, 90]})
    ex = dl.RobustnessExplorer(model, curves, X[1:2], int(y[1]), kind="rotation")
    assert (ex.level.min, ex.level.max, ex.level.step) == (0.0, 90.0, 45.0)
    st = ex.state("rotation", 50.0)
    assert st["level"] == 45 and st["accuracy"] == curves["rotation"][1][1]
    np.testing.assert_allclose(st["image"], dl.rotate_images(X[1:2], 45.0))
    ex.kind.value = "shift"
    assert (ex.level.min, ex.level.max, ex.level.value) == (-2.0, 2.0, 0.0)
    ex.level.value = 2.0
    np.testing.assert_allclose(ex.marker.get_xdata(), [2])
    assert ex.ax_img.get_title().startswith("shift 2: says")
    with pytest.raises(ValueError, match="kind"):
        dl.RobustnessExplorer(model, curves, X[1:2], 1, kind="blur")


def test_dashboard_knobs_redraw_the_plot_and_keep_the_last_run_in_grey():
    pytest.importorskip("ipywidgets")
    data = tiny_data()
    dash = dl.TrainingDashboard(data, tiny_cnn, dl.TrainConfig(batch_size=10, epochs=1))
    before = dash.image.value
    dash.lr.value = 0.01
    assert dash.image.value != before
    title = dash.plot.title.get_text()
    assert title.startswith("Next: modern, Adam, lr 0.01") and title.endswith(": 6 batches")
    dash.preset.value = "classic LeNet, plain SGD"
    assert "classic, SGD" in dash.plot.title.get_text()
    dash.epochs.value = 1  # a knob turned by hand: the knobs no longer match the preset
    assert dash.preset.value == "(custom)"
    dash.batch_size.value = 32
    dash.train_button.click()
    dash.job.join(30)
    assert len(dash.plot.prev_loss.get_xdata()) == 0  # the first run has nothing before it
    smooth = np.asarray(dash.plot.smooth.get_ydata())
    dash.dropout.value = 0.25  # next knob: the finished run turns into the grey reference
    np.testing.assert_allclose(dash.plot.prev_loss.get_ydata(), smooth)
    assert len(dash.plot.smooth.get_xdata()) == 0
    dash.seed.value = -1
    assert "seed" in dash.status.value  # a bad value is a message, not a traceback


def test_background_run_leaves_the_warning_machinery_alone():
    import warnings

    filters_before = list(warnings.filters)
    job = dl.TrainingJob(dl.TrainConfig(batch_size=10, epochs=5), tiny_data(), lambda v: BlowsUpOnFourthBatch())
    with pytest.warns(RuntimeWarning, match="batch 4"):
        job.start()
        job.join(30)
    assert job.history.diverged and job.warnings == []  # the warning went out, not into the job
    assert "diverged" in job.summary()
    assert warnings.filters == filters_before


@settings(max_examples=60, deadline=None, derandomize=True)
@given(n=st.integers(1, 3), h=st.integers(2, 9), w=st.integers(2, 9), quarter=st.integers(0, 4),
       dx=st.integers(-10, 10), dy=st.integers(-10, 10))
def test_rotation_and_shift_properties(n, h, w, quarter, dx, dy):
    X = np.random.default_rng(h * 10 + w).uniform(size=(n, 1, h, w))
    if h == w:  # quarter turns of a square image are exact
        np.testing.assert_allclose(dl.rotate_images(X, 90.0 * quarter), np.rot90(X, quarter, axes=(2, 3)),
                                   atol=1e-9)
    assert dl.rotate_images(X, 37.0).shape == X.shape
    moved = dl.shift_images(X, dx, dy)
    back = dl.shift_images(moved, -dx, -dy)
    keep = np.zeros((h, w), bool)  # pixels that never left the frame come back unchanged
    keep[max(0, -dy):max(0, h - max(0, dy)), max(0, -dx):max(0, w - max(0, dx))] = True
    np.testing.assert_array_equal(back[..., keep], X[..., keep])
    assert np.count_nonzero(back[..., ~keep]) == 0


def test_float32_stays_float32():
    model = dl.build_model(dl.TrainConfig(), tiny_cnn)
    x = tiny_data()[0][:2].astype(np.float32)
    assert dl.add_noise(x, 0.1).dtype == np.float32
    assert dl.shift_images(x, 1).dtype == np.float32
    assert dl.fgsm(model, x, np.array([0, 1]), 0.1).dtype == np.float32
