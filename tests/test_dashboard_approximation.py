"""Unit tests for nnlib.dashboards.approximation (notebook 02's slider logic and checkers)."""

import numpy as np
import pytest

from nnlib.dashboards import approximation as A
from nnlib.datasets import function_samples, moons


@pytest.fixture(scope="module")
def sin_data():
    return function_samples("sin", 50)


@pytest.fixture(scope="module")
def small_cache():
    return A.FitCache(steps=150, widths=(1, 2, 4, 6, 10))


# ---- the family trick -----------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_family_members_match_networks_trained_alone(sin_data, activation):
    X, y = sin_data
    fam = A.train_widths(X, y, (1, 3, 5), activation, steps=200, lr=0.03, seed=2)
    for w in (1, 3, 5):
        model, curve = A.train_alone(X, y, w, activation, steps=200, lr=0.03, seed=2)
        k = fam.index(w)
        np.testing.assert_allclose(fam.loss_curve[:, k], curve, rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(fam.member(w)(X), model(X), atol=1e-6)


def test_family_bookkeeping(sin_data):
    X, y = sin_data
    fam = A.train_widths(X, y, (2, 3), "tanh", steps=10)
    assert fam.W1.shape == (5, 1) and fam.W2.shape == (2, 5)
    assert fam.unit_slice(3) == slice(2, 5)
    assert np.all(fam.W2[0, 2:] == 0) and np.all(fam.W2[1, :2] == 0)  # blocks stay apart
    assert fam.predict(X).shape == (50, 2) and fam.hidden(X).shape == (50, 5)
    assert fam.loss_curve.shape == (11, 2)
    np.testing.assert_allclose(fam.final_loss(), np.mean((fam.predict(X) - y) ** 2, axis=0))
    with pytest.raises(ValueError, match="width"):
        fam.index(7)


def test_wider_fits_better(sin_data):
    X, y = sin_data
    fam = A.train_widths(X, y, (1, 8), "tanh", steps=600)
    assert fam.final_loss()[1] < fam.final_loss()[0] / 100


@pytest.mark.parametrize("kw, match", [
    (dict(widths=[]), "widths"), (dict(widths=[0]), "widths"), (dict(activation="swish"), "activation"),
    (dict(loss="hinge"), "loss"), (dict(steps=0), "steps"), (dict(lr=0.0), "lr"),
])
def test_train_widths_validates(sin_data, kw, match):
    X, y = sin_data
    with pytest.raises(ValueError, match=match):
        A.train_widths(X, y, **{"widths": (1,), **kw})


def test_train_widths_rejects_bad_data(sin_data):
    X, y = sin_data
    with pytest.raises(ValueError, match="'y'"):
        A.train_widths(X, y[:10], (1,))
    with pytest.raises(ValueError, match="NaN"):
        A.train_widths(np.full_like(X, np.nan), y, (1,))
    with pytest.raises(ValueError):
        A.train_widths(X, np.full(50, 0.5), (1,), loss="bce")


def test_cache_and_width_view(small_cache):
    v = A.width_view(small_cache, "x^2", "tanh", 4)
    assert v.x.shape == v.fit.shape == (301,)
    assert v.widths == [1, 2, 4, 6, 10] and v.errors.shape == (5,)
    assert v.train_mse == v.errors[2]
    fam = small_cache.family("x^2", "tanh")
    assert small_cache.family("x^2", "tanh") is fam  # cached, not retrained
    with pytest.raises(ValueError, match="target"):
        small_cache.family("x^3", "tanh")
    with pytest.raises(ValueError, match="width"):
        A.width_view(small_cache, "x^2", "tanh", 3)


# ---- bumps ----------------------------------------------------------------------------------
def test_bump_shape_and_limit():
    x = np.linspace(-1, 1, 201)
    b = A.bump(x, -0.2, 0.2, 2.0, 1000.0)
    np.testing.assert_allclose(b[np.abs(x) < 0.15], 2.0, atol=1e-12)
    np.testing.assert_allclose(b[np.abs(x) > 0.25], 0.0, atol=1e-12)
    soft = A.bump(x, -0.2, 0.2, 2.0, 1.0)
    assert soft.max() < 0.5  # gentle sigmoids: barely a bump
    with pytest.raises(ValueError, match="steepness"):
        A.bump(x, 0, 1, 1, 0)
    with pytest.raises(ValueError, match="height"):
        A.bump(x, 0, 1, np.nan, 1)


def test_bump_network_is_an_nnlib_mlp():
    net = A.bump_network("sin(pi x)", 6, 40.0)
    assert net.hidden_units == 12
    x = np.linspace(-1, 1, 33)
    np.testing.assert_allclose(net(x), net.to_mlp()(x.reshape(-1, 1))[:, 0], atol=1e-13)
    # each bump is the sum of its two units
    H = net.hidden(x)
    left = np.linspace(-1, 1, 7)[:-1].copy()
    left[0] -= 2
    right = np.linspace(-1, 1, 7)[1:].copy()
    right[-1] += 2
    h = np.sin(np.pi * 0.5 * (np.linspace(-1, 1, 7)[:-1] + np.linspace(-1, 1, 7)[1:]))
    np.testing.assert_allclose(H[:, 2] + H[:, 3], A.bump(x, left[1], right[1], h[1], 40.0), atol=1e-13)


def test_more_and_steeper_bumps_approximate_better():
    e = [A.bump_view("x^2", n, 200.0).hand_max_error for n in (2, 5, 20)]
    assert e[0] > e[1] > e[2]
    assert A.bump_view("x^2", 10, 300.0).max_weight >= 300.0
    v = A.bump_view("|x|", 4, 50.0, n=101)
    assert v.bumps.shape == (101, 4) and v.hand.shape == (101,)
    np.testing.assert_allclose(v.bumps.sum(axis=1), v.hand, atol=1e-13)


def test_bump_network_validates():
    with pytest.raises(ValueError, match="target"):
        A.bump_network("cos", 3, 10)
    with pytest.raises(ValueError, match="n_bumps"):
        A.bump_network("x^2", 0, 10)
    with pytest.raises(ValueError, match="hi"):
        A.bump_network("x^2", 2, 10, lo=1, hi=-1)


# ---- classification sweep -------------------------------------------------------------------
def test_classification_sweep():
    Xtr, ytr = moons(60, 0.35, seed=0)
    Xte, yte = moons(200, 0.35, seed=1)
    sw = A.classification_sweep(Xtr, ytr, Xte, yte, (1, 16), "tanh", steps=1500, lr=0.02,
                                grid_steps=20)
    assert sw.grid_logits.shape == (20, 20, 2)
    assert sw.train_acc.shape == sw.test_acc.shape == (2,)
    assert sw.train_acc[1] > sw.train_acc[0]  # more units fit the training set better
    assert sw.family.final_loss()[1] < sw.family.final_loss()[0]
    np.testing.assert_allclose(
        sw.test_acc, np.mean((sw.family.predict(Xte) > 0) == (yte[:, None] == 1), axis=0))
    assert sw.best_width in (1, 16)
    with pytest.raises(ValueError):
        A.classification_sweep(Xtr, ytr[:5], Xte, yte, (1,))
    with pytest.raises(ValueError):
        A.classification_sweep(Xtr[:, :1], ytr, Xte, yte, (1,))


# ---- depth against width --------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_sawtooth_networks_are_exact(k):
    x = np.linspace(0, 1, 1025)
    t = A.sawtooth(x, k)
    assert A.count_linear_pieces(t, x) == 2**k
    np.testing.assert_allclose(A.deep_sawtooth(k)(x.reshape(-1, 1))[:, 0], t, atol=1e-12)
    np.testing.assert_allclose(A.shallow_sawtooth(k)(x.reshape(-1, 1))[:, 0], t, atol=1e-12)


def test_depth_table_counts():
    rows = A.depth_vs_width_table((1, 4, 6))
    assert [r.deep_params for r in rows] == [7, 25, 37]  # 6k + 1
    assert [r.shallow_params for r in rows] == [7, 49, 193]  # 3 * 2^k + 1
    assert [r.shallow_lower_bound_params for r in rows] == [4, 46, 190]
    assert all(r.deep_max_error < 1e-12 and r.shallow_max_error < 1e-12 for r in rows)


def test_parameter_counts():
    import nnlib

    for sizes in ([1, 3, 1], [2, 8, 8, 1], [784, 100, 10]):
        assert A.mlp_parameter_count(sizes) == A.count_parameters(nnlib.models.mlp(sizes))
    with pytest.raises(ValueError):
        A.mlp_parameter_count([3])
    with pytest.raises(ValueError):
        A.mlp_parameter_count([3, 0])


def test_count_linear_pieces_and_sawtooth_validate():
    x = np.linspace(-1, 1, 101)
    assert A.count_linear_pieces(np.abs(x), x) == 2
    assert A.count_linear_pieces(2 * x, x) == 1
    with pytest.raises(ValueError):
        A.count_linear_pieces(x[:5], x)
    with pytest.raises(ValueError, match="k"):
        A.sawtooth(x, 0)


# ---- checkers -------------------------------------------------------------------------------
def test_check_parameter_count():
    assert A.check_parameter_count([1, 10, 1], 31) == "Right."
    msg = A.check_parameter_count([1, 10, 1], 30)
    assert msg.startswith("Not yet") and "31" not in msg
    assert "whole number" in A.check_parameter_count([1, 10, 1], "31")


def test_check_min_bumps():
    n = A.min_bumps_for("x^2", 0.2)
    assert n > 1
    assert A.bump_view("x^2", n, 200.0).hand_max_error < 0.2
    assert A.bump_view("x^2", n - 1, 200.0).hand_max_error >= 0.2
    assert A.check_min_bumps("x^2", 0.2, n) == "Right."
    low, high = A.check_min_bumps("x^2", 0.2, n - 1), A.check_min_bumps("x^2", 0.2, n + 1)
    assert low.startswith("Not yet") and high.startswith("Not yet") and low != high
    assert str(n) not in low.replace("0.2", "")
    assert A.min_bumps_for("step", 1e-9, max_bumps=3) == -1


def test_check_shallow_units():
    assert A.check_shallow_units(4, 15) == "Right."
    msg = A.check_shallow_units(4, 16)
    assert msg.startswith("Not yet") and "15" not in msg
    assert "whole number" in A.check_shallow_units(4, 15.0)


# ---- widgets: the wiring calls the logic without error -------------------------------------
def test_widgets_build_and_respond(small_cache):
    w = A.width_widget(small_cache, target="x^2", width=4)
    dd_t, dd_a, sl = w.children[0].children
    sl.value = 10
    dd_a.value = "relu"
    b = A.bump_widget(small_cache, target="x^2", n_bumps=2)
    b.children[0].children[1].value = 5
    b.children[0].children[2].value = 300.0
    s = A.single_bump_widget()
    s.children[0].children[3].value = 100.0
    Xtr, ytr = moons(40, 0.3, seed=0)
    sw = A.classification_sweep(Xtr, ytr, Xtr, ytr, (1, 4), "tanh", steps=20, grid_steps=10)
    m = A.moons_widget(sw, Xtr, ytr, Xtr, ytr, width=1)
    m.children[0].value = 4


def test_train_mlp_and_trained_depth_comparison():
    x = np.linspace(-1, 1, 20).reshape(-1, 1)
    mse0 = A.train_mlp(x, x**2, [1, 4, 1], "tanh", steps=1, lr=1e-9)
    mse = A.train_mlp(x, x**2, [1, 4, 1], "tanh", steps=300)
    assert mse < mse0
    with pytest.raises(ValueError, match="'y'"):
        A.train_mlp(x, x[:3], [1, 4, 1])
    rows = A.trained_depth_comparison(k=2, shallow_widths=(2, 8), deep_sizes=([1, 3, 3, 1],),
                                      seeds=(0,), steps=20, n=30)
    assert [r.sizes for r in rows] == [[1, 2, 1], [1, 8, 1], [1, 3, 3, 1]]
    assert [r.params for r in rows] == [7, 25, 22]  # (1+1)3 + (3+1)3 + (3+1)1 = 22
    assert all(np.isfinite(r.best_mse) for r in rows)


def test_plot_fit_with_units(small_cache):
    from nnlib import viz

    fam = small_cache.family("|x|", "sigmoid")
    fig, ax = viz.figure()
    X, y = small_cache.data["|x|"]
    A.plot_fit_with_units(ax, fam, 4, X, y, title="t")
    assert len(ax.lines) == 1 + 4 + 1  # points, one dashed curve per unit, the fit
