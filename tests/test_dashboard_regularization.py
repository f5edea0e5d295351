"""Tests for nnlib.dashboards.regularization: Jitter, random restarts, early stopping,
the regularization grid, dropout's Monte Carlo average and the exercise checker."""

import itertools

import numpy as np
import pytest

import nnlib
from nnlib.dashboards import regularization as R


# ---- Jitter --------------------------------------------------------------------------------
def test_jitter_adds_fresh_gaussian_noise_in_training_only():
    j = R.Jitter(0.3, rng=0)
    x = np.zeros((20000, 2))
    a, b = j(x), j(x)
    assert a.std() == pytest.approx(0.3, rel=0.02) and abs(a.mean()) < 0.01
    assert not np.array_equal(a, b)  # a new draw on every pass
    j.eval()
    np.testing.assert_array_equal(j(x), x)
    g = np.ones((3, 2))
    assert j.backward(g) is g


def test_jitter_keeps_float32_and_validates():
    j = R.Jitter(0.1, rng=0)
    assert j(np.zeros((4, 1), np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="sigma"):
        R.Jitter(-0.1)
    with pytest.raises(TypeError, match="'x'"):
        j(np.array(["a"]))
    assert repr(j) == "Jitter(sigma=0.1)"


# ---- restarts ------------------------------------------------------------------------------
def test_expected_best_of_k_matches_enumeration():
    losses = np.array([0.5, 0.1, 0.4, 0.3, 0.9, 0.2])
    for k in range(1, 7):
        brute = np.mean([min(c) for c in itertools.combinations(losses, k)])
        assert R.expected_best_of_k(losses, k) == pytest.approx(brute)
    assert R.expected_best_of_k(losses, 1) == pytest.approx(losses.mean())
    assert R.expected_best_of_k(losses, 6) == pytest.approx(0.1)


@pytest.mark.parametrize("k", [0, 7, 1.5])
def test_best_of_k_rejects_bad_k(k):
    with pytest.raises(ValueError, match="'k'"):
        R.expected_best_of_k(np.arange(6.0), k)
    with pytest.raises(ValueError, match="'k'"):
        R.best_of_first_k(np.arange(6.0), k)


def test_best_of_first_k():
    losses = np.array([0.5, 0.3, 0.4, 0.1])
    assert R.best_of_first_k(losses, 1) == (0, 0.5)
    assert R.best_of_first_k(losses, 3) == (1, 0.3)
    assert R.best_of_first_k(losses, 4) == (3, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        R.best_of_first_k(np.array([0.1, np.nan]), 1)


def test_restart_runs_small():
    runs = R.restart_runs(n_seeds=3, epochs=30)
    assert runs.losses.shape == (3,) and runs.curves.shape == (3, 200) and runs.X.shape == (40, 1)
    again = R.restart_runs(n_seeds=3, epochs=30)
    np.testing.assert_array_equal(runs.losses, again.losses)  # seeded: repeats exactly
    with pytest.raises(ValueError, match="n_seeds"):
        R.restart_runs(n_seeds=0)


# ---- early stopping ----------------------------------------------------------------------------
def test_patience_rule_by_hand():
    v = [1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.72, 0.71, 0.9]
    assert R.patience_rule(v, 1) == (2, 3)
    assert R.patience_rule(v, 2) == (2, 4)
    assert R.patience_rule(v, 3) == (5, 8)
    assert R.patience_rule(v, 10) == (5, 9)  # never fires: runs to the end
    assert R.patience_rule([1.0, 0.99, 0.98], 1, min_delta=0.05) == (1, 2)


@pytest.mark.parametrize("v, patience, match", [([], 3, "empty"), ([1.0, np.nan], 3, "NaN"),
                                                ([1.0], 0, "patience"), ([[1.0]], 1, "1-D")])
def test_patience_rule_rejects_bad_input(v, patience, match):
    with pytest.raises(ValueError, match=match):
        R.patience_rule(v, patience)


@pytest.fixture(scope="module")
def problem():
    return R.overfit_problem()


@pytest.fixture(scope="module")
def long_run(problem):
    return R.train_overfit(problem)


def test_the_problem_overfits(problem, long_run):
    # the unregularised network fits the training points below the noise level and does
    # worse than the noise level on fresh data
    assert long_run.train_mse < problem.noise**2 < long_run.val_mse
    assert min(long_run.history["val_loss"]) < long_run.val_mse


def test_patience_rule_agrees_with_nnlib_early_stopping(problem, long_run):
    for patience in (5, 20):
        best, stop = R.patience_rule(long_run.history["val_loss"], patience)
        es = R.train_overfit(problem, patience=patience)
        assert es.history.best_epoch == best
        assert len(es.history["val_loss"]) == stop
        # restore_best: the returned model scores the best epoch's validation loss
        assert es.val_mse == pytest.approx(long_run.history["val_loss"][best - 1], rel=1e-9)


# ---- regularization ----------------------------------------------------------------------------
def test_overfit_model_same_start_for_every_regularizer():
    plain = R.overfit_model()
    drop = R.overfit_model(dropout=0.3, jitter=0.1)
    pw = [p.value for p in plain.parameters()]
    dw = [p.value for p in drop.parameters()]
    assert all(np.array_equal(a, b) for a, b in zip(pw, dw, strict=True))
    assert sum(isinstance(m, nnlib.Dropout) for m in drop.modules()) == 2
    assert isinstance(drop[0], R.Jitter)
    with pytest.raises(ValueError, match="dropout"):
        R.overfit_model(dropout=1.0)


def test_regularizers_help_on_validation(problem, long_run):
    for kwargs in ({"weight_decay": 1e-2}, {"dropout": 0.2}, {"jitter": 0.1}):
        res = R.train_overfit(problem, **kwargs)
        assert res.val_mse < long_run.val_mse, kwargs
        assert res.train_mse > long_run.train_mse, kwargs


def test_train_overfit_validates(problem):
    with pytest.raises(ValueError, match="weight_decay"):
        R.train_overfit(problem, weight_decay=-1.0)
    with pytest.raises(ValueError, match="jitter"):
        R.train_overfit(problem, jitter=-0.1)
    with pytest.raises(ValueError, match="patience"):
        R.train_overfit(problem, patience=5, track_validation=False)


def test_regularization_grid_and_table(problem):
    grid = {"L2 weight decay": (0.0, 1e-2), "jitter σ": (0.0, 0.1)}
    cache = R.regularization_grid(problem, grid, epochs=20)
    assert set(cache) == {("L2 weight decay", 0.0), ("L2 weight decay", 1e-2), ("jitter σ", 0.0), ("jitter σ", 0.1)}
    assert cache[("L2 weight decay", 0.0)] is cache[("jitter σ", 0.0)]  # the zero fit is shared
    tracked = R.train_overfit(problem, epochs=20, weight_decay=1e-2)
    assert cache[("L2 weight decay", 1e-2)].val_mse == pytest.approx(tracked.val_mse, rel=1e-12)
    values, tr, va = R.regularization_table(cache, "jitter σ")
    np.testing.assert_array_equal(values, [0.0, 0.1])
    assert tr.shape == va.shape == (2,)
    with pytest.raises(ValueError, match="'kind'"):
        R.regularization_table(cache, "dropout rate p")
    with pytest.raises(ValueError, match="unknown regularizer"):
        R.regularization_grid(problem, {"L1": (0.1,)}, epochs=5)


def test_regularization_dashboard_switches_kind(problem):
    grid = {"L2 weight decay": (0.0, 1e-2), "dropout rate p": (0.0, 0.2)}
    cache = R.regularization_grid(problem, grid, epochs=10)
    box = R.regularization_dashboard(problem, cache)
    kind_w, value_w = box.children[0].children
    kind_w.value = "dropout rate p"
    assert value_w.options == (0.0, 0.2)
    value_w.value = 0.2
    assert "dropout rate p = 0.2" in box.children[1].value


# ---- dropout -------------------------------------------------------------------------------------
def test_mc_dropout_mean_matches_eval_before_a_linear_layer():
    rng = np.random.default_rng(0)
    lin = nnlib.Linear(8, 2, rng=1)
    model = nnlib.Sequential(nnlib.Dropout(0.5), lin)
    X = rng.standard_normal((5, 8))
    mean = R.mc_dropout_mean(model, X, passes=20000, seed=0)
    exact = nnlib.predict(model, X)
    np.testing.assert_allclose(mean, exact, atol=0.05)
    assert model.training is False
    with pytest.raises(ValueError, match="passes"):
        R.mc_dropout_mean(model, X, passes=0)


def test_check_stop_epoch():
    v = [1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.72, 0.71, 0.9]
    assert R.check_stop_epoch(8, v, 3).startswith("Right")
    wrong = R.check_stop_epoch(5, v, 3)
    assert wrong.startswith("Not yet") and "8" not in wrong
    with pytest.raises(ValueError, match="answer"):
        R.check_stop_epoch(8.0, v, 3)


def test_dashboards_build(problem, long_run):
    box = R.early_stopping_dashboard(long_run.history, initial=5)
    box.children[0].value = 20
    best, stop = R.patience_rule(long_run.history["val_loss"], 20)
    assert f"stops after epoch {stop}" in box.children[1].value
    runs = R.restart_runs(n_seeds=3, epochs=10)
    box = R.restarts_dashboard(runs, initial=2)
    box.children[0].value = 3
    assert "best of the first 3" in box.children[1].value
