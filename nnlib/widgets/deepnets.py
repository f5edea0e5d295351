"""Sliders of notebook 09: each runs what the notebook wrote, or shows runs measured ahead of time.

Training a 20-layer network takes seconds, far more than a slider may, so the two depth
widgets show runs that ``scripts/deep_networks_experiments.py`` measured with the same
builders and the same gradient-norm function as the notebook, stored in
``nnlib/data/deep_networks.npz`` (the notebook checks its own numbers against them). The
batch-norm widget runs the notebook's activation statistics on the notebook's models (once per
slider position, when it is built); the augmentation widget runs the notebook's ``move`` and a
trained classifier on every redraw.
"""

from __future__ import annotations

import ipywidgets

from .. import viz
from ..figures import deepnets as figures
from .live import Live, checkbox, dropdown, int_slider

__all__ = ["VARIANTS", "INITS", "status", "depth_text", "depth_explorer", "cnn_text", "cnn_depth", "bn_text",
           "bn_statistics", "augment_text", "augment"]

VARIANTS = {(False, False): "plain", (True, False): "batchnorm", (False, True): "residual",
            (True, True): "bn+residual"}
INITS = {"PyTorch default": "default", "He × 0.5": 0.5, "He × 1": 1.0, "He × 1.5": 1.5}
_STYLE = {"description_width": "initial"}


def _choice(options, value, label):
    """A slider over a few given values (depths, scales); ``options``: values or (label, value)."""
    return ipywidgets.SelectionSlider(options=list(options), value=value, description=label,
                                      continuous_update=True, style=_STYLE)


def status(final_loss) -> str:
    """'flat' (within 10 % of chance, or not finite), 'trains' (below 1.0), else 'slow': the
    measurement script's verdicts."""
    if not final_loss == final_loss or final_loss > 0.9 * figures.CHANCE:  # NaN counts as flat
        return "flat"
    return "trains" if final_loss < 1.0 else "slow"


WORDS = {"plain": "plain", "batchnorm": "batch norm", "residual": "residual", "bn+residual": "batch norm + residual"}


def _name(variant, init):
    label = next(k for k, v in INITS.items() if v == init)
    return f"{WORDS[variant]}, {label} init"


def _line(name, norms, losses) -> str:
    return (f"{name}: first layer's gradient {norms[0]:.0e}, {norms[0] / norms[-1]:.0e} × the last layer's; "
            f"loss after {len(losses)} epochs {losses[-1]:.3g}: {status(losses[-1])}")


def depth_text(runs, depth, init="default", batch_norm=False, residual=False) -> str:
    """The sentence the depth widget shows under its figure, for one setting of its controls."""
    variant = VARIANTS[bool(batch_norm), bool(residual)]
    norms, losses = runs.mlp(variant, depth, None if init == "default" else init)
    return f"depth {depth}, " + _line(_name(variant, init), norms, losses)


PRESETS = {
    "the notes' claim: plain, depth 20": dict(depth=20, init="default", batch_norm=False, residual=False),
    "batch norm, depth 20": dict(depth=20, init="default", batch_norm=True, residual=False),
    "residual, depth 20": dict(depth=20, init="default", batch_norm=False, residual=True),
    "He initialisation, depth 20": dict(depth=20, init=1.0, batch_norm=False, residual=False),
    "He × 1.5: exploding, depth 30": dict(depth=30, init=1.5, batch_norm=False, residual=False),
    "batch norm alone, depth 50": dict(depth=50, init="default", batch_norm=True, residual=False),
    "residual, depth 50": dict(depth=50, init="default", batch_norm=False, residual=True),
}


def depth_explorer(runs=None, depth=20, init="default", batch_norm=False, residual=False):
    """Deep MLPs (width 32, ReLU) on 1,000 digits: gradient norm per layer and loss per epoch of
    the chosen network, against the plain one with PyTorch's default init (grey).

    Parameters
    ----------
    runs : :class:`nnlib.figures.deepnets.StoredRuns`, default the shipped file
    depth, init, batch_norm, residual : the starting position of the controls
    """
    runs = figures.StoredRuns() if runs is None else runs
    fig, update = figures.depth_panels([(viz.BLUE, False), (figures.GREY, True)], max_depth=max(runs.mlp_depths))

    def draw(depth, init, batch_norm, residual):
        variant = VARIANTS[bool(batch_norm), bool(residual)]
        reference = ("reference: plain, PyTorch default init", *runs.mlp("plain", depth))
        if (variant, init) == ("plain", "default"):  # the chosen network is the reference: draw it once
            reference = ("reference: the same", [], [])
        update([(_name(variant, init), *runs.mlp(variant, depth, None if init == "default" else init)), reference])
        return depth_text(runs, depth, init, batch_norm, residual)

    return Live(draw, fig, presets=PRESETS, cache=True, layout="top",  # a wide figure: controls above it
                depth=_choice(runs.mlp_depths, depth, "depth (weight layers)"),
                init=dropdown(INITS, init, "initialisation"),
                batch_norm=checkbox(batch_norm, "batch norm after every hidden layer"),
                residual=checkbox(residual, "residual connections"))


CNN_VARIANTS = {"plain": viz.VERMILLION, "batchnorm": viz.ORANGE, "residual": viz.BLUE}


def cnn_text(runs, depth) -> str:
    """What the CNN widget shows under its figure: one line per variant."""
    return f"CNN of depth {depth}\n" + "\n".join(_line(WORDS[v], *runs.cnn(v, depth)) for v in CNN_VARIANTS)


def cnn_depth(runs=None, depth=20):
    """Deep CNNs (8 channels, 3x3, at 7x7) on 1,000 digits: plain, batch norm and residual at
    the chosen depth, from the stored runs."""
    runs = figures.StoredRuns() if runs is None else runs
    fig, update = figures.depth_panels([(c, False) for c in CNN_VARIANTS.values()],
                                       max_depth=max(runs.cnn_depths), epochs=5)

    def draw(depth):
        update([(WORDS[v], *runs.cnn(v, depth)) for v in CNN_VARIANTS])
        return cnn_text(runs, depth).replace("\n", "<br>")

    return Live(draw, fig, cache=True, layout="top", depth=_choice(runs.cnn_depths, depth, "depth (weight layers)"))


SCALES = (0.35, 0.5, 0.71, 1.0, 1.41, 2.0, 2.83)  # powers of √2: every step doubles the variance


def bn_text(scale, plain, before, after) -> str:
    """What the batch-norm widget shows under its figure, for one init scale."""
    low, high = f"{min(after):.3f}", f"{max(after):.3f}"
    return (f"init scale {scale:g}: the plain network's last hidden layer has {plain[-1] / plain[0]:.0e} × the "
            f"spread of its first; after batch norm every layer's spread is "
            + (low if low == high else f"between {low} and {high}"))


def bn_statistics(activation_stats, build, X, scales=SCALES, scale=1.0):
    """The spread of every hidden layer's outputs, plain against batch-normalised, as the
    initialisation scale moves.

    Parameters
    ----------
    activation_stats : the notebook's ``activation_stats(model, X) -> (before, after)``: per
        hidden layer, the spread of the Linear layer's outputs and (with batch norm) of the
        BatchNorm1d layer's outputs
    build : the notebook's ``build(scale, batch_norm) -> model``
    X : the batch the statistics are taken on
    scales, scale : the slider's positions and its starting one
    """
    for fn, name in ((activation_stats, "activation_stats"), (build, "build")):
        if not callable(fn):
            raise TypeError(f"bn_statistics: argument '{name}' must be a function (the notebook's), got {fn!r}")
    if scale not in scales:
        raise ValueError(f"bn_statistics: argument 'scale' must be one of {list(scales)}, got {scale!r}")
    stats = {s: (activation_stats(build(s, False), X)[0], *activation_stats(build(s, True), X)) for s in scales}
    fig, update = figures.activation_panel(depth=len(stats[scale][0]) + 1)

    def draw(scale):
        update(*stats[scale])
        return bn_text(scale, *stats[scale])

    return Live(draw, fig, cache=True, scale=_choice([(f"{s:g}", s) for s in scales], scale, "init scale s (× He)"))


AUGMENT_PRESETS = {
    "as it is": dict(dx=0, dy=0, degrees=0),
    "3 px right": dict(dx=3, dy=0, degrees=0),
    "5 px down-left": dict(dx=-5, dy=5, degrees=0),
    "turned 30°": dict(dx=0, dy=0, degrees=30),
    "turned 60°": dict(dx=0, dy=0, degrees=60),
}


def augment_text(digit, dx, dy, degrees, probabilities, label) -> str:
    """What the augmentation widget shows under its figure."""
    guess = int(max(range(10), key=lambda k: probabilities[k]))
    return (f"digit {digit} (a {label}), moved {dx:+d} px right and {dy:+d} px down, turned {degrees:+d}°: "
            f"the network says {guess}, p({label}) = {probabilities[label]:.2f}")


def augment(move, probabilities, images, labels, digit=0):
    """Move and turn one digit and watch a trained classifier's ten probabilities.

    Parameters
    ----------
    move : the notebook's ``move(images, dx, dy, degrees)``
    probabilities : ``probabilities(images) -> (N, 10)``, a trained network's softmax
    images, labels : digits ``(N, 1, 28, 28)`` to choose from, and their labels
    """
    for fn, name in ((move, "move"), (probabilities, "probabilities")):
        if not callable(fn):
            raise TypeError(f"augment: argument '{name}' must be a function, got {fn!r}")
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"augment: expected as many labels as images (at least one), got {len(images)} images "
                         f"and {len(labels)} labels")
    fig, update = figures.augment_panel()

    def draw(digit, dx, dy, degrees):
        moved = move(images[digit:digit + 1], dx, dy, degrees)
        p = probabilities(moved)[0]
        update(moved[0], p, int(labels[digit]))
        return augment_text(digit, dx, dy, degrees, p, int(labels[digit]))

    return Live(draw, fig, presets=AUGMENT_PRESETS, cache=True,
                digit=int_slider(digit, 0, len(images) - 1, 1, "digit"),
                dx=int_slider(0, -6, 6, 1, "shift right", "px"), dy=int_slider(0, -6, 6, 1, "shift down", "px"),
                degrees=int_slider(0, -90, 90, 5, "turn (anticlockwise)", "degrees"))
