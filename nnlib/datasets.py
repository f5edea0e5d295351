"""Small data sets that need no download: XOR, two moons, circles, blobs, spirals, 1-D samples.

Every generator takes ``seed`` so a notebook draws the same points every run.
MNIST lives in :mod:`nnlib.mnist` and is re-exported here as ``load_mnist``.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_in_range, check_positive


def xor(dtype=np.float64):
    """The four XOR points and labels: X ``(4, 2)`` in {0, 1}, y ``(4,)`` = x1 XOR x2."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y


def moons(n: int = 200, noise: float = 0.1, seed: int | None = 0):
    """Two interleaving half circles (like scikit-learn's make_moons).

    Returns X ``(n, 2)`` float64 and y ``(n,)`` int64 in {0, 1}, half of each class.
    """
    check_positive(n, "n", "moons", integer=True)
    check_positive(noise, "noise", "moons", allow_zero=True)
    rng = np.random.default_rng(seed)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0, np.pi, n0)
    t1 = np.linspace(0, np.pi, n1)
    upper = np.c_[np.cos(t0), np.sin(t0)]
    lower = np.c_[1 - np.cos(t1), 0.5 - np.sin(t1)]
    X = np.r_[upper, lower] + noise * rng.standard_normal((n, 2))
    y = np.r_[np.zeros(n0, np.int64), np.ones(n1, np.int64)]
    perm = rng.permutation(n)
    return X[perm], y[perm]


def spirals(n: int = 300, classes: int = 2, noise: float = 0.2, turns: float = 1.0, seed: int | None = 0):
    """``classes`` interleaved spiral arms (CS231n's toy problem), n points in all.

    Returns X ``(n, 2)`` float64 and y ``(n,)`` int64 in [0, classes).
    """
    check_positive(n, "n", "spirals", integer=True)
    check_positive(classes, "classes", "spirals", integer=True)
    check_positive(noise, "noise", "spirals", allow_zero=True)
    rng = np.random.default_rng(seed)
    per = np.full(classes, n // classes)
    per[: n % classes] += 1
    Xs, ys = [], []
    for k, m in enumerate(per):
        r = np.linspace(0.05, 1.0, m)
        theta = np.linspace(0, 2 * np.pi * turns, m) + 2 * np.pi * k / classes
        theta = theta + noise * rng.standard_normal(m)
        Xs.append(np.c_[r * np.cos(theta), r * np.sin(theta)])
        ys.append(np.full(m, k, np.int64))
    X, y = np.concatenate(Xs), np.concatenate(ys)
    perm = rng.permutation(n)
    return X[perm], y[perm]


def circles(n: int = 200, noise: float = 0.1, factor: float = 0.5, seed: int | None = 0):
    """Two concentric circles (like scikit-learn's make_circles): class 0 on the unit circle,
    class 1 on the circle of radius ``factor``, each point moved by Gaussian noise of std ``noise``.

    Returns X ``(n, 2)`` float64 and y ``(n,)`` int64 in {0, 1}, half of each class.
    """
    check_positive(n, "n", "circles", integer=True)
    check_positive(noise, "noise", "circles", allow_zero=True)
    check_in_range(factor, "factor", "circles", 0.0, 1.0)
    rng = np.random.default_rng(seed)
    n0 = n // 2
    radius = np.r_[np.ones(n0), np.full(n - n0, float(factor))]
    angle = rng.uniform(0, 2 * np.pi, n)
    X = radius[:, None] * np.c_[np.cos(angle), np.sin(angle)] + noise * rng.standard_normal((n, 2))
    y = np.r_[np.zeros(n0, np.int64), np.ones(n - n0, np.int64)]
    perm = rng.permutation(n)
    return X[perm], y[perm]


def blobs(n: int = 200, noise: float = 0.3, seed: int | None = 0):
    """Two Gaussian clouds of std ``noise`` around (-0.5, -0.5) (class 0) and (0.5, 0.5) (class 1).

    Returns X ``(n, 2)`` float64 and y ``(n,)`` int64 in {0, 1}, half of each class.
    """
    check_positive(n, "n", "blobs", integer=True)
    check_positive(noise, "noise", "blobs", allow_zero=True)
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n // 2, np.int64), np.ones(n - n // 2, np.int64)]
    X = (y[:, None] - 0.5) + noise * rng.standard_normal((n, 2))
    perm = rng.permutation(n)
    return X[perm], y[perm]


def xor_cloud(n: int = 200, noise: float = 0.1, seed: int | None = 0):
    """XOR as a cloud: points uniform in the square [-1, 1]², class 1 where the two coordinates
    have different signs (x1·x2 < 0), then moved by Gaussian noise of std ``noise`` (so labels
    near the axes may sit on the wrong side, as in TensorFlow Playground).

    Returns X ``(n, 2)`` float64 and y ``(n,)`` int64 in {0, 1}.
    """
    check_positive(n, "n", "xor_cloud", integer=True)
    check_positive(noise, "noise", "xor_cloud", allow_zero=True)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    return X + noise * rng.standard_normal((n, 2)), y


FUNCTIONS = {
    "square": lambda x: x**2,
    "sin": lambda x: np.sin(np.pi * x),
    "abs": np.abs,
    "step": lambda x: np.where(x >= 0, 1.0, 0.0),
}


def function_samples(f="square", n: int = 50, noise: float = 0.0, x_range=(-1.0, 1.0),
                     seed: int | None = 0, random_x: bool = False):
    """Samples of a 1-D function for approximation experiments (Bishop fig. 5.3 uses 50).

    Parameters
    ----------
    f : 'square' (x²), 'sin' (sin πx), 'abs' (|x|), 'step' (Heaviside), or any callable
    n : number of points; noise : std of Gaussian noise added to y
    x_range : (lo, hi); random_x : draw x uniformly instead of an even grid

    Returns
    -------
    X ``(n, 1)``, y ``(n, 1)``, float64.
    """
    if not callable(f):
        if f not in FUNCTIONS:
            raise ValueError(
                f"function_samples: argument 'f' must be one of {sorted(FUNCTIONS)} or a callable, got {f!r}"
            )
        f = FUNCTIONS[f]
    check_positive(n, "n", "function_samples", integer=True)
    check_positive(noise, "noise", "function_samples", allow_zero=True)
    lo, hi = x_range
    if not lo < hi:
        raise ValueError(f"function_samples: argument 'x_range' must have lo < hi, got {x_range!r}")
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(lo, hi, n)) if random_x else np.linspace(lo, hi, n)
    y = f(x) + noise * rng.standard_normal(n)
    return x.reshape(-1, 1), np.asarray(y, dtype=np.float64).reshape(-1, 1)


def train_test_split(X, y, test_size: float = 0.25, seed: int | None = 0, stratify: bool = True):
    """Split (X, y) into train and test parts; stratified by class label when ``stratify``.

    Returns X_train, X_test, y_train, y_test (scikit-learn's order).
    """
    check_in_range(test_size, "test_size", "train_test_split", 0.0, 1.0)
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"train_test_split: argument 'y' expected {len(X)} rows, got {len(y)}")
    rng = np.random.default_rng(seed)
    if stratify:
        test_idx = []
        for k in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == k))
            test_idx.append(idx[: int(round(test_size * len(idx)))])
        test = np.sort(np.concatenate(test_idx))
    else:
        test = np.sort(rng.permutation(len(X))[: int(round(test_size * len(X)))])
    mask = np.zeros(len(X), bool)
    mask[test] = True
    return X[~mask], X[mask], y[~mask], y[mask]


# MNIST has its own module (IDX reader, offline subset, download with hash checks).
from .mnist import load_mnist, read_idx  # noqa: E402, F401
