"""Notebook 05 (convolution filters): the notes' numbers, callback logic, figures and checkers.

The convolutions the student reads (loops over output cells, the convolution matrix, the
FFT version, the training loop) live in the notebook. This module holds what the notebook
imports so that it can stay short:

- the worked examples as printed in the course notes (inputs, kernels, printed outputs);
- the hand-made filters of the filter gallery;
- the logic behind every slider (a plain function, unit-tested in
  ``tests/test_dashboard_convolution.py``) and the thin ipywidgets wiring on top of it;
- checkers for the end-of-notebook exercises (right/wrong with a hint, never the answer).
"""

from __future__ import annotations

import functools
import math
import numbers

import matplotlib.ticker as mticker
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._validation import check_array, check_in_range, check_positive
from ..viz import (
    BLUE,
    CMAP_DIVERGING,
    GREEN,
    ORANGE,
    PALETTE,
    SKY,
    VERMILLION,
    LiveFigure,
    figure,
    message,
)

OWNER = "nnlib.dashboards.convolution"

# ---------------------------------------------------------------------------------------
# The notes' worked examples, exactly as printed (slide typos included: the notebook
# computes every output and reports where the print differs).
# ---------------------------------------------------------------------------------------
IMAGE_6X6 = np.array(
    [
        [0, 0, 0, 0, 0, 0],
        [0, 1, 2, 2, 1, 0],
        [0, 2, 4, 4, 2, 0],
        [0, 1, 3, 3, 1, 0],
        [0, 1, 2, 3, 1, 0],
        [0, 0, 1, 1, 0, 0],
    ],
    dtype=float,
)
LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float)
KERNEL_2X2 = np.array([[0, 1], [1, -2]], dtype=float)
IMAGE_5X5 = np.array(
    [
        [1, 1, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 0, 1, 1, 1],
        [0, 0, 1, 1, 0],
        [0, 1, 1, 0, 0],
    ],
    dtype=float,
)
X_FILTER = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=float)
X_1D = np.array([1, 1, 1, 0, 0], dtype=float)
THETA_1D = np.array([1, 0, 1], dtype=float)

_NAN = np.nan
WORKED_EXAMPLES = {
    "1-D: x = (1,1,1,0,0), θ = (1,0,1)": dict(
        image=X_1D[None, :], kernel=THETA_1D[None, :], stride=1, padding=0,
        printed=np.array([[2, 1, 1]], dtype=float),
    ),
    "5x5 binary image, X filter": dict(
        # The slide prints only the first output cell; NaN marks cells it leaves blank.
        image=IMAGE_5X5, kernel=X_FILTER, stride=1, padding=0,
        printed=np.array([[4, _NAN, _NAN], [_NAN, _NAN, _NAN], [_NAN, _NAN, _NAN]]),
    ),
    "6x6 image, Laplacian, valid": dict(
        image=IMAGE_6X6, kernel=LAPLACIAN, stride=1, padding=0,
        printed=np.array(
            [[0, -1, -1, 0], [-2, -5, -5, -2], [2, -2, -1, 3], [-1, 0, -5, 0]], dtype=float
        ),
    ),
    "6x6 image, Laplacian, padding 1": dict(
        image=IMAGE_6X6, kernel=LAPLACIAN, stride=1, padding=1,
        printed=np.array(
            [
                [0, 1, 2, 2, 1, 0],
                [1, 0, -1, -1, 0, 1],
                [2, -2, -5, -5, -2, 2],
                [1, 2, -2, -1, 3, 1],
                [1, -1, 0, -5, 0, 1],
                [0, 2, -1, 0, 2, 0],
            ],
            dtype=float,
        ),
    ),
    "6x6 image, 2x2 kernel, stride 2": dict(
        image=IMAGE_6X6, kernel=KERNEL_2X2, stride=2, padding=0,
        printed=np.array([[-2, -2, 1], [0, 1, 1], [1, 2, 0]], dtype=float),
    ),
}

# The three colour channels printed on the notes' "Channels" slide (4x6 each).
CHANNELS_4X6 = np.array(
    [
        [[4, 1, 2, 16, 3, 6], [1, 7, 5, 8, 19, 27], [5, 2, 5, 12, 17, 8], [0, 4, 9, 9, 6, 11]],
        [[5, 2, 6, 14, 15, 8], [26, 3, 6, 8, 4, 9], [0, 15, 24, 6, 1, 8], [7, 4, 9, 5, 24, 17]],
        [[4, 6, 8, 9, 5, 3], [16, 5, 2, 8, 2, 1], [5, 2, 14, 11, 7, 8], [15, 2, 5, 0, 9, 8]],
    ],
    dtype=float,
)

# The filter table of the notes (004, and 002 for identity). Slide 002 prints the third edge
# detector with a +1 in its bottom row; 004 prints -1, which makes the kernel sum to zero
# like every edge detector. The notebook shows both and says which one is used.
FILTERS = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
    "edge: diagonal": np.array([[1, 0, -1], [0, 0, 0], [-1, 0, 1]], dtype=float),
    "edge: Laplacian (4 neighbours)": LAPLACIAN.copy(),
    "edge: Laplacian (8 neighbours)": np.array(
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=float
    ),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
    "box blur": np.ones((3, 3)) / 9,
    "Gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=float) / 16,
}
EDGE_8_AS_PRINTED_IN_002 = np.array([[-1, -1, -1], [-1, 8, -1], [-1, 1, -1]], dtype=float)

# ITU-R BT.601 luma weights: grey = a 1x1 convolution over (R, G, B).
LUMA = np.array([0.299, 0.587, 0.114])


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------
def _check_int(value, name, *, allow_zero=False):
    return int(check_positive(value, name, OWNER, integer=True, allow_zero=allow_zero))


def _correlate2d(x, k, stride=1, padding=0):
    """Cross-correlate one 2-D array with one 2-D kernel (the figures' fast path)."""
    x = np.pad(x, padding)
    windows = sliding_window_view(x, k.shape)[::stride, ::stride]
    return np.tensordot(windows, k, axes=([2, 3], [0, 1]))


def _fmt(v) -> str:
    """Integers without a decimal point, other numbers with 3 significant digits."""
    v = float(v)
    if np.isnan(v):
        return ""
    if v == round(v) and abs(v) < 1e6:
        return str(int(round(v))) if v != 0 else "0"
    return f"{v:.3g}"


# ---------------------------------------------------------------------------------------
# 1-D: fully connected -> locally connected -> shared weights
# ---------------------------------------------------------------------------------------
WEIGHT_KINDS = ("fully connected", "locally connected", "shared weights")


def parameter_ids_1d(n: int, kind: str, m: int = 3) -> np.ndarray:
    """Which parameter each entry of a 1-D layer's weight matrix uses.

    Entry ``[i, j]`` is the index of the parameter connecting input ``j`` to output ``i``,
    or -1 where the connection does not exist (a structural zero). Outputs see the inputs
    ``i - (m-1)/2 ... i + (m-1)/2``, as in the notes' n x n matrices (same-size output).

    Parameters
    ----------
    n : int, number of inputs and outputs (>= 1)
    kind : one of ``"fully connected"``, ``"locally connected"``, ``"shared weights"``
    m : int, odd window width of the local layers (default 3)

    Returns
    -------
    ids : ndarray of int, shape (n, n)
        Fully connected: n^2 distinct ids. Locally connected: one id per band entry
        (3n - 2 for m = 3). Shared: the id is the offset in the window, 0 ... m-1
        (``theta_0 ... theta_{m-1}``), so only m distinct ids.

    Shape
    -----
    - output: ``(n, n)``, rows = outputs i, columns = inputs j
    """
    n = _check_int(n, "n")
    m = _check_int(m, "m")
    if m % 2 == 0:
        raise ValueError(f"{OWNER}: argument 'm' must be odd (a centred window), got {m}")
    if kind not in WEIGHT_KINDS:
        raise ValueError(f"{OWNER}: argument 'kind' must be one of {WEIGHT_KINDS}, got {kind!r}")
    i, j = np.indices((n, n))
    if kind == "fully connected":
        return i * n + j
    half = (m - 1) // 2
    inside = np.abs(j - i) <= half
    if kind == "shared weights":
        # Output i reads input i + t - half with weight theta_t.
        return np.where(inside, j - i + half, -1)
    ids = np.full((n, n), -1)
    ids[inside] = np.arange(int(inside.sum()))
    return ids


def count_parameters(ids: np.ndarray) -> int:
    """Number of distinct parameters in an id matrix from :func:`parameter_ids_1d`.

    Shape
    -----
    - ids: any shape; entries < 0 are structural zeros and are not counted
    """
    ids = np.asarray(ids)
    return int(np.unique(ids[ids >= 0]).size)


class WeightMatrixPlot:
    """The three 1-D weight matrices side by side; ``update(n)`` redraws them for n inputs.

    Every artist is made once for the largest n (``n_max``); an update only changes data,
    text and visibility, so a slider redraw does not rebuild the axes.

    Shape
    -----
    - each of the three panels shows an ``(n, n)`` matrix, ``1 <= n <= n_max``
    """

    def __init__(self, n: int = 5, n_max: int = 12):
        self.n_max = _check_int(n_max, "n_max")
        self.fig, self.axes = figure(1, 3, figsize=(13, 4.6))
        self.images, self.texts = [], []
        for ax in self.axes:
            self.images.append(ax.imshow(np.full((1, 1), np.nan), cmap=_ID_CMAP, vmin=-0.5,
                                         vmax=6.5))
            self.texts.append([[ax.text(c, r, "", ha="center", va="center", fontsize=12)
                                for c in range(self.n_max)] for r in range(self.n_max)])
            ax.grid(False)
            ax.set_xlabel("input j")
            ax.set_ylabel("output i")
            ax.xaxis.set_major_locator(mticker.MaxNLocator(7, integer=True))
            ax.yaxis.set_major_locator(mticker.MaxNLocator(7, integer=True))
        self.update(n)
        self.fig.tight_layout()

    def update(self, n: int) -> list[int]:
        n = _check_int(n, "n")
        if n > self.n_max:
            raise ValueError(f"{OWNER}: argument 'n' must be <= n_max = {self.n_max}, got {n}")
        counts = []
        for ax, im, texts, kind in zip(self.axes, self.images, self.texts, WEIGHT_KINDS):
            ids = parameter_ids_1d(n, kind)
            counts.append(count_parameters(ids))
            # Colour marks the shared parameter; free parameters share one neutral colour.
            img = np.where(ids >= 0, ids if kind == "shared weights" else 0, np.nan)
            im.set_data(img)
            im.set_extent((-0.5, n - 0.5, n - 0.5, -0.5))
            ax.set_xlim(-0.5, n - 0.5)
            ax.set_ylim(n - 0.5, -0.5)
            for r in range(self.n_max):
                for c in range(self.n_max):
                    t = texts[r][c]
                    if r >= n or c >= n or n > 8:
                        t.set_visible(False)
                        continue
                    v = ids[r, c]
                    if v < 0:
                        label = "0"
                    elif kind == "shared weights":
                        label = f"θ{v}"
                    else:
                        label = f"Θ{r},{c}" if n <= 6 else "·"
                    t.set_text(label)
                    t.set_color("#555555" if v < 0 else "black")
                    t.set_visible(True)
            formula = {"fully connected": f"n² = {n}²", "locally connected": f"3n − 2 = 3·{n} − 2",
                       "shared weights": "m"}[kind]
            ax.set_title(f"{kind}\n{formula} = {counts[-1]} parameters")
        return counts


def _id_cmap():
    import matplotlib as mpl

    cmap = mpl.colors.ListedColormap([PALETTE[k] for k in (5, 1, 2, 4, 6, 0, 3)])
    return cmap.with_extremes(bad="white")


_ID_CMAP = _id_cmap()


def weight_matrix_widget(n: int = 5):
    """A slider over n and the three weight matrices with their parameter counts."""
    import ipywidgets as widgets

    plot = WeightMatrixPlot(n)
    live = LiveFigure(plot.fig)
    slider = widgets.IntSlider(value=n, min=2, max=12, description="n (units)")
    # Each n changes the axis limits and up to 108 cell labels, so a render takes ~100 ms;
    # the 11 states are rendered once here (about a second) and a move swaps stored PNGs.
    live.prerender(range(slider.min, slider.max + 1), plot.update)
    plot.update(n)

    def on_change(change):
        plot.update(change["new"])
        live.redraw(key=change["new"])  # the figure depends on n alone

    slider.observe(on_change, names="value")
    return widgets.VBox([slider, live.output])


# ---------------------------------------------------------------------------------------
# Worked examples: compare with the notes, step a window across the image
# ---------------------------------------------------------------------------------------
def compare_with_notes(computed, printed) -> list[tuple[int, int, float, float]]:
    """Cells where the notes' printed output differs from the computed one.

    Parameters
    ----------
    computed, printed : array_like, same 2-D shape (or both 1-D)
        NaN in ``printed`` marks a cell the slide leaves blank; it is not compared.

    Returns
    -------
    list of ``(row, col, printed_value, computed_value)``, empty when they agree.

    Shape
    -----
    - computed, printed: ``(H_out, W_out)``, or ``(W_out,)`` (read as one row)
    """
    computed = check_array(computed, "computed", OWNER)
    printed = check_array(printed, "printed", OWNER)
    computed = computed[None, :] if computed.ndim == 1 else computed
    printed = printed[None, :] if printed.ndim == 1 else printed
    if computed.shape != printed.shape:
        raise ValueError(
            f"{OWNER}: 'computed' has shape {computed.shape} but 'printed' has shape "
            f"{printed.shape}; the output sizes themselves differ"
        )
    diff = ~np.isnan(printed) & ~np.isclose(computed, np.nan_to_num(printed))
    return [(int(r), int(c), float(printed[r, c]), float(computed[r, c]))
            for r, c in zip(*np.nonzero(diff))]


def describe_differences(diffs) -> str:
    """One readable sentence for :func:`compare_with_notes`' result."""
    if not diffs:
        return "matches the notes"
    parts = [f"cell ({r}, {c}): printed {_fmt(p)}, computed {_fmt(v)}" for r, c, p, v in diffs]
    return "DIFFERS from the notes at " + "; ".join(parts)


def window_step(image, kernel, index: int, stride: int = 1, padding: int = 0) -> dict:
    """Everything one output cell of a 2-D cross-correlation is made of.

    Parameters
    ----------
    image : array_like, shape (H, W)
    kernel : array_like, shape (kh, kw)
    index : int, output cell in row-major order, ``0 <= index < H_out * W_out``
    stride, padding : int

    Returns
    -------
    dict with ``row``, ``col`` (the output cell), ``top``, ``left`` (the window's corner
    in the padded image), ``padded`` (H + 2p, W + 2p), ``patch`` and ``products``
    (kh, kw), ``total`` (their sum: the output value), ``out_shape`` (H_out, W_out).

    Shape
    -----
    - image: ``(H, W)``, kernel: ``(kh, kw)``
    - patch, products: ``(kh, kw)``; ``H_out = (H + 2p - kh) // s + 1`` (same for W)
    """
    image = check_array(image, "image", OWNER, ndim=2, finite=True)
    kernel = check_array(kernel, "kernel", OWNER, ndim=2, finite=True)
    stride = _check_int(stride, "stride")
    padding = _check_int(padding, "padding", allow_zero=True)
    h_out, w_out = (explain_output_size(n, k, stride, padding)[0]
                    for n, k in zip(image.shape, kernel.shape))
    if h_out is None or w_out is None:
        raise ValueError(
            f"{OWNER}: kernel {kernel.shape} does not fit image {image.shape} with padding {padding}"
        )
    index = _check_int(index, "index", allow_zero=True)
    if index >= h_out * w_out:
        raise ValueError(
            f"{OWNER}: argument 'index' must be < {h_out * w_out} (the output has "
            f"{h_out}x{w_out} cells), got {index}"
        )
    row, col = divmod(index, w_out)
    padded = np.pad(image, padding)
    top, left = row * stride, col * stride
    kh, kw = kernel.shape
    patch = padded[top:top + kh, left:left + kw]
    products = patch * kernel
    return dict(row=row, col=col, top=top, left=left, padded=padded, patch=patch,
                products=products, total=float(products.sum()), out_shape=(h_out, w_out))


def _draw_grid(ax, values, *, cmap="Greys", vmin=None, vmax=None, fontsize=12, title=""):
    """imshow with the number printed in every cell; returns the text artists."""
    ax.clear()
    ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax)
    h, w = values.shape
    # Cell borders as two line collections: cheaper to redraw than a tick-based grid.
    ax.hlines(np.arange(-0.5, h), -0.5, w - 0.5, color="#999999", linewidth=0.8)
    ax.vlines(np.arange(-0.5, w), -0.5, h - 0.5, color="#999999", linewidth=0.8)
    ax.grid(False)
    ax.set_xticks([])
    ax.set_yticks([])
    texts = np.empty(values.shape, dtype=object)
    for (r, c), v in np.ndenumerate(values):
        texts[r, c] = ax.text(c, r, _fmt(v), ha="center", va="center", fontsize=fontsize)
    ax.set_title(title)
    return texts


class WindowExplorer:
    """The window of a worked example at one output cell: patch, products, sum, output.

    ``set_example(name)`` draws one of :data:`WORKED_EXAMPLES` (rebuilding the axes);
    ``show(index)`` moves the window to output cell ``index`` by updating artists only.

    Shape
    -----
    - panels: padded input ``(H + 2p, W + 2p)``, kernel and products ``(kh, kw)``,
      output ``(H_out, W_out)``; ``index`` runs over the ``H_out * W_out`` output cells
    """

    def __init__(self, name: str = "6x6 image, Laplacian, valid"):
        self.fig, self.axes = figure(
            1, 4, figsize=(15, 4.8), gridspec_kw=dict(width_ratios=[1.25, 0.75, 1.25, 1.0])
        )
        self.set_example(name)

    def set_example(self, name: str) -> None:
        import matplotlib.patches as mpatches

        if name not in WORKED_EXAMPLES:
            raise ValueError(f"{OWNER}: unknown example {name!r}; choose from {list(WORKED_EXAMPLES)}")
        self.name = name
        for t in list(self.fig.texts):
            t.remove()
        ex = WORKED_EXAMPLES[name]
        self.ex = ex
        step = window_step(ex["image"], ex["kernel"], 0, ex["stride"], ex["padding"])
        self.out = _correlate2d(ex["image"], ex["kernel"], ex["stride"], ex["padding"])
        self.n_cells = self.out.size
        ax_in, ax_k, ax_p, ax_out = self.axes
        padded = step["padded"]
        in_texts = _draw_grid(ax_in, padded, vmin=-1, vmax=max(6, padded.max() * 1.5),
                              title=f"input (padding {ex['padding']}, stride {ex['stride']})")
        if ex["padding"]:
            p = ex["padding"]
            for (r, c), t in np.ndenumerate(in_texts):
                if r < p or c < p or r >= padded.shape[0] - p or c >= padded.shape[1] - p:
                    t.set_color(SKY)  # padding zeros look different from the image's zeros
        kh, kw = ex["kernel"].shape
        self.rect = mpatches.Rectangle((-0.5, -0.5), kw, kh, fill=False, edgecolor=VERMILLION,
                                       linewidth=3.5)
        ax_in.add_patch(self.rect)
        lim = np.abs(ex["kernel"]).max()
        _draw_grid(ax_k, ex["kernel"], cmap=CMAP_DIVERGING, vmin=-lim * 2, vmax=lim * 2,
                   title="kernel")
        self.prod_texts = _draw_grid(ax_p, np.zeros_like(ex["kernel"]), cmap="Greys", vmin=0,
                                     vmax=1, title="patch × kernel")
        self.out_texts = _draw_grid(ax_out, np.full(self.out.shape, np.nan), cmap="Greys",
                                    vmin=0, vmax=1, title="output")
        self.cell = mpatches.Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor=VERMILLION,
                                       linewidth=3.5)
        ax_out.add_patch(self.cell)
        # Cells where the printed slide disagrees get an orange frame once revealed.
        self.diffs = {(r, c): p for r, c, p, _ in compare_with_notes(self.out, ex["printed"])}
        for (r, c) in self.diffs:
            ax_out.add_patch(mpatches.Rectangle((c - 0.42, r - 0.42), 0.84, 0.84, fill=False,
                                                edgecolor=ORANGE, linewidth=2, linestyle="--"))
        if self.diffs:
            self.fig.text(0.99, 0.01, "dashed orange: the notes print a different number here",
                          ha="right", va="bottom", fontsize=12, color=ORANGE)
        self.fig.tight_layout()
        self.show(0)

    def show(self, index: int) -> dict:
        ex = self.ex
        step = window_step(ex["image"], ex["kernel"], index, ex["stride"], ex["padding"])
        self.rect.set_xy((step["left"] - 0.5, step["top"] - 0.5))
        for (r, c), t in np.ndenumerate(self.prod_texts):
            kv = ex["kernel"][r, c]
            kv = f"({_fmt(kv)})" if kv < 0 else _fmt(kv)
            t.set_text(f"{_fmt(step['patch'][r, c])}·{kv}\n= {_fmt(step['products'][r, c])}")
        self.axes[2].set_title(f"patch × kernel, sum = {_fmt(step['total'])}")
        flat = self.out_texts.ravel()
        for i, t in enumerate(flat):
            t.set_text(_fmt(self.out.flat[i]) if i <= index else "")
        self.cell.set_xy((step["col"] - 0.5, step["row"] - 0.5))
        note = ""
        if (step["row"], step["col"]) in self.diffs:
            note = f" (notes print {_fmt(self.diffs[(step['row'], step['col'])])})"
        self.axes[3].set_title(f"output [{step['row']}, {step['col']}] = "
                               f"{_fmt(step['total'])}{note}")
        return step


def window_widget(name: str = "6x6 image, Laplacian, valid", index: int = 0):
    """Dropdown over the notes' worked examples and a slider over output cells
    (the window starts at output cell ``index``)."""
    import ipywidgets as widgets

    explorer = WindowExplorer(name)
    explorer.show(index)
    live = LiveFigure(explorer.fig)
    choose = widgets.Dropdown(options=list(WORKED_EXAMPLES), value=name, description="example",
                              layout=widgets.Layout(width="420px"))
    cell = widgets.IntSlider(value=index, min=0, max=explorer.n_cells - 1,
                             description="output cell")

    def on_cell(change):
        explorer.show(change["new"])
        live.redraw(key=(explorer.name, change["new"]))  # seen before: no render

    def on_example(change):
        explorer.set_example(change["new"])
        cell.unobserve(on_cell, names="value")
        cell.value, cell.max = 0, explorer.n_cells - 1
        cell.observe(on_cell, names="value")
        live.redraw(key=(explorer.name, 0))

    cell.observe(on_cell, names="value")
    choose.observe(on_example, names="value")
    return widgets.VBox([widgets.HBox([choose, cell]), live.output])


# ---------------------------------------------------------------------------------------
# Output size
# ---------------------------------------------------------------------------------------
def explain_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0):
    """Output length of a convolution along one axis, with the reasoning in words.

    ``floor((n + 2p - k) / s) + 1``, the rule of PyTorch (and of ``nnlib.conv``).

    Parameters
    ----------
    n : int >= 1, input length; kernel : int >= 1; stride : int >= 1; padding : int >= 0

    Returns
    -------
    (size, text) : (int or None, str)
        ``size`` is None when the kernel does not fit; ``text`` shows the formula with the
        numbers and, when a combination is awkward, says why in plain words.

    Raises
    ------
    ValueError
        When an argument is not an integer of the right sign (a programming error, not a
        combination a slider can produce).

    Shape
    -----
    - scalars in, ``n_out = (n + 2p - k) // s + 1`` out (one axis; apply per axis)
    """
    n = _check_int(n, "n")
    kernel = _check_int(kernel, "kernel")
    stride = _check_int(stride, "stride")
    padding = _check_int(padding, "padding", allow_zero=True)
    span = n + 2 * padding
    formula = f"⌊(n + 2p − k) / s⌋ + 1 = ⌊({n} + 2·{padding} − {kernel}) / {stride}⌋ + 1"
    if kernel > span:
        return None, (
            f"Does not fit: the kernel ({kernel}) is longer than the padded input "
            f"({n} + 2·{padding} = {span}), so there is no position for the window. "
            f"Use padding ≥ {math.ceil((kernel - n) / 2)} or a kernel ≤ {span}."
        )
    size = (span - kernel) // stride + 1
    text = f"{formula} = {size}"
    left_over = (span - kernel) % stride
    if left_over:
        text += (
            f". Note: {span} − {kernel} = {span - kernel} is not a multiple of the stride "
            f"{stride}, so the last {left_over} row(s)/column(s) of the padded input are never "
            f"under the window (the floor drops them)."
        )
    if padding >= kernel:
        text += (
            f". Note: padding {padding} ≥ kernel {kernel}: the outermost outputs see only "
            f"padding zeros."
        )
    if stride > kernel:
        text += (
            f". Note: stride {stride} > kernel {kernel}: the window skips "
            f"{stride - kernel} input(s) between positions; those pixels never reach the output."
        )
    return size, text


class OutputSizePlot:
    """One axis of a convolution: padded input cells and every window position below."""

    def __init__(self):
        self.fig, self.ax = figure(figsize=(11, 4.6))

    def update(self, n, kernel, stride, padding) -> tuple:
        size, text = explain_output_size(n, kernel, stride, padding)
        ax = self.ax
        ax.clear()
        ax.grid(False)
        span = n + 2 * padding
        colours = [SKY if (i < padding or i >= padding + n) else "#DDDDDD" for i in range(span)]
        ax.broken_barh([(i, 0.92) for i in range(span)], (0, 0.9), facecolors=colours)
        if size is None:
            ax.broken_barh([(0, kernel)], (-1.4, 0.9), facecolors=VERMILLION, alpha=0.7)
            ax.text(kernel + 0.3, -0.95, "the kernel does not fit", va="center", fontsize=13,
                    color=VERMILLION)
            rows = 1
        else:
            starts = [i * stride for i in range(size)]
            for r, s0 in enumerate(starts):
                ax.broken_barh([(s0, kernel - 0.08)], (-1.1 - 0.7 * r, 0.55),
                               facecolors=PALETTE[r % 2 * 2])
            covered_to = starts[-1] + kernel
            if covered_to < span:
                ax.broken_barh([(covered_to, span - covered_to)], (0, 0.9),
                               facecolors="none", edgecolors=VERMILLION, linewidth=2.5)
            rows = size
        ax.set_ylim(-1.3 - 0.7 * rows, 1.3)
        ax.set_xlim(-0.5, max(span, kernel) + 6)
        ax.set_yticks([])
        ax.set_xlabel("position along one axis (pixels; light blue = padding)")
        title = f"output size = {size}" if size is not None else "no output"
        ax.set_title(f"n = {n}, k = {kernel}, p = {padding}, s = {stride}: {title} "
                     "(one bar per window position)")
        return size, text


# Named starting points for instructors: (n, kernel, stride, padding).
OUTPUT_SIZE_PRESETS = {
    "notes: 6x6 image, 3x3 kernel (valid)": (6, 3, 1, 0),
    "notes: 6x6 image, 3x3 kernel, padding 1": (6, 3, 1, 1),
    "notes: 6x6 image, 2x2 kernel, stride 2": (6, 2, 2, 0),
    "LeNet C1: 28 px, 5x5 kernel, padding 2": (28, 5, 1, 2),
    "stride leaves a pixel out: 8 px, k 3, s 2": (8, 3, 2, 0),
    "does not fit: 3 px, 7x7 kernel": (3, 7, 1, 0),
}


def output_size_widget(n=7, kernel=3, stride=1, padding=0):
    """Sliders for n, k, p, s (and named presets); the formula, a picture, and a message
    when a combination does not fit."""
    import ipywidgets as widgets

    plot = OutputSizePlot()
    live_text = widgets.HTML()

    def refresh(n, kernel, stride, padding):
        size, text = plot.update(n, kernel, stride, padding)
        live_text.value = message(text, "warn" if size is None or "Note" in text else "ok")

    refresh(n, kernel, stride, padding)
    live = LiveFigure(plot.fig)
    sliders = dict(
        n=widgets.IntSlider(value=n, min=1, max=32, description="input n (px)"),
        kernel=widgets.IntSlider(value=kernel, min=1, max=11, description="kernel k (px)"),
        stride=widgets.IntSlider(value=stride, min=1, max=5, description="stride s (px)"),
        padding=widgets.IntSlider(value=padding, min=0, max=5, description="padding p (px)"),
    )

    presets = widgets.Dropdown(options=["(choose a preset)", *OUTPUT_SIZE_PRESETS],
                               description="preset", layout=widgets.Layout(width="420px"))
    state = {"hold": False}

    def on_change(_):
        if state["hold"]:
            return
        refresh(**{k: w.value for k, w in sliders.items()})
        live.redraw()

    def on_preset(change):
        if change["new"] not in OUTPUT_SIZE_PRESETS:
            return
        state["hold"] = True  # four slider updates, one redraw
        for w, v in zip(sliders.values(), OUTPUT_SIZE_PRESETS[change["new"]]):
            w.value = v
        state["hold"] = False
        on_change(None)

    for w in sliders.values():
        w.observe(on_change, names="value")
    presets.observe(on_preset, names="value")
    return widgets.VBox([presets, widgets.HBox(list(sliders.values())[:2]),
                         widgets.HBox(list(sliders.values())[2:]), live_text, live.output])


# ---------------------------------------------------------------------------------------
# A real photograph and the filter gallery
# ---------------------------------------------------------------------------------------
PHOTOS = {
    "grace_hopper": ("matplotlib", "grace_hopper.jpg"),
    "china": ("sklearn", "china.jpg"),
}


@functools.lru_cache(maxsize=8)
def _photo_rgb(name: str, scale: int) -> np.ndarray:
    import matplotlib.pyplot as plt

    package, file = PHOTOS[name]
    if package == "matplotlib":
        from matplotlib import cbook

        path = cbook.get_sample_data(file, asfileobj=False)
    else:
        import os

        import sklearn.datasets

        path = os.path.join(os.path.dirname(sklearn.datasets.__file__), "images", file)
    rgb = plt.imread(path).astype(np.float64) / 255.0
    h, w = (s // scale * scale for s in rgb.shape[:2])
    # Averaging scale x scale blocks shrinks the photo without aliasing.
    rgb = rgb[:h, :w].reshape(h // scale, scale, w // scale, scale, 3).mean(axis=(1, 3))
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def load_photo(name: str = "grace_hopper", scale: int = 4, gray: bool = True) -> np.ndarray:
    """A real photograph shipped with an installed package (no download).

    Parameters
    ----------
    name : ``"grace_hopper"`` (matplotlib's sample data, 600x512) or ``"china"``
        (scikit-learn's sample image, 427x640)
    scale : int >= 1, shrink factor (block average of scale x scale pixels)
    gray : bool, return BT.601 luma instead of colour

    Returns
    -------
    ndarray, float64 in [0, 1], shape (H, W) when ``gray`` else (3, H, W) (channels first,
    as nnlib's NCHW images).

    Shape
    -----
    - output: ``(H, W)`` or ``(3, H, W)`` with ``H = H_photo // scale``, ``W = W_photo // scale``
    """
    if name not in PHOTOS:
        raise ValueError(f"{OWNER}: argument 'name' must be one of {list(PHOTOS)}, got {name!r}")
    scale = _check_int(scale, "scale")
    rgb = _photo_rgb(name, scale).copy()
    if gray:
        return np.tensordot(LUMA, rgb, axes=1)
    return rgb


def filter_image(image, kernel) -> np.ndarray:
    """Cross-correlate a grey image with a kernel, zero-padded to keep the image's size.

    Parameters
    ----------
    image : array_like, shape (H, W)
    kernel : array_like, shape (k, k) with k odd

    Returns
    -------
    ndarray, shape (H, W)

    Shape
    -----
    - image: ``(H, W)``, kernel: ``(k, k)``, output: ``(H, W)`` (padding ``k // 2``)
    """
    image = check_array(image, "image", OWNER, ndim=2, finite=True)
    kernel = check_array(kernel, "kernel", OWNER, ndim=2, finite=True)
    kh, kw = kernel.shape
    if kh != kw or kh % 2 == 0:
        raise ValueError(f"{OWNER}: argument 'kernel' must be square with an odd side, got {kernel.shape}")
    return _correlate2d(image, kernel, 1, kh // 2)


def display_range(kernel, response) -> dict:
    """How to show a filter's response: a diverging map for edge detectors, grey otherwise.

    Edge detectors sum to zero, so their response is signed around 0 and is shown with a
    diverging colour map centred there (limits: the 98th percentile of ``|response|``, so a
    few extreme pixels do not wash out the rest). Filters that keep brightness are shown in
    grey on [0, 1], and ``clipped`` counts the pixels outside that range.

    Returns
    -------
    dict with ``cmap``, ``vmin``, ``vmax``, ``signed`` (bool), ``clipped`` (fraction in [0, 1])

    Shape
    -----
    - kernel: any shape (only its sum is read), response: any shape
    """
    kernel = check_array(kernel, "kernel", OWNER, finite=True)
    response = check_array(response, "response", OWNER, finite=True)
    if abs(kernel.sum()) < 1e-9:
        lim = float(np.percentile(np.abs(response), 98)) or 1.0
        return dict(cmap=CMAP_DIVERGING, vmin=-lim, vmax=lim, signed=True,
                    clipped=float(np.mean(np.abs(response) > lim)))
    clipped = float(np.mean((response < 0) | (response > 1)))
    return dict(cmap="gray", vmin=0.0, vmax=1.0, signed=False, clipped=clipped)


def plot_filter_gallery(image, filters=None, ncols: int = 4):
    """Every filter's kernel and its response on ``image``, in one figure.

    Shape
    -----
    - image: ``(H, W)`` grey values in [0, 1]; filters: name -> ``(k, k)`` kernel, k odd
    """
    filters = FILTERS if filters is None else filters
    nrows = math.ceil((len(filters) + 1) / ncols)
    fig, axes = figure(nrows, ncols, figsize=(3.2 * ncols, 4.6 * nrows))
    axes = np.atleast_1d(axes).ravel()
    axes[0].imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes[0].set_title("the photograph")
    for ax, (name, k) in zip(axes[1:], filters.items()):
        out = filter_image(image, k)
        rng = display_range(k, out)
        ax.imshow(out, cmap=rng["cmap"], vmin=rng["vmin"], vmax=rng["vmax"], interpolation="nearest")
        ax.set_title(name, fontsize=13)
        ax.set_xlabel(_kernel_label(k), fontsize=12)
    for ax in axes:
        ax.grid(False)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(filters) + 1:]:
        ax.axis("off")
    fig.tight_layout(h_pad=1.5)
    return fig


def _kernel_label(k) -> str:
    """A kernel as one line per row; blur kernels as '1/9 ×' an integer matrix."""
    scale = next((d for d in (1, 9, 16) if np.allclose(k * d, np.round(k * d))), None)
    if scale is None:
        return "\n".join(" ".join(f"{v:.2g}" for v in row) for row in k)
    rows = ["[" + " ".join(f"{int(round(v)):>2d}" for v in row) + "]" for row in k * scale]
    if scale != 1:
        rows[len(rows) // 2] = f"1/{scale} × " + rows[len(rows) // 2]
    return "\n".join(rows)


def kernel_from_entries(entries) -> tuple[np.ndarray | None, str]:
    """Turn nine numbers typed by a student into a 3x3 kernel, or say what is wrong.

    Returns
    -------
    (kernel, text) : (ndarray of shape (3, 3) or None, str)
        ``None`` and a plain message when the entries are not nine finite numbers.

    Shape
    -----
    - entries: 9 values, row by row; kernel: ``(3, 3)``
    """
    values = list(entries)
    if len(values) != 9:
        return None, f"A 3x3 kernel needs 9 numbers, got {len(values)}."
    out = []
    for i, v in enumerate(values):
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None, f"Entry {divmod(i, 3)} is not a number: {v!r}."
        if not math.isfinite(f):
            return None, f"Entry {divmod(i, 3)} must be finite, got {v!r}."
        out.append(f)
    k = np.array(out).reshape(3, 3)
    return k, f"kernel sum = {_fmt(k.sum())}"


class KernelEditorPlot:
    """The photograph and its response to an editable 3x3 kernel, redrawn in place.

    Shape
    -----
    - image: ``(H, W)``; ``update(kernel)`` takes a ``(k, k)`` kernel, k odd
    """

    def __init__(self, image, kernel=None):
        self.image = check_array(image, "image", OWNER, ndim=2, finite=True)
        kernel = FILTERS["edge: Laplacian (4 neighbours)"] if kernel is None else kernel
        self.fig, (ax0, ax1) = figure(1, 2, figsize=(10, 5))
        ax0.imshow(self.image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax0.set_title("input")
        self.im = ax1.imshow(self.image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        self.ax = ax1
        for ax in (ax0, ax1):
            ax.grid(False)
            ax.set_xticks([])
            ax.set_yticks([])
        self.colorbar = self.fig.colorbar(self.im, ax=ax1, fraction=0.046, pad=0.04)
        self.fig.tight_layout()
        self.update(kernel)

    def update(self, kernel) -> str:
        out = filter_image(self.image, kernel)
        rng = display_range(kernel, out)
        self.im.set_data(out)
        self.im.set_cmap(rng["cmap"])
        self.im.set_clim(rng["vmin"], rng["vmax"])
        kind = "signed response (kernel sums to 0)" if rng["signed"] else "brightness"
        self.ax.set_title(f"filtered: {kind}")
        text = (f"kernel sum = {_fmt(np.sum(kernel))}; response from {out.min():.3g} to "
                f"{out.max():.3g}; {100 * rng['clipped']:.1f}% of pixels beyond the colour range")
        return text


def kernel_editor_widget(image, preset: str = "edge: Laplacian (4 neighbours)"):
    """Nine number boxes (a 3x3 kernel) and a preset menu; the filtered photo redraws live."""
    import ipywidgets as widgets

    plot = KernelEditorPlot(image, FILTERS[preset])
    live = LiveFigure(plot.fig)
    boxes = [widgets.FloatText(value=float(v), step=0.25, layout=widgets.Layout(width="80px"))
             for v in FILTERS[preset].ravel()]
    grid = widgets.GridBox(boxes, layout=widgets.Layout(grid_template_columns="repeat(3, 85px)"))
    menu = widgets.Dropdown(options=list(FILTERS), value=preset, description="preset")
    note = widgets.HTML()
    state = {"hold": False}

    def redraw(_=None):
        if state["hold"]:
            return
        kernel, text = kernel_from_entries(b.value for b in boxes)
        if kernel is None:
            note.value = message(text, "warn")
            return
        note.value = message(plot.update(kernel))
        live.redraw()

    def on_preset(change):
        state["hold"] = True  # nine box updates, one redraw
        for b, v in zip(boxes, FILTERS[change["new"]].ravel()):
            b.value = float(v)
        state["hold"] = False
        redraw()

    for b in boxes:
        b.observe(redraw, names="value")
    menu.observe(on_preset, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([widgets.VBox([menu, grid, note]), live.output])])


# ---------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------
def pool_views(feature_map, size: int, stride: int | None = None):
    """Max and average pooling of one feature map with the same window, for a slider.

    Parameters
    ----------
    feature_map : array_like, shape (H, W)
    size : int, pooling window side; stride : int or None (default: ``size``)

    Returns
    -------
    (max_pooled, avg_pooled, text) : two arrays of shape (H_out, W_out) and a sentence, or
    ``(None, None, text)`` when the window does not fit.

    Shape
    -----
    - feature_map: ``(H, W)``; outputs ``(H_out, W_out)``, ``H_out = (H - size) // stride + 1``
    """
    fmap = check_array(feature_map, "feature_map", OWNER, ndim=2, finite=True)
    size = _check_int(size, "size")
    stride = size if stride is None else _check_int(stride, "stride")
    h, t_h = explain_output_size(fmap.shape[0], size, stride)
    w, _ = explain_output_size(fmap.shape[1], size, stride)
    if h is None or w is None:
        return None, None, f"A {size}x{size} window does not fit a {fmap.shape} map: {t_h}"
    windows = sliding_window_view(fmap, (size, size))[::stride, ::stride]
    mx, avg = windows.max(axis=(2, 3)), windows.mean(axis=(2, 3))
    kept = mx.size / fmap.size
    if stride < size:
        layout = "windows overlap"
    elif stride == size:
        layout = "windows tile"
    else:
        layout = "some values are skipped"
    text = (f"{fmap.shape[0]}x{fmap.shape[1]} → {h}x{w} ({100 * kept:.1f}% of the values "
            f"kept); {layout}")
    return mx, avg, text


class PoolingPlot:
    """A feature map beside its max- and average-pooled versions.

    Shape
    -----
    - feature_map: ``(H, W)``, non-negative (shown from 0 to its maximum)
    """

    def __init__(self, feature_map, size=2, stride=None):
        self.fmap = check_array(feature_map, "feature_map", OWNER, ndim=2, finite=True)
        self.fig, self.axes = figure(1, 3, figsize=(13, 4.6))
        vmax = float(self.fmap.max()) or 1.0
        self.ims = []
        for ax, img in zip(self.axes, (self.fmap, self.fmap, self.fmap)):
            self.ims.append(ax.imshow(img, cmap="magma", vmin=0, vmax=vmax, interpolation="nearest"))
            ax.grid(False)
            ax.set_xticks([])
            ax.set_yticks([])
        self.axes[0].set_title(f"feature map {self.fmap.shape[0]}x{self.fmap.shape[1]}")
        self.fig.tight_layout()
        self.update(size, stride)

    def update(self, size, stride=None) -> str:
        mx, avg, text = pool_views(self.fmap, size, stride)
        if mx is None:
            return text
        for ax, im, img, name in zip(self.axes[1:], self.ims[1:], (mx, avg), ("max", "average")):
            im.set_data(img)
            h, w = img.shape
            im.set_extent((-0.5, w - 0.5, h - 0.5, -0.5))
            ax.set_xlim(-0.5, w - 0.5)
            ax.set_ylim(h - 0.5, -0.5)
            ax.set_title(f"{name} pooling → {h}x{w}")
        return text


def pooling_widget(feature_map, size=2, stride=2):
    """Sliders for the pooling window and stride over one feature map."""
    import ipywidgets as widgets

    plot = PoolingPlot(feature_map, size, stride)
    live = LiveFigure(plot.fig)
    note = widgets.HTML(message(pool_views(feature_map, size, stride)[2]))
    w_size = widgets.IntSlider(value=size, min=1, max=8, description="window (px)")
    w_stride = widgets.IntSlider(value=stride, min=1, max=8, description="stride (px)")

    def on_change(_):
        mx, _avg, text = pool_views(plot.fmap, w_size.value, w_stride.value)
        if mx is None:
            note.value = message(text, "warn")
            return
        note.value = message(plot.update(w_size.value, w_stride.value))
        live.redraw()

    w_size.observe(on_change, names="value")
    w_stride.observe(on_change, names="value")
    return widgets.VBox([widgets.HBox([w_size, w_stride]), note, live.output])


# ---------------------------------------------------------------------------------------
# Convolution as a matrix, and timings
# ---------------------------------------------------------------------------------------
def plot_conv_matrix(ax, M, in_shape=None):
    """Show a convolution matrix's structure, each non-zero labelled with its value.

    Build ``M`` with a kernel of distinct entries (e.g. 1, 2, 3, 4) to see the kernel's
    entries repeat along diagonals.

    Shape
    -----
    - M: ``(H_out * W_out, H * W)``; in_shape: ``(H, W)`` for the axis label
    """
    M = check_array(M, "M", OWNER, ndim=2, finite=True)
    ax.imshow(np.where(M != 0, 0.0, np.nan), cmap=_ID_CMAP, vmin=-0.5, vmax=6.5)
    ax.grid(False)
    if M.size <= 1000:
        for (r, c), v in np.ndenumerate(M):
            if v != 0:
                ax.text(c, r, _fmt(v), ha="center", va="center", fontsize=12)
    shape = f" of a {in_shape[0]}x{in_shape[1]} image" if in_shape else ""
    ax.set_xlabel(f"input pixel{shape} (row-major index)")
    ax.set_ylabel("output pixel (row-major index)")
    nnz = int((M != 0).sum())
    ax.set_title(f"{M.shape[0]}x{M.shape[1]} matrix, {nnz} of {M.size} entries non-zero "
                 f"({100 * nnz / M.size:.1f}%)")
    return ax


def plot_timings(ax, kernel_sizes, times: dict, title: str):
    """Seconds per call against kernel side, one line per method (log scale).

    Shape
    -----
    - kernel_sizes: ``(K,)``; times: method name -> ``(K,)`` seconds
    """
    for (name, ts), c in zip(times.items(), (BLUE, ORANGE, GREEN, VERMILLION)):
        ax.plot(kernel_sizes, np.asarray(ts) * 1e3, "o-", color=c, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("kernel side k (pixels)")
    ax.set_ylabel("time per call (ms)")
    ax.set_title(title)
    ax.legend()
    return ax


# ---------------------------------------------------------------------------------------
# Learning a filter
# ---------------------------------------------------------------------------------------
def trajectory_frame(kernels, losses, iteration: int) -> dict:
    """The learned kernel and loss at one recorded iteration.

    Parameters
    ----------
    kernels : array_like, shape (T, kh, kw), the kernel after each recorded iteration
    losses : array_like, shape (T,)
    iteration : int, 0 <= iteration < T

    Returns
    -------
    dict with ``kernel`` (kh, kw) and ``loss`` (float)

    Shape
    -----
    - kernels: ``(T, kh, kw)``, losses: ``(T,)``
    """
    kernels = check_array(kernels, "kernels", OWNER, ndim=3)
    losses = check_array(losses, "losses", OWNER, shape=(kernels.shape[0],))
    check_in_range(iteration, "iteration", OWNER, 0, kernels.shape[0])
    if not isinstance(iteration, numbers.Integral):
        raise ValueError(f"{OWNER}: argument 'iteration' must be an integer, got {iteration!r}")
    return dict(kernel=kernels[iteration], loss=float(losses[iteration]))


class LearningPlot:
    """The hidden kernel, the learned kernel at one iteration, and the loss curve.

    Shape
    -----
    - kernels: ``(T, kh, kw)``, losses: ``(T,)`` (positive: log scale), hidden: ``(kh, kw)``
    """

    def __init__(self, kernels, losses, hidden, iteration=0):
        self.kernels = check_array(kernels, "kernels", OWNER, ndim=3)
        self.losses = check_array(losses, "losses", OWNER, shape=(self.kernels.shape[0],))
        self.hidden = check_array(hidden, "hidden", OWNER, shape=self.kernels.shape[1:])
        self.fig, (ax_h, ax_k, ax_l) = figure(
            1, 3, figsize=(14, 4.4), gridspec_kw=dict(width_ratios=[1, 1, 1.5])
        )
        lim = float(np.abs(self.hidden).max()) * 1.3
        _draw_grid(ax_h, self.hidden, cmap=CMAP_DIVERGING, vmin=-lim, vmax=lim,
                   title="hidden kernel")
        self.k_texts = _draw_grid(ax_k, self.kernels[0], cmap=CMAP_DIVERGING, vmin=-lim,
                                  vmax=lim)
        self.k_im = ax_k.images[0]
        self.ax_k = ax_k
        steps = np.arange(len(self.losses))
        ax_l.semilogy(steps, self.losses, color=BLUE)
        (self.marker,) = ax_l.semilogy([0], [self.losses[0]], "o", color=VERMILLION, ms=10)
        # Plain-text tick labels: mathtext (10^k) is what made each redraw slow.
        ax_l.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:.0e}"))
        ax_l.yaxis.set_minor_formatter(mticker.NullFormatter())
        ax_l.set_xlabel("iteration")
        ax_l.set_ylabel("mean squared error")
        ax_l.set_title("training loss")
        self.update(iteration)
        self.fig.tight_layout()

    def update(self, iteration) -> dict:
        frame = trajectory_frame(self.kernels, self.losses, iteration)
        k = frame["kernel"]
        self.k_im.set_data(k)
        for (r, c), t in np.ndenumerate(self.k_texts):
            t.set_text(f"{k[r, c]:.2f}")
        err = float(np.abs(k - self.hidden).max())
        self.ax_k.set_title(f"learned, iteration {iteration}\nmax |error| = {err:.3g}")
        self.marker.set_data([iteration], [frame["loss"]])
        frame["max_error"] = err
        return frame


def learning_widget(kernels, losses, hidden):
    """A slider over recorded iterations of the filter-learning run."""
    import ipywidgets as widgets

    plot = LearningPlot(kernels, losses, hidden)
    # blit: the hidden kernel, the loss curve and all axes are rendered once; a move redraws
    # the learned kernel, its numbers, its title and the marker
    live = LiveFigure(plot.fig, animated=[plot.k_im, *plot.ax_k.collections,  # cell borders over the image
                                          *plot.ax_k.spines.values(), *plot.k_texts.ravel(),
                                          plot.ax_k.title, plot.marker])
    slider = widgets.IntSlider(value=0, min=0, max=len(plot.losses) - 1, description="iteration")

    def on_change(change):
        plot.update(change["new"])
        live.redraw(key=change["new"])

    slider.observe(on_change, names="value")
    return widgets.VBox([slider, live.output])


# ---------------------------------------------------------------------------------------
# Exercise checkers: right or wrong, with a hint; they never print the answer.
# ---------------------------------------------------------------------------------------
def _verdict(ok: bool, text: str) -> bool:
    print(("Right. " if ok else "Not yet. ") + text)
    return ok


def _is_number(answer) -> bool:
    return isinstance(answer, numbers.Real) and not isinstance(answer, bool) and math.isfinite(answer)


def check_exercise_output_size(answer) -> bool:
    """Exercise 1: a 64x64 image, 7x7 convolution with padding 3 and stride 2, then 3x3 max
    pooling with stride 2. The side length of the result?"""
    if answer is None:
        return _verdict(False, "Replace None with your answer (an integer).")
    if not _is_number(answer):
        return _verdict(False, f"The answer is a side length in pixels (an integer), got {answer!r}.")
    after_conv, _ = explain_output_size(64, 7, stride=2, padding=3)
    after_pool, _ = explain_output_size(after_conv, 3, stride=2)
    if answer == after_pool:
        return _verdict(True, "Two floors in a row: conv, then pooling.")
    if answer == after_conv:
        return _verdict(False, "That is the size after the convolution; the pooling shrinks it again.")
    if answer == after_conv // 2:
        return _verdict(False, "The pooling window is 3 wide, not 2: apply the formula again "
                               "with k = 3, s = 2, p = 0.")
    return _verdict(False, "Apply ⌊(n + 2p − k)/s⌋ + 1 twice: first to the convolution, "
                           "then to the pooling (which has no padding).")


def check_exercise_parameters(answer) -> bool:
    """Exercise 2: learnable parameters of a layer mapping 3 input channels to 16 output
    channels with 5x5 kernels (with bias)."""
    if answer is None:
        return _verdict(False, "Replace None with your answer (an integer).")
    if not _is_number(answer):
        return _verdict(False, f"The answer is a count (an integer), got {answer!r}.")
    c_in, c_out, h, w = 3, 16, 5, 5
    right = c_out * (c_in * h * w + 1)
    if answer == right:
        return _verdict(True, "One kernel per (output, input) channel pair, one bias per output.")
    if answer == c_out * c_in * h * w:
        return _verdict(False, "Close: you counted the weights. What else does each output channel learn?")
    if answer == c_out * c_in * (h * w + 1):
        return _verdict(False, "That is the notes' c(hw+1) per output channel. The per-channel "
                               "results are summed, so how many biases does one output channel need?")
    if answer == c_in * (h * w + 1) or answer == c_in * h * w + 1:
        return _verdict(False, "That is one output channel; the layer has 16.")
    return _verdict(False, "Count the weight tensor (c_out, c_in, h, w) and the bias (c_out,).")


def check_exercise_shift_kernel(kernel) -> bool:
    """Exercise 3: a 3x3 kernel that, with padding 1, moves the image one pixel to the
    right: ``out[i, j] = x[i, j - 1]``."""
    if kernel is None:
        return _verdict(False, "Replace None with a 3x3 array.")
    k = np.asarray(kernel, dtype=float) if not isinstance(kernel, str) else None
    if k is None or k.shape != (3, 3) or not np.all(np.isfinite(k)):
        return _verdict(False, "Give a 3x3 array of finite numbers, e.g. np.zeros((3, 3)) with "
                               "one entry changed.")
    rng = np.random.default_rng(5)
    x = rng.random((8, 8))
    target = np.zeros_like(x)
    target[:, 1:] = x[:, :-1]
    out = _correlate2d(x, k, 1, 1)
    if np.allclose(out, target):
        return _verdict(True, "Cross-correlation reads x[i + a − 1, j + b − 1] with weight k[a, b].")
    mirrored = np.zeros_like(x)
    mirrored[:, :-1] = x[:, 1:]
    if np.allclose(out, mirrored):
        return _verdict(False, "Your kernel moves the image to the LEFT. Deep-learning "
                               "'convolution' does not flip the kernel: out[i, j] = Σ k[a, b]·"
                               "x[i + a − 1, j + b − 1].")
    return _verdict(False, "Only one entry should be non-zero. Which input pixel should "
                           "out[i, j] copy, and which kernel entry multiplies it?")


def check_exercise_sparsity(answer) -> bool:
    """Exercise 4: the fraction of non-zero entries in the matrix of a valid, stride-1
    convolution of a 100x100 image with a 3x3 kernel."""
    if answer is None:
        return _verdict(False, "Replace None with your answer (a fraction between 0 and 1).")
    if not _is_number(answer):
        return _verdict(False, f"The answer is a number between 0 and 1, got {answer!r}.")
    n, k = 100, 3
    rows = explain_output_size(n, k)[0] ** 2
    right = rows * k * k / (rows * n * n)
    if math.isclose(answer, right, rel_tol=1e-3):
        return _verdict(True, "Each row has k² non-zeros out of n² columns, whatever the number of rows.")
    if math.isclose(answer, 100 * right, rel_tol=1e-3):
        return _verdict(False, "Looks like a percentage; give a fraction.")
    return _verdict(False, "Each output pixel (a row) reads k·k input pixels out of all n·n "
                           "(the columns).")
