"""fit / evaluate / predict: the mini-batch training loop every notebook uses.

One epoch = shuffle, then for each mini-batch: zero_grad, forward, loss, backward, step.
Everything a student might want to watch (per-epoch curves, a live plot every few batches,
stopping early or by a button) goes through the history and the callbacks.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._validation import check_array, check_finite, check_labels, check_positive
from .layers import Dropout, Sigmoid
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeLoss, Loss
from .module import Module
from .optim import Optimizer, clip_grad_norm_


class History(dict):
    """Per-epoch curves, indexable like a dict of lists: ``history["loss"]``.

    Attributes
    ----------
    epochs : int, epochs completed
    best_epoch : int or None, the epoch early stopping picked (1-based)
    stopped_early : bool
    diverged : bool, True when a NaN/inf loss stopped training
    """

    def __init__(self):
        super().__init__()
        self.epochs = 0
        self.best_epoch = None
        self.stopped_early = False
        self.diverged = False

    def append(self, **values) -> None:
        for k, v in values.items():
            self.setdefault(k, []).append(float(v))

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.items() if v)
        return f"History(epochs={self.epochs}, {last})"


@dataclass
class TrainState:
    """What callbacks see. Setting ``stop = True`` ends training after the current batch."""

    model: Module
    optimizer: Optimizer
    history: History
    epochs: int
    n_batches: int
    epoch: int = 0  # 1-based once training starts
    batch: int = 0  # 1-based within the epoch
    batch_loss: float = float("nan")
    stop: bool = False
    extra: dict = field(default_factory=dict)


class Callback:
    """Override any of these; each receives the TrainState."""

    def on_train_begin(self, state: TrainState) -> None: ...
    def on_batch_end(self, state: TrainState) -> None: ...
    def on_epoch_end(self, state: TrainState) -> None: ...
    def on_train_end(self, state: TrainState) -> None: ...


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs;
    with ``restore_best`` the model gets back the weights of its best epoch.
    Monitors 'val_loss' when a validation set is given, else 'loss'."""

    def __init__(self, patience: int = 5, min_delta: float = 0.0, monitor: str | None = None,
                 restore_best: bool = True):
        check_positive(patience, "patience", "EarlyStopping", integer=True)
        check_positive(min_delta, "min_delta", "EarlyStopping", allow_zero=True)
        self.patience, self.min_delta = patience, min_delta
        self.monitor, self.restore_best = monitor, restore_best

    def on_train_begin(self, state):
        self.best = math.inf
        self.best_epoch = None
        self.best_state = None
        self.wait = 0
        if self.monitor is None:
            self.monitor = "val_loss" if state.extra.get("has_validation") else "loss"

    def on_epoch_end(self, state):
        value = state.history[self.monitor][-1]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best:
                self.best_state = state.model.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                state.stop = True
                state.history.stopped_early = True
        state.history.best_epoch = self.best_epoch

    def on_train_end(self, state):
        if self.restore_best and self.best_state is not None and state.history.stopped_early:
            state.model.load_state_dict(self.best_state)


def predict(model: Module, X, batch_size: int = 1024) -> np.ndarray:
    """Model outputs for X in eval mode (dropout off), computed in batches to bound memory."""
    X = check_array(X, "X", "predict", min_ndim=1)
    was_training = model.training
    model.eval()
    try:
        outs = [model(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
    finally:
        model.train(was_training)
    return np.concatenate(outs) if outs else np.empty((0,))


def scores_to_labels(out: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Class decisions: argmax of (N, K) scores; for one score per row, score > threshold."""
    out = np.asarray(out)
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)
    return (out.reshape(-1) > threshold).astype(np.int64)


def _threshold(model: Module) -> float:
    """A model ending in Sigmoid outputs probabilities (cut at 0.5); otherwise logits or scores (0)."""
    last = model
    while hasattr(last, "layers") and len(last.layers):
        last = last.layers[-1]
    return 0.5 if isinstance(last, Sigmoid) else 0.0


def _accuracy(out, y, threshold) -> float:
    y = np.asarray(y).reshape(-1)
    pred = scores_to_labels(out, threshold)
    if np.any(y < 0):  # labels in {-1, +1} (hinge loss)
        pred = 2 * pred - 1
    return float(np.mean(pred == y))


def evaluate(model: Module, X, y, batch_size: int = 1024) -> float:
    """Classification accuracy of ``model`` on (X, y), as a float in [0, 1]."""
    X = check_array(X, "X", "evaluate", min_ndim=1, finite=True)
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"evaluate: argument 'y' expected {len(X)} labels (one per row of X), got {len(y)}")
    return _accuracy(predict(model, X, batch_size), y, _threshold(model))


def _is_classification(loss: Loss) -> bool:
    return isinstance(loss, (CrossEntropyLoss, BCELoss, BCEWithLogitsLoss, HingeLoss))


def _check_fit_args(model, loss, optimizer, X, y, epochs, batch_size, validation):
    if not isinstance(model, Module):
        raise TypeError(f"fit: argument 'model' must be an nnlib Module, got {type(model).__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(f"fit: argument 'loss' must be an nnlib loss, got {type(loss).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"fit: argument 'optimizer' must be an nnlib optimizer, got {type(optimizer).__name__}")
    check_positive(epochs, "epochs", "fit", integer=True)
    check_positive(batch_size, "batch_size", "fit", integer=True)
    X = check_array(X, "X", "fit", min_ndim=2, finite=True)
    y = np.asarray(y)
    if y.dtype.kind == "f":
        check_finite(y, "y", "fit")
    if len(y) != len(X):
        raise ValueError(f"fit: argument 'y' expected {len(X)} rows (one per row of X), got {len(y)}")
    if len(X) == 0:
        raise ValueError("fit: argument 'X' is empty; expected at least one example")
    val = None
    if validation is not None:
        try:
            Xv, yv = validation
        except (TypeError, ValueError):
            raise ValueError("fit: argument 'validation' must be a pair (X_val, y_val)") from None
        Xv = check_array(Xv, "validation[0]", "fit", min_ndim=2, finite=True)
        yv = np.asarray(yv)
        if len(yv) != len(Xv):
            raise ValueError(
                f"fit: argument 'validation[1]' expected {len(Xv)} labels (one per row of validation[0]), got {len(yv)}"
            )
        if Xv.shape[1:] != X.shape[1:]:
            raise ValueError(
                f"fit: argument 'validation[0]' expected rows of shape {X.shape[1:]} like X, got {Xv.shape[1:]}"
            )
        val = (Xv, yv)
    # One forward pass on a single example, in eval mode, catches a wrong feature count
    # (the layer names it) and lets the loss check labels against the real output size,
    # before any parameter moves.
    was_training = model.training
    model.eval()
    try:
        out = model(X[:1])
        loss(out, y[:1])
        if val is not None:
            loss(model(val[0][:1]), val[1][:1])
    finally:
        model.train(was_training)
    targets = [("y", y)] + ([("validation[1]", val[1])] if val is not None else [])
    for name, t in targets:  # every label, not just the probed one
        if isinstance(loss, CrossEntropyLoss):
            check_labels(t, name, "fit", n_classes=out.shape[1])
        elif isinstance(loss, HingeLoss) and not np.all(np.isin(t, (-1, 1))):
            raise ValueError(f"fit: argument '{name}' expected labels in {{-1, +1}} for HingeLoss")
        elif isinstance(loss, (BCELoss, BCEWithLogitsLoss)) and (np.min(t) < 0 or np.max(t) > 1):
            raise ValueError(
                f"fit: argument '{name}' expected targets in [0, 1] for {type(loss).__name__}, "
                f"got values from {np.min(t):.4g} to {np.max(t):.4g}"
            )
    return X, y, val


def fit(model: Module, loss: Loss, optimizer: Optimizer, X, y, *, epochs: int = 10,
        batch_size: int = 32, validation=None, seed: int | None = 0, shuffle: bool = True,
        progress: bool = True, callbacks=(), early_stopping: EarlyStopping | None = None,
        scheduler=None, clip_grad_norm: float | None = None) -> History:
    """Train ``model`` by mini-batch gradient descent and return the per-epoch history.

    Parameters
    ----------
    model, loss, optimizer : the network, an nnlib loss and an nnlib.optim optimizer
    X : array ``(N, ...)``; y : targets ``(N, ...)`` or integer labels ``(N,)``
    epochs : int >= 1; batch_size : int >= 1 (the last batch may be smaller)
    validation : optional ``(X_val, y_val)``, scored after every epoch
    seed : shuffling and dropout masks are drawn from this seed, so runs repeat exactly
    progress : show a progress bar (a widget in Jupyter, text on a terminal)
    callbacks : objects with ``on_train_begin/on_batch_end/on_epoch_end/on_train_end(state)``
    early_stopping : an :class:`EarlyStopping`
    scheduler : a learning-rate schedule from nnlib.optim, stepped once per epoch
    clip_grad_norm : clip the global gradient norm to this value before every step

    Returns
    -------
    History with ``"loss"`` (mean training loss of the epoch), and where they apply
    ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"``, ``"lr"``.

    When the loss becomes NaN or infinite, training stops at once with a RuntimeWarning
    naming the epoch, the batch and the last finite loss, and the history so far is returned.
    """
    X, y, val = _check_fit_args(model, loss, optimizer, X, y, epochs, batch_size, validation)
    rng = np.random.default_rng(seed)
    for m in model.modules():  # dropout masks follow the fit seed, so a run repeats exactly
        if isinstance(m, Dropout):
            m.rng = np.random.default_rng(rng.integers(2**63))
    classify = _is_classification(loss)
    threshold = 0.0 if not isinstance(loss, BCELoss) else 0.5
    n = len(X)
    n_batches = math.ceil(n / batch_size)
    history = History()
    cbs = list(callbacks or ()) + ([early_stopping] if early_stopping is not None else [])
    state = TrainState(model, optimizer, history, epochs, n_batches,
                       extra={"has_validation": val is not None})
    for cb in cbs:
        getattr(cb, "on_train_begin", lambda s: None)(state)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs * n_batches, desc="training", unit="batch", leave=True)

    last_finite = float("nan")
    try:
        for epoch in range(1, epochs + 1):
            state.epoch = epoch
            model.train()
            order = rng.permutation(n) if shuffle else np.arange(n)
            total, correct = 0.0, 0
            for b in range(n_batches):
                idx = order[b * batch_size : (b + 1) * batch_size]
                xb, yb = X[idx], y[idx]
                # overflow on the way to a NaN is reported once, by the check below
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    optimizer.zero_grad()
                    out = model(xb)
                    value = loss(out, yb)
                    if not math.isfinite(value):
                        history.diverged = True
                        warnings.warn(
                            f"fit: the loss became {value} at epoch {epoch}, batch {b + 1}; "
                            f"the last finite loss was {last_finite:.6g}. Training stopped and the "
                            "history so far is returned; try a smaller learning rate.",
                            RuntimeWarning,
                            stacklevel=2,
                        )
                        return history
                    model.backward(loss.backward())
                    if clip_grad_norm is not None:
                        clip_grad_norm_(optimizer.params, clip_grad_norm)
                    optimizer.step()
                last_finite = value
                total += value * len(idx)
                if classify:
                    correct += int(round(_accuracy(out, yb, threshold) * len(idx)))
                state.batch, state.batch_loss = b + 1, value
                if bar is not None:
                    bar.update(1)
                    if b % 10 == 0:
                        bar.set_postfix(epoch=epoch, loss=f"{value:.4f}", refresh=False)
                for cb in cbs:
                    getattr(cb, "on_batch_end", lambda s: None)(state)
                if state.stop:
                    break

            if state.stop and state.batch < n_batches:
                break  # stopped by a callback mid-epoch: the epoch did not complete
            record = {"loss": total / n, "lr": optimizer.lr}
            if classify:
                record["accuracy"] = correct / n
            if val is not None:
                with np.errstate(over="ignore", invalid="ignore"):
                    out_v = predict(model, val[0])
                    record["val_loss"] = loss(out_v, val[1])
                if classify:
                    record["val_accuracy"] = _accuracy(out_v, val[1], threshold)
            history.append(**record)
            history.epochs = epoch
            if scheduler is not None:
                scheduler.step()
            for cb in cbs:
                getattr(cb, "on_epoch_end", lambda s: None)(state)
            if state.stop:
                break
    finally:
        if bar is not None:
            bar.close()
        for cb in cbs:
            getattr(cb, "on_train_end", lambda s: None)(state)
        model.train()
    return history
