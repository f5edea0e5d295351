"""One look for every figure: style, scales, palette, and a few plotting helpers.

``use_style()`` sets the Okabe-Ito colour-blind-safe palette and the fonts of one of two
scales, "screen" or "projector" (at least 18 pt, for a lecture hall; ``NNLIB_SCALE`` chooses
it). Interactive redraws live in :mod:`nnlib.widgets.live`.
"""

from __future__ import annotations

import os

import matplotlib as mpl
import numpy as np

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies.
PALETTE = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # green
    "#D55E00",  # vermillion
    "#CC79A7",  # purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
]
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW, BLACK = PALETTE
CMAP_DIVERGING = "RdBu_r"  # colour-blind safe, centred at zero
CMAP_SEQUENTIAL = "viridis"

# Two scales of one style. "screen" is for reading at a desk; "projector" is for the back
# row of a lecture hall (fonts of at least 18 pt, thicker lines, sharper pixels). Figure
# sizes grow with the fonts, so a figure keeps its layout in both and is only larger.
SCALES = {
    "screen": {"font": 14, "small": 12, "large": 16, "lines": 2.0, "dpi": 100, "grow": 1.0},
    "projector": {"font": 21, "small": 18, "large": 24, "lines": 3.0, "dpi": 120, "grow": 1.5},
}
SCALE_VARIABLE = "NNLIB_SCALE"  # make present sets it to "projector"
_scale = "screen"


def _style(scale: str) -> dict:
    s = SCALES[scale]
    return {
        "font.size": s["font"],
        "axes.titlesize": s["large"],
        "axes.labelsize": s["font"],
        "xtick.labelsize": s["small"],
        "ytick.labelsize": s["small"],
        "legend.fontsize": s["small"],
        "legend.title_fontsize": s["small"],
        "figure.titlesize": s["large"],
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.linewidth": s["lines"] / 2,
        "lines.linewidth": s["lines"],
        "lines.markersize": 3 * s["lines"],
        "xtick.major.width": s["lines"] / 2,
        "ytick.major.width": s["lines"] / 2,
        "figure.dpi": s["dpi"],
        "savefig.dpi": s["dpi"],
        "image.cmap": CMAP_SEQUENTIAL,
        "figure.figsize": (6.4 * s["grow"], 4.8 * s["grow"]),
    }


STYLE = _style("screen")


def use_style(scale: str | None = None) -> None:
    """Apply nnlib's figure style: colour-blind-safe colours, fonts of at least 12 pt.

    Parameters
    ----------
    scale : ``"screen"`` or ``"projector"``, optional
        Without it, the environment variable ``NNLIB_SCALE`` decides (``make present`` sets
        it to ``"projector"``), else ``"screen"``. The projector scale has fonts of at least
        18 pt, thicker lines and more pixels per inch, and :func:`figure` makes figures
        1.5 times larger, so their layout stays the same.
    """
    global _scale
    if scale is None:
        scale = os.environ.get(SCALE_VARIABLE, "").strip().lower() or "screen"
    if scale not in SCALES:
        raise ValueError(f"use_style: argument 'scale' must be one of {list(SCALES)}, got {scale!r}")
    _scale = scale
    mpl.rcParams.update(_style(scale))


def scale() -> str:
    """The scale in use: ``"screen"`` or ``"projector"``."""
    return _scale


def fontsize(kind: str = "font") -> float:
    """Points for ``"small"``, ``"font"`` (normal) or ``"large"`` text in the current scale.

    Figure code passes these instead of fixed numbers, so its text grows on a projector.
    """
    return SCALES[_scale][kind]


def figure(*args, figsize=None, **kwargs):
    """plt.subplots in nnlib's style, detached from pyplot so the inline backend
    does not display it a second time at the end of the cell. ``figsize`` is in
    inches at the screen scale; the projector scale enlarges it."""
    import matplotlib.pyplot as plt

    use_style(_scale)
    if figsize is not None:
        grow = SCALES[_scale]["grow"]
        figsize = (figsize[0] * grow, figsize[1] * grow)
    fig, axes = plt.subplots(*args, figsize=figsize, **kwargs)
    plt.close(fig)
    return fig, axes


def legend_below(ax, ncol: int = 2, **kwargs):
    """A frameless legend under the axes' x label, in ``ncol`` columns: for axes whose data
    leave no corner free (a legend inside would cover curves or points). Call
    ``fig.tight_layout()`` afterwards so that the figure makes room for it."""
    height_pt = 72 * ax.get_position().height * ax.figure.get_figheight()
    below = 3.2 * fontsize("font") / height_pt  # tick labels and the x label sit in between
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, -below), ncol=ncol, frameon=False,
                     fontsize=fontsize("small"), **kwargs)


def legibility_problems(fig, min_pt: float | None = None, texts=None, renderer=None) -> list[tuple]:
    """What a projector would lose in ``fig``: ``[(kind, what, detail), ...]``, empty if nothing.

    Kinds: ``"small"``, a text below ``min_pt`` points (default: the current scale's smallest
    font, 18 pt for ``"projector"``); ``"clipped"``, a text running past the canvas's edge;
    ``"legend"``, a legend inside an axes with data points (line vertices, scatter points)
    under it. Only texts that are drawn count (tick labels outside the view are not).

    Without ``texts`` and ``renderer`` the figure is rendered here (Agg) to find them; a caller
    that wraps ``Figure.draw`` (scripts/audit_figures.py) passes the texts it saw drawn. The
    canvas is the figure as rendered, without the tight bounding box a notebook's inline
    display adds.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    min_pt = SCALES[_scale]["small"] if min_pt is None else float(min_pt)
    if renderer is None:
        drawn, text_draw = [], Text.draw

        def record(self, r):
            drawn.append(self)
            return text_draw(self, r)

        canvas = fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)
        Text.draw = record
        try:
            canvas.draw()
        finally:
            Text.draw = text_draw
        texts, renderer = drawn, canvas.get_renderer()
    problems, box = [], fig.bbox
    for text in dict.fromkeys(texts):
        label = text.get_text().strip()
        if not label or not text.get_visible():
            continue
        if text.get_fontsize() < min_pt - 1e-6:
            problems.append(("small", label[:60], round(text.get_fontsize(), 1)))
        try:
            ext = text.get_window_extent(renderer)
        except (ValueError, RuntimeError):  # no layout (a NaN position): nothing was drawn
            continue
        if ext.width and (ext.x0 < box.x0 - 1 or ext.x1 > box.x1 + 1 or ext.y0 < box.y0 - 1
                          or ext.y1 > box.y1 + 1):
            problems.append(("clipped", label[:60], [round(v) for v in ext.extents]))
    for ax in fig.axes:
        legend = ax.get_legend()
        if ax.get_visible() and legend is not None and legend.get_visible():
            covered = _points_under(ax, legend.get_window_extent(renderer))
            if covered:
                problems.append(("legend", ax.get_title() or "(untitled axes)", f"{covered} points"))
    return problems


def _points_under(ax, box) -> int:
    """How many drawn data points (line vertices, scatter offsets) of ``ax`` lie under ``box``."""
    points = [line.get_transform().transform(line.get_xydata())
              for line in ax.get_lines() if line.get_visible() and len(line.get_xydata())]
    points += [c.get_offset_transform().transform(c.get_offsets())
               for c in ax.collections if c.get_visible() and len(c.get_offsets()) > 1]
    if not points:
        return 0  # (one offset is a patch's, not a point)
    xy = np.concatenate(points)
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    return int(np.sum((xy[:, 0] > box.x0) & (xy[:, 0] < box.x1) & (xy[:, 1] > box.y0) & (xy[:, 1] < box.y1)))


def nice_ceil(x: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is >= x (x > 0).

    Axis limits snapped this way stay put while a slider moves a little, so a blitting
    ``nnlib.widgets.live.Live`` keeps its rendered background instead of rendering the whole figure.
    """
    from ._validation import check_positive

    check_positive(x, "x", "nice_ceil")
    exp = 10.0 ** np.floor(np.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * exp >= x * (1 - 1e-12):
            return float(m * exp)
    return float(10 * exp)  # unreachable: 10 * exp > x by construction


def decision_grid(X: np.ndarray, steps: int = 200, margin: float = 0.5):
    """A (steps*steps, 2) grid covering X's bounding box and the (xx, yy) meshes."""
    lo = X.min(axis=0) - margin
    hi = X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    return np.c_[xx.ravel(), yy.ravel()], xx, yy


def plot_decision_boundary(ax, predict_fn, X, y, steps: int = 200, title: str | None = None):
    """Shade the classes a 2-D classifier predicts and scatter the labelled points.

    ``predict_fn`` maps an (M, 2) array to class scores (M,) or (M, K) or labels.
    """
    grid, xx, yy = decision_grid(X, steps)
    scores = np.asarray(predict_fn(grid))
    if scores.ndim == 2 and scores.shape[1] > 1:
        z = scores.argmax(axis=1)
    else:
        s = scores.reshape(-1)
        z = (s > (0.5 if s.min() >= 0 and s.max() <= 1 else 0.0)).astype(int)
    colors = mpl.colors.ListedColormap([PALETTE[i] for i in range(max(2, int(z.max()) + 1))])
    ax.contourf(xx, yy, z.reshape(xx.shape), alpha=0.25, cmap=colors, levels=np.arange(-0.5, z.max() + 1))
    for k in np.unique(y):
        m = y == k
        ax.scatter(X[m, 0], X[m, 1], s=25, color=PALETTE[int(k)], edgecolor="white", linewidth=0.5,
                   label=f"class {int(k)}")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def plot_history(ax, history, keys=("loss", "val_loss"), title: str = "Training curves"):
    """Plot the per-epoch curves of a fit() history."""
    for key in keys:
        if key in history and len(history[key]):
            ax.plot(np.arange(1, len(history[key]) + 1), history[key], label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("value")
    ax.set_title(title)
    ax.legend()
    return ax
