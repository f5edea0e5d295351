"""Checkers of notebook 06 (the Playground).

The decision grid is run against a reference on random probability functions over random,
non-square planes (so swapped axes or a grid one point short show); the circles generator
is random, so its properties are checked rather than its values: shapes and labels, the two
radii without noise, the spread of the radii with noise, points all round each circle, and
the seed making a draw repeatable. The reference circles is :func:`nnlib.datasets.circles`.
"""

from __future__ import annotations

import math

import numpy as np

from . import check_function, check_properties, verdict

__all__ = ["decision_grid", "grid_reference", "circles"]


def grid_reference(prob, extent, n):
    """Reference: ``P[i, j] = prob`` at ``(x1, x2) = (xs[j], ys[i])``, xs and ys n even steps, ends included."""
    x0, x1, y0, y1 = extent
    xx, yy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return np.asarray(prob(np.c_[xx.ravel(), yy.ravel()]), dtype=float).reshape(n, n)


def _random_grid_problem(rng):
    """A small random network's P(class 1) (not symmetric in x1 and x2), a plane wider than tall, and n."""
    W, b, v = rng.normal(size=(2, 5)), rng.normal(size=5), rng.normal(size=5)

    def prob(points):
        points = np.asarray(points, dtype=float)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"prob expects points of shape (N, 2), got {points.shape}")
        return 1 / (1 + np.exp(-np.tanh(points @ W + b) @ v))

    x0, y0 = rng.uniform(-2, 0, 2)
    extent = (float(x0), float(x0 + rng.uniform(2, 4)), float(y0), float(y0 + rng.uniform(0.5, 1.5)))
    return prob, extent, int(rng.integers(3, 30))


def decision_grid(student) -> bool:
    """Exercise 1: ``decision_grid(prob, extent, n) -> P`` of shape (n, n)."""
    if not callable(student):
        return verdict(False, "pass your function itself: checks.decision_grid(decision_grid).")
    return check_function(
        student, grid_reference, _random_grid_problem, trials=8, rtol=1e-9, atol=1e-12,
        hint="row i of P belongs to the i-th value of x2 (from y0 to y1) and column j to the j-th value of x1 "
             "(from x0 to x1), both ends included; build all n·n points as one (n·n, 2) array, call prob once, "
             "and put its answers back in the grid's shape.",
        praise="It agrees with the reference on 8 random networks and planes, rows along x2 and columns along x1.")


def _circle_problem(student, n, noise, seed):
    """The student's draw, checked for shapes and labels; returns (X, y) or a hint string."""
    out = student(n, noise=noise, seed=seed)
    if not isinstance(out, tuple) or len(out) != 2:
        return "return two arrays, (X, y)"
    X, y = np.asarray(out[0]), np.asarray(out[1])
    if X.shape != (n, 2) or y.shape != (n,):
        return f"for n = {n}, X should have shape ({n}, 2) and y shape ({n},); got {X.shape} and {y.shape}"
    if y.dtype.kind not in "iu" or not set(np.unique(y).tolist()) <= {0, 1}:
        return "y should hold the integer labels 0 (outer circle) and 1 (inner circle)"
    counts = np.bincount(y, minlength=2)
    if abs(int(counts[0]) - int(counts[1])) > 1:
        return f"each class should have half of the points; for n = {n} you have {counts[0]} and {counts[1]}"
    return X.astype(float), y


def _circles_problem(student) -> str | None:
    """None when the student's circles behaves like nnlib.datasets.circles, else a hint."""
    for n in (7, 10):
        got = _circle_problem(student, n, 0.0, 3)
        if isinstance(got, str):
            return got
    X, y = got
    r = np.hypot(X[:, 0], X[:, 1])
    if not (np.allclose(r[y == 0], 1.0) and np.allclose(r[y == 1], 0.5)):
        return "with noise = 0, class 0 should lie exactly on the circle of radius 1 and class 1 on radius 0.5"
    for noise, seed in ((0.05, 11), (0.1, 12)):
        got = _circle_problem(student, 4000, noise, seed)
        if isinstance(got, str):
            return got
        X, y = got
        r, angle = np.hypot(X[:, 0], X[:, 1]), np.arctan2(X[:, 1], X[:, 0])
        for k, radius in ((0, 1.0), (1, 0.5)):
            spread = float(np.std(r[y == k]))
            if abs(float(np.mean(r[y == k])) - radius) > 0.03 or not 0.7 * noise < spread < 1.3 * noise:
                return (f"with noise = {noise}, the distances of class {k} from the centre should average {radius} "
                        f"and spread by about the noise (you have mean {np.mean(r[y == k]):.2f}, spread {spread:.3f}); "
                        "add Gaussian noise of that standard deviation to both coordinates")
            quarters = np.bincount(((angle[y == k] + math.pi) // (math.pi / 2)).astype(int) % 4, minlength=4)
            if quarters.min() < 0.15 * quarters.sum():
                return f"class {k} should go all round its circle: draw the angle uniformly from 0 to 2π"
    again = student(50, noise=0.1, seed=5)
    other = student(50, noise=0.1, seed=6)
    if not np.array_equal(np.asarray(again[0]), np.asarray(student(50, noise=0.1, seed=5)[0])):
        return "the same seed should give the same points: draw everything from np.random.default_rng(seed)"
    if np.array_equal(np.asarray(again[0]), np.asarray(other[0])):
        return "another seed should give other points"
    return None


def circles(student) -> bool:
    """Exercise 2: ``circles(n, noise=0.1, seed=0) -> (X, y)``, two circles of radii 1 (class 0) and 0.5 (class 1)."""
    if not callable(student):
        return verdict(False, "pass your function itself: checks.circles(circles).")
    return check_properties(_circles_problem, student,
                            praise="Right radii, the right spread, points all round both circles, and repeatable "
                                   "by seed.")
