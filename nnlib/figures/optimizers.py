"""Figures of notebook 04 (optimizers): loss contours, paths, step sizes; matplotlib only.

Everything computed (paths, losses, noise) comes from the notebook's own cells; these
functions only draw it. Functions that a widget redraws return the artists it moves, and an
``update_*`` companion moves them.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import viz

RACERS = ("SGD", "momentum", "RMSProp", "Adam")
RACER_COLORS = {"SGD": viz.BLUE, "momentum": viz.ORANGE, "RMSProp": viz.GREEN, "Adam": viz.PURPLE}
MARKERS = {"minimum": dict(marker="*", ms=18, mfc=viz.YELLOW, mec=viz.BLACK),
           "saddle": dict(marker="X", ms=12, mfc="0.35", mec="white"),
           "maximum": dict(marker="^", ms=11, mfc="white", mec=viz.BLACK)}


# ---- loss surfaces -----------------------------------------------------------------------------
def contours(ax, f, xlim, ylim, fmin=None, n=140, levels=12, labels=("parameter $w_1$", "parameter $w_2$")):
    """Grey contour lines of ``f - fmin`` over a window, spaced evenly in log scale.

    ``f(w)`` takes an array of points of shape ``(..., 2)``. Log spacing shows both the
    steep walls and the nearly flat floor of a valley.
    """
    xs, ys = np.linspace(*xlim, n), np.linspace(*ylim, n)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    z = f(grid)
    gap = z - (z.min() if fmin is None else fmin)
    lo = max(float(np.quantile(gap, 0.002)), 1e-3)
    lines = ax.contour(xs, ys, gap, levels=np.geomspace(lo, float(np.quantile(gap, 0.98)), levels),
                       colors="0.65", linewidths=1.0)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.grid(False)
    return lines


def mark_points(ax, points):
    """Minima as yellow stars, saddles as grey crosses, maxima as triangles: ``[(w, kind), ...]``."""
    return [ax.plot(w[0], w[1], ls="none", **MARKERS[kind])[0] for w, kind in points]


def surface_panel(ax, surface, points=(), fmin=None):
    """Contours of a surface (``.f``, ``.xlim``, ``.ylim``, ``.name``), its critical points, its title.
    Returns the artists drawn, so that a widget can remove them when the surface changes."""
    drawn = [contours(ax, surface.f, surface.xlim, surface.ylim, fmin), *mark_points(ax, points)]
    ax.set_title(surface.name, fontsize=viz.fontsize("font"))
    return drawn


# ---- section 1: mini-batches ----------------------------------------------------------------------
def minibatch_figure(loss, solution, sizes, noise):
    """Left: the loss over (w, b) and one mini-batch path; right: gradient noise against B.

    ``noise`` maps each batch size to ``(measured, formula)``. Returns ``(fig, artists)``;
    :func:`update_minibatch` moves the path and the ring around the chosen B.
    """
    fig, (ax, ax2) = viz.figure(1, 2, figsize=(12, 4.8))
    contours(ax, loss, (-1.5, 3.0), (-3.5, 3.5), levels=10, labels=("slope $w$", "intercept $b$"))
    ax.plot(*solution, ls="none", **MARKERS["minimum"])
    (path,) = ax.plot([], [], "-", lw=1.2, color=viz.BLUE)
    sized = [b for b in sizes if noise[b][1] > 0]  # the full batch has no noise: no point on a log axis
    ax2.loglog(sized, [noise[b][0] for b in sized], "o", color=viz.BLUE, label="measured (400 batches)")
    ax2.loglog(sized, [noise[b][1] for b in sized], "-", color=viz.ORANGE, label="formula")
    (ring,) = ax2.plot([], [], "o", ms=16, mfc="none", mew=2.5, color=viz.VERMILLION)
    ax2.set_xlabel("batch size $B$ (examples per step)")
    ax2.set_ylabel("gradient error (RMS)")
    ax2.set_title("Noise of a batch's gradient")
    ax2.legend(loc="lower left")
    return fig, SimpleNamespace(ax=ax, path=path, ring=ring)


def update_minibatch(artists, path, B, steps, noise):
    artists.path.set_data(path[:, 0], path[:, 1])
    artists.ax.set_title(f"$B$ = {B}: {steps} steps for the same 4 epochs")
    artists.ring.set_data(([B], [noise]) if noise > 0 else ([], []))


# ---- section 3: the race ----------------------------------------------------------------------------
class RaceFigure:
    """Four paths over a surface's contours (left) and their loss gaps against step (right)."""

    def __init__(self):
        self.fig, (self.ax, self.ax_loss) = viz.figure(1, 2, figsize=(11, 4.4),
                                                       gridspec_kw={"width_ratios": [1.25, 1]})
        self.surface, self.drawn = None, []
        self.paths = {name: self.ax.plot([], [], "-", lw=1.8, color=RACER_COLORS[name], zorder=3)[0] for name in RACERS}
        (self.start,) = self.ax.plot([], [], marker="o", ms=11, mfc="white", mec=viz.BLACK, mew=2, ls="none", zorder=4)
        self.gaps = {name: self.ax_loss.plot([], [], color=RACER_COLORS[name], label=name)[0] for name in RACERS}
        # log10 of the gap on a linear axis: the picture of a log axis, cheaper to redraw
        self.ax_loss.set_xlabel("step")
        self.ax_loss.set_ylabel("log$_{10}$(loss − lowest), floor −12")
        self.ax_loss.set_title("How far above the minimum")
        self.ax_loss.legend(loc="lower left")

    def set_surface(self, surface, points, fmin):
        """Swap the contours and markers when the surface changes (a full render, once). The
        artists are removed one by one: clearing the axes would also replace its background."""
        if self.surface is surface:
            return
        for artist in self.drawn:
            artist.remove()
        self.drawn = surface_panel(self.ax, surface, points, fmin)
        self.start.set_data([surface.start[0]], [surface.start[1]])
        self.surface, self.fmin = surface, fmin

    def update(self, paths):
        steps, lo, hi = 1, np.inf, -np.inf
        for name, path in paths.items():
            line = self.paths[name]
            line.set_data(path[:, 0], path[:, 1])
            line.set_marker("o" if len(path) <= 160 else "")  # dots show single steps while few
            line.set_markersize(3)
            gap = np.log10(np.maximum(self.surface.f(path) - self.fmin, 1e-12))
            self.gaps[name].set_data(np.arange(len(gap)), gap)
            steps = max(steps, len(gap) - 1)
            lo, hi = min(lo, gap.min()), max(hi, gap.max())
        # limits snapped to even decades: most slider moves keep them, and an unchanged axis is
        # left alone (setting it marks it changed), so only the lines are redrawn
        limits = ((0, steps), (2 * np.floor((lo - 0.5) / 2), 2 * np.ceil((min(hi, 12.0) + 0.5) / 2)))
        if limits != (self.ax_loss.get_xlim(), self.ax_loss.get_ylim()):
            self.ax_loss.set_xlim(*limits[0])
            self.ax_loss.set_ylim(*limits[1])


# ---- section 4: the notes' forms --------------------------------------------------------------------
def step_lengths(lengths, limits, title):
    """Step length against step for several rules (``{label: lengths}``), each with its limit dotted."""
    fig, ax = viz.figure(figsize=(8, 4))
    for (label, steps), limit, color in zip(lengths.items(), limits, (viz.BLUE, viz.VERMILLION), strict=True):
        ax.plot(np.arange(1, len(steps) + 1), steps, color=color, label=label)
        ax.axhline(limit, color=color, ls=":", lw=1.5)
    ax.set_xlabel("step")
    ax.set_ylabel("step length (gradient = 1)")
    ax.set_title(title)
    ax.legend(loc="center right")
    return fig


# ---- section 5: saddles and restarts ----------------------------------------------------------------
def saddle_figure(surface, points, fmin, steps, floor=1e-14):
    """Left: a path over the saddle's contours; right: |w₂|, the distance from the ridge, per step."""
    fig, (ax, ax2) = viz.figure(1, 2, figsize=(12, 4.6))
    surface_panel(ax, surface, points, fmin)
    (path,) = ax.plot([], [], "-o", ms=3, lw=1.5, color=viz.BLUE)
    ax.plot(*surface.start, marker="o", ms=11, mfc="white", mec=viz.BLACK, mew=2, ls="none")
    (dist,) = ax2.plot([], [], color=viz.BLUE, label="the run")
    (guide,) = ax2.plot([], [], ":", color=viz.BLACK, label="plain GD's growth, $(1 + \\eta)^t$")
    ax2.axhline(0.5, color=viz.VERMILLION, ls="--", lw=1.5, label="escaped: $|w_2| > 0.5$")
    ax2.set_yscale("log")
    ax2.set_xlim(0, steps)
    ax2.set_ylim(floor, 10)
    ax2.set_xlabel("step")
    ax2.set_ylabel("$|w_2|$ (distance from the ridge)")
    ax2.legend(loc="lower right", fontsize=viz.fontsize("small"))
    return fig, SimpleNamespace(ax=ax, ax2=ax2, path=path, dist=dist, guide=guide, floor=floor)


def update_saddle(artists, path, lr, title):
    artists.path.set_data(path[:, 0], path[:, 1])
    t = np.arange(len(path))
    artists.dist.set_data(t, np.maximum(np.abs(path[:, 1]), artists.floor))
    start = max(abs(path[0, 1]), artists.floor)
    artists.guide.set_data(t, start * (1 + lr) ** t)
    artists.ax2.set_title(title)


def restarts_figure(X, y, grid, curves, losses, best):
    """The fits of every restart (the best in colour) and the histogram of their final losses."""
    fig, (ax, ax2) = viz.figure(1, 2, figsize=(12, 4.6))
    ax.plot(X[:, 0], y[:, 0], "o", color=viz.BLACK, ms=5, label="training data")
    for curve in curves:
        ax.plot(grid, curve, color="0.75", lw=1)
    ax.plot(grid, curves[best], color=viz.VERMILLION, lw=2.5, label="lowest training loss")
    ax.set_xlabel("input $x$")
    ax.set_ylabel("output")
    ax.set_title(f"{len(curves)} restarts: same data, different initial weights")
    # below the axes: inside, it covered restarts' curves and data points in every corner
    viz.legend_below(ax)
    ax2.hist(losses, bins=12, color=viz.SKY, edgecolor="white")
    ax2.axvline(losses[best], color=viz.VERMILLION, lw=2.5)
    ax2.set_xlabel("final training MSE")
    ax2.set_ylabel("number of restarts")
    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.set_title("Where each restart ended")
    fig.tight_layout()
    return fig


# ---- section 6: schedules and clipping ----------------------------------------------------------------
def schedules_figure(lrs, gaps):
    """Learning rate per epoch (left) and loss above the least-squares floor (right), per schedule."""
    fig, (ax, ax2) = viz.figure(1, 2, figsize=(12, 4.5))
    for (kind, lr), color in zip(lrs.items(), (viz.BLUE, viz.ORANGE, viz.GREEN), strict=True):
        epochs = np.arange(1, len(lr) + 1)
        ax.plot(epochs, lr, color=color, label=kind, drawstyle="steps-post")
        ax2.semilogy(epochs, gaps[kind], color=color, label=kind)
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate $\\eta$")
    ax.set_title("Schedules (nnlib.optim)")
    ax.legend()
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("loss − least-squares loss")
    ax2.set_title("Decay calms the mini-batch noise")
    ax2.legend()
    return fig


def clipping_figure(surface, fmin, runs):
    """Paths of plain and clipped gradient descent on a steep wall, and the gradient norm per step."""
    fig, (ax, ax2) = viz.figure(1, 2, figsize=(12, 4.6))
    surface_panel(ax, surface, fmin=fmin)
    for (label, (path, norms)), color in zip(runs.items(), (viz.VERMILLION, viz.BLUE), strict=True):
        ax.plot(path[:, 0], path[:, 1], "-o", ms=4, color=color, label=label)
        ax2.semilogy(np.arange(1, len(norms) + 1), norms, "-o", ms=3, color=color, label=label)
    ax.legend(loc="lower left", fontsize=viz.fontsize("small"))
    ax2.set_xlabel("step")
    ax2.set_ylabel("gradient norm $\\|g\\|$")
    ax2.set_title("The gradient a step is given")
    ax2.legend(fontsize=viz.fontsize("small"))
    return fig
