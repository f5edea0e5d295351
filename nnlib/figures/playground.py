"""Figures of notebook 06 (the Playground): the decision boundary, the loss curves, the units.

One figure, as in TensorFlow Playground: the input plane shaded by the network's confidence
with the training points (filled) and the test points (hollow) on it, the training and test
losses so far, and one small picture per hidden unit of what it responds to. Nothing here
trains or evaluates a network: the notebook computes the grids and passes them in.

Conventions (those of notebook 01): class 0 is blue circles, class 1 orange squares; the
plane is shaded from blue (sure of class 0) through white (undecided) to orange (sure of
class 1); a unit's picture is its activation divided by its largest absolute value on the
plane, on a diverging map with a colourbar (red: positive, blue: negative).
"""

from __future__ import annotations

import numpy as np

from .. import viz
from .perceptron import CLASS_COLOURS, CLASS_MARKERS, PROBABILITY

__all__ = ["MAX_DEPTH", "MAX_WIDTH", "UNIT_RESOLUTION", "PlaygroundFigure", "data_sets", "extent_of", "grow_limit",
           "montage", "scaled"]

MAX_DEPTH, MAX_WIDTH = 4, 8  # hidden layers and units per layer the figure has room for
UNIT_RESOLUTION = 24  # grid points per side of a unit's picture
# A widget redraws what changed and everything above it in its axes; what never changes
# while training (axes, ticks, titles, legends: all outside the moving area) goes below it.
_STILL, _MOVING = 0.5, 1.0


def extent_of(*point_sets, pad: float = 0.15) -> tuple[float, float, float, float]:
    """The square ``(x0, x1, y0, y1)`` that holds every point of every set, ``pad`` of its side
    added all round, its ends rounded out to halves (so more noise, or another draw of the
    same data set, seldom moves the axes: new limits cost a full render)."""
    points = np.concatenate([np.asarray(p, dtype=float).reshape(-1, 2) for p in point_sets])
    if not len(points):
        raise ValueError("extent_of: expected at least one point, got none")
    lo, hi = points.min(0), points.max(0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 0.5) * (1 + 2 * pad)
    x0, y0 = np.floor(2 * (centre - half)) / 2
    x1, y1 = np.ceil(2 * (centre + half)) / 2
    side = max(x1 - x0, y1 - y0)
    return float(x0), float(x0 + side), float(y0), float(y0 + side)


def grow_limit(limit: float, value: float) -> float:
    """``limit`` doubled until it holds ``value``: an axis that follows a growing curve but
    changes seldom (each change costs a full render)."""
    if not limit > 0:
        raise ValueError(f"grow_limit: argument 'limit' must be > 0, got {limit!r}")
    while np.isfinite(value) and value > limit:
        limit *= 2
    return limit


def scaled(activation: np.ndarray) -> np.ndarray:
    """A unit's activation divided by its largest absolute value (all zeros stay zeros)."""
    a = np.asarray(activation, dtype=float)
    peak = np.abs(a).max() if a.size else 0.0
    return a / peak if peak > 0 else np.zeros_like(a)


def montage(maps, rows: int, cols: int, gap: int = 2, tile: int = 1) -> np.ndarray:
    """The unit pictures ``maps[l][u]`` (each r x r, scaled by :func:`scaled`) as one image of
    ``rows`` x ``cols`` tiles, layer l in tile row l (the first layer on top); NaN (drawn
    transparent) in the gaps and where a tile has no unit; tiles of ``tile`` pixels when there
    is no unit at all. One image, because drawing one picture per unit costs a few
    milliseconds each on every frame."""
    tiles = [np.asarray(m, dtype=float) for layer in maps for m in layer]
    r = tiles[0].shape[0] if tiles else tile
    image = np.full((rows * (r + gap) - gap, cols * (r + gap) - gap), np.nan)
    for i, layer in enumerate(maps[:rows]):
        for j, unit in enumerate(layer[:cols]):
            top, left = (rows - 1 - i) * (r + gap), j * (r + gap)  # origin="lower": row 0 is drawn lowest
            image[top:top + r, left:left + r] = scaled(unit)
    return image


def _scatter(ax, X, y, part):
    """The points of one part (train: filled, test: hollow) of a data set, by class."""
    X, y = np.asarray(X, dtype=float).reshape(-1, 2), np.asarray(y)
    size = 5 * viz.fontsize("small")
    hollow = part == "test"
    return [ax.scatter(X[y == k, 0], X[y == k, 1], s=size, marker=CLASS_MARKERS[k],
                       facecolor="white" if hollow else CLASS_COLOURS[k],
                       edgecolor=CLASS_COLOURS[k] if hollow else "white", linewidth=1.5 if hollow else 0.6,
                       zorder=3, label=f"{part}, class {k}") for k in (0, 1)]


def data_sets(sets):
    """One small plane per data set: ``sets = {name: (X_train, y_train, X_test, y_test)}``."""
    fig, axes = viz.figure(1, len(sets), figsize=(2.8 * len(sets), 3.2), squeeze=False)
    for ax, (name, (X_train, y_train, X_test, y_test)) in zip(axes[0], sets.items()):
        _scatter(ax, X_train, y_train, "train")
        _scatter(ax, X_test, y_test, "test")
        x0, x1, y0, y1 = extent_of(X_train, X_test)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name)
    fig.tight_layout()
    return fig


class PlaygroundFigure:
    """The Playground's figure; its ``show_*`` methods move the artists to new data.

    Parameters
    ----------
    extent : ``(x0, x1, y0, y1)``, the input plane shown (see :func:`extent_of`)
    max_depth, max_width : room for hidden-unit pictures (layers x units per layer)

    Attributes
    ----------
    fig : the matplotlib Figure;  boundary, losses, units : its three axes
    """

    def __init__(self, extent, max_depth: int = MAX_DEPTH, max_width: int = MAX_WIDTH):
        fig, ax = viz.figure(figsize=(12, 6.2))
        ax.remove()
        outer = fig.add_gridspec(2, 2, width_ratios=[1.05, 1], height_ratios=[1, 1.25], wspace=0.55, hspace=0.45)
        self.fig = fig
        self.boundary = fig.add_subplot(outer[:, 0])
        self.losses = fig.add_subplot(outer[0, 1])
        self.units = fig.add_subplot(outer[1, 1])
        self.rows, self.cols = max_depth, max_width
        self._extent = tuple(float(v) for v in extent)
        self._boundary_axes(self.boundary)
        self._loss_axes(self.losses)
        self._unit_axes(self.units)

    # ---- building ------------------------------------------------------------------------
    def _boundary_axes(self, ax):
        self.shade = ax.imshow(np.full((2, 2), 0.5), origin="lower", extent=self._extent, cmap=PROBABILITY,
                               vmin=0, vmax=1, interpolation="bilinear", zorder=_MOVING)
        ax.set_axisbelow(True)
        bar = self.fig.colorbar(self.shade, ax=ax, fraction=0.046, pad=0.03, ticks=[0, 0.5, 1])
        bar.set_label("P(orange class)")
        self.points = {(part, k): artist for part in ("train", "test")
                       for k, artist in enumerate(_scatter(ax, np.zeros((0, 2)), np.zeros(0, int), part))}
        ax.set_xlim(*self._extent[:2])
        ax.set_ylim(*self._extent[2:])
        ax.set_aspect("equal")
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.grid(False)
        ax.set_title("filled: training points, hollow: test points", fontsize=viz.fontsize("small"),
                     zorder=_STILL)

    def _loss_axes(self, ax):
        (self.train_curve,) = ax.plot([], [], color=viz.BLUE, label="training loss", zorder=_MOVING)
        (self.test_curve,) = ax.plot([], [], color=viz.VERMILLION, linestyle="--", label="test loss", zorder=_MOVING)
        ax.set_axisbelow(True)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 1)
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy")
        # above the axes, where no curve runs under it (so it is not redrawn with the curves)
        ax.legend(loc="lower right", bbox_to_anchor=(1, 1), ncol=2, frameon=False,
                  fontsize=viz.fontsize("small")).set_zorder(_STILL)

    def _unit_axes(self, ax):
        blank = montage([], self.rows, self.cols, tile=UNIT_RESOLUTION)
        self.unit_image = ax.imshow(blank, origin="lower", cmap=viz.CMAP_DIVERGING, vmin=-1, vmax=1,
                                    interpolation="nearest", zorder=_MOVING)
        ax.set_axis_off()
        # the image fills the axes, so a tile row's centre is a fixed fraction of its height
        self.layer_labels = [
            ax.text(-0.02, (self.rows - 0.5 - i) / self.rows, f"layer {i + 1}", transform=ax.transAxes, ha="right",
                    va="center", fontsize=viz.fontsize("small"), zorder=_STILL)
            for i in range(self.rows)]
        ax.set_title("what each hidden unit responds to", fontsize=viz.fontsize("small"), zorder=_STILL)
        bar = self.fig.colorbar(self.unit_image, ax=ax, fraction=0.03, pad=0.02, ticks=[-1, 0, 1])
        bar.set_label("unit / max |unit|", fontsize=viz.fontsize("small"))
        bar.ax.tick_params(labelsize=viz.fontsize("small"))

    # ---- moving ---------------------------------------------------------------------------
    def show_data(self, X_train, y_train, X_test, y_test, extent) -> None:
        """New points, and the plane they live in (the axes change only when the plane does)."""
        for part, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
            X, y = np.asarray(X, dtype=float).reshape(-1, 2), np.asarray(y)
            for k in (0, 1):
                self.points[part, k].set_offsets(X[y == k])
        extent = tuple(float(v) for v in extent)
        if extent != self._extent:
            self._extent = extent
            self.boundary.set_xlim(*extent[:2])
            self.boundary.set_ylim(*extent[2:])
            self.shade.set_extent(extent)

    def show_boundary(self, P) -> None:
        """``P[i, j]``: the probability of class 1 at row i (x2) and column j (x1) of the plane."""
        self.shade.set_data(np.asarray(P, dtype=float))

    def show_losses(self, train_loss, test_loss) -> None:
        """The loss curves so far (one value per step, from step 1); the axes grow by doubling."""
        train_loss, test_loss = np.asarray(train_loss, dtype=float), np.asarray(test_loss, dtype=float)
        steps = np.arange(1, len(train_loss) + 1)
        self.train_curve.set_data(steps, train_loss)
        self.test_curve.set_data(steps[: len(test_loss)], test_loss)
        x_max = grow_limit(self.losses.get_xlim()[1], len(train_loss))
        both = np.r_[train_loss, test_loss]
        both = both[np.isfinite(both)]
        y_max = grow_limit(self.losses.get_ylim()[1], float(both.max()) if both.size else 0.0)
        if (x_max, y_max) != (self.losses.get_xlim()[1], self.losses.get_ylim()[1]):
            self.losses.set_xlim(0, x_max)
            self.losses.set_ylim(0, y_max)

    def reset_losses(self) -> None:
        """Empty curves on the starting axes (a new run)."""
        self.show_losses([], [])
        if (self.losses.get_xlim()[1], self.losses.get_ylim()[1]) != (100, 1):
            self.losses.set_xlim(0, 100)
            self.losses.set_ylim(0, 1)

    def show_units(self, maps) -> None:
        """``maps[l][u]``: unit u of hidden layer l over the plane, a square grid like ``P`` (the
        same size for every unit). Layers and units beyond the figure's room are left out."""
        for i, label in enumerate(self.layer_labels):
            if label.get_visible() != (i < len(maps)):
                label.set_visible(i < len(maps))
        if not any(len(layer) for layer in maps):  # no hidden layer: blank tiles of the same size
            self.unit_image.set_data(np.full(self.unit_image.get_array().shape, np.nan))
            return
        image = montage(maps, self.rows, self.cols)
        if image.shape != self.unit_image.get_array().shape:  # another unit resolution: new tile sizes
            self.unit_image.set_extent((-0.5, image.shape[1] - 0.5, -0.5, image.shape[0] - 0.5))
        self.unit_image.set_data(image)
