import numpy as np
import pytest

from nnlib import datasets


def test_xor_table():
    X, y = datasets.xor()
    assert X.shape == (4, 2) and y.tolist() == [0, 1, 1, 0]
    np.testing.assert_array_equal(y, X[:, 0].astype(int) ^ X[:, 1].astype(int))


@pytest.mark.parametrize("make", [datasets.moons, datasets.spirals, datasets.circles, datasets.blobs])
def test_toy_sets_are_seeded_and_balanced(make):
    X1, y1 = make(101, seed=3)
    X2, y2 = make(101, seed=3)
    X3, _ = make(101, seed=4)
    np.testing.assert_array_equal(X1, X2)
    assert not np.array_equal(X1, X3)
    assert X1.shape == (101, 2) and y1.dtype == np.int64
    counts = np.bincount(y1)
    assert counts.max() - counts.min() <= 1


def test_spirals_classes():
    _, y = datasets.spirals(90, classes=3)
    assert sorted(set(y.tolist())) == [0, 1, 2]


@pytest.mark.parametrize("name,f", [("square", lambda x: x**2), ("abs", np.abs)])
def test_function_samples(name, f):
    X, y = datasets.function_samples(name, n=50)
    assert X.shape == y.shape == (50, 1)
    np.testing.assert_allclose(y, f(X))


def test_function_samples_noise_and_callable():
    X, y = datasets.function_samples(lambda x: 3 * x, n=20, noise=0.1, seed=0)
    assert 0 < np.std(y - 3 * X) < 0.3


@pytest.mark.parametrize("kwargs,match", [
    (dict(f="cube"), "argument 'f' must be one of"),
    (dict(n=0), "argument 'n' must be > 0"),
    (dict(noise=-1.0), "argument 'noise' must be >= 0"),
    (dict(x_range=(1, -1)), "lo < hi"),
])
def test_function_samples_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        datasets.function_samples(**kwargs)


def test_train_test_split_is_stratified_and_disjoint():
    X = np.arange(100).reshape(-1, 1)
    y = np.r_[np.zeros(80, int), np.ones(20, int)]
    Xtr, Xte, ytr, yte = datasets.train_test_split(X, y, test_size=0.25, seed=0)
    assert len(Xte) == 25 and np.bincount(yte).tolist() == [20, 5]
    assert not set(Xtr.ravel()) & set(Xte.ravel())


def test_circles_radii_and_noise():
    X, y = datasets.circles(2000, noise=0.0, factor=0.3, seed=1)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.3)
    Xn, yn = datasets.circles(2000, noise=0.05, factor=0.3, seed=1)
    rn = np.hypot(Xn[:, 0], Xn[:, 1])
    assert 0.03 < np.std(rn[yn == 0]) < 0.07 and abs(np.mean(rn[yn == 1]) - 0.3) < 0.02


def test_blobs_centres_and_spread():
    X, y = datasets.blobs(4000, noise=0.2, seed=2)
    np.testing.assert_allclose(X[y == 0].mean(0), [-0.5, -0.5], atol=0.03)
    np.testing.assert_allclose(X[y == 1].mean(0), [0.5, 0.5], atol=0.03)
    np.testing.assert_allclose(X[y == 1].std(0), [0.2, 0.2], atol=0.02)


def test_xor_cloud_labels_are_the_sign_rule_without_noise():
    X, y = datasets.xor_cloud(500, noise=0.0, seed=3)
    assert X.shape == (500, 2) and np.all(np.abs(X) <= 1)
    np.testing.assert_array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(int))
    assert 0.4 < y.mean() < 0.6
    Xn, yn = datasets.xor_cloud(500, noise=0.1, seed=3)
    np.testing.assert_array_equal(yn, y)  # the noise moves points, never relabels them
    assert 0.05 < np.std(Xn - X) < 0.15


@pytest.mark.parametrize("make,kwargs,match", [
    (datasets.circles, dict(n=0), "circles: argument 'n' must be > 0"),
    (datasets.circles, dict(noise=-0.1), "circles: argument 'noise' must be >= 0"),
    (datasets.circles, dict(factor=1.5), r"circles: argument 'factor' must be in \[0.0, 1.0\)"),
    (datasets.blobs, dict(n=2.5), "blobs: argument 'n'"),
    (datasets.blobs, dict(noise=-1), "blobs: argument 'noise' must be >= 0"),
    (datasets.xor_cloud, dict(n=-3), "xor_cloud: argument 'n' must be > 0"),
    (datasets.xor_cloud, dict(noise=float("nan")), "xor_cloud: argument 'noise'"),
])
def test_playground_sets_name_bad_arguments(make, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(**kwargs)
