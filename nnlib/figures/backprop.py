"""Figures of notebook 03 (computation graphs and backpropagation); matplotlib only.

Each class builds one figure and has a method that moves its artists for new numbers, so a
widget (``nnlib.widgets.backprop``) and a plain cell draw the same picture. The numbers
themselves come from the notebook's own functions. Graph drawing and the step narration of
the two passes are in :mod:`nnlib.figures.graph`, re-exported here.
"""

from __future__ import annotations

import numpy as np
from matplotlib import ticker

from .. import viz
from .._validation import check_array
from .graph import GraphPlot, describe_step, draw_graph, layout, local_derivatives, pass_state

__all__ = ["GraphPlot", "describe_step", "draw_graph", "layout", "local_derivatives", "pass_state",
           "SensitivityPlot", "ChainCostPlot", "GradientPlot", "DeadUnitsPlot", "SubgradientPlot",
           "plot_cost_vs_depth"]

OUTPUT_COLOURS = viz.PALETTE[:3]


def _set_limits(ax, xlim=None, ylim=None):
    """Change limits only when they differ: an axis left alone keeps a widget's blitted background."""
    if xlim is not None and tuple(ax.get_xlim()) != tuple(xlim):
        ax.set_xlim(*xlim)
    if ylim is not None and tuple(ax.get_ylim()) != tuple(ylim):
        ax.set_ylim(*ylim)


def _plain_log_labels(axis):
    """"1e-10" instead of mathtext labels on a log axis: mathtext was most of a redraw's time."""
    axis.set_major_formatter(ticker.FuncFormatter(
        lambda v, _: "1" if v == 1 else f"1e{round(np.log10(v)):d}" if v > 0 else ""))
    axis.set_minor_formatter(ticker.NullFormatter())


class SensitivityPlot:
    """Left: each output's change as input a_j moves by δ (solid) and its tangent, the linear
    estimate (dashed). Right: true change and estimate at the chosen δ, as bars.

    Parameters
    ----------
    deltas : array ``(T,)``, the δ axis of the curves
    """

    def __init__(self, deltas):
        self.deltas = check_array(deltas, "deltas", "SensitivityPlot", ndim=1, finite=True)
        self.fig, (ax, bx) = viz.figure(1, 2, figsize=(12, 5.2))
        self.ax, self.bx = ax, bx
        t = self.deltas
        # distinct z-orders: a blitted redraw stacks the artists it redraws by z-order alone
        self.curves = [ax.plot(t, 0 * t, color=c, label=f"$b_{i + 1}$", zorder=2 + i / 10)[0]
                       for i, c in enumerate(OUTPUT_COLOURS)]
        self.tangents = [ax.plot(t, 0 * t, "--", color=c, lw=1.4, zorder=2.5 + i / 10)[0]
                         for i, c in enumerate(OUTPUT_COLOURS)]
        self.true_pts = ax.scatter([0] * 3, [0] * 3, color=OUTPUT_COLOURS, s=50, zorder=3, label="true")
        self.est_pts = ax.scatter([0] * 3, [0] * 3, color=OUTPUT_COLOURS, marker="x", s=70, zorder=3,
                                  label="estimate")
        self.marker = ax.axvline(0, color="#555555", lw=1)
        ax.set_xlim(t.min(), t.max())
        ax.set_xlabel("change δ of the moved input")
        ax.set_ylabel("change of output $b_i$")
        # below the axes: inside, it would hide the curves at some δ
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=5, fontsize=viz.fontsize("small"),
                  columnspacing=1.0, handletextpad=0.4)
        x = np.arange(3)
        self.bars_true = bx.bar(x - 0.2, [0] * 3, width=0.4, color=viz.BLUE, label="true change")
        self.bars_est = bx.bar(x + 0.2, [0] * 3, width=0.4, color=viz.ORANGE, label="(∂b_i/∂a_j)·δ")
        bx.set_xticks(x, ["$b_1$", "$b_2$", "$b_3$"])
        bx.set_ylabel("change of $b_i$")
        bx.axhline(0, color="#555555", lw=1)
        bx.legend(loc="upper left", fontsize=viz.fontsize("small"))

    def show(self, curves, slopes, delta, true, estimate, title=""):
        """curves ``(T, 3)``: true changes along ``deltas``; slopes, true, estimate ``(3,)``."""
        for i in range(3):
            self.curves[i].set_ydata(curves[:, i])
            self.tangents[i].set_ydata(slopes[i] * self.deltas)
            self.bars_true[i].set_height(true[i])
            self.bars_est[i].set_height(estimate[i])
        self.true_pts.set_offsets(np.c_[np.full(3, delta), true])
        self.est_pts.set_offsets(np.c_[np.full(3, delta), estimate])
        self.marker.set_xdata([delta, delta])
        _set_limits(self.ax, ylim=(curves.min() - 0.4, curves.max() + 0.4))
        # snapped to 1-2-5 steps, so small moves of δ keep the limits (and the blitted background)
        lim = viz.nice_ceil(1.2 * max(np.max(np.abs(np.r_[true, estimate])), 0.1))
        _set_limits(self.bx, ylim=(-lim, lim))
        self.ax.set_title(title)
        error = float(np.max(np.abs(np.asarray(true) - estimate)))
        self.bx.set_title(f"largest error of the estimate: {error if error > 1e-12 else 0:.2g}")


class ChainCostPlot:
    """Bars: scalar multiplications of forward mode, reverse mode and the optimal order (log scale)."""

    NAMES = ("forward mode", "reverse mode\n(backprop)", "optimal order")

    def __init__(self):
        self.fig, self.ax = viz.figure(figsize=(8, 4.4))
        self.bars = self.ax.bar(self.NAMES, [1, 1, 1], color=[viz.ORANGE, viz.BLUE, viz.GREEN])
        self.labels = [self.ax.text(b.get_x() + b.get_width() / 2, 1, "", ha="center", va="bottom",
                                    fontsize=viz.fontsize("small")) for b in self.bars]
        self.ax.set_yscale("log")
        _plain_log_labels(self.ax.yaxis)
        self.ax.set_ylabel("scalar multiplications")

    def show(self, costs, title=""):
        """costs: the three counts (forward, reverse, optimal)."""
        for bar, label, v in zip(self.bars, self.labels, costs, strict=True):
            bar.set_height(v)
            label.set_position((bar.get_x() + bar.get_width() / 2, v))
            label.set_text(f"{v:,}")
        _set_limits(self.ax, ylim=(10.0 ** np.floor(np.log10(min(costs)) - 0.5),
                                   10.0 ** np.ceil(np.log10(max(costs)) + 1)))
        self.ax.set_title(title)


class GradientPlot:
    """Left: ‖∂L/∂W‖ per layer on a log axis (exact zeros drawn on its floor); right: the
    spread of each layer's output, the forward signal the gradients are multiplied by."""

    FLOOR = 1e-30

    def __init__(self, max_depth: int = 40):
        self.fig, (ax, bx) = viz.figure(1, 2, figsize=(12, 4.4))
        self.ax, self.bx, self.max_depth = ax, bx, max_depth
        (self.grad_line,) = ax.semilogy([1], [1], "o-", color=viz.BLUE)
        (self.std_line,) = bx.plot([1], [1], "o-", color=viz.ORANGE)
        ax.set_xlabel("layer (1 = next to the input)")
        ax.set_ylabel("‖∂L/∂W‖")
        bx.set_xlabel("layer")
        bx.set_ylabel("std of the layer's output")
        bx.set_title("forward signal")
        for a in (ax, bx):
            a.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        _plain_log_labels(ax.yaxis)

    def show(self, grad_norms, output_stds):
        """grad_norms, output_stds: ``(depth,)``, layer 1 first."""
        depth = len(grad_norms)
        layers = np.arange(1, depth + 1)
        shown = np.maximum(grad_norms, self.FLOOR)
        self.grad_line.set_data(layers, shown)
        self.std_line.set_data(layers, output_stds)
        # limits snapped (depth to 5/10/20/40, the log axis to 5 decades): most moves keep them
        right = next(m for m in (5, 10, 20, self.max_depth) if m >= depth)
        lo, hi = np.log10(shown.min()) - 1, np.log10(shown.max()) + 1
        _set_limits(self.ax, (0.5, right + 0.5), (10.0 ** (5 * np.floor(lo / 5)), 10.0 ** (5 * np.ceil(hi / 5))))
        _set_limits(self.bx, (0.5, right + 0.5), (0, viz.nice_ceil(max(float(np.max(output_stds)), 1e-3) * 1.15)))
        zeros = int(np.sum(np.asarray(grad_norms) == 0))
        self.ax.set_title("gradient norm per layer" + (f"\n({zeros} exact zeros drawn at 1e-30)" if zeros else "\n"))


class DeadUnitsPlot:
    """Bars per hidden layer: the fraction of dead ReLU units before and after one step."""

    def __init__(self, n_layers: int):
        self.fig, self.ax = viz.figure(figsize=(8, 4.2))
        k = np.arange(1, n_layers + 1)
        self.before = self.ax.bar(k - 0.2, np.zeros(n_layers), width=0.4, color=viz.BLUE, label="at initialisation")
        self.after = self.ax.bar(k + 0.2, np.zeros(n_layers), width=0.4, color=viz.VERMILLION,
                                 label="after one SGD step")
        self.ax.set_ylim(0, 1.05)
        self.ax.set_xticks(k)
        self.ax.set_xlabel("hidden layer")
        self.ax.set_ylabel("fraction of dead units")
        self.ax.set_title("dead ReLUs: output 0 on every example")
        self.ax.legend(loc="upper left", fontsize=viz.fontsize("small"))

    def show(self, before, after):
        for bars, values in ((self.before, before), (self.after, after)):
            for bar, v in zip(bars, values, strict=True):
                bar.set_height(v)


class SubgradientPlot:
    """A convex function with a kink and a line through the kink: a subgradient's line
    stays below the function everywhere."""

    def __init__(self, xs):
        self.xs = check_array(xs, "xs", "SubgradientPlot", ndim=1, finite=True)
        self.fig, self.ax = viz.figure(figsize=(8, 4.4))
        # distinct z-orders: a blitted redraw stacks the artists it redraws by z-order alone
        (self.curve,) = self.ax.plot(self.xs, 0 * self.xs, color=viz.BLACK, label="h(x)", zorder=2)
        (self.line,) = self.ax.plot(self.xs, 0 * self.xs, "--", label="h(v) + g (x - v)", zorder=2.1)
        self.point = self.ax.scatter([0], [0], color=viz.BLACK, s=50, zorder=3)
        self.ax.set_xlim(self.xs.min(), self.xs.max())
        self.ax.set_xlabel("x")
        self.ax.set_ylabel("h(x)")
        self.legend = self.ax.legend(loc="upper center", fontsize=viz.fontsize("small"))

    def show(self, h, v, g, ok: bool, name=""):
        """h: the function, v: the kink, g: the slope tried, ok: whether it is a subgradient."""
        ys = h(self.xs)
        self.curve.set_ydata(ys)
        self.line.set_ydata(h(v) + g * (self.xs - v))
        for line in (self.line, self.legend.get_lines()[1]):
            line.set_color(viz.GREEN if ok else viz.VERMILLION)
        self.legend.stale = True  # its handle's new colour does not tell the legend by itself
        self.point.set_offsets([[v, h(v)]])
        _set_limits(self.ax, ylim=(ys.min() - 1.5, ys.max() + 0.5))
        verdict = "a subgradient: the line stays below h" if ok else "not a subgradient: the line cuts above h"
        self.ax.set_title(f"{name}, slope g = {g:.2f}\n{verdict}")


def plot_cost_vs_depth(ax, depths, counts: dict, ylabel: str, title: str):
    """Log-log curves of a cost (operation counts or seconds) per method against depth.

    Shape
    -----
    depths: ``(K,)``; each value of ``counts`` (method name -> costs): ``(K,)``.
    """
    depths = check_array(depths, "depths", "plot_cost_vs_depth", ndim=1, finite=True)
    for name, values in counts.items():
        check_array(values, f"counts[{name!r}]", "plot_cost_vs_depth", shape=depths.shape)
    for (name, values), colour in zip(counts.items(), viz.PALETTE, strict=False):
        ax.loglog(depths, values, "o-", color=colour, label=name)
    ax.set_xticks(depths, [f"{d:g}" for d in depths])
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlabel("depth L (layers)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return ax
