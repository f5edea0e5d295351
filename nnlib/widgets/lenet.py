"""Widgets of notebook 08: the training dashboard, the feature-map and the robustness explorers.

The dashboard trains with the notebook's own ``train_epoch`` (which calls the notebook's
``train_step``): :func:`training_job` turns the knobs into a seeded model, an optimizer and an
iterator over that function's steps, and :class:`~nnlib.widgets.training.TrainingPanel` runs it
in the background. The explorers call the notebook's ``layer_outputs`` and perturbations.
"""

from __future__ import annotations

import numpy as np

from .. import optim
from ..figures import lenet as figures
from ..functional import softmax
from ..jobs import TrainingJob
from ..layers import Dropout, Linear
from ..lenet import lenet5
from ..losses import CrossEntropyLoss
from ..module import Sequential
from ..training import evaluate, predict
from .live import Live, dropdown, int_slider, log_slider, slider
from .training import TrainingPanel

__all__ = ["OPTIMIZERS", "PRESETS", "make_optimizer", "with_dropout", "training_job", "curves_of", "dashboard",
           "map_stages", "feature_maps", "robustness"]

OPTIMIZERS = ("Adam", "SGD", "SGD + momentum", "RMSProp")
BATCH_SIZES = (16, 32, 64, 128, 256)
DEFAULTS = dict(variant="modern", optimizer="SGD", lr=0.01, batch_size=64, epochs=2, dropout=0.0)
PRESETS = {
    "plain SGD (default)": DEFAULTS,
    "Adam, lr 0.003": dict(DEFAULTS, optimizer="Adam", lr=3e-3),
    "learning rate far too large": dict(DEFAULTS, optimizer="Adam", lr=0.3),
    "classic LeNet, plain SGD": dict(DEFAULTS, variant="classic"),
    "dropout 0.5 before F6 and the output, 6 epochs": dict(DEFAULTS, optimizer="Adam", lr=1e-3, epochs=6,
                                                           dropout=0.5),
}


def make_optimizer(name: str, params, lr: float):
    """One of :data:`OPTIMIZERS` over ``params`` (momentum 0.9 for "SGD + momentum")."""
    if name not in OPTIMIZERS:
        raise ValueError(f"make_optimizer: argument 'name' must be one of {OPTIMIZERS}, got {name!r}")
    if name == "Adam":
        return optim.Adam(params, lr=lr)
    if name == "RMSProp":
        return optim.RMSProp(params, lr=lr)
    return optim.SGD(params, lr=lr, momentum=0.9 if name == "SGD + momentum" else 0.0)


def with_dropout(model: Sequential, p: float, seed: int = 0) -> Sequential:
    """The same layers with ``Dropout(p)`` before every Linear layer but the first (F6 and the
    output read a dropped-out layer); ``p == 0`` returns ``model`` itself."""
    if not 0 <= p < 1:
        raise ValueError(f"with_dropout: argument 'p' must be in [0, 1), got {p!r}")
    if p == 0:
        return model
    layers, linear = [], 0
    for layer in model.layers:
        if isinstance(layer, Linear):
            if linear:
                layers.append(Dropout(p, rng=seed + len(layers)))
            linear += 1
        layers.append(layer)
    return Sequential(*layers)


def training_job(train_epoch, data, variant="modern", optimizer="SGD", lr=0.01, batch_size=64, epochs=2,
                 dropout=0.0, seed=0) -> TrainingJob:
    """A background run of ``train_epoch`` for the dashboard's settings.

    ``train_epoch(model, loss_fn, optimizer, X, y, batch_size, rng)`` yields the loss of each
    step (the notebook's function). Every record holds ``"loss"`` and ``"epoch"``; the last step
    of an epoch also holds ``"val_accuracy"``. float32, seeded: the same knobs give the same run.
    """
    X, y, X_val, y_val = data
    model = with_dropout(lenet5(variant, rng=seed).to(np.float32), dropout, seed)
    model[0].input_grad = False  # training never needs the gradient with respect to the images
    opt = make_optimizer(optimizer, model.parameters(), lr)
    loss_fn = CrossEntropyLoss()

    def steps():
        rng = np.random.default_rng(seed)
        for epoch in range(1, epochs + 1):
            record = None
            for loss in train_epoch(model, loss_fn, opt, X, y, batch_size, rng):
                if record is not None:
                    yield record
                record = {"loss": float(loss), "epoch": epoch}
            record["val_accuracy"] = evaluate(model, X_val, y_val)  # held back until it has this
            yield record

    return TrainingJob(model, steps(), name="the LeNet dashboard")


def curves_of(job):
    """(losses, steps of each validation, validation accuracies) of a job so far."""
    history = list(job.history)
    val = [(i + 1, r["val_accuracy"]) for i, r in enumerate(history) if "val_accuracy" in r]
    steps, acc = zip(*val) if val else ((), ())
    return np.array([r["loss"] for r in history], float), steps, acc


def _status(job, total) -> str:
    losses, _, acc = curves_of(job)
    if losses.size == 0:
        return f"ready: {total} steps; press Train"
    parts = [f"step {losses.size} of {total}"]
    if not np.isfinite(losses[-1]):
        return f"{parts[0]}: the loss is no longer finite: the run diverged, lower the learning rate"
    parts.append(f"loss (mean of the last 20) {losses[-20:].mean():.3f}")
    if acc:
        parts.append(f"validation accuracy {acc[-1]:.3f}")
    return ", ".join(parts)


def dashboard(train_epoch, data, fps: float = 1.0, **start):
    """Knobs, Train / Pause / Step / Reset, and live loss and accuracy curves of ``train_epoch``.

    ``start`` overrides :data:`DEFAULTS`. ``fps`` redraws per second while training. Each redraw
    runs on the training thread and costs it 20-40 ms (mostly the PNG), so one a second keeps the
    dashboard within a few percent of plain ``fit`` (``benchmarks/dashboard_throughput.py``).
    """
    values = dict(DEFAULTS, **start)
    n_train = len(data[0])
    fig, update = figures.training_curves(1)
    ax_loss, ax_acc = fig.axes

    def total(job_values):
        return job_values["epochs"] * -(-n_train // job_values["batch_size"])

    def make_job(**knobs):
        return training_job(train_epoch, data, **knobs)

    def draw(job):
        knobs = panel_values()
        n = total(knobs)
        if ax_loss.get_xlim()[1] != n:  # another run length: new axes, a full render
            ax_loss.set_xlim(0, n)
            ax_acc.set_xlim(0, n * 1.02)
        update(*curves_of(job), caption_text=(f"{knobs['variant']} LeNet-5, {knobs['optimizer']}, "
                                              f"lr {knobs['lr']:.2g}, batch {knobs['batch_size']}, "
                                              f"dropout {knobs['dropout']:g}"))
        return _status(job, n)

    knobs = dict(variant=dropdown(["modern", "classic"], values["variant"], "variant"),
                 optimizer=dropdown(list(OPTIMIZERS), values["optimizer"], "optimizer"),
                 lr=log_slider(values["lr"], 1e-4, 1.0, "learning rate", steps_per_decade=10),
                 batch_size=dropdown(list(BATCH_SIZES), values["batch_size"], "batch size"),
                 epochs=int_slider(values["epochs"], 1, 10, label="epochs"),
                 dropout=slider(values["dropout"], 0.0, 0.8, 0.1, "dropout p"))
    panel_values = lambda: {name: k.value for name, k in knobs.items()}  # noqa: E731
    panel = TrainingPanel(make_job, draw, fig, presets=PRESETS, fps=fps, step_size=10, **knobs)
    # a second redraw now teaches the renderer which artists move (the curves, the caption), so the
    # first redraw while training blits instead of rendering the whole figure on the training thread
    panel.live.refresh()
    return panel


# ---- inside the network --------------------------------------------------------------------------------
def map_stages(outputs):
    """The maps worth looking at, LeNet's way: each convolution after its activation (what the
    next layer reads), each pooling; as ``[(label, mosaic), ...]`` and the class probabilities.

    ``outputs``: ``[(layer name, output of one image), ...]`` in layer order (the notebook's
    ``layer_outputs``), the last being the logits.
    """
    stages, count = [], 0
    for i, (name, out) in enumerate(outputs):
        if np.ndim(out) != 4:
            continue
        if "Conv" in name or "Pool" in name:
            count += 1  # C1, S2, C3, S4 number convolutions and subsamplings together
        if "Conv" in name:
            continue  # shown after its activation, the next output
        C, H, W = out.shape[1:]
        prev = outputs[i - 1][0] if i else ""
        label = f"C{count} after {name}" if "Conv" in prev else f"S{count}"
        stages.append((f"{label}: {C}@{H}x{W}", figures.mosaic(out[0], ncols=min(C, 4 if C <= 8 else 8))))
    return stages, softmax(np.asarray(outputs[-1][1], float), axis=1)[0]


def feature_maps(layer_outputs, model, X, y, index=0):
    """A slider over test digits: the digit, its probabilities and every stage's maps."""

    def view(index):
        return (*map_stages(layer_outputs(model, X[index:index + 1])), X[index], int(y[index]))

    stages, probs, digit, label = view(index)
    fig, update = figures.feature_maps(stages, digit, probs, label)

    def draw(index):
        stages, probs, digit, label = view(index)
        update(stages, digit, probs, label)
        return f"test digit #{index}: label {label}, says {int(np.argmax(probs))} with probability {probs.max():.2f}"

    return Live(draw, fig, cache=True, index=int_slider(index, 0, len(X) - 1, label="test digit #"))


def robustness(model, perturbations, curves, labels, digit, label, kind="rotation"):
    """Pick a perturbation and a strength: a ring on the accuracy curve, the perturbed digit and
    what the network answers. ``perturbations``: kind -> ``f(X, level)`` (the notebook's)."""
    n_levels = {len(levels) for levels, _ in curves.values()}
    if len(n_levels) != 1:
        raise ValueError("robustness: every perturbation needs the same number of levels, "
                         f"got {[len(lv) for lv, _ in curves.values()]}")
    fig, update = figures.robustness_explorer(curves, labels, kind)

    def draw(kind, strength):
        levels, acc = curves[kind]
        level = levels[strength]
        image = perturbations[kind](digit, level)
        p = softmax(predict(model, image).astype(float), axis=1)[0]
        guess = int(p.argmax())
        verdict = "right" if guess == label else "wrong"
        update(kind, level, acc[strength], image, f"{kind} {level:g}: says {guess} ({p.max():.0%}, {verdict})")
        return f"{labels[kind]} = {level:g}: test accuracy {acc[strength]:.3f}; this digit: {guess} ({verdict})"

    first = len(next(iter(curves.values()))[0]) // 2
    return Live(draw, fig, cache=True, kind=dropdown(list(curves), kind, "perturbation"),
                strength=int_slider(first, 0, n_levels.pop() - 1, label="strength (step)"))
