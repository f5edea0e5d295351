"""fit / evaluate / predict: the mini-batch training loop every notebook uses.

One epoch = shuffle, then for each mini-batch: zero_grad, forward, loss, backward, step.
Everything else (progress bar, early stopping, learning-rate schedule, gradient clipping,
a live plot) is a callback (:mod:`nnlib.callbacks`), called at fixed points of the loop.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._validation import as_array, check_array, check_flag, check_labels, check_positive, check_rng
from .callbacks import HOOKS, Callback, ClipGradNorm, EarlyStopping, History, ProgressBar, TrainState
from .layers import Dropout, Sigmoid
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeLoss, Loss
from .module import Module, guarded
from .optim import LRScheduler, Optimizer

__all__ = ["Callback", "EarlyStopping", "History", "TrainState", "evaluate", "fit", "predict"]


def predict(model: Module, X, batch_size: int = 1024) -> np.ndarray:
    """Model outputs for X in eval mode (dropout off), computed in batches to bound memory.

    Safe while a :class:`nnlib.jobs.TrainingJob` trains the model: it waits for the
    current step to end. An empty X gives an empty output of the right shape, ``(0, K)``.
    """
    X = check_array(X, "X", "predict", min_ndim=1)
    check_positive(batch_size, "batch_size", "predict", integer=True)
    with guarded(model):
        was_training = model.training
        model.eval()
        try:
            outs = [model(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
            return np.concatenate(outs) if outs else model(X)
        finally:
            model.train(was_training)


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


def _class_labels(y, name: str, owner: str, n: int, width: int) -> np.ndarray:
    """Labels for a model with ``width`` outputs: integers in [0, width) for width > 1,
    {0, 1} or {-1, +1} for one score per row; shape (N,), or (N, 1) beside one score."""
    y = as_array(y, name, owner)
    if y.ndim == 2 and y.shape[1] == 1 and width == 1:
        y = y[:, 0]
    y = check_labels(y, name, owner, n=n, n_classes=None if width == 1 else width)
    if width == 1 and y.size and not (np.all(np.isin(y, (0, 1))) or np.all(np.isin(y, (-1, 1)))):
        raise ValueError(
            f"{owner}: argument '{name}' expected labels in {{0, 1}} or {{-1, +1}} for a model with one "
            f"output, got values {np.unique(y)[:5].tolist()}"
        )
    return y


def evaluate(model: Module, X, y, batch_size: int = 1024) -> float:
    """Classification accuracy of ``model`` on (X, y), as a float in [0, 1].

    ``y`` holds integer class labels ``(N,)`` (for ``(N, K)`` outputs), or {0, 1} / {-1, +1}
    labels for one score per row. Safe while a job trains the model, like :func:`predict`.
    """
    X = check_array(X, "X", "evaluate", min_ndim=1, finite=True)
    y = as_array(y, "y", "evaluate")
    if y.ndim == 0:
        raise ValueError(f"evaluate: argument 'y' expected one label per row of X, got a single value {y!r}")
    if len(X) == 0:
        raise ValueError("evaluate: argument 'X' is empty; accuracy needs at least one example")
    if len(y) != len(X):
        raise ValueError(f"evaluate: argument 'y' expected {len(X)} labels (one per row of X), got {len(y)}")
    out = predict(model, X, batch_size)
    width = out.shape[1] if out.ndim == 2 else 1
    return _accuracy(out, _class_labels(y, "y", "evaluate", len(X), width), _threshold(model))


def _targets(loss: Loss, out: np.ndarray, t, name: str) -> np.ndarray:
    """Every target checked for ``loss`` and the model's output ``out`` (one probe row),
    in fit's words: the message names ``y`` or ``validation[1]``."""
    if isinstance(loss, CrossEntropyLoss):
        t = check_labels(t, name, "fit", n_classes=out.shape[1] if out.ndim == 2 and out.shape[1] else None)
    else:
        t = check_array(t, name, "fit", min_ndim=1, finite=True)
    if isinstance(loss, HingeLoss) and not np.all(np.isin(t, (-1, 1))):
        raise ValueError(f"fit: argument '{name}' expected labels in {{-1, +1}} for HingeLoss")
    if isinstance(loss, (BCELoss, BCEWithLogitsLoss)) and t.size and (t.min() < 0 or t.max() > 1):
        raise ValueError(
            f"fit: argument '{name}' expected targets in [0, 1] for {type(loss).__name__}, "
            f"got values from {t.min():.4g} to {t.max():.4g}"
        )
    try:
        loss(out, t[:1])  # the loss's own shape rules, on the probe row
    except ValueError as err:
        raise ValueError(f"fit: argument '{name}' does not fit the model's output: {err}") from None
    return t


def _check_data(model, loss, X, y, validation):
    X = check_array(X, "X", "fit", min_ndim=2, finite=True)
    y = as_array(y, "y", "fit")
    if y.ndim == 0 or len(y) != len(X):
        got = "a single value" if y.ndim == 0 else len(y)
        raise ValueError(f"fit: argument 'y' expected {len(X)} rows (one per row of X), got {got}")
    if len(X) == 0:
        raise ValueError("fit: argument 'X' is empty; expected at least one example")
    val = None
    if validation is not None:
        if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
            raise ValueError("fit: argument 'validation' must be a pair (X_val, y_val)")
        Xv = check_array(validation[0], "validation[0]", "fit", min_ndim=2, finite=True)
        yv = as_array(validation[1], "validation[1]", "fit")
        if yv.ndim == 0 or len(yv) != len(Xv):
            got = "a single value" if yv.ndim == 0 else len(yv)
            raise ValueError(
                f"fit: argument 'validation[1]' expected {len(Xv)} labels (one per row of validation[0]), got {got}"
            )
        if Xv.shape[1:] != X.shape[1:]:
            raise ValueError(
                f"fit: argument 'validation[0]' expected rows of shape {X.shape[1:]} like X, got {Xv.shape[1:]}"
            )
        val = (Xv, yv)
    for name, p in model.named_parameters():
        if not np.all(np.isfinite(p.value)):
            raise ValueError(
                f"fit: argument 'model' has NaN or infinite values in parameter '{name}' (did an earlier run "
                "diverge?); re-create the model or load good weights"
            )
    # One forward pass on a single example, in eval mode, catches a wrong feature count
    # (the layer names it) and gives the output size the labels are checked against.
    # (A model that a background job trains refuses this call, before anything changes.)
    was_training = model.training
    model.eval()
    try:
        out = model(X[:1])
    except (ValueError, TypeError) as err:
        raise type(err)(f"fit: argument 'X' has rows of shape {X.shape[1:]}, which the model refuses: {err}") from None
    finally:
        model.train(was_training)
    y = _targets(loss, out, y, "y")
    if val is not None:
        val = (val[0], _targets(loss, out, val[1], "validation[1]"))
    return X, y, val


def _callback_list(callbacks, early_stopping, scheduler, clip_grad_norm, progress) -> list:
    """The one list of callbacks fit calls; the keyword shortcuts become callbacks too."""
    if isinstance(callbacks, Callback) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"fit: argument 'callbacks' must be a list of Callbacks, got {type(callbacks).__name__}")
    cbs = list(callbacks)
    for i, cb in enumerate(cbs):
        if not isinstance(cb, Callback) and not any(callable(getattr(cb, h, None)) for h in HOOKS):
            raise TypeError(
                f"fit: argument 'callbacks'[{i}] must be an nnlib.Callback (or define one of {', '.join(HOOKS)}), "
                f"got {type(cb).__name__}"
            )
    for name, value, kind, use in (("early_stopping", early_stopping, EarlyStopping, "EarlyStopping(patience=5)"),
                                   ("scheduler", scheduler, LRScheduler, "StepLR(optimizer, step_size=10)")):
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"fit: argument '{name}' must be an nnlib {kind.__name__} such as {use}, got {value!r}")
    extra = [] if clip_grad_norm is None else [ClipGradNorm(clip_grad_norm)]
    extra += [scheduler] if scheduler is not None else []
    cbs = extra + cbs + ([early_stopping] if early_stopping is not None else [])
    if len({id(cb) for cb in cbs}) < len(cbs):
        raise ValueError("fit: the same callback is given twice (in 'callbacks' and as a keyword?); "
                         "each would run twice")
    if check_flag(progress, "progress", "fit"):
        cbs.append(ProgressBar())
    return [cb if isinstance(cb, Callback) else _Hooks(cb) for cb in cbs]


class _Hooks(Callback):
    """An object with some of the hook methods but not a Callback subclass (duck typing)."""

    def __init__(self, obj):
        for hook in HOOKS:
            if callable(getattr(obj, hook, None)):
                setattr(self, hook, getattr(obj, hook))


def fit(model: Module, loss: Loss, optimizer: Optimizer, X, y, *, epochs: int = 10,
        batch_size: int = 32, validation=None, seed: int | None = 0, shuffle: bool = True,
        progress: bool = True, callbacks=(), early_stopping: EarlyStopping | None = None,
        scheduler: LRScheduler | None = None, clip_grad_norm: float | None = None) -> History:
    """Train ``model`` by mini-batch gradient descent and return the per-epoch history.

    Parameters
    ----------
    model, loss, optimizer : the network, an nnlib loss and an nnlib.optim optimizer
    X : array ``(N, ...)``; y : targets ``(N, ...)`` or integer labels ``(N,)``
    epochs : int >= 1; batch_size : int >= 1 (the last batch may be smaller)
    validation : optional ``(X_val, y_val)``, scored after every epoch
    seed : None or int >= 0; shuffling and dropout masks are drawn from it, so runs repeat
    shuffle : bool, reshuffle the examples at every epoch
    progress : bool, show a progress bar (a widget in Jupyter, text on a terminal)
    callbacks : list of :class:`nnlib.Callback`, e.g. ``[EarlyStopping(patience=5),
        StepLR(optimizer, 10), ClipGradNorm(1.0)]``
    early_stopping, scheduler, clip_grad_norm : shortcuts, the same as adding
        ``early_stopping``, ``scheduler`` or ``ClipGradNorm(clip_grad_norm)`` to ``callbacks``

    Returns
    -------
    History with ``"loss"`` (mean training loss of the epoch), ``"lr"``, and where they
    apply ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"``.

    Every argument is checked before the first step, and a ValueError or TypeError names
    the one at fault. When the loss (or the model's output) becomes NaN or infinite,
    training stops at once with a RuntimeWarning naming the epoch, the batch and the last
    finite loss, and the history so far is returned.
    """
    for name, value, kind in (("model", model, Module), ("loss", loss, Loss), ("optimizer", optimizer, Optimizer)):
        if not isinstance(value, kind):
            raise TypeError(f"fit: argument '{name}' must be an nnlib {kind.__name__}, got {type(value).__name__}")
    check_positive(epochs, "epochs", "fit", integer=True)
    check_positive(batch_size, "batch_size", "fit", integer=True)
    rng = check_rng(seed, "seed", "fit")
    check_flag(shuffle, "shuffle", "fit")
    cbs = _callback_list(callbacks, early_stopping, scheduler, clip_grad_norm, progress)
    X, y, val = _check_data(model, loss, X, y, validation)

    for m in model.modules():  # dropout masks follow the fit seed, so a run repeats exactly
        if isinstance(m, Dropout):
            m.rng = np.random.default_rng(rng.integers(2**63))
    n_batches = math.ceil(len(X) / batch_size)
    state = TrainState(model, optimizer, History(), epochs, n_batches, has_validation=val is not None)
    begun = []
    try:
        for cb in cbs:
            cb.on_train_begin(state)
            begun.append(cb)
        _loop(state, loss, X, y, val, batch_size, rng, shuffle, cbs)
    finally:
        for cb in begun:
            cb.on_train_end(state)
        model.train()
    return state.history


def _loop(state, loss, X, y, val, batch_size, rng, shuffle, cbs) -> None:
    model, optimizer = state.model, state.optimizer
    classify = isinstance(loss, (CrossEntropyLoss, BCELoss, BCEWithLogitsLoss, HingeLoss))
    threshold = 0.5 if isinstance(loss, BCELoss) else 0.0
    last_finite = math.nan
    for epoch in range(1, state.epochs + 1):
        state.epoch = epoch
        model.train()
        for cb in cbs:
            cb.on_epoch_begin(state)
        order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
        total, correct = 0.0, 0
        for b in range(state.n_batches):
            state.batch = b + 1
            idx = order[b * batch_size : (b + 1) * batch_size]
            xb, yb = X[idx], y[idx]
            # overflow on the way to a NaN is reported once, by the warning below
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                optimizer.zero_grad()
                out = model(xb)
                value = loss(out, yb) if np.all(np.isfinite(out)) else math.nan
                if not math.isfinite(value):
                    _diverged(state, value, last_finite)
                    return
                model.backward(loss.backward())
                for cb in cbs:
                    cb.on_after_backward(state)
                optimizer.step()
            last_finite, state.batch_loss = value, value
            total += value * len(idx)
            if classify:
                correct += int(round(_accuracy(out, yb, threshold) * len(idx)))
            for cb in cbs:
                cb.on_batch_end(state)
            if state.stop:
                if state.batch < state.n_batches:
                    return  # stopped by a callback mid-epoch: the epoch did not complete
                break
        _record_epoch(state, loss, total / len(X), correct / len(X) if classify else None, val, threshold)
        for cb in cbs:
            cb.on_epoch_end(state)
        if state.stop:
            return


def _record_epoch(state, loss, mean_loss, accuracy, val, threshold) -> None:
    record = {"loss": mean_loss, "lr": state.optimizer.lr}
    if accuracy is not None:
        record["accuracy"] = accuracy
    if val is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            out_v = predict(state.model, val[0])
            record["val_loss"] = loss(out_v, val[1]) if np.all(np.isfinite(out_v)) else math.nan
        if accuracy is not None:
            record["val_accuracy"] = _accuracy(out_v, val[1], threshold)
    state.history.append(**record)
    state.history.epochs = state.epoch


def _diverged(state, value, last_finite) -> None:
    state.history.diverged = True
    warnings.warn(
        f"fit: the loss became {value} at epoch {state.epoch}, batch {state.batch}; the last finite loss "
        f"was {last_finite:.6g}. Training stopped and the history so far is returned; try a smaller "
        "learning rate.",
        RuntimeWarning,
        stacklevel=4,
    )
