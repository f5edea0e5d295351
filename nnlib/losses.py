"""Loss functions: ``value = loss(pred, target)`` is a float (mean over the batch) and
``loss.backward()`` returns d value / d pred, ready to feed into ``model.backward``.

As in PyTorch, the mean over an empty batch is NaN (and its gradient is empty).
"""

from __future__ import annotations

import numpy as np

from ._validation import check_array, check_labels
from .functional import log_softmax, sigmoid, softmax  # noqa: F401  (softmax: nnlib.losses.softmax)


def _mean(values: np.ndarray) -> float:
    """Mean as a float; NaN for no values, without numpy's 'mean of empty slice' warning."""
    return float(np.mean(values)) if values.size else float("nan")


class Loss:
    """Base class: validates shapes; ``forward`` keeps in ``self._saved`` what backward needs."""

    _saved: tuple | None = None

    def __call__(self, pred, target) -> float:
        return self.forward(pred, target)

    def backward(self):
        """d value / d pred of the last call, shaped like pred."""
        if self._saved is None:
            name = type(self).__name__
            raise RuntimeError(f"{name}.backward: call the loss first, {name}()(pred, target); nothing is cached yet")
        return self._grad(*self._saved)

    def _pred_target(self, pred, target, owner):
        pred = check_array(pred, "pred", owner, finite=False)
        target = check_array(target, "target", owner)
        if target.shape != pred.shape:
            if target.ndim == 1 and pred.ndim == 2 and pred.shape[1] == 1 and target.shape[0] == pred.shape[0]:
                target = target.reshape(-1, 1)  # y of shape (N,) against scores (N, 1)
            else:
                raise ValueError(
                    f"{owner}: argument 'target' expected shape {tuple(pred.shape)} (same as pred), "
                    f"got {tuple(target.shape)}"
                )
        return pred, target.astype(pred.dtype, copy=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSELoss(Loss):
    """mean((pred - target)²) over all elements. Shape: pred and target ``(N, *)``, equal."""

    def forward(self, pred, target) -> float:
        pred, target = self._pred_target(pred, target, "MSELoss")
        diff = pred - target
        self._saved = (diff,)
        return _mean(diff**2)

    def _grad(self, diff):
        return 2 * diff / max(diff.size, 1)


def _check_unit_interval(values, name: str, owner: str, hint: str = "") -> None:
    """Every value in [0, 1]; NaN fails too, as in PyTorch."""
    inside = (values >= 0) & (values <= 1)
    if not np.all(inside):
        bad = values[~inside]
        raise ValueError(
            f"{owner}: argument '{name}' must hold values in [0, 1], got {bad[0]:.4g} "
            f"({bad.size} value{'s' if bad.size > 1 else ''} outside){hint}"
        )


class BCELoss(Loss):
    """Binary cross-entropy on probabilities p in [0, 1]: -mean(y log p + (1-y) log(1-p)).

    As in PyTorch, each log is clamped at -100, so p = 0 or 1 (which float32 reaches
    easily) gives a large finite loss instead of inf or NaN, and the gradient's
    denominator p(1-p) is floored at ``eps``.

    Shape: pred and target ``(N,)`` or ``(N, 1)``; target in {0, 1} (or [0, 1]).
    Like PyTorch, a prediction or target outside [0, 1], NaN included, is refused.
    """

    def __init__(self, eps: float = 1e-12):
        self.eps = eps

    def forward(self, pred, target) -> float:
        p, y = self._pred_target(pred, target, "BCELoss")
        _check_unit_interval(p, "pred", "BCELoss", "; for raw scores use BCEWithLogitsLoss")
        _check_unit_interval(y, "target", "BCELoss")
        self._saved = (p, y)
        with np.errstate(divide="ignore"):  # log 0 = -inf, clamped at once
            log_p, log_q = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
        return _mean(-(y * log_p + (1 - y) * log_q))

    def _grad(self, p, y):
        return (p - y) / np.maximum(p * (1 - p), self.eps) / max(p.size, 1)


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits z, computed as max(z,0) - z·y + log(1 + e^{-|z|}),
    which never overflows; its gradient is simply (σ(z) - y) / N.

    Shape: pred and target ``(N,)`` or ``(N, 1)``; target in [0, 1].
    """

    def forward(self, pred, target) -> float:
        z, y = self._pred_target(pred, target, "BCEWithLogitsLoss")
        _check_unit_interval(y, "target", "BCEWithLogitsLoss")
        self._saved = (z, y)
        return _mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))

    def _grad(self, z, y):
        return (sigmoid(z) - y) / max(z.size, 1)


class CrossEntropyLoss(Loss):
    """Softmax + negative log-likelihood on logits: -mean_n log softmax(z_n)[y_n].
    Stable for logits of any size (log-sum-exp with the max subtracted).
    Gradient: (softmax(z) - onehot(y)) / N.

    Shape: pred ``(N, K)`` logits with K >= 1, target ``(N,)`` integer labels in [0, K).
    """

    def forward(self, pred, target) -> float:
        z = check_array(pred, "pred", "CrossEntropyLoss", ndim=2)
        if z.shape[1] == 0:
            raise ValueError(
                f"CrossEntropyLoss: argument 'pred' expected logits of shape (N, K) with K >= 1 classes, "
                f"got {tuple(z.shape)}"
            )
        y = check_labels(target, "target", "CrossEntropyLoss", n=z.shape[0], n_classes=z.shape[1])
        logp = log_softmax(z)
        self._saved = (logp, y)
        return _mean(-logp[np.arange(len(y)), y])

    def _grad(self, logp, y):
        grad = np.exp(logp)
        grad[np.arange(len(y)), y] -= 1
        return grad / max(len(y), 1)


class HingeLoss(Loss):
    """mean(max(0, 1 - y·s)) for labels y in {-1, +1} and scores s: zero once a point is
    on the right side with margin 1. Subgradient: -y/N where the margin is violated.

    Shape: pred and target ``(N,)`` or ``(N, 1)``.
    """

    def forward(self, pred, target) -> float:
        s, y = self._pred_target(pred, target, "HingeLoss")
        if not np.all(np.isin(y, (-1, 1))):
            raise ValueError(
                "HingeLoss: argument 'target' expected labels in {-1, +1}, "
                f"got values {np.unique(y)[:5].tolist()}"
            )
        self._saved = (y, (1 - y * s) > 0)
        return _mean(np.maximum(0, 1 - y * s))

    def _grad(self, y, active):
        return np.where(active, -y, 0).astype(y.dtype) / max(y.size, 1)
