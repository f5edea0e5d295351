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
    with pytest.raises(ValueError, match=r"expected shape \(N, 2\), got \(1, 3\)"):
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
