"""Figures of notebook 02 (universal approximation): matplotlib only, no widgets.

Static figures (``bishop_panels``, ``error_against_width``, ``losses_against_margin``,
``sawtooth_two_ways``) draw what the notebook computed. The ``*_figure`` functions build the
figure of one widget with empty artists and return ``(fig, artists)``; the widget in
:mod:`nnlib.widgets.approximation` moves those artists. Axis limits are fixed here, so a
redraw only blits the artists that change.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.ticker import FixedLocator, NullLocator

from .. import viz
from ..viz import BLACK, BLUE, GREEN, ORANGE, PALETTE, PURPLE, SKY, VERMILLION

UNIT_COLOURS = (GREEN, ORANGE, PURPLE, SKY, BLACK)  # dashed hidden-unit curves
TARGET_COLOURS = (BLUE, ORANGE, GREEN, VERMILLION)  # one per target, in the notebook's order


def _lw(factor):
    """A line width relative to the style's (thicker on a projector)."""
    return factor * mpl.rcParams["lines.linewidth"]


def _log_axis(axis, values):
    """Fixed ticks with plain labels on a log axis (mathtext labels cost a redraw ~50 ms)."""
    axis.set_major_locator(FixedLocator(values))
    axis.set_minor_locator(NullLocator())
    axis.set_ticklabels([f"{v:g}" for v in values])


# ---- section 2: Bishop's figure 5.3 ---------------------------------------------------------
def bishop_panels(x, panels):
    """Bishop's figure 5.3: per target, the training points, each hidden unit's output and the fit.

    Parameters
    ----------
    x : array (M,), where the curves were evaluated
    panels : dict of title -> (X, y, hidden, output)
        X ``(N, 1)`` and y ``(N, 1)`` the training points; hidden ``(M, H)`` each hidden unit's
        output at ``x``; output ``(M,)`` the network's.
    """
    n = len(panels)
    rows = (n + 1) // 2
    fig, axes = viz.figure(rows, 2, figsize=(11, 3.8 * rows), squeeze=False)
    for ax, (title, (X, y, hidden, output)) in zip(axes.ravel(), panels.items()):
        ax.plot(np.ravel(X), np.ravel(y), "o", color=BLUE, ms=5, label="training points")
        for j, h in enumerate(np.asarray(hidden).T):
            ax.plot(x, h, "--", color=UNIT_COLOURS[j % len(UNIT_COLOURS)], lw=_lw(0.75),
                    label="hidden unit outputs" if j == 0 else None)
        ax.plot(x, output, color=VERMILLION, lw=_lw(1.5), label="network output")
        ax.set(xlim=(x.min(), x.max()), ylim=(-1.25, 1.25), xticks=np.linspace(x.min(), x.max(), 5),
               xlabel="x", ylabel="y", title=title)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    # One legend for all panels, above them: inside a panel it covered the hidden units' curves.
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False,
               fontsize=viz.fontsize("small"))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 * viz.SCALES[viz.scale()]["grow"] / fig.get_figheight()))
    return fig


# ---- section 3: error against width ---------------------------------------------------------
def error_against_width(widths, errors, activations, targets):
    """Training MSE against width on log-log axes, one panel per activation, a line per target.

    ``errors[(target, activation)]`` holds one MSE per width.
    """
    fig, axes = viz.figure(1, len(activations), figsize=(4.6 * len(activations), 4.2), sharey=True,
                           squeeze=False)
    for ax, act in zip(axes[0], activations):
        for colour, target in zip(TARGET_COLOURS, targets):
            ax.plot(widths, np.maximum(errors[target, act], 1e-12), "o-", ms=5, color=colour, label=target)
        ax.set(xscale="log", yscale="log", ylim=(1e-12, 2.0), xlabel="hidden units", title=f"{act} units")
        _log_axis(ax.xaxis, [1, 3, 10, 30])
    _log_axis(axes[0, 0].yaxis, [1e-12, 1e-9, 1e-6, 1e-3, 1])
    axes[0, 0].set_ylabel("training MSE")
    axes[0, 0].legend(loc="lower left", fontsize=viz.fontsize("small"))
    fig.suptitle("error falls fast over the first few units, then the optimiser is the limit")
    fig.tight_layout()
    return fig


def width_figure(widths):
    """The width widget's figure: the fit (left) and training MSE against width (right)."""
    fig, (ax_fit, ax_err) = viz.figure(1, 2, figsize=(11, 4.4))
    art = {
        "points": ax_fit.plot([], [], "o", color=BLUE, ms=5, label="training points")[0],
        "fit": ax_fit.plot([], [], color=VERMILLION, lw=_lw(1.5), label="network output")[0],
        "curve": ax_err.plot([], [], "o-", color=BLUE)[0],
        "now": ax_err.plot([], [], "o", color=VERMILLION, ms=14, label="this width")[0],
        "title": ax_fit.set_title(" "),
    }
    ax_fit.set(xlim=(-1.05, 1.05), ylim=(-1.3, 1.3), xlabel="x", ylabel="y")
    ax_fit.legend(loc="lower right", fontsize=viz.fontsize("small"))
    ax_err.set(xscale="log", yscale="log", xlim=(0.8, max(widths) * 1.25), ylim=(1e-12, 2.0),
               xlabel="hidden units", ylabel="training MSE", title="training error against width")
    _log_axis(ax_err.xaxis, [w for w in (1, 2, 4, 8, 16, 32, 64, 128) if w <= max(widths)])
    _log_axis(ax_err.yaxis, [1e-12, 1e-9, 1e-6, 1e-3, 1])
    ax_err.legend(loc="lower left", fontsize=viz.fontsize("small"))
    return fig, art


# ---- section 4: bumps and staircases ---------------------------------------------------------
def bump_figure():
    """The single-bump widget's figure: the two sigmoid units and their difference."""
    fig, ax = viz.figure(figsize=(8, 4.2))
    art = {
        "up": ax.plot([], [], "--", color=BLUE, label="h·σ(s(x − left))")[0],
        "down": ax.plot([], [], "--", color=ORANGE, label="h·σ(s(x − right))")[0],
        "bump": ax.plot([], [], color=VERMILLION, lw=_lw(1.75), label="their difference: a bump")[0],
        "title": ax.set_title(" "),
    }
    ax.set(xlim=(-1, 1), ylim=(-1.6, 1.6), xlabel="x", ylabel="unit output")
    ax.legend(loc="lower left", fontsize=viz.fontsize("small"))
    return fig, art


def staircase_figure():
    """The staircase widget's figure: target, the hand-built network (dots: its steps), the trained one."""
    fig, ax = viz.figure(figsize=(9, 4.6))
    art = {
        "target": ax.plot([], [], color=BLACK, lw=_lw(0.75), label="target")[0],
        "steps": ax.plot([], [], "o", color=BLACK, ms=6, label="where a unit steps")[0],
        "hand": ax.plot([], [], color=VERMILLION, lw=_lw(1.5), label="built by hand")[0],
        "trained": ax.plot([], [], "-.", color=GREEN, lw=_lw(1.5), label="trained, same units")[0],
        "title": ax.set_title(" "),
    }
    ax.set(xlim=(-1, 1), ylim=(-1.3, 1.4), xlabel="x", ylabel="y")
    ax.legend(loc="lower right", fontsize=viz.fontsize("small"))
    return fig, art


# ---- section 5: softmax and temperature ------------------------------------------------------
def class_colours(k: int) -> np.ndarray:
    """RGB of the first ``k`` palette colours. Shape: (k, 3)."""
    return np.array([to_rgb(c) for c in PALETTE[:k]])


def confidence_image(probabilities, colours):
    """Pixels in the colour of the most likely class, as strong as the network is sure of it.

    Pure colour where the top probability is 1; white where all K classes are equally likely.

    Shape
    -----
    probabilities (H, W, K), colours (K, 3) -> (H, W, 3).
    """
    probabilities = np.asarray(probabilities)
    k = probabilities.shape[-1]
    top = probabilities.max(axis=-1, keepdims=True)
    strength = np.clip((top - 1 / k) / (1 - 1 / k), 0, 1)
    return 1 - strength * (1 - colours[probabilities.argmax(axis=-1)])


def probability_figure(X, y, extent, n_classes, query):
    """The temperature widget's figure: confidence over the plane (left), the query's probabilities (right)."""
    fig, (ax_map, ax_bar) = viz.figure(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1.4, 1]})
    colours = class_colours(n_classes)
    art = {"image": ax_map.imshow(np.ones((2, 2, 3)), origin="lower", extent=extent, aspect="auto"),
           "map_title": ax_map.set_title(" ")}
    for k in range(n_classes):
        ax_map.scatter(*X[y == k].T, s=16, color=colours[k], edgecolor=BLACK, linewidth=0.5)
    ax_map.plot(*query, "*", color=BLACK, ms=18, markeredgecolor="white")
    ax_map.set(xlim=extent[:2], ylim=extent[2:], xlabel="$x_1$", ylabel="$x_2$")
    art["bars"] = ax_bar.bar(np.arange(n_classes), np.zeros(n_classes), color=colours, edgecolor=BLACK)
    ax_bar.axhline(1 / n_classes, color=BLACK, ls=":", lw=_lw(0.75), label="uniform 1/K")
    ax_bar.set(xlim=(-0.6, n_classes - 0.4), ylim=(0, 1.05), xticks=range(n_classes), xlabel="class",
               ylabel="probability at ★")
    ax_bar.legend(loc="upper right", fontsize=viz.fontsize("small"))
    art["bar_title"] = ax_bar.set_title(" ")
    return fig, art


# ---- section 6: losses -----------------------------------------------------------------------
def losses_against_margin(margins, curves):
    """Each loss as a function of the margin y·s (label y in {-1, +1}, score s)."""
    fig, ax = viz.figure(figsize=(8, 4.4))
    for colour, (name, values) in zip((BLACK, VERMILLION, BLUE, GREEN, ORANGE), curves.items()):
        ax.plot(margins, values, color=colour, lw=_lw(1.5), label=name)
    ax.set(xlim=(margins.min(), margins.max()), ylim=(-0.1, 4), xlabel="margin y·s (positive: right side)",
           ylabel="loss of one point", title="hinge and logistic losses keep pushing until the margin is safe")
    ax.axvline(0, color=BLACK, lw=_lw(0.5), ls=":")
    ax.legend(loc="upper center", fontsize=viz.fontsize("small"))  # between the rising arms
    fig.tight_layout()
    return fig


# ---- section 7: overfitting on two moons ---------------------------------------------------
def moons_figure(widths, train_acc, test_acc, X_train, y_train, X_test, y_test, extent):
    """The moons widget's figure: predicted regions (left), accuracy against width (right)."""
    fig, (ax_map, ax_acc) = viz.figure(1, 2, figsize=(11, 4.6))
    colours = class_colours(2)
    art = {"regions": ax_map.imshow(np.ones((2, 2, 3)), origin="lower", extent=extent, aspect="auto"),
           "map_title": ax_map.set_title(" ")}
    for X, y, size, edge, label in ((X_test, y_test, 6, "none", "test"), (X_train, y_train, 45, BLACK, "train")):
        ax_map.scatter(*X.T, s=size, color=colours[y], edgecolor=edge, linewidth=0.6, label=label)
    ax_map.set(xlim=extent[:2], ylim=extent[2:], xlabel="$x_1$", ylabel="$x_2$")
    ax_map.legend(loc="lower left", fontsize=viz.fontsize("small"))
    ax_acc.plot(widths, train_acc, "o-", color=BLUE, label="train")
    ax_acc.plot(widths, test_acc, "s-", color=ORANGE, label="test")
    art["now"] = ax_acc.axvline(widths[0], color=BLACK, ls=":", lw=_lw(1))
    ax_acc.set(xscale="log", xlim=(widths[0] / 1.3, widths[-1] * 1.3), ylim=(0.45, 1.03), xlabel="hidden units",
               ylabel="accuracy",
               title="train keeps rising; test peaks, then falls")
    _log_axis(ax_acc.xaxis, list(widths))
    ax_acc.legend(loc="lower right", fontsize=viz.fontsize("small"))
    return fig, art


def region_image(logits, colours, alpha=0.35):
    """Pale class colours where a binary classifier's logit is below / above 0. Shape: (H, W) -> (H, W, 3)."""
    return 1 - alpha * (1 - colours[(np.asarray(logits) > 0).astype(int)])


# ---- section 8: the sawtooth -----------------------------------------------------------------
def sawtooth_two_ways(x, target, fits, k):
    """The sawtooth and the networks that compute it; ``fits`` maps a label to its outputs on ``x``."""
    fig, ax = viz.figure(figsize=(10, 4.4))
    ax.plot(x, target, color=BLACK, lw=_lw(4), alpha=0.25, label=f"sawtooth, k = {k}")
    for (label, values), style, colour in zip(fits.items(), ("-", "--"), (BLUE, VERMILLION)):
        ax.plot(x, values, style, color=colour, lw=_lw(1.25), label=label)
    ax.set(xlim=(0, 1), ylim=(-0.05, 1.3), xlabel="x", ylabel="f(x)",
           title="the same function, exactly, two ways")
    ax.legend(loc="upper center", ncol=3, fontsize=viz.fontsize("small"))
    fig.tight_layout()
    return fig
