"""Figures of notebook 05 (regularization and generalization); matplotlib only.

The notebook trains the networks and passes in what they produced (curves, histories,
weights); these functions only draw. A widget's figure comes with an ``update_*`` companion
that moves its artists.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .. import viz


def plain_log_ticks(axis):
    """Ticks at 1, 2 and 5 times powers of ten, written as plain numbers (0.05, not 5×10⁻²)."""
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def data_panel(ax, X, y, X_val, y_val, x_grid):
    """Training points, validation points and the true sine on one axes."""
    ax.plot(X_val[:, 0], y_val[:, 0], ".", color="0.6", ms=6, label="validation data")
    ax.plot(X[:, 0], y[:, 0], "o", color=viz.BLACK, ms=6, label="training data")
    ax.plot(x_grid, np.sin(np.pi * x_grid), "--", color=viz.GREEN, lw=2, label="true sin(πx)")
    ax.set_ylim(-2, 2)
    ax.set_xlabel("input $x$")
    ax.set_ylabel("output $y$")


def curves_panel(ax, history, floor):
    """Training and validation MSE per epoch on a log scale, with the noise floor."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    ax.semilogy(epochs, history["loss"], color=viz.BLUE, label="training MSE")
    ax.semilogy(epochs, history["val_loss"], color=viz.ORANGE, label="validation MSE")
    ax.axhline(floor, color="0.4", ls=":", lw=1.5, label="noise floor σ²")
    plain_log_ticks(ax.yaxis)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error")


def overfit_figure(X, y, X_val, y_val, x_grid, curve, history, floor):
    """Left: the data and the network's fit; right: its training and validation curves."""
    fig, (ax, ax2) = viz.figure(1, 2, figsize=(12, 4.6))
    data_panel(ax, X, y, X_val, y_val, x_grid)
    ax.plot(x_grid, curve, color=viz.VERMILLION, lw=2.5, label="network after 300 epochs")
    ax.set_title("It threads the training points")
    viz.legend_below(ax)  # inside, it covered data points in every corner
    curves_panel(ax2, history, floor)
    ax2.set_title("Training error falls, validation error rises")
    ax2.legend(loc="upper right", fontsize=viz.fontsize("small"))
    fig.tight_layout()
    return fig


# ---- early stopping -----------------------------------------------------------------------------
def early_stopping_figure(history, floor):
    """The stored curves with a dashed line where training stops and a star on the kept epoch."""
    fig, ax = viz.figure(figsize=(10, 4.6))
    curves_panel(ax, history, floor)
    stop = ax.axvline(1, color=viz.VERMILLION, lw=2, ls="--", label="training stops")
    (kept,) = ax.plot([], [], "*", ms=20, color=viz.YELLOW, mec=viz.BLACK, label="weights kept")
    ax.legend(loc="upper right", fontsize=viz.fontsize("small"))
    return fig, SimpleNamespace(ax=ax, stop=stop, kept=kept, val=np.asarray(history["val_loss"]))


def update_early_stopping(artists, patience, kept, stopped):
    artists.stop.set_xdata([stopped, stopped])
    artists.kept.set_data([kept], [artists.val[kept - 1]])
    artists.ax.set_title(f"Patience {patience}: stop after epoch {stopped}, keep epoch {kept}")


# ---- L1 and L2 --------------------------------------------------------------------------------------
def shrinkage_figure(a, l1, l2, lam):
    """The minimiser of ½(w − a)² + penalty against a, for L1 and L2."""
    fig, ax = viz.figure(figsize=(8, 4.6))
    ax.plot(a, a, ":", color="0.5", lw=1.5, label="no penalty: w = a")
    ax.plot(a, l2, color=viz.BLUE, label="L2, λw²: w = a/(1 + 2λ)")
    ax.plot(a, l1, color=viz.VERMILLION, label="L1, λ|w|: exactly 0 for |a| ≤ λ")
    ax.axvspan(-lam, lam, color=viz.VERMILLION, alpha=0.08)
    ax.set_xlabel("$a$, the weight the data alone would choose")
    ax.set_ylabel("minimising weight $w$")
    ax.set_title(f"One weight, λ = {lam:g}: L1 silences, L2 shrinks")
    ax.legend(loc="upper left", fontsize=viz.fontsize("small"))
    return fig


def weights_figure(weights):
    """Histograms of |w| (log scale) for several trained networks: ``{label: weights}``."""
    fig, ax = viz.figure(figsize=(9, 4.4))
    bins = np.geomspace(1e-6, 10, 36)
    for (label, w), color in zip(weights.items(), (viz.VERMILLION, viz.BLUE), strict=True):
        ax.hist(np.clip(np.abs(w), bins[0], None), bins=bins, histtype="step", lw=2.5, color=color, label=label)
    ax.axvline(0.01, color="0.4", ls=":", lw=1.5)
    ax.set_xscale("log")
    ax.set_xlabel("|weight| (log scale; 0.01 dotted)")
    ax.set_ylabel("number of weights")
    ax.set_title("L1 piles weights up near zero")
    ax.legend(loc="upper left", fontsize=viz.fontsize("small"))
    return fig


# ---- the regularizers compared ------------------------------------------------------------------------
def regularization_figure(X, y, X_val, y_val, x_grid, floor, n_strengths):
    """Left: data and one trained fit; right: training and validation MSE against strength."""
    fig, (ax, ax2) = viz.figure(1, 2, figsize=(12, 4.6))
    data_panel(ax, X, y, X_val, y_val, x_grid)
    (fit,) = ax.plot([], [], color=viz.VERMILLION, lw=2.5, label="network")
    ax.legend(loc="upper left", fontsize=viz.fontsize("small"))
    (train,) = ax2.plot([], [], "o-", color=viz.BLUE, label="training MSE")
    (val,) = ax2.plot([], [], "s-", color=viz.ORANGE, label="validation MSE")
    ax2.axhline(floor, color="0.4", ls=":", lw=1.5, label="noise floor σ²")
    (ring,) = ax2.plot([], [], "o", ms=18, mfc="none", mec=viz.VERMILLION, mew=2.5)
    ax2.set_yscale("log")
    plain_log_ticks(ax2.yaxis)
    ax2.set_xlim(-0.5, n_strengths - 0.5)
    ax2.set_ylim(0.01, 1.0)
    ax2.set_ylabel("mean squared error")
    ax2.set_title("Error against strength")
    ax2.legend(loc="upper left", fontsize=viz.fontsize("small"))
    return fig, SimpleNamespace(ax=ax, ax2=ax2, fit=fit, train=train, val=val, ring=ring, kind=None)


def update_regularization(artists, kind, strengths, errors, index, curve):
    """``errors``: ``(len(strengths), 2)`` training and validation MSE; ``index``: the strength shown."""
    if kind != artists.kind:  # new ticks and curves: the one change that renders the whole figure
        positions = np.arange(len(strengths))
        artists.train.set_data(positions, errors[:, 0])
        artists.val.set_data(positions, errors[:, 1])
        artists.ax2.set_xticks(positions, [f"{s:g}" for s in strengths])
        artists.ax2.set_xlabel(kind)
        artists.kind = kind
    artists.ring.set_data([index, index], errors[index])
    artists.fit.set_data(curve[0], curve[1])
    artists.ax.set_title(f"{kind} = {strengths[index]:g}")


# ---- width ------------------------------------------------------------------------------------------------
def width_figure(curves, target):
    """Training MSE per step for each width (one line per seed): ``{width: [curve, ...]}``."""
    fig, ax = viz.figure(figsize=(9, 4.6))
    for (width, runs), color in zip(curves.items(), (viz.ORANGE, viz.BLUE, viz.GREEN, viz.PURPLE), strict=False):
        for i, curve in enumerate(runs):
            ax.semilogy(np.arange(1, len(curve) + 1), curve, color=color, lw=1.8,
                        label=f"{width} hidden units" if i == 0 else None)
    ax.axhline(target, color="0.4", ls=":", lw=1.5, label=f"target MSE {target:g}")
    plain_log_ticks(ax.yaxis)
    ax.set_xlabel("full-batch step")
    ax.set_ylabel("training MSE")
    ax.set_title("Wider networks reach the target in fewer steps (3 seeds each)")
    ax.legend(loc="upper right", fontsize=viz.fontsize("small"))
    return fig
