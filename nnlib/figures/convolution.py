"""Figures of notebook 07 (convolution filters).

Every function builds one figure. Figures a widget redraws come back as ``(fig, update)``:
``update(...)`` moves the figure's artists to new data. Nothing here computes the ideas the
notebook teaches: convolutions, pools, gradients and parameter counts are computed by the
notebook's own functions and passed in.

Conventions: numbers written inside coloured cells are black or white, whichever reads
better on that cell (:func:`text_colour`); a signed map (an edge detector's answer) is drawn
with a blue-white-red map centred at zero and a colourbar, so that white means zero.
"""

from __future__ import annotations

import textwrap

import matplotlib as mpl
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap, Normalize, TwoSlopeNorm, to_rgba
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from .. import viz

__all__ = ["text_colour", "fmt", "signed_limit", "kernel_text", "weight_matrices", "window", "output_size", "gallery",
           "kernel_editor", "pooling", "channels", "fold", "receptive_field", "conv_matrix", "timings",
           "learning"]

PADDING_COLOUR = "#cde6f7"  # light sky blue: cells that padding added
FREE_COLOUR = "#dddddd"  # a weight of its own
SHARED_COLOURS = [viz.ORANGE, viz.SKY, viz.GREEN, viz.YELLOW, viz.PURPLE]  # theta_0, theta_1, ...


def text_colour(colour) -> str:
    """``"black"`` or ``"white"``: the one with more contrast on a cell of ``colour``.

    Uses the relative luminance of WCAG 2 (sRGB made linear, weighted 0.2126/0.7152/0.0722);
    at 0.179 black and white have the same contrast ratio.
    """
    rgb = np.array(to_rgba(colour)[:3])
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return "black" if float(linear @ [0.2126, 0.7152, 0.0722]) > 0.179 else "white"


def fmt(v) -> str:
    """A cell's number: whole numbers without a decimal point, others with 3 significant digits."""
    v = float(v)
    if np.isnan(v):
        return ""
    if v == round(v) and abs(v) < 1e6:
        return str(int(round(v)))
    return f"{v:.3g}"


def signed_limit(values, percentile=98.0) -> float:
    """A symmetric colour limit for a signed map: a high percentile of |values|, so that a few
    extreme pixels do not wash out the rest (1.0 for an all-zero map)."""
    return float(np.percentile(np.abs(values), percentile)) or 1.0


def _bare(ax, frame=False):
    ax.grid(False)
    ax.set_xticks([])
    ax.set_yticks([])
    if frame:  # a grid of numbers reads as a matrix: a closed frame
        for spine in ax.spines.values():
            spine.set_visible(True)


def _borders(h, w, extent=None):
    """Segments of the cell borders of an h x w grid drawn over ``extent`` (x0, x1, y0, y1)."""
    x0, x1, y0, y1 = extent or (-0.5, w - 0.5, h - 0.5, -0.5)
    xs, ys = np.linspace(x0, x1, w + 1), np.linspace(y0, y1, h + 1)
    return [[(x, y0), (x, y1)] for x in xs] + [[(x0, y), (x1, y)] for y in ys]


def _cells(ax, shape, cmap, norm, fontsize=None):
    """An image with a number in every cell and thin borders; returns ``update(values, labels=None)``.

    ``values`` colour the cells (NaN: the colour map's 'bad' colour); ``labels`` (default: the
    values, see :func:`fmt`) are written in black or white by :func:`text_colour`.
    """
    h, w = shape
    cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    image = ax.imshow(np.zeros(shape), cmap=cmap, norm=norm, interpolation="nearest")
    ax.add_collection(LineCollection(_borders(h, w), colors="0.55", linewidths=0.8))
    texts = np.array([[ax.text(c, r, "", ha="center", va="center", fontsize=fontsize or viz.fontsize("small"))
                       for c in range(w)] for r in range(h)])
    _bare(ax, frame=True)

    def update(values, labels=None):
        values = np.asarray(values, float)
        image.set_data(np.ma.masked_invalid(values))
        colours = cmap(norm(np.ma.masked_invalid(values)))
        for (r, c), text in np.ndenumerate(texts):
            text.set_text(fmt(values[r, c]) if labels is None else labels[r][c])
            text.set_color(text_colour(colours[r, c]))

    return update


def _diverging(lim):
    return TwoSlopeNorm(0.0, -lim, lim)


# ---- section 1: fully connected -> locally connected -> shared -----------------------------------------
def weight_matrices(kinds, n_max=12):
    """The n x n weight matrices of three 1-D layers side by side: white where input j does not reach
    output i (a zero), grey where an entry is a weight of its own, one colour per shared weight.

    ``update(n, ids, titles)``: ``ids`` one (n, n) array per kind (the parameter an entry
    uses, -1 for no connection), ``titles`` one per kind. The axes always span [0, 1], so
    a move of n redraws only the cells.
    """
    fig, axes = viz.figure(1, len(kinds), figsize=(13, 5))
    cmap = ListedColormap(["white", FREE_COLOUR, *SHARED_COLOURS])
    panels = []
    for ax, kind in zip(axes, kinds):
        image = ax.imshow(np.zeros((1, 1)), cmap=cmap, vmin=-0.5, vmax=cmap.N - 0.5, extent=(0, 1, 1, 0),
                          interpolation="nearest")
        borders = ax.add_collection(LineCollection([], colors="0.55", linewidths=0.8))
        texts = [ax.text(0, 0, "", ha="center", va="center", fontsize=viz.fontsize("small"))
                 for _ in range(n_max * n_max)]
        ax.set_xlim(0, 1)
        ax.set_ylim(1, 0)
        _bare(ax, frame=True)
        ax.set_xlabel("input j →")
        ax.set_ylabel("← output i")
        panels.append((ax, kind, image, borders, texts))

    def update(n, ids, titles):
        for (ax, kind, image, borders, texts), id_, title in zip(panels, ids, titles):
            shared = kind.startswith("shared")
            colour = np.where(id_ < 0, 0, (2 + id_) if shared else 1)
            image.set_data(colour)
            borders.set_segments(_borders(n, n, (0, 1, 1, 0)))
            for k, text in enumerate(texts):
                r, c = divmod(k, n_max)
                label = ""
                if r < n and c < n and n <= 8:
                    v = id_[r, c]
                    label = "" if v < 0 else f"θ{v}" if shared else f"Θ{r},{c}" if n <= 6 else ""
                if text.get_visible() != bool(label):  # an empty text would still cost a layout
                    text.set_visible(bool(label))
                if label:
                    text.set_text(label)
                    text.set_position(((c + 0.5) / n, (r + 0.5) / n))
                    text.set_color(text_colour(cmap(colour[r, c])))
            ax.set_title(title)

    return fig, update


# ---- section 2: the window of one output cell ----------------------------------------------------------
def window():
    """Four panels: the (padded) input with the window, the kernel, patch × kernel entry by entry,
    and the output with the current cell framed.

    ``update(name, padded, padding, kernel, out, step, typos)``: ``step`` is a dict with the cell's
    ``row``, ``col``, the window's ``top``, ``left``, the ``patch`` and ``products``; ``typos`` maps
    (row, col) to the number a slide prints there instead. A new ``name`` rebuilds the panels; a
    new cell moves the two frames and rewrites the products only.
    """
    fig, axes = viz.figure(1, 4, figsize=(12, 4.3), gridspec_kw=dict(width_ratios=[1.3, 0.8, 0.8, 1.1]))
    note = fig.text(0.99, 0.01, "", ha="right", va="bottom", color=viz.VERMILLION, fontsize=viz.fontsize("small"))
    built = {}

    def build(name, padded, padding, kernel, out, typos):
        for ax in axes:  # remove what the last example drew (ax.clear() would also replace the axes' background)
            for artist in [*ax.images, *ax.collections, *ax.texts, *ax.patches]:
                artist.remove()
        lim_k, lim_o = float(np.abs(kernel).max()) or 1.0, float(np.abs(out).max()) or 1.0
        grey = mpl.colormaps["Greys"].with_extremes(bad=PADDING_COLOUR)
        built.update(
            name=name,
            input=_cells(axes[0], padded.shape, grey, Normalize(0, max(6.0, 1.5 * float(padded.max())))),
            kernel=_cells(axes[1], kernel.shape, viz.CMAP_DIVERGING, _diverging(2 * lim_k)),
            products=_cells(axes[2], kernel.shape, viz.CMAP_DIVERGING, _diverging(2 * lim_k * max(1.0, padded.max()))),
            output=_cells(axes[3], out.shape, viz.CMAP_DIVERGING, _diverging(1.5 * lim_o)))
        inside = np.zeros(padded.shape, bool)
        inside[padding:padded.shape[0] - padding, padding:padded.shape[1] - padding] = True
        built["input"](np.where(inside, padded, np.nan), [[fmt(v) for v in row] for row in padded])
        built["kernel"](kernel)
        built["output"](out)
        axes[0].set_title(f"input, padding {padding} (blue)" if padding else "input")
        axes[1].set_title("kernel")
        frame = dict(fill=False, edgecolor=viz.VERMILLION, linewidth=4, zorder=5)
        built["window"] = axes[0].add_patch(Rectangle((-0.5, -0.5), kernel.shape[1], kernel.shape[0], **frame))
        built["cell"] = axes[3].add_patch(Rectangle((-0.5, -0.5), 1, 1, **frame))
        for r, c in typos:
            axes[3].add_patch(Rectangle((c - 0.4, r - 0.4), 0.8, 0.8, fill=False, edgecolor=viz.ORANGE, lw=2.5,
                                        ls="--", zorder=4))
        note.set_text("dashed orange: the slide prints another number here" if typos else "")

    def update(name, padded, padding, kernel, out, step, typos):
        if built.get("name") != name:
            build(name, padded, padding, kernel, out, typos)
        built["window"].set_xy((step["left"] - 0.5, step["top"] - 0.5))
        built["products"](step["products"])
        built["cell"].set_xy((step["col"] - 0.5, step["row"] - 0.5))
        total = float(np.sum(step["products"]))
        axes[2].set_title(f"patch ⊙ kernel: sum {fmt(total)}")
        printed = typos.get((step["row"], step["col"]))
        axes[3].set_title(f"output[{step['row']}, {step['col']}] = {fmt(total)}"
                          + (f" (slide: {fmt(printed)})" if printed is not None else ""))

    return fig, update


# ---- section 3: output size along one axis ----------------------------------------------------------------
def output_size(max_span=42, max_positions=32):
    """One axis of a convolution: the padded input's cells (padding in blue) and one bar per window
    position below them; the input cells no window reaches are framed in vermillion.

    ``update(n, kernel, stride, padding, starts)``: ``starts`` the first cell of every window
    position (empty when the kernel does not fit). The x axis ends at 10, 20, 30 or ``max_span``
    cells and the bars shrink to fit a fixed height, so most moves redraw only the bars.
    """
    fig, ax = viz.figure(figsize=(11, 4.8))
    cells = [ax.add_patch(Rectangle((i + 0.04, 0), 0.92, 0.9, lw=0)) for i in range(max_span)]
    bars = [ax.add_patch(Rectangle((0, 0), 1, 1, lw=0)) for _ in range(max_positions)]
    missed = ax.add_patch(Rectangle((0, 0), 1, 0.9, fill=False, edgecolor=viz.VERMILLION, lw=3))
    ax.grid(False)
    ax.set_ylim(-8.5, 1.2)
    ax.set_yticks([])
    ax.set_xlabel("position along one axis (pixels; blue = padding)")

    def update(n, kernel, stride, padding, starts):
        span = n + 2 * padding
        right = next(e for e in (10, 20, 30, max_span) if e >= max(span, kernel))
        if ax.get_xlim() != (-0.5, right + 0.5):
            ax.set_xlim(-0.5, right + 0.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for i, cell in enumerate(cells):
            cell.set_visible(i < span)
            cell.set_facecolor(PADDING_COLOUR if (i < padding or i >= padding + n) else FREE_COLOUR)
        rows = max(1, len(starts))
        h = min(0.7, 7.9 / rows)  # every position gets a row; together they fill the same height
        for r, bar in enumerate(bars):
            bar.set_visible(r < rows)
            if r < len(starts):
                bar.set_bounds(starts[r] + 0.04, -0.3 - (r + 1) * h, kernel - 0.08, 0.8 * h)
                bar.set_facecolor((viz.BLUE, viz.ORANGE)[r % 2])
            elif r == 0:  # the kernel does not fit: one vermillion bar as long as the kernel
                bar.set_bounds(0.04, -0.3 - h, kernel - 0.08, 0.8 * h)
                bar.set_facecolor(viz.VERMILLION)
        end = starts[-1] + kernel if len(starts) else span
        missed.set_visible(end < span)
        missed.set_bounds(end, 0, span - end, 0.9)
        ax.set_title(f"n = {n}, k = {kernel}, p = {padding}, s = {stride}: "
                     + (f"{len(starts)} window positions = output size" if len(starts) else "the kernel does not fit"))

    return fig, update


# ---- section 4: filters on a photograph ------------------------------------------------------------------------
def _show(ax, image, signed, colourbar=True):
    """An image in grey (brightness, 0 to 1) or, when signed, blue-white-red centred at zero; with a colourbar."""
    lim = signed_limit(image) if signed else 1.0
    im = ax.imshow(image, cmap=viz.CMAP_DIVERGING if signed else "gray",
                   norm=_diverging(lim) if signed else Normalize(0, 1), interpolation="nearest")
    _bare(ax)
    bar = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.03) if colourbar else None
    return im, bar


def kernel_text(k) -> str:
    """A kernel as one line per row; a blur as '1/9 ×' an integer matrix."""
    k = np.asarray(k, float)
    scale = next((d for d in (1, 9, 16) if np.allclose(k * d, np.round(k * d))), None)
    if scale is None:
        return "\n".join(" ".join(f"{v:.2g}" for v in row) for row in k)
    rows = ["[" + " ".join(f"{int(round(v)):>2d}" for v in row) + "]" for row in k * scale]
    if scale != 1:
        rows[len(rows) // 2] = f"1/{scale} × " + rows[len(rows) // 2]
    return "\n".join(rows)


def gallery(photo, responses, ncols=4):
    """The photograph and every filter's response to it, each with its kernel written below and a
    colourbar (signed maps centred at zero). ``responses``: name -> (kernel, response). Static."""
    nrows = -(-(len(responses) + 1) // ncols)
    fig, axes = viz.figure(nrows, ncols, figsize=(3.6 * ncols, 4.3 * nrows))
    axes = np.ravel(axes)
    _show(axes[0], photo, signed=False)
    axes[0].set_title("the photograph", fontsize=viz.fontsize("small"))
    for ax, (name, (kernel, response)) in zip(axes[1:], responses.items()):
        _show(ax, response, signed=abs(float(np.sum(kernel))) < 1e-9)
        ax.set_title(name, fontsize=viz.fontsize("small"))
        ax.set_xlabel(kernel_text(kernel), fontsize=viz.fontsize("small"), family="monospace")
    for ax in axes[len(responses) + 1:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def kernel_editor(photo):
    """The photograph beside its response to a kernel, with a colourbar.

    ``update(kernel, response)``: a kernel that sums to 0 gives a signed map (blue-white-red,
    centred at zero, its limit a 98th percentile rounded up to 1, 2 or 5 times a power of ten,
    so that most edits keep the colourbar), any other a brightness map in grey from 0 to 1
    (values beyond are clipped).
    """
    fig, (ax_in, ax_out) = viz.figure(1, 2, figsize=(10, 4.9))
    _show(ax_in, photo, signed=False, colourbar=False)
    ax_in.set_title("input")
    im, bar = _show(ax_out, photo, signed=False)
    shown = {"scale": (False, 1.0)}

    def update(kernel, response):
        signed = abs(float(np.sum(kernel))) < 1e-9
        scale = (signed, viz.nice_ceil(signed_limit(response)) if signed else 1.0)
        im.set_data(response)
        if scale != shown["scale"]:  # a new colour scale: the colourbar is redrawn too
            shown["scale"] = scale
            im.set_cmap(viz.CMAP_DIVERGING if signed else "gray")
            im.set_norm(_diverging(scale[1]) if signed else Normalize(0, 1))
            bar.update_normal(im)
            bar.set_label("response (0 = white)" if signed else "brightness")
        ax_out.set_title("kernel sums to 0: a signed edge map" if signed
                         else f"kernel sums to {fmt(np.sum(kernel))}: brightness")

    return fig, update


# ---- section 5: pooling ----------------------------------------------------------------------------------
def pooling(feature_map):
    """A feature map beside its max- and average-pooled versions, each pooled value drawn over the
    window it summarises (so the three panels share their axes and never jump).

    ``update(max_pooled, avg_pooled, size, stride)``.
    """
    fmap = np.asarray(feature_map, float)
    h, w = fmap.shape
    fig, axes = viz.figure(1, 3, figsize=(14, 5))
    norm = Normalize(0, float(fmap.max()) or 1.0)
    images = [ax.imshow(fmap, cmap="magma", norm=norm, interpolation="nearest") for ax in axes]
    for ax in axes:
        _bare(ax)
        ax.set_xlim(-0.5, w - 0.5)
        ax.set_ylim(h - 0.5, -0.5)
    axes[0].set_title(f"feature map {h}x{w}")
    fig.colorbar(images[2], ax=axes[2], fraction=0.05, pad=0.03, label="edge strength")

    def update(max_pooled, avg_pooled, size, stride):
        for ax, im, pooled, name in zip(axes[1:], images[1:], (max_pooled, avg_pooled), ("max", "average")):
            ho, wo = pooled.shape
            im.set_data(pooled)
            im.set_extent((-0.5, (wo - 1) * stride + size - 0.5, (ho - 1) * stride + size - 0.5, -0.5))
            ax.set_title(f"{name} pooling → {ho}x{wo}")

    return fig, update


# ---- section 6: channels, and the fold of two linear convolutions ------------------------------------------
def channels(rgb, maps, titles):
    """A colour image and the output channels of one convolution, signed ones centred at zero. Static."""
    fig, axes = viz.figure(1, len(maps) + 1, figsize=(3.4 * (len(maps) + 1), 4.2))
    axes[0].imshow(np.clip(np.moveaxis(rgb, 0, -1), 0, 1), interpolation="nearest")
    _bare(axes[0])
    axes[0].set_title("input: R, G, B", fontsize=viz.fontsize("small"))
    for ax, m, title in zip(axes[1:], maps, titles):
        _show(ax, m, signed=float(m.min()) < 0)
        ax.set_title(title, fontsize=viz.fontsize("small"))
    fig.tight_layout()
    return fig


def fold(panels):
    """Each panel: a stack of two convolutions' output against the best single convolution's, one dot
    per output value; on the diagonal where one convolution does the same job. ``panels``: title ->
    (stack output, best single-convolution output). Static."""
    fig, axes = viz.figure(1, len(panels), figsize=(5.5 * len(panels), 5))
    for ax, (title, (target, fit)) in zip(np.ravel(axes), panels.items()):
        lo, hi = float(min(target.min(), fit.min())), float(max(target.max(), fit.max()))
        ax.plot([lo, hi], [lo, hi], color="0.5", lw=1.5, zorder=1)
        ax.scatter(np.ravel(target), np.ravel(fit), s=8, color=viz.BLUE, alpha=0.4, zorder=2)
        ax.set_xlabel("output of the two-layer stack")
        ax.set_ylabel("best single convolution")
        # ~2 characters per point of axes width: a long title wraps instead of running into
        # the next panel (at the projector scale it ran past the figure's edge)
        width_pt = 72 * ax.get_position().width * fig.get_figwidth()
        ax.set_title(textwrap.fill(title, max(12, int(width_pt / viz.fontsize("font") * 1.9))),
                     fontsize=viz.fontsize("font"))
    fig.tight_layout()
    return fig


# ---- section 7: receptive fields ----------------------------------------------------------------------
def receptive_field(max_layers=6, largest=500):
    """Left: |d output / d input| of one output unit, scaled to its maximum, with one square per layer
    (the field of a unit of that layer, centred); pixels where it is exactly 0 stay white. Right: the
    field's width against the layer, on a log scale (a line for linear growth bends, a geometric one
    is straight).

    ``update(gradient, fields, centre, title)``: ``fields`` the width after each layer, ``centre``
    the (row, col) of the field's centre in the input. The left panel spans the whole input whatever
    its size, so a move redraws the picture and the squares, not the axes.
    """
    fig, (ax_g, ax_r) = viz.figure(1, 2, figsize=(12, 5.4), gridspec_kw=dict(width_ratios=[1.1, 1]))
    image = ax_g.imshow(np.zeros((1, 1)), cmap=mpl.colormaps["viridis"].with_extremes(bad="white"), vmin=0, vmax=1,
                        extent=(0, 1, 1, 0), interpolation="nearest")
    fig.colorbar(image, ax=ax_g, fraction=0.046, pad=0.03, label="|gradient| / largest")
    squares = [ax_g.add_patch(Rectangle((0, 0), 0, 0, fill=False, lw=2)) for _ in range(max_layers)]
    _bare(ax_g, frame=True)
    ax_g.set_xlim(0, 1)
    ax_g.set_ylim(1, 0)
    layers = np.arange(1, max_layers + 1)
    (line,) = ax_r.plot([], [], "o-", color=viz.BLUE)
    labels = [ax_r.text(k, 1, "", ha="center", va="bottom", fontsize=viz.fontsize("small")) for k in layers]
    ax_r.set_yscale("log")
    ax_r.set_xlim(0.5, max_layers + 0.5)
    ax_r.set_ylim(1, largest)
    ax_r.set_xticks(layers)
    ax_r.set_xlabel("layer")
    ax_r.set_ylabel("receptive field (input pixels)")
    ax_r.set_title("it grows with every layer")

    def update(gradient, fields, centre, title):
        g = np.abs(np.asarray(gradient, float))
        size = g.shape[0]
        image.set_data(np.ma.masked_equal(g / (g.max() or 1.0), 0.0))
        for k, square in enumerate(squares):
            square.set_visible(k < len(fields))
            if k < len(fields):
                half = fields[k] / 2
                square.set_bounds((centre[1] + 0.5 - half) / size, (centre[0] + 0.5 - half) / size,
                                  2 * half / size, 2 * half / size)
                square.set_edgecolor(viz.ORANGE if k == len(fields) - 1 else "white")
        line.set_data(layers[:len(fields)], fields)
        for k, label in enumerate(labels):
            label.set_text(str(fields[k]) if k < len(fields) else "")
            label.set_position((k + 1, fields[k] * 1.12 if k < len(fields) else 1))
        ax_g.set_title(f"{title}: input {size}x{size} px")

    return fig, update


# ---- section 8: the convolution matrix, and timings ------------------------------------------------------
def conv_matrix(M, in_shape):
    """A convolution's matrix: its non-zero entries coloured and numbered (one colour per kernel
    entry), zeros left white. Static."""
    M = np.asarray(M, float)
    values = np.unique(M[M != 0])
    fig, ax = viz.figure(figsize=(13, 8.5))
    cmap = ListedColormap((SHARED_COLOURS if len(values) <= len(SHARED_COLOURS) else viz.PALETTE)[:len(values)])
    index = np.where(M != 0, np.searchsorted(values, M), -1).astype(float)
    ax.imshow(np.ma.masked_less(index, 0), cmap=cmap.with_extremes(bad="white"), vmin=-0.5, vmax=len(values) - 0.5,
              interpolation="nearest")
    ax.add_collection(LineCollection(_borders(*M.shape), colors="0.85", linewidths=0.5))
    w_out = int(round(np.sqrt(M.shape[0])))  # blocks: one image row (columns), one output row (rows)
    ax.vlines(np.arange(0, M.shape[1] + 1, in_shape[1]) - 0.5, -0.5, M.shape[0] - 0.5, colors="0.3", lw=1.5)
    ax.hlines(np.arange(0, M.shape[0] + 1, w_out) - 0.5, -0.5, M.shape[1] - 0.5, colors="0.3", lw=1.5)
    for (r, c), v in np.ndenumerate(M):
        if v != 0:
            ax.text(c, r, fmt(v), ha="center", va="center", fontsize=viz.fontsize("small"),
                    color=text_colour(cmap(int(index[r, c]))))
    ax.grid(False)
    ax.set_xticks(range(0, M.shape[1], in_shape[1]))
    ax.set_yticks(range(0, M.shape[0], w_out))
    ax.set_xlabel(f"input pixel of the {in_shape[0]}x{in_shape[1]} image (row-major index)")
    ax.set_ylabel("output pixel (row-major index)")
    nnz = int((M != 0).sum())
    ax.set_title(f"{M.shape[0]}x{M.shape[1]} matrix: {nnz} of {M.size} entries non-zero ({100 * nnz / M.size:.0f}%)")
    fig.tight_layout()
    return fig


def timings(sizes, times, title):
    """Milliseconds per call against the kernel's side, one line per method, log scale. Static."""
    fig, ax = viz.figure(figsize=(9, 5))
    for (name, seconds), colour, marker in zip(times.items(), (viz.BLUE, viz.ORANGE, viz.GREEN), "os^"):
        ax.plot(sizes, 1e3 * np.asarray(seconds), marker + "-", color=colour, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("kernel side k (pixels)")
    ax.set_ylabel("time per call (ms)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


# ---- section 10: a filter learned by gradient descent ----------------------------------------------------
def learning(hidden, losses):
    """The hidden kernel, the learned kernel at one iteration (numbers in the cells) and the loss curve
    with the iteration marked.

    ``update(kernel, iteration, loss, error)``.
    """
    hidden, losses = np.asarray(hidden, float), np.asarray(losses, float)
    fig, (ax_h, ax_k, ax_l) = viz.figure(1, 3, figsize=(14, 4.8), gridspec_kw=dict(width_ratios=[1, 1, 1.5]))
    norm = _diverging(1.3 * float(np.abs(hidden).max()))
    _cells(ax_h, hidden.shape, viz.CMAP_DIVERGING, norm)(hidden, [[f"{v:.2f}" for v in row] for row in hidden])
    ax_h.set_title("hidden kernel")
    learned = _cells(ax_k, hidden.shape, viz.CMAP_DIVERGING, norm)
    ax_l.plot(np.arange(len(losses)), losses, color=viz.BLUE)
    (marker,) = ax_l.plot([0], [losses[0]], "o", color=viz.VERMILLION, ms=12)
    ax_l.set_yscale("log")
    ax_l.set_xlabel("gradient step")
    ax_l.set_ylabel("mean squared error")
    ax_l.set_title("training loss (log scale)")

    def update(kernel, iteration, loss, error):
        learned(kernel, [[f"{v:.2f}".replace("-0.00", "0.00") for v in row] for row in kernel])
        ax_k.set_title(f"learned, step {iteration}: error {error:.2g}")
        marker.set_data([iteration], [loss])

    return fig, update
