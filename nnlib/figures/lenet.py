"""Figures of notebook 08 (LeNet-5 on MNIST).

Every function builds one figure from numbers the notebook computed; figures a widget redraws
come back as ``(fig, update)``. Nothing here trains, differentiates or classifies: the training
loop, the input gradient and FGSM are written in the notebook's cells.

Conventions: MNIST is drawn as stored, bright ink (1) on dark paper (0), in grey with a fixed
0-1 range; a signed map (a kernel, an edge response, a perturbation) is blue-white-red centred
at zero, always with a colourbar; numbers inside coloured cells are black or white, whichever
reads better on that cell.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.colors import ListedColormap, Normalize, TwoSlopeNorm

from .. import viz
from .convolution import text_colour

__all__ = ["INK", "CHANCE_LOSS", "mosaic", "moving_average", "samples", "pixel_statistics", "connection_table",
           "training_curves", "filters", "feature_maps", "confusion", "digits", "robustness", "robustness_explorer",
           "adversarial"]

INK = dict(cmap="gray", norm=Normalize(0.0, 1.0), interpolation="nearest")  # 0 = dark paper, 1 = bright ink
CHANCE_LOSS = math.log(10)  # cross-entropy of a network that gives each of 10 digits probability 1/10


def _bare(ax):
    ax.grid(False)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _signed(ax, image, lim, label=None):
    """A signed map, blue-white-red centred at zero, with its colourbar."""
    lim = float(lim) or 1.0
    im = ax.imshow(image, cmap=viz.CMAP_DIVERGING, norm=TwoSlopeNorm(0.0, -lim, lim), interpolation="nearest")
    _bare(ax)
    bar = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    bar.ax.tick_params(labelsize=viz.fontsize("small") - 2)
    if label:
        bar.set_label(label, fontsize=viz.fontsize("small") - 2)
    return im


def mosaic(maps, ncols: int, pad: int = 1) -> np.ndarray:
    """Tile ``(C, H, W)`` maps into one image, each divided by its own largest |value| (so in [-1, 1]).

    Gaps are NaN, which imshow leaves blank; one image instead of C axes keeps a redraw fast.
    """
    maps = np.asarray(maps, dtype=float)
    if maps.ndim != 3:
        raise ValueError(f"mosaic: argument 'maps' expected shape (C, H, W), got {maps.shape}")
    if not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"mosaic: argument 'ncols' must be a positive integer, got {ncols!r}")
    C, H, W = maps.shape
    nrows = math.ceil(C / ncols)
    out = np.full((nrows * (H + pad) - pad, ncols * (W + pad) - pad), np.nan)
    for c in range(C):
        r, k = divmod(c, ncols)
        scale = np.abs(maps[c]).max()
        out[r * (H + pad): r * (H + pad) + H, k * (W + pad): k * (W + pad) + W] = maps[c] / (scale or 1.0)
    return out


# ---- section 1: the data -------------------------------------------------------------------------
def samples(X, y, per_class: int = 10, title: str = "Training digits, one row per class"):
    """One row per class, the first ``per_class`` digits of each, bright ink on dark paper."""
    classes = np.unique(y)
    fig, axes = viz.figure(len(classes), per_class, figsize=(0.75 * per_class + 0.8, 0.75 * len(classes) + 0.6))
    axes = np.atleast_2d(axes)
    for r, k in enumerate(classes):
        idx = np.flatnonzero(y == k)[:per_class]
        for c, ax in enumerate(axes[r]):
            _bare(ax)
            if c < idx.size:
                ax.imshow(X[idx[c]].reshape(X.shape[-2:]), **INK)
        axes[r, 0].set_ylabel(str(int(k)), rotation=0, labelpad=14, va="center")
    fig.suptitle(title)
    fig.subplots_adjust(wspace=0.05, hspace=0.05, left=0.06, right=0.98, bottom=0.02, top=0.93)
    return fig


def pixel_statistics(X, class_means):
    """Histogram of all pixel values (log counts) and the mean image of each class."""
    fig = viz.figure(figsize=(13, 4))[0]
    fig.clear()
    grid = fig.add_gridspec(2, 7)
    ax = fig.add_subplot(grid[:, :2])
    ax.hist(np.ravel(X), bins=50, color=viz.BLUE, log=True)
    ax.set_xlabel("pixel value (0 = paper, 1 = ink)")
    ax.set_ylabel("count (log scale)")
    ax.set_title("Most pixels are paper")
    for k, mean in enumerate(class_means):
        a = fig.add_subplot(grid[k // 5, 2 + k % 5])
        a.imshow(np.reshape(mean, X.shape[-2:]), **INK)
        a.set_title(f"mean '{k}'", fontsize=viz.fontsize("small"))
        _bare(a)
    fig.tight_layout()
    return fig


# ---- section 2: the network ------------------------------------------------------------------------
def connection_table(table, title: str = "C3 connection table (LeCun et al. 1998, Table I)"):
    """A boolean (C3 map, S2 map) table drawn as the paper prints it: S2 maps as rows, an X per connection."""
    t = np.asarray(table, dtype=bool).T  # rows: S2 maps (inputs), columns: C3 maps (outputs)
    fig, ax = viz.figure(figsize=(11, 4.2))
    cmap = ListedColormap(["white", viz.BLUE])
    ax.imshow(t, cmap=cmap, vmin=0, vmax=1)
    ink = text_colour(viz.BLUE)
    for i, j in zip(*np.nonzero(t)):
        ax.text(j, i, "X", ha="center", va="center", color=ink, fontweight="bold", fontsize=viz.fontsize("small"))
    ax.set_xticks(range(t.shape[1]))
    ax.set_yticks(range(t.shape[0]))
    ax.set_xticks(np.arange(-0.5, t.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, t.shape[0]), minor=True)
    ax.grid(False)
    ax.grid(True, which="minor", color="0.6", lw=0.8)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("C3 feature map (output channel)")
    ax.set_ylabel("S2 map (input)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


# ---- section 3: training ---------------------------------------------------------------------------
def moving_average(values, window: int = 20) -> np.ndarray:
    """Trailing mean over ``window`` values (a shorter window at the start)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def training_curves(n_steps: int, loss_max: float = 3.0, title: str = "Training LeNet-5"):
    """Loss per step (each batch, and a moving average of 20) and validation accuracy per epoch.

    ``update(losses, val_steps, val_accuracy, caption=None)``: the losses of every step so far,
    and the step count and accuracy of each validation. The axes stay fixed (0 to ``n_steps``
    steps, loss 0 to ``loss_max``: a larger loss is drawn at the top edge), so a redraw during
    training only moves the curves.
    """
    fig, (ax_loss, ax_acc) = viz.figure(1, 2, figsize=(11, 4.2))
    chance = ax_loss.axhline(CHANCE_LOSS, color=viz.BLACK, lw=1, ls=":")
    # the curves lie above the spines and titles (z-order 3.5), so a redraw during training draws
    # the curves alone, not every label above them
    (raw,) = ax_loss.plot([], [], color=viz.SKY, lw=1, alpha=0.7, zorder=3.5)
    (smooth,) = ax_loss.plot([], [], color=viz.BLUE, lw=2.5, zorder=3.5)
    ax_loss.set(xlim=(0, max(1, n_steps)), ylim=(0, loss_max), xlabel="training steps (batches)",
                ylabel="cross-entropy loss", title="Training loss")
    ax_acc.axhline(0.1, color=viz.BLACK, lw=1, ls=":")
    (acc,) = ax_acc.plot([], [], "o-", color=viz.VERMILLION, zorder=3.5)
    ax_acc.set(xlim=(0, max(1, n_steps) * 1.02), ylim=(0, 1.02), xlabel="training steps (batches)",
               ylabel="validation accuracy", title="Validation accuracy (each epoch)")
    # one legend under both axes, outside them: curves never cover it, and a redraw that moves
    # the curves need not draw it again
    fig.legend([raw, smooth, acc, chance], ["loss of each batch", "moving average (20)", "validation accuracy",
                                            "guessing (ln 10, 10%)"], loc="lower center", ncol=4)
    caption = fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.1, 1, 1))

    def update(losses, val_steps=(), val_accuracy=(), caption_text=None):
        losses = np.minimum(np.asarray(losses, dtype=float), loss_max)  # a diverging run stays on the plot
        steps = np.arange(1, losses.size + 1)
        raw.set_data(steps, losses)
        smooth.set_data(steps, moving_average(losses))
        acc.set_data(np.asarray(val_steps, float), np.asarray(val_accuracy, float))
        if caption_text is not None:
            caption.set_text(caption_text)

    return fig, update


# ---- section 5: inside the network ---------------------------------------------------------------
def filters(hand_kernels, hand_maps, learned_kernels, learned_maps, names):
    """Four rows: hand-made kernels, their responses to a digit, C1's learned kernels, their responses.

    Every panel has its own colourbar, centred at zero: a kernel's runs from -max|weight| to
    +max|weight| (a blur's 1/9 and a Laplacian's -4 could not share one scale), and each response is
    divided by its own largest |value|.
    """
    k = max(len(hand_kernels), len(learned_kernels))
    fig, axes = viz.figure(4, k, figsize=(2.3 * k, 8.4))
    rows = [(hand_kernels, names, "weight"), (hand_maps, None, "÷ max |response|"),
            (learned_kernels, [f"C1 filter {i}" for i in range(len(learned_kernels))], "weight"),
            (learned_maps, None, "÷ max |response|")]
    for r, (arrays, titles, label) in enumerate(rows):
        for c, ax in enumerate(axes[r]):
            if c >= len(arrays):
                ax.axis("off")
                continue
            a = np.asarray(arrays[c], float)
            lim = float(np.abs(a).max()) or 1.0
            _signed(ax, a if label == "weight" else a / lim, lim if label == "weight" else 1.0,
                    label if c == len(arrays) - 1 else None)
            if titles is not None:
                ax.set_title(titles[c], fontsize=viz.fontsize("small"))
    for r, text in enumerate(("hand-made\nkernel", "its response", "learned\nkernel (C1)", "its response")):
        axes[r, 0].set_ylabel(text, fontsize=viz.fontsize("small"))
    fig.tight_layout()
    return fig


def feature_maps(stages, digit, probs, label):
    """A digit, its class probabilities and a mosaic of every stage's maps (red positive, blue negative).

    ``stages``: list of (name, mosaic) as :func:`mosaic` builds them. ``update(stages, digit, probs,
    label)`` moves the images, the bars and the title.
    """
    half = max(1, math.ceil(len(stages) / 2))
    fig = viz.figure(figsize=(13, 5.4))[0]
    fig.clear()
    grid = fig.add_gridspec(2, half + 2, width_ratios=[1] + [2] * half + [0.06], left=0.05, right=0.94,
                            bottom=0.1, top=0.93, wspace=0.25, hspace=0.3)
    ax_in, ax_p = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0])
    images = []
    for i, (name, tile) in enumerate(stages):
        ax = fig.add_subplot(grid[i // half, 1 + i % half])
        # above the (static) stage titles and the bars above the ticks: a redraw then draws only
        # what moves, not every label over it
        images.append(ax.imshow(tile, cmap=viz.CMAP_DIVERGING, norm=TwoSlopeNorm(0.0, -1.0, 1.0),
                                interpolation="nearest", zorder=4))
        ax.set_title(name, fontsize=viz.fontsize("small"))
        _bare(ax)
    bar = fig.colorbar(images[-1], cax=fig.add_subplot(grid[:, -1]))
    bar.set_label("÷ each map's max |value|", fontsize=viz.fontsize("small") - 2)
    digit_image = ax_in.imshow(np.reshape(digit, (28, 28)), **INK)
    _bare(ax_in)
    bars = ax_p.bar(np.arange(len(probs)), probs, color=viz.BLUE, zorder=3)
    ax_p.grid(False)
    ax_p.set(ylim=(0, 1), xticks=range(len(probs)), xlabel="digit", ylabel="probability")
    ax_p.tick_params(labelsize=viz.fontsize("small") - 2)

    def update(stages, digit, probs, label):
        for im, (_, tile) in zip(images, stages):
            im.set_data(tile)
        digit_image.set_data(np.reshape(digit, (28, 28)))
        for b, p in zip(bars, probs):
            b.set_height(p)
        guess = int(np.argmax(probs))
        ax_in.set_title(f"label {label}, says {guess}", fontsize=viz.fontsize("small"),
                        color=viz.BLACK if guess == label else viz.VERMILLION)

    update(stages, digit, probs, label)
    return fig, update


def confusion(cm, title: str = "Confusion matrix (test digits)"):
    """Counts on a logarithmic blue scale, each non-zero count written in black or white."""
    cm = np.asarray(cm)
    fig, ax = viz.figure(figsize=(7.5, 6.5))
    shade = np.log1p(cm)
    im = ax.imshow(shade, cmap="Blues")
    colours = im.cmap(im.norm(shade))
    for i, j in zip(*np.nonzero(cm)):
        ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=viz.fontsize("small") - 1,
                color=text_colour(colours[i, j]))
    ax.set_xticks(range(cm.shape[1]))
    ax.set_yticks(range(cm.shape[0]))
    ax.grid(False)
    ax.set(xlabel="predicted digit", ylabel="true digit", title=title)
    fig.tight_layout()
    return fig


def digits(X, titles, ncols: int = 8, title: str = ""):
    """Digits in a row (or rows), a caption over each."""
    n = len(X)
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = viz.figure(nrows, ncols, figsize=(1.9 * ncols, 2.4 * nrows + 0.5))
    for i, ax in enumerate(np.ravel(axes)):
        _bare(ax)
        if i < n:
            ax.imshow(np.reshape(X[i], (28, 28)), **INK)
            ax.set_title(titles[i], fontsize=viz.fontsize("small"))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ---- section 6: robustness -----------------------------------------------------------------------
def robustness(curves, labels):
    """Accuracy against the strength of each perturbation. ``curves``: kind -> (levels, accuracies)."""
    fig, axes = viz.figure(1, len(curves), figsize=(4.6 * len(curves), 4.2))
    for ax, (kind, (levels, acc)) in zip(np.atleast_1d(axes), curves.items()):
        ax.plot(levels, acc, "o-", color=viz.BLUE)
        ax.axhline(0.1, color=viz.BLACK, lw=1, ls=":")
        ax.set(ylim=(0, 1.02), xlabel=labels[kind], ylabel="test accuracy", title=f"Accuracy vs {kind}")
    fig.tight_layout()
    return fig


def robustness_explorer(curves, labels, kind):
    """One curve with a ring on the current level, and the perturbed digit beside it.

    ``update(kind, level, accuracy, image, caption)`` swaps the curve when ``kind`` changes.
    """
    fig, (ax, ax_img) = viz.figure(1, 2, figsize=(11, 4.3), gridspec_kw={"width_ratios": [1.7, 1]})
    (curve,) = ax.plot([], [], "o-", color=viz.BLUE)
    (ring,) = ax.plot([], [], "o", ms=16, mfc="none", mec=viz.VERMILLION, mew=3)
    ax.set(ylim=(0, 1.02), ylabel="test accuracy")
    digit = ax_img.imshow(np.zeros((28, 28)), **INK)
    _bare(ax_img)
    fig.tight_layout()

    def update(kind, level, accuracy, image, caption):
        levels, acc = curves[kind]
        levels = np.asarray(levels, float)
        if ax.get_xlabel() != labels[kind]:
            curve.set_data(levels, acc)
            pad = 0.05 * (np.ptp(levels) or 1.0)
            ax.set_xlim(levels.min() - pad, levels.max() + pad)
            ax.set_xlabel(labels[kind])
            ax.set_title(f"Test accuracy vs {kind}")
        ring.set_data([level], [accuracy])
        digit.set_data(np.reshape(image, (28, 28)))
        ax_img.set_title(caption, fontsize=viz.fontsize("small"))

    return fig, update


def adversarial(x, x_adv, probs, probs_adv, eps):
    """Original digit, the perturbation (signed, with a colourbar), the adversarial digit, and both
    probability vectors."""
    fig, axes = viz.figure(1, 4, figsize=(15, 4), gridspec_kw={"width_ratios": [1, 1.2, 1, 1.6]})
    for ax, image, p, name in ((axes[0], x, probs, "original"), (axes[2], x_adv, probs_adv, "adversarial")):
        ax.imshow(np.reshape(image, (28, 28)), **INK)
        _bare(ax)
        ax.set_title(f"{name}: says {int(np.argmax(p))} ({np.max(p):.0%})", fontsize=viz.fontsize("small"))
    _signed(axes[1], np.reshape(np.asarray(x_adv, float) - np.asarray(x, float), (28, 28)), eps,
            "change of the pixel")
    axes[1].set_title(f"change, at most ±{eps:g}", fontsize=viz.fontsize("small"))
    k = np.arange(len(probs))
    axes[3].bar(k - 0.2, probs, width=0.4, color=viz.BLUE, label="original")
    axes[3].bar(k + 0.2, probs_adv, width=0.4, color=viz.VERMILLION, label="adversarial")
    axes[3].set(xticks=k, ylim=(0, 1), xlabel="digit", ylabel="probability", title="What the network believes")
    axes[3].legend(loc="upper right")
    fig.tight_layout()
    return fig
