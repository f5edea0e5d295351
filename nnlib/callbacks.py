"""What :func:`nnlib.fit` does besides the five steps of a batch, as callbacks.

``fit`` runs ``zero_grad, forward, loss, backward, step`` for every mini-batch and leaves
everything else to callbacks: the progress bar, early stopping, a learning-rate schedule,
gradient clipping, a live plot. A callback subclasses :class:`Callback` and overrides the
hooks it needs; each hook receives the :class:`TrainState`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._validation import check_positive
from .module import Module


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
    optimizer: object
    history: History
    epochs: int
    n_batches: int
    has_validation: bool = False
    epoch: int = 0  # 1-based once training starts
    batch: int = 0  # 1-based within the epoch
    batch_loss: float = float("nan")
    stop: bool = False


class Callback:
    """Base class of :func:`nnlib.fit`'s callbacks: override the hooks you need.

    Hooks, in the order ``fit`` calls them, each with the :class:`TrainState`:

    - ``on_train_begin``: before the first batch. Raising here refuses the run before
      any parameter moves (EarlyStopping does, when the curve it watches will not exist).
    - ``on_epoch_begin``
    - ``on_after_backward``: the gradients are ready and the step is not taken yet
      (:class:`ClipGradNorm` works here).
    - ``on_batch_end``: ``state.batch`` and ``state.batch_loss`` describe the batch.
    - ``on_epoch_end``: the epoch's record is already in ``state.history``.
    - ``on_train_end``: always, also after a NaN stop or an error.
    """

    def on_train_begin(self, state: TrainState) -> None: ...
    def on_epoch_begin(self, state: TrainState) -> None: ...
    def on_after_backward(self, state: TrainState) -> None: ...
    def on_batch_end(self, state: TrainState) -> None: ...
    def on_epoch_end(self, state: TrainState) -> None: ...
    def on_train_end(self, state: TrainState) -> None: ...


HOOKS = tuple(name for name in vars(Callback) if name.startswith("on_"))


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs;
    with ``restore_best`` the model gets back the weights of its best epoch.

    Parameters
    ----------
    patience : int >= 1
    min_delta : float >= 0
    monitor : str or None
        A history key. None (the default) watches ``"val_loss"`` when the fit has a
        validation set and ``"loss"`` otherwise, decided afresh at every fit, so one
        EarlyStopping can serve several fits.
    restore_best : bool

    Attributes
    ----------
    watching : str, the curve of the current (or last) fit
    best, best_epoch : the best value and its epoch (1-based)
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0, monitor: str | None = None,
                 restore_best: bool = True):
        check_positive(patience, "patience", "EarlyStopping", integer=True)
        check_positive(min_delta, "min_delta", "EarlyStopping", allow_zero=True)
        if monitor is not None and not isinstance(monitor, str):
            raise ValueError(f"EarlyStopping: argument 'monitor' must be a history key such as 'val_loss', "
                             f"got {monitor!r}")
        self.patience, self.min_delta = patience, min_delta
        self.monitor, self.restore_best = monitor, restore_best
        self.watching = monitor

    def on_train_begin(self, state):
        self.watching = self.monitor or ("val_loss" if state.has_validation else "loss")
        if self.watching.startswith("val_") and not state.has_validation:
            raise ValueError(
                f"EarlyStopping: monitor={self.watching!r} needs fit(..., validation=(X_val, y_val))"
            )
        self.best, self.best_epoch, self.best_state, self.wait = math.inf, None, None, 0

    def on_epoch_end(self, state):
        if self.watching not in state.history:
            raise ValueError(
                f"EarlyStopping: monitor={self.watching!r} is not in the history; it has {sorted(state.history)}"
            )
        value = state.history[self.watching][-1]
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


class ClipGradNorm(Callback):
    """Before every step, scale all gradients together so their L2 norm is at most
    ``max_norm`` (:func:`nnlib.optim.clip_grad_norm_`)."""

    def __init__(self, max_norm: float):
        self.max_norm = check_positive(max_norm, "max_norm", "ClipGradNorm")

    def on_after_backward(self, state):
        from .optim import clip_grad_norm_

        clip_grad_norm_(state.optimizer.params, self.max_norm)


class ProgressBar(Callback):
    """A tqdm bar over every batch of the run (a widget in Jupyter, text on a terminal),
    showing the epoch and the batch loss. ``fit(progress=True)`` adds one."""

    def on_train_begin(self, state):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=state.epochs * state.n_batches, desc="training", unit="batch", leave=True)

    def on_batch_end(self, state):
        self.bar.update(1)
        if state.batch % 10 == 1:
            self.bar.set_postfix(epoch=state.epoch, loss=f"{state.batch_loss:.4f}", refresh=False)

    def on_train_end(self, state):
        self.bar.close()
