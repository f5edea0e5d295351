import numpy as np
import pytest

from nnlib import datasets


def test_xor_table():
    X, y = datasets.xor()
    assert X.shape == (4, 2) and y.tolist() == [0, 1, 1, 0]
    np.testing.assert_array_equal(y, X[:, 0].astype(int) ^ X[:, 1].astype(int))


@pytest.mark.parametrize("make", [datasets.moons, datasets.spirals])
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
