"""Figures of notebook 09 (deep networks that train: batch norm, residual connections, and more).

Every function builds one figure. Figures a widget redraws come back as ``(fig, update)``:
``update(...)`` moves the figure's artists to new data. Nothing here computes what the
notebook teaches: the notebook passes in the gradient norms, activation statistics,
accuracies and patches it computed with its own functions, or the curves that
``scripts/deep_networks_experiments.py`` measured and stored in ``nnlib/data/deep_networks.npz``
(read with :class:`StoredRuns`), where training live would be too slow for a slider.

MNIST digits are drawn as they are stored: bright ink (1) on a dark background (0).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import viz

__all__ = ["CHANCE", "DATA_FILE", "StoredRuns", "depth_panels", "activation_panel", "batch_size_bug",
           "gradient_spread", "resnet_vs_lenet", "moved_digits", "augment_panel", "augmentation_curves",
           "width_curves", "vit_patches"]

CHANCE = math.log(10)  # cross-entropy of a uniform guess over the 10 digits
DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "deep_networks.npz"
GREY = "#999999"


# ---- the stored measurements -------------------------------------------------------------------
class StoredRuns:
    """The curves ``scripts/deep_networks_experiments.py --save`` wrote (one ``.npz``, see
    ``nnlib/data/deep_networks.md``), as float64 arrays.

    ``mlp(variant, depth, init)`` and ``cnn(variant, depth)`` return ``(grad_norms, losses)``:
    the norm of every weight layer's gradient at initialisation (256 digits, seed 0) and the
    mean training loss of every epoch. ``seeds(prefix)`` returns one array per seed for keys
    ``<prefix>_<seed>``; ``runs[key]`` any stored array. ``variant`` is one of ``"plain"``,
    ``"batchnorm"``, ``"residual"``, ``"bn+residual"``; ``init`` None (PyTorch's default) or
    a He scale (0.5, 1.0, 1.5).
    """

    def __init__(self, path=DATA_FILE):
        with np.load(path, allow_pickle=False) as data:
            self.arrays = {k: data[k].astype(np.float64) for k in data.files}
        self.mlp_depths = self._grid("mlp_curves/", 2)
        self.cnn_depths = self._grid("cnn_curves/", 2)
        scaled = [k for k in self.arrays if k.startswith("mlp_scaled_curves/")]
        self.inits = [None] + sorted({float(k.split("/")[3]) for k in scaled})

    def _grid(self, prefix, field):
        return sorted({int(k.split("/")[field]) for k in self.arrays if k.startswith(prefix)})

    def __getitem__(self, key):
        if key not in self.arrays:
            raise ValueError(f"StoredRuns: no stored array {key!r}; re-run scripts/deep_networks_experiments.py --save")
        return self.arrays[key]

    def mlp(self, variant, depth, init=None):
        tail = f"{variant}/{depth}" if init is None else f"{variant}/{depth}/{float(init)}"
        kind = "mlp" if init is None else "mlp_scaled"
        return self[f"{kind}_grad_norms/{tail}"], self[f"{kind}_curves/{tail}"]

    def cnn(self, variant, depth):
        return self[f"cnn_grad_norms/{variant}/{depth}"], self[f"cnn_curves/{variant}/{depth}"]

    def seeds(self, prefix):
        found = {int(k[len(prefix) + 1:]): v for k, v in self.arrays.items()
                 if k.startswith(prefix + "_") and k[len(prefix) + 1:].isdigit()}
        if not found:
            raise ValueError(f"StoredRuns: no stored runs named {prefix}_<seed>")
        return [found[s] for s in sorted(found)]


# ---- section 1: depth --------------------------------------------------------------------------
def depth_panels(styles, max_depth=50, epochs=10, loss_max=3.0):
    """Gradient norm per weight layer (log scale) beside the training loss per epoch.

    ``styles``: one ``(color, dashed)`` per curve the figure shows. ``update(curves)`` takes
    one ``(label, grad_norms, losses)`` per style. Losses above ``loss_max`` are drawn at the
    top edge and named in a note (an exploding network's loss starts in the millions).
    """
    fig, (ax_g, ax_l) = viz.figure(1, 2, figsize=(12, 5))
    ax_g.set_yscale("log")
    ax_g.set(xlim=(0, max_depth + 1), ylim=(1e-21, 1e12), xlabel="weight layer (1 = next to the input)",
             ylabel="‖∂L/∂W‖", title="Gradient reaching each layer, at the start")
    ax_l.set(xlim=(0.5, epochs + 0.5), ylim=(0, loss_max), xlabel="epoch", ylabel="training loss",
             title=f"Training loss, {epochs} epochs (stored runs)")
    ax_l.axhline(CHANCE, color="black", ls=":", lw=1.5)
    ax_l.text(epochs + 0.4, CHANCE + 0.05, "chance (ln 10)", ha="right", va="bottom", fontsize=viz.fontsize("small"))
    kw = [dict(color=c, ls="--" if dashed else "-", marker="o", ms=4 if dashed else 5) for c, dashed in styles]
    grads = [ax_g.plot([], [], **k)[0] for k in kw]
    losses = [ax_l.plot([], [], **k)[0] for k in kw]
    legend = fig.legend(grads, [" " * 40] * len(grads), loc="lower center", ncol=len(grads), frameon=False)
    note = ax_l.text(0.97, 0.03, "", transform=ax_l.transAxes, ha="right", va="bottom",
                     fontsize=viz.fontsize("small"), color=viz.VERMILLION)
    fig.tight_layout(rect=(0, 0.09, 1, 1))  # room for the legend under both panels

    def update(curves):
        if len(curves) != len(styles):
            raise ValueError(f"depth_panels.update: expected {len(styles)} curves, got {len(curves)}")
        high = []
        for (label, g, l), gl, ll, text in zip(curves, grads, losses, legend.get_texts()):
            g, l = np.asarray(g, float), np.asarray(l, float)
            gl.set_data(np.arange(1, len(g) + 1), g)
            ll.set_data(np.arange(1, len(l) + 1), np.minimum(l, loss_max))
            if text.get_text() != label:
                text.set_text(label)
                legend.stale = True  # a text inside it changed: have the legend redrawn (only then: it is slow)
            if l.size and np.nanmax(l) > loss_max:
                high.append(f"{label}: loss up to {np.nanmax(l):.1e}")
        note.set_text("off the chart: " + "; ".join(high) if high else "")

    return fig, update


# ---- section 2: batch norm ----------------------------------------------------------------------
def activation_panel(depth=20):
    """Spread of each hidden layer's pre-activations (std over the batch, averaged over units).

    ``update(plain, before, after)``: per layer, a plain network's spread, and a batch-normalised
    network's spread before and after its BatchNorm1d layers.
    """
    fig, ax = viz.figure(figsize=(8, 4.6))
    ax.set_yscale("log")
    ax.set(xlim=(0.5, depth - 0.5), ylim=(1e-11, 1e11), xlabel="hidden layer",
           ylabel="spread of the layer's outputs", title="Activations along depth: plain against batch norm")
    plain = ax.plot([], [], color=viz.VERMILLION, marker="o", label="plain network")[0]
    before = ax.plot([], [], color=viz.ORANGE, ls="--", marker="s", ms=4, label="batch-norm network, before BN")[0]
    after = ax.plot([], [], color=viz.BLUE, marker="^", label="batch-norm network, after BN")[0]
    ax.legend(loc="upper left", fontsize=viz.fontsize("small"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()

    def update(plain_stds, before_stds, after_stds):
        for line, s in ((plain, plain_stds), (before, before_stds), (after, after_stds)):
            line.set_data(np.arange(1, len(s) + 1), np.asarray(s, float))

    return fig, update


def batch_size_bug(batch_sizes, train_mode, eval_mode, stored_cnn=None):
    """Test accuracy of a batch-normalised network evaluated in train mode, by batch size, against
    the same network in eval mode (a horizontal line, whatever the batch size).

    ``stored_cnn``: optional ``(batch_sizes, train_mode, eval_mode)`` of a second network.
    """
    fig, ax = viz.figure(figsize=(8, 4.4))
    series = [("MLP", batch_sizes, train_mode, eval_mode, viz.VERMILLION)]
    if stored_cnn is not None:
        series.append(("CNN (stored run)", *stored_cnn, viz.BLUE))
    for name, sizes, acc, ev, colour in series:
        ax.plot(sizes, acc, marker="o", color=colour, label=f"{name}: train mode (the bug)")
        ax.axhline(ev, color=colour, ls="--", label=f"{name}: eval mode, any batch size")
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set(ylim=(0, 1), xlabel="batch size used for the predictions", ylabel="test accuracy",
           title="Forgetting model.eval(): accuracy falls with the batch size")
    ax.legend(loc="lower left", fontsize=viz.fontsize("small"))
    fig.tight_layout()
    return fig


# ---- section 3: the identity path --------------------------------------------------------------
def gradient_spread(spreads, colours=(viz.VERMILLION, viz.BLUE)):
    """Per-example gradient norms along deep networks: median line and 10-90 % band.

    ``spreads``: ``{label: (x, per_layer)}``; ``x`` the weight layer each entry sits after, and
    ``per_layer`` one 1-D array (a norm per example) per entry, the input side first.
    """
    fig, ax = viz.figure(figsize=(8, 4.6))
    ax.set_yscale("log")
    for (label, (x, per_layer)), colour in zip(spreads.items(), colours):
        lo, mid, hi = np.array([np.percentile(np.asarray(b, float), (10, 50, 90)) for b in per_layer]).T
        ax.fill_between(x, lo, hi, color=colour, alpha=0.25, lw=0)
        ax.plot(x, mid, color=colour, marker="o", ms=4, label=f"{label}: median, 10-90 % of examples")
    ax.set_ylim(ax.get_ylim()[0], ax.get_ylim()[1] * 10)  # a decade of room above the top line
    ax.set(xlabel="after weight layer (1 = next to the input)", ylabel="‖∂L/∂h‖ of one example",
           title="Gradient at each hidden layer's output, digit by digit")
    ax.legend(loc="lower right", fontsize=viz.fontsize("small"))
    fig.tight_layout()
    return fig


# ---- section 4: a small ResNet against LeNet-5 --------------------------------------------------
def resnet_vs_lenet(curves, colours=(viz.ORANGE, viz.BLUE)):
    """Test accuracy after every epoch, one thin line per seed: ``curves = {label: [per seed]}``."""
    fig, ax = viz.figure(figsize=(8, 4.4))
    for (label, runs), colour in zip(curves.items(), colours):
        for k, acc in enumerate(runs):
            ax.plot(np.arange(1, len(acc) + 1), acc, color=colour, marker="o", ms=4,
                    label=f"{label} ({len(runs)} seed{'s' if len(runs) > 1 else ''})" if k == 0 else None)
    ax.set(ylim=(0.7, 1.0), xlabel="epoch (4,000 training digits)", ylabel="test accuracy (1,000 digits)",
           title="A small ResNet against LeNet-5 (stored runs)")
    ax.legend(loc="lower right", fontsize=viz.fontsize("small"))
    fig.tight_layout()
    return fig


# ---- section 5: data augmentation --------------------------------------------------------------
def _digit(ax, image, title=None):
    art = ax.imshow(np.asarray(image, float).reshape(28, 28), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    if title is not None:
        ax.set_title(title, fontsize=viz.fontsize("small"))
    return art


def moved_digits(original, copies, captions):
    """One digit and moved copies of it (virtual data), each with its caption."""
    n = 1 + len(copies)
    fig, axes = viz.figure(1, n, figsize=(1.6 * n, 2.3))
    _digit(axes[0], original, "original")
    for ax, image, caption in zip(axes[1:], copies, captions):
        _digit(ax, image, caption)
    fig.suptitle("The same digit, moved: new training examples for free")
    fig.tight_layout()
    return fig


def augment_panel():
    """A (moved) digit beside a classifier's ten probabilities.

    ``update(image, probabilities, label)``: the 28x28 image, 10 probabilities, its true label.
    """
    fig, (ax_i, ax_p) = viz.figure(1, 2, figsize=(9, 4), gridspec_kw={"width_ratios": [1, 1.6]})
    image = _digit(ax_i, np.zeros((28, 28)))
    bars = ax_p.bar(np.arange(10), np.zeros(10), color=GREY, zorder=3)  # over the spine, in every render
    ax_p.set(xticks=range(10), ylim=(0, 1), xlabel="digit", ylabel="probability", title=" ")
    ax_p.set_axisbelow(True)  # grid under the bars, as a redraw that pastes the bars over it shows them
    fig.tight_layout()

    def update(img, probabilities, label):
        p = np.asarray(probabilities, float).reshape(10)
        image.set_data(np.asarray(img, float).reshape(28, 28))
        guess = int(np.argmax(p))
        for k, bar in enumerate(bars):
            bar.set_height(p[k])
            bar.set_color(viz.BLUE if k == label else (viz.VERMILLION if k == guess else GREY))
        ax_i.set_title(f"true label {label}", fontsize=viz.fontsize("font"))
        ax_p.set_title(f"LeNet-5 says {guess} (p = {p[guess]:.2f}): " + ("right" if guess == label else "WRONG"))

    return fig, update


def augmentation_curves(without, with_, moved_without, moved_with):
    """Test accuracy per epoch with and without augmentation (one line per seed), and the final
    accuracy on the clean and on a moved test set (bars: mean over seeds, dots: each seed)."""
    fig, (ax_c, ax_b) = viz.figure(1, 2, figsize=(12, 4.4), gridspec_kw={"width_ratios": [1.6, 1]})
    final_clean = []
    for label, runs, colour in (("plain training", without, viz.VERMILLION), ("augmented", with_, viz.BLUE)):
        for k, acc in enumerate(runs):
            ax_c.plot(np.arange(1, len(acc) + 1), acc, color=colour, label=label if k == 0 else None)
        final_clean.append([r[-1] for r in runs])
    ax_c.set(ylim=(0.5, 1.0), xlabel="epoch (1,000 training digits)", ylabel="clean test accuracy",
             title="LeNet-5 with and without moved copies (stored)")
    ax_c.legend(loc="lower right", fontsize=viz.fontsize("small"))
    groups = (("clean test", final_clean), ("moved test", [list(moved_without), list(moved_with)]))
    for g, (_, (a, b)) in enumerate(groups):
        for j, (vals, colour) in enumerate(((a, viz.VERMILLION), (b, viz.BLUE))):
            x = 3 * g + j
            ax_b.bar(x, np.mean(vals), color=colour, alpha=0.6)
            ax_b.plot([x] * len(vals), vals, "o", color="black", ms=4)
    ax_b.set(xticks=[0.5, 3.5], xticklabels=[g[0] for g in groups], ylim=(0.5, 1.0), ylabel="accuracy after training",
             title="Final accuracy")
    fig.tight_layout()
    return fig


# ---- section 6: width --------------------------------------------------------------------------
def width_curves(curves, epochs_to_target, target=0.1, max_epochs=40):
    """Training loss per epoch for several widths, and the epochs each width needs to reach
    ``target``. ``curves = {width: losses}`` (one optimizer); ``epochs_to_target =
    {optimizer name: {width: epochs or None}}`` (None: not within ``max_epochs``)."""
    fig, (ax_c, ax_e) = viz.figure(1, 2, figsize=(12, 4.4))
    colours = mpl.colormaps[viz.CMAP_SEQUENTIAL](np.linspace(0.9, 0.0, len(curves)))  # light: narrow
    for (width, losses), colour in zip(curves.items(), colours):
        ax_c.plot(np.arange(1, len(losses) + 1), losses, color=colour, label=f"width {width}")
    ax_c.axhline(target, color="black", ls=":", lw=1.5)
    ax_c.set_yscale("log")
    ax_c.set(xlim=(0.5, max_epochs + 0.5), xlabel="epoch", ylabel="training loss", title="One hidden layer, Adam")
    ax_c.legend(ncol=2, fontsize=viz.fontsize("small"), loc="upper right")
    for (name, table), marker in zip(epochs_to_target.items(), "os^"):
        widths = sorted(table)
        reached = [w for w in widths if table[w] is not None]
        line = ax_e.plot(reached, [table[w] for w in reached], marker=marker, label=name)[0]
        missed = [w for w in widths if table[w] is None]
        ax_e.plot(missed, [max_epochs] * len(missed), marker=marker, ls="none", mfc="none", color=line.get_color())
    ax_e.set_xscale("log", base=2)
    ax_e.set(ylim=(0, max_epochs + 2), xlabel="hidden units", ylabel=f"epochs to a loss below {target}",
             title=f"Bigger trains in fewer epochs (open: not in {max_epochs})")
    ax_e.legend(fontsize=viz.fontsize("small"))
    fig.tight_layout()
    return fig


# ---- section 7: the vision transformer's first step ----------------------------------------------
def _montage(tiles, cols, gap=1):
    """Square tiles (k, p, p) laid out in rows of ``cols``, NaN (blank) between them."""
    k, p = len(tiles), tiles.shape[1]
    rows = -(-k // cols)
    out = np.full((rows * (p + gap) - gap, cols * (p + gap) - gap), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        out[r * (p + gap): r * (p + gap) + p, c * (p + gap): c * (p + gap) + p] = tile
    return out


def vit_patches(image, patches, tokens):
    """A digit cut into square patches, the patches as a sequence, and their embeddings.

    ``patches``: ``(number of patches, p * p)`` in reading order; ``tokens``: ``(number of
    patches, D)``, one embedded vector per patch (signed).
    """
    image = np.asarray(image, float).reshape(28, 28)
    patches = np.asarray(patches, float)
    p = math.isqrt(patches.shape[1])
    n = 28 // p
    fig, (ax_d, ax_s, ax_t) = viz.figure(1, 3, figsize=(14, 4.4), gridspec_kw={"width_ratios": [1, 2, 1.3]})
    _digit(ax_d, image, f"{n} x {n} patches of {p} x {p} pixels")
    for k in range(1, n):
        ax_d.axhline(k * p - 0.5, color=viz.ORANGE, lw=1.5)
        ax_d.axvline(k * p - 0.5, color=viz.ORANGE, lw=1.5)
    ax_s.imshow(_montage(patches.reshape(-1, p, p), cols=-(-len(patches) // 2)), cmap="gray", vmin=0, vmax=1)
    ax_s.set(xticks=[], yticks=[], title=f"... read as a sequence of {len(patches)} patches")
    ax_s.grid(False)
    t = np.asarray(tokens, float)
    bound = float(np.max(np.abs(t))) or 1.0
    art = ax_t.imshow(t, cmap=viz.CMAP_DIVERGING, vmin=-bound, vmax=bound, aspect="auto")
    ax_t.set(xlabel=f"embedding ({t.shape[1]} numbers)", ylabel="patch", title="... each embedded linearly")
    ax_t.grid(False)
    fig.colorbar(art, ax=ax_t)
    fig.tight_layout()
    return fig
