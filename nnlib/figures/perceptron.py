"""Figures of notebook 01 (perceptrons, XOR, learned features, activations).

Every function builds one figure. Figures a widget redraws come back as ``(fig, update)``:
``update(...)`` moves the figure's artists to new data (the widget's draw function calls
it, and a plain cell can call it once to show a state). Nothing here computes the ideas the
notebook teaches: the notebook passes in the weights, outputs and separating lines it
computed with its own functions.

Conventions: class 0 is drawn as blue circles, class 1 as orange squares (colour and shape,
so the figures read without colour vision); a line is given as ``(w, b)`` meaning
``w[0] x + w[1] y + b = 0``.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.axis import Axis
from matplotlib.colors import LinearSegmentedColormap, ListedColormap
from matplotlib.legend import Legend
from matplotlib.patches import Polygon, Rectangle

from .. import viz

__all__ = ["line_in_box", "half_plane", "restaurant", "gate", "learning", "spaces", "xor_training", "restarts",
           "two_relus", "activations", "saturation"]

CLASS_COLOURS = (viz.BLUE, viz.ORANGE)
CLASS_MARKERS = ("o", "s")
GATE_BOX = (-0.5, 1.5)
SILENT, FIRES = "#d5e7f3", "#f8e1b0"  # light versions of the class colours, for where a unit is silent / fires
# light ends, so that the points (in the full colours) stand out on the map
PROBABILITY = LinearSegmentedColormap.from_list("blue_white_orange", ["#80b8d8", "white", "#f2cf80"])


def line_in_box(w, b, box):
    """The part of the line ``w . x + b = 0`` inside ``box = (lo, hi)`` (the same for both axes).

    Returns ``(xs, ys)``, two points each, or two empty arrays when the line misses the box or
    does not exist (``w = 0``). Lines are drawn with it, so a line never stretches an axis.
    """
    w = np.asarray(w, dtype=float)
    lo, hi = box
    if w.shape != (2,) or not np.all(np.isfinite(w)) or not np.isfinite(b):
        raise ValueError(f"line_in_box: expected a finite w of shape (2,) and a finite b, got {w!r}, {b!r}")
    if not lo < hi:
        raise ValueError(f"line_in_box: argument 'box' must be (lo, hi) with lo < hi, got {box!r}")
    points = []
    for axis in (0, 1):  # where the line crosses the box's sides x_axis = lo and x_axis = hi
        other = 1 - axis
        if w[other] != 0:
            for edge in (lo, hi):
                t = -(b + w[axis] * edge) / w[other]
                if lo - 1e-12 <= t <= hi + 1e-12:
                    p = [0.0, 0.0]
                    p[axis], p[other] = edge, min(max(t, lo), hi)
                    points.append(tuple(p))
    points = sorted(set(points))
    if len(points) < 2:
        return np.array([]), np.array([])
    (x0, y0), (x1, y1) = points[0], points[-1]
    return np.array([x0, x1]), np.array([y0, y1])


def _plane(ax, box, labels=("$x_1$", "$x_2$")):
    ax.set_xlim(*box)
    ax.set_ylim(*box)
    ax.set_aspect("equal")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])


def _classes(ax, P, y):
    """Scatter points by class; returns the two PathCollections (class 0, class 1). Class 1 is
    drawn smaller and on top, so where points of both classes meet, both stay visible."""
    size = (10 if len(y) > 8 else 20) * viz.fontsize("small")
    return [ax.scatter(P[y == k, 0], P[y == k, 1], s=size * (1.0, 0.5)[k], marker=CLASS_MARKERS[k],
                       color=CLASS_COLOURS[k], edgecolor="black", zorder=3 + k, label=f"class {k}") for k in (0, 1)]


def half_plane(w, b, box):
    """The corners of the part of the square ``box`` where ``w . x + b >= 0``, in order around it.

    Returns an (M, 2) array (M = 0 when the unit fires nowhere in the box, 4 when everywhere):
    the polygon a widget shades where a threshold unit fires.
    """
    lo, hi = box
    corners = np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]], dtype=float)
    s = corners @ np.asarray(w, dtype=float) + b
    polygon = []
    for k in range(4):  # walk round the square; where the sign changes, add the crossing
        j = (k + 1) % 4
        if s[k] >= 0:
            polygon.append(corners[k])
        if (s[k] >= 0) != (s[j] >= 0):
            polygon.append(corners[k] + s[k] / (s[k] - s[j]) * (corners[j] - corners[k]))
    return np.array(polygon).reshape(-1, 2)


def _region(ax, box):
    """The box shaded in the silent colour, and a polygon on top in the firing colour; returns
    ``update(w, b)``, which moves the polygon to where ``w . x + b >= 0``."""
    lo, hi = box
    ax.add_patch(Rectangle((lo, lo), hi - lo, hi - lo, color=SILENT, zorder=0))
    fires = ax.add_patch(Polygon(np.zeros((0, 2)), closed=True, color=FIRES, zorder=0.1))

    def update(w, b):
        polygon = half_plane(w, b, box)
        fires.set_xy(polygon if len(polygon) else np.full((1, 2), lo))

    return fires, update


def _above(artist):
    """The artists of the same axes drawn above ``artist`` (points, lines, spines, text).

    A widget redraws only the artists that changed, over a picture of the rest; a shaded area
    or an image that changes would then cover the points above it. Marking these as changed
    too (``_restack``) has them redrawn above it, in their order. Legends are left out: every
    legend of these figures sits outside its axes, where nothing moves under it.
    """
    ax = artist.axes
    return [a for a in ax.get_children() if a is not artist and a is not ax.patch
            and not isinstance(a, (Axis, Legend)) and a.get_zorder() >= artist.get_zorder()]


def _restack(artists):
    for artist in artists:
        artist.stale = True


def _own_grid(ax):
    """The grid as ordinary lines (over an image, not under it): the axes' own grid is redrawn
    only with the whole figure, so a changing image would cover it between full renders."""
    ax.grid(False)
    style = dict(color=mpl.rcParams["grid.color"], lw=mpl.rcParams["grid.linewidth"],
                 alpha=mpl.rcParams["grid.alpha"], zorder=0.5)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    for x in ax.get_xticks():
        if x0 <= x <= x1:
            ax.axvline(x, **style)
    for y in ax.get_yticks():
        if y0 <= y <= y1:
            ax.axhline(y, **style)


def _set_line(line, w, b, box):
    line.set_data(*(line_in_box(w, b, box) if w is not None else ([], [])))


# ---- section 2: who writes the features ----------------------------------------------------
RESTAURANT_INPUTS = ["# dishes", "price", "wine option", "zip code", "# seats", "size"]
RESTAURANT_FEATURES = {"food quality": [0, 1, 2], "walkable": [3], "noisy": [4, 5]}


def restaurant():
    """The notes' restaurant example twice: features a person designs (each wired to the inputs
    it depends on) and features a network learns (every unit sees every input)."""
    fig, axes = viz.figure(1, 2, figsize=(12, 5))
    y_in = np.linspace(0.92, 0.08, len(RESTAURANT_INPUTS))
    panels = ((axes[0], list(RESTAURANT_FEATURES), list(RESTAURANT_FEATURES.values()),
               "feature engineering:\na person picks each $h$ and its inputs"),
              (axes[1], ["$h_1$", "$h_2$", "$h_3$"], [range(len(RESTAURANT_INPUTS))] * 3,
               "feature learning:\nevery $h_k$ sees every input, its weights are learned"))
    for ax, names, wiring, title in panels:
        y_mid = np.linspace(0.8, 0.2, len(names))
        for i, (name, inputs) in enumerate(zip(names, wiring)):
            for j in inputs:
                ax.plot([0.3, 0.55], [y_in[j], y_mid[i]], color=viz.SKY, lw=1.2, zorder=1)
            ax.plot([0.55, 0.8], [y_mid[i], 0.5], color=viz.BLUE, zorder=1)
            ax.text(0.55, y_mid[i], name, ha="center", va="center", fontsize=viz.fontsize("small"), zorder=2,
                    bbox=dict(boxstyle="round", fc="white", ec=viz.GREEN))
        for j, name in enumerate(RESTAURANT_INPUTS):
            ax.text(0.28, y_in[j], name, ha="right", va="center", fontsize=viz.fontsize("small"))
        ax.text(0.8, 0.5, "popularity\n$= w^T h$", ha="left", va="center", fontsize=viz.fontsize("small"),
                bbox=dict(boxstyle="round", fc="white", ec=viz.VERMILLION))
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(0, 1)
        ax.axis("off")
        ax.set_title(title)
    fig.tight_layout()
    return fig


# ---- section 3: one threshold unit on the four binary inputs ---------------------------------
def gate():
    """The plane of two binary inputs: where the unit fires (shaded), its line, each input's sum.

    ``update(w, theta, sums, fires, name)``: weights (2,), threshold, the four weighted sums
    and outputs (in truth-table order) and the gate's name (or None).
    """
    fig, ax = viz.figure(figsize=(6, 5.5))
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    region, shade = _region(ax, GATE_BOX)
    (line,) = ax.plot([], [], color=viz.VERMILLION, lw=3, label="$w_1 i_1 + w_2 i_2 = \\theta$")
    dots = ax.scatter(corners[:, 0], corners[:, 1], s=20 * viz.fontsize("small"), c=[viz.BLUE] * 4,
                      edgecolor="black", zorder=3)
    labels = [ax.text(x + 0.07, y + 0.09, "", fontsize=viz.fontsize("small")) for x, y in corners]
    _plane(ax, GATE_BOX, ("$i_1$ (light at point 1)", "$i_2$ (light at point 2)"))
    ax.set_xticks([0, 1])
    ax.set_yticks([0, 1])
    _own_grid(ax)
    above = _above(region)

    def update(w, theta, sums, fires, name):
        shade(w, -theta)
        _restack(above)
        _set_line(line, w, -theta, GATE_BOX)
        dots.set_facecolor([CLASS_COLOURS[int(o)] for o in fires])
        for text, s, o in zip(labels, sums, fires):
            text.set_text(f"sum {s:.3g}: {'fires' if o else 'silent'}")
        ax.set_title(f"shaded orange: fires.  The unit computes {name or 'no named gate'}")

    return fig, update


# ---- section 5: the learning rule at work ----------------------------------------------------
def learning(X, y):
    """Labelled points and the unit after k updates of the learning rule; wrong points ringed.

    ``update(w, b, wrong, k)``: the unit ``w . x + b >= 0``, a boolean mask of the points it
    gets wrong, and the number of updates made so far.
    """
    X, y = np.asarray(X, float), np.asarray(y)
    box = (float(np.floor(X.min())) - 0.5, float(np.ceil(X.max())) + 0.5)
    fig, ax = viz.figure(figsize=(8, 5.5))
    region, shade = _region(ax, box)
    (line,) = ax.plot([], [], color=viz.VERMILLION, lw=3)
    _classes(ax, X, y)
    rings = ax.scatter([], [], s=45 * viz.fontsize("small"), facecolor="none", edgecolor=viz.VERMILLION, lw=2,
                       zorder=5, label="wrong side")
    _plane(ax, box)
    _own_grid(ax)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    above = _above(region)

    def update(w, b, wrong, k):
        shade(w, b)
        _restack(above)
        _set_line(line, w, b, box)
        rings.set_offsets(X[wrong] if np.any(wrong) else np.empty((0, 2)))
        ax.set_title(f"after {k} updates: {int(np.sum(wrong))} wrong")

    return fig, update


# ---- sections 7 and 9: input space next to hidden space ----------------------------------------
def spaces(X, H, y, lines=(None, None), titles=("input space", "hidden space"),
           hidden_labels=("$h_1$", "$h_2$")):
    """Two panels, the inputs and their hidden representation, each with its separating line
    (``(w, b)`` or None) when one was found. Static."""
    fig, axes = viz.figure(1, 2, figsize=(11, 5))
    for ax, P, line, title, labels in zip(axes, (X, H), lines, titles, (("$x_1$", "$x_2$"), hidden_labels)):
        P = np.asarray(P, float)
        lo, hi = float(P.min()) - 0.5, float(P.max()) + 0.5
        _classes(ax, P, np.asarray(y))
        if line is not None:
            ax.plot(*line_in_box(line[0], line[1], (lo, hi)), "--", color="black", label="separating line")
        _plane(ax, (lo, hi), labels)
        ax.set_title(title)
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))  # outside: it never hides a point
    fig.tight_layout()
    return fig


def xor_training(hidden_box, n_lines=9):
    """Left: the network's P(class 1) over the input plane with the four XOR points. Right: the
    hidden space, with the images of the input grid's lines, the four hidden points and the
    output unit's line ``w2 . h + b2 = 0``.

    ``update(prob, hidden, grid_images, out_line, title_in, title_hidden)``: prob is an
    (n, n) image over [-0.5, 1.5]^2, hidden (4, 2), grid_images a list of (m, 2) polylines
    (``2 * n_lines`` of them), out_line ``(w, b)``.
    """
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    fig, (ax_in, ax_h) = viz.figure(1, 2, figsize=(11, 5))
    image = ax_in.imshow(np.full((2, 2), 0.5), extent=(*GATE_BOX, *GATE_BOX), origin="lower", cmap=PROBABILITY,
                         vmin=0, vmax=1, zorder=0)
    fig.colorbar(image, ax=ax_in, shrink=0.8, label="P(class 1)")
    _classes(ax_in, X, y)
    _plane(ax_in, GATE_BOX)
    ax_in.set_xticks([0, 1])
    ax_in.set_yticks([0, 1])
    _own_grid(ax_in)
    grid_lines = [ax_h.plot([], [], color="0.6", lw=1, zorder=2)[0] for _ in range(2 * n_lines)]
    points = _classes(ax_h, X, y)
    (out,) = ax_h.plot([], [], "--", color="black", label="output unit's line")
    _plane(ax_h, hidden_box, ("hidden unit 1", "hidden unit 2"))
    ax_h.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    above = _above(image) + _above(out)

    def update(prob, hidden, grid_images, out_line, title_in, title_hidden):
        image.set_data(prob)
        _restack(above)
        for line, poly in zip(grid_lines, grid_images):
            line.set_data(poly[:, 0], poly[:, 1])
        for k, pts in enumerate(points):
            pts.set_offsets(hidden[y == k])
        _set_line(out, out_line[0], out_line[1], hidden_box)
        ax_in.set_title(title_in)
        ax_h.set_title(title_hidden)

    return fig, update


def restarts(losses, failed, hidden_failed, title_hidden):
    """Left: the loss of every restart against the step (failed runs in vermillion). Right: the
    hidden space of one failed run. Static.

    Shape: losses (runs, steps + 1), failed (runs,) bool, hidden_failed (4, 2).
    """
    losses, failed = np.asarray(losses), np.asarray(failed, bool)
    fig, (ax_l, ax_h) = viz.figure(1, 2, figsize=(12, 5))
    for curve, bad in zip(losses, failed):
        ax_l.plot(curve, color=viz.VERMILLION if bad else viz.BLUE, lw=1.5, alpha=0.8)
    ax_l.axhline(np.log(2) / 2, color="black", ls=":", lw=1.5)
    ax_l.text(len(losses[0]) - 1, np.log(2) / 2 * 1.15, "ln(2)/2", ha="right", fontsize=viz.fontsize("small"))
    ax_l.set_yscale("log")
    ax_l.set_xlabel("training step")
    ax_l.set_ylabel("loss (log scale)")
    ax_l.set_title(f"{int(failed.sum())} of {len(failed)} restarts get stuck (vermillion)")
    _classes(ax_h, np.asarray(hidden_failed), np.array([0, 1, 1, 0]))
    _plane(ax_h, (-1.15, 1.15), ("hidden unit 1", "hidden unit 2"))
    ax_h.set_title(title_hidden)
    ax_h.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig


# ---- section 10: two ReLU units --------------------------------------------------------------
def two_relus(X, y, input_box=(-4.0, 4.0)):
    """Left: the points with each ReLU unit's line (z = 0) and its normal (pointing to z > 0).
    Right: the points' hidden representation ``(relu(z1), relu(z2))`` and a separating line.
    The hidden axes end at 2, 5 or 10 (whichever holds every point), so that most slider moves
    keep the limits and the widget redraws only what moved.

    ``update(W, b, hidden, sep_line, title)``: W (2, 2) unit normals as rows, b (2,), hidden
    (N, 2), sep_line ``(w, b)`` or None.
    """
    X, y = np.asarray(X, float), np.asarray(y)
    fig, (ax_in, ax_h) = viz.figure(1, 2, figsize=(11, 5))
    _classes(ax_in, X, y)
    colours = (viz.VERMILLION, viz.PURPLE)
    lines = [ax_in.plot([], [], color=c, lw=3, label=f"unit {k + 1}: $z_{k + 1} = 0$")[0]
             for k, c in enumerate(colours)]
    arrows = [ax_in.quiver([0.0], [0.0], [1.0], [0.0], color=c, angles="xy", scale_units="xy", scale=1, width=0.012,
                           zorder=5) for c in colours]
    _plane(ax_in, input_box)
    ax_in.set_title("input: arrows point to $z > 0$")
    points = _classes(ax_h, np.zeros_like(X), y)
    (sep,) = ax_h.plot([], [], "--", color="black", label="separating line")
    _plane(ax_h, (-0.1, 2.0), ("relu($z_1$)", "relu($z_2$)"))
    ax_h.legend(handles=[*points, *lines, sep], loc="upper left", bbox_to_anchor=(1.02, 1.0))  # one, outside
    above = [a for line in (*lines, sep) for a in _above(line)]

    def update(W, b, hidden, sep_line, title):
        _restack(above)
        top = max(2.0, viz.nice_ceil(1.05 * float(hidden.max()) + 1e-9))
        hidden_box = (-0.05 * top, top)
        if ax_h.get_xlim() != hidden_box:
            ax_h.set_xlim(*hidden_box)
            ax_h.set_ylim(*hidden_box)
        for k in range(2):
            _set_line(lines[k], W[k], b[k], input_box)
            foot = -b[k] * W[k]  # the point of the line nearest the origin (|W[k]| = 1)
            arrows[k].set_offsets([foot])
            arrows[k].set_UVC([W[k][0]], [W[k][1]])
        for k, pts in enumerate(points):
            pts.set_offsets(hidden[y == k])
        _set_line(sep, *(sep_line or (None, 0.0)), hidden_box)
        ax_h.set_title(title)

    return fig, update


# ---- section 11: activation functions ---------------------------------------------------------
def activations(z_range=(-6.0, 6.0), tol=0.01):
    """f and f' side by side; on the right, the range where |f'| < tol is shaded.

    ``update(z, f, df, name)``: the grid and both curves on it.
    """
    fig, (ax_f, ax_d) = viz.figure(1, 2, figsize=(11, 4))
    (line_f,) = ax_f.plot([], [], color=viz.BLUE)
    (line_d,) = ax_d.plot([], [], color=viz.ORANGE)
    shade = ax_d.imshow(np.zeros((1, 2)), extent=(*z_range, -0.1, 1.1), aspect="auto", origin="lower",
                        cmap=ListedColormap([(1, 1, 1, 0), "#f6c6a6"]), vmin=0, vmax=1, zorder=0)
    for ax, label in ((ax_f, "f(z)"), (ax_d, "f'(z)")):
        ax.set_xlim(*z_range)
        ax.set_xlabel("pre-activation z")
        ax.set_ylabel(label)
        ax.axhline(0, color="0.5", lw=1, zorder=1.8)  # under the curves, in every render
    ax_f.set_ylim(-1.5, 6)
    ax_d.set_ylim(-0.1, 1.1)
    _own_grid(ax_d)
    above = _above(shade) + _above(line_f)  # (lines end on the spines: keep those above them)

    def update(z, f, df, name):
        _restack(above)
        line_f.set_data(z, f)
        line_d.set_data(z, df)
        saturated = np.abs(df) < tol
        shade.set_data(saturated[None, :].astype(float))
        ax_f.set_title(name)
        ax_d.set_title(f"shaded: |f'| < {tol:g} on {100 * saturated.mean():.0f}% of the range")

    return fig, update


def saturation(sigmas, saturated, shifts, dead):
    """Left: the fraction of saturated units against the weight scale, one curve per activation.
    Right: the fraction of dead units against a shift of every bias. Static.

    saturated, dead: dicts name -> array of fractions (same length as sigmas / shifts).
    """
    fig, (ax_s, ax_d) = viz.figure(1, 2, figsize=(12, 4.5))
    for name, fractions in saturated.items():
        ax_s.plot(sigmas, 100 * np.asarray(fractions), "o-", label=name)
    ax_s.set_xscale("log")
    ax_s.set_xlabel("standard deviation of the weights")
    ax_s.set_ylabel("saturated activations (%)")
    ax_s.set_title("large weights saturate sigmoid and tanh")
    ax_s.legend()
    for (name, fractions), marker in zip(dead.items(), "os^"):
        ax_d.plot(shifts, 100 * np.asarray(fractions), marker + "-", label=name)
    ax_d.set_xlabel("shift added to every bias")
    ax_d.set_ylabel("dead units (%)")
    ax_d.set_title("negative biases kill ReLU units")
    ax_d.legend()
    fig.tight_layout()
    return fig
