import re
import warnings

import numpy as np
import pytest

import nnlib
from nnlib.optim import SGD, Adam


def xor_setup(hidden=4, out=2, seed=0):
    X, y = nnlib.datasets.xor()
    model = nnlib.models.mlp([2, hidden, out], activation="tanh", rng=seed)
    return model, X, y


def test_seeded_mlp_learns_xor_to_100_percent():
    model, X, y = xor_setup(seed=0)
    history = nnlib.fit(model, nnlib.CrossEntropyLoss(), Adam(model.parameters(), lr=0.05), X, y,
                        epochs=300, batch_size=4, progress=False, seed=0)
    assert nnlib.evaluate(model, X, y) == 1.0
    assert history["loss"][-1] < 0.05 < history["loss"][0]


def test_xor_with_a_single_sigmoid_output_and_bce():
    X, y = nnlib.datasets.xor()
    model = nnlib.models.mlp([2, 4, 1], activation="tanh", output_activation="sigmoid", rng=1)
    nnlib.fit(model, nnlib.BCELoss(), Adam(model.parameters(), lr=0.05), X, y.reshape(-1, 1).astype(float),
              epochs=400, batch_size=4, progress=False)
    assert nnlib.evaluate(model, X, y) == 1.0


def test_seeded_mlp_fits_moons_above_95_percent():
    X, y = nnlib.datasets.moons(400, noise=0.1, seed=0)
    Xtr, Xte, ytr, yte = nnlib.datasets.train_test_split(X, y, test_size=0.25, seed=0)
    model = nnlib.models.mlp([2, 16, 16, 2], rng=0)
    h = nnlib.fit(model, nnlib.CrossEntropyLoss(), Adam(model.parameters(), lr=0.01), Xtr, ytr,
                  epochs=60, batch_size=32, validation=(Xte, yte), progress=False)
    assert nnlib.evaluate(model, Xte, yte) > 0.95
    assert h["val_accuracy"][-1] == pytest.approx(nnlib.evaluate(model, Xte, yte))
    assert set(h) >= {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == 60 for v in h.values())


def test_fit_is_deterministic_for_a_seed():
    runs = []
    for _ in range(2):
        model = nnlib.Sequential(nnlib.Linear(2, 8, rng=3), nnlib.ReLU(), nnlib.Dropout(0.3),
                                 nnlib.Linear(8, 2, rng=4))
        X, y = nnlib.datasets.moons(100, seed=1)
        h = nnlib.fit(model, nnlib.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X, y,
                      epochs=3, batch_size=10, progress=False, seed=7)
        runs.append(h["loss"])
    assert runs[0] == runs[1]


def test_divergence_stops_with_warning_and_returns_history():
    X, y = nnlib.datasets.moons(200, seed=0)
    model = nnlib.models.mlp([2, 16, 2], rng=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = nnlib.fit(model, nnlib.CrossEntropyLoss(), SGD(model.parameters(), lr=1e8), X, y,
                      epochs=10, batch_size=20, progress=False)
    # exactly one warning: fit's own, not numpy's overflow chatter on the way
    assert len(caught) == 1 and caught[0].category is RuntimeWarning
    msg = str(caught[0].message)
    m = re.search(r"the loss became (nan|inf) at epoch (\d+), batch (\d+); the last finite loss was (\S+)\.", msg)
    assert m, msg
    epoch = int(m.group(2))
    assert h.diverged and h.epochs == epoch - 1 and len(h.get("loss", [])) == epoch - 1
    assert np.isfinite(float(m.group(4)))


def test_divergence_mid_run_keeps_the_completed_epochs():
    X, y = nnlib.datasets.function_samples("square", n=40)
    model = nnlib.models.mlp([1, 8, 1], rng=0)
    opt = SGD(model.parameters(), lr=0.05)

    class Boost(nnlib.training.Callback):
        def on_epoch_end(self, state):
            if state.epoch == 2:
                state.optimizer.lr = 1e8

    with pytest.warns(RuntimeWarning, match=r"at epoch \d+") as rec:
        h = nnlib.fit(model, nnlib.MSELoss(), opt, X, y, epochs=10, batch_size=8, progress=False,
                      callbacks=[Boost()])
    epoch = int(re.search(r"at epoch (\d+)", str(rec[0].message)).group(1))
    assert epoch >= 3 and h.epochs == epoch - 1 and len(h["loss"]) == epoch - 1
    assert np.all(np.isfinite(h["loss"])) and h["loss"][1] < h["loss"][0]


def test_early_stopping_picks_best_epoch_and_restores_it():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 5))
    y = (X[:, 0] + 0.5 * rng.standard_normal(30) > 0).astype(int)
    Xv = rng.standard_normal((30, 5))
    yv = (Xv[:, 0] > 0).astype(int)
    model = nnlib.models.mlp([5, 64, 64, 2], rng=0)
    es = nnlib.EarlyStopping(patience=3)
    h = nnlib.fit(model, nnlib.CrossEntropyLoss(), Adam(model.parameters(), lr=0.01), X, y,
                  epochs=200, batch_size=30, validation=(Xv, yv), early_stopping=es, progress=False)
    assert h.stopped_early and h.epochs < 200
    best = int(np.argmin(h["val_loss"])) + 1
    assert h.best_epoch == best
    assert h.epochs == best + 3
    restored = nnlib.CrossEntropyLoss()(nnlib.predict(model, Xv), yv)
    assert restored == pytest.approx(h["val_loss"][best - 1])


def test_callback_can_stop_mid_epoch():
    X, y = nnlib.datasets.moons(100)
    model = nnlib.models.mlp([2, 4, 2], rng=0)
    seen = []

    class StopAfter3(nnlib.training.Callback):
        def on_batch_end(self, state):
            seen.append((state.epoch, state.batch))
            if len(seen) == 3:
                state.stop = True

    h = nnlib.fit(model, nnlib.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X, y,
                  epochs=5, batch_size=10, progress=False, callbacks=[StopAfter3()])
    assert seen == [(1, 1), (1, 2), (1, 3)]
    assert h.epochs == 0 and "loss" not in h


def test_scheduler_and_clipping_are_applied():
    X, y = nnlib.datasets.moons(64)
    model = nnlib.models.mlp([2, 4, 2], rng=0)
    opt = SGD(model.parameters(), lr=0.1)
    h = nnlib.fit(model, nnlib.CrossEntropyLoss(), opt, X, y, epochs=4, batch_size=64, progress=False,
                  scheduler=nnlib.optim.StepLR(opt, step_size=2, gamma=0.5), clip_grad_norm=0.01)
    assert h["lr"] == [0.1, 0.1, 0.05, 0.05]


def test_progress_bar_prints_on_a_terminal(capsys):
    X, y = nnlib.datasets.xor()
    model = nnlib.models.mlp([2, 2, 2], rng=0)
    nnlib.fit(model, nnlib.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X, y, epochs=2,
              batch_size=2, progress=True)
    assert "training" in capsys.readouterr().err


def test_hinge_loss_training_with_pm1_labels():
    X, y = nnlib.datasets.moons(200, seed=0)
    ypm = 2 * y - 1
    model = nnlib.models.mlp([2, 16, 1], rng=0)
    nnlib.fit(model, nnlib.HingeLoss(), Adam(model.parameters(), lr=0.02), X, ypm.astype(float),
              epochs=60, batch_size=20, progress=False)
    assert nnlib.evaluate(model, X, ypm) > 0.9


# ---- bad input: clear errors before any training ------------------------------------------
def _args():
    X, y = nnlib.datasets.xor()
    model = nnlib.models.mlp([2, 4, 2], rng=0)
    return model, nnlib.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X, y


def _unchanged(model, before):
    return all(np.array_equal(p.value, b) for p, b in zip(model.parameters(), before))


@pytest.mark.parametrize("change,match", [
    (dict(epochs=0), "argument 'epochs' must be > 0, got 0"),
    (dict(epochs=2.5), "argument 'epochs' must be an integer"),
    (dict(batch_size=0), "argument 'batch_size' must be > 0"),
    (dict(batch_size=-4), "argument 'batch_size' must be > 0"),
])
def test_bad_hyperparameters(change, match):
    model, loss, opt, X, y = _args()
    before = [p.value.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=match):
        nnlib.fit(model, loss, opt, X, y, progress=False, **change)
    assert _unchanged(model, before)


def test_nan_in_X_is_refused_by_name():
    model, loss, opt, X, y = _args()
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"fit: argument 'X' contains NaN \(first at index \(2, 1\)\)"):
        nnlib.fit(model, loss, opt, X, y, progress=False)


def test_wrong_feature_count_names_expected_and_actual():
    model, loss, opt, X, y = _args()
    with pytest.raises(ValueError, match=r"fit: argument 'X' has rows of shape \(3,\), which the model refuses: "
                                         r"Linear.forward: argument 'x' expected shape \(N, 2\)"):
        nnlib.fit(model, loss, opt, np.ones((4, 3)), y, progress=False)


def test_labels_of_wrong_length():
    model, loss, opt, X, y = _args()
    with pytest.raises(ValueError, match="argument 'y' expected 4 rows"):
        nnlib.fit(model, loss, opt, X, y[:3], progress=False)


def test_labels_out_of_range_anywhere_in_y():
    model, loss, opt, X, y = _args()
    y = y.copy()
    y[3] = 5
    before = [p.value.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"argument 'y' expected labels in \[0, 1\], got values from 0 to 5"):
        nnlib.fit(model, loss, opt, X, y, progress=False)
    assert _unchanged(model, before)


def test_wrong_rank_X():
    model, loss, opt, X, y = _args()
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nnlib.fit(model, loss, opt, X[:, 0], y, progress=False)


def test_validation_labels_of_wrong_length():
    model, loss, opt, X, y = _args()
    with pytest.raises(ValueError, match=r"validation\[1\]"):
        nnlib.fit(model, loss, opt, X, y, validation=(X, y[:2]), progress=False)


def test_evaluate_rejects_mismatched_lengths():
    model, _, _, X, y = _args()
    with pytest.raises(ValueError, match="expected 4 labels"):
        nnlib.evaluate(model, X, y[:2])


# ---- misuse (issue 16, rows 4, 5, 9, 11, 14, 15) ------------------------------------------
@pytest.mark.parametrize("call", [
    lambda m, X, y: nnlib.predict(m, X, batch_size=-5),
    lambda m, X, y: nnlib.predict(m, X, batch_size=0),
    lambda m, X, y: nnlib.predict(m, X, batch_size=2.5),
    lambda m, X, y: nnlib.evaluate(m, X, y, batch_size=-1),
])
def test_a_bad_batch_size_is_named(call):
    # row 4: an empty (0,) array; numpy's "range() arg 3 must not be zero"; a broadcast error
    model, _, _, X, y = _args()
    with pytest.raises(ValueError, match="argument 'batch_size' must be"):
        call(model, X, y)


def test_predict_on_zero_rows_keeps_the_output_width():
    # row 14: shape (0,) instead of (0, K)
    model, _, _, X, y = _args()
    assert nnlib.predict(model, X[:0]).shape == (0, 2)
    assert nnlib.predict(model, X, batch_size=3).shape == (4, 2)


@pytest.mark.parametrize("y, match", [
    # row 9: one-hot labels gave a broadcast error, 0.3 a silent 0.0
    (np.eye(2)[[0, 1, 1, 0]], r"expected integer labels of shape \(N,\), got shape \(4, 2\) \(one-hot rows\?"),
    (np.array([0.3, 1.0, 1.0, 0.0]), "expected integer class labels, got non-integer values"),
    (np.array([0, 1, 2, 0]), r"expected labels in \[0, 1\], got values from 0 to 2"),
    # row 14: a 0-d y said "len() of unsized object"
    (np.array(1), "expected one label per row of X, got a single value"),
])
def test_evaluate_checks_labels_as_fit_does(y, match):
    model, _, _, X, _ = _args()
    with pytest.raises(ValueError, match="evaluate: argument 'y' " + match):
        nnlib.evaluate(model, X, y)


def test_evaluate_on_empty_input_is_refused():
    # row 9: nan plus a RuntimeWarning
    model, _, _, X, y = _args()
    with pytest.raises(ValueError, match="evaluate: argument 'X' is empty"):
        nnlib.evaluate(model, X[:0], y[:0])


def test_evaluate_one_output_with_column_or_pm1_labels():
    X, y = nnlib.datasets.xor()
    model = nnlib.models.mlp([2, 4, 1], output_activation="sigmoid", rng=1)
    a = nnlib.evaluate(model, X, y)
    assert nnlib.evaluate(model, X, y.reshape(-1, 1)) == a
    with pytest.raises(ValueError, match=r"expected labels in \{0, 1\} or \{-1, \+1\} for a model with one output"):
        nnlib.evaluate(model, X, np.array([0, 1, 2, 1]))


def _fit_refused(match, exc=(ValueError, TypeError), **kwargs):
    model, loss, opt, X, y = _args()
    before = [p.value.copy() for p in model.parameters()]
    seen = []

    class Spy(nnlib.Callback):
        def on_batch_end(self, state):
            seen.append(state.batch)

    if isinstance(kwargs.get("callbacks", []), list):
        kwargs["callbacks"] = kwargs.get("callbacks", []) + [Spy()]
    kwargs.setdefault("progress", False)
    with pytest.raises(exc, match=match):
        nnlib.fit(model, loss, opt, kwargs.pop("X", X), kwargs.pop("y", y), **kwargs)
    assert _unchanged(model, before) and seen == []


@pytest.mark.parametrize("kwargs, match", [
    # row 11: a full epoch then AttributeError; silently ignored; SeedSequence's error
    (dict(scheduler="cos"), r"fit: argument 'scheduler' must be an nnlib LRScheduler such as StepLR"),
    (dict(callbacks=[object()]), r"fit: argument 'callbacks'\[0\] must be an nnlib.Callback"),
    (dict(callbacks=nnlib.EarlyStopping()), "fit: argument 'callbacks' must be a list of Callbacks"),
    (dict(early_stopping=5),
     r"fit: argument 'early_stopping' must be an nnlib EarlyStopping such as EarlyStopping\(patience=5\), got 5"),
    (dict(seed="a"), "fit: argument 'seed' must be None, a non-negative int seed or a numpy Generator, got 'a'"),
    (dict(seed=-1), "fit: argument 'seed'"),
    (dict(clip_grad_norm=-1.0), "ClipGradNorm: argument 'max_norm' must be > 0"),
    (dict(progress="yes"), "fit: argument 'progress' must be True or False"),
    (dict(shuffle=None), "fit: argument 'shuffle' must be True or False"),
    (dict(y=np.array(1)), "fit: argument 'y' expected 4 rows .*, got a single value"),
    (dict(y=[[0], [1, 1], [1], [0]]), "fit: argument 'y' is a ragged nested list"),
    (dict(early_stopping=nnlib.EarlyStopping(monitor="val_loss")), r"needs fit\(\.\.\., validation="),
    (dict(early_stopping=(es := nnlib.EarlyStopping()), callbacks=[es]), "fit: the same callback is given twice"),
])
def test_bad_fit_arguments_are_refused_before_training(kwargs, match):
    _fit_refused(match, **kwargs)


@pytest.mark.parametrize("yv, match", [
    # row 11: the error was about a one-row probe and never named validation[1]
    (np.array([0, 1, 5, 0]), r"fit: argument 'validation\[1\]' expected labels in \[0, 1\], got values from 0 to 5"),
    (np.array([0.5, 1, 1, 0]), r"fit: argument 'validation\[1\]' expected integer class labels"),
    (np.eye(2)[[0, 1, 1, 0]], r"fit: argument 'validation\[1\]' expected integer labels of shape \(N,\)"),
])
def test_bad_validation_labels_are_named(yv, match):
    X, _ = nnlib.datasets.xor()
    _fit_refused(match, validation=(X, yv))


def test_regression_targets_of_the_wrong_width_are_named():
    X, y = nnlib.datasets.function_samples("square", n=10)
    model = nnlib.models.mlp([1, 4, 1], rng=0)
    with pytest.raises(ValueError, match=r"fit: argument 'y' does not fit the model's output: MSELoss"):
        nnlib.fit(model, nnlib.MSELoss(), SGD(model.parameters(), lr=0.1), X, np.ones((10, 3)), progress=False)


def test_one_early_stopping_chooses_its_curve_at_every_fit():
    # row 5: the first fit fixed the watched curve for good
    X, y = nnlib.datasets.moons(60, seed=0)
    model = nnlib.models.mlp([2, 8, 2], rng=0)
    opt = Adam(model.parameters(), lr=0.01)
    es = nnlib.EarlyStopping(patience=2)
    nnlib.fit(model, nnlib.CrossEntropyLoss(), opt, X, y, epochs=2, progress=False, callbacks=[es])
    assert es.watching == "loss" and es.monitor is None
    nnlib.fit(model, nnlib.CrossEntropyLoss(), opt, X, y, epochs=2, progress=False, callbacks=[es],
              validation=(X, y))
    assert es.watching == "val_loss"
    h = nnlib.fit(model, nnlib.CrossEntropyLoss(), opt, X, y, epochs=2, progress=False, early_stopping=es)
    assert es.watching == "loss" and h.epochs == 2  # no KeyError 'val_loss' after an epoch


def test_callback_hooks_run_in_order_and_shortcuts_are_callbacks():
    X, y = nnlib.datasets.moons(20, seed=0)
    model = nnlib.models.mlp([2, 4, 2], rng=0)
    opt = SGD(model.parameters(), lr=0.1)
    calls = []

    class Log(nnlib.Callback):
        def __getattribute__(self, name):
            if name.startswith("on_"):
                calls.append(name)
            return object.__getattribute__(self, name)

    norms = []

    class Norm(nnlib.Callback):
        def on_after_backward(self, state):
            norms.append(np.sqrt(sum(np.sum(p.grad**2) for p in state.optimizer.params)))

    nnlib.fit(model, nnlib.CrossEntropyLoss(), opt, X, y, epochs=1, batch_size=10, progress=False,
              callbacks=[Log(), Norm()], clip_grad_norm=1e-3)
    assert calls == ["on_train_begin", "on_epoch_begin"] + ["on_after_backward", "on_batch_end"] * 2 + [
        "on_epoch_end", "on_train_end"]
    assert max(norms) <= 1e-3 * (1 + 1e-6)  # the clipping callback ran first


def test_an_object_with_hook_methods_is_accepted_without_subclassing():
    X, y = nnlib.datasets.xor()
    model = nnlib.models.mlp([2, 2, 2], rng=0)
    seen = []

    class Recorder:  # duck-typed, as older notebooks wrote them
        def on_batch_end(self, state):
            seen.append(state.batch_loss)

    nnlib.fit(model, nnlib.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), X, y, epochs=2, batch_size=2,
              progress=False, callbacks=[Recorder()])
    assert len(seen) == 4


def test_a_sigmoid_output_that_becomes_nan_stops_with_the_warning():
    # BCELoss refuses NaN probabilities (as PyTorch); fit reports a NaN output as a divergence
    X, y = nnlib.datasets.moons(100, seed=0)
    model = nnlib.models.mlp([2, 8, 1], output_activation="sigmoid", rng=0)

    class Spoil(nnlib.Callback):
        def on_epoch_end(self, state):
            state.model.layers[0].weight.value[0, 0] = np.nan

    with pytest.warns(RuntimeWarning, match=r"the loss became nan at epoch 2, batch 1"):
        h = nnlib.fit(model, nnlib.BCELoss(), SGD(model.parameters(), lr=0.1), X, y.astype(float),
                      epochs=3, progress=False, callbacks=[Spoil()])
    assert h.diverged and h.epochs == 1
    with pytest.raises(ValueError, match="fit: argument 'model' has NaN or infinite values in parameter '0.weight'"):
        nnlib.fit(model, nnlib.BCELoss(), SGD(model.parameters(), lr=0.1), X, y.astype(float), progress=False)
