"""Logic and widgets behind notebook 06 (training LeNet-5 on MNIST).

Everything a widget callback does is a plain function or class here, tested in
``tests/test_dashboard_lenet.py`` on a tiny random model; the ipywidgets wiring at the
bottom of the file is a thin layer on top:

- ``TrainConfig`` -> ``build_model`` / ``build_optimizer``: the dashboard's knobs become a
  seeded model and optimizer.
- ``LiveRecorder``: a ``fit`` callback that keeps the per-batch losses, reports every few
  batches and sets ``state.stop`` once a stop was requested.
- ``TrainingJob``: one run, either blocking (``run()``, what the stored notebook cell does) or
  in a background thread (``start()``), so the kernel stays free to receive the Stop click.
- Inspection: feature maps, confusion matrix, most confident mistakes.
- Robustness: noise, shift and bilinear rotation, accuracy curves, the gradient-sign
  (FGSM) adversarial example through nnlib's own backward pass.
- Exercise checkers that say right or wrong with a hint, never the answer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import numbers
import threading
import time
import warnings

import numpy as np

from .. import viz
from .._validation import check_array, check_in_range, check_labels, check_positive

VARIANTS = ("modern", "classic")
OPTIMIZERS = ("Adam", "SGD", "SGD + momentum", "RMSProp")
BATCH_SIZES = (16, 32, 64, 128, 256)

# Named starting points for an instructor; each is a complete, seeded configuration.
PRESETS = {
    "quick demo (default)": dict(variant="modern", optimizer="Adam", lr=3e-3, batch_size=32,
                                 epochs=1, dropout=0.0),
    "classic LeNet, plain SGD": dict(variant="classic", optimizer="SGD", lr=0.05, batch_size=32,
                                     epochs=3, dropout=0.0),
    "learning rate far too large": dict(variant="modern", optimizer="Adam", lr=0.3,
                                        batch_size=64, epochs=2, dropout=0.0),
    "dropout 0.5, longer run": dict(variant="modern", optimizer="Adam", lr=1e-3, batch_size=64,
                                    epochs=8, dropout=0.5),
}

# 3x3 filters to set beside the learned 5x5 first-layer filters: the course notes' edge,
# Laplacian, sharpen and blur kernels, plus the two Sobel kernels for oriented edges.
HAND_MADE_FILTERS = {
    "vertical edge": np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]),  # Sobel
    "horizontal edge": np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]),  # Sobel
    "diagonal edge": np.array([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 1.0]]),
    "Laplacian": np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
    "sharpen": np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
    "box blur": np.full((3, 3), 1.0 / 9.0),
    "Gaussian blur": np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16.0,
}


# ---------------------------------------------------------------------------------------
# Configuration -> model and optimizer
# ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The dashboard's knobs, validated.

    Parameters
    ----------
    variant : {"modern", "classic"}
    optimizer : {"Adam", "SGD", "SGD + momentum", "RMSProp"}
    lr : float > 0
        Learning rate.
    batch_size : int > 0
    epochs : int > 0
    dropout : float in [0, 1)
        Probability of dropping a unit before each fully connected layer after the first.
    seed : int >= 0
        Seeds the initial weights, the dropout masks and fit's shuffling.
    """

    variant: str = "modern"
    optimizer: str = "Adam"
    lr: float = 1e-3
    batch_size: int = 64
    epochs: int = 1
    dropout: float = 0.0
    seed: int = 0

    def __post_init__(self):
        owner = "TrainConfig"
        if self.variant not in VARIANTS:
            raise ValueError(f"{owner}: argument 'variant' must be one of {VARIANTS}, got {self.variant!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"{owner}: argument 'optimizer' must be one of {OPTIMIZERS}, got {self.optimizer!r}"
            )
        check_positive(self.lr, "lr", owner)
        check_positive(self.batch_size, "batch_size", owner, integer=True)
        check_positive(self.epochs, "epochs", owner, integer=True)
        check_in_range(self.dropout, "dropout", owner, 0.0, 1.0)
        check_positive(self.seed, "seed", owner, integer=True, allow_zero=True)

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def reseed(model, seed: int):
    """Re-draw every layer's initial weights from one seeded generator, in layer order.

    Returns the model, so that two calls with the same seed give identical weights.
    """
    from ..init import as_rng

    rng = as_rng(seed)
    for m in model.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters(rng)
    return model


def add_dropout(model, p: float, seed: int = 0):
    """A Sequential with ``Dropout(p)`` inserted before every Linear layer but the first.

    In LeNet that puts dropout on F5's and F6's inputs, where the parameters are (the
    convolutions share their weights and overfit far less). The layer objects are shared
    with ``model``, not copied. ``p == 0`` returns ``model`` unchanged.
    """
    from ..layers import Dropout, Linear
    from ..module import Sequential

    check_in_range(p, "p", "add_dropout", 0.0, 1.0)
    if p == 0:
        return model
    if not isinstance(model, Sequential):
        raise TypeError(f"add_dropout: argument 'model' must be a Sequential, got {type(model).__name__}")
    layers, seen_linear = [], 0
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Linear):
            if seen_linear:
                layers.append(Dropout(p, rng=seed + i))
            seen_linear += 1
        layers.append(layer)
    return Sequential(*layers)


def _default_model_fn(variant: str):
    from ..lenet import lenet5

    return lenet5(variant=variant)


def build_model(config: TrainConfig, model_fn=None):
    """The seeded network a configuration asks for.

    Parameters
    ----------
    config : TrainConfig
    model_fn : callable(variant) -> Sequential, optional
        Defaults to ``nnlib.lenet.lenet5``; tests pass a tiny network.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"build_model: argument 'config' must be a TrainConfig, got {type(config).__name__}")
    model = (model_fn or _default_model_fn)(config.variant)
    reseed(model, config.seed)
    return add_dropout(model, config.dropout, seed=config.seed)


def build_optimizer(config: TrainConfig, params):
    """The optimizer named in ``config`` over ``params`` (momentum 0.9 for "SGD + momentum")."""
    from .. import optim

    if not isinstance(config, TrainConfig):
        raise TypeError(
            f"build_optimizer: argument 'config' must be a TrainConfig, got {type(config).__name__}"
        )
    params = list(params)
    if config.optimizer == "SGD":
        return optim.SGD(params, lr=config.lr)
    if config.optimizer == "SGD + momentum":
        return optim.SGD(params, lr=config.lr, momentum=0.9)
    if config.optimizer == "RMSProp":
        return optim.RMSProp(params, lr=config.lr)
    return optim.Adam(params, lr=config.lr)


# ---------------------------------------------------------------------------------------
# Recording a run and stopping it
# ---------------------------------------------------------------------------------------
def _get(state, name, default=None):
    if isinstance(state, dict):
        return state.get(name, default)
    return getattr(state, name, default)


class LiveRecorder:
    """A ``fit`` callback: keeps every batch loss, reports every ``every`` batches, stops on request.

    Parameters
    ----------
    every : int > 0
        Call ``on_update(self)`` after every ``every``-th batch and at each epoch's end.
    on_update : callable(LiveRecorder), optional
    stop_event : threading.Event, optional
        Once set, the next ``on_batch_end`` sets ``state.stop = True``, which ends ``fit``
        after the current batch.
    probe : tuple (X, y), optional
        A small labelled sample scored (in eval mode) every ``every`` batches, so accuracy
        can be drawn live and not only once per epoch.

    Attributes
    ----------
    batch_losses : list of float, one per finished batch
    epoch_ends : list of int, the number of batches finished when each epoch ended
    val_accuracy, val_loss : list of float, one per finished epoch (when fit validates)
    probe_batches, probe_accuracy : lists, the batch count and accuracy of each probe
    stopped_early : bool
    """

    def __init__(self, every: int = 10, on_update=None, stop_event: threading.Event | None = None,
                 probe=None):
        check_positive(every, "every", "LiveRecorder", integer=True)
        if probe is not None:
            if not (isinstance(probe, (tuple, list)) and len(probe) == 2):
                raise ValueError("LiveRecorder: argument 'probe' must be a pair (X, y)")
            Xp = check_array(probe[0], "probe[0]", "LiveRecorder", min_ndim=2, finite=True)
            probe = (Xp, check_labels(probe[1], "probe[1]", "LiveRecorder", n=Xp.shape[0]))
        self.every = every
        self.on_update = on_update
        self.stop_event = stop_event if stop_event is not None else threading.Event()
        self.probe = probe
        self.batch_losses: list[float] = []
        self.epoch_ends: list[int] = []
        self.val_accuracy: list[float] = []
        self.val_loss: list[float] = []
        self.probe_batches: list[int] = []
        self.probe_accuracy: list[float] = []
        self.stopped_early = False

    def _score_probe(self, state) -> None:
        model = _get(state, "model")
        if self.probe is None or model is None:
            return
        was_training = model.training
        model.eval()  # dropout off; eval draws no random numbers, so the run stays reproducible
        try:
            pred = model(self.probe[0]).argmax(axis=1)
        finally:
            model.train(was_training)
        self.probe_batches.append(len(self.batch_losses))
        self.probe_accuracy.append(float(np.mean(pred == self.probe[1])))

    def request_stop(self) -> None:
        self.stop_event.set()

    def on_batch_end(self, state) -> None:
        loss = _get(state, "batch_loss")
        if loss is not None:
            self.batch_losses.append(float(loss))
        if self.stop_event.is_set():
            self.stopped_early = True
            _set_stop(state)
        if len(self.batch_losses) % self.every == 0:
            self._score_probe(state)
            if self.on_update is not None:
                self.on_update(self)

    def on_epoch_end(self, state) -> None:
        self.epoch_ends.append(len(self.batch_losses))
        history = _get(state, "history")
        if history is not None:
            for key, dest in (("val_accuracy", self.val_accuracy), ("val_loss", self.val_loss)):
                if key in history and len(history[key]) > len(dest):
                    dest.append(float(history[key][-1]))
        if self.stop_event.is_set():
            self.stopped_early = True
            _set_stop(state)
        if self.on_update is not None:
            self.on_update(self)

    def smoothed_losses(self, window: int = 20) -> np.ndarray:
        """Trailing moving average of the batch losses (shorter window at the start)."""
        check_positive(window, "window", "LiveRecorder.smoothed_losses", integer=True)
        losses = np.asarray(self.batch_losses, dtype=float)
        if losses.size == 0:
            return losses
        c = np.cumsum(np.insert(losses, 0, 0.0))
        idx = np.arange(1, losses.size + 1)
        lo = np.maximum(idx - window, 0)
        return (c[idx] - c[lo]) / (idx - lo)

    @property
    def diverged(self) -> bool:
        return bool(self.batch_losses) and not math.isfinite(self.batch_losses[-1])


@contextlib.contextmanager
def _no_capture():
    yield []


def _set_stop(state) -> None:
    if isinstance(state, dict):
        state["stop"] = True
    else:
        state.stop = True


class TrainingJob:
    """One training run of the dashboard: blocking with ``run()`` or in the background with ``start()``.

    Parameters
    ----------
    config : TrainConfig
    data : tuple (X_train, y_train, X_val, y_val)
        Images ``(N, 1, 28, 28)`` (any shape the model takes) and int labels ``(N,)``.
    model_fn : callable(variant) -> Sequential, optional
    every : int
        Batches between two ``on_update`` calls (and two scores of the probe).
    probe_size : int >= 0
        How many validation images are scored every ``every`` batches for the live accuracy
        curve (0: none; the full validation set is still scored after each epoch).
    on_update : callable(LiveRecorder), optional
    on_done : callable(TrainingJob), optional
        Called once at the end, also after an error or a stop.

    Attributes
    ----------
    model, optimizer, recorder, history, error (an exception or None), seconds (wall time)
    """

    def __init__(self, config: TrainConfig, data, model_fn=None, every: int = 10, on_update=None,
                 on_done=None, probe_size: int = 200):
        if not isinstance(config, TrainConfig):
            raise TypeError(f"TrainingJob: argument 'config' must be a TrainConfig, got {type(config).__name__}")
        if not (isinstance(data, (tuple, list)) and len(data) == 4):
            raise ValueError("TrainingJob: argument 'data' must be (X_train, y_train, X_val, y_val)")
        X, y, Xv, yv = data
        X = check_array(X, "X_train", "TrainingJob", min_ndim=2, finite=True)
        Xv = check_array(Xv, "X_val", "TrainingJob", min_ndim=2, finite=True)
        y = check_labels(y, "y_train", "TrainingJob", n=X.shape[0])
        yv = check_labels(yv, "y_val", "TrainingJob", n=Xv.shape[0])
        self.config = config
        self.data = (X, y, Xv, yv)
        self.model = build_model(config, model_fn)
        self.optimizer = build_optimizer(config, self.model.parameters())
        check_positive(probe_size, "probe_size", "TrainingJob", integer=True, allow_zero=True)
        probe = (Xv[:probe_size], yv[:probe_size]) if probe_size else None
        self.recorder = LiveRecorder(every=every, on_update=on_update, probe=probe)
        self.on_done = on_done
        self.history = None
        self.error: BaseException | None = None
        self.warnings: list[str] = []
        self.seconds = float("nan")
        self._thread: threading.Thread | None = None

    @property
    def n_batches(self) -> int:
        """Batches in the whole run (what the progress bar counts to)."""
        return self.config.epochs * math.ceil(self.data[0].shape[0] / self.config.batch_size)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self, capture_warnings: bool = True):
        """Train in the calling thread; returns the History (also kept in ``self.history``).

        With ``capture_warnings`` fit's warnings (a diverging loss) land in ``self.warnings``
        instead of the output. The background thread passes False: ``catch_warnings`` swaps
        process-wide state and would swallow the warnings of cells run meanwhile.
        """
        from ..losses import CrossEntropyLoss
        from ..training import fit

        X, y, Xv, yv = self.data
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) if capture_warnings else _no_capture() as caught:
                if capture_warnings:
                    warnings.simplefilter("always", RuntimeWarning)
                self.history = fit(self.model, CrossEntropyLoss(), self.optimizer, X, y,
                                   epochs=self.config.epochs, batch_size=self.config.batch_size,
                                   validation=(Xv, yv), seed=self.config.seed, progress=False,
                                   callbacks=[self.recorder])
            self.warnings = [str(w.message) for w in caught]
        except Exception as err:  # shown in the dashboard instead of a traceback
            self.error = err
        finally:
            self.seconds = time.perf_counter() - t0
            self.model.eval()
            if self.on_done is not None:
                self.on_done(self)
        return self.history

    def start(self) -> TrainingJob:
        """Train in a daemon thread, so the kernel keeps handling widget events (Stop)."""
        if self.running:
            raise RuntimeError("TrainingJob.start: this job is already running")
        self._thread = threading.Thread(target=self.run, kwargs={"capture_warnings": False},
                                        name="nnlib-lenet-training", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to end after the current batch."""
        self.recorder.request_stop()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def final_val_accuracy(self) -> float:
        acc = self.recorder.val_accuracy
        return acc[-1] if acc else float("nan")

    def summary(self) -> str:
        """One line a cell can print: what happened, with rounded numbers."""
        c = self.config
        head = f"{c.variant} LeNet-5, {c.optimizer}, lr={c.lr:.3g}, batch {c.batch_size}, dropout {c.dropout:.2g}"
        done = len(self.recorder.batch_losses)
        if self.error is not None:
            return f"{head}: failed ({self.error})"
        if self.recorder.diverged or getattr(self.history, "diverged", False):
            return f"{head}: the loss diverged after {done} batches; lower the learning rate"
        last = self.recorder.smoothed_losses(20)[-1] if done else float("nan")
        stop = " (stopped early)" if self.recorder.stopped_early else ""
        rec = self.recorder
        if rec.val_accuracy:
            val = f"validation accuracy {self.final_val_accuracy:.4g}"
        elif rec.probe_accuracy:
            val = (f"no epoch finished; accuracy on a {rec.probe[1].size}-image validation sample "
                   f"{rec.probe_accuracy[-1]:.4g}")
        else:
            val = "no epoch finished, so no validation yet"
        return f"{head}: {done}/{self.n_batches} batches{stop}, recent training loss {last:.4g}, {val}"


# ---------------------------------------------------------------------------------------
# The live figure of a run (rendered off-screen, shown through an ipywidgets.Image)
# ---------------------------------------------------------------------------------------
class TrainingPlot:
    """Loss per batch (raw and smoothed) and validation accuracy, as PNG bytes.

    The previous run can stay on screen in grey (``keep_as_previous``) so two settings can
    be compared; ``caption`` says which run is shown or about to start. It uses a bare
    matplotlib ``Figure`` with an Agg canvas, never pyplot, so a background thread can
    render it without touching the notebook's figure manager.
    """

    def __init__(self, n_batches: int = 1):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        viz.use_style()
        self.fig = Figure(figsize=(10, 3.9), dpi=80, layout="constrained")
        FigureCanvasAgg(self.fig)
        self.ax_loss, self.ax_acc = self.fig.subplots(1, 2)
        grey = dict(color="0.6", lw=2, ls="--")
        (self.prev_loss,) = self.ax_loss.plot([], [], label="previous run", **grey)
        (self.prev_acc,) = self.ax_acc.plot([], [], marker="o", ms=4, label="previous run", **grey)
        # a network that spreads its belief evenly over 10 classes scores ln 10
        self.ax_loss.axhline(math.log(10), color=viz.BLACK, lw=1, ls=":", label="guessing (ln 10)")
        (self.raw,) = self.ax_loss.plot([], [], color=viz.SKY, lw=1, alpha=0.6, label="each batch")
        (self.smooth,) = self.ax_loss.plot([], [], color=viz.BLUE, lw=2.5, label="moving average (20)")
        self.ax_loss.set_xlabel("batches seen")
        self.ax_loss.set_ylabel("cross-entropy loss")
        self.ax_loss.set_title("Training loss")
        self.ax_loss.legend(loc="lower left", fontsize=11)
        (self.probe,) = self.ax_acc.plot([], [], "-o", ms=4, color=viz.ORANGE, label="sample, every few batches")
        (self.acc,) = self.ax_acc.plot([], [], "o", color=viz.VERMILLION, ms=9, label="whole set, epoch end")
        self.ax_acc.set_xlabel("batches seen")
        self.ax_acc.set_ylabel("accuracy")
        self.ax_acc.set_title("Validation accuracy")
        self.ax_acc.legend(loc="lower right", fontsize=11)
        self.title = self.fig.suptitle("Next: modern, Adam, lr 0.001, batch 64, dropout 0: 100 batches", fontsize=13)
        self.reset(n_batches)
        _freeze_layout(self.fig)  # laid out once with a typical caption: every later PNG renders once
        self.title.set_text(" ")

    def reset(self, n_batches: int) -> None:
        """Empty the current curves (not the previous run's) and scale the x axes to
        ``n_batches`` batches."""
        self.n_batches = max(1, n_batches)
        for line in (self.raw, self.smooth, self.acc, self.probe):
            line.set_data([], [])
        self.ax_loss.set_xlim(0, self.n_batches)
        self.ax_loss.set_ylim(0, 2.5)
        self.ax_acc.set_xlim(0, self.n_batches * 1.02)
        self.ax_acc.set_ylim(0, 1.02)

    def keep_as_previous(self) -> None:
        """Turn the current smoothed loss and sampled accuracy into the grey 'previous run'."""
        self.prev_loss.set_data(*self.smooth.get_data())
        self.prev_acc.set_data(*self.probe.get_data())

    def caption(self, text: str) -> None:
        self.title.set_text(text)

    def update(self, recorder: LiveRecorder) -> None:
        losses = np.asarray(recorder.batch_losses, dtype=float)
        steps = np.arange(1, losses.size + 1)
        finite = losses[np.isfinite(losses)]
        self.raw.set_data(steps, losses)
        self.smooth.set_data(steps, recorder.smoothed_losses(20))
        if finite.size:
            self.ax_loss.set_ylim(0, max(2.5, min(float(finite.max()), 10.0)) * 1.05)
        self.probe.set_data(recorder.probe_batches, recorder.probe_accuracy)
        acc = recorder.val_accuracy
        self.acc.set_data(recorder.epoch_ends[:len(acc)], acc)

    def png(self) -> bytes:
        """The figure as PNG bytes, blitted: axes, ticks and legends are rendered once per set
        of axis limits and kept as pixels; each call redraws only the curves and the caption
        (a knob move or a training update then costs a fraction of a full render)."""
        from PIL import Image

        canvas = self.fig.canvas
        # the legends last, so a curve never covers them
        moving = [self.prev_loss, self.prev_acc, self.raw, self.smooth, self.probe, self.acc, self.title,
                  self.ax_loss.get_legend(), self.ax_acc.get_legend()]
        key = tuple(tuple(ax.viewLim.bounds) for ax in self.fig.axes)
        if key != getattr(self, "_background_key", None):
            for artist in moving:
                artist.set_animated(True)  # left out of canvas.draw(), so out of the background
            try:
                canvas.draw()
            finally:  # only for this draw: fig.savefig and display(fig) still show everything
                for artist in moving:
                    artist.set_animated(False)
            self._background = canvas.copy_from_bbox(self.fig.bbox)
            self._background_key = key
        else:
            canvas.restore_region(self._background)
        for artist in moving:
            self.fig.draw_artist(artist)
        buf = io.BytesIO()
        Image.fromarray(np.asarray(canvas.buffer_rgba()), "RGBA").save(buf, format="png", compress_level=1)
        return buf.getvalue()


# ---------------------------------------------------------------------------------------
# Data figures
# ---------------------------------------------------------------------------------------
def pixel_statistics(X) -> dict:
    """Mean, standard deviation, share of exactly-zero pixels and of pixels above 0.5.

    Shape: X ``(N, 1, H, W)`` (any shape works, the statistics are over all pixels).
    """
    X = check_array(X, "X", "pixel_statistics", min_ndim=2, finite=True)
    return {
        "mean": float(X.mean(dtype=np.float64)),
        "std": float(X.std(dtype=np.float64)),
        "zero_fraction": float((X == 0).mean()),
        "ink_fraction": float((X > 0.5).mean()),
    }


def plot_samples(X, y, per_class: int = 10, title: str = "Samples of every class"):
    """A grid: one row per digit class, ``per_class`` examples each (the first ones found)."""
    X = check_array(X, "X", "plot_samples", min_ndim=3)
    y = check_labels(y, "y", "plot_samples", n=X.shape[0])
    check_positive(per_class, "per_class", "plot_samples", integer=True)
    classes = np.unique(y)
    fig, axes = viz.figure(len(classes), per_class, figsize=(0.75 * per_class + 0.6, 0.75 * len(classes) + 0.6))
    axes = np.atleast_2d(axes)
    for r, k in enumerate(classes):
        idx = np.flatnonzero(y == k)[:per_class]
        for c in range(per_class):
            ax = axes[r, c]
            _image_axes(ax)
            if c < idx.size:
                ax.imshow(X[idx[c]].reshape(X.shape[-2:]), cmap="gray_r", vmin=0, vmax=1)
            if c == 0:
                ax.set_ylabel(str(int(k)), rotation=0, labelpad=12, fontsize=13, va="center")
    fig.suptitle(title)
    return fig


def plot_pixel_statistics(X, y):
    """Histogram of pixel values (log scale) and the mean image of each class."""
    X = check_array(X, "X", "plot_pixel_statistics", min_ndim=3)
    y = check_labels(y, "y", "plot_pixel_statistics", n=X.shape[0])
    fig = _bare_figure((12, 3.6))
    gs = fig.add_gridspec(2, 7)
    ax = fig.add_subplot(gs[:, :2])
    ax.hist(X.ravel(), bins=50, color=viz.BLUE, log=True)
    ax.set_xlabel("pixel value")
    ax.set_ylabel("count (log scale)")
    ax.set_title("Most pixels are 0 (paper)")
    for k in range(10):
        a = fig.add_subplot(gs[k // 5, 2 + k % 5])
        a.imshow(X[y == k].mean(axis=0).reshape(X.shape[-2:]), cmap="gray_r", vmin=0, vmax=1)
        a.set_title(f"mean '{k}'", fontsize=12)
        _image_axes(a)
    return fig


def _image_axes(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _freeze_layout(fig) -> None:
    """Keep the positions a constrained layout found and drop the engine, so a slider's
    redraw renders once instead of laying out and rendering (call after LiveFigure, which
    would otherwise re-lay a figure without an engine by tight_layout)."""
    fig.draw_without_rendering()
    fig.set_layout_engine(None)


def _bare_figure(figsize, layout="constrained"):
    import matplotlib.pyplot as plt

    viz.use_style()
    fig = plt.figure(figsize=figsize, layout=layout)
    plt.close(fig)
    return fig


def plot_connection_table(ax, table, title: str = "C3 connection table (LeCun et al. 1998, Table I)"):
    """Draw a boolean (out, in) connection table the way the paper prints it: inputs as rows.

    Shape: table ``(C_out, C_in)``, e.g. ``(16, 6)`` for C3.
    """
    table = np.asarray(table)
    if table.ndim != 2 or table.dtype != bool:
        raise ValueError(
            f"plot_connection_table: argument 'table' expected a 2-D boolean array, got "
            f"shape {table.shape} and dtype {table.dtype}"
        )
    t = table.T  # rows: S2 (input) maps, columns: C3 (output) maps
    from matplotlib.colors import ListedColormap

    ax.imshow(t, cmap=ListedColormap(["white", viz.BLUE]), vmin=0, vmax=1, aspect="equal")
    for i, j in zip(*np.nonzero(t)):
        ax.text(j, i, "X", ha="center", va="center", color="white", fontsize=12, fontweight="bold")
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
    return ax


def compare_layer_tables(rows_a, rows_b, names=("modern", "classic")) -> str:
    """Two ``nnlib.lenet.layer_table`` results as one table: the layer of each, the shared
    output shape, the trainable parameters of each, and the totals.

    Raises ValueError when the two networks do not have the same number of layers and the
    same output shapes (then a side-by-side table would mislead).
    """
    if len(rows_a) != len(rows_b) or any(a["output_shape"] != b["output_shape"] for a, b in zip(rows_a, rows_b)):
        raise ValueError("compare_layer_tables: the two networks must have the same layers' output shapes")
    head = ("#", f"{names[0]} layer", "output shape", "params", f"{names[1]} layer", "params")
    body = [(str(a["index"]), a["layer"], str(a["output_shape"]), f"{a['params']:,}", b["layer"], f"{b['params']:,}")
            for a, b in zip(rows_a, rows_b)]
    total = ("", "total", "", f"{sum(a['params'] for a in rows_a):,}", "", f"{sum(b['params'] for b in rows_b):,}")
    lines = [head, *body, total]
    w = [max(len(line[i]) for line in lines) for i in range(6)]
    right = {0, 3, 5}
    fmt = lambda line: "  ".join(c.rjust(w[i]) if i in right else c.ljust(w[i]) for i, c in enumerate(line)).rstrip()
    rule = "-" * len(fmt(tuple("-" * x for x in w)))
    return "\n".join([fmt(head), rule, *map(fmt, body), rule, fmt(total)])


def side_by_side(left: str, right: str, titles=("", ""), gap: int = 4) -> str:
    """Two blocks of text (e.g. two layer tables) printed next to each other."""
    a, b = left.splitlines(), right.splitlines()
    if any(titles):
        a, b = [titles[0], ""] + a, [titles[1], ""] + b
    width = max((len(s) for s in a), default=0) + gap
    n = max(len(a), len(b))
    a += [""] * (n - len(a))
    b += [""] * (n - len(b))
    return "\n".join((s.ljust(width) + t).rstrip() for s, t in zip(a, b))


# ---------------------------------------------------------------------------------------
# Inside the network
# ---------------------------------------------------------------------------------------
def softmax(logits) -> np.ndarray:
    """Row-wise softmax, stable for large logits. Shape: ``(N, K) -> (N, K)``."""
    z = check_array(logits, "logits", "softmax", ndim=2)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def layer_outputs(model, x) -> list[tuple[str, np.ndarray]]:
    """Run ``x`` through a Sequential in eval mode and keep every layer's output.

    Returns a list of ``(label, output)``, label like ``"3 MaxPool2d"``.

    Shape: x ``(N, 1, 28, 28)`` (whatever the model takes); outputs as each layer gives them.
    """
    from ..module import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"layer_outputs: argument 'model' must be a Sequential, got {type(model).__name__}")
    x = check_array(x, "x", "layer_outputs", min_ndim=2, finite=True)
    was_training = model.training
    model.eval()
    out = []
    try:
        for i, layer in enumerate(model.layers):
            x = layer(x)
            out.append((f"{i} {type(layer).__name__}", x))
    finally:
        model.train(was_training)
    return out


def mosaic(maps, ncols: int, pad: int = 1) -> np.ndarray:
    """Tile ``(C, H, W)`` maps into one 2-D image, each scaled to [-1, 1] by its largest |value|.

    Gaps between tiles are NaN so imshow leaves them blank. One image instead of C axes keeps
    a slider's redraw fast.
    """
    maps = check_array(maps, "maps", "mosaic", ndim=3)
    check_positive(ncols, "ncols", "mosaic", integer=True)
    C, H, W = maps.shape
    nrows = math.ceil(C / ncols)
    out = np.full((nrows * (H + pad) - pad, ncols * (W + pad) - pad), np.nan)
    for c in range(C):
        r, k = divmod(c, ncols)
        m = maps[c]
        scale = np.abs(m).max()
        out[r * (H + pad): r * (H + pad) + H, k * (W + pad): k * (W + pad) + W] = m / scale if scale > 0 else m
    return out


def confusion_matrix(y_true, y_pred, n_classes: int = 10) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class i predicted as j. Shape: ``(K, K)`` ints."""
    check_positive(n_classes, "n_classes", "confusion_matrix", integer=True)
    y_true = check_labels(y_true, "y_true", "confusion_matrix", n_classes=n_classes)
    y_pred = check_labels(y_pred, "y_pred", "confusion_matrix", n=y_true.shape[0], n_classes=n_classes)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def plot_confusion(ax, cm, title: str = "Confusion matrix (test set)"):
    """Counts on a log-ish colour scale with every non-zero count written in its cell."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"plot_confusion: argument 'cm' expected a square matrix, got shape {cm.shape}")
    ax.imshow(np.log1p(cm), cmap="Blues")
    thresh = np.log1p(cm).max() / 2
    for i, j in zip(*np.nonzero(cm)):
        ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=11,
                color="white" if np.log1p(cm[i, j]) > thresh else "black")
    ax.set_xticks(range(cm.shape[1]))
    ax.set_yticks(range(cm.shape[0]))
    ax.grid(False)
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title)
    return ax


def most_confident_mistakes(probs, y_true, k: int = 8) -> np.ndarray:
    """Indices of the ``k`` wrong predictions with the highest predicted probability, most confident first.

    Shape: probs ``(N, K)``, y_true ``(N,)``; returns up to ``k`` indices.
    """
    probs = check_array(probs, "probs", "most_confident_mistakes", ndim=2, finite=True)
    y_true = check_labels(y_true, "y_true", "most_confident_mistakes", n=probs.shape[0],
                          n_classes=probs.shape[1])
    check_positive(k, "k", "most_confident_mistakes", integer=True)
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    conf = probs[wrong, pred[wrong]]
    # stable sort on (-confidence, index) so ties keep a reproducible order
    order = np.lexsort((wrong, -conf))
    return wrong[order][:k]


def plot_digits(X, titles, ncols: int = 8, suptitle: str = ""):
    """A row (or rows) of digits with a title over each."""
    X = check_array(X, "X", "plot_digits", min_ndim=3)
    n = X.shape[0]
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = viz.figure(nrows, ncols, figsize=(1.75 * ncols, 2.1 * nrows + 0.4), layout="constrained")
    for i, ax in enumerate(np.ravel(axes)):
        _image_axes(ax)
        if i < n:
            ax.imshow(X[i].reshape(X.shape[-2:]), cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(titles[i], fontsize=12)
        else:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def response_similarity(maps_a, maps_b) -> np.ndarray:
    """|Pearson correlation| between every map of ``maps_a`` and every map of ``maps_b``.

    Answers "which hand-made filter does learned filter k act like on this digit?" without
    caring about sign or scale. Shape: ``(A, H, W)``, ``(B, H, W)`` -> ``(A, B)``.
    """
    a = check_array(maps_a, "maps_a", "response_similarity", ndim=3, finite=True)
    b = check_array(maps_b, "maps_b", "response_similarity", ndim=3, finite=True)
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"response_similarity: argument 'maps_b' expected maps of size {a.shape[1:]} like maps_a, "
            f"got {b.shape[1:]}"
        )
    za = a.reshape(a.shape[0], -1) - a.reshape(a.shape[0], -1).mean(axis=1, keepdims=True)
    zb = b.reshape(b.shape[0], -1) - b.reshape(b.shape[0], -1).mean(axis=1, keepdims=True)
    na, nb = np.linalg.norm(za, axis=1), np.linalg.norm(zb, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.abs(za @ zb.T) / np.outer(na, nb)
    return np.nan_to_num(r)  # a constant map correlates with nothing


def plot_filter_comparison(hand_kernels, hand_maps, learned_kernels, learned_maps, names):
    """Four rows: hand-made kernels, their responses, learned kernels, their responses.

    Shape: kernels ``(K, kh, kw)``, maps ``(K, H, W)``; ``names`` labels the hand-made ones.
    """
    k = max(len(hand_kernels), len(learned_kernels))
    fig, axes = viz.figure(4, k, figsize=(2.0 * k, 9.0), layout="constrained")
    rows = [(hand_kernels, names, viz.CMAP_DIVERGING, True), (hand_maps, None, "gray", False),
            (learned_kernels, [f"learned {i}" for i in range(len(learned_kernels))], viz.CMAP_DIVERGING, True),
            (learned_maps, None, "gray", False)]
    for r, (arrs, titles, cmap, centred) in enumerate(rows):
        for c in range(k):
            ax = axes[r, c]
            _image_axes(ax)
            if c >= len(arrs):
                ax.axis("off")
                continue
            a = np.asarray(arrs[c])
            lim = np.abs(a).max() or 1.0
            ax.imshow(a, cmap=cmap, vmin=-lim if centred else None, vmax=lim if centred else None)
            if titles is not None:
                ax.set_title(titles[c], fontsize=12)
    axes[0, 0].set_ylabel("hand-made\nkernel")
    axes[1, 0].set_ylabel("response")
    axes[2, 0].set_ylabel("learned\nkernel (C1)")
    axes[3, 0].set_ylabel("response")
    return fig


# ---------------------------------------------------------------------------------------
# Robustness: perturbations, accuracy curves, adversarial examples
# ---------------------------------------------------------------------------------------
def add_noise(X, sigma: float, seed: int = 0) -> np.ndarray:
    """Add N(0, sigma²) pixel noise and clip to [0, 1]; keeps X's dtype. Shape: unchanged."""
    X = check_array(X, "X", "add_noise", min_ndim=2, finite=True)
    check_positive(sigma, "sigma", "add_noise", allow_zero=True)
    noise = np.random.default_rng(seed).standard_normal(X.shape) * sigma
    return np.clip(X + noise, 0.0, 1.0).astype(X.dtype, copy=False)


def shift_images(X, dx: int, dy: int = 0) -> np.ndarray:
    """Move every image ``dx`` pixels right and ``dy`` pixels down, filling with 0 (paper).

    Shape: ``(N, C, H, W)`` -> same.
    """
    X = check_array(X, "X", "shift_images", ndim=4)
    for v, name in ((dx, "dx"), (dy, "dy")):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"shift_images: argument '{name}' must be an integer number of pixels, got {v!r}")
    H, W = X.shape[-2:]
    out = np.zeros_like(X)
    if abs(dx) >= W or abs(dy) >= H:
        return out
    src_y, dst_y = (slice(0, H - dy), slice(dy, H)) if dy >= 0 else (slice(-dy, H), slice(0, H + dy))
    src_x, dst_x = (slice(0, W - dx), slice(dx, W)) if dx >= 0 else (slice(-dx, W), slice(0, W + dx))
    out[..., dst_y, dst_x] = X[..., src_y, src_x]
    return out


def rotate_images(X, degrees: float) -> np.ndarray:
    """Rotate every image counter-clockwise about its centre with bilinear sampling, 0 outside.

    Each output pixel looks up where it came from (the inverse rotation) and blends the
    four input pixels around that point; +90 degrees equals ``np.rot90``.

    Shape: ``(N, C, H, W)`` -> same.
    """
    X = check_array(X, "X", "rotate_images", ndim=4)
    if isinstance(degrees, bool) or not isinstance(degrees, (int, float, np.integer, np.floating)) \
            or not math.isfinite(degrees):
        raise ValueError(f"rotate_images: argument 'degrees' must be a finite number, got {degrees!r}")
    H, W = X.shape[-2:]
    cy, cx = (H - 1) / 2, (W - 1) / 2
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    t = math.radians(degrees)
    c, s = math.cos(t), math.sin(t)
    xs = cx + c * (xx - cx) - s * (yy - cy)
    ys = cy + s * (xx - cx) + c * (yy - cy)
    # snap round-off (e.g. cos 90° = 6e-17) so exact rotations hit pixel centres exactly
    xs, ys = np.round(xs, 9), np.round(ys, 9)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    wx, wy = xs - x0, ys - y0
    out = np.zeros(X.shape, dtype=np.float64)
    for oy, ox, w in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx),
                      (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
        yi, xi = y0 + oy, x0 + ox
        inside = (yi >= 0) & (yi < H) & (xi >= 0) & (xi < W) & (w > 0)
        out[..., inside] += X[..., yi[inside], xi[inside]] * w[inside]
    return out.astype(X.dtype, copy=False)


PERTURBATIONS = {
    "noise": ("pixel noise σ", lambda X, v, seed: add_noise(X, float(v), seed)),
    "shift": ("shift to the right (pixels)", lambda X, v, seed: shift_images(X, int(v), 0)),
    "rotation": ("rotation (degrees)", lambda X, v, seed: rotate_images(X, float(v))),
}
DEFAULT_LEVELS = {
    "noise": np.round(np.linspace(0.0, 1.0, 11), 2),
    "shift": np.arange(-6, 7),
    "rotation": np.arange(-60, 61, 10),
}


def perturb(X, kind: str, level, seed: int = 0) -> np.ndarray:
    """Apply the named perturbation ("noise", "shift" or "rotation") at ``level``."""
    if kind not in PERTURBATIONS:
        raise ValueError(f"perturb: argument 'kind' must be one of {tuple(PERTURBATIONS)}, got {kind!r}")
    return PERTURBATIONS[kind][1](X, level, seed)


def predict_labels(model, X, batch_size: int = 500) -> np.ndarray:
    """Arg-max class of each image, in eval mode, in batches. Shape: ``(N, ...) -> (N,)``."""
    return predict_probs(model, X, batch_size).argmax(axis=1)


def predict_probs(model, X, batch_size: int = 500) -> np.ndarray:
    """Softmax probabilities, in eval mode, in batches. Shape: ``(N, ...) -> (N, K)``."""
    X = check_array(X, "X", "predict_probs", min_ndim=2, finite=True)
    check_positive(batch_size, "batch_size", "predict_probs", integer=True)
    was_training = model.training
    model.eval()
    try:
        return np.concatenate([softmax(model(X[i:i + batch_size])) for i in range(0, X.shape[0], batch_size)])
    finally:
        model.train(was_training)


def robustness_curves(model, X, y, levels=None, seed: int = 0) -> dict:
    """Test accuracy at each perturbation level, computed once so sliders only look it up.

    Returns ``{kind: (levels, accuracies)}`` for ``kind`` in noise, shift, rotation.

    Shape: X ``(N, 1, H, W)``, y ``(N,)``.
    """
    X = check_array(X, "X", "robustness_curves", ndim=4, finite=True)
    y = check_labels(y, "y", "robustness_curves", n=X.shape[0])
    levels = {**DEFAULT_LEVELS, **(levels or {})}
    curves = {}
    for kind in PERTURBATIONS:
        lv = np.asarray(levels[kind])
        acc = np.array([float((predict_labels(model, perturb(X, kind, v, seed)) == y).mean()) for v in lv])
        curves[kind] = (lv, acc)
    return curves


def input_gradient(model, x, y) -> np.ndarray:
    """d(cross-entropy)/d(input) through nnlib's own backward pass, in eval mode.

    The loss is a batch mean, so each image's gradient is 1/N of its own; FGSM only uses
    the sign. Parameter gradients that backward accumulates are cleared again.

    Shape: x ``(N, 1, 28, 28)``, y ``(N,)`` -> ``(N, 1, 28, 28)``.
    """
    from ..losses import CrossEntropyLoss

    x = check_array(x, "x", "input_gradient", min_ndim=2, finite=True)
    y = check_labels(y, "y", "input_gradient", n=x.shape[0])
    was_training = model.training
    model.eval()
    try:
        loss = CrossEntropyLoss()
        loss(model(x), y)
        grad = model.backward(loss.backward())
    finally:
        model.zero_grad()
        model.train(was_training)
    return grad


def fgsm(model, x, y, eps: float) -> np.ndarray:
    """Fast gradient-sign example: ``clip(x + eps * sign(dL/dx), 0, 1)`` (Goodfellow et al. 2015).

    Every pixel moves by at most ``eps`` in the direction that raises the loss most.

    Shape: x ``(N, 1, 28, 28)`` -> same.
    """
    check_positive(eps, "eps", "fgsm", allow_zero=True)
    x = check_array(x, "x", "fgsm", min_ndim=2, finite=True)
    g = input_gradient(model, x, y)
    return np.clip(x + eps * np.sign(g), 0.0, 1.0).astype(x.dtype, copy=False)


def smallest_flipping_eps(model, x, y, eps_grid=None):
    """The first eps on the grid whose FGSM image is no longer classified as ``y``, or None.

    Shape: x ``(1, 1, 28, 28)`` (one image), y ``(1,)``.
    """
    x = check_array(x, "x", "smallest_flipping_eps", min_ndim=2, finite=True)
    y = check_labels(y, "y", "smallest_flipping_eps", n=x.shape[0])
    if x.shape[0] != 1:
        raise ValueError(f"smallest_flipping_eps: argument 'x' expected one image (1, ...), got {x.shape}")
    grid = np.round(np.arange(0.0, 0.51, 0.01), 2) if eps_grid is None else np.asarray(eps_grid, dtype=float)
    sign = np.sign(input_gradient(model, x, y))
    for eps in grid:
        adv = np.clip(x + eps * sign, 0.0, 1.0).astype(x.dtype, copy=False)
        if predict_labels(model, adv)[0] != y[0]:
            return float(eps)
    return None


def plot_adversarial(model, x, y, eps: float, fig=None):
    """Original, perturbation sign, adversarial image and both probability bars."""
    x = check_array(x, "x", "plot_adversarial", ndim=4)
    y = check_labels(y, "y", "plot_adversarial", n=x.shape[0])
    adv = fgsm(model, x, y, eps)
    p0, p1 = predict_probs(model, x)[0], predict_probs(model, adv)[0]
    if fig is None:
        fig, axes = viz.figure(1, 4, figsize=(13, 3.6), gridspec_kw={"width_ratios": [1, 1, 1, 1.6]},
                               layout="constrained")
    else:
        axes = fig.axes
        for ax in axes:
            ax.clear()
    shown = [(x[0, 0], f"original: {p0.argmax()} ({p0.max():.0%})", "gray_r", (0, 1)),
             ((adv - x)[0, 0], f"change (±{eps:.2f} per pixel)", viz.CMAP_DIVERGING, (-max(eps, 1e-9), max(eps, 1e-9))),
             (adv[0, 0], f"adversarial: {p1.argmax()} ({p1.max():.0%})", "gray_r", (0, 1))]
    for ax, (img, title, cmap, (lo, hi)) in zip(axes[:3], shown):
        ax.imshow(img, cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(title, fontsize=13)
        _image_axes(ax)
    k = np.arange(p0.size)
    axes[3].bar(k - 0.2, p0, width=0.4, color=viz.BLUE, label="original")
    axes[3].bar(k + 0.2, p1, width=0.4, color=viz.VERMILLION, label="adversarial")
    axes[3].set_xticks(k)
    axes[3].set_ylim(0, 1)
    axes[3].set_xlabel("digit")
    axes[3].set_ylabel("probability")
    axes[3].set_title("What the network believes")
    axes[3].legend(loc="upper right", fontsize=11)
    return fig


# ---------------------------------------------------------------------------------------
# Exercise checkers: right or wrong, with a hint, never the answer
# ---------------------------------------------------------------------------------------
def _verdict(ok: bool, right: str, hint: str) -> bool:
    print(("Right. " + right) if ok else ("Not yet. Hint: " + hint))
    return ok


def _read_number(answer, what: str):
    """The answer as a float, or None after saying what is wrong with it (never raises)."""
    if answer is None:
        print(f"Not yet. Replace None with your answer ({what}).")
        return None
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real) or not math.isfinite(answer):
        print(f"Not yet. The answer is {what}, got {answer!r}.")
        return None
    return float(answer)


def check_c3_multiply_adds(answer) -> bool:
    """Exercise: multiply-adds C3 does for one image, with the 1998 connection table."""
    from ..conv import conv_output_size
    from ..lenet import C3_CONNECTIONS

    a = _read_number(answer, "an integer")
    if a is None:
        return False
    table = np.asarray(C3_CONNECTIONS, dtype=bool)
    side = conv_output_size(14, 5)  # C3 reads S2's 14x14 maps with 5x5 kernels
    expected = side * side * int(table.sum()) * 25
    hint = ("every output position of every C3 map computes one 5×5 dot product per S2 map it is "
            "connected to: (positions per map) × (number of X's in the table) × 25.")
    if a == expected + side * side * table.shape[0]:
        hint = "close: the bias is an addition, not a multiply-add; leave it out."
    elif a == side * side * table.size * 25:
        hint = "that is C3 without its table (every S2 map feeding every C3 map); count only the X's."
    return _verdict(a == expected, "The table saves work as well as parameters.", hint)


def check_flatten_size(answer) -> bool:
    """Exercise: the flattened size in the notes' PyTorch net (3×3 kernels) for a 28×28 input."""
    from ..conv import conv_output_size

    a = _read_number(answer, "an integer")
    if a is None:
        return False
    n = 28
    for _ in range(2):  # conv 3x3 (no padding) then 2x2 max-pool, twice
        n = conv_output_size(n, 3) // 2
    expected = 16 * n * n
    hint = ("a 3×3 convolution without padding shrinks a side by 2, a 2×2 pool halves it "
            "(rounding down); do that twice from 28, then multiply by the 16 channels.")
    if a == 16 * 6 * 6:
        hint = "16*6*6 is the snippet's value for 32×32 inputs. Redo the sizes from 28: " + hint
    return _verdict(a == expected, "By coincidence it equals the modern LeNet's 400 (5×5 kernels, "
                                   "padding 2), which reaches 5×5 by a different path.", hint)


def check_flip_eps(answer, model, x, y, eps_grid=None) -> bool:
    """Exercise: the smallest eps on the 0.01 grid whose FGSM image changes the prediction."""
    a = _read_number(answer, "an eps such as 0.05")
    if a is None:
        return False
    expected = smallest_flipping_eps(model, x, y, eps_grid)
    if expected is None:
        return _verdict(False, "", "this digit resists every eps up to 0.5; pick another test digit.")
    hint = ("build fgsm(model, x, y, eps) for eps = 0, 0.01, 0.02, ... and stop at the first one whose "
            "predicted label differs from y.")
    if a > expected + 1e-9:
        hint += " Yours flips it, but a smaller eps already does."
    elif a < expected - 1e-9:
        hint += " At yours the network still answers correctly."
    return _verdict(abs(a - expected) < 1e-9, "A change this small is hard to see, yet it flips the answer.",
                    hint)


def check_training_run(job, target: float = 0.95) -> bool:
    """Exercise: a dashboard run of at most 3 epochs that reaches ``target`` validation accuracy."""
    if not isinstance(job, TrainingJob):
        print("Not yet. Train with the dashboard first, then pass its run: dashboard.job.")
        return False
    if job.running:
        print("Not yet. The run is still training; check again when it has finished.")
        return False
    if job.config.epochs > 3:
        return _verdict(False, "", "the exercise allows at most 3 epochs; tune the learning rate and the "
                                   "optimizer instead of training longer.")
    ok = job.final_val_accuracy >= target
    return _verdict(ok, f"Validation accuracy {job.final_val_accuracy:.4g} >= {target}.",
                    "compare the optimizers at a few learning rates a factor 3 apart; watch whether the "
                    "loss curve is still falling steeply when the run ends, or jumping about.")


# ---------------------------------------------------------------------------------------
# Widgets (thin wiring over the logic above)
# ---------------------------------------------------------------------------------------
class TrainingDashboard:
    """Knobs, Train/Stop buttons, a progress bar and a live loss/accuracy plot.

    Training runs in a background thread (``TrainingJob.start``), so the kernel's main
    thread stays idle and handles the Stop click; the thread only sets widget values (an
    ``Image``'s PNG bytes, a progress bar, an HTML label), which ipykernel sends safely
    from any thread. ``every`` batches between two redraws keeps rendering at a few percent
    of the training time. Between runs, turning a knob redraws the plot at once: the last
    run turns grey for comparison and the title announces the next run.

    Parameters
    ----------
    data : tuple (X_train, y_train, X_val, y_val)
    model_fn : callable(variant) -> Sequential, optional (default: nnlib.lenet.lenet5)
    config : TrainConfig, optional — the starting values of the knobs
    every : int — batches between two plot updates
    """

    def __init__(self, data, model_fn=None, config: TrainConfig | None = None, every: int = 10):
        import ipywidgets as w

        self.data, self.model_fn, self.every = data, model_fn, every
        self.job: TrainingJob | None = None
        c = config or TrainConfig()
        style = {"description_width": "110px"}
        lay = w.Layout(width="330px")
        self.preset = w.Dropdown(options=["(custom)"] + list(PRESETS), value="(custom)", description="preset",
                                 style=style, layout=lay)
        self.variant = w.ToggleButtons(options=list(VARIANTS), value=c.variant, description="variant", style=style)
        self.optimizer = w.Dropdown(options=list(OPTIMIZERS), value=c.optimizer, description="optimizer",
                                    style=style, layout=lay)
        self.lr = w.FloatLogSlider(value=c.lr, base=10, min=-4, max=0, step=0.1, description="learning rate",
                                   readout_format=".1e", style=style, layout=lay)
        self.batch_size = w.Dropdown(options=sorted({*BATCH_SIZES, c.batch_size}), value=c.batch_size,
                                     description="batch size", style=style, layout=lay)
        self.epochs = w.IntSlider(value=c.epochs, min=1, max=20, description="epochs", style=style, layout=lay)
        self.dropout = w.FloatSlider(value=c.dropout, min=0.0, max=0.8, step=0.05, description="dropout p",
                                     style=style, layout=lay)
        self.seed = w.IntText(value=c.seed, description="seed", style=style, layout=w.Layout(width="200px"))
        self.train_button = w.Button(description="Train", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="batches", style=style,
                                      layout=w.Layout(width="450px"))
        self.status = w.HTML(viz.message("Choose the knobs, then press Train."))
        self.plot = TrainingPlot()
        self.image = w.Image(format="png", layout=w.Layout(width="800px"))
        self._applying_preset = False
        self._kept_previous = True  # nothing to keep yet
        self._on_knob()
        self.preset.observe(self._on_preset, names="value")
        for knob in (self.variant, self.optimizer, self.lr, self.batch_size, self.epochs, self.dropout, self.seed):
            knob.observe(self._on_knob, names="value")
        self.train_button.on_click(self._on_train)
        self.stop_button.on_click(self._on_stop)
        knobs = w.HBox([w.VBox([self.preset, self.optimizer, self.lr, self.batch_size]),
                        w.VBox([self.variant, self.epochs, self.dropout, self.seed])])
        self.widget = w.VBox([knobs, w.HBox([self.train_button, self.stop_button, self.progress]), self.status,
                              self.image])

    def config(self) -> TrainConfig:
        return TrainConfig(variant=self.variant.value, optimizer=self.optimizer.value, lr=float(self.lr.value),
                           batch_size=int(self.batch_size.value), epochs=int(self.epochs.value),
                           dropout=float(self.dropout.value), seed=int(self.seed.value))

    def _on_preset(self, change) -> None:
        values = PRESETS.get(change["new"])
        if values is None:
            return
        self._applying_preset = True  # one redraw for the whole preset, not one per knob
        try:
            for name, value in values.items():
                getattr(self, name).value = value
            self.seed.value = 0
        finally:
            self._applying_preset = False
        self._on_knob()

    def _on_knob(self, change=None) -> None:
        """A knob moved: announce the next run on the plot (never while a run is drawing)."""
        if self._applying_preset:
            return
        if change is not None and self.preset.value != "(custom)":
            self._applying_preset = True
            self.preset.value = "(custom)"  # the knobs no longer match the named preset
            self._applying_preset = False
        if self.job is not None and self.job.running:
            return
        try:
            cfg = self.config()
        except ValueError as err:
            self.status.value = viz.message(str(err), "warn")
            return
        n_batches = cfg.epochs * math.ceil(len(self.data[0]) / cfg.batch_size)
        if not self._kept_previous:
            self.plot.keep_as_previous()
            self._kept_previous = True
        self.plot.reset(n_batches)
        self.plot.caption(f"Next: {cfg.variant}, {cfg.optimizer}, lr {cfg.lr:.2g}, batch {cfg.batch_size}, "
                          f"dropout {cfg.dropout:.2g}: {n_batches} batches")
        self.image.value = self.plot.png()

    def _on_train(self, _=None) -> None:
        if self.job is not None and self.job.running:
            return
        try:
            cfg = self.config()
            self.job = TrainingJob(cfg, self.data, self.model_fn, every=self.every, on_update=self._on_update,
                                   on_done=self._on_done)
        except (ValueError, TypeError) as err:
            self.status.value = viz.message(str(err), "warn")
            return
        n_train = self.job.data[0].shape[0]
        if not self._kept_previous:
            self.plot.keep_as_previous()
        self._kept_previous = False
        self.plot.reset(self.job.n_batches)
        self.plot.caption(f"Training: {cfg.variant}, {cfg.optimizer}, lr {cfg.lr:.2g}, batch {cfg.batch_size}, "
                          f"dropout {cfg.dropout:.2g}")
        self.progress.max, self.progress.value = self.job.n_batches, 0
        self.train_button.disabled, self.stop_button.disabled = True, False
        self.status.value = viz.message(f"Training on {n_train} images ...")
        self.job.start()

    def _on_stop(self, _=None) -> None:
        if self.job is not None:
            self.job.stop()
            self.status.value = viz.message("Stopping after this batch ...")

    def _on_update(self, recorder: LiveRecorder) -> None:
        self.progress.value = min(len(recorder.batch_losses), self.progress.max)
        self.plot.update(recorder)
        self.image.value = self.plot.png()

    def _on_done(self, job: TrainingJob) -> None:
        c = job.config
        word = "Stopped" if job.recorder.stopped_early else "Finished"
        self.plot.caption(f"{word}: {c.variant}, {c.optimizer}, lr {c.lr:.2g}, batch {c.batch_size}, "
                          f"dropout {c.dropout:.2g} ({job.seconds:.0f} s)")
        self._on_update(job.recorder)
        self.train_button.disabled, self.stop_button.disabled = False, True
        level = "warn" if (job.error or job.recorder.diverged or getattr(job.history, "diverged", False)) else "ok"
        self.status.value = viz.message(job.summary() + f" ({job.seconds:.1f} s)", level)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


class FeatureMapExplorer:
    """A slider over test digits; shows the digit, its probabilities and every layer's maps.

    Each stage is one mosaic image, so a redraw updates six artists and renders one figure.
    """

    def __init__(self, model, X, y, index: int = 0):
        import ipywidgets as w

        self.model, self.X, self.y = model, X, y
        self.stages = self.compute(index)
        fig = _bare_figure((11.5, 4.9))
        half = max(1, math.ceil((len(self.stages) - 1) / 2))  # map stages fill two rows
        gs = fig.add_gridspec(2, half + 1, width_ratios=[1] + [2] * half)
        self.ax_in = fig.add_subplot(gs[0, 0])
        self.ax_p = fig.add_subplot(gs[1, 0])
        self.images = []
        for i, (label, img) in enumerate(self.stages[:-1]):
            ax = fig.add_subplot(gs[i // half, 1 + i % half])
            self.images.append(ax.imshow(img, cmap=viz.CMAP_DIVERGING, vmin=-1, vmax=1, interpolation="nearest"))
            ax.set_title(label, fontsize=12)
            ax.set_axis_off()  # no ticks or spines to draw: a faster redraw
        self.in_img = self.ax_in.imshow(X[index, 0], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        self.ax_in.set_axis_off()
        probs = self.stages[-1][1]
        self.bars = self.ax_p.bar(np.arange(len(probs)), probs, color=viz.BLUE)
        self.ax_p.grid(False)
        self.ax_p.set_ylim(0, 1)
        self.ax_p.set_xticks(range(len(probs)))
        self.ax_p.set_xlabel("digit")
        self.ax_p.set_ylabel("probability")
        self._title(index)
        # blit: axes, labels and stage titles are rendered once; a move redraws the images,
        # the bars and the digit's title
        self.live = viz.LiveFigure(fig, animated=[*self.images, self.in_img, *self.bars, self.ax_in.title])
        _freeze_layout(fig)
        self.slider = w.IntSlider(value=index, min=0, max=X.shape[0] - 1, description="test digit #",
                                  style={"description_width": "100px"}, layout=w.Layout(width="500px"))
        self.slider.observe(lambda ch: self.show(ch["new"]), names="value")
        self.widget = w.VBox([self.slider, self.live.output])

    def compute(self, index: int):
        """[(label, mosaic), ..., ("probabilities", probs)] for test digit ``index``."""
        return feature_map_stages(self.model, self.X[index:index + 1])

    def _title(self, index):
        probs = self.stages[-1][1]
        self.ax_in.set_title(f"#{index}: label {int(self.y[index])}, predicted {int(probs.argmax())}", fontsize=12)

    def show(self, index: int) -> None:
        self.stages = self.compute(index)
        for im, (_, img) in zip(self.images, self.stages[:-1]):
            im.set_data(img)
        self.in_img.set_data(self.X[index, 0])
        for bar, p in zip(self.bars, self.stages[-1][1]):
            bar.set_height(p)
        self._title(index)
        self.live.redraw(key=index)  # a digit seen before is swapped in without rendering

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def feature_map_stages(model, x) -> list[tuple[str, np.ndarray]]:
    """The maps worth looking at for one image, as mosaics: each convolution after its
    activation, each pooling; the output probabilities last. Labels use LeNet's names
    ("C1 after ReLU: 6@28x28", "S2: 6@14x14", ...).

    Shape: x ``(1, 1, 28, 28)``.
    """
    x = check_array(x, "x", "feature_map_stages", ndim=4)
    if x.shape[0] != 1:
        raise ValueError(f"feature_map_stages: argument 'x' expected one image (1, C, H, W), got {x.shape}")
    outs = layer_outputs(model, x)
    stages, n = [], 0
    for i, (label, out) in enumerate(outs):
        if out.ndim != 4:
            continue
        kind = label.split()[1]
        # LeNet's names: C1, S2, C3, S4 count convolutions and subsamplings together
        if "Conv" in kind or "Pool" in kind:
            n += 1
        nxt = outs[i + 1][1] if i + 1 < len(outs) else None
        # a convolution is shown after its activation, which is what the next layer reads
        if "Conv" in kind and nxt is not None and nxt.ndim == 4:
            continue
        C, H, W = out.shape[1:]
        name = f"S{n}" if "Pool" in kind else f"C{n} after {kind}"
        stages.append((f"{name}: {C}@{H}x{W}", mosaic(out[0], ncols=min(C, 4 if C <= 8 else 8))))
    probs = softmax(outs[-1][1])[0]
    stages.append(("probabilities", probs))
    return stages


def plot_robustness_curves(curves: dict):
    """The three accuracy curves of :func:`robustness_curves` side by side (a static overview)."""
    fig, axes = viz.figure(1, len(curves), figsize=(4.3 * len(curves), 3.8), layout="constrained")
    for ax, (kind, (lv, acc)) in zip(np.atleast_1d(axes), curves.items()):
        ax.plot(lv, acc, "o-", color=viz.BLUE)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(PERTURBATIONS[kind][0])
        ax.set_ylabel("test accuracy")
        ax.set_title(f"Accuracy vs {kind}")
    return fig


class RobustnessExplorer:
    """Pick a perturbation and its strength: a marker moves along the precomputed accuracy
    curve, and one test digit, perturbed that much, shows what the network now answers.

    Two axes and artist updates only, so a redraw stays fast; switching the perturbation
    swaps the curve's data and the slider's range.
    """

    def __init__(self, model, curves: dict, digit, label: int, seed: int = 0, kind: str = "rotation"):
        import ipywidgets as w

        if kind not in curves:
            raise ValueError(f"RobustnessExplorer: argument 'kind' must be one of {tuple(curves)}, got {kind!r}")
        self.model, self.curves, self.digit, self.label, self.seed = model, curves, digit, label, seed
        fig, (self.ax, self.ax_img) = viz.figure(1, 2, figsize=(10, 3.9), gridspec_kw={"width_ratios": [1.7, 1]},
                                                 layout="constrained")
        (self.curve,) = self.ax.plot([], [], "o-", color=viz.BLUE)
        (self.marker,) = self.ax.plot([], [], "o", ms=16, mfc="none", mec=viz.VERMILLION, mew=3)
        self.ax.set_ylim(0, 1.02)
        self.ax.set_ylabel("test accuracy")
        self.image = self.ax_img.imshow(digit[0, 0], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        _image_axes(self.ax_img)
        for spine in self.ax_img.spines.values():  # the frame shows where a shifted digit moved
            spine.set_visible(True)
        self.kind = w.Dropdown(options=list(curves), value=kind, description="perturbation",
                               style={"description_width": "90px"})
        self.level = w.FloatSlider(description="strength", style={"description_width": "90px"},
                                   layout=w.Layout(width="450px"), continuous_update=True)
        self.ax.set_xlabel(max((PERTURBATIONS[k][0] for k in curves), key=len))  # room for the longest label
        self.ax.set_title("Test accuracy vs rotation")
        self.ax_img.set_title("rotation -60: says 0 (100%, wrong)", fontsize=13)
        # blit: the curve, axes and labels are rendered once per perturbation; a strength move
        # redraws the ring, the digit (under its frame) and its title
        self.live = viz.LiveFigure(fig, animated=[self.marker, self.image, *self.ax_img.spines.values(),
                                                  self.ax_img.title])
        _freeze_layout(fig)
        self._set_kind(kind, redraw=False)
        self.kind.observe(lambda ch: self._set_kind(ch["new"]), names="value")
        self.level.observe(lambda ch: self.show(self.kind.value, ch["new"]), names="value")
        self.show(kind, self.level.value, full=True)
        self.widget = w.VBox([w.HBox([self.kind, self.level]), self.live.output])

    def _set_kind(self, kind: str, redraw: bool = True) -> None:
        lv, acc = self.curves[kind]
        lv = np.asarray(lv, dtype=float)
        self.curve.set_data(lv, acc)
        pad = 0.05 * (lv.max() - lv.min() or 1.0)
        self.ax.set_xlim(lv.min() - pad, lv.max() + pad)
        self.ax.set_xlabel(PERTURBATIONS[kind][0])
        self.ax.set_title(f"Test accuracy vs {kind}")
        step = float(np.min(np.diff(lv))) if lv.size > 1 else 1.0
        with self.level.hold_trait_notifications():
            # widen first so the new value is never outside the old range
            self.level.min, self.level.max = min(self.level.min, lv.min()), max(self.level.max, lv.max())
            self.level.step = step
            self.level.value = float(lv[int(np.argmin(np.abs(lv)))])
            self.level.min, self.level.max = float(lv.min()), float(lv.max())
        if redraw:
            self.show(kind, self.level.value, full=True)  # the curve and its labels changed

    def state(self, kind: str, value: float) -> dict:
        """What the view shows for ``value``: the nearest precomputed level, its accuracy, the
        perturbed digit and the network's prediction for it."""
        lv, acc = self.curves[kind]
        i = int(np.argmin(np.abs(np.asarray(lv, dtype=float) - value)))
        img = perturb(self.digit, kind, lv[i], self.seed)
        p = predict_probs(self.model, img)[0]
        return {"level": lv[i], "accuracy": float(acc[i]), "image": img, "pred": int(p.argmax()),
                "confidence": float(p.max())}

    def show(self, kind: str, value: float, redraw: bool = True, full: bool = False) -> None:
        s = self.state(kind, value)
        self.marker.set_data([s["level"]], [s["accuracy"]])
        self.image.set_data(s["image"][0, 0])
        verdict = "right" if s["pred"] == self.label else "wrong"
        self.ax_img.set_title(f"{kind} {s['level']:g}: says {s['pred']} ({s['confidence']:.0%}, {verdict})",
                              fontsize=13)
        if redraw:
            self.live.redraw(full=full)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)
